// The gateway through Debian's PgBouncer in transaction-pooling mode (database.transaction_pooling):
// no session state survives a transaction there, so the gateway sends no startup options (which
// PgBouncer refuses), takes no session advisory lock (migrations lock per transaction), and its job
// queue either polls or LISTENs on a direct connection (database.listen_url).  A representative
// workload runs through it: migrations, the CLI, creates, updates, pkpass downloads, a batch (jobs),
// events and their webhook deliveries.  A PgBouncer database whose TimeZone is not UTC is refused
// with a message saying what to set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, createDatabase, adminUrl, psql, waitFor, freePort, BIN } from './lib/harness.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-pgbouncer-'));
const PTID = 'pass.com.example.pooled';
let bouncer, bport, bouncerLog = '', rx, pki;

/** url with its host and port replaced by PgBouncer's. */
const viaBouncer = (url) => {
  const u = new URL(url);
  u.host = `127.0.0.1:${bport}`;
  return u.toString();
};

before(async () => {
  pki = makePki(dir, { pass: PTID });
  rx = await startWebhookReceiver();
  bport = await freePort();
  const admin = new URL(adminUrl());
  // PgBouncer refuses to run as root; -u drops to the postgres user, which must read these files.
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'users.txt'), `"${decodeURIComponent(admin.username)}" "${decodeURIComponent(admin.password)}"\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'pgbouncer.ini'), [
    '[databases]',
    `tz_paris = host=${admin.hostname} port=${admin.port} dbname=postgres timezone=Europe/Paris`,
    `* = host=${admin.hostname} port=${admin.port} timezone=UTC`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1', `listen_port = ${bport}`, 'unix_socket_dir =',
    'auth_type = scram-sha-256', `auth_file = ${path.join(dir, 'users.txt')}`,
    'pool_mode = transaction', 'max_client_conn = 500', 'default_pool_size = 4', '',
  ].join('\n'), { mode: 0o644 });
  const asRoot = process.getuid && process.getuid() === 0;
  bouncer = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  bouncer.stderr.on('data', (d) => (bouncerLog += d));
  bouncer.stdout.on('data', (d) => (bouncerLog += d));
  bouncer.on('error', (e) => (bouncerLog += `pgbouncer: ${e.message}\n`));
  const probe = new URL(adminUrl());
  probe.host = `127.0.0.1:${bport}`;
  await waitFor(() => psql(probe.toString(), 'SELECT 1') === '1', { timeout: 60000, what: 'PgBouncer answering' })
    .catch((e) => { throw new Error(`${e.message}\n--- pgbouncer ---\n${bouncerLog}`); });
});

after(async () => {
  if (bouncer) bouncer.kill('SIGTERM');
  if (rx) await rx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const PASS = (serial, value = '10') => ({ pass_type: 'loyalty', organization_name: 'Pooled Coffee', program_name: 'Beans',
  serial_number: serial, primary_fields: [{ key: 'points', label: 'Points', value, change_message: '%@ points' }] });

function passJson(buf) {
  assert.equal(buf.subarray(0, 4).toString('binary'), 'PK\x03\x04');
  const f = path.join(fs.mkdtempSync(path.join(dir, 'pk-')), 'p.pkpass');
  fs.writeFileSync(f, buf);
  return JSON.parse(execFileSync('unzip', ['-p', f, 'pass.json'], { encoding: 'utf8' }));
}

async function workload(gw, acct, tag) {
  let r = await gw.request('POST', '/api/v1/webhooks', { key: acct.key, body: { url: rx.url(`/${tag}`), event_types: ['*'] } });
  assert.equal(r.status, 201, r.text);
  rx.setSecret(`/${tag}`, r.body.secret);
  // create, update, download
  const p = await gw.request('POST', '/api/v1/passes', { key: acct.key, body: PASS(`${tag}-1`), headers: { 'idempotency-key': `${tag}-k1` } });
  assert.equal(p.status, 201, p.text);
  const again = await gw.request('POST', '/api/v1/passes', { key: acct.key, body: PASS(`${tag}-1`), headers: { 'idempotency-key': `${tag}-k1` } });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.id, p.body.id, 'the Idempotency-Key replay');
  r = await gw.request('PUT', `/api/v1/passes/${p.body.id}`, { key: acct.key,
    body: { primary_fields: [{ key: 'points', label: 'Points', value: '77', change_message: '%@ points' }] } });
  assert.equal(r.status, 200, r.text);
  const dl = await fetch(p.body.pkpass_url);
  assert.equal(dl.status, 200);
  assert.equal(passJson(Buffer.from(await dl.arrayBuffer())).storeCard.primaryFields[0].value, '77');
  // a batch: the job queue
  const N = 40;
  const b = await gw.request('POST', '/api/v1/passes/batch', { key: acct.key,
    body: { passes: Array.from({ length: N }, (_, i) => PASS(`${tag}-b${i}`)) } });
  assert.equal(b.status, 202, b.text);
  await waitFor(async () => (await gw.request('GET', `/api/v1/batches/${b.body.id}`, { key: acct.key })).body.status === 'completed',
    { timeout: 180000, interval: 200, what: 'the batch completed' });
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${acct.account}'`), String(N + 1));
  // events, listed and delivered
  const ev = await gw.request('GET', '/api/v1/events?type=pass.created&limit=100', { key: acct.key });
  assert.equal(ev.status, 200, ev.text);
  assert.equal(ev.body.data.length, N + 1);
  await waitFor(() => ev.body.data.every((e) => rx.on(`/${tag}`).some((x) => x.id === e.id && x.status === 200)),
    { timeout: 180000, interval: 200, what: 'every pass.created delivered' });
  assert.ok(rx.on(`/${tag}`).every((x) => x.verified), 'signed deliveries');
}

function config(extra = {}) {
  return {
    database: { transaction_pooling: true, ...extra },
    outbound: { allow_private_targets: true },
    jobs: { poll_ms: 200 },
    plugins: [
      { name: 'apple-signer', config: { cache_mb: 8 } },
      { name: 'webhooks', config: { allow_http: true, retry_scale: 0.01 } },
    ],
  };
}

async function credential(gw, acct) {
  const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body: {
    p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
    wwdr_pem: pki.wwdrPem } });
  assert.equal(r.status, 200, r.text);
}

test('through PgBouncer in transaction mode, polling for jobs: migrations, CLI, passes, batches, events', async () => {
  const direct = createDatabase();
  const gw = await startGateway({ config: config(), dbUrl: viaBouncer(direct) });
  try {
    assert.match(gw.stderr(), /jobs: no LISTEN/, 'the queue polls');
    const acct = gw.account(); // the CLI, through PgBouncer too
    await credential(gw, acct);
    await workload(gw, acct, 'poll');
    // a second migrator finds everything applied, and no advisory lock stays behind on a pooled connection
    execFileSync(BIN, ['migrate'], { env: { ...process.env, ...gw.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const db = new URL(direct).pathname.slice(1);
    assert.equal(psql(adminUrl(), `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
      WHERE l.locktype = 'advisory' AND d.datname = '${db}'`), '0');
    // every server connection of the gateway is PgBouncer's: none sent the gateway's startup options
    assert.doesNotMatch(bouncerLog, /unsupported startup parameter/);
  } finally {
    await gw.stop();
  }
});

test('through PgBouncer with a direct listen_url: the queue LISTENs there', async () => {
  const direct = createDatabase();
  const gw = await startGateway({ config: config({ listen_url: direct }), dbUrl: viaBouncer(direct) });
  try {
    assert.doesNotMatch(gw.stderr(), /jobs: no LISTEN/);
    const db = new URL(direct).pathname.slice(1);
    // the queue's own connections (listener and workers) are direct, named walletpass-jobs
    await waitFor(() => psql(adminUrl(), `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}'
      AND application_name = 'walletpass-jobs'`) !== '0', { what: 'the direct connections of the job queue' });
    const acct = gw.account();
    await credential(gw, acct);
    await workload(gw, acct, 'listen');
  } finally {
    await gw.stop();
  }
});

// The key cache's LISTEN (channel wp_auth) hears nothing through a transaction pooler: with
// listen_url it LISTENs on that direct connection, without one it does not LISTEN and a key revoked
// on another process stops within cache.api_key_ttl_ms.  Waits poll with generous limits.
const account = (gw, key) => gw.request('GET', '/api/v1/account', { key });
const keyId = (gw, key) => gw.sql(`SELECT id FROM api_keys WHERE prefix = '${key.slice(0, 14).replace(/'/g, "''")}'`);

async function twoGateways(direct, database, cache) {
  const cfg = { database: { transaction_pooling: true, ...database }, cache };
  const A = await startGateway({ config: cfg, dbUrl: viaBouncer(direct) });
  let B;
  try {
    B = await startGateway({ config: cfg, dbUrl: viaBouncer(direct), env: { WALLETPASS_MASTER_KEY: A.env.WALLETPASS_MASTER_KEY } });
  } catch (e) {
    await A.stop();
    throw e;
  }
  return { A, B };
}

async function revokeOnA(A, B) {
  const k = A.account();
  for (const gw of [A, B]) for (let i = 0; i < 3; i++) assert.equal((await account(gw, k.key)).status, 200);
  const d = await A.request('DELETE', `/api/v1/api_keys/${keyId(A, k.key)}`, { key: k.key });
  assert.equal(d.status, 200, d.text);
  assert.equal((await account(A, k.key)).status, 401, 'at once on the revoking process');
  return k;
}

test('through PgBouncer with listen_url: the key cache LISTENs on the direct connection and hears a revocation', async () => {
  const direct = createDatabase();
  const { A, B } = await twoGateways(direct, { listen_url: direct }, { api_keys: 1000, api_key_ttl_ms: 600000 });
  try {
    assert.doesNotMatch(B.stderr(), /api key cache: no database.listen_url/);
    const db = new URL(direct).pathname.slice(1);
    await waitFor(() => psql(adminUrl(), `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}'
      AND application_name = 'walletpass-listener'`) === '2', { timeout: 60000, what: 'both key caches LISTENing directly' });
    // the pass cache's fence too: both gateways hold its lease and know each other
    await waitFor(() => psql(adminUrl(), `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}'
      AND application_name = 'walletpass-fence'`) === '2', { timeout: 60000, what: 'both fences LISTENing directly' });
    for (const gw of [A, B])
      await waitFor(async () => { const c = (await gw.request('GET', '/readyz')).body.cache; return c.leased && c.peers === 1; },
        { timeout: 60000, what: 'the fences leased and each knowing the other' });
    const k = await revokeOnA(A, B);
    // ten minutes to live: only the notification can reach B
    await waitFor(async () => (await account(B, k.key)).status === 401, { timeout: 60000, what: 'the revocation on B' });
  } finally {
    await B.stop();
    await A.stop();
  }
});

test('through PgBouncer without listen_url: no LISTEN, a revoked key stops on another process within the time to live', async () => {
  const { A, B } = await twoGateways(createDatabase(), {}, { api_keys: 1000, api_key_ttl_ms: 1000 });
  try {
    assert.match(B.stderr(), /api key cache: no database.listen_url .* within cache.api_key_ttl_ms \(1000 ms\)/);
    // nor can the pass cache's fence: no process serves pass rows from memory
    assert.match(B.stderr(), /pass cache: no database.listen_url .* every pass read goes to the database/);
    assert.equal((await B.request('GET', '/readyz')).body.cache.leased, false);
    const k = await revokeOnA(A, B);
    await waitFor(async () => (await account(B, k.key)).status === 401, { timeout: 60000, what: 'the time to live on B' });
  } finally {
    await B.stop();
    await A.stop();
  }
});

test('prepared_statements set with transaction_pooling is refused, naming both keys', () => {
  const cfg = path.join(dir, 'prepared.json');
  fs.writeFileSync(cfg, JSON.stringify({ database: { transaction_pooling: true, prepared_statements: 64 } }));
  let out = '';
  try {
    execFileSync(BIN, ['config', 'check'], { env: { ...process.env, WALLETPASS_CONFIG: cfg },
      stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    assert.fail('config check accepted prepared statements through a transaction pooler');
  } catch (e) {
    out = String(e.stderr || '') + String(e.stdout || '');
  }
  assert.match(out, /database\.prepared_statements: must be 0 \(or left out\) with database\.transaction_pooling/);
});

test('a pooled database whose TimeZone is not UTC is refused, naming what to set', () => {
  const u = new URL(adminUrl());
  u.host = `127.0.0.1:${bport}`;
  u.pathname = '/tz_paris';
  const cfg = path.join(dir, 'tz.json');
  fs.writeFileSync(cfg, JSON.stringify({ database: { transaction_pooling: true, startup_wait_seconds: 0 } }));
  let out = '';
  try {
    execFileSync(BIN, ['migrate'], { env: { ...process.env, WALLETPASS_CONFIG: cfg, WALLETPASS_DATABASE_URL: u.toString() },
      stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    assert.fail('migrate succeeded against a non-UTC pooled database');
  } catch (e) {
    out = String(e.stderr || '') + String(e.stdout || '');
  }
  assert.match(out, /TimeZone is "Europe\/Paris", not UTC/);
  assert.match(out, /timezone=UTC/);
});
