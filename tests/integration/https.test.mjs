// HTTPS in the gateway itself (server.tls): self-signed certificates made here with the openssl
// CLI, and Node's https client trusting them.
//   - Apple's web-service cycle over HTTPS (pass download, register, list, fetch, 304, an update
//     with its push, the new version), every answer with Strict-Transport-Security;
//   - TLS 1.2 and 1.3 only, modern cipher suites: a TLS 1.1 client gets the server's
//     protocol_version alert, a client with only legacy suites a handshake failure;
//   - the plain listener of server.tls.redirect_port answers 308 to the HTTPS public URL;
//   - SIGHUP re-reads the certificate and key: a request in flight completes, a keep-alive
//     connection from before goes on, new connections get the new certificate, a broken pair
//     is refused and the one in use stays;
//   - the slow-client protections hold during the handshake: clients that connect and never
//     send a ClientHello, or stop in the middle of one, are closed after
//     server.header_timeout_seconds, and an HTTPS request still gets a worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startGateway, httpsRequest, waitFor, sleep, freePort } from './lib/harness.mjs';
import { createStandIn } from './lib/apns_standin.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-https-'));
const f = (name) => path.join(dir, name);
const PTID = 'pass.com.example.https';
const THREADS = 4;
const HEADER_TIMEOUT_S = 2;

/** A self-signed certificate for localhost and 127.0.0.1: <name>.pem and <name>.key; returns the PEM. */
function selfSigned(name, keyType) {
  const newkey = keyType === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-days', '30', '-subj', `/CN=walletpass test ${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
  { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return fs.readFileSync(f(`${name}.pem`), 'utf8');
}
const fingerprint = (pem) => new crypto.X509Certificate(pem).fingerprint256;

let pki, apns, pushes = [], first, second, gw, slow, rl, redirectPort, A;
before(async () => {
  first = selfSigned('first', 'rsa');
  second = selfSigned('second', 'ec');
  pki = makePki(dir, { pass: PTID });
  // the APNs stand-in of the apns plugin: every push answered 200
  apns = createStandIn({ key: fs.readFileSync(pki.file('tls.key')), cert: fs.readFileSync(pki.file('tls.pem')),
    ca: fs.readFileSync(pki.file('wwdr.pem')) });
  apns.h2.on('stream', (stream, headers) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      pushes.push(decodeURIComponent(String(headers[':path']).replace('/3/device/', '')));
      stream.respond({ ':status': 200, 'apns-id': `id-${pushes.length}` });
      stream.end();
    });
  });
  const apnsPort = await new Promise((resolve) => apns.listen(0, '127.0.0.1', () => resolve(apns.address().port)));
  redirectPort = await freePort();
  gw = await startGateway({
    tls: { cert: f('first.pem'), key: f('first.key'), ca: first, redirectPort },
    config: {
      plugins: [
        { name: 'apple-signer', config: { cache_mb: 8 } },
        { name: 'apns', config: { host: '127.0.0.1', port: apnsPort, ca_file: pki.file('wwdr.pem'), timeout_ms: 60000 } },
      ],
    },
  });
  A = gw.account();
  const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: A.key, body: {
    p12_base64: pki.p12Base64('pass'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
    wwdr_pem: pki.wwdrPem,
  } });
  assert.equal(r.status, 200, r.text);
});
after(async () => {
  for (const g of [gw, slow, rl]) if (g) await g.stop();
  if (apns) apns.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** pass.json of a bundle (unzip CLI). */
function passJson(buf) {
  assert.equal(buf.subarray(0, 4).toString('binary'), 'PK\x03\x04');
  const d = fs.mkdtempSync(path.join(dir, 'pk-'));
  fs.writeFileSync(path.join(d, 'p.pkpass'), buf);
  return JSON.parse(execFileSync('unzip', ['-p', path.join(d, 'p.pkpass'), 'pass.json'], { encoding: 'utf8' }));
}

test('Apple web-service cycle over HTTPS: download, register, list, fetch, 304, update, push, new version', async () => {
  const created = await gw.request('POST', '/api/v1/passes', { key: A.key, body: {
    pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans',
    primary_fields: [{ key: 'points', label: 'Points', value: '100', change_message: 'You have %@ points' }],
  } });
  assert.equal(created.status, 201, created.text);
  const pass = created.body;
  assert.ok(pass.pkpass_url.startsWith(`https://localhost:${gw.port}/`), pass.pkpass_url);

  // the pass download, as a phone makes it: a new TLS connection trusting the test certificate
  const dl = await httpsRequest(pass.pkpass_url, { ca: first });
  assert.equal(dl.status, 200);
  assert.equal(dl.headers.get('content-type'), 'application/vnd.apple.pkpass');
  assert.equal(dl.headers.get('strict-transport-security'), 'max-age=31536000');
  assert.equal(dl.fingerprint, fingerprint(first));
  const pj = passJson(dl.body);
  assert.equal(pj.webServiceURL, `https://localhost:${gw.port}/apple`, 'Wallet calls back over HTTPS');
  const auth = { authorization: `ApplePass ${pj.authenticationToken}` };
  const ws = (p, o = {}) => httpsRequest(pj.webServiceURL + p, { ca: first, ...o });
  const device = 'devhttps0a1b2c3d4e5f60718293a4b5';
  const token = 'cd'.repeat(32);
  const reg = `/v1/devices/${device}/registrations/${PTID}/${pj.serialNumber}`;

  let r = await ws(reg, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ pushToken: token }) });
  assert.equal(r.status, 201, r.text);
  const list = await ws(`/v1/devices/${device}/registrations/${PTID}`);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.serialNumbers, [pj.serialNumber]);
  assert.equal(list.headers.get('strict-transport-security'), 'max-age=31536000');

  r = await ws(`/v1/passes/${PTID}/${pj.serialNumber}`, { headers: auth });
  assert.equal(r.status, 200);
  const lm = r.headers.get('last-modified');
  assert.ok(lm);
  r = await ws(`/v1/passes/${PTID}/${pj.serialNumber}`, { headers: { ...auth, 'if-modified-since': lm } });
  assert.equal(r.status, 304);
  assert.equal(r.body.length, 0);

  // an update: the push reaches the stand-in, the phone lists what changed and fetches it
  const u = await gw.request('PUT', `/api/v1/passes/${pass.id}`, { key: A.key,
    body: { primary_fields: [{ key: 'points', label: 'Points', value: '250', change_message: 'You have %@ points' }] } });
  assert.equal(u.status, 200, u.text);
  await waitFor(() => pushes.includes(token), { what: 'the push', timeout: 60000 });
  const since = await ws(`/v1/devices/${device}/registrations/${PTID}?passesUpdatedSince=${list.json.lastUpdated}`);
  assert.equal(since.status, 200, since.text);
  assert.deepEqual(since.json.serialNumbers, [pj.serialNumber]);
  r = await ws(`/v1/passes/${PTID}/${pj.serialNumber}`, { headers: { ...auth, 'if-modified-since': lm } });
  assert.equal(r.status, 200);
  assert.equal(passJson(r.body).storeCard.primaryFields[0].value, '250');
});

test('a pass download on one keep-alive TLS connection: cached bundle, then 304', async () => {
  const created = await gw.request('POST', '/api/v1/passes', { key: A.key, body: {
    pass_type: 'loyalty', organization_name: 'Solstice Coffee', primary_fields: [{ key: 'p', label: 'P', value: '1' }],
  } });
  assert.equal(created.status, 201, created.text);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: first });
  try {
    const a = await httpsRequest(created.body.pkpass_url, { agent });
    const b = await httpsRequest(created.body.pkpass_url, { agent });
    const c = await httpsRequest(created.body.pkpass_url, { agent, headers: { 'if-none-match': b.headers.get('etag') } });
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 304]);
    assert.ok(a.body.equals(b.body), 'the same cached bundle');
    assert.equal(b.reusedSocket, true, 'the second download reused the TLS connection');
    assert.equal(c.reusedSocket, true);
  } finally {
    agent.destroy();
  }
});

/** A TLS handshake with the given client options; resolves { protocol, cipher } or rejects. */
function handshake(port, options) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: first, ...options }, () => {
      const out = { protocol: s.getProtocol(), cipher: s.getCipher().standardName || s.getCipher().name };
      s.end();
      resolve(out);
    });
    s.on('error', reject);
  });
}

test('TLS 1.2 and 1.3 only, modern suites: TLS 1.1 and legacy ciphers are refused by the server', async () => {
  const t13 = await handshake(gw.port, { minVersion: 'TLSv1.3' });
  assert.equal(t13.protocol, 'TLSv1.3');
  assert.match(t13.cipher, /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/);
  const t12 = await handshake(gw.port, { maxVersion: 'TLSv1.2' });
  assert.equal(t12.protocol, 'TLSv1.2');
  assert.match(t12.cipher, /^TLS_ECDHE_RSA_WITH_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/);
  // The client offers TLS 1.0-1.1 only (security level 0 lets it): the refusal is the server's alert,
  // not the client's own "no protocols available".
  await assert.rejects(handshake(gw.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    (e) => e.code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' || assert.fail(`${e.code}: ${e.message}`));
  // TLS 1.2 with only suites outside the policy: RSA key exchange, CBC, 3DES
  await assert.rejects(handshake(gw.port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:AES256-SHA256:DES-CBC3-SHA@SECLEVEL=0' }),
    (e) => e.code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' || assert.fail(`${e.code}: ${e.message}`));
  // and the gateway logged whom it refused, without a warning
  await waitFor(() => /info +TLS handshake with 127\.0\.0\.1 failed/.test(gw.stderr()), { what: 'the handshake log line' });
});

/** A plain HTTP request to the redirect listener. */
function plain(port, method, p) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{"pushToken":"x"}' : undefined);
  });
}

test('the redirect listener answers 308 to the same path and query on the HTTPS public URL', async () => {
  for (const [method, p] of [['GET', '/api/v1/passes/pass_01m8bwe18c9azhk3fk0za7nfgx/pkpass?t=abc&x=1'],
    ['POST', '/apple/v1/devices/d1/registrations/pass.x/s1'], ['GET', '/healthz'], ['GET', '/no/such/route'],
    ['HEAD', '/readyz']]) {
    const r = await plain(redirectPort, method, p);
    assert.equal(r.status, 308, `${method} ${p}: ${r.text}`);
    assert.equal(r.headers.location, `https://localhost:${gw.port}${p}`);
    assert.equal(r.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
    assert.equal(r.headers['content-length'], '0');
  }
  // following it lands on the HTTPS listener
  const r = await plain(redirectPort, 'GET', '/healthz');
  const h = await httpsRequest(r.headers.location, { ca: first });
  assert.equal(h.status, 200);
  assert.equal(h.json.status, 'ok');
  // the HTTPS port itself never answers plain HTTP
  await assert.rejects(plain(gw.port, 'GET', '/healthz'));
});

// ---- SIGHUP -------------------------------------------------------------------------------

test('SIGHUP re-reads the certificate: a request in flight completes, new connections get the new one', async () => {
  // the live files, as an ACME client keeps them: replaced by rename
  fs.copyFileSync(f('first.pem'), f('live.pem'));
  fs.copyFileSync(f('first.key'), f('live.key'));
  const both = [first, second];
  rl = await startGateway({ tls: { cert: f('live.pem'), key: f('live.key'), ca: both } });
  const acct = rl.account();
  const keep = new https.Agent({ keepAlive: true, maxSockets: 1, ca: both });
  try {
    let r = await httpsRequest(`${rl.url}/healthz`, { agent: keep });
    assert.equal(r.fingerprint, fingerprint(first));

    // a request in flight: the TLS connection is up, the headers and half the body are sent
    const body = JSON.stringify({ pass_type: 'loyalty', organization_name: 'Reload Coffee' });
    const cut = Math.floor(body.length / 2);
    let peer = null, finish;
    const inflight = new Promise((resolve, reject) => {
      const req = https.request(`${rl.url}/api/v1/passes`, { method: 'POST', agent: false, ca: both, headers: {
        authorization: `Bearer ${acct.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.on('socket', (s) => s.on('secureConnect', () => (peer = s.getPeerCertificate().fingerprint256)));
      req.write(body.slice(0, cut));
      finish = () => req.end(body.slice(cut));
    });
    await waitFor(() => peer, { what: 'the in-flight request to connect' });

    // the renewal: new files renamed into place, then SIGHUP
    fs.copyFileSync(f('second.pem'), f('live.pem.new'));
    fs.copyFileSync(f('second.key'), f('live.key.new'));
    fs.renameSync(f('live.key.new'), f('live.key'));
    fs.renameSync(f('live.pem.new'), f('live.pem'));
    rl.proc.kill('SIGHUP');
    await waitFor(() => /TLS certificate reloaded: \/CN=walletpass test second/.test(rl.stderr()), { what: 'the reload' });

    finish();
    const done = await inflight;
    assert.equal(done.status, 201, done.text);
    assert.equal(peer, fingerprint(first), 'the in-flight request kept its connection');

    r = await httpsRequest(`${rl.url}/healthz`, { ca: both });
    assert.equal(r.status, 200);
    assert.equal(r.fingerprint, fingerprint(second), 'a new connection gets the new certificate');
    r = await httpsRequest(`${rl.url}/healthz`, { agent: keep });
    assert.equal(r.status, 200);
    assert.equal(r.reusedSocket, true, 'the keep-alive connection from before still serves');
    assert.equal(r.fingerprint, fingerprint(first));

    // a broken pair (the first certificate with the second key): refused, the second stays in use
    fs.copyFileSync(f('first.pem'), f('live.pem'));
    rl.proc.kill('SIGHUP');
    await waitFor(() => /TLS reload failed, still serving the previous certificate: server\.tls\.key_file: .* does not belong/
      .test(rl.stderr()), { what: 'the refused reload' });
    r = await httpsRequest(`${rl.url}/healthz`, { ca: both });
    assert.equal(r.status, 200);
    assert.equal(r.fingerprint, fingerprint(second));
    assert.equal(rl.proc.exitCode, null, 'the gateway is still up');
  } finally {
    keep.destroy();
  }
});

// ---- slow clients during the handshake -------------------------------------------------------

/** Opens a TCP connection, writes `data` and keeps it open; records what comes back and the close. */
function stuckClient(port, data) {
  const c = { text: '', closed: false, socket: net.connect(port, '127.0.0.1') };
  c.socket.setEncoding('latin1');
  c.socket.on('data', (d) => (c.text += d));
  c.socket.on('error', () => {});
  c.socket.on('close', () => (c.closed = true));
  if (data.length) c.socket.write(data);
  return c;
}

test('clients that never send a ClientHello cannot take every worker, and are closed', async () => {
  slow = await startGateway({
    tls: { cert: f('first.pem'), key: f('first.key'), ca: first },
    config: { server: { num_threads: THREADS, header_timeout_seconds: HEADER_TIMEOUT_S } },
  });
  // three times the workers connect and send nothing; one more sends the first bytes of a
  // ClientHello (a TLS handshake record header) and stops
  const stuck = [];
  for (let i = 0; i < THREADS * 3; i++) stuck.push(stuckClient(slow.port, ''));
  stuck.push(stuckClient(slow.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01])));
  await sleep(200); // accepted before the real request queues behind them
  const r = await httpsRequest(`${slow.url}/healthz`, { ca: first, signal: AbortSignal.timeout(60000) });
  assert.equal(r.status, 200);
  await waitFor(() => stuck.every((c) => c.closed), { timeout: 60000, what: 'the server to close the silent clients' });
});

test('after the handshake, half-sent headers over TLS get the 400 of the header timeout', async () => {
  const c = { text: '', closed: false };
  await new Promise((resolve, reject) => {
    c.socket = tls.connect({ host: '127.0.0.1', port: slow.port, servername: 'localhost', ca: first }, resolve);
    c.socket.on('error', reject);
  });
  c.socket.setEncoding('latin1');
  c.socket.on('data', (d) => (c.text += d));
  c.socket.on('close', () => (c.closed = true));
  c.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
  await waitFor(() => c.closed, { timeout: 60000, what: 'the server to close the connection' });
  const [head, bodyText] = c.text.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 400 /);
  const e = JSON.parse(bodyText).error;
  assert.equal(e.code, 'malformed_request');
  assert.match(e.message, new RegExp(`within ${HEADER_TIMEOUT_S} s`));
});
