// Fault injection: a gateway SIGKILLed in the middle of an APNs fan-out (one
// pass update, 1,000 registered devices).  The stand-in answers the first 300
// pushes and then holds every answer, so the kill lands mid fan-out by
// construction; after a restart (the stand-in answering again) every
// registered device has been pushed at least once, counted at the stand-in.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor } from './lib/harness.mjs';
import { createStandIn } from './lib/apns_standin.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-apns-faults-'));
const PTID = 'pass.com.example.faults';
const TEAM = 'ABCDE12345';
const PASSWORD = 'p12-Faults';
const f = (name) => path.join(dir, name);
// The suite blocks node in synchronous psql/CLI calls, longer than the server's 5 s keep-alive on a
// loaded machine: the server would close a pooled connection node cannot notice closing, and fetch
// does not retry a POST on it.  So the server keeps idle connections longer.
const SERVER = { keep_alive_timeout_ms: 120000 };
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
    'extendedKeyUsage = clientAuth', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
    `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${PTID}`, ''].join('\n'));
  ssl('req', '-new', '-key', 'pass.key', '-out', 'pass.csr', '-subj', `/UID=${PTID}/CN=Pass Type ID: ${PTID}/OU=${TEAM}/O=Example Inc./C=US`);
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key',
    '-in', 'pass.csr', '-out', 'pass.pem', '-days', '30', '-extfile', 'pass.ext', '-extensions', 'ext');
  ssl('pkcs12', '-export', '-inkey', 'pass.key', '-in', 'pass.pem', '-passout', `pass:${PASSWORD}`, '-out', 'pass.p12');
  ssl('genrsa', '-out', 'tls.key', '2048');
  fs.writeFileSync(f('tls.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'subjectAltName = IP:127.0.0.1', ''].join('\n'));
  ssl('req', '-new', '-key', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key', '-in', 'tls.csr',
    '-out', 'tls.pem', '-days', '30', '-extfile', 'tls.ext', '-extensions', 'ext');
}

let apns;
after(() => {
  if (apns) apns.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL mid APNs fan-out: after a restart every registered device is pushed at least once', async () => {
  makePki();
  const answered = new Map(); // token -> 200s sent
  const held = [];
  let holdAfter = 300; // answers before the stand-in starts holding them (Infinity: never)
  apns = createStandIn({ key: fs.readFileSync(f('tls.key')), cert: fs.readFileSync(f('tls.pem')), ca: fs.readFileSync(f('wwdr.pem')) });
  apns.h2.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    stream.resume();
    stream.on('end', () => {
      const token = decodeURIComponent(String(headers[':path']).replace('/3/device/', ''));
      const ok = () => {
        if (stream.destroyed || stream.closed) return;
        answered.set(token, (answered.get(token) || 0) + 1);
        stream.respond({ ':status': 200, 'apns-id': `id-${token}` });
        stream.end();
      };
      let total = 0;
      for (const n of answered.values()) total += n;
      if (total >= holdAfter) held.push(ok);
      else ok();
    });
  });
  const port = await new Promise((resolve) => apns.listen(0, '127.0.0.1', () => resolve(apns.address().port)));
  const config = {
    server: SERVER,
    jobs: { workers: 2, poll_ms: 100, lease_seconds: 3600 },
    rate_limit: { requests_per_second: 0 },
    plugins: [
      { name: 'apple-signer', config: { cache_mb: 8 } },
      { name: 'apns', config: { host: '127.0.0.1', port, ca_file: f('wwdr.pem'), timeout_ms: 600000 } },
    ],
  };
  const g1 = await startGateway({ config });
  let g2;
  try {
    const acct = g1.account();
    let r = await g1.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body: {
      p12_base64: fs.readFileSync(f('pass.p12')).toString('base64'), p12_password: PASSWORD,
      pass_type_identifier: PTID, team_identifier: TEAM, wwdr_pem: fs.readFileSync(f('wwdr.pem'), 'utf8') } });
    assert.equal(r.status, 200, r.text);
    r = await g1.request('POST', '/api/v1/passes', { key: acct.key, body: { pass_type: 'loyalty', organization_name: 'Faults',
      primary_fields: [{ key: 'points', label: 'Points', value: '1' }] } });
    assert.equal(r.status, 201, r.text);
    const pass = r.body;
    const N = 1000;
    g1.sql(`INSERT INTO apns_registrations (account_id, device_library_identifier, pass_type_identifier, serial_number,
      push_token, pass_id) SELECT '${acct.account}', 'flt' || g, '${PTID}', '${pass.serial_number}',
      encode(sha256(('flt' || g)::bytea), 'hex'), '${pass.id}' FROM generate_series(1, ${N}) g`);
    const tokens = g1.sql(`SELECT push_token FROM apns_registrations WHERE pass_id = '${pass.id}'`).split('\n');
    assert.equal(tokens.length, N);

    r = await g1.request('PUT', `/api/v1/passes/${pass.id}`, { key: acct.key, body: { program_name: 'Fan-out' } });
    assert.equal(r.status, 200, r.text);
    await waitFor(() => held.length > 0, { timeout: 120000, what: 'the fan-out under way (answers held)' });
    const pid1 = g1.proc.pid;
    await g1.stop({ signal: 'SIGKILL' });
    const before = answered.size;
    assert.ok(before > 0 && before < N, `killed mid fan-out (${before} of ${N} devices answered)`);
    // the event job the fan-out runs in was left running under the dead owner's hour-long lease
    assert.notEqual(g1.sql(`SELECT count(*) FROM jobs WHERE status = 'running' AND locked_by LIKE '%:${pid1}:%'`), '0');

    holdAfter = Infinity;
    for (const ok of held.splice(0)) ok(); // streams of the dead connection: nothing to answer
    g2 = await startGateway({ config, dbUrl: g1.dbUrl, env: { WALLETPASS_MASTER_KEY: g1.env.WALLETPASS_MASTER_KEY } });
    await waitFor(() => tokens.every((t) => answered.has(t)), { timeout: 180000, interval: 200,
      what: 'every registered device pushed' });
    assert.equal(tokens.filter((t) => answered.has(t)).length, N, 'every registered device was pushed at least once');
    assert.equal(g2.sql(`SELECT count(*) FROM jobs WHERE locked_by LIKE '%:${pid1}:%'`), '0');
  } finally {
    if (g2) await g2.stop();
    else await g1.stop({ signal: 'SIGKILL' }).catch(() => {});
  }
});
