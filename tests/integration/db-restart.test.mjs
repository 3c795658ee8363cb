// The database stopped and restarted under a running gateway: requests
// during the outage answer 503 quickly with the error shape, /readyz is 503
// while /healthz stays 200, and service resumes by itself afterwards.
//
// The gateway gets its OWN PostgreSQL cluster (scripts/lib/common.sh
// wp_pg_start / wp_pg_stop), so stopping it disturbs no other suite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, assertError, freePort, psql, waitFor, SOURCE_DIR } from './lib/harness.mjs';

const COMMON = path.join(SOURCE_DIR, 'scripts/lib/common.sh');
let dir, port, adminUrl, gw, a, unseen;
const outageIds = []; // request ids answered 503 during the outage
const HANG_MS = 600000;
// Far below HANG_MS, far above what the slowest machine needs to answer without waiting.
const QUICK_MS = 120000;

function pg(fn, ...more) {
  return execFileSync('bash', ['-c', `source "$1"; ${fn} "$2" "$3" ${more.join(' ')}`, 'pg', COMMON, dir, String(port)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
const pgStart = () => pg('wp_pg_start', 'off'); // test data: no need to sync it
const pgStop = () => pg('wp_pg_stop');

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-pg-restart-'));
  fs.chmodSync(dir, 0o755); // the postgres user must reach it
  port = await freePort();
  adminUrl = pgStart();
  assert.match(adminUrl, /^postgresql:\/\//);
  psql(adminUrl, 'CREATE DATABASE wp_restart');
  const u = new URL(adminUrl);
  u.pathname = '/wp_restart';
  // A request that waited for a pool slot or a connection attempt to time out would hang for
  // minutes (HANG): "quickly" below means without waiting for either, not within some time.
  gw = await startGateway({ dbUrl: u.toString(), config: { access_log: { flush_interval_ms: 50 },
    database: { acquire_timeout_ms: HANG_MS, connect_timeout_seconds: HANG_MS / 1000 } } });
  a = gw.account();
  unseen = gw.account(); // a key this process never verified, so never remembered (docs/caching.md)
});

after(async () => {
  try {
    if (gw) await gw.stop();
  } finally {
    if (dir) {
      try { pgStop(); } catch { /* already stopped */ }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

// A 503 names no host, port or libpq text: the database's address is not the client's business.
function noDetail(r) {
  for (const bad of ['127.0.0.1', String(port), 'connection to server', 'Connection refused', 'libpq', 'failed:', 'Is the server running']) {
    assert.ok(!r.text.includes(bad), `the 503 body gives away "${bad}": ${r.text}`);
  }
}

async function timed(fn) {
  const t = Date.now();
  const r = await fn();
  return { r, ms: Date.now() - t };
}

test('requests work while the database is up', async () => {
  assert.equal((await gw.request('GET', '/api/v1/account', { key: a.key })).status, 200);
  assert.equal((await gw.request('GET', '/readyz')).status, 200);
  // warm several pool connections so the restart finds idle, now-dead ones
  const rs = await Promise.all(Array.from({ length: 6 }, () => gw.request('GET', '/api/v1/api_keys', { key: a.key })));
  for (const r of rs) assert.equal(r.status, 200);
});

test('database stopped: 503 with the error shape, quickly; /readyz 503, /healthz 200', async () => {
  pgStop();
  for (let i = 0; i < 3; i++) {
    const { r, ms } = await timed(() => gw.request('GET', '/api/v1/account', { key: a.key }));
    const e = assertError(r, 503, { type: 'api_error', code: 'service_unavailable' });
    outageIds.push(r.headers.get('request-id'));
    assert.equal(e.message, 'the database is unavailable; try again');
    noDetail(r);
    assert.ok(r.headers.get('retry-after'), 'Retry-After on 503');
    assert.ok(ms < QUICK_MS, `answered in ${ms} ms: it waited for a timeout`);
  }
  // writes too, and many at once (more than the pool has slots): none hangs
  const { r: all, ms } = await timed(() => Promise.all(Array.from({ length: 20 }, (_, i) =>
    i % 2 ? gw.request('GET', '/api/v1/account', { key: a.key })
      : gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'outage' } }))));
  for (const r of all) {
    assertError(r, 503);
    noDetail(r);
  }
  assert.ok(ms < QUICK_MS, `20 concurrent requests took ${ms} ms: one waited for a timeout`);

  const ready = await gw.request('GET', '/readyz');
  assertError(ready, 503, { code: 'service_unavailable' });
  noDetail(ready);
  assert.equal(ready.headers.get('retry-after'), '1');
  // the detail is for the operator: in the server log
  assert.match(gw.stderr(), new RegExp(`database unavailable: .*port ${port}.*failed`));
  const health = await gw.request('GET', '/healthz');
  assert.equal(health.status, 200);
  const m = await gw.request('GET', '/metrics');
  assert.equal(m.status, 200);
  // validation that needs no database still answers 400... after auth, which needs it for a key
  // the process does not remember: 503 first
  assertError(await gw.request('GET', '/api/v1/account?bogus=1', { key: unseen.key }), 503);
  // and no key at all is still 401 (no database needed to say so)
  assertError(await gw.request('GET', '/api/v1/account'), 401);
});

test('database started again: service resumes without restarting the gateway', async () => {
  pgStart();
  await waitFor(async () => (await gw.request('GET', '/api/v1/account', { key: a.key })).status === 200,
    { timeout: QUICK_MS, interval: 200, what: 'GET /api/v1/account 200 after the restart' });
  assert.equal((await gw.request('GET', '/readyz')).status, 200);
  // every pooled connection works again, reads and writes
  const rs = await Promise.all(Array.from({ length: 10 }, () => gw.request('GET', '/api/v1/api_keys', { key: a.key })));
  for (const r of rs) assert.equal(r.status, 200, r.text);
  const c = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'after' } });
  assert.equal(c.status, 201, c.text);
  // nothing from the outage was half-written
  assert.equal(gw.sql("SELECT count(*) FROM api_keys WHERE name = 'outage'"), '0');
  assert.equal(gw.proc.exitCode, null, 'the gateway process kept running');
});

test('a quick restart between two requests is invisible: dead idle connections are reopened', async () => {
  // warm the pool, then restart while every connection is idle
  await Promise.all(Array.from({ length: 6 }, () => gw.request('GET', '/api/v1/account', { key: a.key })));
  pgStop();
  pgStart();
  for (let i = 0; i < 8; i++) {
    const r = await gw.request('GET', '/api/v1/account', { key: a.key });
    assert.equal(r.status, 200, `request ${i} after the restart: ${r.text}`);
  }
  const rs = await Promise.all(Array.from({ length: 8 }, () => gw.request('GET', '/api/v1/api_keys', { key: a.key })));
  for (const r of rs) assert.equal(r.status, 200, r.text);
});

test('the access log catches up after the outage: requests answered 503 are recorded too', async () => {
  const r = await gw.request('GET', '/api/v1/account', { key: a.key });
  const rid = r.headers.get('request-id');
  await waitFor(() => gw.sql(`SELECT count(*) FROM access_logs WHERE request_id = '${rid}'`) === '1', { what: 'log row after recovery' });
  assert.equal(outageIds.length, 3);
  const list = outageIds.map((i) => `'${i}'`).join(',');
  await waitFor(() => gw.sql(`SELECT count(*) FROM access_logs WHERE request_id IN (${list}) AND status = 503`) === '3',
    { what: 'the outage requests in the access log' });
});
