// The gateway's API called in process by a plugin (host->api_call, ABI 1.8), through the fixture
// plugin tests/fixtures/plugins/api_call.c: the call runs the real route as the plugin's request
// (account, key, checks, metering, isolation), takes no second rate-limit token, does not nest,
// refuses to run inside the route's open transaction, without a request, and on a keyless route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGateway, BIN } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const FIXTURES = path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins');
const WP_OK = 0, WP_EINVAL = 2, WP_ECONFLICT = 4;
const PASS = { pass_type: 'generic', organization_name: 'Solstice', barcode_message: 'M-1' };

let gw, a, b;
before(async () => {
  gw = await startGateway({
    // a bucket that does not refill during the suite: every token a request takes shows
    config: { plugin_dir: FIXTURES, plugins: [{ name: 'apicall' }], rate_limit: { requests_per_second: 0.001, burst: 1000 } },
  });
  a = gw.account();
  b = gw.account();
});
after(async () => gw && gw.stop());

const run = (key, call, route = 'run') => gw.request('POST', `/api/v1/apicall/${route}`, { key, body: call });

test('a call runs the route as the request: created, metered, and seen by the same account only', async () => {
  const r = await run(a.key, { method: 'POST', path: '/api/v1/passes', body: PASS });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.st, WP_OK, r.body.error);
  assert.equal(r.body.status, 201);
  assert.equal(r.body.out.object, 'pass');
  assert.equal(r.body.out.barcode_message, 'M-1');
  assert.match(r.body.headers['Content-Type'], /^application\/json/);
  const id = r.body.out.id;
  // the pass is the account's, as if the client had made it; the operation was counted
  const g = await gw.request('GET', `/api/v1/passes/${id}`, { key: a.key });
  assert.equal(g.status, 200);
  const acct = await gw.request('GET', '/api/v1/account', { key: a.key });
  assert.equal(acct.body.usage.operations, 1);
  // another account's call sees a 404, exactly as over HTTP
  const other = await run(b.key, { method: 'GET', path: `/api/v1/passes/${id}` });
  assert.equal(other.body.st, WP_OK);
  assert.equal(other.body.status, 404);
  assert.equal(other.body.out.error.code, 'resource_missing');
  // the error carries the calling request's id
  assert.equal(other.body.out.error.request_id, other.headers.get('request-id'));
});

test('a call made for a test key acts in test mode: a test pass the live key cannot see', async () => {
  const k = await gw.request('POST', '/api/v1/api_keys', { key: a.key, body: { name: 'test', livemode: false } });
  assert.equal(k.status, 201, k.text);
  const r = await run(k.body.key, { method: 'POST', path: '/api/v1/passes', body: { ...PASS, barcode_message: 'T-1' } });
  assert.equal(r.body.status, 201);
  assert.equal(r.body.out.livemode, false);
  assert.equal((await gw.request('GET', `/api/v1/passes/${r.body.out.id}`, { key: a.key })).status, 404);
  assert.equal((await gw.request('GET', `/api/v1/passes/${r.body.out.id}`, { key: k.body.key })).status, 200);
  const me = await run(k.body.key, { method: 'GET', path: '/api/v1/account' });
  assert.equal(me.body.out.livemode, false);
});

test('the route checks the body and the query as over HTTP, naming the field', async () => {
  let r = await run(a.key, { method: 'POST', path: '/api/v1/passes', body: { pass_type: 'generic' } });
  assert.equal(r.body.status, 400);
  assert.equal(r.body.out.error.param, 'organization_name');
  r = await run(a.key, { method: 'GET', path: '/api/v1/passes?limit=0' });
  assert.equal(r.body.status, 400);
  assert.equal(r.body.out.error.param, 'limit');
  r = await run(a.key, { method: 'GET', path: '/api/v1/no/such/route' });
  assert.equal(r.body.st, WP_OK);
  assert.equal(r.body.status, 404);
  assert.equal(r.body.out.error.code, 'route_not_found');
  r = await run(a.key, { method: 'DELETE', path: '/api/v1/account' });
  assert.equal(r.body.status, 405);
  assert.equal(r.body.headers.Allow, 'GET');
});

test('one client request takes one rate-limit token, however many calls it makes', async () => {
  const before_ = await gw.request('GET', '/api/v1/account', { key: a.key });
  const left = Number(before_.headers.get('x-ratelimit-remaining'));
  const r = await run(a.key, { method: 'GET', path: '/api/v1/account', repeat: 5 });
  assert.equal(r.body.status, 200);
  assert.equal(Number(r.headers.get('x-ratelimit-remaining')), left - 1);
});

test('refused: nested calls, inside the open transaction, without a request, keyless routes, other paths', async () => {
  // the inner run is itself in process: its own call is refused
  let r = await run(a.key, { method: 'POST', path: '/api/v1/apicall/run', body: { method: 'GET', path: '/api/v1/account' } });
  assert.equal(r.body.st, WP_OK);
  assert.equal(r.body.status, 200);
  assert.equal(r.body.out.st, WP_EINVAL);
  assert.match(r.body.out.error, /never from inside another one/);
  r = await run(a.key, { method: 'GET', path: '/api/v1/account' }, 'in_tx');
  assert.equal(r.body.st, WP_ECONFLICT);
  assert.match(r.body.error, /open transaction/);
  r = await run(a.key, { method: 'GET', path: '/api/v1/account' }, 'no_req');
  assert.equal(r.body.st, WP_EINVAL);
  r = await run(a.key, { method: 'GET', path: '/api/v1/apicall/public' });
  assert.equal(r.body.st, WP_EINVAL);
  assert.match(r.body.error, /takes no API key/);
  r = await run(a.key, { method: 'GET', path: '/healthz' });
  assert.equal(r.body.st, WP_EINVAL);
  r = await run(a.key, { method: 'TRACE', path: '/api/v1/account' });
  assert.equal(r.body.st, WP_EINVAL);
  // nothing the refused calls touched was written: still the one live pass
  const list = await gw.request('GET', '/api/v1/passes', { key: a.key });
  assert.equal(list.body.data.length, 1);
});
