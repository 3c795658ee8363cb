# Helpers for the benchmarks that serve signed Apple passes: a throwaway
# Pass Type ID certificate, its upload, pass creation, and nginx serving a
# file as the static baseline.  Sourced after lib/bench.sh, not run.

BENCH_PTID=pass.com.example.bench

# bench_apple_pki DIR: a throwaway WWDR CA and Pass Type ID certificate for
# $BENCH_PTID (as the integration suite makes them); writes DIR/creds.json,
# the body of PUT /api/v1/credentials/apple.
bench_apple_pki() {
    local dir=$1
    mkdir -p "$dir"
    (
        cd "$dir" || exit 1
        printf '%s\n' '[ ca ]' 'default_ca = d' '[ d ]' 'database = index.txt' 'new_certs_dir = .' 'serial = serial' \
            'default_md = sha256' 'policy = p' 'unique_subject = no' '[ p ]' 'commonName = optional' >ca.cnf
        : >index.txt; echo 1000 >serial
        printf '%s\n' '[ ext ]' 'basicConstraints = CA:FALSE' 'keyUsage = digitalSignature' \
            "1.2.840.113635.100.6.1.16 = ASN1:UTF8String:$BENCH_PTID" >pass.ext
        openssl req -x509 -newkey rsa:2048 -nodes -keyout wwdr.key -out wwdr.pem -days 2 \
            -subj '/C=US/O=Bench/OU=G4/CN=Bench WWDR' 2>/dev/null
        openssl genrsa -out pass.key 2048 2>/dev/null
        openssl req -new -key pass.key -out pass.csr \
            -subj "/UID=$BENCH_PTID/CN=Pass Type ID: $BENCH_PTID/OU=ABCDE12345/O=Bench/C=US"
        openssl ca -config ca.cnf -batch -notext -preserveDN -cert wwdr.pem -keyfile wwdr.key -in pass.csr \
            -out pass.pem -days 2 -extfile pass.ext -extensions ext 2>/dev/null
        openssl pkcs12 -export -inkey pass.key -in pass.pem -passout pass:bench -out pass.p12
    )
    node -e '
const fs = require("fs");
const [p12, wwdr, ptid, out] = process.argv.slice(1);
fs.writeFileSync(out, JSON.stringify({ p12_base64: fs.readFileSync(p12).toString("base64"), p12_password: "bench",
  pass_type_identifier: ptid, team_identifier: "ABCDE12345", wwdr_pem: fs.readFileSync(wwdr, "utf8") }));
' "$dir/pass.p12" "$dir/wwdr.pem" "$BENCH_PTID" "$dir/creds.json"
}

# bench_apple_account CONFIG DB DIR: an account on the unlimited plan and its
# API key, made with the CLI (which applies the migrations); sets BENCH_ACCT
# and BENCH_KEY.  Its Apple credentials are uploaded with bench_apple_upload
# once a gateway runs.
bench_apple_account() {
    local cfg=$1 db=$2 email=$3
    BENCH_ACCT=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
        --name "Bench" --email "$email" --plan unlimited)
    BENCH_KEY=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" key create --account "$BENCH_ACCT")
}

# bench_apple_upload DIR: PUT DIR/creds.json as the account's Apple credentials
# (gateway at BENCH_URL, key BENCH_KEY).
bench_apple_upload() {
    curl -fsS -X PUT -H "Authorization: Bearer $BENCH_KEY" -H 'Content-Type: application/json' \
        --data-binary @"$1/creds.json" "$BENCH_URL/api/v1/credentials/apple" >/dev/null \
        || wp_die "PUT /api/v1/credentials/apple failed"
}

# The Solstice Coffee body of docs/api.md (no serial number: each pass gets one).
BENCH_SOLSTICE='{"pass_type":"loyalty","organization_name":"Solstice Coffee Co.","logo_text":"Solstice","background_color":"#1a1a2e","foreground_color":"#ffffff","primary_fields":[{"key":"points","label":"Points","value":"2,450"}],"barcode_message":"MEMBER-00421"}'

# bench_json FIELD: prints FIELD of the JSON document on stdin (fails when absent or null).
bench_json() {
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined||v===null)process.exit(1);console.log(v)})' "$1"
}

# bench_apple_pass: creates a Solstice pass (gateway BENCH_URL, key BENCH_KEY);
# sets BENCH_PASS_ID and BENCH_PKPASS_URL.
bench_apple_pass() {
    local out
    out=$(curl -fsS -H "Authorization: Bearer $BENCH_KEY" -H 'Content-Type: application/json' \
        --data "$BENCH_SOLSTICE" "$BENCH_URL/api/v1/passes") || wp_die "POST /api/v1/passes failed"
    BENCH_PASS_ID=$(bench_json id <<<"$out") || wp_die "no pass id in: $out"
    BENCH_PKPASS_URL=$(bench_json pkpass_url <<<"$out") || wp_die "the pass got no pkpass_url (is apple-signer.so built?)"
}

# bench_pass_json FILE KEY: a top-level key of the pass.json inside the .pkpass FILE.
bench_pass_json() {
    unzip -p "$1" pass.json | bench_json "$2"
}

# bench_nginx_start ROOT: nginx (Debian's nginx-light, installed when missing)
# serving ROOT over plain HTTP on a free loopback port, keep-alive, no access
# log, .pkpass as application/vnd.apple.pkpass; sets BENCH_NGINX (its base
# URL).  Stopped by bench_nginx_stop (and at exit).
BENCH_NGINX_DIR=
bench_nginx_start() {
    local root=$1 nport user_line=""
    wp_install_packages nginx-light
    local nginx
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$nginx" ] || wp_die "nginx is missing (Debian: nginx-light)"
    BENCH_NGINX_BIN=$nginx
    BENCH_NGINX_DIR=$BENCH_TMP/nginx
    mkdir -p "$BENCH_NGINX_DIR"
    nport=$(wp_free_port)
    # as root, nginx's workers would switch to "nobody", who cannot read the temporary folder
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    cat >"$BENCH_NGINX_DIR/nginx.conf" <<NGINX
$user_line
worker_processes auto;
pid $BENCH_NGINX_DIR/nginx.pid;
error_log $BENCH_NGINX_DIR/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $BENCH_NGINX_DIR/body;
    proxy_temp_path $BENCH_NGINX_DIR/proxy;
    fastcgi_temp_path $BENCH_NGINX_DIR/fastcgi;
    uwsgi_temp_path $BENCH_NGINX_DIR/uwsgi;
    scgi_temp_path $BENCH_NGINX_DIR/scgi;
    keepalive_requests 1000000;
    sendfile on;
    types { application/vnd.apple.pkpass pkpass; }
    server {
        listen 127.0.0.1:$nport;
        root $root;
    }
}
NGINX
    "$nginx" -p "$BENCH_NGINX_DIR" -c "$BENCH_NGINX_DIR/nginx.conf" -t 2>/dev/null \
        || { "$nginx" -p "$BENCH_NGINX_DIR" -c "$BENCH_NGINX_DIR/nginx.conf" -t; wp_die "nginx refuses its configuration"; }
    "$nginx" -p "$BENCH_NGINX_DIR" -c "$BENCH_NGINX_DIR/nginx.conf"
    trap 'bench_nginx_stop; bench_cleanup' EXIT
    BENCH_NGINX=http://127.0.0.1:$nport
    local i
    for _ in $(seq 1 50); do curl -sS -o /dev/null "$BENCH_NGINX/" 2>/dev/null && return 0; sleep 0.1; done
    wp_die "nginx did not answer on $BENCH_NGINX"
}

bench_nginx_stop() {
    [ -n "$BENCH_NGINX_DIR" ] && [ -f "$BENCH_NGINX_DIR/nginx.pid" ] \
        && kill -QUIT "$(cat "$BENCH_NGINX_DIR/nginx.pid")" 2>/dev/null || true
    BENCH_NGINX_DIR=
}

# bench_avg A B [digits]: (A + B) / 2.
bench_avg() { awk -v a="$1" -v b="$2" -v d="${3:-0}" 'BEGIN { printf "%.*f", d, (a + b) / 2 }'; }

# bench_met VALUE OP TARGET: "yes" or "no" (OP is >= or <=).
bench_met() {
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { if (v == "n/a") { print "n/a"; exit }
        ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "yes" : "no" }'
}
