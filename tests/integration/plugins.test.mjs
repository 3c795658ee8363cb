// Plugins: the hello example built out of tree against the installed SDK,
// loaded by the gateway and exercised over HTTP; ABI refusals; a plugin
// built for an older minor; a failing init, required and optional.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { startGateway, assertError, createDatabase, waitFor, BIN, SOURCE_DIR } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const FIXTURES = path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-plugins-'));

// scripts/test builds hello against var/sdk and exports WP_HELLO_DIR; run
// alone, this suite installs the SDK and builds hello itself, the same way.
function helloBuildDir() {
  if (process.env.WP_HELLO_DIR) return process.env.WP_HELLO_DIR;
  const sdk = path.join(work, 'sdk');
  const out = path.join(work, 'hello-build');
  const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  run('cmake', ['--install', BUILD_DIR, '--prefix', sdk]);
  run('cmake', ['-S', path.join(SOURCE_DIR, 'sdk/examples/hello'), '-B', out, `-DCMAKE_PREFIX_PATH=${sdk}`]);
  run('cmake', ['--build', out]);
  return out;
}

// One plugin_dir holding hello (and its migrations) and the fixtures.
const pluginDir = path.join(work, 'plugins');
function preparePluginDir() {
  const hello = helloBuildDir();
  fs.mkdirSync(path.join(pluginDir, 'hello', 'migrations'), { recursive: true });
  fs.copyFileSync(path.join(hello, 'hello.so'), path.join(pluginDir, 'hello.so'));
  for (const f of fs.readdirSync(path.join(hello, 'hello', 'migrations')))
    fs.copyFileSync(path.join(hello, 'hello', 'migrations', f), path.join(pluginDir, 'hello', 'migrations', f));
  for (const f of fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.so')))
    fs.copyFileSync(path.join(FIXTURES, f), path.join(pluginDir, f));
}

/** Runs `walletpass <args>` with a config; returns { code, stdout, stderr }. */
function runWith(config, args, { timeout = 120000 } = {}) {
  const cfgPath = path.join(work, `cfg-${Math.random().toString(16).slice(2)}.json`);
  fs.writeFileSync(cfgPath, JSON.stringify({ plugin_dir: pluginDir, log_level: 'info', ...config }));
  const env = {
    ...process.env, WALLETPASS_CONFIG: cfgPath, WALLETPASS_DATABASE_URL: createDatabase(),
    WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
  };
  try {
    const stdout = execFileSync(BIN, args, { env, timeout, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    if (e.signal) throw new Error(`walletpass ${args.join(' ')} did not exit (${e.signal}): ${e.stderr}`);
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

let gw, a, b;
before(async () => {
  preparePluginDir();
  gw = await startGateway({
    config: {
      plugin_dir: pluginDir,
      plugins: [
        { name: 'hello', config: { shout: true } },
        { name: 'oldminor' },
        { name: 'initfail', optional: true },
      ],
    },
  });
  a = gw.account();
  b = gw.account();
});
after(async () => {
  if (gw) await gw.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('hello: its route answers through its filter, behind API-key auth', async () => {
  assertError(await gw.request('GET', '/api/v1/hello/world'), 401);
  const r = await gw.request('GET', '/api/v1/hello/world', { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.greeting, 'HELLO, WORLD!'); // hello's filter, config shout: true
  // oldminor (WP_PRIO_EARLY) runs before hello (WP_PRIO_DEFAULT)
  assert.deepEqual(r.body.filters, ['oldminor', 'hello']);
  assert.match(r.body.event_id, /^evt_/);
  // its own table, written in the request's transaction
  assert.equal(gw.sql(`SELECT greeting FROM hello_greetings WHERE account_id = '${a.account}'`), 'HELLO, WORLD!');
  assert.match(gw.sql(`SELECT version FROM schema_migrations WHERE component = 'hello'`), /1/);
});

test('hello: a filter REJECT becomes the HTTP error and nothing is written', async () => {
  const before_ = gw.sql(`SELECT count(*) FROM hello_greetings`);
  const r = await gw.request('GET', '/api/v1/hello/nobody', { key: a.key });
  assertError(r, 400, { code: 'name_refused', param: 'name', type: 'invalid_request_error' });
  assert.match(r.body.error.message, /does not greet "nobody"/);
  assert.equal(gw.sql(`SELECT count(*) FROM hello_greetings`), before_);
});

test('hello: its subscriber receives the event it published', async () => {
  const r = await gw.request('GET', '/api/v1/hello/subscriber', { key: b.key });
  assert.equal(r.status, 200, r.text);
  const stats = await waitFor(async () => {
    const s = await gw.request('GET', '/api/v1/hello', { key: b.key });
    return s.body && s.body.deliveries === 1 ? s.body : null;
  }, { what: 'hello.greeted delivered to the hello subscriber' });
  assert.equal(stats.greetings, 1);
  assert.equal(gw.sql(`SELECT event_id FROM hello_deliveries WHERE account_id = '${b.account}'`), r.body.event_id);
});

test('hello: url_check (ABI 1.1) refuses private targets and allows public ones', async () => {
  const bad = await gw.request('POST', '/api/v1/hello/check-url', { key: a.key, body: { url: 'http://169.254.169.254/latest' } });
  assert.equal(bad.status, 200, bad.text);
  assert.equal(bad.body.allowed, false);
  assert.match(bad.body.reason, /metadata/);
  const loop = await gw.request('POST', '/api/v1/hello/check-url', { key: a.key, body: { url: 'http://2130706433:8080/' } });
  assert.equal(loop.body.allowed, false);
  assert.match(loop.body.reason, /loopback/);
  const ok = await gw.request('POST', '/api/v1/hello/check-url', { key: a.key, body: { url: 'https://93.184.216.34/x' } });
  assert.equal(ok.body.allowed, true, ok.text);
  assert.equal(ok.body.pin, '93.184.216.34:443:93.184.216.34');
  assertError(await gw.request('POST', '/api/v1/hello/check-url', { key: a.key, body: {} }), 400, { param: 'url' });
});

test('hello: plugin metrics appear in /metrics', async () => {
  const m = await gw.request('GET', '/metrics');
  assert.match(m.text, /walletpass_hello_greetings_total \d+/);
});

test('a plugin built against the ABI 1.0 header loads and works on a 1.7 host', async () => {
  const r = await gw.request('GET', '/api/v1/oldminor', { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.built_for_minor, 0);
  assert.equal(r.body.host_minor, 10);
  assert.ok(r.body.my_table_size < r.body.host_table_size, r.text);
  assert.equal(r.body.account, a.account);
});

test('an optional plugin whose init fails is skipped and leaves no route behind', async () => {
  assert.match(gw.stderr(), /plugin "initfail" \(.*initfail\.so\): init failed: config\.token is required.*optional/);
  assertError(await gw.request('GET', '/api/v1/initfail'), 404, { code: 'route_not_found' });
});

test('a required plugin whose init fails stops start-up, naming it', () => {
  const r = runWith({ plugins: [{ name: 'hello' }, { name: 'initfail' }] }, ['serve']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /plugin "initfail" \(.*\/initfail\.so\): init failed: config\.token is required/);
  assert.match(r.stderr, /plugin hello: shutting down/); // the plugins already loaded are shut down
});

test('a plugin with another ABI major is refused with both versions named', () => {
  const r = runWith({ plugins: [{ name: 'abi2' }] }, ['serve']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /plugin "abi2" \(.*\/abi2\.so\) wants ABI 2\.0, walletpass provides ABI 1\.10/);
  const n = runWith({ plugins: [{ name: 'abinew' }] }, ['plugins']);
  assert.equal(n.code, 1);
  assert.match(n.stderr, /plugin "abinew" \(.*\/abinew\.so\) requires ABI 1\.99 \(built against 1\.99\), walletpass provides ABI 1\.10/);
});

test('plugin files are checked: location, name, permissions, configuration keys', () => {
  let r = runWith({ plugins: [{ name: 'oldminor', path: path.join(FIXTURES, 'oldminor.so') }] }, ['plugins']);
  assert.match(r.stderr, /outside plugin_dir/);
  fs.symlinkSync(path.join(FIXTURES, 'oldminor.so'), path.join(pluginDir, 'link.so'));
  r = runWith({ plugins: [{ name: 'oldminor', path: 'link.so' }] }, ['plugins']);
  assert.match(r.stderr, /outside plugin_dir/);
  r = runWith({ plugins: [{ name: 'oldminor', path: 'hello.so' }] }, ['plugins']);
  assert.match(r.stderr, /calls itself "hello"/);
  fs.copyFileSync(path.join(pluginDir, 'oldminor.so'), path.join(pluginDir, 'ww.so'));
  fs.chmodSync(path.join(pluginDir, 'ww.so'), 0o666);
  r = runWith({ plugins: [{ name: 'oldminor', path: 'ww.so' }] }, ['plugins']);
  assert.match(r.stderr, /world-writable/);
  r = runWith({ plugins: [{ name: 'hello' }, { name: 'oldminor', optinal: true }] }, ['plugins']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /plugins\[1\]\.optinal: unknown key/);
  r = runWith({ plugins: [{ name: 'Hello!' }] }, ['plugins']);
  assert.match(r.stderr, /plugins\[0\]\.name: must be/);
  r = runWith({ plugins: [{ name: 'hello' }, { name: 'hello' }] }, ['plugins']);
  assert.match(r.stderr, /plugins\[1\]\.name: plugin "hello" is already listed/);
});

test("hello's configuration is checked by the SDK's helper, naming the key", () => {
  let r = runWith({ plugins: [{ name: 'hello', config: { shout: 'yes' } }] }, ['plugins']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /plugin "hello" \(.*\): init failed: config\.shout: must be true or false/);
  r = runWith({ plugins: [{ name: 'hello', config: { greeting: 'x'.repeat(64) } }] }, ['plugins']);
  assert.match(r.stderr, /init failed: config\.greeting: must be at most 63 characters \(it has 64\)/);
  r = runWith({ plugins: [{ name: 'hello', config: { greting: 'Hi' } }] }, ['plugins']);
  assert.match(r.stderr, /init failed: config\.greting: unknown key \(known: greeting, shout\)/);
});

test('walletpass plugins lists versions and --hooks the filter order', () => {
  const r = runWith({ plugins: [{ name: 'hello' }, { name: 'oldminor' }] }, ['plugins', '--hooks']);
  assert.equal(r.code, 0, r.stderr);
  // hello requires 1.0 (it probes what is newer) and is built against this SDK
  assert.match(r.stdout, /hello\s+1\.0\.0\s+ABI 1\.0 \(built 1\.10\)/);
  assert.match(r.stdout, /oldminor\s+0\.9\.0\s+ABI 1\.0/);
  assert.match(r.stdout, /hello\.greeting\s+25\s+oldminor\nhello\.greeting\s+50\s+hello/);
});
