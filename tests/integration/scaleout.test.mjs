// Scale-out: three gateways on one PostgreSQL behind HAProxy (Debian's haproxy: round robin,
// health checks on /readyz, `timeout http-request` for slow clients), with a mixed workload
// through it: creates retried with their Idempotency-Key, updates, a batch, pkpass downloads,
// Apple's web service (register, poll, fetch), webhooks to a local receiver and APNs pushes to
// the stand-in.  It checks what must hold for the deployment, not for one process:
//   - the API rate limit holds in sum over the three (counts of 200s against the configured
//     total plus what refills during the run), also after SIGHUP reloaded a new one,
//   - the webhooks' per_endpoint_concurrency holds in sum (the receiver counts what is in flight),
//   - every pass is created exactly once, every event delivered at least once,
//   - after a PUT answers, every gateway serves the new version,
//   - a gateway killed with SIGKILL loses nothing: its running jobs are taken over once its
//     heartbeat stops (jobs.dead_after_seconds), long before their hour-long lease.
// Each gateway runs with its own host name (a UTS namespace, unshare --uts) when the machine
// allows it, so the others cannot see its pid die and only its heartbeat can tell.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor, freePort, rawRequest } from './lib/harness.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';
import { createStandIn } from './lib/apns_standin.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-scaleout-'));
const PTID = 'pass.com.example.scaleout';
const RATE = { requests_per_second: 1, burst: 90 };
const PER_ENDPOINT = 2;
const HTTP_REQUEST_TIMEOUT_S = 3;

function canUnshareUts() {
  try {
    return execFileSync('unshare', ['--uts', 'sh', '-c', 'hostname wp-probe && hostname'], { encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'wp-probe';
  } catch {
    return false;
  }
}

let pki, apns, rx, haproxy, haport, statsPort;
const gws = [];
let alive = gws; // the gateways to stop at the end
const pushes = [];

function haproxyConfig(ports) {
  return [
    'global', '  maxconn 2000',
    'defaults', '  mode http', '  timeout connect 5s', '  timeout client 120s', '  timeout server 120s',
    `  timeout http-request ${HTTP_REQUEST_TIMEOUT_S}s`, '  timeout http-keep-alive 10s',
    'frontend api', `  bind 127.0.0.1:${haport}`, '  default_backend gateways',
    'frontend stats', `  bind 127.0.0.1:${statsPort}`, '  stats enable', '  stats uri /stats',
    'backend gateways', '  balance roundrobin', '  option httpchk GET /readyz', '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 1',
    ...ports.map((p, i) => `  server gw${i + 1} 127.0.0.1:${p} check`), '',
  ].join('\n');
}

/** The servers HAProxy counts UP. */
async function upServers() {
  const r = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
  const rows = (await r.text()).split('\n').filter((l) => l.startsWith('gateways,gw'));
  return rows.filter((l) => l.split(',')[17] === 'UP').map((l) => l.split(',')[1]);
}

const api = (method, p, { key, body, headers = {} } = {}) => {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  return fetch(`http://127.0.0.1:${haport}${p}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) })
    .then(async (r) => {
      const text = await r.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: r.status, headers: r.headers, body: json, text };
    });
};

function passJson(buf) {
  assert.equal(buf.subarray(0, 4).toString('binary'), 'PK\x03\x04');
  const f = path.join(fs.mkdtempSync(path.join(dir, 'pk-')), 'p.pkpass');
  fs.writeFileSync(f, buf);
  return JSON.parse(execFileSync('unzip', ['-p', f, 'pass.json'], { encoding: 'utf8' }));
}

async function download(url) {
  const r = await fetch(url);
  assert.equal(r.status, 200, `GET ${url}`);
  return passJson(Buffer.from(await r.arrayBuffer()));
}

before(async () => {
  pki = makePki(dir, { pass: PTID });
  apns = createStandIn({ key: fs.readFileSync(pki.file('tls.key')), cert: fs.readFileSync(pki.file('tls.pem')),
    ca: fs.readFileSync(pki.file('wwdr.pem')) });
  apns.h2.on('stream', (stream, headers) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      pushes.push({ token: decodeURIComponent(String(headers[':path']).replace('/3/device/', '')), topic: headers['apns-topic'] });
      stream.respond({ ':status': 200, 'apns-id': `id-${pushes.length}` });
      stream.end();
    });
  });
  const apnsPort = await new Promise((resolve) => apns.listen(0, '127.0.0.1', () => resolve(apns.address().port)));
  rx = await startWebhookReceiver();
  haport = await freePort();
  statsPort = await freePort();
  const config = {
    public_url: `http://127.0.0.1:${haport}`,
    server: { keep_alive_timeout_ms: 120000 },
    rate_limit: RATE,
    outbound: { allow_private_targets: true },
    // An hour's lease: a dead gateway's jobs can only come back in time through its heartbeat.
    jobs: { workers: 4, poll_ms: 100, lease_seconds: 3600, dead_after_seconds: 3 },
    plugins: [
      { name: 'apple-signer', config: { cache_mb: 8 } },
      { name: 'apns', config: { host: '127.0.0.1', port: apnsPort, ca_file: pki.file('wwdr.pem'), timeout_ms: 60000 } },
      { name: 'webhooks', config: { allow_http: true, timeout_ms: 10000, connect_timeout_ms: 1000, defer_ms: 50,
        per_endpoint_concurrency: PER_ENDPOINT, retry_scale: 0.01 } },
    ],
  };
  const uts = canUnshareUts();
  for (let i = 0; i < 3; i++) {
    const wrapper = uts ? ['unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', `gw-${i + 1}`] : undefined;
    const prev = gws[0];
    gws.push(await startGateway({ config, wrapper, ...(prev ? { dbUrl: prev.dbUrl,
      env: { WALLETPASS_MASTER_KEY: prev.env.WALLETPASS_MASTER_KEY } } : {}) }));
  }
  const cfgFile = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfgFile, haproxyConfig(gws.map((g) => g.port)));
  let haErr = '';
  haproxy = spawn('haproxy', ['-f', cfgFile, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  haproxy.stderr.on('data', (d) => (haErr += d));
  haproxy.stdout.on('data', (d) => (haErr += d));
  haproxy.on('error', (e) => (haErr += `haproxy: ${e.message}`));
  haproxy.on('exit', (code, sig) => (haErr += `haproxy exited (${code}, ${sig})`));
  await waitFor(async () => (await upServers()).length === 3, { timeout: 120000, what: 'HAProxy seeing three gateways UP' }).catch((e) => {
    throw new Error(`${e.message}\n--- haproxy ---\n${haErr}`);
  });
  // every gateway counts the three (the divisor of the shared limits)
  await waitFor(async () => {
    for (const g of gws) {
      const r = await fetch(`${g.url}/readyz`);
      if ((await r.json()).processes !== 3) return false;
    }
    return true;
  }, { timeout: 120000, what: 'each gateway counting three live processes' });
});

after(async () => {
  if (haproxy) haproxy.kill('SIGTERM');
  for (const g of alive) await g.stop();
  if (rx) await rx.close();
  if (apns) apns.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the API rate limit holds in sum over three gateways', async () => {
  const g = gws[0];
  const acct = g.account();
  const N = 3 * RATE.burst; // three whole bursts: what three unshared buckets would let through
  const t0 = Date.now();
  let ok = 0, limited = 0;
  for (let i = 0; i < N; i++) {
    const r = await api('GET', '/api/v1/passes?limit=1', { key: acct.key });
    if (r.status === 200) ok++;
    else if (r.status === 429) {
      limited++;
      assert.equal(r.body.error.code, 'rate_limited');
      assert.equal(r.headers.get('x-ratelimit-limit'), String(RATE.burst), 'the deployment\'s limit in the headers');
    } else assert.fail(`unexpected ${r.status}: ${r.text}`);
  }
  const elapsed = (Date.now() - t0) / 1000;
  // The bound: the burst, what refilled meanwhile (an upper bound: the run's whole length), and
  // one token per process for the share's rounding.
  const bound = RATE.burst + Math.ceil(elapsed * RATE.requests_per_second) + 3;
  assert.ok(ok <= bound, `${ok} of ${N} answered 200 in ${elapsed.toFixed(1)} s; the deployment allows at most ${bound}`);
  assert.ok(ok >= RATE.burst / 3, `${ok} answered 200: at least one process's share`);
  assert.equal(ok + limited, N);
});

test('a rate limit reloaded by SIGHUP is still the deployment\'s: each gateway\'s new buckets hold its share', async () => {
  // more than before, so that the workload below keeps the room it had
  const NEW = { requests_per_second: 1, burst: 120 };
  for (const g of gws) {
    const cfg = JSON.parse(fs.readFileSync(g.cfgPath, 'utf8'));
    fs.writeFileSync(g.cfgPath, JSON.stringify({ ...cfg, rate_limit: NEW }, null, 2));
    g.proc.kill('SIGHUP');
  }
  for (const g of gws) {
    await waitFor(() => /SIGHUP: reloaded: rate_limit\.burst/.test(g.stderr()), { what: `gateway ${g.port} reloading` });
  }
  const acct = gws[1].account();
  const N = 3 * NEW.burst;
  const t0 = Date.now();
  let ok = 0;
  for (let i = 0; i < N; i++) {
    const r = await api('GET', '/api/v1/passes?limit=1', { key: acct.key });
    assert.ok(r.status === 200 || r.status === 429, `unexpected ${r.status}: ${r.text}`);
    assert.equal(r.headers.get('x-ratelimit-limit'), String(NEW.burst), 'the reloaded deployment\'s limit in the headers');
    if (r.status === 200) ok++;
  }
  const elapsed = (Date.now() - t0) / 1000;
  const bound = NEW.burst + Math.ceil(elapsed * NEW.requests_per_second) + 3;
  assert.ok(ok <= bound, `${ok} of ${N} answered 200 in ${elapsed.toFixed(1)} s; the deployment allows at most ${bound}`);
  assert.ok(ok >= NEW.burst / 3, `${ok} answered 200: at least one process's share`);
});

test('a slow client is cut off by HAProxy (timeout http-request), the gateways never see it', async () => {
  // headers never finished: HAProxy answers 408 once timeout http-request has passed
  const out = await rawRequest(haport, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', { timeout: 120000 });
  assert.ok(out.closed, 'HAProxy closed the connection');
  assert.match(out.text, /^HTTP\/1\.[01] 408/);
});

test('a mixed workload through HAProxy; one gateway SIGKILLed mid-run loses nothing', async () => {
  const g = gws[0];
  const A = g.account('Scale A');
  const C = g.account('Scale C');
  // keys of their own for the workload: the rate limit is per key, and each carries a little of it
  const keys = Array.from({ length: 20 }, () => g.cli(['key', 'create', '--account', A.account]));
  let k = 0;
  const key = () => keys[k++ % keys.length];

  let r = await api('PUT', '/api/v1/credentials/apple', { key: key(), body: {
    p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
    wwdr_pem: pki.wwdrPem } });
  assert.equal(r.status, 200, r.text);
  r = await api('POST', '/api/v1/webhooks', { key: key(), body: { url: rx.url('/all'), event_types: ['*'] } });
  assert.equal(r.status, 201, r.text);
  rx.setSecret('/all', r.body.secret);
  // C's endpoint holds every attempt until released: the deployment's in-flight count shows
  let holding = true;
  rx.behave('/conc', () => (holding ? { hang: true } : { status: 200 }));
  r = await api('POST', '/api/v1/webhooks', { key: C.key, body: { url: rx.url('/conc'), event_types: ['pass.created'] } });
  assert.equal(r.status, 201, r.text);

  // creates, each sent twice at once with its Idempotency-Key (to two gateways), retried while in use
  const PASS = (serial, value = '10') => ({ pass_type: 'loyalty', organization_name: 'Scale Coffee', program_name: 'Beans',
    serial_number: serial, primary_fields: [{ key: 'points', label: 'Points', value, change_message: '%@ points' }] });
  const createOnce = async (body, idem) => {
    let res;
    await waitFor(async () => {
      res = await api('POST', '/api/v1/passes', { key: keys[0], body, headers: { 'idempotency-key': idem } });
      if (res.status === 409 && res.body.error.code === 'idempotency_key_in_use') return false;
      return true;
    }, { timeout: 120000, what: 'the create answered' });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  const NCREATE = 12;
  const created = [];
  for (let i = 0; i < NCREATE; i++) {
    const idem = 'so-' + crypto.randomBytes(6).toString('hex');
    const [a, b] = await Promise.all([createOnce(PASS(`S-${i}`), idem), createOnce(PASS(`S-${i}`), idem)]);
    assert.equal(a.id, b.id, 'an Idempotency-Key retry answers the same pass');
    created.push(a);
  }
  assert.equal(g.sql(`SELECT count(*) FROM passes WHERE account_id = '${A.account}' AND serial_number LIKE 'S-%'`), String(NCREATE));

  // a batch, sent twice with one Idempotency-Key (which belongs to one API key); it runs while a
  // gateway is killed
  const NBATCH = 300;
  const bidem = 'sob-' + crypto.randomBytes(6).toString('hex');
  const bbody = { passes: Array.from({ length: NBATCH }, (_, i) => PASS(`B-${i}`)) };
  const b1 = await api('POST', '/api/v1/passes/batch', { key: keys[1], body: bbody, headers: { 'idempotency-key': bidem } });
  assert.equal(b1.status, 202, b1.text);
  const b2 = await api('POST', '/api/v1/passes/batch', { key: keys[1], body: bbody, headers: { 'idempotency-key': bidem } });
  assert.equal(b2.status, 202, b2.text);
  assert.equal(b2.body.id, b1.body.id);

  // phones: install through HAProxy, register, then every update reaches each through a push
  const phones = [];
  for (let i = 0; i < 4; i++) {
    const pass = created[i];
    const pj = await download(pass.pkpass_url);
    assert.equal(pj.webServiceURL, `http://127.0.0.1:${haport}/apple`);
    const phone = { pass, pj, device: `scaledevice${i}`.padEnd(32, '0'), token: crypto.randomBytes(32).toString('hex') };
    const reg = await fetch(`${pj.webServiceURL}/v1/devices/${phone.device}/registrations/${PTID}/${pj.serialNumber}`, {
      method: 'POST', headers: { authorization: `ApplePass ${pj.authenticationToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pushToken: phone.token }) });
    assert.equal(reg.status, 201);
    const l = await fetch(`${pj.webServiceURL}/v1/devices/${phone.device}/registrations/${PTID}`);
    assert.equal(l.status, 200);
    phone.tag = (await l.json()).lastUpdated;
    phones.push(phone);
  }

  // C's passes: their deliveries pile up at the held endpoint
  const NC = 12;
  for (let i = 0; i < NC; i++) {
    const c = await api('POST', '/api/v1/passes', { key: C.key, body: PASS(`C-${i}`) });
    assert.equal(c.status, 201, c.text);
  }
  // Wait until the held endpoint's attempts have been turned away many times (each turned-away
  // attempt is queued again as a new job): by then every gateway has tried it.
  await waitFor(() => Number(g.sql(`SELECT count(*) FROM jobs WHERE kind = 'webhooks.attempt' AND payload->>'a' = '${C.account}'`)) >= NC + 60,
    { timeout: 120000, what: 'attempts to the held endpoint turned away' });
  assert.ok(rx.held('/conc') >= 1, 'attempts are held');
  assert.ok(rx.maxInFlight('/conc') <= PER_ENDPOINT,
    `per_endpoint_concurrency ${PER_ENDPOINT} in sum: ${rx.maxInFlight('/conc')} attempts were in flight at once`);

  // updates: after the PUT answers, every gateway serves the new version, and each phone gets a push
  for (const [i, phone] of phones.entries()) {
    const u = await api('PUT', `/api/v1/passes/${phone.pass.id}`, { key: key(),
      body: { primary_fields: [{ key: 'points', label: 'Points', value: `${500 + i}`, change_message: '%@ points' }] } });
    assert.equal(u.status, 200, u.text);
    for (let n = 0; n < 6; n++) { // round robin: twice through each gateway
      const pj = await download(phone.pass.pkpass_url);
      assert.equal(pj.storeCard.primaryFields[0].value, `${500 + i}`, `download ${n} after the PUT served the old version`);
    }
    await waitFor(() => pushes.some((p) => p.token === phone.token), { timeout: 120000, what: `the push to phone ${i}` });
    const since = await fetch(`${phone.pj.webServiceURL}/v1/devices/${phone.device}/registrations/${PTID}?passesUpdatedSince=${phone.tag}`);
    assert.equal(since.status, 200);
    assert.deepEqual((await since.json()).serialNumbers, [phone.pass.serial_number]);
    const fetched = await fetch(`${phone.pj.webServiceURL}/v1/passes/${PTID}/${phone.pass.serial_number}`, {
      headers: { authorization: `ApplePass ${phone.pj.authenticationToken}` } });
    assert.equal(fetched.status, 200);
    assert.equal(passJson(Buffer.from(await fetched.arrayBuffer())).storeCard.primaryFields[0].value, `${500 + i}`);
  }

  // SIGKILL the gateway holding a held attempt (its job is running under an hour's lease)
  const holder = g.sql(`SELECT locked_by FROM jobs WHERE status = 'running' AND kind = 'webhooks.attempt' AND payload->>'a' = '${C.account}' LIMIT 1`);
  assert.ok(holder, 'a running attempt job');
  const pid = Number(holder.split(':')[1]);
  const victim = gws.find((x) => x.proc.pid === pid) || gws.find((x) => x !== g);
  const owner = g.sql(`SELECT owner FROM gateway_processes WHERE pid = ${victim.proc.pid} OR owner = '${holder}' ORDER BY owner = '${holder}' DESC LIMIT 1`);
  const heldByVictim = Number(g.sql(`SELECT count(*) FROM jobs WHERE status = 'running' AND locked_by = '${owner}'`));
  assert.ok(heldByVictim > 0, 'the gateway to be killed holds running jobs');
  await victim.stop({ signal: 'SIGKILL' });
  alive = gws.filter((x) => x !== victim);
  const survivor = alive[0];
  // HAProxy takes it out (health checks); the survivors count two
  await waitFor(async () => (await upServers()).length === 2, { timeout: 120000, what: 'HAProxy marking the killed gateway DOWN' });
  await waitFor(async () => {
    for (const x of alive) if ((await (await fetch(`${x.url}/readyz`)).json()).processes !== 2) return false;
    return true;
  }, { timeout: 120000, what: 'the survivors counting two live processes' });
  // its running jobs are taken over, long before the lease
  await waitFor(() => survivor.sql(`SELECT count(*) FROM jobs WHERE status = 'running' AND locked_by = '${owner}'`) === '0',
    { timeout: 120000, what: 'the dead gateway\'s jobs taken over' });
  assert.ok(Number(survivor.sql(`SELECT count(*) FROM jobs WHERE last_error LIKE 'owner died: ${owner}%'`)) >= 1,
    'taken over as the jobs of a dead owner');

  // release the held endpoint: every delivery completes
  holding = false;
  rx.release('/conc', 200);
  await waitFor(() => Number(survivor.sql(`SELECT count(*) FROM webhooks_deliveries WHERE account_id = '${C.account}' AND status = 'succeeded'`)) === NC,
    { timeout: 180000, interval: 200, what: 'every delivery to the held endpoint' });
  assert.ok(rx.maxInFlight('/conc') <= PER_ENDPOINT, `in flight at once: ${rx.maxInFlight('/conc')}`);

  // the batch completes: every pass exactly once
  await waitFor(async () => {
    const x = await api('GET', `/api/v1/batches/${b1.body.id}`, { key: key() });
    return x.status === 200 && x.body.status === 'completed';
  }, { timeout: 300000, interval: 250, what: 'the batch completed' });
  assert.equal(survivor.sql(`SELECT count(*) FROM passes WHERE account_id = '${A.account}' AND serial_number LIKE 'B-%'`), String(NBATCH));
  assert.equal(survivor.sql(`SELECT count(DISTINCT serial_number) FROM passes WHERE account_id = '${A.account}' AND serial_number LIKE 'B-%'`), String(NBATCH));
  assert.equal(survivor.sql(`SELECT count(*) FROM batches WHERE account_id = '${A.account}'`), '1');

  // every event reached the receiver at least once
  const events = survivor.sql(`SELECT id FROM events WHERE account_id IN ('${A.account}', '${C.account}') AND type = 'pass.created'`).split('\n');
  assert.equal(events.length, NCREATE + NBATCH + NC);
  await waitFor(() => {
    const got = new Set(rx.seen.filter((x) => x.status === 200).map((x) => x.id));
    return events.every((e) => got.has(e));
  }, { timeout: 300000, interval: 250, what: 'every pass.created event delivered' });
  assert.ok(rx.on('/all').every((x) => x.verified), 'every delivery signed');

  // one run at a time: no job ran a second time but those taken over from the dead gateway
  assert.equal(survivor.sql(`SELECT count(*) FROM jobs WHERE attempts > 1 AND coalesce(last_error, '') NOT LIKE 'owner died: %'`), '0');
  // the dead gateway's heartbeat row is gone; the survivors' remain
  assert.equal(survivor.sql(`SELECT count(*) FROM gateway_processes WHERE owner = '${owner}'`), '0');
  assert.equal(survivor.sql('SELECT count(*) FROM gateway_processes'), '2');

  // a clean stop leaves the registry at once: the last one counts itself alone
  const leaving = alive[1];
  await leaving.stop();
  alive = [survivor];
  assert.equal(survivor.sql('SELECT count(*) FROM gateway_processes'), '1');
  await waitFor(async () => (await (await fetch(`${survivor.url}/readyz`)).json()).processes === 1,
    { timeout: 120000, what: 'the last gateway counting itself alone' });
});
