#!/usr/bin/env bash
# Benchmark: batch creation (POST /api/v1/passes/batch, core/src/http/batches.c and
# core/src/domain/batch_service.c).
#
#   batch     one batch of 1,000 passes: from the POST to GET /api/v1/batches/:id
#             answering "completed" (4 job workers, chunks of 100)
#   single1   1,000 single POST /api/v1/passes, one at a time
#   singleC   1,000 single POST /api/v1/passes, 8 at a time
# each with no plugin, then with the platform plugins (geofence, apple-signer,
# google-jwt, the account holding Apple and Google credentials, so every pass
# gets both links), in the same run.  Every pass has one location.
# Run with scripts/bench batch.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
here=$(cd "$(dirname "$0")" && pwd)
plugin_dir=$(cd "$(dirname "$WP_BENCH_BIN")/../plugins" && pwd)

# Apple: a throwaway CA and Pass Type ID certificate; Google: a service-account key.
( cd "$BENCH_TMP"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout wwdr.key -out wwdr.pem -days 2 -subj '/CN=Bench WWDR' 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout pass.key -out pass.csr -subj '/UID=pass.bench/CN=Pass Type ID: pass.bench/OU=ABCDE12345' 2>/dev/null
  openssl x509 -req -in pass.csr -CA wwdr.pem -CAkey wwdr.key -CAcreateserial -out pass.pem -days 2 2>/dev/null
  openssl pkcs12 -export -inkey pass.key -in pass.pem -passout pass:pw -out pass.p12
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.pem 2>/dev/null )

run() { # NAME PLUGINS_JSON -> prints the node helper's line
    local name=$1 plugins=$2 db port cfg acct key
    db=$(bench_database "walletpass_bench_batch_$name")
    port=$(wp_free_port)
    cfg=$BENCH_TMP/walletpass-$name.json
    cat >"$cfg" <<JSON
{
  "server": { "listen_address": "127.0.0.1", "port": $port, "keep_alive": true },
  "public_url": "http://127.0.0.1:$port",
  "rate_limit": { "requests_per_second": 0 },
  "plugin_dir": "$plugin_dir",
  "plugins": $plugins,
  "jobs": { "workers": 4 },
  "log_level": "warn"
}
JSON
    acct=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
        --name "Bench $name" --email "bench-batch-$name@example.com" --plan unlimited)
    key=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" key create --account "$acct")
    bench_gateway_start "$cfg" "$db" "$port"
    if [ "$plugins" != "[]" ]; then
        node -e '
          const fs = require("fs"), [url, key, dir] = process.argv.slice(1), H = { authorization: "Bearer " + key, "content-type": "application/json" };
          const put = (p, b) => fetch(url + p, { method: "PUT", headers: H, body: JSON.stringify(b) }).then(async (r) => { if (r.status !== 200) throw new Error(p + ": " + r.status + " " + await r.text()); });
          (async () => {
            await put("/api/v1/credentials/apple", { p12_base64: fs.readFileSync(dir + "/pass.p12").toString("base64"), p12_password: "pw",
              pass_type_identifier: "pass.bench", team_identifier: "ABCDE12345", wwdr_pem: fs.readFileSync(dir + "/wwdr.pem", "utf8") });
            await put("/api/v1/credentials/google", { issuer_id: "3388000000022122304", service_account_json: { type: "service_account",
              project_id: "bench", private_key_id: "0123456789abcdef", private_key: fs.readFileSync(dir + "/sa.pem", "utf8"),
              client_email: "bench@bench.iam.gserviceaccount.com", client_id: "1", token_uri: "https://oauth2.googleapis.com/token" } });
          })().catch((e) => { console.error(e.message); process.exit(1); });' "$BENCH_URL" "$key" "$BENCH_TMP"
    fi
    node "$here/batch_bench.mjs" "$BENCH_URL" "$key" 1000 8
    bench_gateway_stop
}

core=$(run core '[]')
plug=$(run plugins '[{"name": "geofence"}, {"name": "apple-signer"}, {"name": "google-jwt"}]')
val() { sed -n "s/.*$1=\([0-9a-z+]*\).*/\1/p" <<<"$2"; }

printf '\n1,000 passes: one batch vs single POST /api/v1/passes (ms; lower is better)\n\n'
printf '%-38s %10s %10s %10s %8s %8s\n' 'gateway' 'batch' 'single x1' 'single x8' 'x1/batch' 'x8/batch'
for row in "no plugins|$core" "geofence + apple-signer + google-jwt|$plug"; do
    name=${row%%|*} line=${row#*|}
    b=$(val batch_ms "$line") s1=$(val single1_ms "$line") s8=$(val singleC_ms "$line")
    printf '%-38s %10s %10s %10s %8.2f %8.2f\n' "$name" "$b" "$s1" "$s8" "$(echo "$s1/$b" | bc -l)" "$(echo "$s8/$b" | bc -l)"
done
printf '\nplatform links on the plugin run: %s\n' "$(val links "$plug")"
