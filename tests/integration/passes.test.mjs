// Passes: POST/GET/PUT/DELETE /api/v1/passes, notify, metering, isolation (docs/api.md "Passes").
// No plugin is loaded: the core must work alone.  It knows no platform, so the resource then has
// no platform keys at all (they are the platform plugins': tests/integration/platform-plugin.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startGateway, assertError, BIN } from './lib/harness.mjs';

// Fixture plugins (tests/fixtures/plugins): passcheck on pass.validate, passlinks on pass.links.
const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const FIXTURES = path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins');

// the documented example, exactly as written.
const SOLSTICE = `{
  "pass_type": "loyalty",
  "organization_name": "Solstice Coffee Co.",
  "logo_text": "Solstice",
  "background_color": "#1a1a2e",
  "foreground_color": "#ffffff",
  "primary_fields": [{ "key": "points", "label": "Points", "value": "2,450" }],
  "barcode_message": "MEMBER-00421"
}`;
const BASE = JSON.parse(SOLSTICE);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let gw, a, b;
before(async () => {
  gw = await startGateway({
    config: {
      plans: {
        trial: { operations_per_month: 1000 },
        unlimited: { operations_per_month: -1 },
        tiny: { operations_per_month: 3 },
      },
      metering: { trial_days: 0 }, // no trial: the plan's limit applies from the start
    },
  });
  a = gw.account();
  b = gw.account();
});
after(async () => gw && gw.stop());

const q = (s) => s.replace(/'/g, "''");
const count = (table, account, extra = '') =>
  Number(gw.sql(`SELECT count(*) FROM ${table} WHERE account_id = '${q(account)}' ${extra}`));
const usage = (account) =>
  Number(gw.sql(`SELECT coalesce(sum(operations), 0) FROM usage_counter_rows WHERE account_id = '${q(account)}'`));
const create = (key, body) => gw.request('POST', '/api/v1/passes', { key, body });

function newAccount(plan) {
  const email = `${crypto.randomBytes(6).toString('hex')}@example.com`;
  const account = gw.cli(['account', 'create', '--name', 'Plan ' + plan, '--email', email, '--plan', plan]);
  const key = gw.cli(['key', 'create', '--account', account]);
  return { account, key };
}

const PLATFORM_KEYS = ['apple_pass_type_id', 'google_pass_type', 'pkpass_url', 'google_save_url'];

test('the Solstice Coffee example as written: 201 with the documented shape, no platform keys', async () => {
  const before = count('passes', a.account);
  const r = await gw.request('POST', '/api/v1/passes', {
    key: a.key, raw: SOLSTICE, headers: { 'content-type': 'application/json' },
  });
  assert.equal(r.status, 201, r.text);
  const p = r.body;
  assert.match(p.id, /^pass_[0-9a-z]{26}$/);
  assert.equal(p.object, 'pass');
  assert.match(p.serial_number, /^SN-[A-Z0-9]{8}$/);
  assert.equal(p.pass_type, 'loyalty');
  for (const k of PLATFORM_KEYS) assert.ok(!(k in p), `${k}: a platform's key, and no platform plugin is loaded`);
  assert.deepEqual(Object.keys(p).slice(0, 10), ['id', 'object', 'serial_number', 'pass_type', 'share_url', 'status',
    'version', 'template_id', 'created_at', 'updated_at']);
  assert.equal(p.status, 'active');
  assert.equal(p.version, 1);
  assert.equal(p.template_id, null);
  assert.match(p.created_at, ISO);
  assert.equal(p.updated_at, p.created_at);
  for (const [k, v] of Object.entries(BASE)) assert.deepEqual(p[k], v, k);
  assert.ok(!('authentication_token' in p) && !('auth_token' in p), 'the token is never in the API');
  assert.equal(count('passes', a.account), before + 1);
  // event pass.created in the outbox, with the resource
  const ev = JSON.parse(gw.sql(`SELECT data FROM events WHERE account_id = '${a.account}' AND type = 'pass.created'
                                AND data->'pass'->>'id' = '${p.id}'`));
  assert.equal(ev.schema, 1);
  assert.deepEqual(ev.pass, p);
  // GET returns the same resource
  const g = await gw.request('GET', `/api/v1/passes/${p.id}`, { key: a.key });
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, p);
});

test('serial numbers: given ones are kept, a duplicate is 409 naming serial_number, generated ones differ', async () => {
  const serial = 'MEMBER-' + crypto.randomBytes(4).toString('hex');
  const r = await create(a.key, { ...BASE, serial_number: serial });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.serial_number, serial);
  const n = count('passes', a.account);
  const u = usage(a.account);
  assertError(await create(a.key, { ...BASE, serial_number: serial }), 409, { param: 'serial_number', code: 'serial_number_taken' });
  assert.equal(count('passes', a.account), n, 'nothing written');
  assert.equal(usage(a.account), u, 'not counted');
  // another account may use the same serial number
  assert.equal((await create(b.key, { ...BASE, serial_number: serial })).status, 201);
  const s1 = (await create(a.key, BASE)).body.serial_number;
  const s2 = (await create(a.key, BASE)).body.serial_number;
  assert.notEqual(s1, s2);
});

test('a table of bad bodies: each a 400 naming its field, nothing written', async () => {
  const long = 'x'.repeat(5000);
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  const cases = [
    [{}, 'pass_type'],
    [{ ...BASE, pass_type: 'boarding' }, 'pass_type'],
    [{ ...BASE, pass_type: null }, 'pass_type'],
    [{ ...BASE, organization_name: undefined }, 'organization_name'],
    [{ ...BASE, organization_name: '' }, 'organization_name'],
    [{ ...BASE, organization_name: 42 }, 'organization_name'],
    [{ ...BASE, organization_name: long }, 'organization_name'],
    [{ ...BASE, background_color: '#12345' }, 'background_color'],
    [{ ...BASE, foreground_color: 'rgb(1,2,3)' }, 'foreground_color'],
    [{ ...BASE, label_color: '#gggggg' }, 'label_color'],
    [{ ...BASE, primary_fields: [{ key: '', label: 'P', value: '1' }] }, 'primary_fields[0].key'],
    [{ ...BASE, primary_fields: [{ key: 5, label: 'P', value: '1' }] }, 'primary_fields[0].key'],
    [{ ...BASE, primary_fields: [{ key: 'a b', label: 'P', value: '1' }] }, 'primary_fields[0].key'],
    [{ ...BASE, primary_fields: [{ label: 'P', value: '1' }] }, 'primary_fields[0]'],
    [{ ...BASE, primary_fields: [{ key: 'p', label: 'P', value: { n: 1 } }] }, 'primary_fields[0].value'],
    [{ ...BASE, primary_fields: [{ key: 'a', value: 1 }, { key: 'b', value: 2 }] }, 'primary_fields'],
    [{ ...BASE, primary_fields: 'points' }, 'primary_fields'],
    [{ ...BASE, secondary_fields: [{ key: 'x', value: 1 }, { key: 'points', value: 2 }] }, 'secondary_fields[1].key'],
    [{ ...BASE, back_fields: [{ key: 'b', value: 'v', change_message: 'changed' }] }, 'back_fields[0].change_message'],
    [{ ...BASE, back_fields: [{ key: 'b', value: 'v' }, { key: 'c', value: 'w', colour: 'red' }] }, 'back_fields[1].colour'],
    [{ ...BASE, header_fields: [1, 2, 3, 4].map((i) => ({ key: 'h' + i, value: i })) }, 'header_fields'],
    [{ ...BASE, barcode_format: 'qrcode' }, 'barcode_format'],
    [{ ...BASE, relevant_date: 'tomorrow' }, 'relevant_date'],
    [{ ...BASE, relevant_date: '2025-02-30T10:00:00Z' }, 'relevant_date'],
    [{ ...BASE, expiration_date: '2025-06-01T12:00:00' }, 'expiration_date'],
    [{ ...BASE, images: { icon: 'not base64!' } }, 'images.icon'],
    [{ ...BASE, images: { logo: 'http://example.com/logo.png' } }, 'images.logo'],
    [{ ...BASE, images: { banner: png } }, 'images.banner'],
    [{ ...BASE, images: { icon: 'R0lGODlhAQABAAAAACw=' } }, 'images.icon'],
    [{ ...BASE, locations: Array.from({ length: 11 }, () => ({ latitude: 1, longitude: 2 })) }, 'locations'],
    [{ ...BASE, beacons: ['x'] }, 'beacons[0]'],
    [{ ...BASE, metadata: 'free text' }, 'metadata'],
    [{ ...BASE, serial_number: 'has space' }, 'serial_number'],
    [{ ...BASE, colour: '#ffffff' }, 'colour'],
    [{ ...BASE, id: 'pass_mine' }, 'id'],
    [{ ...BASE, status: 'voided' }, 'status'],
    [{ ...BASE, event_name: 'Gig' }, 'event_name'],
    [{ ...BASE, pass_type: 'event' }, 'event_name'],
    [{ ...BASE, pass_type: 'coupon' }, 'offer_title'],
    [{ ...BASE, pass_type: 'event', event_name: 'Gig', event_start: 'soon' }, 'event_start'],
    [{ ...BASE, pass_type: 'coupon', offer_title: '10%', redemption_channel: 'mail' }, 'redemption_channel'],
    [{ ...BASE, template_id: 7 }, 'template_id'],
    [[BASE], 'body'],
  ];
  const n = count('passes', a.account);
  const u = usage(a.account);
  const e = count('events', a.account);
  for (const [body, param] of cases) {
    const r = await create(a.key, body);
    assertError(r, 400, { param, type: 'invalid_request_error' });
  }
  // unknown fields carry their own code
  assertError(await create(a.key, { ...BASE, colour: 'x' }), 400, { code: 'parameter_unknown' });
  assertError(await create(a.key, { pass_type: 'loyalty' }), 400, { param: 'organization_name', code: 'parameter_missing' });
  // not JSON, wrong type, trailing data
  assertError(await gw.request('POST', '/api/v1/passes', { key: a.key, raw: SOLSTICE + ',', headers: { 'content-type': 'application/json' } }), 400, { code: 'invalid_json' });
  assertError(await gw.request('POST', '/api/v1/passes', { key: a.key, raw: SOLSTICE, headers: { 'content-type': 'text/plain' } }), 415);
  assertError(await gw.request('POST', '/api/v1/passes?x=1', { key: a.key, body: BASE }), 400, { param: 'x' });
  assert.equal(count('passes', a.account), n, 'no pass written');
  assert.equal(usage(a.account), u, 'nothing counted');
  assert.equal(count('events', a.account), e, 'no event');
});

test('templates: the request overrides the template key by key; missing or deleted templates are 404', async () => {
  const tpl = 'tpl_' + crypto.randomBytes(8).toString('hex');
  const body = { pass_type: 'loyalty', organization_name: 'Template Org', logo_text: 'From template', background_color: '#000000', program_name: 'Beans' };
  gw.sql(`INSERT INTO templates (account_id, id, name, body) VALUES ('${a.account}', '${tpl}', 'T', '${q(JSON.stringify(body))}')`);
  const r = await create(a.key, { template_id: tpl, logo_text: 'Mine', background_color: null, primary_fields: BASE.primary_fields });
  assert.equal(r.status, 201, r.text);
  const p = r.body;
  assert.equal(p.template_id, tpl);
  assert.equal(p.organization_name, 'Template Org');
  assert.equal(p.program_name, 'Beans');
  assert.equal(p.logo_text, 'Mine');
  assert.ok(!('background_color' in p), 'null in the request unsets the template key');
  const ovr = JSON.parse(gw.sql(`SELECT overrides FROM passes WHERE id = '${p.id}'`));
  assert.deepEqual(Object.keys(ovr).sort(), ['background_color', 'logo_text', 'primary_fields']);
  // the merged pass is validated: the template's type with a field of another type
  assertError(await create(a.key, { template_id: tpl, event_name: 'Gig' }), 400, { param: 'event_name' });
  // 400 (the request's own fields) comes before 404 (the template)
  assertError(await create(a.key, { template_id: 'tpl_nothere', background_color: 'red' }), 400, { param: 'background_color' });
  const n = count('passes', a.account);
  assertError(await create(a.key, { template_id: 'tpl_nothere' }), 404, { param: 'template_id', code: 'resource_missing' });
  // another account's template is not there
  assertError(await create(b.key, { template_id: tpl }), 404, { param: 'template_id' });
  gw.sql(`UPDATE templates SET deleted_at = now() WHERE id = '${tpl}'`);
  assertError(await create(a.key, { template_id: tpl, logo_text: 'x' }), 404, { param: 'template_id' });
  assert.equal(count('passes', a.account), n);
  // the pass made from it is still readable
  assert.equal((await gw.request('GET', `/api/v1/passes/${p.id}`, { key: a.key })).body.organization_name, 'Template Org');
});

test('list: newest first, paging, filters, unknown or bad parameters are 400', async () => {
  const c = newAccount('unlimited');
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const body = i % 2 ? { ...BASE } : { pass_type: 'coupon', organization_name: 'Deals', offer_title: `${i}0% off` };
    ids.push((await create(c.key, body)).body.id);
  }
  await gw.request('DELETE', `/api/v1/passes/${ids[0]}`, { key: c.key });
  const all = await gw.request('GET', '/api/v1/passes', { key: c.key });
  assert.equal(all.status, 200);
  assert.equal(all.body.object, 'list');
  assert.deepEqual(all.body.data.map((p) => p.id), [...ids].reverse());
  assert.equal(all.body.has_more, false);
  for (const p of all.body.data) {
    for (const k of PLATFORM_KEYS) assert.ok(!(k in p), k);
  }
  const page1 = await gw.request('GET', '/api/v1/passes?limit=2', { key: c.key });
  assert.deepEqual(page1.body.data.map((p) => p.id), [ids[4], ids[3]]);
  assert.equal(page1.body.has_more, true);
  const page2 = await gw.request('GET', `/api/v1/passes?limit=2&starting_after=${ids[3]}`, { key: c.key });
  assert.deepEqual(page2.body.data.map((p) => p.id), [ids[2], ids[1]]);
  assert.equal(page2.body.has_more, true);
  const page3 = await gw.request('GET', `/api/v1/passes?limit=2&starting_after=${ids[1]}`, { key: c.key });
  assert.deepEqual(page3.body.data.map((p) => p.id), [ids[0]]);
  assert.equal(page3.body.has_more, false);

  const ids_of = async (qs) => (await gw.request('GET', '/api/v1/passes?' + qs, { key: c.key })).body.data.map((p) => p.id);
  assert.deepEqual(await ids_of('status=voided'), [ids[0]]);
  assert.deepEqual(await ids_of('status=active&pass_type=coupon'), [ids[4], ids[2]]);
  assert.deepEqual(await ids_of('pass_type=loyalty'), [ids[3], ids[1]]);
  assert.deepEqual(await ids_of('template_id=tpl_none'), []);
  const created = JSON.parse(gw.sql(`SELECT json_agg(to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ORDER BY id) FROM passes WHERE account_id = '${c.account}'`));
  assert.deepEqual(await ids_of(`created_after=${encodeURIComponent(created[2])}`), [ids[4], ids[3]]);
  assert.deepEqual(await ids_of(`created_before=${encodeURIComponent(created[2])}`), [ids[1], ids[0]]);
  assert.deepEqual(await ids_of('created_after=2000-01-01&created_before=2000-01-02'), []);
  assert.deepEqual(await ids_of('created_after=2000-01-01').then((x) => x.length), 5);

  // serial_number and barcode_message: exact matches, on their indexes (a miss is an empty list)
  const sn = all.body.data.find((p) => p.id === ids[3]).serial_number;
  assert.deepEqual(await ids_of(`serial_number=${encodeURIComponent(sn)}`), [ids[3]]);
  assert.deepEqual(await ids_of('serial_number=SN-NOPE'), []);
  assert.deepEqual(await ids_of('barcode_message=MEMBER-00421'), [ids[3], ids[1]]);
  assert.deepEqual(await ids_of(`barcode_message=MEMBER-00421&serial_number=${encodeURIComponent(sn)}`), [ids[3]]);
  assert.deepEqual(await ids_of('barcode_message=MEMBER-0042'), []);
  assert.deepEqual((await gw.request('GET', '/api/v1/passes?barcode_message=MEMBER-00421', { key: a.key })).body.data
    .filter((p) => ids.includes(p.id)), [], 'another account finds none of them');
  assert.equal(gw.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'passes_barcode_idx'"), '1');
  assertError(await gw.request('GET', `/api/v1/passes?serial_number=${'S'.repeat(80)}`, { key: c.key }), 400, { param: 'serial_number' });

  assertError(await gw.request('GET', '/api/v1/passes?colour=red', { key: c.key }), 400, { param: 'colour', code: 'parameter_unknown' });
  assertError(await gw.request('GET', '/api/v1/passes?status=gone', { key: c.key }), 400, { param: 'status' });
  assertError(await gw.request('GET', '/api/v1/passes?pass_type=boarding', { key: c.key }), 400, { param: 'pass_type' });
  assertError(await gw.request('GET', '/api/v1/passes?created_after=yesterday', { key: c.key }), 400, { param: 'created_after' });
  assertError(await gw.request('GET', '/api/v1/passes?created_before=2025-01-01T10:00', { key: c.key }), 400, { param: 'created_before' });
  assertError(await gw.request('GET', '/api/v1/passes?limit=0', { key: c.key }), 400, { param: 'limit' });
  assertError(await gw.request('GET', '/api/v1/passes?limit=101', { key: c.key }), 400, { param: 'limit' });
  assertError(await gw.request('GET', '/api/v1/passes?status=active&status=voided', { key: c.key }), 400, { param: 'status' });
});

test('PUT: unchanged content is a no-op; a real change bumps version, updated_at, meters and publishes pass.updated', async () => {
  const p = (await create(a.key, { ...BASE, back_fields: [{ key: 'terms', label: 'Terms', value: 'None' }] })).body;
  const put = (body) => gw.request('PUT', `/api/v1/passes/${p.id}`, { key: a.key, body });
  const evs = () => count('events', a.account, `AND data->'pass'->>'id' = '${p.id}'`);
  const u0 = usage(a.account);
  const e0 = evs();

  // the same values again, and an empty patch: nothing moves
  for (const body of [{ logo_text: 'Solstice', primary_fields: BASE.primary_fields }, {}, { label_color: null }]) {
    const r = await put(body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.version, 1);
    assert.equal(r.body.updated_at, p.updated_at);
  }
  assert.equal(usage(a.account), u0, 'a no-op is not counted');
  assert.equal(evs(), e0, 'a no-op publishes nothing');

  const r = await put({ logo_text: 'Solstice Rewards', primary_fields: [{ key: 'points', label: 'Points', value: '2,500' }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.version, 2);
  assert.ok(r.body.updated_at > p.updated_at, `${r.body.updated_at} > ${p.updated_at}`);
  assert.equal(r.body.created_at, p.created_at);
  assert.equal(r.body.logo_text, 'Solstice Rewards');
  assert.equal(r.body.primary_fields[0].value, '2,500');
  assert.equal(r.body.serial_number, p.serial_number);
  assert.equal(usage(a.account), u0 + 1);
  const ev = JSON.parse(gw.sql(`SELECT data FROM events WHERE account_id = '${a.account}' AND type = 'pass.updated' AND data->'pass'->>'id' = '${p.id}'`));
  assert.deepEqual(ev.changed.sort(), ['logo_text', 'primary_fields']);
  assert.equal(ev.pass.version, 2);
  assert.equal(ev.schema, 1);
  const ovr = JSON.parse(gw.sql(`SELECT overrides FROM passes WHERE id = '${p.id}'`));
  assert.ok(ovr.logo_text && ovr.primary_fields);

  // null unsets an optional field; arrays replace wholesale
  const r2 = await put({ logo_text: null, back_fields: [{ key: 'faq', label: 'FAQ', value: 'Ask' }] });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.version, 3);
  assert.ok(!('logo_text' in r2.body));
  assert.deepEqual(r2.body.back_fields, [{ key: 'faq', label: 'FAQ', value: 'Ask' }]);
  assert.deepEqual(JSON.parse(gw.sql(`SELECT data->'changed' FROM events WHERE account_id = '${a.account}' AND type = 'pass.updated' AND (data->'pass'->>'version')::int = 3 AND data->'pass'->>'id' = '${p.id}'`)).sort(), ['back_fields', 'logo_text']);

  // refused patches change nothing
  const v = (await gw.request('GET', `/api/v1/passes/${p.id}`, { key: a.key })).body;
  const u1 = usage(a.account);
  const e1 = evs();
  for (const [body, param] of [
    [{ serial_number: 'SN-NEW' }, 'serial_number'],
    [{ id: 'pass_x' }, 'id'],
    [{ status: 'voided' }, 'status'],
    [{ created_at: '2020-01-01T00:00:00Z' }, 'created_at'],
    [{ version: 9 }, 'version'],
    [{ template_id: 'tpl_x' }, 'template_id'],
    [{ organization_name: null }, 'organization_name'],
    [{ primary_fields: [{ key: '', value: 1 }] }, 'primary_fields[0].key'],
    [{ background_color: 'blue' }, 'background_color'],
    [{ colour: 'blue' }, 'colour'],
    [{ pass_type: 'event' }, 'event_name'],
    [{ back_fields: [{ key: 'points', value: 1 }] }, 'back_fields[0].key'],
  ]) {
    assertError(await put(body), 400, { param });
  }
  assertError(await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: a.key, raw: '{"logo_text": "a", "logo_text": "b"}', headers: { 'content-type': 'application/json' } }), 400);
  assert.deepEqual((await gw.request('GET', `/api/v1/passes/${p.id}`, { key: a.key })).body, v);
  assert.equal(usage(a.account), u1);
  assert.equal(evs(), e1);
  // a type change with its required field is a real change
  const r3 = await put({ pass_type: 'event', event_name: 'Tasting night', primary_fields: null });
  assert.equal(r3.status, 200, r3.text);
  assert.equal(r3.body.pass_type, 'event');
  assert.equal(gw.sql(`SELECT pass_type FROM passes WHERE id = '${p.id}'`), 'event');
  assertError(await gw.request('PUT', '/api/v1/passes/pass_nothere', { key: a.key, body: { logo_text: 'x' } }), 404, { code: 'resource_missing' });
});

test('DELETE voids: kept and readable, version bump, pass.voided; again is a no-op; a voided pass cannot change', async () => {
  const p = (await create(a.key, BASE)).body;
  const evs = (type) => count('events', a.account, `AND type = '${type}' AND data->'pass'->>'id' = '${p.id}'`);
  const u = usage(a.account);
  const d = await gw.request('DELETE', `/api/v1/passes/${p.id}`, { key: a.key });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.status, 'voided');
  assert.equal(d.body.version, 2);
  assert.ok(d.body.updated_at > p.updated_at);
  assert.equal(evs('pass.voided'), 1);
  assert.equal(usage(a.account), u, 'voiding is not metered');
  const g = await gw.request('GET', `/api/v1/passes/${p.id}`, { key: a.key });
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, d.body);
  const d2 = await gw.request('DELETE', `/api/v1/passes/${p.id}`, { key: a.key });
  assert.equal(d2.status, 200);
  assert.deepEqual(d2.body, d.body, 'voiding again changes nothing');
  assert.equal(evs('pass.voided'), 1);
  assertError(await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: a.key, body: { logo_text: 'Back' } }), 409, { param: 'status', code: 'pass_voided' });
  assertError(await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: a.key, body: {} }), 409, { param: 'status' });
  assertError(await gw.request('POST', `/api/v1/passes/${p.id}/notify`, { key: a.key, body: { message: 'hi' } }), 409, { param: 'status' });
  assert.equal(usage(a.account), u, 'refused operations are not counted');
  assert.equal(gw.sql(`SELECT status || ' ' || version FROM passes WHERE id = '${p.id}'`), 'voided 2');
  assertError(await gw.request('DELETE', '/api/v1/passes/pass_nothere', { key: a.key }), 404);
});

// A daily limit is a platform's (google-jwt holds Google Wallet's 3 a day: platform-plugin.test.mjs); the core has none.
test('notify: 202 queued, metered, pass.notify event; no daily limit of the core\'s own; bad bodies 400', async () => {
  const p = (await create(a.key, BASE)).body;
  const notify = (body, id = p.id) => gw.request('POST', `/api/v1/passes/${id}/notify`, { key: a.key, body });
  for (const [body, param] of [
    [{}, 'message'],
    [{ message: '' }, 'message'],
    [{ message: 5 }, 'message'],
    [{ message: 'x'.repeat(4097) }, 'message'],
    [{ message: 'hi', title: 'x' }, 'title'],
  ]) {
    assertError(await notify(body), 400, { param });
  }
  assert.equal((await notify({ message: 'x'.repeat(4096) })).status, 202, '4096 characters are allowed');
  const u = usage(a.account);
  const r = await notify({ message: 'Double points today!' });
  assert.equal(r.status, 202, r.text);
  assert.match(r.body.id, /^ntf_/);
  assert.equal(r.body.pass_id, p.id);
  assert.equal(r.body.message, 'Double points today!');
  assert.equal(r.body.status, 'queued');
  assert.equal(usage(a.account), u + 1);
  const ev = JSON.parse(gw.sql(`SELECT data FROM events WHERE account_id = '${a.account}' AND type = 'pass.notify' AND data->>'notification_id' = '${r.body.id}'`));
  assert.equal(ev.message, 'Double points today!');
  assert.equal(ev.pass.id, p.id);
  assert.equal((await notify({ message: 'third' })).status, 202);
  const fourth = await notify({ message: 'fourth' });
  assert.equal(fourth.status, 202, fourth.text);
  assert.equal(fourth.headers.get('retry-after'), null);
  assert.equal(usage(a.account), u + 3);
  assert.equal(count('pass_notifications', a.account, `AND pass_id = '${p.id}'`), 4);
  assertError(await notify({ message: 'x' }, 'pass_nothere'), 404);
});

test('Idempotency-Key on POST /passes: same key and body give the same pass, one row; another body is 409', async () => {
  const key = 'idem-' + crypto.randomBytes(6).toString('hex');
  const body = { ...BASE, logo_text: 'Idempotent ' + key };
  const n = count('passes', a.account);
  const r1 = await gw.request('POST', '/api/v1/passes', { key: a.key, body, headers: { 'idempotency-key': key } });
  const r2 = await gw.request('POST', '/api/v1/passes', { key: a.key, body, headers: { 'idempotency-key': key } });
  assert.equal(r1.status, 201);
  assert.equal(r2.status, 201);
  assert.equal(r2.body.id, r1.body.id);
  assert.equal(r2.headers.get('idempotent-replayed'), 'true');
  assert.equal(count('passes', a.account), n + 1);
  assertError(await gw.request('POST', '/api/v1/passes', { key: a.key, body: { ...body, logo_text: 'other' }, headers: { 'idempotency-key': key } }), 409, { param: 'Idempotency-Key' });
  assert.equal(count('passes', a.account), n + 1);
});

test('metering: a plan of 3 operations refuses the 4th with 402 and writes nothing; an ended trial is 402', async () => {
  const t = newAccount('tiny');
  const p = (await create(t.key, BASE)).body;
  assert.ok(p && p.id);
  assert.equal((await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: t.key, body: { logo_text: 'Changed' } })).status, 200);
  // a no-op update is free
  assert.equal((await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: t.key, body: { logo_text: 'Changed' } })).status, 200);
  assert.equal((await gw.request('POST', `/api/v1/passes/${p.id}/notify`, { key: t.key, body: { message: 'hi' } })).status, 202);
  const acct = await gw.request('GET', '/api/v1/account', { key: t.key });
  assert.equal(acct.body.usage.operations, 3);
  assert.equal(acct.body.usage.limit, 3);
  const e = count('events', t.account);
  assertError(await create(t.key, BASE), 402, { code: 'plan_limit_reached' });
  assertError(await gw.request('PUT', `/api/v1/passes/${p.id}`, { key: t.key, body: { logo_text: 'Again' } }), 402, { code: 'plan_limit_reached' });
  assertError(await gw.request('POST', `/api/v1/passes/${p.id}/notify`, { key: t.key, body: { message: 'hi' } }), 402, { code: 'plan_limit_reached' });
  assert.equal(count('passes', t.account), 1, 'nothing written');
  assert.equal(count('events', t.account), e, 'no event');
  assert.equal(count('pass_notifications', t.account), 1);
  const g = await gw.request('GET', `/api/v1/passes/${p.id}`, { key: t.key });
  assert.equal(g.body.logo_text, 'Changed');
  assert.equal(g.body.version, 2);
  // 400 comes before 402, 404 before 402; voiding and reads are free
  assertError(await create(t.key, { ...BASE, background_color: 'red' }), 400, { param: 'background_color' });
  assertError(await gw.request('PUT', '/api/v1/passes/pass_nothere', { key: t.key, body: { logo_text: 'x' } }), 404);
  assert.equal((await gw.request('DELETE', `/api/v1/passes/${p.id}`, { key: t.key })).status, 200);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: t.key })).body.usage.operations, 3);

  const tr = newAccount('trial');
  assert.equal((await create(tr.key, BASE)).status, 201);
  gw.sql(`UPDATE accounts SET trial_ends_at = now() - interval '1 minute' WHERE id = '${tr.account}'`);
  assertError(await create(tr.key, BASE), 402, { code: 'plan_limit_reached' });
  assert.equal(count('passes', tr.account), 1);
  assert.equal(count('events', tr.account, "AND type = 'pass.created'"), 1);
});

test('tenant isolation: account B probing A\'s pass on every route gets 404 and changes nothing', async () => {
  const p = (await create(a.key, BASE)).body;
  const before = gw.sql(`SELECT row_to_json(p)::text FROM passes p WHERE id = '${p.id}'`);
  const probes = [
    ['GET', `/api/v1/passes/${p.id}`, undefined],
    ['PUT', `/api/v1/passes/${p.id}`, { logo_text: 'Hijacked' }],
    ['PUT', `/api/v1/passes/${p.id}`, {}],
    ['DELETE', `/api/v1/passes/${p.id}`, undefined],
    ['POST', `/api/v1/passes/${p.id}/notify`, { message: 'hi' }],
  ];
  for (const [m, path, body] of probes) {
    assertError(await gw.request(m, path, { key: b.key, body }), 404, { code: 'resource_missing' });
    // and without a key, 401 rather than 404
    assertError(await gw.request(m, path, { body }), 401);
  }
  const list = await gw.request('GET', '/api/v1/passes?limit=100', { key: b.key });
  assert.ok(!list.body.data.some((x) => x.id === p.id));
  const listAfter = await gw.request('GET', `/api/v1/passes?starting_after=${p.id}&limit=100`, { key: b.key });
  assert.ok(listAfter.body.data.every((x) => gw.sql(`SELECT account_id FROM passes WHERE id = '${x.id}'`) === b.account));
  assert.equal(gw.sql(`SELECT row_to_json(p)::text FROM passes p WHERE id = '${p.id}'`), before);
  assertError(await gw.request('GET', '/api/v1/passes'), 401);
  assertError(await gw.request('POST', '/api/v1/passes', { body: BASE }), 401);
});

test('the core mints no per-pass secret: a platform\'s are its plugin\'s (pass_secrets, empty here)', async () => {
  const p1 = (await create(a.key, BASE)).body;
  assert.equal(gw.sql(`SELECT count(*) FROM pass_secrets WHERE pass_id = '${p1.id}'`), '0');
  assert.equal(gw.sql(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'passes' AND column_name = 'auth_token'`), '0');
  // nothing token-shaped reaches events or bodies
  assert.equal(gw.sql(`SELECT count(*) FROM events WHERE data::text ILIKE '%token%'`), '0');
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE body::text ILIKE '%token%'`), '0');
});

test('with filters: pass.validate refusals and changes, pass.links links; refusals write nothing', async () => {
  const g = await startGateway({ config: { plugin_dir: FIXTURES, plugins: [{ name: 'passcheck' }, { name: 'passlinks' }] } });
  try {
    const k = g.account();
    const rows = () => Number(g.sql(`SELECT count(*) FROM passes WHERE account_id = '${k.account}'`));
    const evs = () => Number(g.sql(`SELECT count(*) FROM events WHERE account_id = '${k.account}'`));
    const ops = () => Number(g.sql(`SELECT coalesce(sum(operations), 0) FROM usage_counter_rows WHERE account_id = '${k.account}'`));
    const post = (body) => g.request('POST', '/api/v1/passes', { key: k.key, body });

    const r = await post({ ...BASE, description: 'normalize me' });
    assert.equal(r.status, 201, r.text);
    const p = r.body;
    assert.equal(p.description, 'normalized', 'a filter may change the body');
    assert.equal(p.pkpass_url, `https://links.test/${p.id}/v1`);
    assert.equal(p.google_save_url, null, 'a link that is not a string is null');
    assert.equal(p.status, 'active', 'the filter works on a copy of the resource');
    // the filter's keys sit after pass_type, sorted by name whatever order it added them in; keys
    // that are core fields (the resource's own, the pass's body fields) or not key names are refused
    assert.deepEqual(Object.keys(p).slice(0, 7), ['id', 'object', 'serial_number', 'pass_type', 'google_save_url',
      'pkpass_url', 'share_url']);
    assert.equal(p.description, 'normalized', 'a contributed "description" does not replace the body field');
    assert.match(p.share_url, /\/p\/pass_/, 'nor "share_url" the core\'s own');
    assert.ok(!('Bad-Key' in p) && !('schema' in p) && !('want_links' in p) && !('share_buttons' in p));
    const ev = JSON.parse(g.sql(`SELECT data FROM events WHERE account_id = '${k.account}' AND type = 'pass.created'`));
    assert.equal(ev.pass.pkpass_url, p.pkpass_url);
    assert.equal((await g.request('GET', `/api/v1/passes/${p.id}`, { key: k.key })).body.pkpass_url, p.pkpass_url);
    const list = await g.request('GET', '/api/v1/passes', { key: k.key });
    assert.equal(list.body.data[0].pkpass_url, p.pkpass_url);

    const n = rows(), e = evs(), o = ops();
    assertError(await post({ ...BASE, locations: [{ latitude: 100, longitude: 0 }] }), 400, { param: 'locations[0].latitude', code: 'invalid_location' });
    const echo = assertError(await post({ ...BASE, logo_text: 'echo' }), 400, { param: 'logo_text', code: 'echo' });
    assert.match(echo.message, /^mode=create /);
    assertError(await post({ ...BASE, organization_name: 'links refuse' }), 409, { param: 'organization_name', code: 'links_refused' });
    const upd = assertError(await g.request('PUT', `/api/v1/passes/${p.id}`, { key: k.key, body: { logo_text: 'echo' } }), 400, { code: 'echo' });
    assert.match(upd.message, /^mode=update /);
    assertError(await g.request('PUT', `/api/v1/passes/${p.id}`, { key: k.key, body: { organization_name: 'links refuse' } }), 409, { code: 'links_refused' });
    assert.equal(rows(), n, 'no pass written');
    assert.equal(evs(), e, 'no event');
    assert.equal(ops(), o, 'nothing counted');
    const cur = (await g.request('GET', `/api/v1/passes/${p.id}`, { key: k.key })).body;
    assert.equal(cur.version, 1);
    assert.equal(cur.logo_text, 'Solstice');

    const u = await g.request('PUT', `/api/v1/passes/${p.id}`, { key: k.key, body: { logo_text: 'New' } });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.body.pkpass_url, `https://links.test/${p.id}/v2`);
  } finally {
    await g.stop();
  }
});
