/* unit_google_render: the unified pass as Google Wallet class + object (Google Wallet API reference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "google_render.h"

#define ISSUER "3388000000022122304"

static gr_render_opts opts(void)
{
    gr_render_opts o = {.issuer_id = ISSUER, .account_id = "acct_01", .default_logo_url = "https://gw.example/google/images/default-logo.png",
                        .now = 1760000000};
    return o;
}

static json_object *pass_of(const char *json)
{
    json_object *p = json_tokener_parse(json);
    assert_non_null(p);
    return p;
}

static void render(const char *json, const gr_render_opts *o, json_object **cls, json_object **obj)
{
    json_object *p = pass_of(json);
    char err[256] = "";
    assert_int_equal(gr_render(p, o, cls, obj, err, sizeof err), WP_OK);
    json_object_put(p);
}

static int has(json_object *o, const char *k) { return json_object_object_get_ex(o, k, NULL); }
static const char *str(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}
static const char *lval(json_object *o, const char *k)
{
    json_object *v = NULL, *dv = NULL, *val = NULL;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_object_get_ex(v, "defaultValue", &dv) ||
        !json_object_object_get_ex(dv, "value", &val))
        return NULL;
    return json_object_get_string(val);
}
static const char *image_uri(json_object *o, const char *k)
{
    json_object *v = NULL, *s = NULL, *u = NULL;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_object_get_ex(v, "sourceUri", &s) ||
        !json_object_object_get_ex(s, "uri", &u))
        return NULL;
    return json_object_get_string(u);
}

static void assert_id(const char *id)
{
    regex_t re;
    assert_int_equal(regcomp(&re, "^" ISSUER "\\.[A-Za-z0-9._-]+$", REG_EXTENDED | REG_NOSUB), 0);
    int m = regexec(&re, id, 0, NULL, 0);
    regfree(&re);
    if (m != 0) fail_msg("id \"%s\" does not match <issuer>.[A-Za-z0-9._-]+", id);
}

static void generic_fields(void **state)
{
    (void)state;
    gr_render_opts o = opts();
    o.notify = 1; /* generic has no notifyPreference even when asked */
    json_object *c, *b;
    render("{\"id\":\"pass_1\",\"pass_type\":\"generic\",\"organization_name\":\"Acme Gym\",\"background_color\":\"#4285f4\","
           "\"primary_fields\":[{\"key\":\"member\",\"label\":\"Member\",\"value\":\"Jane Doe\"}],"
           "\"barcode_message\":\"M-123\",\"barcode_alt_text\":\"M-123\"}", &o, &c, &b);
    assert_string_equal(str(c, "id"), ISSUER ".acct_01_generic");
    assert_false(has(c, "reviewStatus"));
    assert_false(has(c, "issuerName"));
    assert_false(has(c, "hexBackgroundColor"));
    assert_string_equal(str(b, "id"), ISSUER ".pass_1");
    assert_string_equal(str(b, "classId"), str(c, "id"));
    assert_string_equal(lval(b, "cardTitle"), "Acme Gym");
    assert_string_equal(lval(b, "header"), "Jane Doe");
    assert_string_equal(lval(b, "subheader"), "Member");
    assert_string_equal(str(b, "hexBackgroundColor"), "#4285f4");
    assert_string_equal(str(b, "state"), "ACTIVE");
    assert_false(has(b, "notifyPreference"));
    assert_string_equal(image_uri(b, "logo"), "https://gw.example/google/images/default-logo.png");
    json_object *bc = json_object_object_get(b, "barcode");
    assert_string_equal(str(bc, "type"), "QR_CODE");
    assert_string_equal(str(bc, "value"), "M-123");
    assert_string_equal(str(bc, "alternateText"), "M-123");
    json_object_put(c);
    json_object_put(b);
}

static void loyalty_fields(void **state)
{
    (void)state;
    gr_render_opts o = opts();
    o.notify = 1;
    json_object *c, *b;
    render("{\"id\":\"pass_2\",\"pass_type\":\"loyalty\",\"organization_name\":\"Solstice Coffee Co.\",\"logo_text\":\"Solstice\","
           "\"background_color\":\"#1a1a2e\",\"primary_fields\":[{\"key\":\"points\",\"label\":\"Points\",\"value\":\"2,450\"}],"
           "\"barcode_message\":\"MEMBER-00421\",\"account_id\":\"M-421\",\"account_name\":\"Jane\",\"points\":2450}", &o, &c, &b);
    assert_string_equal(str(c, "issuerName"), "Solstice Coffee Co.");
    assert_string_equal(str(c, "programName"), "Solstice");
    assert_string_equal(str(c, "reviewStatus"), "UNDER_REVIEW");
    assert_string_equal(str(c, "hexBackgroundColor"), "#1a1a2e");   /* on the loyalty class ... */
    assert_false(has(b, "hexBackgroundColor"));                      /* ... never on its object */
    assert_string_equal(image_uri(c, "programLogo"), "https://gw.example/google/images/default-logo.png");
    assert_string_equal(str(b, "state"), "ACTIVE");
    assert_string_equal(str(b, "accountId"), "M-421");
    assert_string_equal(str(b, "notifyPreference"), "NOTIFY_ON_UPDATE");
    json_object *lp = json_object_object_get(b, "loyaltyPoints");
    assert_int_equal(json_object_get_int(json_object_object_get(json_object_object_get(lp, "balance"), "int")), 2450);
    json_object *tm = json_object_object_get(b, "textModulesData");
    assert_int_equal(json_object_array_length(tm), 1);
    assert_string_equal(str(json_object_array_get_idx(tm, 0), "header"), "Points");
    assert_string_equal(str(json_object_array_get_idx(tm, 0), "body"), "2,450");
    json_object_put(c);
    json_object_put(b);
}

static void offer_fields(void **state)
{
    (void)state;
    gr_render_opts o = opts();
    json_object *c, *b;
    render("{\"id\":\"pass_3\",\"pass_type\":\"coupon\",\"organization_name\":\"Acme\",\"offer_title\":\"20% off\","
           "\"redemption_channel\":\"online\",\"background_color\":\"#aa0000\",\"valid_until\":\"2030-12-31T23:59:59Z\","
           "\"barcode_message\":\"C-1\",\"barcode_format\":\"code128\"}", &o, &c, &b);
    assert_string_equal(str(c, "issuerName"), "Acme");
    assert_string_equal(str(c, "provider"), "Acme");
    assert_string_equal(str(c, "title"), "20% off");
    assert_string_equal(str(c, "redemptionChannel"), "ONLINE");
    assert_string_equal(str(c, "reviewStatus"), "UNDER_REVIEW");
    assert_string_equal(str(c, "hexBackgroundColor"), "#aa0000");
    assert_false(has(b, "hexBackgroundColor"));
    assert_false(has(b, "notifyPreference"));
    assert_string_equal(str(b, "state"), "ACTIVE");
    assert_string_equal(str(json_object_object_get(b, "barcode"), "type"), "CODE_128");
    json_object *vti = json_object_object_get(b, "validTimeInterval");
    assert_string_equal(str(json_object_object_get(vti, "end"), "date"), "2030-12-31T23:59:59Z");
    json_object_put(c);
    json_object_put(b);
}

static void event_fields(void **state)
{
    (void)state;
    gr_render_opts o = opts();
    json_object *c, *b;
    render("{\"id\":\"pass_4\",\"pass_type\":\"event\",\"organization_name\":\"Acme\",\"event_name\":\"Summer Concert\","
           "\"venue_name\":\"Arena\",\"event_start\":\"2030-06-01T19:00:00+02:00\",\"seat_number\":\"42\",\"seat_row\":\"F\","
           "\"serial_number\":\"T-123\",\"background_color\":\"#000000\",\"barcode_message\":\"T\",\"barcode_format\":\"pdf417\","
           "\"images\":{\"logo\":\"https://cdn.example.com/l.png\",\"hero\":\"https://cdn.example.com/h.png\"}}", &o, &c, &b);
    assert_string_equal(str(c, "issuerName"), "Acme");
    assert_string_equal(lval(c, "eventName"), "Summer Concert");
    assert_string_equal(str(c, "reviewStatus"), "UNDER_REVIEW");
    json_object *venue = json_object_object_get(c, "venue");
    assert_string_equal(lval(venue, "name"), "Arena");
    assert_string_equal(lval(venue, "address"), "Arena"); /* required once venue is set */
    assert_string_equal(str(json_object_object_get(c, "dateTime"), "start"), "2030-06-01T19:00:00+02:00");
    assert_string_equal(image_uri(c, "logo"), "https://cdn.example.com/l.png");
    assert_string_equal(image_uri(b, "heroImage"), "https://cdn.example.com/h.png");
    assert_string_equal(lval(json_object_object_get(b, "seatInfo"), "seat"), "42");
    assert_string_equal(lval(json_object_object_get(b, "seatInfo"), "row"), "F");
    assert_string_equal(str(b, "ticketNumber"), "T-123");
    assert_string_equal(str(b, "hexBackgroundColor"), "#000000");
    assert_string_equal(str(json_object_object_get(b, "barcode"), "type"), "PDF_417");
    json_object_put(c);
    json_object_put(b);
}

static void ids_and_classes(void **state)
{
    (void)state;
    char id[256];
    assert_int_equal(gr_make_id(id, sizeof id, ISSUER, "pass 1/ä+x"), 0);
    assert_id(id);
    assert_string_equal(id, ISSUER ".pass_1____x"); /* "ä" is two bytes: two underscores */
    gr_render_opts o = opts();
    json_object *c1, *b1, *c2, *b2, *c3, *b3;
    render("{\"id\":\"pass a\",\"pass_type\":\"loyalty\",\"organization_name\":\"A\",\"template_id\":\"tpl_9\"}", &o, &c1, &b1);
    render("{\"id\":\"pass_b\",\"pass_type\":\"loyalty\",\"organization_name\":\"A\",\"template_id\":\"tpl_9\"}", &o, &c2, &b2);
    render("{\"id\":\"pass_c\",\"pass_type\":\"loyalty\",\"organization_name\":\"A\"}", &o, &c3, &b3);
    assert_string_equal(str(c1, "id"), str(c2, "id"));               /* one class per template */
    assert_string_equal(str(c1, "id"), ISSUER ".tpl_9_loyalty");
    assert_string_equal(str(c3, "id"), ISSUER ".acct_01_loyalty");   /* per account and type without */
    assert_string_equal(str(b1, "id"), ISSUER ".pass_a");
    assert_id(str(b1, "id"));
    assert_id(str(c3, "id"));
    json_object *objs[] = {c1, b1, c2, b2, c3, b3};
    for (int i = 0; i < 6; i++) json_object_put(objs[i]);
}

static void barcodes_and_body(void **state)
{
    (void)state;
    static const char *const fmts[][2] = {{"qr", "QR_CODE"}, {"pdf417", "PDF_417"}, {"aztec", "AZTEC"}, {"code128", "CODE_128"}};
    gr_render_opts o = opts();
    for (int i = 0; i < 4; i++) {
        char js[256];
        /* fields under "body" are found too */
        snprintf(js, sizeof js, "{\"id\":\"p\",\"pass_type\":\"generic\",\"body\":{\"organization_name\":\"A\",\"barcode_message\":\"X\",\"barcode_format\":\"%s\"}}", fmts[i][0]);
        json_object *c, *b;
        render(js, &o, &c, &b);
        assert_string_equal(str(json_object_object_get(b, "barcode"), "type"), fmts[i][1]);
        assert_string_equal(lval(b, "cardTitle"), "A");
        json_object_put(c);
        json_object_put(b);
    }
    json_object *c, *b;
    render("{\"id\":\"p\",\"pass_type\":\"generic\",\"organization_name\":\"A\"}", &o, &c, &b);
    assert_false(has(b, "barcode"));
    json_object_put(c);
    json_object_put(b);
}

static void logo_fallbacks(void **state)
{
    (void)state;
    gr_render_opts o = opts();
    json_object *c, *b;
    /* base64 logo has no public URL here: the https icon is next */
    render("{\"id\":\"p\",\"pass_type\":\"loyalty\",\"organization_name\":\"A\",\"images\":{\"logo\":\"iVBORw0KGgoAAAA=\","
           "\"icon\":\"https://cdn.example.com/icon.png\"}}", &o, &c, &b);
    assert_string_equal(image_uri(c, "programLogo"), "https://cdn.example.com/icon.png");
    json_object_put(c);
    json_object_put(b);
    render("{\"id\":\"p\",\"pass_type\":\"loyalty\",\"organization_name\":\"A\",\"images\":{\"logo\":\"https://cdn.example.com/logo.png\","
           "\"icon\":\"https://cdn.example.com/icon.png\"}}", &o, &c, &b);
    assert_string_equal(image_uri(c, "programLogo"), "https://cdn.example.com/logo.png");
    json_object_put(c);
    json_object_put(b);
}

static void states_and_locations(void **state)
{
    (void)state;
    gr_render_opts o = opts();
    json_object *c, *b;
    render("{\"id\":\"p\",\"pass_type\":\"event\",\"organization_name\":\"A\",\"event_name\":\"E\",\"status\":\"voided\"}", &o, &c, &b);
    assert_string_equal(str(b, "state"), "INACTIVE");
    json_object_put(c);
    json_object_put(b);
    render("{\"id\":\"p\",\"pass_type\":\"coupon\",\"organization_name\":\"A\",\"offer_title\":\"T\",\"expiration_date\":\"2020-01-01T00:00:00Z\"}", &o, &c, &b);
    assert_string_equal(str(b, "state"), "EXPIRED");
    json_object_put(c);
    json_object_put(b);
    char js[2048] = "{\"id\":\"p\",\"pass_type\":\"generic\",\"organization_name\":\"A\",\"locations\":[";
    for (int i = 0; i < 12; i++)
        snprintf(js + strlen(js), sizeof js - strlen(js), "%s{\"latitude\":%d.5,\"longitude\":2.25}", i ? "," : "", i);
    strcat(js, "]}");
    render(js, &o, &c, &b);
    json_object *ml = json_object_object_get(b, "merchantLocations");
    assert_int_equal(json_object_array_length(ml), 10);
    assert_true(json_object_get_double(json_object_object_get(json_object_array_get_idx(ml, 1), "latitude")) == 1.5);
    json_object_put(c);
    json_object_put(b);
}

static void refusals(void **state)
{
    (void)state;
    gr_render_opts o = opts();
    json_object *c, *b, *p = pass_of("{\"id\":\"p\",\"pass_type\":\"boarding\"}");
    char err[256] = "";
    assert_int_equal(gr_render(p, &o, &c, &b, err, sizeof err), WP_EINVAL);
    assert_non_null(strstr(err, "boarding"));
    assert_null(c);
    json_object_put(p);
    p = pass_of("{\"pass_type\":\"generic\"}");
    assert_int_equal(gr_render(p, &o, &c, &b, err, sizeof err), WP_EINVAL);
    json_object_put(p);
    o.issuer_id = NULL;
    p = pass_of("{\"id\":\"p\",\"pass_type\":\"generic\"}");
    assert_int_equal(gr_render(p, &o, &c, &b, err, sizeof err), WP_EINVAL);
    assert_non_null(strstr(err, "issuer_id"));
    json_object_put(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generic_fields), cmocka_unit_test(loyalty_fields), cmocka_unit_test(offer_fields),
        cmocka_unit_test(event_fields),   cmocka_unit_test(ids_and_classes), cmocka_unit_test(barcodes_and_body),
        cmocka_unit_test(logo_fallbacks), cmocka_unit_test(states_and_locations), cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
