// google-jwt with two gateways on one database: rate_limit_per_second is the deployment's limit for
// an issuer, not each process's.  Each process learns the live count from the core's heartbeat
// registry (SELECT wp_live_gateways()) and spaces its calls to an issuer N/rate seconds apart, so
// the calls of both together arrive at the stand-in at most rate a second (plus one per process).
// The check is on spacing, as in integration_google_jwt: any K consecutive calls span at least
// (K - N)/rate seconds at departure (arrival may shift one end by a scheduling delay); a loaded
// machine only spreads calls further, so no burst is required to exist.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startGateway, waitFor, BIN } from './lib/harness.mjs';

let jose;
try { jose = await import('jose'); } catch { jose = null; }
const skip = jose ? false : 'npm package jose is missing: run `npm install` in tests/ (scripts/test does)';
const { startGoogleStandin } = jose ? await import('./lib/google-standin.mjs') : {};

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN || '.'), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const ISSUER = '3388000000022199001';
const EMAIL = 'wallet-signer@walletpass-scale.iam.gserviceaccount.com';
const RATE = 4; // calls a second to the issuer, for the deployment
const N = 2; // gateways

const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const serviceAccount = {
  type: 'service_account', project_id: 'walletpass-scale', private_key_id: crypto.randomBytes(20).toString('hex'),
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: EMAIL, client_id: '123456789012345678902',
  auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: 'https://oauth2.googleapis.com/token',
};

let g, gws = [];
before(async () => {
  if (skip) return;
  g = await startGoogleStandin({ issuerId: ISSUER, clientEmail: EMAIL, publicKey });
  const config = {
    plugin_dir: PLUGIN_DIR,
    jobs: { poll_ms: 100 },
    plugins: [{ name: 'google-jwt', config: { api_base_url: g.apiBase, token_url: g.tokenUrl, rate_limit_per_second: RATE } }],
  };
  for (let i = 0; i < N; i++) {
    const prev = gws[0];
    gws.push(await startGateway({ config, ...(prev ? { dbUrl: prev.dbUrl, env: { WALLETPASS_MASTER_KEY: prev.env.WALLETPASS_MASTER_KEY } } : {}) }));
  }
  await waitFor(async () => {
    for (const gw of gws) if ((await (await fetch(`${gw.url}/readyz`)).json()).processes !== N) return false;
    return true;
  }, { timeout: 120000, what: `each gateway counting ${N} live processes` });
});
after(async () => {
  for (const gw of gws) await gw.stop();
  if (g) await g.close();
});

test('the per-issuer rate limit holds for two gateways together', { skip }, async () => {
  const [a, b] = gws;
  const acct = a.account();
  const r = await a.request('PUT', '/api/v1/credentials/google', { key: acct.key, body: { issuer_id: ISSUER, service_account_json: serviceAccount } });
  assert.equal(r.status, 200, r.text);
  const P = 16;
  const passes = [];
  for (let i = 0; i < P; i++) {
    const p = await a.request('POST', '/api/v1/passes', { key: acct.key, body: { pass_type: 'generic', organization_name: 'Scale Gym',
      primary_fields: [{ key: 'member', label: 'Member', value: `M ${i}` }] } });
    assert.equal(p.status, 201, p.text);
    passes.push(p.body);
  }
  const before = g.apiCalls().length;
  // every update is a sync job (a PATCH of the object, after its insert when never saved); both
  // gateways' workers take them
  await Promise.all(passes.map((p, i) => (i % 2 ? b : a).request('PUT', `/api/v1/passes/${p.id}`, { key: acct.key,
    body: { primary_fields: [{ key: 'member', label: 'Member', value: `Renamed ${i}` }] } })
    .then((u) => assert.equal(u.status, 200, u.text))));
  await waitFor(() => g.apiCalls('PATCH').length >= P, { timeout: 300000, interval: 100, what: `${P} PATCHes` });
  const at = g.apiCalls().slice(before).map((c) => c.at).sort((x, y) => x - y);
  assert.ok(at.length >= P, `${at.length} calls`);
  // Departure slots: each process N/RATE s apart, so K consecutive calls of the deployment span at
  // least (K - N)/RATE s; 150 ms for a scheduling delay at either end.
  const K = 11;
  const span = ((K - N) / RATE) * 1000 - 150;
  for (let i = 0; i + K - 1 < at.length; i++)
    assert.ok(at[i + K - 1] - at[i] >= span, `${K} calls within ${at[i + K - 1] - at[i]} ms (at least ${span} for ${RATE}/s in all)`);
});
