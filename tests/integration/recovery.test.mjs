// Recovery after a crash: a gateway restarted on the same host takes over the
// jobs its SIGKILLed predecessor held at once (the owner id names host and pid,
// and that pid is gone), not when their lease ends.  The lease here is an hour,
// so the batch can only finish through dead-owner detection; the proof is in
// the jobs table (owner and attempts), not in a clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGateway, waitFor, BIN } from './lib/harness.mjs';

const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(BIN), '..');
// The suite blocks node in synchronous psql/CLI calls, longer than the server's 5 s keep-alive on a
// loaded machine: the server would close a pooled connection node cannot notice closing, and fetch
// does not retry a POST on it.  So the server keeps idle connections longer.
const SERVER = { keep_alive_timeout_ms: 120000 };
const CONFIG = {
  server: SERVER,
  plugin_dir: path.join(BUILD_DIR, 'plugins'),
  plugins: [],
  jobs: { workers: 1, poll_ms: 100, lease_seconds: 3600 },
};
const q = (s) => s.replace(/'/g, "''");
const pass = (i) => ({ pass_type: 'loyalty', organization_name: 'Recovery Co', serial_number: `R-${i}`,
  primary_fields: [{ key: 'n', label: 'N', value: String(i) }] });

test('SIGKILL mid-batch (1,000 items, 1 h lease): the restarted gateway takes the dead owner\'s chunk over at once', async (t) => {
  const g1 = await startGateway({ config: CONFIG });
  const acct = g1.account();
  const N = 1000;
  const r = await g1.request('POST', '/api/v1/passes/batch', { key: acct.key, body: { passes: Array.from({ length: N }, (_, i) => pass(i)) } });
  assert.equal(r.status, 202, r.text);
  const batch = r.body.id;
  await waitFor(async () => {
    const x = await g1.request('GET', `/api/v1/batches/${batch}`, { key: acct.key });
    return x.body.status === 'processing' && x.body.succeeded >= 50;
  }, { interval: 10, timeout: 120000, what: 'the batch processing' });
  const pid1 = g1.proc.pid;
  await g1.stop({ signal: 'SIGKILL' });
  const held = g1.sql(`SELECT id FROM jobs WHERE kind = 'batches.chunk' AND status = 'running'
                       AND locked_by LIKE '%:${pid1}:%' AND locked_until > now() + interval '50 minutes'`);
  assert.ok(held, 'the killed gateway held a chunk under a lease of about an hour');
  const heldIds = held.split('\n');
  const passesBefore = Number(g1.sql(`SELECT count(*) FROM passes WHERE account_id = '${q(acct.account)}'`));
  assert.ok(passesBefore > 0 && passesBefore < N, `killed mid-batch (${passesBefore} passes)`);

  const t0 = Date.now();
  const g2 = await startGateway({ config: CONFIG, dbUrl: g1.dbUrl, env: { WALLETPASS_MASTER_KEY: g1.env.WALLETPASS_MASTER_KEY } });
  try {
    await waitFor(() => g2.sql(`SELECT count(*) FROM jobs WHERE locked_by LIKE '%:${pid1}:%'`) === '0',
      { interval: 20, timeout: 60000, what: 'the dead owner\'s jobs released' });
    t.diagnostic(`recovery: the dead owner's jobs were released ${Date.now() - t0} ms after the restart began (lease 3600 s)`);
    await waitFor(async () => {
      const x = await g2.request('GET', `/api/v1/batches/${batch}`, { key: acct.key });
      return x.body.status === 'completed' ? x.body : null;
    }, { interval: 100, timeout: 300000, what: `batch ${batch} completed` });
    t.diagnostic(`recovery: the batch completed ${Date.now() - t0} ms after the restart began`);
    // the held chunk: taken over (not expired), run a second time by the new process
    for (const id of heldIds) {
      const [attempts, status, err, owner] = g2.sql(`SELECT attempts, status, last_error, coalesce(locked_by, '') FROM jobs WHERE id = '${id}'`).split('|');
      assert.equal(status, 'done');
      assert.equal(Number(attempts), 2, `job ${id}: one attempt by the dead process, one by its successor`);
      assert.match(err, new RegExp(`^owner died: .*:${pid1}:`), `job ${id}: last_error names the dead owner`);
      assert.equal(owner, '');
    }
    assert.equal(g2.sql("SELECT count(*) FROM jobs WHERE last_error LIKE 'lease expired%'"), '0', 'no lease had to expire');
    // nothing lost, nothing twice
    assert.equal(Number(g2.sql(`SELECT count(*) FROM passes WHERE account_id = '${q(acct.account)}'`)), N);
    assert.equal(Number(g2.sql(`SELECT count(DISTINCT serial_number) FROM passes WHERE account_id = '${q(acct.account)}'`)), N);
    assert.equal(Number(g2.sql(`SELECT count(*) FROM batch_items WHERE batch_id = '${batch}' AND status = 'succeeded'`)), N);
    assert.equal(Number(g2.sql(`SELECT count(*) FROM events WHERE type = 'pass.created' AND account_id = '${q(acct.account)}'`)), N);
  } finally {
    await g2.stop();
  }
});

test('a live gateway\'s jobs are never taken over: two processes share a batch, every chunk once', async () => {
  const g1 = await startGateway({ config: CONFIG });
  const g2 = await startGateway({ config: CONFIG, dbUrl: g1.dbUrl, env: { WALLETPASS_MASTER_KEY: g1.env.WALLETPASS_MASTER_KEY } });
  try {
    const acct = g1.account();
    const N = 300;
    const r = await g1.request('POST', '/api/v1/passes/batch', { key: acct.key, body: { passes: Array.from({ length: N }, (_, i) => pass(i)) } });
    assert.equal(r.status, 202, r.text);
    await waitFor(async () => {
      const x = await g2.request('GET', `/api/v1/batches/${r.body.id}`, { key: acct.key });
      return x.body.status === 'completed';
    }, { interval: 100, timeout: 300000, what: 'the batch completed' });
    assert.equal(g1.sql("SELECT count(*) FROM jobs WHERE kind = 'batches.chunk' AND (attempts <> 1 OR last_error IS NOT NULL)"), '0');
    assert.equal(Number(g1.sql(`SELECT count(*) FROM passes WHERE account_id = '${q(acct.account)}'`)), N);
  } finally {
    await g1.stop();
    await g2.stop();
  }
});
