// What a new user does first, without reading the code:
//  - `walletpass routes` and `walletpass plugins` work with neither a database nor a master key;
//  - scripts/make-test-credentials makes credentials the API accepts, marked as test material;
//  - config/local-webhooks.json lets a webhook reach a receiver on this machine (and dev.json does not).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { BIN, SOURCE_DIR, startGateway, waitFor } from './lib/harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-first-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The CLI with only a configuration file: no WALLETPASS_DATABASE_URL, no WALLETPASS_MASTER_KEY. */
function bare(args) {
  const env = { ...process.env, WALLETPASS_CONFIG: path.join(SOURCE_DIR, 'config', 'dev.json') };
  delete env.WALLETPASS_DATABASE_URL;
  delete env.WALLETPASS_MASTER_KEY;
  return spawnSync(BIN, args, { env, cwd: dir, encoding: 'utf8', timeout: 120000 });
}

test('walletpass routes needs neither a database nor a master key', () => {
  const r = bare(['routes']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const want of ['GET /healthz public core', 'GET /p/:capability public core', 'POST /api/v1/passes api_key core',
    'GET /api/v1/passes/:id/pkpass public apple-signer', 'POST /api/v1/webhooks api_key webhooks',
    'POST /api/v1/bubble/passes api_key bubble-bridge'])
    assert.ok(lines.includes(want), `${want} missing:\n${r.stdout}`);
  assert.ok(!/master_key|database/.test(r.stderr), r.stderr);
});

test('walletpass plugins needs neither a database nor a master key', () => {
  const r = bare(['plugins']);
  assert.equal(r.status, 0, r.stderr);
  for (const name of ['apple-signer', 'google-jwt', 'apns', 'geofence', 'webhooks', 'bubble-bridge']) assert.match(r.stdout, new RegExp(`^${name} `, 'm'));
});

test('scripts/make-test-credentials: accepted by the API, and marked as test material', async () => {
  execFileSync(path.join(SOURCE_DIR, 'scripts', 'make-test-credentials'), [dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(fs.readFileSync(path.join(dir, 'README.txt'), 'utf8'), /^TEST MATERIAL ONLY/);
  const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-issuer', '-in', path.join(dir, 'TEST-pass-certificate.pem')], { encoding: 'utf8' });
  assert.match(subject, /subject=.*O ?= ?TEST ONLY/);
  assert.match(subject, /issuer=.*CN ?= ?TEST ONLY/);
  const gw = await startGateway({ config: { plugins: [{ name: 'apple-signer' }, { name: 'google-jwt' }] } });
  try {
    const a = gw.account();
    for (const p of ['apple', 'google']) {
      const r = await gw.request('PUT', `/api/v1/credentials/${p}`, { key: a.key, body: JSON.parse(fs.readFileSync(path.join(dir, `${p}-credentials.json`), 'utf8')) });
      assert.equal(r.status, 200, r.text);
    }
    const pass = await gw.request('POST', '/api/v1/passes', { key: a.key, body: { pass_type: 'generic', organization_name: 'Test' } });
    assert.equal(typeof pass.body.pkpass_url, 'string');
    assert.equal(typeof pass.body.google_save_url, 'string');
    assert.equal((await fetch(pass.body.pkpass_url)).status, 200);
  } finally {
    await gw.stop();
  }
});

async function tryWebhook(configFile) {
  const cfg = JSON.parse(fs.readFileSync(path.join(SOURCE_DIR, 'config', configFile), 'utf8'));
  delete cfg.server; // the harness picks the port
  let hits = 0;
  const receiver = http.createServer((req, res) => { hits++; req.resume(); res.end('ok'); });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const gw = await startGateway({ config: cfg });
  try {
    const a = gw.account();
    const r = await gw.request('POST', '/api/v1/webhooks', { key: a.key,
      body: { url: `http://127.0.0.1:${receiver.address().port}/hook`, event_types: ['*'] } });
    if (r.status !== 201) return { status: r.status, code: r.body && r.body.error.code };
    const t = await gw.request('POST', `/api/v1/webhooks/${r.body.id}/test`, { key: a.key });
    await waitFor(() => hits > 0, { what: 'the receiver to be called' });
    return { status: r.status, delivery: t.body.status };
  } finally {
    await gw.stop();
    receiver.close();
  }
}

test('config/local-webhooks.json lets a webhook reach a loopback receiver; config/dev.json refuses it', async () => {
  assert.deepEqual(await tryWebhook('local-webhooks.json'), { status: 201, delivery: 'succeeded' });
  const refused = await tryWebhook('dev.json');
  assert.equal(refused.status, 400);
});
