#!/usr/bin/env bash
# scripts_sdk_standalone: the plugin SDK without the gateway.  sdk/ is a CMake
# project of its own: configured and installed alone it installs exactly the
# SDK (the headers, the pkg-config file, the CMake package), and the hello
# example builds against that install both ways (CMake package, pkg-config),
# warnings as errors, exporting only its definition.
set -euo pipefail
src=${1:?usage: sdk_standalone.sh SOURCE_DIR}
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake -S "$src/sdk" -B "$tmp/sdk-build" >/dev/null || fail "sdk/ does not configure on its own"
cmake --install "$tmp/sdk-build" --prefix "$tmp/sdk" >/dev/null || fail "sdk/ does not install on its own"
got=$(cd "$tmp/sdk" && find . -type f | sort)
want=$(printf '%s\n' ./include/walletpass/plugin.h ./include/walletpass/plugin_config.h \
    ./share/cmake/WalletpassPlugin/WalletpassPluginConfig.cmake \
    ./share/cmake/WalletpassPlugin/WalletpassPluginConfigVersion.cmake \
    ./share/cmake/WalletpassPlugin/WalletpassPluginHelpers.cmake ./share/pkgconfig/walletpass-plugin.pc | sort)
[ "$got" = "$want" ] || fail "the SDK install holds:
$got
expected:
$want"
cmp -s "$src/sdk/include/walletpass/plugin.h" "$tmp/sdk/include/walletpass/plugin.h" || fail "installed plugin.h differs"
minor=$(sed -n 's/^#define WP_ABI_MINOR \([0-9]*\)$/\1/p' "$src/sdk/include/walletpass/plugin.h")
grep -qx "Version: 1.$minor" "$tmp/sdk/share/pkgconfig/walletpass-plugin.pc" || fail "walletpass-plugin.pc does not say Version: 1.$minor"

for how in cmake pkgconfig; do
    flag=OFF
    [ $how = pkgconfig ] && flag=ON
    PKG_CONFIG_PATH=$tmp/sdk/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} \
        cmake -S "$src/sdk/examples/hello" -B "$tmp/hello-$how" -DCMAKE_PREFIX_PATH="$tmp/sdk" \
        -DHELLO_WITH_PKGCONFIG=$flag -DHELLO_WERROR=ON >/dev/null || fail "hello does not configure ($how)"
    cmake --build "$tmp/hello-$how" >"$tmp/build-$how.log" 2>&1 || { cat "$tmp/build-$how.log" >&2; fail "hello does not build ($how)"; }
    so=$tmp/hello-$how/hello.so
    [ -f "$so" ] || fail "no hello.so ($how)"
    exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | grep -v '^_' | sort -u)
    [ "$exported" = "wp_plugin_definition" ] || fail "hello.so ($how) exports: $exported"
done
echo "ok: the SDK installs alone (ABI 1.$minor) and hello builds against it"
