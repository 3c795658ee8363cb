// bubble-bridge plugin against the real gateway: every call of the API Connector set-up (docs/bubble.md)
// in flat JSON and in form fields, each answer checked mechanically for the shape rules (flat, no null,
// no nested array of objects, lists wrapped, dates as ISO and Unix, has_<key> companions, field_<key>
// mirrors) and a full and an empty record of each call compared key by key and type by type;
// deliveries to a local stand-in of a Bubble backend workflow that checks the bearer token and the flat
// shape (the test event with every key non-empty, events on the webhook schedule with Retry-After, a
// pass installed on a phone); a 401 or 403 disabling the destination with its reason; the token sealed
// and never shown; https Bubble URLs only and private addresses refused; another account's objects 404;
// a test-mode key (sk_test_) through the bridge: livemode false, not metered, no push to Apple, no call
// to Google, and its events to its own destinations only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { startGateway, assertError, waitFor, BIN, SOURCE_DIR } from './lib/harness.mjs';
import { makePki, TEAM, P12_PASSWORD } from './lib/apple-pki.mjs';
import { createStandIn } from './lib/apns_standin.mjs';

let jose;
try { jose = await import('jose'); } catch { jose = null; }
const { startGoogleStandin } = jose ? await import('./lib/google-standin.mjs') : {};

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const PLUGIN_DIR = path.join(BUILD_DIR, 'plugins');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-bubble-'));
const PTID = 'pass.test.walletpass.bubble';
const TOKEN = 'bubble-api-token-0123456789abcdef';
const WF = '/version-test/api/1.1/wf';

// ---- a stand-in for a Bubble app's backend workflows -------------------------------------------
// POST <WF>/<name>[/initialize]: 401 unless Authorization is "Bearer <the workflow's token>" (when it has
// one), else 200 {"status": "success", "response": {}} as Bubble answers; behave() overrides per path.
// Every request is recorded with its bearer token and whether its body was a flat JSON object.
function bubbleApp() {
  const seen = [];
  const tokens = new Map(); // workflow path -> the token Bubble accepts (absent: no authentication)
  const behaviour = new Map(); // path -> (rec, n) => { status, headers, body }
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const rec = { path: req.url, method: req.method, auth: req.headers.authorization || null,
        contentType: req.headers['content-type'], eventId: req.headers['walletpass-event-id'], text, at: Date.now() };
      try { rec.body = JSON.parse(text); } catch { rec.body = undefined; }
      rec.flat = isFlatObject(rec.body);
      seen.push(rec);
      const wf = req.url.replace(/\/initialize$/, '');
      const n = seen.filter((r) => r.path === req.url).length;
      let answer = { status: 200, body: { status: 'success', response: {} } };
      if (tokens.has(wf) && rec.auth !== `Bearer ${tokens.get(wf)}`)
        answer = { status: 401, body: { statusCode: 401, body: { status: 'UNAUTHORIZED', message: 'Invalid or missing token' } } };
      const b = behaviour.get(req.url);
      if (b) answer = { ...answer, ...b(rec, n) };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers || {}) });
      res.end(JSON.stringify(answer.body ?? {}));
      rec.status = answer.status;
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    seen, tokens, behaviour,
    url: (name) => `http://127.0.0.1:${server.address().port}${WF}/${name}`,
    on: (name) => seen.filter((r) => r.path === `${WF}/${name}`),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  })));
}

// ---- the shape rules, mechanically ------------------------------------------------------------
function isFlatObject(o) {
  return !!o && typeof o === 'object' && !Array.isArray(o) &&
    Object.values(o).every((v) => ['string', 'number', 'boolean'].includes(typeof v));
}

const DATE_KEY = /(_at|_date|^event_start|^event_end|^valid_from|^valid_until)$/;

/** One flat record: scalars only, no null; dates with _unix (and agreeing); has_<k> booleans next to <k>. */
function checkFlat(o, where) {
  assert.ok(o && typeof o === 'object' && !Array.isArray(o), `${where}: not an object`);
  for (const [k, v] of Object.entries(o)) {
    assert.notEqual(v, null, `${where}.${k} is null`);
    assert.ok(['string', 'number', 'boolean'].includes(typeof v), `${where}.${k} is ${Array.isArray(v) ? 'an array' : typeof v}`);
    if (k.startsWith('has_')) {
      assert.equal(typeof v, 'boolean', `${where}.${k}`);
      assert.ok(k.slice(4) in o, `${where}.${k} without ${k.slice(4)}`);
    }
    if (!k.startsWith('has_') && DATE_KEY.test(k)) {
      assert.equal(typeof v, 'string', `${where}.${k}`);
      assert.equal(typeof o[`${k}_unix`], 'number', `${where}.${k} has no ${k}_unix`);
      assert.equal(o[`${k}_unix`], v ? Math.floor(Date.parse(v) / 1000) : 0, `${where}.${k}_unix agrees with ${k}`);
    }
    if (k.endsWith('_unix')) assert.ok(k.slice(0, -5) in o, `${where}.${k} without ${k.slice(0, -5)}`);
    if (k.startsWith('field_')) assert.equal(typeof v, 'string', `${where}.${k}`);
  }
}

/** A response body: a flat record, or a list {data, count, has_more, next_starting_after} of flat records alike. */
function checkShape(body, where) {
  assert.ok(body && typeof body === 'object', `${where}: no JSON object`);
  if ('data' in body) {
    assert.deepEqual(Object.keys(body).sort(), ['count', 'data', 'has_more', 'next_starting_after'], `${where}: list keys`);
    assert.ok(Array.isArray(body.data), `${where}.data`);
    assert.equal(body.count, body.data.length, `${where}.count`);
    assert.equal(typeof body.has_more, 'boolean');
    assert.equal(typeof body.next_starting_after, 'string');
    body.data.forEach((item, i) => checkFlat(item, `${where}.data[${i}]`));
    for (const item of body.data) assert.equal(shape(item), shape(body.data[0]), `${where}: every item has the same keys and types`);
  } else {
    checkFlat(body, where);
  }
}

/** The key set and JSON types of a record, as Bubble's Initialize call learns them. */
const shape = (o) => Object.keys(o).sort().map((k) => `${k}:${typeof o[k]}`).join(' ');

function sameShape(full, empty, what) {
  assert.equal(shape(empty), shape(full), `${what}: the full and the empty record have the same keys and types`);
}

// ---- the gateway ---------------------------------------------------------------------------------
let gw, app, a, b, c, tpl, bare;
const TEMPLATE = {
  name: 'Members',
  body: {
    pass_type: 'loyalty', organization_name: 'Solstice Coffee', logo_text: 'Solstice',
    primary_fields: [{ key: 'points', label: 'Points', value: '0' }],
    secondary_fields: [{ key: 'tier', label: 'Tier', value: 'Bronze' }],
    back_fields: [{ key: 'member_since', label: 'Member since', value: '' }],
  },
};

before(async () => {
  app = await bubbleApp();
  execFileSync(path.join(SOURCE_DIR, 'scripts', 'make-test-credentials'), [dir],
    { env: { ...process.env, WP_TEST_PASS_TYPE_ID: PTID }, stdio: ['ignore', 'pipe', 'pipe'] });
  gw = await startGateway({
    config: {
      plugin_dir: PLUGIN_DIR,
      outbound: { allow_private_targets: true },
      jobs: { workers: 4, poll_ms: 50, lease_seconds: 30 },
      rate_limit: { requests_per_second: 0 },
      plugins: [{ name: 'apple-signer' }, { name: 'apns' },
        { name: 'bubble-bridge', config: { allow_http: true, retry_scale: 0.005, timeout_ms: 10000, defer_ms: 50 } }],
    },
  });
  a = gw.account();
  b = gw.account();
  c = gw.account();
  const t = await gw.request('POST', '/api/v1/templates', { key: a.key, body: TEMPLATE });
  assert.equal(t.status, 201, t.text);
  tpl = t.body;
  const e = await gw.request('POST', '/api/v1/templates', { key: a.key, body: { name: 'Bare', body: { pass_type: 'generic' } } });
  assert.equal(e.status, 201, e.text);
  bare = e.body;
});

after(async () => {
  if (gw) await gw.stop();
  if (app) await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A call of the bridge: fields sent as flat JSON ('json'), as form fields ('form', urlencoded, or
 * 'multipart'), or in the query (GET).
 * Every 2xx answer is checked for the shape rules.
 */
async function bubble(method, p, { key = a.key, fields, as = 'json', query } = {}) {
  let url = p;
  if (query) {
    const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    if (q) url += `?${q}`;
  }
  const opts = { key };
  if (fields !== undefined && as === 'json') opts.body = fields;
  if (fields !== undefined && as === 'form') {
    opts.raw = new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
    opts.headers = { 'content-type': 'application/x-www-form-urlencoded' };
  }
  if (fields !== undefined && as === 'multipart') {
    opts.raw = new FormData(); // fetch sends it as multipart/form-data with its boundary
    for (const [k, v] of Object.entries(fields)) opts.raw.append(k, String(v));
  }
  const r = await gw.request(method, url, opts);
  if (r.status >= 200 && r.status < 300) checkShape(r.body, `${method} ${p} (${as})`);
  return r;
}

const FULL = () => ({
  template_id: tpl.id, logo_text: 'Solstice Gold', description: 'Member card', background_color: '#1a1a2e',
  foreground_color: '#ffffff', label_color: '#cccccc', barcode_message: 'MEMBER-00421', barcode_format: 'qr',
  barcode_alt_text: '00421', relevant_date: '2026-12-01T10:00:00Z', expiration_date: 1798761600,
  program_name: 'Solstice Rewards', account_id: 'M-421', account_name: 'Ada L.', points: '2450', max_distance: 250,
  image_logo: '//s3.amazonaws.com/appforest_uf/f1/logo.png', metadata_bubble_user: '1700000000000x123',
  field_points: '2450', field_tier: 'Gold', field_member_since: '2024',
});

test('passes: create, get, update, void, notify and list, in JSON and in form fields; full and empty records alike', async () => {
  for (const as of ['json', 'form', 'multipart']) {
    const full = await bubble('POST', '/api/v1/bubble/passes', { fields: { ...FULL(), serial_number: `FULL-${as}` }, as });
    assert.equal(full.status, 201, full.text);
    const empty = await bubble('POST', '/api/v1/bubble/passes', { fields: { template_id: tpl.id }, as });
    assert.equal(empty.status, 201, empty.text);
    sameShape(full.body, empty.body, `create (${as})`);
    const f = full.body;
    assert.equal(f.object, 'pass');
    assert.equal(f.serial_number, `FULL-${as}`);
    assert.equal(f.field_points, '2450');
    assert.equal(f.field_tier, 'Gold');
    assert.equal(f.field_member_since, '2024');
    assert.equal(empty.body.field_tier, 'Bronze', 'the template value');
    assert.equal(empty.body.field_member_since, '');
    assert.equal(f.expiration_date_unix, 1798761600, 'Unix seconds in, ISO and Unix out');
    assert.equal(f.expiration_date, '2027-01-01T00:00:00Z');
    assert.equal(f.has_expiration_date, true);
    assert.equal(empty.body.has_expiration_date, false);
    assert.equal(empty.body.expiration_date, '');
    assert.equal(f.relevant_date_unix, Date.parse('2026-12-01T10:00:00Z') / 1000);
    assert.equal(f.max_distance, 250);
    assert.equal(f.has_max_distance, true);
    assert.equal(empty.body.has_max_distance, false);
    assert.equal(f.image_logo, 'https://s3.amazonaws.com/appforest_uf/f1/logo.png', "Bubble's // image URLs become https:");
    assert.deepEqual(JSON.parse(f.metadata_json), { bubble_user: '1700000000000x123' });
    assert.equal(f.template_id, tpl.id);
    assert.equal(f.has_template_id, true);
    assert.equal(f.livemode, true);
    assert.equal(f.voided, false);
    assert.equal(f.created_at_unix, Math.floor(Date.parse(f.created_at) / 1000));
    // the core stored what the bridge sent: its own API shows the fields in place
    const core = await gw.request('GET', `/api/v1/passes/${f.id}`, { key: a.key });
    assert.equal(core.body.primary_fields[0].value, '2450');
    assert.equal(core.body.secondary_fields[0].value, 'Gold');
    assert.equal(core.body.images.logo, 'https://s3.amazonaws.com/appforest_uf/f1/logo.png');

    // get
    const g1 = await bubble('GET', `/api/v1/bubble/passes/${f.id}`, { as });
    const g2 = await bubble('GET', `/api/v1/bubble/passes/${empty.body.id}`, { as });
    assert.equal(g1.status, 200);
    sameShape(g1.body, g2.body, `get (${as})`);
    assert.deepEqual(g1.body, f);

    // update: every field, and none at all (a no-op answers the pass as it is)
    const u1 = await bubble('POST', `/api/v1/bubble/passes/${f.id}/update`, { as, fields: {
      logo_text: 'Solstice Platinum', field_points: '3000', field_tier: 'Platinum', points: 3000, valid_from: '', image_strip: '//cdn.example.com/strip.png',
      metadata_source: 'bubble', event_start: '' } });
    assert.equal(u1.status, 200, u1.text);
    const u2 = await bubble('POST', `/api/v1/bubble/passes/${empty.body.id}/update`, { as, fields: {} });
    assert.equal(u2.status, 200, u2.text);
    sameShape(u1.body, u2.body, `update (${as})`);
    assert.equal(u1.body.field_points, '3000');
    assert.equal(u1.body.field_tier, 'Platinum');
    assert.equal(u1.body.field_member_since, '2024', 'the other fields stay');
    assert.equal(u1.body.image_logo, 'https://s3.amazonaws.com/appforest_uf/f1/logo.png', 'the other images stay');
    assert.equal(u1.body.image_strip, 'https://cdn.example.com/strip.png');
    assert.deepEqual(JSON.parse(u1.body.metadata_json), { bubble_user: '1700000000000x123', source: 'bubble' });
    assert.equal(u1.body.version, 2);
    assert.equal(u2.body.version, 1, 'nothing sent: nothing changed');

    // notify
    const n1 = await bubble('POST', `/api/v1/bubble/passes/${f.id}/notify`, { as, fields: { message: 'Double points until Sunday!' } });
    const n2 = await bubble('POST', `/api/v1/bubble/passes/${empty.body.id}/notify`, { as, fields: { message: 'x' } });
    assert.equal(n1.status, 202, n1.text);
    sameShape(n1.body, n2.body, `notify (${as})`);
    assert.equal(n1.body.object, 'pass_notification');
    assert.equal(n1.body.pass_id, f.id);

    // void
    const v1 = await bubble('POST', `/api/v1/bubble/passes/${f.id}/void`, { as, fields: {} });
    const v2 = await bubble('POST', `/api/v1/bubble/passes/${empty.body.id}/void`, { as });
    assert.equal(v1.status, 200, v1.text);
    assert.equal(v2.status, 200, v2.text);
    sameShape(v1.body, v2.body, `void (${as})`);
    assert.equal(v1.body.status, 'voided');
    assert.equal(v1.body.voided, true);
  }

  // without a template: a full and a minimal pass have the same keys too (no field_ keys at all)
  const nf = await bubble('POST', '/api/v1/bubble/passes', { fields: { pass_type: 'event', organization_name: 'Arena',
    event_name: 'Finals', venue_name: 'Hall 1', event_start: '2026-12-24T20:00:00+01:00', seat_row: 'C', seat_number: '12' } });
  const ne = await bubble('POST', '/api/v1/bubble/passes', { fields: { pass_type: 'generic', organization_name: 'O' }, as: 'form' });
  assert.equal(nf.status, 201, nf.text);
  assert.equal(ne.status, 201, ne.text);
  sameShape(nf.body, ne.body, 'create without a template');
  // with a template or without, the same keys but for the template's field_ keys
  const noFields = (o) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('field_')));
  const withTpl = await bubble('GET', `/api/v1/bubble/passes?template_id=${tpl.id}&limit=1`);
  sameShape(noFields(withTpl.body.data[0]), ne.body, 'a pass with a template and one without');
  assert.equal(nf.body.event_start_unix, Date.parse('2026-12-24T19:00:00Z') / 1000);
  assert.ok(!Object.keys(nf.body).some((k) => k.startsWith('field_')));

  // lists: one template's passes carry its field_ keys, every item alike; across templates none
  const l1 = await bubble('GET', '/api/v1/bubble/passes', { query: { template_id: tpl.id, limit: 3 } });
  assert.equal(l1.status, 200, l1.text);
  assert.equal(l1.body.count, 3);
  assert.equal(l1.body.has_more, true);
  assert.equal(l1.body.next_starting_after, l1.body.data[2].id);
  for (const p of l1.body.data) for (const k of ['field_points', 'field_tier', 'field_member_since']) assert.ok(k in p, k);
  const l2 = await bubble('GET', '/api/v1/bubble/passes', { query: { template_id: tpl.id, starting_after: l1.body.next_starting_after } });
  assert.equal(l2.body.has_more, false);
  assert.equal(l2.body.next_starting_after, '');
  assert.equal(l1.body.count + l2.body.count, 6);
  sameShape(l1.body.data[0], l2.body.data[l2.body.count - 1], 'list items');
  const l3 = await bubble('GET', '/api/v1/bubble/passes', { query: { status: 'active', created_after: 1, limit: '' } });
  assert.equal(l3.status, 200, l3.text);
  assert.deepEqual(l3.body.data.map((p) => p.id), [ne.body.id, nf.body.id], 'the voided ones are not active');
  assert.ok(!Object.keys(l3.body.data[0]).some((k) => k.startsWith('field_')));
  const none = await bubble('GET', '/api/v1/bubble/passes', { query: { status: 'voided', pass_type: 'coupon' } });
  assert.deepEqual(none.body, { data: [], count: 0, has_more: false, next_starting_after: '' });
});

test('templates: the list and a template\'s fields, flat; a template with fields and one without alike', async () => {
  const l = await bubble('GET', '/api/v1/bubble/templates');
  assert.equal(l.status, 200, l.text);
  const [bt, mt] = l.body.data;
  assert.equal(bt.id, bare.id);
  assert.equal(mt.id, tpl.id);
  sameShape(mt, bt, 'template');
  assert.equal(mt.fields_keys, 'points,tier,member_since');
  assert.equal(mt.fields_count, 3);
  assert.equal(mt.pass_type, 'loyalty');
  assert.equal(bt.fields_count, 0);
  const f = await bubble('GET', `/api/v1/bubble/templates/${tpl.id}/fields`);
  assert.equal(f.status, 200, f.text);
  assert.deepEqual(f.body.data.map((x) => [x.input_name, x.group, x.label, x.value]), [
    ['field_points', 'primary', 'Points', '0'], ['field_tier', 'secondary', 'Tier', 'Bronze'],
    ['field_member_since', 'back', 'Member since', '']]);
  const e = await bubble('GET', `/api/v1/bubble/templates/${bare.id}/fields`);
  assert.deepEqual(e.body, { data: [], count: 0, has_more: false, next_starting_after: '' });
  const p = await bubble('GET', '/api/v1/bubble/templates', { query: { limit: 1 } });
  assert.equal(p.body.has_more, true);
  assert.equal(p.body.next_starting_after, bare.id);
  assertError(await bubble('GET', '/api/v1/bubble/templates/tpl_nope/fields'), 404, { code: 'resource_missing', param: 'id' });
});

test('refusals name the field the Bubble call sent, in JSON and in form fields', async () => {
  for (const as of ['json', 'form', 'multipart']) {
    const post = (fields) => bubble('POST', '/api/v1/bubble/passes', { fields, as });
    assertError(await post({ template_id: tpl.id, colour: 'red' }), 400, { code: 'parameter_unknown', param: 'colour' });
    const nf = assertError(await post({ template_id: tpl.id, field_stamps: '3' }), 400, { code: 'parameter_unknown', param: 'field_stamps' });
    assert.match(nf.message, /its fields: points, tier, member_since/);
    assertError(await post({ pass_type: 'generic', organization_name: 'O', field_points: '1' }), 400, { param: 'field_points' });
    assertError(await post({ template_id: 'tpl_0000000000000000000000nope' }), 404, { code: 'resource_missing', param: 'template_id' });
    // the core's own rules, its param renamed to the field sent
    assertError(await post({ template_id: tpl.id, field_points: 'x'.repeat(5000) }), 400, { param: 'field_points' });
    assertError(await post({ template_id: tpl.id, background_color: 'red' }), 400, { param: 'background_color' });
    assertError(await post({ template_id: tpl.id, image_logo: 'http://insecure.example.com/l.png' }), 400, { param: 'image_logo' });
    assertError(await post({ pass_type: 'generic' }), 400, { code: 'parameter_missing', param: 'organization_name' });
    assertError(await post({ template_id: tpl.id, max_distance: 'far' }), 400, { param: 'max_distance' });
    assertError(await post({ template_id: tpl.id, expiration_date: 'soon' }), 400, { param: 'expiration_date' });
    assertError(await post({ template_id: tpl.id, image_banner: '//x/y.png' }), 400, { code: 'parameter_unknown', param: 'image_banner' });
    const p = await post({ template_id: tpl.id });
    assertError(await bubble('POST', `/api/v1/bubble/passes/${p.body.id}/update`, { as, fields: { serial_number: 'NEW' } }), 400,
      { param: 'serial_number' });
    assertError(await bubble('POST', `/api/v1/bubble/passes/${p.body.id}/notify`, { as, fields: {} }), 400,
      { code: 'parameter_missing', param: 'message' });
    assertError(await bubble('POST', `/api/v1/bubble/passes/${p.body.id}/void`, { as, fields: { reason: 'x' } }), 400,
      { code: 'parameter_unknown', param: 'reason' });
    await bubble('POST', `/api/v1/bubble/passes/${p.body.id}/void`, { as });
    assertError(await bubble('POST', `/api/v1/bubble/passes/${p.body.id}/update`, { as, fields: { logo_text: 'x' } }), 409,
      { code: 'pass_voided' });
  }
  assertError(await bubble('POST', '/api/v1/bubble/passes', { fields: { template_id: tpl.id, nested: { a: 1 } } }), 400,
    { param: 'nested' });
  assertError(await bubble('POST', '/api/v1/bubble/passes', { fields: { template_id: tpl.id, field_points: ['1'] } }), 400,
    { param: 'field_points' });
  const dup = await gw.request('POST', '/api/v1/bubble/passes', { key: a.key, raw: `template_id=${tpl.id}&logo_text=a&logo_text=b`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(dup, 400, { param: 'logo_text' });
  const bad = await gw.request('POST', '/api/v1/bubble/passes', { key: a.key, raw: 'logo_text=%E2%82',
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(bad, 400, { param: 'logo_text' });
  const txt = await gw.request('POST', '/api/v1/bubble/passes', { key: a.key, raw: 'hello', headers: { 'content-type': 'text/plain' } });
  assertError(txt, 415, { param: 'Content-Type' });
  assertError(await gw.request('GET', '/api/v1/bubble/passes/pass_0000000000000000000000nope', { key: a.key }), 404,
    { code: 'resource_missing' });
  assertError(await gw.request('GET', '/api/v1/bubble/passes'), 401, { code: 'api_key_missing' });
});

test('destinations: Bubble workflow URLs over https, the bearer token sealed and never shown, full and empty alike', async () => {
  for (const as of ['json', 'form', 'multipart']) {
    const full = await bubble('POST', '/api/v1/bubble/destinations', { as, fields: { event_type: 'pass.installed',
      url: app.url('pass_installed'), bearer_token: TOKEN, template_id: tpl.id, description: 'update my user', enabled: true } });
    assert.equal(full.status, 201, full.text);
    const empty = await bubble('POST', '/api/v1/bubble/destinations', { as, fields: { event_type: 'pass.created', url: app.url('pass_created') } });
    assert.equal(empty.status, 201, empty.text);
    sameShape(full.body, empty.body, `destination (${as})`);
    assert.equal(full.body.object, 'bubble_destination');
    assert.equal(full.body.has_bearer_token, true);
    assert.equal(full.body.bearer_token, '********');
    assert.ok(!JSON.stringify(full.body).includes(TOKEN), 'the token is never shown');
    assert.equal(empty.body.has_bearer_token, false);
    assert.equal(empty.body.bearer_token, '');
    assert.equal(full.body.enabled, true);
    assert.equal(full.body.has_template_id, true);
    const g = await bubble('GET', `/api/v1/bubble/destinations/${full.body.id}`, { as });
    assert.deepEqual(g.body, full.body);
    const u1 = await bubble('POST', `/api/v1/bubble/destinations/${full.body.id}/update`, { as, fields: { enabled: false, description: 'off' } });
    const u2 = await bubble('POST', `/api/v1/bubble/destinations/${empty.body.id}/update`, { as, fields: {} });
    assert.equal(u1.status, 200, u1.text);
    sameShape(u1.body, u2.body, `destination update (${as})`);
    assert.equal(u1.body.enabled, false);
    assert.equal(u1.body.has_disabled_at, true);
    assert.equal(u1.body.disabled_reason, '');
    const del = await bubble('DELETE', `/api/v1/bubble/destinations/${full.body.id}`, { as });
    assert.deepEqual(del.body, { id: full.body.id, object: 'bubble_destination', deleted: true });
    await bubble('DELETE', `/api/v1/bubble/destinations/${empty.body.id}`, { as });
  }
  // sealed at rest: the database holds no token in clear
  const d = await bubble('POST', '/api/v1/bubble/destinations', { fields: { event_type: 'pass.voided', url: app.url('x'), bearer_token: TOKEN } });
  const sealed = gw.sql(`SELECT token_sealed FROM bubble_bridge_destinations WHERE id = '${d.body.id}'`);
  assert.match(sealed, /^wpv1:/);
  assert.ok(!sealed.includes(TOKEN));
  assert.ok(!gw.stderr().includes(TOKEN), 'nor the log');
  const list = await bubble('GET', '/api/v1/bubble/destinations');
  assert.ok(list.body.data.some((x) => x.id === d.body.id));
  const cleared = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/update`, { fields: { clear_bearer_token: true } });
  assert.equal(cleared.body.has_bearer_token, false);
  await bubble('DELETE', `/api/v1/bubble/destinations/${d.body.id}`);

  const create = (fields) => bubble('POST', '/api/v1/bubble/destinations', { fields });
  assertError(await create({ url: app.url('x') }), 400, { code: 'parameter_missing', param: 'event_type' });
  assertError(await create({ event_type: 'pass.created' }), 400, { code: 'parameter_missing', param: 'url' });
  assertError(await create({ event_type: 'pass.notify', url: app.url('x') }), 400, { param: 'event_type' });
  assertError(await create({ event_type: 'pass.created', url: 'https://example.com/hooks/x' }), 400, { param: 'url' });
  const init = assertError(await create({ event_type: 'pass.created', url: `${app.url('x')}/initialize` }), 400, { param: 'url' });
  assert.match(init.message, /initialize=true/);
  assertError(await create({ event_type: 'pass.created', url: 'https://169.254.169.254/version-test/api/1.1/wf/x' }), 400,
    { code: 'url_refused', param: 'url' });
  assertError(await create({ event_type: 'pass.created', url: app.url('x'), bearer_token: 'two words' }), 400, { param: 'bearer_token' });
  assertError(await create({ event_type: 'pass.created', url: app.url('x'), template_id: 'tpl_0000000000000000000000nope' }), 404,
    { param: 'template_id' });
  assertError(await create({ event_type: 'pass.created', url: app.url('x'), enabled: 'maybe' }), 400, { param: 'enabled' });
});

test('https only and no private address unless the gateway allows them for local stand-ins', async () => {
  const strict = await startGateway({ config: { plugin_dir: PLUGIN_DIR, plugins: [{ name: 'bubble-bridge' }] } });
  try {
    const k = strict.account();
    const create = (url) => strict.request('POST', '/api/v1/bubble/destinations', { key: k.key, body: { event_type: 'pass.created', url } });
    const e = assertError(await create(app.url('x')), 400, { param: 'url' });
    assert.match(e.message, /https:\/\/.*allow_http/);
    assertError(await create('https://127.0.0.1/version-test/api/1.1/wf/x'), 400, { code: 'url_refused', param: 'url' });
    assertError(await create('https://10.1.2.3/api/1.1/wf/x'), 400, { code: 'url_refused', param: 'url' });
  } finally {
    await strict.stop();
  }
});

/** The destination's deliveries, newest first. */
const deliveries = async (id, key = a.key) => (await bubble('GET', `/api/v1/bubble/destinations/${id}/deliveries`, { key })).body.data;

test('send test event: every key non-empty, to the workflow or to its /initialize for Detect data; the same keys as a delivery', async () => {
  app.tokens.set(`${WF}/member_created`, TOKEN);
  const d = await bubble('POST', '/api/v1/bubble/destinations', { fields: { event_type: 'pass.created',
    url: app.url('member_created'), bearer_token: TOKEN, template_id: tpl.id } });
  assert.equal(d.status, 201, d.text);
  for (const as of ['json', 'form']) {
    const t = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/test`, { as, fields: { initialize: true } });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.body.status, 'succeeded', t.text);
    assert.equal(t.body.test_event, true);
    assert.equal(t.body.last_status_code, 200);
  }
  const t2 = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/test`);
  assert.equal(t2.body.status, 'succeeded');
  const [i1, i2, plain] = app.on('member_created/initialize').concat(app.on('member_created'));
  for (const rec of [i1, i2, plain]) {
    assert.equal(rec.auth, `Bearer ${TOKEN}`);
    assert.equal(rec.contentType, 'application/json');
    assert.ok(rec.flat, 'a flat JSON object');
    checkFlat(rec.body, 'test event');
    for (const [k, v] of Object.entries(rec.body)) {
      if (typeof v === 'string') assert.ok(v.length > 0, `${k} is empty in the test event`);
      if (typeof v === 'number') assert.ok(v !== 0, `${k} is 0 in the test event`);
    }
    assert.equal(rec.body.test_event, true);
    for (const k of ['field_points', 'field_tier', 'field_member_since']) assert.ok(k in rec.body, k);
  }
  // a real delivery to the same destination has exactly the keys and types the test event taught Bubble
  const p = await bubble('POST', '/api/v1/bubble/passes', { fields: { template_id: tpl.id, field_points: '10' } });
  await waitFor(() => app.on('member_created').length === 2, { what: 'the pass.created delivery' });
  const real = app.on('member_created')[1];
  assert.equal(real.auth, `Bearer ${TOKEN}`);
  assert.ok(real.flat);
  checkFlat(real.body, 'delivery');
  sameShape(plain.body, real.body, 'the test event and a delivery');
  assert.equal(real.body.id, p.body.id);
  assert.equal(real.body.event_type, 'pass.created');
  assert.equal(real.body.test_event, false);
  assert.equal(real.body.field_points, '10');
  assert.equal(real.body.destination_id, d.body.id);
  assert.equal(real.eventId, real.body.event_id);
  const list = await deliveries(d.body.id);
  sameShape(list[0], list[list.length - 1], 'deliveries');
  assert.equal(list[0].status, 'succeeded');
  assert.equal(list[0].test_event, false);
  // another template's passes do not go to a destination of this template
  const w = await bubble('POST', '/api/v1/bubble/destinations', { fields: { event_type: 'pass.created', url: app.url('all_created') } });
  const other = await bubble('POST', '/api/v1/bubble/passes', { fields: { template_id: bare.id, organization_name: 'B' } });
  const q = await bubble('POST', '/api/v1/bubble/passes', { fields: { template_id: tpl.id } });
  await waitFor(() => app.on('member_created').some((r) => r.body.id === q.body.id) &&
    app.on('all_created').some((r) => r.body.id === other.body.id), { what: 'both fan-outs' });
  assert.equal(app.on('member_created').length, 3);
  assert.ok(!app.on('member_created').some((r) => r.body.id === other.body.id));
  await bubble('DELETE', `/api/v1/bubble/destinations/${w.body.id}`);
  await bubble('DELETE', `/api/v1/bubble/destinations/${d.body.id}`);
});

test('deliveries: every event type in the flat shape, on the webhook schedule, a Retry-After honoured', async () => {
  const ids = {};
  for (const [type, name] of [['pass.created', 'created'], ['pass.updated', 'updated'], ['pass.voided', 'voided']]) {
    const d = await bubble('POST', '/api/v1/bubble/destinations', { key: b.key, fields: { event_type: type, url: app.url(name) } });
    ids[name] = d.body.id;
  }
  // the first attempt of the update is answered 429 with Retry-After: 1, then 200
  app.behaviour.set(`${WF}/updated`, (rec, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: {} } : {}));
  const p = await bubble('POST', '/api/v1/bubble/passes', { key: b.key, fields: { pass_type: 'loyalty', organization_name: 'B Co', points: 5 } });
  await bubble('POST', `/api/v1/bubble/passes/${p.body.id}/update`, { key: b.key, fields: { points: 6, logo_text: 'B' } });
  await bubble('POST', `/api/v1/bubble/passes/${p.body.id}/void`, { key: b.key });
  await waitFor(() => app.on('created').length >= 1 && app.on('updated').length >= 2 && app.on('voided').length >= 1,
    { what: 'three event types delivered' });
  const [u1, u2] = app.on('updated');
  assert.equal(u1.status, 429);
  assert.ok(u2.at - u1.at >= 1000, `the second attempt waited for Retry-After (${u2.at - u1.at} ms)`);
  assert.deepEqual(u2.body, u1.body, 'the same body on every attempt');
  assert.equal(u2.body.changed_keys, 'logo_text,points');
  assert.equal(u2.body.points, '6');
  const created = app.on('created')[0].body, voided = app.on('voided')[0].body;
  for (const body of [created, u2.body, voided]) {
    checkFlat(body, body.event_type);
    assert.equal(body.id, p.body.id);
  }
  sameShape(created, voided, 'pass.created and pass.voided');
  sameShape(created, u2.body, 'pass.created and pass.updated');
  assert.equal(voided.voided, true);
  assert.equal(created.event_created_at_unix, Math.floor(Date.parse(created.event_created_at) / 1000));
  assert.equal(app.on('created')[0].auth, null, 'no token: no Authorization header');
  const [upd] = await deliveries(ids.updated, b.key);
  assert.equal(upd.status, 'succeeded');
  assert.equal(upd.attempts, 2);
  // a workflow that keeps failing is retried on the schedule, then the delivery fails
  app.behaviour.set(`${WF}/created`, () => ({ status: 500 }));
  await bubble('POST', '/api/v1/bubble/passes', { key: b.key, fields: { pass_type: 'generic', organization_name: 'C' } });
  await waitFor(async () => (await deliveries(ids.created, b.key))[0].status === 'failed', { what: 'five attempts' });
  const [failed] = await deliveries(ids.created, b.key);
  assert.equal(failed.attempts, 5);
  assert.equal(failed.last_status_code, 500);
  assert.equal(failed.last_error, 'HTTP 500');
  assert.equal(failed.has_next_attempt_at, false);
  const recs = app.on('created').slice(1);
  assert.equal(recs.length, 5);
  // attempt n is due 0 s, 5 s, 30 s, 5 min, 30 min after the event (the webhooks plugin's schedule), here
  // scaled by 0.005: never earlier
  const t0 = Date.parse(recs[0].body.event_created_at);
  [0, 5, 30, 300, 1800].forEach((sec, i) =>
    assert.ok(recs[i].at >= t0 + sec * 5 - 5, `attempt ${i + 1} came ${recs[i].at - t0} ms after the event`));
  const get = await bubble('GET', `/api/v1/bubble/destinations/${ids.created}`, { key: b.key });
  assert.equal(get.body.enabled, true, 'a failing workflow does not disable its destination');
});

test('a 401 or a 403 from Bubble disables the destination, with the reason to read', async () => {
  app.tokens.set(`${WF}/strict`, 'the-right-token');
  const d = await bubble('POST', '/api/v1/bubble/destinations', { key: c.key, fields: { event_type: 'pass.created',
    url: app.url('strict'), bearer_token: 'a-wrong-token' } });
  const d403 = await bubble('POST', '/api/v1/bubble/destinations', { key: c.key, fields: { event_type: 'pass.created',
    url: app.url('forbidden') } });
  app.behaviour.set(`${WF}/forbidden`, () => ({ status: 403, body: { statusCode: 403 } }));
  // a destination that stays enabled: once it has an event, that event's fan-out is over
  await bubble('POST', '/api/v1/bubble/destinations', { key: c.key, fields: { event_type: 'pass.created', url: app.url('witness') } });
  const p = await bubble('POST', '/api/v1/bubble/passes', { key: c.key, fields: { pass_type: 'generic', organization_name: 'C' } });
  await waitFor(async () => (await deliveries(d.body.id, c.key))[0]?.status === 'failed' &&
    (await deliveries(d403.body.id, c.key))[0]?.status === 'failed', { what: 'the refused deliveries' });
  assert.equal(app.on('strict').length, 1, 'a refused token is not retried');
  assert.equal(app.on('strict')[0].auth, 'Bearer a-wrong-token');
  assert.equal(app.on('forbidden').length, 1);
  const [del] = await deliveries(d.body.id, c.key);
  assert.equal(del.attempts, 1);
  assert.equal(del.last_status_code, 401);
  assert.match(del.last_error, /HTTP 401/);
  const g = await bubble('GET', `/api/v1/bubble/destinations/${d.body.id}`, { key: c.key });
  assert.equal(g.body.enabled, false);
  assert.match(g.body.disabled_reason, /401.*bearer token/);
  assert.equal(g.body.has_disabled_at, true);
  const g3 = await bubble('GET', `/api/v1/bubble/destinations/${d403.body.id}`, { key: c.key });
  assert.equal(g3.body.enabled, false);
  assert.match(g3.body.disabled_reason, /403/);
  // disabled: the next event goes nowhere
  const later = await bubble('POST', '/api/v1/bubble/passes', { key: c.key, fields: { pass_type: 'generic', organization_name: 'D' } });
  await waitFor(() => app.on('witness').some((r) => r.body.id === later.body.id), { what: 'the fan-out of an event while disabled' });
  // the right token, a test event that succeeds, enabled again: events flow
  const fixed = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/update`, { key: c.key, fields: { bearer_token: 'the-right-token' } });
  assert.equal(fixed.body.enabled, false, 'a new token does not enable it by itself');
  const t = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/test`, { key: c.key });
  assert.equal(t.body.status, 'succeeded', t.text);
  const on = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/update`, { key: c.key, fields: { enabled: 'yes' } });
  assert.equal(on.body.enabled, true);
  assert.equal(on.body.disabled_reason, '');
  assert.equal(on.body.has_disabled_at, false);
  const q = await bubble('POST', '/api/v1/bubble/passes', { key: c.key, fields: { pass_type: 'generic', organization_name: 'E' } });
  await waitFor(() => app.on('strict').some((r) => r.body.id === q.body.id && r.status === 200), { what: 'a delivery after re-enabling' });
  assert.equal(app.on('strict').length, 3, 'the refused one, the test event, the new pass: nothing while disabled');
  // a test event that Bubble refuses disables it too
  app.tokens.set(`${WF}/strict`, 'rotated');
  const t2 = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/test`, { key: c.key });
  assert.equal(t2.body.status, 'failed');
  assert.equal(t2.body.last_status_code, 401);
  assert.equal((await bubble('GET', `/api/v1/bubble/destinations/${d.body.id}`, { key: c.key })).body.enabled, false);
});

test('pass installed on a phone: the workflow gets the whole pass, as the recipe in docs/bubble.md uses it', async () => {
  const k = gw.account();
  for (const p of ['apple']) {
    const r = await gw.request('PUT', `/api/v1/credentials/${p}`, { key: k.key,
      body: JSON.parse(fs.readFileSync(path.join(dir, `${p}-credentials.json`), 'utf8')) });
    assert.equal(r.status, 200, r.text);
  }
  app.tokens.set(`${WF}/pass_installed`, TOKEN);
  const d = await bubble('POST', '/api/v1/bubble/destinations', { key: k.key, fields: { event_type: 'pass.installed',
    url: app.url('pass_installed'), bearer_token: TOKEN } });
  const t = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/test`, { key: k.key, fields: { initialize: 'true' } });
  assert.equal(t.body.status, 'succeeded', t.text);
  const p = await bubble('POST', '/api/v1/bubble/passes', { key: k.key, fields: { pass_type: 'loyalty',
    organization_name: 'Solstice', metadata_bubble_user: '1700000000000x42', account_id: 'M-42' } });
  assert.equal(p.status, 201, p.text);
  assert.equal(p.body.has_pkpass_url, true);
  const pk = await fetch(p.body.pkpass_url);
  assert.equal(pk.status, 200);
  fs.writeFileSync(path.join(dir, 'p.pkpass'), Buffer.from(await pk.arrayBuffer()));
  const pj = JSON.parse(execFileSync('unzip', ['-p', path.join(dir, 'p.pkpass'), 'pass.json'], { encoding: 'utf8' }));
  const reg = await fetch(`${pj.webServiceURL}/v1/devices/phone-1/registrations/${pj.passTypeIdentifier}/${pj.serialNumber}`, {
    method: 'POST', headers: { authorization: `ApplePass ${pj.authenticationToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pushToken: 'push-token-1' }) });
  assert.equal(reg.status, 201);
  await waitFor(() => app.on('pass_installed').length === 1, { what: 'the pass.installed delivery' });
  const rec = app.on('pass_installed')[0];
  assert.equal(rec.auth, `Bearer ${TOKEN}`);
  checkFlat(rec.body, 'pass.installed');
  sameShape(app.on('pass_installed/initialize')[0].body, rec.body, 'the test event and pass.installed');
  assert.equal(rec.body.event_type, 'pass.installed');
  assert.equal(rec.body.device_library_identifier, 'phone-1');
  assert.equal(rec.body.id, p.body.id);
  assert.equal(rec.body.serial_number, p.body.serial_number);
  assert.equal(rec.body.account_id, 'M-42');
  assert.deepEqual(JSON.parse(rec.body.metadata_json), { bubble_user: '1700000000000x42' });
});

test('another account sees none of it: passes, templates, destinations and deliveries are 404', async () => {
  const p = await bubble('POST', '/api/v1/bubble/passes', { fields: { template_id: tpl.id } });
  const d = await bubble('POST', '/api/v1/bubble/destinations', { fields: { event_type: 'pass.voided', url: app.url('iso') } });
  for (const [m, u] of [['GET', `/api/v1/bubble/passes/${p.body.id}`], ['POST', `/api/v1/bubble/passes/${p.body.id}/void`],
    ['POST', `/api/v1/bubble/passes/${p.body.id}/update`], ['GET', `/api/v1/bubble/destinations/${d.body.id}`],
    ['POST', `/api/v1/bubble/destinations/${d.body.id}/update`], ['DELETE', `/api/v1/bubble/destinations/${d.body.id}`],
    ['POST', `/api/v1/bubble/destinations/${d.body.id}/test`], ['GET', `/api/v1/bubble/destinations/${d.body.id}/deliveries`],
    ['GET', `/api/v1/bubble/templates/${tpl.id}/fields`]]) {
    assertError(await bubble(m, u, { key: b.key, fields: m === 'POST' ? {} : undefined }), 404, { code: 'resource_missing' });
  }
  assertError(await bubble('POST', '/api/v1/bubble/passes', { key: b.key, fields: { template_id: tpl.id } }), 404, { param: 'template_id' });
  assert.ok(!(await bubble('GET', '/api/v1/bubble/destinations', { key: b.key })).body.data.some((x) => x.id === d.body.id));
  assert.ok(!(await bubble('GET', '/api/v1/bubble/passes', { key: b.key })).body.data.some((x) => x.id === p.body.id));
  assert.equal((await bubble('GET', `/api/v1/bubble/passes/${p.body.id}`)).status, 200, 'still there for its owner');
});

test('docs/bubble.md: every sample answer has the keys and types the call answers', async () => {
  // the samples, each after a "<!-- sample: NAME -->" line (list items indent theirs)
  const md = fs.readFileSync(path.join(SOURCE_DIR, 'docs', 'bubble.md'), 'utf8').split('\n');
  const samples = {};
  for (let i = 0; i < md.length; i++) {
    const m = /^\s*<!-- sample: (\w+) -->$/.exec(md[i]);
    if (!m) continue;
    const indent = /^\s*/.exec(md[i + 1])[0].length;
    assert.match(md[i + 1], /```json$/, `docs/bubble.md:${i + 2}`);
    let j = i + 2;
    const text = [];
    for (; !/^\s*```$/.test(md[j]); j++) text.push(md[j].slice(indent));
    samples[m[1]] = JSON.parse(text.join('\n'));
  }
  assert.deepEqual(Object.keys(samples).sort(), ['delivery', 'destination', 'fields', 'notification', 'pass', 'templates']);
  // the calls as the page makes them, in an account of their own
  const k = gw.account();
  const t = await gw.request('POST', '/api/v1/templates', { key: k.key, body: { name: 'Solstice members', body: {
    pass_type: 'loyalty', organization_name: 'Solstice Coffee Co.', logo_text: 'Solstice',
    primary_fields: [{ key: 'points', label: 'Points', value: '0' }], secondary_fields: [{ key: 'tier', label: 'Tier', value: 'Bronze' }] } } });
  const p = await bubble('POST', '/api/v1/bubble/passes', { key: k.key, as: 'form',
    fields: { template_id: t.body.id, account_name: 'Ada', field_points: '2450', field_tier: 'Gold' } });
  sameShape(samples.pass, p.body, 'docs: the pass');
  const n = await bubble('POST', `/api/v1/bubble/passes/${p.body.id}/notify`, { key: k.key, fields: { message: 'Hi' } });
  sameShape(samples.notification, n.body, 'docs: the notification');
  const tl = await bubble('GET', '/api/v1/bubble/templates', { key: k.key });
  assert.equal(shape(tl.body), shape(samples.templates));
  sameShape(samples.templates.data[0], tl.body.data[0], 'docs: a template');
  const fl = await bubble('GET', `/api/v1/bubble/templates/${t.body.id}/fields`, { key: k.key });
  assert.deepEqual(fl.body.data.map((x) => x.input_name), samples.fields.data.map((x) => x.input_name));
  sameShape(samples.fields.data[0], fl.body.data[0], 'docs: a field');
  const d = await bubble('POST', '/api/v1/bubble/destinations', { key: k.key, as: 'form', fields: { event_type: 'pass.installed',
    url: app.url('docs_installed'), bearer_token: TOKEN, template_id: t.body.id } });
  sameShape(samples.destination, d.body, 'docs: the destination');
  const tst = await bubble('POST', `/api/v1/bubble/destinations/${d.body.id}/test`, { key: k.key, as: 'form', fields: { initialize: 'true' } });
  sameShape(samples.delivery, tst.body, 'docs: the delivery');
  assert.equal(tst.body.status, 'succeeded');
});

test('a test-mode key makes Initialize call safe: livemode false, not metered, no push, no Google call, its own destinations', async () => {
  const tdir = fs.mkdtempSync(path.join(dir, 'testmode-'));
  const ptid = 'pass.com.example.bubbletest', issuer = '3388000000022199088';
  const email = 'bubble@walletpass-test.iam.gserviceaccount.com';
  const gkey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pki = makePki(tdir, { pass: ptid });
  const pushes = [];
  const apns = createStandIn({ key: fs.readFileSync(pki.file('tls.key')), cert: fs.readFileSync(pki.file('tls.pem')),
    ca: fs.readFileSync(pki.file('wwdr.pem')) });
  apns.h2.on('stream', (stream, headers) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      pushes.push(String(headers[':path']));
      stream.respond({ ':status': 200, 'apns-id': `id-${pushes.length}` });
      stream.end();
    });
  });
  const apnsPort = await new Promise((resolve) => apns.listen(0, '127.0.0.1', () => resolve(apns.address().port)));
  const plugins = [{ name: 'apple-signer' },
    { name: 'apns', config: { host: '127.0.0.1', port: apnsPort, ca_file: pki.file('wwdr.pem'), timeout_ms: 60000 } },
    { name: 'bubble-bridge', config: { allow_http: true, retry_scale: 0.005 } }];
  let google = null;
  if (jose) {
    google = await startGoogleStandin({ issuerId: issuer, clientEmail: email, publicKey: gkey.publicKey });
    // every live link goes over REST (a short max_jwt_length): a test link must not
    plugins.push({ name: 'google-jwt', config: { api_base_url: google.apiBase, token_url: google.tokenUrl, max_jwt_length: 200 } });
  }
  const tg = await startGateway({ plan: 'tiny', config: {
    plugin_dir: PLUGIN_DIR, plugins, outbound: { allow_private_targets: true }, rate_limit: { requests_per_second: 0 },
    jobs: { workers: 2, poll_ms: 100 },
    plans: { trial: { operations_per_month: 1000 }, tiny: { operations_per_month: 4 } },
    metering: { default_plan: 'tiny', trial_days: 0 },
  } });
  try {
    const A = tg.account();
    const call = async (key, method, p, fields, as = 'form') => {
      const opts = { key };
      if (fields && as === 'form') {
        opts.raw = new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
        opts.headers = { 'content-type': 'application/x-www-form-urlencoded' };
      } else if (fields) {
        opts.body = fields;
      }
      const r = await tg.request(method, p, opts);
      if (r.status < 300) checkShape(r.body, `${method} ${p}`);
      return r;
    };
    let r = await tg.request('PUT', '/api/v1/credentials/apple', { key: A.key, body: { p12_base64: pki.p12Base64('pass'),
      p12_password: P12_PASSWORD, pass_type_identifier: ptid, team_identifier: TEAM, wwdr_pem: pki.wwdrPem } });
    assert.equal(r.status, 200, r.text);
    if (jose) {
      r = await tg.request('PUT', '/api/v1/credentials/google', { key: A.key, body: { issuer_id: issuer, service_account_json: {
        type: 'service_account', project_id: 'p', private_key_id: 'k1', client_email: email,
        private_key: gkey.privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: 'https://oauth2.googleapis.com/token' } } });
      assert.equal(r.status, 200, r.text);
    }
    r = await tg.request('POST', '/api/v1/api_keys', { key: A.key, body: { name: 'bubble development', livemode: false } });
    assert.equal(r.status, 201, r.text);
    const testKey = r.body.key;
    assert.match(testKey, /^sk_test_/);
    const body = { ...TEMPLATE.body, primary_fields: [{ key: 'points', label: 'Points', value: '0', change_message: 'Now %@ points' }] };
    const ttpl = (await tg.request('POST', '/api/v1/templates', { key: testKey, body: { name: 'Members', body } })).body;
    const ltpl = (await tg.request('POST', '/api/v1/templates', { key: A.key, body: { name: 'Members', body } })).body;
    app.tokens.set(`${WF}/tm_test`, TOKEN);
    app.tokens.set(`${WF}/tm_live`, TOKEN);
    const td = await call(testKey, 'POST', '/api/v1/bubble/destinations', { event_type: 'pass.created', url: app.url('tm_test'), bearer_token: TOKEN });
    const ld = await call(A.key, 'POST', '/api/v1/bubble/destinations', { event_type: 'pass.created', url: app.url('tm_live'), bearer_token: TOKEN });
    assert.equal(td.status, 201, td.text);
    assertError(await call(A.key, 'GET', `/api/v1/bubble/destinations/${td.body.id}`), 404);
    assertError(await call(testKey, 'GET', `/api/v1/bubble/destinations/${ld.body.id}`), 404);

    // Initialize call, again and again: five test passes on a plan of four operations, none counted
    const tps = [];
    for (let i = 0; i < 5; i++) {
      const p = await call(testKey, 'POST', '/api/v1/bubble/passes', { template_id: ttpl.id, field_points: 100 + i },
        i % 2 ? 'json' : 'form');
      assert.equal(p.status, 201, p.text);
      assert.equal(p.body.livemode, false);
      assert.equal(p.body.has_pkpass_url, true, 'signed with the live credentials');
      if (jose) assert.equal(p.body.has_google_save_url, true);
      tps.push(p.body);
    }
    const usage = () => tg.request('GET', '/api/v1/account', { key: A.key }).then((x) => x.body.usage.operations);
    assert.equal(await usage(), 0, 'test passes are not metered');
    assertError(await call(A.key, 'GET', `/api/v1/bubble/passes/${tps[0].id}`), 404);
    assertError(await call(A.key, 'POST', '/api/v1/bubble/passes', { template_id: ttpl.id }), 404, { param: 'template_id' });
    const tl = await call(testKey, 'GET', `/api/v1/bubble/passes?template_id=${ttpl.id}&limit=100`);
    assert.deepEqual(tl.body.data.map((p) => p.id).sort(), tps.map((p) => p.id).sort());
    assert.ok(tl.body.data.every((p) => p.livemode === false));

    // Apple: a phone holds the test pass; an update through the bridge pushes nothing
    const pj = async (url) => {
      const f = path.join(tdir, `p-${crypto.randomBytes(4).toString('hex')}.pkpass`);
      fs.writeFileSync(f, Buffer.from(await (await fetch(url)).arrayBuffer()));
      return JSON.parse(execFileSync('unzip', ['-p', f, 'pass.json'], { encoding: 'utf8' }));
    };
    const register = (j) => fetch(`${j.webServiceURL}/v1/devices/dev0123456789abcdef0123456789abcd/registrations/${j.passTypeIdentifier}/${j.serialNumber}`,
      { method: 'POST', headers: { authorization: `ApplePass ${j.authenticationToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pushToken: 'ab'.repeat(32) }) });
    const tj = await pj(tps[0].pkpass_url);
    assert.match(tj.logoText, /^TEST/);
    assert.equal((await register(tj)).status, 201);
    const googleBefore = jose ? google.apiCalls().length : 0;
    r = await call(testKey, 'POST', `/api/v1/bubble/passes/${tps[0].id}/update`, { field_points: 500 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.field_points, '500');
    const ws = tg.sql(`SELECT id FROM accounts WHERE live_account_id = '${A.account}'`);
    await waitFor(() => tg.sql(`SELECT count(*) FROM events WHERE account_id = '${ws}' AND type = 'pass.updated'`) === '1' &&
      tg.sql(`SELECT count(*) FROM jobs WHERE account_id = '${ws}' AND status IN ('queued', 'running')`) === '0',
    { what: "the test pass's events handled" });
    assert.equal(pushes.length, 0, 'no push for a test pass');
    if (jose) assert.equal(google.apiCalls().length, googleBefore, 'no call to Google for a test pass');
    assert.equal(await usage(), 0);

    // the test destination got the five test passes and nothing else; the live one none of them
    await waitFor(() => app.on('tm_test').length === 5, { what: 'the test deliveries' });
    assert.deepEqual(app.on('tm_test').map((x) => x.body.id).sort(), tps.map((p) => p.id).sort());
    assert.ok(app.on('tm_test').every((x) => x.body.livemode === false && x.auth === `Bearer ${TOKEN}`));

    // the control: the live key's pass is live, counted, pushed, sent to Google and to the live destination only
    const lp = await call(A.key, 'POST', '/api/v1/bubble/passes', { template_id: ltpl.id, field_points: 7 });
    assert.equal(lp.status, 201, lp.text);
    assert.equal(lp.body.livemode, true);
    assert.equal(await usage(), 1);
    const lj = await pj(lp.body.pkpass_url);
    assert.equal((await register(lj)).status, 201);
    r = await call(A.key, 'POST', `/api/v1/bubble/passes/${lp.body.id}/update`, { field_points: 8 });
    assert.equal(r.status, 200, r.text);
    await waitFor(() => pushes.length === 1, { what: 'the live push' });
    if (jose) assert.ok(google.apiCalls().length > googleBefore, 'a live pass reaches Google');
    await waitFor(() => app.on('tm_live').length === 1, { what: 'the live delivery' });
    assert.equal(app.on('tm_live')[0].body.id, lp.body.id);
    assert.equal(app.on('tm_live')[0].body.livemode, true);
    assert.equal(app.on('tm_test').length, 5);
  } finally {
    await tg.stop();
    apns.close();
    if (google) await google.close();
  }
});
