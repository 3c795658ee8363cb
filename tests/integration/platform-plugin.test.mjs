// A third wallet platform: sdk/examples/tinywallet, built OUT OF TREE against the installed SDK,
// loaded with nothing in the core changed for it.  Its keys appear on every pass resource (create,
// read, list, update, void, notify, batch, the events), after pass_type and sorted by name; its
// share-page button appears; its per-pass device token is minted through the host, sealed at rest,
// and finds its pass by serial number with the same 401 for an unknown serial and a wrong token.
// And the platform rules that left the core: the type names and links of apple-signer and
// google-jwt come from their plugins, Google's three notifications a day from google-jwt alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, assertError, waitFor, BIN, SOURCE_DIR } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-platform-'));

// scripts/test builds tinywallet against var/sdk and exports WP_TINYWALLET_DIR; run alone,
// this suite installs the SDK and builds it itself, the same way.
function tinywalletBuildDir() {
  if (process.env.WP_TINYWALLET_DIR) return process.env.WP_TINYWALLET_DIR;
  const sdk = path.join(work, 'sdk');
  const out = path.join(work, 'tinywallet-build');
  const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  run('cmake', ['--install', BUILD_DIR, '--prefix', sdk]);
  run('cmake', ['-S', path.join(SOURCE_DIR, 'sdk/examples/tinywallet'), '-B', out, `-DCMAKE_PREFIX_PATH=${sdk}`]);
  run('cmake', ['--build', out]);
  return out;
}

// One plugin_dir: tinywallet and copies of the in-tree platform plugins (with their migrations).
const pluginDir = path.join(work, 'plugins');
function preparePluginDir() {
  fs.mkdirSync(pluginDir, { recursive: true });
  fs.copyFileSync(path.join(tinywalletBuildDir(), 'tinywallet.so'), path.join(pluginDir, 'tinywallet.so'));
  for (const name of ['apple-signer', 'google-jwt']) {
    fs.copyFileSync(path.join(BUILD_DIR, 'plugins', `${name}.so`), path.join(pluginDir, `${name}.so`));
    fs.cpSync(path.join(BUILD_DIR, 'plugins', name, 'migrations'), path.join(pluginDir, name, 'migrations'), { recursive: true });
  }
}

const BASE = { pass_type: 'loyalty', organization_name: 'Solstice Coffee Co.', program_name: 'Solstice Rewards' };
const UA = {
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
  android: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
  desktop: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
};
const TINY_KEYS = ['tinywallet_card_type', 'tinywallet_url'];
const OTHER_PLATFORM_KEYS = ['apple_pass_type_id', 'google_pass_type', 'pkpass_url', 'google_save_url'];

let tiny, all, a, b;
before(async () => {
  preparePluginDir();
  const limits = { rate_limit: { requests_per_second: 0 } };
  tiny = await startGateway({ config: { ...limits, plugin_dir: pluginDir, plugins: [{ name: 'tinywallet' }] } });
  all = await startGateway({ config: { ...limits, plugin_dir: pluginDir,
    plugins: [{ name: 'apple-signer' }, { name: 'google-jwt' }, { name: 'tinywallet' }] } });
  a = tiny.account();
  b = tiny.account();
});
after(async () => {
  if (tiny) await tiny.stop();
  if (all) await all.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const q = (s) => s.replace(/'/g, "''");
const create = (g, key, body) => g.request('POST', '/api/v1/passes', { key, body });

/** The tinywallet keys of a resource, checked: values and (in an API answer; events are
 * stored as jsonb, which keeps no key order) their place. */
function assertTiny(p, { link = true, ordered = true } = {}) {
  const keys = Object.keys(p);
  if (ordered) assert.deepEqual(keys.slice(0, 7), ['id', 'object', 'serial_number', 'pass_type', ...TINY_KEYS, 'share_url'], keys.join());
  assert.equal(p.tinywallet_card_type, { generic: 'card', loyalty: 'membership', coupon: 'voucher', event: 'ticket' }[p.pass_type]);
  if (link) assert.match(p.tinywallet_url, new RegExp(`^${tiny.url.replace(/\./g, '\\.')}/tinywallet/v1/cards/${p.id}\\?t=[A-Za-z0-9_-]{32}$`));
  else assert.equal(p.tinywallet_url, null);
  for (const k of OTHER_PLATFORM_KEYS) assert.ok(!(k in p), `${k}: no such plugin is loaded`);
}

test('its keys are on every pass resource: create, read, list, update, void, notify, and the events', async () => {
  const c = await create(tiny, a.key, BASE);
  assert.equal(c.status, 201, c.text);
  const p = c.body;
  assertTiny(p);
  assertTiny((await tiny.request('GET', `/api/v1/passes/${p.id}`, { key: a.key })).body);
  const list = await tiny.request('GET', '/api/v1/passes', { key: a.key });
  assert.ok(list.body.data.length >= 1);
  for (const x of list.body.data) assertTiny(x);
  const u = await tiny.request('PUT', `/api/v1/passes/${p.id}`, { key: a.key, body: { logo_text: 'New' } });
  assert.equal(u.status, 200, u.text);
  assertTiny(u.body);
  assert.equal(u.body.tinywallet_url, p.tinywallet_url, 'the link names the pass, not its version');
  assert.equal((await tiny.request('POST', `/api/v1/passes/${p.id}/notify`, { key: a.key, body: { message: 'hi' } })).status, 202);
  const d = await tiny.request('DELETE', `/api/v1/passes/${p.id}`, { key: a.key });
  assertTiny(d.body);
  for (const type of ['pass.created', 'pass.updated', 'pass.notify', 'pass.voided']) {
    const ev = JSON.parse(tiny.sql(`SELECT data::text FROM events WHERE account_id = '${a.account}' AND type = '${type}'
                                    AND data->'pass'->>'id' = '${p.id}'`));
    assertTiny(ev.pass, { ordered: false });
  }
});

test('its keys are on every pass of a batch (created in a job, without a request)', async () => {
  const r = await tiny.request('POST', '/api/v1/passes/batch', { key: b.key,
    body: { passes: [BASE, { pass_type: 'coupon', organization_name: 'Deals', offer_title: '2 for 1' },
      { pass_type: 'event', organization_name: 'Arena', event_name: 'Gig' }] } });
  assert.equal(r.status, 202, r.text);
  const done = await waitFor(async () => {
    const s = await tiny.request('GET', `/api/v1/batches/${r.body.id}`, { key: b.key });
    return s.body && s.body.status === 'completed' ? s.body : null;
  }, { timeout: 120000, what: 'the batch completed' });
  assert.equal(done.succeeded, 3, JSON.stringify(done));
  const ids = done.items.data.map((i) => i.pass_id);
  for (const id of ids) {
    const g = await tiny.request('GET', `/api/v1/passes/${id}`, { key: b.key });
    assertTiny(g.body);
    const ev = JSON.parse(tiny.sql(`SELECT data::text FROM events WHERE account_id = '${b.account}' AND type = 'pass.created'
                                    AND data->'pass'->>'id' = '${id}'`));
    assertTiny(ev.pass, { ordered: false });
  }
});

test('a template propagation\'s events carry its keys, without a link (none is wanted there)', async () => {
  const t = await tiny.request('POST', '/api/v1/templates', { key: a.key, body: { name: 'Card', body: BASE } });
  assert.equal(t.status, 201, t.text);
  const p = (await create(tiny, a.key, { template_id: t.body.id })).body;
  const u = await tiny.request('PUT', `/api/v1/templates/${t.body.id}`, { key: a.key, body: { body: { logo_text: 'All' }, propagate: true } });
  assert.equal(u.status, 200, u.text);
  const ev = await waitFor(() => tiny.sql(`SELECT data::text FROM events WHERE account_id = '${a.account}'
    AND type = 'pass.updated' AND data->'pass'->>'id' = '${p.id}' AND data ? 'source'`), { what: 'the propagated pass.updated' });
  const pass = JSON.parse(ev).pass;
  assertTiny(pass, { link: false, ordered: false });
  assert.equal(pass.logo_text, 'All');
  assert.equal(pass.share_url, p.share_url);
});

test('its card: the link gives the device token, minted once, sealed at rest, never in the API or events', async () => {
  const p = (await create(tiny, a.key, { ...BASE, serial_number: 'MEMBER-77' })).body;
  const r1 = await fetch(p.tinywallet_url);
  assert.equal(r1.status, 200);
  const card = await r1.json();
  assert.equal(card.card_type, 'membership');
  assert.equal(card.serial_number, 'MEMBER-77');
  assert.equal(card.title, 'Solstice Rewards');
  assert.match(card.device_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(card.refresh_url, `${tiny.url}/tinywallet/v1/devices/cards/MEMBER-77`);
  const again = await (await fetch(p.tinywallet_url)).json();
  assert.equal(again.device_token, card.device_token, 'minted once');
  // a wrong or foreign capability: 404 like an unknown pass
  const t = new URL(p.tinywallet_url).searchParams.get('t');
  assert.equal((await fetch(`${tiny.url}/tinywallet/v1/cards/${p.id}?t=${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`)).status, 404);
  const other = (await create(tiny, b.key, BASE)).body;
  assert.equal((await fetch(`${tiny.url}/tinywallet/v1/cards/${other.id}?t=${t}`)).status, 404);
  // at rest: one row of the plugin's, sealed; the token is nowhere in the database's tables
  const row = tiny.sql(`SELECT plugin || '|' || name || '|' || sealed FROM pass_secrets WHERE pass_id = '${p.id}'`).split('|');
  assert.deepEqual(row.slice(0, 2), ['tinywallet', 'device_token']);
  assert.match(row[2], /^wpv1:\d+:[A-Za-z0-9+/=]+$/);
  for (const [table, col] of [['pass_secrets', 'pass_secrets'], ['passes', 'passes'], ['events', 'events'], ['jobs', 'jobs']])
    assert.equal(tiny.sql(`SELECT count(*) FROM ${table} WHERE ${col}::text LIKE '%${q(card.device_token)}%'`), '0', table);
  const res = await tiny.request('GET', `/api/v1/passes/${p.id}`, { key: a.key });
  assert.ok(!res.text.includes(card.device_token), 'not in the API');
});

test('its device protocol: the token finds the pass by serial; an unknown serial and a wrong token get the same 401', async () => {
  // the same serial in two accounts: each token finds its own account's pass
  const pa = (await create(tiny, a.key, { ...BASE, serial_number: 'SHARED-1', program_name: 'A card' })).body;
  const pb = (await create(tiny, b.key, { ...BASE, serial_number: 'SHARED-1', program_name: 'B card' })).body;
  const ta = (await (await fetch(pa.tinywallet_url)).json()).device_token;
  const tb = (await (await fetch(pb.tinywallet_url)).json()).device_token;
  const refresh = (serial, token) => tiny.request('GET', `/tinywallet/v1/devices/cards/${encodeURIComponent(serial)}`,
    { headers: token === undefined ? {} : { authorization: `TinyWallet ${token}` } });
  let r = await refresh('SHARED-1', ta);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.title, 'A card');
  assert.ok(!('device_token' in r.body));
  r = await refresh('SHARED-1', tb);
  assert.equal(r.body.title, 'B card');
  // the card follows the pass
  await tiny.request('PUT', `/api/v1/passes/${pb.id}`, { key: b.key, body: { program_name: 'B card, renamed' } });
  assert.equal((await refresh('SHARED-1', tb)).body.title, 'B card, renamed');
  // refusals: the same answer whether the serial exists or not
  const shape = (x) => ({ status: x.status, code: x.body.error.code, message: x.body.error.message, www: x.headers.get('www-authenticate') });
  const wrong = shape(await refresh('SHARED-1', 'x'.repeat(43)));
  const unknown = shape(await refresh('NO-SUCH-SERIAL', ta));
  const otherSerial = shape(await refresh(pa.serial_number + 'X', ta));
  assert.deepEqual(wrong, { status: 401, code: 'card_token_invalid', message: 'no card with this serial number has this token', www: 'TinyWallet' });
  assert.deepEqual(unknown, wrong);
  assert.deepEqual(otherSerial, wrong);
  assertError(await refresh('SHARED-1'), 401, { code: 'card_token_missing' });
});

test('its share-page button: on phones it names, with its link; on a desktop with the QR code', async () => {
  const p = (await create(tiny, a.key, BASE)).body;
  const page = async (ua) => (await fetch(p.share_url, { headers: { 'user-agent': ua } })).text();
  const buttons = (html) => [...html.matchAll(/<a class="button" href="([^"]*)">([^<]*)<\/a>/g)].map((m) => ({ href: m[1].replace(/&amp;/g, '&'), name: m[2] }));
  for (const ua of [UA.iphone, UA.android]) {
    const html = await page(ua);
    assert.deepEqual(buttons(html), [{ href: p.tinywallet_url, name: 'Add to Tiny Wallet' }]);
    assert.ok(!html.includes('<svg'), 'no QR code on a phone');
  }
  const desk = await page(UA.desktop);
  assert.deepEqual(buttons(desk), [{ href: p.tinywallet_url, name: 'Add to Tiny Wallet' }]);
  assert.ok(desk.includes('<svg'), 'the QR code of the page');
  // a Mac's Safari is no device of tinywallet's: nothing to add there
  const mac = await page('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15');
  assert.deepEqual(buttons(mac), []);
  assert.match(mac, /This pass cannot be added to a wallet yet/);
});

test('with apple-signer, google-jwt and tinywallet: every platform\'s keys from its plugin, in name order', async () => {
  const k = all.account();
  const p = (await create(all, k.key, { pass_type: 'coupon', organization_name: 'Deals', offer_title: '10% off' })).body;
  assert.deepEqual(Object.keys(p).slice(0, 11), ['id', 'object', 'serial_number', 'pass_type', 'apple_pass_type_id',
    'google_pass_type', 'google_save_url', 'pkpass_url', 'tinywallet_card_type', 'tinywallet_url', 'share_url']);
  assert.equal(p.apple_pass_type_id, 'coupon');
  assert.equal(p.google_pass_type, 'offer');
  assert.equal(p.pkpass_url, null, 'no Apple credentials: no link');
  assert.equal(p.google_save_url, null, 'no Google credentials: no link');
  assert.equal(p.tinywallet_card_type, 'voucher');
  for (const [type, apple, google] of [['generic', 'generic', 'generic'], ['loyalty', 'storeCard', 'loyalty'], ['event', 'eventTicket', 'eventTicket']]) {
    const body = { pass_type: type, organization_name: 'X', ...(type === 'event' ? { event_name: 'E' } : {}) };
    const r = (await create(all, k.key, body)).body;
    assert.equal(r.apple_pass_type_id, apple, type);
    assert.equal(r.google_pass_type, google, type);
  }
});

test('Google Wallet\'s three notifications a day are google-jwt\'s rule: without it a fourth is accepted', async () => {
  const notify = (g, key, id) => g.request('POST', `/api/v1/passes/${id}/notify`, { key, body: { message: 'Double points' } });
  const k = all.account();
  const p = (await create(all, k.key, BASE)).body;
  for (let i = 0; i < 3; i++) assert.equal((await notify(all, k.key, p.id)).status, 202);
  const limited = await notify(all, k.key, p.id);
  assertError(limited, 429, { code: 'notification_limit_reached', param: 'id', type: 'rate_limit_error' });
  assert.match(limited.body.error.message, /3 notifications today \(UTC\), the most Google Wallet allows/);
  const wait = Number(limited.headers.get('retry-after'));
  assert.ok(wait >= 1 && wait <= 86400, `Retry-After ${wait}`);
  assert.equal(all.sql(`SELECT count(*) FROM pass_notifications WHERE pass_id = '${p.id}'`), '3', 'the refused one is not written');
  assert.equal(all.sql(`SELECT coalesce(sum(operations), 0) FROM usage_counter_rows WHERE account_id = '${k.account}'`), '4',
    'one pass and three notifications counted, not the refused one');
  // per pass, and per UTC day
  const other = (await create(all, k.key, BASE)).body;
  assert.equal((await notify(all, k.key, other.id)).status, 202);
  all.sql(`UPDATE pass_notifications SET created_at = created_at - interval '1 day' WHERE pass_id = '${p.id}'`);
  assert.equal((await notify(all, k.key, p.id)).status, 202, 'yesterday\'s do not count');
  // tinywallet has no such rule, and the core none of its own
  const t = (await create(tiny, a.key, BASE)).body;
  for (let i = 0; i < 4; i++) assert.equal((await notify(tiny, a.key, t.id)).status, 202, `notification ${i + 1}`);
});
