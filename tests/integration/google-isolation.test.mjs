// google-jwt: what one tenant's Google credentials and links can reach.
// - The OAuth token request goes to the configured token_url, never to a service account's own
//   token_uri (a tenant's text): a listener on loopback named there is never called, and a
//   refused token request is logged without the answer's body.
// - OAuth tokens are cached per account and per key: two accounts with the same client_email and
//   private_key_id but different keys each get a token for their own key (the stand-in tells which
//   key signed each assertion).
// - An image URL inside a save link opens that pass's images only: its capability does not open
//   the pkpass link (which carries the Apple authentication token), and the pkpass link's
//   capability serves no image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor, BIN } from './lib/harness.mjs';

let jose;
try { jose = await import('jose'); } catch { jose = null; }
const skip = jose ? false : 'npm package jose is missing: run `npm install` in tests/ (scripts/test does)';
const { startGoogleStandin } = jose ? await import('./lib/google-standin.mjs') : {};

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN || '.'), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const ISSUER = '3388000000022199001';
const EMAIL = 'shared-signer@walletpass-test.iam.gserviceaccount.com';
const KID = crypto.randomBytes(20).toString('hex');
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const LOYALTY = {
  pass_type: 'loyalty', organization_name: 'Isolation Coffee', program_name: 'Beans', barcode_message: 'M-1',
  primary_fields: [{ key: 'points', label: 'Points', value: '10' }],
};

const keyPair = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k) => k.privateKey.export({ type: 'pkcs8', format: 'pem' });
const K1 = keyPair();
const K2 = keyPair();
const serviceAccount = (key, over = {}) => ({
  type: 'service_account', project_id: 'walletpass-test', private_key_id: KID, private_key: pem(key),
  client_email: EMAIL, token_uri: 'https://oauth2.googleapis.com/token', ...over,
});

// ---- Apple credentials (for pkpass links): a throwaway CA and a Pass Type ID certificate ----
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-giso-'));
const PTID = 'pass.com.example.isolation';
const TEAM = 'ABCDE12345';
const f = (name) => path.join(dir, name);
const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
function makeApple() {
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional',
    ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wwdr.key', '-out', 'wwdr.pem', '-days', '30',
    '-subj', '/C=US/O=Test Apple/OU=G4/CN=Fake Worldwide Developer Relations Certification Authority');
  ssl('genrsa', '-out', 'pass.key', '2048');
  fs.writeFileSync(f('pass.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature',
    `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${PTID}`, ''].join('\n'));
  ssl('req', '-new', '-key', 'pass.key', '-out', 'pass.csr', '-subj', `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=${TEAM}/O=Example Inc./C=US`);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key',
    '-in', 'pass.csr', '-out', 'pass.pem', '-days', '30', '-extfile', 'pass.ext', '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass.pem', '-passout', 'pass:pw', '-out', 'pass.p12');
}

let g, gw;
before(async () => {
  if (skip) return;
  makeApple();
  g = await startGoogleStandin({ issuerId: ISSUER, clientEmail: EMAIL, publicKey: K1.publicKey });
  gw = await startGateway({ config: {
    plugin_dir: PLUGIN_DIR,
    plugins: [
      { name: 'apple-signer' },
      // every link skinny: class and object go over REST while the request runs
      { name: 'google-jwt', config: { api_base_url: g.apiBase, token_url: g.tokenUrl, max_jwt_length: 200 } },
    ],
  } });
});
after(async () => {
  if (gw) await gw.stop();
  if (g) await g.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function googleAccount(gateway, sa) {
  const acct = gateway.account();
  const r = await gateway.request('PUT', '/api/v1/credentials/google', { key: acct.key, body: { issuer_id: ISSUER, service_account_json: sa } });
  assert.equal(r.status, 200, r.text);
  return acct;
}

/** The key (index at the stand-in) whose token authorised the insert of this pass's object. */
function insertKey(passId) {
  const c = g.calls.find((x) => x.method === 'POST' && x.path.endsWith('Object') && x.body && x.body.id === `${ISSUER}.${passId}`);
  assert.ok(c, `the object of ${passId} was inserted`);
  assert.ok(c.tokenOf, 'with a token the stand-in issued');
  assert.equal(c.status, 200);
  return c.tokenOf.key;
}

test('OAuth tokens are kept per account and per key: same client_email and key id, different keys', { skip }, async () => {
  const k2 = g.addServiceAccountKey(EMAIL, K2.publicKey);
  const x = await googleAccount(gw, serviceAccount(K1));
  const y = await googleAccount(gw, serviceAccount(K2));
  const px = await gw.request('POST', '/api/v1/passes', { key: x.key, body: LOYALTY });
  assert.equal(px.status, 201, px.text);
  assert.equal(typeof px.body.google_save_url, 'string', px.text);
  const py = await gw.request('POST', '/api/v1/passes', { key: y.key, body: LOYALTY });
  assert.equal(py.status, 201, py.text);
  assert.equal(typeof py.body.google_save_url, 'string', py.text);
  assert.equal(insertKey(px.body.id), 0, "the first account's calls carry a token for its key");
  assert.equal(insertKey(py.body.id), k2, "the second account's calls carry a token for its own key, not the first's");
  // and each one's save link is signed with its own key
  await jose.jwtVerify(px.body.google_save_url.split('/').pop(), K1.publicKey);
  await jose.jwtVerify(py.body.google_save_url.split('/').pop(), K2.publicKey);
  // a third account with the first one's very key still gets a token of its own
  const before = g.tokenFetches(EMAIL);
  const z = await googleAccount(gw, serviceAccount(K1));
  const pz = await gw.request('POST', '/api/v1/passes', { key: z.key, body: LOYALTY });
  assert.equal(typeof pz.body.google_save_url, 'string', pz.text);
  assert.equal(g.tokenFetches(EMAIL), before + 1, 'no token is shared across accounts');
});

test('a refused token request is logged with its status and OAuth error code, never the answer body', { skip }, async () => {
  const stranger = await googleAccount(gw, serviceAccount(keyPair(), { client_email: 'nobody@walletpass-test.iam.gserviceaccount.com' }));
  const r = await gw.request('POST', '/api/v1/passes', { key: stranger.key, body: LOYALTY });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.google_save_url, null);
  await waitFor(() => /token endpoint .* answered 400: invalid_grant/.test(gw.stderr()), { what: 'the refusal logged' });
  assert.ok(!gw.stderr().includes('Invalid JWT Signature'), 'the error_description (answer body) is not logged');
});

test("a service account's token_uri is never called: the configured token URL is", { skip }, async () => {
  // The tenant's token_uri: a loopback listener that must never be hit.
  const trapHits = [];
  const trap = http.createServer((req, res) => {
    trapHits.push(`${req.method} ${req.url}`);
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'TRAP-INTERNAL-ANSWER' }));
  });
  await new Promise((r) => trap.listen(0, '127.0.0.1', r));
  // No token_url configured: the default, Google's, reached through a proxy that records CONNECT
  // and refuses it (no traffic leaves the machine).
  const connects = [];
  const proxy = net.createServer((s) => {
    s.once('data', (d) => {
      connects.push(d.toString('latin1').split('\r\n')[0]);
      s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    });
    s.on('error', () => {});
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyUrl = `http://127.0.0.1:${proxy.address().port}`;
  const g2 = await startGateway({
    config: {
      plugin_dir: PLUGIN_DIR,
      plugins: [{ name: 'google-jwt', config: { api_base_url: g.apiBase, max_jwt_length: 200, timeout_seconds: 5 } }],
    },
    env: { https_proxy: proxyUrl, HTTPS_PROXY: proxyUrl, http_proxy: '', HTTP_PROXY: '', no_proxy: '', NO_PROXY: '', ALL_PROXY: '', all_proxy: '' },
  });
  try {
    const acct = await googleAccount(g2, serviceAccount(K1, { token_uri: `http://127.0.0.1:${trap.address().port}/token` }));
    const r = await g2.request('POST', '/api/v1/passes', { key: acct.key, body: LOYALTY });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.google_save_url, null, 'no token, no link');
    await waitFor(() => /no Google save link/.test(g2.stderr()), { what: 'the failed token request logged' });
    assert.deepEqual(trapHits, [], "the service account's token_uri was never called");
    assert.ok(connects.some((c) => c.startsWith('CONNECT oauth2.googleapis.com:443')), `the configured token URL was: ${connects}`);
    assert.ok(!g2.stderr().includes('TRAP-INTERNAL-ANSWER'));
  } finally {
    await g2.stop();
    await new Promise((r) => trap.close(r));
    await new Promise((r) => proxy.close(r));
  }
});

test('an image URL of a save link does not open the pkpass link, and the pkpass capability serves no image', { skip }, async () => {
  const acct = await googleAccount(gw, serviceAccount(K1));
  const put = await gw.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body: {
    p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: 'pw', pass_type_identifier: PTID,
    team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
  } });
  assert.equal(put.status, 200, put.text);
  const r = await gw.request('POST', '/api/v1/passes', { key: acct.key, body: { ...LOYALTY, images: { logo: PNG_1X1 } } });
  assert.equal(r.status, 201, r.text);
  assert.equal(typeof r.body.google_save_url, 'string', r.text);
  const pk = new URL(r.body.pkpass_url);
  const pkToken = pk.searchParams.get('t');
  const obj = g.store.get(`loyaltyObject/${ISSUER}.${r.body.id}`);
  const cls = g.store.get(`loyaltyClass/${obj.classId}`);
  const img = cls.programLogo.sourceUri.uri;
  const m = img.match(new RegExp(`^${gw.url}/google/images/passes/${r.body.id}/([A-Za-z0-9_-]+)/([0-9a-f]{16})/logo\\.png$`));
  assert.ok(m, img);
  const imgToken = m[1];
  assert.notEqual(imgToken, pkToken, 'one capability per purpose');

  // each capability opens what it was made for
  assert.equal((await fetch(img)).status, 200);
  const own = await fetch(r.body.pkpass_url);
  assert.equal(own.status, 200);
  assert.equal(own.headers.get('content-type'), 'application/vnd.apple.pkpass');
  // ... and nothing else
  const viaImageToken = await fetch(`${gw.url}/api/v1/passes/${r.body.id}/pkpass?t=${imgToken}`);
  assert.equal(viaImageToken.status, 404, 'the image capability does not download the pkpass');
  assert.equal((await fetch(img.replace(`/${imgToken}/`, `/${pkToken}/`))).status, 404, 'the pkpass capability serves no image');
});
