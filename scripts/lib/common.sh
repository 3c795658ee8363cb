# Shared by scripts/run, scripts/test and scripts/bench: packages, build, PostgreSQL.
# Sourced, not run.  Functions are prefixed wp_.

WP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian packages the gateway needs to build and run.
WP_PACKAGES=(build-essential cmake pkg-config git
    libssl-dev libpq-dev libjson-c-dev libcurl4-openssl-dev libzip-dev
    libcmocka-dev libqrencode-dev postgresql postgresql-contrib openssl curl ca-certificates unzip)

# What only the test suites need: a browser for the share page and the dashboard (integration_share,
# integration_dashboard), a QR reader, valgrind (integration_valgrind_cycle: a start/serve/stop
# cycle of the release build, no leak), HAProxy (integration_scaleout: three gateways behind one
# balancer) and PgBouncer (integration_pgbouncer: the gateway through a transaction-pooling pooler).
WP_TEST_PACKAGES=(chromium zbar-tools valgrind haproxy pgbouncer)

# The fuzzing build (scripts/test, scripts/fuzz): clang and its libFuzzer
# runtime (-fsanitize=fuzzer; on Debian 12 in libclang-rt-14-dev).
WP_FUZZ_PACKAGES=(clang libclang-rt-14-dev)

wp_say() { printf '==> %s\n' "$*" >&2; }
wp_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

wp_sudo() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        wp_die "need root to run: $* (install the packages by hand or run as root)"; fi
}

# Installs whichever of the given packages are missing (apt-get update first).
wp_install_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || wp_die "missing packages (${missing[*]}) and no apt-get to install them"
    wp_say "installing: ${missing[*]}"
    wp_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    wp_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

wp_install_deps() {
    wp_install_packages "${WP_PACKAGES[@]}"
    if ! command -v node >/dev/null; then wp_install_packages nodejs npm; fi
}

# wp_build DIR [cmake args...]: configure (once) and build.
wp_build() {
    local dir=$1; shift
    wp_say "building in ${dir#$WP_ROOT/}"
    cmake -S "$WP_ROOT" -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)" >&2
}

wp_pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || wp_die "PostgreSQL server binaries not found under /usr/lib/postgresql"
    echo "$d"
}

# Runs a PostgreSQL server binary as an unprivileged user: initdb refuses root.
wp_pg_as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The cluster directory must be reachable by the postgres user; a checkout
# under /root is not, so such clusters live under /var/tmp instead.
wp_pg_dir_for() {
    local want=$1
    mkdir -p "$want"
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$want" 2>/dev/null; then
        want=/var/tmp/walletpass-pg-$(echo "$want" | sha256sum | cut -c1-12)
        mkdir -p "$want"
    fi
    echo "$want"
}

# wp_pg_start DIR PORT [FSYNC]: initialises (first time) and starts a private
# cluster listening on 127.0.0.1:PORT only.  Prints the superuser URL.
# FSYNC is on (the default: committed data survives a power cut, which the
# embedded database of scripts/run must) or off (test and benchmark clusters,
# whose data is thrown away: faster).  A cluster already running with the
# other setting is restarted with this one.
wp_pg_start() {
    local dir port bin fsync=${3:-on}
    case $fsync in on|off) ;; *) wp_die "wp_pg_start: FSYNC must be on or off, got \"$fsync\"" ;; esac
    dir=$(wp_pg_dir_for "$1"); port=$2; bin=$(wp_pg_bindir)
    local data=$dir/data sock=$dir/sock log=$dir/postgres.log pwfile=$dir/password
    if [ ! -f "$data/PG_VERSION" ]; then
        wp_say "initialising PostgreSQL cluster in $data"
        rm -rf "$data"; mkdir -p "$data" "$sock"
        [ -f "$pwfile" ] || (umask 077; openssl rand -hex 24 > "$pwfile")
        [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
        wp_pg_as "$bin/initdb" -D "$data" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" \
            -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; wp_die "initdb failed"; }
    fi
    mkdir -p "$sock"; touch "$log"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir" "$sock" "$log"
    if wp_pg_as "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        port=$(sed -n 4p "$data/postmaster.pid")   # already running: keep its port
        local running
        running=$(psql "postgresql://postgres:$(cat "$pwfile")@127.0.0.1:$port/postgres" -tAc 'SHOW fsync' 2>/dev/null || true)
        if [ "$running" != "$fsync" ]; then
            wp_say "restarting the PostgreSQL cluster in $data with fsync=$fsync"
            wp_pg_as "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        fi
    fi
    if ! wp_pg_as "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        wp_pg_as "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
            -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=$fsync" start >/dev/null \
            || { tail -n 20 "$log" >&2; wp_die "PostgreSQL did not start (log: $log)"; }
    fi
    echo "postgresql://postgres:$(cat "$pwfile")@127.0.0.1:$port/postgres"
}

wp_pg_stop() {
    local dir bin
    dir=$(wp_pg_dir_for "$1"); bin=$(wp_pg_bindir)
    [ -f "$dir/data/PG_VERSION" ] && wp_pg_as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# wp_pg_ensure_db ADMIN_URL NAME: creates database NAME when absent.  Prints its URL.
wp_pg_ensure_db() {
    local admin=$1 name=$2
    if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        psql "$admin" -qc "CREATE DATABASE \"$name\"" >/dev/null
    fi
    echo "${admin%/*}/$name"
}

# Configures and builds build-fuzz/ (tests/fuzz) with clang; SECONDS: each ctest fuzz_<name> entry's budget.
wp_build_fuzz() {
    wp_install_packages "${WP_FUZZ_PACKAGES[@]}"
    CC=clang wp_build "$WP_ROOT/build-fuzz" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DWP_FUZZ=ON \
        -DWP_BUILD_TESTS=OFF -DWP_FUZZ_SECONDS="${1:-10}"
}

# A free TCP port on loopback.
wp_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
        || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
