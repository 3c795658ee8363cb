// The Zapier app (plugins/zapier-bridge/app) against the real gateway: zapier-platform-core's
// appTester runs every trigger's subscribe / perform / performList / unsubscribe, every create and
// the search, over HTTP to a gateway with the zapier-bridge plugin (and apple-signer + apns, whose
// device registrations are the pass.installed / pass.removed events) and its PostgreSQL.  Nothing
// of the gateway is mocked; nothing leaves this machine (Zapier's servers are never called: its
// REST hooks land at a local target).  The app connects with a test-mode key (sk_test_), as a user
// building Zaps would; a live key's Zaps never see its events.  Also: the app passes Zapier's schema validation and the
// reviewers' rules; deliveries have the sample's keys and types; a 410 unsubscribes; a failed
// delivery is retried on the webhooks' schedule; errors name the field; a 429 keeps Retry-After.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor, freePort, SOURCE_DIR } from './lib/harness.mjs';

// Zapier's logger posts only with a token, which tests never have; this keeps it local regardless.
process.env.LOGGING_ENDPOINT = 'http://127.0.0.1:9/';
// zapier-platform-core's test mode: its output checks (a trigger answers an array with ids, a search
// an array, a create an object) throw instead of logging, and it prints no memory lines.
process.env.NODE_ENV = 'test';
const APP_DIR = path.join(SOURCE_DIR, 'plugins', 'zapier-bridge', 'app');
if (!fs.existsSync(path.join(APP_DIR, 'node_modules', 'zapier-platform-core')))
  throw new Error(`${APP_DIR}: the app's dependencies are not installed: run "npm ci" there (scripts/test does)`);
const require = createRequire(path.join(APP_DIR, 'index.js'));
const zapier = require('zapier-platform-core');
const App = require(APP_DIR);
const appTester = zapier.createAppTester(App);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-zapier-'));
const PTID = 'pass.com.example.zapier';
const TEAM = 'ABCDE12345';
const PASSWORD = 'p12-Passw0rd';
const f = (name) => path.join(dir, name);
const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** A throwaway Apple PKI: a WWDR stand-in and one Pass Type ID certificate (as in apns.test.mjs). */
function makePki() {
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional', ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wwdr.key', '-out', 'wwdr.pem', '-days', '30',
    '-subj', '/C=US/O=Test Apple/OU=G4/CN=Fake Worldwide Developer Relations Certification Authority');
  ssl('genrsa', '-out', 'pass.key', '2048');
  fs.writeFileSync(f('pass.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature',
    'extendedKeyUsage = clientAuth', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
    `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${PTID}`, ''].join('\n'));
  ssl('req', '-new', '-key', 'pass.key', '-out', 'pass.csr', '-subj', `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=${TEAM}/O=Example Inc./C=US`);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key',
    '-in', 'pass.csr', '-out', 'pass.pem', '-days', '30', '-extfile', 'pass.ext', '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass.pem', '-passout', `pass:${PASSWORD}`, '-out', 'pass.p12');
}

// ---- the REST-hook target: records every POST; /gone/… answers 410, /flaky/… 500 on its first hit ----
const hits = [];
let target;
function startTarget() {
  target = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const hit = { path: req.url, at: Date.now(), headers: req.headers, body: JSON.parse(body || 'null') };
      hits.push(hit);
      const n = hits.filter((h) => h.path === req.url).length;
      const status = req.url.startsWith('/gone/') ? 410 : req.url.startsWith('/flaky/') && n === 1 ? 500 : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) => target.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${target.address().port}`)));
}
const hitsAt = (p) => hits.filter((h) => h.path === p);

let gw, A, B, auth, testKey, targetUrl;
before(async () => {
  makePki();
  targetUrl = await startTarget();
  gw = await startGateway({ config: {
    outbound: { allow_private_targets: true }, // the target is on loopback
    plugins: [
      { name: 'apple-signer', config: { cache_mb: 8 } },
      // nothing listens there: the pushes of pass updates fail and retry, which this suite does not look at
      { name: 'apns', config: { host: '127.0.0.1', port: await freePort(), ca_file: f('wwdr.pem'), timeout_ms: 5000 } },
      { name: 'zapier-bridge', config: { allow_http: true, retry_scale: 0.01 } },
    ],
  } });
  A = gw.account('Solstice Coffee');
  B = gw.account();
  const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: A.key, body: {
    p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: PASSWORD,
    pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
  } });
  assert.equal(r.status, 200, r.text);
  const k = await gw.request('POST', '/api/v1/api_keys', { key: A.key, body: { name: 'zapier', livemode: false } });
  assert.equal(k.status, 201, k.text);
  testKey = k.body.key;
  assert.match(testKey, /^sk_test_/);
  auth = { base_url: gw.url, api_key: testKey };
});
after(async () => {
  if (gw) await gw.stop();
  if (target) target.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (fn, bundle = {}) => appTester(fn, { authData: auth, inputData: {}, ...bundle });
/** "key:type" of every key, in order: what a Zap built on one object needs of the next. */
const shape = (o) => Object.entries(o).map(([k, v]) => `${k}:${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}`);
const HOOK_TRIGGERS = Object.values(App.triggers).filter((t) => t.operation.type === 'hook');
/** The subscriptions of A's live account and of its test workspace. */
const hooksOfA = () => gw.sql(`SELECT count(*) FROM zapier_bridge_hooks WHERE account_id IN
  (SELECT id FROM accounts WHERE id = '${A.account}' OR live_account_id = '${A.account}')`);

test('the app passes Zapier\'s schema validation and the rules its reviewers apply', async () => {
  const handler = zapier.createAppHandler(App);
  const validated = await handler({ command: 'validate' });
  assert.deepEqual(validated.results, [], 'zapier-platform-schema finds nothing');
  const def = (await handler({ command: 'definition' })).results;
  assert.equal(def.platformVersion, zapier.version);
  assert.deepEqual(HOOK_TRIGGERS.map((t) => t.key).sort(),
    ['batch_completed', 'pass_created', 'pass_installed', 'pass_removed', 'pass_updated', 'pass_voided']);
  for (const t of Object.values(def.triggers)) {
    assert.ok(t.operation.sample, `${t.key}: a sample`);
    assert.deepEqual(Object.keys(t.operation.sample), t.operation.outputFields.map((o) => o.key), `${t.key}: outputFields are the sample's keys`);
    assert.ok(!shape(t.operation.sample).some((s) => /:(null|array|object)$/.test(s)), `${t.key}: flat sample`);
    if (t.operation.type === 'hook') {
      for (const m of ['performSubscribe', 'performUnsubscribe', 'perform', 'performList'])
        assert.ok(t.operation[m], `${t.key}: ${m}`);
    }
  }
  for (const s of Object.values(def.searches)) assert.ok(s.operation.sample && s.operation.outputFields, s.key);
  for (const c of Object.values(def.creates)) assert.ok(c.operation.sample && c.operation.outputFields, c.key);
  assert.equal(def.searchOrCreates.find_pass.search, 'find_pass');
  assert.equal(def.searchOrCreates.find_pass.create, 'create_pass');
  assert.equal(def.authentication.type, 'custom');
  assert.ok(def.authentication.connectionLabel);
});

test('connection: the test answers the account, its mode and its label; a bad key is refused with a message', async () => {
  const me = await run(App.authentication.test);
  assert.equal(me.account_id, A.account);
  assert.equal(me.name, 'Solstice Coffee');
  assert.equal(me.mode, 'test');
  assert.equal(me.livemode, false);
  assert.match(me.label, /^Solstice Coffee \(.+@example\.com\) \[test\]$/);
  const live = await run(App.authentication.test, { authData: { ...auth, api_key: A.key } });
  assert.equal(live.mode, 'live');
  assert.equal(live.livemode, true);
  assert.match(live.label, /^Solstice Coffee \(.+@example\.com\)$/);
  await assert.rejects(appTester(App.authentication.test, { authData: { ...auth, api_key: 'sk_live_' + 'x'.repeat(43) } }),
    /The API key was refused/);
  const raw = await gw.request('GET', '/api/v1/zapier/me');
  assert.equal(raw.status, 401);
});

test('every trigger: sample data [] before any event, subscribe, deliveries flat with the sample\'s keys and types, performList alike, unsubscribe', async () => {
  // no events yet: performList is an empty list, never a 404
  for (const t of HOOK_TRIGGERS) assert.deepEqual(await run(t.operation.performList), [], t.key);
  const subs = {};
  for (const t of HOOK_TRIGGERS) {
    subs[t.key] = await run(t.operation.performSubscribe, { targetUrl: `${targetUrl}/hook/${t.key}` });
    assert.match(subs[t.key].id, /^zh_[0-9a-z]{26}$/, t.key);
  }
  // several subscriptions to one event are kept apart (two Zaps on "Pass Created")
  const second = await run(App.triggers.pass_created.operation.performSubscribe, { targetUrl: `${targetUrl}/hook/second` });
  assert.notEqual(second.id, subs.pass_created.id);

  // a template with fields: the dropdown and the dynamic inputs
  const tpl = await gw.request('POST', '/api/v1/templates', { key: testKey, body: { name: 'Beans', body: {
    pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans',
    primary_fields: [{ key: 'points', label: 'Points', value: '0', change_message: 'You have %@ points' }],
    secondary_fields: [{ key: 'tier', label: 'Tier', value: 'Green' }],
  } } });
  assert.equal(tpl.status, 201, tpl.text);
  const list = await run(App.triggers.template_list.operation.perform);
  assert.deepEqual(list.find((x) => x.id === tpl.body.id), { id: tpl.body.id, name: 'Beans', pass_type: 'loyalty' });
  const dyn = await run(App.creates.create_pass.operation.inputFields[1], { inputData: { template_id: tpl.body.id } });
  assert.deepEqual(dyn.map((x) => [x.key, x.label]), [['field_points', 'Points'], ['field_tier', 'Tier']]);

  // create (template + field inputs), search, update, notify: each answers the flat pass
  const created = await run(App.creates.create_pass.operation.perform, { inputData: {
    template_id: tpl.body.id, serial_number: 'ZAP-1', barcode_message: 'ZAP-BC-1', account_name: 'Ada L.', field_points: '120',
  } });
  assert.match(created.id, /^pass_/);
  assert.equal(created.pass_id, created.id);
  assert.equal(created.livemode, false, 'made with the test key: a test pass');
  assert.deepEqual(JSON.parse(created.fields_json), { points: '120', tier: 'Green' });
  assert.deepEqual(shape(created), shape(App.creates.create_pass.operation.sample));
  const bySerial = await run(App.searches.find_pass.operation.perform, { inputData: { serial_number: 'ZAP-1' } });
  assert.deepEqual(bySerial.map((p) => p.id), [created.id]);
  const byBarcode = await run(App.searches.find_pass.operation.perform, { inputData: { barcode_message: 'ZAP-BC-1' } });
  assert.deepEqual(byBarcode.map((p) => p.id), [created.id]);
  assert.deepEqual(await run(App.searches.find_pass.operation.perform, { inputData: { serial_number: 'NOPE-1' } }), [],
    'a miss is an empty list');
  const updated = await run(App.creates.update_pass.operation.perform, { inputData: {
    pass_id: created.id, template_id: tpl.body.id, field_points: '130', logo_text: 'Solstice',
  } });
  assert.equal(updated.version, 2);
  assert.equal(updated.logo_text, 'Solstice');
  assert.deepEqual(JSON.parse(updated.fields_json), { points: '130', tier: 'Green' });
  const note = await run(App.creates.notify_pass.operation.perform, { inputData: { pass_id: created.id, message: 'Double points!' } });
  assert.equal(note.status, 'queued');
  assert.equal(note.pass_id, created.id);
  assert.deepEqual(shape(note), shape(App.creates.notify_pass.operation.sample));

  // a phone adds the pass to its wallet, then removes it (apns: pass.installed, pass.removed)
  const pk = await fetch(created.pkpass_url);
  assert.equal(pk.status, 200);
  const pkDir = fs.mkdtempSync(path.join(dir, 'pk-'));
  fs.writeFileSync(path.join(pkDir, 'p.pkpass'), Buffer.from(await pk.arrayBuffer()));
  const pj = JSON.parse(execFileSync('unzip', ['-p', path.join(pkDir, 'p.pkpass'), 'pass.json'], { encoding: 'utf8' }));
  const device = 'devzapier0a1b2c3d4e5f60718293a4b5';
  const reg = `${pj.webServiceURL}/v1/devices/${device}/registrations/${pj.passTypeIdentifier}/${pj.serialNumber}`;
  const hdr = { authorization: `ApplePass ${pj.authenticationToken}`, 'content-type': 'application/json' };
  assert.equal((await fetch(reg, { method: 'POST', headers: hdr, body: JSON.stringify({ pushToken: 'ab'.repeat(32) }) })).status, 201);
  assert.equal((await fetch(reg, { method: 'DELETE', headers: hdr })).status, 200);

  // void, and a batch of one
  const voided = await run(App.creates.void_pass.operation.perform, { inputData: { pass_id: created.id } });
  assert.equal(voided.status, 'voided');
  assert.deepEqual(shape(voided), shape(App.creates.void_pass.operation.sample));
  const batch = await gw.request('POST', '/api/v1/passes/batch', { key: testKey, body: { template_id: tpl.body.id, passes: [{ serial_number: 'ZAP-B1' }] } });
  assert.equal(batch.status, 202, batch.text);

  // every trigger's target gets its event, flat, with exactly the keys and types of the app's sample
  const want = { pass_created: 2, pass_updated: 1, pass_voided: 1, pass_installed: 1, pass_removed: 1, batch_completed: 1 };
  for (const t of HOOK_TRIGGERS) {
    await waitFor(() => hitsAt(`/hook/${t.key}`).length >= want[t.key], { what: `${t.key} delivered`, timeout: 120000 });
    const got = hitsAt(`/hook/${t.key}`);
    for (const h of got) {
      assert.deepEqual(shape(h.body), shape(t.operation.sample), `${t.key}: the delivery has the sample's keys and types`);
      assert.match(h.body.id, /^evt_/, 'id is the event id');
      assert.match(h.headers['content-type'], /^application\/json/);
    }
    // perform hands the delivery on as it came
    assert.deepEqual(await run(t.operation.perform, { cleanedRequest: got[0].body }), [got[0].body]);
    // performList: the same events as sample data, newest first, the same shape
    const sample = await run(t.operation.performList);
    assert.equal(sample.length, want[t.key], t.key);
    for (const s of sample) assert.deepEqual(shape(s), shape(t.operation.sample), `${t.key}: performList's shape`);
    assert.deepEqual(new Set(sample.map((s) => s.id)), new Set(got.map((h) => h.body.id)));
  }
  assert.equal(hitsAt('/hook/second').length, 2, 'the second subscription to pass.created got both events too');
  assert.equal(hitsAt('/hook/pass_created')[0].body.serial_number, 'ZAP-1');
  assert.equal(hitsAt('/hook/pass_updated')[0].body.changed.split(',').sort().join(','), 'logo_text,primary_fields');
  assert.equal(hitsAt('/hook/pass_installed')[0].body.device_library_identifier, device);
  assert.equal(hitsAt('/hook/batch_completed')[0].body.succeeded, 1);

  // unsubscribe: gone, and again (Zapier retries) still fine
  for (const t of HOOK_TRIGGERS) {
    const r = await run(t.operation.performUnsubscribe, { subscribeData: subs[t.key] });
    assert.equal(r.deleted, true);
    assert.equal((await run(t.operation.performUnsubscribe, { subscribeData: subs[t.key] })).deleted, true);
  }
  await run(App.triggers.pass_created.operation.performUnsubscribe, { subscribeData: second });
  assert.equal(hooksOfA(), '0');
});

test('test and live keys keep their Zaps apart: a live subscription gets live events only', async () => {
  const liveAuth = { ...auth, api_key: A.key };
  const live = await appTester(App.triggers.pass_created.operation.performSubscribe,
    { authData: liveAuth, inputData: {}, targetUrl: `${targetUrl}/live/1` });
  const test_ = await run(App.triggers.pass_created.operation.performSubscribe, { targetUrl: `${targetUrl}/test/1` });
  await run(App.creates.create_pass.operation.perform, { inputData: { pass_type: 'generic', organization_name: 'Test' } });
  const made = await appTester(App.creates.create_pass.operation.perform,
    { authData: liveAuth, inputData: { pass_type: 'generic', organization_name: 'Live' } });
  assert.equal(made.livemode, true);
  await waitFor(() => hitsAt('/live/1').length >= 1 && hitsAt('/test/1').length >= 1, { what: 'both delivered', timeout: 120000 });
  // the live sample list is the live account's events; the test key's its workspace's
  const liveList = await appTester(App.triggers.pass_created.operation.performList, { authData: liveAuth, inputData: {} });
  assert.deepEqual(liveList.map((e) => e.pass_id), [made.id]);
  await run(App.creates.create_pass.operation.perform, { inputData: { pass_type: 'generic', organization_name: 'Test 2' } });
  await waitFor(() => hitsAt('/test/1').length >= 2, { what: 'the second test event delivered', timeout: 120000 });
  assert.deepEqual(hitsAt('/live/1').map((h) => [h.body.organization_name, h.body.livemode]), [['Live', true]]);
  assert.deepEqual(hitsAt('/test/1').map((h) => [h.body.organization_name, h.body.livemode]), [['Test', false], ['Test 2', false]]);
  await appTester(App.triggers.pass_created.operation.performUnsubscribe, { authData: liveAuth, inputData: {}, subscribeData: live });
  await run(App.triggers.pass_created.operation.performUnsubscribe, { subscribeData: test_ });
});

test('a 410 from the target removes the subscription; another failure is retried on the schedule', async () => {
  const pass = await run(App.creates.create_pass.operation.perform, { inputData: { pass_type: 'generic', organization_name: 'Solstice' } });
  const gone = await run(App.triggers.pass_updated.operation.performSubscribe, { targetUrl: `${targetUrl}/gone/1` });
  const flaky = await run(App.triggers.pass_updated.operation.performSubscribe, { targetUrl: `${targetUrl}/flaky/1` });
  await run(App.creates.update_pass.operation.perform, { inputData: { pass_id: pass.id, description: 'one' } });
  await waitFor(async () => (await gw.sqlAsync(`SELECT count(*) FROM zapier_bridge_hooks WHERE id = '${gone.id}'`)) === '0',
    { what: 'the subscription answered 410 removed', timeout: 120000 });
  assert.equal(hitsAt('/gone/1').length, 1);
  // the flaky target: a 500, then the next attempt of the schedule (5 s x retry_scale 0.01) succeeds
  await waitFor(() => hitsAt('/flaky/1').length >= 2, { what: 'the failed delivery retried', timeout: 120000 });
  const [a1, a2] = hitsAt('/flaky/1');
  assert.deepEqual(a2.body, a1.body, 'the same event, again');
  await waitFor(async () => (await gw.sqlAsync(`SELECT status || ' ' || attempts || ' ' || last_status_code FROM zapier_bridge_deliveries WHERE hook_id = '${flaky.id}'`)) === 'succeeded 2 200',
    { what: 'the delivery recorded as succeeded on attempt 2' });
  // the removed subscription gets nothing more: the next event reaches the other one only
  await run(App.creates.update_pass.operation.perform, { inputData: { pass_id: pass.id, description: 'two' } });
  await waitFor(() => hitsAt('/flaky/1').length >= 3, { what: 'the next event delivered', timeout: 120000 });
  assert.equal(hitsAt('/gone/1').length, 1);
  await run(App.triggers.pass_updated.operation.performUnsubscribe, { subscribeData: flaky });
});

test('errors Zapier shows well: the message names the field; a miss and a foreign pass are 404; isolation', async () => {
  await assert.rejects(run(App.creates.create_pass.operation.perform, { inputData: { pass_type: 'generic' } }),
    /organization_name/);
  await assert.rejects(run(App.creates.create_pass.operation.perform, { inputData: { pass_type: 'generic', organization_name: 'X', field_nope: '1' } }),
    /field_nope/);
  await assert.rejects(run(App.creates.void_pass.operation.perform, { inputData: { pass_id: 'pass_00000000000000000000000000' } }),
    /no pass|not found|pass_0/i);
  // the plugin's own checks, straight over HTTP
  const post = (body, key = testKey) => gw.request('POST', '/api/v1/zapier/hooks', { key, body });
  let r = await post({ target_url: `${targetUrl}/x`, event: 'pass.exploded' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'event');
  r = await post({ target_url: 'ftp://example.com/x', event: 'pass.created' });
  assert.equal(r.body.error.param, 'target_url');
  r = await post({ target_url: 'http://169.254.169.254/latest', event: 'pass.created' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'url_refused');
  r = await post({ target_url: `${targetUrl}/x`, event: 'pass.created', extra: 1 });
  assert.equal(r.body.error.param, 'extra');
  r = await gw.request('GET', '/api/v1/zapier/events?type=nope', { key: testKey });
  assert.equal(r.body.error.param, 'type');
  r = await gw.request('GET', '/api/v1/zapier/passes/find', { key: testKey });
  assert.equal(r.body.error.param, 'serial_number');
  // another account cannot remove A's subscription (its DELETE is a no-op), nor see A's passes
  const mine = (await post({ target_url: `${targetUrl}/x`, event: 'pass.created' })).body;
  r = await gw.request('DELETE', `/api/v1/zapier/hooks/${mine.id}`, { key: B.key });
  assert.equal(r.status, 200);
  assert.equal(gw.sql(`SELECT count(*) FROM zapier_bridge_hooks WHERE id = '${mine.id}'`), '1');
  r = await gw.request('GET', '/api/v1/zapier/passes/find?serial_number=ZAP-1', { key: B.key });
  assert.deepEqual(r.body, []);
  // and the live key does not see the test key's pass either
  r = await gw.request('GET', '/api/v1/zapier/passes/find?serial_number=ZAP-1', { key: A.key });
  assert.deepEqual(r.body, []);
  r = await gw.request('DELETE', `/api/v1/zapier/hooks/${mine.id}`, { key: A.key });
  assert.equal(gw.sql(`SELECT count(*) FROM zapier_bridge_hooks WHERE id = '${mine.id}'`), '1', 'nor can the live key');
  r = await gw.request('DELETE', `/api/v1/zapier/hooks/${mine.id}`, { key: testKey });
  assert.equal(gw.sql(`SELECT count(*) FROM zapier_bridge_hooks WHERE id = '${mine.id}'`), '0');
});

test('a 429 reaches Zapier as a throttle with the gateway\'s Retry-After', async () => {
  const g = await startGateway({ config: {
    rate_limit: { requests_per_second: 0.001, burst: 2 },
    plugins: [{ name: 'zapier-bridge' }],
  } });
  try {
    const k = g.account();
    const bundle = { authData: { base_url: g.url, api_key: k.key }, inputData: {} };
    await appTester(App.authentication.test, bundle);
    await appTester(App.searches.find_pass.operation.perform, { ...bundle, inputData: { serial_number: 'X' } });
    const r = await g.request('GET', '/api/v1/zapier/me', { key: k.key });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    await assert.rejects(appTester(App.authentication.test, bundle), (e) => {
      assert.equal(e.name, 'ThrottledError');
      assert.ok(JSON.parse(e.message).delay >= 1, e.message);
      return true;
    });
  } finally {
    await g.stop();
  }
});
