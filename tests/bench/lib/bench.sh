# Helpers for the benchmarks in tests/bench/*.sh.  Sourced, not run.
#
# scripts/bench sets up the machine and exports:
#   WP_BENCH_BIN            the walletpass binary (release build)
#   WP_BENCH_PG_ADMIN_URL   superuser URL of the private PostgreSQL cluster
#   WP_BENCH_DURATION       seconds per measured run
#   WP_BENCH_WARMUP         seconds of discarded warm-up before each run
#   WP_BENCH_THREADS, WP_BENCH_CONNECTIONS   wrk's -t and -c
# A benchmark sources this file, starts the gateways it needs with
# bench_gateway_start, measures with bench_wrk and prints its own table.

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$BENCH_LIB/../../../scripts/lib/common.sh"

: "${WP_BENCH_BIN:?run the benchmarks through scripts/bench}"
: "${WP_BENCH_PG_ADMIN_URL:?run the benchmarks through scripts/bench}"
WP_BENCH_DURATION=${WP_BENCH_DURATION:-5}
WP_BENCH_WARMUP=${WP_BENCH_WARMUP:-1}
WP_BENCH_THREADS=${WP_BENCH_THREADS:-2}
WP_BENCH_CONNECTIONS=${WP_BENCH_CONNECTIONS:-32}

# Each benchmark configures its gateways itself: overrides from the caller's
# shell would move them (a different port, another database).
unset WALLETPASS_CONFIG WALLETPASS_PORT WALLETPASS_PUBLIC_URL WALLETPASS_DATABASE_URL WALLETPASS_PLUGIN_DIR
export WALLETPASS_MASTER_KEY=${WALLETPASS_MASTER_KEY:-$(openssl rand -base64 32)}

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wp-bench.XXXXXX")
BENCH_GW_PID=
BENCH_GW_LOG=
BENCH_URL=

bench_cleanup() {
    bench_gateway_stop || true
    rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

# bench_database NAME: drops and recreates database NAME; prints its URL.
bench_database() {
    local name=$1
    PGOPTIONS='-c client_min_messages=warning' psql "$WP_BENCH_PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$name\"" >/dev/null
    psql "$WP_BENCH_PG_ADMIN_URL" -qc "CREATE DATABASE \"$name\"" >/dev/null
    echo "${WP_BENCH_PG_ADMIN_URL%/*}/$name"
}

# bench_gateway_start CONFIG DB_URL PORT [URL]: starts `walletpass serve` with that
# config file (whose server.port is PORT) and database, waits for /healthz;
# sets BENCH_URL (URL, default http://127.0.0.1:PORT; an https URL is not
# verified: benchmark certificates are self-signed).
bench_gateway_start() {
    local cfg=$1 db=$2 port=$3
    BENCH_GW_LOG=$BENCH_TMP/gateway-$port.log
    WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" serve >"$BENCH_GW_LOG" 2>&1 &
    BENCH_GW_PID=$!
    BENCH_URL=${4:-http://127.0.0.1:$port}
    local i
    for i in $(seq 1 300); do
        if curl -kfsS -o /dev/null "$BENCH_URL/healthz" 2>/dev/null; then return 0; fi
        if ! kill -0 "$BENCH_GW_PID" 2>/dev/null; then
            cat "$BENCH_GW_LOG" >&2
            BENCH_GW_PID=
            wp_die "the gateway exited during start-up (config $cfg)"
        fi
        sleep 0.1
    done
    cat "$BENCH_GW_LOG" >&2
    wp_die "the gateway did not answer /healthz within 30 s"
}

# Stops the gateway started last (SIGTERM: it flushes its access log first).
bench_gateway_stop() {
    [ -n "$BENCH_GW_PID" ] || return 0
    kill -TERM "$BENCH_GW_PID" 2>/dev/null || true
    wait "$BENCH_GW_PID" 2>/dev/null || true
    BENCH_GW_PID=
}

# bench_wrk URL [wrk options...]: a warm-up run (discarded), then the
# measured run.  Set WP_BENCH_KEY in the environment for an authenticated
# request.  Sets BENCH_RPS, BENCH_P50_MS, BENCH_P99_MS, BENCH_REQUESTS (the
# measured run), BENCH_SENT (warm-up included, as wrk counted them),
# BENCH_CPU_US (the CPU time, user and system, the gateway started last spent
# per request of the measured run, in microseconds: unlike the rates it moves
# little when other work shares the machine) and fails when any response was
# not 2xx/3xx or any socket error occurred.
bench_wrk() {
    local url=$1; shift
    local out=$BENCH_TMP/wrk-$RANDOM.txt warm=0
    if [ "$WP_BENCH_WARMUP" != 0 ]; then
        warm=$(wrk -t "$WP_BENCH_THREADS" -c "$WP_BENCH_CONNECTIONS" -d "${WP_BENCH_WARMUP}s" -s "$BENCH_LIB/wrk.lua" \
            "$@" "$url" | sed -n 's/^WPBENCH requests=\([0-9]*\) .*/\1/p') || true
    fi
    local cpu0
    cpu0=$(bench_cpu_ticks "$BENCH_GW_PID")
    wrk -t "$WP_BENCH_THREADS" -c "$WP_BENCH_CONNECTIONS" -d "${WP_BENCH_DURATION}s" --latency \
        -s "$BENCH_LIB/wrk.lua" "$@" "$url" >"$out" 2>&1 || true
    local cpu1
    cpu1=$(bench_cpu_ticks "$BENCH_GW_PID")
    local line
    line=$(grep '^WPBENCH ' "$out") || { cat "$out" >&2; wp_die "wrk printed no summary for $url"; }
    local -A v
    local kv
    for kv in ${line#WPBENCH }; do v[${kv%%=*}]=${kv#*=}; done
    BENCH_REQUESTS=${v[requests]}
    BENCH_SENT=$((v[requests] + ${warm:-0}))
    BENCH_RPS=$(awk -v n="${v[requests]}" -v us="${v[duration_us]}" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
    BENCH_P50_MS=$(awk -v us="${v[p50_us]}" 'BEGIN { printf "%.2f", us / 1000 }')
    BENCH_P99_MS=$(awk -v us="${v[p99_us]}" 'BEGIN { printf "%.2f", us / 1000 }')
    BENCH_CPU_US=$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="${v[requests]}" \
        'BEGIN { if (n == 0) print "n/a"; else printf "%.1f", t * 1e6 / hz / n }')
    local errs=$((v[errors_status] + v[errors_connect] + v[errors_read] + v[errors_write] + v[errors_timeout]))
    if [ "$errs" -ne 0 ] || [ "${v[requests]}" -eq 0 ]; then
        cat "$out" >&2
        [ -n "$BENCH_GW_LOG" ] && tail -n 20 "$BENCH_GW_LOG" >&2
        wp_die "$url: ${v[errors_status]} error responses, socket errors connect ${v[errors_connect]}" \
            "read ${v[errors_read]} write ${v[errors_write]} timeout ${v[errors_timeout]}" \
            "(of ${v[requests]} requests)"
    fi
}

# bench_cpu_ticks PID: the CPU time (user and system, in clock ticks) process
# PID has used so far, threads included; 0 without a process.
bench_cpu_ticks() {
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
    # Fields 14 and 15 of /proc/PID/stat; the command name (field 2) may hold spaces.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# bench_ratio A B [digits]: A / B.
bench_ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b == 0) print "n/a"; else printf "%.*f", d, a / b }'; }
