#!/usr/bin/env bash
# Benchmark: Google save links (plugins/google-jwt), uncached, one thread.
#
#   links     save links per second: render class + object, build the claims,
#             RS256-sign and encode (google_jwt_bench, the plugin's code)
#   openssl   `openssl speed rsa2048` sign/s on this machine in the same run:
#             the bare RSA-2048 private-key operation, the floor of any signer
#   jose      npm jose signing the same claims with the same key (SignJWT,
#             RS256) in the same run
#
# Ratios: links/openssl is the share of the raw RSA rate the whole link
# pipeline keeps (1.00 = signing is the only cost); links/jose compares with
# a mainstream JavaScript signer.  Run with scripts/bench google_jwt.
# Environment: WP_BENCH_DURATION (seconds per measurement, 5).
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"

secs=${WP_BENCH_DURATION:-5}
prog=$(dirname "$WP_BENCH_BIN")/../tests/bench/google_jwt_bench
[ -x "$prog" ] || wp_die "$prog is missing: build the tree (plugins/google-jwt/CMakeLists.txt builds it)"
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/../node_modules/jose" ]; then
    (cd "$here/.." && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; }) >&2
fi

key=$BENCH_TMP/sa.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key" 2>/dev/null

out=$("$prog" "$key" "$secs" "$BENCH_TMP/claims.json")
links=$(sed -n 's/.*links_per_s=\([0-9]*\).*/\1/p' <<<"$out")
chars=$(sed -n 's/.*jwt_chars=\([0-9]*\).*/\1/p' <<<"$out")

ossl=$(openssl speed -seconds "$secs" rsa2048 2>/dev/null | awk '/^rsa *2048 bits/ { v = $(NF-1) } END { printf "%.0f", v }')
[ -n "$ossl" ] && [ "$ossl" != 0 ] || wp_die "could not read sign/s from openssl speed rsa2048"

jout=$(node "$here/google_jwt_jose.mjs" "$key" "$BENCH_TMP/claims.json" "$secs")
jose=$(sed -n 's/.*signs_per_s=\([0-9]*\).*/\1/p' <<<"$jout")

printf '\nGoogle save links, uncached, 1 thread, RSA-2048 (%s s each; JWT of %s characters)\n\n' "$secs" "$chars"
printf '%-44s %12s %10s\n' 'measure' 'per second' 'links/x'
printf '%-44s %12s %10s\n' 'google-jwt: render + sign + encode a link' "$links" '1.00'
printf '%-44s %12s %10s\n' 'openssl speed rsa2048 (sign/s, baseline)' "$ossl" "$(bench_ratio "$links" "$ossl")"
printf '%-44s %12s %10s\n' 'npm jose SignJWT, same claims and key' "$jose" "$(bench_ratio "$links" "$jose")"
