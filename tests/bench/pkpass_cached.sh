#!/usr/bin/env bash
# Benchmark: cached .pkpass downloads against nginx serving the same bytes.
#
#   targets    one pass's signed bundle (apple-signer + apns plugins), after
#              its first download (then it comes from the bundle cache):
#                capability  GET pkpass_url (/api/v1/passes/:id/pkpass?t=...)
#                apple       GET /apple/v1/passes/:ptid/:serial with
#                            Authorization: ApplePass <authenticationToken>
#                apple 304   the same with If-Modified-Since: <its Last-Modified>
#   baseline   Debian's nginx (nginx-light, worker_processes auto, access log
#              off) serving that very bundle, downloaded once, as a static
#              file over plain HTTP; for the 304 line the same file with
#              If-Modified-Since: <nginx's Last-Modified>.  Measured before
#              and after the gateway's runs, averaged.
#
# Same wrk settings for all: WP_BENCH_PKPASS_CONNECTIONS (16) connections,
# keep-alive, WP_BENCH_THREADS threads.  Figures: gateway/nginx requests/s
# (target >= 0.5) and gateway/nginx p99 (target <= 3).
# Run with scripts/bench pkpass_cached (installs nginx-light).
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
source "$(dirname "$0")/lib/apple.sh"
CONNS=${WP_BENCH_PKPASS_CONNECTIONS:-16}

db=$(bench_database walletpass_bench_pkpass_cached)
port=$(wp_free_port)
cfg=$BENCH_TMP/walletpass.json
cat >"$cfg" <<JSON
{
  "\$comment": "benchmark gateway: apple-signer and apns (the web service; no device is registered, so nothing is pushed), keep-alive, the rate limit off",
  "server": { "listen_address": "127.0.0.1", "port": $port, "keep_alive": true },
  "public_url": "http://127.0.0.1:$port",
  "rate_limit": { "requests_per_second": 0 },
  "plugins": [{ "name": "apple-signer" }, { "name": "apns", "config": { "host": "127.0.0.1", "port": $(wp_free_port) } }],
  "log_level": "warn"
}
JSON
bench_apple_account "$cfg" "$db" bench-pkpass@example.com
bench_apple_pki "$BENCH_TMP/pki"
bench_gateway_start "$cfg" "$db" "$port"
bench_apple_upload "$BENCH_TMP/pki"
bench_apple_pass

www=$BENCH_TMP/www
mkdir -p "$www"
curl -fsS -o "$www/pass.pkpass" "$BENCH_PKPASS_URL" || wp_die "GET pkpass_url failed"
bytes=$(wc -c <"$www/pass.pkpass")
token=$(bench_pass_json "$www/pass.pkpass" authenticationToken) || wp_die "pass.json has no authenticationToken (is apns loaded?)"
serial=$(bench_pass_json "$www/pass.pkpass" serialNumber)
ptid=$(bench_pass_json "$www/pass.pkpass" passTypeIdentifier)
aurl=$BENCH_URL/apple/v1/passes/$ptid/$serial
auth="Authorization: ApplePass $token"
# A bundle signed again carries a new signingTime (whole seconds): two downloads
# more than a second apart tell whether a route serves its bundle from the
# cache; the last one, whether an Apple download left the link's bundle there.
sleep 1.2
curl -fsS -o "$BENCH_TMP/cap2.pkpass" "$BENCH_PKPASS_URL"
lastmod=$(curl -fsS -o "$BENCH_TMP/apple.pkpass" -D - -H "$auth" "$aurl" | tr -d '\r' | sed -n 's/^[Ll]ast-[Mm]odified: //p')
[ -n "$lastmod" ] || wp_die "GET $aurl sent no Last-Modified"
sleep 1.2
curl -fsS -o "$BENCH_TMP/apple2.pkpass" -H "$auth" "$aurl"
sleep 1.2
curl -fsS -o "$BENCH_TMP/cap3.pkpass" "$BENCH_PKPASS_URL"
same() { cmp -s "$1" "$2" && echo yes || echo no; }
cap_cached=$(same "$www/pass.pkpass" "$BENCH_TMP/cap2.pkpass")
apple_cached=$(same "$BENCH_TMP/apple.pkpass" "$BENCH_TMP/apple2.pkpass")
cap_kept=$(same "$BENCH_TMP/cap2.pkpass" "$BENCH_TMP/cap3.pkpass")
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "$auth" -H "If-Modified-Since: $lastmod" "$aurl")
[ "$code" = 304 ] || wp_die "GET $aurl with If-Modified-Since answered $code, not 304"

bench_nginx_start "$www"
nurl=$BENCH_NGINX/pass.pkpass
cmp -s "$www/pass.pkpass" <(curl -fsS "$nurl") || wp_die "nginx does not serve the bundle"
nlastmod=$(curl -fsS -o /dev/null -D - "$nurl" | tr -d '\r' | sed -n 's/^[Ll]ast-[Mm]odified: //p')
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $nlastmod" "$nurl")
[ "$code" = 304 ] || wp_die "nginx answered $code, not 304, to If-Modified-Since"

declare -A rps p50 p99 cpu
run() { # NAME URL [wrk options]
    local name=$1 url=$2; shift 2
    wp_say "$name: $url"
    WP_BENCH_CONNECTIONS=$CONNS bench_wrk "$url" "$@"
    rps[$name]=$BENCH_RPS p50[$name]=$BENCH_P50_MS p99[$name]=$BENCH_P99_MS cpu[$name]=$BENCH_CPU_US
}
run nginx_1 "$nurl"
run nginx304_1 "$nurl" -H "If-Modified-Since: $nlastmod"
run cap "$BENCH_PKPASS_URL"
run apple "$aurl" -H "$auth"
run apple304 "$aurl" -H "$auth" -H "If-Modified-Since: $lastmod"
run nginx_2 "$nurl"
run nginx304_2 "$nurl" -H "If-Modified-Since: $nlastmod"
bench_gateway_stop
bench_nginx_stop
for k in nginx nginx304; do
    rps[$k]=$(bench_avg "${rps[${k}_1]}" "${rps[${k}_2]}")
    p50[$k]=$(bench_avg "${p50[${k}_1]}" "${p50[${k}_2]}" 2)
    p99[$k]=$(bench_avg "${p99[${k}_1]}" "${p99[${k}_2]}" 2)
done

echo
echo "pkpass_cached: wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p'), ${WP_BENCH_DURATION} s per run" \
    "(after ${WP_BENCH_WARMUP} s warm-up), $WP_BENCH_THREADS threads, $CONNS connections, keep-alive," \
    "127.0.0.1, $(nproc) CPUs shared by wrk, the gateway, nginx and PostgreSQL"
echo "$("$BENCH_NGINX_BIN" -v 2>&1 | sed 's/.*version: //') (worker_processes auto), ${bytes}-byte bundle: the gateway's first download, served by nginx;" \
    "nginx measured before and after the gateway, averaged"
echo
printf '%-50s %10s %8s %8s %9s %9s %10s\n' target requests/s "p50 ms" "p99 ms" "req/s x" "p99 x" "CPU us/req"
line() { # LABEL NAME BASE
    local c=${cpu[$2]:-}
    case $2 in nginx*) c=-;; esac # the gateway's CPU only
    printf '%-50s %10s %8s %8s %9s %9s %10s\n' "$1" "${rps[$2]}" "${p50[$2]}" "${p99[$2]}" \
        "$(bench_ratio "${rps[$2]}" "${rps[$3]}")" "$(bench_ratio "${p99[$2]}" "${p99[$3]}")" "$c"
}
line "nginx, static file (baseline)" nginx nginx
printf '  %-48s %10s %8s %8s\n' "before / after" "${rps[nginx_1]} / ${rps[nginx_2]}" "" "${p99[nginx_1]} / ${p99[nginx_2]}"
line "gateway, GET pkpass_url (capability)" cap nginx
line "gateway, GET /apple/v1/passes/... (ApplePass)" apple nginx
line "nginx, If-Modified-Since -> 304 (baseline)" nginx304 nginx304
printf '  %-48s %10s %8s %8s\n' "before / after" "${rps[nginx304_1]} / ${rps[nginx304_2]}" "" "${p99[nginx304_1]} / ${p99[nginx304_2]}"
line "gateway, Apple route, If-Modified-Since -> 304" apple304 nginx304
echo "served from the bundle cache (the same bytes 1.2 s later, not signed again): pkpass_url $cap_cached," \
    "Apple route $apple_cached; pkpass_url still after an Apple route download: $cap_kept"
echo
for n in cap apple apple304; do
    b=nginx; [ $n = apple304 ] && b=nginx304
    r=$(bench_ratio "${rps[$n]}" "${rps[$b]}"); q=$(bench_ratio "${p99[$n]}" "${p99[$b]}")
    echo "RESULT pkpass_cached.$n rps=${rps[$n]} p99_ms=${p99[$n]} baseline_rps=${rps[$b]} baseline_p99_ms=${p99[$b]}" \
        "ratio=$r p99_ratio=$q target=0.5 met=$(bench_met "$r" '>=' 0.5) p99_target=3 p99_met=$(bench_met "$q" '<=' 3)"
done
