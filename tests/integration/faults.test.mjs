// Faults against the real processes: a gateway SIGKILLed in the middle of a
// template propagation, and PostgreSQL stopped for 10 s under load.
// (SIGKILL mid-batch: recovery.test.mjs and batch.test.mjs; with webhook
// deliveries pending: faults-webhooks.test.mjs; misbehaving peers: faults-webhooks, faults-google,
// faults-apns-peers.)  Outcomes are counted in the
// database and in the answers, never timed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, assertError, freePort, psql, waitFor, sleep, SOURCE_DIR } from './lib/harness.mjs';

const JOBS = { workers: 1, poll_ms: 100, lease_seconds: 3600 };
const NO_LIMIT = { requests_per_second: 0 };
// The suite blocks node in synchronous psql/CLI calls, longer than the server's 5 s keep-alive on a
// loaded machine: the server would close a pooled connection node cannot notice closing, and fetch
// does not retry a POST on it.  So the server keeps idle connections longer.  For the same reason
// a request whose body node had not finished sending when it blocked must not be cut off by the
// server's stall limit (header_timeout_seconds, 5 s): that limit is for clients, not under test here.
const SERVER = { keep_alive_timeout_ms: 120000, header_timeout_seconds: 120 };

/** A psql session holding a row lock until release() (a transaction left open). */
async function holdLock(dbUrl, lockSql) {
  const p = spawn('psql', [dbUrl, '-v', 'ON_ERROR_STOP=1', '-tAq'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stdin.write(`BEGIN;\n${lockSql};\n`);
  await waitFor(() => out.trim().length > 0, { what: 'the row lock' });
  const exited = new Promise((resolve) => p.on('exit', resolve));
  return { row: out.trim(), release: async () => { p.stdin.end('ROLLBACK;\n\\q\n'); await exited; } };
}

test('SIGKILL mid template propagation: the restarted gateway finishes it; every pass changed exactly once', async () => {
  const g1 = await startGateway({ config: { server: SERVER, jobs: JOBS, rate_limit: NO_LIMIT } });
  const acct = g1.account();
  const t = await g1.request('POST', '/api/v1/templates', { key: acct.key, body: { name: 'Faults',
    body: { pass_type: 'loyalty', organization_name: 'Fault Co', logo_text: 'Before' } } });
  assert.equal(t.status, 201, t.text);
  const tpl = t.body.id;
  const N = 1500; // three chunks of 500
  const body = JSON.stringify(t.body.body).replace(/'/g, "''");
  g1.sql(`INSERT INTO passes (account_id, id, serial_number, pass_type, template_id, body)
          SELECT '${acct.account}', 'pass_flt' || lpad(g::text, 6, '0'), 'SN-FLT-' || g, 'loyalty', '${tpl}',
                 '${body}'::jsonb FROM generate_series(1, ${N}) g`);
  // A pass of the second chunk is locked: the first chunk commits, the second waits, and the
  // gateway is killed while it waits (the lock, not a clock, decides where the kill lands).
  // (FOR UPDATE with OFFSET would lock every row it skips: the row is chosen first.)
  const lock = await holdLock(g1.dbUrl, `SELECT id FROM passes WHERE id = (SELECT id FROM passes WHERE template_id = '${tpl}'
                                         ORDER BY id OFFSET 700 LIMIT 1) FOR UPDATE`);
  let released = false;
  let g2;
  try {
    const u = await g1.request('PUT', `/api/v1/templates/${tpl}`, { key: acct.key, body: { body: { logo_text: 'After' }, propagate: true } });
    assert.equal(u.status, 200, u.text);
    const job = u.body.propagation.job_id;
    const changed = () => Number(g1.sql(`SELECT count(*) FROM passes WHERE template_id = '${tpl}' AND body->>'logo_text' = 'After'`));
    await waitFor(() => changed() === 500, { timeout: 120000, what: 'the first chunk committed' });
    await waitFor(() => g1.sql(`SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                                WHERE NOT l.granted AND a.application_name = 'walletpass'`) !== '0',
      { timeout: 60000, what: 'the second chunk waiting for the locked pass' });
    const pid1 = g1.proc.pid;
    await g1.stop({ signal: 'SIGKILL' });
    assert.equal(changed(), 500, 'killed between chunks');
    assert.match(g1.sql(`SELECT status || ' ' || locked_by FROM jobs WHERE id = '${job}'`), new RegExp(`^running .*:${pid1}:`));
    await lock.release();
    released = true;

    g2 = await startGateway({ config: { server: SERVER, jobs: JOBS, rate_limit: NO_LIMIT }, dbUrl: g1.dbUrl,
      env: { WALLETPASS_MASTER_KEY: g1.env.WALLETPASS_MASTER_KEY } });
    await waitFor(() => g2.sql(`SELECT status FROM jobs WHERE id = '${job}'`) === 'done', { timeout: 120000, what: `job ${job} done` });
    assert.equal(g2.sql(`SELECT count(*) FROM passes WHERE template_id = '${tpl}' AND body->>'logo_text' = 'After' AND version = 2`), String(N));
    // exactly one pass.updated per pass: the re-run left the first chunk alone
    assert.equal(g2.sql(`SELECT count(*) FROM events WHERE account_id = '${acct.account}' AND type = 'pass.updated'`), String(N));
    assert.equal(g2.sql(`SELECT count(DISTINCT data->'pass'->>'id') FROM events WHERE account_id = '${acct.account}'
                         AND type = 'pass.updated'`), String(N));
    assert.match(g2.sql(`SELECT attempts || ' ' || last_error FROM jobs WHERE id = '${job}'`), new RegExp(`^2 owner died: .*:${pid1}:`));
  } finally {
    if (!released) await lock.release();
    if (g2) await g2.stop();
  }
});

// ---- PostgreSQL stopped for 10 s under load (its own cluster, as db-restart.test.mjs) ----

const COMMON = path.join(SOURCE_DIR, 'scripts/lib/common.sh');
function pg(fn, dir, port) {
  return execFileSync('bash', ['-c', `source "$1"; ${fn} "$2" "$3"`, 'pg', COMMON, dir, String(port)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
// The same without blocking node: while the clients run, their requests must keep moving.
function pgAsync(fn, dir, port) {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', `source "$1"; ${fn} "$2" "$3"`, 'pg', COMMON, dir, String(port)], { encoding: 'utf8' },
      (err, out, errText) => (err ? reject(new Error(`${fn}: ${err.message}\n${errText}`)) : resolve(out.trim())));
  });
}

test('PostgreSQL stopped for 10 s under load: only 503s with Retry-After, no crash, recovery without a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-pg-faults-'));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const admin = pg('wp_pg_start', dir, port);
  let gw;
  try {
    psql(admin, 'CREATE DATABASE wp_faults');
    const u = new URL(admin);
    u.pathname = '/wp_faults';
    gw = await startGateway({ dbUrl: u.toString(), config: { server: SERVER, rate_limit: NO_LIMIT, database: { acquire_timeout_ms: 2000 } } });
    const a = gw.account();
    const pid = gw.proc.pid;

    // 8 clients, each: create a pass, read it back, list; until told to stop
    const statuses = new Map();
    let created = 0, running = true, phase = 'before';
    const outage = [];
    const client = async (c) => {
      for (let i = 0; running; i++) {
        const r = await gw.request('POST', '/api/v1/passes', { key: a.key,
          body: { pass_type: 'generic', organization_name: 'Load', serial_number: `L-${c}-${i}-${crypto.randomBytes(3).toString('hex')}` } });
        const k = `${phase} ${r.status}`;
        statuses.set(k, (statuses.get(k) || 0) + 1);
        if (r.status === 201) created++;
        if (phase === 'outage') outage.push(r);
        const g = await gw.request('GET', '/api/v1/passes?limit=5', { key: a.key });
        statuses.set(`${phase} ${g.status}`, (statuses.get(`${phase} ${g.status}`) || 0) + 1);
        if (phase === 'outage') outage.push(g);
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    await waitFor(() => created >= 50, { timeout: 120000, what: 'load before the outage' });

    await pgAsync('wp_pg_stop', dir, port);
    phase = 'outage';
    await sleep(10000); // the outage itself, not an assertion
    await waitFor(() => outage.length >= 20, { timeout: 120000, what: 'requests answered during the outage' });
    assert.equal(gw.proc.exitCode, null, 'the gateway runs through the outage');
    assert.equal((await gw.request('GET', '/healthz')).status, 200);
    assertError(await gw.request('GET', '/readyz'), 503, { code: 'service_unavailable' });

    await pgAsync('wp_pg_start', dir, port);
    phase = 'after';
    await waitFor(async () => (await gw.request('GET', '/api/v1/account', { key: a.key })).status === 200,
      { timeout: 120000, interval: 200, what: 'service back after the database' });
    const before = created;
    await waitFor(() => created >= before + 50, { timeout: 120000, what: 'load served again' });
    running = false;
    await Promise.all(clients);

    // During the outage: 503 service_unavailable with Retry-After, or (a request that
    // finished before the stop took effect) its success; never a 500 or another error.
    const kinds = new Set();
    for (const r of outage) {
      if (r.status === 503) {
        assertError(r, 503, { type: 'api_error', code: 'service_unavailable' });
        assert.ok(r.headers.get('retry-after'), 'Retry-After on every 503');
        kinds.add(503);
      } else {
        assert.ok(r.status === 200 || r.status === 201, `outage answer ${r.status}: ${r.text}`);
      }
    }
    assert.ok(kinds.has(503), `503s during the outage: ${JSON.stringify([...statuses])}`);
    assert.equal([...statuses.keys()].filter((k) => !/ (200|201|503)$/.test(k)).length, 0, JSON.stringify([...statuses]));
    assert.equal(gw.proc.pid, pid);
    assert.equal(gw.proc.exitCode, null, 'the same process serves after the outage');
    // every 201 is a pass (a request cut by the outage may have committed without its answer)
    assert.ok(Number(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${a.account}'`)) >= created);
  } finally {
    try {
      if (gw) await gw.stop();
    } finally {
      try { pg('wp_pg_stop', dir, port); } catch { /* stopped */ }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
