// The manual: docs/index.md links every page of docs/ (and the README links the index); every
// relative link in the manual resolves, anchors included; and every shell example fenced `sh` runs,
// in file order, against a gateway started for it (docs/index.md "How the examples are checked").
// `console` blocks are only syntax-checked; any other shell-like fence is refused, so nothing is
// left unclassified.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BIN, SOURCE_DIR, startGateway } from './lib/harness.mjs';

const DOCS = path.join(SOURCE_DIR, 'docs');
const FILES = ['README.md', ...fs.readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-docs-'));
const EXAMPLE_PASS = 'pass_01m8bwe18c9azhk3fk0za7nfgx';
const EXAMPLE_TEMPLATE = 'tpl_01m8c2f9k4x7qv3n8d5b2w6r0t';

/** Fenced blocks of a markdown file: [{lang, code, line}]. */
function blocks(text) {
  const out = [];
  let cur = null;
  text.split('\n').forEach((l, i) => {
    const m = /^```(\S*)\s*$/.exec(l);
    if (m && !cur) cur = { lang: m[1], code: [], line: i + 1 };
    else if (/^```\s*$/.test(l) && cur) { out.push({ ...cur, code: cur.code.join('\n') + '\n' }); cur = null; }
    else if (cur) cur.code.push(l);
  });
  return out;
}

/** GitHub's heading anchors. */
function anchors(text) {
  const seen = new Map();
  const out = new Set();
  let inCode = false;
  for (const l of text.split('\n')) {
    if (/^```/.test(l)) inCode = !inCode;
    const m = !inCode && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!m) continue;
    let slug = m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) || 0;
    seen.set(slug, n + 1);
    if (n) slug += `-${n}`;
    out.add(slug);
  }
  return out;
}

test('docs/index.md links every page of the manual, and the README links the index', () => {
  const index = fs.readFileSync(path.join(DOCS, 'index.md'), 'utf8');
  const linked = new Set([...index.matchAll(/\]\(([^)#\s]+)/g)].map((m) => path.normalize(path.join('docs', m[1]))));
  const pages = fs.readdirSync(DOCS).filter((f) => f !== 'index.md' && /\.(md|yaml|json)$/.test(f)).map((f) => `docs/${f}`);
  assert.deepEqual(pages.filter((p) => !linked.has(p)), [], 'pages missing from docs/index.md');
  for (const r of fs.readdirSync(path.join(SOURCE_DIR, 'plugins')))
    if (fs.existsSync(path.join(SOURCE_DIR, 'plugins', r, 'README.md')))
      assert.ok(linked.has(`plugins/${r}/README.md`), `plugins/${r}/README.md missing from docs/index.md`);
  assert.match(fs.readFileSync(path.join(SOURCE_DIR, 'README.md'), 'utf8'), /\]\(docs\/index\.md\)/);
});

test('every relative link of the manual resolves, anchors included', () => {
  const bad = [];
  for (const f of FILES) {
    const text = fs.readFileSync(path.join(SOURCE_DIR, f), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1];
      if (/^[a-z]+:/.test(href)) continue; // http(s), mailto
      const [p, frag] = href.split('#');
      const target = p ? path.join(path.dirname(path.join(SOURCE_DIR, f)), p) : path.join(SOURCE_DIR, f);
      if (!fs.existsSync(target)) { bad.push(`${f}: ${href} (no such file)`); continue; }
      if (frag && target.endsWith('.md') && !anchors(fs.readFileSync(target, 'utf8')).has(frag))
        bad.push(`${f}: ${href} (no such heading)`);
    }
  }
  assert.deepEqual(bad, []);
});

test('every shell block is fenced sh (run) or console (shown); console blocks parse', () => {
  const bad = [];
  for (const f of FILES) {
    for (const b of blocks(fs.readFileSync(path.join(SOURCE_DIR, f), 'utf8'))) {
      if (['bash', 'shell', 'zsh', 'shell-session', ''].includes(b.lang) && /^\s*(curl|scripts\/|walletpass|openssl|export|cd) /m.test(b.code))
        bad.push(`${f}:${b.line}: a shell example fenced "${b.lang}": fence it sh (run by this test) or console (shown only)`);
      if (b.lang === 'console') {
        const r = spawnSync('bash', ['-n'], { input: b.code, encoding: 'utf8' });
        if (r.status !== 0) bad.push(`${f}:${b.line}: ${r.stderr.trim()}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

// ---- running the sh blocks --------------------------------------------------

let gw, a, env, ids;
const ssl = (cwd, ...args) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

// Plays Apple for docs/apple-setup.md: a stand-in WWDR, and a Pass Type ID certificate for the CSR
// the guide made (pass.csr), as the developer site would issue it (DER .cer files).
function appleStandIn(cwd) {
  if (!fs.existsSync(path.join(cwd, 'AppleWWDRCAG4.cer'))) {
    ssl(cwd, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'standin-wwdr.key', '-out', 'standin-wwdr.pem',
      '-days', '30', '-subj', '/C=US/O=TEST Stand-in/OU=G4/CN=TEST Stand-in Worldwide Developer Relations');
    ssl(cwd, 'x509', '-in', 'standin-wwdr.pem', '-outform', 'DER', '-out', 'AppleWWDRCAG4.cer');
  }
  if (fs.existsSync(path.join(cwd, 'pass.csr')) && !fs.existsSync(path.join(cwd, 'pass.cer'))) {
    fs.writeFileSync(path.join(cwd, 'pass.ext'), '1.2.840.113635.100.6.1.16 = ASN1:UTF8String:pass.com.example.loyalty\n');
    ssl(cwd, 'x509', '-req', '-in', 'pass.csr', '-CA', 'standin-wwdr.pem', '-CAkey', 'standin-wwdr.key', '-set_serial', '4096',
      '-days', '30', '-subj', '/UID=pass.com.example.loyalty/CN=Pass Type ID: pass.com.example.loyalty/OU=ABCDE12345/O=Example/C=US',
      '-extfile', 'pass.ext', '-outform', 'DER', '-out', 'pass.cer');
  }
}

before(async () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(SOURCE_DIR, 'config', 'local-webhooks.json'), 'utf8'));
  delete cfg.server;
  cfg.rate_limit = { requests_per_second: 0 };
  gw = await startGateway({ config: cfg });
  a = gw.account();
  const tpl = await gw.request('POST', '/api/v1/templates', { key: a.key, body: { name: 'Docs', body: { pass_type: 'loyalty', organization_name: 'Solstice' } } });
  const pass = await gw.request('POST', '/api/v1/passes', { key: a.key, body: { pass_type: 'loyalty', organization_name: 'Solstice' } });
  assert.equal(tpl.status, 201, tpl.text);
  assert.equal(pass.status, 201, pass.text);
  ids = { template: tpl.body.id, pass: pass.body.id };
  // `walletpass` on the PATH, configured for this gateway's database; curl that fails on 4xx/5xx
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(BIN, path.join(bin, 'walletpass'));
  const bashEnv = path.join(work, 'bash_env');
  fs.writeFileSync(bashEnv, 'curl() { command curl -sS --fail-with-body "$@"; echo; }\n');
  env = { ...gw.env, PATH: `${bin}:${process.env.PATH}`, URL: gw.url, KEY: a.key, BASH_ENV: bashEnv };
});

after(async () => {
  if (gw) await gw.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function prepare(code) {
  return code.replaceAll('http://localhost:8080', gw.url).replaceAll('sk_live_...', a.key)
    .replaceAll(EXAMPLE_PASS, ids.pass).replaceAll(EXAMPLE_TEMPLATE, ids.template);
}

let ran = 0;
for (const f of FILES) {
  const runnable = blocks(fs.readFileSync(path.join(SOURCE_DIR, f), 'utf8')).filter((b) => b.lang === 'sh');
  if (!runnable.length) continue;
  test(`the sh examples of ${f} run (${runnable.length})`, () => {
    // one folder per page: its examples run in order and may use the files the earlier ones made
    const cwd = fs.mkdtempSync(path.join(work, path.basename(f, '.md') + '-'));
    fs.symlinkSync(path.join(SOURCE_DIR, 'scripts'), path.join(cwd, 'scripts'));
    fs.symlinkSync(path.join(SOURCE_DIR, 'config'), path.join(cwd, 'config'));
    if (f === 'docs/google-setup.md') {
      execFileSync(path.join(SOURCE_DIR, 'scripts', 'make-test-credentials'), [path.join(cwd, 'test')], { stdio: 'pipe' });
      const g = JSON.parse(fs.readFileSync(path.join(cwd, 'test', 'google-credentials.json'), 'utf8'));
      fs.writeFileSync(path.join(cwd, 'walletpass-1234-3f2a9c0d1e5b.json'), JSON.stringify(g.service_account_json, null, 2));
    }
    for (const b of runnable) {
      if (f === 'docs/apple-setup.md') appleStandIn(cwd);
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', prepare(b.code)], { cwd, env, encoding: 'utf8', timeout: 120000 });
      assert.equal(r.status, 0, `${f}:${b.line} failed (exit ${r.status}):\n${b.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      ran++;
    }
  });
}

test('the examples reached the gateway', async () => {
  // ran last (node:test keeps file order): the pages' curl calls left their mark in the access log
  assert.ok(ran >= 12, `${ran} sh blocks ran`);
  assert.equal(gw.proc.exitCode, null, 'the gateway is still up:\n' + gw.stderr().slice(-3000));
  // a new connection: the pooled one has idled past the gateway's keep-alive while the examples ran
  const fresh = (p) => new Promise((resolve, reject) => http.get(gw.url + p, { agent: false, headers: { authorization: `Bearer ${a.key}` } },
    (res) => { let t = ''; res.on('data', (d) => (t += d)); res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(t) })); })
    .on('error', reject));
  const apple = await fresh('/api/v1/credentials/apple');
  assert.equal(apple.status, 200, 'docs/apple-setup.md uploaded its P12');
  assert.equal(apple.body.pass_type_identifier, 'pass.com.example.loyalty');
  const google = await fresh('/api/v1/credentials/google');
  assert.equal(google.status, 200, 'docs/google-setup.md uploaded its key');
});
