#!/usr/bin/env bash
# Benchmark: uncached .pkpass downloads over HTTP (each one signs a bundle)
# against RSA-2048 signatures by openssl on the same cores.
#
#   target     WP_BENCH_UNCACHED_PASSES (2000) passes are created first
#              (apple-signer loaded, credentials uploaded), then each one's
#              pkpass_url is downloaded exactly once, over
#              WP_BENCH_UNCACHED_CONNECTIONS (16) keep-alive connections
#              (tests/bench/pkpass_uncached.mjs): downloads per second, wall
#              clock, first request to last answer; p50 and p99.
#   baseline   openssl speed -elapsed -multi P rsa2048, P =
#              WP_BENCH_SIGN_PROCS (the number of CPUs: as many processes as
#              the gateway can keep busy), sign/s over wall-clock time (like
#              the downloads: a neighbour's load slows both), for
#              WP_BENCH_DURATION seconds, before and after the downloads,
#              averaged.
#
# Figure: downloads/s / sign/s (target >= 0.6): a download is one RSA-2048
# signature plus the rest of the build (pass.json, manifest, PKCS#7, zip),
# the link check, the database reads and HTTP.
# Run with scripts/bench pkpass_uncached.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
source "$(dirname "$0")/lib/apple.sh"
here=$(cd "$(dirname "$0")" && pwd)
N=${WP_BENCH_UNCACHED_PASSES:-2000}
CONNS=${WP_BENCH_UNCACHED_CONNECTIONS:-16}
PROCS=${WP_BENCH_SIGN_PROCS:-$(nproc)}

db=$(bench_database walletpass_bench_pkpass_uncached)
port=$(wp_free_port)
cfg=$BENCH_TMP/walletpass.json
cat >"$cfg" <<JSON
{
  "\$comment": "benchmark gateway: apple-signer (a bundle cache large enough for every pass), keep-alive, the rate limit off",
  "server": { "listen_address": "127.0.0.1", "port": $port, "keep_alive": true },
  "public_url": "http://127.0.0.1:$port",
  "rate_limit": { "requests_per_second": 0 },
  "plugins": [{ "name": "apple-signer" }],
  "log_level": "warn"
}
JSON
bench_apple_account "$cfg" "$db" bench-uncached@example.com
bench_apple_pki "$BENCH_TMP/pki"
bench_gateway_start "$cfg" "$db" "$port"
bench_apple_upload "$BENCH_TMP/pki"
# warm-up: a few passes created and downloaded (connections, credentials loaded)
WP_BENCH_KEY=$BENCH_KEY node "$here/pkpass_uncached.mjs" "$BENCH_URL" "$BENCH_KEY" 50 "$CONNS" >/dev/null

# sign_rate: sets SIGN_RATE (sign/s of all P processes together, wall clock)
sign_rate() {
    local line
    line=$(openssl speed -mr -elapsed -multi "$PROCS" -seconds "$WP_BENCH_DURATION" rsa2048 2>/dev/null | grep '^+F2:' | tail -n 1)
    [ -n "$line" ] || wp_die "openssl speed -mr -multi printed no +F2 line"
    # +F2:<index>:<bits>:<sign/s>:<verify/s>
    SIGN_RATE=$(awk -F: '{ printf "%.0f", $4 }' <<<"$line")
}
wp_say "baseline (before): openssl speed -elapsed -multi $PROCS rsa2048"
sign_rate; sign_before=$SIGN_RATE
wp_say "$N passes created, then each pkpass_url downloaded once over $CONNS connections"
out=$(node "$here/pkpass_uncached.mjs" "$BENCH_URL" "$BENCH_KEY" "$N" "$CONNS") \
    || { tail -n 20 "$BENCH_GW_LOG" >&2; wp_die "the download run failed"; }
wp_say "baseline (after)"
sign_rate; sign_after=$SIGN_RATE
bench_gateway_stop
val() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" <<<" $out"; }
dl=$(val per_s) sign=$(bench_avg "$sign_before" "$sign_after")
r=$(bench_ratio "$dl" "$sign")

echo
echo "pkpass_uncached: $(openssl version | cut -d' ' -f1-2), $(nproc) CPUs shared by the client (node), the gateway" \
    "and PostgreSQL; $N passes, $CONNS keep-alive connections; openssl speed $PROCS processes, ${WP_BENCH_DURATION} s," \
    "wall clock, before and after, averaged"
echo
printf '%-56s %10s %8s %8s %8s\n' measure "per second" "p50 ms" "p99 ms" "ratio"
printf '%-56s %10s %8s %8s %8s\n' "openssl speed -elapsed -multi $PROCS rsa2048, sign (baseline)" "$sign" "" "" "1.00"
printf '  %-54s %10s\n' "before / after" "$sign_before / $sign_after"
printf '%-56s %10s %8s %8s %8s\n' "uncached GET pkpass_url ($(val bytes)-byte bundles)" "$dl" "$(val p50_ms)" "$(val p99_ms)" "$r"
echo "(creating the $N passes took $(val create_secs) s, 8 at a time)"
echo
echo "RESULT pkpass_uncached rps=$dl p99_ms=$(val p99_ms) baseline_rps=$sign ratio=$r target=0.6 met=$(bench_met "$r" '>=' 0.6)"
