/*
 * test_json_strict.c - accept/reject tables for wp_json_parse_strict.
 *
 * Each table row is checked on its own and every mismatch is printed, so
 * one run shows all rows that disagree; the test then fails on the count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_strict.h"

static const char *const long_prefixes[] = {"images.icon", NULL};

/* Small limits so that the limit cases stay readable. */
static const wp_json_limits LIM = {
    .max_depth = 4, .max_string = 16, .max_long_string = 64, .long_prefixes = long_prefixes};

typedef struct {
    const char *name;
    const char *text;
    size_t len;         /* 0: strlen(text) */
    const char *param;  /* expected err.param */
    const char *code;   /* expected err.code (NULL: none) */
} reject_case;

static int str_eq(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static int check_reject(const reject_case *c)
{
    json_object *out = (json_object *)1;
    wp_err err;
    wp_err_clear(&err);
    size_t len = c->len ? c->len : strlen(c->text);
    wp_status st = wp_json_parse_strict(c->text, len, &LIM, &out, &err);
    int bad = 0;
    if (st != WP_EINVAL) {
        print_error("[%s] status %d, want WP_EINVAL (%d)\n", c->name, st, WP_EINVAL);
        bad = 1;
    }
    if (out != NULL) {
        print_error("[%s] *out not NULL on failure\n", c->name);
        json_object_put(out);
        bad = 1;
    }
    if (st != WP_OK && !str_eq(err.param, c->param)) {
        print_error("[%s] param \"%s\", want \"%s\" (msg: %s)\n", c->name, err.param, c->param, err.msg);
        bad = 1;
    }
    if (st != WP_OK && !str_eq(err.code, c->code)) {
        print_error("[%s] code %s, want %s (msg: %s)\n", c->name, err.code ? err.code : "NULL",
                    c->code ? c->code : "NULL", err.msg);
        bad = 1;
    }
    if (st != WP_OK && err.msg[0] == '\0') {
        print_error("[%s] empty message\n", c->name);
        bad = 1;
    }
    return bad;
}

#define IJ "invalid_json"

static const reject_case grammar_rejects[] = {
    /* comments */
    {"line comment", "// c\n{}", 0, "body", IJ},
    {"block comment", "{\"a\":1 /* c */}", 0, "body", IJ},
    {"comment before value", "{\"a\":/*c*/1}", 0, "a", IJ},
    /* trailing commas */
    {"trailing comma array", "[1,2,]", 0, "[2]", IJ},
    {"trailing comma object", "{\"a\":1,}", 0, "body", IJ},
    {"leading comma array", "[,1]", 0, "[0]", IJ},
    {"double comma", "[1,,2]", 0, "[1]", IJ},
    /* NaN / Infinity */
    {"NaN", "NaN", 0, "body", IJ},
    {"Infinity", "Infinity", 0, "body", IJ},
    {"-Infinity", "-Infinity", 0, "body", IJ},
    {"NaN in field", "{\"n\":NaN}", 0, "n", IJ},
    {"Infinity in array", "[Infinity]", 0, "[0]", IJ},
    /* single quotes */
    {"single-quoted value", "'a'", 0, "body", IJ},
    {"single-quoted key", "{'a':1}", 0, "body", IJ},
    {"single-quoted field", "{\"a\":'x'}", 0, "a", IJ},
    /* numbers */
    {"leading zero", "01", 0, "body", IJ},
    {"leading zero in array", "[01]", 0, "body", IJ},
    {"negative leading zero", "-01", 0, "body", IJ},
    {"plus sign", "+1", 0, "body", IJ},
    {"lone minus", "-", 0, "body", IJ},
    {"dot without fraction", "1.", 0, "body", IJ},
    {"dot first", ".5", 0, "body", IJ},
    {"exponent without digits", "1e", 0, "body", IJ},
    {"exponent sign only", "1e+", 0, "body", IJ},
    {"hex", "0x10", 0, "body", IJ},
    /* numbers json-c would turn into inf or clamp */
    {"overflowing exponent", "1e400", 0, "body", IJ},
    {"overflowing negative exponent", "-1e400", 0, "body", IJ},
    {"overflowing double in field", "{\"a\":1.5e999}", 0, "a", IJ},
    {"integer past int64", "9223372036854775808", 0, "body", IJ},
    {"integer below int64", "[-9223372036854775809]", 0, "[0]", IJ},
    {"very long integer", "[123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890]",
     0, "[0]", IJ},
    /* unescaped control characters */
    {"raw newline in string", "\"a\nb\"", 0, "body", IJ},
    {"raw tab in field", "{\"s\":\"a\tb\"}", 0, "s", IJ},
    {"raw NUL in string", "\"a\0b\"", 5, "body", IJ},
    {"escaped NUL", "\"a\\u0000b\"", 0, "body", IJ},
    {"unknown escape", "\"\\x41\"", 0, "body", IJ},
    {"short \\u escape", "\"\\u12\"", 0, "body", IJ},
    {"non-hex \\u escape", "\"\\u12G4\"", 0, "body", IJ},
    /* invalid UTF-8 */
    {"overlong 2-byte", "\"\xC0\xAF\"", 0, "body", IJ},
    {"overlong 2-byte C1", "\"\xC1\xBF\"", 0, "body", IJ},
    {"overlong 3-byte", "\"\xE0\x80\xAF\"", 0, "body", IJ},
    {"overlong 4-byte", "\"\xF0\x80\x80\xAF\"", 0, "body", IJ},
    {"UTF-8 high surrogate", "\"\xED\xA0\x80\"", 0, "body", IJ},
    {"UTF-8 low surrogate", "\"\xED\xBF\xBF\"", 0, "body", IJ},
    {"truncated 2-byte", "\"\xC3\"", 0, "body", IJ},
    {"truncated 3-byte", "\"\xE2\x82\"", 0, "body", IJ},
    {"truncated 4-byte", "\"\xF0\x9F\x98\"", 0, "body", IJ},
    {"truncated at end of input", "\"\xE2\x82", 0, "body", IJ},
    {"lone continuation byte", "\"\x80\"", 0, "body", IJ},
    {"byte F5", "\"\xF5\x80\x80\x80\"", 0, "body", IJ},
    {"byte FF", "\"\xFF\"", 0, "body", IJ},
    {"above U+10FFFF", "\"\xF4\x90\x80\x80\"", 0, "body", IJ},
    {"invalid UTF-8 in key", "{\"\xC3\":1}", 0, "body", IJ},
    {"invalid UTF-8 in nested field", "{\"a\":{\"b\":\"\xFE\"}}", 0, "a.b", IJ},
    {"invalid UTF-8 outside string", "[\xC3\xA9]", 0, "[0]", IJ},
    /* lone surrogate escapes */
    {"lone high surrogate", "\"\\uD83D\"", 0, "body", IJ},
    {"lone high surrogate then text", "\"\\uD83Dx\"", 0, "body", IJ},
    {"high surrogate then BMP escape", "\"\\uD83D\\u0041\"", 0, "body", IJ},
    {"two high surrogates", "\"\\uD83D\\uD83D\"", 0, "body", IJ},
    {"lone low surrogate", "\"\\uDE00\"", 0, "body", IJ},
    {"reversed pair", "\"\\uDE00\\uD83D\"", 0, "body", IJ},
    {"lone surrogate in field", "{\"k\":[\"ok\",\"\\udc00\"]}", 0, "k[1]", IJ},
    /* trailing data, BOM, empty */
    {"two values", "{} {}", 0, "body", IJ},
    {"trailing garbage", "[1]x", 0, "body", IJ},
    {"trailing comma after value", "1,", 0, "body", IJ},
    {"trailing NUL", "{}\0", 3, "body", IJ},
    {"BOM", "\xEF\xBB\xBF{}", 0, "body", IJ},
    {"empty input", "", 0, "body", IJ},
    {"whitespace only", " \n\t ", 0, "body", IJ},
    /* structure */
    {"unterminated object", "{\"a\":1", 0, "body", IJ},
    {"unterminated array", "[1", 0, "body", IJ},
    {"unterminated string", "\"abc", 0, "body", IJ},
    {"missing colon", "{\"a\" 1}", 0, "body", IJ},
    {"unquoted key", "{a:1}", 0, "body", IJ},
    {"bad literal", "tru", 0, "body", IJ},
    {"capitalised literal", "True", 0, "body", IJ},
    {"literal prefix", "nulls", 0, "body", IJ},
    {"vertical tab as space", "\v1", 0, "body", IJ},
    {"form feed as space", "[1,\f2]", 0, "[1]", IJ},
    {"non-breaking space", "[\xC2\xA0" "1]", 0, "[0]", IJ},
};

static void test_grammar_rejects(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof grammar_rejects / sizeof grammar_rejects[0]; i++)
        bad += check_reject(&grammar_rejects[i]);
    assert_int_equal(bad, 0);
}

/* Limits: depth, string length, duplicate keys.  max_depth 4, max_string 16. */
static const reject_case limit_rejects[] = {
    {"duplicate key", "{\"a\":1,\"a\":2}", 0, "a", NULL},
    {"duplicate key, escaped spelling", "{\"a\":1,\"\\u0061\":2}", 0, "a", NULL},
    {"duplicate key, escaped solidus", "{\"a/b\":1,\"a\\/b\":2}", 0, "a/b", NULL},
    {"duplicate key, surrogate pair vs raw UTF-8", "{\"\xF0\x9F\x98\x80\":1,\"\\ud83d\\ude00\":2}", 0,
     "\xF0\x9F\x98\x80", NULL},
    {"duplicate key, nested", "{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", 0, "x.b", NULL},
    {"duplicate key in array element", "{\"primary_fields\":[{},{\"key\":1,\"key\":2}]}", 0,
     "primary_fields[1].key", NULL},
    {"duplicate empty key", "{\"\":1,\"\":2}", 0, "", NULL},
    {"depth 5 of 4 (arrays)", "[[[[[]]]]]", 0, "[0][0][0][0]", NULL},
    {"depth 5 of 4 (objects)", "{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}", 0, "a.b.c.d", NULL},
    {"depth 5 of 4 (mixed)", "{\"a\":[{\"b\":[[1]]}]}", 0, "a[0].b[0]", NULL},
    {"deep nesting, far past the limit",
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 0, "[0][0][0][0]", NULL},
    {"string 17 of 16 at top level", "\"12345678901234567\"", 0, "body", NULL},
    {"string 17 of 16 in field", "{\"primary_fields\":[{},{},{\"value\":\"12345678901234567\"}]}", 0,
     "primary_fields[2].value", NULL},
    {"escapes count after unescaping (17)", "{\"s\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9a\"}", 0,
     "s", NULL},
    {"long string outside long_prefixes", "{\"images\":{\"logo\":\"123456789012345678901234567890\"}}", 0,
     "images.logo", NULL},
    {"long string under a prefix-alike key", "{\"images\":{\"iconic\":\"123456789012345678901234567890\"}}", 0,
     "images.iconic", NULL},
    {"long string over max_long_string", "{\"images\":{\"icon\":\""
     "12345678901234567890123456789012345678901234567890123456789012345\"}}", 0, "images.icon", NULL},
};

static void test_limit_rejects(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof limit_rejects / sizeof limit_rejects[0]; i++)
        bad += check_reject(&limit_rejects[i]);
    assert_int_equal(bad, 0);
}

typedef struct {
    const char *name;
    const char *text;
    size_t len;
    /* json-c's rendering of the result (JSON_C_TO_STRING_PLAIN), or NULL for "null" output */
    const char *plain;
} accept_case;

static const accept_case accepts[] = {
    {"empty object", "{}", 0, "{}"},
    {"empty array", "[]", 0, "[]"},
    {"nested", " { \"a\" : [ 1 , { \"b\" : [ ] } ], \"c\" : { \"d\" : [ null ] } } ", 0,
     "{\"a\":[1,{\"b\":[]}],\"c\":{\"d\":[null]}}"},
    {"depth exactly 4", "[[[[1]]]]", 0, "[[[[1]]]]"},
    {"depth exactly 4, objects", "{\"a\":{\"b\":{\"c\":{\"d\":\"x\"}}}}", 0, "{\"a\":{\"b\":{\"c\":{\"d\":\"x\"}}}}"},
    {"top-level number", "42", 0, "42"},
    {"top-level negative zero", "-0", 0, "0"},
    {"top-level string", "\"hi\"", 0, "\"hi\""},
    {"top-level true", "true", 0, "true"},
    {"top-level false", "false", 0, "false"},
    {"top-level null", "null", 0, NULL},
    {"top-level with whitespace", "\r\n\t 7 \r\n", 0, "7"},
    {"exponent", "[1e2,1E+2,1e-2,-1.5e3,0.5,0e0]", 0, NULL /* checked below */},
    {"string exactly 16", "{\"s\":\"1234567890123456\"}", 0, "{\"s\":\"1234567890123456\"}"},
    {"escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""},
    {"BMP unicode escape", "\"\\u00e9\\u20AC\"", 0, "\"\xC3\xA9\xE2\x82\xAC\""},
    {"surrogate pair", "\"\\ud83d\\ude00\"", 0, "\"\xF0\x9F\x98\x80\""},
    {"surrogate pair, upper case hex", "\"\\uD83D\\uDE00\"", 0, "\"\xF0\x9F\x98\x80\""},
    {"highest code point", "\"\\uDBFF\\uDFFF\"", 0, "\"\xF4\x8F\xBF\xBF\""},
    {"raw UTF-8", "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF\"", 0,
     "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF\""},
    {"DEL is not a control character", "\"\x7F\"", 0, NULL},
    {"same key in different objects", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}", 0, "{\"a\":{\"a\":1},\"b\":{\"a\":2}}"},
    {"keys differing in case", "{\"a\":1,\"A\":2}", 0, "{\"a\":1,\"A\":2}"},
    {"keys that are prefixes", "{\"ab\":1,\"a\":2,\"abc\":3}", 0, "{\"ab\":1,\"a\":2,\"abc\":3}"},
    {"long string under long prefix", "{\"images\":{\"icon\":\"123456789012345678901234567890\"}}", 0,
     "{\"images\":{\"icon\":\"123456789012345678901234567890\"}}"},
    {"long string below long prefix", "{\"images\":{\"icon\":[\"123456789012345678901234567890\"]}}", 0,
     "{\"images\":{\"icon\":[\"123456789012345678901234567890\"]}}"},
    {"long key is not limited by max_string", "{\"abcdefghijklmnopqrstuvwxyz\":1}", 0,
     "{\"abcdefghijklmnopqrstuvwxyz\":1}"},
    {"big integer", "[9223372036854775807,-9223372036854775808]", 0,
     "[9223372036854775807,-9223372036854775808]"},
    {"largest double", "1.7976931348623157e308", 0, NULL},
    {"underflow is zero, not an error", "[1e-400]", 0, NULL},
    {"long fraction", "0.000000000000000000000000000000000000000000000000000000000000000000000000000001", 0, NULL},
};

static void test_accepts(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof accepts / sizeof accepts[0]; i++) {
        const accept_case *c = &accepts[i];
        json_object *out = NULL;
        wp_err err;
        wp_err_clear(&err);
        size_t len = c->len ? c->len : strlen(c->text);
        wp_status st = wp_json_parse_strict(c->text, len, &LIM, &out, &err);
        if (st != WP_OK) {
            print_error("[%s] refused: status %d param \"%s\" msg %s\n", c->name, st, err.param, err.msg);
            bad++;
            continue;
        }
        if (c->plain) {
            const char *got = out ? json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN) : "(NULL)";
            if (strcmp(got, c->plain) != 0) {
                print_error("[%s] parsed as %s, want %s\n", c->name, got, c->plain);
                bad++;
            }
        } else if (strcmp(c->name, "top-level null") == 0 && out != NULL) {
            print_error("[%s] want NULL object for null\n", c->name);
            bad++;
        }
        json_object_put(out);
    }
    assert_int_equal(bad, 0);
}

static void test_exponent_values(void **state)
{
    (void)state;
    const char *text = "[1e2,1E+2,1e-2,-1.5e3,0.5,0e0,2.5E-1]";
    const double want[] = {100, 100, 0.01, -1500, 0.5, 0, 0.25};
    json_object *out = NULL;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_json_parse_strict(text, strlen(text), &LIM, &out, &err), WP_OK);
    assert_non_null(out);
    assert_int_equal(json_object_array_length(out), 7);
    for (size_t i = 0; i < 7; i++) {
        double got = json_object_get_double(json_object_array_get_idx(out, i));
        assert_true(got > want[i] - 1e-12 && got < want[i] + 1e-12);
    }
    json_object_put(out);
}

/* Surrogate pairs decode to the right code point, not to CESU-8. */
static void test_surrogate_pair_value(void **state)
{
    (void)state;
    const char *text = "{\"e\":\"a\\uD83D\\uDE00b\"}";
    json_object *out = NULL, *e = NULL;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_json_parse_strict(text, strlen(text), &LIM, &out, &err), WP_OK);
    assert_true(json_object_object_get_ex(out, "e", &e));
    assert_int_equal(json_object_get_string_len(e), 6);
    assert_memory_equal(json_object_get_string(e), "a\xF0\x9F\x98\x80" "b", 6);
    json_object_put(out);
}

/* A text is checked only up to `len`: bytes past it are not read. */
static void test_len_bounds_input(void **state)
{
    (void)state;
    const char text[] = "{\"a\":1}GARBAGE";
    json_object *out = NULL;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_json_parse_strict(text, 7, &LIM, &out, &err), WP_OK);
    assert_non_null(out);
    json_object_put(out);
    /* a number cut by len is complete at len */
    assert_int_equal(wp_json_parse_strict("12345", 3, &LIM, &out, &err), WP_OK);
    assert_int_equal(json_object_get_int(out), 123);
    json_object_put(out);
}

/* The long-string allowance applies under the prefix only, and not to keys. */
static void test_no_long_prefixes(void **state)
{
    (void)state;
    wp_json_limits lim = {.max_depth = 4, .max_string = 16, .max_long_string = 64, .long_prefixes = NULL};
    const char *text = "{\"images\":{\"icon\":\"123456789012345678901234567890\"}}";
    json_object *out = NULL;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_json_parse_strict(text, strlen(text), &lim, &out, &err), WP_EINVAL);
    assert_string_equal(err.param, "images.icon");
    assert_null(out);
}

/* Object keys are limited to 1024 bytes. */
static void test_key_limit(void **state)
{
    (void)state;
    char text[2100];
    size_t n = 0;
    text[n++] = '{';
    text[n++] = '"';
    memset(text + n, 'k', 1025);
    n += 1025;
    memcpy(text + n, "\":1}", 4);
    n += 4;
    json_object *out = NULL;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_json_parse_strict(text, n, &LIM, &out, &err), WP_EINVAL);
    assert_string_equal(err.param, "body");
    /* 1024 is fine */
    memmove(text + 2 + 1024, text + 2 + 1025, 4);
    assert_int_equal(wp_json_parse_strict(text, n - 1, &LIM, &out, &err), WP_OK);
    json_object_put(out);
}

/* 100,000 keys with one duplicate at the very end: found, with n log n key comparisons.  Counted,
 * not timed: pairwise checking would make 5e9 of them, a sort about 2e6. */
static void test_many_keys_duplicate(void **state)
{
    (void)state;
    enum { N = 100000 };
    /* 4 n log2 n: twice a merge sort's worst case (n log2 n) plus the neighbour pass, with room */
    const unsigned long long bound = 4ULL * N * 17;
    size_t cap = (size_t)N * 16 + 64, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    text[n++] = '{';
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    size_t dup_at = n;
    n += (size_t)snprintf(text + n, cap - n, ",\"k%d\":0}", 4711);
    wp_json_limits lim = LIM;
    lim.max_depth = 4;
    json_object *out = NULL;
    wp_err err;
    wp_err_clear(&err);
    unsigned long long c0 = wp_json_strict_key_compares();
    assert_int_equal(wp_json_parse_strict(text, n, &lim, &out, &err), WP_EINVAL);
    unsigned long long used = wp_json_strict_key_compares() - c0;
    assert_null(out);
    assert_string_equal(err.param, "k4711");
    if (used > bound) fail_msg("%llu key comparisons for %d keys (at most %llu)", used, (int)N + 1, bound);

    /* Without the duplicate the same object parses, with as few comparisons. */
    memcpy(text + dup_at, "}", 2);
    c0 = wp_json_strict_key_compares();
    assert_int_equal(wp_json_parse_strict(text, dup_at + 1, &lim, &out, &err), WP_OK);
    used = wp_json_strict_key_compares() - c0;
    assert_int_equal(json_object_object_length(out), N);
    json_object_put(out);
    if (used > bound) fail_msg("%llu key comparisons for %d keys (at most %llu)", used, (int)N, bound);
    free(text);
}

/* A failure after a success leaves no stale param behind. */
static void test_error_fields_reset(void **state)
{
    (void)state;
    json_object *out = NULL;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_json_parse_strict("{\"a\":[1,]}", 10, &LIM, &out, &err), WP_EINVAL);
    assert_string_equal(err.param, "a[1]");
    assert_string_equal(err.code, "invalid_json");
    assert_int_equal(wp_json_parse_strict("\"12345678901234567\"", 19, &LIM, &out, &err), WP_EINVAL);
    assert_string_equal(err.param, "body");
    assert_null(err.code);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar_rejects),
        cmocka_unit_test(test_limit_rejects),
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_exponent_values),
        cmocka_unit_test(test_surrogate_pair_value),
        cmocka_unit_test(test_len_bounds_input),
        cmocka_unit_test(test_no_long_prefixes),
        cmocka_unit_test(test_key_limit),
        cmocka_unit_test(test_many_keys_duplicate),
        cmocka_unit_test(test_error_fields_reset),
    };
    return cmocka_run_group_tests_name("json_strict", tests, NULL, NULL);
}
