#!/usr/bin/env bash
# The repository stands alone: its sources, docs and tests cite no file a
# reader of the repository does not have (outside design notes, tracker
# numbers, machine-specific absolute paths).  Prints each offending line.
set -euo pipefail
root=${1:?usage: standalone.sh SOURCE_DIR}
cd "$root"
# Written with bracket classes so that this line does not match itself.
pattern='(^|[^a-z_/])(AP[I]|DESIG[N])[.]md|referenc[e]/(apple|google)-wallet|/wor[k]/|[I]ssue #?[0-9]+|[i]ssue #?[0-9]+|[(]issues? [0-9]|project [b]rief'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files -co --exclude-standard -- . ':!**/package-lock.json')
else
    files=$(find . -type f -not -path './build*' -not -path './var/*' -not -path '*/node_modules/*' \
        -not -name package-lock.json)
fi
hits=$(printf '%s\n' "$files" | xargs -d '\n' grep -InE "$pattern" -- 2>/dev/null || true)
if [ -n "$hits" ]; then
    printf 'citations of files outside the repository:\n%s\n' "$hits" >&2
    exit 1
fi
echo "ok: no citations outside the repository"
