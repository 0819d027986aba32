/*
 * manifest.c — the signed manifest: deterministic emission and strict
 * parsing (format-spec/colbundle-v1.md, "Manifest").
 *
 * The reader parses exactly the bytes it verified the signatures over. It
 * refuses unknown, duplicate and missing keys, unsorted or duplicate paths,
 * and anything whose type or form differs from the specification.
 *
 * The parse builds no JSON tree: a bundle of ten thousand platforms lists
 * tens of thousands of files, and building a tree of them (then freeing it)
 * cost more than the rest of an open. A pull scanner (util/jscan.h) reads
 * each value straight into the index and each string into one arena.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle_priv.h"
#include "util/jscan.h"

static const char *const tee_names[] = {"sev-snp", "sgx", "tdx"}; /* bytewise order */
static const unsigned tee_bits[] = {COLB_TEE_SEV_SNP, COLB_TEE_SGX, COLB_TEE_TDX};

void colb_manifest_clear(colb_manifest *m)
{
	for (size_t i = 0; i < m->nfiles; i++)
		colb_mfile_release(&m->files[i]);
	free(m->files);
	free(m->arena);
	free(m->publisher);
	json_decref(m->baseline);
	free(m->baseline_json);
	memset(m, 0, sizeof *m);
}

colb_err colb_mfile_set(colb_mfile *f, const char *path, const char *kind, const colb_meta *meta)
{
	size_t need = strlen(path) + 1 + colb_meta_json(meta, NULL, 0) + 1;
	for (size_t k = 0; k < COLB_META_COUNT; k++)
		if (meta->str[k])
			need += strlen(meta->str[k]) + 1;
	char *own = malloc(need), *p = own;
	if (!own)
		return COLB_ERR_NOMEM;
	colb_mfile_release(f);
	f->kind = kind;
	f->meta = *meta;
	f->own = own;
	size_t n = strlen(path) + 1;
	f->path = memcpy(p, path, n);
	p += n;
	for (size_t k = 0; k < COLB_META_COUNT; k++)
		if (meta->str[k]) {
			n = strlen(meta->str[k]) + 1;
			f->meta.str[k] = memcpy(p, meta->str[k], n);
			p += n;
		}
	f->meta_json = p;
	colb_meta_json(&f->meta, p, (size_t)(own + need - p));
	return COLB_OK;
}

void colb_mfile_release(colb_mfile *f)
{
	free(f->own);
	f->own = NULL;
}

void colb_manifest_bundle_id(uint64_t version, const char *publisher,
			     const uint8_t payload_sha256[32], char out[33])
{
	uint8_t d[32], v[8];
	colb_buf b;
	colb_buf_init(&b, 0);
	colb_put64(v, version);
	if (colb_buf_append_str(&b, "colbundle-id") || colb_buf_append(&b, v, 8) ||
	    colb_buf_append_str(&b, publisher) || colb_buf_append(&b, "", 1) ||
	    colb_buf_append(&b, payload_sha256, 32)) {
		memset(out, '0', 32); /* out of memory: an id that verifies nothing */
		out[32] = 0;
		colb_buf_free(&b);
		return;
	}
	colb_sha256(b.data, b.len, d);
	colb_buf_free(&b);
	colb_hex_encode(d, 16, out, false);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *colb_json_sorted_copy(const json_t *j)
{
	if (json_is_object(j)) {
		size_t n = json_object_size(j), i = 0;
		const char **keys = malloc((n ? n : 1) * sizeof *keys);
		json_t *out = json_object();
		if (!keys || !out) {
			free(keys);
			json_decref(out);
			return NULL;
		}
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)j, k, v)
			keys[i++] = k;
		qsort(keys, n, sizeof *keys, cmp_keys);
		for (i = 0; i < n; i++) {
			json_t *c = colb_json_sorted_copy(json_object_get(j, keys[i]));
			if (!c || json_object_set_new(out, keys[i], c) != 0) {
				free(keys);
				json_decref(out);
				return NULL;
			}
		}
		free(keys);
		return out;
	}
	if (json_is_array(j)) {
		json_t *out = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) {
			json_t *c = colb_json_sorted_copy(v);
			if (!c || json_array_append_new(out, c) != 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	return json_deep_copy(j);
}

/* ---- emission ---------------------------------------------------------------- */

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)

/* Appends a JSON text jansson writes for j (a new reference, taken). */
static colb_err append_dump(colb_buf *out, json_t *j)
{
	char *text = j ? json_dumps(j, DUMP_FLAGS | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!text)
		return COLB_ERR_NOMEM;
	colb_err rc = colb_buf_append_str(out, text);
	free(text);
	return rc;
}

/* The text is what jansson writes for the same object with the keys in the
 * specification's order (compact, ASCII): the free-form publisher and
 * baseline go through jansson; every other value is a number or a string of
 * the vocabulary's ASCII forms, which JSON writes as they are. */
colb_err colb_manifest_emit(const colb_manifest *m, colb_buf *out)
{
	char created[21], expires[21], hex[65];
	colb_time_format(m->created, created);
	colb_time_format(m->expires, expires);
	colb_hex_encode(m->payload_sha256, 32, hex, false);
	colb_err rc = colb_buf_printf(out,
				      "{\"format\":\"colbundle\",\"format_version\":\"%d.%u\","
				      "\"bundle_id\":\"%s\",\"version\":\"%llu\",\"created\":\"%s\","
				      "\"expires\":\"%s\",\"publisher\":",
				      COLB_FORMAT_MAJOR, m->minor, m->bundle_id,
				      (unsigned long long)m->version, created, expires);
	if (!rc)
		rc = append_dump(out, json_string(m->publisher ? m->publisher : ""));
	if (!rc)
		rc = colb_buf_append_str(out, ",\"tee\":[");
	for (size_t i = 0, n = 0; !rc && i < 3; i++)
		if (m->tee_mask & tee_bits[i])
			rc = colb_buf_printf(out, "%s\"%s\"", n++ ? "," : "", tee_names[i]);
	if (!rc)
		rc = colb_buf_append_str(out, "],\"baseline\":");
	if (!rc)
		rc = append_dump(out, m->baseline ? colb_json_sorted_copy(m->baseline) : json_object());
	if (!rc)
		rc = colb_buf_printf(out, ",\"payload\":{\"size\":%llu,\"sha256\":\"%s\"},\"files\":[",
				     (unsigned long long)m->payload_size, hex);
	for (size_t i = 0; !rc && i < m->nfiles; i++) {
		const colb_mfile *f = &m->files[i];
		rc = colb_buf_printf(out,
				     "%s{\"path\":\"%s\",\"size\":%llu,\"sha256\":\"%s\",\"kind\":\"%s\","
				     "\"meta\":%s}",
				     i ? "," : "", f->path, (unsigned long long)f->size, f->sha256, f->kind,
				     f->meta_json ? f->meta_json : "{}");
	}
	if (!rc)
		rc = colb_buf_append_str(out, "]}");
	return rc;
}

/* ---- strict parsing ------------------------------------------------------------ */

typedef struct pctx {
	colb_jscan s;
	char *why;
	size_t whylen;
	colb_err unknown_err; /* MANIFEST, or UNSUPPORTED_VERSION for a newer minor */
	char *arena, *top, *end;
} pctx;

static colb_err bad(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static colb_err bad(pctx *c, const char *fmt, ...)
{
	if (c->why && c->whylen) {
		int n = snprintf(c->why, c->whylen, "manifest: ");
		va_list ap;
		va_start(ap, fmt);
		if (n > 0 && (size_t)n < c->whylen)
			vsnprintf(c->why + n, c->whylen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return COLB_ERR_MANIFEST;
}

/* The scanner's error, with where it stopped. */
static colb_err bad_json(pctx *c)
{
	return bad(c, "not valid JSON at byte %zu: %s", colb_jscan_offset(&c->s),
		   c->s.err ? c->s.err : "unexpected input");
}

static colb_err unknown_key(pctx *c, const char *where, const char *key)
{
	colb_err e = bad(c, "%s has an unknown key '%s'", where, key);
	return c->unknown_err ? c->unknown_err : e;
}

/* Which of a set of keys this is (index), -1 if none. */
static int key_index(const char *const *keys, const char *key)
{
	for (int i = 0; keys[i]; i++)
		if (!strcmp(keys[i], key))
			return i;
	return -1;
}

/* Notes key i as seen; a second time is an error. */
static colb_err seen_key(pctx *c, unsigned *seen, int i, const char *where, const char *key)
{
	if (*seen & 1u << i)
		return bad(c, "%s has the key '%s' twice", where, key);
	*seen |= 1u << i;
	return COLB_OK;
}

static colb_err missing_key(pctx *c, unsigned seen, const char *const *keys, const char *where)
{
	for (int i = 0; keys[i]; i++)
		if (!(seen & 1u << i))
			return bad(c, "%s lacks '%s'", where, keys[i]);
	return COLB_OK;
}

/* A string value into the arena (which holds every string of the file list:
 * a decoded string with its NUL is never longer than its JSON text). */
static const char *arena_string(pctx *c, size_t *len)
{
	char *at = c->top;
	if (!colb_jscan_string(&c->s, at, (size_t)(c->end - at), len) || *len >= (size_t)(c->end - at))
		return NULL;
	c->top += *len + 1;
	return at;
}

/* A JSON integer in [0, 2^53). */
static bool json_uint(pctx *c, uint64_t *v, bool *ok)
{
	bool is_uint;
	if (!colb_jscan_number(&c->s, &is_uint, v))
		return false;
	*ok = is_uint && *v <= COLB_JSON_MAX_INT;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly. */
static bool time_of(const char *s, size_t n, time_t *out)
{
	char back[21];
	if (n != 20 || !colb_time_parse(s, out))
		return false;
	colb_time_format(*out, back);
	return !strcmp(back, s);
}

/* A decimal uint64 without sign or leading zeros. */
static bool version_of(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return false;
	return colb_parse_u64(s, out);
}

/* A value in the wrong place: consumed, so that the error is the caller's. */
static colb_err skip_value(pctx *c)
{
	return colb_jscan_skip(&c->s, NULL, NULL) ? COLB_OK : bad_json(c);
}

/* A file's meta object. Errors of form are kept in mwhy (the first one) and
 * reported after the file's path has been judged; JSON errors return. */
static colb_err parse_meta(pctx *c, colb_meta *meta, char *mwhy, size_t mwhylen)
{
	char key[64];
	size_t kl, vl;
	bool first = true;
	int r;
	memset(meta, 0, sizeof *meta);
	if (colb_jscan_peek(&c->s) != '{') {
		if (!*mwhy)
			snprintf(mwhy, mwhylen, "meta is not an object");
		return skip_value(c);
	}
	c->s.p++;
	while ((r = colb_jscan_key(&c->s, &first, key, sizeof key, &kl)) > 0) {
		char why[160] = "";
		int t = colb_jscan_peek(&c->s);
		if (kl >= sizeof key) {
			snprintf(why, sizeof why, "meta key '%s...' is not a known key", key);
			if (skip_value(c))
				return COLB_ERR_MANIFEST;
		} else if (t == '"') {
			const char *v = arena_string(c, &vl);
			if (!v)
				return bad_json(c);
			colb_meta_add_str(meta, key, v, vl, why, sizeof why);
		} else if (t == '-' || (t >= '0' && t <= '9')) {
			uint64_t v;
			bool ok;
			if (!json_uint(c, &v, &ok))
				return bad_json(c);
			if (!ok)
				v = UINT64_MAX; /* a value add_uint refuses, with the key's message */
			colb_meta_add_uint(meta, key, v, why, sizeof why);
		} else {
			if (skip_value(c))
				return COLB_ERR_MANIFEST;
			colb_meta_add_str(meta, key, "", 0, why, sizeof why); /* the key's own message */
		}
		if (*why && !*mwhy)
			snprintf(mwhy, mwhylen, "%s", why);
	}
	return r < 0 ? bad_json(c) : COLB_OK;
}

/* An unsigned integer value; a value of another type is consumed and
 * leaves *ok false. */
static colb_err read_uint(pctx *c, uint64_t *v, bool *ok)
{
	int t = colb_jscan_peek(&c->s);
	*ok = false;
	if (t != '-' && !(t >= '0' && t <= '9'))
		return skip_value(c);
	return json_uint(c, v, ok) ? COLB_OK : bad_json(c);
}

/* A small string value; a value of another type is consumed and leaves
 * *len at cap (which no check accepts). */
static colb_err read_small(pctx *c, char *out, size_t cap, size_t *len)
{
	*len = cap;
	out[0] = 0;
	if (colb_jscan_peek(&c->s) != '"')
		return skip_value(c);
	return colb_jscan_string(&c->s, out, cap, len) ? COLB_OK : bad_json(c);
}

enum { F_PATH, F_SIZE, F_SHA256, F_KIND, F_META };
static const char *const file_keys[] = {"path", "size", "sha256", "kind", "meta", NULL};

/* One element of `files`; prev is the file before it (or NULL). The name
 * used in messages, "files[i]", is made only for a message. */
static colb_err parse_file(pctx *c, size_t i, colb_mfile *mf, const colb_mfile *prev)
{
	char where[48], key[64], sha[80] = "", kind[32] = "", mwhy[256] = "", kwhy[256] = "";
	size_t kl, n, shalen = sizeof sha, kindlen = sizeof kind, pathlen = 0;
	bool first = true, size_ok = false;
	unsigned seen = 0;
	int r;
	colb_err rc;
#define WHERE (snprintf(where, sizeof where, "files[%zu]", i), where)
	if (colb_jscan_peek(&c->s) != '{')
		return colb_jscan_skip(&c->s, NULL, NULL) ? bad(c, "%s is not an object", WHERE) : bad_json(c);
	c->s.p++;
	while ((r = colb_jscan_key(&c->s, &first, key, sizeof key, &kl)) > 0) {
		int k = kl < sizeof key ? key_index(file_keys, key) : -1;
		if (k < 0)
			return unknown_key(c, WHERE, key);
		if (seen & 1u << k)
			return bad(c, "%s has the key '%s' twice", WHERE, key);
		seen |= 1u << k;
		switch (k) {
		case F_PATH:
			if (colb_jscan_peek(&c->s) != '"')
				rc = skip_value(c); /* judged below: no path */
			else
				rc = (mf->path = arena_string(c, &pathlen)) ? COLB_OK : bad_json(c);
			break;
		case F_SIZE:
			rc = read_uint(c, &mf->size, &size_ok);
			break;
		case F_SHA256:
			rc = read_small(c, sha, sizeof sha, &shalen);
			break;
		case F_KIND:
			rc = read_small(c, kind, sizeof kind, &kindlen);
			break;
		default:
			rc = parse_meta(c, &mf->meta, mwhy, sizeof mwhy);
			break;
		}
		if (rc)
			return rc;
	}
	if (r < 0)
		return bad_json(c);
	for (int k = 0; file_keys[k]; k++)
		if (!(seen & 1u << k))
			return bad(c, "%s lacks '%s'", WHERE, file_keys[k]);
	if (!mf->path || strlen(mf->path) != pathlen || !colb_path_ok(mf->path)) {
		bad(c, "%s: path is not a valid payload path", WHERE);
		return mf->path ? COLB_ERR_BAD_PATH : COLB_ERR_MANIFEST;
	}
	if (prev && strcmp(prev->path, mf->path) >= 0) {
		rc = bad(c, "%s: '%s' is not after '%s' (paths must be sorted and unique)", WHERE, mf->path,
			 prev->path);
		return strcmp(prev->path, mf->path) ? rc : COLB_ERR_DUPLICATE_ENTRY;
	}
	if (!size_ok || shalen != 64 || !colb_is_hex_case(sha, 64, false) || kindlen >= sizeof kind)
		return bad(c, "'%s': needs an integer size, a 64-digit lower-case hex sha256 and a kind",
			   mf->path);
#undef WHERE
	mf->kind = colb_kind_name(kind, kindlen);
	if (!mf->kind)
		snprintf(kwhy, sizeof kwhy, "unknown kind '%s'", kind);
	else if (*mwhy)
		snprintf(kwhy, sizeof kwhy, "%s", mwhy);
	else if (!colb_kind_check(mf->kind, &mf->meta, kwhy, sizeof kwhy) ||
		 !colb_kind_path_agrees(mf->path, mf->kind, &mf->meta, kwhy, sizeof kwhy))
		; /* kwhy says why */
	else
		kwhy[0] = 0;
	if (kwhy[0]) {
		rc = bad(c, "'%s': %s", mf->path, kwhy);
		return c->unknown_err ? c->unknown_err : rc; /* a newer minor's vocabulary */
	}
	memcpy(mf->sha256, sha, 65);
	colb_hex_decode(sha, 64, mf->digest, 32);
	n = colb_meta_json(&mf->meta, c->top, (size_t)(c->end - c->top));
	if (n >= (size_t)(c->end - c->top))
		return bad(c, "'%s': no room for its meta", mf->path);
	mf->meta_json = c->top;
	c->top += n + 1;
	return COLB_OK;
}

static colb_err parse_files(pctx *c, colb_manifest *m, uint64_t max_files)
{
	bool first = true;
	size_t cap = 0;
	int r;
	colb_err rc;
	if (!colb_jscan_expect(&c->s, '[', "expected an array"))
		return bad(c, "'files' is not an array");
	while ((r = colb_jscan_elem(&c->s, &first)) > 0) {
		if (m->nfiles >= max_files) {
			if (c->why && c->whylen)
				snprintf(c->why, c->whylen, "manifest: more than %llu files, over the cap",
					 (unsigned long long)max_files);
			return COLB_ERR_BOMB;
		}
		if (m->nfiles == cap) {
			cap = cap ? 2 * cap : 256;
			colb_mfile *f = realloc(m->files, cap * sizeof *f);
			if (!f)
				return COLB_ERR_NOMEM;
			m->files = f;
		}
		colb_mfile *mf = &m->files[m->nfiles++];
		memset(mf, 0, sizeof *mf);
		if ((rc = parse_file(c, m->nfiles - 1, mf, m->nfiles > 1 ? mf - 1 : NULL)))
			return rc;
		m->tee_mask |= colb_tee_of_meta(&mf->meta);
	}
	return r < 0 ? bad_json(c) : COLB_OK;
}

/* `tee`: the sorted names of the files' TEE kinds, as a mask (0x80000000
 * when the array is not such a list). */
static colb_err parse_tee(pctx *c, unsigned *mask)
{
	bool first = true;
	int r, last = -1;
	*mask = 0;
	if (colb_jscan_peek(&c->s) != '[') {
		*mask = 0x80000000u;
		return skip_value(c);
	}
	c->s.p++;
	while ((r = colb_jscan_elem(&c->s, &first)) > 0) {
		char name[16];
		size_t n;
		int i = 0;
		if (read_small(c, name, sizeof name, &n))
			return COLB_ERR_MANIFEST;
		while (i < 3 && (n >= sizeof name || strcmp(name, tee_names[i])))
			i++;
		if (i == 3 || i <= last)
			*mask |= 0x80000000u;
		else
			*mask |= tee_bits[i];
		last = i;
	}
	return r < 0 ? bad_json(c) : COLB_OK;
}

enum {
	T_FORMAT, T_FORMAT_VERSION, T_BUNDLE_ID, T_VERSION, T_CREATED, T_EXPIRES, T_PUBLISHER, T_TEE,
	T_BASELINE, T_PAYLOAD, T_FILES
};
static const char *const top_keys[] = {"format", "format_version", "bundle_id", "version", "created",
				       "expires", "publisher", "tee", "baseline", "payload", "files", NULL};

/* The small string values of the top level, as read. */
typedef struct top_vals {
	char v[T_FILES][64];
	size_t len[T_FILES];
	bool is_str[T_FILES];   /* a string that fits v */
	char publisher[260];
	size_t publisher_len;
	unsigned tee_mask;
	const unsigned char *baseline_from, *baseline_to;
	bool payload_ok;
	uint64_t payload_size;
	char payload_sha[80];
	size_t payload_sha_len;
} top_vals;

static colb_err parse_payload(pctx *c, top_vals *t)
{
	static const char *const keys[] = {"size", "sha256", NULL};
	char key[64];
	size_t kl;
	bool first = true, size_ok = false;
	unsigned seen = 0;
	int r;
	colb_err rc;
	if (!colb_jscan_expect(&c->s, '{', "expected an object"))
		return bad(c, "'payload' is not an object");
	while ((r = colb_jscan_key(&c->s, &first, key, sizeof key, &kl)) > 0) {
		int k = kl < sizeof key ? key_index(keys, key) : -1;
		if (k < 0)
			return unknown_key(c, "'payload'", key);
		if ((rc = seen_key(c, &seen, k, "'payload'", key)))
			return rc;
		rc = k == 0 ? read_uint(c, &t->payload_size, &size_ok)
			    : read_small(c, t->payload_sha, sizeof t->payload_sha, &t->payload_sha_len);
		if (rc)
			return rc;
	}
	if (r < 0)
		return bad_json(c);
	if ((rc = missing_key(c, seen, keys, "'payload'")))
		return rc;
	t->payload_ok = size_ok && t->payload_sha_len == 64 && colb_is_hex_case(t->payload_sha, 64, false);
	return COLB_OK;
}

/* Reads the top-level object into t and m's file list. */
static colb_err parse_top(pctx *c, colb_manifest *m, uint64_t max_files, top_vals *t)
{
	char key[64];
	size_t kl;
	bool first = true;
	unsigned seen = 0;
	int r;
	colb_err rc;
	if (!colb_jscan_expect(&c->s, '{', "expected an object"))
		return c->s.p == c->s.end ? bad_json(c) : bad(c, "the manifest is not an object");
	while ((r = colb_jscan_key(&c->s, &first, key, sizeof key, &kl)) > 0) {
		int k = kl < sizeof key ? key_index(top_keys, key) : -1;
		if (k < 0)
			return unknown_key(c, "the manifest", key);
		if ((rc = seen_key(c, &seen, k, "the manifest", key)))
			return rc;
		int ty = colb_jscan_peek(&c->s);
		switch (k) {
		case T_TEE:
			rc = parse_tee(c, &t->tee_mask);
			break;
		case T_BASELINE:
			if (ty != '{')
				return bad(c, "'baseline' is not an object");
			rc = colb_jscan_skip(&c->s, &t->baseline_from, &t->baseline_to) ? COLB_OK : bad_json(c);
			break;
		case T_PAYLOAD:
			rc = parse_payload(c, t);
			break;
		case T_FILES:
			rc = parse_files(c, m, max_files);
			break;
		case T_PUBLISHER:
			rc = read_small(c, t->publisher, sizeof t->publisher, &t->publisher_len);
			break;
		default:
			rc = read_small(c, t->v[k], sizeof t->v[k], &t->len[k]);
			t->is_str[k] = t->len[k] < sizeof t->v[k];
			break;
		}
		if (rc)
			return rc;
	}
	if (r < 0 || !colb_jscan_done(&c->s))
		return bad_json(c);
	return missing_key(c, seen, top_keys, "the manifest");
}

colb_err colb_manifest_parse(const uint8_t *bytes, size_t len, unsigned envelope_minor,
			     uint64_t max_files, colb_manifest *m, char *why, size_t whylen)
{
	pctx c = {.why = why, .whylen = whylen,
		  .unknown_err = envelope_minor > COLB_FORMAT_MINOR ? COLB_ERR_UNSUPPORTED_VERSION : COLB_OK};
	top_vals *t = calloc(1, sizeof *t);
	colb_err rc;
	memset(m, 0, sizeof *m);
	m->minor = envelope_minor;
	/* Every decoded string, and every file's canonical meta text, is no
	 * longer than the JSON text it came from: twice the input bounds all. */
	m->arena = malloc(2 * len + 64);
	if (!t || !m->arena) {
		rc = COLB_ERR_NOMEM;
		goto fail;
	}
	c.arena = c.top = m->arena;
	c.end = m->arena + 2 * len + 64;
	colb_jscan_init(&c.s, bytes, len);
	if ((rc = parse_top(&c, m, max_files, t)))
		goto fail;

	rc = COLB_ERR_MANIFEST;
	if (!t->is_str[T_FORMAT] || strcmp(t->v[T_FORMAT], "colbundle") != 0) {
		bad(&c, "'format' is not \"colbundle\"");
		goto fail;
	}
	char fv[16];
	snprintf(fv, sizeof fv, "%d.%u", COLB_FORMAT_MAJOR, envelope_minor);
	if (!t->is_str[T_FORMAT_VERSION] || strcmp(t->v[T_FORMAT_VERSION], fv) != 0) {
		bad(&c, "'format_version' is not \"%s\" as in the envelope", fv);
		goto fail;
	}
	if (!t->is_str[T_VERSION] || !version_of(t->v[T_VERSION], t->len[T_VERSION], &m->version)) {
		bad(&c, "'version' is not a decimal string of an unsigned 64-bit number");
		goto fail;
	}
	if (!t->is_str[T_CREATED] || !t->is_str[T_EXPIRES] ||
	    !time_of(t->v[T_CREATED], t->len[T_CREATED], &m->created) ||
	    !time_of(t->v[T_EXPIRES], t->len[T_EXPIRES], &m->expires)) {
		bad(&c, "'created' or 'expires' is not a time of the form 2025-01-31T12:00:00Z");
		goto fail;
	}
	if (m->expires <= m->created) {
		bad(&c, "'expires' is not after 'created'");
		goto fail;
	}
	if (t->publisher_len == 0 || t->publisher_len > 256) {
		bad(&c, "'publisher' is not a string of 1 to 256 bytes");
		goto fail;
	}
	for (const char *p = t->publisher; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			bad(&c, "'publisher' contains a control character");
			goto fail;
		}
	json_error_t jerr;
	m->baseline = json_loadb((const char *)t->baseline_from,
				 (size_t)(t->baseline_to - t->baseline_from), JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(m->baseline)) {
		bad(&c, "'baseline': %s", m->baseline ? "not an object" : jerr.text);
		goto fail;
	}
	if (!(m->baseline_json = json_dumps(m->baseline, DUMP_FLAGS)) ||
	    !(m->publisher = strdup(t->publisher))) {
		rc = COLB_ERR_NOMEM;
		goto fail;
	}
	if (!t->payload_ok) {
		bad(&c, "'payload' needs an integer size and a 64-digit lower-case hex sha256");
		goto fail;
	}
	colb_hex_decode(t->payload_sha, 64, m->payload_sha256, 32);
	m->payload_size = t->payload_size;
	char id[33];
	colb_manifest_bundle_id(m->version, m->publisher, m->payload_sha256, id);
	if (!t->is_str[T_BUNDLE_ID] || strcmp(t->v[T_BUNDLE_ID], id) != 0) {
		bad(&c, "'bundle_id' is not the one derived from version, publisher and payload (%s)", id);
		goto fail;
	}
	memcpy(m->bundle_id, id, sizeof id);
	if (t->tee_mask != m->tee_mask) {
		bad(&c, "'tee' is not the sorted list of the files' TEE kinds");
		goto fail;
	}
	free(t);
	return COLB_OK;
fail:
	free(t);
	colb_manifest_clear(m);
	return rc;
}
