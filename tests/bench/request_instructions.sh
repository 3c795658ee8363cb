#!/usr/bin/env bash
# Benchmark: the instructions one request costs the gateway, by route.
#
#   One gateway (apple-signer and apns loaded, Apple credentials uploaded,
#   one pass) runs under valgrind's callgrind (Debian's valgrind, installed
#   by the benchmark).  For each route: 20 requests to warm the caches, the
#   counters zeroed (callgrind_control -z), WP_BENCH_INSN_REQUESTS (400)
#   requests over one keep-alive connection (curl), the counters dumped;
#   the figure is the gateway's instructions (callgrind's Ir, every thread)
#   per request.  Unlike the rates of the other benchmarks these counts do
#   not move with the machine's load: they compare two commits, or two
#   routes, on any machine.  The baseline is /healthz (no key, no database).
#   Instructions are not time (a cache miss or a lock wait costs none), so
#   the rate benchmarks stay the figures of the targets.
#
#   routes  capability   GET pkpass_url (cached bundle)
#           apple        GET /apple/v1/passes/... with ApplePass (cached bundle)
#           apple 304    the same with If-Modified-Since
#           pass         GET /api/v1/passes/:id (with its links)
#           account      GET /api/v1/account
#           list         GET /api/v1/passes (the one pass)
#           healthz      GET /healthz
# Run with scripts/bench request_instructions.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
source "$(dirname "$0")/lib/apple.sh"
N=${WP_BENCH_INSN_REQUESTS:-400}
wp_install_packages valgrind

db=$(bench_database walletpass_bench_insn)
port=$(wp_free_port)
cfg=$BENCH_TMP/walletpass.json
cat >"$cfg" <<JSON
{
  "\$comment": "benchmark gateway under callgrind: apple-signer and apns, keep-alive, the rate limit off",
  "server": { "listen_address": "127.0.0.1", "port": $port, "keep_alive": true },
  "public_url": "http://127.0.0.1:$port",
  "rate_limit": { "requests_per_second": 0 },
  "plugins": [{ "name": "apple-signer" }, { "name": "apns", "config": { "host": "127.0.0.1", "port": $(wp_free_port) } }],
  "log_level": "warn"
}
JSON
bench_apple_account "$cfg" "$db" bench-insn@example.com
bench_apple_pki "$BENCH_TMP/pki"
cg=$BENCH_TMP/callgrind
mkdir -p "$cg"
cat >"$BENCH_TMP/under-callgrind.sh" <<SH
#!/usr/bin/env bash
exec valgrind --tool=callgrind --callgrind-out-file=$cg/cg.%p --dump-instr=no --collect-jumps=no "$WP_BENCH_BIN" "\$@"
SH
chmod +x "$BENCH_TMP/under-callgrind.sh"
bin=$WP_BENCH_BIN
WP_BENCH_BIN=$BENCH_TMP/under-callgrind.sh
bench_gateway_start "$cfg" "$db" "$port"
WP_BENCH_BIN=$bin
# valgrind is the gateway's parent no more: it execs the binary, so the pid is the gateway's
pid=$BENCH_GW_PID
bench_apple_upload "$BENCH_TMP/pki"
bench_apple_pass
curl -fsS -o "$BENCH_TMP/p.pkpass" "$BENCH_PKPASS_URL" || wp_die "GET pkpass_url failed"
token=$(bench_pass_json "$BENCH_TMP/p.pkpass" authenticationToken) || wp_die "pass.json has no authenticationToken"
serial=$(bench_pass_json "$BENCH_TMP/p.pkpass" serialNumber)
ptid=$(bench_pass_json "$BENCH_TMP/p.pkpass" passTypeIdentifier)
aurl=$BENCH_URL/apple/v1/passes/$ptid/$serial

declare -A ir
measure() { # NAME URL [curl options]
    local name=$1 url=$2; shift 2
    local urls=() i
    for ((i = 0; i < N; i++)); do urls+=("$url"); done
    curl -fsS "$@" "${urls[@]:0:20}" >/dev/null || wp_die "$name: $url failed"
    callgrind_control -z "$pid" >/dev/null
    curl -fsS "$@" "${urls[@]}" >/dev/null || wp_die "$name: $url failed"
    rm -f "$cg"/cg."$pid".*
    callgrind_control -d "$pid" >/dev/null
    local f="" tries
    for tries in $(seq 1 100); do
        f=$(ls "$cg"/cg."$pid".* 2>/dev/null | head -1)
        [ -n "$f" ] && grep -q '^totals:\|^summary:' "$f" && break
        sleep 0.1
    done
    [ -n "$f" ] || wp_die "$name: callgrind wrote no dump"
    local total
    total=$(sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$f" | head -1)
    ir[$name]=$(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.0f", t / n }')
    wp_say "$name: ${ir[$name]} instructions a request"
}
key=(-H "Authorization: Bearer $BENCH_KEY")
measure healthz "$BENCH_URL/healthz"
measure capability "$BENCH_PKPASS_URL"
measure apple "$aurl" -H "Authorization: ApplePass $token"
measure apple304 "$aurl" -H "Authorization: ApplePass $token" -H "If-Modified-Since: $(date -u -d '+1 year' '+%a, %d %b %Y %H:%M:%S GMT')"
measure pass "$BENCH_URL/api/v1/passes/$BENCH_PASS_ID" "${key[@]}"
measure account "$BENCH_URL/api/v1/account" "${key[@]}"
measure list "$BENCH_URL/api/v1/passes" "${key[@]}"
bench_gateway_stop

echo
echo "request_instructions: $(valgrind --version), callgrind Ir of every gateway thread per request," \
    "$N keep-alive requests per route after 20 to warm up; apple-signer and apns loaded, one pass"
echo
printf '%-40s %14s %10s\n' route "instructions" "x healthz"
line() { printf '%-40s %14s %10s\n' "$1" "${ir[$2]}" "$(bench_ratio "${ir[$2]}" "${ir[healthz]}" 1)"; }
line "GET /healthz (baseline)" healthz
line "GET pkpass_url (cached bundle)" capability
line "GET /apple/v1/passes/... (ApplePass)" apple
line "the same, If-Modified-Since -> 304" apple304
line "GET /api/v1/passes/:id" pass
line "GET /api/v1/account" account
line "GET /api/v1/passes (one pass)" list
echo
for n in capability apple apple304 pass account list; do
    echo "RESULT request_instructions.$n instructions=${ir[$n]} baseline_instructions=${ir[healthz]} ratio=$(bench_ratio "${ir[$n]}" "${ir[healthz]}" 2)"
done
