// Idempotency-Key on POST: one action per key, conflicts on a different body,
// and a response that carried a secret is never stored or replayed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, assertError } from './lib/harness.mjs';

let gw, a;
before(async () => {
  gw = await startGateway();
  a = gw.account();
});
after(async () => gw && gw.stop());

const keyCount = (account) => Number(gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${account}'`));

test('a retried key-creating POST acts once and never replays the secret', async () => {
  const before = keyCount(a.account);
  const headers = { 'idempotency-key': 'create-ci-key-1' };
  const first = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'ci' }, headers });
  assert.equal(first.status, 201, first.text);
  const again = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'ci' }, headers });
  assertError(again, 409, { code: 'idempotency_response_secret', param: 'Idempotency-Key', type: 'idempotency_error' });
  assert.ok(!again.text.includes(first.body.key));
  assert.equal(keyCount(a.account), before + 1);
  // the secret is not in the idempotency table
  assert.equal(gw.sql(`SELECT count(*) FROM idempotency_keys WHERE response IS NOT NULL AND position('${first.body.key.slice(8)}' in encode(response, 'escape')) > 0`), '0');
});

test('the same key with another body is 409; keys are scoped per API key and path', async () => {
  const headers = { 'idempotency-key': 'k-2' };
  assert.equal((await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'one' }, headers })).status, 201);
  assertError(await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'two' }, headers }), 409,
    { code: 'idempotency_key_reused', param: 'Idempotency-Key' });
  const b = gw.account();
  assert.equal((await gw.request('POST', '/api/v1/api_keys', { key: b.key, body: { name: 'two' }, headers })).status, 201);
});

test('a malformed Idempotency-Key is 400 and does nothing', async () => {
  const before = keyCount(a.account);
  for (const bad of ['x'.repeat(256), 'has space']) {
    assertError(await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: {}, headers: { 'idempotency-key': bad } }), 400,
      { param: 'Idempotency-Key' });
  }
  assert.equal(keyCount(a.account), before);
});

test('a refused request (4xx) is remembered too: the retry gets the same answer', async () => {
  const headers = { 'idempotency-key': 'k-bad-body' };
  const r1 = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { colour: 'x' }, headers });
  assertError(r1, 400, { param: 'colour' });
  const r2 = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { colour: 'x' }, headers });
  assert.equal(r2.status, 400);
  assert.equal(r2.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(r2.body.error.param, 'colour');
});

test('with a reused key, malformed JSON and a wrong Content-Type still answer 400 and 415', async () => {
  const headers = { 'idempotency-key': 'k-order' };
  assert.equal((await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'first' }, headers })).status, 201);
  assertError(await gw.request('POST', '/api/v1/api_keys', { key: a.key, raw: '{"name": ', headers: { ...headers, 'content-type': 'application/json' } }), 400, { code: 'invalid_json' });
  assertError(await gw.request('POST', '/api/v1/api_keys', { key: a.key, raw: 'name=x', headers: { ...headers, 'content-type': 'text/plain' } }), 415);
  assertError(await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'second' }, headers }), 409, { code: 'idempotency_key_reused' });
});

test('a retry sent the instant the first answer arrives is a replay, never "in progress"', async () => {
  const body = { pass_type: 'generic', organization_name: 'Replay Co.' };
  for (let i = 0; i < 25; i++) {
    const headers = { 'idempotency-key': `instant-${i}-${Date.now()}` };
    const first = await gw.request('POST', '/api/v1/passes', { key: a.key, body, headers });
    assert.equal(first.status, 201, first.text);
    const again = await gw.request('POST', '/api/v1/passes', { key: a.key, body, headers });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
  }
});
