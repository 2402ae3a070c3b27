/*
 * text.h: the small text kit every layer shares: one UTF-8 check, one JSON
 * string escaper, one unsigned decimal parser. Pure, no allocation, any
 * thread.
 *
 * One rule for bytes that are not valid UTF-8 in JSON: each becomes
 * \ufffd, the replacement character. A JSON reader (jq, Python's json,
 * JavaScript) turns it into U+FFFD, which says "a byte here was not text";
 * the other common rule, \u00XX, would be read back as the Latin-1
 * character of that byte value (0xff as "ÿ"), a character the client never
 * sent. Valid UTF-8 passes as it is.
 */
#ifndef HALYARD_TEXT_H
#define HALYARD_TEXT_H

#include "halyard/core/core.h"

/* Length (2..4) of the valid UTF-8 multi-byte sequence at p, which has n
 * bytes left; 0 when p[0] does not start one (ASCII included), when the
 * sequence is cut short, overlong, a surrogate or above U+10FFFF. Reads
 * p[k] only after p[k-1] was a valid continuation, so a NUL-terminated
 * string may pass the bytes up to its NUL. */
size_t hy_utf8_len(const void *p, size_t n);

/* Whether s[0..n) is all valid UTF-8 (ASCII included); with !mb4, a 4-byte
 * sequence (MariaDB's utf8mb3) is refused too. */
bool hy_utf8_valid(const void *s, size_t n, bool mb4);

/* s[0..len) as the body of a JSON string, without the quotes: " and \
 * escaped, \n \r \t by name, other control bytes and DEL as \u00XX, valid
 * UTF-8 as it is, each byte that is not valid UTF-8 as \ufffd. Writes to
 * dst unless dst is NULL; returns the number of bytes written (or that
 * would be), never more than 6 * len. */
size_t hy_json_escape(char *dst, const char *s, size_t len);

/* All of p[0..len) as an unsigned decimal number no larger than max into
 * *v: at least one digit, digits only (no sign, space or base prefix;
 * leading zeros are fine). false, with *v untouched, on anything else or
 * on a value above max. */
bool hy_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *v) HY_MUSTCHECK;

/* How many decimal digits p[0..len) starts with. */
size_t hy_digits(const char *p, size_t len);

#endif /* HALYARD_TEXT_H */
