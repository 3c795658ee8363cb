// Benchmark driver for tests/bench/apns_push.sh: one pass update fanned out to N
// registered devices by the apns plugin, against a local HTTP/2 APNs stand-in (Node's
// http2, TLS client certificates), next to npm @parse/node-apn sending the same N pushes
// with the same certificate to the same stand-in in the same run.
// Usage: node apns_push.mjs <walletpass binary> <admin PostgreSQL URL> <plugin dir> <N>
// Prints one line: apns_pushes_per_s=... node_apn_pushes_per_s=... devices=N ...
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { createStandIn } from '../integration/lib/apns_standin.mjs';
import crypto from 'node:crypto';

const require = createRequire(import.meta.url);
const apn = require('@parse/node-apn');

const [BIN, ADMIN, PLUGIN_DIR, NARG] = process.argv.slice(2);
const N = Number(NARG || 10000);
const PTID = 'pass.com.example.bench';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-apns-bench-'));
const f = (n) => path.join(dir, n);
const ssl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const psql = (url, sql) => execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAq', '-c', sql], { encoding: 'utf8' }).trim();

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

// The stand-in: answers 200 to every push from a client certificate of the CA; counts them
// (TLS connections, resets and GOAWAYs in srv.stats: tests/integration/lib/apns_standin.mjs).
let count = 0, errors = 0, waiter = null;
function standIn() {
  const srv = createStandIn({ key: fs.readFileSync(f('tls.key')), cert: fs.readFileSync(f('tls.pem')),
    ca: fs.readFileSync(f('ca.pem')), settings: { maxConcurrentStreams: 1000 } });
  srv.h2.on('stream', (stream, headers) => {
    stream.on('error', () => { errors++; });
    stream.on('data', () => {});
    stream.on('end', () => {
      // like APNs: a 200 is one HEADERS frame that ends the stream
      stream.respond({ ':status': headers['apns-topic'] === PTID ? 200 : 400, 'apns-id': crypto.randomUUID() }, { endStream: true });
      count++;
      if (waiter && count >= waiter.n) { const w = waiter; waiter = null; w.resolve(); }
    });
  });
  return new Promise((res) => srv.listen(0, '127.0.0.1', () => res(srv)));
}
const until = (n, ms = 120000) => (count >= n ? Promise.resolve() : new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`the stand-in got ${count} of ${n} pushes within ${ms} ms`)), ms);
  waiter = { n, resolve: () => { clearTimeout(t); resolve(); } };
}));

async function main() {
  pki();
  const apns = await standIn();
  const port = await freePort();
  const db = 'wp_bench_apns';
  psql(ADMIN, `DROP DATABASE IF EXISTS ${db}`);
  psql(ADMIN, `CREATE DATABASE ${db}`);
  const u = new URL(ADMIN);
  u.pathname = '/' + db;
  const dbUrl = u.toString();
  const cfg = { server: { port, listen_address: '127.0.0.1', num_threads: 8 }, public_url: `http://127.0.0.1:${port}`,
    log_level: 'warn', plugin_dir: PLUGIN_DIR,
    plugins: [{ name: 'apple-signer' }, { name: 'apns', config: { host: '127.0.0.1', port: apns.address().port, ca_file: f('ca.pem') } }] };
  fs.writeFileSync(f('gw.json'), JSON.stringify(cfg));
  const env = { ...process.env, WALLETPASS_CONFIG: f('gw.json'), WALLETPASS_DATABASE_URL: dbUrl,
    WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64') };
  const gw = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', fs.openSync(f('gw.log'), 'w')] });
  process.on('exit', () => gw.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(url + '/healthz')).ok) break; } catch { /* not yet */ }
    if (i > 300) throw new Error('gateway did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const run = (args) => execFileSync(BIN, args, { env, encoding: 'utf8' }).trim();
  const account = run(['account', 'create', '--name', 'Bench', '--email', 'bench@example.com', '--plan', 'unlimited']);
  const key = run(['key', 'create', '--account', account]);
  const call = async (method, p, body) => {
    const r = await fetch(url + p, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  await call('PUT', '/api/v1/credentials/apple', { p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'),
    p12_password: 'bench', pass_type_identifier: PTID, team_identifier: 'ABCDE12345', wwdr_pem: fs.readFileSync(f('ca.pem'), 'utf8') });
  const pass = await call('POST', '/api/v1/passes', { pass_type: 'generic', organization_name: 'Bench',
    primary_fields: [{ key: 'v', label: 'V', value: '0' }] });
  // N registrations, as N phones would leave them (64 hex characters per token)
  psql(dbUrl, `INSERT INTO apns_registrations (account_id, device_library_identifier, pass_type_identifier, serial_number, push_token, pass_id)
    SELECT '${account}', 'dev' || g, '${PTID}', '${pass.serial_number}', encode(sha256(g::text::bytea), 'hex'), '${pass.id}'
    FROM generate_series(1, ${N}) g;
    INSERT INTO apns_passes (account_id, pass_id, serial_number, tag, modified_s) VALUES ('${account}', '${pass.id}', '${pass.serial_number}', 0, 0)`);

  // warm-up: one update (connection opened, code paths hot), then the measured one
  count = 0;
  let done = until(N);
  await call('PUT', `/api/v1/passes/${pass.id}`, { primary_fields: [{ key: 'v', label: 'V', value: 'warm' }] });
  await done;
  count = 0;
  const s0 = { ...apns.stats };
  done = until(N);
  const t0 = process.hrtime.bigint();
  await call('PUT', `/api/v1/passes/${pass.id}`, { primary_fields: [{ key: 'v', label: 'V', value: '1' }] });
  await done;
  const gwSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  const gwConnections = apns.stats.connections, gwSessions = apns.stats.connections - s0.connections, gwGoaways = apns.stats.goaways - s0.goaways;
  // the results are recorded after the last answer (warm-up and measured update: 2N rows)
  for (let i = 0; Number(psql(dbUrl, 'SELECT count(*) FROM apns_pushes')) < 2 * N && i < 100; i++) await new Promise((r) => setTimeout(r, 100));
  const ok = psql(dbUrl, `SELECT count(*) FROM apns_registrations WHERE last_push_status = 200`);
  const retried = psql(dbUrl, `SELECT count(*) FROM apns_pushes WHERE attempt > 1`);
  gw.kill('SIGTERM');
  await new Promise((r) => gw.on('exit', r));

  // @parse/node-apn: the same N tokens, certificate and stand-in
  const tokens = psql(ADMIN.replace(/\/[^/]*$/, '/' + db), `SELECT push_token FROM apns_registrations ORDER BY 1`).split('\n');
  const provider = new apn.Provider({ cert: fs.readFileSync(f('pass.pem')), key: fs.readFileSync(f('pass.key')),
    ca: fs.readFileSync(f('ca.pem')), address: '127.0.0.1', port: apns.address().port });
  const note = () => { const n = new apn.Notification(); n.topic = PTID; n.rawPayload = {}; n.pushType = 'background'; n.priority = 5; return n; };
  count = 0;
  await provider.send(note(), tokens.slice(0, 100)); // warm-up: connect
  count = 0;
  const s1 = apns.stats.connections;
  const t1 = process.hrtime.bigint();
  const res = await provider.send(note(), tokens);
  const napnSecs = Number(process.hrtime.bigint() - t1) / 1e9;
  const napnSessions = apns.stats.connections - s1;
  provider.shutdown();
  apns.close();
  psql(ADMIN, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`devices=${N} apns_pushes_per_s=${Math.round(N / gwSecs)} apns_secs=${gwSecs.toFixed(3)} apns_ok=${ok} ` +
    `apns_connections=${gwConnections} apns_new_connections=${gwSessions} apns_goaways=${gwGoaways} apns_retried=${retried} node_apn_pushes_per_s=${Math.round(N / napnSecs)} node_apn_secs=${napnSecs.toFixed(3)} ` +
    `node_apn_ok=${res.sent.length} node_apn_failed=${res.failed.length} node_apn_new_connections=${napnSessions} stream_errors=${errors} late_resets=${apns.stats.lateResets} open_stream_resets=${apns.stats.resets}`);
}
main().catch((e) => {
  console.error(e);
  try { console.error(fs.readFileSync(f('gw.log'), 'utf8').split('\n').slice(-20).join('\n')); } catch { /* none */ }
  process.exit(1);
});
