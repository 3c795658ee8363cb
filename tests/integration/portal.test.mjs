// The dashboard's accounts and sessions (docs/dashboard.md): sign-up in its three modes, login,
// the session cookie and its flags, CSRF, the API under /portal/api/v1 with a session, tenant
// isolation, lockout and sessions across two gateway processes on one database, password
// changes, the access log's login entries, the user CLI, and the static files' headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { startGateway, assertError, createDatabase, waitFor, rawRequest, BIN } from './lib/harness.mjs';

const PASSWORD = 'correct horse battery staple';
// The cheapest scrypt cost the gateway takes: these tests count attempts, not the work of each.
const PORTAL = { signup: 'open', password_scrypt_log2_n: 10, signup_ip_max: 1000 };

let gw;
before(async () => {
  gw = await startGateway({ config: { portal: PORTAL, rate_limit: { requests_per_second: 0 } } });
});
after(async () => gw && gw.stop());

const email = () => `${crypto.randomBytes(5).toString('hex')}@example.com`;

/** The wp_session cookie a response sets: { value, attrs (lower-case names) }, or null. */
function sessionCookie(res) {
  const all = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [res.headers.get('set-cookie')];
  const line = all.find((l) => l && l.startsWith('wp_session='));
  if (!line) return null;
  const [pair, ...rest] = line.split(';').map((s) => s.trim());
  const attrs = {};
  for (const a of rest) {
    const [k, v] = a.split('=');
    attrs[k.toLowerCase()] = v === undefined ? true : v;
  }
  return { value: pair.slice('wp_session='.length), attrs, line };
}

/** A client of one gateway holding one session: cookie and CSRF token. */
function client(g) {
  const c = {
    cookie: null,
    csrf: null,
    async req(method, p, { body, csrf = true, headers = {} } = {}) {
      const h = { ...headers };
      if (c.cookie) h.cookie = `wp_session=${c.cookie}`;
      if (csrf && c.csrf && method !== 'GET' && method !== 'HEAD') h['x-csrf-token'] = c.csrf;
      const r = await g.request(method, p, { body, headers: h });
      const sc = sessionCookie(r);
      if (sc) c.cookie = sc.attrs['max-age'] === '0' ? null : sc.value;
      if (r.body && r.body.csrf_token) c.csrf = r.body.csrf_token;
      return r;
    },
    login: (em, pw = PASSWORD) => c.req('POST', '/portal/api/login', { body: { email: em, password: pw } }),
    signup: (body) => c.req('POST', '/portal/api/signup', { body }),
  };
  return c;
}

async function signedUp(g = gw, extra = {}) {
  const c = client(g);
  const em = email();
  const r = await c.signup({ email: em, password: PASSWORD, name: 'Shop ' + em.slice(0, 4), ...extra });
  assert.equal(r.status, 201, r.text);
  return { c, email: em, account: r.body.account.id, user: r.body.user.id };
}

test('sign-up (open) creates an account on the trial, a user and a session', async () => {
  const c = client(gw);
  const em = email();
  const r = await c.signup({ email: em, password: PASSWORD, name: 'Solstice Coffee' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.object, 'portal_session');
  assert.equal(r.body.user.email, em);
  assert.match(r.body.user.id, /^user_/);
  assert.match(r.body.account.id, /^acct_/);
  assert.equal(r.body.account.name, 'Solstice Coffee');
  assert.match(r.body.csrf_token, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const acct = await c.req('GET', '/portal/api/v1/account');
  assert.equal(acct.status, 200, acct.text);
  assert.equal(acct.body.id, r.body.account.id);
  assert.equal(acct.body.plan, 'trial');
  assert.equal(acct.body.trial_active, true);
  // the same email twice: 409, nothing written
  const users = gw.sql('SELECT count(*) FROM portal_users');
  assertError(await client(gw).signup({ email: em.toUpperCase(), password: PASSWORD }), 409, { code: 'email_taken', param: 'email' });
  assert.equal(gw.sql('SELECT count(*) FROM portal_users'), users);
});

test('sign-up checks its body: each field named', async () => {
  const c = client(gw);
  assertError(await c.signup({ password: PASSWORD }), 400, { code: 'parameter_missing', param: 'email' });
  assertError(await c.signup({ email: 'not-an-address', password: PASSWORD }), 400, { param: 'email' });
  assertError(await c.signup({ email: email(), password: 'short' }), 400, { code: 'password_too_short', param: 'password' });
  assertError(await c.signup({ email: email(), password: PASSWORD, admin: true }), 400, { code: 'parameter_unknown', param: 'admin' });
  assertError(await c.signup({ email: email(), password: 42 }), 400, { param: 'password' });
  const r = await gw.request('POST', '/portal/api/signup', { raw: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(r, 415, { code: 'unsupported_media_type' });
});

test('sign-up off and by invitation; invitations to join an account work in every mode', async () => {
  const g = await startGateway({ config: { portal: { ...PORTAL, signup: 'off' } } });
  const gi = await startGateway({ config: { portal: { ...PORTAL, signup: 'invite' } } });
  try {
    assertError(await client(g).signup({ email: email(), password: PASSWORD }), 403, { code: 'signup_disabled' });
    assertError(await client(gi).signup({ email: email(), password: PASSWORD }), 403, { code: 'invite_required', param: 'invite' });
    // an operator's invitation to a new account (invite mode)
    const link = gi.cli(['invite', 'create']);
    const token = new URL(link.replace('#/', '')).searchParams.get('invite');
    assert.match(link, /\/dashboard\/#\/signup\?invite=[A-Za-z0-9_-]{43}$/);
    const em = email();
    const r = await client(gi).signup({ email: em, password: PASSWORD, invite: token });
    assert.equal(r.status, 201, r.text);
    // used once
    assertError(await client(gi).signup({ email: email(), password: PASSWORD, invite: token }), 404, { param: 'invite' });
    assertError(await client(gi).signup({ email: email(), password: PASSWORD, invite: 'x'.repeat(43) }), 404, { param: 'invite' });
    // stored as a hash only
    assert.equal(gi.sql(`SELECT count(*) FROM portal_invites WHERE token_hash = '${token}'`), '0');
    assert.equal(gi.sql(`SELECT count(*) FROM portal_invites WHERE token_hash = encode(sha256('${token}'), 'hex')`), '1');

    // off: an invitation to a new account is not taken, one to join an account is
    const acct = g.account().account;
    const newAcct = g.cli(['invite', 'create']).split('invite=')[1];
    assertError(await client(g).signup({ email: email(), password: PASSWORD, invite: newAcct }), 404, { param: 'invite' });
    const join = g.cli(['invite', 'create', '--account', acct, '--email', 'second@example.com']).split('invite=')[1];
    assertError(await client(g).signup({ email: 'third@example.com', password: PASSWORD, invite: join }), 404, { param: 'invite' });
    const j = await client(g).signup({ email: 'Second@Example.com', password: PASSWORD, invite: join });
    assert.equal(j.status, 201, j.text);
    assert.equal(j.body.account.id, acct);
    assert.equal(g.sql(`SELECT count(*) FROM accounts WHERE livemode`), '1');

    // a user invites another to the same account from the dashboard
    const first = client(g);
    assert.equal((await first.login('second@example.com')).status, 200);
    assertError(await first.req('POST', '/portal/api/invites', { body: {}, csrf: false }), 403, { code: 'csrf_token_invalid' });
    const inv = await first.req('POST', '/portal/api/invites', { body: { email: 'fourth@example.com' } });
    assert.equal(inv.status, 201, inv.text);
    assert.equal(inv.headers.get('cache-control'), 'no-store');
    assert.equal(inv.body.account_id, acct);
    const k = await client(g).signup({ email: 'fourth@example.com', password: PASSWORD, invite: inv.body.token });
    assert.equal(k.status, 201, k.text);
    const users = await first.req('GET', '/portal/api/users');
    assert.deepEqual(users.body.data.map((u) => u.email).sort(), ['Second@Example.com', 'fourth@example.com']);
    const cfg = await g.request('GET', '/portal/api/config');
    assert.equal(cfg.body.signup, 'off');
  } finally {
    await g.stop();
    await gi.stop();
  }
});

test('login: the cookie is HttpOnly, SameSite=Lax, scoped to /portal, a new one at every login', async () => {
  const { email: em } = await signedUp();
  const c = client(gw);
  const r = await c.login(em);
  assert.equal(r.status, 200, r.text);
  const sc = sessionCookie(r);
  assert.ok(sc, 'a session cookie');
  assert.match(sc.value, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(sc.attrs.httponly, true, sc.line);
  assert.equal(sc.attrs.samesite, 'Lax', sc.line);
  assert.equal(sc.attrs.path, '/portal', sc.line);
  assert.equal(sc.attrs.secure, undefined, 'no Secure over an http public URL: ' + sc.line);
  // login again with the first cookie: a new token; the first session is over
  const first = c.cookie;
  const again = await c.login(em);
  assert.equal(again.status, 200);
  assert.notEqual(c.cookie, first);
  const old = client(gw);
  old.cookie = first;
  assertError(await old.req('GET', '/portal/api/session'), 401, { code: 'session_invalid' });
  assert.equal((await c.req('GET', '/portal/api/session')).status, 200);
  // the token is stored as its SHA-256 only
  assert.equal(gw.sql(`SELECT count(*) FROM portal_sessions WHERE token_hash = '${c.cookie}'`), '0');
  assert.equal(gw.sql(`SELECT count(*) FROM portal_sessions WHERE token_hash = encode(sha256('${c.cookie}'), 'hex')`), '1');
  assert.match(gw.sql(`SELECT password_hash FROM portal_users WHERE email = '${em}'`), /^\$scrypt\$ln=10,r=8,p=3\$/);
});

test('Secure cookies when the public URL is https', async () => {
  const g = await startGateway({ config: { portal: PORTAL, public_url: 'https://wallet.example.test' } });
  try {
    const r = await client(g).signup({ email: email(), password: PASSWORD });
    assert.equal(r.status, 201, r.text);
    const sc = sessionCookie(r);
    assert.equal(sc.attrs.secure, true, sc.line);
    assert.equal(sc.attrs.httponly, true, sc.line);
    assert.equal(sc.attrs.samesite, 'Lax', sc.line);
  } finally {
    await g.stop();
  }
});

test('wrong passwords and unknown emails get the same answer', async () => {
  const { email: em } = await signedUp();
  const a = await client(gw).login(em, 'wrong password!');
  const b = await client(gw).login(email(), 'wrong password!');
  assertError(a, 401, { code: 'login_failed', type: 'authentication_error' });
  assertError(b, 401, { code: 'login_failed', type: 'authentication_error' });
  assert.equal(a.body.error.message, b.body.error.message);
  assert.equal(sessionCookie(a), null);
});

test('without a session: 401; a state-changing call without its CSRF token: 403', async () => {
  assertError(await gw.request('GET', '/portal/api/v1/account'), 401, { code: 'session_missing' });
  assertError(await gw.request('GET', '/portal/api/v1/account', { headers: { cookie: 'wp_session=nonsense' } }), 401, { code: 'session_invalid' });
  assertError(await gw.request('GET', '/portal/api/v1/account', { headers: { cookie: `wp_session=${'A'.repeat(43)}` } }), 401, { code: 'session_invalid' });
  // an API key is no session
  const k = gw.account();
  assertError(await gw.request('GET', '/portal/api/v1/account', { key: k.key }), 401, { code: 'session_missing' });

  const { c } = await signedUp();
  const other = (await signedUp()).c;
  const keys = () => gw.sql(`SELECT count(*) FROM api_keys`);
  const before = keys();
  for (const [name, token] of [['none', null], ['wrong', 'x'.repeat(32)], ['another session\'s', other.csrf], ['empty', '']]) {
    const headers = token === null ? {} : { 'x-csrf-token': token };
    const r = await c.req('POST', '/portal/api/v1/api_keys', { body: { name: 'k' }, csrf: false, headers });
    assertError(r, 403, { code: 'csrf_token_invalid', param: 'X-CSRF-Token' }, name);
  }
  for (const [m, p, body] of [['DELETE', '/portal/api/v1/passes/pass_01m8bwe18c9azhk3fk0za7nfgx'], ['PUT', '/portal/api/password', { current_password: PASSWORD, new_password: PASSWORD + '!' }],
    ['POST', '/portal/api/logout', {}], ['POST', '/portal/api/v1/passes', { pass_type: 'generic', organization_name: 'x' }]])
    assertError(await c.req(m, p, { body, csrf: false }), 403, { code: 'csrf_token_invalid' });
  assert.equal(keys(), before, 'nothing was created');
  assert.equal((await c.req('GET', '/portal/api/session')).status, 200, 'the session is still there');
  // with it
  const ok = await c.req('POST', '/portal/api/v1/api_keys', { body: { name: 'from the dashboard' } });
  assert.equal(ok.status, 201, ok.text);
  // the refused calls are in the account's access log, as the dashboard's
  await waitFor(() => Number(gw.sql(`SELECT count(*) FROM access_logs WHERE kind = 'portal' AND status = 403 AND path = '/portal/api/v1/api_keys'`)) >= 4);
});

test('the API under /portal/api/v1 acts on the session\'s account only: another account\'s ids are 404', async () => {
  const a = await signedUp();
  const b = await signedUp();
  const pass = await a.c.req('POST', '/portal/api/v1/passes', { body: { pass_type: 'loyalty', organization_name: 'A <b>shop</b>' } });
  assert.equal(pass.status, 201, pass.text);
  assert.equal(pass.body.organization_name, 'A <b>shop</b>');
  assert.equal((await a.c.req('GET', `/portal/api/v1/passes/${pass.body.id}`)).status, 200);
  assertError(await b.c.req('GET', `/portal/api/v1/passes/${pass.body.id}`), 404, { code: 'resource_missing' });
  assertError(await b.c.req('PUT', `/portal/api/v1/passes/${pass.body.id}`, { body: { logo_text: 'x' } }), 404, { code: 'resource_missing' });
  assertError(await b.c.req('DELETE', `/portal/api/v1/passes/${pass.body.id}`), 404, { code: 'resource_missing' });
  assert.equal((await b.c.req('GET', '/portal/api/v1/passes')).body.data.length, 0);
  const key = await a.c.req('POST', '/portal/api/v1/api_keys', { body: { name: 'a' } });
  assertError(await b.c.req('DELETE', `/portal/api/v1/api_keys/${key.body.id}`), 404, { code: 'resource_missing' });
  // sub-accounts: an agency's user acts on its own, never on another agency's
  const sub = await a.c.req('POST', '/portal/api/v1/accounts', { body: { name: 'Bakery', email: email() } });
  assert.equal(sub.status, 201, sub.text);
  const hdr = { 'walletpass-account': sub.body.id };
  const onSub = await a.c.req('POST', '/portal/api/v1/passes', { body: { pass_type: 'generic', organization_name: 'Bakery' }, headers: hdr });
  assert.equal(onSub.status, 201, onSub.text);
  assert.equal((await a.c.req('GET', `/portal/api/v1/passes/${onSub.body.id}`, { headers: hdr })).status, 200);
  assertError(await a.c.req('GET', `/portal/api/v1/passes/${onSub.body.id}`), 404);
  assertError(await b.c.req('GET', '/portal/api/v1/passes', { headers: hdr }), 404, { param: 'WalletPass-Account' });
  // the same objects through the API with the account's key
  const apiKey = key.body.key;
  assert.equal((await gw.request('GET', `/api/v1/passes/${pass.body.id}`, { key: apiKey })).status, 200);
  // Idempotency-Key works as with a key, scoped to the user
  const once = { pass_type: 'generic', organization_name: 'Once' };
  const i1 = await a.c.req('POST', '/portal/api/v1/passes', { body: once, headers: { 'idempotency-key': 'k-1' } });
  const i2 = await a.c.req('POST', '/portal/api/v1/passes', { body: once, headers: { 'idempotency-key': 'k-1' } });
  assert.equal(i1.status, 201, i1.text);
  assert.equal(i2.headers.get('idempotent-replayed'), 'true');
  assert.equal(i2.body.id, i1.body.id);
  // the API's public routes are not reached through /portal
  assertError(await a.c.req('GET', `/portal/api/v1/passes/${pass.body.id}/pkpass`), 404, { code: 'route_not_found' });
  assertError(await a.c.req('GET', '/portal/api/v1/nothing'), 404, { code: 'route_not_found' });
  assertError(await a.c.req('PATCH', '/portal/api/v1/account', { body: {} }), 405);
});

test('WalletPass-Mode: test acts on the account\'s test workspace, as a test key would', async () => {
  const { c } = await signedUp();
  const test = { 'walletpass-mode': 'test' };
  const acct = await c.req('GET', '/portal/api/v1/account', { headers: test });
  assert.equal(acct.status, 200, acct.text);
  assert.equal(acct.body.livemode, false);
  const p = await c.req('POST', '/portal/api/v1/passes', { body: { pass_type: 'generic', organization_name: 'T' }, headers: test });
  assert.equal(p.status, 201, p.text);
  assert.equal(p.body.livemode, false);
  assert.equal((await c.req('GET', '/portal/api/v1/passes', { headers: test })).body.data.length, 1);
  assert.equal((await c.req('GET', '/portal/api/v1/passes')).body.data.length, 0, 'live mode sees no test pass');
  assertError(await c.req('GET', `/portal/api/v1/passes/${p.body.id}`), 404);
  const k = await c.req('POST', '/portal/api/v1/api_keys', { body: {}, headers: test });
  assert.equal(k.status, 201, k.text);
  assert.match(k.body.key, /^sk_test_/);
  assert.equal((await c.req('GET', '/portal/api/v1/account', { headers: { 'walletpass-mode': 'live' } })).body.livemode, true);
  assertError(await c.req('GET', '/portal/api/v1/account', { headers: { 'walletpass-mode': 'staging' } }), 400, { param: 'WalletPass-Mode' });
});

test('a link as a QR code, for signed-in users only', async () => {
  const { c } = await signedUp();
  const r = await c.req('GET', '/portal/api/qr?text=' + encodeURIComponent('http://127.0.0.1/p/pass_x.y'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'image/svg+xml');
  assert.match(r.text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(r.headers.get('content-security-policy'), "default-src 'none'");
  assertError(await c.req('GET', '/portal/api/qr'), 400, { param: 'text' });
  assertError(await c.req('GET', '/portal/api/qr?text=' + 'x'.repeat(2049)), 400, { param: 'text' });
  assertError(await gw.request('GET', '/portal/api/qr?text=x'), 401, { code: 'session_missing' });
});

test('idle and expired sessions end; logout ends the session and clears the cookie', async () => {
  const { c, user } = await signedUp();
  gw.sql(`UPDATE portal_sessions SET last_seen_at = now() - interval '13 hours' WHERE user_id = '${user}'`);
  assertError(await c.req('GET', '/portal/api/session'), 401, { code: 'session_invalid' });
  const d = await signedUp();
  gw.sql(`UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE user_id = '${d.user}'`);
  assertError(await d.c.req('GET', '/portal/api/v1/account'), 401, { code: 'session_invalid' });

  const e = await signedUp();
  const token = e.c.cookie;
  assertError(await e.c.req('POST', '/portal/api/logout', { body: {}, csrf: false }), 403);
  const out = await e.c.req('POST', '/portal/api/logout', { body: {} });
  assert.equal(out.status, 200, out.text);
  const sc = sessionCookie(out);
  assert.equal(sc.value, '');
  assert.equal(sc.attrs['max-age'], '0');
  const stale = client(gw);
  stale.cookie = token;
  assertError(await stale.req('GET', '/portal/api/session'), 401, { code: 'session_invalid' });
  assert.equal(gw.sql(`SELECT count(*) FROM portal_sessions WHERE user_id = '${e.user}'`), '0');
});

test('a password change ends every session of the user and hands out a new one', async () => {
  const { c, email: em, user } = await signedUp();
  const other = client(gw);
  assert.equal((await other.login(em)).status, 200);
  assertError(await c.req('PUT', '/portal/api/password', { body: { current_password: 'not it at all', new_password: 'a new long password' } }),
    400, { code: 'password_wrong', param: 'current_password' });
  assertError(await c.req('PUT', '/portal/api/password', { body: { current_password: PASSWORD, new_password: 'short' } }),
    400, { code: 'password_too_short', param: 'new_password' });
  const before = c.cookie;
  const r = await c.req('PUT', '/portal/api/password', { body: { current_password: PASSWORD, new_password: 'a new long password' } });
  assert.equal(r.status, 200, r.text);
  assert.notEqual(c.cookie, before);
  assert.equal((await c.req('GET', '/portal/api/session')).status, 200);
  assertError(await other.req('GET', '/portal/api/session'), 401, { code: 'session_invalid' });
  assert.equal(gw.sql(`SELECT count(*) FROM portal_sessions WHERE user_id = '${user}'`), '1');
  assertError(await client(gw).login(em), 401, { code: 'login_failed' });
  assert.equal((await client(gw).login(em, 'a new long password')).status, 200);
});

test('every login and failed login is in the access log, kind login, under the account', async () => {
  const { email: em, account } = await signedUp();
  assert.equal((await client(gw).login(em)).status, 200);
  assert.equal((await client(gw).login(em, 'wrong password!')).status, 401);
  const ghost = email();
  assert.equal((await client(gw).login(ghost, 'wrong password!')).status, 401);
  const rows = await waitFor(() => {
    const out = gw.sql(`SELECT status, coalesce(nullif(account_id, ''), '-') FROM access_logs WHERE kind = 'login' AND path = '/portal/api/login' ORDER BY id`);
    const lines = out.split('\n').filter(Boolean);
    return lines.filter((l) => l.endsWith(account)).length >= 2 ? lines : null;
  });
  assert.ok(rows.includes(`200|${account}`));
  assert.ok(rows.includes(`401|${account}`));
  assert.ok(rows.some((l) => l === '401|-'), 'an unknown email is logged without an account (account_id "", migration 0017)');
  // the account reads them through the API: kind=login
  const k = await (await signedUp()).c; // another account sees none of them
  const mine = client(gw);
  await mine.login(em);
  const list = await mine.req('GET', '/portal/api/v1/logs?kind=login');
  assert.equal(list.status, 200, list.text);
  assert.ok(list.body.data.length >= 2);
  assert.ok(list.body.data.every((e) => e.kind === 'login' && e.path === '/portal/api/login'));
  assert.equal((await k.req('GET', '/portal/api/v1/logs?kind=login')).body.data.length, 0);
  assertError(await mine.req('GET', '/portal/api/v1/logs?kind=everything'), 400, { param: 'kind' });
});

test('lockout after repeated failures, and sessions, hold across two gateway processes on one database', async () => {
  const dbUrl = createDatabase();
  const env = { WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64') };
  const config = { portal: { ...PORTAL, login_max_failures: 3, login_lockout_minutes: 30 } };
  const g1 = await startGateway({ dbUrl, env, config });
  const g2 = await startGateway({ dbUrl, env, config });
  try {
    const em = email();
    assert.equal((await client(g1).signup({ email: em, password: PASSWORD })).status, 201);
    // a session made by one process is good in the other, CSRF token included
    const c = client(g1);
    assert.equal((await c.login(em)).status, 200);
    const on2 = client(g2);
    on2.cookie = c.cookie;
    on2.csrf = c.csrf;
    assert.equal((await on2.req('GET', '/portal/api/v1/account')).status, 200);
    assert.equal((await on2.req('POST', '/portal/api/v1/api_keys', { body: { name: 'via g2' } })).status, 201);
    // failures counted in either process
    assertError(await client(g1).login(em, 'wrong 1 password'), 401, { code: 'login_failed' });
    assertError(await client(g2).login(em, 'wrong 2 password'), 401, { code: 'login_failed' });
    assertError(await client(g1).login(em, 'wrong 3 password'), 401, { code: 'login_failed' });
    // locked everywhere, for the right password too, with the email in any case
    for (const [g, addr] of [[g1, em], [g2, em], [g2, em.toUpperCase()]]) {
      const r = await client(g).login(addr);
      assertError(r, 429, { code: 'login_locked', type: 'rate_limit_error' });
      const ra = Number(r.headers.get('retry-after'));
      assert.ok(ra > 25 * 60 && ra <= 30 * 60, `Retry-After ${ra}`);
      assert.equal(sessionCookie(r), null);
    }
    // another email from the same address is not locked
    const em2 = email();
    assert.equal((await client(g2).signup({ email: em2, password: PASSWORD })).status, 201);
    assert.equal((await client(g1).login(em2)).status, 200);
    // the lock ends with its time (moved into the past here)
    g1.sql(`UPDATE portal_login_throttle SET locked_until = now() - interval '1 second' WHERE key = 'email:${em}'`);
    assert.equal((await client(g2).login(em)).status, 200);
    // logout in one process ends the session in the other
    assert.equal((await on2.req('POST', '/portal/api/logout', { body: {} })).status, 200);
    assertError(await c.req('GET', '/portal/api/v1/account'), 401, { code: 'session_invalid' });
  } finally {
    await g1.stop();
    await g2.stop();
  }
});

test('sign-ups from one address are limited', async () => {
  const g = await startGateway({ config: { portal: { ...PORTAL, signup_ip_max: 2 } } });
  try {
    assert.equal((await client(g).signup({ email: email(), password: PASSWORD })).status, 201);
    assert.equal((await client(g).signup({ email: email(), password: PASSWORD })).status, 201);
    const r = await client(g).signup({ email: email(), password: PASSWORD });
    assertError(r, 429, { code: 'rate_limited', type: 'rate_limit_error' });
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.equal(g.sql('SELECT count(*) FROM portal_users'), '2');
  } finally {
    await g.stop();
  }
});

test('a client address with too many failures is locked out whatever the email', async () => {
  const g = await startGateway({ config: { portal: { ...PORTAL, login_ip_max_failures: 4, login_max_failures: 100 } } });
  try {
    const em = email();
    assert.equal((await client(g).signup({ email: em, password: PASSWORD })).status, 201);
    for (let i = 0; i < 4; i++) assertError(await client(g).login(email(), 'wrong password!'), 401);
    assertError(await client(g).login(em), 429, { code: 'login_locked' });
  } finally {
    await g.stop();
  }
});

test('walletpass user create, user list and user set-password, for deployments whose sign-up is off', async () => {
  const g = await startGateway({ config: { portal: { ...PORTAL, signup: 'off' } } });
  try {
    const { account } = g.account();
    const id = execFileSync(BIN, ['user', 'create', '--account', account, '--email', 'ops@example.com', '--password-stdin'],
      { env: { ...process.env, ...g.env }, input: 'a chosen long password\n', encoding: 'utf8' }).trim();
    assert.match(id, /^user_[0-9a-z]{26}$/);
    const [id2, generated] = g.cli(['user', 'create', '--account', account, '--email', 'second@example.com']).split('\t');
    assert.match(id2, /^user_/);
    assert.match(generated, /^[A-Za-z0-9_-]{24}$/);
    const list = g.cli(['user', 'list', '--account', account]).split('\n').map((l) => l.split('\t'));
    assert.deepEqual(list.map((l) => l[1]), ['ops@example.com', 'second@example.com']);
    const r = await client(g).login('ops@example.com', 'a chosen long password');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.account.id, account);
    assert.equal((await client(g).login('second@example.com', generated)).status, 200);
    // refusals: a taken email, an unknown account, a short password
    const run = (args, input) => {
      try {
        execFileSync(BIN, args, { env: { ...process.env, ...g.env }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
        return { status: 0 };
      } catch (e) {
        return { status: e.status, stderr: e.stderr };
      }
    };
    let x = run(['user', 'create', '--account', account, '--email', 'OPS@example.com']);
    assert.equal(x.status, 1);
    assert.match(x.stderr, /exists already/);
    x = run(['user', 'create', '--account', 'acct_nothing', '--email', 'n@example.com']);
    assert.equal(x.status, 1);
    assert.match(x.stderr, /no account acct_nothing/);
    x = run(['user', 'create', '--account', account, '--email', 'p@example.com', '--password-stdin'], 'short\n');
    assert.equal(x.status, 2);
    assert.match(x.stderr, /at least 10 characters/);
    x = run(['user', 'create', '--account', account]);
    assert.equal(x.status, 2);
    // the operator resets a password: the user's sessions end, the new password works
    const signedIn = client(g);
    assert.equal((await signedIn.login('ops@example.com', 'a chosen long password')).status, 200);
    const reset = execFileSync(BIN, ['user', 'set-password', '--email', 'OPS@example.com', '--password-stdin'],
      { env: { ...process.env, ...g.env }, input: 'the operator set this\n', encoding: 'utf8' }).trim();
    assert.equal(reset, id);
    assertError(await signedIn.req('GET', '/portal/api/session'), 401, { code: 'session_invalid' });
    assertError(await client(g).login('ops@example.com', 'a chosen long password'), 401);
    assert.equal((await client(g).login('ops@example.com', 'the operator set this')).status, 200);
    const [, gen2] = g.cli(['user', 'set-password', '--email', 'second@example.com']).split('\t');
    assert.equal((await client(g).login('second@example.com', gen2)).status, 200);
    x = run(['user', 'set-password', '--email', 'nobody@example.com']);
    assert.equal(x.status, 1);
    assert.match(x.stderr, /no dashboard user with email nobody@example.com/);
  } finally {
    await g.stop();
  }
});

test('the dashboard\'s files: / redirects, a strict CSP, nothing outside the folder', async () => {
  const root = await fetch(gw.url + '/', { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/dashboard/');
  const r = await fetch(gw.url + '/dashboard/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const csp = r.headers.get('content-security-policy');
  assert.ok(csp, 'a Content-Security-Policy');
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  const html = await r.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handler');
  assert.doesNotMatch(html, /\sstyle\s*=/i, 'no inline style');
  const etag = r.headers.get('etag');
  assert.equal((await fetch(gw.url + '/dashboard/', { headers: { 'if-none-match': etag } })).status, 304);
  const js = await fetch(gw.url + '/dashboard/js/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  // sent as written (fetch would resolve the dots itself)
  const rawStatus = async (p) => {
    const r = await rawRequest(gw.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    return Number(r.text.split(' ')[1]);
  };
  assert.equal(await rawStatus('/dashboard/index.html'), 200);
  for (const p of ['/dashboard/../migrations/0001_core.sql', '/dashboard/%2e%2e/README.md', '/dashboard/js/%2e%2e/index.html',
    '/dashboard/js/..%2Fapp.js', '/dashboard/js%2Fapp.js', '/dashboard/.hidden', '/dashboard/js/', '/dashboard/README',
    '/dashboard/nothing.html'])
    assert.equal(await rawStatus(p), 404, p);
  assert.equal((await fetch(gw.url + '/dashboard/', { method: 'POST' })).status, 405);
  // a folder without the dashboard: said at start-up and by config check
  const cfg = `${gw.cfgPath}.nodash.json`;
  fs.writeFileSync(cfg, JSON.stringify({ portal: { dashboard_dir: '/nonexistent/dashboard' } }));
  const chk = spawnSync(BIN, ['config', 'check', cfg], { encoding: 'utf8', env: { ...process.env, WALLETPASS_DATABASE_URL: 'postgresql://x@127.0.0.1:1/x' } });
  assert.equal(chk.status, 0, chk.stderr);
  assert.match(chk.stderr, /warning: the dashboard's files are not in \/nonexistent\/dashboard/);
  fs.rmSync(cfg);
  // portal.enabled false: neither the files nor /portal
  const off = await startGateway({ config: { portal: { enabled: false } } });
  try {
    assert.equal((await fetch(off.url + '/dashboard/')).status, 404);
    assert.equal((await fetch(off.url + '/portal/api/config')).status, 404);
  } finally {
    await off.stop();
  }
});
