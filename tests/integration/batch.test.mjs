// Batch creation: POST /api/v1/passes/batch and GET /api/v1/batches/:id.
// A 1,000-item batch with bad items gets exact per-item results; limits and
// validation are 400s naming the field; metering counts items (402 per item);
// the Idempotency-Key covers the whole batch; a gateway SIGKILLed mid-batch
// finishes it after a restart without creating any pass twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startGateway, assertError, waitFor, BIN } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const BATCH_ID = /^batch_[A-Za-z0-9]+$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const CONFIG = {
  plugin_dir: PLUGIN_DIR,
  plugins: [{ name: 'geofence' }],
  plans: { trial: { operations_per_month: 1000 }, unlimited: { operations_per_month: -1 }, five: { operations_per_month: 5 } },
  jobs: { workers: 2, poll_ms: 200 },
  metering: { trial_days: 0 }, // no trial: the plan's limit applies from the start
};

let gw, a, b;
before(async () => {
  gw = await startGateway({ config: CONFIG });
  a = gw.account();
  b = gw.account();
});
after(async () => gw && gw.stop());

const q = (s) => s.replace(/'/g, "''");
const passCount = (g, account) => Number(g.sql(`SELECT count(*) FROM passes WHERE account_id = '${q(account)}'`));
const post = (g, key, body, headers) => g.request('POST', '/api/v1/passes/batch', { key, body, headers });
const pass = (i, extra = {}) => ({
  pass_type: 'loyalty', organization_name: 'Batch Co', primary_fields: [{ key: 'n', label: 'N', value: String(i) }],
  barcode_message: `M-${i}`, ...extra,
});

async function waitCompleted(g, key, id, timeout = 600000) {
  return waitFor(async () => {
    const r = await g.request('GET', `/api/v1/batches/${id}`, { key });
    assert.equal(r.status, 200, r.text);
    return r.body.status === 'completed' ? r.body : null;
  }, { timeout, interval: 100, what: `batch ${id} completed` });
}

/** Every item result, through the pages (limit/starting_after). */
async function allItems(g, key, id, limit = 100) {
  const items = [];
  let after = null;
  for (;;) {
    const r = await g.request('GET', `/api/v1/batches/${id}?limit=${limit}${after !== null ? `&starting_after=${after}` : ''}`, { key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.items.object, 'list');
    items.push(...r.body.items.data);
    if (!r.body.items.has_more) break;
    after = r.body.items.data.at(-1).index;
  }
  return items;
}

test('validation: empty, over 1,000, missing, not an array, unknown field, bad template_id -> 400 naming it; 401; 404', async () => {
  assertError(await post(gw, a.key, { passes: [] }), 400, { param: 'passes', code: 'parameter_invalid' });
  assertError(await post(gw, a.key, { passes: Array.from({ length: 1001 }, (_, i) => pass(i)) }), 400, { param: 'passes' });
  assertError(await post(gw, a.key, {}), 400, { param: 'passes', code: 'parameter_missing' });
  assertError(await post(gw, a.key, { passes: { a: 1 } }), 400, { param: 'passes' });
  assertError(await post(gw, a.key, { passes: [pass(1)], extra: 1 }), 400, { param: 'extra', code: 'parameter_unknown' });
  // a field with an empty name has no name for param: the body is named, and the message says why
  const empty = assertError(await post(gw, a.key, { passes: [pass(1)], '': 1 }), 400, { param: 'body', code: 'parameter_unknown' });
  assert.match(empty.message, /empty name/);
  assertError(await post(gw, a.key, { passes: [pass(1)], template_id: 5 }), 400, { param: 'template_id' });
  assertError(await post(gw, a.key, [pass(1)]), 400, { param: 'body' });
  assertError(await post(gw, a.key, { passes: [pass(1)], template_id: 'tpl_nope' }), 404, { param: 'template_id' });
  assertError(await post(gw, null, { passes: [pass(1)] }), 401);
  const bad = await gw.request('POST', '/api/v1/passes/batch', { key: a.key, raw: '{"passes": [1,]}', headers: { 'content-type': 'application/json' } });
  assertError(bad, 400);
  assertError(await gw.request('GET', '/api/v1/batches/batch_nope', { key: a.key }), 404, { param: 'id' });
  assertError(await gw.request('GET', '/api/v1/batches/batch_x?limit=0', { key: a.key }), 400, { param: 'limit' });
  assertError(await gw.request('GET', '/api/v1/batches/batch_x?starting_after=x', { key: a.key }), 400, { param: 'starting_after' });
  assertError(await gw.request('GET', '/api/v1/batches/batch_x?color=red', { key: a.key }), 400, { param: 'color' });
  // nothing was stored by any of these
  assert.equal(gw.sql(`SELECT count(*) FROM batches WHERE account_id = '${q(a.account)}'`), '0');
});

test('a 1,000-item batch with bad items: 202, then exact per-item results, N passes, batch.completed', async () => {
  const items = [];
  const expected = []; // {status, param?, code?, httpStatus?}
  for (let i = 0; i < 1000; i++) {
    if (i % 97 === 5) { items.push(pass(i, { pass_type: 'boat' })); expected.push({ status: 'failed', param: 'pass_type', code: 'parameter_invalid', s: 400 }); }
    else if (i % 101 === 7) { items.push(pass(i, { locations: [{ latitude: 91, longitude: 0 }] })); expected.push({ status: 'failed', param: 'locations[0].latitude', code: 'parameter_invalid', s: 400 }); }
    else if (i === 500) { items.push('not a pass'); expected.push({ status: 'failed', param: 'body', code: 'parameter_invalid', s: 400 }); }
    else if (i === 600) { items.push(pass(i, { template_id: 'tpl_missing' })); expected.push({ status: 'failed', param: 'template_id', code: 'resource_missing', s: 404 }); }
    else if (i === 700) { items.push(pass(i, { serial_number: 'DUP-700' })); expected.push({ status: 'succeeded' }); }
    else if (i === 701) { items.push(pass(i, { serial_number: 'DUP-700' })); expected.push({ status: 'failed', param: 'serial_number', code: 'serial_number_taken', s: 409 }); }
    else if (i === 900) { items.push(pass(i, { colour: 'red' })); expected.push({ status: 'failed', param: 'colour', code: 'parameter_unknown', s: 400 }); }
    else { items.push(pass(i, i % 10 === 0 ? { locations: [{ latitude: 10, longitude: 20 }] } : {})); expected.push({ status: 'succeeded' }); }
  }
  const nOk = expected.filter((e) => e.status === 'succeeded').length;
  const before = passCount(gw, a.account);
  const r = await post(gw, a.key, { passes: items });
  assert.equal(r.status, 202, r.text);
  assert.match(r.body.id, BATCH_ID);
  assert.equal(r.body.object, 'batch');
  assert.equal(r.body.status, 'queued');
  assert.equal(r.body.total, 1000);
  assert.match(r.body.created_at, ISO);
  const done = await waitCompleted(gw, a.key, r.body.id);
  assert.equal(done.total, 1000);
  assert.equal(done.succeeded, nOk);
  assert.equal(done.failed, 1000 - nOk);
  assert.equal(done.progress, 1);
  assert.match(done.completed_at, ISO);
  const results = await allItems(gw, a.key, r.body.id);
  assert.deepEqual(results.map((x) => x.index), [...Array(1000).keys()]);
  const ids = new Set();
  for (const [i, it] of results.entries()) {
    const e = expected[i];
    assert.equal(it.status, e.status, `item ${i}: ${JSON.stringify(it)}`);
    if (e.status === 'succeeded') {
      assert.match(it.pass_id, /^pass_/);
      assert.equal(it.error, null);
      ids.add(it.pass_id);
    } else {
      assert.equal(it.pass_id, null);
      assert.equal(it.error.param, e.param, `item ${i}: ${JSON.stringify(it)}`);
      assert.equal(it.error.code, e.code, `item ${i}: ${JSON.stringify(it)}`);
      assert.equal(it.error.status, e.s, `item ${i}`);
      assert.equal(it.error.type, 'invalid_request_error');
      assert.equal(typeof it.error.message, 'string');
    }
  }
  assert.equal(ids.size, nOk);
  assert.equal(passCount(gw, a.account), before + nOk);
  // the results name real passes of the account, with the item's content
  const one = results[3];
  const g = await gw.request('GET', `/api/v1/passes/${one.pass_id}`, { key: a.key });
  assert.equal(g.status, 200, g.text);
  assert.equal(g.body.barcode_message, 'M-3');
  // another account sees neither the batch nor its passes
  assertError(await gw.request('GET', `/api/v1/batches/${r.body.id}`, { key: b.key }), 404);
  // one batch.completed event with the final counts
  const ev = await waitFor(async () => {
    const x = await gw.request('GET', '/api/v1/events?type=batch.completed', { key: a.key });
    return x.body.data.find((d) => d.data.batch.id === r.body.id);
  }, { what: 'batch.completed event' });
  assert.equal(ev.data.batch.succeeded, nOk);
  assert.equal(ev.data.batch.failed, 1000 - nOk);
  assert.equal(ev.data.batch.status, 'completed');
  assert.equal(Number(gw.sql(`SELECT count(*) FROM events WHERE type = 'batch.completed' AND data->'batch'->>'id' = '${r.body.id}'`)), 1);
  // every created pass has its pass.created event, as with POST /api/v1/passes
  assert.equal(Number(gw.sql(`SELECT count(*) FROM events WHERE type = 'pass.created' AND data->'pass'->>'id' IN (SELECT pass_id FROM batch_items WHERE batch_id = '${r.body.id}' AND pass_id IS NOT NULL)`)), nOk);
  // pages of 7: same results
  const paged = await allItems(gw, a.key, r.body.id, 7);
  assert.deepEqual(paged, results);
});

test('a template_id for the whole batch: items override it key by key; an item may name its own', async () => {
  const t = await gw.request('POST', '/api/v1/templates', { key: a.key, body: { name: 'base', body: {
    pass_type: 'coupon', organization_name: 'Tpl Shop', offer_title: '5% off' } } });
  assert.equal(t.status, 201, t.text);
  const r = await post(gw, a.key, { template_id: t.body.id, passes: [{ barcode_message: 'A' }, { offer_title: '9% off' }, { template_id: null, pass_type: 'generic' }] });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.template_id, t.body.id);
  await waitCompleted(gw, a.key, r.body.id);
  const items = await allItems(gw, a.key, r.body.id);
  assert.deepEqual(items.map((x) => x.status), ['succeeded', 'succeeded', 'failed']);
  assert.equal(items[2].error.param, 'organization_name'); // no template: the item alone is incomplete
  const p1 = (await gw.request('GET', `/api/v1/passes/${items[1].pass_id}`, { key: a.key })).body;
  assert.equal(p1.offer_title, '9% off');
  assert.equal(p1.organization_name, 'Tpl Shop');
  assert.equal(p1.template_id, t.body.id);
});

test('metering counts the items created: past the plan, items fail with 402 plan_limit_reached', async () => {
  const email = `${crypto.randomBytes(6).toString('hex')}@example.com`;
  const account = gw.cli(['account', 'create', '--name', 'Five', '--email', email, '--plan', 'five']);
  const key = gw.cli(['key', 'create', '--account', account]);
  const r = await post(gw, key, { passes: [pass(0), pass(1, { pass_type: 'x' }), pass(2), pass(3), pass(4), pass(5), pass(6), pass(7)] });
  assert.equal(r.status, 202, r.text);
  const done = await waitCompleted(gw, key, r.body.id);
  const items = await allItems(gw, key, r.body.id);
  assert.deepEqual(items.map((x) => x.status), ['succeeded', 'failed', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'failed']);
  assert.equal(items[1].error.code, 'parameter_invalid'); // a bad item costs nothing
  for (const i of [6, 7]) {
    assert.equal(items[i].error.code, 'plan_limit_reached');
    assert.equal(items[i].error.status, 402);
  }
  assert.equal(done.succeeded, 5);
  assert.equal(passCount(gw, account), 5);
  assert.equal(Number(gw.sql(`SELECT coalesce(sum(operations), 0) FROM usage_counter_rows WHERE account_id = '${q(account)}'`)), 5);
});

test('the Idempotency-Key covers the whole batch: a retry answers the same batch and creates nothing', async () => {
  const headers = { 'idempotency-key': 'batch-' + crypto.randomBytes(4).toString('hex') };
  const body = { passes: [pass(1), pass(2), pass(3)] };
  const batches = () => Number(gw.sql(`SELECT count(*) FROM batches WHERE account_id = '${q(a.account)}'`));
  const before = batches();
  const first = await post(gw, a.key, body, headers);
  assert.equal(first.status, 202, first.text);
  const again = await post(gw, a.key, body, headers);
  assert.equal(again.status, 202, again.text);
  assert.equal(again.body.id, first.body.id);
  assertError(await post(gw, a.key, { passes: [pass(9)] }, headers), 409, { code: 'idempotency_key_reused' });
  await waitCompleted(gw, a.key, first.body.id);
  assert.equal(Number(gw.sql(`SELECT count(*) FROM batch_items WHERE batch_id = '${first.body.id}' AND status = 'succeeded'`)), 3);
  assert.equal(batches(), before + 1);
});

test('SIGKILL mid-batch: a new gateway on the same database finishes it; exactly N passes, none twice', async () => {
  // one worker: the batch is slow enough to be caught mid-way; the killed process's chunk is
  // requeued at the restart (its owner is seen dead on this machine, no lease has to run out).
  // The lease is long enough that a renewal late on a loaded machine never gives a running
  // chunk away.
  const slow = { ...CONFIG, jobs: { workers: 1, poll_ms: 100, lease_seconds: 30 } };
  const g1 = await startGateway({ config: slow });
  const acct = g1.account();
  const N = 1000;
  const r = await post(g1, acct.key, { passes: Array.from({ length: N }, (_, i) => pass(i, { serial_number: `K-${i}` })) });
  assert.equal(r.status, 202, r.text);
  await waitFor(async () => {
    const x = await g1.request('GET', `/api/v1/batches/${r.body.id}`, { key: acct.key });
    return x.body.status === 'processing' && x.body.succeeded >= 50;
  }, { interval: 10, what: 'the batch processing' });
  await g1.stop({ signal: 'SIGKILL' });
  const mid = Number(g1.sql(`SELECT count(*) FROM passes WHERE account_id = '${q(acct.account)}'`));
  assert.ok(mid > 0 && mid < N, `killed mid-batch (${mid} passes so far)`);
  const g2 = await startGateway({ config: slow, dbUrl: g1.dbUrl, env: { WALLETPASS_MASTER_KEY: g1.env.WALLETPASS_MASTER_KEY } });
  try {
    const done = await waitCompleted(g2, acct.key, r.body.id);
    assert.equal(done.succeeded, N);
    assert.equal(done.failed, 0);
    assert.equal(passCount(g2, acct.account), N);
    assert.equal(Number(g2.sql(`SELECT count(DISTINCT serial_number) FROM passes WHERE account_id = '${q(acct.account)}'`)), N);
    // every item names its own pass, each pass once
    assert.equal(Number(g2.sql(`SELECT count(DISTINCT pass_id) FROM batch_items WHERE batch_id = '${r.body.id}'`)), N);
    assert.equal(Number(g2.sql(`SELECT count(*) FROM events WHERE type = 'pass.created' AND account_id = '${q(acct.account)}'`)), N);
    assert.equal(Number(g2.sql(`SELECT count(*) FROM events WHERE type = 'batch.completed' AND account_id = '${q(acct.account)}'`)), 1);
    assert.equal(Number(g2.sql(`SELECT coalesce(sum(operations), 0) FROM usage_counter_rows WHERE account_id = '${q(acct.account)}'`)), N);
  } finally {
    await g2.stop();
  }
});
