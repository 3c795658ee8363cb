#!/usr/bin/env bash
# Benchmark: creating passes, POST /api/v1/passes (core/src/http/passes.c and
# core/src/domain/pass_service.c), with no platform plugin loaded.
#
#   target     wrk POSTs the Solstice Coffee body of docs/api.md (no serial_number:
#              each pass gets a generated one) with an API key whose account
#              is on the "unlimited" plan, all into that one account, over
#              WP_BENCH_CREATE_CONNECTIONS (8) connections; the rate limit is
#              off (rate_limit.requests_per_second 0).  Passes created per
#              second, p50 and p99.
#   baselines  pgbench on the same database in the same run, -M extended
#              (PQexecParams, as the gateway), as many clients as wrk has
#              connections, with the same durability as the gateway's
#              sessions (the database's synchronous_commit, passed to
#              pgbench's sessions; fsync is the cluster's, shared), with
#              parameters taken from a pass the gateway created (its stored
#              body, overrides, and its pass.created event):
#                insert   the bare INSERT INTO passes of create_pass, the
#                         same JSON (tests/bench/passes_insert.pgbench): the
#                         baseline of the figure
#                tx       the whole transaction create_pass runs: BEGIN, the
#                         plan SELECT and usage_counters upsert of
#                         wp_meter_consume, the INSERT, the pass.created event
#                         INSERT, COMMIT (tests/bench/passes_create_tx.pgbench)
#                request  tx plus the API-key lookup that precedes it: all the
#                         SQL one request sends
#              each once before and once after the gateway's run (the
#              machine's load drifts), averaged.
#
# The figure is gateway/insert passes per second (target >= 0.3) and
# gateway/insert p99 (target <= 3); gateway/tx and gateway/request are shown
# next to it: how close the gateway comes to its own SQL.
# Run with scripts/bench passes_create.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
source "$(dirname "$0")/lib/apple.sh"
CONNS=${WP_BENCH_CREATE_CONNECTIONS:-8}

here=$(cd "$(dirname "$0")" && pwd)
pgbench=$( (wp_pg_bindir) 2>/dev/null)/pgbench || true
[ -x "$pgbench" ] || pgbench=$(command -v pgbench) || wp_die "pgbench not found (it comes with the postgresql package)"

db=$(bench_database walletpass_bench_passes)
port=$(wp_free_port)
cfg=$BENCH_TMP/walletpass-passes.json
cat >"$cfg" <<JSON
{
  "\$comment": "benchmark gateway: no plugins, keep-alive, the rate limit off",
  "server": { "listen_address": "127.0.0.1", "port": $port, "keep_alive": true },
  "public_url": "http://127.0.0.1:$port",
  "rate_limit": { "requests_per_second": 0 },
  "plugins": [],
  "log_level": "warn"
}
JSON
# account create applies the migrations itself
acct=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
    --name "Bench" --email bench-passes@example.com --plan unlimited)
key=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" key create --account "$acct")

body=$BENCH_TMP/solstice.json
cat >"$body" <<'JSON'
{
  "pass_type": "loyalty",
  "organization_name": "Solstice Coffee Co.",
  "logo_text": "Solstice",
  "background_color": "#1a1a2e",
  "foreground_color": "#ffffff",
  "primary_fields": [{ "key": "points", "label": "Points", "value": "2,450" }],
  "barcode_message": "MEMBER-00421"
}
JSON

bench_gateway_start "$cfg" "$db" "$port"

# One pass by hand: it must be created with no platform keys (no plugin),
# and its stored row and event give pgbench its parameters.
first=$BENCH_TMP/first.json
code=$(curl -sS -o "$first" -w '%{http_code}' -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    --data-binary "@$body" "$BENCH_URL/api/v1/passes")
[ "$code" = 201 ] || { cat "$first" >&2; wp_die "POST /api/v1/passes answered $code, not 201"; }
! grep -q '"pkpass_url"\|"google_save_url"' "$first" \
    || { cat "$first" >&2; wp_die "the pass has platform keys: is a platform plugin loaded?"; }
pass_id=$(sed -n 's/.*"id": *"\(pass_[^"]*\)".*/\1/p' "$first")
[ -n "$pass_id" ] || { cat "$first" >&2; wp_die "no pass id in the response"; }
q() { psql "$db" -tAXc "$1"; }
p_body=$(q "SELECT body::text FROM passes WHERE id = '$pass_id'")
p_ovr=$(q "SELECT overrides::text FROM passes WHERE id = '$pass_id'")
p_event=$(q "SELECT data::text FROM events WHERE account_id = '$acct' AND type = 'pass.created'")
p_prefix=$(q "SELECT prefix FROM api_keys WHERE account_id = '$acct'")
[ -n "$p_body" ] && [ -n "$p_event" ] && [ -n "$p_prefix" ] \
    || wp_die "the first pass, its event or the API key is missing from the database"
pgvars=(-D "account=$acct" -D "body=$p_body" -D "overrides=$p_ovr" -D "event=$p_event"
    -D "prefix=$p_prefix")

# Vacuumed before each side, so that neither pays for the other's dead rows
# (the usage_counters row gets a new version on every pass).
# the gateway's sessions get the database's settings (it sets none of its own);
# pgbench's sessions are given the same synchronous_commit explicitly
sync_commit=$(q "SHOW synchronous_commit")
fsync=$(q "SHOW fsync")
export PGOPTIONS="-c synchronous_commit=$sync_commit"

vacuum() { psql "$db" -qc "VACUUM (ANALYZE) passes, events, usage_counters, jobs"; }

# pgbench_run NAME SECONDS SCRIPT [-D auth=...]: one run; sets PGB_TPS, PGB_P50_MS, PGB_P99_MS.
pgbench_run() {
    local name=$1 secs=$2 script=$3; shift 3
    local dir=$BENCH_TMP/pgbench-$name-$RANDOM out
    mkdir -p "$dir"
    out=$dir/out.txt
    (cd "$dir" && "$pgbench" -n -M extended -c "$CONNS" -j "$WP_BENCH_THREADS" -T "$secs" \
        -l --log-prefix=tx -f "$here/$script" "${pgvars[@]}" "$@" "$db") >"$out" 2>&1 \
        || { cat "$out" >&2; wp_die "pgbench $script failed"; }
    PGB_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | awk '{ printf "%.0f", $1 }')
    local failed
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
    [ -n "$PGB_TPS" ] && [ "${failed:-0}" -eq 0 ] || { cat "$out" >&2; wp_die "pgbench $script: no tps, or failed transactions"; }
    # the per-transaction log: client, transaction, latency in microseconds, ...
    local pct
    pct=$(cat "$dir"/tx.* | awk '{ print $3 }' | sort -n | awk '{ v[NR] = $1 }
        END { i50 = int(NR * 0.50); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
              printf "%.2f %.2f", v[i50] / 1000, v[i99] / 1000 }')
    PGB_P50_MS=${pct% *} PGB_P99_MS=${pct#* }
    rm -rf "$dir"
}

declare -A tps p50 p99
baselines() { # SIDE (before|after)
    local side=$1
    vacuum
    [ "$WP_BENCH_WARMUP" != 0 ] && pgbench_run warm "$WP_BENCH_WARMUP" passes_create_tx.pgbench -D auth=0
    pgbench_run insert "$WP_BENCH_DURATION" passes_insert.pgbench
    tps[insert,$side]=$PGB_TPS p50[insert,$side]=$PGB_P50_MS p99[insert,$side]=$PGB_P99_MS
    pgbench_run tx "$WP_BENCH_DURATION" passes_create_tx.pgbench -D auth=0
    tps[tx,$side]=$PGB_TPS p50[tx,$side]=$PGB_P50_MS p99[tx,$side]=$PGB_P99_MS
    pgbench_run request "$WP_BENCH_DURATION" passes_create_tx.pgbench -D auth=1
    tps[request,$side]=$PGB_TPS p50[request,$side]=$PGB_P50_MS p99[request,$side]=$PGB_P99_MS
}

wp_say "baselines (before): pgbench insert, tx, request; $CONNS clients"
baselines before

wp_say "POST /api/v1/passes: wrk $WP_BENCH_THREADS threads, $CONNS connections"
vacuum
passes_before=$(q "SELECT count(*) FROM passes WHERE account_id = '$acct'")
events_before=$(q "SELECT count(*) FROM events WHERE account_id = '$acct' AND type = 'pass.created'")
WP_BENCH_KEY=$key WP_BENCH_BODY_FILE=$body WP_BENCH_CONNECTIONS=$CONNS bench_wrk "$BENCH_URL/api/v1/passes"
g_rps=$BENCH_RPS g_p50=$BENCH_P50_MS g_p99=$BENCH_P99_MS g_sent=$BENCH_SENT
made=$(( $(q "SELECT count(*) FROM passes WHERE account_id = '$acct'") - passes_before ))
published=$(( $(q "SELECT count(*) FROM events WHERE account_id = '$acct' AND type = 'pass.created'") - events_before ))

wp_say "baselines (after)"
baselines after

for b in insert tx request; do
    tps[$b]=$(( (${tps[$b,before]} + ${tps[$b,after]}) / 2 ))
    p99[$b]=$(awk -v a="${p99[$b,before]}" -v b="${p99[$b,after]}" 'BEGIN { printf "%.2f", (a + b) / 2 }')
    p50[$b]=$(awk -v a="${p50[$b,before]}" -v b="${p50[$b,after]}" 'BEGIN { printf "%.2f", (a + b) / 2 }')
done
total=$(q "SELECT count(*) FROM passes WHERE account_id = '$acct'")

echo
echo "passes_create: wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p'), PostgreSQL $("$pgbench" --version | awk '{ print $3 }')," \
    "${WP_BENCH_DURATION} s per run (after ${WP_BENCH_WARMUP} s warm-up), $CONNS connections/clients," \
    "127.0.0.1, $(nproc) CPUs shared by wrk or pgbench, the gateway and PostgreSQL"
echo "target: POST /api/v1/passes (Solstice Coffee body, generated serial numbers, no plugins, unlimited plan," \
    "rate limit off); baselines: pgbench -M extended on the same database, before and after, averaged;" \
    "durability of both: synchronous_commit=$sync_commit, fsync=$fsync"
echo
printf '%-52s %12s %9s %9s\n' "" "per second" "p50 ms" "p99 ms"
printf '%-52s %12s %9s %9s\n' "POST /api/v1/passes (gateway)" "$g_rps" "$g_p50" "$g_p99"
printf '%-52s %12s %9s %9s\n' "baseline insert: INSERT INTO passes alone" "${tps[insert]}" "${p50[insert]}" "${p99[insert]}"
printf '%-52s %12s %9s %9s\n' "baseline tx: create_pass's transaction (5 statements)" "${tps[tx]}" "${p50[tx]}" "${p99[tx]}"
printf '%-52s %12s %9s %9s\n' "baseline request: tx + the API-key lookup" "${tps[request]}" "${p50[request]}" "${p99[request]}"
for b in insert tx request; do
    printf '  %-50s %12s %9s %9s\n' "$b before / after" "${tps[$b,before]} / ${tps[$b,after]}" \
        "" "${p99[$b,before]} / ${p99[$b,after]}"
done
echo
echo "ratio gateway/insert  $(bench_ratio "$g_rps" "${tps[insert]}") (passes created per second for each bare INSERT of the same JSON per second; target 0.3)"
echo "p99 gateway/insert    $(bench_ratio "$g_p99" "${p99[insert]}") (target 3 or less)"
echo "ratio gateway/tx      $(bench_ratio "$g_rps" "${tps[tx]}") (passes per create_pass transaction run by pgbench)"
echo "ratio gateway/request $(bench_ratio "$g_rps" "${tps[request]}") (passes per all-of-a-request's SQL run by pgbench)"
echo "p99 gateway/tx        $(bench_ratio "$g_p99" "${p99[tx]}")"
echo
echo "passes created by the gateway during its runs: $made, pass.created events: $published" \
    "(wrk counted $g_sent completed requests, warm-up included); passes in the database: $total"
[ "$made" -ge "$g_sent" ] || echo "WARNING: fewer passes than 201 answers"
[ "$published" -eq "$made" ] || echo "WARNING: $made passes but $published pass.created events"
r=$(bench_ratio "$g_rps" "${tps[insert]}"); pr=$(bench_ratio "$g_p99" "${p99[insert]}")
echo "RESULT passes_create rps=$g_rps p99_ms=$g_p99 baseline_rps=${tps[insert]} baseline_p99_ms=${p99[insert]}" \
    "ratio=$r p99_ratio=$pr target=0.3 met=$(bench_met "$r" '>=' 0.3) p99_target=3 p99_met=$(bench_met "$pr" '<=' 3)"
