#!/usr/bin/env bash
# Benchmark: authenticated reads against the gateway's own /healthz.
#
#   targets    with "Authorization: Bearer sk_live_...", one account:
#                GET /api/v1/account
#                GET /api/v1/passes/:id
#                GET /api/v1/passes          (the list, default page, of
#                                             WP_BENCH_READS_PASSES passes, 50)
#   baseline   GET /healthz on the same gateway (no key, no database: the
#              cheapest route through the same listener, threads and
#              request prologue); measured before and after, averaged.
#
# No plugins, keep-alive, the rate limit off.  WP_BENCH_READS_CONNECTIONS (16)
# wrk connections.  Figure: target/healthz requests/s (target >= 0.3).
# Run with scripts/bench auth_reads.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
source "$(dirname "$0")/lib/apple.sh"
CONNS=${WP_BENCH_READS_CONNECTIONS:-16}
NPASSES=${WP_BENCH_READS_PASSES:-50}

db=$(bench_database walletpass_bench_reads)
port=$(wp_free_port)
cfg=$BENCH_TMP/walletpass.json
cat >"$cfg" <<JSON
{
  "\$comment": "benchmark gateway: no plugins, keep-alive, the rate limit off",
  "server": { "listen_address": "127.0.0.1", "port": $port, "keep_alive": true },
  "public_url": "http://127.0.0.1:$port",
  "rate_limit": { "requests_per_second": 0 },
  "plugins": [],
  "log_level": "warn"
}
JSON
bench_apple_account "$cfg" "$db" bench-reads@example.com
bench_gateway_start "$cfg" "$db" "$port"
for _ in $(seq 1 "$NPASSES"); do
    out=$(curl -fsS -H "Authorization: Bearer $BENCH_KEY" -H 'Content-Type: application/json' \
        --data "$BENCH_SOLSTICE" "$BENCH_URL/api/v1/passes") || wp_die "POST /api/v1/passes failed"
done
pass_id=$(bench_json id <<<"$out")
list_bytes=$(curl -fsS -H "Authorization: Bearer $BENCH_KEY" "$BENCH_URL/api/v1/passes" | wc -c)

declare -A rps p50 p99 cpu
run() { # NAME PATH [key]
    local name=$1 path=$2
    wp_say "$name: GET $path"
    WP_BENCH_KEY=${3:-} WP_BENCH_CONNECTIONS=$CONNS bench_wrk "$BENCH_URL$path"
    rps[$name]=$BENCH_RPS p50[$name]=$BENCH_P50_MS p99[$name]=$BENCH_P99_MS cpu[$name]=$BENCH_CPU_US
}
run healthz_1 /healthz
run account /api/v1/account "$BENCH_KEY"
run pass "/api/v1/passes/$pass_id" "$BENCH_KEY"
run list /api/v1/passes "$BENCH_KEY"
run healthz_2 /healthz
bench_gateway_stop
rps[healthz]=$(bench_avg "${rps[healthz_1]}" "${rps[healthz_2]}")
p50[healthz]=$(bench_avg "${p50[healthz_1]}" "${p50[healthz_2]}" 2)
p99[healthz]=$(bench_avg "${p99[healthz_1]}" "${p99[healthz_2]}" 2)

echo
echo "auth_reads: wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p'), ${WP_BENCH_DURATION} s per run" \
    "(after ${WP_BENCH_WARMUP} s warm-up), $WP_BENCH_THREADS threads, $CONNS connections, keep-alive," \
    "127.0.0.1, $(nproc) CPUs shared by wrk, the gateway and PostgreSQL"
echo "baseline: GET /healthz of the same gateway, before and after, averaged; the list holds $NPASSES passes" \
    "(default page: ${list_bytes} bytes)"
echo
printf '%-36s %10s %8s %8s %9s %9s %10s\n' target requests/s "p50 ms" "p99 ms" "req/s x" "p99 x" "CPU us/req"
line() { printf '%-36s %10s %8s %8s %9s %9s %10s\n' "$1" "${rps[$2]}" "${p50[$2]}" "${p99[$2]}" \
    "$(bench_ratio "${rps[$2]}" "${rps[healthz]}")" "$(bench_ratio "${p99[$2]}" "${p99[healthz]}")" "${cpu[$2]:--}"; }
cpu[healthz]=$(bench_avg "${cpu[healthz_1]}" "${cpu[healthz_2]}" 1)
line "GET /healthz (baseline)" healthz
printf '  %-34s %10s %8s %8s\n' "before / after" "${rps[healthz_1]} / ${rps[healthz_2]}" "" "${p99[healthz_1]} / ${p99[healthz_2]}"
line "GET /api/v1/account" account
line "GET /api/v1/passes/:id" pass
line "GET /api/v1/passes (list)" list
echo
for n in account pass list; do
    r=$(bench_ratio "${rps[$n]}" "${rps[healthz]}")
    echo "RESULT auth_reads.$n rps=${rps[$n]} p99_ms=${p99[$n]} baseline_rps=${rps[healthz]}" \
        "baseline_p99_ms=${p99[healthz]} ratio=$r target=0.3 met=$(bench_met "$r" '>=' 0.3)"
done
