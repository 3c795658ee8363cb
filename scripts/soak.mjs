// The soak driver (scripts/soak sets up its environment): one gateway with the apple-signer,
// apns and webhooks plugins against a private database, an APNs stand-in and a webhook
// receiver; a mixed load for the given minutes (create, update, pkpass downloads, Apple's web
// service polled by phones, reads); every second the gateway's RSS, open file descriptors,
// database connections and job queue depth are sampled.  At the end: a verdict on growth in
// the second half, the samples as CSV and a plot as SVG (drawn here, no plotting library).
//
// Environment: WP_SOAK_BIN, WP_SOAK_PG_ADMIN_URL, WP_SOAK_OUT (output folder), WP_SOAK_MINUTES,
// WP_SOAK_CLIENTS (concurrent clients, 4), WP_SOAK_PAUSE_MS (each client's pause between
// operations, 20).  Exit status: 0 when nothing grew, 1 when something did or the run failed.
import { spawn, execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIB = path.join(ROOT, 'tests/integration/lib');
const { createStandIn } = await import(path.join(LIB, 'apns_standin.mjs'));
const { makePki, TEAM, P12_PASSWORD } = await import(path.join(LIB, 'apple-pki.mjs'));
const { startWebhookReceiver } = await import(path.join(LIB, 'webhook-receiver.mjs'));

const BIN = process.env.WP_SOAK_BIN;
const ADMIN = process.env.WP_SOAK_PG_ADMIN_URL;
const OUT = process.env.WP_SOAK_OUT || path.join(ROOT, 'var/soak');
const MINUTES = Number(process.env.WP_SOAK_MINUTES || 3);
const CLIENTS = Number(process.env.WP_SOAK_CLIENTS || 4);
const PAUSE_MS = Number(process.env.WP_SOAK_PAUSE_MS || 20);
const PHONES = 20; // passes with a registered device: their updates push, their phones poll
const MAX_PASSES = 400; // creates beyond this replace nothing: the mix turns to updates and reads
const PTID = 'pass.com.example.soak';
if (!BIN || !ADMIN) throw new Error('run through scripts/soak (WP_SOAK_BIN, WP_SOAK_PG_ADMIN_URL)');
if (!(MINUTES > 0)) throw new Error(`minutes must be a positive number, got ${process.env.WP_SOAK_MINUTES}`);

const say = (m) => process.stderr.write(`==> ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const psql = (url, q) => new Promise((resolve, reject) =>
  execFile('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAq', '-c', q], { encoding: 'utf8' }, (e, o) => (e ? reject(e) : resolve(o.trim()))));
const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

fs.mkdirSync(OUT, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-soak-'));
const dbName = `soak_${Date.now()}`;
await psql(ADMIN, `CREATE DATABASE ${dbName}`);
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();

// ---- the stand-ins ----
say('making a throwaway Apple PKI');
const pki = makePki(work, { pass: PTID });
let pushes = 0;
const apns = createStandIn({ key: fs.readFileSync(pki.file('tls.key')), cert: fs.readFileSync(pki.file('tls.pem')),
  ca: fs.readFileSync(pki.file('wwdr.pem')) });
apns.h2.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.resume();
  stream.on('end', () => {
    pushes++;
    if (!stream.destroyed && !stream.closed) stream.respond({ ':status': 200, 'apns-id': crypto.randomUUID() }, { endStream: true });
  });
});
const apnsPort = await new Promise((r) => apns.listen(0, '127.0.0.1', () => r(apns.address().port)));
const rx = await startWebhookReceiver();
rx.behave('/soak', () => ({ status: 200 }));

// ---- the gateway ----
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const config = {
  server: { port, listen_address: '127.0.0.1', ...(process.env.WP_SOAK_THREADS ? { num_threads: Number(process.env.WP_SOAK_THREADS) } : {}) },
  public_url: url,
  log_level: 'warn',
  apple: { require_apple_wwdr: false },
  rate_limit: { requests_per_second: 0 },
  outbound: { allow_private_targets: true },
  // The access log's queue is a ring allocated whole, whose pages the kernel maps as they are first
  // written: RSS rises by one entry (448 bytes) per API request until the ring has wrapped once
  // (100,000 requests with the default capacity).  A small ring is touched whole within seconds, so
  // what RSS does afterwards is the gateway's own doing.
  access_log: { queue_capacity: 512 },
  plugin_dir: path.join(path.dirname(path.dirname(BIN)), 'plugins'),
  plugins: [
    // a small bundle cache, full within the first minute: what grows after that is not the cache filling
    { name: 'apple-signer', config: { cache_mb: 2 } },
    { name: 'apns', config: { host: '127.0.0.1', port: apnsPort, ca_file: pki.file('wwdr.pem') } },
    { name: 'webhooks', config: { allow_http: true } },
  ],
};
const cfgPath = path.join(work, 'walletpass.json');
fs.writeFileSync(cfgPath, JSON.stringify(config, null, 2));
const env = { ...process.env, WALLETPASS_CONFIG: cfgPath, WALLETPASS_DATABASE_URL: dbUrl,
  WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64') };
const logPath = path.join(OUT, 'gateway.log');
const log = fs.openSync(logPath, 'w');
const gw = spawn(BIN, ['serve'], { env, stdio: ['ignore', log, log] });
let exited = null;
gw.on('exit', (code, signal) => { exited = { code, signal }; });
for (let i = 0; ; i++) {
  if (exited) throw new Error(`the gateway exited at start (${JSON.stringify(exited)}); see ${logPath}`);
  try { if ((await fetch(`${url}/healthz`)).ok) break; } catch { /* not yet */ }
  if (i > 600) throw new Error('the gateway did not answer /healthz within a minute');
  await sleep(100);
}
say(`gateway pid ${gw.pid} on ${url} (database ${dbName})`);
const cli = (args) => execFileSync(BIN, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const account = cli(['account', 'create', '--name', 'Soak', '--email', `soak-${Date.now()}@example.com`, '--plan', 'unlimited']);
const key = cli(['key', 'create', '--account', account]);

const stats = new Map(); // op -> { n, errors, ms: [] }
async function api(op, method, p, body, headers = {}) {
  const t0 = performance.now();
  const h = { authorization: `Bearer ${key}`, ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  let status = 0;
  let res;
  try {
    res = await fetch(p.startsWith('http') ? p : url + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    status = res.status;
  } catch (e) {
    res = { error: e };
  }
  const s = stats.get(op) || { n: 0, errors: 0, ms: [], statuses: {} };
  s.n++;
  s.ms.push(performance.now() - t0);
  s.statuses[status] = (s.statuses[status] || 0) + 1;
  if (!status || status >= 500) s.errors++;
  stats.set(op, s);
  return res;
}

let r = await api('setup', 'PUT', '/api/v1/credentials/apple', { p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD,
  pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: pki.wwdrPem });
if (r.status !== 200) throw new Error(`Apple credentials: ${r.status} ${await r.text()}`);
r = await api('setup', 'POST', '/api/v1/webhooks', { url: rx.url('/soak'), event_types: ['*'] });
if (r.status !== 201) throw new Error(`webhook endpoint: ${r.status} ${await r.text()}`);
rx.setSecret('/soak', (await r.json()).secret);

// ---- the load ----
const passes = []; // { id, serial, pkpass_url, points }
const phones = []; // { device, serial, token (ApplePass), ws, tag, lm }
let seq = 0;
const pick = (a) => a[Math.floor(Math.random() * a.length)];

async function create() {
  const n = seq++;
  const res = await api('create', 'POST', '/api/v1/passes', { pass_type: 'loyalty', organization_name: 'Soak Co', program_name: 'Soak',
    serial_number: `SOAK-${n}`, barcode_message: `SOAK-${n}`, primary_fields: [{ key: 'points', label: 'Points', value: '0' }] });
  if (res.status !== 201) return null;
  const p = await res.json();
  const pass = { id: p.id, serial: p.serial_number, pkpass_url: p.pkpass_url, points: 0 };
  passes.push(pass);
  return pass;
}
async function download(pass) {
  const res = await api('pkpass', 'GET', pass.pkpass_url);
  return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : null;
}
function passJson(buf) {
  const f = path.join(work, `${crypto.randomUUID()}.pkpass`);
  fs.writeFileSync(f, buf);
  try { return JSON.parse(execFileSync('unzip', ['-p', f, 'pass.json'], { encoding: 'utf8' })); } finally { fs.rmSync(f); }
}
async function phone(pass, i) {
  const buf = await download(pass);
  if (!buf) throw new Error(`pkpass of ${pass.id} not downloadable`);
  const pj = passJson(buf);
  const ph = { device: `soak-device-${i}`, serial: pj.serialNumber, token: pj.authenticationToken, ws: pj.webServiceURL, tag: null, lm: null };
  const res = await api('register', 'POST', `${ph.ws}/v1/devices/${ph.device}/registrations/${PTID}/${ph.serial}`,
    { pushToken: crypto.randomBytes(32).toString('hex') }, { authorization: `ApplePass ${ph.token}` });
  if (res.status !== 201) throw new Error(`registration: ${res.status}`);
  phones.push(ph);
}
async function update() {
  const pass = pick(passes);
  pass.points++;
  await api('update', 'PUT', `/api/v1/passes/${pass.id}`, { primary_fields: [{ key: 'points', label: 'Points', value: String(pass.points) }] });
}
async function poll() {
  const ph = pick(phones);
  const res = await api('ws_list', 'GET', `${ph.ws}/v1/devices/${ph.device}/registrations/${PTID}${ph.tag ? `?passesUpdatedSince=${ph.tag}` : ''}`, undefined, {});
  if (res.status === 200) {
    const b = await res.json();
    ph.tag = b.lastUpdated;
    if (b.serialNumbers.includes(ph.serial)) {
      const h = { authorization: `ApplePass ${ph.token}` };
      if (ph.lm) h['if-modified-since'] = ph.lm;
      const g = await api('ws_pass', 'GET', `${ph.ws}/v1/passes/${PTID}/${ph.serial}`, undefined, h);
      if (g.status === 200) { ph.lm = g.headers.get('last-modified'); await g.arrayBuffer(); }
    }
  } else if (res.body) {
    await res.arrayBuffer();
  }
}
async function read() {
  if (Math.random() < 0.5) await (await api('get', 'GET', `/api/v1/passes/${pick(passes).id}`)).arrayBuffer();
  else await (await api('list', 'GET', '/api/v1/passes?limit=20')).arrayBuffer();
}

say(`seeding: ${PHONES} passes, each installed on a phone that registers with the web service`);
for (let i = 0; i < PHONES; i++) await phone(await create(), i);

// ---- sampling ----
// One psql session for the whole run: a new psql each second would cost more than what it measures.
function psqlSession(u) {
  const p = spawn('psql', [u, '-tAq', '-v', 'ON_ERROR_STOP=0'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  let waiting = null;
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (d) => {
    buf += d;
    const i = buf.indexOf('__soak_end__\n');
    if (i >= 0 && waiting) {
      const out = buf.slice(0, i);
      buf = buf.slice(i + 13);
      const w = waiting;
      waiting = null;
      w(out.trim());
    }
  });
  return {
    query: (q) => new Promise((resolve) => { waiting = resolve; p.stdin.write(`${q};\n\\echo __soak_end__\n`); }),
    close: () => p.stdin.end('\\q\n'),
  };
}
const probe = psqlSession(dbUrl);
const samples = []; // { t (s since start), rss (MiB), fds, db, queue, ops }
const t0 = Date.now();
let opsDone = 0;
async function sample() {
  const status = fs.readFileSync(`/proc/${gw.pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
  const fds = fs.readdirSync(`/proc/${gw.pid}/fd`).length;
  // the gateway's connections (pool, job workers, listener), and the jobs due and not finished
  const [db, queue] = (await probe.query(`SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = '${dbName}'
      AND application_name = 'walletpass') || '|' || (SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND run_at <= now())`))
    .split('|').map(Number);
  samples.push({ t: (Date.now() - t0) / 1000, rss, fds, db, queue, ops: opsDone });
}

const end = t0 + MINUTES * 60000;
let stop = false;
const sampler = (async () => {
  let next = Date.now();
  while (!stop) {
    try { await sample(); } catch (e) { if (!exited) say(`sample failed: ${e.message}`); }
    next += 1000;
    await sleep(Math.max(0, next - Date.now()));
  }
})();
// The mix: weights of each operation (WP_SOAK_MIX="create:15,update:30,..." changes them).
const kinds = { create, update, pkpass: async () => { await download(pick(passes)); }, poll, read };
const mix = Object.fromEntries((process.env.WP_SOAK_MIX || 'create:15,update:30,pkpass:15,poll:25,read:15').split(',')
  .map((kv) => kv.split(':')).map(([k, w]) => {
    if (!kinds[k] || !(Number(w) >= 0)) throw new Error(`WP_SOAK_MIX: "${k}:${w}" is not one of ${Object.keys(kinds).join(', ')} with a weight`);
    return [k, Number(w)];
  }));
const total = Object.values(mix).reduce((a, b) => a + b, 0);
const ops = Object.entries(mix).map(([k, w]) => [w / total, kinds[k]]);
async function client() {
  while (!stop && Date.now() < end && !exited) {
    let x = Math.random();
    let op = ops[ops.length - 1][1];
    for (const [w, f] of ops) { if (x < w) { op = f; break; } x -= w; }
    if (op === create && passes.length >= MAX_PASSES) op = update;
    try { await op(); } catch (e) { const s = stats.get('driver') || { n: 0, errors: 0, ms: [], statuses: {} }; s.errors++; s.n++; stats.set('driver', s); }
    opsDone++;
    if (PAUSE_MS) await sleep(PAUSE_MS);
  }
}
say(`load: ${CLIENTS} clients for ${MINUTES} min (samples every second)`);
const progress = setInterval(() => {
  const s = samples.at(-1);
  if (s) say(`${s.t.toFixed(0)} s: ${opsDone} operations, RSS ${s.rss.toFixed(1)} MiB, ${s.fds} fds, ${s.db} db connections, queue ${s.queue}`);
}, 30000);
await Promise.all(Array.from({ length: CLIENTS }, client));
stop = true;
clearInterval(progress);
await sampler;
probe.close();
const webhooksDelivered = rx.seen.filter((x) => x.status === 200).length;
const badSignatures = rx.seen.filter((x) => x.verified === false).length;

// ---- stop ----
gw.kill('SIGTERM');
for (let i = 0; i < 600 && !exited; i++) await sleep(100);
const stopOk = exited && exited.code === 0;
apns.close();
await rx.close();
await psql(ADMIN, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
fs.rmSync(work, { recursive: true, force: true });

// ---- verdict: no growth in the second half ----
// A least-squares line through the second half's samples; its rise over that half, against a
// tolerance per metric (noise and warm-up are not growth).
function slope(xs, ys) {
  const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den ? num / den : 0;
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : 0; };
const mean = (a) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0);
const duration = samples.length ? samples.at(-1).t : 0;
const half = samples.filter((s) => s.t >= duration / 2);
const METRICS = [
  { key: 'rss', name: 'RSS', unit: 'MiB', tol: (m) => Math.max(4, 0.05 * m) },
  { key: 'fds', name: 'open file descriptors', unit: '', tol: () => 4 },
  { key: 'db', name: 'database connections', unit: '', tol: () => 2 },
  { key: 'queue', name: 'job queue depth (due)', unit: '', tol: (m) => Math.max(20, 0.5 * m) },
];
const verdicts = [];
for (const m of METRICS) {
  const ys = half.map((s) => s[m.key]);
  const first = samples.filter((s) => s.t < duration / 2).map((s) => s[m.key]);
  const k = slope(half.map((s) => s.t), ys); // per second
  const rise = k * (duration / 2);
  const tol = m.tol(median(ys));
  const grew = rise > tol;
  verdicts.push({ ...m, firstMean: mean(first), secondMean: mean(ys), min: Math.min(...ys), max: Math.max(...ys), perMin: k * 60, rise, tol, grew });
}
const failedOps = [...stats.entries()].reduce((a, [, s]) => a + s.errors, 0);
const enough = half.length >= 10; // fewer samples than that tell nothing about a trend
const ok = enough && verdicts.every((v) => !v.grew) && stopOk && failedOps === 0 && badSignatures === 0;

// ---- outputs: CSV, SVG, summary ----
const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
const csvPath = path.join(OUT, `soak-${stamp}.csv`);
fs.writeFileSync(csvPath, 't_s,rss_mib,fds,db_connections,queue_depth,operations\n' +
  samples.map((s) => [s.t.toFixed(1), s.rss.toFixed(2), s.fds, s.db, s.queue, s.ops].join(',')).join('\n') + '\n');
const svg = plot(samples, verdicts, { minutes: MINUTES, clients: CLIENTS, ops: opsDone });
const svgPath = path.join(OUT, `soak-${stamp}.svg`);
fs.writeFileSync(svgPath, svg);
fs.copyFileSync(svgPath, path.join(OUT, 'soak-latest.svg'));

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : 0; };
const lines = [];
lines.push(`soak: ${duration.toFixed(0)} s, ${CLIENTS} clients, ${opsDone} operations (${(opsDone / Math.max(1, duration)).toFixed(1)}/s), ` +
  `${pushes} APNs pushes, ${webhooksDelivered} webhook deliveries (${badSignatures} with a bad signature)`);
lines.push('operation    count   5xx/err   p50 ms   p99 ms');
for (const [op, s] of [...stats.entries()].sort()) {
  lines.push(`${op.padEnd(10)} ${String(s.n).padStart(7)} ${String(s.errors).padStart(9)} ${pct(s.ms, 0.5).toFixed(1).padStart(8)} ${pct(s.ms, 0.99).toFixed(1).padStart(8)}`);
}
lines.push('metric                   1st half mean  2nd half mean  2nd half min..max  2nd half trend  tolerance  verdict');
for (const v of verdicts) {
  const f = (x) => (v.unit ? x.toFixed(1) : x.toFixed(1));
  lines.push(`${(v.name + (v.unit ? ` (${v.unit})` : '')).padEnd(24)} ${f(v.firstMean).padStart(13)} ${f(v.secondMean).padStart(14)} ` +
    `${`${f(v.min)}..${f(v.max)}`.padStart(18)} ${`${v.rise >= 0 ? '+' : ''}${v.rise.toFixed(2)}`.padStart(15)} ${v.tol.toFixed(1).padStart(10)}  ${v.grew ? 'GROWING' : 'flat'}`);
}
lines.push(`gateway stopped with SIGTERM: ${stopOk ? 'exit 0' : JSON.stringify(exited)}`);
lines.push(`verdict: ${ok ? 'PASS: nothing grew in the second half' : 'FAIL'}${failedOps ? ` (${failedOps} failed operations)` : ''}` +
  `${enough ? '' : ` (only ${half.length} samples in the second half: run longer)`}`);
lines.push(`samples: ${csvPath}`);
lines.push(`plot:    ${svgPath}`);
const summary = lines.join('\n');
fs.writeFileSync(path.join(OUT, `soak-${stamp}.txt`), summary + '\n');
process.stdout.write(summary + '\n');
process.exit(ok ? 0 : 1);

// ---- the plot: four panels sharing the time axis, the second half shaded ----
function plot(ss, vs, info) {
  const W = 760, PH = 120, TOP = 64, GAP = 36, L = 64, R = 16;
  const H = TOP + vs.length * (PH + GAP) + 10;
  const tmax = Math.max(1, ss.length ? ss.at(-1).t : 1);
  const x = (t) => L + ((W - L - R) * t) / tmax;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${L}" y="18" font-size="13" font-weight="bold">walletpass soak: ${info.minutes} min, ${info.clients} clients, ${info.ops} operations</text>`,
    `<text x="${L}" y="34" fill="#555">sampled every second; shaded: the second half, where nothing may grow (dashed: its trend line)</text>`];
  vs.forEach((v, i) => {
    const y0 = TOP + i * (PH + GAP);
    const ys = ss.map((s) => s[v.key]);
    let lo = Math.min(0, ...ys), hi = Math.max(1, ...ys);
    hi += (hi - lo) * 0.1;
    const y = (val) => y0 + PH - (PH * (val - lo)) / (hi - lo);
    out.push(`<rect x="${x(tmax / 2)}" y="${y0}" width="${x(tmax) - x(tmax / 2)}" height="${PH}" fill="#f0f4fa"/>`);
    out.push(`<rect x="${L}" y="${y0}" width="${W - L - R}" height="${PH}" fill="none" stroke="#999"/>`);
    for (let k = 0; k <= 4; k++) {
      const val = lo + ((hi - lo) * k) / 4;
      out.push(`<line x1="${L - 4}" x2="${L}" y1="${y(val)}" y2="${y(val)}" stroke="#999"/>`);
      out.push(`<text x="${L - 6}" y="${y(val) + 4}" text-anchor="end" fill="#333">${val >= 100 ? val.toFixed(0) : val.toFixed(1)}</text>`);
    }
    for (let k = 0; k <= 6; k++) {
      const t = (tmax * k) / 6;
      out.push(`<text x="${x(t)}" y="${y0 + PH + 13}" text-anchor="middle" fill="#333">${t.toFixed(0)} s</text>`);
    }
    const pts = ss.map((s) => `${x(s.t).toFixed(1)},${y(s[v.key]).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${v.grew ? '#c0392b' : '#1f5fa8'}" stroke-width="1.5"/>`);
    const hs = ss.filter((s) => s.t >= tmax / 2);
    if (hs.length > 1) {
      const k = v.perMin / 60, m = v.secondMean, tm = mean(hs.map((s) => s.t));
      out.push(`<line x1="${x(hs[0].t)}" x2="${x(hs.at(-1).t)}" y1="${y(m + k * (hs[0].t - tm))}" y2="${y(m + k * (hs.at(-1).t - tm))}" stroke="#333" stroke-dasharray="4 3"/>`);
    }
    out.push(`<text x="${L}" y="${y0 - 5}" font-weight="bold">${esc(v.name)}${v.unit ? ` (${v.unit})` : ''}: ` +
      `2nd half ${v.rise >= 0 ? '+' : ''}${v.rise.toFixed(2)} (tolerance ${v.tol.toFixed(1)}): ${v.grew ? 'GROWING' : 'flat'}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
