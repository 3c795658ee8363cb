// Type=notify (packaging/systemd/walletpass.service): `serve` tells the service manager it is ready
// over $NOTIFY_SOCKET, by hand (no libsystemd): READY=1 once its migrations are applied and it
// listens, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 when it drains. systemd does not
// run here: a small Python datagram listener stands in for it, on a path and on an abstract socket.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { startGateway, waitFor } from './lib/harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-notify-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// Prints every datagram it receives as one JSON line (the socket is bound before "bound" is printed).
const LISTENER = `
import json, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
print('bound', flush=True)
while True:
    data, _ = s.recvfrom(4096)
    print(json.dumps(data.decode()), flush=True)
`;

/** Starts a listener on addr; returns { messages(), stop() }. */
async function listener(addr) {
  const p = spawn('python3', ['-c', LISTENER, addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.startsWith('bound'), { what: 'the notify listener' });
  return {
    messages: () => out.split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l)),
    stop: () => p.kill(),
  };
}

for (const kind of ['path', 'abstract']) {
  test(`READY=1, RELOADING=1, STOPPING=1 reach NOTIFY_SOCKET (${kind})`, async () => {
    const addr = kind === 'path' ? path.join(dir, 'notify.sock') : `@walletpass-test-${crypto.randomBytes(6).toString('hex')}`;
    const l = await listener(addr);
    try {
      const gw = await startGateway({ env: { NOTIFY_SOCKET: addr } });
      let stopped = false;
      try {
        await waitFor(() => l.messages().some((m) => m.split('\n').includes('READY=1')), { what: 'READY=1' });
        const ready = l.messages().find((m) => m.split('\n').includes('READY=1'));
        assert.match(ready, new RegExp(`^READY=1\\nSTATUS=serving on port ${gw.port}\\nMAINPID=${gw.proc.pid}$`));
        // ready means ready: the gateway answers
        assert.equal((await gw.request('GET', '/readyz')).status, 200);

        gw.proc.kill('SIGHUP');
        await waitFor(() => l.messages().length >= 3, { what: 'RELOADING=1 and READY=1' });
        const [, reloading, again] = l.messages();
        assert.match(reloading, /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
        assert.equal(again, 'READY=1');

        await gw.stop();
        stopped = true;
        await waitFor(() => l.messages().includes('STOPPING=1'), { what: 'STOPPING=1' });
        assert.equal(l.messages().length, 4, l.messages().join(' | '));
      } finally {
        if (!stopped) await gw.stop();
      }
    } finally {
      l.stop();
    }
  });
}

test('without NOTIFY_SOCKET nothing is sent, and a bad one is said once and does not stop the gateway', async () => {
  const gw = await startGateway({ env: { NOTIFY_SOCKET: 'relative/not-a-socket' } });
  try {
    assert.equal((await gw.request('GET', '/readyz')).status, 200);
    assert.match(gw.stderr(), /NOTIFY_SOCKET "relative\/not-a-socket" is neither an absolute path nor an abstract socket/);
  } finally {
    await gw.stop();
  }
});
