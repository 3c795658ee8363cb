// A webhook receiver stand-in for the fault suites and the soak: an HTTP server that records
// every delivery, checks its Standard Webhooks signature (npm `standardwebhooks`) with the
// endpoint's secret, and misbehaves on demand, per path:
//   ok (200), slow (answers after delayMs), status (500, 503, ...), 429 with Retry-After,
//   hang (holds the request unanswered until release() or close()).
// A "dead" endpoint is deadUrl(): a loopback port nobody listens on (connection refused).
// Records: { path, id (webhook-id), headers, body, event (parsed), verified (true, false, or
// null while the path has no secret), at (ms, request received), answeredAt, status }.
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');

/** A loopback port that was free a moment ago and is closed now: connecting to it is refused. */
export function closedPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startWebhookReceiver() {
  const seen = [];
  const behaviour = new Map(); // path -> (rec, n) => { status, headers, body, delayMs, hang }
  const secrets = new Map(); // path -> whsec_… (deliveries to it are verified)
  const held = []; // { path, answer(status) }
  const open = new Map(); // path -> requests being handled now
  const maxOpen = new Map(); // path -> the most at once
  const server = http.createServer((req, res) => {
    const chunks = [];
    const path = req.url;
    open.set(path, (open.get(path) || 0) + 1);
    maxOpen.set(path, Math.max(maxOpen.get(path) || 0, open.get(path)));
    let closed = false;
    const done = () => {
      if (!closed) { closed = true; open.set(path, open.get(path) - 1); }
    };
    res.on('close', done);
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const rec = { path, id: req.headers['webhook-id'], headers: req.headers, body, at: Date.now(), verified: null };
      try { rec.event = JSON.parse(body); } catch { rec.event = undefined; }
      const secret = secrets.get(path);
      if (secret) {
        try {
          new Webhook(secret).verify(body, {
            'webhook-id': req.headers['webhook-id'], 'webhook-timestamp': req.headers['webhook-timestamp'],
            'webhook-signature': req.headers['webhook-signature'],
          });
          rec.verified = true;
        } catch {
          rec.verified = false;
        }
      }
      seen.push(rec);
      const n = seen.filter((r) => r.path === path).length;
      const b = (behaviour.get(path) || (() => ({ status: 200 })))(rec, n);
      const answer = (status = b.status, headers = b.headers, text = b.body) => {
        if (res.destroyed || res.writableEnded) return;
        // Taken before the answer leaves: once written, the gateway may read it and act on it
        // while this process waits for a core, so a time taken after could be later than that.
        rec.answeredAt = Date.now();
        res.writeHead(status, headers || { 'content-type': 'text/plain' });
        res.end(text ?? 'ok');
        rec.status = status;
      };
      if (b.hang) {
        held.push({ path, rec, answer, res });
        return;
      }
      if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
      answer();
    });
  });
  server.keepAliveTimeout = 60000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const dead = await closedPort();
  return {
    seen, behaviour, port,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    deadUrl: (p = '/dead') => `http://127.0.0.1:${dead}${p}`,
    /** fn(rec, n) -> { status, headers, body, delayMs, hang } for requests to path (n counts them from 1). */
    behave: (p, fn) => behaviour.set(p, fn),
    /** Deliveries to path are verified with this secret from now on. */
    setSecret: (p, secret) => secrets.set(p, secret),
    on: (p) => seen.filter((r) => r.path === p),
    /** Requests held unanswered (hang) whose connection is still open, for path or all. */
    held: (p) => held.filter((h) => !h.res.destroyed && (!p || h.path === p)).length,
    /** Requests of path being handled right now, and the most there ever were at once. */
    inFlight: (p) => open.get(p) || 0,
    maxInFlight: (p) => maxOpen.get(p) || 0,
    /** Answers the held requests (of path, or all) with status. */
    release(p, status = 200) {
      for (let i = held.length - 1; i >= 0; i--) {
        if (p && held[i].path !== p) continue;
        held[i].answer(status);
        held.splice(i, 1);
      }
    },
    close: () => new Promise((r) => {
      held.splice(0);
      server.closeAllConnections();
      server.close(r);
    }),
  };
}
