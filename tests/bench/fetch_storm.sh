#!/usr/bin/env bash
# Benchmark: the fetch storm after an update of a pass on many phones.
#
#   WP_BENCH_STORM_DEVICES (10,000) devices register one pass through Apple's
#   web service (POST /apple/v1/devices/.../registrations/..., ApplePass);
#   one PUT /api/v1/passes/:id; the apns plugin pushes to every device
#   (a local HTTP/2 APNs stand-in, tests/integration/lib/apns_standin.mjs);
#   each device, when its push arrives, does what Wallet does: GET
#   /apple/v1/devices/<device>/registrations/<ptid>?passesUpdatedSince=<tag>,
#   then GET /apple/v1/passes/<ptid>/<serial> with its ApplePass token, and
#   must get the new bundle.  The devices share WP_BENCH_STORM_CONNECTIONS (16)
#   keep-alive connections (tests/bench/fetch_storm.mjs).
#
#   figures    the time from the PUT's answer to the last device holding the
#              new version; each phase's rate (registrations, pushes, lists,
#              pass downloads, each over its own span)
#   baseline   npm @parse/node-apn sending the same pushes to the same
#              stand-in with the same certificate (its send() of all tokens),
#              in the same run: the push rate is compared with it.
# Run with scripts/bench fetch_storm (npm ci in tests/ for @parse/node-apn).
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"

here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/../node_modules/@parse/node-apn" ]; then
    (cd "$here/.." && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; }) >&2
fi
n=${WP_BENCH_STORM_DEVICES:-10000}
c=${WP_BENCH_STORM_CONNECTIONS:-16}
wp_say "fetch storm: $n devices, $c connections"
out=$(node "$here/fetch_storm.mjs" "$WP_BENCH_BIN" "$WP_BENCH_PG_ADMIN_URL" "$(dirname "$WP_BENCH_BIN")/../plugins" "$n" "$c")
val() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" <<<" $out"; }
r=$(bench_ratio "$(val push_per_s)" "$(val node_apn_per_s)")

printf '\nfetch_storm: %s devices on one pass, %s keep-alive connections shared by the devices, %s-byte bundle,\n' \
    "$n" "$c" "$(val bundle_bytes)"
echo "127.0.0.1, $(nproc) CPUs shared by the gateway, PostgreSQL and one Node process (stand-in and devices)"
echo
printf '%-64s %10s %10s %9s\n' phase "per second" seconds "p99 ms"
printf '%-64s %10s %10s %9s\n' "registration: POST /apple/v1/devices/.../registrations/..." \
    "$(val register_per_s)" "$(val register_secs)" "$(val register_p99_ms)"
printf '%-64s %10s %10s\n' "PUT /api/v1/passes/:id (sent -> answered, ms)" "" "$(val put_ms)"
printf '%-64s %10s %10s\n' "pushes: PUT sent -> last push at the stand-in" "$(val push_per_s)" "$(val push_secs)"
printf '%-64s %10s %10s %9s\n' "lists: GET .../registrations/<ptid>?passesUpdatedSince" "$(val list_per_s)" "" "$(val list_p99_ms)"
printf '%-64s %10s %10s %9s\n' "passes: GET /apple/v1/passes/<ptid>/<serial> (200, new bundle)" "$(val pass_per_s)" "" "$(val pass_p99_ms)"
printf '%-64s %10s %10s\n' "storm: PUT answered -> last device holds the new version" "$(val devices_per_s)" "$(val storm_secs)"
printf '%-64s %10s %10s\n' "npm @parse/node-apn: send() of the same $n tokens (baseline)" "$(val node_apn_per_s)" "$(val node_apn_secs)"
echo
echo "ratio pushes gateway/node-apn: $r"
echo "RESULT fetch_storm storm_secs=$(val storm_secs) push_per_s=$(val push_per_s) baseline_push_per_s=$(val node_apn_per_s)" \
    "ratio=$r register_per_s=$(val register_per_s) list_per_s=$(val list_per_s) pass_per_s=$(val pass_per_s)"
printf '\n%s\n' "$out"
