// A gateway that dies on a fatal signal says so: one log line naming the
// signal, then the crashing thread's backtrace, and it still dies of that
// signal (so a supervisor sees a crash and restarts it).  The signal is sent
// with kill, which goes through the same handler as a real fault.  Sanitizer
// builds install no handler of their own: the sanitizer reports instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, createDatabase, sanitizer } from './lib/harness.mjs';

const SAN = sanitizer();
let dbUrl;
before(() => { dbUrl = createDatabase(); });

async function crash(signal) {
  const gw = await startGateway({ dbUrl });
  // The gateway serves: requests in flight do not change what happens.
  const r = await gw.request('GET', '/healthz');
  assert.equal(r.status, 200);
  // stop() sends the signal, once: a second one would meet the default action that SA_RESETHAND
  // restored and end the process in the middle of its report.
  const e = await gw.stop({ signal, expectClean: false });
  return { exit: e, log: gw.stderr() };
}

const SIGNALS = [
  ['SIGSEGV', 'segmentation fault'], ['SIGBUS', 'bus error'], ['SIGILL', 'illegal instruction'],
  ['SIGFPE', 'arithmetic exception'], ['SIGABRT', 'aborted'],
];

for (const [signal, what] of SIGNALS) {
  test(`${signal}: one line naming the signal, the backtrace, and death by ${signal}`, { skip: SAN ? `the ${SAN} sanitizer reports fatal signals itself` : false }, async () => {
    const { exit, log } = await crash(signal);
    assert.equal(exit.signal, signal, `the process died of ${signal}: ${JSON.stringify(exit)}\n${log}`);
    const lines = log.split('\n');
    const at = lines.findIndex((l) => l.includes(`fatal signal ${signal}`));
    assert.ok(at >= 0, `a line names ${signal}:\n${log}`);
    assert.match(lines[at], new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z error fatal signal ${signal} \\(${what}\\) ` +
      `in thread \\d+( "[^"]*")?, sent by pid ${process.pid}; walletpass \\S+; backtrace follows$`));
    assert.equal(lines.filter((l) => l.includes('fatal signal')).length, 1, 'exactly one such line');
    // backtrace_symbols_fd: one frame a line, "object(symbol+offset) [address]", up to the end marker
    const end = lines.indexOf('end of backtrace', at);
    assert.ok(end > at + 1, `the backtrace follows the line:\n${log}`);
    const frames = lines.slice(at + 1, end);
    for (const fr of frames) assert.match(fr, /\[0x[0-9a-f]+\]$/, `a frame: ${fr}`);
    assert.ok(frames.some((fr) => /walletpass\(/.test(fr)), `a frame of the walletpass binary:\n${frames.join('\n')}`);
    assert.ok(frames.some((fr) => /libc\.so/.test(fr)), `the signal frame (libc):\n${frames.join('\n')}`);
  });
}

test('sanitizer builds leave fatal signals to the sanitizer', { skip: SAN ? false : 'release build: the handler is installed' }, async () => {
  const { exit, log } = await crash('SIGSEGV');
  assert.ok(exit.signal || exit.code !== 0, `the process did not survive: ${JSON.stringify(exit)}`);
  assert.ok(!/fatal signal SIGSEGV/.test(log), `no handler of ours in a sanitizer build:\n${log}`);
  assert.match(log, /Sanitizer/, `the sanitizer reported the signal:\n${log}`);
});
