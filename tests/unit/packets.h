/*
 * packets.h: the MySQL packets the unit tests build by hand, in one place:
 * a column definition (pk_coldef) and a length-encoded string
 * (pk_lenenc_str), byte for byte as MariaDB 10.11 sends them. Include
 * after <cmocka.h>.
 */
#ifndef HALYARD_TESTS_PACKETS_H
#define HALYARD_TESTS_PACKETS_H

#include <stdint.h>
#include <string.h>

#include "halyard/protocol/mysql_proto.h"

/* A column definition's fields; a NULL string is written empty. */
struct pk_col {
    const char *schema, *table, *org_table, *name, *org_name;
    uint16_t charset;
    uint32_t length;
    uint8_t type;
    uint16_t flags;
    uint8_t decimals;
};

/* The payload (no header) of the column definition `c` into out, which
 * has room for cap bytes; returns its length (the test fails if it does
 * not fit). */
static inline size_t pk_coldef(uint8_t *out, size_t cap, const struct pk_col *c)
{
    struct mysql_wr wr;
    mysql_wr_init(&wr, out, cap);
    const char *strs[6] = {"def", c->schema, c->table, c->org_table, c->name, c->org_name};
    for (int i = 0; i < 6; i++) {
        const char *s = strs[i] != NULL ? strs[i] : "";
        mysql_wr_lenenc_str(&wr, s, strlen(s));
    }
    mysql_wr_lenenc(&wr, 0x0c); /* the length of the fixed fields */
    mysql_wr_u16(&wr, c->charset);
    mysql_wr_u32(&wr, c->length);
    mysql_wr_u8(&wr, c->type);
    mysql_wr_u16(&wr, c->flags);
    mysql_wr_u8(&wr, c->decimals);
    mysql_wr_u16(&wr, 0); /* filler */
    size_t n = mysql_wr_len(&wr);
    assert_true(n > 0);
    return n;
}

/* s[0..n) as a length-encoded string at out (n < 251: one length byte);
 * returns the bytes written. */
static inline size_t pk_lenenc_str(uint8_t *out, const void *s, size_t n)
{
    assert_true(n < 251);
    out[0] = (uint8_t)n;
    memcpy(out + 1, s, n);
    return 1 + n;
}

#endif /* HALYARD_TESTS_PACKETS_H */
