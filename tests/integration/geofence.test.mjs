// geofence plugin: locations, beacons and max_distance on passes and
// templates (every validation rule, 400 naming the element), their Apple
// rendering (pass.json inside the signed pkpass, apple-signer) and Google
// rendering (merchantLocations in the save-link JWT, google-jwt), and the
// core's GET /api/v1/passes?near=lat,lng&radius_m= against a brute-force
// great-circle check on random data (poles and the antimeridian included).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, assertError, BIN } from './lib/harness.mjs';

let jose;
try { jose = await import('jose'); } catch { jose = null; }
const { startGoogleStandin } = jose ? await import('./lib/google-standin.mjs') : {};

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-geo-'));
const f = (name) => path.join(dir, name);
const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

// Apple: a throwaway CA stands in for WWDR (as in apple-signer.test.mjs).
const PTID = 'pass.com.example.geo';
const TEAM = 'ABCDE12345';
const PASSWORD = 'p12-Passw0rd';
function makePki() {
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional', ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wwdr.key', '-out', 'wwdr.pem', '-days', '30',
    '-subj', '/C=US/O=Test Apple/OU=G4/CN=Fake Worldwide Developer Relations Certification Authority');
  ssl('genrsa', '-out', 'pass.key', '2048');
  fs.writeFileSync(f('pass.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature',
    'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid', `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${PTID}`, ''].join('\n'));
  ssl('req', '-new', '-key', 'pass.key', '-out', 'pass.csr', '-subj', `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=${TEAM}/O=Example Inc./C=US`);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key',
    '-in', 'pass.csr', '-out', 'pass.pem', '-days', '30', '-extfile', 'pass.ext', '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass.pem', '-passout', `pass:${PASSWORD}`, '-out', 'pass.p12');
}

// Google: a service account and the local stand-in (as in google-jwt.test.mjs).
const ISSUER = '3388000000022122304';
const EMAIL = 'wallet-signer@walletpass-test.iam.gserviceaccount.com';
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const serviceAccount = {
  type: 'service_account', project_id: 'walletpass-test', private_key_id: crypto.randomBytes(20).toString('hex'),
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: EMAIL, client_id: '123456789012345678901',
  auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: 'https://oauth2.googleapis.com/token',
};

let gw, g, A, B;
before(async () => {
  makePki();
  const plugins = [{ name: 'geofence' }, { name: 'apple-signer' }];
  if (jose) {
    g = await startGoogleStandin({ issuerId: ISSUER, clientEmail: EMAIL, publicKey });
    plugins.push({ name: 'google-jwt', config: { api_base_url: g.apiBase, token_url: g.tokenUrl, origins: ['https://shop.example'] } });
  }
  gw = await startGateway({ config: { plugin_dir: PLUGIN_DIR, plugins, jobs: { workers: 2 } } });
  A = gw.account();
  B = gw.account();
  const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: A.key, body: {
    p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: PASSWORD,
    pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
  } });
  assert.equal(r.status, 200, r.text);
  if (jose) {
    const gr = await gw.request('PUT', '/api/v1/credentials/google', { key: A.key, body: { issuer_id: ISSUER, service_account_json: serviceAccount } });
    assert.equal(gr.status, 200, gr.text);
  }
});
after(async () => {
  if (gw) await gw.stop();
  if (g) await g.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const BASE = { pass_type: 'loyalty', organization_name: 'Geo Coffee', primary_fields: [{ key: 'p', label: 'Points', value: '1' }], barcode_message: 'G-1' };
const UUID = 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0';
const loc = (lat, lng, extra = {}) => ({ latitude: lat, longitude: lng, ...extra });
const create = (body, key = A.key) => gw.request('POST', '/api/v1/passes', { key, body: { ...BASE, ...body } });

// [what, body fields, param, code]
const BAD = [
  ['an 11th location', { locations: Array.from({ length: 11 }, (_, i) => loc(i, i)) }, 'locations', 'parameter_invalid'],
  ['a latitude of 91', { locations: [loc(91, 0)] }, 'locations[0].latitude', 'parameter_invalid'],
  ['a latitude of -90.5', { locations: [loc(0, 0), loc(-90.5, 0)] }, 'locations[1].latitude', 'parameter_invalid'],
  ['a longitude of 180.01', { locations: [loc(0, 180.01)] }, 'locations[0].longitude', 'parameter_invalid'],
  ['a longitude of -181', { locations: [loc(0, -181)] }, 'locations[0].longitude', 'parameter_invalid'],
  ['a latitude as a string', { locations: [loc('45', 0)] }, 'locations[0].latitude', 'parameter_invalid'],
  ['no latitude', { locations: [{ longitude: 1 }] }, 'locations[0].latitude', 'parameter_missing'],
  ['no longitude', { locations: [{ latitude: 1 }] }, 'locations[0].longitude', 'parameter_missing'],
  ['an altitude as a string', { locations: [loc(1, 1, { altitude: 'high' })] }, 'locations[0].altitude', 'parameter_invalid'],
  ['an empty relevant_text', { locations: [loc(1, 1, { relevant_text: '' })] }, 'locations[0].relevant_text', 'parameter_invalid'],
  ['an unknown location key', { locations: [loc(1, 1, { radius: 100 })] }, 'locations[0].radius', 'parameter_unknown'],
  ['a location that is not an object', { locations: [[1, 2]] }, 'locations[0]', 'parameter_invalid'],
  ['locations not an array', { locations: loc(1, 1) }, 'locations', 'parameter_invalid'],
  ['an 11th beacon', { beacons: Array.from({ length: 11 }, () => ({ proximity_uuid: UUID })) }, 'beacons', 'parameter_invalid'],
  ['a bad UUID', { beacons: [{ proximity_uuid: 'not-a-uuid' }] }, 'beacons[0].proximity_uuid', 'parameter_invalid'],
  ['a UUID one digit short', { beacons: [{ proximity_uuid: UUID }, { proximity_uuid: UUID.slice(0, -1) }] }, 'beacons[1].proximity_uuid', 'parameter_invalid'],
  ['no proximity_uuid', { beacons: [{ major: 1 }] }, 'beacons[0].proximity_uuid', 'parameter_missing'],
  ['a major of 65536', { beacons: [{ proximity_uuid: UUID, major: 65536 }] }, 'beacons[0].major', 'parameter_invalid'],
  ['a minor of -1', { beacons: [{ proximity_uuid: UUID, major: 1, minor: -1 }] }, 'beacons[0].minor', 'parameter_invalid'],
  ['a fractional major', { beacons: [{ proximity_uuid: UUID, major: 1.5 }] }, 'beacons[0].major', 'parameter_invalid'],
  ['a minor without major', { beacons: [{ proximity_uuid: UUID, minor: 1 }] }, 'beacons[0].minor', 'parameter_invalid'],
  ['an unknown beacon key', { beacons: [{ proximity_uuid: UUID, power: -59 }] }, 'beacons[0].power', 'parameter_unknown'],
  ['an empty beacon relevant_text', { beacons: [{ proximity_uuid: UUID, relevant_text: '' }] }, 'beacons[0].relevant_text', 'parameter_invalid'],
  ['a max_distance of 0', { max_distance: 0 }, 'max_distance', 'parameter_invalid'],
  ['a max_distance over 1,000 km', { max_distance: 1000001 }, 'max_distance', 'parameter_invalid'],
  ['a max_distance as a string', { max_distance: '100' }, 'max_distance', 'parameter_invalid'],
];

test('validation on create: every rule is a 400 naming the element, and nothing is stored', async () => {
  const count = () => Number(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${A.account}'`));
  const before = count();
  for (const [what, body, param, code] of BAD) {
    const r = await create(body);
    assertError(r, 400, { param, code, type: 'invalid_request_error' });
    assert.ok(r.body.error.message.length > 0, what);
  }
  assert.equal(count(), before);
  // the limits themselves are fine
  const ok = await create({
    locations: [loc(-90, -180), loc(90, 180, { altitude: -10.5, relevant_text: 'North' }), ...Array.from({ length: 8 }, (_, i) => loc(i, -i))],
    beacons: Array.from({ length: 10 }, (_, i) => ({ proximity_uuid: UUID.toLowerCase(), major: 65535, minor: i, relevant_text: 'Door' })),
    max_distance: 1000000,
  });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.locations.length, 10);
  assert.equal(ok.body.max_distance, 1000000);
});

test('validation on update and on templates: the same rules (templates name body.<element>)', async () => {
  const p = await create({ locations: [loc(1, 2)] });
  assert.equal(p.status, 201, p.text);
  for (const [, body, param, code] of BAD) {
    assertError(await gw.request('PUT', `/api/v1/passes/${p.body.id}`, { key: A.key, body }), 400, { param, code });
    assertError(await gw.request('POST', '/api/v1/templates', { key: A.key, body: { name: 't', body } }), 400, { param: `body.${param}`, code });
  }
  const u = await gw.request('PUT', `/api/v1/passes/${p.body.id}`, { key: A.key, body: { locations: [loc(3, 4)], max_distance: 50 } });
  assert.equal(u.status, 200, u.text);
  assert.deepEqual(u.body.locations, [loc(3, 4)]);
  // a template with locations gives them to its passes; a bad pass over a good template is still refused
  const t = await gw.request('POST', '/api/v1/templates', { key: A.key, body: { name: 'stores', body: { locations: [loc(5, 6)], beacons: [{ proximity_uuid: UUID, major: 7 }] } } });
  assert.equal(t.status, 201, t.text);
  const fromT = await create({ template_id: t.body.id });
  assert.equal(fromT.status, 201, fromT.text);
  assert.deepEqual(fromT.body.locations, [loc(5, 6)]);
  assertError(await create({ template_id: t.body.id, beacons: [{ proximity_uuid: 'x' }] }), 400, { param: 'beacons[0].proximity_uuid' });
});

/** Unzips a pkpass (unzip CLI); returns pass.json. */
function passJson(buf) {
  const d = fs.mkdtempSync(path.join(dir, 'pk-'));
  fs.writeFileSync(path.join(d, 'p.pkpass'), buf);
  execFileSync('unzip', ['-q', path.join(d, 'p.pkpass'), '-d', path.join(d, 'x')]);
  // the signature covers the manifest, and the manifest covers pass.json
  ssl('smime', '-verify', '-binary', '-inform', 'DER', '-in', path.join(d, 'x', 'signature'), '-content',
    path.join(d, 'x', 'manifest.json'), '-CAfile', f('wwdr.pem'), '-purpose', 'any', '-out', path.join(d, 'verified'));
  const manifest = JSON.parse(fs.readFileSync(path.join(d, 'x', 'manifest.json'), 'utf8'));
  const raw = fs.readFileSync(path.join(d, 'x', 'pass.json'));
  assert.equal(manifest['pass.json'], crypto.createHash('sha1').update(raw).digest('hex'));
  return JSON.parse(raw.toString('utf8'));
}

const RENDERED = {
  locations: [loc(48.8584, 2.2945, { altitude: 35, relevant_text: 'The Eiffel Tower shop' }), loc(-33.8568, 151.2153)],
  beacons: [{ proximity_uuid: UUID, major: 1, minor: 2, relevant_text: 'At the door' }, { proximity_uuid: UUID.toLowerCase() }],
  max_distance: 250,
};

test('Apple: the signed pass.json has locations, beacons and maxDistance in Apple\'s keys', async () => {
  const p = await create(RENDERED);
  assert.equal(p.status, 201, p.text);
  assert.ok(p.body.pkpass_url, p.text);
  const r = await fetch(p.body.pkpass_url);
  assert.equal(r.status, 200);
  const pj = passJson(Buffer.from(await r.arrayBuffer()));
  assert.deepEqual(pj.locations, [
    { latitude: 48.8584, longitude: 2.2945, altitude: 35, relevantText: 'The Eiffel Tower shop' },
    { latitude: -33.8568, longitude: 151.2153 },
  ]);
  assert.deepEqual(pj.beacons, [
    { proximityUUID: UUID, major: 1, minor: 2, relevantText: 'At the door' },
    { proximityUUID: UUID.toLowerCase() },
  ]);
  assert.equal(pj.maxDistance, 250);
  // an update moves them (a new version is rendered); a pass without any has none
  const u = await gw.request('PUT', `/api/v1/passes/${p.body.id}`, { key: A.key, body: { locations: [loc(1, 2)], beacons: null, max_distance: null } });
  assert.equal(u.status, 200, u.text);
  const pj2 = passJson(Buffer.from(await (await fetch(p.body.pkpass_url)).arrayBuffer()));
  assert.deepEqual(pj2.locations, [{ latitude: 1, longitude: 2 }]);
  assert.equal(pj2.beacons, undefined);
  assert.equal(pj2.maxDistance, undefined);
  const bare = await create({});
  const pj3 = passJson(Buffer.from(await (await fetch(bare.body.pkpass_url)).arrayBuffer()));
  assert.equal(pj3.locations, undefined);
  assert.equal(pj3.beacons, undefined);
});

test('Google: the save link\'s object carries merchantLocations (latitude, longitude; at most 10)', { skip: jose ? false : 'npm jose missing' }, async () => {
  const ten = Array.from({ length: 10 }, (_, i) => loc(10 + i / 100, 20 - i / 100, i % 2 ? { relevant_text: 'x' } : {}));
  for (const locations of [RENDERED.locations, ten]) {
    const p = await create({ ...RENDERED, locations });
    assert.equal(p.status, 201, p.text);
    assert.ok(p.body.google_save_url, p.text);
    const token = p.body.google_save_url.split('/').at(-1);
    const { payload } = await jose.jwtVerify(token, publicKey, { algorithms: ['RS256'], issuer: EMAIL, audience: 'google' });
    let obj = payload.payload.loyaltyObjects[0];
    if (!obj.state) obj = g.store.get(`loyaltyObject/${obj.id}`); // skinny link: the object went over REST
    assert.ok(obj, JSON.stringify(payload));
    assert.deepEqual(obj.merchantLocations, locations.map((l) => ({ latitude: l.latitude, longitude: l.longitude })));
  }
});

// ---- ?near= ---------------------------------------------------------------------

const R = 6371008.8;
const rad = (d) => (d * Math.PI) / 180;
function haversine(lat1, lng1, lat2, lng2) {
  const h = Math.sin(rad(lat2 - lat1) / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lng2 - lng1) / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Every pass id of a near query, through the pages. */
async function nearIds(key, lat, lng, radius, extra = '') {
  const ids = [];
  let after = '';
  for (;;) {
    const r = await gw.request('GET', `/api/v1/passes?near=${lat},${lng}&radius_m=${radius}&limit=100${after}${extra}`, { key });
    assert.equal(r.status, 200, r.text);
    ids.push(...r.body.data.map((p) => p.id));
    if (!r.body.has_more) return ids;
    after = `&starting_after=${r.body.data.at(-1).id}`;
  }
}

test('near: query parameters are checked (400 naming near or radius_m)', async () => {
  const bad = [
    ['near=1,2', 'radius_m'], ['radius_m=10', 'near'], ['near=abc&radius_m=10', 'near'], ['near=1&radius_m=10', 'near'],
    ['near=91,0&radius_m=10', 'near'], ['near=0,-180.5&radius_m=10', 'near'], ['near=nan,0&radius_m=10', 'near'],
    ['near=1,2,3&radius_m=10', 'near'], ['near=0x1,2&radius_m=10', 'near'], ['near=1,2&radius_m=0', 'radius_m'],
    ['near=1,2&radius_m=1000001', 'radius_m'], ['near=1,2&radius_m=ten', 'radius_m'], ['near=1,2&radius_m=inf', 'radius_m'],
    ['near=1,2&radius_m=', 'radius_m'],
  ];
  for (const [qs, param] of bad) assertError(await gw.request('GET', `/api/v1/passes?${qs}`, { key: A.key }), 400, { param });
  const ok = await gw.request('GET', '/api/v1/passes?near=-90,180&radius_m=1000000', { key: A.key });
  assert.equal(ok.status, 200, ok.text);
});

test('near: the same passes as a brute-force great-circle check on random data (poles, antimeridian, paging, filters)', async () => {
  // a fresh account: random passes around a few centres, created through a batch
  const acct = gw.account();
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const centres = [[48.85, 2.35], [0, 179.95], [0, -179.95], [89.9, 0], [-89.95, 120], [35.68, 139.76]];
  const jitter = (c, spread) => {
    const lat = Math.max(-90, Math.min(90, c[0] + (rnd() - 0.5) * spread));
    let lng = c[1] + (rnd() - 0.5) * spread * 2;
    if (lng > 180) lng -= 360;
    if (lng < -180) lng += 360;
    return loc(Number(lat.toFixed(6)), Number(lng.toFixed(6)));
  };
  const bodies = Array.from({ length: 400 }, (_, i) => {
    const n = 1 + Math.floor(rnd() * 3);
    const locations = Array.from({ length: n }, () => jitter(centres[Math.floor(rnd() * centres.length)], rnd() < 0.5 ? 0.2 : 3));
    return { ...BASE, barcode_message: `N-${i}`, ...(i % 17 === 3 ? {} : { locations }) };
  });
  const br = await gw.request('POST', '/api/v1/passes/batch', { key: acct.key, body: { passes: bodies } });
  assert.equal(br.status, 202, br.text);
  let items;
  for (let t = 0; t < 600; t++) {
    const s = await gw.request('GET', `/api/v1/batches/${br.body.id}?limit=100`, { key: acct.key });
    if (s.body.status === 'completed') { assert.equal(s.body.succeeded, 400, s.text); break; }
    await new Promise((res) => setTimeout(res, 100));
  }
  items = [];
  for (let after = -1; after < 399; after += 100) {
    const s = await gw.request('GET', `/api/v1/batches/${br.body.id}?limit=100${after >= 0 ? `&starting_after=${after}` : ''}`, { key: acct.key });
    assert.equal(s.status, 200, s.text);
    items.push(...s.body.items.data);
  }
  assert.equal(items.length, 400);
  const passes = items.map((it) => ({ id: it.pass_id, locations: bodies[it.index].locations || [] }));
  // another account's passes at the same places never show
  assert.equal((await create({ locations: [loc(48.85, 2.35), loc(0, 179.95)] }, B.key)).status, 201);
  let compared = 0;
  const queries = [[48.85, 2.35, 5000], [48.85, 2.35, 30000], [0, 180, 20000], [0, -179.99, 100000], [89.99, 45, 50000],
    [-90, 0, 200000], [35.68, 139.76, 1000], [35.68, 139.76, 1000000], [10, 10, 1]];
  for (let k = 0; k < 12; k++) {
    const c = centres[Math.floor(rnd() * centres.length)];
    queries.push([...Object.values(jitter(c, 1)), Math.round(1 + rnd() * 200000)]);
  }
  for (const [lat, lng, radius] of queries) {
    const got = new Set(await nearIds(acct.key, lat, lng, radius));
    const want = new Set();
    const ambiguous = new Set();
    for (const p of passes) {
      const ds = p.locations.map((l) => haversine(lat, lng, l.latitude, l.longitude));
      if (ds.some((d) => d <= radius)) want.add(p.id);
      if (ds.some((d) => Math.abs(d - radius) < 1e-6 * Math.max(1, radius))) ambiguous.add(p.id); // float ties at the edge
    }
    for (const id of ambiguous) { got.delete(id); want.delete(id); }
    assert.deepEqual([...got].sort(), [...want].sort(), `near=${lat},${lng} radius_m=${radius}`);
    compared += want.size;
  }
  assert.ok(compared > 100, `the queries found passes (${compared})`);
  // filters combine with near: a voided pass, then status=active
  const some = await nearIds(acct.key, 48.85, 2.35, 30000);
  assert.ok(some.length > 2);
  assert.equal((await gw.request('DELETE', `/api/v1/passes/${some[0]}`, { key: acct.key })).status, 200);
  const active = await nearIds(acct.key, 48.85, 2.35, 30000, '&status=active');
  assert.deepEqual(active, some.slice(1));
  // the index follows updates: a pass moved away is no longer near
  const moved = await gw.request('PUT', `/api/v1/passes/${some[1]}`, { key: acct.key, body: { locations: [loc(-45, -45)] } });
  assert.equal(moved.status, 200, moved.text);
  assert.ok(!(await nearIds(acct.key, 48.85, 2.35, 30000)).includes(some[1]));
  assert.deepEqual(await nearIds(acct.key, -45, -45, 10), [some[1]]);
  assert.equal(gw.sql(`SELECT count(*) FROM passes_locations WHERE pass_id = '${some[1]}'`), '1');
});
