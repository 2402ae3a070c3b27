/*
 * accounts.c: the servers' accounts as data (see accounts.h): a row of
 * mysql.global_priv made an account, sorted and matched in MariaDB's
 * order, and the stand-in account the server fails an unknown name with.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"
#include "halyard/protocol/accounts.h"
#include "halyard/protocol/auth.h"

#define NATIVE_NAME   "mysql_native_password"
#define SOCKET_NAME   "unix_socket"
#define OLD_NAME      "mysql_old_password"
#define HOST_MAXLEN   255 /* the server's max_hostname_length */
#define MAGIC_BITS    30
#define WILD_MANY     '%'
#define WILD_ONE      '_'
#define WILD_PREFIX   '\\'
#define SECONDS_A_DAY 86400

/* ---- parsing a row ------------------------------------------------------ */

static bool copy_text(char *dst, size_t cap, const char *v)
{
    if (v == NULL)
        v = "";
    size_t n = strlen(v);
    if (n >= cap)
        return false;
    memcpy(dst, v, n + 1);
    return true;
}

static long long num_or(const char *v, long long dflt)
{
    int64_t x;
    return v != NULL && hy_parse_i64(v, strlen(v), INT64_MIN, INT64_MAX, &x) ? x : dflt;
}

/* MariaDB's hostname_requires_resolving(): a name with a letter that is
 * neither 'localhost' nor a pattern, an address or a network. */
static bool host_needs_resolving(const char *h)
{
    if (strcasecmp(h, "localhost") == 0)
        return false;
    if (strpbrk(h, ":%_/") != NULL)
        return false;
    for (const char *p = h; *p; p++) {
        if (isalpha((unsigned char)*p))
            return true;
    }
    return false;
}

/* "a.b.c.d" into `out` (host order); false if it is not that. */
static bool parse_ipv4(const char *s, size_t len, uint32_t *out)
{
    char buf[16];
    struct in_addr a;
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &a) != 1)
        return false;
    *out = ntohl(a.s_addr);
    return true;
}

/* One authentication method of the account, folded into `out`. */
struct methods {
    bool native_ok;   /* a native method with a usable string was seen */
    bool old_ok;      /* a mysql_old_password method with a usable string */
    bool other;       /* a method halyard cannot check */
    bool last_socket; /* the last method is unix_socket */
    bool any_socket;  /* ... or any is */
};

static void take_method(struct account *out, struct methods *m, const char *plugin,
                        const char *string)
{
    if (plugin == NULL || *plugin == '\0' || strcasecmp(plugin, NATIVE_NAME) == 0) {
        m->last_socket = false;
        bool empty = false;
        uint8_t h2[20];
        if (!m->native_ok && auth_hash_parse(string != NULL ? string : "", h2, &empty) == HY_OK) {
            m->native_ok = true;
            out->no_password = empty;
            memcpy(out->h2, h2, sizeof(h2));
        }
        return;
    }
    if (strcasecmp(plugin, SOCKET_NAME) == 0) {
        m->last_socket = m->any_socket = true;
        return;
    }
    if (strcasecmp(plugin, OLD_NAME) == 0) {
        m->last_socket = false;
        bool empty = false;
        uint32_t h[2];
        if (!m->old_ok && auth_old_hash_parse(string != NULL ? string : "", h, &empty) == HY_OK) {
            m->old_ok = true;
            if (!m->native_ok) /* native's no_password wins: halyard checks that one */
                out->no_password = empty;
            memcpy(out->old_hash, h, sizeof(h));
        }
        return;
    }
    m->last_socket = false;
    if (!m->other) {
        m->other = true;
        copy_text(out->plugin, sizeof(out->plugin), plugin);
    }
}

hy_status_t accounts_parse_row(const char *const *row, bool name_resolve, struct account *out,
                               char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    if (!copy_text(out->user, sizeof(out->user), row[ACOL_USER]) ||
        !copy_text(out->host, sizeof(out->host), row[ACOL_HOST])) {
        snprintf(why, whylen, "user or host name too long");
        return HY_ERROR;
    }
    if (row[ACOL_IS_ROLE] != NULL && strcmp(row[ACOL_IS_ROLE], "true") == 0)
        return HY_AGAIN;
    if (!name_resolve && host_needs_resolving(out->host))
        return HY_AGAIN; /* the server ignores it too (skip_name_resolve) */

    struct methods m = {0};
    long long n_or = num_or(row[ACOL_OR_COUNT], 0);
    if (n_or <= 0) {
        take_method(out, &m, row[ACOL_PLUGIN], row[ACOL_AUTH_STRING]);
    } else {
        for (long long i = 0; i < n_or && i < 3; i++) {
            const char *p = row[ACOL_OR0_PLUGIN + 2 * i];
            const char *str = row[ACOL_OR0_STRING + 2 * i];
            if (p == NULL) /* {}: the top-level method */
                take_method(out, &m, row[ACOL_PLUGIN], row[ACOL_AUTH_STRING]);
            else
                take_method(out, &m, p, str);
        }
    }
    out->fail_no_mention = m.last_socket;
    out->fail_no_mention_empty = m.any_socket;
    out->auth = m.native_ok     ? ACCOUNT_NATIVE
                : m.old_ok      ? ACCOUNT_OLD
                : m.other       ? ACCOUNT_OTHER
                : m.last_socket ? ACCOUNT_UNIX_SOCKET
                                : ACCOUNT_INVALID;
    const char *sa = row[ACOL_SECURE_AUTH];
    out->secure_auth = sa == NULL || strcmp(sa, "0") != 0; /* unknown: as the default, ON */

    out->locked = row[ACOL_LOCKED] != NULL && strcmp(row[ACOL_LOCKED], "true") == 0;
    long long changed = num_or(row[ACOL_LAST_CHANGED], -1);
    out->expired = changed == 0;
    long long lifetime = num_or(row[ACOL_LIFETIME], -1);
    if (lifetime < 0)
        lifetime = num_or(row[ACOL_DEFAULT_LIFETIME], 0);
    if (lifetime > 0 && changed > 0)
        out->expires_at = (int64_t)(changed + lifetime * SECONDS_A_DAY);
    long long ssl = num_or(row[ACOL_SSL_TYPE], 0);
    out->ssl = ssl >= ACCOUNT_SSL_NONE && ssl <= ACCOUNT_SSL_SPECIFIED ? (enum account_ssl)ssl
                                                                       : ACCOUNT_SSL_SPECIFIED;
    if (!copy_text(out->x509_subject, sizeof(out->x509_subject), row[ACOL_X509_SUBJECT]) ||
        !copy_text(out->x509_issuer, sizeof(out->x509_issuer), row[ACOL_X509_ISSUER])) {
        snprintf(why, whylen, "x509 subject or issuer too long");
        return HY_ERROR;
    }
    long long muc = num_or(row[ACOL_MAX_USER_CONN], 0);
    out->max_user_connections = muc > 0 && muc < 0x7fffffff ? (int)muc : 0;

    /* the server reads an empty host as '%' */
    const char *host = out->host[0] != '\0' ? out->host : "%";
    out->sort = accounts_sort_key(host, out->user);
    const char *slash = strchr(host, '/');
    out->has_mask = slash != NULL && parse_ipv4(host, (size_t)(slash - host), &out->ip) &&
                    parse_ipv4(slash + 1, strlen(slash + 1), &out->mask);
    if (!out->has_mask)
        out->ip = out->mask = 0;
    return HY_OK;
}

/* ---- order ------------------------------------------------------------ */

/* How specific a host pattern is, as MariaDB 10.11 encodes it: from the
 * count of plain characters (n), of '_' (m) and of runs of '%' (k), the
 * length left to a '%' (l), and the plain prefix before the first
 * wildcard (p). An exact name gives 0, the most specific; the number grows
 * with the set of names the pattern matches. */
static uint64_t host_magic(const char *pat)
{
    uint64_t n = 0, m = 0, k = 0, p = 0;
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == WILD_MANY) {
            if (k == 0 && m == 0)
                p = n;
            k++;
            while (pat[i + 1] == WILD_MANY)
                i++;
            continue;
        }
        if (pat[i] == WILD_ONE) {
            if (k == 0 && m == 0)
                p = n;
            m++;
            continue;
        }
        if (pat[i] == WILD_PREFIX && pat[i + 1])
            i++;
        n++;
    }
    if (k > 31)
        k = 31;
    if (m > 31)
        m = 31;
    uint64_t d = HOST_MAXLEN + 1, d1 = 32;
    uint64_t l = k > 0 && n + m < HOST_MAXLEN ? HOST_MAXLEN - n - m : 0;
    if (l > m)
        return (((l * 2 + 1) * d + k) * d1 + m) * d + p;
    return (((m * 2) * d + l) * d1 + k) * d + p;
}

uint64_t accounts_sort_key(const char *host, const char *user)
{
    uint64_t sort = host_magic(host != NULL ? host : "%") & ((1ull << MAGIC_BITS) - 1);
    sort = (sort << 1) + (user == NULL || *user == '\0');
    return ~sort;
}

static int account_cmp(const void *pa, const void *pb)
{
    const struct account *a = pa, *b = pb;
    int r = strcmp(a->user, b->user);
    if (r != 0)
        return r;
    if (a->sort != b->sort)
        return a->sort > b->sort ? -1 : 1;
    const char *ha = a->host[0] != '\0' ? a->host : "%";
    const char *hb = b->host[0] != '\0' ? b->host : "%";
    return -strcmp(ha, hb);
}

void accounts_sort(struct account_table *t)
{
    if (t->n > 1)
        qsort(t->v, t->n, sizeof(t->v[0]), account_cmp);
}

/* ---- matching ----------------------------------------------------------- */

/* `str` against the pattern `wild` ('%' any run, '_' one character, '\'
 * quotes the next), ASCII case folded when `fold`. */
static bool wild_match(const char *str, const char *wild, bool fold)
{
    while (*wild != '\0') {
        if (*wild == WILD_MANY) {
            while (*wild == WILD_MANY)
                wild++;
            if (*wild == '\0')
                return true;
            for (; *str != '\0'; str++) {
                if (wild_match(str, wild, fold))
                    return true;
            }
            return false;
        }
        if (*str == '\0')
            return false;
        if (*wild == WILD_ONE) {
            wild++;
            str++;
            continue;
        }
        if (*wild == WILD_PREFIX && wild[1] != '\0')
            wild++;
        char a = *str, b = *wild;
        if (fold ? toupper((unsigned char)a) != toupper((unsigned char)b) : a != b)
            return false;
        str++;
        wild++;
    }
    return *str == '\0';
}

bool accounts_host_match(const struct account *a, const char *hostname, const char *ip)
{
    uint32_t addr;
    if (a->has_mask && ip != NULL && parse_ipv4(ip, strlen(ip), &addr))
        return (addr & a->mask) == a->ip;
    const char *pat = a->host[0] != '\0' ? a->host : "%";
    return (hostname != NULL && wild_match(hostname, pat, true)) ||
           (ip != NULL && wild_match(ip, pat, false));
}

/* Index of the first account named `user` (the table is sorted by name). */
static size_t first_of(const struct account_table *t, const char *user)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->v[mid].user, user) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct account *accounts_find(const struct account_table *t, const char *user,
                                    const char *hostname, const char *ip)
{
    const struct account *found = NULL;
    for (size_t i = first_of(t, user); i < t->n && strcmp(t->v[i].user, user) == 0; i++) {
        if (accounts_host_match(&t->v[i], hostname, ip)) {
            found = &t->v[i];
            break;
        }
    }
    /* an anonymous account (sorted first) wins with a more specific host */
    for (size_t i = 0; i < t->n && t->v[i].user[0] == '\0'; i++) {
        if (found != NULL && t->v[i].sort <= found->sort)
            break;
        if (accounts_host_match(&t->v[i], hostname, ip))
            return &t->v[i];
    }
    return found;
}

/* ---- an unknown name ---------------------------------------------------- */

/* The server's hash of the name in latin1_swedish_ci (ASCII letters fold to
 * upper case; trailing spaces do not count), 64-bit. */
static uint64_t name_hash(const char *user)
{
    size_t len = strlen(user);
    while (len > 0 && user[len - 1] == ' ')
        len--;
    uint64_t a = 1, b = 4;
    for (size_t i = 0; i < len; i++) {
        uint64_t v = (uint64_t)toupper((unsigned char)user[i]);
        a ^= (((a & 63) + b) * v) + (a << 8);
        b += 3;
    }
    return a;
}

const struct account *accounts_stand_in(const struct account_table *t, const char *user)
{
    if (t->n == 0)
        return NULL;
    return &t->v[name_hash(user) % t->n];
}

bool accounts_loopback(const char *ip)
{
    uint32_t a;
    if (parse_ipv4(ip, strlen(ip), &a))
        return (a >> 24) == 127;
    return strcmp(ip, "::1") == 0;
}
