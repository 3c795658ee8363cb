// A public_url wallet apps cannot use is said loudly: they call a pass's web service only over HTTPS,
// so a gateway whose public_url is http:// with a host other than localhost or a loopback
// address issues passes that never update.  It still starts and serves, but every start logs the
// warning, GET /readyz lists it, and `walletpass config check` prints it.  config check also
// validates server.tls's files without starting anything.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, createDatabase, BIN } from './lib/harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-public-url-'));
const f = (name) => path.join(dir, name);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const WARNING = /warn +public_url http:\/\/wallet\.example\.com is plain HTTP: wallet apps .* will not update the passes/;

/** `walletpass config check FILE` with a config written from obj: { status, stderr }. */
function check(obj, env = {}) {
  const file = f(`check-${Math.random().toString(16).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(obj));
  const r = spawnSync(BIN, ['config', 'check', file], { encoding: 'utf8',
    env: { ...process.env, WALLETPASS_CONFIG: '', WALLETPASS_DATABASE_URL: 'postgresql://unused.invalid/x',
      WALLETPASS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), ...env } });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, file };
}

test('a plain-HTTP public_url on a real host: warned at every start and in /readyz; the gateway serves', async () => {
  let gw = await startGateway({ config: { public_url: 'http://wallet.example.com' } });
  const { dbUrl } = gw;
  try {
    assert.match(gw.stderr(), WARNING);
    const r = await gw.request('GET', '/readyz');
    assert.equal(r.status, 200, 'still ready: the gateway works, Wallet updates do not');
    assert.equal(r.body.status, 'ready');
    assert.equal(r.body.warnings.length, 1);
    assert.equal(r.body.warnings[0].code, 'public_url_not_https');
    assert.match(r.body.warnings[0].message, /wallet apps will not update/);
    assert.equal((await gw.request('GET', '/healthz')).status, 200);
  } finally {
    await gw.stop();
  }
  // the next start says it again
  gw = await startGateway({ dbUrl, config: { public_url: 'http://wallet.example.com' } });
  try {
    assert.match(gw.stderr(), WARNING);
  } finally {
    await gw.stop();
  }
});

test('loopback and https public URLs: no warning, /readyz lists none', async () => {
  const gw = await startGateway(); // http://127.0.0.1:<port>
  try {
    assert.doesNotMatch(gw.stderr(), /plain HTTP/);
    const r = await gw.request('GET', '/readyz');
    assert.equal(r.status, 200);
    const { cache, ...rest } = r.body;
    assert.deepEqual(rest, { status: 'ready', database: 'ok', processes: 1, warnings: [] });
    assert.equal(cache.passes, true);
  } finally {
    await gw.stop();
  }
  for (const url of ['http://localhost:8080', 'http://[::1]:8080', 'https://wallet.example.com']) {
    const r = check({ public_url: url });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /plain HTTP/, url);
    assert.match(r.stderr, /configuration OK \(0 warnings\)/);
  }
});

test('walletpass config check: the warning, key errors, TLS files checked', () => {
  let r = check({ public_url: 'http://wallet.example.com' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^warning: public_url http:\/\/wallet\.example\.com is plain HTTP: .*wallet apps will not update/m);
  assert.match(r.stderr, /configuration OK \(1 warning\)/);

  r = check({ server: { prot: 8080 } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: server\.prot: unknown configuration key/);
  assert.match(r.stderr, /configuration invalid/);

  // a certificate and key made here; then the mistakes an operator makes with them
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem',
    '-days', '30', '-subj', '/CN=wallet.example.com', '-addext', 'subjectAltName=DNS:wallet.example.com');
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key',
    '-out', 'other.pem', '-days', '3', '-subj', '/CN=other');
  ssl('pkey', '-in', 'k.pem', '-aes256', '-passout', 'pass:secret', '-out', 'encrypted.pem');
  const tlsCfg = (cert, key) => ({ server: { port: 8443, tls: { certificate_file: f(cert), key_file: f(key), redirect_port: 8080 } },
    public_url: 'https://wallet.example.com' });

  r = check(tlsCfg('c.pem', 'k.pem'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^ok: TLS certificate \/CN=wallet\.example\.com \(wallet\.example\.com\), valid until .* \((29|30) days\), 0 intermediate certificates$/m);

  r = check(tlsCfg('other.pem', 'other.key'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^warning: TLS certificate \/CN=other, expires soon: renew it; valid until /m);

  for (const [cert, key, want] of [
    ['c.pem', 'other.key', /error: server\.tls\.key_file: the key in .*other\.key does not belong to the certificate in .*c\.pem/],
    ['c.pem', 'encrypted.pem', /error: server\.tls\.key_file: the key in .*encrypted\.pem is encrypted/],
    ['c.pem', 'c.pem', /error: server\.tls\.key_file: .*c\.pem holds no PEM private key/],
    ['k.pem', 'k.pem', /error: server\.tls\.certificate_file: .*k\.pem holds no PEM certificate/],
    ['missing.pem', 'k.pem', /error: server\.tls\.certificate_file: cannot read .*missing\.pem: No such file or directory/],
  ]) {
    r = check(tlsCfg(cert, key));
    assert.equal(r.status, 1, `${cert} ${key}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }

  // TLS with an http public_url is an error, not a warning
  r = check({ ...tlsCfg('c.pem', 'k.pem'), public_url: 'http://wallet.example.com' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: public_url: must start with https:\/\/ when the gateway serves HTTPS/);

  // serve refuses the same mistakes at start-up, before it listens
  const s = spawnSync(BIN, ['serve'], { encoding: 'utf8', timeout: 120000,
    env: { ...process.env, WALLETPASS_CONFIG: check(tlsCfg('c.pem', 'other.key')).file,
      WALLETPASS_DATABASE_URL: createDatabase(), WALLETPASS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') } });
  assert.equal(s.status, 1, s.stderr);
  assert.match(s.stderr, /walletpass: server\.tls\.key_file: the key in .*other\.key does not belong/);
});

test('walletpass config check prints every effective value and where it came from, secrets redacted', () => {
  const plugins = path.join(process.env.WP_BUILD_DIR || path.dirname(path.dirname(BIN)), 'plugins');
  const key = Buffer.alloc(32, 9).toString('base64');
  const r = check({
    server: { port: 9123 },
    database: { url: 'postgresql://wp:db-pass-77@db.internal/wp?sslmode=require', transaction_pooling: true,
      listen_url: 'postgresql://wp:listen-pass-78@db-direct.internal/wp' },
    plugin_dir: plugins,
    plugins: [{ name: 'webhooks', config: { max_endpoints: 3 } }],
    vault: { key_version: 2, previous_keys: { 1: Buffer.alloc(32, 8).toString('base64') } },
  }, { WALLETPASS_DATABASE_URL: '', WALLETPASS_MASTER_KEY: key, WALLETPASS_LOG_LEVEL: 'warn' });
  assert.equal(r.status, 0, r.stderr);
  const line = (k) => r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === k) || `(no line for ${k})`;
  assert.match(line('server.port'), /^server\.port +9123 +\(file\)$/);
  assert.match(line('server.num_threads'), /^server\.num_threads +50 +\(default\)$/);
  assert.match(line('log_level'), /^log_level +warn +\(environment: WALLETPASS_LOG_LEVEL\)$/);
  assert.match(line('master_key'), /^master_key +\(set, redacted\) +\(environment: WALLETPASS_MASTER_KEY\)$/);
  assert.match(line('database.url'), /^database\.url +postgresql:\/\/wp:REDACTED@db\.internal\/wp\?sslmode=require +\(file\)$/);
  assert.match(line('database.transaction_pooling'), /^database\.transaction_pooling +true +\(file\)$/);
  assert.match(line('database.listen_url'), /^database\.listen_url +postgresql:\/\/wp:REDACTED@db-direct\.internal\/wp +\(file\)$/);
  assert.match(line('jobs.workers'), /^jobs\.workers +4 +\(default\)$/);
  assert.match(line('jobs.dead_after_seconds'), /^jobs\.dead_after_seconds +10 +\(default\)$/);
  assert.match(line('vault.key_version'), /^vault\.key_version +2 +\(file\)$/);
  assert.match(line('vault.previous_keys.1'), /\(set, redacted\) +\(file\)$/);
  assert.match(line('plugins.webhooks.config.max_endpoints'), /^plugins\.webhooks\.config\.max_endpoints +3 +\(file\)$/);
  // no secret anywhere in what it printed
  for (const secret of ['db-pass-77', 'listen-pass-78', key, Buffer.alloc(32, 8).toString('base64')]) {
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `printed a secret: ${secret}`);
  }
});
