/* apple_credkind.c - see apple_credkind.h. */
#include "apple_credkind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apple_credcheck.h"

static const wp_host *host;
/* Written by init only, read-only afterwards. */
static bool require_wwdr;
static char *trust_pem; /* wwdr_ca_file's contents, or NULL */

/* Strings that may exceed the gateway's limits.max_string_bytes. */
static const char *const long_fields[] = {"p12_base64", "wwdr_pem", NULL};

bool apple_credkind_config_key(const char *key)
{
    return strcmp(key, "require_apple_wwdr") == 0 || strcmp(key, "wwdr_ca_file") == 0;
}

static wp_status validate(void *ud, wp_req *req, const json_object *body, json_object **secret, json_object **meta,
                          wp_err *err)
{
    (void)ud, (void)req;
    apple_credcheck_opts opts = {.require_apple_wwdr = require_wwdr, .trusted_pem = trust_pem};
    apple_credcheck_err e;
    memset(&e, 0, sizeof e);
    wp_status st = apple_credcheck(body, time(NULL), &opts, secret, meta, &e);
    if (st != WP_OK) host->error_set(err, e.status, e.code, e.param[0] ? e.param : NULL, "%s", e.msg);
    return st;
}

static wp_status load_trust(wp_plugin *self, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        host->set_error(self, "config.wwdr_ca_file %s: %s", path, strerror(errno));
        return WP_ECONFIG;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (buf) n = fread(buf, 1, cap + 1, f);
    fclose(f);
    if (!buf) {
        host->set_error(self, "out of memory");
        return WP_ENOMEM;
    }
    if (n > cap) {
        free(buf);
        host->set_error(self, "config.wwdr_ca_file %s: larger than 1 MiB", path);
        return WP_ECONFIG;
    }
    buf[n] = '\0';
    char what[1100];
    snprintf(what, sizeof what, "config.wwdr_ca_file %s", path);
    apple_credcheck_err e;
    memset(&e, 0, sizeof e);
    if (apple_credcheck_trust_pem(buf, what, NULL, &e) != WP_OK) {
        free(buf);
        host->set_error(self, "%s", e.msg);
        return e.status;
    }
    trust_pem = buf;
    return WP_OK;
}

wp_status apple_credkind_init(const wp_host *h, wp_plugin *self, const json_object *config)
{
    host = h;
    require_wwdr = false;
    json_object *v = NULL;
    if (json_object_object_get_ex(config, "require_apple_wwdr", &v) && v) {
        if (!json_object_is_type(v, json_type_boolean)) {
            h->set_error(self, "config.require_apple_wwdr: must be true or false");
            return WP_ECONFIG;
        }
        require_wwdr = json_object_get_boolean(v);
    }
    const char *file = NULL;
    if (json_object_object_get_ex(config, "wwdr_ca_file", &v) && v) {
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0) {
            h->set_error(self, "config.wwdr_ca_file: must be the path of a PEM file with Apple's WWDR intermediate "
                         "certificates, or null");
            return WP_ECONFIG;
        }
        file = json_object_get_string(v);
    }
    if (require_wwdr && !file) {
        h->set_error(self, "config.wwdr_ca_file: required when config.require_apple_wwdr is true (a PEM file with "
                     "Apple's WWDR intermediate certificates)");
        return WP_ECONFIG;
    }
    if (!WP_HOST_HAS(h, credential_kind_register)) {
        h->set_error(self, "apple-signer needs plugin ABI 1.6 (credential_kind_register)");
        return WP_EABI;
    }
    wp_status st;
    if (file && (st = load_trust(self, file)) != WP_OK) return st;
    wp_credential_kind kind = WP_CREDENTIAL_KIND_INIT;
    kind.name = "apple";
    kind.display_name = "Apple";
    kind.validate = validate;
    kind.long_fields = long_fields;
    if ((st = h->credential_kind_register(self, &kind)) != WP_OK) {
        h->set_error(self, "%s", h->last_error());
        apple_credkind_shutdown();
        return st;
    }
    return WP_OK;
}

void apple_credkind_shutdown(void)
{
    free(trust_pem);
    trust_pem = NULL;
}
