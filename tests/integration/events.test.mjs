// GET /api/v1/events and the "jobs" configuration section.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, assertError, BIN } from './lib/harness.mjs';

let gw, a, b;
const id = (n) => 'evt_' + String(n).padStart(26, '0');

before(async () => {
  gw = await startGateway({ config: { jobs: { workers: 2, poll_ms: 200, lease_seconds: 30 } } });
  a = gw.account();
  b = gw.account();
  // Events are published by the platform features; here they are written directly.
  const rows = [
    [a.account, 1, 'pass.created', '{"pass_id":"pass_1"}'],
    [a.account, 2, 'pass.updated', '{"pass_id":"pass_1"}'],
    [a.account, 3, 'pass.voided', '{"pass_id":"pass_1"}'],
    [b.account, 4, 'pass.created', '{"pass_id":"pass_b"}'],
    [a.account, 5, 'pass.created', '{"pass_id":"pass_2"}'],
    [a.account, 6, 'pass.voided', '{"pass_id":"pass_2"}'],
  ];
  gw.sql('INSERT INTO events (account_id, id, type, data) VALUES ' +
    rows.map(([acct, n, t, d]) => `('${acct}', '${id(n)}', '${t}', '${d}')`).join(', '));
});
after(async () => gw && gw.stop());

test('events: the account\'s own, newest first, in the event document shape', async () => {
  const r = await gw.request('GET', '/api/v1/events', { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.has_more, false);
  assert.deepEqual(r.body.data.map((e) => e.id), [6, 5, 3, 2, 1].map(id));
  const e = r.body.data[1];
  assert.equal(e.object, 'event');
  assert.equal(e.type, 'pass.created');
  assert.equal(e.schema, 1);
  assert.equal(e.account_id, a.account);
  assert.deepEqual(e.data, { pass_id: 'pass_2' });
  assert.match(e.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const rb = await gw.request('GET', '/api/v1/events', { key: b.key });
  assert.deepEqual(rb.body.data.map((x) => x.id), [id(4)]);
});

test('events: paginated with limit and starting_after, filtered by type', async () => {
  const p1 = await gw.request('GET', '/api/v1/events?limit=2', { key: a.key });
  assert.deepEqual(p1.body.data.map((e) => e.id), [id(6), id(5)]);
  assert.equal(p1.body.has_more, true);
  const p2 = await gw.request('GET', `/api/v1/events?limit=2&starting_after=${id(5)}`, { key: a.key });
  assert.deepEqual(p2.body.data.map((e) => e.id), [id(3), id(2)]);
  assert.equal(p2.body.has_more, true);
  const p3 = await gw.request('GET', `/api/v1/events?limit=2&starting_after=${id(2)}`, { key: a.key });
  assert.deepEqual(p3.body.data.map((e) => e.id), [id(1)]);
  assert.equal(p3.body.has_more, false);
  const t = await gw.request('GET', '/api/v1/events?type=pass.voided', { key: a.key });
  assert.deepEqual(t.body.data.map((e) => e.id), [id(6), id(3)]);
  const t2 = await gw.request('GET', `/api/v1/events?type=pass.voided&starting_after=${id(6)}`, { key: a.key });
  assert.deepEqual(t2.body.data.map((e) => e.id), [id(3)]);
});

test('events: one pass\'s with pass_id (the resource it carries, or its id), on an index', async () => {
  const pid = (n) => 'pass_' + String(n).padStart(26, '0');
  const pass = (n, v) => JSON.stringify({ schema: 1, pass: { id: pid(n), object: 'pass', version: v } });
  gw.sql('INSERT INTO events (account_id, id, type, data) VALUES ' +
    [[a.account, 11, 'pass.created', pass(7, 1)], [a.account, 12, 'pass.updated', pass(7, 2)],
      [a.account, 13, 'pass.created', pass(8, 1)], [a.account, 14, 'pass.installed', JSON.stringify({ schema: 1, pass_id: pid(7) })],
      [b.account, 15, 'pass.updated', pass(7, 9)]]
      .map(([acct, n, t, d]) => `('${acct}', '${id(n)}', '${t}', '${d}')`).join(', '));
  const r = await gw.request('GET', `/api/v1/events?pass_id=${pid(7)}`, { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.data.map((e) => e.id), [14, 12, 11].map(id));
  const u = await gw.request('GET', `/api/v1/events?pass_id=${pid(7)}&type=pass.updated`, { key: a.key });
  assert.deepEqual(u.body.data.map((e) => e.data.pass.version), [2]);
  assert.deepEqual((await gw.request('GET', `/api/v1/events?pass_id=${pid(9)}`, { key: a.key })).body.data, []);
  assertError(await gw.request('GET', '/api/v1/events?pass_id=tpl_1', { key: a.key }), 400, { param: 'pass_id' });
  const plan = gw.sql(`SET enable_seqscan = off; EXPLAIN SELECT id FROM events WHERE account_id = '${a.account}' AND coalesce(data->'pass'->>'id', data->>'pass_id') = '${pid(7)}' ORDER BY id DESC LIMIT 21`);
  assert.match(plan, /events_pass_idx/);
  gw.sql(`DELETE FROM events WHERE id IN (${[11, 12, 13, 14, 15].map((n) => `'${id(n)}'`).join(',')})`);
});

test('events: bad parameters are 400 naming the parameter; no key is 401', async () => {
  assertError(await gw.request('GET', '/api/v1/events?limit=0', { key: a.key }), 400, { param: 'limit' });
  assertError(await gw.request('GET', '/api/v1/events?starting_after=pass_1', { key: a.key }), 400, { param: 'starting_after' });
  assertError(await gw.request('GET', '/api/v1/events?type=no%20spaces', { key: a.key }), 400, { param: 'type' });
  assertError(await gw.request('GET', '/api/v1/events?since=1', { key: a.key }), 400, { param: 'since' });
  assertError(await gw.request('GET', '/api/v1/events'), 401);
});

test('config: unknown or out-of-range keys in "jobs" stop start-up naming the key', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-jobs-cfg-'));
  const run = (jobs) => {
    const cfg = path.join(dir, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ server: { port: 1, listen_address: '127.0.0.1' }, jobs }));
    return spawnSync(BIN, ['serve'], { env: { ...gw.env, WALLETPASS_CONFIG: cfg }, encoding: 'utf8', timeout: 120000 });
  };
  const r1 = run({ workerz: 2 });
  assert.equal(r1.status, 1, r1.stderr);
  assert.match(r1.stderr, /jobs\.workerz: unknown configuration key/);
  const r2 = run({ lease_seconds: 0 });
  assert.equal(r2.status, 1, r2.stderr);
  assert.match(r2.stderr, /jobs\.lease_seconds: must be an integer 1\.\.86400/);
  fs.rmSync(dir, { recursive: true, force: true });
});
