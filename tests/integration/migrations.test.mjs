// Migrations: applied in order, recorded once, safe to run twice and from
// several processes at once (they serialise on an advisory lock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { BIN, SOURCE_DIR, createDatabase, psql } from './lib/harness.mjs';

function migrate(dbUrl) {
  return new Promise((resolve) => {
    const p = spawn(BIN, ['migrate'], {
      env: { ...process.env, WALLETPASS_DATABASE_URL: dbUrl, WALLETPASS_CONFIG: '', WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, err }));
  });
}

const files = fs.readdirSync(path.join(SOURCE_DIR, 'migrations')).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();

test('four processes migrating one fresh database at once all succeed, each file applied once', async () => {
  const db = createDatabase();
  const results = await Promise.all([migrate(db), migrate(db), migrate(db), migrate(db)]);
  for (const r of results) assert.equal(r.code, 0, r.err);
  const applied = results.map((r) => Number((r.err.match(/migrations: (\d+) applied/) || [])[1]));
  assert.equal(applied.reduce((a, b) => a + b, 0), files.length, 'exactly one process applied each file: ' + applied);
  const rows = psql(db, "SELECT version FROM schema_migrations WHERE component = 'core' ORDER BY version").split('\n');
  assert.deepEqual(rows, files);
  assert.doesNotMatch(results.map((r) => r.err).join(''), /NOTICE/);
});

test('running again applies nothing', async () => {
  const db = createDatabase();
  assert.equal((await migrate(db)).code, 0);
  const again = await migrate(db);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /migrations: 0 applied/);
});

test('a failing migration rolls back alone and stops with its name', async () => {
  const db = createDatabase();
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'wp-mig-'));
  fs.writeFileSync(path.join(dir, '0001_ok.sql'), 'CREATE TABLE t_ok (id int);');
  fs.writeFileSync(path.join(dir, '0002_bad.sql'), 'CREATE TABLE t_bad (id int); SELECT no_such_function();');
  const r = await new Promise((resolve) => {
    const p = spawn(BIN, ['migrate'], { env: { ...process.env, WALLETPASS_DATABASE_URL: db, WALLETPASS_CONFIG: '', WALLETPASS_MIGRATIONS_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, err }));
  });
  assert.equal(r.code, 1);
  assert.match(r.err, /0002_bad\.sql/);
  assert.equal(psql(db, "SELECT string_agg(version, ',') FROM schema_migrations"), '0001_ok.sql');
  assert.equal(psql(db, "SELECT count(*) FROM pg_tables WHERE tablename = 't_bad'"), '0');
  fs.rmSync(dir, { recursive: true, force: true });
});
