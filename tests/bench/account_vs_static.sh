#!/usr/bin/env bash
# Benchmark: the cost of the gateway's layers on an authenticated read.
#
#   target    GET /api/v1/account with "Authorization: Bearer sk_live_..."
#             (framing checks, routing, API-key lookup, rate limit, two
#             PostgreSQL queries, JSON, metrics, access log)
#   baseline  CivetWeb serving a static file from server.document_root in
#             the same gateway process; the file holds the account response
#             itself, so both send the same body bytes
#
# Both are measured in the same run, with keep-alive on and off
# (server.keep_alive; for "off" wrk also sends Connection: close, so every
# request pays a TCP connect).  The ratio static/account is how many static
# requests the machine serves in the time of one API request.
# Run with scripts/bench account_vs_static.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"

db=$(bench_database walletpass_bench_account)
www=$BENCH_TMP/www
mkdir -p "$www"
key=
declare -A rps p50 p99 sent rows

write_config() { # FILE PORT KEEP_ALIVE(true|false)
    cat >"$1" <<JSON
{
  "\$comment": "benchmark gateway: defaults except the port, keep-alive, the static root, and a rate limit that never refuses",
  "server": { "listen_address": "127.0.0.1", "port": $2, "keep_alive": $3, "document_root": "$www" },
  "public_url": "http://127.0.0.1:$2",
  "rate_limit": { "requests_per_second": 1000000000, "burst": 1000000000 },
  "log_level": "warn"
}
JSON
}

for mode in on off; do
    port=$(wp_free_port)
    cfg=$BENCH_TMP/walletpass-keepalive-$mode.json
    write_config "$cfg" "$port" "$([ $mode = on ] && echo true || echo false)"
    if [ -z "$key" ]; then
        # account create applies the migrations itself
        acct=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
            --name "Bench" --email bench@example.com --plan unlimited)
        key=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" key create --account "$acct")
    fi
    bench_gateway_start "$cfg" "$db" "$port"
    if [ ! -f "$www/account.json" ]; then
        curl -fsS -H "Authorization: Bearer $key" "$BENCH_URL/api/v1/account" -o "$www/account.json"
        curl -fsS -o /dev/null "$BENCH_URL/account.json" || wp_die "CivetWeb does not serve $www/account.json"
    fi
    hdr=()
    [ $mode = off ] && hdr=(-H "Connection: close")
    wp_say "keep-alive $mode: static file"
    bench_wrk "$BENCH_URL/account.json" "${hdr[@]}"
    rps[static,$mode]=$BENCH_RPS; p50[static,$mode]=$BENCH_P50_MS; p99[static,$mode]=$BENCH_P99_MS
    wp_say "keep-alive $mode: GET /api/v1/account"
    before=$(psql "$db" -tAc "SELECT count(*) FROM access_logs WHERE account_id = '$acct'")
    WP_BENCH_KEY=$key bench_wrk "$BENCH_URL/api/v1/account" "${hdr[@]}"
    rps[account,$mode]=$BENCH_RPS; p50[account,$mode]=$BENCH_P50_MS; p99[account,$mode]=$BENCH_P99_MS
    sent[$mode]=$BENCH_SENT
    bench_gateway_stop # flushes the access log
    rows[$mode]=$(( $(psql "$db" -tAc "SELECT count(*) FROM access_logs WHERE account_id = '$acct'") - before ))
done

body=$(wc -c <"$www/account.json")
echo
echo "account_vs_static: wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p'), ${WP_BENCH_DURATION} s per run" \
    "(after ${WP_BENCH_WARMUP} s warm-up), $WP_BENCH_THREADS threads, $WP_BENCH_CONNECTIONS connections," \
    "127.0.0.1, $(nproc) CPUs shared by wrk, the gateway and PostgreSQL"
echo "baseline: CivetWeb static file (same process, same ${body}-byte body); target: authenticated GET /api/v1/account"
echo
printf '%-11s %-24s %12s %9s %9s\n' keep-alive target requests/s "p50 ms" "p99 ms"
for mode in on off; do
    printf '%-11s %-24s %12s %9s %9s\n' "$mode" "static file (baseline)" "${rps[static,$mode]}" \
        "${p50[static,$mode]}" "${p99[static,$mode]}"
    printf '%-11s %-24s %12s %9s %9s\n' "$mode" "GET /api/v1/account" "${rps[account,$mode]}" \
        "${p50[account,$mode]}" "${p99[account,$mode]}"
done
echo
for mode in on off; do
    echo "ratio, keep-alive $mode: static/account requests/s $(bench_ratio "${rps[static,$mode]}" "${rps[account,$mode]}");" \
        "account/static p99 $(bench_ratio "${p99[account,$mode]}" "${p99[static,$mode]}")"
done
echo
for mode in on off; do
    echo "keep-alive $mode: access log rows written for the account: ${rows[$mode]}" \
        "(wrk counted ${sent[$mode]} completed requests, warm-up included)"
    [ "${rows[$mode]}" -ge "${sent[$mode]}" ] || echo "WARNING: the access log lost entries (keep-alive $mode)"
done
