// Webhooks plugin: signed deliveries verified by the npm
// `standardwebhooks` and `svix` libraries, the retry schedule, manual retry,
// a SIGKILL with deliveries pending, outbound refusals, and isolation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startGateway, assertError, waitFor, sleep, BIN } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const { Webhook: StdWebhook } = require('standardwebhooks');
const { Webhook: SvixWebhook } = require('svix');

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const SCALE = 0.005; // attempts at 0, 25 ms, 150 ms, 1.5 s, 9 s after the event
const SCHEDULE_S = [0, 5, 30, 300, 1800];

const PASS = {
  pass_type: 'generic',
  organization_name: 'Webhook Test Co.',
  primary_fields: [{ key: 'k', label: 'K', value: 'v' }],
  barcode_message: 'WH-1',
};

// ---- a local receiver: every request recorded; behaviour per path --------------
function receiver() {
  const seen = [];
  // path -> (req record, count) => { status, body?, delayMs?, until? (a promise the answer waits for) }
  const behaviour = new Map();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const rec = { path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      seen.push(rec);
      const n = seen.filter((r) => r.path === rec.path).length;
      const b = (behaviour.get(rec.path) || (() => ({ status: 200 })))(rec, n);
      if (b.delayMs) await sleep(b.delayMs);
      if (b.until) await b.until;
      if (res.destroyed) return;
      res.writeHead(b.status, b.headers || { 'content-type': 'text/plain' });
      res.end(b.body ?? 'ok');
      rec.answered = b.status; // only once the answer went out
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        seen, behaviour, server,
        url: (p) => `http://127.0.0.1:${server.address().port}${p}`,
        on: (p) => seen.filter((r) => r.path === p),
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
      }),
    ),
  );
}

// Both libraries must accept the delivery with this secret.
function verifyBoth(secret, rec) {
  const hdrs = {
    'webhook-id': rec.headers['webhook-id'],
    'webhook-timestamp': rec.headers['webhook-timestamp'],
    'webhook-signature': rec.headers['webhook-signature'],
  };
  const a = new StdWebhook(secret).verify(rec.body, hdrs);
  new SvixWebhook(secret).verify(rec.body, hdrs); // throws when no signature matches (returns nothing in svix 2.x)
  assert.deepEqual(a, JSON.parse(rec.body));
  return a;
}

function refusedBy(secret, rec) {
  const hdrs = {
    'webhook-id': rec.headers['webhook-id'],
    'webhook-timestamp': rec.headers['webhook-timestamp'],
    'webhook-signature': rec.headers['webhook-signature'],
  };
  assert.throws(() => new StdWebhook(secret).verify(rec.body, hdrs));
  assert.throws(() => new SvixWebhook(secret).verify(rec.body, hdrs));
}

const PLUGIN_CONFIG = {
  allow_http: true, retry_scale: SCALE, timeout_ms: 2000, connect_timeout_ms: 1000, defer_ms: 50,
  max_response_bytes: 65536, per_endpoint_concurrency: 2,
};
// plugin: keys replacing PLUGIN_CONFIG's
function gatewayOptions(extra = {}, plugin = {}) {
  return {
    config: {
      // a lease long enough that a renewal late on a loaded machine never gives a running attempt
      // away (a killed gateway's jobs are taken over as soon as its death is seen, not by lease)
      jobs: { workers: 6, poll_ms: 50, lease_seconds: 30 },
      outbound: { allow_private_targets: true },
      plugin_dir: PLUGIN_DIR,
      plugins: [{ name: 'webhooks', config: { ...PLUGIN_CONFIG, ...plugin } }],
    },
    ...extra,
  };
}
// For attempts held open by the receiver until the test releases them: far longer than any wait
// of the test, so no attempt ends by the clock, however slow the machine.
const HOLD = { timeout_ms: 120000 };
const KILL_HOLD = { timeout_ms: 20000 };

let gw, rx, a, b;
before(async () => {
  rx = await receiver();
  gw = await startGateway(gatewayOptions());
  a = gw.account();
  b = gw.account();
});
after(async () => {
  if (gw) await gw.stop();
  if (rx) await rx.close();
});

const createEndpoint = (key, body) => gw.request('POST', '/api/v1/webhooks', { key, body });
const createPass = (key, serial) =>
  gw.request('POST', '/api/v1/passes', { key, body: { ...PASS, serial_number: serial } });
async function deliveries(key, id, query = '') {
  const r = await gw.request('GET', `/api/v1/webhooks/${id}/deliveries${query}`, { key });
  assert.equal(r.status, 200, r.text);
  return r.body.data;
}

test('CRUD: the secret is shown once; validation names the field; another account gets 404', async () => {
  const r = await createEndpoint(a.key, { url: rx.url('/crud'), event_types: ['pass.created'], description: 'd' });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.id, /^wh_[0-9a-z]{26}$/);
  assert.match(r.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(r.body.secret.slice(6), 'base64').length, 32);
  assert.equal(r.body.object, 'webhook_endpoint');
  assert.equal(r.body.enabled, true);
  assert.deepEqual(r.body.event_types, ['pass.created']);
  const id = r.body.id;
  const got = await gw.request('GET', `/api/v1/webhooks/${id}`, { key: a.key });
  assert.equal(got.status, 200);
  assert.equal(got.body.secret, undefined, 'the secret is shown only at creation');
  assert.ok(!got.text.includes(r.body.secret.slice(6)));
  // Stored sealed by the vault, never in the clear.
  const stored = gw.sql(`SELECT secret_sealed FROM webhooks_endpoints WHERE id = '${id}'`);
  assert.match(stored, /^wpv1:\d+:/);
  assert.ok(!stored.includes(r.body.secret.slice(6)));

  const put = await gw.request('PUT', `/api/v1/webhooks/${id}`, { key: a.key, body: { enabled: false, event_types: ['*'] } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.enabled, false);
  assert.deepEqual(put.body.event_types, ['*']);
  const list = await gw.request('GET', '/api/v1/webhooks?limit=1', { key: a.key });
  assert.equal(list.status, 200);
  assert.equal(list.body.object, 'list');
  assert.equal(list.body.data.length, 1);

  assertError(await gw.request('GET', `/api/v1/webhooks/${id}`, { key: b.key }), 404, { code: 'resource_missing' });
  assertError(await gw.request('PUT', `/api/v1/webhooks/${id}`, { key: b.key, body: { enabled: true } }), 404);
  assertError(await gw.request('DELETE', `/api/v1/webhooks/${id}`, { key: b.key }), 404);
  assertError(await gw.request('POST', `/api/v1/webhooks/${id}/rotate_secret`, { key: b.key }), 404);
  assertError(await gw.request('GET', `/api/v1/webhooks/${id}/deliveries`, { key: b.key }), 404);
  assertError(await gw.request('GET', '/api/v1/webhooks', {}), 401);

  assertError(await createEndpoint(a.key, { event_types: ['*'] }), 400, { param: 'url' });
  assertError(await createEndpoint(a.key, { url: rx.url('/x') }), 400, { param: 'event_types' });
  assertError(await createEndpoint(a.key, { url: rx.url('/x'), event_types: ['pass.exploded'] }), 400, { param: 'event_types[0]' });
  assertError(await createEndpoint(a.key, { url: rx.url('/x'), event_types: [] }), 400, { param: 'event_types' });
  assertError(await createEndpoint(a.key, { url: rx.url('/x'), event_types: ['*'], colour: 1 }), 400, { code: 'parameter_unknown', param: 'colour' });
  assert.match(assertError(await createEndpoint(a.key, { url: rx.url('/x'), event_types: ['*'], '': 1 }), 400,
    { code: 'parameter_unknown', param: 'body' }).message, /empty name/);
  assertError(await createEndpoint(a.key, { url: 'ftp://example.com/', event_types: ['*'] }), 400, { param: 'url' });
  assertError(await createEndpoint(a.key, { url: rx.url('/x'), event_types: ['*'], enabled: 'yes' }), 400, { param: 'enabled' });
  assertError(await gw.request('GET', `/api/v1/webhooks/${id}/deliveries?status=lost`, { key: a.key }), 400, { param: 'status' });
  assertError(await gw.request('GET', `/api/v1/webhooks/${id}/deliveries?limit=0`, { key: a.key }), 400, { param: 'limit' });
  // Cloud metadata stays refused even with private targets allowed.
  assertError(await createEndpoint(a.key, { url: 'http://169.254.169.254/latest/meta-data', event_types: ['*'] }), 400, { code: 'url_refused', param: 'url' });

  const del = await gw.request('DELETE', `/api/v1/webhooks/${id}`, { key: a.key });
  assert.equal(del.status, 200);
  assert.equal(del.body.deleted, true);
  assertError(await gw.request('GET', `/api/v1/webhooks/${id}`, { key: a.key }), 404);
});

test('deliveries are signed per Standard Webhooks: both libraries verify, also during a rotation', async () => {
  const acct = gw.account();
  const ep = await createEndpoint(acct.key, { url: rx.url('/interop'), event_types: ['*'] });
  assert.equal(ep.status, 201, ep.text);
  const secret1 = ep.body.secret;

  const p = await createPass(acct.key, 'interop-1');
  assert.equal(p.status, 201, p.text);
  const upd = await gw.request('PUT', `/api/v1/passes/${p.body.id}`, { key: acct.key, body: { barcode_message: 'WH-2' } });
  assert.equal(upd.status, 200, upd.text);
  await waitFor(() => rx.on('/interop').length >= 2, { what: 'two deliveries' });
  const types = [];
  for (const rec of rx.on('/interop')) {
    const msg = verifyBoth(secret1, rec);
    assert.equal(msg.id, rec.headers['webhook-id']);
    assert.match(msg.id, /^evt_/);
    assert.deepEqual(Object.keys(msg).sort(), ['created_at', 'data', 'id', 'type']);
    assert.match(msg.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(msg.data.pass.id, p.body.id);
    assert.equal(rec.headers['content-type'], 'application/json');
    assert.ok(Math.abs(Number(rec.headers['webhook-timestamp']) - Date.now() / 1000) < 30);
    assert.equal(rec.headers['webhook-signature'].split(' ').length, 1);
    types.push(msg.type);
  }
  assert.deepEqual(types.sort(), ['pass.created', 'pass.updated']);
  refusedBy('whsec_' + Buffer.alloc(32, 7).toString('base64'), rx.on('/interop')[0]);

  // Rotation: the new secret comes back once; both secrets sign during the overlap.
  const rot = await gw.request('POST', `/api/v1/webhooks/${ep.body.id}/rotate_secret`, { key: acct.key });
  assert.equal(rot.status, 200, rot.text);
  const secret2 = rot.body.secret;
  assert.match(secret2, /^whsec_/);
  assert.notEqual(secret2, secret1);
  assert.match(rot.body.previous_secret_expires_at, /Z$/);
  await createPass(acct.key, 'interop-2');
  await waitFor(() => rx.on('/interop').length >= 3, { what: 'the delivery after rotation' });
  const rec = rx.on('/interop')[2];
  assert.equal(rec.headers['webhook-signature'].split(' ').length, 2, rec.headers['webhook-signature']);
  verifyBoth(secret2, rec);
  verifyBoth(secret1, rec);

  // The test send: signed with the current secrets, recorded as a delivery, answered at once.
  const t = await gw.request('POST', `/api/v1/webhooks/${ep.body.id}/test`, { key: acct.key });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.body.status, 'succeeded');
  assert.equal(t.body.event_type, 'webhook.test');
  assert.equal(t.body.attempt_log.length, 1);
  assert.equal(t.body.attempt_log[0].status_code, 200);
  const trec = rx.on('/interop').find((r) => r.headers['webhook-id'] === t.body.event_id);
  assert.ok(trec, 'the test delivery reached the receiver');
  assert.equal(verifyBoth(secret2, trec).type, 'webhook.test');

  const list = await deliveries(acct.key, ep.body.id, '?event_type=pass.created&status=succeeded');
  assert.equal(list.length, 2);
  for (const d of list) {
    assert.equal(d.attempts, 1);
    assert.equal(d.attempt_log[0].status_code, 200);
    assert.equal(d.attempt_log[0].response_excerpt, 'ok');
    assert.equal(typeof d.attempt_log[0].latency_ms, 'number');
  }
});

test('a receiver failing 4 times sees 5 attempts on the scaled schedule with one webhook-id', async () => {
  const acct = gw.account();
  rx.behaviour.set('/flaky', (rec, n) => ({ status: n <= 4 ? 503 : 204, body: n <= 4 ? 'down' : '' }));
  const ep = await createEndpoint(acct.key, { url: rx.url('/flaky'), event_types: ['pass.created'] });
  await createPass(acct.key, 'flaky-1');
  await waitFor(() => rx.on('/flaky').length >= 5, { timeout: 120000, what: '5 attempts' });
  const [d] = await waitFor(async () => {
    const l = await deliveries(acct.key, ep.body.id);
    return l.length && l[0].status !== 'pending' && l;
  }, { what: 'the delivery settled' });
  const recs = rx.on('/flaky');
  assert.equal(recs.length, 5);
  assert.equal(new Set(recs.map((r) => r.headers['webhook-id'])).size, 1);
  assert.equal(d.status, 'succeeded');
  assert.equal(d.attempts, 5);
  assert.deepEqual(d.attempt_log.map((x) => x.status_code), [503, 503, 503, 503, 204]);
  assert.equal(d.attempt_log[0].error, 'HTTP 503');
  assert.equal(d.attempt_log[0].response_excerpt, 'down');

  // The schedule is checked against what the gateway scheduled and recorded, not against when
  // this (possibly busy) machine got round to each attempt.  All times in ms since the epoch.
  const ms = (col) => `(extract(epoch FROM ${col}) * 1000)::float8`;
  const eventAt = Number(gw.sql(`SELECT ${ms('event_created_at')} FROM webhooks_deliveries WHERE id = '${d.id}'`));
  const started = gw.sql(`SELECT attempt, ${ms('started_at')} FROM webhooks_attempts
                          WHERE delivery_id = '${d.id}' ORDER BY attempt`)
    .split('\n').map((l) => Number(l.split('|')[1]));
  assert.equal(started.length, 5);
  // Every job that asked for an attempt (a job deferred for want of a slot adds a later one for
  // the same attempt); the first one per attempt carries the schedule.
  const jobs = new Map();
  for (const l of gw.sql(`SELECT payload->>'n', ${ms('run_at')}, ${ms('created_at')} FROM jobs
                          WHERE kind = 'webhooks.attempt' AND payload->>'d' = '${d.id}' ORDER BY created_at, id`).split('\n')) {
    const [n, runAt, createdAt] = l.split('|').map(Number);
    if (!jobs.has(n)) jobs.set(n, { runAt, createdAt });
  }
  assert.deepEqual([...jobs.keys()].sort(), [1, 2, 3, 4, 5]);
  assert.ok(Math.abs(jobs.get(1).runAt - jobs.get(1).createdAt) < 1, 'the first attempt is due at once');
  for (let n = 2; n <= 5; n++) {
    const due = eventAt + SCHEDULE_S[n - 1] * SCALE * 1000; // measured from the event, not the last attempt
    const { runAt, createdAt } = jobs.get(n);
    const what = `attempt ${n}: due at event +${SCHEDULE_S[n - 1] * SCALE * 1000} ms, scheduled at +${(runAt - eventAt).toFixed(1)} ms`;
    assert.ok(runAt >= due - 1, `${what}: never early`);
    // Later than due only when attempt n - 1 ended after the due time: then at once, i.e. when
    // attempt n - 1 was recorded (after it started, before its successor's job was queued).
    if (runAt > due + 1) assert.ok(runAt >= started[n - 2] - 1 && runAt <= createdAt + 1, `${what}: late, but not queued at once`);
    assert.ok(started[n - 1] >= runAt - 1, `${what}: sent at +${(started[n - 1] - eventAt).toFixed(1)} ms, before it was due`);
    assert.ok(recs[n - 1].at >= Math.floor(runAt) - 1, `${what}: received at +${recs[n - 1].at - eventAt} ms, before it was due`);
  }
});

test('a dead receiver ends failed after 5 attempts; a manual retry delivers it', async () => {
  const acct = gw.account();
  let alive = false;
  rx.behaviour.set('/dead', () => ({ status: alive ? 200 : 500 }));
  const ep = await createEndpoint(acct.key, { url: rx.url('/dead'), event_types: ['pass.created'] });
  await createPass(acct.key, 'dead-1');
  const failed = await waitFor(async () => (await deliveries(acct.key, ep.body.id, '?status=failed'))[0], { timeout: 120000, what: 'failed' });
  assert.equal(failed.attempts, 5);
  assert.equal(failed.next_attempt_at, null);
  assert.equal(rx.on('/dead').length, 5);
  assert.equal((await deliveries(acct.key, ep.body.id, '?status=pending')).length, 0);

  alive = true;
  const r = await gw.request('POST', `/api/v1/webhooks/${ep.body.id}/deliveries/${failed.id}/retry`, { key: acct.key });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.status, 'pending');
  const ok = await waitFor(async () => (await deliveries(acct.key, ep.body.id, '?status=succeeded'))[0], { what: 'retried' });
  assert.equal(ok.attempts, 6);
  assert.equal(rx.on('/dead').length, 6);
  assert.equal(new Set(rx.on('/dead').map((x) => x.headers['webhook-id'])).size, 1);
  assertError(await gw.request('POST', `/api/v1/webhooks/${ep.body.id}/deliveries/whd_00000000000000000000000000/retry`, { key: acct.key }), 404, { param: 'delivery_id' });
  assertError(await gw.request('POST', `/api/v1/webhooks/${ep.body.id}/deliveries/${failed.id}/retry`, { key: b.key }), 404);
});

test('redirects are not followed; oversized answers are cut', async () => {
  const acct = gw.account();
  rx.behaviour.set('/redirect', () => ({ status: 302, headers: { location: rx.url('/elsewhere') }, body: '' }));
  rx.behaviour.set('/big', () => ({ status: 200, body: 'x'.repeat(1 << 20) }));
  const red = await createEndpoint(acct.key, { url: rx.url('/redirect'), event_types: ['batch.completed'] });
  let t = await gw.request('POST', `/api/v1/webhooks/${red.body.id}/test`, { key: acct.key });
  assert.equal(t.body.status, 'failed');
  assert.equal(t.body.attempt_log[0].status_code, 302);
  assert.equal(rx.on('/elsewhere').length, 0);
  const big = await createEndpoint(acct.key, { url: rx.url('/big'), event_types: ['batch.completed'] });
  t = await gw.request('POST', `/api/v1/webhooks/${big.body.id}/test`, { key: acct.key });
  assert.equal(t.body.attempt_log[0].status_code, 200);
  assert.ok(t.body.attempt_log[0].response_excerpt.length <= 512);
});

test('a hanging endpoint does not delay another: deliveries to the fast one go on while it holds its slots', async () => {
  // The hanging endpoint's requests are held until released (the gateway would wait 2 min for
  // them): the fast endpoint of the same account must get all 8 deliveries while the hanging one
  // has at most per_endpoint_concurrency (2) attempts open and none answered.  A queue that
  // waited behind the hanging attempts would deliver nothing to the fast one before the release.
  const g = await startGateway(gatewayOptions({}, HOLD));
  let release;
  const held = new Promise((r) => (release = r));
  rx.behaviour.set('/hang', () => ({ status: 200, until: held }));
  try {
    const slowAcct = g.account();
    const mk = (url) => g.request('POST', '/api/v1/webhooks', { key: slowAcct.key, body: { url, event_types: ['pass.created'] } });
    assert.equal((await mk(rx.url('/hang'))).status, 201);
    const fast = await mk(rx.url('/fast'));
    assert.equal(fast.status, 201, fast.text);
    for (let i = 0; i < 8; i++) {
      const p = await g.request('POST', '/api/v1/passes', { key: slowAcct.key, body: { ...PASS, serial_number: `slow-${i}` } });
      assert.equal(p.status, 201, p.text);
    }
    await waitFor(() => rx.on('/fast').length >= 8 && rx.on('/hang').length >= 1,
      { timeout: 100000, what: 'fast endpoint deliveries while the hanging one holds an attempt' });
    const hang = rx.on('/hang');
    assert.equal(hang.filter((r) => r.answered).length, 0, 'the hanging endpoint answered nothing yet');
    assert.ok(hang.length <= 2, `${hang.length} attempts open at the hanging endpoint: at most per_endpoint_concurrency`);
    release();
    await waitFor(() => rx.on('/hang').filter((r) => r.answered === 200).length >= 8, { timeout: 120000, what: 'the hanging endpoint served after its release' });
    assert.equal(rx.on('/fast').length, 8);
  } finally {
    release();
    await g.stop();
  }
});

test('SIGKILL with deliveries pending: after a restart every event is delivered', async () => {
  const rx2 = await receiver();
  // Until the kill every attempt is held open, never answered (the killed gateway's requests stay
  // unanswered for good), so all 10 deliveries are pending at the kill.  An attempt ends by the
  // clock after 20 s; five of them, 100 s, before a delivery could fail, however slow the machine.
  // (The restarted gateway waits for the killed one's attempts to end, 20 s, before it retries.)
  let up = false;
  const never = new Promise(() => {});
  rx2.behaviour.set('/k', () => (up ? { status: 200 } : { status: 200, until: never }));
  const g1 = await startGateway(gatewayOptions({}, KILL_HOLD));
  const acct = g1.account();
  const ep = await g1.request('POST', '/api/v1/webhooks', { key: acct.key, body: { url: rx2.url('/k'), event_types: ['*'] } });
  assert.equal(ep.status, 201, ep.text);
  for (let i = 0; i < 10; i++) {
    const p = await g1.request('POST', '/api/v1/passes', { key: acct.key, body: { ...PASS, serial_number: `kill-${i}` } });
    assert.equal(p.status, 201, p.text);
  }
  await waitFor(() => rx2.on('/k').length >= 1, { what: 'an attempt in flight' });
  await g1.stop({ signal: 'SIGKILL' });
  up = true;
  const ids = g1.sql("SELECT id FROM events WHERE type = 'pass.created'").split('\n');
  assert.equal(ids.length, 10);
  const pendingAtKill = Number(g1.sql("SELECT count(*) FROM webhooks_deliveries WHERE status <> 'succeeded'")) +
    (10 - Number(g1.sql('SELECT count(*) FROM webhooks_deliveries')));
  assert.equal(pendingAtKill, 10, 'every delivery was pending when the gateway died');
  // Same database, same master key (the secrets are sealed with it).
  const g2 = await startGateway({ ...gatewayOptions({}, KILL_HOLD), dbUrl: g1.dbUrl, env: { WALLETPASS_MASTER_KEY: g1.env.WALLETPASS_MASTER_KEY } });
  try {
    await waitFor(() => ids.every((id) => rx2.seen.some((r) => r.headers['webhook-id'] === id && r.answered === 200)), { timeout: 120000, what: 'every event delivered' })
      .catch((e) => {
        throw new Error(`${e.message}\n${g2.sql('SELECT id, event_id, status, attempts, locked_until, last_error FROM webhooks_deliveries')}\n` +
          `${g2.sql("SELECT kind, status, attempts, run_at, last_error FROM jobs ORDER BY run_at")}\n${g2.stderr()}`);
      });
    await waitFor(() => g2.sql("SELECT count(*) FROM webhooks_deliveries WHERE status = 'succeeded'") === '10', { timeout: 120000, what: 'all succeeded' });
    for (const r of rx2.seen) verifyBoth(ep.body.secret, r);
  } finally {
    await g2.stop();
    await rx2.close();
  }
});

// A claim is decided on the database's clock.  A job whose read of the delivery showed no live
// claim may still fail to claim it (a claim ending within that millisecond, or another worker
// between the read and the claim); it must look again, never leave the delivery without a job.
// A trigger makes the first claim fail, deterministically.
test('an attempt whose claim fails although none was held looks again: the delivery is made', async () => {
  const rx3 = await receiver();
  const g = await startGateway(gatewayOptions());
  try {
    g.sql(`CREATE TABLE wh_test_skip (n int); INSERT INTO wh_test_skip VALUES (1);
      CREATE FUNCTION wh_test_skip_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.locked_until IS NOT NULL AND OLD.locked_until IS NULL AND NEW.status = 'pending' THEN
          UPDATE wh_test_skip SET n = n - 1 WHERE n > 0;
          IF FOUND THEN RETURN NULL; END IF;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER wh_test_skip_claim BEFORE UPDATE ON webhooks_deliveries
        FOR EACH ROW EXECUTE FUNCTION wh_test_skip_claim();`);
    const acct = g.account();
    const ep = await g.request('POST', '/api/v1/webhooks', { key: acct.key, body: { url: rx3.url('/skip'), event_types: ['pass.created'] } });
    assert.equal(ep.status, 201, ep.text);
    const p = await g.request('POST', '/api/v1/passes', { key: acct.key, body: { ...PASS, serial_number: 'skip-1' } });
    assert.equal(p.status, 201, p.text);
    await waitFor(() => g.sql("SELECT count(*) FROM webhooks_deliveries WHERE status = 'succeeded'") === '1',
      { timeout: 60000, what: 'the delivery made after its failed claim' });
    assert.equal(g.sql('SELECT n FROM wh_test_skip'), '0', 'the first claim was made to fail');
    assert.equal(rx3.on('/skip').length, 1, 'one attempt reached the receiver');
  } finally {
    await g.stop();
    await rx3.close();
  }
});

test('by default, endpoints at loopback, private, link-local and metadata addresses are refused', async () => {
  const g = await startGateway({ config: { plugin_dir: PLUGIN_DIR, plugins: [{ name: 'webhooks' }] } });
  try {
    const acct = g.account();
    const mk = (url) => g.request('POST', '/api/v1/webhooks', { key: acct.key, body: { url, event_types: ['*'] } });
    for (const url of ['https://127.0.0.1/hook', 'https://10.0.0.1/hook', 'https://169.254.169.254/latest/meta-data',
      'https://localhost/hook', 'https://[::1]/hook', 'https://2130706433/hook']) {
      assertError(await mk(url), 400, { code: 'url_refused', param: 'url' });
    }
    // http:// needs allow_http in the plugin config.
    assertError(await mk('http://example.com/hook'), 400, { code: 'parameter_invalid', param: 'url' });
    assert.equal(g.sql('SELECT count(*) FROM webhooks_endpoints'), '0');
  } finally {
    await g.stop();
  }
});

test('rotate_secret of an unknown or malformed id is 404 and rotates nothing', async () => {
  const ep = await createEndpoint(a.key, { url: rx.url('/rotate-404'), event_types: ['pass.created'] });
  assert.equal(ep.status, 201, ep.text);
  const before = gw.sql(`SELECT secret_sealed FROM webhooks_endpoints WHERE id = '${ep.body.id}'`);
  assertError(await gw.request('POST', '/api/v1/webhooks/wh_00000000000000000000000000/rotate_secret', { key: a.key }),
    404, { code: 'resource_missing', param: 'id' });
  // malformed ids: never a 500 ("the signing secret could not be made"), always 404
  for (const id of ['not%20an%20id', 'wh_%20x', 'x'.repeat(300), '%C3%A9t%C3%A9', `${ep.body.id}x`, 'wh_!!', 'a*b']) {
    assertError(await gw.request('POST', `/api/v1/webhooks/${id}/rotate_secret`, { key: a.key }), 404);
  }
  assert.equal(gw.sql(`SELECT secret_sealed FROM webhooks_endpoints WHERE id = '${ep.body.id}'`), before);
});

test('a response carrying a signing secret is never kept by Idempotency-Key, and is not replayed', async () => {
  const headers = { 'idempotency-key': `wh-create-${Date.now()}` };
  const body = { url: rx.url('/idem'), event_types: ['pass.created'] };
  const first = await gw.request('POST', '/api/v1/webhooks', { key: a.key, body, headers });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('cache-control'), 'no-store');
  const secret = first.body.secret.slice(6);
  const again = await gw.request('POST', '/api/v1/webhooks', { key: a.key, body, headers });
  assertError(again, 409, { code: 'idempotency_response_secret', param: 'Idempotency-Key', type: 'idempotency_error' });
  assert.match(again.body.error.message, /shown only once/);
  assert.ok(!again.text.includes(secret));
  assert.equal(gw.sql(`SELECT count(*) FROM webhooks_endpoints WHERE url = '${body.url}'`), '1', 'created once');

  const rh = { 'idempotency-key': `wh-rotate-${Date.now()}` };
  const rot = await gw.request('POST', `/api/v1/webhooks/${first.body.id}/rotate_secret`, { key: a.key, headers: rh });
  assert.equal(rot.status, 200, rot.text);
  assert.equal(rot.headers.get('cache-control'), 'no-store');
  const rotated = rot.body.secret.slice(6);
  const sealedAfter = gw.sql(`SELECT secret_sealed FROM webhooks_endpoints WHERE id = '${first.body.id}'`);
  const rot2 = await gw.request('POST', `/api/v1/webhooks/${first.body.id}/rotate_secret`, { key: a.key, headers: rh });
  assertError(rot2, 409, { code: 'idempotency_response_secret' });
  assert.ok(!rot2.text.includes(rotated));
  assert.equal(gw.sql(`SELECT secret_sealed FROM webhooks_endpoints WHERE id = '${first.body.id}'`), sealedAfter,
    'the replay rotated nothing');

  // Neither secret is anywhere in the idempotency table, in any form the response had.
  for (const s of [secret, rotated]) {
    assert.equal(gw.sql(`SELECT count(*) FROM idempotency_keys WHERE position('${s}' in coalesce(encode(response, 'escape'), '')) > 0`), '0');
  }
  assert.equal(gw.sql(`SELECT count(*) FROM idempotency_keys WHERE key IN ('${headers['idempotency-key']}', '${rh['idempotency-key']}') AND response IS NOT NULL`), '0');
});
