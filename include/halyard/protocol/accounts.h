/*
 * accounts.h: the accounts of the servers as halyard reads them from the
 * primary's mysql.global_priv (users_source = "backends" | "both"), and
 * the account a login is for, found as MariaDB finds it.
 *
 * Pure data: a row of the load query becomes a struct account
 * (accounts_parse_row), a table of them is sorted in the server's order
 * (accounts_sort), and a login's user name and client host give the
 * account that applies (accounts_find) or, for a name without one, the
 * account the server would take as the stand-in whose method decides the
 * error (accounts_stand_in). No I/O, no locks; users.c shares the table.
 *
 * MariaDB's order (sql_acl.cc, 10.11): accounts sorted by user name, then
 * by how specific the host pattern is (an exact name or address first,
 * then patterns by the wildcards' reach, '%' last), ties broken by the
 * host compared as bytes, descending ('localhost' before '127.0.0.1'). A
 * login takes the first account of its own name whose host matches, unless
 * an anonymous account ('' user) has a more specific matching host.
 */
#ifndef HALYARD_ACCOUNTS_H
#define HALYARD_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

#define ACCOUNT_USER_MAX 128 /* mysql.global_priv.User is char(128) */
#define ACCOUNT_HOST_MAX 255 /* ... and Host char(255) */
#define ACCOUNT_X509_MAX 255

/* How a client proves it is the account. */
enum account_auth {
    ACCOUNT_NATIVE,      /* mysql_native_password: h2, or no password */
    ACCOUNT_INVALID,     /* mysql_native_password with a string no password has ("invalid") */
    ACCOUNT_UNIX_SOCKET, /* unix_socket: never over TCP; the server answers 1698 */
    ACCOUNT_OLD,         /* mysql_old_password: old_hash, or no password (auth.h) */
    ACCOUNT_OTHER,       /* a method halyard cannot check from the stored string (`plugin`) */
};

/* REQUIRE ... as mysql.global_priv's ssl_type has it */
enum account_ssl {
    ACCOUNT_SSL_NONE = 0,
    ACCOUNT_SSL_ANY = 1,       /* REQUIRE SSL */
    ACCOUNT_SSL_X509 = 2,      /* REQUIRE X509: a verified client certificate */
    ACCOUNT_SSL_SPECIFIED = 3, /* REQUIRE SUBJECT / ISSUER / CIPHER */
};

struct account {
    char user[ACCOUNT_USER_MAX + 1];
    char host[ACCOUNT_HOST_MAX + 1]; /* the pattern as written */
    enum account_auth auth;
    char plugin[65];  /* the method's name (for ACCOUNT_OTHER's error) */
    bool no_password; /* ACCOUNT_NATIVE with an empty string */
    /* A failed login gets 1698, not 1045 (MariaDB's PASSWORD_USED_NO_MENTION):
     * unix_socket sets it, a password method given a password sets "using
     * password", one given none leaves it. So with a password: the last
     * method is unix_socket; without: any method is. */
    bool fail_no_mention;
    bool fail_no_mention_empty;
    uint8_t h2[20];       /* ACCOUNT_NATIVE: SHA1(SHA1(password)) */
    uint32_t old_hash[2]; /* ACCOUNT_OLD: hash_password(password) */
    bool secure_auth;     /* ACCOUNT_OLD: the server's secure_auth is ON: it refuses it */
    bool locked;          /* ACCOUNT LOCK */
    bool expired;         /* PASSWORD EXPIRE */
    int64_t expires_at;   /* unix time the password's lifetime ends; 0 = never */
    enum account_ssl ssl; /* REQUIRE */
    char x509_subject[ACCOUNT_X509_MAX + 1];
    char x509_issuer[ACCOUNT_X509_MAX + 1];
    int max_user_connections; /* 0 = no limit of its own */
    /* matching */
    uint64_t sort;     /* larger = more specific (host, then named user) */
    bool has_mask;     /* host is "a.b.c.d/m.m.m.m" */
    uint32_t ip, mask; /* ... in host byte order */
};

struct account_table {
    struct account *v; /* sorted by accounts_sort */
    size_t n;
    /* the server's settings read with them */
    bool name_resolve;       /* not skip_name_resolve: a loopback client is 'localhost' */
    bool disconnect_expired; /* disconnect_on_expired_password */
};

/* The columns of the load query (users.c) in order: User, Host, then
 * JSON_VALUE()s of Priv and the server's settings, as text (NULL = SQL
 * NULL). */
enum accounts_col {
    ACOL_USER,
    ACOL_HOST,
    ACOL_IS_ROLE,
    ACOL_PLUGIN,
    ACOL_AUTH_STRING,
    ACOL_OR0_PLUGIN, /* auth_or alternatives: {} (NULL plugin) is the top-level method */
    ACOL_OR0_STRING,
    ACOL_OR1_PLUGIN,
    ACOL_OR1_STRING,
    ACOL_OR2_PLUGIN,
    ACOL_OR2_STRING,
    ACOL_OR_COUNT,
    ACOL_LOCKED,
    ACOL_LAST_CHANGED,
    ACOL_LIFETIME,
    ACOL_SSL_TYPE,
    ACOL_X509_SUBJECT,
    ACOL_X509_ISSUER,
    ACOL_MAX_USER_CONN,
    ACOL_DEFAULT_LIFETIME,   /* @@default_password_lifetime */
    ACOL_SKIP_NAME_RESOLVE,  /* @@skip_name_resolve */
    ACOL_DISCONNECT_EXPIRED, /* @@disconnect_on_expired_password */
    ACOL_SECURE_AUTH,        /* @@secure_auth */
    ACOL_PRIV_MD5,           /* MD5(Priv): the whole row, to see any change of it */
    ACOL__COUNT,
};

/* One row into `out`. HY_OK: an account; HY_AGAIN: a row that is no
 * account for a login (a role, or a host name halyard would have to
 * resolve while the server skips such names); HY_ERROR: malformed
 * (`why` says what). */
hy_status_t accounts_parse_row(const char *const *row, bool name_resolve, struct account *out,
                               char *why, size_t whylen);

/* The sort key MariaDB gives an account of this host pattern and user. */
uint64_t accounts_sort_key(const char *host, const char *user);

/* Sort the table in the server's order. */
void accounts_sort(struct account_table *t);

/* Whether a client of `hostname` (NULL when not resolved) and `ip` (text)
 * matches the account's host pattern. */
bool accounts_host_match(const struct account *a, const char *hostname, const char *ip);

/* The account a login as `user` from (hostname, ip) is for, or NULL. */
const struct account *accounts_find(const struct account_table *t, const char *user,
                                    const char *hostname, const char *ip);

/* For a user name no account matches: the account the server picks (by a
 * hash of the name) to fail the login with, whose method decides the
 * error (unix_socket: 1698). NULL for an empty table. */
const struct account *accounts_stand_in(const struct account_table *t, const char *user);

/* Whether a client of this address text is a loopback one (127/8, ::1). */
bool accounts_loopback(const char *ip);

#endif /* HALYARD_ACCOUNTS_H */
