// The access log: every API request recorded off the request path,
// GET /api/v1/logs with filters, paging and CSV export, scoped per account,
// and never holding a secret.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, assertError, waitFor, sleep } from './lib/harness.mjs';

let gw, a, b;
const mine = []; // { requestId, method, path, status } of A's requests, oldest first

before(async () => {
  gw = await startGateway({ config: { access_log: { flush_interval_ms: 50 } } });
  a = gw.account('Logs A');
  b = gw.account('Logs B');
});
after(async () => gw && gw.stop());

async function call(who, method, path, opts = {}) {
  const r = await gw.request(method, path, { key: who.key, ...opts });
  if (who === a) mine.push({ requestId: r.headers.get('request-id'), method, path: path.split('?')[0], status: r.status });
  return r;
}

/** Logs rows visible to `who` (JSON, all pages of 100). */
async function allLogs(who, query = '') {
  const rows = [];
  let after = '';
  for (;;) {
    const sep = query ? '&' : '';
    const r = await gw.request('GET', `/api/v1/logs?${query}${sep}limit=100${after ? '&starting_after=' + after : ''}`, { key: who.key });
    assert.equal(r.status, 200, r.text);
    rows.push(...r.body.data);
    if (!r.body.has_more) return rows;
    after = r.body.data[r.body.data.length - 1].id;
  }
}

/** RFC 4180: fields separated by commas, optionally quoted with "" escaping, CRLF or LF records. */
function parseCsv(text) {
  const records = [];
  let rec = [], field = '', i = 0, quoted = false, wasQuoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      field += c; i++; continue;
    }
    if (c === '"') {
      if (field !== '' || wasQuoted) throw new Error(`stray quote at ${i}`);
      quoted = true; wasQuoted = true; i++; continue;
    }
    if (c === ',') { rec.push(field); field = ''; wasQuoted = false; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') i++;
    if (text[i] === '\n') { rec.push(field); records.push(rec); rec = []; field = ''; wasQuoted = false; i++; continue; }
    if (wasQuoted) throw new Error(`data after closing quote at ${i}`);
    field += c; i++;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || rec.length) { rec.push(field); records.push(rec); }
  return records;
}

test('parseCsv itself follows RFC 4180', () => {
  assert.deepEqual(parseCsv('a,b\r\n"x,1","say ""hi"""\n"multi\nline",\n'), [['a', 'b'], ['x,1', 'say "hi"'], ['multi\nline', '']]);
  assert.throws(() => parseCsv('"a"b\n'));
  assert.throws(() => parseCsv('"abc\n'));
});

let t0, t1;
test('requests are recorded asynchronously with time, ip, method, path, status, latency, key prefix, request id', async () => {
  t0 = new Date(Date.now() - 1000).toISOString();
  await call(a, 'GET', '/api/v1/account');
  await call(a, 'POST', '/api/v1/api_keys', { body: { name: 'logged' } });
  await call(a, 'GET', '/api/v1/api_keys?limit=0');              // 400
  await call(a, 'DELETE', '/api/v1/api_keys/key_nothere');       // 404
  await call(a, 'DELETE', '/api/v1/api_keys/a%22b%2Cc%0Ad');     // 404, a path with a quote, comma and newline
  await call(a, 'GET', '/api/v1/account');
  await call(b, 'GET', '/api/v1/account');
  await call(b, 'DELETE', '/api/v1/api_keys/key_b_only');
  t1 = new Date(Date.now() + 1000).toISOString();

  const ids = mine.map((m) => m.requestId);
  await waitFor(() => gw.sql(`SELECT count(*) FROM access_logs WHERE request_id IN (${ids.map((i) => `'${i}'`).join(',')})`) === String(ids.length),
    { what: 'access log rows for every request' });

  const rows = await allLogs(a);
  for (const m of mine) {
    const row = rows.find((r) => r.request_id === m.requestId);
    assert.ok(row, `row for ${m.method} ${m.path}`);
    assert.equal(row.method, m.method);
    assert.equal(row.status, m.status);
    assert.equal(row.ip, '127.0.0.1');
    assert.equal(row.key_prefix, a.key.slice(0, 14));
    assert.equal(row.kind, 'api');
    assert.match(row.id, /^log_\d+$/);
    assert.match(row.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    assert.ok(row.time >= t0.slice(0, 19) && row.time <= t1, row.time);
    assert.equal(typeof row.latency_ms, 'number');
    assert.ok(row.latency_ms >= 0 && row.latency_ms < 600000, `latency_ms ${row.latency_ms}: milliseconds`);
  }
  // paths are stored decoded and without the query string
  assert.ok(rows.some((r) => r.path === '/api/v1/api_keys/a"b,c\nd'));
  assert.ok(rows.some((r) => r.path === '/api/v1/api_keys' && r.status === 400));
  // newest first
  for (let i = 1; i < rows.length; i++) assert.ok(Number(rows[i - 1].id.slice(4)) > Number(rows[i].id.slice(4)));
});

test('status filter: a code or a class', async () => {
  const r404 = await allLogs(a, 'status=404');
  assert.ok(r404.length >= 2);
  assert.ok(r404.every((r) => r.status === 404));
  const r4xx = await allLogs(a, 'status=4xx');
  assert.ok(r4xx.every((r) => r.status >= 400 && r.status < 500));
  assert.ok(r4xx.some((r) => r.status === 400) && r4xx.some((r) => r.status === 404));
  const r2xx = await allLogs(a, 'status=2xx');
  assert.ok(r2xx.some((r) => r.status === 201) && r2xx.some((r) => r.status === 200));
  assert.ok(r2xx.every((r) => r.status >= 200 && r.status < 300));
  assert.equal((await allLogs(a, 'status=5xx')).length, 0);
  assert.equal((await allLogs(a, 'status=418')).length, 0);
});

test('path_prefix, ip and method filters', async () => {
  const keys = await allLogs(a, 'path_prefix=/api/v1/api_keys');
  assert.ok(keys.length >= 4);
  assert.ok(keys.every((r) => r.path.startsWith('/api/v1/api_keys')));
  const acct = await allLogs(a, 'path_prefix=' + encodeURIComponent('/api/v1/account'));
  assert.ok(acct.length >= 2 && acct.every((r) => r.path === '/api/v1/account'));
  // LIKE wildcards in the prefix match literally
  assert.equal((await allLogs(a, 'path_prefix=' + encodeURIComponent('/api/v1/%'))).length, 0);
  assert.equal((await allLogs(a, 'path_prefix=/api/v1/api_keys/a_b')).length, 0);

  assert.ok((await allLogs(a, 'ip=127.0.0.1')).length >= mine.length);
  assert.equal((await allLogs(a, 'ip=10.1.2.3')).length, 0);

  const del = await allLogs(a, 'method=DELETE');
  assert.ok(del.length >= 2 && del.every((r) => r.method === 'DELETE'));
  assert.equal((await allLogs(a, 'method=delete')).length, del.length);
  assert.ok((await allLogs(a, 'method=POST')).every((r) => r.method === 'POST'));

  // filters combine
  const both = await allLogs(a, 'method=DELETE&status=404&path_prefix=/api/v1/api_keys/key_');
  assert.deepEqual(both.map((r) => r.path), ['/api/v1/api_keys/key_nothere']);
});

test('from/to time range', async () => {
  const q = (from, to) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const inRange = await allLogs(a, q(t0, t1));
  for (const m of mine) assert.ok(inRange.some((r) => r.request_id === m.requestId), m.path);
  const future = new Date(Date.now() + 3600e3).toISOString();
  assert.equal((await allLogs(a, `from=${encodeURIComponent(future)}`)).length, 0);
  assert.equal((await allLogs(a, `to=${encodeURIComponent('2001-01-01T00:00:00Z')}`)).length, 0);
  // a date alone and an offset are accepted; "+" must be sent as %2B
  assert.ok((await allLogs(a, 'from=2001-01-01')).length >= mine.length);
  const offset = new Date(Date.parse(t0)).toISOString().slice(0, 19) + '+00:00';
  assert.ok((await allLogs(a, `from=${encodeURIComponent(offset)}`)).length >= mine.length);
  // "to" is exclusive: the row's own time as "to" leaves the row out, as "from" keeps it
  const rows = await allLogs(a);
  const one = rows[rows.length - 1];
  assert.ok(!(await allLogs(a, `to=${encodeURIComponent(one.time)}`)).some((r) => r.id === one.id));
  assert.ok((await allLogs(a, `from=${encodeURIComponent(one.time)}`)).some((r) => r.id === one.id));
});

test('pagination: limit, starting_after, has_more cover every row exactly once', async () => {
  const every = await allLogs(a);
  const seen = [];
  let after = '';
  let pages = 0;
  for (;;) {
    const r = await gw.request('GET', `/api/v1/logs?limit=3${after ? '&starting_after=' + after : ''}`, { key: a.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.data.length <= 3);
    pages++;
    seen.push(...r.body.data.map((x) => x.id));
    if (!r.body.has_more) break;
    assert.equal(r.body.data.length, 3);
    after = r.body.data[2].id;
  }
  // the log grows with these very requests, so compare the prefix we had
  const everyIds = every.map((x) => x.id);
  const tail = seen.slice(seen.indexOf(everyIds[0]));
  assert.deepEqual(tail, everyIds);
  assert.equal(new Set(seen).size, seen.length, 'no row twice');
  assert.ok(pages >= Math.ceil(everyIds.length / 3));
});

test('CSV export parses and matches the JSON rows', async () => {
  const r = await gw.request('GET', '/api/v1/logs?format=csv&path_prefix=/api/v1/api_keys', { key: a.key });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /attachment; filename=".+\.csv"/);
  const recs = parseCsv(r.text);
  const header = recs[0];
  assert.deepEqual(header, ['id', 'time', 'ip', 'method', 'path', 'status', 'latency_ms', 'key_prefix', 'request_id', 'kind']);
  const rows = recs.slice(1);
  for (const rec of rows) assert.equal(rec.length, header.length, JSON.stringify(rec));
  const json = await allLogs(a, 'path_prefix=/api/v1/api_keys');
  assert.equal(rows.length, json.length);
  for (let i = 0; i < rows.length; i++) {
    const o = Object.fromEntries(header.map((h, j) => [h, rows[i][j]]));
    assert.equal(o.id, json[i].id);
    assert.equal(o.path, json[i].path);
    assert.equal(Number(o.status), json[i].status);
    assert.equal(o.request_id, json[i].request_id);
    assert.equal(o.key_prefix, json[i].key_prefix);
    assert.equal(o.time, json[i].time);
    assert.ok(!Number.isNaN(Number(o.latency_ms)));
  }
  // the awkward path survived quoting
  assert.ok(rows.some((rec) => rec[4] === '/api/v1/api_keys/a"b,c\nd'));
  // filters apply to the export too
  const csv404 = parseCsv((await gw.request('GET', '/api/v1/logs?format=csv&status=404', { key: a.key })).text);
  assert.ok(csv404.length > 1 && csv404.slice(1).every((rec) => rec[5] === '404'));
  const none = parseCsv((await gw.request('GET', '/api/v1/logs?format=csv&ip=10.9.9.9', { key: a.key })).text);
  assert.equal(none.length, 1, 'header only');
});

test("scoped to the caller's account: B never sees A's rows", async () => {
  const ids = new Set(mine.map((m) => m.requestId));
  const bRows = await allLogs(b);
  assert.ok(bRows.length >= 2, 'B sees its own rows');
  assert.ok(bRows.every((r) => !ids.has(r.request_id)));
  assert.ok(bRows.every((r) => r.key_prefix === b.key.slice(0, 14)));
  const bCsv = (await gw.request('GET', '/api/v1/logs?format=csv', { key: b.key })).text;
  for (const id of ids) assert.ok(!bCsv.includes(id));
  // paging from one of A's ids does not cross over either
  const aRows = await allLogs(a);
  const fromA = await gw.request('GET', `/api/v1/logs?starting_after=${aRows[0].id}`, { key: b.key });
  assert.equal(fromA.status, 200);
  assert.ok(fromA.body.data.every((r) => !ids.has(r.request_id)));
  // and A does not see B's rows
  assert.ok(aRows.every((r) => r.key_prefix === a.key.slice(0, 14)));
});

test('unauthenticated requests are recorded without an account and shown to no one', async () => {
  const r = await gw.request('GET', '/api/v1/account', { key: 'sk_live_' + 'Z'.repeat(43) });
  assertError(r, 401);
  const rid = r.headers.get('request-id');
  await waitFor(() => gw.sql(`SELECT count(*) FROM access_logs WHERE request_id = '${rid}'`) === '1', { what: '401 row' });
  assert.equal(gw.sql(`SELECT coalesce(account_id, 'NULL') || '|' || status FROM access_logs WHERE request_id = '${rid}'`), '|401');
  assert.ok(!(await allLogs(a)).some((x) => x.request_id === rid));
});

test('a path the database would refuse as text does not cost its batch', async () => {
  // invalid UTF-8 (refused with 400) and a long non-ASCII path that the log
  // cuts to its column size mid-character, mixed in with ordinary requests
  const before = await call(a, 'GET', '/api/v1/account');
  const bad = await call(a, 'GET', '/api/v1/api_keys/%FF%FE');
  const long = await call(a, 'DELETE', '/api/v1/api_keys/key_' + encodeURIComponent('é'.repeat(200)));
  const afterIt = await call(a, 'GET', '/api/v1/account');
  assert.equal(bad.status, 400);
  assert.equal(long.status, 404);
  const ids = [before, bad, long, afterIt].map((r) => r.headers.get('request-id'));
  await waitFor(() => gw.sql(`SELECT count(*) FROM access_logs WHERE request_id IN (${ids.map((i) => `'${i}'`).join(',')})`) === '4',
    { what: 'all four rows' });
  assert.equal(gw.sql(`SELECT path FROM access_logs WHERE request_id = '${ids[1]}'`), '/api/v1/api_keys/??');
  const p = gw.sql(`SELECT path FROM access_logs WHERE request_id = '${ids[2]}'`);
  assert.ok(p.startsWith('/api/v1/api_keys/key_éé'), p);
  const rows = await allLogs(a, 'path_prefix=/api/v1/api_keys/');
  assert.ok(rows.some((r) => r.request_id === ids[2]));
});

test('the API key itself never reaches the log table, only its prefix', async () => {
  // make sure every request so far is flushed
  await call(a, 'GET', '/api/v1/account');
  const last = mine[mine.length - 1].requestId;
  await waitFor(() => gw.sql(`SELECT count(*) FROM access_logs WHERE request_id = '${last}'`) === '1', { what: 'last row' });
  await sleep(100);
  for (const key of [a.key, b.key]) {
    const secret = key.slice(14); // everything after the visible prefix
    assert.equal(gw.sql(`SELECT count(*) FROM access_logs l WHERE l::text LIKE '%${secret.slice(0, 16)}%'`), '0');
    assert.equal(gw.sql(`SELECT count(*) FROM access_logs l WHERE l::text LIKE '%${key}%'`), '0');
    assert.equal(gw.sql(`SELECT count(DISTINCT key_prefix) FROM access_logs WHERE key_prefix LIKE '${key.slice(0, 14)}%'`), '1');
    assert.equal(gw.sql(`SELECT max(length(key_prefix)) FROM access_logs WHERE key_prefix LIKE '${key.slice(0, 14)}%'`), '14');
  }
  const json = await gw.request('GET', '/api/v1/logs?limit=100', { key: a.key });
  assert.ok(!json.text.includes(a.key.slice(14)));
  const csv = await gw.request('GET', '/api/v1/logs?format=csv', { key: a.key });
  assert.ok(!csv.text.includes(a.key.slice(14)));
});
