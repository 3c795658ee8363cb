#!/usr/bin/env bash
# Benchmark: webhook deliveries per second (plugins/webhooks), next to what the
# same local receiver takes from a plain HTTP load tool (wrk) in the same run.
#
#   1. gateway A with jobs.workers 0 (enqueue only): 10,000 POST /api/v1/passes
#      (16 at a time) publish 10,000 pass.created events; their fan-out jobs wait;
#   2. gateway B (8 job workers, per_endpoint_concurrency 8) starts on the same
#      database and delivers: fan-out, signing, one HTTP POST each, recording;
#      the rate is deliveries / (last arrival - first arrival) at the receiver;
#   3. wrk POSTs a body of the same size to the same receiver (same connections
#      count as workers), for the baseline.
# Run with scripts/bench webhooks.  WP_BENCH_WEBHOOK_EVENTS overrides 10000.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
here=$(cd "$(dirname "$0")" && pwd)
plugin_dir=$(cd "$(dirname "$WP_BENCH_BIN")/../plugins" && pwd)
N=${WP_BENCH_WEBHOOK_EVENTS:-10000}
WORKERS=8

rport=$(wp_free_port)
node "$here/webhooks_receiver.mjs" "$rport" &
rpid=$!
trap 'kill "$rpid" 2>/dev/null || true; bench_cleanup' EXIT
for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$rport/stats" 2>/dev/null && break; sleep 0.1; done

db=$(bench_database walletpass_bench_webhooks)
config() { # PORT WORKERS
    cat >"$BENCH_TMP/walletpass-$1.json" <<JSON
{
  "server": { "listen_address": "127.0.0.1", "port": $1, "keep_alive": true },
  "public_url": "http://127.0.0.1:$1",
  "rate_limit": { "requests_per_second": 0 },
  "outbound": { "allow_private_targets": true },
  "plugin_dir": "$plugin_dir",
  "plugins": [{ "name": "webhooks", "config": { "allow_http": true, "per_endpoint_concurrency": $WORKERS, "max_concurrency": 64 } }],
  "jobs": { "workers": $2, "poll_ms": 100 },
  "log_level": "warn"
}
JSON
    echo "$BENCH_TMP/walletpass-$1.json"
}

# 1. the events, with nobody delivering them yet
port=$(wp_free_port)
cfg=$(config "$port" 0)
acct=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
    --name "Bench webhooks" --email bench-webhooks@example.com --plan unlimited)
key=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" key create --account "$acct")
bench_gateway_start "$cfg" "$db" "$port"
node -e '
  const [url, key, hook, n] = process.argv.slice(1), N = Number(n);
  const H = { authorization: "Bearer " + key, "content-type": "application/json" };
  const post = async (p, b) => { const r = await fetch(url + p, { method: "POST", headers: H, body: JSON.stringify(b) });
    if (r.status !== 201) throw new Error(p + ": " + r.status + " " + await r.text()); };
  (async () => {
    await post("/api/v1/webhooks", { url: hook, event_types: ["pass.created"] });
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => { while (next < N) { const i = next++;
      await post("/api/v1/passes", { pass_type: "generic", organization_name: "Bench", serial_number: "wh-" + i,
        primary_fields: [{ key: "k", label: "K", value: "v" }], barcode_message: "B-" + i }); } }));
  })().catch((e) => { console.error(e.message); process.exit(1); });' \
    "$BENCH_URL" "$key" "http://127.0.0.1:$rport/hook" "$N"
bench_gateway_stop

# 2. delivery
port=$(wp_free_port)
cfg=$(config "$port" "$WORKERS")
t0=$(date +%s%N)
bench_gateway_start "$cfg" "$db" "$port"
for _ in $(seq 1 3000); do
    got=$(curl -fsS "http://127.0.0.1:$rport/stats" | sed -n 's/.*"deliveries":\([0-9]*\).*/\1/p')
    [ "$got" -ge "$N" ] && break
    sleep 0.1
done
stats=$(curl -fsS "http://127.0.0.1:$rport/stats")
t1=$(date +%s%N)
ok=$(psql "$db" -tAqc "SELECT count(*) FROM webhooks_deliveries WHERE status = 'succeeded'")
body_bytes=$(psql "$db" -tAqc "SELECT avg(length(body))::int FROM webhooks_deliveries")
psql "$db" -tAqc "SELECT body FROM webhooks_deliveries LIMIT 1" >"$BENCH_TMP/body.json"
bench_gateway_stop
first=$(sed -n 's/.*"first_ms":\([0-9]*\).*/\1/p' <<<"$stats")
last=$(sed -n 's/.*"last_ms":\([0-9]*\).*/\1/p' <<<"$stats")
got=$(sed -n 's/.*"deliveries":\([0-9]*\).*/\1/p' <<<"$stats")
ids=$(sed -n 's/.*"ids":\([0-9]*\).*/\1/p' <<<"$stats")
rate=$(awk -v n="$got" -v a="$first" -v b="$last" 'BEGIN { if (b > a) printf "%.0f", (n - 1) / ((b - a) / 1000); else print "n/a" }')

# 3. the same receiver under wrk, same body size, as many connections as workers
WP_BENCH_CONNECTIONS=$WORKERS WP_BENCH_BODY_FILE=$BENCH_TMP/body.json bench_wrk "http://127.0.0.1:$rport/load"

printf '\n%s webhook deliveries to one local receiver (body %s bytes; %d job workers)\n\n' "$N" "$body_bytes" "$WORKERS"
printf '%-44s %12s\n' 'what' 'requests/s'
printf '%-44s %12s\n' 'webhooks plugin: signed deliveries' "$rate"
printf '%-44s %12s\n' "wrk POST to the same receiver (-c $WORKERS)" "$BENCH_RPS"
printf '\nreceived %s deliveries (%s distinct webhook-ids), %s succeeded in the table; start to last: %s ms\n' \
    "$got" "$ids" "$ok" "$(( (t1 - t0) / 1000000 ))"
printf 'plugin / wrk: %s\n' "$(bench_ratio "$rate" "$BENCH_RPS")"
