// docs/openapi.yaml lints clean and is complete:
//  - Redocly CLI (`recommended`, with the project's .redocly.yaml) reports no error and no warning;
//  - Spectral (`spectral:oas`, with the project's .spectral.yaml) reports no error and no warning;
//  - every request body and every response that has a body gives a schema and an example (binary
//    downloads excepted), and every operation documents at least one 4xx answer in the error shape.
// Both linters are pinned in tests/package.json; scripts/test installs them with npm ci.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

const SOURCE_DIR = process.env.WP_SOURCE_DIR || path.resolve(import.meta.dirname, '..', '..');
const OPENAPI = path.join(SOURCE_DIR, 'docs', 'openapi.yaml');
const BIN = path.join(SOURCE_DIR, 'tests', 'node_modules', '.bin');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
// No network: no telemetry and no update check.
const ENV = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_UPDATE_NOTIFIER: '1' };

function run(tool, args) {
  const exe = path.join(BIN, tool);
  assert.ok(fs.existsSync(exe), `${exe} is missing: run scripts/test (it installs tests/package.json with npm ci)`);
  return spawnSync(exe, args, { cwd: SOURCE_DIR, env: ENV, encoding: 'utf8', timeout: 300000, maxBuffer: 64 << 20 });
}

test('Redocly CLI: no error, no warning', () => {
  const r = run('redocly', ['lint', 'docs/openapi.yaml', '--config', '.redocly.yaml', '--format=json']);
  const start = r.stdout.indexOf('{');
  assert.ok(start >= 0, `redocly printed no report (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(r.stdout.slice(start));
  const problems = report.problems.map((p) => {
    const loc = p.location && p.location[0];
    return `  ${loc && loc.start ? loc.start.line + ':' + loc.start.col : '?'} ${p.severity} ${p.ruleId}: ${p.message}` +
      (loc ? ` (${loc.pointer})` : '');
  });
  assert.deepEqual({ errors: report.totals.errors, warnings: report.totals.warnings }, { errors: 0, warnings: 0 },
    'redocly lint docs/openapi.yaml:\n' + problems.join('\n'));
  assert.equal(r.status, 0, r.stderr);
});

test('Spectral (spectral:oas): no error, no warning', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wp-spectral-')), 'report.json');
  const r = run('spectral', ['lint', '--ruleset', '.spectral.yaml', '--fail-severity', 'warn', '--format', 'json',
    '--output', out, 'docs/openapi.yaml']);
  assert.ok(fs.existsSync(out), `spectral wrote no report (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const results = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  const sev = ['error', 'warning', 'info', 'hint'];
  const lines = results.map((x) => `  ${x.range.start.line + 1}:${x.range.start.character + 1} ${sev[x.severity]} ` +
    `${x.code}: ${x.message} (${x.path.join('.')})`);
  assert.equal(results.filter((x) => x.severity <= 1).length, 0, 'spectral lint docs/openapi.yaml:\n' + lines.join('\n'));
  assert.equal(r.status, 0, r.stderr);
});

// ---- completeness ------------------------------------------------------

const spec = YAML.parse(fs.readFileSync(OPENAPI, 'utf8'));

/** Follows local $refs ("#/components/..."). */
function deref(o) {
  const seen = new Set();
  while (o && typeof o === 'object' && typeof o.$ref === 'string') {
    assert.ok(o.$ref.startsWith('#/'), `only local $refs are used: ${o.$ref}`);
    assert.ok(!seen.has(o.$ref), `$ref loop at ${o.$ref}`);
    seen.add(o.$ref);
    o = o.$ref.slice(2).split('/').reduce((a, k) => (a ? a[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), spec);
    assert.ok(o !== undefined, `dangling $ref`);
  }
  return o;
}

/** True when the schema (or the one it refers to, or an allOf part) carries an example. */
function schemaHasExample(s) {
  if (!s || typeof s !== 'object') return false;
  if (s.$ref) return schemaHasExample(deref(s));
  if ('example' in s || (Array.isArray(s.examples) && s.examples.length)) return true;
  return false;
}
const isBinary = (s) => { s = deref(s); return s && s.type === 'string' && s.format === 'binary'; };
const isErrorSchema = (s) => s && s.$ref === '#/components/schemas/Error';

function operations() {
  const ops = [];
  for (const [p, item] of Object.entries(spec.paths))
    for (const m of METHODS) if (item[m]) ops.push({ where: `${m.toUpperCase()} ${p}`, method: m, op: item[m] });
  return ops;
}

/** Problems with one media-type map (requestBody.content or response.content). */
function contentProblems(where, content) {
  const out = [];
  for (const [type, media] of Object.entries(content)) {
    if (!media.schema) { out.push(`${where} ${type}: no schema`); continue; }
    if (isBinary(media.schema)) continue;
    if (!('example' in media) && !media.examples && !schemaHasExample(media.schema))
      out.push(`${where} ${type}: no example`);
  }
  return out;
}

test('the completeness checks can fail', () => {
  assert.deepEqual(contentProblems('X', { 'application/json': { schema: { type: 'object' } } }), ['X application/json: no example']);
  assert.deepEqual(contentProblems('X', { 'application/json': {} }), ['X application/json: no schema']);
  assert.ok(operations().length > 40, 'the paths were read');
});

test('every request body has a schema and an example', () => {
  const problems = [];
  for (const { where, op } of operations()) {
    if (!op.requestBody) continue;
    const rb = deref(op.requestBody);
    if (!rb.content) problems.push(`${where}: requestBody without content`);
    else problems.push(...contentProblems(`${where} request`, rb.content));
  }
  assert.deepEqual(problems, []);
});

test('every response with a body has a schema and an example; only 204, 304 and HEAD answers have none', () => {
  const problems = [];
  for (const { where, method, op } of operations()) {
    for (const [status, r0] of Object.entries(op.responses || {})) {
      const r = deref(r0);
      if (!r.content) {
        if (status !== '204' && status !== '304' && method !== 'head') problems.push(`${where} ${status}: no content`);
        continue;
      }
      problems.push(...contentProblems(`${where} ${status}`, r.content));
    }
  }
  assert.deepEqual(problems, []);
});

test('every operation documents its errors in the one error shape', () => {
  const problems = [];
  for (const { where, method, op } of operations()) {
    const errs = Object.entries(op.responses || {}).filter(([s]) => /^[45]/.test(s));
    if (!errs.some(([s]) => s.startsWith('4'))) problems.push(`${where}: no 4xx response`);
    if (method === 'head') continue; // a HEAD answer has no body
    for (const [status, r0] of errs) {
      const r = deref(r0);
      const json = r.content && r.content['application/json'];
      if (!json || !isErrorSchema(json.schema)) problems.push(`${where} ${status}: not the Error schema`);
    }
  }
  assert.deepEqual(problems, []);
});
