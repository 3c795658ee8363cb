// Stress: the whole mix at once against one gateway with every in-tree plugin,
// the platform plugins pointed at local stand-ins (Google's token endpoint and
// Wallet API, an HTTP/2 APNs with client certificates, a webhook receiver that
// fails or stalls now and then).  Concurrent clients create passes (alone, from
// a template, in batches), update, notify and void them, download the pkpass
// (first build and cached copies, by capability URL with and without
// keep-alive, and by API key), play Apple's web service (install, register,
// fetch the pass, list serials), update templates with propagation, and read
// passes, batches and events, while the job workers run the Google syncs, APNs
// pushes, webhook deliveries and retries those changes cause.
//
// Bounded by time and operation count (shorter under the sanitizers; override
// with WP_STRESS_SECONDS).  Fails when the gateway dies, when a request gets no
// answer, when any answer is a 5xx other than 503, and (at stop) on a sanitizer
// report: under ThreadSanitizer a json_object shared between threads is a
// reported race even when the process survives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startGateway, waitFor, sleep, sanitizer, BIN } from './lib/harness.mjs';
import { createStandIn } from './lib/apns_standin.mjs';

let jose;
try { jose = await import('jose'); } catch { jose = null; }
const skip = jose ? false : 'npm package jose is missing: run `npm install` in tests/ (scripts/test does)';
const { startGoogleStandin } = jose ? await import('./lib/google-standin.mjs') : {};

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN || '.'), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const SAN = sanitizer();
// Release: about a minute with 8 clients; the sanitizers run 5-15 times slower.
const SECONDS = Number(process.env.WP_STRESS_SECONDS) || (SAN ? 40 : 60);
const CLIENTS = SAN ? 6 : 8;
const MAX_OPS = SAN ? 3000 : 20000;
const REQUEST_TIMEOUT_MS = SAN ? 300000 : 120000; // "no answer" is a request still open after this

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-stress-'));
const f = (name) => path.join(dir, name);
const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const TEAM = 'ABCDE12345';
const PASSWORD = 'p12-Passw0rd';
const ISSUER = '3388000000022122304';
const EMAIL = 'stress-signer@walletpass-test.iam.gserviceaccount.com';
const ORIGINS = ['https://shop.example', 'https://www.shop.example'];

// ---- PKI: a throwaway CA stands in for Apple's WWDR; it signs the Pass Type ID
// certificates and the APNs stand-in's TLS certificate. -------------------------------
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

function makePki(ptids) {
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional',
    ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wwdr.key', '-out', 'wwdr.pem', '-days', '30',
    '-subj', '/C=US/O=Test Apple/OU=G4/CN=Fake Worldwide Developer Relations Certification Authority');
  ptids.forEach((ptid, i) => passCert(`pass${i}`, ptid));
  ssl('genrsa', '-out', 'tls.key', '2048');
  fs.writeFileSync(f('tls.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'subjectAltName = IP:127.0.0.1', ''].join('\n'));
  ssl('req', '-new', '-key', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key', '-in', 'tls.csr',
    '-out', 'tls.pem', '-days', '30', '-extfile', 'tls.ext', '-extensions', 'ext');
}

// ---- stand-ins ------------------------------------------------------------------------

// APNs: tokens starting "gone" are unregistered (410); every other push is accepted.
let apns;
const pushes = [];
function startApns() {
  apns = createStandIn({ key: fs.readFileSync(f('tls.key')), cert: fs.readFileSync(f('tls.pem')), ca: fs.readFileSync(f('wwdr.pem')) });
  apns.h2.on('stream', (stream, headers) => {
    stream.resume();
    stream.on('end', () => {
      const token = decodeURIComponent(String(headers[':path']).replace('/3/device/', ''));
      pushes.push(token);
      const status = token.startsWith('gone') ? 410 : 200;
      stream.respond({ ':status': status, 'apns-id': `id-${pushes.length}`, 'content-type': 'application/json' });
      stream.end(status === 410 ? JSON.stringify({ reason: 'Unregistered', timestamp: Date.now() }) : undefined);
    });
  });
  return new Promise((resolve) => apns.listen(0, '127.0.0.1', () => resolve(apns.address().port)));
}

// Webhooks: every 5th delivery fails with a 500, every 7th takes 300 ms.
let rx;
const deliveries = [];
function startReceiver() {
  rx = http.createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const n = deliveries.push(req.headers['webhook-id']);
      if (n % 7 === 0) await sleep(300);
      if (res.destroyed) return;
      res.writeHead(n % 5 === 0 ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(n % 5 === 0 ? 'try again' : 'ok');
    });
  });
  return new Promise((resolve) => rx.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${rx.address().port}`)));
}

// ---- the pass.json of a pkpass (a zip), without a zip library ----------------------------
function zipEntry(buf, name) {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'a zip archive');
  let off = buf.readUInt32LE(eocd + 16);
  for (let i = buf.readUInt16LE(eocd + 10); i > 0; i--) {
    const method = buf.readUInt16LE(off + 10), size = buf.readUInt32LE(off + 20);
    const nlen = buf.readUInt16LE(off + 28), xlen = buf.readUInt16LE(off + 30), clen = buf.readUInt16LE(off + 32);
    const local = buf.readUInt32LE(off + 42);
    if (buf.toString('utf8', off + 46, off + 46 + nlen) === name) {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + size);
      return method === 8 ? zlib.inflateRawSync(data) : data;
    }
    off += 46 + nlen + xlen + clen;
  }
  return null;
}

// ---- the load ------------------------------------------------------------------------------

let gw, g, accounts = [], died = null;
const failures = [];
const counts = {}; // "kind status" -> n
const ms = {}; // kind -> milliseconds spent waiting for answers (for the summary)

// Deterministic choices: the same run for the same seed.
let seed = 0x5eed;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
const pick = (arr) => arr[Math.floor(rand() * arr.length)];

function record(kind, status, detail) {
  const k = `${kind} ${status}`;
  counts[k] = (counts[k] || 0) + 1;
  if (status === 'no answer' || (typeof status === 'number' && status >= 500 && status !== 503))
    failures.push(`${kind}: ${status} ${detail || ''}`.slice(0, 400));
}

/** One request; every answer is recorded, a missing one is a failure. Returns {status, buf, json}. */
async function call(kind, method, url, { key, auth, body, accept = () => true } = {}) {
  const headers = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const t0 = Date.now();
  try {
    const r = await fetch(url.startsWith('http') ? url : gw.url + url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const buf = Buffer.from(await r.arrayBuffer());
    let json;
    if ((r.headers.get('content-type') || '').includes('json')) try { json = JSON.parse(buf.toString('utf8')); } catch { /* not JSON */ }
    record(kind, r.status, buf.toString('utf8', 0, Math.min(buf.length, 300)));
    ms[kind] = (ms[kind] || 0) + Date.now() - t0;
    if (r.status < 500 && !accept(r.status)) failures.push(`${kind}: unexpected ${r.status} ${buf.toString('utf8', 0, 300)}`);
    return { status: r.status, buf, json };
  } catch (e) {
    record(kind, 'no answer', `${method} ${url}: ${e.cause?.code || e.name}: ${e.message}`);
    return { status: 0 };
  }
}

/** A GET on a fresh connection that is closed after the answer (no keep-alive). */
function getFresh(kind, url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => { record(kind, res.statusCode); resolve({ status: res.statusCode, buf: Buffer.concat(chunks) }); });
      res.on('error', (e) => { record(kind, 'no answer', e.message); resolve({ status: 0 }); });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => { record(kind, 'no answer', `${url}: ${e.code || ''} ${e.message}`); resolve({ status: 0 }); });
  });
}

const ok2xx = (s) => s >= 200 && s < 300;
const body = (i, extra = {}) => ({
  pass_type: 'loyalty', organization_name: 'Stress Coffee', program_name: 'Stress Rewards', barcode_message: `S-${i}`,
  primary_fields: [{ key: 'points', label: 'Points', value: String(i), change_message: 'You have %@ points' }],
  ...extra,
});

const passes = []; // {id, acct, pkpass_url, version, built, auth, serial, device, voiding, voided}
const batches = [];
let serial = 0;

const ops = {
  async create(acct) {
    const fromTemplate = rand() < 0.25;
    const b = fromTemplate ? { template_id: acct.template, barcode_message: `T-${serial++}` } : body(serial++);
    const r = await call('create', 'POST', '/api/v1/passes', { key: acct.key, body: b, accept: (s) => s === 201 });
    if (r.status === 201) passes.push({ id: r.json.id, acct, pkpass_url: r.json.pkpass_url, version: r.json.version });
  },
  async update(acct, p) {
    const r = await call('update', 'PUT', `/api/v1/passes/${p.id}`, {
      // a void sent before this answer may have committed first (its own answer waits on the fence)
      key: p.acct.key, accept: (s) => s === 200 || ((p.voided || p.voiding) && s === 409),
      body: { primary_fields: [{ key: 'points', label: 'Points', value: String(serial++), change_message: 'You have %@ points' }] },
    });
    if (r.status === 200) p.version = r.json.version;
  },
  async download(acct, p) {
    // the first download of a version builds and signs; the next ones come from the cache
    if (!p.pkpass_url) return;
    for (let i = 0; i < 3; i++) {
      const r = i === 2 ? await getFresh('pkpass', p.pkpass_url) : await call('pkpass', 'GET', p.pkpass_url, { accept: (s) => s === 200 || p.voided });
      if (r.status === 200 && !p.auth) {
        const pj = JSON.parse(zipEntry(r.buf, 'pass.json').toString('utf8'));
        p.auth = pj.authenticationToken;
        p.ptid = pj.passTypeIdentifier;
        p.serial = pj.serialNumber;
      }
    }
  },
  async downloadByKey(acct, p) {
    await call('pkpass_key', 'GET', `/api/v1/passes/${p.id}/pkpass`, { key: p.acct.key });
  },
  async register(acct, p) {
    if (!p.auth) return ops.download(acct, p);
    if (p.device) {
      await call('ws_pass', 'GET', `${gw.url}/apple/v1/passes/${p.ptid}/${p.serial}`, { auth: `ApplePass ${p.auth}` });
      await call('ws_list', 'GET', `${gw.url}/apple/v1/devices/${p.device}/registrations/${p.ptid}`);
      return;
    }
    p.device = crypto.randomBytes(16).toString('hex');
    const token = (rand() < 0.15 ? 'gone' : '') + crypto.randomBytes(32).toString('hex');
    await call('ws_register', 'POST', `${gw.url}/apple/v1/devices/${p.device}/registrations/${p.ptid}/${p.serial}`, {
      auth: `ApplePass ${p.auth}`, body: { pushToken: token }, accept: (s) => s === 200 || s === 201 || s === 401,
    });
  },
  async notify(acct, p) {
    await call('notify', 'POST', `/api/v1/passes/${p.id}/notify`, {
      key: p.acct.key, body: { message: `Double points ${serial++}` }, accept: (s) => s === 202 || s === 429 || s === 409,
    });
  },
  async void(acct, p) {
    if (rand() < 0.5) return; // keep most passes alive
    p.voiding = true;
    const r = await call('void', 'DELETE', `/api/v1/passes/${p.id}`, { key: p.acct.key });
    if (r.status === 200) p.voided = true;
  },
  async read(acct, p) {
    await call('get', 'GET', `/api/v1/passes/${p.id}`, { key: p.acct.key, accept: (s) => s === 200 });
    await call('list', 'GET', '/api/v1/passes?limit=20', { key: acct.key, accept: (s) => s === 200 });
  },
  async template(acct) {
    const color = `#${crypto.randomBytes(3).toString('hex')}`;
    await call('template', 'PUT', `/api/v1/templates/${acct.template}`, {
      key: acct.key, body: { body: { background_color: color }, propagate: true }, accept: (s) => s === 200,
    });
  },
  async batch(acct) {
    if (batches.length && rand() < 0.5) {
      const b = pick(batches);
      await call('batch_get', 'GET', `/api/v1/batches/${b.id}`, { key: b.acct.key, accept: (s) => s === 200 });
      return;
    }
    const items = Array.from({ length: 10 }, (_, i) => body(serial++, i % 3 === 0 ? { template_id: acct.template } : {}));
    const r = await call('batch', 'POST', '/api/v1/passes/batch', { key: acct.key, body: { passes: items }, accept: (s) => s === 202 });
    if (r.status === 202) batches.push({ id: r.json.id, acct });
  },
  async events(acct) {
    await call('events', 'GET', '/api/v1/events?limit=10', { key: acct.key, accept: (s) => s === 200 });
    await call('metrics', 'GET', '/metrics');
  },
};

// name, weight, needs a pass
const MIX = [
  ['create', 20, false], ['update', 14, true], ['download', 22, true], ['downloadByKey', 3, true],
  ['register', 12, true], ['notify', 3, true], ['void', 1, true], ['read', 8, true], ['template', 3, false],
  ['batch', 4, false], ['events', 3, false],
];
const TOTAL = MIX.reduce((s, m) => s + m[1], 0);
function chooseOp() {
  let x = rand() * TOTAL;
  for (const m of MIX) if ((x -= m[1]) < 0) return m;
  return MIX[0];
}

before(async () => {
  if (skip) return;
  const ptids = ['pass.com.example.stress.a', 'pass.com.example.stress.b'];
  makePki(ptids);
  const apnsPort = await startApns();
  const rxUrl = await startReceiver();
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  g = await startGoogleStandin({ issuerId: ISSUER, clientEmail: EMAIL, publicKey });
  gw = await startGateway({
    config: {
      plugin_dir: PLUGIN_DIR,
      rate_limit: { requests_per_second: 0 },
      outbound: { allow_private_targets: true }, // every stand-in is on loopback
      jobs: { workers: 6, poll_ms: 50 },
      plugins: [
        { name: 'apple-signer', config: { cache_mb: 16 } },
        { name: 'google-jwt', config: { api_base_url: g.apiBase, token_url: g.tokenUrl, origins: ORIGINS } },
        { name: 'apns', config: { host: '127.0.0.1', port: apnsPort, ca_file: f('wwdr.pem'), timeout_ms: 10000 } },
        { name: 'geofence' },
        { name: 'webhooks', config: { allow_http: true, retry_scale: 0.002, timeout_ms: 5000, connect_timeout_ms: 2000, defer_ms: 50 } },
      ],
    },
  });
  gw.proc.on('exit', (code, signal) => { died = { code, signal }; });
  const serviceAccount = {
    type: 'service_account', project_id: 'walletpass-test', private_key_id: crypto.randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: EMAIL,
    token_uri: 'https://oauth2.googleapis.com/token',
  };
  for (const [i, ptid] of ptids.entries()) {
    const acct = gw.account();
    let r = await gw.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body: {
      p12_base64: fs.readFileSync(f(`pass${i}.p12`)).toString('base64'), p12_password: PASSWORD,
      pass_type_identifier: ptid, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
    } });
    assert.equal(r.status, 200, r.text);
    r = await gw.request('PUT', '/api/v1/credentials/google', { key: acct.key, body: { issuer_id: ISSUER, service_account_json: serviceAccount } });
    assert.equal(r.status, 200, r.text);
    r = await gw.request('POST', '/api/v1/webhooks', { key: acct.key, body: { url: `${rxUrl}/hook/${i}`, event_types: ['*'] } });
    assert.equal(r.status, 201, r.text);
    r = await gw.request('POST', '/api/v1/templates', { key: acct.key, body: { name: 'Stress card', body: body(0, { background_color: '#112233' }) } });
    assert.equal(r.status, 201, r.text);
    acct.template = r.body.id;
    accounts.push(acct);
  }
});

after(async () => {
  try {
    if (gw) await gw.stop();
  } finally {
    if (g) await g.close();
    if (apns) apns.close();
    if (rx) { rx.closeAllConnections(); rx.close(); }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(`the mix at once: ${CLIENTS} clients for up to ${SECONDS} s or ${MAX_OPS} operations; every request answered, no 5xx but 503, the gateway alive`, { skip, timeout: (SECONDS + 600) * 1000 }, async () => {
  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  const client = async () => {
    while (Date.now() < end && done < MAX_OPS && !died) {
      const [name, , needsPass] = chooseOp();
      const acct = pick(accounts);
      const live = passes.filter((p) => p.acct === acct);
      if (needsPass && live.length === 0) { await ops.create(acct); done++; continue; }
      // most work goes to recent passes, as real traffic does
      const p = needsPass ? live[Math.max(0, live.length - 1 - Math.floor(rand() * Math.min(live.length, 40)))] : null;
      await ops[name](acct, p);
      done++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const summary = Object.entries(counts).sort().map(([k, v]) => `${k}: ${v}`).join(', ');
  const n = (kind) => Object.entries(counts).filter(([k]) => k.startsWith(kind + ' ')).reduce((t, [, v]) => t + v, 0);
  const latency = Object.entries(ms).sort().map(([k, v]) => `${k} ${Math.round(v / Math.max(1, n(k)))} ms`).join(', ');
  assert.equal(died, null, `the gateway died (${JSON.stringify(died)}) after ${done} operations\n${gw.stderr().slice(-8000)}`);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failed request(s) of ${done} operations (${summary})`);

  // The background half of the mix really ran: Google syncs, APNs pushes, webhook deliveries, batches.
  await waitFor(() => g.apiCalls('PATCH').length > 0, { timeout: 120000, what: 'a Google object PATCH' });
  await waitFor(() => pushes.length > 0, { timeout: 120000, what: 'an APNs push' });
  await waitFor(() => deliveries.length > 0, { timeout: 120000, what: 'a webhook delivery' });
  assert.ok(counts['create 201'] > 0 && counts['pkpass 200'] > 0, summary);
  assert.ok(!died, `the gateway died (${JSON.stringify(died)})\n${gw.stderr().slice(-8000)}`);
  // Still serving after the load.
  const h = await call('healthz', 'GET', '/healthz');
  assert.equal(h.status, 200);
  console.log(`stress: ${done} operations in the mix; ${summary}; google API calls ${g.apiCalls().length}, ` +
    `APNs pushes ${pushes.length}, webhook deliveries ${deliveries.length}; mean latency: ${latency}`);
});
