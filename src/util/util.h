/*
 * util.h — small helpers shared by every layer of libcolbundle: bounded
 * buffers, hex, base64, percent-decoding, RFC 3339 times, files, SHA-256.
 * Internal: nothing here is part of the public API.
 */
#ifndef COLB_UTIL_H
#define COLB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "colbundle.h"

#define COLB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer with a hard maximum: growing past `max` fails
 * cleanly (COLB_ERR_LIMIT) instead of allocating without bound. The data is
 * always NUL-terminated one past `len` so text can be used in place. */
typedef struct colb_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
} colb_buf;

void colb_buf_init(colb_buf *b, size_t max);
void colb_buf_free(colb_buf *b);
void colb_buf_reset(colb_buf *b);
colb_err colb_buf_append(colb_buf *b, const void *p, size_t n);
colb_err colb_buf_append_str(colb_buf *b, const char *s);
colb_err colb_buf_printf(colb_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (free() them); the buffer becomes empty. */
uint8_t *colb_buf_steal(colb_buf *b, size_t *len);

/* Formats an error message into errbuf (may be NULL) and returns err. */
colb_err colb_seterr(char *errbuf, size_t errlen, colb_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Hex. Encoding writes 2n chars + NUL (lowercase or uppercase). Decoding
 * accepts either case and needs an exact length. */
void colb_hex_encode(const uint8_t *in, size_t n, char *out, bool upper);
bool colb_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);
bool colb_is_hex(const char *s, size_t n);
/* Hex digits of one case only (as the vendors' identifiers are written). */
bool colb_is_hex_case(const char *s, size_t n, bool upper);
/* A name usable as one path component: 1 to 64 of [A-Za-z0-9._-], not "."
 * or "..". */
bool colb_is_name(const char *s, size_t n);
/* The value of one hex digit (either case), or -1. */
int colb_hex_digit(unsigned char c);

/* Base64 (standard alphabet with padding); decode ignores nothing: any
 * whitespace or bad character fails. Returns malloc'd bytes. */
char *colb_b64_encode(const uint8_t *in, size_t n);
uint8_t *colb_b64_decode(const char *in, size_t inlen, size_t *outlen);

/* Percent-decoding (the PCS issuer-chain headers). Returns malloc'd text,
 * NULL on a malformed escape. */
char *colb_percent_decode(const char *in, size_t inlen, size_t *outlen);
/* Percent-encoding of everything but unreserved characters. */
char *colb_percent_encode(const char *in, size_t inlen);

/* RFC 3339 UTC times as the vendors write them: "2025-05-27T19:31:07Z"
 * (fractional seconds and "+00:00" accepted on parse). */
bool colb_time_parse(const char *s, time_t *out);
void colb_time_format(time_t t, char out[21]);

/* Reads a whole file, refusing files larger than max. The result is
 * NUL-terminated (not counted in *len). */
colb_err colb_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
			char *errbuf, size_t errlen);
/* Writes a file atomically: temporary file in the same directory, fsync,
 * rename, fsync of the directory. mode as for open(2). */
colb_err colb_write_file_atomic(const char *path, const void *data, size_t len, int mode,
				char *errbuf, size_t errlen);
/* Creates a file exclusively (O_EXCL|O_NOFOLLOW) and writes it. */
colb_err colb_write_file_excl(const char *path, const void *data, size_t len, int mode,
			      char *errbuf, size_t errlen);
/* mkdir -p */
colb_err colb_mkdirs(const char *path, int mode);

/* SHA-256 in one call, and as lowercase hex. */
void colb_sha256(const void *data, size_t len, uint8_t out[32]);
void colb_sha256_hex(const void *data, size_t len, char out[65]);

/* A large buffer that is written once and read many times (an inflated
 * payload): from 4 MiB on it is mapped in huge pages where the kernel
 * allows, which spares most of the page faults of first touching it.
 * colb_big_free takes the size it was allocated with. */
void *colb_big_alloc(size_t n);
void colb_big_free(void *p, size_t n);

/* Safe integer parsing: whole string, decimal, no sign, no overflow. */
bool colb_parse_u64(const char *s, uint64_t *out);

#endif /* COLB_UTIL_H */
