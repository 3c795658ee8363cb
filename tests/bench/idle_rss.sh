#!/usr/bin/env bash
# Benchmark: the resident memory (RSS) of one idle gateway after start-up.
#
#   Two gateways, one after the other, on a migrated database: with no
#   plugins, and with every in-tree plugin (the list of config/dev.json; no
#   credentials uploaded).  Each is started, waited for on /healthz, left
#   idle for WP_BENCH_IDLE_SETTLE seconds (3), then its VmRSS (and the
#   anonymous and file-backed parts, and its threads) is read from
#   /proc/<pid>/status.  The figure is RSS / 30 MB (the target: below 1).
# Run with scripts/bench idle_rss.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
SETTLE=${WP_BENCH_IDLE_SETTLE:-3}
TARGET_KB=$((30 * 1024))

db=$(bench_database walletpass_bench_idle_rss)
write_config() { # FILE PORT PLUGINS_JSON
    cat >"$1" <<JSON
{
  "\$comment": "benchmark gateway: defaults except the port, the plugins and the rate limit (off)",
  "server": { "listen_address": "127.0.0.1", "port": $2 },
  "public_url": "http://127.0.0.1:$2",
  "rate_limit": { "requests_per_second": 0 },
  "plugins": $3,
  "log_level": "warn"
}
JSON
}
declare -A rss anon file threads
measure() { # NAME PLUGINS_JSON
    local port cfg
    port=$(wp_free_port); cfg=$BENCH_TMP/walletpass-$1.json
    write_config "$cfg" "$port" "$2"
    # the first start migrates the database; measure a start on a migrated one
    WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" migrate >/dev/null 2>&1 || true
    bench_gateway_start "$cfg" "$db" "$port"
    sleep "$SETTLE"
    local st=/proc/$BENCH_GW_PID/status
    rss[$1]=$(awk '/^VmRSS:/ { print $2 }' "$st")
    anon[$1]=$(awk '/^RssAnon:/ { print $2 }' "$st")
    file[$1]=$(awk '/^RssFile:/ { print $2 }' "$st")
    threads[$1]=$(awk '/^Threads:/ { print $2 }' "$st")
    bench_gateway_stop
}
wp_say "idle RSS: no plugins"
measure none '[]'
wp_say "idle RSS: every in-tree plugin"
measure all '[{ "name": "apple-signer" }, { "name": "google-jwt" }, { "name": "apns" }, { "name": "geofence" }, { "name": "webhooks" }, { "name": "zapier-bridge" }, { "name": "bubble-bridge" }]'

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo
echo "idle_rss: one gateway (release build, default settings: server.num_threads 50, the database pool), idle ${SETTLE} s" \
    "after /healthz answered, on a migrated database; VmRSS from /proc/<pid>/status"
echo
printf '%-34s %9s %9s %9s %8s %12s\n' gateway "RSS MB" "anon MB" "file MB" threads "RSS / 30 MB"
for k in none all; do
    label="no plugins"; [ $k = all ] && label="every in-tree plugin (7)"
    printf '%-34s %9s %9s %9s %8s %12s\n' "$label" "$(mb "${rss[$k]}")" "$(mb "${anon[$k]}")" "$(mb "${file[$k]}")" \
        "${threads[$k]}" "$(bench_ratio "${rss[$k]}" "$TARGET_KB")"
done
echo
for k in none all; do
    r=$(bench_ratio "${rss[$k]}" "$TARGET_KB")
    echo "RESULT idle_rss.$k rss_mb=$(mb "${rss[$k]}") baseline_mb=30 ratio=$r target=1 met=$(awk -v r="$r" 'BEGIN { print (r < 1) ? "yes" : "no" }')"
done
