/*
 * config_admin.c: the SQL admin port's part of halyard.conf (admin_sql.h):
 * admin_listen, where it listens, admin_require_tls, and admin_accounts, who
 * may log in there and with which role. config.c has the loader.
 */
#include <arpa/inet.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "halyard/config/config.h"
#include "halyard/core/text.h"
#include "halyard/protocol/auth.h"
#include "config_int.h"

hy_status_t config_admin_listen_parse(const char *spec, struct admin_listen_addr *out, char *why,
                                      size_t len)
{
    memset(out, 0, sizeof(*out));
    if (spec[0] == '/') {
        if (strlen(spec) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            snprintf(why, len, "a Unix socket path of at most %zu bytes",
                     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            return HY_ERROR;
        }
        out->unix_path = true;
        snprintf(out->path, sizeof(out->path), "%s", spec);
        return HY_OK;
    }
    const char *colon = strrchr(spec, ':');
    const char *host = spec;
    size_t hlen = colon != NULL ? (size_t)(colon - spec) : 0;
    if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    uint64_t port = 0;
    if (colon == NULL || hlen == 0 || hlen >= sizeof(out->host) ||
        !hy_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) || port < 1) {
        snprintf(why, len,
                 "expected \"HOST:PORT\" (\"[::1]:PORT\" for IPv6) or the absolute "
                 "path of a Unix socket");
        return HY_ERROR;
    }
    char h[64];
    memcpy(h, host, hlen);
    h[hlen] = '\0';
    if (strcmp(h, "localhost") == 0)
        snprintf(h, sizeof(h), "127.0.0.1");
    unsigned char a[16];
    bool loop = false;
    if (inet_pton(AF_INET, h, a) == 1) {
        loop = a[0] == 127;
    } else if (inet_pton(AF_INET6, h, a) == 1) {
        static const unsigned char one[16] = {[15] = 1};
        loop = memcmp(a, one, 16) == 0;
        out->v6 = true;
    } else {
        snprintf(why, len, "\"%s\" is not an IP address (or localhost)", h);
        return HY_ERROR;
    }
    out->loopback = loop;
    snprintf(out->host, sizeof(out->host), "%s", h);
    out->port = (int)port;
    return HY_OK;
}

static hy_status_t fill_account(struct loader *ld, config_setting_t *list, int i,
                                struct config_admin_account *acc)
{
    config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    if (cfg_check_unique_name(ld, list, i, "admin account", "admin_accounts") != HY_OK ||
        cfg_dup_str(ld, &acc->name, g, "admin_accounts.[].name") != HY_OK)
        return HY_ERROR;
    acc->role = strcmp(cfg_get_str(g, "admin_accounts.[].role"), "operator") == 0
                    ? ADMIN_ROLE_OPERATOR
                    : ADMIN_ROLE_READ_ONLY;
    bool empty = false;
    /* The hash is not echoed: with one login exchange it is as good as the
     * password. */
    if (auth_hash_parse(cfg_get_str(g, "admin_accounts.[].password_hash"), acc->h2, &empty) !=
            HY_OK ||
        empty) {
        char kname[KEYNAME_MAX];
        snprintf(kname, sizeof(kname), "admin_accounts.[%d].password_hash", i);
        return cfg_fail(ld, config_setting_get_member(g, "password_hash"), kname,
                        "not a password hash: expected \"*\" and 40 hex digits (as PASSWORD() "
                        "returns); an admin account must have a password");
    }
    return HY_OK;
}

hy_status_t cfg_fill_admin_sql(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    config_setting_t *list = config_setting_get_member(root, "admin_accounts");
    int n = list != NULL ? config_setting_length(list) : 0;
    cfg->admin_accounts = calloc(n > 0 ? (size_t)n : 1, sizeof(*cfg->admin_accounts));
    cfg->admin_listen = strdup(cfg_get_str(root, "admin_listen"));
    if (cfg->admin_accounts == NULL || cfg->admin_listen == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    hy_status_t rc = HY_OK;
    for (int i = 0; i < n; i++) {
        cfg->n_admin_accounts++;
        if (fill_account(ld, list, i, &cfg->admin_accounts[i]) != HY_OK)
            rc = HY_ERROR;
    }
    cfg->admin_require_tls = cfg_get_bool(root, "admin_require_tls");
    if (cfg->admin_require_tls && cfg_get_str(root, "tls_cert")[0] == '\0')
        return cfg_fail(ld, config_setting_get_member(root, "admin_require_tls"),
                        "admin_require_tls", "needs TLS: set tls_cert and tls_key");
    if (cfg_get_bool(root, "metrics_tls") && cfg_get_str(root, "tls_cert")[0] == '\0')
        return cfg_fail(ld, config_setting_get_member(root, "metrics_tls"), "metrics_tls",
                        "needs TLS: set tls_cert and tls_key");
    if (cfg_get_bool(root, "metrics_auth") && n == 0)
        return cfg_fail(ld, config_setting_get_member(root, "metrics_auth"), "metrics_auth",
                        "no admin_accounts: list at least one account to log in with");
    if (cfg->admin_listen[0] == '\0')
        return rc;
    config_setting_t *at = config_setting_get_member(root, "admin_listen");
    struct admin_listen_addr addr;
    char why[256];
    if (config_admin_listen_parse(cfg->admin_listen, &addr, why, sizeof(why)) != HY_OK)
        return cfg_fail(ld, at, "admin_listen", "%s", why);
    if (n == 0)
        return cfg_fail(ld, at, "admin_listen",
                        "no admin_accounts: list at least one account to log in with");
    if (addr.unix_path || addr.loopback)
        return rc;
    /* Another host may reach it: only over TLS, with the client listener's
     * certificate (config_tls.c checks the files). */
    const char *cert = cfg_get_str(root, "tls_cert"), *key = cfg_get_str(root, "tls_key");
    if (!cfg->admin_require_tls || cert[0] == '\0' || key[0] == '\0')
        return cfg_fail(ld, at, "admin_listen",
                        "%s is not a loopback address: the SQL admin port listens beyond "
                        "loopback (127.0.0.0/8, ::1) and Unix sockets only with TLS required "
                        "and a certificate: %s",
                        addr.host,
                        !cfg->admin_require_tls ? "set admin_require_tls = true"
                        : cert[0] == '\0'       ? "set tls_cert and tls_key"
                                                : "set tls_key");
    return rc;
}

void cfg_free_admin_sql(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_admin_accounts; i++)
        free(cfg->admin_accounts[i].name);
    free(cfg->admin_accounts);
    free(cfg->admin_listen);
}
