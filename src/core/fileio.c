/*
 * fileio.c: see fileio.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "halyard/core/fileio.h"

bool fileio_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return false;
        }
        b += w;
        n -= (size_t)w;
    }
    return true;
}

bool fileio_sha256(const char *path, int copy_to, char hex[65], char *why, size_t wl)
{
    enum { CHUNK = 1 << 16 };
    hex[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, wl, "open %.200s: %s", path, strerror(errno));
        return false;
    }
    unsigned char *buf = malloc(CHUNK);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = buf != NULL && md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    if (!ok)
        snprintf(why, wl, "out of memory");
    while (ok) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, wl, "read %.200s: %s", path, strerror(errno));
            ok = false;
            break;
        }
        if (n == 0)
            break;
        ok = EVP_DigestUpdate(md, buf, (size_t)n) == 1;
        if (ok && copy_to >= 0 && !fileio_write_all(copy_to, buf, (size_t)n)) {
            snprintf(why, wl, "write: %s", strerror(errno));
            ok = false;
        }
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (ok && EVP_DigestFinal_ex(md, d, &dl) == 1) {
        for (unsigned i = 0; i < dl && i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
    } else if (ok) {
        snprintf(why, wl, "sha256 failed");
        ok = false;
    }
    EVP_MD_CTX_free(md);
    free(buf);
    close(fd);
    return ok;
}

void fileio_last_line(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] != '\0')
            snprintf(out, cap, "%s", line);
    }
    fclose(f);
}

bool fileio_read_text(const char *path, char *out, size_t cap)
{
    if (cap == 0)
        return false;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t got = fread(out, 1, cap - 1, f);
    fclose(f);
    out[got] = '\0';
    return true;
}

uint64_t fileio_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}
