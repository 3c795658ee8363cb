#!/usr/bin/env bash
# package_deb: the .deb as a user gets it.  CPack builds it from this build
# directory; dpkg-deb checks its control data and contents; dpkg -x unpacks it
# into a scratch root, where the installed binary, with the installed
# configuration, plugins and migrations, migrates a fresh database in the test
# cluster, serves and answers GET /readyz; a plugin is built out of tree with
# find_package(WalletPass) against the installed SDK and served too.
#   package_deb.sh SOURCE_DIR BUILD_DIR CPACK
# Needs WP_TEST_PG_ADMIN_URL (scripts/test).  Exit 77 (skipped) in a sanitizer
# build: what ships is the release build.
set -euo pipefail
src=$1 build=$2 cpack=$3
fail() { echo "package_deb: FAIL: $*" >&2; exit 1; }
if grep -qE '^WP_SANITIZE:STRING=(ON|on|address|thread)$' "$build/CMakeCache.txt"; then
    echo "package_deb: skipped in a sanitizer build"; exit 77
fi
[ -n "${WP_TEST_PG_ADMIN_URL:-}" ] || fail "WP_TEST_PG_ADMIN_URL is not set (run through scripts/test)"
for t in dpkg-deb curl psql python3; do command -v $t >/dev/null || fail "$t is missing"; done

work=$(mktemp -d /tmp/wp-package-deb.XXXXXX)
db=wp_pkg_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    psql "$WP_TEST_PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# ---- build the package (the build tree is already built: CPack's install step only copies)
(cd "$build" && "$cpack" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack"; }
deb=$(ls "$work"/out/walletpass_*.deb 2>/dev/null | head -n 1)
[ -f "$deb" ] || fail "no walletpass_*.deb in $work/out"

# ---- control data
info=$(dpkg-deb --info "$deb")
for want in 'Package: walletpass' 'Architecture: ' 'Depends: .*libpq5' 'Depends: .*libjson-c' 'Depends: .*libssl3' \
            'Depends: .*libcurl' 'Depends: .*libzip' ' conffiles'; do
    grep -qE "$want" <<<"$info" || fail "dpkg-deb --info lacks /$want/: $info"
done
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/walletpass/walletpass.json ] ||
    fail "conffiles is not /etc/walletpass/walletpass.json"

# ---- contents
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/bin/walletpass ./usr/lib/walletpass/plugins/webhooks.so \
         ./usr/lib/walletpass/plugins/webhooks/migrations/0001_webhooks.sql \
         ./usr/lib/walletpass/plugins/apple-signer.so ./usr/lib/walletpass/plugins/google-jwt.so \
         ./usr/share/walletpass/migrations/0001_core.sql ./usr/include/walletpass/plugin.h \
         ./usr/include/walletpass/plugin_config.h ./usr/share/cmake/WalletPass/WalletPassConfig.cmake \
         ./usr/share/cmake/WalletpassPlugin/WalletpassPluginConfig.cmake ./usr/share/pkgconfig/walletpass-plugin.pc \
         ./usr/lib/systemd/system/walletpass.service ./etc/walletpass/walletpass.json \
         ./usr/share/walletpass/dashboard/index.html; do
    grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
for m in "$src"/migrations/*.sql; do
    grep -qxF "./usr/share/walletpass/migrations/$(basename "$m")" <<<"$contents" || fail "the package lacks migration $(basename "$m")"
done
for m in "$src"/plugins/*/migrations/*.sql; do
    p=$(basename "$(dirname "$(dirname "$m")")")
    grep -qxF "./usr/lib/walletpass/plugins/$p/migrations/$(basename "$m")" <<<"$contents" ||
        fail "the package lacks $p's migration $(basename "$m")"
done
if grep -E '/(tests?|fixtures)/|\.a$|hello\.so|/var/' <<<"$contents"; then fail "test files or build leftovers in the package"; fi

# ---- unpack and look at the unit
root=$work/root
dpkg -x "$deb" "$root"
unit=$root/usr/lib/systemd/system/walletpass.service
for want in '^Type=notify$' '^ExecStart=/usr/bin/walletpass serve$' '^ExecReload=/bin/kill -HUP \$MAINPID$' \
            '^EnvironmentFile=/etc/walletpass/walletpass.env$' '^Environment=WALLETPASS_CONFIG=/etc/walletpass/walletpass.json$' \
            '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' '^ProtectHome=yes$' '^PrivateTmp=yes$' '^DynamicUser=yes$' \
            '^StateDirectory=walletpass$' '^ReadWritePaths=/var/lib/walletpass$' '^CapabilityBoundingSet=$' \
            '^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$' '^SystemCallFilter=@system-service$'; do
    grep -qE "$want" "$unit" || fail "the unit lacks /$want/"
done
grep -q '"plugin_dir": "/usr/lib/walletpass/plugins"' "$root/etc/walletpass/walletpass.json" || fail "the packaged config's plugin_dir"
grep -q '"migrations_dir": "/usr/share/walletpass/migrations"' "$root/etc/walletpass/walletpass.json" || fail "the packaged config's migrations_dir"
grep -q '"dashboard_dir": "/usr/share/walletpass/dashboard"' "$root/etc/walletpass/walletpass.json" || fail "the packaged config's dashboard_dir"

# ---- a plugin built out of tree against the installed SDK, with find_package(WalletPass)
mkdir -p "$work/tiny"
cat >"$work/tiny/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(tiny LANGUAGES C)
find_package(WalletPass 1.10 REQUIRED)
walletpass_add_plugin(tiny SOURCES tiny.c)
CM
cat >"$work/tiny/tiny.c" <<'C'
#include <walletpass/plugin.h>
static const wp_host *host;
static void hi(wp_req *req, void *ud)
{
    (void)ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "tiny", json_object_new_string("installed"));
    json_object_object_add(o, "abi_minor", json_object_new_int(WP_ABI_MINOR));
    host->resp_json(req, 200, o);
    json_object_put(o);
}
static wp_status tiny_init(const wp_host *h, wp_plugin *self, const json_object *config)
{
    (void)config;
    host = h;
    return host->route_add(self, "GET", "/api/v1/tiny", WP_AUTH_PUBLIC, hi, NULL);
}
static void tiny_shutdown(wp_plugin *self) { (void)self; }
WP_PLUGIN_DEFINE("tiny", "1.0.0", "A plugin built against the installed SDK", tiny_init, tiny_shutdown)
C
cmake -S "$work/tiny" -B "$work/tiny/build" -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    >"$work/tiny.log" 2>&1 && cmake --build "$work/tiny/build" >>"$work/tiny.log" 2>&1 ||
    { cat "$work/tiny.log" >&2; fail "the out-of-tree plugin does not build against the installed SDK"; }
grep -q "$root/usr/include" "$work/tiny/build/CMakeFiles/tiny.dir/flags.make" ||
    fail "the plugin was not built against the installed headers"
cp "$work/tiny/build/tiny.so" "$root/usr/lib/walletpass/plugins/"

# ---- the installed gateway: the packaged configuration with the scratch root's paths
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$root" "$port" <<'PY'
import json, sys
root, port = sys.argv[1], int(sys.argv[2])
path = root + '/etc/walletpass/walletpass.json'
cfg = json.load(open(path))
cfg['plugin_dir'] = root + cfg['plugin_dir']
cfg['migrations_dir'] = root + cfg['migrations_dir']
cfg['portal']['dashboard_dir'] = root + cfg['portal']['dashboard_dir']
cfg['server']['port'] = port
cfg['server']['num_threads'] = 8
cfg['public_url'] = 'http://127.0.0.1:%d' % port
cfg['database'] = {'connect_timeout_seconds': 60}
cfg['plugins'].append({'name': 'tiny'})
json.dump(cfg, open(root + '/walletpass.json', 'w'), indent=2)
PY
psql "$WP_TEST_PG_ADMIN_URL" -qc "CREATE DATABASE $db" >/dev/null
dburl=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
        "$WP_TEST_PG_ADMIN_URL" "$db")
export WALLETPASS_CONFIG=$root/walletpass.json WALLETPASS_DATABASE_URL=$dburl
export WALLETPASS_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
unset WALLETPASS_PLUGIN_DIR WALLETPASS_MIGRATIONS_DIR WALLETPASS_PORT WALLETPASS_PUBLIC_URL
bin=$root/usr/bin/walletpass

"$bin" version | grep -qx "walletpass [0-9.]*" || fail "walletpass version"
"$bin" config check >"$work/check.out" 2>"$work/check.err" || { cat "$work/check.err" >&2; fail "config check"; }
grep -qE "^plugin_dir +$root/usr/lib/walletpass/plugins +\(file\)$" "$work/check.out" || fail "config check: plugin_dir"
"$bin" migrate 2>"$work/migrate.err" || { cat "$work/migrate.err" >&2; fail "walletpass migrate"; }
n=$(psql "$dburl" -tAc "SELECT count(*) FROM schema_migrations WHERE component = 'core'")
[ "$n" -eq "$(ls "$src"/migrations/*.sql | wc -l)" ] || fail "migrate applied $n core migrations"
"$bin" plugins >"$work/plugins.out" 2>&1 || { cat "$work/plugins.out" >&2; fail "walletpass plugins"; }
grep -qE '^ *tiny +1\.0\.0 +ABI 1\.10' "$work/plugins.out" || { cat "$work/plugins.out" >&2; fail "tiny is not listed"; }

"$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
ready=
for _ in $(seq 1 240); do
    if ! kill -0 "$pid" 2>/dev/null; then cat "$work/serve.log" >&2; fail "serve exited"; fi
    if curl -fsS "http://127.0.0.1:$port/readyz" >"$work/readyz.json" 2>/dev/null; then ready=1; break; fi
    sleep 0.5
done
[ -n "$ready" ] || { cat "$work/serve.log" >&2; fail "/readyz never answered 200"; }
grep -q '"status":"ready"' "$work/readyz.json" || grep -q '"status": "ready"' "$work/readyz.json" ||
    fail "/readyz: $(cat "$work/readyz.json")"
n=$(psql "$dburl" -tAc "SELECT count(DISTINCT component) FROM schema_migrations WHERE component <> 'core'")
[ "$n" -ge 5 ] || fail "the installed plugins' migrations: $n components"
# the installed dashboard is served
curl -fsSL "http://127.0.0.1:$port/dashboard/" | grep -qi '<html' || fail "the installed dashboard is not served"
curl -fsS "http://127.0.0.1:$port/api/v1/tiny" | grep -q '"tiny":"installed"' ||
    curl -fsS "http://127.0.0.1:$port/api/v1/tiny" | grep -q '"tiny": "installed"' || fail "GET /api/v1/tiny"
kill -TERM "$pid"
wait "$pid" || { cat "$work/serve.log" >&2; fail "serve did not exit 0 on SIGTERM"; }
pid=
echo "package_deb: OK ($(basename "$deb"), $(wc -l <<<"$contents") entries)"
