/*
 * manifest.c — the signed manifest: deterministic emission and strict
 * parsing (format-spec/colbundle-v1.md, "Manifest").
 *
 * The reader parses exactly the bytes it verified the signatures over. It
 * refuses unknown, duplicate and missing keys, unsorted or duplicate paths,
 * and anything whose type or form differs from the specification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle_priv.h"

static const char *const tee_names[] = {"sev-snp", "sgx", "tdx"}; /* bytewise order */
static const unsigned tee_bits[] = {COLB_TEE_SEV_SNP, COLB_TEE_SGX, COLB_TEE_TDX};

void colb_manifest_clear(colb_manifest *m)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		free(m->files[i].kind);
		json_decref(m->files[i].meta);
		free(m->files[i].meta_json);
	}
	free(m->files);
	free(m->publisher);
	json_decref(m->baseline);
	free(m->baseline_json);
	memset(m, 0, sizeof *m);
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

unsigned colb_tee_of_meta(const json_t *meta)
{
	const char *t = json_string_value(json_object_get(meta, "tee"));
	for (size_t i = 0; t && i < 3; i++)
		if (!strcmp(t, tee_names[i]))
			return tee_bits[i];
	return 0;
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

colb_err colb_manifest_emit(const colb_manifest *m, colb_buf *out)
{
	char created[21], expires[21], version[24], hex[65], fv[16];
	colb_time_format(m->created, created);
	colb_time_format(m->expires, expires);
	snprintf(version, sizeof version, "%llu", (unsigned long long)m->version);
	snprintf(fv, sizeof fv, "%d.%u", COLB_FORMAT_MAJOR, m->minor);
	colb_hex_encode(m->payload_sha256, 32, hex, false);

	json_t *root = json_object(), *tee = json_array(), *files = json_array(), *payload = json_object();
	json_t *baseline = m->baseline ? colb_json_sorted_copy(m->baseline) : json_object();
	colb_err rc = COLB_ERR_NOMEM;
	if (!root || !tee || !files || !payload || !baseline)
		goto out;
	for (size_t i = 0; i < 3; i++)
		if (m->tee_mask & tee_bits[i])
			json_array_append_new(tee, json_string(tee_names[i]));
	json_object_set_new(payload, "size", json_integer((json_int_t)m->payload_size));
	json_object_set_new(payload, "sha256", json_string(hex));
	for (size_t i = 0; i < m->nfiles; i++) {
		const colb_mfile *f = &m->files[i];
		json_t *o = json_object(), *meta = colb_json_sorted_copy(f->meta ? f->meta : json_object());
		if (!o || !meta) {
			json_decref(o);
			json_decref(meta);
			goto out;
		}
		json_object_set_new(o, "path", json_string(f->path));
		json_object_set_new(o, "size", json_integer((json_int_t)f->size));
		json_object_set_new(o, "sha256", json_string(f->sha256));
		json_object_set_new(o, "kind", json_string(f->kind));
		json_object_set_new(o, "meta", meta);
		json_array_append_new(files, o);
	}
	/* The fixed key order of the specification. */
	json_object_set_new(root, "format", json_string("colbundle"));
	json_object_set_new(root, "format_version", json_string(fv));
	json_object_set_new(root, "bundle_id", json_string(m->bundle_id));
	json_object_set_new(root, "version", json_string(version));
	json_object_set_new(root, "created", json_string(created));
	json_object_set_new(root, "expires", json_string(expires));
	json_object_set_new(root, "publisher", json_string(m->publisher ? m->publisher : ""));
	json_object_set(root, "tee", tee);
	json_object_set(root, "baseline", baseline);
	json_object_set(root, "payload", payload);
	json_object_set(root, "files", files);
	char *text = json_dumps(root, DUMP_FLAGS);
	if (!text)
		goto out;
	rc = colb_buf_append_str(out, text);
	free(text);
out:
	json_decref(root);
	json_decref(tee);
	json_decref(files);
	json_decref(payload);
	json_decref(baseline);
	return rc;
}

/* ---- strict parsing ------------------------------------------------------------ */

typedef struct pctx {
	char *why;
	size_t whylen;
	colb_err unknown_err; /* MANIFEST, or UNSUPPORTED_VERSION for a newer minor */
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

/* The object has exactly these keys. */
static colb_err exact_keys(pctx *c, const json_t *o, const char *where, const char *const *keys)
{
	if (!json_is_object(o))
		return bad(c, "%s is not an object", where);
	size_t n = 0;
	for (; keys[n]; n++)
		if (!json_object_get(o, keys[n]))
			return bad(c, "%s lacks '%s'", where, keys[n]);
	if (json_object_size(o) != n) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)o, k, v) {
			size_t i = 0;
			while (keys[i] && strcmp(keys[i], k))
				i++;
			if (!keys[i]) {
				colb_err e = bad(c, "%s has an unknown key '%s'", where, k);
				return c->unknown_err ? c->unknown_err : e;
			}
		}
	}
	return COLB_OK;
}

static const char *get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool lower_hex(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool get_size(const json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > COLB_JSON_MAX_INT)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly. */
static bool get_time(const json_t *o, const char *key, time_t *out)
{
	const char *s = get_str(o, key);
	char back[21];
	if (!s || strlen(s) != 20 || !colb_time_parse(s, out))
		return false;
	colb_time_format(*out, back);
	return !strcmp(back, s);
}

/* A decimal uint64 without sign or leading zeros. */
static bool get_version(const json_t *o, uint64_t *out)
{
	const char *s = get_str(o, "version");
	if (!s || !*s || (s[0] == '0' && s[1]) || strlen(s) > 20)
		return false;
	return colb_parse_u64(s, out);
}

colb_err colb_manifest_parse(const uint8_t *bytes, size_t len, unsigned envelope_minor,
			     uint64_t max_files, colb_manifest *m, char *why, size_t whylen)
{
	static const char *const top_keys[] = {"format", "format_version", "bundle_id", "version",
					       "created", "expires", "publisher", "tee", "baseline",
					       "payload", "files", NULL};
	static const char *const payload_keys[] = {"size", "sha256", NULL};
	static const char *const file_keys[] = {"path", "size", "sha256", "kind", "meta", NULL};
	pctx c = {why, whylen, envelope_minor > COLB_FORMAT_MINOR ? COLB_ERR_UNSUPPORTED_VERSION : COLB_OK};
	json_error_t jerr;
	colb_err rc;
	memset(m, 0, sizeof *m);
	m->minor = envelope_minor;

	json_t *root = json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return bad(&c, "not valid JSON at byte %d: %s", jerr.position, jerr.text);
	if ((rc = exact_keys(&c, root, "the manifest", top_keys)))
		goto fail;
	const char *s = get_str(root, "format");
	if (!s || strcmp(s, "colbundle") != 0) {
		rc = bad(&c, "'format' is not \"colbundle\"");
		goto fail;
	}
	char fv[16];
	snprintf(fv, sizeof fv, "%d.%u", COLB_FORMAT_MAJOR, envelope_minor);
	s = get_str(root, "format_version");
	if (!s || strcmp(s, fv) != 0) {
		rc = bad(&c, "'format_version' is not \"%s\" as in the envelope", fv);
		goto fail;
	}
	if (!get_version(root, &m->version)) {
		rc = bad(&c, "'version' is not a decimal string of an unsigned 64-bit number");
		goto fail;
	}
	if (!get_time(root, "created", &m->created) || !get_time(root, "expires", &m->expires)) {
		rc = bad(&c, "'created' or 'expires' is not a time of the form 2025-01-31T12:00:00Z");
		goto fail;
	}
	if (m->expires <= m->created) {
		rc = bad(&c, "'expires' is not after 'created'");
		goto fail;
	}
	s = get_str(root, "publisher");
	if (!s || !*s || strlen(s) > 256 || strlen(s) != json_string_length(json_object_get(root, "publisher"))) {
		rc = bad(&c, "'publisher' is not a string of 1 to 256 bytes");
		goto fail;
	}
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			rc = bad(&c, "'publisher' contains a control character");
			goto fail;
		}
	if (!(m->publisher = strdup(s))) {
		rc = COLB_ERR_NOMEM;
		goto fail;
	}
	json_t *baseline = json_object_get(root, "baseline");
	if (!json_is_object(baseline)) {
		rc = bad(&c, "'baseline' is not an object");
		goto fail;
	}
	m->baseline = json_incref(baseline);
	m->baseline_json = json_dumps(baseline, DUMP_FLAGS);
	if (!m->baseline_json) {
		rc = COLB_ERR_NOMEM;
		goto fail;
	}
	json_t *payload = json_object_get(root, "payload");
	if ((rc = exact_keys(&c, payload, "'payload'", payload_keys)))
		goto fail;
	s = get_str(payload, "sha256");
	if (!get_size(payload, "size", &m->payload_size) || !lower_hex(s, 64)) {
		rc = bad(&c, "'payload' needs an integer size and a 64-digit lower-case hex sha256");
		goto fail;
	}
	colb_hex_decode(s, 64, m->payload_sha256, 32);
	char id[33];
	colb_manifest_bundle_id(m->version, m->publisher, m->payload_sha256, id);
	s = get_str(root, "bundle_id");
	if (!s || strcmp(s, id) != 0) {
		rc = bad(&c, "'bundle_id' is not the one derived from version, publisher and payload (%s)", id);
		goto fail;
	}
	memcpy(m->bundle_id, id, sizeof id);

	json_t *files = json_object_get(root, "files");
	if (!json_is_array(files)) {
		rc = bad(&c, "'files' is not an array");
		goto fail;
	}
	size_t n = json_array_size(files);
	if (n > max_files) {
		rc = COLB_ERR_BOMB;
		snprintf(why, whylen, "manifest: %zu files, over the cap of %llu", n,
			 (unsigned long long)max_files);
		goto fail;
	}
	m->files = calloc(n ? n : 1, sizeof *m->files);
	if (!m->files) {
		rc = COLB_ERR_NOMEM;
		goto fail;
	}
	unsigned tee_mask = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *f = json_array_get(files, i);
		char where[48], kwhy[256];
		snprintf(where, sizeof where, "files[%zu]", i);
		if ((rc = exact_keys(&c, f, where, file_keys)))
			goto fail;
		colb_mfile *mf = &m->files[i];
		m->nfiles = i + 1;
		const char *path = get_str(f, "path"), *kind = get_str(f, "kind"), *sha = get_str(f, "sha256");
		json_t *meta = json_object_get(f, "meta");
		if (!path || !colb_path_ok(path) || strlen(path) != json_string_length(json_object_get(f, "path"))) {
			rc = bad(&c, "%s: path is not a valid payload path", where);
			if (path)
				rc = COLB_ERR_BAD_PATH;
			goto fail;
		}
		if (i > 0 && strcmp(m->files[i - 1].path, path) >= 0) {
			rc = bad(&c, "%s: '%s' is not after '%s' (paths must be sorted and unique)",
				 where, path, m->files[i - 1].path);
			if (!strcmp(m->files[i - 1].path, path))
				rc = COLB_ERR_DUPLICATE_ENTRY;
			goto fail;
		}
		if (!get_size(f, "size", &mf->size) || !lower_hex(sha, 64) || !kind) {
			rc = bad(&c, "'%s': needs an integer size, a 64-digit lower-case hex sha256 and a kind", path);
			goto fail;
		}
		if (!colb_kind_check(kind, meta, kwhy, sizeof kwhy) ||
		    !colb_kind_path_agrees(path, kind, meta, kwhy, sizeof kwhy)) {
			rc = bad(&c, "'%s': %s", path, kwhy);
			if (c.unknown_err)
				rc = c.unknown_err; /* a newer minor's vocabulary */
			goto fail;
		}
		mf->path = strdup(path);
		mf->kind = strdup(kind);
		mf->meta = json_incref(meta);
		mf->meta_json = json_dumps(meta, DUMP_FLAGS);
		memcpy(mf->sha256, sha, 65);
		colb_hex_decode(sha, 64, mf->digest, 32);
		if (!mf->path || !mf->kind || !mf->meta_json) {
			rc = COLB_ERR_NOMEM;
			goto fail;
		}
		tee_mask |= colb_tee_of_meta(meta);
	}
	json_t *tee = json_object_get(root, "tee");
	if (!json_is_array(tee)) {
		rc = bad(&c, "'tee' is not an array");
		goto fail;
	}
	json_t *want = json_array();
	for (size_t i = 0; want && i < 3; i++)
		if (tee_mask & tee_bits[i])
			json_array_append_new(want, json_string(tee_names[i]));
	bool tee_ok = want && json_equal(want, tee);
	json_decref(want);
	if (!tee_ok) {
		rc = bad(&c, "'tee' is not the sorted list of the files' TEE kinds");
		goto fail;
	}
	m->tee_mask = tee_mask;
	json_decref(root);
	return COLB_OK;
fail:
	json_decref(root);
	colb_manifest_clear(m);
	return rc;
}
