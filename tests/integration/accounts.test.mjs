// Agencies and their sub-accounts (/api/v1/accounts), allocation, WalletPass-Account, trials on
// every plan, plan changes and the account CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGateway, assertError, waitFor } from './lib/harness.mjs';

const BASE = { pass_type: 'loyalty', organization_name: 'Solstice Coffee', program_name: 'Beans' };
let gw, ag, other;

before(async () => {
  gw = await startGateway({ plan: 'ten', config: {
    rate_limit: { requests_per_second: 0 },
    plans: { trial: { operations_per_month: 1000 }, ten: { operations_per_month: 10 }, big: { operations_per_month: 100 },
      unlimited: { operations_per_month: -1 } },
    metering: { default_plan: 'ten' },
    accounts: { sweep_interval_seconds: 1, deleted_retention_days: 1 },
  } });
  ag = gw.account('Agency');
  other = gw.account('Other agency');
});
after(async () => gw && gw.stop());

const email = () => `${crypto.randomBytes(5).toString('hex')}@client.example`;
const newSub = (agency, body = {}) => gw.request('POST', '/api/v1/accounts', { key: agency.key, body: { name: 'Client', email: email(), ...body } });
const as = (agency, sub) => ({ 'WalletPass-Account': sub });
const endTrial = (id) => gw.sql(`UPDATE accounts SET trial_ends_at = now() - interval '1 minute' WHERE id = '${id}'`);

test('sub-accounts: create, list with usage, read, update; bad bodies 400 naming the field', async () => {
  const r = await newSub(ag, { name: 'Bakery', allocation: 3 });
  assert.equal(r.status, 201, r.text);
  const s = r.body;
  assert.match(s.id, /^acct_/);
  assert.equal(s.object, 'account');
  assert.equal(s.parent_account_id, ag.account);
  assert.equal(s.allocation, 3);
  assert.deepEqual(Object.keys(s.usage).sort(), ['limit', 'operations', 'period']);
  assert.equal(s.usage.limit, 3);
  const list = await gw.request('GET', '/api/v1/accounts', { key: ag.key });
  assert.equal(list.status, 200, list.text);
  assert.ok(list.body.data.some((x) => x.id === s.id && x.usage.operations === 0));
  assert.equal((await gw.request('GET', `/api/v1/accounts/${s.id}`, { key: ag.key })).body.name, 'Bakery');
  const u = await gw.request('PUT', `/api/v1/accounts/${s.id}`, { key: ag.key, body: { name: 'Bakery & Co' } });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.name, 'Bakery & Co');
  assert.equal(u.body.allocation, 3);
  assertError(await gw.request('POST', '/api/v1/accounts', { key: ag.key, body: { email: email() } }), 400, { param: 'name' });
  assertError(await gw.request('POST', '/api/v1/accounts', { key: ag.key, body: { name: 'x', email: 'nope' } }), 400, { param: 'email' });
  assertError(await gw.request('POST', '/api/v1/accounts', { key: ag.key, body: { name: 'x', email: email(), plan: 'big' } }), 400, { param: 'plan' });
  assertError(await newSub(ag, { allocation: -1 }), 400, { param: 'allocation' });
  assertError(await newSub(ag, { allocation: 'many' }), 400, { param: 'allocation' });
  assertError(await gw.request('PUT', `/api/v1/accounts/${s.id}`, { key: ag.key, body: { name: 7 } }), 400, { param: 'name' });
  // the account itself says it has a parent
  const k = await gw.request('POST', `/api/v1/accounts/${s.id}/api_keys`, { key: ag.key, body: { name: 'client key' } });
  assert.equal(k.status, 201, k.text);
  assert.match(k.body.key, /^sk_live_/);
  assert.equal(k.headers.get('cache-control'), 'no-store');
  const me = await gw.request('GET', '/api/v1/account', { key: k.body.key });
  assert.equal(me.body.id, s.id);
  assert.equal(me.body.parent_account_id, ag.account);
  assert.equal(me.body.usage.limit, 3);
  // nesting is one level
  assertError(await newSub({ key: k.body.key }), 403, { code: 'nesting_not_allowed' });
  assertError(await gw.request('POST', '/api/v1/accounts', { key: ag.key, headers: as(ag, s.id), body: { name: 'x', email: email() } }), 403);
  assert.equal((await gw.request('GET', '/api/v1/accounts', { key: k.body.key })).body.data.length, 0);
});

test("another agency's sub-account is 404 on every route, as an id and in WalletPass-Account", async () => {
  const s = (await newSub(ag)).body;
  const p = await gw.request('POST', '/api/v1/passes', { key: ag.key, headers: as(ag, s.id), body: BASE });
  assert.equal(p.status, 201, p.text);
  for (const [m, path, body] of [['GET', `/api/v1/accounts/${s.id}`], ['PUT', `/api/v1/accounts/${s.id}`, { name: 'x' }],
    ['DELETE', `/api/v1/accounts/${s.id}`], ['PUT', `/api/v1/accounts/${s.id}/allocation`, { operations_per_month: 1 }],
    ['POST', `/api/v1/accounts/${s.id}/api_keys`, {}]]) {
    assertError(await gw.request(m, path, { key: other.key, body }), 404);
  }
  assertError(await gw.request('GET', `/api/v1/passes/${p.body.id}`, { key: other.key, headers: as(other, s.id) }), 404, { param: 'WalletPass-Account' });
  assertError(await gw.request('GET', '/api/v1/passes', { key: other.key, headers: as(other, s.id) }), 404, { param: 'WalletPass-Account' });
  assertError(await gw.request('GET', '/api/v1/passes', { key: ag.key, headers: as(ag, ag.account) }), 404, { param: 'WalletPass-Account' });
  assertError(await gw.request('GET', '/api/v1/passes', { key: ag.key, headers: as(ag, 'not an id') }), 400, { param: 'WalletPass-Account' });
  assert.ok(!(await gw.request('GET', '/api/v1/accounts', { key: other.key })).body.data.some((x) => x.id === s.id));
  assert.equal((await gw.request('GET', `/api/v1/accounts/${s.id}`, { key: ag.key })).status, 200, 'still there');
});

test('WalletPass-Account: the agency acts as its sub-account on every route; the access log names both', async () => {
  const s = (await newSub(ag)).body;
  const sk = (await gw.request('POST', `/api/v1/accounts/${s.id}/api_keys`, { key: ag.key })).body.key;
  const h = as(ag, s.id);
  const p = (await gw.request('POST', '/api/v1/passes', { key: ag.key, headers: h, body: BASE })).body;
  assert.equal((await gw.request('GET', `/api/v1/passes/${p.id}`, { key: sk })).status, 200, "the sub-account's own key sees it");
  assertError(await gw.request('GET', `/api/v1/passes/${p.id}`, { key: ag.key }), 404);
  const t = await gw.request('POST', '/api/v1/templates', { key: ag.key, headers: h, body: { name: 'T', body: BASE } });
  assert.equal(t.status, 201, t.text);
  assert.equal((await gw.request('GET', `/api/v1/templates/${t.body.id}`, { key: sk })).status, 200);
  const acct = await gw.request('GET', '/api/v1/account', { key: ag.key, headers: h });
  assert.equal(acct.body.id, s.id);
  const kk = await gw.request('POST', '/api/v1/api_keys', { key: ag.key, headers: h, body: { name: 'made by agency' } });
  assert.equal(kk.status, 201, kk.text);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: kk.body.key })).body.id, s.id);
  // the access log: the sub-account's rows say which agency acted
  await waitFor(() => Number(gw.sql(`SELECT count(*) FROM access_logs WHERE account_id = '${s.id}' AND agency_account_id = '${ag.account}'`)) >= 4,
    { what: 'access log rows' });
  const logs = await gw.request('GET', '/api/v1/logs?limit=100', { key: sk });
  assert.ok(logs.body.data.some((l) => l.agency_account_id === ag.account), logs.text);
  assert.ok(logs.body.data.some((l) => l.agency_account_id === null), "the sub-account's own calls");
});

test('allocation: never more than the plan, 402 names the allocation, then the agency plan', async () => {
  const A = gw.account('Allocating agency');
  endTrial(A.account); // after the trial, the plan's 10 operations apply
  const s1 = (await newSub(A, { allocation: 6 })).body;
  const r = await newSub(A, { allocation: 5 });
  assertError(r, 400, { param: 'allocation', code: 'allocation_exceeds_plan' });
  assert.match(r.body.error.message, /4 are left/);
  const s2 = (await newSub(A)).body;
  let a = await gw.request('PUT', `/api/v1/accounts/${s2.id}/allocation`, { key: A.key, body: { operations_per_month: 5 } });
  assertError(a, 400, { param: 'operations_per_month' });
  assert.match(a.body.error.message, /4 are left/);
  assertError(await gw.request('PUT', `/api/v1/accounts/${s2.id}/allocation`, { key: A.key, body: {} }), 400, { param: 'operations_per_month' });
  a = await gw.request('PUT', `/api/v1/accounts/${s1.id}/allocation`, { key: A.key, body: { operations_per_month: 2 } });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.body.allocation, 2);
  // s1: 2 operations, then 402 naming its allocation
  for (let i = 0; i < 2; i++) assert.equal((await gw.request('POST', '/api/v1/passes', { key: A.key, headers: as(A, s1.id), body: BASE })).status, 201);
  const over = await gw.request('POST', '/api/v1/passes', { key: A.key, headers: as(A, s1.id), body: BASE });
  assertError(over, 402, { code: 'plan_limit_reached', param: 'allocation' });
  assert.match(over.body.error.message, /allocation/);
  // the agency's usage counts its sub-accounts' operations
  assert.equal((await gw.request('GET', '/api/v1/account', { key: A.key })).body.usage.operations, 2);
  for (let i = 0; i < 7; i++) assert.equal((await gw.request('POST', '/api/v1/passes', { key: A.key, body: BASE })).status, 201);
  // s2 has no allocation of its own: the agency's plan is the limit (9 used of 10)
  assert.equal((await gw.request('POST', '/api/v1/passes', { key: A.key, headers: as(A, s2.id), body: BASE })).status, 201);
  const full = await gw.request('POST', '/api/v1/passes', { key: A.key, headers: as(A, s2.id), body: BASE });
  assertError(full, 402, { code: 'plan_limit_reached', param: 'plan' });
  assert.match(full.body.error.message, /agency/);
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${s2.id}'`), '1', 'nothing written by the refusal');
});

test('trial: every plan starts with one; the plan limit applies after it; GET /account shows plan, trial and usage', async () => {
  const T = gw.account('Trialist');
  let me = (await gw.request('GET', '/api/v1/account', { key: T.key })).body;
  assert.equal(me.plan, 'ten');
  assert.ok(me.trial_ends_at, 'trial_ends_at whatever the plan');
  const days = (Date.parse(me.trial_ends_at) - Date.now()) / 86400000;
  assert.ok(days > 13.9 && days <= 14, `${days}`);
  assert.equal(me.trial_active, true);
  for (let i = 0; i < 11; i++) assert.equal((await gw.request('POST', '/api/v1/passes', { key: T.key, body: BASE })).status, 201, `op ${i}`);
  me = (await gw.request('GET', '/api/v1/account', { key: T.key })).body;
  assert.deepEqual([me.usage.operations, me.usage.limit], [11, 10]);
  endTrial(T.account);
  assertError(await gw.request('POST', '/api/v1/passes', { key: T.key, body: BASE }), 402, { code: 'plan_limit_reached' });
  // a hand-written UPDATE reaches the process's kept row by its notification (docs/caching.md)
  await waitFor(async () => (await gw.request('GET', '/api/v1/account', { key: T.key })).body.trial_active === false,
    { what: 'trial_active false after the trial ended' });
  // a plan change takes effect at once and is logged
  assert.equal(gw.cli(['account', 'set-plan', T.account, 'big']), `${T.account}\tten\tbig`);
  assert.equal((await gw.request('POST', '/api/v1/passes', { key: T.key, body: BASE })).status, 201);
  me = (await gw.request('GET', '/api/v1/account', { key: T.key })).body;
  assert.deepEqual([me.plan, me.usage.limit], ['big', 100]);
  assert.equal(gw.sql(`SELECT from_plan || '>' || to_plan || ' ' || source FROM account_plan_changes WHERE account_id = '${T.account}'`), 'ten>big cli');
  assert.throws(() => gw.cli(['account', 'set-plan', T.account, 'gold']), /not a plan/);
});

test("set-plan: an agency's sub-accounts follow its plan; a sub-account's own id is refused", async () => {
  const P = gw.account('Planned agency');
  const s = (await newSub(P, { allocation: 2 })).body;
  assert.equal(s.plan, 'ten');
  assert.equal(gw.cli(['account', 'set-plan', P.account, 'big']), `${P.account}\tten\tbig`);
  assert.equal((await gw.request('GET', `/api/v1/accounts/${s.id}`, { key: P.key })).body.plan, 'big');
  // the CLI is another process: its change reaches the kept row by notification
  await waitFor(async () => (await gw.request('GET', '/api/v1/account', { key: P.key, headers: as(P, s.id) })).body.plan === 'big',
    { what: "the sub-account's plan after set-plan" });
  assert.throws(() => gw.cli(['account', 'set-plan', s.id, 'unlimited']), new RegExp(`sub-account of ${P.account}`));
  assert.equal(gw.sql(`SELECT plan FROM accounts WHERE id = '${s.id}'`), 'big', 'unchanged by the refusal');
  assert.equal(gw.sql(`SELECT count(*) FROM account_plan_changes WHERE account_id = '${s.id}'`), '0');
  assert.throws(() => gw.cli(['account', 'set-plan', 'acct_nope', 'big']), /no account acct_nope/);
});

test('CLI: account list, key list, key revoke', async () => {
  const C = gw.account('Listed');
  const rows = gw.cli(['account', 'list']).split('\n').map((l) => l.split('\t'));
  const mine = rows.find((r) => r[0] === C.account);
  assert.ok(mine, 'listed');
  assert.equal(mine[1], 'ten');
  assert.equal(mine[3], '-');
  assert.equal(mine[5], 'Listed');
  const keys = gw.cli(['key', 'list', '--account', C.account]).split('\n').map((l) => l.split('\t'));
  assert.equal(keys.length, 1);
  assert.equal(keys[0][1], 'live');
  assert.equal(keys[0][2], C.key.slice(0, 14));
  const test = gw.cli(['key', 'create', '--account', C.account, '--test']);
  assert.match(test, /^sk_test_/);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: C.key })).status, 200);
  assert.equal(gw.cli(['key', 'revoke', '--account', C.account, keys[0][0]]), keys[0][0]);
  // the CLI is another process: the gateway forgets the key when its notification arrives
  // (normally milliseconds; cache.api_key_ttl_ms at the latest, docs/caching.md)
  await waitFor(async () => (await gw.request('GET', '/api/v1/account', { key: C.key })).status === 401,
    { what: 'the revoked key refused', timeout: 10000 });
  assertError(await gw.request('GET', '/api/v1/account', { key: C.key }), 401);
  assert.throws(() => gw.cli(['key', 'revoke', '--account', C.account, keys[0][0]]), /no active key/);
});

test('deleting a sub-account: refused at once, links 410, events to the agency, purged after the retention; siblings untouched', async () => {
  const D = gw.account('Deleting agency');
  const s = (await newSub(D)).body;
  const sib = (await newSub(D)).body;
  const sk = (await gw.request('POST', `/api/v1/accounts/${s.id}/api_keys`, { key: D.key })).body.key;
  const p = (await gw.request('POST', '/api/v1/passes', { key: sk, body: BASE })).body;
  const sp = (await gw.request('POST', '/api/v1/passes', { key: D.key, headers: as(D, sib.id), body: BASE })).body;
  assert.equal((await fetch(p.share_url)).status, 200);
  const d = await gw.request('DELETE', `/api/v1/accounts/${s.id}`, { key: D.key });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.deleted, true);
  assertError(await gw.request('GET', '/api/v1/account', { key: sk }), 401);
  assertError(await gw.request('GET', '/api/v1/passes', { key: D.key, headers: as(D, s.id) }), 404);
  assertError(await gw.request('GET', `/api/v1/accounts/${s.id}`, { key: D.key }), 404);
  assertError(await gw.request('DELETE', `/api/v1/accounts/${s.id}`, { key: D.key }), 404);
  const types = (await gw.request('GET', '/api/v1/events?limit=100', { key: D.key })).body.data.map((e) => e.type + ' ' + e.data.account.id);
  assert.ok(types.includes(`account.created ${s.id}`) && types.includes(`account.deleted ${s.id}`), types.join());
  // the sibling and its pass are untouched
  assert.equal((await gw.request('GET', `/api/v1/passes/${sp.id}`, { key: D.key, headers: as(D, sib.id) })).status, 200);
  // its links answer 410 until the purge
  assert.equal((await fetch(p.share_url)).status, 410);
  assert.equal((await fetch(sp.share_url)).status, 200);
  // past the retention (1 day; the sweep runs every second): its rows go, the sibling's stay
  gw.sql(`UPDATE accounts SET deleted_at = now() - interval '2 days' WHERE id = '${s.id}'`);
  await waitFor(() => gw.sql(`SELECT count(*) FROM accounts WHERE id = '${s.id}'`) === '0', { what: 'the purge', timeout: 30000 });
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${s.id}'`), '0');
  assert.equal(gw.sql(`SELECT count(*) FROM api_keys WHERE account_id = '${s.id}'`), '0');
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${sib.id}'`), '1');
  assert.equal((await fetch(sp.share_url)).status, 200);
});
