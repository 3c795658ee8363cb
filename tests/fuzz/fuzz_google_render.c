/*
 * fuzz_google_render: the Google Wallet class and object renderer
 * (plugins/google-jwt) on any document shaped like host->pass_get's.  An
 * image callback stands in for the plugin's, so base64 images take the
 * hosted-URL path too.
 */
#include <stdio.h>

#include "fuzz.h"
#include "google_render.h"
#include "wpc_json.h"
#include "wpc_time.h"

static const char *image_url(void *ud, const char *name, const char *value)
{
    (void)ud;
    (void)value;
    return strcmp(name, "icon") == 0 ? "https://cdn.example.com/icon.png" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    json_object *pass = fz_parse(data + 1, size - 1);
    if (!pass) return 0;
    gr_render_opts o = {.issuer_id = "3388000000022122304", .account_id = "acct_01",
                        .default_logo_url = "https://gw.example/google/images/default-logo.png",
                        .image = (data[0] & 1) ? image_url : NULL, .now = 1760000000, .notify = (data[0] >> 1) & 1};
    json_object *cls = NULL, *obj = NULL;
    char err[256] = "";
    wp_status st = gr_render(pass, &o, &cls, &obj, err, sizeof err);
    if (st == WP_OK) {
        if (!cls || !obj) abort();
        (void)json_object_to_json_string_ext(cls, JSON_C_TO_STRING_PLAIN);
        (void)json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
        json_object_put(cls);
        json_object_put(obj);
    } else if (!err[0]) {
        fprintf(stderr, "gr_render refused without a message\n");
        abort();
    }
    char id[256];
    (void)gr_class_id(id, sizeof id, pass, &o);
    (void)gr_object_id(id, sizeof id, pass, &o);
    (void)gr_state(pass, o.now);
    const char *d = wpc_pass_str(pass, "expiration_date");
    if (d) (void)wpc_time_iso_parse(d);
    json_object_put(pass);
    return 0;
}
