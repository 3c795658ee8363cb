// The in-process caches and what they must never do, with two gateway processes on one database
// (docs/caching.md): an API key remembered by a process stops working when it is revoked, at once
// on the process that revoked it and on the other when the NOTIFY of the api_keys trigger reaches
// it, or at the latest after cache.api_key_ttl_ms when no notification comes; a key created on one
// process works at once on the other.  Waits poll with generous limits, never time a result.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, waitFor } from './lib/harness.mjs';
import { makePki, P12_PASSWORD, TEAM } from './lib/apple-pki.mjs';
import { createStandIn } from './lib/apns_standin.mjs';

const q = (s) => s.replace(/'/g, "''");
let A, B;

// A long time to live: the other process can only learn of a revocation through the notification.
const LONG_TTL = {
  cache: { api_keys: 1000, api_key_ttl_ms: 600000 },
  metering: { trial_days: 0 }, // the plan's limit applies from the start
  plans: { trial: { operations_per_month: 1000 }, unlimited: { operations_per_month: -1 }, small: { operations_per_month: 25 } },
};

before(async () => {
  A = await startGateway({ config: LONG_TTL });
  B = await startGateway({ config: LONG_TTL, dbUrl: A.dbUrl, env: { WALLETPASS_MASTER_KEY: A.env.WALLETPASS_MASTER_KEY } });
});
after(async () => {
  if (B) await B.stop();
  if (A) await A.stop();
});

const keyId = (gw, key) => gw.sql(`SELECT id FROM api_keys WHERE prefix = '${q(key.slice(0, 14))}'`);
const account = (gw, key) => gw.request('GET', '/api/v1/account', { key });

test('a key revoked on one process fails at once there and on the other once notified', async () => {
  const k = A.account();
  // both processes remember the key
  for (const gw of [A, B]) for (let i = 0; i < 3; i++) assert.equal((await account(gw, k.key)).status, 200);
  const d = await A.request('DELETE', `/api/v1/api_keys/${keyId(A, k.key)}`, { key: k.key });
  assert.equal(d.status, 200, d.text);
  // the revoking process: the very next request
  assert.equal((await account(A, k.key)).status, 401);
  // the other: through NOTIFY wp_auth (its time to live is ten minutes)
  await waitFor(async () => (await account(B, k.key)).status === 401, { timeout: 60000, what: 'the revocation on B' });
  assert.equal((await account(A, k.key)).status, 401);
});

test('a rotation and the CLI revoke reach both processes', async () => {
  const k = A.account();
  for (const gw of [A, B]) assert.equal((await account(gw, k.key)).status, 200);
  const r = await B.request('POST', `/api/v1/api_keys/${keyId(A, k.key)}/rotate`, { key: k.key });
  assert.equal(r.status, 201, r.text);
  assert.equal((await account(B, k.key)).status, 401);
  await waitFor(async () => (await account(A, k.key)).status === 401, { timeout: 60000, what: 'the rotation on A' });
  // the new key works at once on both: unknown keys are never remembered
  for (const gw of [A, B]) assert.equal((await account(gw, r.body.key)).status, 200);
  // a revocation by another program (the CLI) reaches both through the trigger
  A.cli(['key', 'revoke', '--account', k.account, r.body.id]);
  for (const gw of [A, B])
    await waitFor(async () => (await account(gw, r.body.key)).status === 401, { timeout: 60000, what: 'the CLI revocation' });
});

test('a key is remembered: a change that sends no notification is not seen before the time to live', async () => {
  const k = A.account();
  assert.equal((await account(B, k.key)).status, 200);
  // triggers off for this session: the row changes, nobody is told
  B.sql(`SET session_replication_role = replica; UPDATE api_keys SET revoked_at = now() WHERE prefix = '${q(k.key.slice(0, 14))}'`);
  assert.equal((await account(B, k.key)).status, 200, 'served from the cache (ten minutes to live)');
  // any notification on the channel makes the process forget
  B.sql('NOTIFY wp_auth');
  await waitFor(async () => (await account(B, k.key)).status === 401, { timeout: 60000, what: 'the forgotten key' });
});

test('without a notification a revoked key stops within cache.api_key_ttl_ms', async () => {
  const C = await startGateway({ config: { cache: { api_keys: 1000, api_key_ttl_ms: 1000 } }, dbUrl: A.dbUrl,
    env: { WALLETPASS_MASTER_KEY: A.env.WALLETPASS_MASTER_KEY } });
  try {
    const k = A.account();
    assert.equal((await account(C, k.key)).status, 200);
    C.sql(`SET session_replication_role = replica; UPDATE api_keys SET revoked_at = now() WHERE prefix = '${q(k.key.slice(0, 14))}'`);
    await waitFor(async () => (await account(C, k.key)).status === 401, { timeout: 60000, what: 'the time to live' });
  } finally {
    await C.stop();
  }
});

test('a deleted sub-account\'s keys stop at once on the process that deleted it', async () => {
  const agency = A.account();
  const s = await A.request('POST', '/api/v1/accounts', { key: agency.key, body: { name: 'Shop', email: 'shop@example.com' } });
  assert.equal(s.status, 201, s.text);
  const sk = await A.request('POST', `/api/v1/accounts/${s.body.id}/api_keys`, { key: agency.key, body: {} });
  assert.equal(sk.status, 201, sk.text);
  for (const gw of [A, B]) assert.equal((await account(gw, sk.body.key)).status, 200);
  const del = await B.request('DELETE', `/api/v1/accounts/${s.body.id}`, { key: agency.key });
  assert.equal(del.status, 200, del.text);
  assert.equal((await account(B, sk.body.key)).status, 401);
  await waitFor(async () => (await account(A, sk.body.key)).status === 401, { timeout: 60000, what: 'the deletion on A' });
});

test('the plan limit holds exactly with creates racing on two processes', async () => {
  const email = `small-${Date.now()}@example.com`;
  const acct = A.cli(['account', 'create', '--name', 'Small', '--email', email, '--plan', 'small']);
  const key = A.cli(['key', 'create', '--account', acct]);
  const N = 80;
  const results = await Promise.all(Array.from({ length: N }, (_, i) => (i % 2 ? A : B).request('POST', '/api/v1/passes', {
    key, body: { pass_type: 'loyalty', organization_name: 'Solstice', program_name: 'Beans', serial_number: `S-${i}` },
  })));
  const by = {};
  for (const r of results) by[r.status] = (by[r.status] || 0) + 1;
  assert.deepEqual(by, { 201: 25, 402: N - 25 }, JSON.stringify(by));
  for (const r of results) if (r.status === 402) assert.equal(r.body.error.code, 'plan_limit_reached');
  assert.equal(Number(A.sql(`SELECT coalesce(sum(operations), 0) FROM usage_counter_rows WHERE account_id = '${q(acct)}'`)), 25);
  assert.equal(Number(A.sql(`SELECT count(*) FROM passes WHERE account_id = '${q(acct)}'`)), 25);
  // spread: more than one row, none above its share (25 / 8: 4 for slot 0, 3 for the others)
  assert.ok(Number(A.sql(`SELECT count(*) FROM usage_counter_rows WHERE account_id = '${q(acct)}'`)) > 1);
  assert.equal(A.sql(`SELECT count(*) FROM usage_counter_rows WHERE account_id = '${q(acct)}'
    AND operations > CASE WHEN slot < 1 THEN 4 ELSE 3 END`), '0');
  const acc = await B.request('GET', '/api/v1/account', { key });
  assert.equal(acc.body.usage.operations, 25);
  assert.equal(acc.body.usage.limit, 25);
});

/** pass.json of a bundle (unzip CLI). */
function passJson(dir, buf) {
  assert.equal(buf.subarray(0, 4).toString('binary'), 'PK\x03\x04');
  const f = path.join(fs.mkdtempSync(path.join(dir, 'pk-')), 'p.pkpass');
  fs.writeFileSync(f, buf);
  return JSON.parse(execFileSync('unzip', ['-p', f, 'pass.json'], { encoding: 'utf8' }));
}

test('after a PUT answers, every download on either process is the new version; credentials count at once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-caches-'));
  const PTID = 'pass.com.example.caches';
  const pki = makePki(dir, { one: PTID, two: PTID });
  const plugins = [{ name: 'apple-signer' }, { name: 'apns' }];
  const C = await startGateway({ config: { plugins } });
  const D = await startGateway({ config: { plugins }, dbUrl: C.dbUrl, env: { WALLETPASS_MASTER_KEY: C.env.WALLETPASS_MASTER_KEY } });
  const both = [C, D];
  const dl = async (url, headers = {}) => {
    const r = await fetch(url, { headers });
    return { status: r.status, headers: r.headers, buf: Buffer.from(await r.arrayBuffer()) };
  };
  try {
    const k = C.account();
    const created = await C.request('POST', '/api/v1/passes', { key: k.key, body: {
      pass_type: 'loyalty', organization_name: 'Solstice', program_name: 'Beans', serial_number: 'CACHE-1',
      primary_fields: [{ key: 'points', label: 'Points', value: '1' }],
    } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    const pkpath = `/api/v1/passes/${id}/pkpass`;
    // no credentials yet: refused on both; uploaded on C, the next request on D signs
    for (const gw of both) assert.equal((await gw.request('GET', pkpath, { key: k.key })).status, 409);
    const upload = (name) => C.request('PUT', '/api/v1/credentials/apple', { key: k.key, body: {
      p12_base64: pki.p12Base64(name), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
      wwdr_pem: pki.wwdrPem,
    } });
    assert.equal((await upload('one')).status, 200);
    const link = (await D.request('GET', `/api/v1/passes/${id}`, { key: k.key })).body.pkpass_url;
    assert.ok(link, 'a link once the credentials are there');
    const capOn = (gw) => gw.url + new URL(link).pathname + new URL(link).search;
    const first = {};
    for (const gw of both) {
      for (let i = 0; i < 2; i++) {
        const r = await dl(capOn(gw));
        assert.equal(r.status, 200);
        first[gw.port] = r.headers.get('etag');
      }
    }
    assert.equal(first[C.port], first[D.port]);
    // the second download of each process came from what it kept of the pass and its credentials
    // (the apple-signer's facts beside the pass's row): no query, no vault read
    for (const gw of both) {
      const m = await (await fetch(gw.url + '/metrics')).text();
      assert.match(m, /^walletpass_pass_memo_hits_total [1-9]/m, `the pass's facts used on ${gw.port}`);
    }
    // new credentials: the very next download on each process is signed with them
    assert.equal((await upload('two')).status, 200);
    for (const gw of both) {
      const r = await dl(capOn(gw));
      assert.equal(r.status, 200);
      assert.notEqual(r.headers.get('etag'), first[gw.port], 'signed with the new credentials');
    }
    // an older change: Last-Modified is given out, and both processes answer 304 from their caches
    C.sql(`UPDATE passes SET updated_at = updated_at - interval '2 minutes' WHERE id = '${id}'`);
    // a change made outside the API reaches the processes' memory through the trigger's notification
    for (const gw of both)
      await waitFor(async () => (await dl(capOn(gw))).headers.get('last-modified'), { timeout: 60000, what: `the older change on ${gw.port}` });
    const token = passJson(dir, (await dl(capOn(C))).buf).authenticationToken;
    const ws = (gw) => `${gw.url}/apple/v1/passes/${PTID}/CACHE-1`;
    const lms = {};
    for (const gw of both) {
      for (let i = 0; i < 2; i++) {
        const r = await dl(capOn(gw));
        assert.equal(r.status, 200);
        lms[gw.port] = r.headers.get('last-modified');
        assert.ok(lms[gw.port], 'Last-Modified of a change a minute old');
        assert.equal((await dl(capOn(gw), { 'if-modified-since': lms[gw.port] })).status, 304);
        const w = await dl(ws(gw), { authorization: `ApplePass ${token}` });
        assert.equal(w.status, 200);
        assert.equal(passJson(dir, w.buf).loyalty?.primaryFields?.[0]?.value ?? passJson(dir, w.buf).storeCard.primaryFields[0].value, '1');
        assert.equal((await dl(ws(gw), { authorization: `ApplePass ${token}`, 'if-modified-since': w.headers.get('last-modified') })).status, 304);
      }
    }
    // the change: once the PUT answered, no process serves the old version, cached or not
    const u = await C.request('PUT', `/api/v1/passes/${id}`, { key: k.key, body: { primary_fields: [{ key: 'points', label: 'Points', value: '2' }] } });
    assert.equal(u.status, 200, u.text);
    for (const gw of [D, C]) {
      const value = (buf) => passJson(dir, buf).storeCard.primaryFields[0].value;
      let r = await dl(capOn(gw));
      assert.equal(r.status, 200);
      assert.equal(value(r.buf), '2', `capability link on ${gw.port}`);
      r = await dl(capOn(gw), { 'if-modified-since': lms[gw.port] });
      assert.equal(r.status, 200, 'If-Modified-Since of the old version');
      assert.equal(value(r.buf), '2');
      r = await dl(gw.url + pkpath, { authorization: `Bearer ${k.key}` });
      assert.equal(value(r.buf), '2', `API key on ${gw.port}`);
      r = await dl(ws(gw), { authorization: `ApplePass ${token}` });
      assert.equal(r.status, 200);
      assert.equal(value(r.buf), '2', `Apple's web service on ${gw.port}`);
    }
    // credentials deleted on D: the next read and download on C know it (their copy is not used)
    for (const gw of both) assert.ok((await gw.request('GET', `/api/v1/passes/${id}`, { key: k.key })).body.pkpass_url);
    assert.equal((await D.request('DELETE', '/api/v1/credentials/apple', { key: k.key })).status, 200);
    for (const gw of [C, D]) {
      assert.equal((await gw.request('GET', `/api/v1/passes/${id}`, { key: k.key })).body.pkpass_url, null);
      assert.equal((await dl(capOn(gw))).status, 409);
    }
  } finally {
    await D.stop();
    await C.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the capability link and Apple\'s web service share one cached bundle of a version', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-caches-'));
  const PTID = 'pass.com.example.shared';
  const pki = makePki(dir, { one: PTID });
  const C = await startGateway({ config: { plugins: [{ name: 'apple-signer' }, { name: 'apns' }] } });
  const builds = async () => {
    const m = await (await fetch(C.url + '/metrics')).text();
    const hit = m.match(/^walletpass_apple_signer_pkpass_builds_total (\d+)/m);
    return hit ? Number(hit[1]) : 0;
  };
  try {
    const k = C.account();
    assert.equal((await C.request('PUT', '/api/v1/credentials/apple', { key: k.key, body: {
      p12_base64: pki.p12Base64('one'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
      wwdr_pem: pki.wwdrPem,
    } })).status, 200);
    const created = await C.request('POST', '/api/v1/passes', { key: k.key, body: {
      pass_type: 'loyalty', organization_name: 'Solstice', program_name: 'Beans', serial_number: 'SHARED-1',
      primary_fields: [{ key: 'points', label: 'Points', value: '1' }],
    } });
    assert.equal(created.status, 201, created.text);
    const link = new URL(created.body.pkpass_url);
    const cap = C.url + link.pathname + link.search;
    const first = await fetch(cap);
    assert.equal(first.status, 200);
    const token = passJson(dir, Buffer.from(await first.arrayBuffer())).authenticationToken;
    const signed = await builds();
    assert.ok(signed >= 1, 'the first download signed');
    for (let i = 0; i < 3; i++) {
      const w = await fetch(`${C.url}/apple/v1/passes/${PTID}/SHARED-1`, { headers: { authorization: `ApplePass ${token}` } });
      assert.equal(w.status, 200);
      await w.arrayBuffer();
      const r = await fetch(cap);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    assert.equal(await builds(), signed, 'no route signed the version again');
  } finally {
    await C.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Pass rows are served from memory (docs/caching.md "Passes"); a write's answer waits until every
// process has forgotten what it replaced.  D is made to handle its notifications 1.5 s late: a
// PUT answered before D forgot would let D serve the old version from memory.
test('a PUT answers once the other process has forgotten the old row, even one that hears late', async () => {
  const cfg = { cache: { lease_ms: 20000 } };
  const C = await startGateway({ config: cfg });
  const D = await startGateway({ config: cfg, dbUrl: C.dbUrl,
    env: { WALLETPASS_MASTER_KEY: C.env.WALLETPASS_MASTER_KEY, WALLETPASS_FENCE_TEST_DELAY_MS: '1500' } });
  const ready = async (gw) => (await (await fetch(gw.url + '/readyz')).json()).cache;
  const hits = async (gw) => {
    const m = (await (await fetch(gw.url + '/metrics')).text()).match(/^walletpass_pass_cache_hits_total (\d+)/m);
    return m ? Number(m[1]) : 0;
  };
  try {
    for (const gw of [C, D])
      await waitFor(async () => { const c = await ready(gw); return c.leased && c.peers >= 1; },
        { timeout: 120000, what: `the lease and the other process known on ${gw.port}` });
    const k = C.account();
    const created = await C.request('POST', '/api/v1/passes', { key: k.key, body: {
      pass_type: 'loyalty', organization_name: 'Solstice', program_name: 'Beans',
      primary_fields: [{ key: 'points', label: 'Points', value: '1' }] } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    const before = await hits(D);
    for (let i = 0; i < 3; i++) {
      const r = await D.request('GET', `/api/v1/passes/${id}`, { key: k.key });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.version, 1);
    }
    assert.ok((await hits(D)) >= before + 2, 'D answered the later reads from memory');
    for (let v = 2; v <= 4; v++) {
      const u = await C.request('PUT', `/api/v1/passes/${id}`, { key: k.key,
        body: { primary_fields: [{ key: 'points', label: 'Points', value: String(v) }] } });
      assert.equal(u.status, 200, u.text);
      assert.equal(u.body.version, v);
      const r = await D.request('GET', `/api/v1/passes/${id}`, { key: k.key });
      assert.equal(r.body.version, v, 'the version the PUT answered, at once, on the other process');
      assert.equal(r.body.primary_fields[0].value, String(v));
      // D keeps it again: the next read is from memory and still the new version
      assert.equal((await D.request('GET', `/api/v1/passes/${id}`, { key: k.key })).body.version, v);
    }
    const c = await ready(C);
    assert.ok(c.syncs >= 3, 'each PUT waited for the others');
    assert.equal(c.syncs_waited_out, 0, 'D answered every time: no PUT waited out the lease');
    // a voided pass (DELETE) is voided on both at once
    assert.equal((await C.request('DELETE', `/api/v1/passes/${id}`, { key: k.key })).status, 200);
    const gone = await D.request('GET', `/api/v1/passes/${id}`, { key: k.key });
    assert.equal(gone.body.status, 'voided', gone.text);
  } finally {
    await D.stop();
    await C.stop();
  }
});

// What the apns plugin reads about a pass on every device fetch (its Last-Modified second and
// last message) is kept in memory beside the pass's row (pass_memo_*, docs/plugins.md).  A
// notification changes only the plugin's row; the plugin pushes after it, and a device that
// fetches after the push must get the message from either process.  D handles its notifications
// 1.5 s late: without the plugin's wait before the push, D would serve what it kept before.
test('after the push of a notification, a device fetch on either process carries the message', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-caches-'));
  const PTID = 'pass.com.example.memo';
  const pki = makePki(dir, { one: PTID });
  const pushes = [];
  const apns = createStandIn({ key: fs.readFileSync(pki.file('tls.key')), cert: fs.readFileSync(pki.file('tls.pem')),
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
  const cfg = { cache: { lease_ms: 20000 }, plugins: [{ name: 'apple-signer' },
    { name: 'apns', config: { host: '127.0.0.1', port: apnsPort, ca_file: pki.file('wwdr.pem'), timeout_ms: 5000 } }] };
  const C = await startGateway({ config: cfg });
  const D = await startGateway({ config: cfg, dbUrl: C.dbUrl,
    env: { WALLETPASS_MASTER_KEY: C.env.WALLETPASS_MASTER_KEY, WALLETPASS_FENCE_TEST_DELAY_MS: '1500' } });
  const memoHits = async (gw) => {
    const m = (await (await fetch(gw.url + '/metrics')).text()).match(/^walletpass_pass_memo_hits_total (\d+)/m);
    return m ? Number(m[1]) : 0;
  };
  try {
    for (const gw of [C, D])
      await waitFor(async () => { const c = (await (await fetch(gw.url + '/readyz')).json()).cache; return c.leased && c.peers >= 1; },
        { timeout: 120000, what: `the lease and the other process known on ${gw.port}` });
    const k = C.account();
    assert.equal((await C.request('PUT', '/api/v1/credentials/apple', { key: k.key, body: {
      p12_base64: pki.p12Base64('one'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
      wwdr_pem: pki.wwdrPem } })).status, 200);
    const created = await C.request('POST', '/api/v1/passes', { key: k.key, body: {
      pass_type: 'loyalty', organization_name: 'Solstice', program_name: 'Beans', serial_number: 'MEMO-1',
      primary_fields: [{ key: 'points', label: 'Points', value: '1' }] } });
    assert.equal(created.status, 201, created.text);
    const link = new URL(created.body.pkpass_url);
    const first = await fetch(C.url + link.pathname + link.search);
    assert.equal(first.status, 200);
    const token = passJson(dir, Buffer.from(await first.arrayBuffer())).authenticationToken;
    const auth = { authorization: `ApplePass ${token}` };
    const pushToken = 'ab'.repeat(32);
    const reg = await fetch(`${D.url}/apple/v1/devices/memodevice0000000000000000000001/registrations/${PTID}/MEMO-1`, {
      method: 'POST', body: JSON.stringify({ pushToken }), headers: { ...auth, 'content-type': 'application/json' } });
    assert.equal(reg.status, 201);
    const message = async (gw) => {
      const r = await fetch(`${gw.url}/apple/v1/passes/${PTID}/MEMO-1`, { headers: auth });
      assert.equal(r.status, 200, `fetch on ${gw.port}`);
      const back = passJson(dir, Buffer.from(await r.arrayBuffer())).storeCard.backFields || [];
      return back.find((x) => x.key === 'wp_message')?.value ?? null;
    };
    // D keeps what it read: the second fetch asks the database nothing about the plugin's row
    const before = await memoHits(D);
    assert.equal(await message(D), null);
    assert.equal(await message(D), null);
    assert.ok((await memoHits(D)) > before, 'D answered from memory');
    const n = await C.request('POST', `/api/v1/passes/${created.body.id}/notify`, { key: k.key, body: { message: 'Double points' } });
    assert.equal(n.status, 202, n.text);
    await waitFor(() => pushes.includes(pushToken), { timeout: 60000, interval: 20, what: 'the push' });
    assert.equal(await message(D), 'Double points', 'the fetch that follows the push, on the process that hears late');
    assert.equal(await message(C), 'Double points');
    const again = await memoHits(D);
    assert.equal(await message(D), 'Double points');
    assert.ok((await memoHits(D)) > again, 'and D keeps the new one');
  } finally {
    await D.stop();
    await C.stop();
    apns.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// GET /api/v1/account is answered from memory too: the account's row and its month's usage,
// forgotten when either changes (migrations/0020_account_notify.sql).  D hears its notifications
// 1.5 s late, so a read on D that is right at once shows what made it right: the write's wait
// for every process (an update, a sub-account's new name), or D forgetting its own count the
// moment its create committed.
test('GET /account from memory: a create counts at once where it was made, a write that waits on both', async () => {
  const cfg = { cache: { lease_ms: 20000 } };
  const C = await startGateway({ config: cfg });
  const D = await startGateway({ config: cfg, dbUrl: C.dbUrl,
    env: { WALLETPASS_MASTER_KEY: C.env.WALLETPASS_MASTER_KEY, WALLETPASS_FENCE_TEST_DELAY_MS: '1500' } });
  const ready = async (gw) => (await (await fetch(gw.url + '/readyz')).json()).cache;
  const hits = async (gw) => {
    const m = (await (await fetch(gw.url + '/metrics')).text()).match(/^walletpass_pass_cache_hits_total (\d+)/m);
    return m ? Number(m[1]) : 0;
  };
  const me = async (gw, key, headers) => {
    const r = await gw.request('GET', '/api/v1/account', { key, headers });
    assert.equal(r.status, 200, r.text);
    return r.body;
  };
  const BODY = { pass_type: 'loyalty', organization_name: 'Solstice', program_name: 'Beans',
    primary_fields: [{ key: 'points', label: 'Points', value: '1' }] };
  try {
    for (const gw of [C, D])
      await waitFor(async () => { const c = await ready(gw); return c.leased && c.peers >= 1; },
        { timeout: 120000, what: `the lease and the other process known on ${gw.port}` });
    const k = C.account();
    const before = await hits(D);
    for (const gw of [C, D]) for (let i = 0; i < 3; i++) assert.equal((await me(gw, k.key)).usage.operations, 0);
    assert.ok((await hits(D)) >= before + 2, 'D answered the later reads from memory');

    // a create on D: D's next read counts it, although D hears of it 1.5 s late
    const p = await D.request('POST', '/api/v1/passes', { key: k.key, body: BODY });
    assert.equal(p.status, 201, p.text);
    assert.equal((await me(D, k.key)).usage.operations, 1, 'D forgot its own count when the create committed');
    // C has no wait to rely on: it hears the create's notification (milliseconds)
    await waitFor(async () => (await me(C, k.key)).usage.operations === 1, { what: "C counting D's create" });
    assert.equal((await me(D, k.key)).usage.operations, 1, 'kept again on D');

    // an update on C waits for D: D's next read counts it
    const u = await C.request('PUT', `/api/v1/passes/${p.body.id}`, { key: k.key,
      body: { primary_fields: [{ key: 'points', label: 'Points', value: '2' }] } });
    assert.equal(u.status, 200, u.text);
    assert.equal((await me(D, k.key)).usage.operations, 2, "the update's count at once on D");

    // the account's row: a sub-account renamed by its agency on C reads the new name on D at once
    const s = await C.request('POST', '/api/v1/accounts', { key: k.key, body: { name: 'Bakery', email: 'bakery@client.example' } });
    assert.equal(s.status, 201, s.text);
    const as = { 'WalletPass-Account': s.body.id };
    for (let i = 0; i < 2; i++) assert.equal((await me(D, k.key, as)).name, 'Bakery');
    const r = await C.request('PUT', `/api/v1/accounts/${s.body.id}`, { key: k.key, body: { name: 'Bakery & Co' } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await me(D, k.key, as)).name, 'Bakery & Co', 'the new name at once on D');

    // a hand-written change reaches both by its notification
    C.sql(`UPDATE accounts SET name = 'Renamed by hand' WHERE id = '${q(k.account)}'`);
    for (const gw of [C, D])
      await waitFor(async () => (await me(gw, k.key)).name === 'Renamed by hand', { what: `the new name on ${gw.port}` });
    C.sql(`UPDATE usage_counter_slots SET operations = operations + 5 WHERE account_id = '${q(k.account)}' AND slot = 1`);
    C.sql(`INSERT INTO usage_counter_slots (account_id, period, slot, operations)
           SELECT '${q(k.account)}', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'), 1, 5 WHERE NOT EXISTS
           (SELECT 1 FROM usage_counter_slots WHERE account_id = '${q(k.account)}' AND slot = 1)`);
    for (const gw of [C, D])
      await waitFor(async () => (await me(gw, k.key)).usage.operations === 7, { what: `the usage written by hand on ${gw.port}` });
  } finally {
    await D.stop();
    await C.stop();
  }
});

// Pages of GET /api/v1/passes are kept in memory too (a second at most), forgotten with any change
// to the account's passes or usage.  D hears its notifications 0.4 s late: a page on D that is
// right at once after a write shows the write's wait (an update, a void) or D forgetting its own
// pages when its create committed; a create through C reaches D's pages by its notification.
test('list pages from memory: writes that wait are seen at once everywhere, a create at once where it was made', async () => {
  const cfg = { cache: { lease_ms: 20000 } };
  const C = await startGateway({ config: cfg });
  const D = await startGateway({ config: cfg, dbUrl: C.dbUrl,
    env: { WALLETPASS_MASTER_KEY: C.env.WALLETPASS_MASTER_KEY, WALLETPASS_FENCE_TEST_DELAY_MS: '400' } });
  const ready = async (gw) => (await (await fetch(gw.url + '/readyz')).json()).cache;
  const hits = async (gw) => {
    const m = (await (await fetch(gw.url + '/metrics')).text()).match(/^walletpass_pass_cache_hits_total (\d+)/m);
    return m ? Number(m[1]) : 0;
  };
  const list = async (gw, key) => {
    const r = await gw.request('GET', '/api/v1/passes?limit=10', { key });
    assert.equal(r.status, 200, r.text);
    return r.body.data;
  };
  const BODY = { pass_type: 'loyalty', organization_name: 'Solstice', program_name: 'Beans',
    primary_fields: [{ key: 'points', label: 'Points', value: '1' }] };
  try {
    for (const gw of [C, D])
      await waitFor(async () => { const c = await ready(gw); return c.leased && c.peers >= 1; },
        { timeout: 120000, what: `the lease and the other process known on ${gw.port}` });
    const k = C.account();
    const p = await C.request('POST', '/api/v1/passes', { key: k.key, body: BODY });
    assert.equal(p.status, 201, p.text);
    await waitFor(async () => (await list(D, k.key)).length === 1, { what: 'the pass listed on D' });
    const before = await hits(D);
    for (let i = 0; i < 3; i++) assert.equal((await list(D, k.key))[0].version, 1);
    assert.ok((await hits(D)) >= before + 2, 'D answered the later pages from memory');

    // an update through C waits for D: D's next page has the new version (D's page is younger than
    // a page may get, 1 s, and D hears late: only the wait makes it right)
    assert.equal((await list(D, k.key))[0].version, 1);
    const u = await C.request('PUT', `/api/v1/passes/${p.body.id}`, { key: k.key,
      body: { primary_fields: [{ key: 'points', label: 'Points', value: '2' }] } });
    assert.equal(u.status, 200, u.text);
    assert.equal((await list(D, k.key))[0].version, 2, "the update's version at once on D");

    // a create through D: D's next page has it, though D hears of it 1.5 s late
    const q = await D.request('POST', '/api/v1/passes', { key: k.key, body: BODY });
    assert.equal(q.status, 201, q.text);
    assert.deepEqual((await list(D, k.key)).map((x) => x.id), [q.body.id, p.body.id], 'D forgot its pages at once');
    // a create through C reaches D's pages by its notification
    const r = await C.request('POST', '/api/v1/passes', { key: k.key, body: BODY });
    assert.equal(r.status, 201, r.text);
    assert.equal((await list(C, k.key)).length, 3, 'at once on C');
    await waitFor(async () => (await list(D, k.key)).length === 3, { what: "C's create on D" });

    // a void through C waits for D too
    assert.equal((await list(D, k.key)).find((x) => x.id === p.body.id).status, 'active');
    assert.equal((await C.request('DELETE', `/api/v1/passes/${p.body.id}`, { key: k.key })).status, 200);
    assert.equal((await list(D, k.key)).find((x) => x.id === p.body.id).status, 'voided', 'voided at once on D');
  } finally {
    await D.stop();
    await C.stop();
  }
});
