// apple-signer plugin: signed .pkpass bundles.  A throwaway CA stands
// in for Apple's WWDR and signs a Pass Type ID certificate (openssl CLI, at test
// time); the P12 is uploaded with PUT /api/v1/credentials/apple.  One pass of each
// type with every field group is downloaded through its capability link and with
// the API key, unzipped (unzip CLI), and checked: manifest hashes, the detached
// PKCS#7 signature (openssl smime -verify against the test CA, signingTime
// present), pass.json exactly; then the HTTP caching and access rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import https from 'node:https';
import { startGateway, assertError, waitFor } from './lib/harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-apple-'));
const PTID = 'pass.com.example.apple';
const TEAM = 'ABCDE12345';
const PASSWORD = 'p12-Passw0rd';
const f = (name) => path.join(dir, name);
const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

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
    'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
    `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${PTID}`, ''].join('\n'));
  ssl('req', '-new', '-key', 'pass.key', '-out', 'pass.csr', '-subj',
    `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=${TEAM}/O=Example Inc./C=US`);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key',
    '-in', 'pass.csr', '-out', 'pass.pem', '-days', '30', '-extfile', 'pass.ext', '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass.pem', '-passout', `pass:${PASSWORD}`, '-out', 'pass.p12');
  // a TLS certificate for 127.0.0.1 from the same CA: the image server below
  ssl('genrsa', '-out', 'tls.key', '2048');
  fs.writeFileSync(f('tls.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'subjectAltName = IP:127.0.0.1', ''].join('\n'));
  ssl('req', '-new', '-key', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key', '-in', 'tls.csr',
    '-out', 'tls.pem', '-days', '30', '-extfile', 'tls.ext', '-extensions', 'ext');
}

// An https image host: /icon.png (a PNG), /text (not a PNG), /big (too large), /moved (a redirect), /slow (never answers),
// /late.png (a PNG, sent 900 ms late).
const hits = {};
let images;
function startImages() {
  const icon = png(4, 4);
  images = https.createServer({ key: fs.readFileSync(f('tls.key')), cert: fs.readFileSync(f('tls.pem')) }, (req, res) => {
    hits[req.url] = (hits[req.url] || 0) + 1;
    if (req.url.startsWith('/icon.png')) return res.end(icon);
    if (req.url === '/text') return res.end('<html>not an image</html>');
    if (req.url === '/big') return res.end(Buffer.concat([icon, Buffer.alloc(1200000)]));
    if (req.url === '/moved') { res.writeHead(302, { location: '/icon.png' }); return res.end(); }
    if (req.url === '/slow') return; // never answers
    if (req.url.startsWith('/late.png')) return setTimeout(() => res.end(icon), 900);
    res.writeHead(404); res.end();
  });
  return new Promise((resolve) => images.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${images.address().port}`)));
}

// A real w x h PNG written here (signature, IHDR, IDAT, IEND), for a user-given icon.
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h, 0x80);
  for (let y = 0; y < h; y++) raw[y * (w * 3 + 1)] = 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

let gw, A, B, C, IMG;
before(async () => {
  makePki();
  IMG = await startImages();
  gw = await startGateway({ config: {
    outbound: { allow_private_targets: true }, // the image host is on loopback
    plugins: [{ name: 'apple-signer', config: { cache_mb: 8, image_ca_file: f('wwdr.pem'), image_timeout_ms: 1500 } }],
  } });
  A = gw.account();
  B = gw.account();
  C = gw.account();
  const body = {
    p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: PASSWORD,
    pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
  };
  for (const acct of [A, C]) {
    const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body });
    assert.equal(r.status, 200, r.text);
  }
});
after(async () => {
  if (gw) await gw.stop();
  if (images) { images.closeAllConnections(); images.close(); }
  fs.rmSync(dir, { recursive: true, force: true });
});

const FIELDS = {
  header_fields: [{ key: 'h1', label: 'Header', value: 'H', change_message: 'Header now %@' }],
  secondary_fields: [{ key: 's1', label: 'Second', value: 'S' }],
  auxiliary_fields: [{ key: 'x1', label: 'Aux', value: 42 }],
  back_fields: [{ key: 'b1', label: 'Back', value: 'Terms apply' }],
};
const PASSES = {
  generic: { pass_type: 'generic', organization_name: 'Generic Org', primary_fields: [{ key: 'p1', label: 'Name', value: 'Ada' }],
    ...FIELDS, barcode_message: 'GEN-1', barcode_format: 'aztec', relevant_date: '2026-05-01T19:30:00.000Z' },
  loyalty: {
    pass_type: 'loyalty', organization_name: 'Solstice Coffee Co.', logo_text: 'Solstice', background_color: '#1a1a2e',
    foreground_color: '#ffffff', label_color: '#FF8000', primary_fields: [{ key: 'points', label: 'Points', value: '2,450' }],
    ...FIELDS, barcode_message: 'MEMBER-00421', program_name: 'Beans', account_name: 'Ada L.',
  },
  coupon: { pass_type: 'coupon', organization_name: 'Shop', description: 'A coupon', offer_title: '10% off',
    offer_details: 'On everything', valid_until: '2026-12-31T23:59:00Z', ...FIELDS,
    barcode_message: 'C-123', barcode_format: 'pdf417', barcode_alt_text: 'C 123' },
  event: { pass_type: 'event', organization_name: 'Hall', event_name: 'Night Concert', venue_name: 'Big Hall',
    event_start: '2026-05-01T19:30:00+02:00', seat_section: 'A', seat_row: '3', seat_number: '12', ...FIELDS,
    primary_fields: undefined, barcode_message: 'TICKET-9', barcode_format: 'code128', expiration_date: '2026-05-02T00:00:00Z' },
};
const STYLE = { generic: 'generic', loyalty: 'storeCard', coupon: 'coupon', event: 'eventTicket' };

async function create(acct, body) {
  const r = await gw.request('POST', '/api/v1/passes', { key: acct.key, body: JSON.parse(JSON.stringify(body)) });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function get(url, headers = {}) {
  const r = await fetch(url, { headers });
  return { status: r.status, headers: r.headers, buf: Buffer.from(await r.arrayBuffer()) };
}

/** Unzips a pkpass with the unzip CLI into a fresh folder; returns { dir, files }. */
function unpack(buf) {
  const d = fs.mkdtempSync(path.join(dir, 'pk-'));
  fs.writeFileSync(path.join(d, 'pass.pkpass'), buf);
  const out = path.join(d, 'x');
  execFileSync('unzip', ['-q', path.join(d, 'pass.pkpass'), '-d', out]);
  return { dir: out, files: fs.readdirSync(out).sort() };
}

/** Checks the bundle's layout, manifest hashes and signature; returns pass.json. */
function checkBundle(buf) {
  assert.equal(buf.subarray(0, 4).toString('binary'), 'PK\x03\x04');
  const { dir: d, files } = unpack(buf);
  const manifest = JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
  // every file but manifest.json and signature is in the manifest, nothing else, nothing in folders
  assert.deepEqual(Object.keys(manifest).sort(), files.filter((x) => x !== 'manifest.json' && x !== 'signature'));
  for (const [name, hash] of Object.entries(manifest)) {
    assert.match(hash, /^[0-9a-f]{40}$/);
    assert.equal(hash, crypto.createHash('sha1').update(fs.readFileSync(path.join(d, name))).digest('hex'), name);
  }
  assert.ok(files.includes('icon.png'), 'icon.png is mandatory');
  // the detached PKCS#7 signature verifies against the test WWDR with the manifest as content
  ssl('smime', '-verify', '-binary', '-inform', 'DER', '-in', path.join(d, 'signature'), '-content',
    path.join(d, 'manifest.json'), '-CAfile', f('wwdr.pem'), '-purpose', 'any', '-out', path.join(d, 'verified'));
  assert.deepEqual(fs.readFileSync(path.join(d, 'verified')), fs.readFileSync(path.join(d, 'manifest.json')));
  const printed = ssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', path.join(d, 'signature'));
  assert.match(printed, /signingTime/);
  assert.match(printed, /eContent: <ABSENT>/); // detached
  assert.equal((printed.match(/cert_info:/g) || []).length, 2, 'the signer and the WWDR certificate are embedded');
  const raw = fs.readFileSync(path.join(d, 'pass.json'));
  assert.notEqual(raw[0], 0xef, 'no BOM');
  return { pj: JSON.parse(raw.toString('utf8')), files, dir: d };
}

const passes = {};
test('links: pkpass_url only for accounts with Apple credentials, with a capability', async () => {
  for (const t of Object.keys(PASSES)) passes[t] = await create(A, PASSES[t]);
  for (const p of Object.values(passes)) {
    assert.match(p.pkpass_url, new RegExp(`^${gw.url}/api/v1/passes/${p.id}/pkpass\\?t=[A-Za-z0-9_-]{16,}$`));
  }
  const r = await gw.request('GET', `/api/v1/passes/${passes.loyalty.id}`, { key: A.key });
  assert.equal(r.body.pkpass_url, passes.loyalty.pkpass_url);
  const nb = await create(B, PASSES.loyalty);
  assert.equal(nb.pkpass_url, null);
  // lists too: each pass its own link (one vault read per request), none for B
  const la = await gw.request('GET', '/api/v1/passes?limit=100', { key: A.key });
  assert.equal(la.status, 200, la.text);
  assert.equal(la.body.data.length, 4);
  for (const x of la.body.data) assert.equal(x.pkpass_url, Object.values(passes).find((p) => p.id === x.id).pkpass_url);
  const lb = await gw.request('GET', '/api/v1/passes', { key: B.key });
  assert.deepEqual(lb.body.data.map((x) => x.pkpass_url), [null]);
  // without credentials the endpoint says what to do
  const e = assertError(await gw.request('GET', `/api/v1/passes/${nb.id}/pkpass`, { key: B.key }), 409,
    { code: 'apple_credentials_missing' });
  assert.match(e.message, /PUT \/api\/v1\/credentials\/apple/);
});

for (const type of Object.keys(PASSES)) {
  test(`${type}: the pkpass unzips, its hashes match, its signature verifies, pass.json is exact`, async () => {
    const p = passes[type];
    const r = await get(p.pkpass_url);
    assert.equal(r.status, 200, r.buf.toString());
    assert.equal(r.headers.get('content-type'), 'application/vnd.apple.pkpass');
    assert.equal(Number(r.headers.get('content-length')), r.buf.length);
    assert.match(r.headers.get('etag'), /^"\d+-[0-9a-f]{16}"$/);
    // Last-Modified only once the change is a minute old (the validators' test below)
    const lm = r.headers.get('last-modified');
    if (lm) assert.equal(new Date(lm).getTime(), Math.floor(Date.parse(p.updated_at) / 1000) * 1000);
    const { pj, files } = checkBundle(r.buf);
    assert.deepEqual(files, ['icon.png', 'icon@2x.png', 'icon@3x.png', 'manifest.json', 'pass.json', 'signature']);
    const src = PASSES[type];
    const style = STYLE[type];
    assert.equal(pj.formatVersion, 1);
    assert.equal(pj.passTypeIdentifier, PTID);
    assert.equal(pj.teamIdentifier, TEAM);
    assert.equal(pj.serialNumber, p.serial_number);
    assert.equal(pj.organizationName, src.organization_name);
    assert.equal(pj.description, src.description || `${src.organization_name} ${type}`);
    assert.equal(pj.webServiceURL, `${gw.url}/apple`);
    assert.ok(!pj.webServiceURL.endsWith('/'));
    assert.equal(typeof pj.authenticationToken, 'string');
    assert.ok(pj.authenticationToken.length >= 16);
    for (const s of Object.values(STYLE)) assert.equal(s in pj, s === style, `only the ${style} style key`);
    const groups = pj[style];
    assert.deepEqual(groups.headerFields[0], { key: 'h1', label: 'Header', value: 'H', changeMessage: 'Header now %@' });
    assert.deepEqual(groups.secondaryFields[0], { key: 's1', label: 'Second', value: 'S' });
    assert.deepEqual(groups.auxiliaryFields[0], { key: 'x1', label: 'Aux', value: 42 });
    assert.deepEqual(groups.backFields[0], { key: 'b1', label: 'Back', value: 'Terms apply' });
    const allKeys = Object.values(groups).flat().map((x) => x.key);
    assert.equal(new Set(allKeys).size, allKeys.length, 'field keys are unique in the pass');
    const fmt = { qr: 'PKBarcodeFormatQR', aztec: 'PKBarcodeFormatAztec', pdf417: 'PKBarcodeFormatPDF417', code128: 'PKBarcodeFormatCode128' };
    const first = { format: fmt[src.barcode_format || 'qr'], message: src.barcode_message, messageEncoding: 'iso-8859-1',
      ...(src.barcode_alt_text ? { altText: src.barcode_alt_text } : {}) };
    const expectBarcodes = src.barcode_format === 'code128' ? [first, { ...first, format: 'PKBarcodeFormatQR' }] : [first];
    assert.deepEqual(pj.barcodes, expectBarcodes);
    assert.equal('voided' in pj, false);
    if (type === 'loyalty') {
      // the documented example: everything, exactly
      assert.deepEqual(pj, {
        formatVersion: 1, passTypeIdentifier: PTID, teamIdentifier: TEAM, serialNumber: p.serial_number,
        organizationName: 'Solstice Coffee Co.', description: 'Solstice Coffee Co. loyalty', logoText: 'Solstice',
        backgroundColor: 'rgb(26, 26, 46)', foregroundColor: 'rgb(255, 255, 255)', labelColor: 'rgb(255, 128, 0)',
        storeCard: {
          headerFields: [{ key: 'h1', label: 'Header', value: 'H', changeMessage: 'Header now %@' }],
          primaryFields: [{ key: 'points', label: 'Points', value: '2,450' }],
          secondaryFields: [{ key: 's1', label: 'Second', value: 'S' }, { key: 'account_name', label: 'Member', value: 'Ada L.' }],
          auxiliaryFields: [{ key: 'x1', label: 'Aux', value: 42 }],
          backFields: [{ key: 'b1', label: 'Back', value: 'Terms apply' }, { key: 'program_name', label: 'Program', value: 'Beans' }],
        },
        barcodes: [{ format: 'PKBarcodeFormatQR', message: 'MEMBER-00421', messageEncoding: 'iso-8859-1' }],
        webServiceURL: `${gw.url}/apple`, authenticationToken: pj.authenticationToken,
      });
    }
    if (type === 'event') {
      assert.deepEqual(groups.primaryFields, [{ key: 'event_name', label: 'Event', value: 'Night Concert' }]);
      assert.deepEqual(groups.secondaryFields.slice(1), [
        { key: 'venue_name', label: 'Venue', value: 'Big Hall' },
        { key: 'event_start', label: 'Starts', value: '2026-05-01T19:30:00+02:00', dateStyle: 'PKDateStyleMedium', timeStyle: 'PKDateStyleShort' },
      ]);
      assert.deepEqual(groups.auxiliaryFields.slice(1).map((x) => [x.key, x.value]), [['seat_section', 'A'], ['seat_row', '3'], ['seat_number', '12']]);
      assert.equal(pj.relevantDate, '2026-05-01T19:30:00+02:00');
      assert.equal(pj.expirationDate, '2026-05-02T00:00:00Z');
    }
    if (type === 'coupon') {
      assert.deepEqual(groups.primaryFields, [{ key: 'offer_title', label: 'Offer', value: '10% off' }]);
      assert.equal(pj.expirationDate, '2026-12-31T23:59:00Z');
      assert.equal('relevantDate' in pj, false, 'relevantDate is not supported on coupons');
      assert.ok(groups.backFields.some((x) => x.key === 'offer_details' && x.value === 'On everything'));
    }
    if (type === 'generic') assert.equal(pj.relevantDate, '2026-05-01T19:30:00Z');
    for (const k of ['backgroundColor', 'foregroundColor', 'labelColor'])
      if (k in pj) assert.match(pj[k], /^rgb\(\d{1,3}, \d{1,3}, \d{1,3}\)$/);
  });
}

test('with the API key: the same cached bundle; HEAD; ETag and Last-Modified give 304', async () => {
  const p = passes.loyalty;
  const path_ = `/api/v1/passes/${p.id}/pkpass`;
  // Last-Modified has whole seconds: none while another change could still carry the same one
  gw.sql(`UPDATE passes SET updated_at = now() WHERE id = '${p.id}'`);
  // a change made outside the API reaches the process's memory of the pass by notification
  await waitFor(async () => (await get(p.pkpass_url)).headers.get('last-modified') === null,
    { timeout: 30000, what: 'the change seen' });
  const fresh = await get(p.pkpass_url);
  assert.equal(fresh.status, 200);
  assert.equal(fresh.headers.get('last-modified'), null);
  assert.equal((await get(p.pkpass_url, { 'if-modified-since': new Date(Date.now() + 3600000).toUTCString() })).status, 200,
    'no If-Modified-Since answered before then');
  // a minute later it is given out (the change is made older here)
  gw.sql(`UPDATE passes SET updated_at = updated_at - interval '2 minutes' WHERE id = '${p.id}'`);
  await waitFor(async () => (await get(p.pkpass_url)).headers.get('last-modified') !== null,
    { timeout: 30000, what: 'the older change seen' });
  const byLink = await get(p.pkpass_url);
  const byKey = await get(gw.url + path_, { authorization: `Bearer ${A.key}` });
  assert.equal(byKey.status, 200);
  assert.ok(byKey.buf.equals(byLink.buf), 'one build per version: the same bytes');
  assert.equal(byKey.headers.get('etag'), byLink.headers.get('etag'));
  const etag = byKey.headers.get('etag');
  const lm = byKey.headers.get('last-modified');
  let r = await get(p.pkpass_url, { 'if-none-match': etag });
  assert.equal(r.status, 304);
  assert.equal(r.buf.length, 0);
  assert.equal(r.headers.get('etag'), etag);
  r = await get(gw.url + path_, { authorization: `Bearer ${A.key}`, 'if-none-match': `"other", W/${etag}` });
  assert.equal(r.status, 304);
  r = await get(p.pkpass_url, { 'if-none-match': '"0-0000000000000000"' });
  assert.equal(r.status, 200);
  r = await get(p.pkpass_url, { 'if-modified-since': lm });
  assert.equal(r.status, 304);
  r = await get(p.pkpass_url, { 'if-modified-since': new Date(Date.parse(lm) - 1000).toUTCString() });
  assert.equal(r.status, 200);
  // If-None-Match wins over If-Modified-Since
  r = await get(p.pkpass_url, { 'if-none-match': '"nope"', 'if-modified-since': lm });
  assert.equal(r.status, 200);
  const h = await fetch(p.pkpass_url, { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.headers.get('etag'), etag);
  assert.equal((await h.arrayBuffer()).byteLength, 0);
});

test('an update makes a new version: new ETag, new pass.json, same serial and token, same link', async () => {
  const p = passes.generic;
  const before_ = await get(p.pkpass_url);
  const oldPj = checkBundle(before_.buf).pj;
  const u = await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: A.key, body: { logo_text: 'Changed' } });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.pkpass_url, p.pkpass_url);
  const after_ = await get(p.pkpass_url, { 'if-none-match': before_.headers.get('etag') });
  assert.equal(after_.status, 200);
  assert.notEqual(after_.headers.get('etag'), before_.headers.get('etag'));
  const pj = checkBundle(after_.buf).pj;
  assert.equal(pj.logoText, 'Changed');
  assert.equal(pj.serialNumber, oldPj.serialNumber);
  assert.equal(pj.authenticationToken, oldPj.authenticationToken);
  // voiding is rendered as voided: true
  const d = await gw.request('DELETE', `/api/v1/passes/${p.id}`, { key: A.key });
  assert.equal(d.status, 200, d.text);
  const v = await get(p.pkpass_url);
  assert.equal(v.status, 200);
  assert.equal(checkBundle(v.buf).pj.voided, true);
});

test('access: a wrong or foreign capability is 404; no key and no capability is 401; another account is 404', async () => {
  const p = passes.coupon;
  const base = `${gw.url}/api/v1/passes/${p.id}/pkpass`;
  const t = new URL(p.pkpass_url).searchParams.get('t');
  const flip = (t[0] === 'A' ? 'B' : 'A') + t.slice(1);
  for (const url of [`${base}?t=${flip}`, `${base}?t=`, `${base}?t=${'x'.repeat(400)}`,
    `${gw.url}/api/v1/passes/${passes.event.id}/pkpass?t=${t}`, `${gw.url}/api/v1/passes/pass_nothere/pkpass?t=${t}`]) {
    const r = await fetch(url);
    const body = await r.json();
    assert.equal(r.status, 404, url);
    assert.equal(body.error.code, 'resource_missing');
  }
  // parameters a mail tool appends do not break the link
  assert.equal((await fetch(`${p.pkpass_url}&utm_source=newsletter`)).status, 200);
  // C has credentials too: its pass's capability does not open A's pass
  const cp = await create(C, PASSES.generic);
  const ct = new URL(cp.pkpass_url).searchParams.get('t');
  assert.equal((await fetch(`${base}?t=${ct}`)).status, 404);
  assertError(await gw.request('GET', `/api/v1/passes/${p.id}/pkpass`), 401, { code: 'api_key_missing' });
  assertError(await gw.request('GET', `/api/v1/passes/${p.id}/pkpass`, { key: 'sk_live_' + 'x'.repeat(43) }), 401);
  assertError(await gw.request('GET', `/api/v1/passes/${p.id}/pkpass`, { key: C.key }), 404, { code: 'resource_missing' });
  assertError(await gw.request('GET', `/api/v1/passes/${p.id}/pkpass`, { key: B.key }), 404);
});

test('images: a given icon replaces the default; a corrupted or oversized image is a 400 naming it', async () => {
  const icon = png(2, 3);
  const p = await create(A, { ...PASSES.generic, images: { icon: icon.toString('base64'), hero: icon.toString('base64') } });
  const r = await get(p.pkpass_url);
  assert.equal(r.status, 200);
  const { files, dir: d } = checkBundle(r.buf);
  assert.deepEqual(files, ['icon.png', 'manifest.json', 'pass.json', 'signature']);
  assert.ok(fs.readFileSync(path.join(d, 'icon.png')).equals(icon));
  // a PNG whose first chunk is damaged (IHDR -> XHDR): past the core's signature check, refused by the plugin
  const bad = Buffer.from(icon);
  bad[12] = 0x58;
  const corrupt = bad.toString('base64');
  const e = assertError(await gw.request('POST', '/api/v1/passes', { key: A.key, body: { ...PASSES.generic, images: { logo: corrupt } } }),
    400, { param: 'images.logo', code: 'image_invalid' });
  assert.match(e.message, /IHDR|PNG/);
  // larger than max_image_bytes (1 MiB by default), still a real PNG: refused, naming the image
  const big = Buffer.concat([icon.subarray(0, icon.length - 12), Buffer.alloc(1100000), icon.subarray(icon.length - 12)]);
  assertError(await gw.request('POST', '/api/v1/passes', { key: A.key, body: { ...PASSES.generic, images: { strip: big.toString('base64') } } }),
    400, { param: 'images.strip' });
  // the update path runs the same check
  assertError(await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: A.key, body: { images: { icon: corrupt } } }),
    400, { param: 'images.icon', code: 'image_invalid' });
});

test('concurrent first downloads of a new version build it once and all get the same bytes', async () => {
  const builds = async () => {
    const m = await (await fetch(gw.url + '/metrics')).text();
    const x = m.match(/^walletpass_apple_signer_pkpass_builds_total (\d+)/m);
    assert.ok(x, 'the builds counter is exported');
    return Number(x[1]);
  };
  const p = await create(A, PASSES.event);
  const before_ = await builds();
  const rs = await Promise.all(Array.from({ length: 12 }, () => get(p.pkpass_url)));
  for (const r of rs) {
    assert.equal(r.status, 200);
    assert.ok(r.buf.equals(rs[0].buf));
  }
  assert.equal(await builds(), before_ + 1, 'twelve concurrent downloads, one signature');
});

test('image URLs: fetched once over https with the SSRF pin, checked as PNG, cached per URL', async () => {
  const icon = png(4, 4);
  const url = `${IMG}/icon.png?v=1`;
  const p1 = await create(A, { ...PASSES.generic, images: { icon: url } });
  const p2 = await create(A, { ...PASSES.loyalty, images: { icon: url, logo: `${IMG}/icon.png?v=2` } });
  for (const p of [p1, p2]) {
    const r = await get(p.pkpass_url);
    assert.equal(r.status, 200, r.buf.toString());
    const { files, dir: d } = checkBundle(r.buf);
    assert.ok(fs.readFileSync(path.join(d, 'icon.png')).equals(icon));
    assert.ok(!files.includes('icon@2x.png'), 'a given icon replaces the default set');
  }
  assert.equal(hits['/icon.png?v=1'], 1, 'one fetch for two passes');
  assert.equal(hits['/icon.png?v=2'], 1);
  // what cannot be used fails the download with the image named, and is not cached
  const cases = [['/text', 400, 'image_invalid', /PNG/], ['/big', 400, 'image_invalid', /larger than/],
    ['/moved', 502, 'image_unavailable', /HTTP 302/], ['/slow', 502, 'image_unavailable', /timed out|Timeout/i]];
  for (const [p_, status, code, msg] of cases) {
    const p = await create(A, { ...PASSES.generic, images: { logo: IMG + p_ } });
    const e = assertError(await gw.request('GET', `/api/v1/passes/${p.id}/pkpass`, { key: A.key }), status, { code, param: 'images.logo' });
    assert.match(e.message, msg);
  }
  assert.equal(hits['/icon.png'] || 0, 0, 'the redirect was not followed');
});

test('image URLs: the fetches of one bundle share image_timeout_ms (the download waits on a worker)', async () => {
  // each image alone arrives within the 1500 ms, both together cannot (at least 1800 ms)
  const p = await create(A, { ...PASSES.generic, images: { icon: `${IMG}/late.png?v=1`, logo: `${IMG}/late.png?v=2` } });
  const e = assertError(await gw.request('GET', `/api/v1/passes/${p.id}/pkpass`, { key: A.key }), 502,
    { code: 'image_unavailable', param: 'images.logo' });
  assert.match(e.message, /timed out|in all/i);
});

test('image URLs: a URL the SSRF rules refuse is a 400 when the pass is written', async () => {
  const e = assertError(await gw.request('POST', '/api/v1/passes', { key: A.key,
    body: { ...PASSES.generic, images: { logo: 'https://169.254.169.254/latest/logo.png' } } }), 400,
    { param: 'images.logo', code: 'image_invalid' });
  assert.match(e.message, /refused/);
});

// Last: it replaces account A's credentials.
test('new credentials are used at once: the signature follows the uploaded certificate', async () => {
  // a second CA and certificate for the same pass type
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wwdr2.key', '-out', 'wwdr2.pem', '-days', '30',
    '-subj', '/C=US/O=Test Apple/OU=G4/CN=Second Fake WWDR');
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr2.pem', '-keyfile', 'wwdr2.key',
    '-in', 'pass.csr', '-out', 'pass2.pem', '-days', '30', '-extfile', 'pass.ext', '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass2.pem', '-passout', `pass:${PASSWORD}`, '-out', 'pass2.p12');
  const p = passes.event;
  const first = await get(p.pkpass_url);
  const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: A.key, body: {
    p12_base64: fs.readFileSync(f('pass2.p12')).toString('base64'), p12_password: PASSWORD,
    pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr2.pem'), 'utf8') } });
  assert.equal(r.status, 200, r.text);
  const second = await get(p.pkpass_url, { 'if-none-match': first.headers.get('etag') });
  assert.equal(second.status, 200, 'new credentials change the ETag');
  const { dir: d } = unpack(second.buf);
  assert.throws(() => ssl('smime', '-verify', '-binary', '-inform', 'DER', '-in', path.join(d, 'signature'), '-content',
    path.join(d, 'manifest.json'), '-CAfile', f('wwdr.pem'), '-purpose', 'any', '-out', '/dev/null'));
  ssl('smime', '-verify', '-binary', '-inform', 'DER', '-in', path.join(d, 'signature'), '-content',
    path.join(d, 'manifest.json'), '-CAfile', f('wwdr2.pem'), '-purpose', 'any', '-out', '/dev/null');
});
