// Slow clients cannot take every worker: the request line and headers have
// their own short timeout (server.header_timeout_seconds), separate from the
// body's (server.request_timeout_ms), and the calls a handler makes to other
// hosts while a client waits are bounded (the webhook test send).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { startGateway, waitFor, sleep, assertError } from './lib/harness.mjs';

const THREADS = 4;
const HEADER_TIMEOUT_S = 2;

let gw, a;
before(async () => {
  gw = await startGateway({
    config: {
      server: { num_threads: THREADS, header_timeout_seconds: HEADER_TIMEOUT_S },
      rate_limit: { requests_per_second: 0 },
    },
  });
  a = gw.account();
});
after(async () => gw && gw.stop());

/** Opens a socket, sends `data` and keeps it open; records what comes back and when it closes. */
function partialClient(port, data) {
  const c = { text: '', closed: false, socket: net.connect(port, '127.0.0.1') };
  c.socket.setEncoding('latin1');
  c.socket.on('data', (d) => (c.text += d));
  c.socket.on('error', () => {});
  c.socket.on('close', () => (c.closed = true));
  c.socket.write(data);
  return c;
}

/** Parses one raw response: { status, headers, body }. */
function parse(text) {
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a response: ${JSON.stringify(text)}`);
  const [line, ...rest] = text.slice(0, end).split('\r\n');
  const headers = {};
  for (const l of rest) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { status: Number(line.split(' ')[1]), headers, body: text.slice(end + 4) };
}

test('more clients with half-sent headers than worker threads: /healthz still answers, and they are closed', async () => {
  // three times the workers, each stuck in the middle of its headers
  const stuck = [];
  for (let i = 0; i < THREADS * 3; i++) stuck.push(partialClient(gw.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '));
  await sleep(200); // let the server accept them before the real request queues behind them
  // a generous deadline: each stuck client holds a worker for HEADER_TIMEOUT_S at most
  const r = await fetch(`${gw.url}/healthz`, { signal: AbortSignal.timeout(60000) });
  assert.equal(r.status, 200);
  // every stuck client is closed by the server, with the JSON error shape, not left hanging
  await waitFor(() => stuck.every((c) => c.closed), { timeout: 60000, what: 'the server to close the stuck clients' });
  for (const c of stuck) {
    const res = parse(c.text);
    assert.equal(res.status, 400);
    assert.equal(res.headers.connection, 'close');
    assert.match(res.headers['request-id'], /^req_/);
    const e = JSON.parse(res.body).error;
    assert.equal(e.code, 'malformed_request');
    assert.equal(e.request_id, res.headers['request-id']);
    assert.match(e.message, new RegExp(`within ${HEADER_TIMEOUT_S} s`));
  }
});

test('a client that sends nothing at all is closed after the header timeout too', async () => {
  const c = partialClient(gw.port, '');
  await waitFor(() => c.closed, { timeout: 60000, what: 'the idle connection to be closed' });
  assert.equal(c.text, '', 'nothing to answer when nothing was sent');
});

/** POSTs `body` in `pieces` writes, `gapMs` apart; resolves with the parsed response. */
function slowPost(g, key, path, body, pieces, gapMs) {
  return new Promise((resolve, reject) => {
    const s = net.connect(g.port, '127.0.0.1');
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d) => (text += d));
    s.on('error', reject);
    s.on('close', () => { try { resolve(parse(text)); } catch (e) { reject(e); } });
    s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    const size = Math.ceil(body.length / pieces);
    let i = 0;
    const next = () => {
      if (i * size >= body.length) return;
      s.write(body.slice(i * size, (i + 1) * size));
      i++;
      setTimeout(next, gapMs);
    };
    next();
  });
}

test('the header timeout does not cut a body that keeps arriving', async () => {
  // 12 pieces 250 ms apart: about 3 s in all, longer than the 2 s header timeout
  const body = JSON.stringify({ name: 'steady' }) + ' '.repeat(600);
  const r = await slowPost(gw, a.key, '/api/v1/api_keys', body, 12, 250);
  assert.equal(r.status, 201, r.body);
  assert.equal(JSON.parse(r.body).name, 'steady');
});

test('a body that trickles past server.request_timeout_ms is refused', async () => {
  const g = await startGateway({ config: { server: { header_timeout_seconds: HEADER_TIMEOUT_S, request_timeout_ms: 1000 } } });
  try {
    const acct = g.account();
    // 48 KiB in 24 pieces 200 ms apart (about 5 s) against a 1 s body deadline; no gap
    // reaches the 2 s stall limit, so only the deadline can refuse it
    const body = '{"name": "trickle"' + ' '.repeat(48 * 1024) + '}';
    const keys = g.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${acct.account}'`);
    const r = await slowPost(g, acct.key, '/api/v1/api_keys', body, 24, 200);
    assert.equal(r.status, 400, r.body);
    const e = JSON.parse(r.body).error;
    assert.equal(e.param, 'body');
    assert.match(e.message, /did not arrive within 1000 ms/);
    assert.equal(r.headers.connection, 'close');
    assert.equal(g.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${acct.account}'`), keys, 'nothing stored');
  } finally {
    await g.stop();
  }
});

test('the webhook test send is bounded by test_timeout_ms, not the delivery timeout', async () => {
  // a receiver that accepts and never answers
  const held = [];
  const hole = http.createServer((req, res) => held.push(res));
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  const g = await startGateway({
    config: {
      outbound: { allow_private_targets: true },
      plugins: [{ name: 'webhooks', config: { allow_http: true, timeout_ms: 60000, test_timeout_ms: 1000 } }],
    },
  });
  try {
    const acct = g.account();
    const ep = await g.request('POST', '/api/v1/webhooks', { key: acct.key,
      body: { url: `http://127.0.0.1:${hole.address().port}/hook`, event_types: ['pass.created'] } });
    assert.equal(ep.status, 201, ep.text);
    const t = await g.request('POST', `/api/v1/webhooks/${ep.body.id}/test`, { key: acct.key });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.body.status, 'failed');
    // curl reports how long it waited: about test_timeout_ms, far from the 60 s delivery timeout
    const m = /timed out after (\d+) milli/i.exec(t.body.last_error);
    assert.ok(m, `a timeout: ${t.body.last_error}`);
    assert.ok(Number(m[1]) < 30000, t.body.last_error);
  } finally {
    await g.stop();
    for (const res of held) res.destroy();
    hole.close();
  }
});

test('test sends beyond test_max_concurrency are 429 with Retry-After, the others go on', async () => {
  const held = [];
  const hole = http.createServer((req, res) => held.push(res));
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  const g = await startGateway({
    config: {
      outbound: { allow_private_targets: true },
      rate_limit: { requests_per_second: 0 },
      plugins: [{ name: 'webhooks', config: { allow_http: true, test_timeout_ms: 10000, test_max_concurrency: 1 } }],
    },
  });
  try {
    const acct = g.account();
    const ep = await g.request('POST', '/api/v1/webhooks', { key: acct.key,
      body: { url: `http://127.0.0.1:${hole.address().port}/hook`, event_types: ['pass.created'] } });
    assert.equal(ep.status, 201, ep.text);
    const first = g.request('POST', `/api/v1/webhooks/${ep.body.id}/test`, { key: acct.key });
    // the first send is in flight once the receiver holds its request
    await waitFor(() => held.length === 1, { what: 'the first test send to arrive' });
    const second = await g.request('POST', `/api/v1/webhooks/${ep.body.id}/test`, { key: acct.key });
    const e = assertError(second, 429, { code: 'rate_limited' });
    assert.match(e.message, /test_max_concurrency/);
    assert.equal(second.headers.get('retry-after'), '1');
    held[0].end('ok');
    const r1 = await first;
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.body.status, 'succeeded');
    // the slot is free again
    const third = g.request('POST', `/api/v1/webhooks/${ep.body.id}/test`, { key: acct.key });
    await waitFor(() => held.length === 2, { what: 'the third test send to arrive' });
    held[1].end('ok');
    assert.equal((await third).status, 200);
  } finally {
    await g.stop();
    for (const res of held) res.destroy();
    hole.close();
  }
});

test('a save link that needs Google REST calls inside a request gets request_rest_timeout_ms in all', async () => {
  // the token endpoint and the API accept and never answer
  const held = [];
  const hole = http.createServer((req, res) => held.push(res));
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${hole.address().port}`;
  const g = await startGateway({
    config: {
      plugins: [{ name: 'google-jwt', config: { api_base_url: `${base}/v1`, token_url: `${base}/token`,
        timeout_seconds: 60, request_rest_timeout_ms: 1000 } }],
    },
  });
  try {
    const acct = g.account();
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sa = { type: 'service_account', project_id: 'p', private_key_id: 'k1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: 'signer@p.iam.gserviceaccount.com', client_id: '1', token_uri: 'https://oauth2.googleapis.com/token' };
    const c = await g.request('PUT', '/api/v1/credentials/google', { key: acct.key,
      body: { issuer_id: '3388000000022122304', service_account_json: sa } });
    assert.equal(c.status, 200, c.text);
    // too large for a link that carries the pass: the object must be inserted over REST first
    const back = Array.from({ length: 30 }, (_, i) => ({ key: `t${i}`, label: `Term ${i}`, value: 'x'.repeat(60) + i }));
    const r = await g.request('POST', '/api/v1/passes', { key: acct.key,
      body: { pass_type: 'loyalty', organization_name: 'Solstice', program_name: 'Beans', back_fields: back } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.google_save_url, null, 'no link rather than a broken one');
    const line = g.stderr().split('\n').find((l) => /no Google save link/.test(l));
    assert.ok(line, g.stderr());
    const m = /timed out after (\d+) milli/i.exec(line);
    assert.ok(m, line);
    assert.ok(Number(m[1]) < 30000, line); // about 1000, far from timeout_seconds (60 s)
  } finally {
    await g.stop();
    for (const res of held) res.destroy();
    hole.close();
  }
});
