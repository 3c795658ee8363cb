/* test_keepalive.c - the advertised Keep-Alive timeout and when keep-alive is off altogether.
 * (The worker-share rule needs live connections: tests/integration/keep-alive.test.mjs.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keepalive.h"

static wp_config cfg_with(bool on, int timeout_ms, int threads)
{
    wp_config c;
    memset(&c, 0, sizeof c);
    c.keep_alive = on;
    c.keep_alive_timeout_ms = timeout_ms;
    c.num_threads = threads;
    return c;
}

static void test_hint_is_half_the_idle_timeout(void **state)
{
    (void)state;
    wp_config c = cfg_with(true, 65000, 50);
    assert_int_equal(wp_keepalive_hint_s(&c), 32);
    c.keep_alive_timeout_ms = 2000;
    assert_int_equal(wp_keepalive_hint_s(&c), 1);
    c.keep_alive_timeout_ms = 1999;
    assert_int_equal(wp_keepalive_hint_s(&c), 0);
}

static void test_off_when_disabled_or_too_short(void **state)
{
    (void)state;
    wp_config c = cfg_with(true, 65000, 50);
    assert_true(wp_keepalive_allowed(&c)); /* no connection is open in this process */
    c.keep_alive = false;
    assert_false(wp_keepalive_allowed(&c));
    c = cfg_with(true, 1999, 50); /* a client could not reuse it safely */
    assert_false(wp_keepalive_allowed(&c));
    c = cfg_with(true, 0, 50);
    assert_false(wp_keepalive_allowed(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hint_is_half_the_idle_timeout),
        cmocka_unit_test(test_off_when_disabled_or_too_short),
    };
    return cmocka_run_group_tests_name("keepalive", tests, NULL, NULL);
}
