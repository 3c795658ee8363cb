// The gateway core: health, auth, API keys, account, request ids.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, assertError, waitFor } from './lib/harness.mjs';

let gw, a;
before(async () => {
  gw = await startGateway();
  a = gw.account();
});
after(async () => gw && gw.stop());

test('healthz, readyz and metrics answer at the root', async () => {
  const h = await gw.request('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.match(h.headers.get('request-id'), /^req_[A-Za-z0-9_-]{20}$/);
  const r = await gw.request('GET', '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.body.database, 'ok');
  await gw.request('GET', '/api/v1/account', { key: a.key });
  // A request is counted once its response is out (its latency included), so
  // the count may trail the response by a moment.
  const m = await waitFor(async () => {
    const r = await gw.request('GET', '/metrics');
    return /walletpass_http_requests_total\{method="GET",route="\/api\/v1\/account",status="200"\} \d+/.test(r.text) && r;
  }, { what: 'the account request in /metrics', timeout: 120000 });
  assert.equal(m.status, 200);
  assert.match(m.text, /walletpass_http_request_duration_seconds_bucket\{method="GET",route="\/api\/v1\/account",le="\+Inf"\} \d+/);
  assert.match(m.text, /walletpass_db_pool_size \d+/);
});

test('account: the key identifies its account', async () => {
  const r = await gw.request('GET', '/api/v1/account', { key: a.key });
  assert.equal(r.status, 200);
  assert.equal(r.body.id, a.account);
  assert.equal(r.body.usage.operations, 0);
  assert.match(r.body.usage.period, /^\d{4}-\d{2}$/);
});

test('missing, malformed, unknown and revoked keys are 401 with the error shape', async () => {
  assertError(await gw.request('GET', '/api/v1/account'), 401, { code: 'api_key_missing', type: 'authentication_error' });
  assertError(await gw.request('GET', '/api/v1/account', { headers: { authorization: 'Basic abc' } }), 401, { code: 'api_key_invalid' });
  assertError(await gw.request('GET', '/api/v1/account', { key: 'sk_live_short' }), 401, { code: 'api_key_invalid' });
  const unknown = 'sk_live_' + 'A'.repeat(43);
  assertError(await gw.request('GET', '/api/v1/account', { key: unknown }), 401, { code: 'api_key_invalid' });
  // right prefix, wrong secret
  const forged = a.key.slice(0, 20) + (a.key[20] === 'A' ? 'B' : 'A') + a.key.slice(21);
  assertError(await gw.request('GET', '/api/v1/account', { key: forged }), 401, { code: 'api_key_invalid' });
  // an id route without a key is 401 too, not 404
  assertError(await gw.request('DELETE', '/api/v1/api_keys/key_nothere'), 401);
});

test('API keys: create shows the secret once, list never, revoke and rotate work', async () => {
  const c = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'ci' } });
  assert.equal(c.status, 201, c.text);
  assert.match(c.body.key, /^sk_live_[A-Za-z0-9_-]{43}$/);
  assert.equal(c.body.prefix, c.body.key.slice(0, 14));
  assert.equal(c.body.name, 'ci');
  const stored = gw.sql(`SELECT secret_hash FROM api_keys WHERE id = '${c.body.id}'`);
  assert.match(stored, /^[0-9a-f]{64}$/);
  assert.equal(gw.sql(`SELECT count(*) FROM api_keys WHERE secret_hash LIKE '%${c.body.key.slice(8, 30)}%' OR prefix = '${c.body.key}'`), '0');

  const list = await gw.request('GET', '/api/v1/api_keys', { key: a.key });
  assert.equal(list.status, 200);
  assert.ok(list.body.data.some((k) => k.id === c.body.id));
  assert.ok(!list.text.includes(c.body.key), 'list must not contain a secret');

  assert.equal((await gw.request('GET', '/api/v1/account', { key: c.body.key })).status, 200);
  const rot = await gw.request('POST', `/api/v1/api_keys/${c.body.id}/rotate`, { key: a.key });
  assert.equal(rot.status, 201, rot.text);
  assert.equal(rot.body.replaces, c.body.id);
  assertError(await gw.request('GET', '/api/v1/account', { key: c.body.key }), 401);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: rot.body.key })).status, 200);

  const del = await gw.request('DELETE', `/api/v1/api_keys/${rot.body.id}`, { key: a.key });
  assert.equal(del.status, 200);
  assertError(await gw.request('GET', '/api/v1/account', { key: rot.body.key }), 401);
  assertError(await gw.request('DELETE', `/api/v1/api_keys/${rot.body.id}`, { key: a.key }), 404);
});

test("another account's key ids answer 404", async () => {
  const b = gw.account();
  const c = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: {} });
  assertError(await gw.request('DELETE', `/api/v1/api_keys/${c.body.id}`, { key: b.key }), 404);
  assertError(await gw.request('POST', `/api/v1/api_keys/${c.body.id}/rotate`, { key: b.key }), 404);
  const list = await gw.request('GET', '/api/v1/api_keys', { key: b.key });
  assert.ok(!list.body.data.some((k) => k.id === c.body.id));
  assert.equal((await gw.request('GET', '/api/v1/account', { key: c.body.key })).status, 200);
});

test('unknown routes are 404 and wrong methods 405, both JSON', async () => {
  assertError(await gw.request('GET', '/api/v1/nothing', { key: a.key }), 404, { code: 'route_not_found' });
  const r = await gw.request('PATCH', '/api/v1/account', { key: a.key });
  assertError(r, 405, { code: 'method_not_allowed' });
  assert.equal(r.headers.get('allow'), 'GET');
});

test('CLI prints ids and keys alone on stdout', async () => {
  const id = gw.cli(['account', 'create', '--name', 'Cli', '--email', 'cli@example.com']);
  assert.match(id, /^acct_[0-9a-z]{26}$/);
  const key = gw.cli(['key', 'create', '--account', id]);
  assert.match(key, /^sk_live_[A-Za-z0-9_-]{43}$/);
  const r = await gw.request('GET', '/api/v1/account', { key });
  assert.equal(r.body.id, id);
});
