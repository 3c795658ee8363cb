/*
 * share.c - the share page, GET /p/:capability (see share.h).
 */
#include "share.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "pass_service.h"
#include "qrsvg.h"
#include "router.h"
#include "domain.h"
#include "vault.h"

/* The page's only style; the CSP names its hash, so it must stay byte for byte what is sent. */
static const char page_css[] =
    "body{margin:0;font:16px/1.5 system-ui,\"Segoe UI\",Roboto,sans-serif;background:#f4f4f6;color:#111}"
    "main{max-width:28rem;margin:0 auto;padding:2rem 1.25rem;text-align:center}"
    ".logo{max-width:10rem;max-height:6rem;margin-bottom:1rem}"
    "h1{font-size:1.6rem;margin:0 0 .25rem}"
    ".org{margin:0 0 1.5rem;color:#444}"
    ".actions{display:flex;flex-direction:column;gap:.75rem;margin:1.5rem 0}"
    ".button{display:block;padding:.9rem 1rem;border-radius:.6rem;background:#000;color:#fff;"
    "text-decoration:none;font-weight:600;font-size:1.05rem}"
    ".button:focus-visible{outline:3px solid #1a73e8;outline-offset:3px}"
    ".notice{padding:.75rem;border-radius:.5rem;background:#fff3cd;color:#5c4400}"
    ".qr{margin:2rem 0 0}.qr svg{width:12rem;height:12rem}"
    "figcaption{color:#444;font-size:.9rem}";

static char csp[256]; /* set once by wp_share_routes, read-only afterwards */

/* ---- a growing text buffer --------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} buf;

static void add_n(buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 8192;
        while (nc < b->len + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void add(buf *b, const char *s)
{
    add_n(b, s, strlen(s));
}

/* Text or an attribute value: every markup character escaped. */
static void add_esc(buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *e = NULL;
        switch (*s) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        }
        if (!e) continue;
        add_n(b, run, (size_t)(s - run));
        add(b, e);
        run = s + 1;
    }
    add_n(b, run, (size_t)(s - run));
}

/* ---- what to show ------------------------------------------------------ */

wp_share_device wp_share_device_of(const char *ua)
{
    if (!ua) ua = "";
    if (strstr(ua, "iPhone") || strstr(ua, "iPad") || strstr(ua, "iPod")) return WP_DEVICE_IOS;
    if (strstr(ua, "Android")) return WP_DEVICE_ANDROID;
    /* Safari on a Mac (and iPadOS, which presents itself as one); the other Mac
     * browsers say "Safari" too, so they are excluded by their own tokens. */
    if (strstr(ua, "Macintosh") && strstr(ua, "Safari/") && !strstr(ua, "Chrome/") && !strstr(ua, "Chromium/") &&
        !strstr(ua, "Edg/") && !strstr(ua, "Firefox/") && !strstr(ua, "OPR/"))
        return WP_DEVICE_MAC_SAFARI;
    return WP_DEVICE_OTHER;
}

const char *wp_share_device_name(wp_share_device d)
{
    switch (d) {
    case WP_DEVICE_IOS: return "ios";
    case WP_DEVICE_MAC_SAFARI: return "mac-safari";
    case WP_DEVICE_ANDROID: return "android";
    default: return "other";
    }
}

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) return NULL;
    const char *s = json_object_get_string(v);
    return s && *s ? s : NULL;
}

/* The pass's name: its type's headline field, else its logo text, organisation or description. */
static const char *pass_title(json_object *pass)
{
    const char *type = str_of(pass, "pass_type"), *t = NULL;
    if (type && strcmp(type, "event") == 0) t = str_of(pass, "event_name");
    else if (type && strcmp(type, "coupon") == 0) t = str_of(pass, "offer_title");
    else if (type && strcmp(type, "loyalty") == 0) t = str_of(pass, "program_name");
    if (!t) t = str_of(pass, "logo_text");
    if (!t) t = str_of(pass, "organization_name");
    if (!t) t = str_of(pass, "description");
    return t ? t : "Your pass";
}

static bool is_base64(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
    return n > 0 && s[n] == '\0';
}

/* Writes the logo's src: an https URL as given, a base64 PNG as a data: URL.  false when there is none. */
static bool add_logo_src(buf *b, json_object *pass)
{
    json_object *imgs = NULL;
    if (!json_object_object_get_ex(pass, "images", &imgs) || !json_object_is_type(imgs, json_type_object)) return false;
    const char *v = str_of(imgs, "logo");
    if (!v) v = str_of(imgs, "icon");
    if (!v) return false;
    if (strncmp(v, "https://", 8) == 0) {
        add_esc(b, v);
        return true;
    }
    static const char prefix[] = "data:image/png;base64,";
    if (strncmp(v, prefix, sizeof prefix - 1) == 0) v += sizeof prefix - 1;
    if (!is_base64(v)) return false;
    add(b, prefix);
    add(b, v);
    return true;
}

/* Only http(s) links become buttons: they come from plugins, and a javascript: URL must never. */
static const char *web_link(json_object *res, const char *key)
{
    const char *v = key ? str_of(res, key) : NULL;
    return v && (strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0) ? v : NULL;
}

/* A share_buttons entry's text member: 1..80 bytes, else NULL. */
static const char *button_text(json_object *b, const char *key)
{
    const char *v = str_of(b, key);
    return v && strlen(v) <= 80 ? v : NULL;
}

/* Whether a share_buttons entry names this device class in its "devices". */
static bool button_for(json_object *b, wp_share_device dev)
{
    json_object *devs = NULL;
    if (!json_object_object_get_ex(b, "devices", &devs) || !json_object_is_type(devs, json_type_array)) return false;
    const char *want = wp_share_device_name(dev);
    for (size_t i = 0; i < json_object_array_length(devs); i++) {
        json_object *d = json_object_array_get_idx(devs, i);
        if (json_object_is_type(d, json_type_string) && strcmp(json_object_get_string(d), want) == 0) return true;
    }
    return false;
}

static void page_head(buf *b, const char *title)
{
    add(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>");
    add_esc(b, title);
    add(b, "</title>\n<style>");
    add(b, page_css);
    add(b, "</style>\n</head>\n<body>\n<main>\n");
}

static void page_button(buf *b, const char *url, const char *label)
{
    add(b, "<a class=\"button\" href=\"");
    add_esc(b, url);
    add(b, "\">");
    add_esc(b, label);
    add(b, "</a>\n");
}

static void page_notice(buf *b, const char *wallet)
{
    add(b, "<p class=\"notice\">This pass cannot be added to ");
    add_esc(b, wallet);
    add(b, " yet.</p>\n");
}

/*
 * The page of one pass (res: the API resource with its links; buttons: the
 * pass.links filters' share_buttons, in filter order).  On a phone or a
 * Mac's Safari, the buttons naming that device; elsewhere every button and a
 * QR code of the page itself.
 */
static void render_page(buf *b, json_object *res, json_object *buttons, const char *share_url, wp_share_device dev)
{
    const char *title = pass_title(res), *org = str_of(res, "organization_name");
    const char *status = str_of(res, "status");
    page_head(b, title);
    add(b, "<header>\n");
    size_t mark = b->len;
    add(b, "<img class=\"logo\" src=\"");
    if (add_logo_src(b, res)) {
        add(b, "\" alt=\"");
        add_esc(b, org ? org : title);
        add(b, " logo\">\n");
    } else if (!b->oom) {
        b->len = mark; /* no logo: drop the tag begun above */
        b->s[mark] = '\0';
    }
    add(b, "<h1>");
    add_esc(b, title);
    add(b, "</h1>\n");
    if (org && strcmp(org, title) != 0) {
        add(b, "<p class=\"org\">");
        add_esc(b, org);
        add(b, "</p>\n");
    }
    add(b, "</header>\n");
    if (status && strcmp(status, "voided") == 0) {
        add(b, "<p class=\"notice\" role=\"status\">This pass is no longer valid.</p>\n</main>\n</body>\n</html>\n");
        return;
    }
    bool elsewhere = dev == WP_DEVICE_OTHER, any = false, named = false;
    add(b, "<div class=\"actions\">\n");
    size_t nb = buttons && json_object_is_type(buttons, json_type_array) ? json_object_array_length(buttons) : 0;
    for (size_t i = 0; i < nb; i++) {
        json_object *bt = json_object_array_get_idx(buttons, i);
        const char *label = button_text(bt, "label"), *wallet = button_text(bt, "wallet");
        if (!json_object_is_type(bt, json_type_object) || !label || !wallet) {
            wp_log_warn("share page: share_buttons[%zu] needs link, label and wallet (1..80 bytes); left out", i);
            continue;
        }
        if (!elsewhere && !button_for(bt, dev)) continue;
        named = true;
        const char *url = web_link(res, str_of(bt, "link"));
        if (url) {
            page_button(b, url, label);
            any = true;
        } else if (!elsewhere) {
            page_notice(b, wallet);
        }
    }
    add(b, "</div>\n");
    if (!any && (elsewhere || !named)) add(b, "<p class=\"notice\">This pass cannot be added to a wallet yet.</p>\n");
    if (elsewhere && any) {
        char *svg = NULL;
        if (wp_qr_svg(share_url, "QR code of this page", &svg) == WP_OK) {
            add(b, "<figure class=\"qr\">\n");
            add(b, svg);
            add(b, "\n<figcaption>To add the pass on your phone, scan this code with its camera.</figcaption>\n"
                   "</figure>\n");
            free(svg);
        } else {
            wp_log_warn("share page: no QR code for a link of %zu bytes", strlen(share_url));
        }
    }
    add(b, "</main>\n</body>\n</html>\n");
}

/* ---- the route ---------------------------------------------------------- */

static void send_headers(wp_req *req)
{
    wp_resp_header(req, "Content-Security-Policy", csp);
    wp_resp_header(req, "X-Content-Type-Options", "nosniff");
    /* the capability is the URL: never hand it to the wallet sites in a Referer */
    wp_resp_header(req, "Referrer-Policy", "no-referrer");
    wp_resp_header(req, "Cache-Control", "private, no-store");
    wp_resp_header(req, "Vary", "User-Agent, Accept");
}

static void not_found(wp_req *req)
{
    const char *accept = wp_req_header(req, "Accept");
    if (accept && strstr(accept, "text/html")) {
        buf b = {0};
        page_head(&b, "Link not valid");
        add(&b, "<h1>This link is not valid</h1>\n<p>Ask whoever sent it for a new one.</p>\n</main>\n</body>\n</html>\n");
        if (!b.oom) {
            send_headers(req);
            wp_resp_raw(req, 404, "text/html; charset=utf-8", b.s, b.len);
            free(b.s);
            return;
        }
        free(b.s);
    }
    wp_resp_error(req, 404, "invalid_request_error", "resource_missing", "capability", "no such pass, or the link is not valid");
}

static void share_page(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    const char *cap = wp_req_param(req, "capability");
    /* <pass_id>.<token>; query parameters are ignored: mail tools append their own */
    const char *dot = cap ? strchr(cap, '.') : NULL;
    if (!dot || dot == cap || strlen(dot + 1) != WP_PASS_LINK_TOKEN_LEN || (size_t)(dot - cap) >= 64) {
        not_found(req);
        return;
    }
    char pass_id[64];
    memcpy(pass_id, cap, (size_t)(dot - cap));
    pass_id[dot - cap] = '\0';
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_req_db(req, &err);
    if (!db) {
        wp_resp_from_err(req, &err);
        return;
    }
    json_object *doc = NULL, *res = NULL, *acct = NULL, *buttons = NULL;
    wp_status st = wp_pass_load_by_share(dom, db, pass_id, dot + 1, &doc, &err);
    if (st == WP_ENOTFOUND) {
        not_found(req);
        return;
    }
    if (st == WP_OK && (!json_object_object_get_ex(doc, "pass", &res) || !json_object_object_get_ex(doc, "account_id", &acct)))
        st = wp_err_set(&err, WP_EINTERNAL, "share page: the pass document is incomplete");
    if (st == WP_OK && json_object_object_get_ex(res, "account_deleted", NULL)) {
        json_object_put(doc);
        wp_resp_error(req, 410, "invalid_request_error", "account_deleted", NULL,
                      "this pass's account was deleted: the link no longer works");
        return;
    }
    if (st == WP_OK) st = wp_pass_links(dom, json_object_get_string(acct), req, res, 1, &buttons, &err);
    if (st != WP_OK) {
        json_object_put(doc);
        wp_resp_from_err(req, &err);
        return;
    }
    buf b = {0};
    const char *share_url = str_of(res, "share_url");
    render_page(&b, res, buttons, share_url ? share_url : "", wp_share_device_of(wp_req_header(req, "User-Agent")));
    json_object_put(buttons);
    json_object_put(doc);
    if (b.oom) {
        free(b.s);
        wp_resp_error(req, 500, "api_error", "internal_error", NULL, "out of memory");
        return;
    }
    send_headers(req);
    wp_resp_raw(req, 200, "text/html; charset=utf-8", b.s, b.len);
    free(b.s);
}

wp_status wp_share_routes(wp_router *rt, wp_domain *dom, wp_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char b64[EVP_MAX_MD_SIZE * 2];
    if (!EVP_Digest(page_css, sizeof page_css - 1, md, &mdlen, EVP_sha256(), NULL))
        return wp_err_set(err, WP_ECRYPTO, "share page: SHA-256 of its style failed");
    EVP_EncodeBlock(b64, md, (int)mdlen);
    snprintf(csp, sizeof csp,
             "default-src 'none'; style-src 'sha256-%s'; img-src data: https:; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'none'",
             (const char *)b64);
    return wp_router_add(rt, "GET", "/p/:capability", WP_AUTH_PUBLIC, share_page, dom, "core", err);
}
