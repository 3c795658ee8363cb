// The in-process caches and what they must never do, with two gateway processes on one database
// (docs/caching.md): an API key remembered by a process stops working when it is revoked, at once
// on the process that revoked it and on the other when the NOTIFY of the api_keys trigger reaches
// it, or at the latest after cache.api_key_ttl_ms when no notification comes; a key created on one
// process works at once on the other.  Waits poll with generous limits, never time a result.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, waitFor } from './lib/harness.mjs';

const q = (s) => s.replace(/'/g, "''");
let A, B;

// A long time to live: the other process can only learn of a revocation through the notification.
const LONG_TTL = { cache: { api_keys: 1000, api_key_ttl_ms: 600000 } };

before(async () => {
  A = await startGateway({ config: LONG_TTL });
  B = await startGateway({ config: LONG_TTL, dbUrl: A.dbUrl, env: { WALLETPASS_MASTER_KEY: A.env.WALLETPASS_MASTER_KEY } });
});
after(async () => {
  if (B) await B.stop();
  if (A) await A.stop();
});

const keyId = (gw, key) => gw.sql(`SELECT id FROM api_keys WHERE prefix = '${q(key.slice(0, 14))}'`);
const account = (gw, key) => gw.request('GET', '/api/v1/account', { key });

test('a key revoked on one process fails at once there and on the other once notified', async () => {
  const k = A.account();
  // both processes remember the key
  for (const gw of [A, B]) for (let i = 0; i < 3; i++) assert.equal((await account(gw, k.key)).status, 200);
  const d = await A.request('DELETE', `/api/v1/api_keys/${keyId(A, k.key)}`, { key: k.key });
  assert.equal(d.status, 200, d.text);
  // the revoking process: the very next request
  assert.equal((await account(A, k.key)).status, 401);
  // the other: through NOTIFY wp_auth (its time to live is ten minutes)
  await waitFor(async () => (await account(B, k.key)).status === 401, { timeout: 60000, what: 'the revocation on B' });
  assert.equal((await account(A, k.key)).status, 401);
});

test('a rotation and the CLI revoke reach both processes', async () => {
  const k = A.account();
  for (const gw of [A, B]) assert.equal((await account(gw, k.key)).status, 200);
  const r = await B.request('POST', `/api/v1/api_keys/${keyId(A, k.key)}/rotate`, { key: k.key });
  assert.equal(r.status, 201, r.text);
  assert.equal((await account(B, k.key)).status, 401);
  await waitFor(async () => (await account(A, k.key)).status === 401, { timeout: 60000, what: 'the rotation on A' });
  // the new key works at once on both: unknown keys are never remembered
  for (const gw of [A, B]) assert.equal((await account(gw, r.body.key)).status, 200);
  // a revocation by another program (the CLI) reaches both through the trigger
  A.cli(['key', 'revoke', '--account', k.account, r.body.id]);
  for (const gw of [A, B])
    await waitFor(async () => (await account(gw, r.body.key)).status === 401, { timeout: 60000, what: 'the CLI revocation' });
});

test('a key is remembered: a change that sends no notification is not seen before the time to live', async () => {
  const k = A.account();
  assert.equal((await account(B, k.key)).status, 200);
  // triggers off for this session: the row changes, nobody is told
  B.sql(`SET session_replication_role = replica; UPDATE api_keys SET revoked_at = now() WHERE prefix = '${q(k.key.slice(0, 14))}'`);
  assert.equal((await account(B, k.key)).status, 200, 'served from the cache (ten minutes to live)');
  // any notification on the channel makes the process forget
  B.sql('NOTIFY wp_auth');
  await waitFor(async () => (await account(B, k.key)).status === 401, { timeout: 60000, what: 'the forgotten key' });
});

test('without a notification a revoked key stops within cache.api_key_ttl_ms', async () => {
  const C = await startGateway({ config: { cache: { api_keys: 1000, api_key_ttl_ms: 1000 } }, dbUrl: A.dbUrl,
    env: { WALLETPASS_MASTER_KEY: A.env.WALLETPASS_MASTER_KEY } });
  try {
    const k = A.account();
    assert.equal((await account(C, k.key)).status, 200);
    C.sql(`SET session_replication_role = replica; UPDATE api_keys SET revoked_at = now() WHERE prefix = '${q(k.key.slice(0, 14))}'`);
    await waitFor(async () => (await account(C, k.key)).status === 401, { timeout: 60000, what: 'the time to live' });
  } finally {
    await C.stop();
  }
});

test('a deleted sub-account\'s keys stop at once on the process that deleted it', async () => {
  const agency = A.account();
  const s = await A.request('POST', '/api/v1/accounts', { key: agency.key, body: { name: 'Shop', email: 'shop@example.com' } });
  assert.equal(s.status, 201, s.text);
  const sk = await A.request('POST', `/api/v1/accounts/${s.body.id}/api_keys`, { key: agency.key, body: {} });
  assert.equal(sk.status, 201, sk.text);
  for (const gw of [A, B]) assert.equal((await account(gw, sk.body.key)).status, 200);
  const del = await B.request('DELETE', `/api/v1/accounts/${s.body.id}`, { key: agency.key });
  assert.equal(del.status, 200, del.text);
  assert.equal((await account(B, sk.body.key)).status, 401);
  await waitFor(async () => (await account(A, sk.body.key)).status === 401, { timeout: 60000, what: 'the deletion on A' });
});
