// Driver of tests/bench/fetch_storm.sh: N devices registered on one pass through
// Apple's web service, one update, a push to every device (local HTTP/2 APNs
// stand-in, tests/integration/lib/apns_standin.mjs), and every device fetching the
// new version as Wallet does when its push arrives: GET
// /apple/v1/devices/<device>/registrations/<ptid>?passesUpdatedSince=<tag>, then GET
// /apple/v1/passes/<ptid>/<serial> with its ApplePass token.  Then npm
// @parse/node-apn sends the same N pushes to the same stand-in, as the push
// rate's baseline.
// Usage: node fetch_storm.mjs <walletpass binary> <admin PostgreSQL URL> <plugin dir> <N> <C>
//   C: the devices' HTTP connections to the gateway (keep-alive), shared by all devices.
// Prints one line of key=value figures (times in seconds, rates per second).
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import crypto from 'node:crypto';
import { createStandIn } from '../integration/lib/apns_standin.mjs';
import { makeClient, runAll, pct } from './lib/http_client.mjs';

const require = createRequire(import.meta.url);
const apn = require('@parse/node-apn');

const [BIN, ADMIN, PLUGIN_DIR, NARG, CARG] = process.argv.slice(2);
const N = Number(NARG || 10000), C = Number(CARG || 16);
const PTID = 'pass.com.example.bench';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-storm-bench-'));
const f = (n) => path.join(dir, n);
const ssl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const psql = (url, sql) => execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAq', '-c', sql], { encoding: 'utf8' }).trim();
const now = () => Number(process.hrtime.bigint()) / 1e9;

function pki() {
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional', ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Bench WWDR');
  ssl('genrsa', '-out', 'pass.key', '2048');
  fs.writeFileSync(f('pass.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature',
    'extendedKeyUsage = clientAuth', `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${PTID}`,
    // Apple's push-environment markers (development, production): node-apn checks them
    '1.2.840.113635.100.6.3.1 = ASN1:NULL', '1.2.840.113635.100.6.3.2 = ASN1:NULL', ''].join('\n'));
  ssl('req', '-new', '-key', 'pass.key', '-out', 'pass.csr', '-subj', `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=ABCDE12345/O=Bench/C=US`);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'pass.csr',
    '-out', 'pass.pem', '-days', '2', '-extfile', 'pass.ext', '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass.pem', '-passout', 'pass:bench', '-out', 'pass.p12');
  ssl('genrsa', '-out', 'tls.key', '2048');
  fs.writeFileSync(f('tls.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'subjectAltName = IP:127.0.0.1, DNS:localhost', ''].join('\n'));
  ssl('req', '-new', '-key', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'tls.csr', '-out', 'tls.pem',
    '-days', '2', '-extfile', 'tls.ext', '-extensions', 'ext');
}

const freePort = () => new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });

// The stand-in answers 200 to every push and hands the token to onPush.
let onPush = () => {};
let pushes = 0, streamErrors = 0;
function standIn() {
  const srv = createStandIn({ key: fs.readFileSync(f('tls.key')), cert: fs.readFileSync(f('tls.pem')),
    ca: fs.readFileSync(f('ca.pem')), settings: { maxConcurrentStreams: 1000 } });
  srv.h2.on('stream', (stream, headers) => {
    stream.on('error', () => { streamErrors++; });
    stream.on('data', () => {});
    stream.on('end', () => {
      stream.respond({ ':status': headers['apns-topic'] === PTID ? 200 : 400, 'apns-id': crypto.randomUUID() }, { endStream: true });
      pushes++;
      onPush(String(headers[':path']).replace(/^\/3\/device\//, ''));
    });
  });
  return new Promise((res) => srv.listen(0, '127.0.0.1', () => res(srv)));
}

const tokenOf = (i) => crypto.createHash('sha256').update(`device-${i}`).digest('hex');
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

async function main() {
  pki();
  const apns = await standIn();
  const port = await freePort();
  const db = 'wp_bench_fetch_storm';
  psql(ADMIN, `DROP DATABASE IF EXISTS ${db}`);
  psql(ADMIN, `CREATE DATABASE ${db}`);
  const u = new URL(ADMIN);
  u.pathname = '/' + db;
  const dbUrl = u.toString();
  const cfg = { $comment: 'benchmark gateway: apple-signer and apns (to the stand-in), keep-alive, the rate limit off',
    server: { port, listen_address: '127.0.0.1', keep_alive: true }, public_url: `http://127.0.0.1:${port}`,
    rate_limit: { requests_per_second: 0 }, log_level: 'warn', plugin_dir: PLUGIN_DIR,
    plugins: [{ name: 'apple-signer' }, { name: 'apns', config: { host: '127.0.0.1', port: apns.address().port, ca_file: f('ca.pem') } }] };
  fs.writeFileSync(f('gw.json'), JSON.stringify(cfg));
  const env = { ...process.env, WALLETPASS_CONFIG: f('gw.json'), WALLETPASS_DATABASE_URL: dbUrl,
    WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64') };
  const gw = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', fs.openSync(f('gw.log'), 'w')] });
  process.on('exit', () => gw.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch { /* not yet */ }
    if (i > 300) throw new Error('gateway did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const run = (args) => execFileSync(BIN, args, { env, encoding: 'utf8' }).trim();
  const account = run(['account', 'create', '--name', 'Bench', '--email', 'bench-storm@example.com', '--plan', 'unlimited']);
  const key = run(['key', 'create', '--account', account]);
  const cli = makeClient(base, C);
  const api = async (method, p, body) => {
    const r = await cli.request(method, p, { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify(body));
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
  };
  await api('PUT', '/api/v1/credentials/apple', { p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'),
    p12_password: 'bench', pass_type_identifier: PTID, team_identifier: 'ABCDE12345', wwdr_pem: fs.readFileSync(f('ca.pem'), 'utf8') });
  const pass = await api('POST', '/api/v1/passes', { pass_type: 'generic', organization_name: 'Bench',
    primary_fields: [{ key: 'v', label: 'V', value: '0' }] });
  const pk = new URL(pass.pkpass_url);
  const first = await cli.request('GET', pk.pathname + pk.search);
  fs.writeFileSync(f('pass.pkpass'), first.body);
  const pj = JSON.parse(execFileSync('unzip', ['-p', f('pass.pkpass'), 'pass.json'], { encoding: 'utf8' }));
  const auth = { authorization: `ApplePass ${pj.authenticationToken}` };
  const serial = pj.serialNumber;
  const passPath = `/apple/v1/passes/${PTID}/${serial}`;

  // ---- registration: every device registers the pass with its push token
  const devices = Array.from({ length: N }, (_, i) => ({ id: `bench-device-${i}`, token: tokenOf(i) }));
  const byToken = new Map(devices.map((d) => [d.token, d]));
  const reg = await runAll(devices, C, async (d) => {
    const r = await cli.request('POST', `/apple/v1/devices/${d.id}/registrations/${PTID}/${serial}`,
      { ...auth, 'content-type': 'application/json' }, JSON.stringify({ pushToken: d.token }));
    if (r.status !== 201) throw new Error(`register ${d.id}: ${r.status} ${r.body}`);
  });
  // what every device holds now: the current tag and bundle
  const list0 = await cli.request('GET', `/apple/v1/devices/${devices[0].id}/registrations/${PTID}`);
  if (list0.status !== 200) throw new Error(`registrations list: ${list0.status}`);
  const tag0 = JSON.parse(list0.body).lastUpdated;
  const old = await cli.request('GET', passPath, auth);
  if (old.status !== 200) throw new Error(`GET ${passPath}: ${old.status}`);
  const oldHash = sha(old.body);

  // ---- the storm: one update; each push starts its device's two requests
  let queue = [], inflight = 0, done = 0, failed = null, newHash = null;
  const t = { firstPush: 0, lastPush: 0, firstList: 0, lastList: 0, firstPass: 0, lastPass: 0 };
  const listLat = [], passLat = [];
  let finish;
  const finished = new Promise((res) => { finish = res; });
  const seen = new Set();
  async function fetchNew(d) {
    let s = now();
    if (!t.firstList) t.firstList = s;
    const l = await cli.request('GET', `/apple/v1/devices/${d.id}/registrations/${PTID}?passesUpdatedSince=${encodeURIComponent(tag0)}`);
    const e = now();
    t.lastList = e; listLat.push((e - s) * 1000);
    if (l.status !== 200 || !JSON.parse(l.body).serialNumbers.includes(serial)) throw new Error(`${d.id}: registrations answered ${l.status} ${l.body}`);
    s = now();
    if (!t.firstPass) t.firstPass = s;
    const p = await cli.request('GET', passPath, auth);
    const e2 = now();
    t.lastPass = e2; passLat.push((e2 - s) * 1000);
    if (p.status !== 200) throw new Error(`${d.id}: GET pass answered ${p.status}`);
    const h = sha(p.body);
    newHash ??= h;
    if (h !== newHash || h === oldHash) throw new Error(`${d.id}: got ${h === oldHash ? 'the old' : 'another'} bundle`);
  }
  const pump = () => {
    while (inflight < C && queue.length) {
      const d = queue.shift();
      inflight++;
      fetchNew(d).then(() => {
        inflight--; done++;
        if (done === N) finish(); else pump();
      }, (e) => { failed = e; finish(); });
    }
  };
  onPush = (token) => {
    const ts = now();
    if (!t.firstPush) t.firstPush = ts;
    t.lastPush = ts;
    const d = byToken.get(token);
    if (!d || seen.has(token)) return; // a repeated push only makes Wallet ask again; counted once
    seen.add(token);
    queue.push(d);
    pump();
  };
  const pushes0 = pushes;
  const tPut = now();
  await api('PUT', `/api/v1/passes/${pass.id}`, { primary_fields: [{ key: 'v', label: 'V', value: '1' }] });
  const tAnswer = now();
  const timer = setTimeout(() => { failed = new Error(`after 600 s: ${seen.size} of ${N} devices pushed, ${done} updated`); finish(); }, 600000);
  await finished;
  clearTimeout(timer);
  if (failed) throw failed;
  const tEnd = t.lastPass;
  const stormPushes = pushes - pushes0;
  cli.close();
  for (let i = 0; Number(psql(dbUrl, `SELECT count(*) FROM apns_registrations WHERE last_push_status = 200`)) < N && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const ok = psql(dbUrl, `SELECT count(*) FROM apns_registrations WHERE last_push_status = 200`);
  gw.kill('SIGTERM');
  await new Promise((r) => gw.on('exit', r));

  // ---- baseline: @parse/node-apn pushes the same N tokens to the same stand-in
  onPush = () => {};
  const provider = new apn.Provider({ cert: fs.readFileSync(f('pass.pem')), key: fs.readFileSync(f('pass.key')),
    ca: fs.readFileSync(f('ca.pem')), address: '127.0.0.1', port: apns.address().port });
  const note = () => { const n = new apn.Notification(); n.topic = PTID; n.rawPayload = {}; n.pushType = 'background'; n.priority = 5; return n; };
  await provider.send(note(), devices.slice(0, 100).map((d) => d.token)); // warm-up: connect
  const t1 = now();
  const res = await provider.send(note(), devices.map((d) => d.token));
  const napnSecs = now() - t1;
  provider.shutdown();
  apns.close();
  psql(ADMIN, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  fs.rmSync(dir, { recursive: true, force: true });

  listLat.sort((a, b) => a - b); passLat.sort((a, b) => a - b);
  const r = (x) => Math.round(x);
  const out = {
    devices: N, connections: C, bundle_bytes: old.body.length,
    register_secs: reg.secs.toFixed(3), register_per_s: r(N / reg.secs), register_p99_ms: pct(reg.latenciesMs, 99).toFixed(2),
    put_ms: ((tAnswer - tPut) * 1000).toFixed(1),
    storm_secs: (tEnd - tAnswer).toFixed(3), storm_from_put_sent_secs: (tEnd - tPut).toFixed(3),
    first_push_after_answer_ms: ((t.firstPush - tAnswer) * 1000).toFixed(1),
    push_secs: (t.lastPush - tPut).toFixed(3), push_per_s: r(N / (t.lastPush - tPut)), pushes_received: stormPushes, pushes_ok: ok,
    list_per_s: r(N / (t.lastList - t.firstList)), list_p99_ms: pct(listLat, 99).toFixed(2),
    pass_per_s: r(N / (t.lastPass - t.firstPass)), pass_p99_ms: pct(passLat, 99).toFixed(2),
    devices_per_s: r(N / (tEnd - tAnswer)),
    node_apn_secs: napnSecs.toFixed(3), node_apn_per_s: r(N / napnSecs), node_apn_ok: res.sent.length, node_apn_failed: res.failed.length,
    stream_errors: streamErrors, late_resets: apns.stats.lateResets, open_stream_resets: apns.stats.resets, apns_connections: apns.stats.connections,
  };
  console.log(Object.entries(out).map(([k, v]) => `${k}=${v}`).join(' '));
}
main().catch((e) => {
  console.error(e);
  try { console.error(fs.readFileSync(f('gw.log'), 'utf8').split('\n').slice(-20).join('\n')); } catch { /* none */ }
  process.exit(1);
});
