// A whole start/serve/stop cycle of the gateway under valgrind (memcheck): start, /healthz,
// Apple credentials uploaded, a webhook endpoint, a pass created, its pkpass downloaded (signed,
// zipped), an update, a few reads, the two webhook deliveries (job queue, signing, libcurl) seen
// at a local receiver, then SIGTERM.  Fails on any memcheck error (invalid read or write, use of an
// uninitialised value, a bad free) and on any definitely lost block, with the report.
//
// The release build (RelWithDebInfo) only: memcheck cannot run a sanitizer build, whose own
// checks cover the same ground in the ASan pass.  Only the apple-signer (the pkpass) and
// webhooks (background jobs and outbound HTTP) plugins are loaded, with 4 server threads and
// one job worker: the others would only slow valgrind down.  Suppressions: tests/valgrind.supp (code outside the project only, each with
// its reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, createDatabase, waitFor, sanitizer, BIN, SOURCE_DIR } from './lib/harness.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN || '.'), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const PTID = 'pass.com.example.valgrind';
const ERROR_EXIT = 99;

function valgrindMissing() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'valgrind is not installed (scripts/test installs it: WP_TEST_PACKAGES)';
  }
}
const skip = sanitizer() ? `a ${sanitizer()} sanitizer build: memcheck runs the release build only` : valgrindMissing();

test('start, serve (healthz, a pass, its pkpass, webhook deliveries), SIGTERM under valgrind: no memory error, nothing definitely lost', { skip, timeout: 300000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-valgrind-'));
  const log = path.join(dir, 'memcheck.log');
  try {
    const pki = makePki(dir, { pass: PTID });
    const rx = await startWebhookReceiver();
    t.after(() => rx.close());
    const t0 = Date.now();
    const gw = await startGateway({
      wrapper: ['valgrind', '--tool=memcheck', '--leak-check=full', '--errors-for-leak-kinds=definite',
        '--show-leak-kinds=definite', `--error-exitcode=${ERROR_EXIT}`, '--num-callers=40', '--trace-children=no',
        `--suppressions=${path.join(SOURCE_DIR, 'tests/valgrind.supp')}`, `--log-file=${log}`],
      startTimeout: 180000,
      // memcheck runs the code 20-50 times slower: the 3 s connect timeout would not do on a busy machine
      dbUrl: `${createDatabase()}?connect_timeout=60`,
      config: {
        database: { acquire_timeout_ms: 60000 },
        server: { num_threads: 4, keep_alive_timeout_ms: 120000 },
        rate_limit: { requests_per_second: 0 },
        jobs: { workers: 1, poll_ms: 1000 },
        access_log: { flush_interval_ms: 250 },
        plugin_dir: PLUGIN_DIR,
        outbound: { allow_private_targets: true },
        plugins: [{ name: 'apple-signer', config: { cache_mb: 4 } },
          { name: 'webhooks', config: { allow_http: true, timeout_ms: 60000, connect_timeout_ms: 30000 } }],
      },
    });
    let stopped = false;
    try {
      t.diagnostic(`started under valgrind in ${Date.now() - t0} ms`);
      assert.equal((await gw.request('GET', '/healthz')).status, 200);
      const a = gw.account();
      let r = await gw.request('PUT', '/api/v1/credentials/apple', { key: a.key, body: {
        p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
        wwdr_pem: pki.wwdrPem } });
      assert.equal(r.status, 200, r.text);
      r = await gw.request('POST', '/api/v1/webhooks', { key: a.key, body: { url: rx.url('/vg'), event_types: ['pass.created', 'pass.updated'] } });
      assert.equal(r.status, 201, r.text);
      rx.setSecret('/vg', r.body.secret);
      r = await gw.request('POST', '/api/v1/passes', { key: a.key, body: { pass_type: 'loyalty', organization_name: 'Memcheck Co',
        serial_number: 'VG-1', program_name: 'Leaks', barcode_message: 'VG-1', primary_fields: [{ key: 'points', label: 'Points', value: '7' }] } });
      assert.equal(r.status, 201, r.text);
      const pass = r.body;
      assert.match(pass.pkpass_url || '', /\/pkpass\?t=/, r.text);
      // the first download builds and signs the bundle, the second comes from the cache
      for (let i = 0; i < 2; i++) {
        const res = await fetch(pass.pkpass_url);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'application/vnd.apple.pkpass');
        const buf = Buffer.from(await res.arrayBuffer());
        assert.equal(buf.subarray(0, 2).toString('latin1'), 'PK', 'a zip');
      }
      r = await gw.request('PUT', `/api/v1/passes/${pass.id}`, { key: a.key, body: { primary_fields: [{ key: 'points', label: 'Points', value: '8' }] } });
      assert.equal(r.status, 200, r.text);
      assert.equal((await gw.request('GET', `/api/v1/passes/${pass.id}`, { key: a.key })).status, 200);
      assert.equal((await gw.request('GET', '/api/v1/passes?limit=5', { key: a.key })).status, 200);
      assert.equal((await gw.request('GET', '/api/v1/passes/pass_nope', { key: a.key })).status, 404);
      assert.equal((await gw.request('GET', '/metrics')).status, 200);
      await waitFor(() => rx.on('/vg').filter((x) => x.status === 200 && x.verified).length >= 2,
        { timeout: 120000, interval: 200, what: 'both webhook deliveries' });
      const e = await gw.stop({ expectClean: false });
      stopped = true;
      const report = fs.readFileSync(log, 'utf8');
      t.diagnostic(`the whole cycle under valgrind: ${Date.now() - t0} ms`);
      const summary = (re) => (report.match(re) || [])[1];
      t.diagnostic(`memcheck: ${summary(/(ERROR SUMMARY: .*)/)}; definitely lost: ${summary(/definitely lost: (.*)/) || '0 bytes (no leak summary: nothing allocated was left)'}`);
      assert.doesNotMatch(report, /definitely lost: [1-9]/, `a definite leak:\n${report}`);
      assert.match(report, /ERROR SUMMARY: 0 errors/, `memcheck found errors:\n${report}`);
      assert.deepEqual(e, { code: 0, signal: null }, `the gateway under valgrind exited ${JSON.stringify(e)}:\n${report}\n${gw.stderr()}`);
    } finally {
      if (!stopped) await gw.stop({ signal: 'SIGKILL' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
