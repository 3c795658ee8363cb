/*
 * threadlocale.c - see threadlocale.h.
 */
#include "threadlocale.h"

#include <locale.h>
#include <pthread.h>

static locale_t c_locale = (locale_t)0;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* glibc hands out its static C locale object here: nothing to free, ever. */
static void make(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

void wp_thread_locale_c(void)
{
    pthread_once(&once, make);
    if (c_locale != (locale_t)0) uselocale(c_locale);
}
