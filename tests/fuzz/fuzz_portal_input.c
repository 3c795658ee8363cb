/*
 * fuzz_portal_input: what the dashboard reads from a request before any
 * check of its own (portal.c, static.c).  The first byte picks:
 *   even: a Cookie header's value; the session cookie found in it must lie
 *         inside the input (which names "wp_session="), fit its buffer, and
 *         hold no ';' and no space at its ends;
 *   odd:  a path under /dashboard/; a name accepted as a file's must hold
 *         only letters, digits and "-._/", no empty segment and no segment
 *         starting with a dot (so never "..").
 */
#include <stdio.h>

#include "fuzz.h"
#include "portal.h"
#include "static.h"

static void check_cookie(const char *in)
{
    char out[48];
    memset(out, 'X', sizeof out);
    if (!wp_portal_cookie_in(in, WP_PORTAL_COOKIE, out, sizeof out)) return;
    size_t n = strnlen(out, sizeof out);
    if (n >= sizeof out || strchr(out, ';') || (n && (out[0] == ' ' || out[n - 1] == ' '))) abort();
    if (!strstr(in, WP_PORTAL_COOKIE "=") || !strstr(in, out)) abort();
}

static void check_name(const char *rel)
{
    if (!wp_static_name_ok(rel)) return;
    if (!*rel || rel[0] == '/' || strstr(rel, "//") || rel[strlen(rel) - 1] == '/') abort();
    for (const char *p = rel; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 c == '.' || c == '/';
        if (!ok) abort();
        if (c == '.' && (p == rel || p[-1] == '/')) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *s = fz_cstr(data + 1, size - 1);
    if (!s) return 0;
    if (data[0] % 2 == 0) check_cookie(s);
    else check_name(s);
    free(s);
    return 0;
}
