/*
 * threadlocale.h - the C locale object as the calling thread's locale.
 *
 * json-c's parser (0.16, as Debian ships it) moves the calling thread to the
 * "C" numeric locale for each document it parses: duplocale, newlocale and
 * freelocale of the thread's locale.  glibc serialises those under one
 * process-wide write lock, except when the thread's locale already is the C
 * locale object.  With dozens of request threads parsing the stored JSON of
 * passes and credentials, that lock (and the context switches it caused)
 * took a sixth of a busy gateway's time.  So every thread that parses JSON
 * starts with wp_thread_locale_c().
 *
 * The gateway never sets a locale: its global locale is "C", and a thread
 * on the C locale object behaves exactly as before.  When the object cannot
 * be had (out of memory) the thread is left as it was: slower, not wrong.
 */
#ifndef WP_THREADLOCALE_H
#define WP_THREADLOCALE_H

void wp_thread_locale_c(void);

#endif
