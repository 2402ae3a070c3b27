/*
 * fileio.h: small file chores the backup, its copies and the restore share:
 * a whole write, a file's SHA-256 (copied elsewhere in the same pass), the
 * last line a command left in a file, a file's size. No state.
 */
#ifndef HALYARD_FILEIO_H
#define HALYARD_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write all n bytes (EINTR retried). False on an error or a write of 0
 * bytes (errno says which; ENOSPC for the latter). */
bool fileio_write_all(int fd, const void *p, size_t n);

/* SHA-256 of the file at `path` as 64 hex digits; when copy_to >= 0 its
 * bytes are written there too, in the same pass. False with `why` set when
 * it cannot be read or the copy cannot be written. */
bool fileio_sha256(const char *path, int copy_to, char hex[65], char *why, size_t wl);

/* The last non-empty line of the file at `path` (a command's standard
 * error, kept for the reason of a failure); "" when none. */
void fileio_last_line(const char *path, char *out, size_t cap);

/* The first cap - 1 bytes of the file at `path` (a manifest, a small
 * JSON), NUL-terminated in out; false when it cannot be opened. */
bool fileio_read_text(const char *path, char *out, size_t cap);

/* The size of the file at `path`; 0 when it cannot be stat'ed. */
uint64_t fileio_size(const char *path);

#endif /* HALYARD_FILEIO_H */
