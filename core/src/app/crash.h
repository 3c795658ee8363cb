/*
 * crash.h - the last words of a process that dies on a fatal signal.
 *
 * On SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT the handler writes one line
 * to the log (stderr) naming the signal, the thread and the faulting
 * address, then the crashing thread's backtrace (one frame a line,
 * backtrace_symbols_fd), and re-raises the signal with its default action,
 * so the process still dies of it (exit status, core dump, a supervisor's
 * restart).  Only async-signal-safe calls run in the handler: write(2),
 * backtrace (loaded at install time), no stdio, no malloc.
 *
 * Not installed in sanitizer builds: ASan, UBSan and TSan report fatal
 * signals themselves, with more detail.
 */
#ifndef WP_CRASH_H
#define WP_CRASH_H

#include <stdbool.h>

/* Installs the handler for the whole process (every thread).  Call once,
 * early in main, before threads start.  Returns false, with errno set, when
 * sigaction failed; true (and does nothing) in a sanitizer build. */
bool wp_crash_install(void);

/* Whether this build installs the handler (false under a sanitizer). */
bool wp_crash_enabled(void);

#endif
