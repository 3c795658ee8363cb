// Behind a reverse proxy the access log records the client, not the proxy: when the TCP peer is
// listed in server.trusted_proxies, X-Forwarded-For is read from the right, past the trusted
// hops; a peer not listed (a client reaching the gateway directly) cannot choose its address.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, waitFor } from './lib/harness.mjs';

const gws = [];
after(async () => { for (const g of gws) await g.stop(); });

/** The logged ip of the request with this request id (the access log is written in batches). */
async function loggedIp(gw, key, requestId) {
  return waitFor(async () => {
    const r = await gw.request('GET', '/api/v1/logs?limit=100', { key });
    const row = r.body.data.find((x) => x.request_id === requestId);
    return row && row.ip;
  }, { what: `the access log row of ${requestId}` });
}

async function ipFor(gw, a, xff) {
  const headers = {};
  if (xff !== undefined) headers['x-forwarded-for'] = xff;
  const r = await gw.request('GET', '/api/v1/account', { key: a.key, headers });
  assert.equal(r.status, 200, r.text);
  return loggedIp(gw, a.key, r.headers.get('request-id'));
}

test('a trusted proxy: the client from X-Forwarded-For; forged or damaged entries are not believed', async () => {
  const gw = await startGateway({ config: { server: { trusted_proxies: ['127.0.0.1', '10.0.0.0/8'] },
    access_log: { flush_interval_ms: 50 } } });
  gws.push(gw);
  const a = gw.account();
  assert.equal(await ipFor(gw, a, '198.51.100.7'), '198.51.100.7');
  assert.equal(await ipFor(gw, a, '203.0.113.66, 198.51.100.7, 10.1.2.3'), '198.51.100.7', 'the leftmost is the client\'s own claim');
  assert.equal(await ipFor(gw, a, '[2001:db8::7]:443'), '2001:db8::7');
  assert.equal(await ipFor(gw, a, '198.51.100.7, unknown'), '127.0.0.1', 'a damaged nearest entry: the proxy itself');
  assert.equal(await ipFor(gw, a), '127.0.0.1', 'no header: the peer');
});

test('no trusted proxies (the default): X-Forwarded-For is ignored', async () => {
  const gw = await startGateway({ config: { access_log: { flush_interval_ms: 50 } } });
  gws.push(gw);
  const a = gw.account();
  assert.equal(await ipFor(gw, a, '198.51.100.7'), '127.0.0.1');
});
