#!/usr/bin/env bash
# Benchmark: 1, 2 and 3 gateway processes on one PostgreSQL behind HAProxy.
#
#   workloads  over WP_BENCH_SCALING_CONNECTIONS (16) keep-alive connections:
#                create, 1 account   POST /api/v1/passes, the Solstice Coffee
#                                    body, one API key (one account, unlimited
#                                    plan), no plugins
#                create, N accounts  the same, each request with the next of
#                                    WP_BENCH_SCALING_ACCOUNTS (8) keys, one per
#                                    account (tests/bench/lib/wrk.lua,
#                                    WP_BENCH_KEYS_FILE)
#                download            GET pkpass_url (the capability URL) of one
#                                    pass, from each gateway's bundle cache
#                                    (apple-signer loaded; the warm-up fills it)
#   setups     the same gateway(s) each time, the rate limit off:
#                direct              one gateway, no HAProxy (the baseline)
#                HAProxy, G gateways G = 1 .. WP_BENCH_SCALING_GATEWAYS (3):
#                                    Debian's haproxy (installed when missing),
#                                    balance roundrobin, option httpchk GET
#                                    /readyz, keep-alive to the backends
#                                    (http-reuse always)
#   baselines  in the same run: nginx (nginx-light) serving the same bundle
#              as a file, directly and behind the same HAProxy (HAProxy's own
#              cost per request); pgbench -M extended inserting the same JSON
#              (tests/bench/passes_insert.pgbench, as passes_create) with as
#              many clients as wrk has connections, before and after the
#              gateways' create runs: what PostgreSQL does when nothing else
#              is in front of it.
#
# For every measured run the CPU time used over its wall time, in % of the
# whole machine (100 % = all CPUs busy): PostgreSQL (the postmaster and its
# children, from /proc/<pid>/stat; backends that exit during the run are
# counted through the postmaster's cutime/cstime), the gateways, HAProxy
# (and nginx), the client (wrk or pgbench, this script's children), interrupts
# and softirqs (/proc/stat: loopback TCP is handled there), and "other": the
# machine's remaining busy time, i.e. work that is not this benchmark's.  The figure: throughput with G gateways / with 1
# gateway behind HAProxy; no target (on a 2-CPU machine more processes than
# CPUs cannot add throughput to CPU-bound work).
# Run with scripts/bench scaling.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
source "$(dirname "$0")/lib/apple.sh"
CONNS=${WP_BENCH_SCALING_CONNECTIONS:-16}
NACCTS=${WP_BENCH_SCALING_ACCOUNTS:-8}
MAXGW=${WP_BENCH_SCALING_GATEWAYS:-3}
here=$(cd "$(dirname "$0")" && pwd)

load0=$(cut -d' ' -f1-3 /proc/loadavg)
wp_install_packages haproxy
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$HAPROXY" ] || wp_die "haproxy is missing (Debian: haproxy)"
pgbench=$( (wp_pg_bindir) 2>/dev/null)/pgbench || true
[ -x "$pgbench" ] || pgbench=$(command -v pgbench) || wp_die "pgbench not found (it comes with the postgresql package)"

db=$(bench_database walletpass_bench_scaling)
q() { psql "$db" -tAXc "$1"; }

# Ports: the gateways, HAProxy's two frontends (gateways, nginx); all distinct.
declare -A taken
free_port() {
    local p
    for _ in $(seq 1 20); do
        p=$(wp_free_port)
        [ -z "${taken[$p]:-}" ] && { taken[$p]=1; echo "$p"; return 0; }
    done
    wp_die "no free port"
}
gw_ports=()
for i in $(seq 1 "$MAXGW"); do p=$(free_port); taken[$p]=1; gw_ports+=("$p"); done
lb_port=$(free_port); taken[$lb_port]=1
lb_nginx_port=$(free_port); taken[$lb_nginx_port]=1
LB=http://127.0.0.1:$lb_port

# gw_config MODE I: the config file of gateway I (1-based) in MODE create (no
# plugins) or download (apple-signer).  Every gateway names HAProxy as its
# public URL: the pass's links are the same whichever gateway made them.
gw_config() {
    local mode=$1 i=$2 plugins='[]' cfg=$BENCH_TMP/walletpass-$1-$2.json
    [ "$mode" = download ] && plugins='[{ "name": "apple-signer" }]'
    cat >"$cfg" <<JSON
{
  "\$comment": "benchmark gateway $i of several on one database: keep-alive, the rate limit off",
  "server": { "listen_address": "127.0.0.1", "port": ${gw_ports[$((i - 1))]}, "keep_alive": true },
  "public_url": "$LB",
  "rate_limit": { "requests_per_second": 0 },
  "plugins": $plugins,
  "log_level": "warn"
}
JSON
    echo "$cfg"
}

GW_PIDS=()
gw_start() { # MODE I
    bench_gateway_start "$(gw_config "$1" "$2")" "$db" "${gw_ports[$(($2 - 1))]}"
    GW_PIDS+=("$BENCH_GW_PID")
    BENCH_GW_PID= # stopped by gw_stop_all
}
gw_stop_all() {
    local p
    for p in "${GW_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${GW_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    GW_PIDS=()
}

LB_PID=
# lb_start G: HAProxy with the first G gateways (and nginx, once started).
lb_start() {
    local g=$1 i dir=$BENCH_TMP/haproxy
    lb_stop
    mkdir -p "$dir"
    {
        cat <<CFG
global
    maxconn 4096
    log stderr format short local0 warning
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
frontend gateways
    bind 127.0.0.1:$lb_port
    default_backend gateways
backend gateways
    balance roundrobin
    option httpchk GET /readyz
    http-reuse always
CFG
        for i in $(seq 1 "$g"); do
            echo "    server gw$i 127.0.0.1:${gw_ports[$((i - 1))]} check inter 1s fall 3 rise 1"
        done
        if [ -n "${nginx_port:-}" ]; then
            cat <<CFG
frontend nginx
    bind 127.0.0.1:$lb_nginx_port
    default_backend nginx
backend nginx
    http-reuse always
    server ng 127.0.0.1:$nginx_port
CFG
        fi
    } >"$dir/haproxy.cfg"
    "$HAPROXY" -c -q -f "$dir/haproxy.cfg" || wp_die "haproxy refuses its configuration ($dir/haproxy.cfg)"
    "$HAPROXY" -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
    LB_PID=$!
    # every backend must have answered its check: G answers in a row through HAProxy
    local ok=0
    for _ in $(seq 1 100); do
        if curl -fsS -o /dev/null "$LB/readyz" 2>/dev/null; then ok=$((ok + 1)); else ok=0; fi
        [ "$ok" -ge $((2 * g)) ] && return 0
        kill -0 "$LB_PID" 2>/dev/null || { cat "$dir/haproxy.log" >&2; wp_die "haproxy exited"; }
        sleep 0.1
    done
    cat "$dir/haproxy.log" >&2
    wp_die "HAProxy did not pass requests to its $g gateways"
}
lb_stop() {
    [ -n "$LB_PID" ] || return 0
    kill -TERM "$LB_PID" 2>/dev/null || true
    wait "$LB_PID" 2>/dev/null || true
    LB_PID=
}
# Every exit path of lib/bench.sh and lib/apple.sh (their traps call
# bench_cleanup) also stops HAProxy and all the gateways.
bench_cleanup() {
    lb_stop
    gw_stop_all
    bench_gateway_stop || true
    rm -rf "$BENCH_TMP"
}
trap 'bench_nginx_stop; bench_cleanup' EXIT

# ---- CPU accounting -----------------------------------------------------------------------------
TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
PG_PM=$(head -n 1 "$(q "SHOW data_directory")/postmaster.pid")
[ -d "/proc/$PG_PM" ] || wp_die "no postmaster process $PG_PM"
# stat_ticks yes|no PID...: utime+stime of the PIDs (gone ones count 0); with
# "yes", plus the reaped children's time of the first (cutime+cstime).
stat_ticks() {
    local with=$1 p paths=()
    shift
    for p in "$@"; do paths+=("/proc/$p/stat"); done
    [ ${#paths[@]} -gt 0 ] || { echo 0; return; }
    # after "comm) ": field 1 is the state; utime 12, stime 13, cutime 14, cstime 15
    cat "${paths[@]}" 2>/dev/null | awk -v c="$with" '{ sub(/^.*\) /, ""); split($0, f, " ")
        s += f[12] + f[13]; if (NR == 1 && c == "yes") s += f[14] + f[15] } END { print s + 0 }'
}
lb_pids() { # HAProxy, and nginx's master and workers while it runs
    [ -n "$LB_PID" ] && echo "$LB_PID"
    if [ -n "${BENCH_NGINX_DIR:-}" ] && [ -f "$BENCH_NGINX_DIR/nginx.pid" ]; then
        local m
        m=$(cat "$BENCH_NGINX_DIR/nginx.pid")
        echo "$m"
        pgrep -P "$m" || true
    fi
}
# CLIENT_TICKS: this shell's reaped children (wrk, pgbench and the odd curl) so
# far; `times` runs in this shell, not in a $(...) subshell, which has its own.
client_ticks() {
    times >"$BENCH_TMP/times"
    CLIENT_TICKS=$(awk -v t="$TCK" 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
        printf "%.0f\n", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * t }' "$BENCH_TMP/times")
}
# cpu_sample: S_T (seconds) and, in ticks, S_PG (the postmaster, its children
# and its reaped children), S_GW, S_LB, S_CL (client), S_BUSY (the machine's
# time in processes: user, nice, system, steal) and S_IRQ (irq and softirq:
# loopback TCP is handled there, charged to no process).  An exited backend
# not yet reaped (a zombie) shows no time of its own and none in the
# postmaster's cutime yet: wait (2 s at most) until there is none.  The
# counters are read together, right after the clock.
cpu_sample() {
    local kids lbp
    for _ in $(seq 1 40); do
        pgrep -r Z -P "$PG_PM" >/dev/null || break
        sleep 0.05
    done
    mapfile -t kids < <(pgrep -P "$PG_PM")
    mapfile -t lbp < <(lb_pids)
    S_T=$(date +%s.%N)
    read -r S_BUSY S_IRQ < <(awk '/^cpu / { print $2 + $3 + $4 + $9, $7 + $8; exit }' /proc/stat)
    S_PG=$(stat_ticks yes "$PG_PM" "${kids[@]}")
    S_GW=$(stat_ticks no "${GW_PIDS[@]}")
    S_LB=$(stat_ticks no "${lbp[@]}")
    client_ticks
    S_CL=$CLIENT_TICKS
}
cpu_snap() {
    cpu_sample
    CPU0_T=$S_T CPU0_PG=$S_PG CPU0_GW=$S_GW CPU0_LB=$S_LB CPU0_CL=$S_CL CPU0_BUSY=$S_BUSY CPU0_IRQ=$S_IRQ
}
declare -A pg gwcpu lbcpu clcpu irq other
cpu_done() { # NAME: the shares since cpu_snap, in % of all CPUs
    local n=$1 span dpg dgw dlb dcl dbusy
    cpu_sample
    dpg=$((S_PG - CPU0_PG)) dgw=$((S_GW - CPU0_GW)) dlb=$((S_LB - CPU0_LB)) dcl=$((S_CL - CPU0_CL))
    dbusy=$((S_BUSY - CPU0_BUSY))
    span=$(awk -v a="$CPU0_T" -v b="$S_T" -v t="$TCK" -v c="$NCPU" 'BEGIN { print (b - a) * t * c }')
    # a share below zero is a miss of the accounting (a process gone between the
    # samples without being counted): "?" rather than a figure
    pct() { awk -v x="$1" -v s="$span" 'BEGIN { v = 100 * x / s; if (v < -0.5) print "?"; else printf "%.0f", v < 0 ? 0 : v }'; }
    pg[$n]=$(pct "$dpg") gwcpu[$n]=$(pct "$dgw") lbcpu[$n]=$(pct "$dlb") clcpu[$n]=$(pct "$dcl")
    irq[$n]=$(pct $((S_IRQ - CPU0_IRQ))) other[$n]=$(pct $((dbusy - dpg - dgw - dlb - dcl)))
}

declare -A rps p50 p99 spread
# measure NAME URL [wrk options]: warm-up, then the measured run under cpu_snap/cpu_done;
# spread[NAME]: the share of the run's requests each gateway answered (from its /metrics).
measure() {
    local name=$1 url=$2; shift 2
    wp_say "$name: $url"
    if [ "$WP_BENCH_WARMUP" != 0 ]; then
        local warm=$WP_BENCH_WARMUP
        WP_BENCH_CONNECTIONS=$CONNS WP_BENCH_DURATION=$warm WP_BENCH_WARMUP=0 bench_wrk "$url" "$@"
    fi
    local before=() after=() p i
    for p in "${GW_PIDS[@]}"; do before+=("$(gw_requests "$p")"); done
    cpu_snap
    WP_BENCH_CONNECTIONS=$CONNS WP_BENCH_WARMUP=0 bench_wrk "$url" "$@"
    cpu_done "$name"
    rps[$name]=$BENCH_RPS p50[$name]=$BENCH_P50_MS p99[$name]=$BENCH_P99_MS
    for p in "${GW_PIDS[@]}"; do after+=("$(gw_requests "$p")"); done
    spread[$name]=
    for i in "${!after[@]}"; do
        spread[$name]+="${spread[$name]:+/}$(awk -v a="${after[$i]}" -v b="${before[$i]}" -v n="$BENCH_REQUESTS" \
            'BEGIN { printf "%.0f", n ? 100 * (a - b) / n : 0 }')"
    done
}
# gw_requests PID: the requests that gateway counted (walletpass_http_requests_total), all routes
declare -A GW_PORT_OF
gw_requests() {
    curl -fsS "http://127.0.0.1:${GW_PORT_OF[$1]}/metrics" 2>/dev/null \
        | awk '/^walletpass_http_requests_total\{/ { n += $NF } END { printf "%.0f\n", n }'
}
gw_start_n() { # MODE I: gw_start and remember the port of the new process
    gw_start "$1" "$2"
    GW_PORT_OF[${GW_PIDS[-1]}]=${gw_ports[$(($2 - 1))]}
}

# ---- accounts -----------------------------------------------------------------------------------
cli_cfg=$(gw_config create 1)
new_account() { # EMAIL: prints "ACCOUNT KEY"
    local a k
    a=$(WALLETPASS_CONFIG=$cli_cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" account create \
        --name "Bench" --email "$1" --plan unlimited)
    k=$(WALLETPASS_CONFIG=$cli_cfg WALLETPASS_DATABASE_URL=$db "$WP_BENCH_BIN" key create --account "$a")
    echo "$a $k"
}
read -r acct_one key_one <<<"$(new_account bench-scaling-one@example.com)"
[ -n "${key_one:-}" ] || wp_die "the benchmark's account or key was not created"
keys=$BENCH_TMP/keys.txt
: >"$keys"
for i in $(seq 1 "$NACCTS"); do
    read -r _ k <<<"$(new_account "bench-scaling-$i@example.com")"
    echo "$k" >>"$keys"
done
body=$BENCH_TMP/solstice.json
printf '%s\n' "$BENCH_SOLSTICE" >"$body"

vacuum() { psql "$db" -qc "VACUUM (ANALYZE) passes, events, usage_counters, jobs"; }

# ---- pgbench: the same INSERT as passes_create's baseline --------------------------------------
sync_commit=$(q "SHOW synchronous_commit")
fsync=$(q "SHOW fsync")
pgvars=()
pgbench_insert() { # NAME
    local name=$1 dir=$BENCH_TMP/pgbench-$1 out
    mkdir -p "$dir"; out=$dir/out.txt
    vacuum
    if [ "$WP_BENCH_WARMUP" != 0 ]; then
        PGOPTIONS="-c synchronous_commit=$sync_commit" "$pgbench" -n -M extended -c "$CONNS" -j "$WP_BENCH_THREADS" \
            -T "$WP_BENCH_WARMUP" -f "$here/passes_insert.pgbench" "${pgvars[@]}" "$db" >/dev/null 2>&1 || true
    fi
    wp_say "$name: pgbench insert, $CONNS clients"
    cpu_snap
    (cd "$dir" && PGOPTIONS="-c synchronous_commit=$sync_commit" "$pgbench" -n -M extended -c "$CONNS" \
        -j "$WP_BENCH_THREADS" -T "$WP_BENCH_DURATION" -l --log-prefix=tx -f "$here/passes_insert.pgbench" \
        "${pgvars[@]}" "$db") >"$out" 2>&1 || { cat "$out" >&2; wp_die "pgbench failed"; }
    cpu_done "$name"
    rps[$name]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | awk '{ printf "%.0f", $1 }')
    [ -n "${rps[$name]}" ] || { cat "$out" >&2; wp_die "pgbench printed no tps"; }
    local pct
    pct=$(cat "$dir"/tx.* | awk '{ print $3 }' | sort -n | awk '{ v[NR] = $1 }
        END { i50 = int(NR * 0.50); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
              printf "%.2f %.2f", v[i50] / 1000, v[i99] / 1000 }')
    p50[$name]=${pct% *} p99[$name]=${pct#* } spread[$name]=
}

# ---- creates ------------------------------------------------------------------------------------
wp_say "creates: direct, then HAProxy with 1 .. $MAXGW gateways (no plugins)"
gw_start_n create 1
d1_url=http://127.0.0.1:${gw_ports[0]}
first=$BENCH_TMP/first.json
code=$(curl -sS -o "$first" -w '%{http_code}' -H "Authorization: Bearer $key_one" -H 'Content-Type: application/json' \
    --data-binary "@$body" "$d1_url/api/v1/passes")
[ "$code" = 201 ] || { cat "$first" >&2; wp_die "POST /api/v1/passes answered $code, not 201"; }
pass_id=$(bench_json id <"$first")
pgvars=(-D "account=$acct_one" -D "body=$(q "SELECT body::text FROM passes WHERE id = '$pass_id'")"
    -D "overrides=$(q "SELECT overrides::text FROM passes WHERE id = '$pass_id'")")

pgbench_insert pgbench_1
passes0=$(q "SELECT count(*) FROM passes")
create_runs() { # SETUP URL
    vacuum
    WP_BENCH_KEY=$key_one WP_BENCH_BODY_FILE=$body measure "one,$1" "$2/api/v1/passes"
    vacuum
    WP_BENCH_KEYS_FILE=$keys WP_BENCH_BODY_FILE=$body measure "many,$1" "$2/api/v1/passes"
}
create_runs direct "$d1_url"
for g in $(seq 1 "$MAXGW"); do
    [ "$g" -gt 1 ] && gw_start_n create "$g"
    lb_start "$g"
    create_runs "lb$g" "$LB"
done
lb_stop
gw_stop_all
created=$(( $(q "SELECT count(*) FROM passes") - passes0 ))
events=$(q "SELECT count(*) FROM events WHERE type = 'pass.created'")
pgbench_insert pgbench_2
rps[pgbench]=$(bench_avg "${rps[pgbench_1]}" "${rps[pgbench_2]}")
p50[pgbench]=$(bench_avg "${p50[pgbench_1]}" "${p50[pgbench_2]}" 2)
p99[pgbench]=$(bench_avg "${p99[pgbench_1]}" "${p99[pgbench_2]}" 2)

# ---- downloads ----------------------------------------------------------------------------------
wp_say "downloads: apple-signer on every gateway"
bench_apple_pki "$BENCH_TMP/pki"
read -r BENCH_ACCT BENCH_KEY <<<"$(new_account bench-scaling-apple@example.com)"
gw_start_n download 1
BENCH_URL=$d1_url
bench_apple_upload "$BENCH_TMP/pki"
bench_apple_pass
cap_path=/${BENCH_PKPASS_URL#http*://*/}
www=$BENCH_TMP/www
mkdir -p "$www"
curl -fsS -o "$www/pass.pkpass" "$d1_url$cap_path" || wp_die "GET pkpass_url failed"
bytes=$(wc -c <"$www/pass.pkpass")
bench_nginx_start "$www"
nginx_port=${BENCH_NGINX##*:}
cmp -s "$www/pass.pkpass" <(curl -fsS "$BENCH_NGINX/pass.pkpass") || wp_die "nginx does not serve the bundle"

measure "dl,direct" "$d1_url$cap_path"
for g in $(seq 1 "$MAXGW"); do
    [ "$g" -gt 1 ] && gw_start_n download "$g"
    lb_start "$g"
    if [ "$g" = 1 ]; then
        cmp -s "$www/pass.pkpass" <(curl -fsS "http://127.0.0.1:$lb_nginx_port/pass.pkpass") \
            || wp_die "HAProxy does not pass nginx's bundle on"
        saved=("${GW_PIDS[@]}"); GW_PIDS=() # nginx alone: no gateway in the spread
        measure "dl,nginx" "$BENCH_NGINX/pass.pkpass"
        measure "dl,lbnginx" "http://127.0.0.1:$lb_nginx_port/pass.pkpass"
        GW_PIDS=("${saved[@]}")
    fi
    measure "dl,lb$g" "$LB$cap_path"
done
lb_stop
gw_stop_all
bench_nginx_stop

# ---- the table ----------------------------------------------------------------------------------
echo
echo "scaling: wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p'), $("$HAPROXY" -v | sed -n '1s/^\(HAProxy version [^ ]*\).*/\1/p')," \
    "PostgreSQL $("$pgbench" --version | awk '{ print $3 }'), ${WP_BENCH_DURATION} s per run (after ${WP_BENCH_WARMUP} s warm-up)," \
    "$WP_BENCH_THREADS wrk threads, $CONNS connections (pgbench: clients), keep-alive, 127.0.0.1," \
    "$NCPU CPUs shared by everything (and by any other work on the machine: load average $load0 at the start," \
    "$(cut -d' ' -f1-3 /proc/loadavg) at the end)"
echo "creates: the Solstice body, no plugins, unlimited plan, rate limit off; N accounts = $NACCTS keys in turn;" \
    "download: GET pkpass_url, ${bytes}-byte bundle from the bundle cache (apple-signer);" \
    "synchronous_commit=$sync_commit, fsync=$fsync"
echo "CPU columns: % of all $NCPU CPUs over the measured run; lb = HAProxy (and nginx); client = wrk or pgbench;" \
    "irq = interrupts and softirqs (loopback TCP, charged to no process); other = the machine's remaining busy time" \
    "(other work on the machine); per gw: the share of the run's requests each gateway answered (/metrics)"
echo
tab() { printf '%-20s %-22s %9s %8s %8s %6s %5s %5s %5s %7s %5s %6s  %s\n' "$@"; }
tab workload setup "per s" "p50 ms" "p99 ms" "x 1gw" "PG%" "gw%" "lb%" client% irq% other% "per gw %"
row() { # WORKLOAD SETUP NAME BASE
    local x=""
    [ -n "$4" ] && x=$(bench_ratio "${rps[$3]}" "${rps[$4]}")
    tab "$1" "$2" "${rps[$3]}" "${p50[$3]}" "${p99[$3]}" "$x" "${pg[$3]}" "${gwcpu[$3]}" "${lbcpu[$3]}" \
        "${clcpu[$3]}" "${irq[$3]}" "${other[$3]}" "${spread[$3]:-}"
}
for w in one many dl; do
    case $w in one) label="create, 1 account" ;; many) label="create, $NACCTS accounts" ;; dl) label="download (cached)" ;; esac
    row "$label" "direct, 1 gateway" "$w,direct" "$w,lb1"
    for g in $(seq 1 "$MAXGW"); do row "$label" "HAProxy, $g gateway$([ "$g" -gt 1 ] && echo s)" "$w,lb$g" "$w,lb1"; done
    if [ $w = dl ]; then
        row "$label" "nginx, static file" "dl,nginx" ""
        row "$label" "HAProxy, nginx" "dl,lbnginx" "dl,nginx"
    fi
done
row "pgbench insert" "before the creates" pgbench_1 ""
row "pgbench insert" "after the creates" pgbench_2 ""
echo
echo "passes created through the gateways: $created (pass.created events: $events, the first pass included)"
echo "x 1gw: per second / HAProxy with 1 gateway; for HAProxy, nginx: / nginx directly (HAProxy's own cost)"
echo
for w in one many dl; do
    line="RESULT scaling.$w direct_rps=${rps[$w,direct]}"
    for g in $(seq 1 "$MAXGW"); do
        line+=" gw${g}_rps=${rps[$w,lb$g]} gw${g}_p99_ms=${p99[$w,lb$g]} gw${g}_ratio=$(bench_ratio "${rps[$w,lb$g]}" "${rps[$w,lb1]}")"
        line+=" gw${g}_pg_pct=${pg[$w,lb$g]} gw${g}_other_pct=${other[$w,lb$g]}"
    done
    echo "$line"
done
echo "RESULT scaling.haproxy nginx_rps=${rps[dl,nginx]} haproxy_nginx_rps=${rps[dl,lbnginx]}" \
    "ratio=$(bench_ratio "${rps[dl,lbnginx]}" "${rps[dl,nginx]}") p99_ms=${p99[dl,lbnginx]} nginx_p99_ms=${p99[dl,nginx]}"
echo "RESULT scaling.pgbench_insert rps=${rps[pgbench]} p99_ms=${p99[pgbench]} pg_pct=$(bench_avg "${pg[pgbench_1]}" "${pg[pgbench_2]}")" \
    "before_rps=${rps[pgbench_1]} after_rps=${rps[pgbench_2]}"
