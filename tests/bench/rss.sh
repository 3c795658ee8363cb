#!/usr/bin/env bash
# Benchmark: the gateway's resident memory (RSS) under a long mixed load.
#
#   One gateway (apple-signer and apns loaded, credentials uploaded, the rate
#   limit off) under wrk with tests/bench/lib/mixed.lua for
#   WP_BENCH_RSS_SECONDS (600): account, pass, list, create, update,
#   cached pkpass download, Apple web-service download, /healthz, in turn,
#   over WP_BENCH_RSS_CONNECTIONS (8) keep-alive connections.  Its VmRSS is
#   sampled every WP_BENCH_RSS_INTERVAL seconds (5).
#
#   figures    RSS idle (after start-up), at the end of the first half, peak,
#              at the end; the least-squares slope of the second half's
#              samples (MB per minute) and what it adds up to over the second
#              half: "flat" when that is below 1 MB or 2 % of its mean RSS.
#              The baseline is the gateway's own RSS at the end of the first
#              half (ratio end/mid).
# With the default duration it takes 10 minutes (also in a plain
# `scripts/bench`, which runs every benchmark).  Run with scripts/bench rss.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
source "$(dirname "$0")/lib/apple.sh"
SECS=${WP_BENCH_RSS_SECONDS:-600}
STEP=${WP_BENCH_RSS_INTERVAL:-5}
CONNS=${WP_BENCH_RSS_CONNECTIONS:-8}

db=$(bench_database walletpass_bench_rss)
port=$(wp_free_port)
cfg=$BENCH_TMP/walletpass.json
cat >"$cfg" <<JSON
{
  "\$comment": "benchmark gateway: apple-signer and apns (no device registered), keep-alive, the rate limit off",
  "server": { "listen_address": "127.0.0.1", "port": $port, "keep_alive": true },
  "public_url": "http://127.0.0.1:$port",
  "rate_limit": { "requests_per_second": 0 },
  "plugins": [{ "name": "apple-signer" }, { "name": "apns", "config": { "host": "127.0.0.1", "port": $(wp_free_port) } }],
  "log_level": "warn"
}
JSON
bench_apple_account "$cfg" "$db" bench-rss@example.com
bench_apple_pki "$BENCH_TMP/pki"
bench_gateway_start "$cfg" "$db" "$port"
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$BENCH_GW_PID/status"; }
sleep 2
idle=$(rss_kb)
bench_apple_upload "$BENCH_TMP/pki"
bench_apple_pass
update_id=$BENCH_PASS_ID
bench_apple_pass
curl -fsS -o "$BENCH_TMP/pass.pkpass" "$BENCH_PKPASS_URL" || wp_die "GET pkpass_url failed"
token=$(bench_pass_json "$BENCH_TMP/pass.pkpass" authenticationToken) || wp_die "pass.json has no authenticationToken"
serial=$(bench_pass_json "$BENCH_TMP/pass.pkpass" serialNumber)

export WP_MIX_KEY=$BENCH_KEY WP_MIX_PASS=$BENCH_PASS_ID WP_MIX_UPDATE=$update_id WP_MIX_TOKEN=$token \
    WP_MIX_PKPASS=${BENCH_PKPASS_URL#$BENCH_URL} WP_MIX_APPLE=/apple/v1/passes/$BENCH_PTID/$serial WP_MIX_BODY=$BENCH_SOLSTICE
wp_say "mixed load for $SECS s over $CONNS connections, RSS every $STEP s"
samples=$BENCH_TMP/rss.txt
: >"$samples"
wrk -t "$WP_BENCH_THREADS" -c "$CONNS" -d "${SECS}s" --latency -s "$BENCH_LIB/mixed.lua" "$BENCH_URL" >"$BENCH_TMP/wrk.txt" 2>&1 &
wrk_pid=$!
t0=$(date +%s.%N)
while kill -0 "$wrk_pid" 2>/dev/null; do
    echo "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') $(rss_kb)" >>"$samples"
    sleep "$STEP"
done
wait "$wrk_pid" || true
sleep 2
after=$(rss_kb)
bench_gateway_stop

line=$(grep '^WPBENCH ' "$BENCH_TMP/wrk.txt") || { cat "$BENCH_TMP/wrk.txt" >&2; wp_die "wrk printed no summary"; }
declare -A v
for kv in ${line#WPBENCH }; do v[${kv%%=*}]=${kv#*=}; done
errs=$((v[errors_status] + v[errors_connect] + v[errors_read] + v[errors_write] + v[errors_timeout]))
[ "$errs" -eq 0 ] || { cat "$BENCH_TMP/wrk.txt" >&2; wp_die "the mixed load had $errs errors (of ${v[requests]} requests)"; }

# samples: "seconds rss_kb"; the second half is the samples at or after SECS/2
stats=$(awk -v half="$(awk -v s="$SECS" 'BEGIN { print s / 2 }')" '
    { t = $1; r = $2 / 1024; if (r > peak) peak = r; last = r
      if (t < half) mid = r
      else { n++; sx += t; sy += r; sxx += t * t; sxy += t * r; if (n == 1) t1 = t; t2 = t } }
    END { slope = (n > 1 && n * sxx - sx * sx != 0) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
          mean = n ? sy / n : 0; change = slope * (t2 - t1)
          lim = mean * 0.02; if (lim < 1) lim = 1
          printf "%.1f %.1f %.1f %.3f %.1f %.1f %s %d", mid, peak, last, slope * 60, change, mean,
                 (change < lim && change > -lim) ? "yes" : "no", n }' "$samples")
read -r mid peak last slope change mean flat n2 <<<"$stats"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rps=$(awk -v n="${v[requests]}" -v us="${v[duration_us]}" 'BEGIN { printf "%.0f", n / (us / 1e6) }')

echo
echo "rss: one gateway (apple-signer, apns), wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p'), mixed.lua, $SECS s," \
    "$WP_BENCH_THREADS threads, $CONNS connections; VmRSS every $STEP s; $(nproc) CPUs shared with wrk and PostgreSQL"
echo "load: ${v[requests]} requests, $rps per second, p99 $(awk -v us="${v[p99_us]}" 'BEGIN { printf "%.2f", us / 1000 }') ms," \
    "no errors"
echo
printf '%-52s %10s\n' measure MB
printf '%-52s %10s\n' "idle, after start-up" "$(mb "$idle")"
printf '%-52s %10s\n' "end of the first half (baseline)" "$mid"
printf '%-52s %10s\n' "peak" "$peak"
printf '%-52s %10s\n' "end of the load" "$last"
printf '%-52s %10s\n' "2 s after the load" "$(mb "$after")"
printf '%-52s %10s\n' "second half: mean ($n2 samples)" "$mean"
printf '%-52s %10s\n' "second half: slope, MB per minute" "$slope"
printf '%-52s %10s\n' "second half: fitted change over the half" "$change"
echo
echo "samples (seconds:MB): $(awk '{ printf "%s%s:%.1f", (NR > 1 ? " " : ""), int($1), $2 / 1024 }' "$samples")"
echo
echo "RESULT rss idle_mb=$(mb "$idle") mid_mb=$mid peak_mb=$peak end_mb=$last ratio=$(bench_ratio "$last" "$mid")" \
    "slope_mb_per_min=$slope second_half_change_mb=$change flat=$flat"
