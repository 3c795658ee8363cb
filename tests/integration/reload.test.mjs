// SIGHUP reads the configuration file again and applies what can change without a restart: the log
// level, the rate limit, the plans, and the plugin settings a plugin declares reloadable (the
// webhooks plugin's max_endpoints, through reload_register of ABI 1.9). Every other change is
// logged as needing a restart and not applied; a file that does not load changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, waitFor, BIN } from './lib/harness.mjs';

const WP_EINVAL = 2, WP_ELATE = 11;

const RELOADED = /warn +SIGHUP: reloaded: ([^\n]*)/;
const RESTART = /warn +SIGHUP: changed, but not reloaded \(a restart applies them\): ([^\n]*)/;
const DEBUG_LINE = /debug SIGHUP: no server\.tls configured, no certificate to reload/;

let gw, a, cfg;
before(async () => {
  gw = await startGateway({
    plan: 'small',
    config: {
      log_level: 'info',
      // one token per 1,000 s: a refusal can only be the burst's
      rate_limit: { requests_per_second: 0.001, burst: 2 },
      plans: { small: { operations_per_month: 1 }, unlimited: { operations_per_month: -1 } },
      metering: { default_plan: 'small', trial_days: 0 },
      plugins: [{ name: 'webhooks', config: { allow_http: true, max_endpoints: 1 } }],
      outbound: { allow_private_targets: true },
    },
  });
  a = gw.account();
  cfg = JSON.parse(fs.readFileSync(gw.cfgPath, 'utf8'));
});
after(async () => gw && gw.stop());

/** Writes the config file, sends SIGHUP, waits for the n-th reload report line matching re. */
async function reload(newCfg, re) {
  const before = (gw.stderr().match(new RegExp(re.source, 'g')) || []).length;
  if (typeof newCfg === 'string') fs.writeFileSync(gw.cfgPath, newCfg);
  else fs.writeFileSync(gw.cfgPath, JSON.stringify(newCfg, null, 2));
  gw.proc.kill('SIGHUP');
  await waitFor(() => (gw.stderr().match(new RegExp(re.source, 'g')) || []).length > before, { what: `${re}` });
}

const pass = (n) => ({ pass_type: 'generic', organization_name: 'Reload', serial_number: `RL-${n}`,
  primary_fields: [{ key: 'k', label: 'L', value: `v${n}` }] });
const endpoint = (n) => ({ url: `http://127.0.0.1:9/hook-${n}`, event_types: ['pass.created'] });

test('SIGHUP applies the log level, rate limit, plans and a reloadable plugin setting; reports the rest', async () => {
  // the limits as started
  let r = await gw.request('POST', '/api/v1/passes', { key: a.key, body: pass(1) });
  assert.equal(r.status, 201, r.text);
  r = await gw.request('POST', '/api/v1/passes', { key: a.key, body: pass(2) });
  assert.equal(r.status, 402, 'the plan allows one operation a month');
  assert.equal(r.body.error.code, 'plan_limit_reached');
  r = await gw.request('GET', '/api/v1/account', { key: a.key });
  assert.equal(r.status, 429, 'the burst of 2 is spent');
  assert.equal(r.headers.get('x-ratelimit-limit'), '2');

  // an unchanged file: nothing to do, and no debug line at info
  await reload(cfg, /SIGHUP: the configuration is unchanged/);
  assert.doesNotMatch(gw.stderr(), DEBUG_LINE);

  const next = structuredClone(cfg);
  next.log_level = 'debug';
  next.rate_limit = { requests_per_second: 0.001, burst: 20 };
  next.plans.small.operations_per_month = 3;
  next.plugins[0].config.max_endpoints = 2;
  next.plugins[0].config.timeout_ms = 9000;          // not reloadable: the plugin did not declare it
  next.server = { ...next.server, num_threads: 7 };  // not reloadable
  await reload(next, RELOADED);
  const done = RELOADED.exec(gw.stderr())[1];
  assert.deepEqual(done.split(', ').sort(),
    ['log_level', 'plans', 'plugins.webhooks.config.max_endpoints', 'rate_limit.burst'].sort(), done);
  await waitFor(() => RESTART.test(gw.stderr()), { what: 'the restart report' });
  // database.pool_size follows num_threads (num_threads + 4 when not set): its effective value changed too
  assert.deepEqual(RESTART.exec(gw.stderr())[1].split(', ').sort(),
    ['database.pool_size', 'plugins.webhooks.config.timeout_ms', 'server.num_threads']);
  await waitFor(() => DEBUG_LINE.test(gw.stderr()), { what: 'a debug line once log_level is debug' });

  // the new limits are in effect: a new bucket of 20, a plan of 3, two endpoints
  r = await gw.request('GET', '/api/v1/account', { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-ratelimit-limit'), '20');
  r = await gw.request('POST', '/api/v1/passes', { key: a.key, body: pass(3) });
  assert.equal(r.status, 201, r.text);
  r = await gw.request('POST', '/api/v1/webhooks', { key: a.key, body: endpoint(1) });
  assert.equal(r.status, 201, r.text);
  r = await gw.request('POST', '/api/v1/webhooks', { key: a.key, body: endpoint(2) });
  assert.equal(r.status, 201, `max_endpoints 2 after the reload: ${r.text}`);
  r = await gw.request('POST', '/api/v1/webhooks', { key: a.key, body: endpoint(3) });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'endpoint_limit_reached');
  assert.match(r.body.error.message, /at most 2 webhook endpoints/);

  // the same file again: nothing more is reloaded (those values are the running ones now); what needs
  // a restart still does
  const reloads = (gw.stderr().match(new RegExp(RELOADED.source, 'g')) || []).length;
  await reload(next, RESTART);
  assert.equal((gw.stderr().match(new RegExp(RELOADED.source, 'g')) || []).length, reloads);
});

test('a file that does not load, or a plugin refusing its value, changes nothing', async () => {
  const lines = gw.stderr().length;
  await reload('{"log_level": "debug",', /SIGHUP: the configuration was not reloaded \(the running one stays\): configuration file/);
  let r = await gw.request('GET', '/api/v1/account', { key: a.key });
  assert.equal(r.headers.get('x-ratelimit-limit'), '20', 'still the reloaded limit');
  const next = structuredClone(cfg);
  next.log_level = 'debug';
  next.rate_limit = { requests_per_second: 0.001, burst: 20 };
  next.plans.small.operations_per_month = 3;
  next.plugins[0].config.max_endpoints = 0;  // out of range: the plugin refuses it
  await reload(next, /plugin "webhooks": reload refused, its running settings stay: [^\n]*max_endpoints/);
  r = await gw.request('POST', '/api/v1/webhooks', { key: a.key, body: endpoint(4) });
  assert.equal(r.status, 409);
  assert.match(r.body.error.message, /at most 2 webhook endpoints/, 'still 2');
  assert.ok(gw.stderr().length > lines);
  assert.equal(gw.proc.exitCode, null, 'the gateway is still up');
});

test('requests running while SIGHUPs swap the configuration get answers of either one (a race is TSan\'s to find)', async () => {
  const b = gw.account();
  gw.sql(`UPDATE accounts SET plan = 'unlimited' WHERE id = '${b.account}'`);
  const next = structuredClone(cfg);
  next.rate_limit = { requests_per_second: 0.001, burst: 1000 };
  next.plugins[0].config.max_endpoints = 2;
  await reload(next, RELOADED);
  const statuses = [];
  const load = Promise.all(Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; i < 15; i++) {
      const r = i % 2 ? await gw.request('GET', '/api/v1/account', { key: b.key })
        : await gw.request('POST', '/api/v1/passes', { key: b.key, body: pass(`c${w}-${i}`) });
      statuses.push(r.status);
    }
  }));
  for (let k = 0; k < 4; k++) {
    next.plans.small.operations_per_month = 10 + k;
    next.log_level = k % 2 ? 'info' : 'debug';
    await reload(next, RELOADED);
  }
  await load;
  assert.equal(statuses.length, 60);
  assert.ok(statuses.every((s) => s === 200 || s === 201 || s === 429), statuses.join(','));
  assert.ok(statuses.filter((s) => s === 201).length > 0);
  assert.equal(gw.proc.exitCode, null);
});

test('reload_register (ABI 1.9): declared keys reach the plugin, others need a restart, a refusal keeps the running value', async () => {
  const FIXTURES = path.join(process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..'), 'tests', 'fixtures', 'plugins');
  const fx = await startGateway({ config: { plugin_dir: FIXTURES, plugins: [{ name: 'reloadfx', config: { greeting: 'hello', fixed: 1 } }] } });
  try {
    let r = await fx.request('GET', '/api/v1/reloadfx');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.greeting, 'hello');
    assert.equal(r.body.register_empty, WP_EINVAL, 'no keys');
    assert.equal(r.body.register_no_fn, WP_EINVAL, 'no function');
    assert.equal(r.body.register_twice, WP_EINVAL, 'a second registration');
    assert.equal(r.body.register_late, WP_ELATE, 'after init');
    const c = JSON.parse(fs.readFileSync(fx.cfgPath, 'utf8'));
    const send = async (config, re) => {
      const n = (fx.stderr().match(new RegExp(re.source, 'g')) || []).length;
      c.plugins[0].config = config;
      fs.writeFileSync(fx.cfgPath, JSON.stringify(c));
      fx.proc.kill('SIGHUP');
      await waitFor(() => (fx.stderr().match(new RegExp(re.source, 'g')) || []).length > n, { what: `${re}` });
    };
    await send({ greeting: 'bonjour', fixed: 2 }, /SIGHUP: changed, but not reloaded \(a restart applies them\): plugins\.reloadfx\.config\.fixed/);
    assert.match(fx.stderr(), /SIGHUP: reloaded: plugins\.reloadfx\.config\.greeting/);
    r = await fx.request('GET', '/api/v1/reloadfx');
    assert.equal(r.body.greeting, 'bonjour');
    assert.equal(r.body.reloads, 1);
    await send({ greeting: 'no', fixed: 2 }, /plugin "reloadfx": reload refused, its running settings stay: greeting: "no" is not a greeting/);
    r = await fx.request('GET', '/api/v1/reloadfx');
    assert.equal(r.body.greeting, 'bonjour');
    // a key removed from the file is a change too: the plugin gets its config without it (its default)
    await send({ fixed: 2 }, /SIGHUP: reloaded: plugins\.reloadfx\.config\.greeting/);
    r = await fx.request('GET', '/api/v1/reloadfx');
    assert.equal(r.body.greeting, 'hello');
    assert.equal(r.body.reloads, 2);
  } finally {
    await fx.stop();
  }
});
