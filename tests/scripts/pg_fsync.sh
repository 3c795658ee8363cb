#!/usr/bin/env bash
# scripts_pg_fsync: the embedded PostgreSQL of scripts/run keeps fsync on,
# so committed passes survive a power cut; only test and benchmark clusters
# turn it off.  Starts a throwaway cluster with wp_pg_start (scripts/lib/common.sh)
# the way scripts/run does, and asks the server itself.
set -euo pipefail
src=${1:?usage: pg_fsync.sh SOURCE_DIR}
source "$src/scripts/lib/common.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. scripts/run starts its cluster without asking for fsync off.
calls=$(grep -E '^[^#]*wp_pg_start' "$src/scripts/run") || fail "scripts/run no longer calls wp_pg_start; update this test"
if grep -Eq '(^|[^[:alnum:]_])off([^[:alnum:]_]|$)|fsync' <<<"$calls"; then
    fail "scripts/run starts its PostgreSQL with fsync off: $calls"
fi

# 2. wp_pg_start as scripts/run calls it (no FSYNC argument) runs the server with fsync on,
#    turns it off only when asked, and restarts a running cluster whose setting differs.
tmp=$(mktemp -d)
chmod 755 "$tmp"   # the postgres user must reach it when this runs as root
dir=$tmp/pg
cleanup() { wp_pg_stop "$dir"; rm -rf "$(wp_pg_dir_for "$dir")" "$tmp"; }
trap cleanup EXIT
port=$(wp_free_port)
show() { psql "$1" -tAc "SHOW $2"; }

url=$(wp_pg_start "$dir" "$port")
[ "$(show "$url" fsync)" = on ] || fail "wp_pg_start DIR PORT: fsync is $(show "$url" fsync), expected on"
[ "$(show "$url" synchronous_commit)" = on ] || fail "synchronous_commit is not on"
url=$(wp_pg_start "$dir" "$port" off)
[ "$(show "$url" fsync)" = off ] || fail "wp_pg_start DIR PORT off: fsync is $(show "$url" fsync), expected off"
url=$(wp_pg_start "$dir" "$port")
[ "$(show "$url" fsync)" = on ] || fail "a running cluster with fsync off was not restarted with fsync on"
echo "ok: scripts/run's cluster runs with fsync on"
