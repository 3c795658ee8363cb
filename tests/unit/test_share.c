/* test_share.c - the share page's device classes by User-Agent, and its QR code SVG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qrsvg.h"
#include "share.h"

#define IOS WP_DEVICE_IOS
#define MAC WP_DEVICE_MAC_SAFARI
#define ANDROID WP_DEVICE_ANDROID
#define OTHER WP_DEVICE_OTHER

static void test_device_by_user_agent(void **state)
{
    (void)state;
    static const struct { const char *ua; wp_share_device want; } cases[] = {
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/18.0 Mobile/15E148 Safari/604.1", IOS},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "CriOS/130.0 Mobile/15E148 Safari/604.1", IOS},
        {"Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15", IOS},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
         "Safari/605.1.15", MAC},
        {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile "
         "Safari/537.36", ANDROID},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 "
         "Safari/537.36", OTHER},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:131.0) Gecko/20100101 Firefox/131.0", OTHER},
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 "
         "Safari/537.36 Edg/130.0", OTHER},
        {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36", OTHER},
        {"curl/8.5.0", OTHER},
        {"", OTHER},
        {NULL, OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wp_share_device got = wp_share_device_of(cases[i].ua);
        if (got != cases[i].want)
            fail_msg("%s: device %s, want %s", cases[i].ua ? cases[i].ua : "(null)", wp_share_device_name(got),
                     wp_share_device_name(cases[i].want));
    }
    assert_string_equal(wp_share_device_name(IOS), "ios");
    assert_string_equal(wp_share_device_name(MAC), "mac-safari");
    assert_string_equal(wp_share_device_name(ANDROID), "android");
    assert_string_equal(wp_share_device_name(OTHER), "other");
}

static void test_qr_svg(void **state)
{
    (void)state;
    char *svg = NULL;
    assert_int_equal(wp_qr_svg("https://wallet.example.com/p/pass_x.abc", "QR <code> & \"more\"", &svg), WP_OK);
    assert_non_null(svg);
    assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 53) == 0);
    /* version 3 at level M holds the 39 bytes: 29 modules + 8 of quiet zone */
    assert_non_null(strstr(svg, "viewBox=\"0 0 37 37\""));
    assert_non_null(strstr(svg, "<title id=\"qr-title\">QR &lt;code&gt; &amp; &quot;more&quot;</title>"));
    assert_null(strstr(svg, "style="));
    /* the top-left finder pattern: a 7-module dark row at the quiet zone's corner */
    assert_non_null(strstr(svg, "d=\"M4 4h7v1h-7z"));
    assert_true(strlen(svg) > 500);
    free(svg);
    assert_int_equal(wp_qr_svg("", NULL, &svg), WP_EINVAL);
    assert_null(svg);
    char *big = malloc(5000);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    assert_int_equal(wp_qr_svg(big, NULL, &svg), WP_EINVAL);
    assert_null(svg);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_by_user_agent),
        cmocka_unit_test(test_qr_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
