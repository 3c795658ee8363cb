// npm jose signing the same save-link claims as google_jwt_bench, RS256 with
// the same key, for tests/bench/google_jwt.sh.  Usage: node google_jwt_jose.mjs KEY.pem CLAIMS.json SECONDS
// Prints "signs=<n> seconds=<s> signs_per_s=<r>".
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const jose = await import(require.resolve('jose'));
const [keyFile, claimsFile, seconds] = process.argv.slice(2);
const key = await jose.importPKCS8(fs.readFileSync(keyFile, 'utf8'), 'RS256');
const claims = JSON.parse(fs.readFileSync(claimsFile, 'utf8'));
const until = performance.now() + Number(seconds) * 1000;
let n = 0;
const t0 = performance.now();
while (performance.now() < until) {
  for (let i = 0; i < 16; i++) {
    // the same work per link as the C side: fresh iat, serialise, sign, encode
    const jwt = await new jose.SignJWT({ ...claims, iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(key);
    if (!jwt) throw new Error('no jwt');
    n++;
  }
}
const s = (performance.now() - t0) / 1000;
console.log(`signs=${n} seconds=${s.toFixed(3)} signs_per_s=${Math.round(n / s)}`);
