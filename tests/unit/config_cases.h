/*
 * config_cases.h: configs that must not load, each with the whole message
 * config_load_string() gives, checked one by one, and a config that must
 * load (the rule tests share them). Include after <cmocka.h>.
 */
#ifndef HALYARD_TESTS_CONFIG_CASES_H
#define HALYARD_TESTS_CONFIG_CASES_H

#include <string.h>

#include "halyard/config/config.h"

struct bad_case {
    const char *text;
    const char *err; /* the whole message */
};

/* A config that must load; the test fails with its error otherwise. */
static inline struct config *load_ok(const char *text)
{
    struct config *cfg = NULL;
    char err[512];
    if (config_load_string(text, "t.conf", &cfg, err, sizeof(err)) != HY_OK)
        fail_msg("load failed: %s", err);
    return cfg;
}

/* Each case fails to load, with exactly its message, and leaves no config. */
static inline void check_bad_cases(const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct config *cfg = NULL;
        char err[512];
        hy_status_t rc = config_load_string(cases[i].text, "t.conf", &cfg, err, sizeof(err));
        if (rc != HY_ERROR)
            fail_msg("case %zu loaded; want \"%s\"", i, cases[i].err);
        if (strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu:\n got \"%s\"\nwant \"%s\"", i, err, cases[i].err);
        assert_null(cfg);
    }
}

#endif
