// Route coverage of docs/openapi.yaml, both ways:
//  - every route `walletpass routes` lists (the core's, and those of the
//    in-tree plugins built into WP_BUILD_DIR/plugins) is documented under its
//    path (":param" written "{param}") with that method;
//  - every path + method in docs/openapi.yaml is a registered route.
// The hello example plugin is not loaded: it is a sample, not part of the API.
// The YAML is not parsed in general: the `paths:` section has a fixed shape
// (paths at two spaces, methods at four), which parsePaths() reads and checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { BIN, SOURCE_DIR } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
const OPENAPI = path.join(SOURCE_DIR, 'docs', 'openapi.yaml');
const IN_TREE_PLUGINS = path.join(BUILD_DIR, 'plugins');
const FIXTURES = path.join(BUILD_DIR, 'tests', 'fixtures', 'plugins');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-routes-'));

/**
 * Runs `walletpass routes` with the given config; returns the parsed lines
 * [{method, pattern, auth, owner}].  The database URL points nowhere: the
 * command builds the server without connecting.
 */
function routes(config) {
  const cfgPath = path.join(work, `cfg-${crypto.randomBytes(4).toString('hex')}.json`);
  fs.writeFileSync(cfgPath, JSON.stringify({ log_level: 'warn', ...config }));
  const env = {
    ...process.env,
    WALLETPASS_CONFIG: cfgPath,
    WALLETPASS_DATABASE_URL: 'postgresql://walletpass@127.0.0.1:1/not_connected',
    WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
  };
  const r = spawnSync(BIN, ['routes'], { env, encoding: 'utf8', timeout: 120000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0)
    throw new Error(`walletpass routes failed (exit ${r.status}${r.signal ? ', ' + r.signal : ''}):\n${r.stderr}`);
  assert.ok(!/AddressSanitizer|LeakSanitizer|runtime error:/.test(r.stderr), 'sanitizer report:\n' + r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => {
    const f = l.split(' ');
    assert.equal(f.length, 4, `"${l}": expected METHOD PATTERN AUTH OWNER`);
    const [method, pattern, auth, owner] = f;
    return { method, pattern, auth, owner, line: l };
  });
}

/** The in-tree plugins: every WP_BUILD_DIR/plugins/<name>.so (hello is never built there; skipped if it is). */
function inTreePlugins() {
  if (!fs.existsSync(IN_TREE_PLUGINS)) return [];
  return fs.readdirSync(IN_TREE_PLUGINS)
    .filter((f) => f.endsWith('.so'))
    .map((f) => f.slice(0, -3))
    .filter((n) => n !== 'hello')
    .sort();
}

/**
 * Reads the `paths:` section: Map "METHOD /path" -> line number.  Fails on a
 * line in the section it does not understand, so a change of layout shows
 * here instead of silently shrinking the set.
 */
function parsePaths(text) {
  const ops = new Map();
  const lines = text.split('\n');
  let inPaths = false;
  let cur = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (!inPaths) {
      if (/^paths:\s*$/.test(l)) inPaths = true;
      continue;
    }
    if (/^\S/.test(l)) break; // the next top-level key
    if (/^\s*(#.*)?$/.test(l)) continue;
    let m;
    if ((m = /^ {2}(['"]?)(\/[^'"\s]*)\1:\s*(#.*)?$/.exec(l))) {
      cur = m[2];
      continue;
    }
    if ((m = /^ {4}([A-Za-z][A-Za-z0-9_-]*):/.exec(l))) {
      const k = m[1];
      if (METHODS.includes(k)) {
        assert.ok(cur, `docs/openapi.yaml:${i + 1}: method "${k}" outside a path`);
        const key = `${k.toUpperCase()} ${cur}`;
        assert.ok(!ops.has(key), `docs/openapi.yaml:${i + 1}: ${key} is defined twice`);
        ops.set(key, i + 1);
      } else {
        assert.ok(['parameters', 'summary', 'description', 'servers'].includes(k) || k.startsWith('x-'),
          `docs/openapi.yaml:${i + 1}: unexpected key "${k}" under ${cur}`);
      }
      continue;
    }
    assert.ok(/^ {5,}\S/.test(l) || /^ {4}-/.test(l), `docs/openapi.yaml:${i + 1}: unexpected line in paths: ${l}`);
  }
  assert.ok(inPaths, 'docs/openapi.yaml has no paths: section');
  return ops;
}

/** "/api/v1/passes/:id" -> "/api/v1/passes/{id}" */
const toOpenApi = (pattern) => pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

let registered; // core + in-tree plugins
let documented;
const plugins = inTreePlugins();

before(() => {
  registered = routes({
    plugin_dir: IN_TREE_PLUGINS,
    plugins: plugins.map((name) => ({ name })),
  });
  documented = parsePaths(fs.readFileSync(OPENAPI, 'utf8'));
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('walletpass routes lists the core routes, one per line: METHOD PATTERN AUTH OWNER', () => {
  const lines = registered.map((r) => r.line);
  for (const want of ['GET /healthz public core', 'GET /api/v1/account api_key core',
    'DELETE /api/v1/api_keys/:id api_key core', 'POST /api/v1/api_keys/:id/rotate api_key core'])
    assert.ok(lines.includes(want), `"${want}" missing from walletpass routes:\n${lines.join('\n')}`);
  for (const r of registered) {
    assert.match(r.method, /^(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS)$/, r.line);
    assert.match(r.pattern, /^\//, r.line);
    assert.match(r.auth, /^(public|api_key|pass_token|portal)$/, r.line);
    assert.ok(r.owner === 'core' || plugins.includes(r.owner), `${r.line}: owner is neither core nor an in-tree plugin`);
  }
  const keys = registered.map((r) => `${r.method} ${r.pattern}`);
  assert.equal(new Set(keys).size, keys.length, 'a route is listed twice');
});

test('walletpass routes includes the routes of the configured plugins', () => {
  // A fixture plugin (tests/fixtures/plugins) registers GET /api/v1/oldminor.
  const withFixture = routes({ plugin_dir: FIXTURES, plugins: [{ name: 'oldminor' }] });
  assert.ok(withFixture.some((r) => r.line === 'GET /api/v1/oldminor api_key oldminor'),
    withFixture.map((r) => r.line).join('\n'));
  assert.ok(!registered.some((r) => r.owner === 'oldminor' || r.owner === 'hello'), 'fixture or example routes leaked');
});

test('the openapi.yaml reader finds the documented core operations', () => {
  for (const k of ['GET /healthz', 'GET /api/v1/logs', 'DELETE /api/v1/api_keys/{id}', 'POST /api/v1/api_keys/{id}/rotate'])
    assert.ok(documented.has(k), `${k} not found by parsePaths: ${[...documented.keys()].join(', ')}`);
  assert.throws(() => parsePaths('paths:\n  /x:\n    get:\n      summary: a\n    get:\n      summary: b\n'), /defined twice/);
  assert.throws(() => parsePaths('paths:\n  /x:\n   get:\n'), /unexpected line/);
});

test('every registered route is documented in docs/openapi.yaml', () => {
  const missing = registered
    .filter((r) => !documented.has(`${r.method} ${toOpenApi(r.pattern)}`))
    .map((r) => `  ${r.method} ${toOpenApi(r.pattern)}   (route ${r.pattern}, auth ${r.auth}, owner ${r.owner})`);
  assert.equal(missing.length, 0,
    `${missing.length} registered route(s) missing from docs/openapi.yaml (path with {param}, lower-case method key):\n` +
    missing.join('\n'));
});

test('every operation in docs/openapi.yaml is a registered route', () => {
  const keys = new Set(registered.map((r) => `${r.method} ${toOpenApi(r.pattern)}`));
  const extra = [...documented]
    .filter(([k]) => !keys.has(k))
    .map(([k, line]) => `  ${k}   (docs/openapi.yaml:${line})`);
  assert.equal(extra.length, 0,
    `${extra.length} operation(s) in docs/openapi.yaml that no core or in-tree plugin route serves` +
    ` (in-tree plugins loaded: ${plugins.length ? plugins.join(', ') : 'none'}):\n` + extra.join('\n'));
});
