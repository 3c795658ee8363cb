// Upgrading across migration 0009: the core used to mint every pass's web-service token and
// keep it sealed in passes.auth_token; per-pass secrets now belong to plugins.  A database
// made by the migrations before 0009, with passes and tokens sealed the old way, is upgraded:
// 0009 moves the tokens into pass_secrets (owned by no plugin) and drops the column; the
// apple-signer's own migration claims them when it is first loaded; and then the passes made
// before the upgrade keep their tokens: the same authenticationToken in pass.json, the devices
// holding it authenticate at the web service (apns), and a wrong token or an unknown serial
// get the same 401 as ever.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, SOURCE_DIR, createDatabase, psql, startGateway } from './lib/harness.mjs';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-upgrade-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

const MASTER = crypto.randomBytes(32);
const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const newId = (prefix) => `${prefix}_01m8` + Array.from(crypto.randomBytes(22), (x) => CROCKFORD[x % 32]).join('');
const token = () => crypto.randomBytes(32).toString('base64url');

/** Seals as the vault does: "wpv1:<version>:" + base64(nonce ‖ AES-256-GCM ciphertext ‖ tag), aad bound. */
function seal(plain, aad) {
  const nonce = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', MASTER, nonce);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(Buffer.from(plain)), c.final()]);
  return `wpv1:1:${Buffer.concat([nonce, ct, c.getAuthTag()]).toString('base64')}`;
}

/** pass.json of a bundle (unzip CLI). */
function passJson(buf) {
  const f = path.join(work, `p-${crypto.randomBytes(4).toString('hex')}.pkpass`);
  fs.writeFileSync(f, buf);
  return JSON.parse(execFileSync('unzip', ['-p', f, 'pass.json'], { encoding: 'utf8' }));
}

test('tokens sealed by the core before 0009 move to pass_secrets, are claimed by apple-signer, and keep working', async () => {
  // 1. The schema as it was: the core migrations before 0009.
  const db = createDatabase();
  const oldDir = path.join(work, 'old-migrations');
  fs.mkdirSync(oldDir);
  const files = fs.readdirSync(path.join(SOURCE_DIR, 'migrations')).filter((f) => /^\d{4}_.+\.sql$/.test(f) && f < '0009');
  for (const f of files) fs.copyFileSync(path.join(SOURCE_DIR, 'migrations', f), path.join(oldDir, f));
  const m = spawnSync(BIN, ['migrate'], { env: { ...process.env, WALLETPASS_DATABASE_URL: db, WALLETPASS_CONFIG: '',
    WALLETPASS_MIGRATIONS_DIR: oldDir, WALLETPASS_MASTER_KEY: MASTER.toString('base64') }, encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  assert.equal(psql(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'passes' AND column_name = 'auth_token'"), '1');

  // 2. Passes as the core wrote them then: a token per pass, sealed for "<account>/pass/<id>/auth_token".
  const acct = newId('acct'), other = newId('acct');
  const old = [{ id: newId('pass'), serial: 'OLD-1', token: token() }, { id: newId('pass'), serial: 'OLD-2', token: token() }];
  const foreign = { id: newId('pass'), serial: 'OLD-1', token: token() }; // another account, same serial
  psql(db, `INSERT INTO accounts (id, name, email, plan) VALUES ('${acct}', 'Old', '${acct}@example.com', 'unlimited'),
            ('${other}', 'Other', '${other}@example.com', 'unlimited')`);
  const body = JSON.stringify({ pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans' });
  for (const [owner, p] of [[acct, old[0]], [acct, old[1]], [other, foreign]]) {
    psql(db, `INSERT INTO passes (account_id, id, serial_number, pass_type, body, auth_token)
              VALUES ('${owner}', '${p.id}', '${p.serial}', 'loyalty', '${body}', '${seal(p.token, `${owner}/pass/${p.id}/auth_token`)}')`);
  }
  const env = { WALLETPASS_MASTER_KEY: MASTER.toString('base64') };

  // 3. The new gateway without plugins: 0009 moves the tokens, owned by no plugin yet.
  let gw = await startGateway({ dbUrl: db, env });
  try {
    assert.equal(gw.sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'passes' AND column_name = 'auth_token'"), '0');
    assert.equal(gw.sql("SELECT string_agg(plugin || '/' || name || '/' || legacy, ',') FROM pass_secrets"),
      ['/auth_token/true', '/auth_token/true', '/auth_token/true'].join(','));
    for (const p of [...old, foreign]) assert.equal(gw.sql(`SELECT count(*) FROM pass_secrets WHERE sealed LIKE '%${p.token}%'`), '0');
  } finally {
    await gw.stop();
  }

  // 4. With apple-signer and apns: the plugin's migration claims them.
  gw = await startGateway({ dbUrl: db, env, config: { plugins: [{ name: 'apple-signer' }, { name: 'apns' }] } });
  try {
    assert.equal(gw.sql("SELECT string_agg(DISTINCT plugin || '/' || name, ',') FROM pass_secrets"), 'apple-signer/authentication_token');
    assert.equal(gw.sql("SELECT count(*) FROM schema_migrations WHERE component = 'apple-signer'"), '1');
    const key = gw.cli(['key', 'create', '--account', acct]);
    const creds = path.join(work, 'creds');
    execFileSync(path.join(SOURCE_DIR, 'scripts', 'make-test-credentials'), [creds], { stdio: ['ignore', 'pipe', 'pipe'] });
    const apple = JSON.parse(fs.readFileSync(path.join(creds, 'apple-credentials.json'), 'utf8'));
    const up = await gw.request('PUT', '/api/v1/credentials/apple', { key, body: apple });
    assert.equal(up.status, 200, up.text);
    const ptid = apple.pass_type_identifier;

    // the old passes keep their tokens in pass.json ...
    for (const p of old) {
      const r = await fetch(`${gw.url}/api/v1/passes/${p.id}/pkpass`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(r.status, 200, await r.clone().text());
      const pj = passJson(Buffer.from(await r.arrayBuffer()));
      assert.equal(pj.serialNumber, p.serial);
      assert.equal(pj.authenticationToken, p.token, 'the token minted before the upgrade');
      assert.equal(pj.webServiceURL, `${gw.url}/apple`);
    }
    // ... and the devices holding them authenticate; everything else gets one and the same 401
    const register = (serial, tok, device = 'dev0upgrade00000000000000000001') =>
      gw.request('POST', `/apple/v1/devices/${device}/registrations/${ptid}/${serial}`,
        { headers: { authorization: `ApplePass ${tok}` }, body: { pushToken: 'ab'.repeat(32) } });
    assert.equal((await register('OLD-1', old[0].token)).status, 201);
    assert.equal((await register('OLD-2', old[1].token)).status, 201);
    const shape = (x) => ({ status: x.status, code: x.body.error.code, message: x.body.error.message });
    const wrong = shape(await register('OLD-1', token()));
    assert.deepEqual(wrong, { status: 401, code: 'pass_token_invalid',
      message: 'no pass with this pass type identifier and serial number has this authentication token' });
    assert.deepEqual(shape(await register('NO-SUCH-SERIAL', old[0].token)), wrong, 'an unknown serial');
    assert.deepEqual(shape(await register('OLD-2', old[0].token)), wrong, 'another pass\'s token');
    // the other account holds OLD-1 too, with no credentials of this pass type identifier
    assert.deepEqual(shape(await register('OLD-1', foreign.token)), wrong, 'a pass of an account without this identifier');
    // matched once, a moved token is indexed like a new one
    assert.equal(gw.sql(`SELECT lookup IS NOT NULL FROM pass_secrets WHERE pass_id = '${old[0].id}'`), 't');

    // a pass made now gets a token of the plugin's when first downloaded, and works the same way
    const n = await gw.request('POST', '/api/v1/passes', { key, body: JSON.parse(body) });
    assert.equal(n.status, 201, n.text);
    assert.equal(gw.sql(`SELECT count(*) FROM pass_secrets WHERE pass_id = '${n.body.id}'`), '0', 'nothing minted at creation');
    const pj = passJson(Buffer.from(await (await fetch(n.body.pkpass_url)).arrayBuffer()));
    assert.match(pj.authenticationToken, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(gw.sql(`SELECT plugin || '/' || name || '/' || legacy FROM pass_secrets WHERE pass_id = '${n.body.id}'`),
      'apple-signer/authentication_token/false');
    assert.equal((await register(n.body.serial_number, pj.authenticationToken)).status, 201);
  } finally {
    await gw.stop();
  }
});
