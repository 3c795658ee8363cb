// Rate limit per API key: a token bucket of `burst` tokens refilled at
// `requests_per_second`, X-RateLimit-* on responses, 429 + Retry-After.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, assertError, sleep } from './lib/harness.mjs';

let gw, a, b;
before(async () => {
  gw = await startGateway({ config: { rate_limit: { requests_per_second: 1, burst: 3 } } });
  a = gw.account();
  b = gw.account();
});
after(async () => gw && gw.stop());

function rateHeaders(r) {
  return {
    limit: r.headers.get('x-ratelimit-limit'),
    remaining: r.headers.get('x-ratelimit-remaining'),
    reset: r.headers.get('x-ratelimit-reset'),
  };
}

test('the 4th rapid request is 429 with Retry-After; headers count down', async () => {
  const rs = [];
  for (let i = 0; i < 4; i++) rs.push(await gw.request('GET', '/api/v1/account', { key: a.key }));
  for (let i = 0; i < 3; i++) {
    assert.equal(rs[i].status, 200, rs[i].text);
    const h = rateHeaders(rs[i]);
    assert.equal(h.limit, '3');
    assert.equal(h.remaining, String(2 - i));
    assert.match(h.reset, /^[1-4]$/);
  }
  const e = assertError(rs[3], 429, { type: 'rate_limit_error', code: 'rate_limited' });
  assert.match(e.message, /retry/i);
  const ra = Number(rs[3].headers.get('retry-after'));
  assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 2, `Retry-After ${ra}`);
  const h = rateHeaders(rs[3]);
  assert.equal(h.limit, '3');
  assert.equal(h.remaining, '0');
  assert.ok(Number(h.reset) >= 1);
});

test('a second API key has its own bucket, even on the same account', async () => {
  // a is exhausted now; a second key of the same account is not
  const c = await gw.request('POST', '/api/v1/api_keys', { key: b.key, body: { name: 'second' } });
  assert.equal(c.status, 201, c.text);
  const r = await gw.request('GET', '/api/v1/account', { key: c.body.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(rateHeaders(r).remaining, '2');
  // b spent one token on the create: two left, then refused
  assert.equal((await gw.request('GET', '/api/v1/account', { key: b.key })).status, 200);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: b.key })).status, 200);
  assertError(await gw.request('GET', '/api/v1/account', { key: b.key }), 429);
  // and the second key still has its own tokens left
  assert.equal((await gw.request('GET', '/api/v1/account', { key: c.body.key })).status, 200);
  assertError(await gw.request('GET', '/api/v1/account', { key: a.key }), 429);
});

test('the rate limit comes before parsing, authentication before the rate limit', async () => {
  // a is still limited: a malformed body is 429, not 400 (the documented order of checks)
  const r = await gw.request('POST', '/api/v1/api_keys', { key: a.key, raw: '{bad', headers: { 'content-type': 'application/json' } });
  assertError(r, 429);
  // no key at all is 401 and spends nobody's tokens
  assertError(await gw.request('GET', '/api/v1/account'), 401);
  // public routes are not rate limited
  for (let i = 0; i < 6; i++) assert.equal((await gw.request('GET', '/healthz')).status, 200);
});

test('tokens come back at the configured rate', async () => {
  const d = await gw.account();
  for (let i = 0; i < 3; i++) assert.equal((await gw.request('GET', '/api/v1/account', { key: d.key })).status, 200);
  const limited = await gw.request('GET', '/api/v1/account', { key: d.key });
  assertError(limited, 429);
  await sleep(Number(limited.headers.get('retry-after')) * 1000 + 100);
  const r = await gw.request('GET', '/api/v1/account', { key: d.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(rateHeaders(r).remaining, '0');
  // refused requests did not spend tokens: one second later one more is allowed
  await sleep(1100);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: d.key })).status, 200);
});

test('429s are counted in metrics and the access log like any response', async () => {
  const m = await gw.request('GET', '/metrics');
  assert.match(m.text, /walletpass_http_requests_total\{method="GET",route="\/api\/v1\/account",status="429"\} [1-9]/);
});
