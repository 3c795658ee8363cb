// Helper of tests/bench/batch.sh: times, against one running gateway,
//   batch    POST /api/v1/passes/batch with N passes until GET /api/v1/batches/:id says completed
//   single1  N single POST /api/v1/passes, one at a time
//   singleC  N single POST /api/v1/passes, C at a time
// Usage: node batch_bench.mjs URL API_KEY N C   -> one line "batch_ms=… single1_ms=… singleC_ms=… links=…"
const [url, key, nArg, cArg] = process.argv.slice(2);
const N = Number(nArg || 1000), C = Number(cArg || 8);
const H = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
const body = (i, tag) => ({
  pass_type: 'loyalty', organization_name: 'Solstice Coffee Co.', logo_text: 'Solstice', background_color: '#1a1a2e',
  foreground_color: '#ffffff', primary_fields: [{ key: 'points', label: 'Points', value: '2,450' }],
  barcode_message: `MEMBER-${tag}-${i}`, locations: [{ latitude: 48.8584, longitude: 2.2945, relevant_text: 'Near the shop' }],
});
async function post(p, b) {
  const r = await fetch(url + p, { method: 'POST', headers: H, body: JSON.stringify(b) });
  const j = await r.json();
  if (r.status >= 300) throw new Error(`${p}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}
let links = 'none';
async function single(n, c, tag) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: c }, async () => {
    while (next < n) {
      const p = await post('/api/v1/passes', body(next++, tag));
      if (p.pkpass_url && p.google_save_url) links = 'apple+google';
    }
  }));
  return performance.now() - t0;
}
async function batch(n, tag) {
  const t0 = performance.now();
  const b = await post('/api/v1/passes/batch', { passes: Array.from({ length: n }, (_, i) => body(i, tag)) });
  for (;;) {
    const r = await (await fetch(`${url}/api/v1/batches/${b.id}?limit=1`, { headers: H })).json();
    if (r.status === 'completed') {
      if (r.succeeded !== n) throw new Error(`batch: ${r.succeeded} of ${n} succeeded`);
      return performance.now() - t0;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
}
await single(50, 4, 'warm'); // warm-up: connections, caches
const single1 = await single(N, 1, 's1');
const singleC = await single(N, C, 'sc');
const batchMs = await batch(N, 'b');
console.log(`batch_ms=${batchMs.toFixed(0)} single1_ms=${single1.toFixed(0)} singleC_ms=${singleC.toFixed(0)} links=${links}`);
