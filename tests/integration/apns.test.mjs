// apns plugin: Apple's pass web service and an APNs push on every update.
// A throwaway CA stands in for Apple's WWDR: it signs the Pass Type ID certificates
// (uploaded as P12) and the TLS certificate of a local HTTP/2 APNs stand-in (Node's
// http2, requestCert: true) that accepts only client certificates from that CA whose
// subject UID is the pass type identifier.  A "phone" downloads the pkpass, reads
// webServiceURL and authenticationToken from pass.json (unzip), registers, and follows
// the protocol of Apple's Wallet web-service protocol after every update.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor, sleep } from './lib/harness.mjs';
import { createStandIn } from './lib/apns_standin.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-apns-'));
const PTID = 'pass.com.example.apns';
const PTID_B = 'pass.com.example.other';
const PTID_C = 'pass.com.example.fanout';
const TEAM = 'ABCDE12345';
const PASSWORD = 'p12-Passw0rd';
const f = (name) => path.join(dir, name);
const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

function passCert(name, ptid) {
  ssl('genrsa', '-out', `${name}.key`, '2048');
  fs.writeFileSync(f(`${name}.ext`), ['[ ext ]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature',
    'extendedKeyUsage = clientAuth', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
    `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${ptid}`, ''].join('\n'));
  ssl('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj',
    `/UID=${ptid}/CN=Pass Type ID: ${ptid}/OU=${TEAM}/O=Example Inc./C=US`);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key',
    '-in', `${name}.csr`, '-out', `${name}.pem`, '-days', '30', '-extfile', `${name}.ext`, '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', `${name}.key`, '-in', `${name}.pem`, '-passout', `pass:${PASSWORD}`, '-out', `${name}.p12`);
}

function makePki() {
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional',
    ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wwdr.key', '-out', 'wwdr.pem', '-days', '30',
    '-subj', '/C=US/O=Test Apple/OU=G4/CN=Fake Worldwide Developer Relations Certification Authority');
  passCert('pass', PTID);
  passCert('other', PTID_B);
  passCert('fanout', PTID_C);
  // the stand-in's TLS certificate for 127.0.0.1, from the same CA (the plugin's ca_file)
  ssl('genrsa', '-out', 'tls.key', '2048');
  fs.writeFileSync(f('tls.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'subjectAltName = IP:127.0.0.1', ''].join('\n'));
  ssl('req', '-new', '-key', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key', '-in', 'tls.csr',
    '-out', 'tls.pem', '-days', '30', '-extfile', 'tls.ext', '-extensions', 'ext');
}

// ---- the APNs stand-in --------------------------------------------------------------
// Tokens starting "gone" answer 410 Unregistered, "bad" 400 BadDeviceToken, "busy" 503
// on their first push and 200 after; everything else 200.
const pushes = [];
let apns, sessions; // sessions: the stand-in's counts (TLS connections, resets, GOAWAYs)
function startApns() {
  apns = createStandIn({ key: fs.readFileSync(f('tls.key')), cert: fs.readFileSync(f('tls.pem')), ca: fs.readFileSync(f('wwdr.pem')) });
  sessions = apns.stats;
  apns.h2.on('stream', (stream, headers) => {
    const peer = stream.session.tls.getPeerCertificate();
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => (body += d));
    stream.on('end', () => {
      const token = decodeURIComponent(String(headers[':path']).replace('/3/device/', ''));
      const p = { method: headers[':method'], path: headers[':path'], token, topic: headers['apns-topic'],
        pushType: headers['apns-push-type'], priority: headers['apns-priority'], expiration: headers['apns-expiration'],
        body, subjectUID: peer && peer.subject && peer.subject.UID, issuerCN: peer && peer.issuer && peer.issuer.CN,
        authorized: stream.session.tls.authorized };
      pushes.push(p);
      const answer = (status, reason, extra = {}) => {
        stream.respond({ ':status': status, 'apns-id': `id-${pushes.length}`, 'content-type': 'application/json' });
        stream.end(reason ? JSON.stringify({ reason, ...extra }) : undefined);
      };
      if (p.method !== 'POST' || !p.path.startsWith('/3/device/')) return answer(404, 'BadPath');
      if (!p.authorized || p.subjectUID !== p.topic) return answer(403, 'BadCertificate');
      if (token.startsWith('gone')) return answer(410, 'Unregistered', { timestamp: Date.now() });
      if (token.startsWith('bad')) return answer(400, 'BadDeviceToken');
      if (token.startsWith('busy') && pushes.filter((x) => x.token === token).length === 1) return answer(503, 'ServiceUnavailable');
      answer(200);
    });
  });
  return new Promise((resolve) => apns.listen(0, '127.0.0.1', () => resolve(apns.address().port)));
}

let gw, A, B, C;
before(async () => {
  makePki();
  const port = await startApns();
  gw = await startGateway({ config: {
    plugins: [
      { name: 'apple-signer', config: { cache_mb: 8 } },
      { name: 'apns', config: { host: '127.0.0.1', port, ca_file: f('wwdr.pem'), timeout_ms: 60000 } },
    ],
  } });
  A = gw.account();
  B = gw.account();
  C = gw.account();
  for (const [acct, name, ptid] of [[A, 'pass', PTID], [B, 'other', PTID_B], [C, 'fanout', PTID_C]]) {
    const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body: {
      p12_base64: fs.readFileSync(f(`${name}.p12`)).toString('base64'), p12_password: PASSWORD,
      pass_type_identifier: ptid, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
    } });
    assert.equal(r.status, 200, r.text);
  }
});
after(async () => {
  if (gw) await gw.stop();
  if (apns) apns.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function createPass(acct, extra = {}) {
  const r = await gw.request('POST', '/api/v1/passes', { key: acct.key, body: {
    pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans',
    primary_fields: [{ key: 'points', label: 'Points', value: '100', change_message: 'You have %@ points' }], ...extra,
  } });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

/** pass.json of a bundle (unzip CLI). */
function passJson(buf) {
  assert.equal(buf.subarray(0, 4).toString('binary'), 'PK\x03\x04');
  const d = fs.mkdtempSync(path.join(dir, 'pk-'));
  fs.writeFileSync(path.join(d, 'p.pkpass'), buf);
  return JSON.parse(execFileSync('unzip', ['-p', path.join(d, 'p.pkpass'), 'pass.json'], { encoding: 'utf8' }));
}

/** A phone: Wallet's side of the protocol. */
class Phone {
  constructor(device, token) { this.device = device; this.token = token; this.tags = {}; }
  async install(pkpassUrl) {
    const r = await fetch(pkpassUrl);
    assert.equal(r.status, 200);
    this.pj = passJson(Buffer.from(await r.arrayBuffer()));
    this.ws = this.pj.webServiceURL;
    this.auth = this.pj.authenticationToken;
    return this.pj;
  }
  call(method, p, { auth = this.auth, body, headers = {} } = {}) {
    const h = { ...headers };
    if (auth) h.authorization = `ApplePass ${auth}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    return fetch(this.ws + p, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  }
  reg(pj = this.pj) { return `/v1/devices/${this.device}/registrations/${pj.passTypeIdentifier}/${pj.serialNumber}`; }
  register(opts = {}) { return this.call('POST', this.reg(opts.pj), { body: { pushToken: this.token }, ...opts }); }
  async updated(ptid, since) {
    const q = since === undefined ? '' : `?passesUpdatedSince=${encodeURIComponent(since)}`;
    const r = await fetch(`${this.ws}/v1/devices/${this.device}/registrations/${ptid}${q}`);
    return { status: r.status, body: r.status === 200 ? await r.json() : null, headers: r.headers };
  }
}

const pushesTo = (token) => pushes.filter((p) => p.token === token);

test('the full cycle: install, register, update, one push, list since the tag, new pass, 304', async () => {
  const pass = await createPass(A);
  const phone = new Phone('dev0a1b2c3d4e5f60718293a4b5c6d7e8f', 'aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233');
  const pj = await phone.install(pass.pkpass_url);
  assert.equal(phone.ws, `${gw.url}/apple`);
  assert.ok(phone.auth.length >= 16);
  assert.equal(pj.storeCard.primaryFields[0].value, '100');

  let r = await phone.register();
  assert.equal(r.status, 201);
  r = await phone.register();
  assert.equal(r.status, 200, 'already registered');
  // the device listing without a tag: every serial it registered, and a tag
  const first = await phone.updated(PTID);
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.serialNumbers, [pass.serial_number]);
  assert.match(first.body.lastUpdated, /^\d+$/);
  assert.equal(first.headers.get('cache-control'), 'no-store');
  assert.equal((await phone.updated(PTID, first.body.lastUpdated)).status, 204, 'nothing changed since the tag');

  // an event pass.installed was published
  const ev = await gw.request('GET', '/api/v1/events?type=pass.installed', { key: A.key });
  assert.equal(ev.status, 200, ev.text);
  assert.equal(ev.body.data.length, 1);
  assert.equal(ev.body.data[0].data.pass.id, pass.id);
  assert.equal(ev.body.data[0].data.device_library_identifier, phone.device);

  // the pass as the phone has it: Last-Modified, then 304 with it
  r = await phone.call('GET', `/v1/passes/${PTID}/${pass.serial_number}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/vnd.apple.pkpass');
  const lm0 = r.headers.get('last-modified');
  assert.ok(lm0);

  // the update over the API: exactly one push, right topic, empty payload, the pass certificate
  const before = pushesTo(phone.token).length;
  const u = await gw.request('PUT', `/api/v1/passes/${pass.id}`, { key: A.key,
    body: { primary_fields: [{ key: 'points', label: 'Points', value: '250', change_message: 'You have %@ points' }] } });
  assert.equal(u.status, 200, u.text);
  await waitFor(() => pushesTo(phone.token).length > before, { what: 'the push' });
  await sleep(300);
  const mine = pushesTo(phone.token).slice(before);
  assert.equal(mine.length, 1, 'exactly one push');
  assert.equal(mine[0].method, 'POST');
  assert.equal(mine[0].path, `/3/device/${phone.token}`);
  assert.equal(mine[0].topic, PTID);
  assert.equal(mine[0].body, '{}');
  assert.equal(mine[0].pushType, 'background');
  assert.equal(mine[0].priority, '5');
  assert.equal(mine[0].subjectUID, PTID);
  assert.match(mine[0].issuerCN, /Fake Worldwide Developer Relations/);

  // the phone asks what changed since its tag, downloads the new pass, finds the new value
  const since = await phone.updated(PTID, first.body.lastUpdated);
  assert.equal(since.status, 200);
  assert.deepEqual(since.body.serialNumbers, [pass.serial_number]);
  assert.ok(BigInt(since.body.lastUpdated) > BigInt(first.body.lastUpdated), 'the tag advances');
  r = await phone.call('GET', `/v1/passes/${PTID}/${pass.serial_number}`, { headers: { 'if-modified-since': lm0 } });
  assert.equal(r.status, 200, 'changed since the old Last-Modified');
  const lm1 = r.headers.get('last-modified');
  const npj = passJson(Buffer.from(await r.arrayBuffer()));
  assert.equal(npj.storeCard.primaryFields[0].value, '250');
  assert.equal(npj.serialNumber, pass.serial_number);
  assert.equal(npj.authenticationToken, phone.auth, 'the token never changes');
  // ... and once more with If-Modified-Since: 304, empty body; HEAD answers too
  await waitFor(async () => (await phone.call('GET', `/v1/passes/${PTID}/${pass.serial_number}`,
    { headers: { 'if-modified-since': (await phone.call('HEAD', `/v1/passes/${PTID}/${pass.serial_number}`)).headers.get('last-modified') } })).status === 304,
  { what: '304 with the current Last-Modified', timeout: 120000 });
  assert.ok(lm1);
  const h = await phone.call('HEAD', `/v1/passes/${PTID}/${pass.serial_number}`);
  assert.equal(h.status, 200);
  assert.equal((await h.arrayBuffer()).byteLength, 0);
  assert.equal((await phone.updated(PTID, since.body.lastUpdated)).status, 204);

  // the devices route shows the device and the last push
  const dv = await gw.request('GET', `/api/v1/passes/${pass.id}/devices`, { key: A.key });
  assert.equal(dv.status, 200, dv.text);
  assert.equal(dv.body.data.length, 1);
  assert.equal(dv.body.data[0].device_library_identifier, phone.device);
  assert.equal(dv.body.data[0].last_push.status, 200);
  assert.equal((await gw.request('GET', `/api/v1/passes/${pass.id}/devices`, { key: B.key })).status, 404);

  // unregister: 200, pass.removed, no longer listed
  r = await phone.call('DELETE', phone.reg());
  assert.equal(r.status, 200);
  assert.equal((await phone.updated(PTID)).status, 204);
  const rm = await gw.request('GET', '/api/v1/events?type=pass.removed', { key: A.key });
  assert.equal(rm.body.data.length, 1);
});

test('two updates within one second: the second is never hidden by the tag or If-Modified-Since', async () => {
  const pass = await createPass(A);
  const phone = new Phone('devsamesecond0000000000000000001', 'ab'.repeat(32));
  await phone.install(pass.pkpass_url);
  assert.equal((await phone.register()).status, 201);
  const t0 = (await phone.updated(PTID)).body.lastUpdated;
  const patch = (v) => gw.request('PUT', `/api/v1/passes/${pass.id}`, { key: A.key,
    body: { primary_fields: [{ key: 'points', label: 'Points', value: v }] } });
  assert.equal((await patch('1')).status, 200);
  await waitFor(() => pushesTo(phone.token).length >= 1, { what: 'first push' });
  const s1 = await phone.updated(PTID, t0);
  let r = await phone.call('GET', `/v1/passes/${PTID}/${pass.serial_number}`);
  const lm = r.headers.get('last-modified');
  assert.equal(passJson(Buffer.from(await r.arrayBuffer())).storeCard.primaryFields[0].value, '1');
  assert.equal((await patch('2')).status, 200);
  await waitFor(() => pushesTo(phone.token).length >= 2, { what: 'second push' });
  const s2 = await phone.updated(PTID, s1.body.lastUpdated);
  assert.equal(s2.status, 200);
  assert.deepEqual(s2.body.serialNumbers, [pass.serial_number]);
  r = await phone.call('GET', `/v1/passes/${PTID}/${pass.serial_number}`, { headers: { 'if-modified-since': lm } });
  assert.equal(r.status, 200, 'a change in the same second is not a 304');
  assert.equal(passJson(Buffer.from(await r.arrayBuffer())).storeCard.primaryFields[0].value, '2');
});

test("a loyalty pass with its own account_id (the member's) still registers and pushes under its owner", async () => {
  const pass = await createPass(A, { account_id: 'MEMBER-77', account_name: 'Ada' });
  const phone = new Phone('devmemberacct00000000000000000001', 'ef'.repeat(32));
  await phone.install(pass.pkpass_url);
  assert.equal((await phone.register()).status, 201);
  assert.equal(gw.sql(`SELECT account_id FROM apns_registrations WHERE device_library_identifier = '${phone.device}'`), A.account);
  const r = await gw.request('PUT', `/api/v1/passes/${pass.id}`, { key: A.key,
    body: { primary_fields: [{ key: 'points', label: 'Points', value: '150' }] } });
  assert.equal(r.status, 200, r.text);
  await waitFor(() => pushesTo(phone.token).length === 1, { what: 'the push for the member pass' });
});

test('notify: the message reaches the pass as a back field with changeMessage %@, and a push', async () => {
  const pass = await createPass(A);
  const phone = new Phone('devnotify000000000000000000000001', 'cd'.repeat(32));
  await phone.install(pass.pkpass_url);
  assert.equal((await phone.register()).status, 201);
  const t0 = (await phone.updated(PTID)).body.lastUpdated;
  const n = await gw.request('POST', `/api/v1/passes/${pass.id}/notify`, { key: A.key, body: { message: 'Double points today' } });
  assert.equal(n.status, 202, n.text);
  await waitFor(() => pushesTo(phone.token).length === 1, { what: 'the notify push' });
  const s = await phone.updated(PTID, t0);
  assert.deepEqual(s.body.serialNumbers, [pass.serial_number]);
  const r = await phone.call('GET', `/v1/passes/${PTID}/${pass.serial_number}`);
  assert.equal(r.status, 200);
  const back = passJson(Buffer.from(await r.arrayBuffer())).storeCard.backFields;
  const msg = back.find((x) => x.key === 'wp_message');
  assert.deepEqual(msg, { key: 'wp_message', label: 'Message', value: 'Double points today', changeMessage: '%@' });
});

test('410 Unregistered and 400 BadDeviceToken remove the registration; 503 is retried', async () => {
  const pass = await createPass(A);
  const good = new Phone('devgood00000000000000000000000001', 'good' + 'e'.repeat(60));
  const gone = new Phone('devgone00000000000000000000000001', 'gone' + 'f'.repeat(60));
  const bad = new Phone('devbad000000000000000000000000001', 'bad' + '0'.repeat(61));
  const busy = new Phone('devbusy00000000000000000000000001', 'busy' + '1'.repeat(60));
  for (const p of [good, gone, bad, busy]) {
    await p.install(pass.pkpass_url);
    assert.equal((await p.register()).status, 201);
  }
  const sessionsBefore = sessions.connections;
  const u = await gw.request('PUT', `/api/v1/passes/${pass.id}`, { key: A.key, body: { program_name: 'Beans+' } });
  assert.equal(u.status, 200);
  await waitFor(() => [good, gone, bad, busy].every((p) => pushesTo(p.token).length >= 1), { what: 'four pushes' });
  await waitFor(async () => (await gw.sqlAsync(`SELECT count(*) FROM apns_registrations WHERE pass_id = '${pass.id}'`)) === '2',
    { what: 'the gone and bad registrations removed' });
  const left = gw.sql(`SELECT device_library_identifier FROM apns_registrations WHERE pass_id = '${pass.id}' ORDER BY 1`);
  assert.deepEqual(left.split('\n'), [busy.device, good.device]);
  assert.equal(sessions.connections - sessionsBefore <= 1, true, 'one connection for the whole fan-out');
  // the busy token is pushed again through the job queue (backoff 2 s) and then succeeds
  await waitFor(() => pushesTo(busy.token).length === 2, { what: 'the retry', timeout: 120000 });
  await waitFor(async () => (await gw.sqlAsync(`SELECT last_push_status FROM apns_registrations WHERE device_library_identifier = '${busy.device}'`)) === '200',
    { what: 'the retry recorded' });
  const results = gw.sql(`SELECT status || ' ' || coalesce(reason, '') FROM apns_pushes WHERE pass_id = '${pass.id}' ORDER BY id`);
  for (const s of ['200 ', '410 Unregistered', '400 BadDeviceToken', '503 ServiceUnavailable']) assert.ok(results.includes(s), results);
  assert.equal(pushesTo(good.token).length, 1);
  assert.equal((await gone.updated(PTID)).status, 204, 'the removed device lists nothing');
});

// Regression (bench: ~9 TLS connections and refused streams per 10,000 pushes): the fan-out of
// one update goes over one kept connection.  1,200 devices, more than the 1,000 resets
// nghttp2 lets a connection send before its GOAWAY (see lib/apns_standin.mjs), so a client
// that resets open streams, a new connection per batch or per transfer, or pushes left to
// the retry job all fail here.  C's own certificate: a connection of its own, opened now.
test('fan-out: one update to 1,200 devices, one new TLS connection, every push answered at the first attempt', async () => {
  const N = 1200;
  const pass = await createPass(C);
  gw.sql(`INSERT INTO apns_registrations (account_id, device_library_identifier, pass_type_identifier, serial_number,
    push_token, pass_id) SELECT '${C.account}', 'fan' || g, '${PTID_C}', '${pass.serial_number}',
    encode(sha256(('fan' || g)::bytea), 'hex'), '${pass.id}' FROM generate_series(1, ${N}) g`);
  const before = { ...sessions };
  const n0 = pushes.length;
  const u = await gw.request('PUT', `/api/v1/passes/${pass.id}`, { key: C.key, body: { program_name: 'Fan-out' } });
  assert.equal(u.status, 200, u.text);
  // Polled without blocking this process: the stand-in answering the pushes runs in it.
  await waitFor(async () => (await gw.sqlAsync(`SELECT count(*) FROM apns_pushes WHERE pass_id = '${pass.id}'`)) === String(N),
    { what: `${N} push results recorded`, timeout: 300000, interval: 500 });
  const fan = pushes.slice(n0).filter((p) => p.topic === PTID_C);
  assert.equal(fan.length, N, 'the stand-in got each push once');
  assert.equal(new Set(fan.map((p) => p.token)).size, N);
  assert.ok(fan.every((p) => p.authorized && p.subjectUID === PTID_C));
  assert.equal(sessions.connections - before.connections, 1, 'exactly one TLS connection for the fan-out');
  assert.equal(sessions.goaways - before.goaways, 0, 'no GOAWAY');
  assert.equal(sessions.resets - before.resets, 0, 'no stream reset while open');
  assert.equal(gw.sql(`SELECT count(*) FILTER (WHERE status = 200 AND attempt = 1) || '/' || count(*) FROM apns_pushes
    WHERE pass_id = '${pass.id}'`), `${N}/${N}`, 'every push answered 200 at the first attempt');
  // nothing left for the retry job (its first retry would come after 2 s)
  await sleep(2500);
  assert.equal(pushes.length - n0, N, 'no push sent again');
  assert.equal(gw.sql(`SELECT count(*) FROM apns_pushes WHERE pass_id = '${pass.id}' AND attempt > 1`), '0');
});

test("bad tokens, unknown serials, other accounts' passes, malformed bodies: Apple's codes, nothing stored", async () => {
  const pass = await createPass(A);
  const other = await createPass(B);
  const phone = new Phone('devattacker0000000000000000000001', 'ef'.repeat(32));
  await phone.install(pass.pkpass_url);
  const count = () => gw.sql('SELECT count(*) FROM apns_registrations WHERE device_library_identifier = \'devattacker0000000000000000000001\'');
  const reg = phone.reg();
  const cases = [
    ['no Authorization', () => phone.call('POST', reg, { auth: null, body: { pushToken: 'x' } }), 401],
    ['wrong token', () => phone.call('POST', reg, { auth: 'x'.repeat(phone.auth.length), body: { pushToken: 'x' } }), 401],
    ['token prefix', () => phone.call('POST', reg, { auth: phone.auth.slice(0, -1), body: { pushToken: 'x' } }), 401],
    ['Bearer scheme', () => phone.call('POST', reg, { auth: null, headers: { authorization: `Bearer ${phone.auth}` }, body: { pushToken: 'x' } }), 401],
    ['unknown serial', () => phone.call('POST', `/v1/devices/${phone.device}/registrations/${PTID}/nope-123`, { body: { pushToken: 'x' } }), 401],
    ['other account\'s serial under my type', () => phone.call('POST', `/v1/devices/${phone.device}/registrations/${PTID}/${other.serial_number}`, { body: { pushToken: 'x' } }), 401],
    ['my serial under another type', () => phone.call('POST', `/v1/devices/${phone.device}/registrations/${PTID_B}/${pass.serial_number}`, { body: { pushToken: 'x' } }), 401],
    ['other account\'s pass with my token', () => phone.call('POST', `/v1/devices/${phone.device}/registrations/${PTID_B}/${other.serial_number}`, { body: { pushToken: 'x' } }), 401],
    ['malformed JSON', () => phone.call('POST', reg, { body: '{"pushToken": ' }), 400],
    ['pushToken missing', () => phone.call('POST', reg, { body: {} }), 400],
    ['pushToken not a string', () => phone.call('POST', reg, { body: { pushToken: 42 } }), 400],
    ['pushToken empty', () => phone.call('POST', reg, { body: { pushToken: '' } }), 400],
    ['body an array', () => phone.call('POST', reg, { body: [] }), 400],
  ];
  for (const [what, fn, status] of cases) {
    const r = await fn();
    assert.equal(r.status, status, what);
    if (status === 401) assert.equal(r.headers.get('www-authenticate'), 'ApplePass', what);
  }
  assert.equal(count(), '0', 'nothing stored');
  // get pass: the same rules
  assert.equal((await phone.call('GET', `/v1/passes/${PTID}/${pass.serial_number}`, { auth: null })).status, 401);
  assert.equal((await phone.call('GET', `/v1/passes/${PTID}/${pass.serial_number}`, { auth: 'y'.repeat(40) })).status, 401);
  assert.equal((await phone.call('GET', `/v1/passes/${PTID}/unknown`)).status, 401);
  assert.equal((await phone.call('GET', `/v1/passes/${PTID_B}/${other.serial_number}`)).status, 401);
  assert.equal((await phone.call('DELETE', reg, { auth: null })).status, 401);
  // list of an unknown device: 204
  assert.equal((await phone.updated(PTID)).status, 204);
  assert.equal((await phone.updated(PTID, 'not-a-tag')).status, 204);
  // device log: malformed → 400, nothing stored
  const before = gw.sql('SELECT count(*) FROM apns_logs');
  assert.equal((await phone.call('POST', '/v1/log', { auth: null, body: '{"logs": 1' })).status, 400);
  assert.equal((await phone.call('POST', '/v1/log', { auth: null, body: { logs: 'x' } })).status, 400);
  assert.equal((await phone.call('POST', '/v1/log', { auth: null, body: { logs: [1] } })).status, 400);
  assert.equal(gw.sql('SELECT count(*) FROM apns_logs'), before, 'nothing stored');
  assert.equal((await gw.request('GET', '/api/v1/apple/logs?limit=0', { key: A.key })).status, 400);
  assert.equal((await gw.request('GET', '/api/v1/apple/logs')).status, 401);
});

// Two accounts holding one pass type identifier (an agency with one certificate) and one serial
// number: each phone is matched to its own account's pass by the authentication token.
test('two accounts with the same pass type identifier and serial: both accounts\' phones register, fetch, unregister', async () => {
  const [D, E] = [gw.account(), gw.account()];
  for (const acct of [D, E]) {
    const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body: {
      p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: PASSWORD,
      pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
    } });
    assert.equal(r.status, 200, r.text);
  }
  const serial = `SHARED-${Date.now()}`;
  const older = await createPass(D, { serial_number: serial });
  const newer = await createPass(E, { serial_number: serial });
  const pd = new Phone('devshared0000000000000000000000d1', 'd1'.repeat(32));
  const pe = new Phone('devshared0000000000000000000000e1', 'e1'.repeat(32));
  const pjd = await pd.install(older.pkpass_url);
  const pje = await pe.install(newer.pkpass_url);
  assert.equal(pjd.serialNumber, serial);
  assert.equal(pje.serialNumber, serial);
  assert.notEqual(pd.auth, pe.auth);

  // the newer account's phone: the oldest pass with that serial is not its pass
  assert.equal((await pe.register()).status, 201, 'the newer account\'s phone registers');
  assert.equal((await pd.register()).status, 201, 'the older account\'s phone registers');
  const rows = gw.sql(`SELECT device_library_identifier || ' ' || account_id || ' ' || pass_id FROM apns_registrations
    WHERE serial_number = '${serial}' ORDER BY 1`).split('\n');
  assert.deepEqual(rows, [`${pd.device} ${D.account} ${older.id}`, `${pe.device} ${E.account} ${newer.id}`]);

  let r = await pe.call('GET', `/v1/passes/${PTID}/${serial}`);
  assert.equal(r.status, 200, 'the newer account\'s phone fetches its pass');
  const got = passJson(Buffer.from(await r.arrayBuffer()));
  assert.equal(got.authenticationToken, pe.auth, 'its own pass, not the other account\'s');
  r = await pd.call('GET', `/v1/passes/${PTID}/${serial}`);
  assert.equal(r.status, 200);
  assert.equal(passJson(Buffer.from(await r.arrayBuffer())).authenticationToken, pd.auth);

  // an update of the newer account's pass pushes its phone only
  const u = await gw.request('PUT', `/api/v1/passes/${newer.id}`, { key: E.key, body: { program_name: 'Shared E' } });
  assert.equal(u.status, 200, u.text);
  await waitFor(() => pushesTo(pe.token).length === 1, { what: 'the push to the newer account\'s phone' });
  assert.equal(pushesTo(pd.token).length, 0);
  assert.deepEqual((await pe.updated(PTID)).body.serialNumbers, [serial]);

  // unregister removes that account's registration only
  assert.equal((await pe.call('DELETE', pe.reg())).status, 200);
  assert.equal(gw.sql(`SELECT string_agg(account_id, ',') FROM apns_registrations WHERE serial_number = '${serial}'`), D.account);
});

test('an unknown serial and a wrong token get the same answer on register, unregister and fetch', async () => {
  const pass = await createPass(A);
  const phone = new Phone('devoracle000000000000000000000001', 'ab12'.repeat(16));
  await phone.install(pass.pkpass_url);
  const wrong = 'W'.repeat(phone.auth.length);
  const unknown = `${pass.serial_number}-none`;
  const shape = async (res) => {
    const body = await res.json();
    delete body.error.request_id;
    return { status: res.status, auth: res.headers.get('www-authenticate'), body };
  };
  const reg = (serial) => `/v1/devices/${phone.device}/registrations/${PTID}/${serial}`;
  const calls = [
    ['register', (serial, auth) => phone.call('POST', reg(serial), { auth, body: { pushToken: 'x' } })],
    ['unregister', (serial, auth) => phone.call('DELETE', reg(serial), { auth })],
    ['fetch', (serial, auth) => phone.call('GET', `/v1/passes/${PTID}/${serial}`, { auth })],
  ];
  for (const [what, call] of calls) {
    const a = await shape(await call(unknown, phone.auth)); // a real token, a serial that does not exist
    const b = await shape(await call(pass.serial_number, wrong)); // the real serial, a wrong token
    const c = await shape(await call(pass.serial_number, wrong.slice(0, 10))); // a token of another length
    assert.equal(a.status, 401, what);
    assert.deepEqual(a, b, `${what}: unknown serial and wrong token answer alike`);
    assert.deepEqual(a, c, `${what}: token length says nothing either`);
    assert.equal(a.auth, 'ApplePass');
  }
  const other = await createPass(B);
  const d = await shape(await phone.call('GET', `/v1/passes/${PTID_B}/${other.serial_number}`));
  const e = await shape(await phone.call('GET', `/v1/passes/${PTID}/${unknown}`));
  assert.deepEqual(d, e, 'another account\'s pass looks like no pass');
  assert.equal(gw.sql(`SELECT count(*) FROM apns_registrations WHERE device_library_identifier = '${phone.device}'`), '0');
});

test('Wallet log lines reach a tenant\'s log only when the call proves the pass; the rest is operators\' only', async () => {
  const pass = await createPass(A);
  const other = await createPass(B);
  const phone = new Phone('devlog00000000000000000000000001', 'cafe'.repeat(16));
  await phone.install(pass.pkpass_url);
  const line = (ptid, serial, mark) => `[2026-11-26 10:00:00 +0000] Get pass task (pass type ${ptid}, serial number ${serial}, ` +
    `if-modified-since (null); with web service url ${phone.ws}) encountered error: ${mark}`;
  const logsOf = async (acct) => (await gw.request('GET', '/api/v1/apple/logs?limit=100', { key: acct.key })).body.data.map((x) => x.message);

  // anyone may post a line naming A's pass: it never lands in A's log (it goes to the gateway's log)
  const forged = `FORGED-${Date.now()}`;
  let r = await phone.call('POST', '/v1/log', { auth: null, body: { logs: [line(PTID, pass.serial_number, forged), `x\u001b[2J${forged}-ctl`] } });
  assert.equal(r.status, 200);
  assert.ok(!(await logsOf(A)).some((m) => m.includes(forged)), 'a forged line is not in the tenant\'s log');
  assert.equal(gw.sql(`SELECT count(*) FROM apns_logs WHERE message LIKE '%${forged}%'`), '0');
  await waitFor(() => gw.stderr().includes(`${forged}-ctl`), { what: 'the lines in the gateway log' });
  assert.ok(gw.stderr().includes(`encountered error: ${forged}`), "the forged line is in the gateway log");
  assert.ok(gw.stderr().includes(`Wallet log (unattributed): x?[2J${forged}-ctl`), 'control characters replaced');

  // with the pass's own token, a line naming that pass is the tenant's; one naming B's pass is not B's
  const proven = `PROVEN-${Date.now()}`;
  r = await phone.call('POST', '/v1/log', { body: { logs: [line(PTID, pass.serial_number, proven), line(PTID_B, other.serial_number, proven + '-b')] } });
  assert.equal(r.status, 200);
  assert.ok((await logsOf(A)).some((m) => m.includes(proven) && !m.includes(proven + '-b')), 'the proven line is in A\'s log');
  assert.ok(!(await logsOf(B)).some((m) => m.includes(proven)), 'a token of A\'s pass never writes into B\'s log');
  assert.ok(!(await logsOf(A)).some((m) => m.includes(proven + '-b')));
  // a wrong token proves nothing
  r = await phone.call('POST', '/v1/log', { auth: 'Z'.repeat(phone.auth.length), body: { logs: [line(PTID, pass.serial_number, proven + '-z')] } });
  assert.equal(r.status, 200);
  assert.ok(!(await logsOf(A)).some((m) => m.includes(proven + '-z')));
});

test('the Wallet log route is bounded and rate-limited', async () => {
  const g2 = await startGateway({ config: { plugins: [{ name: 'apple-signer' }, { name: 'apns', config: { log_burst: 3, log_rate_per_second: 0.001 } }] } });
  try {
    const post = (body) => fetch(`${g2.url}/apple/v1/log`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post({ logs: ['x'.repeat(70000)] })).status, 413);
    assert.equal((await post({ logs: Array.from({ length: 150 }, (_, i) => `line ${i}`) })).status, 200);
    // 100 lines taken, 20 of them written to the gateway log
    await waitFor(() => /Wallet log: 80 more unattributed lines not logged/.test(g2.stderr()), { what: 'the cut in the log' });
    assert.ok(g2.stderr().includes('Wallet log (unattributed): line 19'));
    assert.ok(!g2.stderr().includes('Wallet log (unattributed): line 20'));
    assert.equal((await post({ logs: ['one'] })).status, 200);
    const limited = await post({ logs: ['two'] });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal((await limited.json()).error.code, 'rate_limited');
  } finally {
    await g2.stop();
  }
});
