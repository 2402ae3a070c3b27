/*
 * test_backup_crypt.c: encryption at rest and compression of backup files
 * (backup_crypt.h, backup_stream.h):
 *   - round trips of 0 bytes to several chunks, sealed in pieces of every
 *     size and opened one byte at a time or whole;
 *   - a flipped byte in the header, a length word, the ciphertext or a
 *     tag of any chunk is refused, and no plaintext of the damaged chunk
 *     (or after it) is handed on;
 *   - a file cut at a chunk boundary or inside one, bytes after the last
 *     chunk, two chunks swapped, an unknown key (named by id) refused; an
 *     older key still opens its files;
 *   - the file writer and reader (gzip, zstd, none; clear and sealed)
 *     round-trip through a temporary file; a cut compressed stream and a
 *     flipped byte are refused naming the file; the file name endings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "halyard/backup/backup_crypt.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_stream.h"

struct bytes {
    uint8_t *p;
    size_t n, cap;
};

static bool put(void *ctx, const uint8_t *p, size_t n)
{
    struct bytes *b = ctx;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return true;
}

static void key_of(uint8_t fill, struct backup_crypt_key *k)
{
    uint8_t raw[BACKUP_CRYPT_KEY_LEN];
    for (int i = 0; i < BACKUP_CRYPT_KEY_LEN; i++)
        raw[i] = (uint8_t)(fill + i);
    backup_crypt_key_make(raw, k);
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + i / 251);
    return p;
}

/* Seal n bytes, fed in pieces of `piece`. */
static struct bytes seal(const struct backup_crypt_key *k, const uint8_t *p, size_t n, size_t piece)
{
    struct bytes out = {0};
    struct backup_crypt_enc *e = backup_crypt_enc_create(k, put, &out);
    assert_non_null(e);
    for (size_t off = 0; off < n; off += piece) {
        size_t take = n - off < piece ? n - off : piece;
        assert_int_equal(backup_crypt_enc_update(e, p + off, take), HY_OK);
    }
    assert_int_equal(backup_crypt_enc_final(e), HY_OK);
    backup_crypt_enc_destroy(e);
    return out;
}

/* Open the file, fed in pieces of `piece`: HY_OK or the error in why. */
static hy_status_t open_all(const struct backup_crypt_key *keys, size_t nk, const struct bytes *f,
                            size_t piece, struct bytes *plain, char *why, size_t wl)
{
    struct backup_crypt_dec *d = backup_crypt_dec_create(keys, nk, put, plain);
    hy_status_t st = HY_OK;
    for (size_t off = 0; st == HY_OK && off < f->n; off += piece)
        st = backup_crypt_dec_feed(d, f->p + off, f->n - off < piece ? f->n - off : piece);
    if (st == HY_OK)
        st = backup_crypt_dec_finish(d);
    snprintf(why, wl, "%s", backup_crypt_dec_error(d));
    backup_crypt_dec_destroy(d);
    return st;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct backup_crypt_key k;
    key_of(1, &k);
    static const size_t sizes[] = {0, 1, 1000, 65535, 65536, 65537, 200000};
    static const size_t pieces[] = {1, 4096, 65536, 300000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *p = pattern(sizes[i]);
        for (size_t j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
            if (pieces[j] == 1 && sizes[i] > 70000)
                continue;
            struct bytes f = seal(&k, p, sizes[i], pieces[j]);
            size_t chunks = sizes[i] / BACKUP_CRYPT_CHUNK + (sizes[i] % BACKUP_CRYPT_CHUNK ? 1 : 0);
            if (chunks == 0)
                chunks = 1; /* the last chunk is always there */
            assert_int_equal(f.n, BACKUP_CRYPT_HEADER_LEN + sizes[i] + chunks * 20);
            assert_true(backup_crypt_is_sealed(f.p, f.n));
            size_t opens[] = {1, 7, f.n};
            for (size_t o = 0; o < 3; o++) {
                if (opens[o] == 1 && f.n > 70000)
                    continue;
                struct bytes plain = {0};
                char why[256];
                assert_int_equal(open_all(&k, 1, &f, opens[o], &plain, why, sizeof(why)), HY_OK);
                assert_int_equal(plain.n, sizes[i]);
                if (sizes[i] > 0)
                    assert_memory_equal(plain.p, p, sizes[i]);
                free(plain.p);
            }
            free(f.p);
        }
        free(p);
    }
    /* Two files under one key differ (a salt each). */
    uint8_t z[32] = {0};
    struct bytes a = seal(&k, z, sizeof(z), 32), b = seal(&k, z, sizeof(z), 32);
    assert_int_equal(a.n, b.n);
    assert_true(memcmp(a.p + 24, b.p + 24, a.n - 24) != 0);
    free(a.p);
    free(b.p);
}

static void test_tampered(void **state)
{
    (void)state;
    struct backup_crypt_key k;
    key_of(9, &k);
    size_t n = 150000; /* chunks of 65536, 65536, 18928 */
    uint8_t *p = pattern(n);
    struct bytes f = seal(&k, p, n, 10000);
    size_t c1 = BACKUP_CRYPT_HEADER_LEN + 4 + 65536 + 16; /* chunk 1's offset */
    size_t c2 = c1 + 4 + 65536 + 16;
    struct {
        size_t at;
        const char *says;
        size_t plain_max; /* plaintext that may come out: the chunks before */
    } cases[] = {
        {0, "not a halyard encrypted file", 0},
        {16, "encrypted with key id", 0}, /* the key id */
        {30, "chunk 0 (bytes 40 to", 0},  /* the salt: another file key */
        {BACKUP_CRYPT_HEADER_LEN + 4 + 5, "chunk 0 (bytes 40 to", 0},
        {c1 - 3, "chunk 0 ", 0},     /* its tag */
        {c1 + 3, "chunk 1 ", 65536}, /* a length word (still < the chunk size) */
        {c1 + 1000, "chunk 1 (bytes 65596 to", 65536},
        {c2 + 4 + 100, "chunk 2 ", 131072},
        {f.n - 1, "chunk 2 ", 131072},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f.p[cases[i].at] ^= 0x01;
        struct bytes plain = {0};
        char why[256];
        assert_int_equal(open_all(&k, 1, &f, 4096, &plain, why, sizeof(why)), HY_ERROR);
        if (strstr(why, cases[i].says) == NULL)
            fail_msg("byte %zu: \"%s\" lacks \"%s\"", cases[i].at, why, cases[i].says);
        assert_true(plain.n <= cases[i].plain_max);
        if (plain.n > 0)
            assert_memory_equal(plain.p, p, plain.n);
        free(plain.p);
        f.p[cases[i].at] ^= 0x01;
    }
    /* The chunk-size word of the header: a tag fails, never a crash. */
    f.p[14] ^= 0x40;
    struct bytes pl = {0};
    char why[256];
    assert_int_equal(open_all(&k, 1, &f, 65536, &pl, why, sizeof(why)), HY_ERROR);
    assert_int_equal(pl.n, 0);
    f.p[14] ^= 0x40;
    free(pl.p);
    free(f.p);
    free(p);
}

static void test_cut_and_moved(void **state)
{
    (void)state;
    struct backup_crypt_key k;
    key_of(3, &k);
    size_t n = 140000;
    uint8_t *p = pattern(n);
    struct bytes f = seal(&k, p, n, n);
    size_t c1 = BACKUP_CRYPT_HEADER_LEN + 4 + 65536 + 16, c2 = c1 + 4 + 65536 + 16;
    char why[256];
    struct bytes plain = {0};
    struct bytes cut = f;
    /* At a chunk boundary: every tag holds, the last chunk is missing. */
    cut.n = c2;
    assert_int_equal(open_all(&k, 1, &cut, 9999, &plain, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, "cut short"));
    assert_non_null(strstr(why, "without its last chunk"));
    plain.n = 0;
    cut.n = c2 + 100; /* inside the last one */
    assert_int_equal(open_all(&k, 1, &cut, 9999, &plain, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, "cut short"));
    plain.n = 0;
    cut.n = 20; /* inside the header */
    assert_int_equal(open_all(&k, 1, &cut, 9999, &plain, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, "inside its header"));
    plain.n = 0;
    /* Bytes after the last chunk. */
    uint8_t extra = 0;
    put(&f, &extra, 1);
    assert_int_equal(open_all(&k, 1, &f, 65536, &plain, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, "after the last chunk"));
    f.n--;
    plain.n = 0;
    /* Chunks 0 and 1 swapped (same length): chunk 0's place fails. */
    uint8_t *tmp = malloc(c1 - BACKUP_CRYPT_HEADER_LEN);
    memcpy(tmp, f.p + BACKUP_CRYPT_HEADER_LEN, c1 - BACKUP_CRYPT_HEADER_LEN);
    memcpy(f.p + BACKUP_CRYPT_HEADER_LEN, f.p + c1, c1 - BACKUP_CRYPT_HEADER_LEN);
    memcpy(f.p + c1, tmp, c1 - BACKUP_CRYPT_HEADER_LEN);
    assert_int_equal(open_all(&k, 1, &f, 65536, &plain, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, "chunk 0 "));
    assert_int_equal(plain.n, 0);
    free(tmp);
    free(plain.p);
    free(f.p);
    free(p);
}

static void test_keys(void **state)
{
    (void)state;
    struct backup_crypt_key old, cur, other;
    key_of(1, &old);
    key_of(2, &cur);
    key_of(3, &other);
    assert_string_not_equal(old.id_hex, cur.id_hex);
    assert_int_equal(strlen(old.id_hex), 16);
    uint8_t *p = pattern(5000);
    struct bytes f = seal(&old, p, 5000, 5000);
    struct backup_crypt_key ring[2] = {cur, old};
    struct bytes plain = {0};
    char why[256];
    assert_int_equal(open_all(ring, 2, &f, 100, &plain, why, sizeof(why)), HY_OK);
    assert_int_equal(plain.n, 5000);
    plain.n = 0;
    assert_int_equal(open_all(&other, 1, &f, 100, &plain, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, old.id_hex));
    assert_non_null(strstr(why, "backup.decryption_key_files"));
    free(plain.p);
    free(f.p);
    free(p);
}

/* The file writer and reader: every compression, clear and sealed. */
static bool to_fd(void *ctx, const uint8_t *p, size_t n)
{
    return write(*(int *)ctx, p, n) == (ssize_t)n;
}

static void write_file(const char *path, enum backup_comp c, const struct backup_crypt_key *k,
                       const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int fd = fileno(f);
    struct backup_writer *w = backup_writer_create(c, k, to_fd, &fd);
    assert_non_null(w);
    for (size_t off = 0; off < n; off += 30000)
        assert_int_equal(backup_writer_write(w, p + off, n - off < 30000 ? n - off : 30000), HY_OK);
    assert_int_equal(backup_writer_finish(w), HY_OK);
    assert_int_equal(backup_writer_plain(w), n);
    backup_writer_destroy(w);
    fclose(f);
}

static hy_status_t read_file(const char *path, size_t *n, char *why, size_t wl)
{
    uint64_t plain = 0;
    hy_status_t st = backup_stream_check(path, &plain, why, wl);
    *n = (size_t)plain;
    return st;
}

static void flip(const char *path, long at)
{
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
    int c = fgetc(f);
    fseek(f, -1, SEEK_CUR);
    fputc(c ^ 0x10, f);
    fclose(f);
}

static void test_stream(void **state)
{
    (void)state;
    uint8_t raw[2][BACKUP_CRYPT_KEY_LEN];
    memset(raw[0], 0x11, sizeof(raw[0]));
    memset(raw[1], 0x22, sizeof(raw[1]));
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    char kf[] = "/k";
    cfg.backup.encryption_key_file = kf;
    cfg.backup.keys = raw;
    cfg.backup.n_keys = 2;
    backup_keys_set(&cfg);
    size_t nk = 0;
    const struct backup_crypt_key *ring = backup_keys(&nk);
    assert_int_equal(nk, 2);
    char path[] = "/tmp/test_backup_crypt.XXXXXX";
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    size_t n = 300000;
    uint8_t *p = pattern(n);
    for (int c = 0; c < 3; c++) {
        for (int sealed = 0; sealed < 2; sealed++) {
            write_file(path, (enum backup_comp)c, sealed ? &ring[1] : NULL, p, n);
            char why[700];
            size_t got = 0;
            assert_int_equal(read_file(path, &got, why, sizeof(why)), HY_OK);
            assert_int_equal(got, n);
            struct backup_reader *r = backup_reader_open(path, why, sizeof(why));
            uint8_t buf[1000];
            size_t at = 0;
            ssize_t k;
            while ((k = backup_reader_read(r, buf, sizeof(buf))) > 0) {
                assert_memory_equal(buf, p + at, (size_t)k);
                at += (size_t)k;
            }
            assert_int_equal(k, 0);
            assert_int_equal(at, n);
            assert_string_equal(backup_reader_comp(r), backup_comp_name((enum backup_comp)c));
            assert_string_equal(backup_reader_key_id(r), sealed ? ring[1].id_hex : "");
            backup_reader_close(r);
            /* A byte flipped near the end: refused, naming the file. */
            flip(path, -5);
            assert_int_equal(read_file(path, &got, why, sizeof(why)),
                             c == 2 && !sealed ? HY_OK : HY_ERROR);
            if (c != 2 || sealed)
                assert_non_null(strstr(why, path));
            /* Cut short: a compressed or sealed stream notices. */
            assert_int_equal(truncate(path, 1000), 0);
            if (c != 2 || sealed) {
                assert_int_equal(read_file(path, &got, why, sizeof(why)), HY_ERROR);
                assert_non_null(strstr(why, "cut short"));
            }
        }
    }
    unlink(path);
    free(p);
    memset(&cfg, 0, sizeof(cfg));
    backup_keys_set(&cfg);
}

static void test_names(void **state)
{
    (void)state;
    char s[32];
    backup_stream_suffix(true, BACKUP_COMP_ZSTD, true, s, sizeof(s));
    assert_string_equal(s, ".xb.zst.enc");
    backup_stream_suffix(false, BACKUP_COMP_NONE, false, s, sizeof(s));
    assert_string_equal(s, ".sql");
    backup_stream_suffix(false, BACKUP_COMP_GZIP, true, s, sizeof(s));
    assert_string_equal(s, ".sql.gz.enc");
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.xb.zst.enc"), 11);
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.sql.gz.enc"), 11);
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.sql"), 4);
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.xb.zst"), 7);
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.zst"), 0);
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.enc"), 0);
    assert_int_equal(backup_full_suffix("binlog.000003"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_cut_and_moved), cmocka_unit_test(test_keys),
        cmocka_unit_test(test_stream),        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("backup_crypt", tests, NULL, NULL);
}
