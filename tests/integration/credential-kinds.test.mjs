// Credential kinds: a plugin registers a kind and the gateway serves
// PUT/GET/DELETE /api/v1/credentials/<kind> for it, sealing what the kind's
// check returns.  The fixture plugin "credkind" (tests/fixtures/plugins/cred_kind.c)
// registers "acme", a kind the core has never heard of; "vaultread" reads
// the vault back.  Without the plugin that owns a kind, its routes do not
// exist; a configuration key that moved into a plugin's configuration is
// refused naming its new place.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, assertError, cli, BIN } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const FIXTURES = path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins');
const IN_TREE = path.join(BUILD_DIR, 'plugins');
const API_KEY = 'acme_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0';

// One plugin_dir with the fixtures and apple-signer (a plugin outside plugin_dir is refused).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-credkinds-'));
for (const f of ['credkind.so', 'vaultread.so']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
fs.copyFileSync(path.join(IN_TREE, 'apple-signer.so'), path.join(dir, 'apple-signer.so'));

let gw, A, B;
before(async () => {
  gw = await startGateway({ config: { plugin_dir: dir, plugins: [{ name: 'credkind', config: { display_name: 'Acme' } }, { name: 'vaultread' }] } });
  A = gw.account();
  B = gw.account();
});
after(async () => {
  if (gw) await gw.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const put = (body, key = A.key, kind = 'acme') => gw.request('PUT', `/api/v1/credentials/${kind}`, { key, body });
const get = (key = A.key, kind = 'acme') => gw.request('GET', `/api/v1/credentials/${kind}`, { key });
const del = (key = A.key, kind = 'acme') => gw.request('DELETE', `/api/v1/credentials/${kind}`, { key });
const vault = (key = A.key, name = 'acme') => gw.request('GET', `/api/v1/fx/vault/${name}`, { key });

test('a plugin-registered kind: PUT stores, GET shows the metadata, DELETE removes; every answer no-store', async () => {
  const r = await put({ api_key: API_KEY, region: 'us' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.deepEqual(Object.keys(r.body).sort(), ['created_at', 'key_last4', 'object', 'platform', 'region', 'updated_at']);
  assert.equal(r.body.object, 'credentials');
  assert.equal(r.body.platform, 'acme');
  assert.equal(r.body.region, 'us');
  assert.equal(r.body.key_last4, 'b1a0');
  assert.ok(!r.text.includes(API_KEY), 'the secret is not answered');

  const g = await get();
  assert.equal(g.status, 200, g.text);
  assert.equal(g.headers.get('cache-control'), 'no-store');
  assert.deepEqual(g.body, r.body);

  // PUT again replaces the row (one per account and kind)
  const again = await put({ api_key: API_KEY + 'x', region: 'eu' });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.created_at, r.body.created_at);
  assert.equal(again.body.region, 'eu');
  assert.equal(gw.sql(`SELECT count(*) FROM credentials WHERE account_id = '${A.account}' AND platform = 'acme'`), '1');

  // the plugin reads the decrypted secret back
  const v = await vault();
  assert.equal(v.status, 200, v.text);
  assert.deepEqual(v.body, { api_key: API_KEY + 'x', region: 'eu' });

  const d = await del();
  assert.equal(d.status, 200, d.text);
  assert.equal(d.headers.get('cache-control'), 'no-store');
  assert.deepEqual(d.body, { object: 'credentials', platform: 'acme', deleted: true });
  const e = assertError(await get(), 404, { code: 'resource_missing' });
  assert.match(e.message, /no Acme credentials are stored for this account; upload them with PUT \/api\/v1\/credentials\/acme/);
  assertError(await del(), 404, { code: 'resource_missing' });
  assertError(await vault(), 404);
  assert.equal((await get()).headers.get('cache-control'), 'no-store');
});

test("the kind's refusals come back as 400 naming the field; the host's own checks stay the host's", async () => {
  const cases = [
    [{ region: 'eu' }, 'api_key', 'parameter_missing'],
    [{ api_key: 'short' }, 'api_key', 'parameter_invalid'],
    [{ api_key: API_KEY, region: 'mars' }, 'region', 'parameter_invalid'],
    [{ api_key: API_KEY, colour: 'blue' }, 'colour', 'parameter_unknown'],
  ];
  for (const [body, param, code] of cases) {
    const r = await put(body);
    assertError(r, 400, { param, code, type: 'invalid_request_error' });
    assert.equal(r.headers.get('cache-control'), 'no-store');
  }
  assertError(await put([]), 400, { param: 'body' });
  assertError(await gw.request('PUT', '/api/v1/credentials/acme', { key: A.key, raw: JSON.stringify({ api_key: API_KEY }),
    headers: { 'content-type': 'text/plain' } }), 415);
  assertError(await gw.request('PUT', '/api/v1/credentials/acme', { body: { api_key: API_KEY } }), 401);
  assertError(await gw.request('GET', '/api/v1/credentials/acme?x=1', { key: A.key }), 400, { param: 'x' });
  // a long field named by the kind may pass limits.max_string_bytes (4096); nothing else may
  const long = 'k'.repeat(20000);
  const ok = await put({ api_key: long });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.key_last4, 'kkkk');
  assertError(await put({ api_key: API_KEY, region: 'e'.repeat(5000) }), 400);
  assert.equal(gw.sql(`SELECT count(*) FROM credentials WHERE platform = 'acme'`), '1', 'refusals stored nothing');
  assert.equal((await del()).status, 200);
});

test('sealed at rest: the table and the whole database hold no plaintext; the row is bound to its account', async () => {
  assert.equal((await put({ api_key: API_KEY })).status, 200);
  const row = gw.sql(`SELECT platform || ' ' || sealed || ' ' || meta::text FROM credentials WHERE account_id = '${A.account}'`);
  assert.match(row, /^acme wpv1:\d+:/);
  assert.ok(!row.includes(API_KEY) && !row.includes(API_KEY.slice(5, 30)), `plaintext in the row: ${row}`);
  const dump = execFileSync('pg_dump', ['--data-only', gw.dbUrl], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.ok(!dump.includes(API_KEY.slice(5, 30)), 'the key is somewhere in the database');
  assert.ok(!gw.stderr().includes(API_KEY.slice(5, 30)), 'the key is in the log');
  // a sealed value copied into another account's row does not open there
  gw.sql(`INSERT INTO credentials (account_id, platform, sealed, key_version, meta)
          SELECT '${B.account}', platform, sealed, key_version, meta FROM credentials
          WHERE account_id = '${A.account}' AND platform = 'acme'`);
  const r = await vault(B.key);
  assert.equal(r.status, 500, r.text);
  assert.match(r.body.error.message, /^cryptographic operation failed: /);
  assert.equal((await vault()).status, 200, "A's own still opens");
  gw.sql(`DELETE FROM credentials WHERE account_id = '${B.account}'`);
});

test('isolation: another account sees 404 for reads, deletes and plugin reads, and its upload is its own', async () => {
  assert.equal((await put({ api_key: API_KEY })).status, 200);
  assertError(await get(B.key), 404);
  assertError(await del(B.key), 404);
  assertError(await vault(B.key), 404);
  assert.equal((await get()).status, 200, "A's credentials survive B's delete");
  const b = await put({ api_key: 'b-account-key-0000', region: 'us' }, B.key);
  assert.equal(b.status, 200, b.text);
  assert.equal((await get()).body.key_last4, 'b1a0', "B's upload did not replace A's");
  assert.equal((await vault(B.key)).body.api_key, 'b-account-key-0000');
  assert.equal((await vault()).body.api_key, API_KEY);
});

test("metadata cannot take the view's own fields", async () => {
  const g2 = await startGateway({ config: { plugin_dir: dir, plugins: [{ name: 'credkind', config: { meta_object: true } }] } });
  try {
    const a = g2.account();
    const r = await g2.request('PUT', '/api/v1/credentials/acme', { key: a.key, body: { api_key: API_KEY } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.object, 'credentials');
    assert.equal(r.body.platform, 'acme');
    // without a display name, messages use the kind's name
    assert.equal((await g2.request('DELETE', '/api/v1/credentials/acme', { key: a.key })).status, 200);
    const e = assertError(await g2.request('GET', '/api/v1/credentials/acme', { key: a.key }), 404);
    assert.match(e.message, /no acme credentials are stored/);
  } finally {
    await g2.stop();
  }
});

test('without the plugin that owns a kind, its routes do not exist: 404 in the usual shape', async () => {
  for (const kind of ['apple', 'google', 'nothing']) {
    for (const method of ['PUT', 'GET', 'DELETE']) {
      const r = await gw.request(method, `/api/v1/credentials/${kind}`, { key: A.key,
        body: method === 'PUT' ? { p12_base64: 'AAAA', p12_password: '', issuer_id: '1' } : undefined });
      assertError(r, 404, { code: 'route_not_found', type: 'invalid_request_error' });
    }
  }
  // the same gateway's own kind is there, and `walletpass routes` names its owner
  const routes = cli(['routes'], { ...gw.env, WALLETPASS_CONFIG: gw.cfgPath }).split('\n');
  for (const m of ['PUT', 'GET', 'DELETE']) assert.ok(routes.includes(`${m} /api/v1/credentials/acme api_key credkind`), routes.join('\n'));
  assert.ok(!routes.some((l) => /credentials\/(apple|google)/.test(l)), routes.join('\n'));
  // a kind name the column would refuse never reaches it
  assert.throws(() => gw.sql(`INSERT INTO credentials (account_id, platform, sealed, key_version, meta)
                              VALUES ('${A.account}', 'Not A Kind', 'x', 1, '{}')`), /credentials_platform_check/);
});

test('with apple-signer loaded, its kind is served next to the fixture\'s', async () => {
  const g2 = await startGateway({ config: { plugin_dir: dir, plugins: [{ name: 'apple-signer' }, { name: 'credkind' }] } });
  try {
    const a = g2.account();
    const e = assertError(await g2.request('PUT', '/api/v1/credentials/apple', { key: a.key, body: {} }), 400,
      { param: 'p12_base64', code: 'parameter_missing' });
    assert.match(e.message, /p12_base64 is required/);
    const g = assertError(await g2.request('GET', '/api/v1/credentials/apple', { key: a.key }), 404, { code: 'resource_missing' });
    assert.match(g.message, /no Apple credentials are stored/);
    assert.equal((await g2.request('PUT', '/api/v1/credentials/acme', { key: a.key, body: { api_key: API_KEY } })).status, 200);
  } finally {
    await g2.stop();
  }
});

test('a malformed or taken kind name stops start-up with the plugin named', async () => {
  await assert.rejects(startGateway({ config: { plugin_dir: dir, plugins: [{ name: 'credkind', config: { name: 'Not A Kind' } }] } }),
    /plugin "credkind".*init failed: .*credential kind "Not A Kind": the name must be 1 to 32 characters/);
  await assert.rejects(startGateway({ config: { plugin_dir: dir,
    plugins: [{ name: 'apple-signer' }, { name: 'credkind', config: { name: 'apple' } }] } }),
  /plugin "credkind".*PUT \/api\/v1\/credentials\/apple/);
});

test('the Apple settings that left the core are refused where they were, naming their new place', async () => {
  await assert.rejects(startGateway({ config: { apple: { require_apple_wwdr: true } } }),
    /apple\.require_apple_wwdr: moved into the configuration of the plugin "apple-signer": set "require_apple_wwdr" in the "config" of its entry under "plugins"/);
  await assert.rejects(startGateway({ config: { apple: { wwdr_ca_file: '/etc/walletpass/apple-wwdr.pem' } } }),
    /apple\.wwdr_ca_file: moved into the configuration of the plugin "apple-signer"/);
});
