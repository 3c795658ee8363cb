/*
 * google_render.h - the unified pass rendered as a Google Wallet class and object.
 *
 * Pure: no I/O, no host calls.  Input is the pass resource as the core hands
 * it to filters and events (the unified body's fields at the top level, or
 * under "body"), plus the issuer id and the URLs images resolve to.  Output
 * is one class and one object of the pass's Google type, holding only the
 * fields that exist on that resource (Google Wallet API reference).
 *
 * Ownership: every input is borrowed; *class_out and *object_out are
 * transferred to the caller (json_object_put).
 */
#ifndef GOOGLE_RENDER_H
#define GOOGLE_RENDER_H

#include <stddef.h>
#include <time.h>

#include <walletpass/plugin.h>

/*
 * Maps an image of the pass (name "logo", "icon", "hero", "strip"; value
 * the pass's own string: an https URL or base64 PNG) to a public https URL,
 * or NULL when it has none.  The returned string must stay valid until the
 * render call returns.
 */
typedef const char *(*gr_image_fn)(void *ud, const char *name, const char *value);

typedef struct gr_render_opts {
    const char *issuer_id;        /* numeric issuer id (required) */
    const char *account_id;       /* the pass's account: names the class when there is no template */
    const char *language;         /* LocalizedString language; NULL: "en-US" */
    const char *default_logo_url; /* fallback for the required programLogo (and logos) */
    gr_image_fn image;            /* NULL: only https image URLs are used */
    void *image_ud;
    time_t now;                   /* for EXPIRED (0: time(NULL)) */
    int notify;                   /* 1: add notifyPreference NOTIFY_ON_UPDATE (types that have it) */
} gr_render_opts;

/* "generic" -> "generic", "loyalty" -> "loyalty", "coupon" -> "offer", "event" -> "eventTicket"; NULL if unknown. */
const char *gr_google_type(const char *pass_type);

/*
 * Writes "<issuer>.<suffix>" into out with every character of suffix
 * outside [A-Za-z0-9._-] replaced by '_'.  Returns 0, or -1 when it does not fit.
 */
int gr_make_id(char *out, size_t len, const char *issuer, const char *suffix);

/* The class id (one per template; per account and type without one) and object id (per pass). */
int gr_class_id(char *out, size_t len, const json_object *pass, const gr_render_opts *o);
int gr_object_id(char *out, size_t len, const json_object *pass, const gr_render_opts *o);

/*
 * Renders class and object.  WP_EINVAL (message in errbuf) when the pass has
 * no id, an unknown pass_type, or the issuer id is missing.
 */
wp_status gr_render(const json_object *pass, const gr_render_opts *o, json_object **class_out,
                    json_object **object_out, char *errbuf, size_t errlen);

/* The object's state for the pass: "INACTIVE" (voided), "EXPIRED" (past expiration_date) or "ACTIVE". */
const char *gr_state(const json_object *pass, time_t now);

/* Whether the Google type has notifyPreference (not generic). */
int gr_type_has_notify(const char *gtype);

#endif
