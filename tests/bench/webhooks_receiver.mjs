// Receiver of tests/bench/webhooks.sh: answers every POST 204 and counts the
// ones carrying a webhook-id (deliveries) apart from the others (wrk's load).
// GET /stats -> {"deliveries", "first_ms", "last_ms", "ids"}.  Usage: node webhooks_receiver.mjs PORT
import http from 'node:http';

const port = Number(process.argv[2]);
let deliveries = 0, first = 0, last = 0;
const ids = new Set();
http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ deliveries, first_ms: first, last_ms: last, ids: ids.size }));
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    const id = req.headers['webhook-id'];
    if (id) {
      const now = Date.now();
      if (!deliveries) first = now;
      last = now;
      deliveries++;
      ids.add(id);
    }
    res.writeHead(204);
    res.end();
  });
}).listen(port, '127.0.0.1');
