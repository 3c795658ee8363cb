/*
 * tinywallet.c - a third wallet platform as a plugin (README.md): the pass
 * resource gets its keys, the share page its button, each pass a device
 * token of its own, and the wallet app a small device protocol.
 *
 *   filter pass.links   tinywallet_card_type, tinywallet_url (null when no
 *                       link is wanted), and a share_buttons entry
 *   GET /tinywallet/v1/cards/:pass_id?t=<capability>       the card, with its device token
 *   GET /tinywallet/v1/devices/cards/:serial               the card now; Authorization:
 *                                                          TinyWallet <device token>
 *
 * Threads: the filter and the routes run concurrently; nothing here is
 * written after init, and no json_object outlives a call.
 */
#include <stdio.h>
#include <string.h>

#include <walletpass/plugin.h>

#define CAP_PURPOSE "card"          /* pass_cap_token: the "add to Tiny Wallet" link */
#define TOKEN_NAME "device_token"   /* pass_secret_*: what the app sends back */
#define AUTH_SCHEME "TinyWallet "

static const wp_host *host; /* set in init, read-only afterwards */
static wp_plugin *self;

static json_object *jget(const json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null)) return NULL;
    return v;
}

static const char *jstr(const json_object *o, const char *k)
{
    json_object *v = jget(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* This wallet's names for the unified pass types. */
static const char *card_type(const char *pass_type)
{
    if (!pass_type) return NULL;
    if (strcmp(pass_type, "generic") == 0) return "card";
    if (strcmp(pass_type, "loyalty") == 0) return "membership";
    if (strcmp(pass_type, "coupon") == 0) return "voucher";
    if (strcmp(pass_type, "event") == 0) return "ticket";
    return NULL;
}

/* ---- pass.links ---------------------------------------------------------------- */

static wp_filter_result links_filter(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)err;
    json_object *pass = jget(doc, "pass");
    const char *id = jstr(pass, "id"), *type = card_type(jstr(pass, "pass_type"));
    json_object_object_add(doc, "tinywallet_card_type", type ? json_object_new_string(type) : NULL);
    json_object_object_add(doc, "tinywallet_url", NULL);
    json_object *buttons = jget(doc, "share_buttons");
    if (buttons && json_object_is_type(buttons, json_type_array)) {
        json_object *b = json_object_new_object(), *devs = json_object_new_array();
        json_object_array_add(devs, json_object_new_string("ios"));
        json_object_array_add(devs, json_object_new_string("android"));
        json_object_object_add(b, "link", json_object_new_string("tinywallet_url"));
        json_object_object_add(b, "label", json_object_new_string("Add to Tiny Wallet"));
        json_object_object_add(b, "wallet", json_object_new_string("Tiny Wallet"));
        json_object_object_add(b, "devices", devs);
        json_object_array_add(buttons, b);
    }
    json_object *want = jget(doc, "want_links");
    if (want && !json_object_get_boolean(want)) return WP_FILTER_MODIFIED;
    /* the tenant: the request's account, else the one the core names (batch jobs have no request) */
    const char *account = req ? host->req_account_id(req) : NULL;
    if (!account || !*account) account = jstr(doc, "account_id");
    if (!id || !account || !*account) return WP_FILTER_MODIFIED;
    char cap[128], url[1024];
    if (host->pass_cap_token(self, CAP_PURPOSE, account, id, cap, sizeof cap) != WP_OK) {
        host->log(self, WP_LOG_WARN, "pass %s: no card link: %s", id, host->last_error());
        return WP_FILTER_MODIFIED; /* no link rather than a broken one */
    }
    snprintf(url, sizeof url, "%s/tinywallet/v1/cards/%s?t=%s", host->public_url(self), id, cap);
    json_object_object_add(doc, "tinywallet_url", json_object_new_string(url));
    return WP_FILTER_MODIFIED;
}

/* ---- the card -------------------------------------------------------------------- */

/* The card of a pass (pass_get's shape); with token, the app's device token too. */
static json_object *card_of(const json_object *pass, const char *token)
{
    static const char *const titles[] = {"event_name", "offer_title", "program_name", "logo_text", "organization_name",
                                         NULL};
    const char *title = NULL;
    for (const char *const *k = titles; *k && !title; k++) title = jstr(pass, *k);
    json_object *c = json_object_new_object();
    const char *type = card_type(jstr(pass, "pass_type"));
    const char *serial = jstr(pass, "serial_number");
    json_object_object_add(c, "card_type", type ? json_object_new_string(type) : NULL);
    json_object_object_add(c, "serial_number", serial ? json_object_new_string(serial) : NULL);
    json_object_object_add(c, "title", json_object_new_string(title ? title : "Card"));
    json_object_object_add(c, "status", json_object_new_string(jstr(pass, "status") ? jstr(pass, "status") : "active"));
    json_object_object_add(c, "version", json_object_get(jget(pass, "version")));
    if (token) json_object_object_add(c, "device_token", json_object_new_string(token));
    char url[1024];
    snprintf(url, sizeof url, "%s/tinywallet/v1/devices/cards/%s", host->public_url(self), serial ? serial : "");
    json_object_object_add(c, "refresh_url", json_object_new_string(url));
    return c;
}

/* GET /tinywallet/v1/cards/:pass_id?t=<capability>: what "add to Tiny Wallet" downloads. */
static void get_card(wp_req *req, void *ud)
{
    (void)ud;
    const char *pass_id = host->req_param(req, "pass_id");
    char t[256], account[64];
    if (host->req_query(req, "t", t, sizeof t) != 1 ||
        host->pass_cap_verify(self, CAP_PURPOSE, pass_id, t, account, sizeof account) != WP_OK) {
        host->resp_error(req, 404, "resource_missing", "pass_id", "no such card, or the link is not valid");
        return;
    }
    json_object *pass = NULL;
    wp_status st = host->pass_get(self, account, pass_id, &pass);
    if (st != WP_OK) {
        host->resp_error(req, st == WP_ENOTFOUND ? 404 : 503, st == WP_ENOTFOUND ? "resource_missing" : "card_unavailable",
                         NULL, "the card could not be read");
        return;
    }
    /* The device token: the pass's own, minted the first time; sealed by the gateway. */
    char token[128];
    if (host->pass_secret_get(self, NULL, account, pass_id, TOKEN_NAME, WP_PASS_SECRET_MINT, token, sizeof token,
                              NULL) != WP_OK) {
        host->log(self, WP_LOG_WARN, "pass %s: no device token: %s", pass_id, host->last_error());
        json_object_put(pass);
        host->resp_header(req, "Retry-After", "1");
        host->resp_error(req, 503, "card_unavailable", NULL, "the card could not be made; retry");
        return;
    }
    json_object *card = card_of(pass, token);
    memset(token, 0, sizeof token);
    host->resp_header(req, "Cache-Control", "private, no-store");
    host->resp_json(req, 200, card);
    json_object_put(card);
    json_object_put(pass);
}

/* GET /tinywallet/v1/devices/cards/:serial: the app refreshes its card. */
static void refresh_card(wp_req *req, void *ud)
{
    (void)ud;
    const char *serial = host->req_param(req, "serial");
    const char *h = host->req_header(req, "Authorization");
    size_t n = strlen(AUTH_SCHEME);
    if (!h || strncmp(h, AUTH_SCHEME, n) != 0 || !h[n]) {
        host->resp_header(req, "WWW-Authenticate", "TinyWallet");
        host->resp_error(req, 401, "card_token_missing", NULL, "send Authorization: TinyWallet <device_token>");
        return;
    }
    json_object *pass = NULL;
    wp_status st = host->pass_secret_find(self, TOKEN_NAME, serial, h + n, &pass);
    if (st == WP_EAUTH) {
        /* the same answer for an unknown serial and a wrong token */
        host->resp_header(req, "WWW-Authenticate", "TinyWallet");
        host->resp_error(req, 401, "card_token_invalid", NULL, "no card with this serial number has this token");
        return;
    }
    if (st != WP_OK) {
        host->resp_header(req, "Retry-After", "1");
        host->resp_error(req, 503, "card_unavailable", NULL, "the card could not be read; retry");
        return;
    }
    json_object *card = card_of(pass, NULL);
    host->resp_header(req, "Cache-Control", "private, no-cache");
    host->resp_json(req, 200, card);
    json_object_put(card);
    json_object_put(pass);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static wp_status tinywallet_init(const wp_host *h, wp_plugin *me, const json_object *config)
{
    host = h;
    self = me;
    if (!WP_HOST_HAS(h, pass_secret_find) || !WP_HOST_HAS(h, pass_cap_token)) {
        h->init_error(me, "tinywallet needs plugin ABI 1.7 (pass_secret_get, pass_secret_find, pass_cap_token)");
        return WP_EABI;
    }
    json_object_object_foreach((json_object *)config, key, val) {
        (void)val;
        h->set_error(me, "config.%s: unknown key (tinywallet takes none)", key);
        return WP_ECONFIG;
    }
    wp_status st;
    if ((st = h->filter_add(me, "pass.links", WP_PRIO_DEFAULT, links_filter, NULL)) != WP_OK ||
        (st = h->route_add(me, "GET", "/tinywallet/v1/cards/:pass_id", WP_AUTH_PUBLIC, get_card, NULL)) != WP_OK ||
        (st = h->route_add(me, "GET", "/tinywallet/v1/devices/cards/:serial", WP_AUTH_PASS_TOKEN, refresh_card,
                           NULL)) != WP_OK) {
        h->set_error(me, "registering: %s", h->last_error());
        return st;
    }
    return WP_OK;
}

static void tinywallet_shutdown(wp_plugin *me) { (void)me; }

WP_PLUGIN_DEFINE("tinywallet", "1.0.0", "Tiny Wallet: a third wallet platform (an SDK example)", tinywallet_init,
                 tinywallet_shutdown)
