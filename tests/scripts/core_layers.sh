#!/usr/bin/env bash
# scripts_core_layers: the core's arrows point down.  core/src/ has one folder
# per layer, top to bottom:
#   app     main, the server that wires everything, TLS, crash reports
#   plugin  the plugin loader and the host table handed to plugins
#   http    requests and responses, the router, the API's handlers
#   domain  passes, templates, batches, secrets, hooks, metering: the rules
#   store   PostgreSQL: the pool, migrations, the job queue, the event outbox
#   base    errors, logging, ids, JSON, crypto, configuration: no I/O policy
# A file may include headers of its own layer and of the layers below it,
# never above (docs/architecture.md).  Every .c and .h of the core sits in a
# layer folder.  Headers are named without their folder ("db.h"); the check
# finds a header's layer by its name, so two layers must not share one.
set -euo pipefail
src=$(cd "${1:?usage: core_layers.sh SOURCE_DIR}" && pwd)
cd "$src/core/src"
layers=(base store domain http plugin app)
declare -A rank where
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done
fail=0
say() { echo "FAIL: $*" >&2; fail=1; }

for f in $(find . -type f \( -name '*.c' -o -name '*.h' \) | sed 's|^\./||' | sort); do
    layer=${f%%/*}
    if [ "$layer" = "$f" ] || [ -z "${rank[$layer]+x}" ]; then
        say "core/src/$f is in no layer: move it into one of ${layers[*]} (git mv)"
        continue
    fi
    case $f in *.h)
        name=${f##*/}
        [ -n "${where[$name]+x}" ] && say "two headers named $name: core/src/${where[$name]}/$name and core/src/$f"
        where[$name]=$layer ;;
    esac
done

for f in $(find . -type f \( -name '*.c' -o -name '*.h' \) -path './*/*' | sed 's|^\./||' | sort); do
    layer=${f%%/*}
    [ -n "${rank[$layer]+x}" ] || continue
    while IFS= read -r inc; do
        name=${inc##*/}
        to=${where[$name]:-}
        [ -n "$to" ] || continue   # a system or generated header
        if [ "${rank[$to]}" -gt "${rank[$layer]}" ]; then
            say "core/src/$f ($layer) includes $inc ($to): an arrow pointing up"
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done

# Plugins see the SDK and plugins/common only, never the core's headers; and
# plugins/common, shared by every plugin, sees the SDK and itself only.
cd "$src/plugins"
for f in $(find . -type f \( -name '*.c' -o -name '*.h' \) | sed 's|^\./||' | sort); do
    while IFS= read -r inc; do
        name=${inc##*/}
        if [ -n "${where[$name]+x}" ] && [ ! -e "$(dirname "$f")/$inc" ] && [ ! -e "common/$inc" ]; then
            say "plugins/$f includes $inc, a header of the core (core/src/${where[$name]}): use the SDK"
        elif [ "${f%%/*}" = common ] && [ ! -e "common/$inc" ]; then
            say "plugins/$f includes $inc: plugins/common includes only its own headers and the SDK's"
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done

[ $fail -eq 0 ] || exit 1
echo "ok: every include in core/src points down its layers; plugins include no core header; plugins/common no plugin's"
