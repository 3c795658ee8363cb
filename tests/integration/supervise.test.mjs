// scripts/run's supervise loop (scripts/lib/supervise.sh): a child that dies on a
// signal is started again after a back-off; a clean exit or a start-up error ends
// the loop with the child's status; SIGTERM and SIGINT stop the child and the loop.
// The child here is a small shell script standing in for `walletpass serve`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor, SOURCE_DIR } from './lib/harness.mjs';

const LIB = path.join(SOURCE_DIR, 'scripts/lib/supervise.sh');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-supervise-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// Each start appends its pid to `starts`; the first `crashes` starts kill themselves
// with `signal`; later ones run until SIGTERM (then exit 0) or exit with `code`.
function child(name, { crashes = 0, signal = 'SEGV', code = null } = {}) {
  const file = path.join(dir, `${name}.sh`);
  const starts = path.join(dir, `${name}.starts`);
  fs.writeFileSync(file, `#!/usr/bin/env bash
trap 'echo "$$ stopped" >> "${starts}.stopped"; exit 0' TERM
echo $$ >> '${starts}'
n=$(wc -l < '${starts}')
if [ "$n" -le ${crashes} ]; then trap - TERM; kill -${signal} $$; fi
${code === null ? '' : `exit ${code}`}
while :; do sleep 0.1; done
`, { mode: 0o755 });
  return { file, count: () => (fs.existsSync(starts) ? fs.readFileSync(starts, 'utf8').trim().split('\n').length : 0),
    stopped: () => fs.existsSync(`${starts}.stopped`) };
}

function supervise(c) {
  const p = spawn('bash', ['-c', `source '${LIB}'; wp_supervise '${c.file}'`], {
    env: { ...process.env, WP_SUPERVISE_MAX_DELAY: '2' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));
  return { p, exited, err: () => err };
}

test('a child that dies on a signal is started again, with back-off, until SIGTERM stops both', async () => {
  const c = child('crashy', { crashes: 2, signal: 'SEGV' });
  const s = supervise(c);
  await waitFor(() => c.count() === 3, { timeout: 120000, what: 'the third start (after two crashes)' });
  assert.match(s.err(), /died on signal SEGV \(exit status 139\); starting it again in 1 s/);
  assert.match(s.err(), /died on signal SEGV \(exit status 139\); starting it again in 2 s/);
  s.p.kill('SIGTERM');
  assert.deepEqual(await s.exited, { code: 0, signal: null });
  assert.ok(c.stopped(), 'the child got SIGTERM and stopped');
  assert.equal(c.count(), 3, 'no start after the stop');
});

test('SIGINT (Ctrl-C) stops the child and the loop too', async () => {
  const c = child('calm');
  const s = supervise(c);
  await waitFor(() => c.count() === 1, { timeout: 120000, what: 'the start' });
  s.p.kill('SIGINT');
  assert.deepEqual(await s.exited, { code: 0, signal: null });
  assert.ok(c.stopped());
});

test('SIGKILL and SIGABRT count as crashes too', async () => {
  const c = child('killed', { crashes: 1, signal: 'KILL' });
  const s = supervise(c);
  await waitFor(() => c.count() === 2, { timeout: 120000, what: 'a start after the SIGKILL' });
  assert.match(s.err(), /died on signal KILL/);
  s.p.kill('SIGTERM');
  await s.exited;
  const a = child('aborted', { crashes: 1, signal: 'ABRT' });
  const t = supervise(a);
  await waitFor(() => a.count() === 2, { timeout: 120000, what: 'a start after the SIGABRT' });
  t.p.kill('SIGTERM');
  await t.exited;
});

test('an exit with a status (a start-up error) is not retried: the loop ends with it', async () => {
  const c = child('broken', { code: 1 });
  const s = supervise(c);
  assert.deepEqual(await s.exited, { code: 1, signal: null });
  assert.equal(c.count(), 1);
  const d = child('done', { code: 0 });
  const t = supervise(d);
  assert.deepEqual(await t.exited, { code: 0, signal: null });
  assert.equal(d.count(), 1);
});
