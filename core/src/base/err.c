/* err.c - status strings and the wp_err filler. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

const char *wp_status_str(wp_status s)
{
    /* No default: -Wswitch -Werror catches a status without a string. */
    switch (s) {
    case WP_OK: return "no error";
    case WP_ENOMEM: return "out of memory";
    case WP_EINVAL: return "invalid input";
    case WP_ENOTFOUND: return "not found";
    case WP_ECONFLICT: return "conflict";
    case WP_EDB: return "database error";
    case WP_EUNAVAIL: return "service unavailable";
    case WP_EIO: return "input/output error";
    case WP_ECONFIG: return "configuration error";
    case WP_EAUTH: return "authentication failed";
    case WP_ELIMIT: return "limit exceeded";
    case WP_ELATE: return "called after registration closed";
    case WP_EABI: return "ABI mismatch";
    case WP_ECRYPTO: return "cryptographic operation failed";
    case WP_EINTERNAL: return "internal error";
    case WP_RETRY: return "transient failure, retry";
    case WP_FAIL: return "permanent failure";
    case WP_EMEDIATYPE: return "unsupported media type";
    case WP_ETOOLARGE: return "too large";
    case WP_EDENIED: return "refused by policy";
    }
    return "unknown status";
}

void wp_err_clear(wp_err *err)
{
    if (err) {
        err->status = WP_OK;
        err->msg[0] = '\0';
        err->param[0] = '\0';
        err->code = NULL;
    }
}

wp_status wp_err_code(wp_err *err, const char *code)
{
    if (!err) return WP_EINVAL;
    err->code = code;
    return err->status;
}

int wp_err_http_status(wp_status s)
{
    switch (s) {
    case WP_EINVAL: return 400;
    case WP_ENOTFOUND: return 404;
    case WP_ECONFLICT: return 409;
    case WP_ETOOLARGE: return 413;
    case WP_EMEDIATYPE: return 415;
    case WP_EAUTH: return 401;
    case WP_ELIMIT: return 429;
    case WP_EUNAVAIL: return 503;
    default: return 500;
    }
}

static void wp_err_vfill(wp_err *err, wp_status s, const char *fmt, va_list ap)
{
    err->status = s;
    err->code = NULL;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    /* Messages quote client input and end up in JSON errors and the log: a cut
     * message must not end in half a character, and a byte that is not UTF-8
     * becomes '?'. */
    if (n >= (int)sizeof err->msg) wp_utf8_cut(err->msg, sizeof err->msg);
    wp_utf8_scrub(err->msg);
}

wp_status wp_err_set(wp_err *err, wp_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        wp_err_vfill(err, s, fmt, ap);
        va_end(ap);
        err->param[0] = '\0';
    }
    return s;
}

wp_status wp_err_param(wp_err *err, wp_status s, const char *param, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        wp_err_vfill(err, s, fmt, ap);
        va_end(ap);
        int n = snprintf(err->param, sizeof err->param, "%s", param ? param : "");
        if (n >= (int)sizeof err->param) wp_utf8_cut(err->param, sizeof err->param);
        wp_utf8_scrub(err->param);
    }
    return s;
}
