/* crash.c - see crash.h. */
#include "crash.h"

#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(WP_SANITIZER) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WP_CRASH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WP_CRASH_SANITIZED 1
#endif
#endif

bool wp_crash_enabled(void)
{
#ifdef WP_CRASH_SANITIZED
    return false;
#else
    return true;
#endif
}

#ifndef WP_CRASH_SANITIZED

#define MAX_FRAMES 64

static const struct {
    int sig;
    const char *name, *what;
} fatal[] = {
    {SIGSEGV, "SIGSEGV", "segmentation fault"},
    {SIGBUS, "SIGBUS", "bus error"},
    {SIGILL, "SIGILL", "illegal instruction"},
    {SIGFPE, "SIGFPE", "arithmetic exception"},
    {SIGABRT, "SIGABRT", "aborted"},
};
#define NFATAL (sizeof fatal / sizeof fatal[0])

/* The first crashing thread reports; a second one waits for the re-raise to end the process. */
static atomic_int crashing;
/* An alternate stack for the main thread, so a stack overflow there can still be reported. */
static char alt_stack[64 * 1024];

/* ---- async-signal-safe formatting into a fixed buffer ------------------ */

typedef struct {
    char buf[512];
    size_t n;
} line;

static void put_str(line *l, const char *s)
{
    while (*s && l->n < sizeof l->buf - 1) l->buf[l->n++] = *s++;
}

static void put_uint(line *l, uint64_t v, unsigned base, int width)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v && i < (int)sizeof tmp);
    while (i < width && i < (int)sizeof tmp) tmp[i++] = '0';
    while (i > 0 && l->n < sizeof l->buf - 1) l->buf[l->n++] = tmp[--i];
}

/* The log's timestamp (log.c) without gmtime_r, which is not async-signal-safe. */
static void put_time(line *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
    /* days since 1970-01-01 -> civil date (H. Hinnant's algorithm) */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    put_uint(l, (uint64_t)y, 10, 4);
    put_str(l, "-");
    put_uint(l, (uint64_t)m, 10, 2);
    put_str(l, "-");
    put_uint(l, (uint64_t)d, 10, 2);
    put_str(l, "T");
    put_uint(l, (uint64_t)(rem / 3600), 10, 2);
    put_str(l, ":");
    put_uint(l, (uint64_t)(rem / 60 % 60), 10, 2);
    put_str(l, ":");
    put_uint(l, (uint64_t)(rem % 60), 10, 2);
    put_str(l, ".");
    put_uint(l, (uint64_t)(ts.tv_nsec / 1000000), 10, 3);
    put_str(l, "Z ");
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved = errno;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&crashing, &expected, 1)) {
        /* Another thread is reporting and will end the process. */
        for (;;) pause();
    }
    const char *name = "signal", *what = "fatal signal";
    for (size_t i = 0; i < NFATAL; i++)
        if (fatal[i].sig == sig) {
            name = fatal[i].name;
            what = fatal[i].what;
        }
    char tname[17] = "";
    prctl(PR_GET_NAME, tname, 0, 0, 0);
    line l = {.n = 0};
    put_time(&l);
    put_str(&l, "error fatal signal ");
    put_str(&l, name);
    put_str(&l, " (");
    put_str(&l, what);
    put_str(&l, ") in thread ");
    put_uint(&l, (uint64_t)syscall(SYS_gettid), 10, 1);
    if (tname[0]) {
        put_str(&l, " \"");
        put_str(&l, tname);
        put_str(&l, "\"");
    }
    if (si && si->si_code == SI_USER) {
        put_str(&l, ", sent by pid ");
        put_uint(&l, (uint64_t)si->si_pid, 10, 1);
    } else if (si && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE)) {
        put_str(&l, " at address 0x");
        put_uint(&l, (uint64_t)(uintptr_t)si->si_addr, 16, 1);
    }
    put_str(&l, "; walletpass " WP_VERSION "; backtrace follows\n");
    write_all(STDERR_FILENO, l.buf, l.n);
    void *frames[MAX_FRAMES];
    int n = backtrace(frames, MAX_FRAMES);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    write_all(STDERR_FILENO, "end of backtrace\n", 17);
    errno = saved;
    /* SA_RESETHAND restored the default action and SA_NODEFER leaves the
     * signal unblocked: this ends the process as the signal would have. */
    raise(sig);
}

bool wp_crash_install(void)
{
    /* backtrace() loads libgcc_s on its first call, which mallocs: do that now, not in the handler. */
    void *warm[2];
    (void)backtrace(warm, 2);
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) return false;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NFATAL; i++)
        if (sigaction(fatal[i].sig, &sa, NULL) != 0) return false;
    return true;
}

#else /* a sanitizer build */

bool wp_crash_install(void) { return true; }

#endif
