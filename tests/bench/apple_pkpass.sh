#!/usr/bin/env bash
# Benchmark: the cost of a signed .pkpass (apple-signer plugin).
#
#   1. uncached builds per second on one core (apple_pkpass_bench: render
#      pass.json, hash the files, PKCS#7-sign the manifest with RSA-2048, zip)
#      against `openssl speed rsa2048` sign/s on the same machine.  Both count
#      CPU time (openssl speed's default; the bench reads its process CPU
#      clock), so "per core" is the work's own cost, not a neighbour's load;
#      they run in alternating one-second rounds all the same.  The ratio
#      builds/sign is the figure (target > 0.8: the signature is the cost,
#      everything else is small).
#   2. cached downloads per second over HTTP: wrk on a pass's pkpass_url (the
#      bundle is signed once, then served from memory), and the same with
#      If-None-Match (304).
# Run with scripts/bench apple_pkpass.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"

BENCH_BIN_DIR=$(cd "$(dirname "$WP_BENCH_BIN")/.." && pwd)
PKBENCH=$BENCH_BIN_DIR/plugins/apple-signer/apple_pkpass_bench
[ -x "$PKBENCH" ] || wp_die "$PKBENCH is missing (build the tree first)"
ROUNDS=${WP_BENCH_DURATION}

# ---- 1. uncached builds vs openssl speed --------------------------------------
wp_say "uncached builds vs openssl speed rsa2048: $ROUNDS alternating one-second rounds"
builds=0 build_s=0 signs=0 sign_s=0
for _ in $(seq 1 "$ROUNDS"); do
    line=$("$PKBENCH" 1)
    b=$(sed -n 's/.*builds=\([0-9]*\).*/\1/p' <<<"$line")
    s=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$line")
    builds=$((builds + b)); build_s=$(awk -v a="$build_s" -v b="$s" 'BEGIN { print a + b }')
    # "+R1:<count>:<bits>:<seconds>" is openssl speed's machine-readable sign line
    r=$(openssl speed -mr -seconds 1 rsa2048 2>&1 | sed -n 's/^+R1:\([0-9]*\):2048:\([0-9.]*\)$/\1 \2/p' | head -n 1)
    [ -n "$r" ] || wp_die "openssl speed -mr printed no +R line"
    signs=$((signs + ${r% *})); sign_s=$(awk -v a="$sign_s" -v b="${r#* }" 'BEGIN { print a + b }')
done
build_rate=$(awk -v n="$builds" -v s="$build_s" 'BEGIN { printf "%.0f", n / s }')
sign_rate=$(awk -v n="$signs" -v s="$sign_s" 'BEGIN { printf "%.0f", n / s }')
bundle_bytes=$("$PKBENCH" 0.2 | sed -n 's/.*bundle_bytes=\([0-9]*\).*/\1/p')

# ---- 2. cached downloads over HTTP --------------------------------------------------
db=$(bench_database walletpass_bench_apple)
port=$(wp_free_port)
cfg=$BENCH_TMP/walletpass-apple.json
cat >"$cfg" <<JSON
{
  "\$comment": "benchmark gateway: the apple-signer plugin, keep-alive, a rate limit that never refuses",
  "server": { "listen_address": "127.0.0.1", "port": $port, "keep_alive": true },
  "public_url": "http://127.0.0.1:$port",
  "rate_limit": { "requests_per_second": 1000000000, "burst": 1000000000 },
  "plugins": [{ "name": "apple-signer" }],
  "log_level": "warn"
}
JSON
acct=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
    --name "Bench" --email bench-apple@example.com --plan unlimited)
key=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" key create --account "$acct")

# a throwaway WWDR CA and Pass Type ID certificate, as the integration suite makes them
pki=$BENCH_TMP/pki
mkdir -p "$pki"
(
    cd "$pki"
    printf '%s\n' '[ ca ]' 'default_ca = d' '[ d ]' 'database = index.txt' 'new_certs_dir = .' 'serial = serial' \
        'default_md = sha256' 'policy = p' 'unique_subject = no' '[ p ]' 'commonName = optional' >ca.cnf
    : >index.txt; echo 1000 >serial
    printf '%s\n' '[ ext ]' 'basicConstraints = CA:FALSE' 'keyUsage = digitalSignature' \
        '1.2.840.113635.100.6.1.16 = ASN1:UTF8String:pass.com.example.bench' >pass.ext
    openssl req -x509 -newkey rsa:2048 -nodes -keyout wwdr.key -out wwdr.pem -days 2 \
        -subj '/C=US/O=Bench/OU=G4/CN=Bench WWDR' 2>/dev/null
    openssl genrsa -out pass.key 2048 2>/dev/null
    openssl req -new -key pass.key -out pass.csr \
        -subj '/UID=pass.com.example.bench/CN=Pass Type ID: pass.com.example.bench/OU=ABCDE12345/O=Bench/C=US'
    openssl ca -config ca.cnf -batch -notext -preserveDN -cert wwdr.pem -keyfile wwdr.key -in pass.csr \
        -out pass.pem -days 2 -extfile pass.ext -extensions ext 2>/dev/null
    openssl pkcs12 -export -inkey pass.key -in pass.pem -passout pass:bench -out pass.p12
)
bench_gateway_start "$cfg" "$db" "$port"
node -e '
const fs = require("fs");
const [p12, wwdr, out] = process.argv.slice(1);
fs.writeFileSync(out, JSON.stringify({ p12_base64: fs.readFileSync(p12).toString("base64"), p12_password: "bench",
  pass_type_identifier: "pass.com.example.bench", team_identifier: "ABCDE12345", wwdr_pem: fs.readFileSync(wwdr, "utf8") }));
' "$pki/pass.p12" "$pki/wwdr.pem" "$pki/creds.json"
curl -fsS -X PUT -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    --data-binary @"$pki/creds.json" "$BENCH_URL/api/v1/credentials/apple" >/dev/null
url=$(curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    --data '{"pass_type":"loyalty","organization_name":"Solstice Coffee Co.","logo_text":"Solstice","background_color":"#1a1a2e","foreground_color":"#ffffff","primary_fields":[{"key":"points","label":"Points","value":"2,450"}],"barcode_message":"MEMBER-00421"}' \
    "$BENCH_URL/api/v1/passes" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const u=JSON.parse(s).pkpass_url;if(!u)process.exit(1);console.log(u)})') \
    || wp_die "the pass got no pkpass_url (is apple-signer.so built?)"
etag=$(curl -fsS -o /dev/null -D - "$url" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
[ -n "$etag" ] || wp_die "the pkpass download sent no ETag"
wp_say "cached pkpass downloads: GET pkpass_url"
bench_wrk "$url"
dl_rps=$BENCH_RPS; dl_p50=$BENCH_P50_MS; dl_p99=$BENCH_P99_MS
wp_say "revalidation: GET pkpass_url with If-None-Match (304)"
bench_wrk "$url" -H "If-None-Match: $etag"
nm_rps=$BENCH_RPS; nm_p50=$BENCH_P50_MS; nm_p99=$BENCH_P99_MS
bench_gateway_stop

echo
echo "apple_pkpass: $(openssl version | cut -d' ' -f1-2), $(nproc) CPUs shared by the gateway, wrk and PostgreSQL;" \
    "$ROUNDS alternating rounds of 1 s CPU time for the signing figures"
echo
printf '%-52s %12s\n' "measure" "per second"
printf '%-52s %12s\n' "openssl speed rsa2048 sign (baseline, one core)" "$sign_rate"
printf '%-52s %12s\n' "uncached .pkpass builds (one core, ${bundle_bytes} B bundle)" "$build_rate"
echo
echo "ratio builds/sign: $(bench_ratio "$build_rate" "$sign_rate") (target above 0.8)"
echo
printf '%-40s %12s %9s %9s\n' target requests/s "p50 ms" "p99 ms"
printf '%-40s %12s %9s %9s\n' "GET pkpass_url (cached bundle)" "$dl_rps" "$dl_p50" "$dl_p99"
printf '%-40s %12s %9s %9s\n' "GET pkpass_url, If-None-Match (304)" "$nm_rps" "$nm_p50" "$nm_p99"
echo "(wrk ${WP_BENCH_DURATION} s per run after ${WP_BENCH_WARMUP} s warm-up, $WP_BENCH_THREADS threads, $WP_BENCH_CONNECTIONS connections)"
