// Rate limit per API key: a token bucket of `burst` tokens refilled at
// `requests_per_second`, X-RateLimit-* on responses, 429 + Retry-After.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, assertError, sleep } from './lib/harness.mjs';

// One token back per 1,000 s: no token can come back while a test runs, however slow the
// machine, so the counts below are exact.  The refill itself is checked on a gateway of its own.
const SLOW = { requests_per_second: 0.001, burst: 3 };
let gw, a, b;
before(async () => {
  gw = await startGateway({ config: { rate_limit: SLOW } });
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
  const t0 = Date.now();
  const rs = [];
  for (let i = 0; i < 4; i++) rs.push(await gw.request('GET', '/api/v1/account', { key: a.key }));
  // the seconds of refill (0.001 token each) since the first request, rounded up: what the
  // seconds below may fall short of their whole thousands (and 1 over for rounding)
  const slack = Math.ceil((Date.now() - t0) / 1000) + 1;
  for (let i = 0; i < 3; i++) {
    assert.equal(rs[i].status, 200, rs[i].text);
    const h = rateHeaders(rs[i]);
    assert.equal(h.limit, '3');
    assert.equal(h.remaining, String(2 - i));
    // full again once the i + 1 tokens spent are back: (i + 1) * 1000 s
    const reset = Number(h.reset);
    assert.ok(reset <= (i + 1) * 1000 + 1 && reset >= (i + 1) * 1000 - slack, `X-RateLimit-Reset ${reset} after ${i + 1} requests`);
  }
  const e = assertError(rs[3], 429, { type: 'rate_limit_error', code: 'rate_limited' });
  assert.match(e.message, /retry/i);
  const ra = Number(rs[3].headers.get('retry-after'));
  assert.ok(Number.isInteger(ra) && ra <= 1001 && ra >= 1000 - slack, `Retry-After ${ra}`);
  const h = rateHeaders(rs[3]);
  assert.equal(h.limit, '3');
  assert.equal(h.remaining, '0');
  assert.ok(Number(h.reset) >= 3000 - slack && Number(h.reset) <= 3001, `X-RateLimit-Reset ${h.reset} when empty`);
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
  // One token a second: a slow machine may see more requests allowed than the burst (tokens come
  // back while it sends them), never fewer, and a 429 always tells how long to wait.
  const g = await startGateway({ config: { rate_limit: { requests_per_second: 1, burst: 3 } } });
  try {
    const d = g.account();
    let limited = null, allowed = 0;
    for (let i = 0; i < 1000 && !limited; i++) {
      const r = await g.request('GET', '/api/v1/account', { key: d.key });
      if (r.status === 429) limited = r;
      else {
        assert.equal(r.status, 200, r.text);
        allowed++;
      }
    }
    assert.ok(limited, 'the bucket ran dry');
    assertError(limited, 429);
    assert.ok(allowed >= 3, `${allowed} allowed before the first 429`);
    // under one token left, one token a second: one second to wait
    assert.equal(limited.headers.get('retry-after'), '1');
    await sleep(1100);
    const r = await g.request('GET', '/api/v1/account', { key: d.key });
    assert.equal(r.status, 200, r.text);
    const left = Number(rateHeaders(r).remaining);
    assert.ok(Number.isInteger(left) && left >= 0 && left <= 2, `X-RateLimit-Remaining ${left}`);
  } finally {
    await g.stop();
  }
});

test('429s are counted in metrics and the access log like any response', async () => {
  const m = await gw.request('GET', '/metrics');
  assert.match(m.text, /walletpass_http_requests_total\{method="GET",route="\/api\/v1\/account",status="429"\} [1-9]/);
});
