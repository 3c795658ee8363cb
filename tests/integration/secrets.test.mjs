// Secrets at rest and in logs: after a session that uploads Apple and Google
// credentials, creates, uses and rotates API keys and webhook secrets (with
// Idempotency-Key, whose records store responses), signs a pkpass and delivers
// a signed webhook, no plaintext secret is found in the server log (stderr at
// log_level debug), the access log, or any table (pg_dump of the whole database,
// where bytea columns appear hex-encoded, so each secret is searched as text
// and as hex).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor, BIN } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-secrets-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const f = (n) => path.join(dir, n);
// The suite blocks node in synchronous psql/CLI calls, longer than the server's 5 s keep-alive on a
// loaded machine: the server would close a pooled connection node cannot notice closing, and fetch
// does not retry a POST on it.  So the server keeps idle connections longer.
const SERVER = { keep_alive_timeout_ms: 120000 };
const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const PTID = 'pass.com.example.secrets';
const TEAM = 'ABCDE12345';
const PASSWORD = 'p12-' + crypto.randomBytes(12).toString('hex');

/** The base64 lines of a PEM body (each 64 characters but the last). */
const pemLines = (pem) => pem.split('\n').filter((l) => l && !l.startsWith('-----') && l.length >= 24);

function makeCredentials() {
  ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'pass.key');
  ssl('req', '-new', '-x509', '-key', 'pass.key', '-out', 'pass.pem', '-days', '30',
    '-subj', `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=${TEAM}/O=Example Inc./C=US`,
    '-addext', `1.2.840.113635.100.6.1.16=ASN1:UTF8String:${PTID}`, '-addext', 'basicConstraints=CA:FALSE');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass.pem', '-passout', `pass:${PASSWORD}`, '-out', 'pass.p12');
  ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key');
  // the key as the gateway re-encodes it (PKCS#8 and traditional forms), in case either is stored
  const forms = [];
  for (const k of ['pass.key', 'sa.key']) {
    forms.push(fs.readFileSync(f(k), 'utf8'));
    forms.push(ssl('pkey', '-in', k));
    forms.push(ssl('rsa', '-in', k, '-traditional'));
  }
  return forms;
}

function receiver() {
  const got = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => { got.push({ headers: req.headers, body }); res.writeHead(204).end(); });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({ srv, got, url: `http://127.0.0.1:${srv.address().port}/hook` })));
}

test('no plaintext secret in the server log, the access log or any table', async () => {
  const keyPems = makeCredentials();
  const rx = await receiver();
  const gw = await startGateway({
    config: {
      server: SERVER,
      log_level: 'debug',
      jobs: { workers: 2, poll_ms: 50 },
      outbound: { allow_private_targets: true },
      plugin_dir: path.join(BUILD_DIR, 'plugins'),
      // google-jwt owns the Google credentials uploaded below; its Google API is a closed local port
      plugins: [{ name: 'apple-signer' }, { name: 'webhooks', config: { allow_http: true } },
        { name: 'google-jwt', config: { api_base_url: 'http://127.0.0.1:9/v1', token_url: 'http://127.0.0.1:9/token' } }],
    },
  });
  const secrets = { 'P12 password': PASSWORD, 'master key': gw.env.WALLETPASS_MASTER_KEY };
  let stopped = false;
  try {
    const a = gw.account();
    secrets['CLI API key'] = a.key;
    const key = a.key;
    const idem = () => ({ 'Idempotency-Key': crypto.randomUUID() });

    let r = await gw.request('PUT', '/api/v1/credentials/apple', { key, body: {
      p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: PASSWORD,
      pass_type_identifier: PTID, team_identifier: TEAM } });
    assert.equal(r.status, 200, r.text);
    r = await gw.request('PUT', '/api/v1/credentials/google', { key, body: { issuer_id: '3388000000022122304', service_account_json: {
      type: 'service_account', project_id: 'p', private_key_id: 'a1b2c3', private_key: fs.readFileSync(f('sa.key'), 'utf8'),
      client_email: 'wallet@p.iam.gserviceaccount.com', token_uri: 'https://oauth2.googleapis.com/token' } } });
    assert.equal(r.status, 200, r.text);
    // a wrong password too: its refusal is logged and answered without quoting it
    const wrong = 'wrong-' + crypto.randomBytes(8).toString('hex');
    secrets['wrong P12 password'] = wrong;
    r = await gw.request('PUT', '/api/v1/credentials/apple', { key, body: {
      p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: wrong,
      pass_type_identifier: PTID, team_identifier: TEAM } });
    assert.equal(r.status, 400, r.text);

    r = await gw.request('POST', '/api/v1/api_keys', { key, body: { name: 'second' }, headers: idem() });
    assert.equal(r.status, 201, r.text);
    secrets['API key (POST)'] = r.body.key;
    r = await gw.request('POST', `/api/v1/api_keys/${r.body.id}/rotate`, { key, headers: idem() });
    assert.ok(r.status === 200 || r.status === 201, r.text);
    secrets['API key (rotated)'] = r.body.key;
    // a wrong key in a request is not logged either
    const bogus = 'sk_live_' + crypto.randomBytes(32).toString('base64url');
    secrets['unknown API key'] = bogus;
    assert.equal((await gw.request('GET', '/api/v1/account', { key: bogus })).status, 401);

    const whBody = { url: rx.url, event_types: ['pass.created'] };
    const whIdem = idem();
    r = await gw.request('POST', '/api/v1/webhooks', { key, body: whBody, headers: whIdem });
    assert.equal(r.status, 201, r.text);
    // a retry with the same Idempotency-Key does not show the secret again
    const again = await gw.request('POST', '/api/v1/webhooks', { key, body: whBody, headers: whIdem });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.error.code, 'idempotency_response_secret');
    const wh = r.body.id;
    secrets['webhook secret'] = r.body.secret;
    assert.equal(r.headers.get('cache-control'), 'no-store');
    r = await gw.request('POST', `/api/v1/webhooks/${wh}/rotate_secret`, { key, headers: idem() });
    assert.equal(r.status, 200, r.text);
    secrets['webhook secret (rotated)'] = r.body.secret;

    r = await gw.request('POST', '/api/v1/passes', { key, body: { pass_type: 'generic', organization_name: 'Secret Co',
      primary_fields: [{ key: 'n', label: 'N', value: 'x' }] }, headers: idem() });
    assert.equal(r.status, 201, r.text);
    const pk = await fetch(r.body.pkpass_url);
    assert.equal(pk.status, 200);
    await waitFor(() => rx.got.length >= 1, { timeout: 60000, what: 'the webhook delivery' });
    await waitFor(() => gw.sql("SELECT count(*) FROM access_logs") !== '0', { timeout: 120000, what: 'the access log' });

    await gw.stop();
    stopped = true;
    const dump = execFileSync('pg_dump', ['--data-only', '--no-owner', '--no-privileges', gw.dbUrl],
      { encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.ok(dump.includes('COPY public.access_logs') && dump.includes('COPY public.credentials'), 'the dump has the tables');
    const places = { 'server log': gw.stderr(), 'database dump': dump };

    const needles = [];
    for (const [what, s] of Object.entries(secrets)) {
      assert.ok(s && s.length >= 16, `${what} is known`);
      // the whole value and its secret part (the first 14 characters of an API key are its public prefix;
      // "whsec_" is a fixed prefix)
      const core = s.startsWith('sk_live_') ? s.slice(14) : s.startsWith('whsec_') ? s.slice(6) : s;
      needles.push([what, core]);
      needles.push([`${what} (hex)`, Buffer.from(core).toString('hex')]);
    }
    for (const pem of keyPems) for (const l of pemLines(pem)) {
      needles.push(['private key line', l]);
      needles.push(['private key line (hex)', Buffer.from(l).toString('hex')]);
    }
    const found = [];
    for (const [place, text] of Object.entries(places))
      for (const [what, n] of needles)
        if (text.includes(n)) found.push(`${what} in the ${place}`);
    assert.deepEqual([...new Set(found)], [], 'plaintext secrets found');
  } finally {
    if (!stopped) await gw.stop();
    rx.srv.close();
  }
});
