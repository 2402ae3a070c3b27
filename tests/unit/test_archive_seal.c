/*
 * test_archive_seal.c: the archived binlog sealed when closed
 * (archive_seal.h):
 *   - the names: binlog.NNNNNN clear, binlog.NNNNNN.KEYID.enc sealed,
 *     anything else (.lost, .partial, the index, a bad id) not a file of
 *     the archive;
 *   - a seal and an unseal round-trip a file in a temporary directory,
 *     the clear file gone after the seal, the clear copy 0600; a flipped
 *     byte and a missing key are refused naming the file; no .partial left;
 *   - where a file begins (its GTID_LIST), read clear and sealed;
 *   - the start's tidying: a .partial removed, a clear file beside its
 *     sealed twin removed, every clear file but the newest sealed.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "halyard/backup/archive_seal.h"
#include "halyard/protocol/binlog.h"

static void key_of(uint8_t fill, struct backup_crypt_key *k)
{
    uint8_t raw[BACKUP_CRYPT_KEY_LEN];
    memset(raw, fill, sizeof(raw));
    backup_crypt_key_make(raw, k);
}

static void test_names(void **state)
{
    (void)state;
    uint32_t no = 0;
    char id[17];
    assert_int_equal(archive_name_parse("binlog.000012", &no, id), ARCHIVE_CLEAR);
    assert_int_equal(no, 12);
    assert_string_equal(id, "");
    assert_int_equal(archive_name_parse("binlog.000013.0123456789abcdef.enc", &no, id),
                     ARCHIVE_SEALED);
    assert_int_equal(no, 13);
    assert_string_equal(id, "0123456789abcdef");
    const char * not [] = {"binlog.index",
                           "binlog.000012.lost",
                           "binlog.000012.partial",
                           "binlog.000012.0123456789abcdef.enc.partial",
                           "binlog.000012.0123456789ABCDEF.enc",
                           "binlog.000012.0123456789abcde.enc",
                           "binlog.000000",
                           "binlog.12",
                           "relay.000001",
                           "full"};
    for (size_t i = 0; i < sizeof(not ) / sizeof(not [0]); i++)
        assert_int_equal(archive_name_parse(not [i], &no, id), ARCHIVE_NOT);
    char out[96];
    archive_name_make(out, sizeof(out), 7, NULL);
    assert_string_equal(out, "binlog.000007");
    archive_name_make(out, sizeof(out), 7, "");
    assert_string_equal(out, "binlog.000007");
    archive_name_make(out, sizeof(out), 7, "00112233aabbccdd");
    assert_string_equal(out, "binlog.000007.00112233aabbccdd.enc");
}

/* A small binlog file: magic, a FORMAT_DESCRIPTION (checksums off), a
 * GTID_LIST at `start`, then `pad` bytes of a filler event. */
static size_t fake_binlog(uint8_t *buf, size_t cap, const struct gtid_pos *start, size_t pad)
{
    size_t off = 0;
    memcpy(buf, BINLOG_MAGIC, BINLOG_MAGIC_LEN);
    off += BINLOG_MAGIC_LEN;
    /* FDE: header + binlog version 4, server version 50 bytes, time,
     * header length, post-header lengths, checksum alg 0 */
    uint8_t *fde = buf + off;
    size_t fl = BINLOG_HEADER_LEN + 2 + 50 + 4 + 1 + 40 + 1;
    memset(fde, 0, fl);
    fde[4] = BINLOG_FORMAT_DESCRIPTION;
    fde[9] = (uint8_t)fl;
    fde[BINLOG_HEADER_LEN] = 4;
    fde[BINLOG_HEADER_LEN + 2 + 50 + 4] = BINLOG_HEADER_LEN;
    off += fl;
    size_t gl = binlog_make_gtid_list(buf + off, cap - off, start, 0, 1, (uint32_t)off);
    assert_true(gl > 0);
    /* binlog_make_gtid_list writes a CRC: the FDE says none, so drop it */
    gl -= BINLOG_CRC_LEN;
    uint32_t sz = (uint32_t)gl;
    buf[off + 9] = (uint8_t)sz;
    buf[off + 10] = (uint8_t)(sz >> 8);
    off += gl;
    memset(buf + off, 0x5a, pad);
    return off + pad;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)l + 1);
    assert_int_equal(fread(p, 1, (size_t)l, f), (size_t)l);
    fclose(f);
    *n = (size_t)l;
    return p;
}

static void test_seal_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/halyard-seal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct backup_crypt_key k, other;
    key_of(0x42, &k);
    key_of(0x43, &other);
    struct gtid_pos start = {0};
    const char *g = "0-1-40,1-2-7";
    assert_int_equal(gtid_pos_parse(g, strlen(g), &start), HY_OK);
    static uint8_t plain[300000];
    size_t n = fake_binlog(plain, sizeof(plain), &start, 200000); /* several chunks */
    char path[512], sealed[96], why[1024], back[512];
    snprintf(path, sizeof(path), "%s/binlog.000003", dir);
    write_file(path, plain, n);

    struct gtid_pos got;
    assert_int_equal(archive_file_start(dir, "binlog.000003", NULL, 0, &got), HY_OK);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.g[0].seq, 40);
    assert_int_equal(archive_seal(dir, 3, &k, sealed, sizeof(sealed), why, sizeof(why)), HY_OK);
    char want[96];
    archive_name_make(want, sizeof(want), 3, k.id_hex);
    assert_string_equal(sealed, want);
    assert_int_equal(access(path, F_OK), -1); /* the clear one is gone */
    memset(&got, 0, sizeof(got));
    assert_int_equal(archive_file_start(dir, sealed, &k, 1, &got), HY_OK);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.g[1].domain, 1);
    assert_int_equal(got.g[1].seq, 7);
    assert_int_equal(archive_file_start(dir, sealed, &other, 1, &got), HY_ERROR);

    char spath[512];
    snprintf(spath, sizeof(spath), "%s/%s", dir, sealed);
    snprintf(back, sizeof(back), "%s/back", dir);
    struct backup_crypt_key ring[2] = {other, k};
    assert_int_equal(archive_unseal(spath, back, ring, 2, why, sizeof(why)), HY_OK);
    size_t bn;
    uint8_t *bp = read_file(back, &bn);
    assert_int_equal(bn, n);
    assert_memory_equal(bp, plain, n);
    free(bp);
    struct stat sb;
    assert_int_equal(stat(back, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    unlink(back);

    /* the key missing: refused, the file and the key id named */
    assert_int_equal(archive_unseal(spath, back, &other, 1, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, sealed));
    assert_non_null(strstr(why, k.id_hex));
    /* a flipped byte: refused naming the file, nothing left behind */
    size_t sn;
    uint8_t *sp = read_file(spath, &sn);
    sp[sn / 2] ^= 1;
    write_file(spath, sp, sn);
    free(sp);
    assert_int_equal(archive_unseal(spath, back, &k, 1, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, sealed));
    assert_non_null(strstr(why, "tag"));
    assert_int_equal(access(back, F_OK), -1);
    char partial[600];
    snprintf(partial, sizeof(partial), "%s.partial", back);
    assert_int_equal(access(partial, F_OK), -1);
    unlink(spath);
    rmdir(dir);
}

static void test_tidy(void **state)
{
    (void)state;
    char dir[] = "/tmp/halyard-tidy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct backup_crypt_key k;
    key_of(0x17, &k);
    struct gtid_pos start = {0};
    static uint8_t plain[4096];
    size_t n = fake_binlog(plain, sizeof(plain), &start, 100);
    char p[600], why[1024], sealed[96];
    /* 1 sealed and its clear twin, 2 clear, a .partial of 2, 3 clear (the newest) */
    for (int i = 1; i <= 3; i++) {
        snprintf(p, sizeof(p), "%s/binlog.%06d", dir, i);
        write_file(p, plain, n);
    }
    assert_int_equal(archive_seal(dir, 1, &k, sealed, sizeof(sealed), why, sizeof(why)), HY_OK);
    snprintf(p, sizeof(p), "%s/binlog.000001", dir);
    write_file(p, plain, n);
    snprintf(p, sizeof(p), "%s/binlog.000002.%s.enc.partial", dir, k.id_hex);
    write_file(p, plain, 10);

    /* without a key: leftovers settled, nothing sealed */
    assert_int_equal(archive_seal_tidy(dir, NULL), 0);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof(p), "%s/binlog.000001", dir);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof(p), "%s/binlog.000002", dir);
    assert_int_equal(access(p, F_OK), 0);
    /* with a key: 2 sealed, 3 (the newest) stays clear */
    assert_int_equal(archive_seal_tidy(dir, &k), 1);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof(p), "%s/binlog.000002.%s.enc", dir, k.id_hex);
    assert_int_equal(access(p, F_OK), 0);
    unlink(p);
    snprintf(p, sizeof(p), "%s/binlog.000003", dir);
    assert_int_equal(access(p, F_OK), 0);
    unlink(p);
    snprintf(p, sizeof(p), "%s/%s", dir, sealed);
    unlink(p);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_seal_round_trip),
        cmocka_unit_test(test_tidy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
