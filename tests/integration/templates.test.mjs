// /api/v1/templates: CRUD, validation, isolation, and propagation to passes (the templates.propagate job).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startGateway, assertError, waitFor, BIN } from './lib/harness.mjs';

// The passcheck fixture plugin (tests/fixtures/plugins/pass_check.c) stands in for geofence on pass.validate.
const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const FIXTURES = path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins');

let gw, a, b;

const base = {
  pass_type: 'loyalty',
  organization_name: 'Solstice Coffee Co.',
  logo_text: 'Solstice',
  background_color: '#1a1a2e',
  foreground_color: '#ffffff',
  primary_fields: [{ key: 'points', label: 'Points', value: '0' }],
};

before(async () => {
  gw = await startGateway({
    config: { jobs: { workers: 2, poll_ms: 200, lease_seconds: 30 }, plugin_dir: FIXTURES, plugins: [{ name: 'passcheck' }] },
  });
  a = gw.account();
  b = gw.account();
});
after(async () => gw && gw.stop());

const create = (who, body, name = 'Loyalty card') =>
  gw.request('POST', '/api/v1/templates', { key: who.key, body: { name, body } });

test('templates: create, read, list, update, delete', async () => {
  const c = await create(a, base);
  assert.equal(c.status, 201, c.text);
  const t = c.body;
  assert.match(t.id, /^tpl_[0-7][0-9a-hjkmnp-tv-z]{25}$/);
  assert.equal(t.object, 'template');
  assert.equal(t.name, 'Loyalty card');
  assert.deepEqual(t.body, base);
  assert.equal(t.version, 1);
  assert.match(t.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.equal(t.updated_at, t.created_at);

  const g = await gw.request('GET', `/api/v1/templates/${t.id}`, { key: a.key });
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(g.body, t);

  const l = await gw.request('GET', '/api/v1/templates', { key: a.key });
  assert.equal(l.status, 200);
  assert.ok(l.body.data.some((x) => x.id === t.id));

  // Partial update: a key changed, a key unset (null), the rest kept.
  const u = await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: a.key, body: { body: { logo_text: 'Solstice Roasters', foreground_color: null } },
  });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.version, 2);
  assert.equal(u.body.propagation, null);
  const want = { ...base, logo_text: 'Solstice Roasters' };
  delete want.foreground_color;
  assert.deepEqual(u.body.body, want);
  assert.ok(u.body.updated_at >= t.updated_at);

  // The same values again, and unsetting a key that is not set: no-op, no version bump.
  const same = await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: a.key, body: { name: 'Loyalty card', body: { logo_text: 'Solstice Roasters', label_color: null } },
  });
  assert.equal(same.status, 200, same.text);
  assert.equal(same.body.version, 2);
  assert.equal(same.body.updated_at, u.body.updated_at);
  // Arrays replace wholesale; a name change is a change too.
  const arr = await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: a.key, body: { name: 'Gold card', body: { primary_fields: [{ key: 'tier', label: 'Tier', value: 'Gold' }] } },
  });
  assert.equal(arr.status, 200, arr.text);
  assert.equal(arr.body.version, 3);
  assert.equal(arr.body.name, 'Gold card');
  assert.deepEqual(arr.body.body.primary_fields, [{ key: 'tier', label: 'Tier', value: 'Gold' }]);
  const nameOnly = await gw.request('PUT', `/api/v1/templates/${t.id}`, { key: a.key, body: { name: 'Gold card' } });
  assert.equal(nameOnly.body.version, 3);

  const d = await gw.request('DELETE', `/api/v1/templates/${t.id}`, { key: a.key });
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.body, { id: t.id, object: 'template', deleted: true });
  assertError(await gw.request('GET', `/api/v1/templates/${t.id}`, { key: a.key }), 404, { code: 'resource_missing' });
  assertError(await gw.request('PUT', `/api/v1/templates/${t.id}`, { key: a.key, body: { name: 'x' } }), 404);
  assertError(await gw.request('DELETE', `/api/v1/templates/${t.id}`, { key: a.key }), 404);
  const l2 = await gw.request('GET', '/api/v1/templates', { key: a.key });
  assert.ok(!l2.body.data.some((x) => x.id === t.id));
  // Soft delete: the row is kept for the passes that reference it.
  assert.equal(gw.sql(`SELECT deleted_at IS NOT NULL FROM templates WHERE id = '${t.id}'`), 't');
});

test('templates: null members are dropped on create; an empty body is a template', async () => {
  const c = await create(a, { logo_text: 'X', description: null });
  assert.equal(c.status, 201, c.text);
  assert.deepEqual(c.body.body, { logo_text: 'X' });
  const e = await create(a, {});
  assert.equal(e.status, 201, e.text);
  assert.deepEqual(e.body.body, {});
});

test('templates: POST honours Idempotency-Key', async () => {
  const key = 'tpl-' + crypto.randomBytes(6).toString('hex');
  const send = (body) => gw.request('POST', '/api/v1/templates', { key: a.key, body, headers: { 'Idempotency-Key': key } });
  const r1 = await send({ name: 'Once', body: { logo_text: 'Once' } });
  assert.equal(r1.status, 201, r1.text);
  const r2 = await send({ name: 'Once', body: { logo_text: 'Once' } });
  assert.equal(r2.status, 201, r2.text);
  assert.equal(r2.body.id, r1.body.id);
  assertError(await send({ name: 'Twice', body: {} }), 409);
  assert.equal(gw.sql(`SELECT count(*) FROM templates WHERE account_id = '${a.account}' AND name = 'Once'`), '1');
});

test('templates: list pages newest first with limit, starting_after and has_more', async () => {
  const c = gw.account();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await create(c, { logo_text: `n${i}` }, `t${i}`)).body.id);
  const p1 = await gw.request('GET', '/api/v1/templates?limit=2', { key: c.key });
  assert.equal(p1.body.object, 'list');
  assert.deepEqual(p1.body.data.map((x) => x.id), [ids[2], ids[1]]);
  assert.equal(p1.body.has_more, true);
  const p2 = await gw.request('GET', `/api/v1/templates?limit=2&starting_after=${ids[1]}`, { key: c.key });
  assert.deepEqual(p2.body.data.map((x) => x.id), [ids[0]]);
  assert.equal(p2.body.has_more, false);
});

test('templates: bad requests are 400 naming the field (body fields as body.<field>)', async () => {
  const cases = [
    [{}, 'name', 'parameter_missing'],
    [{ name: 'x' }, 'body', 'parameter_missing'],
    [{ name: '', body: {} }, 'name'],
    [{ name: 5, body: {} }, 'name'],
    [{ name: 'x'.repeat(201), body: {} }, 'name'],
    [{ name: 'x', body: [] }, 'body'],
    [{ name: 'x', body: {}, fields: 1 }, 'fields', 'parameter_unknown'],
    [{ name: 'x', body: { primary_fields: [{ key: 5, label: 'a', value: 'b' }] } }, 'body.primary_fields[0].key'],
    [{ name: 'x', body: { primary_fields: [{ label: 'a', value: 'b' }] } }, 'body.primary_fields[0]'],
    [{ name: 'x', body: { header_fields: [{ key: 'a', value: '1' }], back_fields: [{ key: 'a', value: '2' }] } },
      'body.back_fields[0].key'],
    [{ name: 'x', body: { background_color: 'red' } }, 'body.background_color'],
    [{ name: 'x', body: { relevant_date: 'tomorrow' } }, 'body.relevant_date'],
    [{ name: 'x', body: { barcode_format: 'qr2' } }, 'body.barcode_format'],
    [{ name: 'x', body: { pass_type: 'boarding' } }, 'body.pass_type'],
    [{ name: 'x', body: { pass_type: 'event', offer_title: 'x' } }, 'body.offer_title'],
    [{ name: 'x', body: { serial_number: 'SN-1' } }, 'body.serial_number'],
    [{ name: 'x', body: { template_id: 'tpl_x' } }, 'body.template_id'],
    [{ name: 'x', body: { colour: '#000000' } }, 'body.colour', 'parameter_unknown'],
    [{ name: 'x', body: { images: { banner: 'iVBORw0KGgo=' } } }, 'body.images.banner', 'parameter_unknown'],
    [{ name: 'x', body: { locations: [1] } }, 'body.locations[0]'],
  ];
  for (const [req, param, code] of cases) {
    const r = await gw.request('POST', '/api/v1/templates', { key: a.key, body: req });
    assertError(r, 400, { param, ...(code ? { code } : {}) });
  }
  assert.equal(gw.sql(`SELECT count(*) FROM templates WHERE account_id = '${a.account}' AND name = 'x'`), '0');
  assertError(await gw.request('POST', '/api/v1/templates', { key: a.key, raw: '{"name":"x","body":{},}',
    headers: { 'content-type': 'application/json' } }), 400);
  assertError(await gw.request('POST', '/api/v1/templates', { key: a.key, raw: '{"name":"x","body":{}}',
    headers: { 'content-type': 'text/plain' } }), 415);
  assertError(await gw.request('POST', '/api/v1/templates', { body: { name: 'x', body: {} } }), 401);

  const t = (await create(a, base)).body;
  const put = [
    [{ name: null }, 'name'],
    [{ body: null }, 'body'],
    [{ propagate: 'yes' }, 'propagate'],
    [{ fields: {} }, 'fields', 'parameter_unknown'],
    [{ body: { background_color: '#zzzzzz' } }, 'body.background_color'],
    [{ body: { serial_number: 'SN-2' } }, 'body.serial_number'],
    // Valid alone, wrong next to the stored keys: points is not an event field.
    [{ body: { pass_type: 'event', points: 5 } }, 'body.points'],
    // Duplicate field key across the stored primary_fields and the new back_fields.
    [{ body: { back_fields: [{ key: 'points', value: 'x' }] } }, 'body.back_fields[0].key'],
  ];
  for (const [req, param, code] of put) {
    const r = await gw.request('PUT', `/api/v1/templates/${t.id}`, { key: a.key, body: req });
    assertError(r, 400, { param, ...(code ? { code } : {}) });
  }
  const still = await gw.request('GET', `/api/v1/templates/${t.id}`, { key: a.key });
  assert.equal(still.body.version, 1);
  assert.deepEqual(still.body.body, base);
  // 400 before 404: an invalid update of an unknown id is a 400.
  assertError(await gw.request('PUT', '/api/v1/templates/tpl_00000000000000000000000000',
    { key: a.key, body: { body: { background_color: 'red' } } }), 400, { param: 'body.background_color' });

  assertError(await gw.request('GET', '/api/v1/templates?limit=0', { key: a.key }), 400, { param: 'limit' });
  assertError(await gw.request('GET', '/api/v1/templates?starting_after=pass_1', { key: a.key }), 400,
    { param: 'starting_after' });
  assertError(await gw.request('GET', '/api/v1/templates?name=x', { key: a.key }), 400, { param: 'name' });
  assertError(await gw.request('GET', `/api/v1/templates/${t.id}?x=1`, { key: a.key }), 400, { param: 'x' });
});

test('templates: pass.validate filters check template bodies; their errors name body.<field>', async () => {
  const bad = await create(a, { ...base, locations: [{ latitude: 10, longitude: 0 }, { latitude: 100, longitude: 0 }] });
  assertError(bad, 400, { param: 'body.locations[1].latitude', code: 'invalid_location' });
  // The filter sees the pass service's document with mode "template" and the new template's id.
  const echo = await create(a, { logo_text: 'echo' });
  const e = assertError(echo, 400, { param: 'body.logo_text', code: 'echo' });
  assert.match(e.message, /^mode=template template_id=tpl_[0-9a-z]{26}$/);
  // A filter may rewrite the body; what it wrote is stored.
  const norm = await create(a, { description: 'normalize me' });
  assert.equal(norm.status, 201, norm.text);
  assert.equal(norm.body.body.description, 'normalized');
  // Updates run the filters over the merged body, naming the template being updated.
  const t = (await create(a, base)).body;
  assertError(await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: a.key, body: { body: { locations: [{ latitude: -91, longitude: 0 }] } },
  }), 400, { param: 'body.locations[0].latitude', code: 'invalid_location' });
  const pe = assertError(await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: a.key, body: { body: { logo_text: 'echo' } },
  }), 400, { code: 'echo' });
  assert.equal(pe.message, `mode=template template_id=${t.id}`);
  const ok = await gw.request('PUT', `/api/v1/templates/${t.id}`, { key: a.key, body: { body: { description: 'normalize me' } } });
  assert.equal(ok.body.body.description, 'normalized');
  assert.equal(ok.body.version, 2);
});

test('templates: another account gets 404 on every route, and changes nothing', async () => {
  const t = (await create(a, base, 'A only')).body;
  assertError(await gw.request('GET', `/api/v1/templates/${t.id}`, { key: b.key }), 404, { code: 'resource_missing' });
  assertError(await gw.request('PUT', `/api/v1/templates/${t.id}`, { key: b.key, body: { name: 'stolen' } }), 404);
  assertError(await gw.request('PUT', `/api/v1/templates/${t.id}`,
    { key: b.key, body: { body: { logo_text: 'B' }, propagate: true } }), 404);
  assertError(await gw.request('DELETE', `/api/v1/templates/${t.id}`, { key: b.key }), 404);
  const lb = await gw.request('GET', '/api/v1/templates?limit=100', { key: b.key });
  assert.ok(!lb.body.data.some((x) => x.id === t.id));
  // starting_after with A's id pages B's own templates only.
  const lb2 = await gw.request('GET', `/api/v1/templates?starting_after=${t.id}`, { key: b.key });
  assert.equal(lb2.status, 200);
  assert.ok(lb2.body.data.every((x) => !x.name.startsWith('A only')));
  const g = await gw.request('GET', `/api/v1/templates/${t.id}`, { key: a.key });
  assert.equal(g.body.name, 'A only');
  assert.equal(g.body.version, 1);
  assert.equal(gw.sql(`SELECT count(*) FROM jobs WHERE kind = 'templates.propagate' AND account_id = '${b.account}'`), '0');
  // Unauthenticated id routes are 401, not 404.
  assertError(await gw.request('GET', `/api/v1/templates/${t.id}`), 401);
  assertError(await gw.request('PUT', `/api/v1/templates/${t.id}`, { body: { name: 'x' } }), 401);
  assertError(await gw.request('DELETE', `/api/v1/templates/${t.id}`), 401);
});

// ---- propagation ----

let passSeq = 0;
/** Inserts a pass of `tpl`: body = template body merged with own keys; overrides = own keys. */
function insertPass(who, tplBody, tplId, own = {}, { status = 'active' } = {}) {
  const id = 'pass_' + crypto.randomBytes(13).toString('hex').slice(0, 26);
  const serial = `SN-T${++passSeq}-${crypto.randomBytes(3).toString('hex')}`;
  const body = { ...tplBody, ...own };
  const overrides = Object.fromEntries(Object.keys(own).map((k) => [k, true]));
  const q = (o) => `'${JSON.stringify(o).replace(/'/g, "''")}'::jsonb`;
  gw.sql(`INSERT INTO passes (account_id, id, serial_number, pass_type, status, template_id, body, overrides)
          VALUES ('${who.account}', '${id}', '${serial}', '${body.pass_type}', '${status}', '${tplId}', ${q(body)},
                  ${q(overrides)})`);
  return id;
}
const passRow = (id) => {
  const [version, body] = gw.sql(`SELECT version, body::text FROM passes WHERE id = '${id}'`).split('|');
  return { version: Number(version), body: JSON.parse(body) };
};
const updatedEvents = (who, id) =>
  gw.sql(`SELECT data::text FROM events WHERE account_id = '${who.account}' AND type = 'pass.updated'
          AND data->'pass'->>'id' = '${id}' ORDER BY id`).split('\n').filter(Boolean).map((l) => JSON.parse(l));
// Generous: a propagation job runs one statement per pass, which a busy machine makes slow.
const jobDone = (jobId, timeout = 60000) =>
  waitFor(() => gw.sql(`SELECT status FROM jobs WHERE id = '${jobId}'`) === 'done', { timeout, interval: 200, what: `job ${jobId} done` });

test('templates: propagate re-renders passes that do not override the changed keys', async () => {
  const t = (await create(a, base, 'Propagated')).body;
  const other = (await create(a, base, 'Other')).body;
  const plain = insertPass(a, t.body, t.id);
  const ownColor = insertPass(a, t.body, t.id, { background_color: '#222222' });
  const ownBoth = insertPass(a, t.body, t.id, { background_color: '#444444', logo_text: 'Mine' });
  const voided = insertPass(a, t.body, t.id, {}, { status: 'voided' });
  const elsewhere = insertPass(a, other.body, other.id);

  const u = await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: a.key, body: { body: { background_color: '#333333', logo_text: null }, propagate: true },
  });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.version, 2);
  assert.match(u.body.propagation.job_id, /^job_/);
  assert.equal(u.body.propagation.status, 'queued');
  assert.deepEqual(u.body.propagation.keys, ['background_color', 'logo_text']);
  const payload = JSON.parse(gw.sql(`SELECT payload::text FROM jobs WHERE id = '${u.body.propagation.job_id}'`));
  assert.deepEqual(payload, { account_id: a.account, template_id: t.id, version: 2, keys: ['background_color', 'logo_text'] });
  await jobDone(u.body.propagation.job_id);

  const p1 = passRow(plain);
  assert.equal(p1.version, 2);
  assert.equal(p1.body.background_color, '#333333');
  assert.ok(!('logo_text' in p1.body));
  const e1 = updatedEvents(a, plain);
  assert.equal(e1.length, 1);
  assert.equal(e1[0].schema, 1);
  assert.deepEqual(e1[0].changed, ['background_color', 'logo_text']);
  assert.equal(e1[0].pass.id, plain);
  assert.equal(e1[0].pass.version, 2);
  assert.equal(e1[0].pass.background_color, '#333333');
  assert.equal(e1[0].pass.template_id, t.id);

  const p2 = passRow(ownColor);
  assert.equal(p2.version, 2);
  assert.equal(p2.body.background_color, '#222222');
  assert.ok(!('logo_text' in p2.body));
  assert.deepEqual(updatedEvents(a, ownColor).map((e) => e.changed), [['logo_text']]);

  for (const id of [ownBoth, voided, elsewhere]) {
    assert.equal(passRow(id).version, 1, id);
    assert.equal(updatedEvents(a, id).length, 0, id);
  }
  assert.equal(passRow(ownBoth).body.logo_text, 'Mine');
  assert.equal(passRow(voided).body.background_color, base.background_color);

  // The same job run again (a retry after a crash) changes nothing: values are compared.
  gw.sql(`UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), finished_at = NULL
          WHERE id = '${u.body.propagation.job_id}'`);
  await jobDone(u.body.propagation.job_id);
  assert.equal(Number(gw.sql(`SELECT attempts FROM jobs WHERE id = '${u.body.propagation.job_id}'`)), 1);
  assert.equal(passRow(plain).version, 2);
  assert.equal(updatedEvents(a, plain).length, 1);
});

test('templates: an update without propagate leaves passes; propagate with no change pushes the whole template', async () => {
  const t = (await create(a, base, 'Later')).body;
  const p = insertPass(a, t.body, t.id);
  const own = insertPass(a, t.body, t.id, { foreground_color: '#000000' });
  const u = await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: a.key, body: { body: { foreground_color: '#eeeeee', description: 'Members' } },
  });
  assert.equal(u.body.version, 2);
  assert.equal(u.body.propagation, null);
  assert.equal(gw.sql(`SELECT count(*) FROM jobs WHERE kind = 'templates.propagate' AND payload->>'template_id' = '${t.id}'`), '0');
  assert.equal(passRow(p).version, 1);

  const again = await gw.request('PUT', `/api/v1/templates/${t.id}`, { key: a.key, body: { propagate: true } });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.version, 2); // no change to the template itself
  assert.equal(again.body.propagation.keys, null);
  await jobDone(again.body.propagation.job_id);
  const r = passRow(p);
  assert.equal(r.version, 2);
  assert.equal(r.body.foreground_color, '#eeeeee');
  assert.equal(r.body.description, 'Members');
  assert.deepEqual(updatedEvents(a, p)[0].changed.sort(), ['description', 'foreground_color']);
  const ro = passRow(own);
  assert.equal(ro.body.foreground_color, '#000000');
  assert.equal(ro.body.description, 'Members');
});

test('templates: a change that would make a pass invalid leaves that pass alone', async () => {
  const t = (await create(a, base, 'Risky')).body;
  const p = insertPass(a, t.body, t.id);
  const own = insertPass(a, t.body, t.id, { organization_name: 'Own Org' });
  // organization_name is required on a pass: unsetting it on the template cannot reach p.
  const u = await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: a.key, body: { body: { organization_name: null, logo_text: 'New' }, propagate: true },
  });
  assert.equal(u.status, 200, u.text);
  await jobDone(u.body.propagation.job_id);
  assert.equal(passRow(p).version, 1);
  assert.equal(passRow(p).body.organization_name, base.organization_name);
  assert.equal(updatedEvents(a, p).length, 0);
  const ro = passRow(own);
  assert.equal(ro.version, 2);
  assert.equal(ro.body.logo_text, 'New');
  assert.equal(ro.body.organization_name, 'Own Org');
});

test('templates: propagation goes through every pass in chunks, and a deleted template keeps its passes', async () => {
  const c = gw.account();
  const t = (await create(c, base, 'Big')).body;
  const n = 1234; // more than two chunks of 500
  const body = JSON.stringify(t.body).replace(/'/g, "''");
  gw.sql(`INSERT INTO passes (account_id, id, serial_number, pass_type, template_id, body)
          SELECT '${c.account}', 'pass_big' || lpad(g::text, 6, '0'), 'SN-BIG-' || g, 'loyalty', '${t.id}',
                 '${body}'::jsonb FROM generate_series(1, ${n}) g`);
  const u = await gw.request('PUT', `/api/v1/templates/${t.id}`, {
    key: c.key, body: { body: { logo_text: 'Everyone' }, propagate: true },
  });
  assert.equal(u.status, 200, u.text);
  await jobDone(u.body.propagation.job_id, 300000); // 1234 passes: 40 s seen with two busy loops beside the suite
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${c.account}' AND version = 2
                       AND body->>'logo_text' = 'Everyone'`), String(n));
  assert.equal(gw.sql(`SELECT count(*) FROM events WHERE account_id = '${c.account}' AND type = 'pass.updated'`), String(n));

  const d = await gw.request('DELETE', `/api/v1/templates/${t.id}`, { key: c.key });
  assert.equal(d.status, 200, d.text);
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${c.account}' AND template_id = '${t.id}'`), String(n));
});

test('templates: passes made through POST /api/v1/passes follow their template; deleted templates make none', async (t) => {
  const probe = await gw.request('GET', '/api/v1/passes', { key: a.key });
  if (probe.status === 404 && probe.body?.error?.code === 'route_not_found') {
    t.skip('POST /api/v1/passes is not built yet');
    return;
  }
  const c = gw.account();
  const tpl = (await create(c, base, 'Via the API')).body;
  const mk = async (extra) => {
    const r = await gw.request('POST', '/api/v1/passes', { key: c.key, body: { template_id: tpl.id, ...extra } });
    assert.equal(r.status, 201, r.text);
    return r.body.id;
  };
  const plain = await mk({});
  const own = await mk({ background_color: '#222222' });
  assert.equal(passRow(plain).body.logo_text, 'Solstice');

  const u = await gw.request('PUT', `/api/v1/templates/${tpl.id}`, {
    key: c.key, body: { body: { background_color: '#333333', logo_text: 'Roasters' }, propagate: true },
  });
  assert.equal(u.status, 200, u.text);
  await jobDone(u.body.propagation.job_id);
  const g1 = (await gw.request('GET', `/api/v1/passes/${plain}`, { key: c.key })).body;
  assert.equal(g1.version, 2);
  assert.equal(g1.background_color, '#333333');
  assert.equal(g1.logo_text, 'Roasters');
  assert.equal(g1.template_id, tpl.id);
  const g2 = (await gw.request('GET', `/api/v1/passes/${own}`, { key: c.key })).body;
  assert.equal(g2.version, 2);
  assert.equal(g2.background_color, '#222222');
  assert.equal(g2.logo_text, 'Roasters');
  const ev = (await gw.request('GET', '/api/v1/events?type=pass.updated', { key: c.key })).body.data;
  const changedOf = (id) => ev.filter((e) => e.data.pass.id === id).map((e) => e.data.changed);
  assert.deepEqual(changedOf(plain), [['background_color', 'logo_text']]);
  assert.deepEqual(changedOf(own), [['logo_text']]);

  // Another account cannot build on this template.
  assertError(await gw.request('POST', '/api/v1/passes', { key: b.key, body: { template_id: tpl.id } }), 404,
    { param: 'template_id' });
  // Deleted: no new passes from it; the existing ones keep working.
  assert.equal((await gw.request('DELETE', `/api/v1/templates/${tpl.id}`, { key: c.key })).status, 200);
  assertError(await gw.request('POST', '/api/v1/passes', { key: c.key, body: { template_id: tpl.id } }), 404,
    { param: 'template_id' });
  const after = await gw.request('GET', `/api/v1/passes/${plain}`, { key: c.key });
  assert.equal(after.status, 200, after.text);
  assert.equal(after.body.template_id, tpl.id);
  assert.equal(after.body.logo_text, 'Roasters');
});
