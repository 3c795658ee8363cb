// Every bad-input class is a 4xx with the documented error shape naming the
// field, and a refused request leaves nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, assertError, rawRequest } from './lib/harness.mjs';

const MAX_BODY = 4096;
const MAX_STRING = 256;
let gw, a, keysBefore;

before(async () => {
  gw = await startGateway({ config: { limits: { max_body_bytes: MAX_BODY, max_string_bytes: MAX_STRING } } });
  a = gw.account();
  keysBefore = gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`);
});
after(async () => gw && gw.stop());

/** POSTs raw bytes as a new API key; content type application/json unless given. */
function post(raw, contentType = 'application/json') {
  const headers = {};
  if (contentType !== null) headers['content-type'] = contentType;
  return gw.request('POST', '/api/v1/api_keys', { key: a.key, raw, headers });
}

test('a well-formed body is accepted (the baseline the refusals below differ from)', async () => {
  const r = await post('{"name": "ok"}');
  assert.equal(r.status, 201, r.text);
  const r2 = await post('{"name":"ok2"}', 'Application/JSON; charset=UTF-8');
  assert.equal(r2.status, 201, r2.text);
  // both made a key: the refusals below must not
  keysBefore = gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`);
});

test('malformed JSON is 400 invalid_json', async () => {
  for (const raw of ['{"name": ', '{"name" "x"}', '{name: "x"}', "{'name': 'x'}", '{"name": "x"', '"', '{"name": tru}']) {
    const e = assertError(await post(raw), 400, { code: 'invalid_json', type: 'invalid_request_error' });
    assert.match(e.message, /invalid JSON/, raw);
  }
});

test('NaN, Infinity, comments, trailing commas, leading zeros and single quotes are refused', async () => {
  const cases = [
    '{"name": NaN}',
    '{"name": Infinity}',
    '{"name": -Infinity}',
    '{"name": "x" /* comment */}',
    '// comment\n{"name": "x"}',
    '# comment\n{"name": "x"}',
    '{"name": "x",}',
    '{"name": ["a",]}',
    '{"name": 012}',
    '{"name": .5}',
    '{"name": +1}',
    '{"name": "tab\there"}',
    '{"name": "bad \\x escape"}',
  ];
  for (const raw of cases) {
    const r = await post(raw);
    assertError(r, 400, { code: 'invalid_json' });
  }
});

test('trailing data after the JSON value is 400', async () => {
  for (const raw of ['{"name": "x"} x', '{"name": "x"}{}', '{"name": "x"}\n{"name": "y"}', '{} 1']) {
    const e = assertError(await post(raw), 400, { code: 'invalid_json' });
    assert.match(e.message, /trailing data/);
  }
  // trailing whitespace is fine
  const ok = await post('{"name": "ws"}  \r\n\t ');
  assert.equal(ok.status, 201, ok.text);
  keysBefore = gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`);
});

test('duplicate keys are 400 naming the key, at any depth', async () => {
  let e = assertError(await post('{"name": "a", "name": "b"}'), 400, { param: 'name' });
  assert.match(e.message, /duplicate key "name"/);
  e = assertError(await post('{"name": "a", "meta": {"k": 1, "z": 2, "k": 3}}'), 400, { param: 'meta.k' });
  assert.match(e.message, /duplicate key "k"/);
  // the same key after unescaping is a duplicate too
  e = assertError(await post('{"name": "a", "n\\u0061me": "b"}'), 400, { param: 'name' });
});

test('invalid UTF-8 is 400 naming the field', async () => {
  const bad = [
    Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), // {"name":"\xff"}
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), // overlong '/'
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), // surrogate
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]), // truncated
  ];
  for (const raw of bad) {
    const e = assertError(await post(raw), 400, { code: 'invalid_json', param: 'name' });
    assert.match(e.message, /UTF-8/);
  }
  // an unpaired surrogate escape is no better
  assertError(await post('{"name": "\\ud800"}'), 400, { code: 'invalid_json', param: 'name' });
  // valid multi-byte UTF-8 is accepted
  const ok = await post(Buffer.from('{"name": "café ☕ 𝄞"}'));
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.name, 'café ☕ 𝄞');
  keysBefore = gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`);
});

test('nesting deeper than the limit (32) is 400 naming the path', async () => {
  // the object is level 1, so 31 arrays inside "name" is the deepest allowed
  const ok = '{"name": ' + '['.repeat(31) + ']'.repeat(31) + '}';
  const r = await post(ok);
  assertError(r, 400, { code: 'parameter_invalid', param: 'name' }); // parsed fine, refused by the handler: not a string
  const deep = '{"name": ' + '['.repeat(40) + ']'.repeat(40) + '}';
  const e = assertError(await post(deep), 400);
  assert.match(e.message, /nested deeper than 32/);
  assert.match(e.param, /^name(\[0\])+$/);
  // a deep body made of objects names the keys on the way
  let obj = '"x"';
  for (let i = 0; i < 40; i++) obj = `{"k${i}": ${obj}}`;
  const e2 = assertError(await post(obj), 400);
  assert.match(e2.message, /nested deeper/);
  assert.match(e2.param, /^k39\.k38\.k37\./);
});

test('a string over limits.max_string_bytes is 400 naming the field', async () => {
  let e = assertError(await post(JSON.stringify({ name: 'x'.repeat(MAX_STRING + 1) })), 400, { param: 'name' });
  assert.match(e.message, new RegExp(`longer than ${MAX_STRING} bytes`));
  e = assertError(await post(JSON.stringify({ name: 'a', metadata: { notes: ['ok', 'y'.repeat(MAX_STRING + 1)] } })), 400,
    { param: 'metadata.notes[1]' });
  assert.match(e.message, /longer than/);
  // the limit counts bytes after unescaping: 200 escaped é (1200 chars of text) is 400 bytes
  e = assertError(await post(`{"name": "${'\\u00e9'.repeat(200)}"}`), 400, { param: 'name' });
  // exactly at the limit passes the parser (the handler's own 100-character rule answers)
  e = assertError(await post(JSON.stringify({ name: 'x'.repeat(MAX_STRING) })), 400, { param: 'name' });
  assert.match(e.message, /at most 100/);
});

test('wrong or missing Content-Type is 415', async () => {
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/json; charset=latin1', 'multipart/form-data; boundary=x']) {
    const e = assertError(await post('{"name": "x"}', ct), 415, { code: 'unsupported_media_type', param: 'Content-Type' });
    assert.match(e.message, /Content-Type|UTF-8/);
  }
  // a body with no Content-Type at all
  const e = assertError(await post(Buffer.from('{"name": "x"}'), null), 415, { param: 'Content-Type' });
  assert.match(e.message, /none/);
});

test('a compressed body (Content-Encoding other than identity) is 415 naming the header', async () => {
  for (const enc of ['gzip', 'deflate', 'br', 'x-custom, gzip']) {
    const r = await gw.request('POST', '/api/v1/api_keys', { key: a.key, raw: '{"name": "enc"}',
      headers: { 'content-type': 'application/json', 'content-encoding': enc } });
    const e = assertError(r, 415, { code: 'unsupported_media_type', param: 'Content-Encoding' });
    assert.match(e.message, /Content-Encoding/);
    assert.match(e.message, /uncompressed/);
  }
  // identity is no encoding at all
  const ok = await gw.request('POST', '/api/v1/api_keys', { key: a.key, raw: '{"name": "identity"}',
    headers: { 'content-type': 'application/json', 'content-encoding': 'identity' } });
  assert.equal(ok.status, 201, ok.text);
  keysBefore = gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`);
});

test('a body over limits.max_body_bytes is 413', async () => {
  const big = JSON.stringify({ name: 'n', pad: 'p'.repeat(MAX_BODY) });
  assertError(await post(big), 413, { code: 'body_too_large', param: 'body' });
  // the same without Content-Length (chunked): the limit holds while reading
  const chunk = big.slice(0, 3000);
  const rest = big.slice(3000);
  const raw = `POST /api/v1/api_keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${a.key}\r\n` +
    `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
    `${chunk.length.toString(16)}\r\n${chunk}\r\n${rest.length.toString(16)}\r\n${rest}\r\n0\r\n\r\n`;
  const r = await rawRequest(gw.port, raw);
  assert.match(r.text, /^HTTP\/1\.1 413 /);
  const body = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4));
  assert.equal(body.error.code, 'body_too_large');
  // a client uploading far more than the limit still reads the 413 (no reset mid-upload)
  for (let i = 0; i < 3; i++) {
    const huge = await post(JSON.stringify({ name: 'n', pad: 'p'.repeat(2 * 1024 * 1024) }));
    assertError(huge, 413, { code: 'body_too_large' });
  }
  // just under the limit is fine
  const fits = JSON.stringify({ name: 'fits' }) + ' '.repeat(MAX_BODY - 20);
  const ok = await post(fits);
  assert.equal(ok.status, 201, ok.text);
  keysBefore = gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`);
});

test('an empty body with a JSON Content-Type, or a non-object body, is 400', async () => {
  assertError(await post(''), 400, { param: 'body' });
  assertError(await post('[]'), 400, { param: 'body' });
  assertError(await post('"name"'), 400, { param: 'body' });
  assertError(await post('null'), 400, { param: 'body' });
});

test('unknown fields and wrong types are 400 naming the field', async () => {
  assertError(await post('{"name": "x", "colour": "red"}'), 400, { code: 'parameter_unknown', param: 'colour' });
  assertError(await post('{"name": 12}'), 400, { param: 'name' });
});

test('unknown query parameters are 400 naming the parameter', async () => {
  let e = assertError(await gw.request('GET', '/api/v1/api_keys?colour=red', { key: a.key }), 400,
    { param: 'colour', code: 'parameter_unknown' });
  assert.match(e.message, /colour/);
  e = assertError(await gw.request('GET', '/api/v1/logs?limit=5&verbose=1', { key: a.key }), 400, { param: 'verbose' });
  assertError(await gw.request('POST', '/api/v1/api_keys?dry_run=1', { key: a.key, body: { name: 'q' } }), 400,
    { param: 'dry_run' });
  assertError(await gw.request('GET', '/api/v1/account?expand=usage', { key: a.key }), 400, { param: 'expand' });
  // a repeated parameter is refused too
  assertError(await gw.request('GET', '/api/v1/api_keys?limit=1&limit=2', { key: a.key }), 400, { param: 'limit' });
  // percent-encoded names are decoded before the check
  assertError(await gw.request('GET', '/api/v1/api_keys?%63olour=1', { key: a.key }), 400, { param: 'colour' });
});

test('limit outside 1..100 (or not a number) is 400 naming limit', async () => {
  for (const v of ['0', '101', '-1', 'abc', '', '1.5', '10x', '99999999999999999999', '%31%30%31']) {
    for (const p of ['/api/v1/api_keys', '/api/v1/logs']) {
      const e = assertError(await gw.request('GET', `${p}?limit=${v}`, { key: a.key }), 400, { param: 'limit' });
      assert.match(e.message, /1 to 100/, `${p}?limit=${v}`);
    }
  }
  for (const v of ['1', '100', '%35%30']) {
    const r = await gw.request('GET', `/api/v1/api_keys?limit=${v}`, { key: a.key });
    assert.equal(r.status, 200, `limit=${v}: ${r.text}`);
  }
  const one = await gw.request('GET', '/api/v1/api_keys?limit=1', { key: a.key });
  assert.equal(one.body.data.length, 1);
  assert.equal(one.body.has_more, true);
});

test('bad log filters are 400 naming the parameter', async () => {
  for (const [q, param] of [['status=abc', 'status'], ['status=6xx', 'status'], ['status=40', 'status'],
    ['from=yesterday', 'from'], ['to=2025-02-30', 'to'], ['from=2025-06-01T12:00:00', 'from'],
    ['format=xml', 'format'], ['starting_after=key_123', 'starting_after']]) {
    assertError(await gw.request('GET', `/api/v1/logs?${q}`, { key: a.key }), 400, { param });
  }
});

test('invalid UTF-8 in the path or a query parameter is 400 (not a database error)', async () => {
  let e = assertError(await gw.request('DELETE', '/api/v1/api_keys/%FF%FE', { key: a.key }), 400, { param: 'path' });
  assert.match(e.message, /UTF-8/);
  assertError(await gw.request('POST', '/api/v1/api_keys/key_%C0%AF/rotate', { key: a.key }), 400, { param: 'path' });
  assertError(await gw.request('GET', '/api/v1/nothing/%ED%A0%80', { key: a.key }), 400, { param: 'path' });
  e = assertError(await gw.request('GET', '/api/v1/logs?path_prefix=%FF', { key: a.key }), 400, { param: 'path_prefix' });
  assert.match(e.message, /UTF-8/);
  assertError(await gw.request('GET', '/api/v1/api_keys?starting_after=key_%E2%82', { key: a.key }), 400, { param: 'starting_after' });
  assertError(await gw.request('GET', '/api/v1/logs?ip=%C3', { key: a.key }), 400, { param: 'ip' });
  // an invalid parameter name is refused without being echoed
  e = assertError(await gw.request('GET', '/api/v1/api_keys?%FF=1', { key: a.key }), 400, { param: 'query' });
  // a NUL in a value is malformed too
  assertError(await gw.request('GET', '/api/v1/logs?path_prefix=a%00b', { key: a.key }), 400, { param: 'path_prefix' });
  // valid non-ASCII is fine
  const ok = await gw.request('GET', '/api/v1/logs?path_prefix=' + encodeURIComponent('/api/v1/café'), { key: a.key });
  assert.equal(ok.status, 200, ok.text);
  const missing = await gw.request('DELETE', '/api/v1/api_keys/' + encodeURIComponent('key_☕'), { key: a.key });
  assertError(missing, 404);
});

test('nothing half-written: no refused request created a key', async () => {
  assert.equal(gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${a.account}'`), keysBefore);
  // and the gateway is still healthy after all of it
  assert.equal((await gw.request('GET', '/healthz')).status, 200);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: a.key })).status, 200);
});
