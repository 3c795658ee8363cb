// Keep-alive: a connection the gateway keeps open stays usable for longer than clients keep idle
// connections (it advertises half its idle timeout in Keep-Alive: timeout=N), and idle
// connections never hold every worker thread.  Raw sockets, so the client's own pooling plays no part.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGateway, sleep } from './lib/harness.mjs';

const gateways = [];
after(async () => { for (const g of gateways) await g.stop(); });

/** A socket that sends requests one at a time and reads each whole response (Content-Length framing). */
function connection(port) {
  const s = net.connect(port, '127.0.0.1');
  s.setEncoding('latin1');
  let buf = '';
  let closed = false;
  let waiter = null;
  const poke = () => waiter && waiter();
  s.on('data', (d) => { buf += d; poke(); });
  s.on('close', () => { closed = true; poke(); });
  s.on('error', () => {});
  return {
    get closed() { return closed; },
    /** Resolves with { head, headers, body } or null when the server closed without answering. */
    get(path) {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      return new Promise((resolve) => {
        waiter = () => {
          const end = buf.indexOf('\r\n\r\n');
          if (end >= 0) {
            const head = buf.slice(0, end);
            const headers = Object.fromEntries(head.split('\r\n').slice(1).map((l) => {
              const i = l.indexOf(':');
              return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
            }));
            const len = Number(headers['content-length'] || 0);
            if (buf.length >= end + 4 + len) {
              const body = buf.slice(end + 4, end + 4 + len);
              buf = buf.slice(end + 4 + len);
              waiter = null;
              return resolve({ head, headers, body });
            }
          }
          if (closed) { waiter = null; resolve(null); }
        };
        poke();
      });
    },
    /** Resolves once the server has closed the connection. */
    whenClosed() {
      return closed ? Promise.resolve() : new Promise((resolve) => s.once('close', resolve));
    },
    end() { s.destroy(); },
  };
}

test('an idle connection outlives the advertised Keep-Alive timeout and is reused after 6 s', async () => {
  const gw = await startGateway(); // the default keep_alive_timeout_ms
  gateways.push(gw);
  const c = connection(gw.port);
  const first = await c.get('/healthz');
  assert.ok(first, 'answered');
  assert.match(first.head, /^HTTP\/1\.1 200 /);
  // Idle for longer than most HTTP clients' own idle timers fire late by, and longer than the
  // gateway used to keep a connection: a client reusing it now must get an answer.
  await sleep(6000);
  assert.equal(c.closed, false, 'the gateway closed an idle connection it had promised to keep');
  const second = await c.get('/healthz');
  assert.ok(second, 'the reused connection was closed instead of answered');
  assert.match(second.head, /^HTTP\/1\.1 200 /);
  for (const r of [first, second]) {
    assert.equal(r.headers.connection, 'keep-alive');
    assert.equal(r.headers['keep-alive'], 'timeout=32', 'half of the default 65 s idle timeout');
  }
  c.end();
});

test('idle keep-alive connections never take every worker: past three quarters, responses close', async () => {
  const gw = await startGateway({ config: { server: { num_threads: 4, keep_alive_timeout_ms: 60000 } } });
  gateways.push(gw);
  const kept = [];
  let closing = null;
  // One worker may already hold the harness's own /healthz connection; either way a response
  // must say "close" before idle connections hold all four workers.
  for (let i = 0; i < 4 && !closing; i++) {
    const c = connection(gw.port);
    const r = await c.get('/healthz');
    assert.ok(r, `connection ${i + 1} answered`);
    if (r.headers.connection === 'close') {
      assert.equal(r.headers['keep-alive'], undefined, 'no Keep-Alive on a closing response');
      closing = c;
    } else {
      assert.equal(r.headers.connection, 'keep-alive');
      assert.equal(r.headers['keep-alive'], 'timeout=30');
      kept.push(c);
    }
  }
  assert.ok(closing, 'four idle keep-alive connections were allowed to hold all four workers');
  assert.ok(kept.length >= 2, `${kept.length} connections kept`);
  await closing.whenClosed();
  // With the idle connections still open, a new connection is served (it would otherwise wait
  // for an idle one to time out, 60 s here).
  const f = connection(gw.port);
  let timer;
  const fresh = await Promise.race([f.get('/healthz'), new Promise((r) => { timer = setTimeout(() => r(null), 20000); })]);
  clearTimeout(timer);
  f.end();
  assert.ok(fresh, 'a new connection was not served while idle ones held the workers');
  assert.match(fresh.head, /^HTTP\/1\.1 200 /);
  // ... and the kept connections still work.
  for (const c of kept) {
    const r = await c.get('/healthz');
    assert.ok(r, 'a kept connection was closed');
    assert.match(r.head, /^HTTP\/1\.1 200 /);
    c.end();
  }
});
