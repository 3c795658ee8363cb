#!/usr/bin/env bash
# run.sh HARNESS CORPUS WORKDIR SECONDS [SEED]: one fuzz_<name> ctest entry.
# Replays every file of the checked-in CORPUS (seeds and past findings),
# then fuzzes for SECONDS with WORKDIR/corpus as the writable corpus; a
# crash is written to WORKDIR/crash-* and fails the test.
# SEED fixes libFuzzer's mutations, so a commit that passes keeps passing
# (ctest passes 1); 0 draws a new seed each run (scripts/fuzz, for finding).
set -euo pipefail
bin=$1 corpus=$2 work=$3 secs=$4 seed=${5:-0}
mkdir -p "$work/corpus"
[ -d "$corpus" ] || { echo "no seed corpus at $corpus" >&2; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -rss_limit_mb: the sanitizers' shadow memory plus OpenSSL stay far below it;
# -timeout: an input that takes 10 s is a finding (a hang).
exec "$bin" -seed="$seed" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work/corpus" "$corpus"
