/*
 * ps_text.h: a prepared statement's execution as text, and a text result
 * set as the binary protocol's (issue 15, scatter reads through
 * COM_STMT_EXECUTE).
 *
 * A prepared read of a sharded table whose key decides nothing (keyless,
 * a NULL key parameter, an IN list spanning groups) runs on every group as
 * the text scatter does (scatter_plan.h, scatter_merge.h). Its text is the
 * statement's with each `?` replaced by its parameter's value as a literal
 * the server reads as the same typed value (ps_text_interpolate), as
 * MariaDB itself writes a prepared statement into its binary log
 * (Item_param::query_val_str), with typed temporal literals:
 *  - NULL as NULL; integers as their decimal text; DECIMAL as its text
 *    (checked to be a decimal number); DOUBLE and FLOAT (widened to double,
 *    as the server does) as a double literal with 17 significant digits
 *    and an exponent (round-trips; "1.5000000000000000e+00");
 *  - strings as '...' in the connection's character set, as the server
 *    reads a string parameter (character_set_client, then the
 *    connection's): a quote doubled, and without NO_BACKSLASH_ESCAPES a
 *    backslash and NUL escaped. Bytes >= 0x80 only in character sets where
 *    a multi-byte character never holds a 0x5c byte (utf8mb3, utf8mb4,
 *    latin1, binary, ascii): elsewhere refused;
 *  - DATE as DATE'Y-M-D', DATETIME and TIMESTAMP as TIMESTAMP'Y-M-D
 *    h:m:s[.f]', TIME as TIME'[-]h:m:s[.f]' (a zero date refused);
 *  - negative numbers in parentheses, so `a-?` stays a subtraction.
 * Any other parameter type (BIT, GEOMETRY...), a value that does not
 * parse, or a `?` in the first SELECT's list (the server names the
 * column after the `?` and types it by the parameter: a literal would
 * change both) is refused: `why` names it.
 *
 * The merged answer (whole text-protocol packets, headers included) is
 * then written as a COM_STMT_EXECUTE's (ps_text_binary_resultset): the
 * same column count (with MariaDB's metadata_follows byte for a client
 * with MARIADB_CLIENT_CACHE_METADATA) and definitions, each row as a
 * binary row (0x00, the NULL bitmap at offset 2, the values by column
 * type: integers in the column's width, DOUBLE as 8 bytes, DECIMAL and
 * strings length-encoded, DATE/DATETIME/TIMESTAMP/TIME in their binary
 * forms). A FLOAT column (its text has 6 digits, not the value's), a
 * DOUBLE with fixed decimals (its text is rounded), or a value that does
 * not parse as its column's type is refused.
 *
 * Pure: no I/O. tests/unit/test_ps_text.c tests it.
 */
#ifndef HALYARD_PS_TEXT_H
#define HALYARD_PS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

/* The text of statement `sql` (`len` bytes, lexed with `lex_opts`, CLO_*)
 * executed with the parameters of the COM_STMT_EXECUTE `payload` (`plen`
 * bytes, command byte included, all of it), `n_params` parameters whose
 * types are the packet's, or `types` (the 2 * n_params bytes bound last)
 * when it binds none; `charset` is the connection's collation id. HY_OK:
 * *out (heap, NUL-terminated, the caller frees) and *out_len; HY_ERROR:
 * `why` says why (a 1105's text); HY_NOMEM. */
hy_status_t ps_text_interpolate(const char *sql, size_t len, unsigned lex_opts,
                                const uint8_t *payload, size_t plen, uint16_t n_params,
                                const uint8_t *types, uint16_t charset, char **out, size_t *out_len,
                                char *why, size_t why_len) HY_MUSTCHECK;

/* The binary-protocol form of a text result set: `in` (`len` bytes of
 * whole packets, headers included: a column count, its definitions, an
 * EOF unless `deprecate_eof`, rows, the closing EOF or OK). `ext_meta`:
 * the definitions carry MariaDB's extended metadata; `meta_follows`: the
 * client has MARIADB_CLIENT_CACHE_METADATA (the count gets its byte, 1:
 * the definitions follow). An answer that is not a result set (an OK) is
 * copied as it is. HY_OK: *out (heap) and *out_len; HY_ERROR: `why`;
 * HY_NOMEM. */
hy_status_t ps_text_binary_resultset(const uint8_t *in, size_t len, bool ext_meta,
                                     bool deprecate_eof, bool meta_follows, uint8_t **out,
                                     size_t *out_len, char *why, size_t why_len) HY_MUSTCHECK;

#endif /* HALYARD_PS_TEXT_H */
