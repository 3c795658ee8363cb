// Isolation between sibling sub-accounts and between test and live, over the whole route table
// (`walletpass routes`): every API-key route with an object id, called by the other side with a
// real id of the victim's (and a body the route accepts), answers 404, and changes nothing; every
// list the other side can read leaves the victim's objects out.
//   - siblings: an agency acting as sub-account S2 (WalletPass-Account), and S2's own key, probe S1;
//   - test vs live: an account's test key probes its live objects, its live key its test objects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor } from './lib/harness.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-tiso-'));
const PTID = 'pass.com.example.tiso';
const BASE = { pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans' };
let gw, pki, hooks, routes, agency;

before(async () => {
  pki = makePki(dir, { pass: PTID });
  hooks = await startWebhookReceiver();
  gw = await startGateway({ config: {
    rate_limit: { requests_per_second: 0 },
    outbound: { allow_private_targets: true },
    jobs: { workers: 2, poll_ms: 200 },
    plugins: [
      { name: 'apple-signer' },
      { name: 'apns', config: { host: '127.0.0.1', port: 1 } },
      { name: 'google-jwt' },
      { name: 'webhooks', config: { allow_http: true } },
    ],
  } });
  agency = gw.account('Agency');
  routes = gw.cli(['routes']).split('\n').map((l) => {
    const [method, pattern, auth, owner] = l.split(' ');
    return { method, pattern, auth, owner };
  }).filter((rt) => rt.auth === 'api_key');
});
after(async () => {
  if (gw) await gw.stop();
  if (hooks) await hooks.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A caller: a key, and the WalletPass-Account header when acting on a sub-account. */
const caller = (key, acting) => ({ key, headers: acting ? { 'WalletPass-Account': acting } : {} });
const call = (who, method, p, body) => gw.request(method, p, { key: who.key, headers: who.headers, body });

/** One object of every kind, made by `who`; returns their ids. */
async function populate(who, subOf) {
  const ok = (r, what) => { assert.ok([200, 201, 202].includes(r.status), `${what}: ${r.status} ${r.text}`); return r.body; };
  ok(await call(who, 'PUT', '/api/v1/credentials/apple', { p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD,
    pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: pki.wwdrPem }), 'apple credentials');
  const pass = ok(await call(who, 'POST', '/api/v1/passes', BASE), 'pass');
  const tpl = ok(await call(who, 'POST', '/api/v1/templates', { name: 'T', body: BASE }), 'template');
  const key = ok(await call(who, 'POST', '/api/v1/api_keys', { name: 'victim key', ...(who.livemode === false ? { livemode: false } : {}) }), 'key');
  const hook = ok(await call(who, 'POST', '/api/v1/webhooks', { url: hooks.url(`/h-${crypto.randomBytes(4).toString('hex')}`), event_types: ['*'] }), 'webhook');
  ok(await call(who, 'POST', `/api/v1/webhooks/${hook.id}/test`, {}), 'webhook test');
  let delivery;
  await waitFor(async () => {
    const d = await call(who, 'GET', `/api/v1/webhooks/${hook.id}/deliveries`);
    delivery = d.body && d.body.data && d.body.data[0];
    return !!delivery;
  }, { what: 'a delivery' });
  const batch = ok(await call(who, 'POST', '/api/v1/passes/batch', { passes: [BASE] }), 'batch');
  const sub = subOf ? ok(await call(subOf, 'POST', '/api/v1/accounts', { name: 'Sub', email: `${crypto.randomBytes(5).toString('hex')}@x.example` }), 'sub-account') : null;
  return { pass, tpl, key, hook, delivery, batch, sub };
}

/** A real id of the victim's for each parameter, and a body the route accepts. */
function target(rt, v) {
  const id = (p) => {
    if (p.startsWith('/api/v1/passes/')) return v.pass.id;
    if (p.startsWith('/api/v1/templates/')) return v.tpl.id;
    if (p.startsWith('/api/v1/api_keys/')) return v.key.id;
    if (p.startsWith('/api/v1/webhooks/')) return v.hook.id;
    if (p.startsWith('/api/v1/batches/')) return v.batch.id;
    if (p.startsWith('/api/v1/accounts/')) return v.sub ? v.sub.id : 'acct_none';
    throw new Error(`no victim id for ${p}`);
  };
  const p = rt.pattern.replace(/:([a-z_]+)/g, (_, n) => (n === 'delivery_id' ? v.delivery.id : id(rt.pattern)));
  const bodies = {
    'PUT /api/v1/passes/:id': { logo_text: 'probe' },
    'POST /api/v1/passes/:id/notify': { message: 'probe' },
    'PUT /api/v1/templates/:id': { name: 'probe' },
    'PUT /api/v1/webhooks/:id': { description: 'probe' },
    'PUT /api/v1/accounts/:id': { name: 'probe' },
    'PUT /api/v1/accounts/:id/allocation': { operations_per_month: 1 },
  };
  const key = `${rt.method} ${rt.pattern}`;
  return { p, body: bodies[key] || (rt.method === 'POST' || rt.method === 'PUT' ? {} : undefined) };
}

async function probeAll(prober, victim, what) {
  const withIds = routes.filter((rt) => rt.pattern.includes('/:'));
  assert.ok(withIds.length >= 20, `${withIds.length} routes`);
  for (const rt of withIds) {
    const { p, body } = target(rt, victim);
    const r = await call(prober, rt.method, p, body);
    assert.equal(r.status, 404, `${what}: ${rt.method} ${p} answered ${r.status} ${r.text}`);
  }
  // lists leave the victim's objects out
  const ids = new Set([victim.pass.id, victim.tpl.id, victim.key.id, victim.hook.id, victim.sub && victim.sub.id].filter(Boolean));
  // (the access logs hold the prober's own requests, with the ids it tried: not a leak)
  for (const rt of routes.filter((x) => x.method === 'GET' && !x.pattern.includes('/:') && !x.pattern.endsWith('/logs'))) {
    const r = await call(prober, 'GET', rt.pattern);
    assert.ok(r.status === 200 || (r.status === 404 && rt.pattern.startsWith('/api/v1/credentials/')),
      `${what}: GET ${rt.pattern} ${r.status} ${r.text}`);
    for (const id of ids) assert.ok(!r.text.includes(id), `${what}: GET ${rt.pattern} shows ${id}`);
  }
}

async function unchanged(owner, v) {
  let r = await call(owner, 'GET', `/api/v1/passes/${v.pass.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.version, v.pass.version);
  assert.equal(r.body.status, 'active');
  r = await call(owner, 'GET', `/api/v1/templates/${v.tpl.id}`);
  assert.equal(r.body.version, v.tpl.version);
  r = await call(owner, 'GET', `/api/v1/webhooks/${v.hook.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.description, v.hook.description);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: v.key.key })).status, 200, 'the key still works');
  assert.equal((await call(owner, 'GET', '/api/v1/apple/logs')).status, 200);
  if (v.sub) {
    r = await call(owner, 'GET', `/api/v1/accounts/${v.sub.id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, 'Sub');
  }
}

test('sibling sub-accounts: every id route is 404 across, from the agency acting as the sibling and from its own key', async () => {
  const mk = async () => (await gw.request('POST', '/api/v1/accounts', { key: agency.key,
    body: { name: 'Client', email: `${crypto.randomBytes(5).toString('hex')}@client.example` } })).body;
  const s1 = await mk();
  const s2 = await mk();
  const victim = await populate(caller(agency.key, s1.id));
  const s2key = (await gw.request('POST', `/api/v1/accounts/${s2.id}/api_keys`, { key: agency.key })).body.key;
  await populate(caller(agency.key, s2.id)); // the prober has objects of its own
  await probeAll(caller(agency.key, s2.id), victim, 'agency as S2');
  await probeAll(caller(s2key), victim, "S2's key");
  // and the agency itself, without the header, sees none of S1's objects either
  await probeAll(caller(agency.key), { ...victim, sub: null }, 'agency as itself');
  await unchanged(caller(agency.key, s1.id), victim);
});

test('test vs live: every id route is 404 across, in both directions', async () => {
  const L = gw.account('Live and test');
  const live = caller(L.key);
  const testKey = (await gw.request('POST', '/api/v1/api_keys', { key: L.key, body: { livemode: false } })).body.key;
  const tst = { ...caller(testKey), livemode: false };
  const liveObjs = await populate(live, live);
  const testObjs = await populate(tst);
  await probeAll(tst, liveObjs, 'test key on live objects');
  await probeAll(live, { ...testObjs, sub: null }, 'live key on test objects');
  await unchanged(live, liveObjs);
  await unchanged(tst, testObjs);
});
