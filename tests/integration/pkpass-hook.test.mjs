// The hook apple.pkpass.build as another plugin calls it (the apns plugin is one): the fixture
// plugin "pkpasshook" (tests/fixtures/plugins/pkpass_hook.c) asks the apple-signer for a pass's
// bundle.  Handed back (pkpass_base64) it is the very bundle the pass's capability link serves,
// with the same ETag; with "respond" the apple-signer answers the request itself, without the
// base64 round trip; another account's pass is refused like an unknown one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, assertError, BIN } from './lib/harness.mjs';
import { makePki, P12_PASSWORD, TEAM } from './lib/apple-pki.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-pkpasshook-'));
fs.copyFileSync(path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins', 'pkpasshook.so'), path.join(dir, 'pkpasshook.so'));
fs.copyFileSync(path.join(BUILD_DIR, 'plugins', 'apple-signer.so'), path.join(dir, 'apple-signer.so'));
const PTID = 'pass.com.example.hook';

let gw, A, B;
before(async () => {
  const pki = makePki(dir, { one: PTID });
  gw = await startGateway({ config: { plugin_dir: dir, plugins: [{ name: 'apple-signer' }, { name: 'pkpasshook' }] } });
  A = gw.account();
  B = gw.account();
  for (const acct of [A, B]) {
    const r = await gw.request('PUT', '/api/v1/credentials/apple', { key: acct.key, body: {
      p12_base64: pki.p12Base64('one'), p12_password: P12_PASSWORD, pass_type_identifier: PTID, team_identifier: TEAM,
      wwdr_pem: pki.wwdrPem } });
    assert.equal(r.status, 200, r.text);
  }
});
after(async () => {
  if (gw) await gw.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const bytes = async (url, headers = {}) => {
  const r = await fetch(url, { headers });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
};

test('the bundle handed back in the document, or sent by the apple-signer itself: the same bytes as the link', async () => {
  const p = await gw.request('POST', '/api/v1/passes', { key: A.key, body: {
    pass_type: 'loyalty', organization_name: 'Hook Coffee', primary_fields: [{ key: 'points', label: 'Points', value: '7' }] } });
  assert.equal(p.status, 201, p.text);
  const link = await bytes(p.body.pkpass_url);
  assert.equal(link.status, 200);
  assert.equal(link.body.subarray(0, 2).toString(), 'PK');
  const auth = { Authorization: `Bearer ${A.key}` };

  const back = await bytes(`${gw.url}/api/v1/fx/pkpass/${p.body.id}`, auth);
  assert.equal(back.status, 200, back.body.toString());
  assert.equal(back.headers.get('x-fx-form'), 'base64');
  assert.equal(back.headers.get('content-type'), 'application/vnd.apple.pkpass');
  assert.ok(back.body.equals(link.body), 'the link\'s bundle, from the cache');
  assert.equal(back.headers.get('x-fx-etag'), link.headers.get('etag'));

  const sent = await bytes(`${gw.url}/api/v1/fx/pkpass/${p.body.id}?respond=1`, auth);
  assert.equal(sent.status, 200, sent.body.toString());
  assert.equal(sent.headers.get('x-fx-form'), null, 'answered by the apple-signer, not the fixture');
  assert.equal(sent.headers.get('content-type'), 'application/vnd.apple.pkpass');
  assert.equal(sent.headers.get('etag'), link.headers.get('etag'));
  assert.ok(sent.body.equals(link.body));

  // another account's pass: not found, in either form
  for (const q of ['', '?respond=1'])
    assertError(await gw.request('GET', `/api/v1/fx/pkpass/${p.body.id}${q}`, { key: B.key }), 404);
});
