/*
 * util.c — the shared helpers declared in util.h.
 */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <sodium.h>

/* ---- bounded buffers ---------------------------------------------------- */

void colb_buf_init(colb_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
}

void colb_buf_free(colb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void colb_buf_reset(colb_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

colb_err colb_buf_append(colb_buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return COLB_ERR_LIMIT;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return COLB_ERR_NOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return COLB_OK;
}

colb_err colb_buf_append_str(colb_buf *b, const char *s)
{
	return colb_buf_append(b, s, strlen(s));
}

colb_err colb_buf_printf(colb_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return COLB_ERR_INTERNAL;
	if ((size_t)n < sizeof small)
		return colb_buf_append(b, small, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big)
		return COLB_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	colb_err rc = colb_buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

uint8_t *colb_buf_steal(colb_buf *b, size_t *len)
{
	uint8_t *d = b->data;
	if (!d) {
		d = calloc(1, 1);
	}
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

colb_err colb_seterr(char *errbuf, size_t errlen, colb_err err, const char *fmt, ...)
{
	if (errbuf && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* ---- hex, base64, percent ------------------------------------------------ */

void colb_hex_encode(const uint8_t *in, size_t n, char *out, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

int colb_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool colb_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (colb_hex_digit((unsigned char)s[i]) < 0)
			return false;
	return true;
}

bool colb_is_hex_case(const char *s, size_t n, bool upper)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (upper ? (c >= 'A' && c <= 'F') : (c >= 'a' && c <= 'f'))))
			return false;
	}
	return true;
}

bool colb_is_name(const char *s, size_t n)
{
	if (n == 0 || n > 64 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool colb_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (inlen != 2 * outlen)
		return false;
	for (size_t i = 0; i < outlen; i++) {
		int hi = colb_hex_digit((unsigned char)in[2 * i]), lo = colb_hex_digit((unsigned char)in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

char *colb_b64_encode(const uint8_t *in, size_t n)
{
	size_t outlen = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(outlen);
	if (!out)
		return NULL;
	sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

uint8_t *colb_b64_decode(const char *in, size_t inlen, size_t *outlen)
{
	size_t cap = inlen / 4 * 3 + 3;
	uint8_t *out = malloc(cap + 1);
	const char *end = NULL;
	if (!out)
		return NULL;
	if (sodium_base642bin(out, cap, in, inlen, NULL, outlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != in + inlen) {
		free(out);
		return NULL;
	}
	out[*outlen] = 0;
	return out;
}

char *colb_percent_decode(const char *in, size_t inlen, size_t *outlen)
{
	char *out = malloc(inlen + 1);
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < inlen; i++) {
		if (in[i] == '%') {
			int hi, lo;
			if (i + 2 >= inlen) {
				free(out);
				return NULL;
			}
			hi = colb_hex_digit((unsigned char)in[i + 1]);
			lo = colb_hex_digit((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = 0;
	if (outlen)
		*outlen = o;
	return out;
}

char *colb_percent_encode(const char *in, size_t inlen)
{
	char *out = malloc(inlen * 3 + 1);
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = "0123456789ABCDEF"[c >> 4];
			out[o++] = "0123456789ABCDEF"[c & 15];
		}
	}
	out[o] = 0;
	return out;
}

/* ---- time ----------------------------------------------------------------- */

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool colb_time_parse(const char *s, time_t *out)
{
	int Y, M, D, h, m, sec;
	if (!s || strlen(s) < 20)
		return false;
	if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
	    !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (!((p[0] == 'Z' || p[0] == 'z') && p[1] == 0) && strcmp(p, "+00:00") != 0)
		return false;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return false;
	struct tm tm = {0};
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return true;
}

void colb_time_format(time_t t, char out[21])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- files ------------------------------------------------------------------ */

colb_err colb_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
			char *errbuf, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return colb_seterr(errbuf, errlen, errno == ENOENT ? COLB_ERR_NOT_FOUND : COLB_ERR_IO,
				   "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return colb_seterr(errbuf, errlen, COLB_ERR_IO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return colb_seterr(errbuf, errlen, COLB_ERR_LIMIT,
				   "%s: %lld bytes is over the %zu-byte limit", path,
				   (long long)st.st_size, max);
	}
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *buf = malloc(n + 1);
	if (!buf) {
		close(fd);
		return colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "%s: out of memory", path);
	}
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			close(fd);
			return colb_seterr(errbuf, errlen, COLB_ERR_IO, "%s: read failed", path);
		}
		got += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*data = buf;
	*len = n;
	return COLB_OK;
}

static colb_err write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return COLB_ERR_IO;
		p += w;
		len -= (size_t)w;
	}
	return COLB_OK;
}

static void dir_of(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(out, outlen, ".");
	} else if (slash == path) {
		snprintf(out, outlen, "/");
	} else {
		snprintf(out, outlen, "%.*s", (int)(slash - path), path);
	}
}

colb_err colb_write_file_atomic(const char *path, const void *data, size_t len, int mode,
				char *errbuf, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "%s: path too long", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return colb_seterr(errbuf, errlen, COLB_ERR_IO, "%s: cannot create temporary file: %s",
				   path, strerror(errno));
	if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != COLB_OK || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return colb_seterr(errbuf, errlen, COLB_ERR_IO, "%s: write failed: %s", path, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return colb_seterr(errbuf, errlen, COLB_ERR_IO, "%s: rename failed: %s", path, strerror(e));
	}
	dir_of(path, dir, sizeof dir);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return COLB_OK;
}

colb_err colb_write_file_excl(const char *path, const void *data, size_t len, int mode,
			      char *errbuf, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return colb_seterr(errbuf, errlen, COLB_ERR_IO, "%s: %s", path, strerror(errno));
	if (write_all(fd, data, len) != COLB_OK || fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return colb_seterr(errbuf, errlen, COLB_ERR_IO, "%s: write failed", path);
	}
	close(fd);
	return COLB_OK;
}

colb_err colb_mkdirs(const char *path, int mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp)
		return COLB_ERR_INVALID_ARG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
				return COLB_ERR_IO;
			*p = '/';
		}
	}
	if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
		return COLB_ERR_IO;
	return COLB_OK;
}

/* ---- hashing, numbers ---------------------------------------------------- */

void colb_sha256(const void *data, size_t len, uint8_t out[32])
{
	SHA256(data, len, out);
}

void colb_sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t d[32];
	SHA256(data, len, d);
	colb_hex_encode(d, 32, out, false);
}

bool colb_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* ---- large buffers ---------------------------------------------------------- */

#define BIG_MIN (4u << 20)

void *colb_big_alloc(size_t n)
{
	if (n < BIG_MIN)
		return malloc(n ? n : 1);
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, n, MADV_HUGEPAGE); /* advice: without it, plain pages */
#endif
	return p;
}

void colb_big_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n < BIG_MIN)
		free(p);
	else
		munmap(p, n);
}
