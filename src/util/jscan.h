/*
 * jscan.h — a strict pull scanner for JSON (RFC 8259) for callers that know
 * the shape they expect and want no tree: the manifest of a large bundle
 * holds tens of thousands of small objects, and building, then freeing, a
 * tree of them cost more than everything else of an open.
 *
 * It accepts what RFC 8259 accepts and nothing more: strings are valid
 * UTF-8 without NUL (also not as \u0000) and without lone surrogates, numbers
 * follow the grammar, any whitespace between tokens, one value and then only
 * whitespace. Duplicate and unknown keys are the caller's to refuse, since
 * only it knows the keys. On the first error the scanner stops; `err` says
 * what and `colb_jscan_offset` where.
 * Internal: nothing here is part of the public API.
 */
#ifndef COLB_JSCAN_H
#define COLB_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How deep colb_jscan_skip descends into nested arrays and objects. */
#define COLB_JSCAN_MAX_DEPTH 64

typedef struct colb_jscan {
	const unsigned char *start, *p, *end;
	const char *err;   /* static text of the first error, NULL while all is well */
} colb_jscan;

void colb_jscan_init(colb_jscan *s, const void *data, size_t len);
/* Byte offset of the scanner: of the error once one is set. */
size_t colb_jscan_offset(const colb_jscan *s);
/* Sets the error (if none is set yet) and returns false. */
bool colb_jscan_fail(colb_jscan *s, const char *err);

/* The first byte of the next token after whitespace ('"', '{', '[', '-',
 * a digit, 't', 'f', 'n', or something invalid), or 0 at the end. */
int colb_jscan_peek(colb_jscan *s);
/* Consumes the structural character c after whitespace. */
bool colb_jscan_expect(colb_jscan *s, char c, const char *err);

/* Walks an object whose '{' is consumed: returns 1 with the next key decoded
 * into key (keycap bytes, NUL-terminated; a longer key is truncated and
 * *keylen tells its whole length) and its ':' consumed, 0 after the closing
 * '}', -1 on an error. *first starts true. */
int colb_jscan_key(colb_jscan *s, bool *first, char *key, size_t keycap, size_t *keylen);
/* Walks an array whose '[' is consumed: 1 when a value follows, 0 after the
 * closing ']', -1 on an error. */
int colb_jscan_elem(colb_jscan *s, bool *first);

/* Decodes a string value into out (cap bytes with the NUL). A string that
 * does not fit is cut at cap - 1 bytes (perhaps inside a UTF-8 sequence);
 * *len is its whole decoded length, so *len >= cap tells it was cut. */
bool colb_jscan_string(colb_jscan *s, char *out, size_t cap, size_t *len);
/* A number. *is_uint tells whether it is written as an integer without sign,
 * fraction or exponent that fits 64 bits; then *value holds it. Any other
 * valid number is consumed with *is_uint false. */
bool colb_jscan_number(colb_jscan *s, bool *is_uint, uint64_t *value);
/* Validates and skips one value of any type; *from and *to (may be NULL)
 * delimit its bytes. */
bool colb_jscan_skip(colb_jscan *s, const unsigned char **from, const unsigned char **to);
/* Only whitespace remains. */
bool colb_jscan_done(colb_jscan *s);

#endif /* COLB_JSCAN_H */
