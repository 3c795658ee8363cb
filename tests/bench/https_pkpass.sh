#!/usr/bin/env bash
# Benchmark: the cached .pkpass download over HTTPS (server.tls), next to nginx.
#
#   target    wrk on a pass's pkpass_url served by the gateway's own TLS
#             (apple-signer plugin: the bundle is signed once, then served
#             from memory; each download checks the link and reads the pass)
#   baseline  nginx serving the same bundle as a static file over TLS, with
#             the same certificate (ECDSA P-256), protocols and suites
#   and, to tell the cost of TLS from the gateway's own work, the same
#   download from the same gateway configured without server.tls.
#
# All in the same run, with keep-alive (wrk's connections stay open: the
# TLS handshake is paid once per connection), and again with
# "Connection: close" (a TCP connection, and a full TLS handshake, for every
# request).  The ratio nginx/gateway is how many static TLS downloads the
# machine serves in the time of one gateway download.
# Run with scripts/bench https_pkpass (installs nginx-light).
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"

wp_install_packages nginx-light
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || wp_die "nginx is missing (Debian: nginx-light)"

# ---- certificate, gateway ------------------------------------------------------------
tls=$BENCH_TMP/tls
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$tls/privkey.pem" -out "$tls/fullchain.pem" 2>/dev/null

db=$(bench_database walletpass_bench_https)
port=$(wp_free_port)
write_config() { # FILE PORT SCHEME(https|http)
    local tls_json=""
    [ "$3" = https ] && tls_json=", \"tls\": { \"certificate_file\": \"$tls/fullchain.pem\", \"key_file\": \"$tls/privkey.pem\" }"
    cat >"$1" <<JSON
{
  "\$comment": "benchmark gateway: $3, the apple-signer plugin, keep-alive, a rate limit that never refuses",
  "server": { "listen_address": "127.0.0.1", "port": $2, "keep_alive": true$tls_json },
  "public_url": "$3://127.0.0.1:$2",
  "rate_limit": { "requests_per_second": 1000000000, "burst": 1000000000 },
  "plugins": [{ "name": "apple-signer" }],
  "log_level": "warn"
}
JSON
}
cfg=$BENCH_TMP/walletpass-https.json
write_config "$cfg" "$port" https
acct=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
    --name "Bench" --email bench-https@example.com --plan unlimited)
key=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" key create --account "$acct")

# a throwaway WWDR CA and Pass Type ID certificate, as the integration suite makes them
pki=$BENCH_TMP/pki
mkdir -p "$pki"
(
    cd "$pki"
    printf '%s\n' '[ ca ]' 'default_ca = d' '[ d ]' 'database = index.txt' 'new_certs_dir = .' 'serial = serial' \
        'default_md = sha256' 'policy = p' 'unique_subject = no' '[ p ]' 'commonName = optional' >ca.cnf
    : >index.txt; echo 1000 >serial
    printf '%s\n' '[ ext ]' 'basicConstraints = CA:FALSE' 'keyUsage = digitalSignature' \
        '1.2.840.113635.100.6.1.16 = ASN1:UTF8String:pass.com.example.bench' >pass.ext
    openssl req -x509 -newkey rsa:2048 -nodes -keyout wwdr.key -out wwdr.pem -days 2 \
        -subj '/C=US/O=Bench/OU=G4/CN=Bench WWDR' 2>/dev/null
    openssl genrsa -out pass.key 2048 2>/dev/null
    openssl req -new -key pass.key -out pass.csr \
        -subj '/UID=pass.com.example.bench/CN=Pass Type ID: pass.com.example.bench/OU=ABCDE12345/O=Bench/C=US'
    openssl ca -config ca.cnf -batch -notext -preserveDN -cert wwdr.pem -keyfile wwdr.key -in pass.csr \
        -out pass.pem -days 2 -extfile pass.ext -extensions ext 2>/dev/null
    openssl pkcs12 -export -inkey pass.key -in pass.pem -passout pass:bench -out pass.p12
)
bench_gateway_start "$cfg" "$db" "$port" "https://127.0.0.1:$port"
node -e '
const fs = require("fs");
const [p12, wwdr, out] = process.argv.slice(1);
fs.writeFileSync(out, JSON.stringify({ p12_base64: fs.readFileSync(p12).toString("base64"), p12_password: "bench",
  pass_type_identifier: "pass.com.example.bench", team_identifier: "ABCDE12345", wwdr_pem: fs.readFileSync(wwdr, "utf8") }));
' "$pki/pass.p12" "$pki/wwdr.pem" "$pki/creds.json"
curl -kfsS -X PUT -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    --data-binary @"$pki/creds.json" "$BENCH_URL/api/v1/credentials/apple" >/dev/null
url=$(curl -kfsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    --data '{"pass_type":"loyalty","organization_name":"Solstice Coffee Co.","logo_text":"Solstice","background_color":"#1a1a2e","foreground_color":"#ffffff","primary_fields":[{"key":"points","label":"Points","value":"2,450"}],"barcode_message":"MEMBER-00421"}' \
    "$BENCH_URL/api/v1/passes" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const u=JSON.parse(s).pkpass_url;if(!u)process.exit(1);console.log(u)})') \
    || wp_die "the pass got no pkpass_url (is apple-signer.so built?)"

# ---- nginx with the same bundle and certificate ------------------------------------------
www=$BENCH_TMP/www
mkdir -p "$www" "$BENCH_TMP/nginx"
curl -kfsS -o "$www/pass.pkpass" "$url"
bundle_bytes=$(wc -c <"$www/pass.pkpass")
nport=$(wp_free_port)
# as root, nginx's workers would switch to "nobody", who cannot read the temporary folder
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
cat >"$BENCH_TMP/nginx/nginx.conf" <<NGINX
$user_line
worker_processes auto;
pid $BENCH_TMP/nginx/nginx.pid;
error_log $BENCH_TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $BENCH_TMP/nginx/body;
    proxy_temp_path $BENCH_TMP/nginx/proxy;
    fastcgi_temp_path $BENCH_TMP/nginx/fastcgi;
    uwsgi_temp_path $BENCH_TMP/nginx/uwsgi;
    scgi_temp_path $BENCH_TMP/nginx/scgi;
    keepalive_requests 1000000;
    types { application/vnd.apple.pkpass pkpass; }
    server {
        listen 127.0.0.1:$nport ssl;
        ssl_certificate $tls/fullchain.pem;
        ssl_certificate_key $tls/privkey.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        root $www;
    }
}
NGINX
"$NGINX" -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/nginx.conf" -t 2>/dev/null \
    || { "$NGINX" -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/nginx.conf" -t; wp_die "nginx refuses its configuration"; }
"$NGINX" -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/nginx.conf"
stop_nginx() { [ -f "$BENCH_TMP/nginx/nginx.pid" ] && kill -QUIT "$(cat "$BENCH_TMP/nginx/nginx.pid")" 2>/dev/null || true; }
trap 'stop_nginx; bench_cleanup' EXIT
nurl=https://127.0.0.1:$nport/pass.pkpass
for _ in $(seq 1 50); do curl -kfsS -o /dev/null "$nurl" 2>/dev/null && break; sleep 0.1; done
cmp -s "$www/pass.pkpass" <(curl -kfsS "$url") || wp_die "the gateway and nginx serve different bytes"
cmp -s "$www/pass.pkpass" <(curl -kfsS "$nurl") || wp_die "nginx does not serve the bundle"

declare -A rps p50 p99
for mode in keepalive close; do
    hdr=()
    [ $mode = close ] && hdr=(-H "Connection: close")
    wp_say "HTTPS, $mode: GET pkpass_url from the gateway"
    bench_wrk "$url" "${hdr[@]}"
    rps[gw,$mode]=$BENCH_RPS; p50[gw,$mode]=$BENCH_P50_MS; p99[gw,$mode]=$BENCH_P99_MS
    wp_say "HTTPS, $mode: the same file from nginx"
    bench_wrk "$nurl" "${hdr[@]}"
    rps[ng,$mode]=$BENCH_RPS; p50[ng,$mode]=$BENCH_P50_MS; p99[ng,$mode]=$BENCH_P99_MS
done
bench_gateway_stop
stop_nginx

# ---- the same gateway without TLS: the same pass and link, over plain HTTP -----------------
pport=$(wp_free_port)
pcfg=$BENCH_TMP/walletpass-plain.json
write_config "$pcfg" "$pport" http
bench_gateway_start "$pcfg" "$db" "$pport"
purl=$BENCH_URL${url#https://127.0.0.1:$port}
# not byte for byte the same: pass.json's webServiceURL follows public_url
[ "$(curl -fsS "$purl" | head -c 2)" = PK ] || wp_die "the plain-HTTP gateway serves no bundle at $purl"
for mode in keepalive close; do
    hdr=()
    [ $mode = close ] && hdr=(-H "Connection: close")
    wp_say "plain HTTP, $mode: GET pkpass_url from the gateway"
    bench_wrk "$purl" "${hdr[@]}"
    rps[plain,$mode]=$BENCH_RPS; p50[plain,$mode]=$BENCH_P50_MS; p99[plain,$mode]=$BENCH_P99_MS
done
bench_gateway_stop

echo
echo "https_pkpass: wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p'), ${WP_BENCH_DURATION} s per run" \
    "(after ${WP_BENCH_WARMUP} s warm-up), $WP_BENCH_THREADS threads, $WP_BENCH_CONNECTIONS connections," \
    "127.0.0.1, $(nproc) CPUs shared by wrk, the gateway, nginx and PostgreSQL"
echo "$(openssl version | cut -d' ' -f1-2), $("$NGINX" -v 2>&1 | sed 's/.*version: //'), ECDSA P-256 certificate," \
    "${bundle_bytes}-byte bundle; TLS 1.3 (wrk's default)"
echo
printf '%-11s %-44s %12s %9s %9s\n' connection target requests/s "p50 ms" "p99 ms"
for mode in keepalive close; do
    printf '%-11s %-44s %12s %9s %9s\n' "$mode" "HTTPS: nginx, static file (baseline)" "${rps[ng,$mode]}" \
        "${p50[ng,$mode]}" "${p99[ng,$mode]}"
    printf '%-11s %-44s %12s %9s %9s\n' "$mode" "HTTPS: gateway, GET pkpass_url (cached)" "${rps[gw,$mode]}" \
        "${p50[gw,$mode]}" "${p99[gw,$mode]}"
    printf '%-11s %-44s %12s %9s %9s\n' "$mode" "plain HTTP: gateway, GET pkpass_url (cached)" "${rps[plain,$mode]}" \
        "${p50[plain,$mode]}" "${p99[plain,$mode]}"
done
echo
echo "ratio nginx/gateway over HTTPS: keep-alive $(bench_ratio "${rps[ng,keepalive]}" "${rps[gw,keepalive]}")," \
    "a handshake per request $(bench_ratio "${rps[ng,close]}" "${rps[gw,close]}")"
echo "ratio plain/HTTPS for the gateway: keep-alive $(bench_ratio "${rps[plain,keepalive]}" "${rps[gw,keepalive]}")," \
    "a connection per request $(bench_ratio "${rps[plain,close]}" "${rps[gw,close]}")"
