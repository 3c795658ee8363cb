// Webhook deliveries under faults, counted at a receiver stand-in (lib/webhook-receiver.mjs)
// that checks every delivery's signature:
//   - the gateway SIGKILLed with deliveries pending (the receiver answers the first few, then
//     holds every request, so the kill lands with attempts in flight by construction): after a
//     restart every event is delivered at least once;
//   - misbehaving endpoints side by side (hanging, dead, 500, 429 with Retry-After, slow) and a
//     good one: the good one's deliveries flow while the others are retried, each retry on the
//     schedule recorded in webhooks_attempts (a Retry-After postpones it, never advances it),
//     and a hanging endpoint never holds more than per_endpoint_concurrency attempts at once.
// Outcomes are counted at the receiver and in the database; no wall-clock bound is asserted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGateway, waitFor, BIN } from './lib/harness.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const SCALE = 0.005; // attempts at 0, 25 ms, 150 ms, 1.5 s, 9 s after the event
const SCHEDULE_S = [0, 5, 30, 300, 1800];
const PASS = { pass_type: 'generic', organization_name: 'Faulty Hooks', primary_fields: [{ key: 'k', label: 'K', value: 'v' }] };
// The suite blocks node in synchronous psql/CLI calls: the server keeps idle connections longer.
const SERVER = { keep_alive_timeout_ms: 120000 };

function config({ timeoutMs, workers = 4, jobs = {} }) {
  return {
    server: SERVER,
    rate_limit: { requests_per_second: 0 },
    outbound: { allow_private_targets: true },
    jobs: { workers, poll_ms: 50, ...jobs },
    plugin_dir: PLUGIN_DIR,
    plugins: [{ name: 'webhooks', config: { allow_http: true, retry_scale: SCALE, timeout_ms: timeoutMs,
      connect_timeout_ms: Math.min(1000, timeoutMs), defer_ms: 50, per_endpoint_concurrency: 2 } }],
  };
}

let rx;
after(async () => { if (rx) await rx.close(); });

test('SIGKILL with webhook deliveries pending: after a restart every event is delivered at least once, signatures verified', async (t) => {
  rx = rx || (await startWebhookReceiver());
  const FIRST = 5; // answered before the receiver starts holding every request
  let holding = true;
  rx.behave('/kill', (rec, n) => (holding && n > FIRST ? { hang: true } : { status: 200 }));
  // timeout_ms 10 s: far longer than the kill takes to land once a request is held; a delivery
  // claimed by the dead process is free again timeout_ms + 5 s after its claim.
  const cfg = config({ timeoutMs: 10000, jobs: { lease_seconds: 3600 } });
  const g1 = await startGateway({ config: cfg });
  let g2;
  try {
    const acct = g1.account();
    const ep = await g1.request('POST', '/api/v1/webhooks', { key: acct.key, body: { url: rx.url('/kill'), event_types: ['*'] } });
    assert.equal(ep.status, 201, ep.text);
    rx.setSecret('/kill', ep.body.secret);
    const N = 30;
    for (let i = 0; i < N; i++) {
      const p = await g1.request('POST', '/api/v1/passes', { key: acct.key, body: { ...PASS, serial_number: `KILL-${i}` } });
      assert.equal(p.status, 201, p.text);
    }
    await waitFor(() => rx.held('/kill') > 0, { timeout: 120000, what: 'attempts held at the receiver' });
    const pid1 = g1.proc.pid;
    await g1.stop({ signal: 'SIGKILL' });
    const events = g1.sql(`SELECT id FROM events WHERE account_id = '${acct.account}' AND type = 'pass.created'`).split('\n');
    assert.equal(events.length, N);
    const okBefore = new Set(rx.on('/kill').filter((r) => r.status === 200).map((r) => r.id));
    assert.ok(okBefore.size >= FIRST && okBefore.size < N, `killed with deliveries pending (${okBefore.size} of ${N} delivered)`);
    const pending = Number(g1.sql(`SELECT count(*) FROM webhooks_deliveries WHERE status = 'pending'`)) +
      (N - Number(g1.sql('SELECT count(*) FROM webhooks_deliveries')));
    assert.ok(pending > 0, 'deliveries pending at the kill');
    assert.notEqual(g1.sql(`SELECT count(*) FROM jobs WHERE status = 'running' AND locked_by LIKE '%:${pid1}:%'`), '0',
      'the dead process held jobs');

    holding = false;
    rx.release('/kill', 200); // their connections died with the process: nothing is answered
    g2 = await startGateway({ config: cfg, dbUrl: g1.dbUrl, env: { WALLETPASS_MASTER_KEY: g1.env.WALLETPASS_MASTER_KEY } });
    const delivered = () => new Set(rx.on('/kill').filter((r) => r.status === 200 && r.verified).map((r) => r.id));
    await waitFor(() => events.every((id) => delivered().has(id)), { timeout: 180000, interval: 200, what: 'every event delivered' })
      .catch((e) => {
        throw new Error(`${e.message}\n${g2.sql('SELECT event_id, status, attempts, locked_until, last_error FROM webhooks_deliveries')}`);
      });
    assert.equal(rx.on('/kill').filter((r) => r.verified !== true).length, 0, 'every delivery carries a valid signature');
    for (const r of rx.on('/kill')) assert.equal(r.event.id, r.id, 'the body is the event the webhook-id names');
    await waitFor(async () => (await g2.sqlAsync(`SELECT count(*) FROM webhooks_deliveries WHERE status = 'succeeded'`)) === String(N),
      { timeout: 60000, what: 'every delivery recorded as succeeded' });
    const twice = rx.on('/kill').filter((r) => r.status === 200).length - N;
    t.diagnostic(`${okBefore.size} of ${N} delivered before the kill; ${twice} delivered twice (at least once is the promise)`);
    assert.equal(g2.sql(`SELECT count(*) FROM jobs WHERE locked_by LIKE '%:${pid1}:%'`), '0');
  } finally {
    if (g2) await g2.stop();
    else await g1.stop({ signal: 'SIGKILL' }).catch(() => {});
  }
});

test('misbehaving endpoints (hanging, dead, 500, 429 + Retry-After, slow) are retried on their schedules; a good endpoint keeps flowing', async () => {
  rx = rx || (await startWebhookReceiver());
  const TIMEOUT_MS = 2000;
  const RETRY_AFTER_S = 3;
  rx.behave('/hang', () => ({ hang: true }));
  rx.behave('/e500', () => ({ status: 500, body: 'broken' }));
  const limited = new Set(); // deliveries (webhook-id) answered 429 once
  rx.behave('/e429', (rec) => (limited.has(rec.id) ? { status: 200 }
    : (limited.add(rec.id), { status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) }, body: 'slow down' })));
  rx.behave('/slow', () => ({ status: 200, delayMs: 500 }));
  rx.behave('/good', () => ({ status: 200 }));
  const gw = await startGateway({ config: config({ timeoutMs: TIMEOUT_MS, workers: 4 }) });
  try {
    const acct = gw.account();
    const eps = {};
    for (const [name, url] of [['hang', rx.url('/hang')], ['dead', rx.deadUrl('/dead')], ['e500', rx.url('/e500')],
      ['e429', rx.url('/e429')], ['slow', rx.url('/slow')], ['good', rx.url('/good')]]) {
      const r = await gw.request('POST', '/api/v1/webhooks', { key: acct.key, body: { url, event_types: ['pass.created'] } });
      assert.equal(r.status, 201, r.text);
      eps[name] = r.body.id;
      if (name !== 'dead') rx.setSecret(`/${name}`, r.body.secret);
    }
    const N = 6;
    for (let i = 0; i < N; i++) {
      const p = await gw.request('POST', '/api/v1/passes', { key: acct.key, body: { ...PASS, serial_number: `MIS-${i}` } });
      assert.equal(p.status, 201, p.text);
    }
    const events = (await gw.sqlAsync(`SELECT id FROM events WHERE account_id = '${acct.account}' AND type = 'pass.created'`)).split('\n');
    assert.equal(events.length, N);

    // (polled without blocking node: the receiver runs in this process and must keep answering)
    const settled = (ep) => gw.sqlAsync(`SELECT count(*) FROM webhooks_deliveries WHERE endpoint_id = '${ep}' AND status <> 'pending'`);
    // The good endpoint gets all N while the hanging one still holds requests: it never waited for them.
    await waitFor(() => new Set(rx.on('/good').filter((r) => r.status === 200 && r.verified).map((r) => r.id)).size === N,
      { timeout: 120000, what: 'every delivery to the good endpoint' });
    // (the hanging endpoint's deliveries need 5 attempts of timeout_ms each, 2 at a time: 30 s at the least)
    assert.notEqual(await settled(eps.hang), String(N), 'the good endpoint did not wait for the hanging one');

    // Every misbehaving endpoint's deliveries run their course: 5 attempts (or a success).
    for (const name of ['hang', 'dead', 'e500', 'e429', 'slow']) {
      await waitFor(async () => (await settled(eps[name])) === String(N), { timeout: 180000, interval: 200, what: `${name}: every delivery settled` });
    }
    const rows = (ep) => gw.sql(`SELECT d.id, d.status, d.attempts FROM webhooks_deliveries d WHERE d.endpoint_id = '${ep}'`)
      .split('\n').map((l) => { const [id, status, attempts] = l.split('|'); return { id, status, attempts: Number(attempts) }; });
    for (const name of ['hang', 'dead', 'e500']) {
      for (const d of rows(eps[name])) assert.deepEqual([d.status, d.attempts], ['failed', 5], `${name}: ${d.id}`);
    }
    for (const d of rows(eps.e429)) assert.deepEqual([d.status, d.attempts], ['succeeded', 2], `e429: ${d.id}`);
    for (const d of rows(eps.slow)) assert.deepEqual([d.status, d.attempts], ['succeeded', 1], `slow: ${d.id}`);
    for (const d of rows(eps.good)) assert.deepEqual([d.status, d.attempts], ['succeeded', 1], `good: ${d.id}`);

    // What each attempt recorded, and when it started, against the schedule (ms since the epoch).
    const ms = (col) => `(extract(epoch FROM ${col}) * 1000)::float8`;
    const attempts = (ep) => gw.sql(`SELECT a.delivery_id, a.attempt, ${ms('a.started_at')}, a.latency_ms, coalesce(a.status_code, 0),
                                       coalesce(a.error, ''), ${ms('d.event_created_at')}
                                     FROM webhooks_attempts a JOIN webhooks_deliveries d ON d.account_id = a.account_id AND d.id = a.delivery_id
                                     WHERE d.endpoint_id = '${ep}' ORDER BY a.delivery_id, a.attempt`)
      .split('\n').map((l) => {
        const [d, n, started, latency, code, error, eventAt] = l.split('|');
        return { d, n: Number(n), started: Number(started), latency: Number(latency), code: Number(code), error, eventAt: Number(eventAt) };
      });
    const byDelivery = (list) => Object.values(list.reduce((m, a) => ((m[a.d] = m[a.d] || []).push(a), m), {}));
    for (const name of ['hang', 'dead', 'e500']) {
      for (const list of byDelivery(attempts(eps[name]))) {
        assert.deepEqual(list.map((a) => a.n), [1, 2, 3, 4, 5]);
        for (const a of list) {
          if (name === 'hang') assert.match(a.error, /timed out/i, `hang: attempt ${a.n}: ${a.error}`);
          if (name === 'dead') assert.match(a.error, /connect|refused/i, `dead: attempt ${a.n}: ${a.error}`);
          if (name === 'e500') assert.deepEqual([a.code, a.error], [500, 'HTTP 500']);
          // never before its time on the schedule, measured from the event
          assert.ok(a.started >= a.eventAt + SCHEDULE_S[a.n - 1] * SCALE * 1000 - 1,
            `${name}: attempt ${a.n} started at event +${(a.started - a.eventAt).toFixed(0)} ms, due at +${SCHEDULE_S[a.n - 1] * SCALE * 1000} ms`);
          // and never before the previous attempt ended
          if (a.n > 1) {
            const prev = list[a.n - 2];
            assert.ok(a.started >= prev.started + prev.latency - 5, `${name}: attempt ${a.n} overlaps attempt ${a.n - 1}`);
          }
        }
      }
    }
    // A hanging attempt is cut at timeout_ms; the hanging endpoint never had more than
    // per_endpoint_concurrency attempts open at once.
    for (const a of attempts(eps.hang)) assert.ok(a.latency >= TIMEOUT_MS - 50 && a.latency < TIMEOUT_MS + 5000, `hang latency ${a.latency}`);
    assert.ok(rx.maxInFlight('/hang') <= 2, `at most 2 attempts at the hanging endpoint at once, saw ${rx.maxInFlight('/hang')}`);
    // 500: every attempt reached the receiver, with one webhook-id per delivery
    assert.equal(rx.on('/e500').length, 5 * N);
    assert.equal(new Set(rx.on('/e500').map((r) => r.id)).size, N);
    // 429 + Retry-After: the second attempt came no earlier than Retry-After after the first answer,
    // although the schedule had it due 25 ms after the event.
    for (const list of byDelivery(attempts(eps.e429))) {
      const [a1, a2] = list;
      assert.deepEqual([a1.code, a2.code], [429, 200]);
      assert.ok(a2.started >= a1.started + a1.latency + RETRY_AFTER_S * 1000 - 5,
        `429: attempt 2 started ${(a2.started - a1.started - a1.latency).toFixed(0)} ms after the Retry-After answer`);
      assert.equal(a1.error, `HTTP 429, Retry-After ${RETRY_AFTER_S} s`);
    }
    for (const id of new Set(rx.on('/e429').map((r) => r.id))) {
      const [r1, r2] = rx.on('/e429').filter((r) => r.id === id);
      assert.ok(r2.at >= r1.answeredAt + RETRY_AFTER_S * 1000 - 5, 'the receiver saw the retry after its Retry-After');
    }
    // slow but within the timeout: one attempt, its latency recorded
    for (const a of attempts(eps.slow)) assert.ok(a.code === 200 && a.latency >= 450, `slow: ${a.code} in ${a.latency} ms`);
    // every delivery that reached a receiver was signed with its endpoint's secret
    for (const name of ['hang', 'e500', 'e429', 'slow', 'good']) {
      assert.equal(rx.on(`/${name}`).filter((r) => r.verified !== true).length, 0, `${name}: signatures`);
    }
  } finally {
    rx.release();
    await gw.stop();
  }
});
