// The plugin ABI checks itself: plugins built against each frozen released
// header load and work; "built against" and "requires" are separate (a plugin
// built with the current header, requiring 1.2, loads on a host presenting
// 1.2 and finds the newer slots absent); what plugins need is checked at
// start; event data schemas reach only the subscribers that understand them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { startGateway, createDatabase, waitFor, BIN } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const FIXTURES = path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins');
const IN_TREE = path.join(BUILD_DIR, 'plugins');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-plugins-abi-'));
const pluginDir = path.join(work, 'plugins');
const FROZEN = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
// host->size of a host of each minor on this (64-bit) machine: 8 bytes, then 8 per slot
const SIZE = { 0: 8 + 30 * 8, 1: 8 + 32 * 8, 2: 8 + 37 * 8, 3: 8 + 40 * 8, 4: 8 + 44 * 8, 5: 8 + 45 * 8, 6: 8 + 46 * 8, 7: 8 + 49 * 8, 8: 8 + 50 * 8, 9: 8 + 51 * 8, 10: 8 + 54 * 8 };
const WP_OK = 0, WP_EINVAL = 2, WP_ENOTFOUND = 3, WP_ELATE = 11, WP_EDENIED = 19;

/** Runs `walletpass <args>` with a config (and env); returns { code, stdout, stderr }. */
function runWith(config, args, env = {}) {
  const cfgPath = path.join(work, `cfg-${crypto.randomBytes(6).toString('hex')}.json`);
  fs.writeFileSync(cfgPath, JSON.stringify({ plugin_dir: pluginDir, log_level: 'info', ...config }));
  const e = {
    ...process.env, WALLETPASS_CONFIG: cfgPath, WALLETPASS_DATABASE_URL: createDatabase(),
    WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64'), ...env,
  };
  const r = spawnSync(BIN, args, { env: e, timeout: 120000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.signal || r.error) throw new Error(`walletpass ${args.join(' ')} did not exit (${r.signal || r.error}): ${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let gw, old, a, b;
before(async () => {
  fs.mkdirSync(pluginDir, { recursive: true });
  for (const f of fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.so')))
    fs.copyFileSync(path.join(FIXTURES, f), path.join(pluginDir, f));
  const frozen = FROZEN.map((m) => ({ name: `abi1${m}` }));
  gw = await startGateway({
    config: { plugin_dir: pluginDir, plugins: [...frozen, { name: 'req12' }, { name: 'schemasub' }] },
  });
  // the same gateway, presenting itself to plugins as ABI 1.2
  old = await startGateway({
    config: { plugin_dir: pluginDir, plugins: [{ name: 'abi10' }, { name: 'abi12' }, { name: 'req12' }] },
    env: { WALLETPASS_PLUGIN_ABI: '1.2' },
  });
  a = gw.account();
  b = old.account();
});
after(async () => {
  if (gw) await gw.stop();
  if (old) await old.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('a plugin built against each released header (1.0 .. 1.9) loads, and a slot of every minor it has works', async () => {
  for (const m of FROZEN) {
    const r = await gw.request('GET', `/api/v1/abi1${m}`, { key: a.key });
    assert.equal(r.status, 200, `abi1${m}: ${r.text}`);
    const o = r.body;
    assert.equal(o.header_minor, m);
    assert.equal(o.host_minor, 10);
    assert.equal(o.host_size, SIZE[10]);
    assert.equal(o.my_table_size, SIZE[m], `abi1${m} sees the table of its own header`);
    assert.equal(o.account, a.account);
    assert.equal(o.hook, true, 'its filter ran through hook_run');
    if (m >= 1) {
      assert.equal(o.url_check_metadata, WP_EDENIED);
      assert.equal(o.vault_read_none, WP_ENOTFOUND);
    }
    if (m >= 2) assert.equal(o.public_url, gw.url);
    if (m >= 3) assert.equal(o.vault_roundtrip, 'frozen');
    if (m >= 4) {
      assert.equal(o.job_enqueue_ex_foreign_key, WP_EINVAL);
      assert.match(o.job_enqueue_ex_error, new RegExp(`serial key "not-mine:x" must start with "abi1${m}:"`));
      assert.equal(o.pass_cap_verify_unknown, WP_ENOTFOUND);
    }
    if (m >= 5) assert.equal(o.subscribe_ex, WP_OK, 'subscribe_ex in init');
    if (m >= 6) {
      assert.equal(o.credential_kind_register, WP_OK, 'credential_kind_register in init');
      // the kind it registered is served by the host
      const c = await gw.request('GET', `/api/v1/credentials/abi1${m}`, { key: a.key });
      assert.equal(c.status, 404, c.text);
      assert.equal(c.body.error.code, 'resource_missing');
    }
    if (m >= 7) assert.equal(o.pass_secret_get_unknown, WP_ENOTFOUND, 'pass_secret_get of an unknown pass');
    if (m >= 8) assert.equal(o.api_call_without_request, WP_EINVAL, 'api_call without a request to act as');
    if (m >= 9) assert.equal(o.reload_register_late, WP_ELATE, 'reload_register after init');
  }
  const list = runWith({ plugins: FROZEN.map((m) => ({ name: `abi1${m}` })) }, ['plugins']);
  assert.equal(list.code, 0, list.stderr);
  for (const m of FROZEN) assert.match(list.stdout, new RegExp(`abi1${m}\\s+1\\.0\\.0\\s+ABI 1\\.${m}  `));
});

test('a plugin built with the current header, requiring 1.2, finds the newer slots present on this host', async () => {
  const r = await gw.request('GET', '/api/v1/req12', { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.host_minor, 10);
  assert.equal(r.body.header_minor, 10);
  assert.equal(r.body.requires_minor, 2);
  assert.equal(r.body.public_url, gw.url);
  // pass_find and pass_authenticate were retired in 1.7: their slots stay, NULL
  assert.deepEqual(r.body.has, {
    resp_from_err: true, url_check: true, req_api_key: true, vault_seal: true, pass_find: false,
    pass_authenticate: false, job_enqueue_ex: true, subscribe_ex: true, api_call: true, reload_register: true,
    pass_memo_get: true,
  });
  const list = runWith({ plugins: [{ name: 'req12' }] }, ['plugins']);
  assert.match(list.stdout, /req12\s+1\.0\.0\s+ABI 1\.2 \(built 1\.10\)/);
});

test('... and on a host presenting 1.2 it loads and finds the 1.3+ slots absent', async () => {
  const r = await old.request('GET', '/api/v1/req12', { key: b.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.host_minor, 2);
  assert.equal(r.body.host_size, SIZE[2]);
  assert.equal(r.body.public_url, old.url);
  assert.deepEqual(r.body.has, {
    resp_from_err: true, url_check: true, req_api_key: true, vault_seal: false, pass_find: false,
    pass_authenticate: false, job_enqueue_ex: false, subscribe_ex: false, api_call: false, reload_register: false,
    pass_memo_get: false,
  });
  // the frozen 1.0 and 1.2 plugins load there too, and see a 1.2 host
  const f = await old.request('GET', '/api/v1/abi12', { key: b.key });
  assert.equal(f.status, 200, f.text);
  assert.equal(f.body.host_minor, 2);
  assert.equal(f.body.host_size, f.body.my_table_size);
  assert.equal(f.body.url_check_metadata, WP_EDENIED);
  assert.equal((await old.request('GET', '/api/v1/abi10', { key: b.key })).body.host_minor, 2);
  assert.match(old.stderr(), /plugins see plugin ABI 1\.2 \(WALLETPASS_PLUGIN_ABI\), not this walletpass's 1\.10/);
});

test('a plugin requiring a newer minor than the host is refused, naming both versions', () => {
  let r = runWith({ plugins: [{ name: 'reqnow' }] }, ['serve'], { WALLETPASS_PLUGIN_ABI: '1.2' });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /plugin "reqnow" \(.*\/reqnow\.so\) requires ABI 1\.10 \(built against 1\.10\), walletpass provides ABI 1\.2 \(presented as such by WALLETPASS_PLUGIN_ABI\): upgrade walletpass, or use a build of the plugin that requires at most 1\.2/);
  r = runWith({ plugins: [{ name: 'abi14' }] }, ['plugins'], { WALLETPASS_PLUGIN_ABI: '1.3' });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /plugin "abi14" \(.*\) requires ABI 1\.4 \(built against 1\.4\), walletpass provides ABI 1\.3/);
  r = runWith({ plugins: [{ name: 'abinew' }] }, ['plugins']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /plugin "abinew" \(.*\) requires ABI 1\.99 \(built against 1\.99\), walletpass provides ABI 1\.10/);
  r = runWith({ plugins: [] }, ['plugins'], { WALLETPASS_PLUGIN_ABI: '1.11' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /WALLETPASS_PLUGIN_ABI: "1\.11" is not an ABI this walletpass can present \(1\.0 to 1\.10\)/);
});

test('a configuration with apns but without apple-signer does not start, naming both', () => {
  const r = runWith({ plugin_dir: IN_TREE, plugins: [{ name: 'apns' }] }, ['serve']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /plugin "apns" \(.*\/apns\.so\) needs plugin "apple-signer", which is not configured: add \{"name": "apple-signer"\} to plugins/);
  assert.doesNotMatch(r.stderr, /plugin apns .* loaded/); // refused before any plugin ran
  // an optional plugin missing what it needs is left out, with the reason
  const o = runWith({ plugin_dir: IN_TREE, plugins: [{ name: 'apns', optional: true }] }, ['plugins']);
  assert.equal(o.code, 0, o.stderr);
  assert.match(o.stderr, /needs plugin "apple-signer", which is not configured.*optional, starting without it/);
  assert.match(o.stdout, /no plugins loaded/);
});

test('a needed plugin starts first, whatever the configured order; walletpass plugins lists the needs', () => {
  const r = runWith({ plugin_dir: IN_TREE, plugins: [{ name: 'apns' }, { name: 'apple-signer' }] }, ['plugins']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.indexOf('apple-signer ') < r.stdout.indexOf('apns '), r.stdout);
  assert.match(r.stdout, /apns\s+0\.1\.0\s+ABI 1\.4 \(built 1\.10\)[^\n]*\n[^\n]*\n    needs  plugin apple-signer\n    needs  hook apple\.pkpass\.build\n    needs  hook apple\.pass\.authenticate/);
});

test('a hook a plugin needs without a filter, and needs in a cycle, stop start-up naming them', () => {
  let r = runWith({ plugins: [{ name: 'needshook' }] }, ['plugins']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /plugin "needshook" \(.*\) runs hook "needshook\.render", and no loaded plugin has a filter on it/);
  r = runWith({ plugins: [{ name: 'cyca' }, { name: 'cycb' }] }, ['plugins']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /plugin "cyca" \(.*\) needs itself through its needed plugins \(a cycle in needs_plugins\).*"cycb" needs "cyca"; "cyca" needs "cycb"/);
});

test('event data carries its schema; a subscriber gets only the schemas it understands', async () => {
  const pub = (type, schema) => gw.request('POST', '/api/v1/schemasub/publish', { key: a.key, body: { type, schema } });
  // a plugin built against 1.5 cannot publish data without its schema
  const bad = await pub('schemasub.ping', null);
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.body.error.message, /data\.schema, the version of the event's data, must be an integer/);
  const ids = {};
  for (const [type, schema] of [['schemasub.ping', 1], ['schemasub.ping', 2], ['schemasub.ping', 4], ['schemasub.pong', 1], ['schemasub.pong', 3]]) {
    const r = await pub(type, schema);
    assert.equal(r.status, 200, r.text);
    ids[`${type}/${schema}`] = r.body.event_id;
  }
  const kind = (t) => `event:schemasub:${t}`;
  await waitFor(() => {
    const settled = gw.sql(`SELECT count(*) FROM jobs WHERE kind IN ('${kind('schemasub.ping')}', '${kind('schemasub.pong')}') AND status IN ('done', 'failed')`);
    return Number(settled) === 5;
  }, { what: 'the five deliveries settled', timeout: 60000 });
  const got = (await gw.request('GET', '/api/v1/schemasub', { key: a.key })).body.delivered;
  got.sort((x, y) => x.type.localeCompare(y.type));
  // ping understands 2..3, pong 3 or later; ev->schema is the data's schema
  assert.deepEqual(got, [
    { type: 'schemasub.ping', schema: 2, data_schema: 2 },
    { type: 'schemasub.pong', schema: 3, data_schema: 3 },
  ]);
  // WP_SCHEMA_REFUSE: the delivery failed at once, naming both versions
  const failed = gw.sql(`SELECT string_agg(attempts || ' ' || last_error, E'\\n' ORDER BY last_error) FROM jobs WHERE kind = '${kind('schemasub.ping')}' AND status = 'failed'`);
  assert.match(failed, new RegExp(`^1 event ${ids['schemasub.ping/1']} \\(schemasub\\.ping\\) has data schema 1; plugin schemasub understands 2\\.\\.3: refused\\n1 event ${ids['schemasub.ping/4']} \\(schemasub\\.ping\\) has data schema 4; plugin schemasub understands 2\\.\\.3: refused$`), failed);
  // WP_SCHEMA_SKIP: done, without the handler, and logged
  assert.equal(gw.sql(`SELECT count(*) FROM jobs WHERE kind = '${kind('schemasub.pong')}' AND status = 'done'`), '2');
  assert.match(gw.stderr(), new RegExp(`plugin schemasub: skipped event ${ids['schemasub.pong/1']} \\(schemasub\\.pong\\): its data schema is 1, the subscriber understands 3 or later`));
  const m = await gw.request('GET', '/metrics');
  assert.match(m.text, /walletpass_plugin_event_schema_mismatches_total 3\b/);
});
