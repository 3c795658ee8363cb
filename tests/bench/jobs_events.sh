#!/usr/bin/env bash
# Benchmark: the job queue and the event bus (core/src/store/jobs.h, events.h).
#
#   events    publish -> subscriber latency: events published one by one with
#             wp_events_publish (each its own transaction) at a fixed rate,
#             timestamped on entry to the subscriber's handler in another
#             process; median, p90, p99, max
#   jobs      jobs/s through the queue: N no-op jobs enqueued in one
#             transaction, worked by TWO processes (jobs.workers threads
#             each, the other "jobs" settings at their defaults); the clock
#             runs from the COMMIT until the table shows all N done
#   baseline  the raw INSERT+DELETE rate of the same `jobs` table, measured
#             with pgbench (tests/bench/jobs_insert_delete.pgbench) on the
#             same database in the same run, with as many clients as the
#             two processes have worker threads; once before and once after
#             the queue's runs (the machine's load drifts), averaged
#
# The ratio baseline/jobs is how many bare insert+delete pairs the database
# does in the time the queue moves one job through enqueue, claim and
# completion.  tests/bench/jobs_events_bench.c drives the C API.
# Run with scripts/bench jobs_events.
# Environment: WP_BENCH_EVENTS (1000), WP_BENCH_EVENT_RATE (per second, 200),
# WP_BENCH_JOBS (10000), WP_BENCH_JOB_WORKERS (threads per process, 4), and
# WP_BENCH_DURATION / WP_BENCH_WARMUP for the pgbench runs.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"

events=${WP_BENCH_EVENTS:-1000}
rate=${WP_BENCH_EVENT_RATE:-200}
jobs=${WP_BENCH_JOBS:-10000}
workers=${WP_BENCH_JOB_WORKERS:-4}
prog=$(dirname "$WP_BENCH_BIN")/../tests/bench/jobs_events_bench
[ -x "$prog" ] || wp_die "$prog is missing: build the tree (tests/bench/CMakeLists.txt builds it)"
pgbench=$( (wp_pg_bindir) 2>/dev/null)/pgbench || true
[ -x "$pgbench" ] || pgbench=$(command -v pgbench) || wp_die "pgbench not found (it comes with the postgresql package)"
script=$(cd "$(dirname "$0")" && pwd)/jobs_insert_delete.pgbench

db=$(bench_database walletpass_bench_jobs)
cfg=$BENCH_TMP/walletpass.json
echo '{ "log_level": "warn" }' >"$cfg"
# account create applies the migrations; events belong to an account
acct=$(WALLETPASS_CONFIG=$cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
    --name "Bench" --email bench@example.com --plan unlimited)

# pgbench_run SECONDS: one run of the script; sets PGB_TPS and PGB_LAT_MS.
pgbench_run() {
    local out=$BENCH_TMP/pgbench-$RANDOM.txt
    "$pgbench" -n -M prepared -c "$((2 * workers))" -j 2 -T "$1" -f "$script" "$db" >"$out" 2>&1 \
        || { cat "$out" >&2; wp_die "pgbench failed"; }
    PGB_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | awk '{ printf "%.0f", $1 }')
    PGB_LAT_MS=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out")
    local failed
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
    [ -n "$PGB_TPS" ] && [ "${failed:-0}" -eq 0 ] || { cat "$out" >&2; wp_die "pgbench: no tps, or failed transactions"; }
}

# baseline SECONDS: a pgbench run on a freshly vacuumed jobs table; sets PGB_TPS.
# pgbench leaves dead rows in the claim index (every row it inserted was
# 'queued') and the queue leaves dead versions of every job it moved: each
# side starts from a clean table so that neither pays for the other.
baseline() {
    psql "$db" -qc "VACUUM (ANALYZE) jobs"
    pgbench_run "$1"
    local leftover
    leftover=$(psql "$db" -tAc "SELECT count(*) FROM jobs WHERE kind = 'bench.pgbench'")
    [ "$leftover" -eq 0 ] || wp_die "pgbench left $leftover rows in jobs"
    psql "$db" -qc "VACUUM (ANALYZE) jobs"
}

wp_say "baseline (before): pgbench INSERT+DELETE on jobs, $((2 * workers)) clients"
[ "$WP_BENCH_WARMUP" != 0 ] && pgbench_run "$WP_BENCH_WARMUP"
baseline "$WP_BENCH_DURATION"
tps_before=$PGB_TPS lat_before=$PGB_LAT_MS

wp_say "events ($events at $rate/s) and jobs ($jobs, 2 processes x $workers workers)"
out=$BENCH_TMP/jobs_events.txt
"$prog" --db "$db" --account "$acct" --events "$events" --rate "$rate" --jobs "$jobs" --workers "$workers" \
    --timeout 120 >"$out" || { cat "$out" >&2; wp_die "jobs_events_bench failed"; }
declare -A E J
for kv in $(sed -n 's/^WPBENCH events //p' "$out"); do E[${kv%%=*}]=${kv#*=}; done
for kv in $(sed -n 's/^WPBENCH jobs //p' "$out"); do J[${kv%%=*}]=${kv#*=}; done
[ -n "${E[p50_us]:-}" ] && [ -n "${J[jobs_per_s]:-}" ] || { cat "$out" >&2; wp_die "jobs_events_bench printed no figures"; }

wp_say "baseline (after)"
baseline "$WP_BENCH_DURATION"
tps_after=$PGB_TPS lat_after=$PGB_LAT_MS
tps=$(( (tps_before + tps_after) / 2 ))

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
# every job ran, none twice (the runs counted by the handlers equal the jobs)
[ "${J[runs]}" -eq "$jobs" ] || echo "WARNING: $jobs jobs, ${J[runs]} handler runs"

echo
echo "jobs_events: PostgreSQL $("$pgbench" --version | awk '{ print $3 }'), 127.0.0.1, $(nproc) CPUs shared by" \
    "the benchmark, its two worker processes and PostgreSQL"
echo
echo "event publish -> subscriber (${events} events at ${rate}/s, achieved ${E[achieved_rate]}/s, open loop):"
printf '  %-34s %9s %9s %9s %9s\n' "" "p50 ms" "p90 ms" "p99 ms" "max ms"
printf '  %-34s %9s %9s %9s %9s\n' "publish -> handler entry" "$(ms "${E[p50_us]}")" "$(ms "${E[p90_us]}")" \
    "$(ms "${E[p99_us]}")" "$(ms "${E[max_us]}")"
printf '  %-34s %9s %9s %9s %9s\n' "of which the publish call (commit)" "$(ms "${E[publish_p50_us]}")" "" \
    "$(ms "${E[publish_p99_us]}")" ""
echo "  deliveries by process: ${E[by_process]}; duplicates: ${E[duplicates]}"
echo
echo "job queue vs raw table ($jobs no-op jobs, 2 processes x $workers workers; pgbench $((2 * workers)) clients," \
    "${WP_BENCH_DURATION} s before and after):"
printf '  %-44s %12s\n' "" "per second"
printf '  %-44s %12s\n' "pgbench INSERT+DELETE on jobs (baseline)" "$tps"
printf '  %-44s %12s\n' "  before / after the queue's runs" "$tps_before / $tps_after"
printf '  %-44s %12s\n' "jobs through the queue (commit -> all done)" "${J[jobs_per_s]}"
printf '  %-44s %12s\n' "enqueue (one transaction, one connection)" "${J[enqueue_per_s]}"
echo "  jobs by process: ${J[by_process]}; drained in ${J[seconds]} s;" \
    "pgbench latency average $lat_before / $lat_after ms"
echo
echo "ratio: baseline/jobs $(bench_ratio "$tps" "${J[jobs_per_s]}" 1)" \
    "(INSERT+DELETE pairs per second for each job per second)"
