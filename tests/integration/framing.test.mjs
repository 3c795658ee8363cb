// Requests that are ambiguous about where they end (request smuggling
// behind a proxy) are refused with 400 and the connection is closed by the
// server even when the client asks for keep-alive; well-formed keep-alive
// requests keep their connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGateway, rawRequest } from './lib/harness.mjs';

let gw, a;
// keep-alive on, and keep-alive and request timeouts (10 min) far past the waits below (2 min
// at most), so "closed" can only mean the server chose to close, however slow the machine.
before(async () => {
  gw = await startGateway({
    config: { server: { keep_alive: true, keep_alive_timeout_ms: 600000, request_timeout_ms: 600000 }, limits: { max_body_bytes: 4096 } },
  });
  a = gw.account();
});
after(async () => gw && gw.stop());

/** Splits raw HTTP/1.1 responses (Content-Length framed) out of a byte string. */
function responses(text) {
  const out = [];
  let rest = text;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error('incomplete response head: ' + JSON.stringify(rest));
    const head = rest.slice(0, end);
    const [status, ...lines] = head.split('\r\n');
    const headers = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    const body = rest.slice(end + 4, end + 4 + len);
    out.push({ status: Number(status.split(' ')[1]), headers, body });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

async function expectRefusedAndClosed(raw, why) {
  const r = await rawRequest(gw.port, raw, { timeout: 120000 });
  assert.ok(r.closed, `${why}: the server must close the connection (got ${JSON.stringify(r.text)})`);
  const rs = responses(r.text);
  assert.equal(rs.length, 1, `${why}: exactly one response, got ${rs.length}: ${JSON.stringify(r.text)}`);
  const [res] = rs;
  assert.equal(res.status, 400, `${why}: ${JSON.stringify(r.text)}`);
  assert.equal(res.headers.connection, 'close');
  assert.match(res.headers['request-id'], /^req_/);
  const body = JSON.parse(res.body);
  assert.equal(body.error.type, 'invalid_request_error');
  assert.equal(body.error.code, 'malformed_request');
  assert.equal(body.error.request_id, res.headers['request-id']);
  assert.ok('param' in body.error);
  return body.error;
}

const auth = () => `Authorization: Bearer ${a.key}\r\n`;

test('Content-Length together with Transfer-Encoding: 400 and closed', async () => {
  const e = await expectRefusedAndClosed(
    `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n${auth()}Content-Type: application/json\r\n` +
      'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'CL+TE');
  assert.match(e.message, /Content-Length and Transfer-Encoding/);
  // Transfer-Encoding first makes no difference
  await expectRefusedAndClosed(
    `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n${auth()}` +
      'Content-Type: application/json\r\n\r\n0\r\n\r\n',
    'TE+CL');
});

test('a request smuggled behind a refused one is never served', async () => {
  const before = gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`);
  const smuggled = `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
  await expectRefusedAndClosed(
    `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n${auth()}Content-Type: application/json\r\n` +
      `Content-Length: ${5 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    'smuggling');
  assert.equal(gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`), before);
});

test('two different Content-Length values: 400 and closed', async () => {
  const e = await expectRefusedAndClosed(
    `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n${auth()}Content-Type: application/json\r\n` +
      'Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ',
    'CL+CL');
  assert.match(e.message, /Content-Length/);
  // a repeated, equal Content-Length is refused as well (no merging guesswork)
  await expectRefusedAndClosed(
    `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\n` +
      'Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}',
    'CL=CL');
});

test('HTTP/1.1 without Host (or with two): 400 and closed', async () => {
  const e = await expectRefusedAndClosed(`GET /api/v1/account HTTP/1.1\r\nConnection: keep-alive\r\n${auth()}\r\n`, 'no Host');
  assert.match(e.message, /without Host/);
  await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\nConnection: keep-alive\r\n\r\n', 'no Host, public route');
  await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: keep-alive\r\n\r\n', 'two Hosts');
});

test('HTTP/1.0 without Host is fine and closes as HTTP/1.0 does', async () => {
  const r = await rawRequest(gw.port, 'GET /healthz HTTP/1.0\r\n\r\n');
  assert.ok(r.closed);
  const [res] = responses(r.text);
  assert.equal(res.status, 200);
});

/** Sends requests one after another on ONE connection, waiting for each response. */
function sequential(port, requests) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setEncoding('latin1');
    let buf = '';
    const got = [];
    let closed = false;
    s.on('error', reject);
    s.on('close', () => { closed = true; });
    const next = () => {
      if (got.length === requests.length) {
        // give the server a moment: a server that closes after the last
        // response would show it here
        setTimeout(() => { const c = closed; s.destroy(); resolve({ responses: got, closedByServer: c }); }, 300);
        return;
      }
      s.write(requests[got.length]);
    };
    s.on('data', (d) => {
      buf += d;
      try {
        const rs = responses(buf);
        if (rs.length > got.length) {
          while (got.length < rs.length) got.push(rs[got.length]);
          next();
        }
      } catch { /* response incomplete so far */ }
    });
    next();
  });
}

test('a well-formed keep-alive connection serves two requests in a row and stays open', async () => {
  const req1 = `GET /api/v1/account HTTP/1.1\r\nHost: x\r\n${auth()}\r\n`;
  const req2 = `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n${auth()}Content-Type: application/json\r\nContent-Length: 15\r\n\r\n{"name":"ka-2"}`;
  const { responses: rs, closedByServer } = await sequential(gw.port, [req1, req2]);
  assert.equal(rs.length, 2);
  assert.equal(rs[0].status, 200, rs[0].body);
  assert.equal(rs[0].headers.connection, 'keep-alive');
  assert.equal(JSON.parse(rs[0].body).id, a.account);
  assert.equal(rs[1].status, 201, rs[1].body);
  assert.equal(JSON.parse(rs[1].body).name, 'ka-2');
  assert.notEqual(rs[0].headers['request-id'], rs[1].headers['request-id']);
  assert.equal(closedByServer, false, 'a keep-alive connection must stay open');
});

/**
 * Sends `head`, expects one complete response before anything more is sent,
 * then sends `rest` (or, when null, half-closes) and expects the server to close.
 */
function respondThenClose(port, head, rest) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setEncoding('latin1');
    let buf = '';
    let res = null;
    // the server's request timeout is 10 min: an answer that waited for the body never comes in time
    const fail = setTimeout(() => { s.destroy(); reject(new Error(`no close: ${JSON.stringify(buf)}`)); }, 120000);
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d;
      if (res) return;
      try { [res] = responses(buf); } catch { return; }
      if (rest === null) s.end(); // the client gives up on the body
      else s.write(rest);
    });
    s.on('close', () => { clearTimeout(fail); resolve({ res, text: buf }); });
    s.write(head);
  });
}

test('a body refused for its size: 413 at once, before the body is sent, then closed', async () => {
  const head = `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n${auth()}Content-Type: application/json\r\n`;
  const cases = [
    // Content-Length over the limit: answered without waiting for the body
    [head + 'Content-Length: 100000\r\n\r\n{"name":', 'x'.repeat(100000 - 8)],
    // with Expect: 100-continue, and no "100 Continue" after the final answer
    [head + 'Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n', null],
    // chunked past the limit
    [head + `Transfer-Encoding: chunked\r\n\r\n2000\r\n${'x'.repeat(0x2000)}\r\n`, '0\r\n\r\n'],
  ];
  for (const [h, rest] of cases) {
    // "at once": the client sends the rest of the body only after the answer arrived
    const { res, text } = await respondThenClose(gw.port, h, rest);
    assert.ok(res, `a response: ${JSON.stringify(text)}`);
    assert.equal(res.status, 413, JSON.stringify(text));
    assert.equal(res.headers.connection, 'close');
    assert.equal(JSON.parse(res.body).error.code, 'body_too_large');
    assert.equal(responses(text).length, 1, `one response only: ${JSON.stringify(text)}`);
  }
});

test('a 4xx that reads the whole body keeps the connection', async () => {
  // 400 after reading the body: the connection is still usable
  const bad = `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":`;
  const ok = `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`;
  const r = await sequential(gw.port, [bad, ok]);
  assert.equal(r.responses[0].status, 400);
  assert.equal(r.responses[1].status, 200);
  assert.equal(r.closedByServer, false);
});

test('a client that asks to close gets its connection closed', async () => {
  const r = await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.ok(r.closed);
  const [res] = responses(r.text);
  assert.equal(res.status, 200);
  assert.equal(res.headers.connection, 'close');
});

// ---- header blocks CivetWeb would read leniently (RFC 9112 requires 400) ----------

test('whitespace between a header name and its colon: 400 and closed', async () => {
  const e = await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n', 'space before colon');
  assert.match(e.message, /between a header name and its colon/);
  await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\nHost: x\r\nX-A  : 1\r\n\r\n', 'two spaces before colon');
  // the same request written correctly is served
  const r = await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A:1\r\nX-B:   2\r\nConnection: close\r\n\r\n');
  assert.equal(responses(r.text)[0].status, 200, r.text);
});

test('a folded header line (obs-fold): 400 and closed, anywhere in the block', async () => {
  let e = await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 'fold at the end');
  assert.match(e.message, /obs-fold/);
  // a fold in the middle would make CivetWeb drop every header after it (here, Host)
  await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\nX-A: a\r\n b\r\nHost: x\r\n\r\n', 'fold in the middle');
  e = await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n', 'first line folded');
  assert.match(e.message, /obs-fold|whitespace/);
});

test('bare LF line ends: 400 and closed', async () => {
  let e = await expectRefusedAndClosed('GET /healthz HTTP/1.1\nHost: x\n\n', 'all bare LF');
  assert.match(e.message, /bare LF/);
  e = await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n', 'one bare LF between headers');
  assert.match(e.message, /bare LF/);
  await expectRefusedAndClosed('GET /healthz HTTP/1.1\r\nHost: x\r\n\n', 'bare LF blank line');
  await expectRefusedAndClosed('GET /healthz HTTP/1.1\nHost: x\r\n\r\n', 'bare LF after the request line');
});

test('two spaces in the request line: 400 and closed', async () => {
  const e = await expectRefusedAndClosed('GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 'two spaces');
  assert.match(e.message, /request line/);
  await expectRefusedAndClosed('GET /healthz  HTTP/1.1\r\nHost: x\r\n\r\n', 'two spaces before the version');
  await expectRefusedAndClosed('GET /healthz?a=1  HTTP/1.1\r\nHost: x\r\n\r\n', 'two spaces after a query');
});

test('Transfer-Encoding other than chunked: JSON 400 naming the header', async () => {
  for (const te of ['gzip', 'identity', 'gzip, chunked', 'chunked, gzip']) {
    const e = await expectRefusedAndClosed(
      `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\n` +
        `Transfer-Encoding: ${te}\r\n\r\n0\r\n\r\n`, `TE ${te}`);
    assert.equal(e.param, 'Transfer-Encoding', te);
    assert.match(e.message, /Transfer-Encoding .*only chunked/);
  }
});

test('a Content-Length too long to be a number of bytes: 400 naming it', async () => {
  // the client gives up after the answer: CivetWeb would otherwise wait for that many bytes
  const head = `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\n`;
  for (const cl of ['99999999999999999999999', '9223372036854775808', '0001000000000000000000']) {
    const { res } = await respondThenClose(gw.port, `${head}Content-Length: ${cl}\r\n\r\n{}`, null);
    assert.ok(res, cl);
    assert.equal(res.status, 400, cl);
    assert.equal(res.headers.connection, 'close');
    const e = JSON.parse(res.body).error;
    assert.equal(e.code, 'malformed_request');
    assert.equal(e.param, 'Content-Length');
    assert.match(e.message, /out of range/);
  }
  // leading zeros do not count: this is a Content-Length of 2
  const r = await rawRequest(gw.port, `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth()}` +
    'Content-Type: application/json\r\nContent-Length: 0000000000000000000000002\r\n\r\n{}');
  assert.equal(responses(r.text)[0].status, 201, r.text);
});

/** Like expectRefusedAndClosed, for answers CivetWeb decides before routing (any status). */
async function expectJsonBeforeRouting(raw, status, why) {
  const r = await rawRequest(gw.port, raw, { timeout: 120000 });
  assert.ok(r.closed, `${why}: the server must close the connection (got ${JSON.stringify(r.text)})`);
  const rs = responses(r.text);
  assert.equal(rs.length, 1, `${why}: ${JSON.stringify(r.text)}`);
  const [res] = rs;
  assert.equal(res.status, status, `${why}: ${JSON.stringify(r.text)}`);
  assert.equal(res.headers.connection, 'close');
  assert.match(res.headers['content-type'], /^application\/json/);
  assert.match(res.headers['request-id'], /^req_/);
  const body = JSON.parse(res.body);
  assert.equal(body.error.code, 'malformed_request', why);
  assert.equal(body.error.type, status >= 500 ? 'api_error' : 'invalid_request_error');
  assert.equal(body.error.request_id, res.headers['request-id']);
  assert.ok('param' in body.error);
  return body.error;
}

test('answers before routing use the JSON error shape with a Request-Id', async () => {
  let e = await expectJsonBeforeRouting('FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'unknown method');
  assert.match(e.message, /unknown method "FOO"/);
  e = await expectJsonBeforeRouting('GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n', 400, 'header without colon');
  assert.match(e.message, /header/);
  e = await expectJsonBeforeRouting('GET /healthz\r\nHost: x\r\n\r\n', 400, 'no HTTP version');
  assert.match(e.message, /request line/);
  await expectJsonBeforeRouting('GET /healthz XTTP/1.1\r\nHost: x\r\n\r\n', 400, 'not HTTP');
  await expectJsonBeforeRouting('GET\r\n\r\n', 400, 'method alone');
  await expectJsonBeforeRouting('GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400, 'control character');
  e = await expectJsonBeforeRouting('GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n', 505, 'HTTP/2.0 as text');
  assert.match(e.message, /HTTP version/);
  e = await expectRefusedAndClosed(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(13000)}\r\n\r\n`, 'over 12 KiB');
  assert.match(e.message, /larger than 12288 bytes/);
  // CivetWeb 1.15 cannot tell a header block over its 16 KiB buffer from a malformed one
  e = await expectJsonBeforeRouting(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`, 400, 'huge header');
  assert.match(e.message, /larger than 16384 bytes/);
  e = await expectJsonBeforeRouting(`POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`, 400, 'negative length');
  assert.equal(e.param, 'Content-Length');
});
