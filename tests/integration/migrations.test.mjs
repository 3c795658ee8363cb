// Migrations: applied in order, recorded once, safe to run twice and from
// several processes at once (they serialise on an advisory lock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { BIN, SOURCE_DIR, createDatabase, psql } from './lib/harness.mjs';

// 'close', not 'exit': a busy machine can report the exit before the last stderr bytes are read,
// and the summary line is the last thing a migrator writes.
function migrate(dbUrl) {
  return new Promise((resolve) => {
    const p = spawn(BIN, ['migrate'], {
      env: { ...process.env, WALLETPASS_DATABASE_URL: dbUrl, WALLETPASS_CONFIG: '', WALLETPASS_MASTER_KEY: crypto.randomBytes(32).toString('base64') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, err }));
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
    p.on('close', (code) => resolve({ code, err }));
  });
  assert.equal(r.code, 1);
  assert.match(r.err, /0002_bad\.sql/);
  assert.equal(psql(db, "SELECT string_agg(version, ',') FROM schema_migrations"), '0001_ok.sql');
  assert.equal(psql(db, "SELECT count(*) FROM pg_tables WHERE tablename = 't_bad'"), '0');
  fs.rmSync(dir, { recursive: true, force: true });
});

// Credential kinds are whatever plugins register: 0008 replaced the fixed list of the
// credentials.platform CHECK by a name shape, and 0004 was edited to say the same (the runner
// records a file's name only, so an edited file never runs again where it ran). A database
// migrated with the files as they were before keeps its rows and ends with the same constraint
// as a fresh one.
test('a database made before credential kinds upgrades to the same constraint as a fresh one', async () => {
  const runIn = (dir, db) => new Promise((resolve) => {
    const p = spawn(BIN, ['migrate'], { env: { ...process.env, WALLETPASS_DATABASE_URL: db, WALLETPASS_CONFIG: '', WALLETPASS_MIGRATIONS_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, err }));
  });
  const src = path.join(SOURCE_DIR, 'migrations');
  const old = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'wp-mig-old-'));
  const before = files.filter((f) => f < '0008');
  for (const f of before) fs.copyFileSync(path.join(src, f), path.join(old, f));
  const f4 = path.join(old, '0004_passes_templates.sql');
  const generic = "CHECK (platform ~ '^[a-z][a-z0-9_-]{0,31}$')";
  const text = fs.readFileSync(f4, 'utf8');
  assert.ok(text.includes(generic), '0004 carries the name-shape CHECK');
  fs.writeFileSync(f4, text.replace(generic, "CHECK (platform IN ('apple', 'google'))"));

  const db = createDatabase();
  let r = await runIn(old, db);
  assert.equal(r.code, 0, r.err);
  psql(db, `INSERT INTO accounts (id, name, email, plan) VALUES ('acct_old', 'Old', 'old@example.com', 'trial');
            INSERT INTO credentials (account_id, platform, sealed, key_version, meta)
            VALUES ('acct_old', 'apple', 'wpv1:1:a', 1, '{"team_identifier": "ABCDE12345"}'),
                   ('acct_old', 'google', 'wpv1:1:g', 1, '{}')`);
  assert.throws(() => psql(db, "INSERT INTO credentials (account_id, platform, sealed, key_version, meta) VALUES ('acct_old', 'acme', 'x', 1, '{}')"),
    /credentials_platform_check/, 'the old list refuses other kinds');

  r = await runIn(src, db);
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.err, /NOTICE/);
  assert.equal(psql(db, "SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations WHERE version >= '0008'"),
    files.filter((f) => f >= '0008').join(','));
  assert.equal(psql(db, "SELECT string_agg(platform || ':' || sealed, ',' ORDER BY platform) FROM credentials"), 'apple:wpv1:1:a,google:wpv1:1:g');
  psql(db, "INSERT INTO credentials (account_id, platform, sealed, key_version, meta) VALUES ('acct_old', 'acme', 'x', 1, '{}')");
  for (const bad of ['Acme', '1acme', 'a b', 'a'.repeat(33), ''])
    assert.throws(() => psql(db, `INSERT INTO credentials (account_id, platform, sealed, key_version, meta) VALUES ('acct_old', '${bad}', 'x', 1, '{}')`),
      /credentials_platform_check/, bad);

  const fresh = createDatabase();
  assert.equal((await runIn(src, fresh)).code, 0);
  const def = (u) => psql(u, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'credentials_platform_check'");
  assert.equal(def(db), def(fresh));
  assert.match(def(fresh), /platform ~ /);
  fs.rmSync(old, { recursive: true, force: true });
});
