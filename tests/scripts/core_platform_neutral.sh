#!/usr/bin/env bash
# scripts_core_platform_neutral: the core knows no wallet platform.  Apple,
# Google and their formats live in their plugins (plugins/apple-signer,
# plugins/google-jwt, plugins/apns); the core's sources and migrations name
# none of them, not even in a comment, so nothing platform-specific creeps
# back into the core unnoticed.
set -euo pipefail
src=${1:?usage: core_platform_neutral.sh SOURCE_DIR}
cd "$src"
[ -d core/src ] && [ -d migrations ] || { echo "FAIL: core/src or migrations missing under $src" >&2; exit 1; }
if hits=$(grep -rniE 'apple|google|pkpass|apns|wwdr|pkcs12|p12' core/src migrations); then
    echo "FAIL: the core names a wallet platform; move it into its plugin or say it neutrally:" >&2
    echo "$hits" >&2
    exit 1
fi
echo "ok: core/src and migrations name no wallet platform"
