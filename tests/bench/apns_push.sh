#!/usr/bin/env bash
# Benchmark: one pass update fanned out to N registered devices (default 10,000)
# by the apns plugin (plugins/apns), against a local HTTP/2 APNs stand-in (Node's
# http2 with TLS client certificates, tests/bench/apns_push.mjs), next to npm
# @parse/node-apn sending the same N pushes with the same certificate to the same
# stand-in in the same run.
#
#   apns       update accepted -> N pushes answered, through the event, the job
#              worker and one kept, multiplexed HTTP/2 connection (a warm-up update first)
#   node-apn   Provider.send() of N tokens on its own kept connection (warmed up)
#
# The last line adds the stand-in's counts (tests/integration/lib/apns_standin.mjs): TLS
# connections, GOAWAYs, pushes left to the retry job, late and open-stream resets.
# Run with scripts/bench apns_push.  Environment: WP_BENCH_APNS_DEVICES (10000).
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"

here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/../node_modules/@parse/node-apn" ]; then
    (cd "$here/.." && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; }) >&2
fi
n=${WP_BENCH_APNS_DEVICES:-10000}
out=$(node "$here/apns_push.mjs" "$WP_BENCH_BIN" "$WP_BENCH_PG_ADMIN_URL" "$(dirname "$WP_BENCH_BIN")/../plugins" "$n")
val() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" <<<" $out"; }
a=$(val apns_pushes_per_s) b=$(val node_apn_pushes_per_s)
printf '\nAPNs fan-out of one update to %s devices (local HTTP/2 stand-in, TLS client certificate)\n\n' "$n"
printf '%-52s %12s %10s %10s\n' 'measure' 'pushes/s' 'seconds' 'apns/x'
printf '%-52s %12s %10s %10s\n' 'apns plugin: update -> every push answered' "$a" "$(val apns_secs)" '1.00'
printf '%-52s %12s %10s %10s\n' 'npm @parse/node-apn: send() of the same tokens' "$b" "$(val node_apn_secs)" "$(bench_ratio "$a" "$b")"
printf '\n%s\n' "$out"
