/*
 * test_kit.c: the core kit's clock (clock.h), hash (hash.h) and array
 * growth (grow.h).
 *
 *   - the clocks: monotonic never goes back; the units agree; a deadline
 *     is normalised
 *   - hy_hash64/hy_hash32_str: FNV-1a's published values, and the values
 *     the hashes that leave the process had before the kit (a backup's
 *     server_id, connreg's server key)
 *   - HY_GROW: doubles from `first`, keeps the elements, refuses to pass
 *     the capacity type's largest value and leaves the array as it was
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/core/clock.h"
#include "halyard/core/grow.h"
#include "halyard/core/hash.h"
#include "halyard/protocol/connreg.h"

static void test_clock(void **state)
{
    (void)state;
    int64_t a = hy_mono_us(), ms = hy_mono_ms();
    double s = hy_mono_s();
    int64_t b = hy_mono_us();
    assert_true(b >= a);
    assert_true(ms >= a / 1000 && ms <= b / 1000 + 1);
    assert_true(s * 1e6 >= (double)a - 1 && s * 1e6 <= (double)b + 1);
    int64_t w = hy_now_ms();
    assert_true(w > INT64_C(1700000000000)); /* after 2023 */
    assert_true(hy_now_us() / 1000 >= w);
    assert_true(hy_now_s() >= (double)w / 1000 - 1);
    struct timespec t = {.tv_sec = 10, .tv_nsec = 999000000};
    t = hy_ts_add_ms(t, 1500);
    assert_int_equal(t.tv_sec, 12);
    assert_int_equal(t.tv_nsec, 499000000);
    struct timespec d = hy_deadline_ms(2000), n = hy_now_ts();
    assert_true(d.tv_sec >= n.tv_sec + 1 && d.tv_sec <= n.tv_sec + 3);
    assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000);
}

static void test_hash(void **state)
{
    (void)state;
    assert_true(hy_hash64("", 0) == 0xcbf29ce484222325ull);
    assert_true(hy_hash64("a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(hy_hash64("foobar", 6) == 0x85944171f73967e8ull);
    assert_true(hy_hash64_str(HY_HASH64_INIT, "foobar", false) == 0x85944171f73967e8ull);
    assert_true(hy_hash64_str(HY_HASH64_INIT, "FooBar", true) == 0x85944171f73967e8ull);
    assert_true(hy_hash64_add(hy_hash64("foo", 3), "bar", 3) == 0x85944171f73967e8ull);
    assert_true(hy_hash32_str("a") == 0xe40c292cu);
    assert_true(hy_hash32_str("foobar") == 0xbf9cf968u);
    /* connreg's key of a server, as the loop it replaced computed it */
    assert_true(connreg_server("db1.example", 3306) == 0x0fbce55c6c8fbec2ull);
}

static void test_grow(void **state)
{
    (void)state;
    int *v = NULL;
    uint32_t cap = 0;
    for (int i = 0; i < 100; i++) {
        if ((uint32_t)i == cap) {
            uint32_t was = cap;
            assert_true(HY_GROW(v, cap, 4));
            assert_int_equal(cap, was == 0 ? 4 : was * 2);
        }
        v[i] = i;
    }
    assert_int_equal(cap, 128);
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i);
    free(v);

    /* a uint8_t capacity stops at 255 and the array stays as it was */
    char *c = NULL;
    uint8_t c8 = 0;
    assert_true(HY_GROW(c, c8, 100));
    assert_int_equal(c8, 100);
    assert_true(HY_GROW(c, c8, 100));
    assert_int_equal(c8, 200);
    assert_true(HY_GROW(c, c8, 100));
    assert_int_equal(c8, 255);
    char *before = c;
    assert_false(HY_GROW(c, c8, 100));
    assert_int_equal(c8, 255);
    assert_ptr_equal(c, before);
    free(c);

    /* size_t capacity, elements too big to double */
    struct big {
        char b[1 << 20];
    } *g = NULL;
    size_t gcap = SIZE_MAX / sizeof(*g) / 2 + 1;
    assert_false(HY_GROW(g, gcap, 1));
    assert_null(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
