# wp_supervise CMD [ARGS...]: runs CMD in the foreground and starts it again
# when it dies on a signal (a crash: SIGSEGV, SIGABRT, ... or a kill -9),
# waiting 1, 2, 4 ... up to WP_SUPERVISE_MAX_DELAY (30) seconds between starts;
# the delay falls back to 1 s once a run has lasted WP_SUPERVISE_STABLE (60)
# seconds.  Any other exit ends the loop with CMD's status: 0 is a clean stop,
# anything else a start-up error that a restart would only repeat.  SIGINT and
# SIGTERM (Ctrl-C) are passed to CMD as SIGTERM, and the loop ends when it has
# stopped.  Sourced, not run (scripts/run).
wp_supervise() {
    local delay=1 max=${WP_SUPERVISE_MAX_DELAY:-30} stable=${WP_SUPERVISE_STABLE:-60}
    local child="" stopping=0 rc started
    # A background job of a script ignores SIGINT: the trap hands both signals on as SIGTERM.
    trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' INT TERM
    while :; do
        started=$SECONDS
        "$@" &
        child=$!
        # wait returns early (>128) when a trapped signal arrives: wait again for the real status.
        while :; do
            rc=0
            wait "$child" || rc=$?
            kill -0 "$child" 2>/dev/null || break
        done
        child=""
        if [ "$stopping" = 1 ]; then
            trap - INT TERM
            return "$rc"
        fi
        if [ "$rc" -le 128 ]; then
            trap - INT TERM
            return "$rc"
        fi
        [ $((SECONDS - started)) -ge "$stable" ] && delay=1
        printf '==> %s died on signal %s (exit status %d); starting it again in %d s\n' \
            "$1" "$(kill -l "$((rc - 128))" 2>/dev/null || echo "$((rc - 128))")" "$rc" "$delay" >&2
        sleep "$delay" &
        child=$!
        wait "$child" 2>/dev/null || true
        child=""
        if [ "$stopping" = 1 ]; then
            trap - INT TERM
            return 0
        fi
        delay=$((delay * 2 > max ? max : delay * 2))
    done
}
