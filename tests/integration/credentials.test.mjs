// Credentials vault: /api/v1/credentials/{apple,google}, the credential
// kinds apple-signer and google-jwt register.  Test certificates are made
// here with the openssl CLI (a fake WWDR CA and pass certificates, good and
// bad); every refusal names its field; another account sees 404; the table
// holds no plaintext; plugins read the decrypted form through the host's
// vault_read (fixture plugin "vaultread").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { startGateway, assertError, BIN } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const FIXTURES = path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins');
const IN_TREE = path.join(BUILD_DIR, 'plugins');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-creds-'));
// One plugin_dir with the platform plugins and the fixture (a plugin outside plugin_dir is refused).
const pluginDir = path.join(dir, 'plugins');
fs.mkdirSync(pluginDir);
fs.copyFileSync(path.join(FIXTURES, 'vaultread.so'), path.join(pluginDir, 'vaultread.so'));
for (const p of ['apple-signer', 'google-jwt']) {
  fs.copyFileSync(path.join(IN_TREE, `${p}.so`), path.join(pluginDir, `${p}.so`));
  if (fs.existsSync(path.join(IN_TREE, p))) fs.cpSync(path.join(IN_TREE, p), path.join(pluginDir, p), { recursive: true });
}
const PLUGINS = [{ name: 'apple-signer' }, { name: 'google-jwt' }, { name: 'vaultread' }];
const PTID = 'pass.com.example.test';
const TEAM = 'ABCDE12345';
const PASSWORD = 'Sup3r-s3cret-pw';

const f = (name) => path.join(dir, name);
const read = (name) => fs.readFileSync(f(name), 'utf8');
const b64 = (name) => fs.readFileSync(f(name)).toString('base64');
function ssl(...args) {
  return execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
}

// `openssl ca` is used (not `x509 -req`) because it can backdate and postdate certificates.
function makeCa(name, subject) {
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30',
    '-subj', subject);
}
function signPass(out, { subject, ca = 'wwdr', ext = PTID, dates = ['-days', '30'], key = 'pass' }) {
  const extLines = ['[ ext ]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature',
    'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid'];
  if (ext) extLines.push(`1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${ext}`);
  fs.writeFileSync(f(`${out}.ext`), extLines.join('\n') + '\n');
  ssl('req', '-new', '-key', `${key}.key`, '-out', `${out}.csr`, '-subj', subject);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', `${ca}.pem`, '-keyfile', `${ca}.key`,
    '-in', `${out}.csr`, '-out', `${out}.pem`, ...dates, '-extfile', `${out}.ext`, '-extensions', 'ext');
}
function p12(out, cert, { key = 'pass', password = PASSWORD, extra = [] } = {}) {
  ssl('pkcs12', '-export', '-inkey', `${key}.key`, '-in', `${cert}.pem`, '-passout', `pass:${password}`,
    '-out', `${out}.p12`, ...extra);
}
const PASS_SUBJECT = `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=${TEAM}/O=Example Inc./C=US`;

let hasLegacy = true;
function makePki() {
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional',
    ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  makeCa('wwdr', '/C=US/O=Test Apple/OU=G4/CN=Fake Worldwide Developer Relations Certification Authority');
  makeCa('otherca', '/C=US/O=Someone Else/CN=Other CA');
  ssl('genrsa', '-out', 'pass.key', '2048');
  ssl('genrsa', '-out', 'other.key', '2048');
  signPass('pass', { subject: PASS_SUBJECT });
  signPass('expired', { subject: PASS_SUBJECT, dates: ['-startdate', '20200101000000Z', '-enddate', '20210101000000Z'] });
  signPass('future', { subject: PASS_SUBJECT, dates: ['-startdate', '20990101000000Z', '-enddate', '20991231000000Z'] });
  signPass('nouid', { subject: `/CN=Apple Push Services: com.example.app/OU=${TEAM}/O=Example Inc./C=US`, ext: null });
  signPass('noou', { subject: `/UID=${PTID}/CN=Pass Type ID: ${PTID}/O=Example Inc./C=US` });
  signPass('badcn', { subject: `/UID=${PTID}/CN=Something else/OU=${TEAM}/C=US` });
  signPass('badext', { subject: PASS_SUBJECT, ext: 'pass.com.example.other' });
  signPass('noext', { subject: PASS_SUBJECT, ext: null });
  p12('pass', 'pass');
  p12('chain', 'pass', { extra: ['-certfile', 'wwdr.pem'] });
  p12('nopw', 'pass', { password: '' });
  p12('expired', 'expired');
  p12('future', 'future');
  p12('nouid', 'nouid');
  p12('noou', 'noou');
  p12('badcn', 'badcn');
  p12('badext', 'badext');
  p12('noext', 'noext');
  try { p12('legacy', 'pass', { extra: ['-legacy'] }); } catch { hasLegacy = false; }
  // `-export` refuses a key with a certificate it does not match, but not a key with an extra certificate.
  ssl('pkcs12', '-export', '-nocerts', '-inkey', 'other.key', '-certfile', 'pass.pem', '-passout', `pass:${PASSWORD}`,
    '-out', 'mismatch.p12');
  ssl('pkcs12', '-export', '-nocerts', '-inkey', 'pass.key', '-passout', `pass:${PASSWORD}`, '-out', 'keyonly.p12');
  // Google service-account keys
  ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key');
  ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ec.key');
}

function appleBody(over = {}) {
  return { p12_base64: b64('pass.p12'), p12_password: PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM, ...over };
}
function serviceAccount(over = {}) {
  return {
    type: 'service_account', project_id: 'wallet-test', private_key_id: '3f2a9c0d1e5b7a8c9d0e1f2a3b4c5d6e7f8a9b0c',
    private_key: read('sa.key'), client_email: 'wallet@wallet-test.iam.gserviceaccount.com', client_id: '1234567890',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs', universe_domain: 'googleapis.com', ...over,
  };
}
const googleBody = (over = {}, sa = {}) => ({ issuer_id: '3388000000022122304', service_account_json: serviceAccount(sa), ...over });
const pemBody = (pem) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

let gw, A, B;
before(async () => {
  makePki();
  gw = await startGateway({ config: { plugin_dir: pluginDir, plugins: PLUGINS } });
  A = gw.account();
  B = gw.account();
});
after(async () => {
  if (gw) await gw.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const put = (platform, body, key = A.key) => gw.request('PUT', `/api/v1/credentials/${platform}`, { key, body });
const get = (platform, key = A.key) => gw.request('GET', `/api/v1/credentials/${platform}`, { key });
const del = (platform, key = A.key) => gw.request('DELETE', `/api/v1/credentials/${platform}`, { key });
const vault = (name, key = A.key) => gw.request('GET', `/api/v1/fx/vault/${name}`, { key });

function assertNoSecret(res) {
  for (const s of ['BEGIN', 'PRIVATE', PASSWORD, 'p12_base64', 'private_key"', pemBody(read('pass.key')).slice(100, 140),
    pemBody(read('sa.key')).slice(100, 140), b64('pass.p12').slice(200, 240)])
    assert.ok(!res.text.includes(s), `response leaks ${s}: ${res.text}`);
}

test('apple: upload answers 200 with the metadata only, GET shows it, DELETE removes it', async () => {
  const r = await put('apple', appleBody());
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const m = r.body;
  assert.equal(m.object, 'credentials');
  assert.equal(m.platform, 'apple');
  assert.equal(m.pass_type_identifier, PTID);
  assert.equal(m.team_identifier, TEAM);
  assert.match(m.subject, /UID=pass\.com\.example\.test/);
  assert.match(m.subject, /OU=ABCDE12345/);
  assert.match(m.issuer, /Fake Worldwide Developer Relations/);
  const serial = ssl('x509', '-in', 'pass.pem', '-noout', '-serial').trim().split('=')[1];
  assert.equal(m.serial, serial);
  const notAfter = new Date(ssl('x509', '-in', 'pass.pem', '-noout', '-enddate').trim().split('=')[1]);
  assert.equal(m.not_after, notAfter.toISOString().replace('.000Z', 'Z'));
  assert.equal(m.expires_at, m.not_after);
  assert.match(m.not_before, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(m.has_wwdr, false);
  assert.ok(m.created_at && m.updated_at);
  assertNoSecret(r);

  const g = await get('apple');
  assert.equal(g.status, 200);
  assert.equal(g.headers.get('cache-control'), 'no-store');
  assert.deepEqual(g.body, m);
  assertNoSecret(g);

  const d = await del('apple');
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.deleted, true);
  assertError(await get('apple'), 404, { code: 'resource_missing' });
  assertError(await del('apple'), 404, { code: 'resource_missing' });
});

test('apple: wwdr_pem that issued the certificate is kept; one in the P12 is used; PUT replaces', async () => {
  let r = await put('apple', appleBody({ wwdr_pem: read('wwdr.pem') }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.has_wwdr, true);
  const created = r.body.created_at;
  r = await put('apple', appleBody({ p12_base64: b64('chain.p12') }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.has_wwdr, true, 'issuer carried in the P12');
  assert.equal(r.body.created_at, created, 'replaced, not recreated');
  assert.equal(gw.sql(`SELECT count(*) FROM credentials WHERE account_id = '${A.account}' AND platform = 'apple'`), '1');
  r = await put('apple', appleBody({ wwdr_pem: null }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.has_wwdr, false);
});

test('apple: an empty password, wrapped base64, a certificate without the extension, a legacy P12 are accepted', async () => {
  let r = await put('apple', appleBody({ p12_base64: b64('nopw.p12'), p12_password: '' }));
  assert.equal(r.status, 200, r.text);
  r = await put('apple', appleBody({ p12_base64: b64('pass.p12').replace(/(.{76})/g, '$1\n') }));
  assert.equal(r.status, 200, r.text);
  r = await put('apple', appleBody({ p12_base64: b64('noext.p12') }));
  assert.equal(r.status, 200, r.text);
  if (hasLegacy) {
    r = await put('apple', appleBody({ p12_base64: b64('legacy.p12') }));
    assert.equal(r.status, 200, `RC2/3DES (macOS Keychain style) P12: ${r.text}`);
  }
});

test('apple: every bad upload is a 400 naming its field, with a message saying what to do', async () => {
  const cases = [
    [{ p12_base64: undefined }, 'p12_base64', /required/],
    [{ p12_base64: 42 }, 'p12_base64', /string/],
    [{ p12_base64: '!!!not base64!!!' }, 'p12_base64', /base64/],
    [{ p12_base64: Buffer.from('hello, this is not a p12 file').toString('base64') }, 'p12_base64', /PKCS#12/],
    [{ p12_password: 'wrong password' }, 'p12_password', /not the password/],
    [{ p12_password: undefined }, 'p12_password', /required/],
    [{ p12_password: 1234 }, 'p12_password', /string/],
    [{ p12_base64: b64('expired.p12') }, 'p12_base64', /expired on 2021-01-01T00:00:00Z \(valid from 2020-01-01T00:00:00Z/],
    [{ p12_base64: b64('future.p12') }, 'p12_base64', /not valid yet: valid from 2099-01-01T00:00:00Z/],
    [{ p12_base64: b64('nouid.p12') }, 'p12_base64', /not a Pass Type ID certificate.*no UID/],
    [{ p12_base64: b64('noou.p12') }, 'p12_base64', /not a Pass Type ID certificate.*no OU/],
    [{ p12_base64: b64('badcn.p12') }, 'p12_base64', /not a Pass Type ID certificate.*CN is "Something else"/],
    [{ p12_base64: b64('badext.p12') }, 'p12_base64', /Pass Type ID extension/],
    [{ pass_type_identifier: 'pass.com.example.other' }, 'pass_type_identifier', /does not match the certificate, which is for "pass\.com\.example\.test"/],
    [{ pass_type_identifier: 'com.example.test' }, 'pass_type_identifier', /pass\./],
    [{ pass_type_identifier: undefined }, 'pass_type_identifier', /required/],
    [{ team_identifier: 'ZZZZZ99999' }, 'team_identifier', /does not match the certificate's team \(OU\) "ABCDE12345"/],
    [{ team_identifier: 'abc' }, 'team_identifier', /10-character/],
    [{ team_identifier: undefined }, 'team_identifier', /required/],
    [{ wwdr_pem: 'not a certificate' }, 'wwdr_pem', /not a PEM certificate/],
    [{ wwdr_pem: read('otherca.pem') }, 'wwdr_pem', /did not issue the pass certificate/],
    [{ wwdr_pem: 7 }, 'wwdr_pem', /string/],
    [{ colour: 'blue' }, 'colour', /unknown field/],
  ];
  cases.push([{ p12_base64: b64('mismatch.p12') }, 'p12_base64', /no certificate matching its private key/]);
  cases.push([{ p12_base64: b64('keyonly.p12') }, 'p12_base64', /no certificate matching its private key/]);
  for (const [over, param, re] of cases) {
    const body = appleBody(over);
    for (const k of Object.keys(over)) if (over[k] === undefined) delete body[k];
    const r = await put('apple', body);
    const e = assertError(r, 400, { param });
    assert.match(e.message, re, `${JSON.stringify(Object.keys(over))}: ${e.message}`);
    assert.ok(!e.message.includes(PASSWORD) && !e.message.includes('wrong password'), 'no password in the message');
    assert.equal(r.headers.get('cache-control'), 'no-store');
  }
  assertError(await put('apple', []), 400, { param: 'body' });
  const t = await gw.request('PUT', '/api/v1/credentials/apple', { key: A.key, raw: JSON.stringify(appleBody()),
    headers: { 'content-type': 'text/plain' } });
  assertError(t, 415);
  assertError(await gw.request('PUT', '/api/v1/credentials/apple', { body: appleBody() }), 401);
  assertError(await gw.request('GET', '/api/v1/credentials/apple?x=1', { key: A.key }), 400, { param: 'x' });
});

test('google: upload answers the metadata; bad fields are 400 naming them', async () => {
  const r = await put('google', googleBody());
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.body.platform, 'google');
  assert.equal(r.body.issuer_id, '3388000000022122304');
  assert.equal(r.body.client_email, 'wallet@wallet-test.iam.gserviceaccount.com');
  assert.equal(r.body.private_key_id, '3f2a9c0d1e5b7a8c9d0e1f2a3b4c5d6e7f8a9b0c');
  assertNoSecret(r);
  const g = await get('google');
  assert.deepEqual(g.body, r.body);

  const SA = 'service_account_json';
  const cases = [
    [googleBody({ issuer_id: undefined }), 'issuer_id', /required/],
    [googleBody({ issuer_id: '12ab' }), 'issuer_id', /digits/],
    [googleBody({ issuer_id: 3388000000022122 }), 'issuer_id', /string of digits/],
    [googleBody({ [SA]: undefined }), SA, /required/],
    [googleBody({ [SA]: JSON.stringify(serviceAccount()) }), SA, /JSON object itself/],
    [googleBody({}, { type: undefined }), `${SA}.type`, /required/],
    [googleBody({}, { type: 'authorized_user' }), `${SA}.type`, /service_account/],
    [googleBody({}, { client_email: undefined }), `${SA}.client_email`, /required/],
    [googleBody({}, { client_email: 'not-an-email' }), `${SA}.client_email`, /email/],
    [googleBody({}, { private_key: undefined }), `${SA}.private_key`, /required/],
    [googleBody({}, { private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), `${SA}.private_key`, /not a PEM private key/],
    [googleBody({}, { private_key: read('ec.key') }), `${SA}.private_key`, /RSA/],
    [googleBody({}, { private_key_id: undefined }), `${SA}.private_key_id`, /required/],
    [googleBody({}, { private_key_id: 'a b' }), `${SA}.private_key_id`, /key id/],
    [googleBody({}, { token_uri: 'ftp://example.com/token' }), `${SA}.token_uri`, /https/],
    [googleBody({ extra: true }), 'extra', /unknown field/],
  ];
  for (const [body, param, re] of cases) {
    const cleaned = JSON.parse(JSON.stringify(body)); // drops the undefined fields
    const e = assertError(await put('google', cleaned), 400, { param });
    assert.match(e.message, re, `${param}: ${e.message}`);
    assert.ok(!e.message.includes(pemBody(read('sa.key')).slice(64, 104)), 'no key material in the message');
  }
  // the stored credentials are untouched by refused uploads
  assert.deepEqual((await get('google')).body, r.body);
});

test('isolation: another account sees 404 for reads, deletes and plugin reads', async () => {
  assert.equal((await put('apple', appleBody())).status, 200);
  assert.equal((await put('google', googleBody())).status, 200);
  assertError(await get('apple', B.key), 404);
  assertError(await get('google', B.key), 404);
  assertError(await del('apple', B.key), 404);
  assertError(await del('google', B.key), 404);
  assertError(await vault('apple', B.key), 404);
  assert.equal((await get('apple')).status, 200, "A's credentials survive B's delete");
  assert.equal((await get('google')).status, 200);
});

test('the credentials table holds no plaintext key material', async () => {
  assert.equal((await put('apple', appleBody({ wwdr_pem: read('wwdr.pem') }))).status, 200);
  assert.equal((await put('google', googleBody())).status, 200);
  const rows = gw.sql(`SELECT platform || ' ' || sealed || ' ' || key_version || ' ' || meta::text FROM credentials`);
  assert.match(rows, /apple wpv1:1:/);
  assert.match(rows, /google wpv1:1:/);
  const p12 = b64('pass.p12');
  const needles = {
    BEGIN: 'BEGIN', PRIVATE: 'PRIVATE', password: PASSWORD,
    'P12 base64': p12.slice(0, 40), 'P12 base64 (middle)': p12.slice(1000, 1040),
    'Apple key': pemBody(read('pass.key')).slice(64, 104), 'Apple key (PKCS#8)': pemBody(ssl('pkey', '-in', 'pass.key')).slice(64, 104),
    'Google key': pemBody(read('sa.key')).slice(64, 104), 'certificate': pemBody(read('pass.pem')).slice(64, 104),
  };
  for (const [what, s] of Object.entries(needles)) assert.ok(!rows.includes(s), `${what} found in the table`);
  // Nor in any other table (the access log, events ...): dump the whole database.
  const dump = execFileSync('pg_dump', ['--data-only', gw.dbUrl], { encoding: 'utf8', maxBuffer: 64 << 20 });
  for (const [what, s] of Object.entries(needles)) assert.ok(!dump.includes(s), `${what} found in the database`);
  assert.ok(!gw.stderr().includes(PASSWORD) && !gw.stderr().includes('BEGIN'), 'secrets in the gateway log');
});

test('vault_read: plugins get the decrypted PEMs of the account; 404 when none or for another name', async () => {
  assert.equal((await put('apple', appleBody({ wwdr_pem: read('wwdr.pem') }))).status, 200);
  assert.equal((await put('google', googleBody())).status, 200);
  const a = await vault('apple');
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(Object.keys(a.body).sort(),
    ['certificate_pem', 'pass_type_identifier', 'private_key_pem', 'team_identifier', 'wwdr_pem']);
  assert.equal(a.body.pass_type_identifier, PTID);
  assert.equal(a.body.team_identifier, TEAM);
  assert.equal(pemBody(a.body.certificate_pem), pemBody(read('pass.pem')));
  assert.equal(pemBody(a.body.wwdr_pem), pemBody(read('wwdr.pem')));
  assert.match(a.body.private_key_pem, /^-----BEGIN PRIVATE KEY-----/);
  const pub = (k) => crypto.createPublicKey(k).export({ type: 'spki', format: 'pem' });
  assert.equal(pub(a.body.private_key_pem), pub(read('pass.pem')), 'the key matches the certificate');

  const g = await vault('google');
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(Object.keys(g.body).sort(), ['client_email', 'issuer_id', 'private_key_id', 'private_key_pem', 'token_uri']);
  assert.equal(g.body.issuer_id, '3388000000022122304');
  assert.equal(g.body.token_uri, 'https://oauth2.googleapis.com/token');
  assert.equal(pub(g.body.private_key_pem), pub(read('sa.key')));
  // signs as the uploaded key would
  const sig = crypto.sign('sha256', Buffer.from('x'), g.body.private_key_pem);
  assert.ok(crypto.verify('sha256', Buffer.from('x'), crypto.createPublicKey(read('sa.key')), sig));

  // without wwdr: null
  assert.equal((await put('apple', appleBody())).status, 200);
  assert.equal((await vault('apple')).body.wwdr_pem, null);

  assertError(await vault('webhook_secret'), 404);
  assertError(await vault('apple', B.key), 404);
  assert.equal((await del('google')).status, 200);
  assertError(await vault('google'), 404);
});

test('a sealed value copied to another account does not open there', async () => {
  assert.equal((await put('apple', appleBody())).status, 200);
  gw.sql(`INSERT INTO credentials (account_id, platform, sealed, key_version, meta)
          SELECT '${B.account}', platform, sealed, key_version, meta FROM credentials
          WHERE account_id = '${A.account}' AND platform = 'apple'`);
  assert.equal((await get('apple', B.key)).status, 200, 'the metadata row is there');
  const r = await vault('apple', B.key);
  assert.equal(r.status, 500, r.text);
  assert.match(r.body.error.message, /^cryptographic operation failed: /);
  assert.ok(!r.text.includes('BEGIN'));
  assert.equal((await vault('apple')).status, 200, "A's own still opens");
});

// apple-signer's require_apple_wwdr: "appleca" stands in for Apple's WWDR intermediate (the operator's
// wwdr_ca_file); the suite's own "wwdr" CA and a look-alike of appleca are anyone's CAs.
const appleWith = (config) => ({ plugin_dir: pluginDir, plugins: [{ name: 'apple-signer', config }] });
test('require_apple_wwdr: only certificates that chain to the configured WWDR are accepted', async () => {
  makeCa('appleca', '/C=US/O=Apple Inc./OU=G4/CN=Apple Worldwide Developer Relations Certification Authority');
  makeCa('fakeapple', '/C=US/O=Apple Inc./OU=G4/CN=Apple Worldwide Developer Relations Certification Authority');
  signPass('applepass', { subject: PASS_SUBJECT, ca: 'appleca' });
  signPass('fakepass', { subject: PASS_SUBJECT, ca: 'fakeapple' });
  p12('applepass', 'applepass');
  p12('fakepass', 'fakepass');
  fs.writeFileSync(f('trusted.pem'), read('appleca.pem'));

  // off (the test configuration): a certificate from any CA is taken
  const off = await put('apple', appleBody({ wwdr_pem: read('wwdr.pem') }));
  assert.equal(off.status, 200, off.text);
  assert.equal((await put('apple', appleBody({ p12_base64: b64('fakepass.p12'), wwdr_pem: read('fakeapple.pem') }))).status, 200);

  const g2 = await startGateway({ config: appleWith({ require_apple_wwdr: true, wwdr_ca_file: f('trusted.pem') }) });
  try {
    const acct = g2.account();
    const up = (body) => g2.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body });
    // the suite's CA, with and without naming it, and inside the P12
    for (const body of [appleBody({ wwdr_pem: read('wwdr.pem') }), appleBody(), appleBody({ p12_base64: b64('chain.p12') }),
      // a self-made CA that copies the WWDR's name: the signature does not chain
      appleBody({ p12_base64: b64('fakepass.p12'), wwdr_pem: read('fakeapple.pem') }),
      appleBody({ p12_base64: b64('fakepass.p12') })]) {
      const e = assertError(await up(body), 400, { param: 'wwdr_pem', code: 'parameter_invalid' });
      assert.match(e.message, /does not chain to Apple's WWDR/);
    }
    assert.equal(g2.sql('SELECT count(*) FROM credentials'), '0', 'nothing stored');
    // issued by the configured WWDR: accepted, with the intermediate given or taken from the file
    let r = await up(appleBody({ p12_base64: b64('applepass.p12'), wwdr_pem: read('appleca.pem') }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.has_wwdr, true);
    r = await up(appleBody({ p12_base64: b64('applepass.p12') }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.has_wwdr, true, 'the issuer comes from wwdr_ca_file');
    // a wwdr_pem that is not the issuer is still refused
    assertError(await up(appleBody({ p12_base64: b64('applepass.p12'), wwdr_pem: read('wwdr.pem') })), 400, { param: 'wwdr_pem' });
  } finally {
    await g2.stop();
  }

  // the option needs its file, and a file with certificates in it
  await assert.rejects(startGateway({ config: appleWith({ require_apple_wwdr: true }) }),
    /plugin "apple-signer".*config\.wwdr_ca_file: required when config\.require_apple_wwdr is true/);
  fs.writeFileSync(f('empty.pem'), 'no certificates here\n');
  await assert.rejects(startGateway({ config: appleWith({ require_apple_wwdr: true, wwdr_ca_file: f('empty.pem') }) }),
    /config\.wwdr_ca_file .*holds no PEM certificate/);
  await assert.rejects(startGateway({ config: appleWith({ require_apple_wwdr: true, wwdr_ca_file: f('missing.pem') }) }),
    /config\.wwdr_ca_file .*missing\.pem: No such file/);
  await assert.rejects(startGateway({ config: appleWith({ require_apple_wwdr: 'yes' }) }),
    /config\.require_apple_wwdr: must be true or false/);
});
