/*
 * jscan.c — the strict JSON pull scanner (jscan.h).
 */
#include <string.h>

#include "util/jscan.h"

void colb_jscan_init(colb_jscan *s, const void *data, size_t len)
{
	s->start = s->p = data;
	s->end = s->start + len;
	s->err = NULL;
}

size_t colb_jscan_offset(const colb_jscan *s)
{
	return (size_t)(s->p - s->start);
}

bool colb_jscan_fail(colb_jscan *s, const char *err)
{
	if (!s->err)
		s->err = err;
	return false;
}

static void ws(colb_jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

int colb_jscan_peek(colb_jscan *s)
{
	if (s->err)
		return 0;
	ws(s);
	return s->p < s->end ? *s->p : 0;
}

bool colb_jscan_expect(colb_jscan *s, char c, const char *err)
{
	if (s->err)
		return false;
	ws(s);
	if (s->p >= s->end || *s->p != (unsigned char)c)
		return colb_jscan_fail(s, err);
	s->p++;
	return true;
}

/* ---- strings ----------------------------------------------------------------- */

static int hex4(const unsigned char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Length of the valid UTF-8 sequence of two or more bytes at p, or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* no overlong forms */
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

static size_t utf8_put(uint32_t cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

bool colb_jscan_string(colb_jscan *s, char *out, size_t cap, size_t *len)
{
	if (s->err)
		return false;
	ws(s);
	if (s->p >= s->end || *s->p != '"')
		return colb_jscan_fail(s, "expected a string");
	s->p++;
	size_t n = 0;
	for (;;) {
		/* The common case: a run of plain ASCII. */
		const unsigned char *q = s->p;
		while (q < s->end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
			q++;
		size_t run = (size_t)(q - s->p);
		if (run) {
			if (n + run >= cap) {
				if (n + 1 < cap)
					memcpy(out + n, s->p, cap - 1 - n);
			} else {
				memcpy(out + n, s->p, run);
			}
			n += run;
			s->p = q;
		}
		if (s->p >= s->end)
			return colb_jscan_fail(s, "unterminated string");
		unsigned char c = *s->p;
		unsigned char u[4];
		size_t ul;
		if (c == '"') {
			s->p++;
			break;
		}
		if (c < 0x20)
			return colb_jscan_fail(s, "control character in a string");
		if (c >= 0x80) {
			ul = utf8_seq(s->p, s->end);
			if (!ul)
				return colb_jscan_fail(s, "invalid UTF-8 in a string");
			memcpy(u, s->p, ul);
			s->p += ul;
		} else { /* a backslash */
			if (s->end - s->p < 2)
				return colb_jscan_fail(s, "unterminated string");
			unsigned char e = s->p[1];
			s->p += 2;
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *simple = e ? strchr(from, e) : NULL;
			if (simple) {
				u[0] = (unsigned char)to[simple - from];
				ul = 1;
			} else if (e == 'u') {
				int cp = s->end - s->p >= 4 ? hex4(s->p) : -1;
				if (cp < 0)
					return colb_jscan_fail(s, "invalid \\u escape");
				s->p += 4;
				uint32_t v = (uint32_t)cp;
				if (v >= 0xDC00 && v <= 0xDFFF)
					return colb_jscan_fail(s, "lone low surrogate in a \\u escape");
				if (v >= 0xD800 && v <= 0xDBFF) {
					int lo = s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u'
							 ? hex4(s->p + 2) : -1;
					if (lo < 0xDC00 || lo > 0xDFFF)
						return colb_jscan_fail(s, "lone high surrogate in a \\u escape");
					s->p += 6;
					v = 0x10000 + ((v - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
				}
				if (v == 0)
					return colb_jscan_fail(s, "\\u0000 in a string");
				ul = utf8_put(v, u);
			} else {
				s->p -= 2;
				return colb_jscan_fail(s, "invalid escape in a string");
			}
		}
		if (n + ul < cap)
			memcpy(out + n, u, ul);
		n += ul;
	}
	if (cap)
		out[n < cap ? n : cap - 1] = 0;
	*len = n;
	return true;
}

/* ---- objects and arrays --------------------------------------------------- */

int colb_jscan_key(colb_jscan *s, bool *first, char *key, size_t keycap, size_t *keylen)
{
	if (s->err)
		return -1;
	ws(s);
	if (s->p < s->end && *s->p == '}' && *first) {
		s->p++;
		return 0;
	}
	if (!*first) {
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			return 0;
		}
		if (!colb_jscan_expect(s, ',', "expected ',' or '}' in an object"))
			return -1;
		ws(s);
	}
	*first = false;
	if (s->p >= s->end || *s->p != '"')
		return colb_jscan_fail(s, "expected a key in an object"), -1;
	if (!colb_jscan_string(s, key, keycap, keylen) ||
	    !colb_jscan_expect(s, ':', "expected ':' after a key"))
		return -1;
	return 1;
}

int colb_jscan_elem(colb_jscan *s, bool *first)
{
	if (s->err)
		return -1;
	ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	if (!*first && !colb_jscan_expect(s, ',', "expected ',' or ']' in an array"))
		return -1;
	*first = false;
	return 1;
}

/* ---- numbers and literals --------------------------------------------------- */

static bool digit(const colb_jscan *s)
{
	return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

bool colb_jscan_number(colb_jscan *s, bool *is_uint, uint64_t *value)
{
	if (s->err)
		return false;
	ws(s);
	bool neg = false, whole = true, fits = true;
	uint64_t v = 0;
	if (s->p < s->end && *s->p == '-') {
		neg = true;
		s->p++;
	}
	if (!digit(s))
		return colb_jscan_fail(s, "expected a number");
	if (*s->p == '0') {
		s->p++;
		if (digit(s))
			return colb_jscan_fail(s, "leading zero in a number");
	} else {
		while (digit(s)) {
			unsigned d = (unsigned)(*s->p++ - '0');
			if (v > (UINT64_MAX - d) / 10)
				fits = false;
			v = v * 10 + d;
		}
	}
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		whole = false;
		if (!digit(s))
			return colb_jscan_fail(s, "expected a digit after '.'");
		while (digit(s))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		whole = false;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!digit(s))
			return colb_jscan_fail(s, "expected a digit in an exponent");
		while (digit(s))
			s->p++;
	}
	*is_uint = whole && !neg && fits;
	*value = *is_uint ? v : 0;
	return true;
}

static bool literal(colb_jscan *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return colb_jscan_fail(s, "invalid token");
	s->p += n;
	return true;
}

/* A string validated in place, without keeping it. */
static bool skip_string(colb_jscan *s)
{
	char one[1];
	size_t len;
	return colb_jscan_string(s, one, sizeof one, &len);
}

static bool skip_value(colb_jscan *s, int depth)
{
	bool first = true, u;
	uint64_t v;
	int r;
	switch (colb_jscan_peek(s)) {
	case '"':
		return skip_string(s);
	case '{':
		if (depth >= COLB_JSCAN_MAX_DEPTH)
			return colb_jscan_fail(s, "nested too deeply");
		s->p++;
		for (;;) {
			char k[1];
			size_t kl;
			r = colb_jscan_key(s, &first, k, sizeof k, &kl);
			if (r <= 0)
				return r == 0;
			if (!skip_value(s, depth + 1))
				return false;
		}
	case '[':
		if (depth >= COLB_JSCAN_MAX_DEPTH)
			return colb_jscan_fail(s, "nested too deeply");
		s->p++;
		while ((r = colb_jscan_elem(s, &first)) > 0)
			if (!skip_value(s, depth + 1))
				return false;
		return r == 0;
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	case 0:
		return colb_jscan_fail(s, s->err ? s->err : "expected a value");
	default:
		return colb_jscan_number(s, &u, &v);
	}
}

bool colb_jscan_skip(colb_jscan *s, const unsigned char **from, const unsigned char **to)
{
	colb_jscan_peek(s);
	if (from)
		*from = s->p;
	bool ok = skip_value(s, 0);
	if (to)
		*to = s->p;
	return ok;
}

bool colb_jscan_done(colb_jscan *s)
{
	if (s->err)
		return false;
	ws(s);
	return s->p == s->end || colb_jscan_fail(s, "data after the end of the value");
}
