// APNs misbehaving, against the HTTP/2 stand-in of lib/apns_standin.mjs:
//   - APNs hangs (holds every push unanswered): the batches of one certificate go one at a
//     time and at most max_concurrency (2) in all, a batch that would wait is put off as a job,
//     and another peer's work (a webhook delivery) goes through while the pushes are held
//     (before, every job worker waited on the certificate's connection for timeout_ms);
//     once APNs answers again every device is pushed;
//   - 500, then 200: retried after the schedule's 2 s, both attempts in apns_pushes;
//   - 429 with Retry-After: the retry comes no earlier than the Retry-After (longer than the
//     schedule's 2 s);
//   - APNs unreachable (connection refused): attempts recorded with status 0, retried on
//     the schedule.
// Counted at the stand-ins and in the database; no wall-clock bound is asserted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor, BIN } from './lib/harness.mjs';
import { createStandIn } from './lib/apns_standin.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';
import { startWebhookReceiver, closedPort } from './lib/webhook-receiver.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN || '.'), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const PTID = 'pass.com.example.peers';
const SERVER = { keep_alive_timeout_ms: 120000 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-apns-peers-'));

let pki, apns, apnsPort, rx;
// How the stand-in answers each push: (token, n-th push of the token) -> { hang } | { status, retryAfter, reason }
let answer = () => ({ status: 200 });
const pushes = []; // { token, at, answeredAt, status }
const held = [];

before(async () => {
  pki = makePki(dir, { pass: PTID });
  apns = createStandIn({ key: fs.readFileSync(pki.file('tls.key')), cert: fs.readFileSync(pki.file('tls.pem')),
    ca: fs.readFileSync(pki.file('wwdr.pem')) });
  apns.h2.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    stream.resume();
    stream.on('end', () => {
      const token = decodeURIComponent(String(headers[':path']).replace('/3/device/', ''));
      const rec = { token, at: Date.now() };
      pushes.push(rec);
      const n = pushes.filter((p) => p.token === token).length;
      const b = answer(token, n);
      const reply = (status = b.status, extra = {}) => {
        if (stream.destroyed || stream.closed) return;
        rec.answeredAt = Date.now(); // before the answer leaves (the gateway may act on it at once)
        const h = { ':status': status, 'apns-id': `id-${pushes.length}`, ...extra };
        if (status === 200) {
          stream.respond(h, { endStream: true });
        } else {
          stream.respond({ ...h, 'content-type': 'application/json' });
          stream.end(JSON.stringify({ reason: b.reason || 'InternalServerError' }));
        }
        rec.status = status;
      };
      if (b.hang) held.push({ reply, stream });
      else reply(b.status, b.retryAfter !== undefined ? { 'retry-after': String(b.retryAfter) } : {});
    });
  });
  apnsPort = await new Promise((resolve) => apns.listen(0, '127.0.0.1', () => resolve(apns.address().port)));
  rx = await startWebhookReceiver();
});
after(async () => {
  for (const h of held.splice(0)) h.stream.destroy();
  if (apns) apns.close();
  if (rx) await rx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const heldOpen = () => held.filter((h) => !h.stream.destroyed && !h.stream.closed).length;

function config(port, apnsExtra = {}) {
  return {
    server: SERVER,
    rate_limit: { requests_per_second: 0 },
    outbound: { allow_private_targets: true },
    jobs: { workers: 4, poll_ms: 50 },
    plugin_dir: PLUGIN_DIR,
    plugins: [
      { name: 'apple-signer', config: { cache_mb: 8 } },
      { name: 'apns', config: { host: '127.0.0.1', port, ca_file: pki.file('wwdr.pem'), defer_ms: 100, ...apnsExtra } },
      { name: 'webhooks', config: { allow_http: true, timeout_ms: 5000 } },
    ],
  };
}

/** An account with the Apple credentials, and n passes each with one registered device. */
async function tenantWithDevices(gw, n, tag) {
  const a = gw.account();
  const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: a.key, body: {
    p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
    wwdr_pem: pki.wwdrPem } });
  assert.equal(r.status, 200, r.text);
  const passes = [];
  for (let i = 0; i < n; i++) {
    const p = await gw.request('POST', '/api/v1/passes', { key: a.key, body: { pass_type: 'generic', organization_name: 'Peers',
      serial_number: `${tag}-${i}`, primary_fields: [{ key: 'v', label: 'V', value: '0' }] } });
    assert.equal(p.status, 201, p.text);
    const token = `${tag.toLowerCase()}${i}`.padEnd(64, '0');
    gw.sql(`INSERT INTO apns_registrations (account_id, device_library_identifier, pass_type_identifier, serial_number, push_token, pass_id)
            VALUES ('${a.account}', 'dev-${tag}-${i}', '${PTID}', '${p.body.serial_number}', '${token}', '${p.body.id}')`);
    passes.push({ ...p.body, token });
  }
  return { ...a, passes };
}
const update = async (gw, t, p, v) => {
  const r = await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: t.key, body: { primary_fields: [{ key: 'v', label: 'V', value: String(v) }] } });
  assert.equal(r.status, 200, r.text);
};

test('APNs hanging: pushes wait their turn as jobs, and a webhook delivery goes through meanwhile', async (t) => {
  let hanging = true;
  answer = () => (hanging ? { hang: true } : { status: 200 });
  const gw = await startGateway({ config: config(apnsPort, { timeout_ms: 150000 }) });
  try {
    const apple = await tenantWithDevices(gw, 6, 'HANG');
    const hooks = gw.account();
    const ep = await gw.request('POST', '/api/v1/webhooks', { key: hooks.key, body: { url: rx.url('/while-apns-hangs'), event_types: ['pass.created'] } });
    assert.equal(ep.status, 201, ep.text);
    rx.setSecret('/while-apns-hangs', ep.body.secret);
    for (const p of apple.passes) await update(gw, apple, p, 1);
    await waitFor(() => heldOpen() > 0, { timeout: 120000, what: 'pushes held by APNs' });

    const p = await gw.request('POST', '/api/v1/passes', { key: hooks.key, body: { pass_type: 'generic', organization_name: 'Hooks' } });
    assert.equal(p.status, 201, p.text);
    // 120 s < timeout_ms (150 s): before, every job worker waited for the hung connection that long
    await waitFor(() => rx.on('/while-apns-hangs').some((r) => r.status === 200 && r.verified && r.event.data.pass.id === p.body.id),
      { timeout: 120000, what: 'the webhook delivery while APNs hangs' });
    assert.ok(heldOpen() > 0, 'delivered while the pushes were still held');
    assert.equal(heldOpen(), 1, 'one batch (one push) of the certificate on its connection at a time');
    const deferred = Number((await gw.request('GET', '/metrics')).text.match(/push_batches_deferred_total(?:\{[^}]*\})? (\d+)/)?.[1] || 0);
    t.diagnostic(`push batches put off while APNs hung: ${deferred}`);
    assert.ok(deferred > 0, 'the other batches were put off as jobs');

    // APNs answers again: the held push times out (or is answered) and every device gets its push
    hanging = false;
    for (const h of held.splice(0)) h.reply(200);
    for (const x of apple.passes) {
      await waitFor(() => pushes.some((r) => r.token === x.token && r.status === 200), { timeout: 180000, interval: 100,
        what: `device of ${x.id} pushed` });
    }
  } finally {
    hanging = false;
    for (const h of held.splice(0)) h.reply(200);
    await gw.stop();
  }
});

test('APNs 500, then 200: retried after 2 s; 429 with Retry-After: retried no earlier than it says', async () => {
  const RETRY_AFTER_S = 5;
  const gw = await startGateway({ config: config(apnsPort, { timeout_ms: 10000 }) });
  try {
    const a = await tenantWithDevices(gw, 2, 'RETRY');
    const [p500, p429] = a.passes;
    answer = (token, n) => {
      if (n > 1) return { status: 200 };
      if (token === p500.token) return { status: 500, reason: 'InternalServerError' };
      if (token === p429.token) return { status: 429, reason: 'TooManyRequests', retryAfter: RETRY_AFTER_S };
      return { status: 200 };
    };
    await update(gw, a, p500, 1);
    await update(gw, a, p429, 1);
    for (const x of a.passes) {
      await waitFor(() => pushes.some((r) => r.token === x.token && r.status === 200), { timeout: 120000, interval: 100,
        what: `device of ${x.id} pushed after the retry` });
    }
    const recs = (tok) => pushes.filter((r) => r.token === tok);
    const [f1, f2] = recs(p500.token);
    assert.deepEqual([f1.status, f2.status], [500, 200]);
    assert.ok(f2.at >= f1.answeredAt + 2000 - 5, `500: retried ${f2.at - f1.answeredAt} ms after the answer (schedule: 2 s)`);
    const [l1, l2] = recs(p429.token);
    assert.deepEqual([l1.status, l2.status], [429, 200]);
    assert.ok(l2.at >= l1.answeredAt + RETRY_AFTER_S * 1000 - 5,
      `429: retried ${l2.at - l1.answeredAt} ms after a Retry-After of ${RETRY_AFTER_S} s`);
    // both attempts of each are recorded
    for (const [x, first] of [[p500, 500], [p429, 429]]) {
      const rows = gw.sql(`SELECT attempt, status FROM apns_pushes WHERE pass_id = '${x.id}' ORDER BY id`);
      assert.equal(rows, `1|${first}\n2|200`);
    }
  } finally {
    answer = () => ({ status: 200 });
    await gw.stop();
  }
});

test('APNs unreachable (connection refused): attempts recorded with no answer, retried on the schedule', async () => {
  const gw = await startGateway({ config: config(await closedPort(), { timeout_ms: 5000 }) });
  try {
    const a = await tenantWithDevices(gw, 1, 'DEAD');
    const [p] = a.passes;
    await update(gw, a, p, 1);
    const rows = () => gw.sql(`SELECT attempt, status, coalesce(reason, ''), (extract(epoch FROM created_at) * 1000)::float8
                               FROM apns_pushes WHERE pass_id = '${p.id}' ORDER BY id`).split('\n').filter(Boolean)
      .map((l) => { const [n, s, r, at] = l.split('|'); return { n: Number(n), s: Number(s), r, at: Number(at) }; });
    await waitFor(() => rows().length >= 3, { timeout: 120000, interval: 100, what: 'three attempts' });
    const [r1, r2, r3] = rows();
    assert.deepEqual([r1.n, r2.n, r3.n], [1, 2, 3]);
    for (const r of [r1, r2, r3]) {
      assert.equal(r.s, 0, 'no answer');
      assert.match(r.r, /connect|refused/i);
    }
    assert.ok(r2.at >= r1.at + 2000 - 5, `attempt 2 ${r2.at - r1.at} ms after attempt 1 (schedule: 2 s)`);
    assert.ok(r3.at >= r2.at + 10000 - 5, `attempt 3 ${r3.at - r2.at} ms after attempt 2 (schedule: 10 s)`);
  } finally {
    await gw.stop();
  }
});
