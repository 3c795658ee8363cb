// Driver of tests/bench/pkpass_uncached.sh: creates N passes, then downloads
// each one's pkpass_url exactly once (so every download signs a bundle),
// over C keep-alive connections.
// Usage: node pkpass_uncached.mjs <gateway URL> <API key> <N> <C>
// Prints: created=N create_secs=... downloads=N secs=... per_s=... p50_ms=... p99_ms=... bytes=...
import { makeClient, runAll, pct } from './lib/http_client.mjs';

const [BASE, KEY, NARG, CARG] = process.argv.slice(2);
const N = Number(NARG), C = Number(CARG);
const BODY = JSON.stringify({ pass_type: 'loyalty', organization_name: 'Solstice Coffee Co.', logo_text: 'Solstice',
  background_color: '#1a1a2e', foreground_color: '#ffffff', primary_fields: [{ key: 'points', label: 'Points', value: '2,450' }],
  barcode_message: 'MEMBER-00421' });

async function main() {
  const cli = makeClient(BASE, C);
  const created = await runAll(Array.from({ length: N }), 8, async () => {
    const r = await cli.request('POST', '/api/v1/passes', { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, BODY);
    if (r.status !== 201) throw new Error(`POST /api/v1/passes: ${r.status} ${r.body}`);
    const u = JSON.parse(r.body).pkpass_url;
    if (!u) throw new Error('the pass got no pkpass_url (is apple-signer.so built?)');
    const url = new URL(u);
    return url.pathname + url.search;
  });
  const paths = created.results;
  let bytes = 0;
  const dl = await runAll(paths, C, async (p) => {
    const r = await cli.request('GET', p);
    if (r.status !== 200 || r.body.subarray(0, 2).toString() !== 'PK') throw new Error(`GET ${p}: ${r.status}`);
    bytes += r.body.length;
  });
  cli.close();
  console.log(`created=${N} create_secs=${created.secs.toFixed(3)} downloads=${N} secs=${dl.secs.toFixed(3)} ` +
    `per_s=${Math.round(N / dl.secs)} p50_ms=${pct(dl.latenciesMs, 50).toFixed(2)} p99_ms=${pct(dl.latenciesMs, 99).toFixed(2)} ` +
    `bytes=${Math.round(bytes / N)}`);
}
main().catch((e) => { console.error(e); process.exit(1); });
