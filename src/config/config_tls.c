/*
 * config_tls.c: the TLS part of halyard.conf (config.c has the loader):
 * the listeners' certificates and what halyard asks of the backends'.
 */
#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halyard/protocol/auth.h"
#include "halyard/sql/classify.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/config/rules.h"
#include "halyard/protocol/tls.h"
#include "config_int.h"

/* One TLS file setting as it applies to a group: its value, the setting
 * that gave it (for the message's line) and that setting's name. */
struct tls_file {
    const char *value;
    config_setting_t *where;
    char key[KEYNAME_MAX];
};

static enum tls_mode tls_mode_parse(const char *v)
{
    if (strcmp(v, "off") == 0)
        return TLS_OFF;
    if (strcmp(v, "on") == 0)
        return TLS_ON;
    if (strcmp(v, "verify-ca") == 0)
        return TLS_VERIFY_CA;
    if (strcmp(v, "verify-full") == 0)
        return TLS_VERIFY_FULL;
    return TLS_DEFAULT;
}

/* backends.[i].LEAF, or the top-level backend_LEAF when that is "". */
static void tls_file_pick(struct tls_file *f, config_setting_t *root, config_setting_t *g, int i,
                          const char *leaf)
{
    char path[64];
    snprintf(path, sizeof(path), "backends.[].%s", leaf);
    f->value = cfg_get_str(g, path);
    if (f->value[0] != '\0') {
        f->where = config_setting_get_member(g, leaf);
        snprintf(f->key, sizeof(f->key), "backends.[%d].%s", i, leaf);
        return;
    }
    snprintf(path, sizeof(path), "backend_%s", leaf);
    f->value = cfg_get_str(root, path);
    f->where = cfg_member_or_group(root, path);
    snprintf(f->key, sizeof(f->key), "%s", path);
}

/* Clients: the server context, and the keys that need it. */
hy_status_t cfg_fill_tls_server(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    if (cfg_dup_str(ld, &cfg->tls_cert, root, "tls_cert") != HY_OK ||
        cfg_dup_str(ld, &cfg->tls_key, root, "tls_key") != HY_OK ||
        cfg_dup_str(ld, &cfg->tls_ca, root, "tls_ca") != HY_OK ||
        cfg_dup_str(ld, &cfg->tls_ciphers, root, "tls_ciphers") != HY_OK ||
        cfg_dup_str(ld, &cfg->tls_ciphersuites, root, "tls_ciphersuites") != HY_OK)
        return HY_ERROR;
    cfg->tls_min_version = tls_version_parse(cfg_get_str(root, "tls_min_version"));
    const char *cert = cfg_get_str(root, "tls_cert");
    const char *key = cfg_get_str(root, "tls_key");
    const char *ca = cfg_get_str(root, "tls_ca");
    char kname[KEYNAME_MAX];
    if ((cert[0] == '\0') != (key[0] == '\0')) {
        const char *set = cert[0] != '\0' ? "tls_cert" : "tls_key";
        return cfg_fail(ld, config_setting_get_member(root, set), set,
                        "tls_cert and tls_key go together: set both or neither");
    }
    if (cert[0] == '\0') {
        if (ca[0] != '\0')
            return cfg_fail(ld, config_setting_get_member(root, "tls_ca"), "tls_ca",
                            "client certificates need TLS: set tls_cert and tls_key too");
        for (size_t i = 0; i < cfg->n_listeners; i++) {
            if (cfg->listeners[i].require_tls) {
                snprintf(kname, sizeof(kname), "listeners.[%zu].require_tls", i);
                return cfg_fail(ld, NULL, kname, "needs TLS: set tls_cert and tls_key");
            }
        }
        for (size_t i = 0; i < cfg->n_users; i++) {
            if (cfg->users[i].require_tls) {
                snprintf(kname, sizeof(kname), "users.[%zu].require_tls", i);
                return cfg_fail(ld, NULL, kname, "needs TLS: set tls_cert and tls_key");
            }
        }
    }
    for (size_t i = 0; i < cfg->n_users; i++) {
        if (cfg->users[i].tls_subject != NULL && ca[0] == '\0') {
            snprintf(kname, sizeof(kname), "users.[%zu].tls_subject", i);
            return cfg_fail(ld, NULL, kname,
                            "needs tls_ca (client certificates are asked for only with tls_ca)");
        }
    }
    if (cert[0] == '\0')
        return HY_OK;
    static const char *const leaf[] = {
        [TLS_SET_CERT] = "tls_cert",
        [TLS_SET_KEY] = "tls_key",
        [TLS_SET_CA] = "tls_ca",
        [TLS_SET_CIPHERS] = "tls_ciphers",
        [TLS_SET_CIPHERSUITES] = "tls_ciphersuites",
        [TLS_SET_OTHER] = "tls_cert",
    };
    struct tls_options o = {
        .cert = cert,
        .key = key,
        .ca = ca,
        .ciphers = cfg_get_str(root, "tls_ciphers"),
        .ciphersuites = cfg_get_str(root, "tls_ciphersuites"),
        .min_version = tls_version_parse(cfg_get_str(root, "tls_min_version")),
    };
    enum tls_setting what = TLS_SET_OTHER;
    char why[512];
    cfg->tls_server = tls_server_ctx_create(&o, &what, why, sizeof(why));
    if (cfg->tls_server == NULL)
        return cfg_fail(ld, cfg_member_or_group(root, leaf[what]), leaf[what], "%s", why);
    cfg->tls_verify_clients = ca[0] != '\0';
    return HY_OK;
}

/* Backends: each with TLS gets its own client context. */
hy_status_t cfg_fill_tls_backends(struct loader *ld, struct config *cfg, config_setting_t *root,
                                  config_setting_t *list)
{
    enum tls_mode def = tls_mode_parse(cfg_get_str(root, "backend_tls"));
    cfg->backend_tls = def;
    if (cfg_dup_str(ld, &cfg->backend_tls_ca, root, "backend_tls_ca") != HY_OK ||
        cfg_dup_str(ld, &cfg->backend_tls_cert, root, "backend_tls_cert") != HY_OK ||
        cfg_dup_str(ld, &cfg->backend_tls_key, root, "backend_tls_key") != HY_OK)
        return HY_ERROR;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct config_backend *b = &cfg->backends[i];
        if (cfg_dup_str(ld, &b->tls_ca, g, "backends.[].tls_ca") != HY_OK ||
            cfg_dup_str(ld, &b->tls_cert, g, "backends.[].tls_cert") != HY_OK ||
            cfg_dup_str(ld, &b->tls_key, g, "backends.[].tls_key") != HY_OK)
            return HY_ERROR;
        enum tls_mode m = tls_mode_parse(cfg_get_str(g, "backends.[].tls"));
        b->tls = m == TLS_DEFAULT ? def : m;
        if (b->tls == TLS_OFF)
            continue;
        struct tls_file ca, cert, key;
        tls_file_pick(&ca, root, g, (int)i, "tls_ca");
        tls_file_pick(&cert, root, g, (int)i, "tls_cert");
        tls_file_pick(&key, root, g, (int)i, "tls_key");
        char kname[KEYNAME_MAX];
        if ((b->tls == TLS_VERIFY_CA || b->tls == TLS_VERIFY_FULL) && ca.value[0] == '\0') {
            config_setting_t *t = config_setting_get_member(g, "tls");
            snprintf(kname, sizeof(kname), "backends.[%zu].tls", i);
            return cfg_fail(ld, t != NULL ? t : cfg_member_or_group(root, "backend_tls"),
                            t != NULL ? kname : "backend_tls",
                            "%s for backend \"%s\" needs the CA that signed its certificate: set "
                            "backend_tls_ca or backends.[%zu].tls_ca",
                            tls_mode_to_str(b->tls), b->name, i);
        }
        if ((cert.value[0] == '\0') != (key.value[0] == '\0')) {
            struct tls_file *set = cert.value[0] != '\0' ? &cert : &key;
            return cfg_fail(ld, set->where, set->key,
                            "a client certificate and its key go together: set both or neither");
        }
        struct tls_options o = {
            .cert = cert.value,
            .key = key.value,
            .ca = ca.value,
            .ciphers = cfg_get_str(root, "tls_ciphers"),
            .ciphersuites = cfg_get_str(root, "tls_ciphersuites"),
            .min_version = tls_version_parse(cfg_get_str(root, "tls_min_version")),
        };
        enum tls_setting what = TLS_SET_OTHER;
        char why[512];
        b->tls_ctx = tls_client_ctx_create(&o, b->tls, &what, why, sizeof(why));
        if (b->tls_ctx == NULL) {
            switch (what) {
            case TLS_SET_CA:
                return cfg_fail(ld, ca.where, ca.key, "%s", why);
            case TLS_SET_KEY:
                return cfg_fail(ld, key.where, key.key, "%s", why);
            case TLS_SET_CIPHERS:
                return cfg_fail(ld, cfg_member_or_group(root, "tls_ciphers"), "tls_ciphers", "%s",
                                why);
            case TLS_SET_CIPHERSUITES:
                return cfg_fail(ld, cfg_member_or_group(root, "tls_ciphersuites"),
                                "tls_ciphersuites", "%s", why);
            case TLS_SET_CERT:
            case TLS_SET_OTHER:
                break;
            }
            return cfg_fail(ld, cert.where, cert.key, "%s", why);
        }
    }
    return HY_OK;
}
