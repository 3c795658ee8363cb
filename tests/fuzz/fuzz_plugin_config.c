/*
 * fuzz_plugin_config: the SDK's configuration helper (walletpass/plugin_config.h)
 * on the input as a plugin's "config" object, with a key table holding every
 * type (nested object, string arrays, ranges, choices, a check function).  A
 * refusal must name a key path ("config..."), and what it accepts must lie
 * within the table's ranges.
 */
#include <stdbool.h>
#include <stdio.h>

#include <walletpass/plugin_config.h>

#include "fuzz.h"

typedef struct inner {
    char name[8];
    long n;
} inner;

typedef struct conf {
    char host[16];
    int port;
    size_t bytes;
    double rate;
    bool flag;
    int legacy;
    char mode[8];
    char path[12];
    char url[24];
    char **list;
    inner in;
} conf;

static const char *const modes[] = {"a", "bb", NULL};

static const char *path_check(const char *v) { return v[0] && v[0] != '/' ? "a path" : NULL; }

static const wp_cfg_key inner_keys[] = {
    WP_CFG_STRING("name", inner, name, "x", WP_CFG_REQUIRED),
    WP_CFG_INT("n", inner, n, 0, -5, 5),
    WP_CFG_END,
};

static const wp_cfg_key keys[] = {
    WP_CFG_STRING("host", conf, host, "h", WP_CFG_NONEMPTY),
    WP_CFG_INT("port", conf, port, 1, 1, 65535),
    WP_CFG_INT("bytes", conf, bytes, 0, 0, 1LL << 50),
    WP_CFG_NUMBER("rate", conf, rate, 1, 0, 10, WP_CFG_ABOVE_MIN),
    WP_CFG_BOOL("flag", conf, flag, false),
    WP_CFG_BOOL("legacy", conf, legacy, true),
    WP_CFG_ENUM("mode", conf, mode, "a", modes),
    WP_CFG_STRING_CHECK("path", conf, path, "", 0, path_check),
    WP_CFG_STRING("url", conf, url, "", WP_CFG_HTTP_URL),
    WP_CFG_STRINGS("list", conf, list, 4, WP_CFG_NONEMPTY),
    WP_CFG_OBJECT("in", conf, in, inner_keys, 0),
    WP_CFG_END,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_cstr(data, size);
    if (!text) return 0;
    json_object *doc = json_tokener_parse(text);
    free(text);
    conf c;
    memset(&c, 0, sizeof c);
    char why[300];
    wp_status st = wp_cfg_parse(keys, doc, &c, why, sizeof why);
    if (st == WP_OK) {
        if (c.port < 1 || c.port > 65535 || !(c.rate > 0 && c.rate <= 10) || !c.host[0] || c.in.n < -5 || c.in.n > 5 ||
            (strcmp(c.mode, "a") != 0 && strcmp(c.mode, "bb") != 0) || (c.path[0] && c.path[0] != '/')) {
            fprintf(stderr, "accepted a value outside the table\n");
            abort();
        }
        for (char **s = c.list; s && *s; s++)
            if (!**s) abort();
    } else if (st != WP_ECONFIG || strncmp(why, "config", 6) != 0) {
        fprintf(stderr, "refused (%d) without naming the key: \"%s\"\n", st, why);
        abort();
    }
    wp_cfg_free(keys, &c);
    json_object_put(doc);
    return 0;
}
