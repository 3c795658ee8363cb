// A small keep-alive HTTP/1.1 client for the Node drivers of tests/bench:
// a pool of `connections` sockets (node:http Agent), whole bodies as Buffers,
// and a helper that runs a list of requests through N concurrent workers,
// timing each.
import http from 'node:http';

export function makeClient(base, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const u = new URL(base);
  function request(method, path, headers = {}, body = null) {
    return new Promise((resolve, reject) => {
      const h = { ...headers };
      if (body !== null) h['content-length'] = Buffer.byteLength(body);
      const req = http.request({ host: u.hostname, port: u.port, method, path, headers: h, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (body !== null) req.write(body);
      req.end();
    });
  }
  return { request, close: () => agent.destroy() };
}

// runAll(items, workers, fn): calls fn(item, i) for every item, `workers` at a
// time; returns {secs, latenciesMs (sorted), results}.
export async function runAll(items, workers, fn) {
  const lat = new Array(items.length);
  const results = new Array(items.length);
  let next = 0;
  const t0 = process.hrtime.bigint();
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      const s = process.hrtime.bigint();
      results[i] = await fn(items[i], i);
      lat[i] = Number(process.hrtime.bigint() - s) / 1e6;
    }
  }
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { secs, latenciesMs: lat.sort((a, b) => a - b), results };
}

export const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p / 100) - 1))] : 0);
