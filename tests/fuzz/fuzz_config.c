/*
 * fuzz_config.c: libFuzzer target for the config loader (config.h):
 * config_load_string() on the input as config text.
 *
 * An input holding a NUL byte is refused (-1): config_load() refuses such a
 * file before parsing, and a string stops at the NUL anyway. Checked:
 *  - on failure: one line in the error buffer, starting "FILE:" with the
 *    name we gave; loading again into a 16-byte buffer gives a prefix of it;
 *  - on success, what the loader promises: exactly one backend with role
 *    primary (and config_primary() returns it); names unique among
 *    listeners, users and backends; every value and every list length
 *    within the bounds of its key in config_keys[] (strings among their
 *    choices); workers resolved to at least 1; each user found by
 *    config_find_user(); one reference, and config_get()/config_put()
 *    balance (ASan and LeakSanitizer see the frees).
 * libconfig itself is not instrumented; it leaks a token on some syntax
 * errors (tests/lsan.supp suppresses that library's leaks).
 */
#include "fuzz.h"

#include "halyard/config/config.h"

#define NAME "fuzz.conf"

static const struct config_key *key(const char *path)
{
    for (size_t i = 0; i < config_n_keys; i++) {
        if (strcmp(config_keys[i].path, path) == 0)
            return &config_keys[i];
    }
    fuzz_fail(__FILE__, __LINE__, path);
    return NULL;
}

static void check_int(const char *path, long long v)
{
    const struct config_key *k = key(path);
    FUZZ_CHECK(k->type == CONFIG_INT);
    FUZZ_CHECK(k->max == 0 || (v >= k->min && v <= k->max));
}

static void check_str(const char *path, const char *s)
{
    const struct config_key *k = key(path);
    FUZZ_CHECK(k->type == CONFIG_STRING && s != NULL);
    size_t len = strlen(s);
    FUZZ_CHECK(k->max == 0 || (len >= (size_t)k->min && len <= (size_t)k->max));
    if (k->choices == NULL)
        return;
    for (const char *p = k->choices;;) {
        size_t n = strcspn(p, "|");
        if (n == len && strncmp(p, s, n) == 0)
            return;
        FUZZ_CHECK(p[n] == '|');
        p += n + 1;
    }
}

static void check_count(const char *path, size_t n)
{
    const struct config_key *k = key(path);
    FUZZ_CHECK(k->type == CONFIG_LIST);
    FUZZ_CHECK(n >= (size_t)k->min && (k->max == 0 || n <= (size_t)k->max));
}

static void check_config(const struct config *cfg)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};

    FUZZ_CHECK(cfg->refs == 1); /* a plain read of an atomic_int is a load */
    FUZZ_CHECK(cfg->path != NULL && strcmp(cfg->path, NAME) == 0);
    FUZZ_CHECK(cfg->workers >= 1);
    check_int("workers", cfg->workers);
    FUZZ_CHECK(cfg->log_level >= LOG_LEVEL_ERROR && cfg->log_level <= LOG_LEVEL_DEBUG);
    check_str("log_level", levels[cfg->log_level]);
    check_str("server_version", cfg->server_version);
    check_int("connect_timeout_ms", cfg->connect_timeout_ms);
    check_int("login_timeout_ms", cfg->login_timeout_ms);
    check_int("shutdown_timeout_ms", cfg->shutdown_timeout_ms);
    check_int("buffer_size", cfg->buffer_size);
    check_int("max_client_connections", cfg->max_client_connections);

    check_count("listeners", cfg->n_listeners);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_listener *l = &cfg->listeners[i];
        check_str("listeners.[].name", l->name);
        check_str("listeners.[].address", l->address);
        check_int("listeners.[].port", l->port);
        check_int("listeners.[].backlog", l->backlog);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(cfg->listeners[j].name, l->name) != 0);
    }

    check_count("users", cfg->n_users);
    for (size_t i = 0; i < cfg->n_users; i++) {
        const struct config_user *u = &cfg->users[i];
        check_str("users.[].name", u->name);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(cfg->users[j].name, u->name) != 0);
        FUZZ_CHECK(config_find_user(cfg, u->name, strlen(u->name)) == u);
    }

    check_count("backends", cfg->n_backends);
    size_t primaries = 0;
    const struct config_backend *primary = NULL;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *b = &cfg->backends[i];
        check_str("backends.[].name", b->name);
        check_str("backends.[].address", b->address);
        check_int("backends.[].port", b->port);
        check_int("backends.[].weight", b->weight);
        check_int("backends.[].max_connections", b->max_connections);
        FUZZ_CHECK(b->role == ROLE_PRIMARY || b->role == ROLE_REPLICA);
        check_str("backends.[].role", backend_role_to_str(b->role));
        if (b->role == ROLE_PRIMARY) {
            primaries++;
            primary = b;
        }
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(cfg->backends[j].name, b->name) != 0);
    }
    FUZZ_CHECK(primaries == 1 && config_primary(cfg) == primary);
}

static void check_error(const char *text, const char *err)
{
    FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
    FUZZ_CHECK(strchr(err, '\n') == NULL);

    /* The same failure, into a buffer too small for most messages. */
    char small[16];
    struct config *cfg = NULL;
    FUZZ_CHECK(config_load_string(text, NAME, &cfg, small, sizeof(small)) != HY_OK);
    FUZZ_CHECK(strlen(small) == strnlen(err, sizeof(small) - 1));
    FUZZ_CHECK(strncmp(small, err, sizeof(small) - 1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, 0, size) != NULL)
        return -1;
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';

    struct config *cfg = NULL;
    char err[512];
    if (config_load_string(text, NAME, &cfg, err, sizeof(err)) == HY_OK) {
        FUZZ_CHECK(cfg != NULL);
        check_config(cfg);
        FUZZ_CHECK(config_get(cfg) == cfg);
        config_put(cfg);
        config_put(cfg);
    } else {
        check_error(text, err);
    }
    free(text);
    return 0;
}
