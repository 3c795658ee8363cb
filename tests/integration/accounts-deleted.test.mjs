// A deleted sub-account across the plugins: its passes stop updating and every way to fetch them
// answers 410 (the .pkpass link, and Apple's web service for the devices that hold them: no new
// registration, no new version); account.created and account.deleted reach the agency's webhook
// endpoints that asked for them, and no other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor, assertError, createDatabase } from './lib/harness.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-acctdel-'));
const PTID = 'pass.com.example.acctdel';
const BASE = { pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans' };
let gw, pki, hooks;

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
      { name: 'webhooks', config: { allow_http: true } },
    ],
  } });
});
after(async () => {
  if (gw) await gw.stop();
  if (hooks) await hooks.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function passJson(buf) {
  const d = fs.mkdtempSync(path.join(dir, 'pk-'));
  fs.writeFileSync(path.join(d, 'p.pkpass'), buf);
  return JSON.parse(execFileSync('unzip', ['-p', path.join(d, 'p.pkpass'), 'pass.json'], { encoding: 'utf8' }));
}

test("a deleted sub-account's passes: the .pkpass link and Apple's web service answer 410; a sibling's still work", async () => {
  const ag = gw.account('Agency');
  const mk = async () => {
    const r = await gw.request('POST', '/api/v1/accounts', { key: ag.key,
      body: { name: 'Client', email: `${crypto.randomBytes(5).toString('hex')}@client.example` } });
    assert.equal(r.status, 201, r.text);
    const h = { 'WalletPass-Account': r.body.id };
    const c = await gw.request('PUT', '/api/v1/credentials/apple', { key: ag.key, headers: h, body: {
      p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
      wwdr_pem: pki.wwdrPem } });
    assert.equal(c.status, 200, c.text);
    const p = await gw.request('POST', '/api/v1/passes', { key: ag.key, headers: h, body: BASE });
    assert.equal(p.status, 201, p.text);
    const res = await fetch(p.body.pkpass_url);
    assert.equal(res.status, 200);
    return { sub: r.body, pass: p.body, pj: passJson(Buffer.from(await res.arrayBuffer())) };
  };
  const gone = await mk();
  const sib = await mk();
  const ws = (pj, dev) => ({
    register: () => fetch(`${pj.webServiceURL}/v1/devices/${dev}/registrations/${pj.passTypeIdentifier}/${pj.serialNumber}`,
      { method: 'POST', headers: { authorization: `ApplePass ${pj.authenticationToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pushToken: 'cd'.repeat(32) }) }),
    latest: () => fetch(`${pj.webServiceURL}/v1/passes/${pj.passTypeIdentifier}/${pj.serialNumber}`,
      { headers: { authorization: `ApplePass ${pj.authenticationToken}` } }),
  });
  const g = ws(gone.pj, 'dev00000000000000000000000000000a');
  const s = ws(sib.pj, 'dev00000000000000000000000000000b');
  assert.equal((await g.register()).status, 201);
  assert.equal((await g.latest()).status, 200);

  const d = await gw.request('DELETE', `/api/v1/accounts/${gone.sub.id}`, { key: ag.key });
  assert.equal(d.status, 200, d.text);
  const pk = await fetch(gone.pass.pkpass_url);
  assert.equal(pk.status, 410);
  assert.equal((await pk.json()).error.code, 'account_deleted');
  const latest = await g.latest();
  assert.equal(latest.status, 410, 'a device gets no new version of the pass');
  assert.equal((await latest.json()).error.code, 'account_deleted');
  assert.equal((await ws(gone.pj, 'dev00000000000000000000000000000c').register()).status, 410, 'nor registers for it');
  // the sibling is untouched
  assert.equal((await fetch(sib.pass.pkpass_url)).status, 200);
  assert.equal((await s.register()).status, 201);
  assert.equal((await s.latest()).status, 200);
});

test("account.created and account.deleted reach the agency's endpoints that asked for them", async () => {
  const ag = gw.account('Hooked agency');
  const hook = async (p, types) => {
    const r = await gw.request('POST', '/api/v1/webhooks', { key: ag.key, body: { url: hooks.url(p), event_types: types } });
    assert.equal(r.status, 201, r.text);
  };
  await hook('/accounts', ['account.created', 'account.deleted']);
  await hook('/passes-only', ['pass.created']);
  assertError(await gw.request('POST', '/api/v1/webhooks', { key: ag.key,
    body: { url: hooks.url('/x'), event_types: ['account.renamed'] } }), 400, { param: 'event_types[0]' });
  const s = (await gw.request('POST', '/api/v1/accounts', { key: ag.key,
    body: { name: 'Client', email: `${crypto.randomBytes(5).toString('hex')}@client.example` } })).body;
  assert.equal((await gw.request('DELETE', `/api/v1/accounts/${s.id}`, { key: ag.key })).status, 200);
  const got = () => hooks.seen.filter((x) => x.path === '/accounts').map((x) => `${x.event.type} ${x.event.data.account.id}`);
  await waitFor(() => got().length === 2, { what: 'both account events delivered', timeout: 30000 });
  assert.deepEqual(got().sort(), [`account.created ${s.id}`, `account.deleted ${s.id}`]);
  // a pass makes the other endpoint speak, so its silence on accounts is not a slow queue
  assert.equal((await gw.request('POST', '/api/v1/passes', { key: ag.key, body: BASE })).status, 201);
  await waitFor(() => hooks.seen.some((x) => x.path === '/passes-only'), { what: 'the pass.created delivery', timeout: 30000 });
  assert.deepEqual(hooks.seen.filter((x) => x.path === '/passes-only').map((x) => x.event.type), ['pass.created']);
});

test("a batch of a deleted sub-account creates no pass once the deletion has answered", async () => {
  // The batch is queued by a gateway that runs no job handlers and taken, after the deletion, by a
  // second gateway on the same (fresh) database that does: no timing decides the order.
  const db = createDatabase();
  const queuer = await startGateway({ dbUrl: db, config: {
    rate_limit: { requests_per_second: 0 }, jobs: { workers: 0 } } });
  let runner;
  try {
    const ag = queuer.account('Batch agency');
    const sub = await queuer.request('POST', '/api/v1/accounts', { key: ag.key,
      body: { name: 'Client', email: `${crypto.randomBytes(5).toString('hex')}@client.example` } });
    assert.equal(sub.status, 201, sub.text);
    const h = { 'WalletPass-Account': sub.body.id };
    const b = await queuer.request('POST', '/api/v1/passes/batch', { key: ag.key, headers: h,
      body: { passes: [{ ...BASE, serial_number: 'B-1' }, { ...BASE, serial_number: 'B-2' }] } });
    assert.equal(b.status, 202, b.text);
    assert.equal((await queuer.request('DELETE', `/api/v1/accounts/${sub.body.id}`, { key: ag.key })).status, 200);
    runner = await startGateway({ dbUrl: db, config: {
      rate_limit: { requests_per_second: 0 }, jobs: { workers: 2, poll_ms: 200 } } });
    const open = () => queuer.sql(`SELECT count(*) FROM jobs WHERE kind = 'batches.chunk'
      AND payload->>'batch_id' = '${b.body.id}' AND status IN ('queued', 'running')`).trim();
    await waitFor(() => open() === '0', { what: 'the batch job run', timeout: 60000 });
    assert.equal(queuer.sql(`SELECT count(*) FROM passes WHERE account_id = '${sub.body.id}'`).trim(), '0', 'no pass of the deleted sub-account');
    assert.equal(queuer.sql(`SELECT count(*) FROM batch_items WHERE batch_id = '${b.body.id}' AND status = 'pending'`).trim(), '2');
  } finally {
    if (runner) await runner.stop();
    await queuer.stop();
  }
});
