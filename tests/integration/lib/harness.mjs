// Test harness: real walletpass processes against a real PostgreSQL.
//
// scripts/test starts one private cluster and exports WP_TEST_PG_ADMIN_URL;
// every gateway started here gets a fresh database in it, so suites can run
// in parallel without seeing each other's rows.  A gateway's stderr is kept
// and checked at stop: a sanitizer report or a non-zero exit fails the test.
import { spawn, execFile, execFileSync } from 'node:child_process';
import https from 'node:https';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';

// Every fetch of a suite opens its own connection (unless it sets a Connection header itself).
// Suites block their event loop now and then (execFileSync of the CLI or psql, slow under the
// sanitizers); a gateway that closes an idle keep-alive connection meanwhile is not noticed, and
// fetch would send the next request on the dead connection ("other side closed").
const keepAliveFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
  if (!headers.has('connection')) headers.set('connection', 'close');
  return keepAliveFetch(input, { ...init, headers });
};

export const BIN = process.env.WP_BIN;
export const SOURCE_DIR = process.env.WP_SOURCE_DIR;

/** What a sanitizer writes to stderr when it finds something. */
export const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|WARNING: ThreadSanitizer|ThreadSanitizer: |runtime error:/;

/**
 * The sanitizer the binary under test was built with: 'address' (ASan + UBSan),
 * 'thread' (TSan) or null (release).  Read from the build's CMake cache
 * (WP_SANITIZE); without one, guessed from the build folder's name.
 */
export function sanitizer() {
  const dir = process.env.WP_BUILD_DIR || (BIN ? path.resolve(path.dirname(BIN), '..') : null);
  let v = null;
  try {
    const m = /^WP_SANITIZE:[A-Z]+=(.*)$/m.exec(fs.readFileSync(path.join(dir, 'CMakeCache.txt'), 'utf8'));
    if (m) v = m[1].trim().toLowerCase();
  } catch {
    if (dir && /build-tsan/.test(dir)) v = 'thread';
    else if (dir && /build-asan/.test(dir)) v = 'address';
  }
  if (v === 'thread') return 'thread';
  if (v && /^(address|on|yes|true|1|y)$/.test(v)) return 'address';
  return null;
}

export function adminUrl() {
  const u = process.env.WP_TEST_PG_ADMIN_URL;
  if (!u) throw new Error('WP_TEST_PG_ADMIN_URL is not set: run the suites through scripts/test');
  return u;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Runs SQL with psql; returns trimmed stdout (rows separated by newlines, columns by '|'). */
export function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAq', '-c', sql], { encoding: 'utf8' }).trim();
}

/** psql without blocking the event loop: for polling while in-process stand-ins must keep answering. */
export function psqlAsync(url, sql) {
  return new Promise((resolve, reject) => {
    execFile('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAq', '-c', sql], { encoding: 'utf8' }, (err, out) =>
      (err ? reject(err) : resolve(out.trim())));
  });
}

export function createDatabase() {
  const name = 'wp_test_' + crypto.randomBytes(6).toString('hex');
  psql(adminUrl(), `CREATE DATABASE ${name}`);
  const u = new URL(adminUrl());
  u.pathname = '/' + name;
  return u.toString();
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs the walletpass CLI synchronously; returns stdout trimmed. */
export function cli(args, env) {
  return execFileSync(BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

// The default bound is generous: it only ends a wait for something that never happens, and a
// machine loaded far beyond its cores (sanitizer builds, suites two at a time) is slow at everything.
export async function waitFor(fn, { timeout = 60000, interval = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

/**
 * One HTTPS request with Node's https client (fetch cannot be told to trust a test certificate):
 * resolves with { status, headers (a Headers), body (a Buffer), text, json, socket facts }.
 * options: method, headers, body (string or Buffer), ca (PEM trusted), agent (default: a new
 * connection closed after the answer), signal (an AbortSignal).
 */
export function httpsRequest(url, { method = 'GET', headers = {}, body, ca, agent, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca, agent: agent === undefined ? false : agent, signal }, (res) => {
      const chunks = [];
      const peer = res.socket.getPeerCertificate();
      const protocol = res.socket.getProtocol();
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        let json;
        try { json = JSON.parse(buf.toString('utf8')); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: h, body: buf, text: buf.toString('utf8'), json,
          fingerprint: peer && peer.fingerprint256, protocol, reusedSocket: req.reusedSocket });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Starts a gateway.  options.config is merged into the generated config file;
 * options.env adds environment variables; options.dbUrl reuses a database;
 * options.wrapper runs it under another program (["valgrind", ...]) and
 * options.startTimeout (ms, 120 s) bounds the wait for /healthz.
 * options.tls = { cert, key, ca, redirectPort }: HTTPS with that certificate chain and key (PEM
 * files) on the gateway's port, public_url https://localhost:<port>, and request() through Node's
 * https client trusting ca (PEM text); redirectPort adds the plain listener that redirects.
 */
export async function startGateway(options = {}) {
  const dbUrl = options.dbUrl || createDatabase();
  const port = options.port || (await freePort());
  // The gateway's default idle keep-alive (65 s) outlives fetch's pool (4 s) even while a synchronous
  // sql() or cli() call blocks this process's event loop.
  const server = { port, num_threads: 16, listen_address: '127.0.0.1' };
  const tls = options.tls;
  if (tls) {
    server.tls = { certificate_file: tls.cert, key_file: tls.key };
    if (tls.redirectPort) server.tls.redirect_port = tls.redirectPort;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-gw-'));
  const config = {
    server,
    public_url: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    log_level: 'info',
    ...(options.config || {}),
  };
  // Each new database connection may take seconds on a loaded machine (a backend forked and
  // authenticated while sanitizer builds compete for the cores): the gateway's and the CLI's.
  config.database = { connect_timeout_seconds: 60, ...((options.config && options.config.database) || {}) };
  if (options.config && options.config.server) {
    config.server = { ...server, ...options.config.server };
    if (server.tls && options.config.server.tls) config.server.tls = { ...server.tls, ...options.config.server.tls };
  }
  const cfgPath = path.join(dir, 'walletpass.json');
  fs.writeFileSync(cfgPath, JSON.stringify(config, null, 2));
  const env = {
    ...process.env,
    WALLETPASS_CONFIG: cfgPath,
    WALLETPASS_DATABASE_URL: dbUrl,
    WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
    ...(options.env || {}),
  };
  // options.wrapper: a command line the gateway runs under (valgrind ...), the binary appended
  const argv = [...(options.wrapper || []), BIN, 'serve'];
  const proc = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.stdout.on('data', (d) => (stderr += d));
  // 'close', not 'exit': the process may be gone while its last stderr lines (a crash report) are
  // still in the pipe; 'close' comes once the pipes are drained too.
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  const url = tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
  // over HTTPS every request goes through Node's https client, trusting the test's certificate
  const send = tls
    ? async (u, { method = 'GET', headers = {}, body } = {}) => {
      const r = await httpsRequest(u, { method, headers, body, ca: tls.ca });
      return { status: r.status, ok: r.status >= 200 && r.status < 300, headers: r.headers, text: async () => r.text,
        arrayBuffer: async () => r.body };
    }
    : fetch;
  let dead = null;
  exited.then((e) => (dead = e));
  await waitFor(async () => {
    if (dead) throw Object.assign(new Error(`gateway exited early (${JSON.stringify(dead)}):\n${stderr}`), { fatal: true });
    const r = await send(url + '/healthz');
    return r.ok;
  }, { what: 'gateway /healthz', timeout: options.startTimeout || 120000 }).catch((e) => {
    proc.kill('SIGKILL');
    throw new Error(e.message + '\n--- gateway stderr ---\n' + stderr);
  });

  const gw = {
    url, port, dbUrl, env, proc, cfgPath,
    /** fetch-like, over HTTPS when the gateway serves it: { status, ok, headers, text(), arrayBuffer() }. */
    fetch: send,
    stderr: () => stderr,
    sql: (q) => psql(dbUrl, q),
    /** sql() without blocking the event loop (resolves to the same text). */
    sqlAsync: (q) => psqlAsync(dbUrl, q),
    cli: (args) => cli(args, env),
    /** Creates an account and a key; returns { account, key }. */
    account(name = 'Test ' + crypto.randomBytes(3).toString('hex')) {
      const email = `${crypto.randomBytes(6).toString('hex')}@example.com`;
      const account = cli(['account', 'create', '--name', name, '--email', email, '--plan', options.plan || 'unlimited'], env);
      const key = cli(['key', 'create', '--account', account], env);
      return { account, key };
    },
    /** fetch with JSON conveniences: returns { status, headers, body (parsed when JSON), text }. */
    async request(method, p, { key, body, headers = {}, raw } = {}) {
      const h = { ...headers };
      if (key) h.authorization = `Bearer ${key}`;
      let payload = raw;
      if (body !== undefined && raw === undefined) {
        payload = JSON.stringify(body);
        if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
      }
      const r = await send(url + p, { method, headers: h, body: payload });
      const text = await r.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: r.status, headers: r.headers, body: json, text };
    },
    /** Stops with SIGTERM and checks a clean exit with no sanitizer report. */
    async stop({ signal = 'SIGTERM', expectClean = true } = {}) {
      if (!dead) proc.kill(signal);
      const e = await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      if (expectClean && signal === 'SIGTERM') {
        assert.ok(!SANITIZER_REPORT.test(stderr), 'sanitizer report:\n' + stderr);
        assert.equal(e.code, 0, `gateway exit ${JSON.stringify(e)}\n${stderr}`);
      }
      return e;
    },
  };
  return gw;
}

/**
 * Sends raw bytes on a new TCP connection; resolves with everything received until close (or
 * timeout, when closed is false: generous, since a loaded machine answers slowly).
 */
export function rawRequest(port, data, { timeout = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    let closed = false;
    s.setEncoding('latin1');
    s.on('data', (d) => (buf += d));
    s.on('error', reject);
    // the timer goes with the close: a pending one would keep node (and the suite) alive
    const timer = setTimeout(() => { if (!closed) { s.destroy(); resolve({ text: buf, closed: false }); } }, timeout);
    s.on('close', () => { closed = true; clearTimeout(timer); resolve({ text: buf, closed: true }); });
    s.write(data);
  });
}

/** Checks the documented error shape and returns the error object. */
export function assertError(res, status, { param, code, type } = {}) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.ok(res.body && res.body.error, `error body expected: ${res.text}`);
  const e = res.body.error;
  for (const k of ['type', 'code', 'message', 'request_id']) assert.equal(typeof e[k], 'string', `error.${k}: ${res.text}`);
  assert.ok('param' in e, 'error.param present');
  assert.equal(e.request_id, res.headers.get('request-id'));
  if (param !== undefined) assert.equal(e.param, param, `param: ${res.text}`);
  if (code !== undefined) assert.equal(e.code, code, `code: ${res.text}`);
  if (type !== undefined) assert.equal(e.type, type, `type: ${res.text}`);
  return e;
}
