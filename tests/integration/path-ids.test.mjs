// Path parameters are percent-decoded by the router, segment by segment, and
// a value is never handed on cut short: a segment that decodes to a NUL byte
// is refused on every route (404 for object ids, 400 for other parameters),
// before anything is read, changed or deleted.  Run over the whole route
// table (`walletpass routes`), with real objects behind the ids, so that a
// truncated id would find them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, assertError } from './lib/harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-pathids-'));
const PTID = 'pass.com.example.pathids';
const TEAM = 'ABCDE12345';
const PASSWORD = 'p12-Passw0rd';
const f = (name) => path.join(dir, name);
const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** A throwaway CA standing in for Apple's WWDR, and a Pass Type ID certificate it signed (P12). */
function makePki() {
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional',
    ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wwdr.key', '-out', 'wwdr.pem', '-days', '30',
    '-subj', '/C=US/O=Test Apple/OU=G4/CN=Fake Worldwide Developer Relations Certification Authority');
  ssl('genrsa', '-out', 'pass.key', '2048');
  fs.writeFileSync(f('pass.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature',
    'extendedKeyUsage = clientAuth', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
    `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${PTID}`, ''].join('\n'));
  ssl('req', '-new', '-key', 'pass.key', '-out', 'pass.csr', '-subj',
    `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=${TEAM}/O=Example Inc./C=US`);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key',
    '-in', 'pass.csr', '-out', 'pass.pem', '-days', '30', '-extfile', 'pass.ext', '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass.pem', '-passout', `pass:${PASSWORD}`, '-out', 'pass.p12');
}

/** authenticationToken of a bundle's pass.json (unzip CLI). */
function authToken(buf) {
  const d = fs.mkdtempSync(path.join(dir, 'pk-'));
  fs.writeFileSync(path.join(d, 'p.pkpass'), buf);
  return JSON.parse(execFileSync('unzip', ['-p', path.join(d, 'p.pkpass'), 'pass.json'], { encoding: 'utf8' })).authenticationToken;
}

let gw, a, pass, tpl, key2, hook, applePass, appleToken, routes;

before(async () => {
  makePki();
  gw = await startGateway({
    config: {
      rate_limit: { requests_per_second: 0 },
      outbound: { allow_private_targets: true },
      plugins: [
        { name: 'apple-signer' },
        { name: 'apns', config: { host: '127.0.0.1', port: 1 } },
        { name: 'google-jwt' },
        { name: 'webhooks', config: { allow_http: true } },
      ],
    },
  });
  a = gw.account();
  const up = await gw.request('PUT', '/api/v1/credentials/apple', { key: a.key, body: {
    p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: PASSWORD,
    pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
  } });
  assert.equal(up.status, 200, up.text);
  const body = { pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans' };
  let r = await gw.request('POST', '/api/v1/passes', { key: a.key, body });
  assert.equal(r.status, 201, r.text);
  pass = r.body;
  r = await gw.request('POST', '/api/v1/templates', { key: a.key, body: { name: 'T', body } });
  assert.equal(r.status, 201, r.text);
  tpl = r.body;
  r = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'second' } });
  assert.equal(r.status, 201, r.text);
  key2 = r.body;
  r = await gw.request('POST', '/api/v1/webhooks', { key: a.key,
    body: { url: 'http://127.0.0.1:1/hook', event_types: ['pass.created'] } });
  assert.equal(r.status, 201, r.text);
  hook = r.body;
  applePass = pass;
  const pk = await fetch(pass.pkpass_url);
  assert.equal(pk.status, 200);
  appleToken = authToken(Buffer.from(await pk.arrayBuffer()));
  routes = gw.cli(['routes']).split('\n').map((l) => {
    const [method, pattern, auth, owner] = l.split(' ');
    return { method, pattern, auth, owner };
  });
});
after(async () => {
  if (gw) await gw.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A real value for each parameter of a pattern, so that a value cut at the NUL would find something. */
function valueFor(pattern, name) {
  if (name === 'id') {
    if (pattern.startsWith('/api/v1/passes/')) return pass.id;
    if (pattern.startsWith('/api/v1/templates/')) return tpl.id;
    if (pattern.startsWith('/api/v1/api_keys/')) return key2.id;
    if (pattern.startsWith('/api/v1/webhooks/')) return hook.id;
    if (pattern.startsWith('/api/v1/batches/')) return 'bat_01jz8m5k3q2v7w9x0y1z2a3b4c';
  }
  if (name === 'pass_id') return pass.id;
  if (name === 'delivery_id') return 'whd_01jz8m5k3q2v7w9x0y1z2a3b4c';
  if (name === 'ptid') return PTID;
  if (name === 'serial') return applePass.serial_number;
  if (name === 'device') return 'dev0a1b2c3d4e5f60718293a4b5c6d7e8f';
  return 'x';
}

const isObjectId = (name) => name === 'id' || name.endsWith('_id');

function call(rt, p) {
  const headers = {};
  if (rt.auth === 'pass_token') headers.authorization = `ApplePass ${appleToken}`;
  const withBody = rt.method === 'POST' || rt.method === 'PUT';
  return gw.request(rt.method, p, { key: rt.auth === 'api_key' ? a.key : undefined, headers,
    body: withBody ? {} : undefined });
}

test('every route: a parameter that decodes to a NUL byte is refused, never cut short', async () => {
  const withParams = routes.filter((rt) => rt.pattern.includes('/:'));
  assert.ok(withParams.length >= 20, `routes with parameters: ${withParams.length}`);
  for (const rt of withParams) {
    const names = [...rt.pattern.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
    for (const bad of names) {
      for (const suffix of ['%00zz', '%00']) {
        const p = rt.pattern.replace(/:([A-Za-z0-9_]+)/g, (_, n) =>
          encodeURIComponent(valueFor(rt.pattern, n)) + (n === bad ? suffix : ''));
        const r = await call(rt, p);
        const what = `${rt.method} ${p}`;
        if (rt.method === 'HEAD') {
          assert.equal(r.status, isObjectId(bad) ? 404 : 400, what);
          continue;
        }
        if (isObjectId(bad)) assertError(r, 404, { code: 'resource_missing', param: bad });
        else assertError(r, 400, { code: 'parameter_invalid', param: bad });
        assert.match(r.body.error.message, /NUL/, what);
      }
    }
  }
  // nothing was deleted, rotated or changed behind the refusals
  let r = await gw.request('GET', `/api/v1/passes/${pass.id}`, { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.version, pass.version);
  r = await gw.request('GET', `/api/v1/templates/${tpl.id}`, { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.version, tpl.version);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: key2.key })).status, 200);
  r = await gw.request('GET', `/api/v1/webhooks/${hook.id}`, { key: a.key });
  assert.equal(r.status, 200, r.text);
});

test('the cases as reported: passes, templates and the Apple web service', async () => {
  for (const m of ['GET', 'PUT', 'DELETE']) {
    for (const base of [`/api/v1/passes/${pass.id}`, `/api/v1/templates/${tpl.id}`]) {
      const r = await gw.request(m, `${base}%00zz`, { key: a.key, body: m === 'PUT' ? {} : undefined });
      assertError(r, 404, { code: 'resource_missing', param: 'id' });
    }
  }
  assert.equal((await gw.request('GET', `/api/v1/templates/${tpl.id}`, { key: a.key })).status, 200, 'the template is still there');
  assert.equal((await gw.request('GET', `/api/v1/passes/${pass.id}`, { key: a.key })).status, 200, 'the pass is still there');
  const apple = (p) => fetch(`${gw.url}/apple/v1/passes/${p}`, { headers: { authorization: `ApplePass ${appleToken}` } });
  // the baseline: the pass itself is served to its token
  assert.equal((await apple(`${PTID}/${applePass.serial_number}`)).status, 200);
  let r = await apple(`${PTID}/${applePass.serial_number}%00`);
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.param, 'serial');
  // bytes a serial number cannot hold: 400 from the web service, naming serialNumber
  for (const tail of ['%01', '%20', '%2F', '%3F', '%C3%A9', '!']) {
    r = await apple(`${PTID}/${applePass.serial_number}${tail}`);
    assert.equal(r.status, 400, tail);
    const e = (await r.json()).error;
    assert.equal(e.param, 'serialNumber', tail);
  }
  r = await apple(`${PTID}%01/${applePass.serial_number}`);
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.param, 'passTypeIdentifier');
  r = await fetch(`${gw.url}/apple/v1/devices/dev%0A1/registrations/${PTID}`);
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.param, 'deviceLibraryIdentifier');
});

test('other decoded bytes reach the route whole: never a different object', async () => {
  for (const tail of ['%01', '%2F', '%2Fx', '%3Fx', '%23', '%20', 'z']) {
    assertError(await gw.request('GET', `/api/v1/passes/${pass.id}${tail}`, { key: a.key }), 404);
    assertError(await gw.request('GET', `/api/v1/templates/${tpl.id}${tail}`, { key: a.key }), 404);
  }
  // spelled with escapes, the same id is the same object
  const spelled = [...pass.id].map((c) => '%' + c.charCodeAt(0).toString(16)).join('');
  const r = await gw.request('GET', `/api/v1/passes/${spelled}`, { key: a.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, pass.id);
  // an encoded '/' never splits a segment: no route has this shape
  assertError(await gw.request('GET', `/api/v1%2Fpasses/${pass.id}`, { key: a.key }), 404, { code: 'route_not_found' });
});

test('malformed percent-encoding and paths that are not UTF-8 are 400', async () => {
  for (const p of ['/api/v1/passes/%zz', '/api/v1/passes/%4', '/api/v1/passes/abc%', '/api/v1/passes/%FF', '/healthz%C3']) {
    assertError(await gw.request('GET', p, { key: a.key }), 400, { code: 'malformed_request', param: 'path' });
  }
});
