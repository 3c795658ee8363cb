// docs/postman_collection.json: up to date with docs/openapi.yaml (scripts/postman-collection.mjs makes
// it), shaped as documented, and its read-only requests (every GET) pass when Postman's runner
// (newman, pinned in tests/package.json) runs them against a real gateway with every in-tree plugin:
// each must answer a status its operation documents as a success. The gateway is filled first with
// one object of each kind (test credentials from scripts/make-test-credentials, a template, a pass
// with a logo, a batch, a webhook endpoint, a Bubble destination, a dashboard session) and the collection
// variables point at them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import YAML from 'yaml';
import { startGateway, SOURCE_DIR } from './lib/harness.mjs';
import { render } from '../../scripts/postman-collection.mjs';

const COLLECTION = path.join(SOURCE_DIR, 'docs', 'postman_collection.json');
const NEWMAN = path.join(SOURCE_DIR, 'tests', 'node_modules', '.bin', 'newman');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-postman-'));
const PTID = 'pass.test.walletpass.postman';
// A 1x1 PNG.
const LOGO = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let gw, a, receiver;
const vars = {};

before(async () => {
  receiver = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  execFileSync(path.join(SOURCE_DIR, 'scripts', 'make-test-credentials'), [dir],
    { env: { ...process.env, WP_TEST_PASS_TYPE_ID: PTID }, stdio: ['ignore', 'pipe', 'pipe'] });
  gw = await startGateway({ config: {
    outbound: { allow_private_targets: true },
    rate_limit: { requests_per_second: 0 },
    plugins: [{ name: 'apple-signer' }, { name: 'google-jwt', config: { max_jwt_length: 100000 } }, { name: 'apns' },
      { name: 'geofence' }, { name: 'webhooks', config: { allow_http: true } }, { name: 'zapier-bridge' },
      { name: 'bubble-bridge', config: { allow_http: true } }],
  } });
  a = gw.account();
  const ok = async (method, p, body, status = 200) => {
    const r = await gw.request(method, p, { key: a.key, body });
    assert.equal(r.status, status, `${method} ${p}: ${r.text}`);
    return r.body;
  };
  await ok('PUT', '/api/v1/credentials/apple', JSON.parse(fs.readFileSync(path.join(dir, 'apple-credentials.json'), 'utf8')));
  await ok('PUT', '/api/v1/credentials/google', JSON.parse(fs.readFileSync(path.join(dir, 'google-credentials.json'), 'utf8')));
  const tpl = await ok('POST', '/api/v1/templates', { name: 'Postman', body: { pass_type: 'loyalty', organization_name: 'Solstice' } }, 201);
  const pass = await ok('POST', '/api/v1/passes', { template_id: tpl.id, logo_text: 'Solstice', images: { logo: LOGO } }, 201);
  assert.ok(pass.pkpass_url && pass.google_save_url, 'both links with the test credentials');
  const batch = await ok('POST', '/api/v1/passes/batch', { template_id: tpl.id, passes: [{}, {}] }, 202);
  const wh = await ok('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${receiver.address().port}/hook`, event_types: ['*'] }, 201);
  const sub = await ok('POST', '/api/v1/accounts', { name: 'Postman client', email: 'client@postman.example' }, 201);
  // a dashboard session of the account (the portal routes)
  execFileSync(process.env.WP_BIN, ['user', 'create', '--account', a.account, '--email', 'postman@example.com', '--password-stdin'],
    { env: { ...process.env, ...gw.env }, input: 'a long postman password\n', stdio: ['pipe', 'pipe', 'pipe'] });
  const login = await gw.request('POST', '/portal/api/login', { body: { email: 'postman@example.com', password: 'a long postman password' } });
  assert.equal(login.status, 200, login.text);
  const portalSession = /wp_session=([^;]+)/.exec(login.headers.get('set-cookie'))[1];
  const bubble = await ok('POST', '/api/v1/bubble/destinations', { event_type: 'pass.installed',
    url: `http://127.0.0.1:${receiver.address().port}/version-test/api/1.1/wf/pass_installed` }, 201);
  // the pass's Apple web-service token, from the pass.json of its bundle
  const pk = await fetch(pass.pkpass_url);
  assert.equal(pk.status, 200);
  fs.writeFileSync(path.join(dir, 'p.pkpass'), Buffer.from(await pk.arrayBuffer()));
  const pj = JSON.parse(execFileSync('unzip', ['-p', path.join(dir, 'p.pkpass'), 'pass.json'], { encoding: 'utf8' }));
  // the image capability of the Google rendering (its own purpose: the pkpass token does not open it)
  const claims = JSON.parse(Buffer.from(pass.google_save_url.split('/').pop().split('.')[1], 'base64url').toString());
  const img = JSON.stringify(claims).match(/\/google\/images\/passes\/[^/"]+\/([^/"]+)\/([^/"]+)\/([^/"?]+)/);
  assert.ok(img, 'the save link carries an image URL of the pass');
  Object.assign(vars, {
    baseUrl: gw.url, apiKey: a.key, passId: pass.id, templateId: tpl.id, batchId: batch.id, webhookId: wh.id,
    accountId: sub.id, bubbleDestinationId: bubble.id,
    token: img[1], hash: img[2], file: img[3],
    capability: new URL(pass.share_url).pathname.slice(3),
    device: "unknown-device", ptid: PTID, serial: pj.serialNumber, applePassToken: pj.authenticationToken,
    portalSession, portalCsrf: login.body.csrf_token,
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (receiver) receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('docs/postman_collection.json is what scripts/postman-collection.mjs makes from docs/openapi.yaml', () => {
  const want = render(fs.readFileSync(path.join(SOURCE_DIR, 'docs', 'openapi.yaml'), 'utf8'), YAML);
  assert.ok(fs.readFileSync(COLLECTION, 'utf8') === want,
    'docs/postman_collection.json is stale: run node scripts/postman-collection.mjs (the build does) and commit it');
});

const collection = JSON.parse(fs.readFileSync(COLLECTION, 'utf8'));
const requests = collection.item.flatMap((f) => f.item);

test('the collection authenticates with the apiKey variable and covers every operation', () => {
  assert.deepEqual(collection.auth, { type: 'bearer', bearer: [{ key: 'token', value: '{{apiKey}}', type: 'string' }] });
  const names = collection.variable.map((v) => v.key);
  for (const v of ['baseUrl', 'apiKey', 'passId', 'templateId', 'batchId', 'webhookId']) assert.ok(names.includes(v), v);
  const spec = YAML.parse(fs.readFileSync(path.join(SOURCE_DIR, 'docs', 'openapi.yaml'), 'utf8'));
  const ops = Object.entries(spec.paths).flatMap(([p, item]) => Object.keys(item)
    .filter((m) => ['get', 'put', 'post', 'delete', 'head'].includes(m))
    .map((m) => `${m.toUpperCase()} /${p.split('/').filter(Boolean).map((s) => s.replace(/^\{(.+)\}$/, ':$1')).join('/')}`));
  const have = new Set(requests.map((r) => `${r.request.method} /${r.request.url.path.join('/')}`));
  assert.deepEqual(ops.filter((o) => !have.has(o)), []);
  // public routes carry no key; every named request example is a saved request of its own
  const health = requests.find((r) => r.request.url.raw === '{{baseUrl}}/healthz');
  assert.deepEqual(health.request.auth, { type: 'noauth' });
  assert.ok(requests.filter((r) => r.request.method === 'POST' && r.request.url.raw === '{{baseUrl}}/api/v1/passes').length >= 2);
  const create = requests.find((r) => r.request.method === 'POST' && r.request.url.raw === '{{baseUrl}}/api/v1/passes');
  assert.ok(create.response.some((x) => x.code === 201 && /"object": "pass"/.test(x.body)), 'a saved 201 example');
});

test('newman runs every GET of the collection against the gateway, and each answers a documented success', () => {
  assert.ok(fs.existsSync(NEWMAN), `${NEWMAN} is missing: run scripts/test (npm ci in tests/)`);
  const gets = { ...collection, item: collection.item
    .map((f) => ({ ...f, item: f.item.filter((r) => r.request.method === 'GET') }))
    .filter((f) => f.item.length) };
  const n = gets.item.reduce((k, f) => k + f.item.length, 0);
  assert.ok(n >= 20, `${n} GET requests`);
  const file = path.join(dir, 'gets.json');
  const report = path.join(dir, 'report.json');
  fs.writeFileSync(file, JSON.stringify(gets));
  const args = ['run', file, '--reporters', 'cli,json', '--reporter-json-export', report, '--timeout-request', '30000',
    '--disable-unicode', '--color', 'off'];
  for (const [k, v] of Object.entries(vars)) args.push('--env-var', `${k}=${v}`);
  const r = spawnSync(NEWMAN, args, { encoding: 'utf8', timeout: 300000, env: { ...process.env, NO_UPDATE_NOTIFIER: '1' } });
  assert.ok(fs.existsSync(report), `newman wrote no report (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const run = JSON.parse(fs.readFileSync(report, 'utf8')).run;
  const failures = run.failures.map((f) => `  ${f.source && f.source.name}: ${f.error.test || ''} ${f.error.message}`);
  assert.deepEqual(failures, [], `newman:\n${r.stdout}`);
  assert.equal(run.stats.requests.total, n, 'every GET was sent');
  assert.equal(run.stats.assertions.total, n, 'every GET was checked');
  assert.equal(run.stats.assertions.failed, 0);
  assert.equal(r.status, 0, r.stdout);
});
