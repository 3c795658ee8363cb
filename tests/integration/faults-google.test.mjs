// Google Wallet misbehaving, against the stand-in of lib/google-standin.mjs serving several
// issuers (one per tenant, as in production):
//   - one tenant's issuer hangs: its sync jobs hold at most issuer_concurrency (2) job workers,
//     the others are put off, and another tenant's sync goes through while the hung calls are
//     still held (before, they took every worker for timeout_seconds);
//   - 429 with Retry-After: the issuer is paused; no call of it reaches Google before the
//     Retry-After, the retry comes after it (before, after the schedule's 1 s);
//   - 500 twice: retried after 1 s, then 5 s (the sync schedule), counted in the jobs table;
//   - Google unreachable (connection refused): every attempt fails and is retried on the
//     schedule, recorded as the job's attempts, last_error and next run_at.
// Everything is counted at the stand-in and in the database; no wall-clock bound is asserted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startGateway, waitFor, BIN } from './lib/harness.mjs';
import { closedPort } from './lib/webhook-receiver.mjs';

let jose;
try { jose = await import('jose'); } catch { jose = null; }
const skip = jose ? false : 'npm package jose is missing: run `npm install` in tests/ (scripts/test does)';
const { startGoogleStandin } = jose ? await import('./lib/google-standin.mjs') : {};

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN || '.'), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const ISSUERS = { hang: '3388000000022100001', good: '3388000000022100002', flaky: '3388000000022100003' };
const TIMEOUT_S = 120; // one Google call's bound in a job (the most it may be): a hung call holds its worker this long
const SERVER = { keep_alive_timeout_ms: 120000 };
const LOYALTY = {
  pass_type: 'loyalty', organization_name: 'Peer Coffee', program_name: 'Beans', barcode_message: 'P-1',
  primary_fields: [{ key: 'points', label: 'Points', value: '10' }],
};

const keyOf = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const tenants = {};
for (const name of Object.keys(ISSUERS)) tenants[name] = { rsa: keyOf(), email: `${name}@walletpass-test.iam.gserviceaccount.com` };
const serviceAccount = (t) => ({
  type: 'service_account', project_id: 'walletpass-test', private_key_id: crypto.randomBytes(20).toString('hex'),
  private_key: t.rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: t.email,
  token_uri: 'https://oauth2.googleapis.com/token',
});

function gatewayConfig(apiBase, tokenUrl) {
  return {
    server: SERVER,
    rate_limit: { requests_per_second: 0 },
    jobs: { workers: 4, poll_ms: 50 },
    plugin_dir: PLUGIN_DIR,
    plugins: [{ name: 'google-jwt', config: { api_base_url: apiBase, token_url: tokenUrl, rate_limit_per_second: 1000,
      timeout_seconds: TIMEOUT_S, defer_ms: 100 } }],
  };
}

let g, gw;
before(async () => {
  if (skip) return;
  g = await startGoogleStandin({ issuerId: ISSUERS.hang, clientEmail: tenants.hang.email, publicKey: tenants.hang.rsa.publicKey });
  for (const name of ['good', 'flaky']) {
    g.addIssuer(ISSUERS[name]);
    g.addServiceAccount(tenants[name].email, tenants[name].rsa.publicKey);
  }
  gw = await startGateway({ config: gatewayConfig(g.apiBase, g.tokenUrl) });
  for (const name of Object.keys(ISSUERS)) {
    const a = gw.account();
    const r = await gw.request('PUT', '/api/v1/credentials/google', { key: a.key,
      body: { issuer_id: ISSUERS[name], service_account_json: serviceAccount(tenants[name]) } });
    assert.equal(r.status, 200, r.text);
    Object.assign(tenants[name], a);
  }
});
after(async () => {
  if (g) g.setBehaviour(null);
  if (g) g.releaseHeld();
  if (gw) await gw.stop();
  if (g) await g.close();
});

async function createPass(t, serial) {
  const r = await gw.request('POST', '/api/v1/passes', { key: t.key, body: { ...LOYALTY, serial_number: serial } });
  assert.equal(r.status, 201, r.text);
  return r.body;
}
async function updatePass(t, id, points) {
  const r = await gw.request('PUT', `/api/v1/passes/${id}`, { key: t.key, body: { primary_fields: [{ key: 'points', label: 'Points', value: String(points) }] } });
  assert.equal(r.status, 200, r.text);
}
const objectId = (issuer, passId) => `${issuer}.${passId}`;
/** API calls about one object (path or body), in arrival order. */
const callsOn = (oid) => g.calls.filter((c) => c.path !== '/token' && (c.path.includes(`/${oid}`) || (c.body && c.body.id === oid)));

test("one tenant's hanging issuer does not stop another tenant's sync", { skip }, async (t) => {
  let hanging = true;
  let maxHeld = 0;
  g.setBehaviour((call) => {
    if (!(hanging && call.issuer === ISSUERS.hang)) return null;
    maxHeld = Math.max(maxHeld, g.heldCount(ISSUERS.hang) + 1);
    return { hang: true };
  });
  try {
    const hung = [];
    for (let i = 0; i < 6; i++) hung.push(await createPass(tenants.hang, `HANG-${i}`));
    const goodPass = await createPass(tenants.good, 'GOOD-1');
    for (const p of hung) await updatePass(tenants.hang, p.id, 11);
    await waitFor(() => g.heldCount(ISSUERS.hang) >= 2, { timeout: 120000, what: "the hanging issuer's calls held" });

    const since = g.calls.length;
    await updatePass(tenants.good, goodPass.id, 42);
    const oid = objectId(ISSUERS.good, goodPass.id);
    // 100 s < timeout_seconds: before, every worker was held for the whole timeout
    await waitFor(() => g.calls.slice(since).some((c) => c.issuer === ISSUERS.good && c.status >= 200 && c.status < 300 &&
      (c.path.includes(oid) || (c.body && c.body.id === oid))), { timeout: 100000, what: "the other tenant's object synced" });
    assert.ok(g.heldCount(ISSUERS.hang) > 0, "the other tenant's sync went through while the hung calls were still held");
    const stored = g.store.get(`loyaltyObject/${oid}`);
    assert.ok(stored, "the other tenant's object is at Google");
    assert.ok(JSON.stringify(stored).includes('42'), 'with the updated points');
    assert.ok(maxHeld <= 2, `at most issuer_concurrency (2) calls of the hanging issuer at once, saw ${maxHeld}`);
    const deferred = Number((await gw.request('GET', '/metrics')).text.match(/sync_deferred_total(?:\{[^}]*\})? (\d+)/)?.[1] || 0);
    t.diagnostic(`jobs put off while the issuer hung: ${deferred}`);
    assert.ok(deferred > 0, 'the hanging issuer\'s other jobs were put off, not run');

    // the issuer answers again: every hung pass reaches Google after all (its jobs retried)
    hanging = false;
    g.releaseHeld();
    for (const p of hung) {
      await waitFor(() => g.store.has(`loyaltyObject/${objectId(ISSUERS.hang, p.id)}`), { timeout: 180000, interval: 200,
        what: `pass ${p.id} synced once the issuer answered` });
    }
  } finally {
    hanging = false;
    g.setBehaviour(null);
    g.releaseHeld();
  }
});

test('429 with Retry-After pauses the issuer: nothing reaches Google before it, the retry comes after it', { skip }, async () => {
  const RETRY_AFTER_S = 4;
  const a = tenants.flaky;
  const p1 = await createPass(a, 'RA-1');
  const p2 = await createPass(a, 'RA-2');
  let limited = null; // the 429's call
  g.setBehaviour((call) => {
    if (call.issuer !== ISSUERS.flaky || limited) return null;
    limited = call;
    return { status: 429, retryAfter: RETRY_AFTER_S };
  });
  try {
    await updatePass(a, p1.id, 1);
    await waitFor(() => limited && limited.answeredAt, { timeout: 60000, what: 'the 429' });
    await updatePass(a, p2.id, 2); // during the pause: put off too
    for (const p of [p1, p2]) {
      await waitFor(() => g.store.has(`loyaltyObject/${objectId(ISSUERS.flaky, p.id)}`), { timeout: 120000, interval: 100,
        what: `pass ${p.id} synced after the pause` });
    }
    const later = g.calls.filter((c) => c !== limited && c.path !== '/token' && c.issuer === ISSUERS.flaky && c.at >= limited.at);
    assert.ok(later.length >= 2, 'both passes were synced');
    for (const c of later) {
      assert.ok(c.at >= limited.answeredAt + RETRY_AFTER_S * 1000 - 5,
        `${c.method} ${c.path} reached Google ${c.at - limited.answeredAt} ms after a 429 asking for ${RETRY_AFTER_S} s`);
    }
  } finally {
    g.setBehaviour(null);
  }
});

test('500 twice: the sync is retried after 1 s, then 5 s, and succeeds on its third attempt', { skip }, async () => {
  const a = tenants.flaky;
  const p = await createPass(a, 'E500-1');
  const oid = objectId(ISSUERS.flaky, p.id);
  let failures = 0;
  g.setBehaviour((call) => (call.issuer === ISSUERS.flaky && (call.path.includes(oid) || call.body?.id === oid) && failures < 2
    ? (failures++, { status: 500 }) : null));
  try {
    await updatePass(a, p.id, 5);
    await waitFor(() => g.store.has(`loyaltyObject/${oid}`), { timeout: 120000, interval: 100, what: 'the object synced' });
    const calls = callsOn(oid);
    const [c1, c2, c3] = calls;
    assert.deepEqual([c1.status, c2.status], [500, 500]);
    assert.ok(c2.at >= c1.answeredAt + 1000 - 5, `the second attempt came ${c2.at - c1.answeredAt} ms after the first 500`);
    assert.ok(c3.at >= c2.answeredAt + 5000 - 5, `the third attempt came ${c3.at - c2.answeredAt} ms after the second 500`);
    // the job that made the attempts: done at its third, the 500 as its last error
    const jobs = gw.sql(`SELECT status, attempts, coalesce(last_error, '') FROM jobs WHERE kind = 'google-jwt.sync'
                         AND payload->'pass'->>'id' = '${p.id}' AND payload->>'op' = 'update' ORDER BY created_at`).split('\n');
    assert.ok(jobs.some((j) => /^done\|3\|.*answered 500/.test(j)), jobs.join('\n'));
  } finally {
    g.setBehaviour(null);
  }
});

test('Google unreachable (connection refused): every attempt fails and is retried on the schedule, recorded in the job', { skip }, async () => {
  const dead = await closedPort();
  const gw2 = await startGateway({ config: gatewayConfig(`http://127.0.0.1:${dead}/walletobjects/v1`, g.tokenUrl) });
  try {
    const a = gw2.account();
    const r = await gw2.request('PUT', '/api/v1/credentials/google', { key: a.key,
      body: { issuer_id: ISSUERS.good, service_account_json: serviceAccount(tenants.good) } });
    assert.equal(r.status, 200, r.text);
    const p = await gw2.request('POST', '/api/v1/passes', { key: a.key, body: { ...LOYALTY, serial_number: 'DEAD-1' } });
    assert.equal(p.status, 201, p.text);
    const u = await gw2.request('PUT', `/api/v1/passes/${p.body.id}`, { key: a.key, body: { barcode_message: 'P-2' } });
    assert.equal(u.status, 200, u.text);
    // after attempts 1 and 2 the job waits 1 s, then 5 s: run_at - updated_at is the delay it was given
    const state = () => gw2.sqlAsync(`SELECT status, attempts, round(extract(epoch FROM run_at - updated_at))::int, coalesce(last_error, '')
                                 FROM jobs WHERE kind = 'google-jwt.sync' AND payload->'pass'->>'id' = '${p.body.id}'`);
    const seen = new Map();
    await waitFor(async () => {
      const [status, attempts, delay, err] = (await state()).split('|');
      if (status === 'queued' && Number(attempts) > 0) seen.set(Number(attempts), { delay: Number(delay), err });
      return seen.has(2);
    }, { timeout: 120000, interval: 20, what: 'two failed attempts' });
    if (seen.has(1)) assert.equal(seen.get(1).delay, 1, 'attempt 2 is due 1 s after attempt 1');
    assert.equal(seen.get(2).delay, 5, 'attempt 3 is due 5 s after attempt 2');
    assert.match(seen.get(2).err, /connect|refused/i);
  } finally {
    await gw2.stop();
  }
});
