// Test mode: sk_test_ keys act on the account's test workspace.
// - Keys made before test mode (the CLI's) are live; a live key makes test keys, a test key
//   only test keys, and sees only test keys.
// - A test key sees only test objects and a live key only live ones: 404 across, lists apart.
// - Test passes are not metered, are signed with the live account's Apple credentials and carry a
//   visible TEST marker; no APNs push and no Google REST call is made for them (the save link is
//   built whole and marked); webhooks fire for test objects to test endpoints only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor, assertError, BIN } from './lib/harness.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';
import { createStandIn } from './lib/apns_standin.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';

let jose;
try { jose = await import('jose'); } catch { jose = null; }
const { startGoogleStandin } = jose ? await import('./lib/google-standin.mjs') : {};

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN || '.'), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-testmode-'));
const PTID = 'pass.com.example.testmode';
const ISSUER = '3388000000022199077';
const EMAIL = 'testmode@walletpass-test.iam.gserviceaccount.com';
const GKEY = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const BASE = { pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans', logo_text: 'Solstice',
  primary_fields: [{ key: 'points', label: 'Points', value: '100', change_message: 'You have %@ points' }] };

let gw, pki, apns, google, hooks, A, testKey;
const pushes = [];

before(async () => {
  pki = makePki(dir, { pass: PTID });
  apns = createStandIn({ key: fs.readFileSync(pki.file('tls.key')), cert: fs.readFileSync(pki.file('tls.pem')),
    ca: fs.readFileSync(pki.file('wwdr.pem')) });
  apns.h2.on('stream', (stream, headers) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      pushes.push({ token: decodeURIComponent(String(headers[':path']).replace('/3/device/', '')) });
      stream.respond({ ':status': 200, 'apns-id': `id-${pushes.length}` });
      stream.end();
    });
  });
  const apnsPort = await new Promise((resolve) => apns.listen(0, '127.0.0.1', () => resolve(apns.address().port)));
  hooks = await startWebhookReceiver();
  const plugins = [
    { name: 'apple-signer' },
    { name: 'apns', config: { host: '127.0.0.1', port: apnsPort, ca_file: pki.file('wwdr.pem'), timeout_ms: 60000 } },
    { name: 'webhooks', config: { allow_http: true } },
  ];
  if (jose) {
    google = await startGoogleStandin({ issuerId: ISSUER, clientEmail: EMAIL, publicKey: GKEY.publicKey });
    // every live link goes over REST (a short max_jwt_length): a test link must not
    plugins.push({ name: 'google-jwt', config: { api_base_url: google.apiBase, token_url: google.tokenUrl, max_jwt_length: 200 } });
  }
  gw = await startGateway({ plan: 'tiny', config: {
    plugin_dir: PLUGIN_DIR,
    plugins,
    outbound: { allow_private_targets: true },
    rate_limit: { requests_per_second: 0 },
    jobs: { workers: 2, poll_ms: 200 },
    plans: { trial: { operations_per_month: 1000 }, tiny: { operations_per_month: 4 } },
    metering: { default_plan: 'tiny', trial_days: 0 },
    accounts: { sweep_interval_seconds: 1 },
    test_mode: { retention_days: 7 },
  } });
  A = gw.account();
  let r = await gw.request('PUT', '/api/v1/credentials/apple', { key: A.key, body: {
    p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
    wwdr_pem: pki.wwdrPem } });
  assert.equal(r.status, 200, r.text);
  if (jose) {
    r = await gw.request('PUT', '/api/v1/credentials/google', { key: A.key, body: { issuer_id: ISSUER, service_account_json: {
      type: 'service_account', project_id: 'p', private_key_id: 'k1', client_email: EMAIL,
      private_key: GKEY.privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: 'https://oauth2.googleapis.com/token' } } });
    assert.equal(r.status, 200, r.text);
  }
  r = await gw.request('POST', '/api/v1/api_keys', { key: A.key, body: { name: 'sandbox', livemode: false } });
  assert.equal(r.status, 201, r.text);
  testKey = r.body.key;
});
after(async () => {
  if (gw) await gw.stop();
  if (apns) apns.close();
  if (google) await google.close();
  if (hooks) await hooks.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const create = (key, body = BASE) => gw.request('POST', '/api/v1/passes', { key, body });

function passJson(buf) {
  const d = fs.mkdtempSync(path.join(dir, 'pk-'));
  fs.writeFileSync(path.join(d, 'p.pkpass'), buf);
  return JSON.parse(execFileSync('unzip', ['-p', path.join(d, 'p.pkpass'), 'pass.json'], { encoding: 'utf8' }));
}

test('keys: the CLI key is live, a live key makes sk_test_ keys, a test key only test keys and sees only them', async () => {
  assert.match(A.key, /^sk_live_[A-Za-z0-9_-]{43}$/);
  assert.match(testKey, /^sk_test_[A-Za-z0-9_-]{43}$/);
  let r = await gw.request('GET', '/api/v1/account', { key: testKey });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, A.account, 'a test key belongs to its account');
  assert.equal(r.body.livemode, false);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: A.key })).body.livemode, true);
  assertError(await gw.request('POST', '/api/v1/api_keys', { key: testKey, body: { livemode: true } }), 403, { param: 'livemode' });
  assertError(await gw.request('POST', '/api/v1/api_keys', { key: A.key, body: { livemode: 'no' } }), 400, { param: 'livemode' });
  r = await gw.request('POST', '/api/v1/api_keys', { key: testKey, body: { name: 'second test' } });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.key, /^sk_test_/);
  assert.equal(r.body.livemode, false);
  const live = (await gw.request('GET', '/api/v1/api_keys', { key: A.key })).body.data;
  const test = (await gw.request('GET', '/api/v1/api_keys', { key: testKey })).body.data;
  assert.ok(live.length >= 1 && live.every((k) => k.livemode), 'a live key sees live keys only');
  assert.ok(test.length >= 2 && test.every((k) => !k.livemode), 'a test key sees test keys only');
  assertError(await gw.request('DELETE', `/api/v1/api_keys/${test[0].id}`, { key: A.key }), 404);
  const liveKeyId = live.find((k) => k.livemode).id;
  assertError(await gw.request('DELETE', `/api/v1/api_keys/${liveKeyId}`, { key: testKey }), 404);
  assertError(await gw.request('POST', `/api/v1/api_keys/${liveKeyId}/rotate`, { key: testKey }), 404);
  // a live key's text with the test prefix (or the reverse) is no key at all
  assertError(await gw.request('GET', '/api/v1/account', { key: A.key.replace('sk_live_', 'sk_test_') }), 401);
  assertError(await gw.request('GET', '/api/v1/account', { key: testKey.replace('sk_test_', 'sk_live_') }), 401);
});

test('test and live objects never meet: 404 across, lists apart, test passes not metered', async () => {
  const lp = await create(A.key);
  assert.equal(lp.status, 201, lp.text);
  assert.equal(lp.body.livemode, true);
  // the plan allows 4 operations a month: 5 test passes pass it and count nothing
  const tps = [];
  for (let i = 0; i < 5; i++) {
    const r = await create(testKey);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.livemode, false);
    tps.push(r.body);
  }
  assert.equal((await gw.request('GET', '/api/v1/account', { key: A.key })).body.usage.operations, 1);
  for (const m of ['GET', 'PUT', 'DELETE']) {
    const body = m === 'PUT' ? { logo_text: 'x' } : undefined;
    assertError(await gw.request(m, `/api/v1/passes/${tps[0].id}`, { key: A.key, body }), 404);
    assertError(await gw.request(m, `/api/v1/passes/${lp.body.id}`, { key: testKey, body }), 404);
  }
  const liveList = (await gw.request('GET', '/api/v1/passes?limit=100', { key: A.key })).body.data.map((p) => p.id);
  const testList = (await gw.request('GET', '/api/v1/passes?limit=100', { key: testKey })).body.data.map((p) => p.id);
  assert.deepEqual(liveList, [lp.body.id]);
  assert.deepEqual(testList.sort(), tps.map((p) => p.id).sort());
  // templates too
  const tt = await gw.request('POST', '/api/v1/templates', { key: testKey, body: { name: 'T', body: BASE } });
  assert.equal(tt.status, 201, tt.text);
  assertError(await gw.request('GET', `/api/v1/templates/${tt.body.id}`, { key: A.key }), 404);
  assert.equal((await gw.request('GET', '/api/v1/templates', { key: A.key })).body.data.length, 0);
});

test('Apple: a test pass is signed, downloadable and marked TEST; an update pushes nothing', async () => {
  const tp = (await create(testKey, { ...BASE, serial_number: 'TEST-APPLE-1' })).body;
  assert.ok(tp.pkpass_url, 'a test pass signs with the live credentials');
  let r = await fetch(tp.pkpass_url);
  assert.equal(r.status, 200);
  const pj = passJson(Buffer.from(await r.arrayBuffer()));
  assert.match(pj.logoText, /^TEST/);
  assert.ok(pj.storeCard.backFields.some((f) => f.label === 'TEST'), JSON.stringify(pj.storeCard));
  // the live pass is not marked
  const lp = (await gw.request('GET', '/api/v1/passes?limit=1', { key: A.key })).body.data[0];
  const lpj = passJson(Buffer.from(await (await fetch(lp.pkpass_url)).arrayBuffer()));
  assert.equal(lpj.logoText, 'Solstice');
  assert.ok(!(lpj.storeCard.backFields || []).some((f) => f.label === 'TEST'));

  // one device holds both passes
  const token = 'ab'.repeat(32);
  const register = (p) => fetch(`${p.webServiceURL}/v1/devices/dev0123456789abcdef0123456789abcd/registrations/${p.passTypeIdentifier}/${p.serialNumber}`,
    { method: 'POST', headers: { authorization: `ApplePass ${p.authenticationToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pushToken: token }) });
  assert.equal((await register(pj)).status, 201);
  assert.equal((await register(lpj)).status, 201);
  r = await gw.request('PUT', `/api/v1/passes/${tp.id}`, { key: testKey, body: { logo_text: 'Changed' } });
  assert.equal(r.status, 200, r.text);
  const ws = gw.sql(`SELECT id FROM accounts WHERE live_account_id = '${A.account}'`);
  // the test pass's pass.updated has been handled by every subscriber: and no push went out
  await waitFor(() => gw.sql(`SELECT count(*) FROM events WHERE account_id = '${ws}' AND type = 'pass.updated'`) === '1' &&
    gw.sql(`SELECT count(*) FROM jobs WHERE account_id = '${ws}' AND status IN ('queued', 'running')`) === '0',
  { what: "the test pass's event handled", timeout: 30000 });
  assert.equal(gw.sql(`SELECT count(*) FROM apns_passes WHERE account_id = '${ws}'`), '1', 'the tag moved: devices can fetch it');
  assert.equal(pushes.length, 0, 'no push for a test pass');
  // the control: the live pass's update pushes
  r = await gw.request('PUT', `/api/v1/passes/${lp.id}`, { key: A.key, body: { logo_text: 'Live change' } });
  assert.equal(r.status, 200, r.text);
  await waitFor(() => pushes.length === 1, { what: 'the live push', timeout: 30000 });
});

test('Google: a test pass gets a whole, marked save link and no call to Google', { skip: !jose && 'npm package jose is missing' }, async () => {
  const before = google.apiCalls().length;
  const tp = (await create(testKey, { ...BASE, serial_number: 'TEST-GOOGLE-1' })).body;
  assert.ok(tp.google_save_url, tp);
  const jwt = tp.google_save_url.split('/').pop();
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
  const obj = claims.payload.loyaltyObjects[0];
  assert.ok(obj.classId, 'a whole object, not a reference');
  assert.equal(obj.textModulesData[0].header, 'TEST');
  const r = await gw.request('PUT', `/api/v1/passes/${tp.id}`, { key: testKey, body: { logo_text: 'Changed' } });
  assert.equal(r.status, 200, r.text);
  const ws = gw.sql(`SELECT id FROM accounts WHERE live_account_id = '${A.account}'`);
  await waitFor(() => gw.sql(`SELECT count(*) FROM jobs WHERE account_id = '${ws}' AND status IN ('queued', 'running')`) === '0',
    { what: 'the test events handled', timeout: 30000 });
  assert.equal(google.apiCalls().length, before, 'no REST call for a test pass');
  // the control: a live pass goes over REST (max_jwt_length 200)
  const lp = await create(A.key, { ...BASE, serial_number: 'LIVE-GOOGLE-1' });
  assert.equal(lp.status, 201, lp.text);
  assert.ok(google.apiCalls().length > before, 'a live pass reaches Google');
});

test('webhooks: test objects reach endpoints made with a test key only, and live ones live endpoints', async () => {
  const mk = async (key, p) => {
    const r = await gw.request('POST', '/api/v1/webhooks', { key, body: { url: hooks.url(p), event_types: ['pass.created'] } });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  const th = await mk(testKey, '/test');
  const lh = await mk(A.key, '/live');
  assertError(await gw.request('GET', `/api/v1/webhooks/${th.id}`, { key: A.key }), 404);
  assertError(await gw.request('GET', `/api/v1/webhooks/${lh.id}`, { key: testKey }), 404);
  const tp = (await create(testKey, { ...BASE, serial_number: 'TEST-HOOK-1' })).body;
  const lp = await gw.request('POST', '/api/v1/passes', { key: A.key, body: { ...BASE, serial_number: 'LIVE-HOOK-1' } });
  assert.equal(lp.status, 201, lp.text);
  await waitFor(() => hooks.seen.some((s) => s.path === '/test'), { what: 'the test delivery', timeout: 30000 });
  await waitFor(() => hooks.seen.some((s) => s.path === '/live'), { what: 'the live delivery', timeout: 30000 });
  const tests = hooks.seen.filter((s) => s.path === '/test').map((s) => s.event.data.pass.id);
  const lives = hooks.seen.filter((s) => s.path === '/live').map((s) => s.event.data.pass.id);
  // A pass.created of an earlier test's pass may still be on its way when the endpoints appear, and
  // it goes to the endpoint of its own mode: what matters is the mode of every delivered pass.
  assert.ok(tests.includes(tp.id), 'the test pass reached the test endpoint');
  assert.ok(lives.includes(lp.body.id), 'the live pass reached the live endpoint');
  for (const id of tests) {
    assert.equal((await gw.request('GET', `/api/v1/passes/${id}`, { key: testKey })).status, 200, `${id} at /test is a test pass`);
    assertError(await gw.request('GET', `/api/v1/passes/${id}`, { key: A.key }), 404);
  }
  for (const id of lives) {
    assert.equal((await gw.request('GET', `/api/v1/passes/${id}`, { key: A.key })).status, 200, `${id} at /live is a live pass`);
    assertError(await gw.request('GET', `/api/v1/passes/${id}`, { key: testKey }), 404);
  }
});

test('test passes are deleted after test_mode.retention_days; live passes stay', async () => {
  const tp = (await create(testKey, { ...BASE, serial_number: 'TEST-OLD-1' })).body;
  const young = (await create(testKey, { ...BASE, serial_number: 'TEST-YOUNG-1' })).body;
  const lp = (await gw.request('GET', '/api/v1/passes?limit=1', { key: A.key })).body.data[0];
  // an update leaves a row of the apns plugin's behind (its tag)
  assert.equal((await gw.request('PUT', `/api/v1/passes/${tp.id}`, { key: testKey, body: { logo_text: 'Old' } })).status, 200);
  await waitFor(() => gw.sql(`SELECT count(*) FROM apns_passes WHERE pass_id = '${tp.id}'`) === '1', { what: 'the tag row' });
  gw.sql(`UPDATE passes SET created_at = now() - interval '8 days' WHERE id IN ('${tp.id}', '${lp.id}')`);
  await waitFor(() => gw.sql(`SELECT count(*) FROM passes WHERE id = '${tp.id}'`) === '0', { what: 'the sweep', timeout: 30000 });
  assert.equal(gw.sql(`SELECT count(*) FROM pass_secrets WHERE pass_id = '${tp.id}'`), '0');
  assert.equal(gw.sql(`SELECT count(*) FROM apns_passes WHERE pass_id = '${tp.id}'`), '0', "a plugin's rows of the pass go too");
  assert.equal((await gw.request('GET', `/api/v1/passes/${young.id}`, { key: testKey })).status, 200);
  assert.equal((await gw.request('GET', `/api/v1/passes/${lp.id}`, { key: A.key })).status, 200, 'a live pass is never swept');
});
