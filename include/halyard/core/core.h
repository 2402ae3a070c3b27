/*
 * core.h: the few definitions every halyard module shares.
 *
 * One status type is returned everywhere a function can fail; callers must
 * look at it (HY_MUSTCHECK). Forward declarations let headers name each
 * other's types without including each other.
 */
#ifndef HALYARD_CORE_H
#define HALYARD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum hy_status {
    HY_OK = 0,
    HY_ERROR = -1, /* failed; the caller reports or closes */
    HY_AGAIN = -2, /* would block, or needs more input: call again later */
    HY_NOMEM = -3, /* an allocation failed */
} hy_status_t;

#define HY_MUSTCHECK    __attribute__((warn_unused_result))
#define HY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HY_UNUSED       __attribute__((unused))

#define hy_likely(x)   __builtin_expect(!!(x), 1)
#define hy_unlikely(x) __builtin_expect(!!(x), 0)

#define HY_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HY_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define HY_MAX(a, b)     ((a) > (b) ? (a) : (b))

/* Two strings, either of which may be NULL, are the same (two NULLs are). */
static inline bool hy_str_same(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The struct that embeds `member` at address `ptr` (libev watchers, list links). */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define HALYARD_VERSION "0.1.0"

/* A backend's role in its group (set by the monitor, read everywhere). */
enum backend_role {
    ROLE_PRIMARY = 0,
    ROLE_REPLICA = 1,
};

struct config;
struct config_backend;
struct backend_rt;
struct global_pos;
struct monitor;
struct config_user;
struct config_listener;
struct worker;
struct session;
struct bconn;
struct buf;

#endif /* HALYARD_CORE_H */
