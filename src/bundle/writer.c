/*
 * writer.c — building a .colb: files in memory, a reproducible tar.gz
 * payload, the deterministic manifest, the envelope and its signatures; and
 * `sign`, which appends one signature to an existing bundle.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle/bundle_priv.h"
#include "bundle/rotation.h"

struct colb_writer {
	char error[512];
	uint64_t version;
	bool version_set, created_set, expires_set;
	time_t created, expires;
	char *publisher;
	json_t *baseline;
	colb_mfile *files;
	uint8_t **data;
	size_t n, cap;
	colb_buf rotation;      /* the key-rotation section being built */
	unsigned nrotation;
};

#define DEFAULT_VALIDITY (90 * 86400)

static colb_err wfail(colb_writer *w, colb_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static colb_err wfail(colb_writer *w, colb_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->error, sizeof w->error, fmt, ap);
	va_end(ap);
	return err;
}

colb_writer *colb_writer_new(void)
{
	return calloc(1, sizeof(colb_writer));
}

void colb_writer_free(colb_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		colb_mfile_release(&w->files[i]);
		free(w->data[i]);
	}
	free(w->files);
	free(w->data);
	free(w->publisher);
	json_decref(w->baseline);
	colb_buf_free(&w->rotation);
	free(w);
}

const char *colb_writer_error(const colb_writer *w) { return w ? w->error : "no writer"; }

void colb_writer_set_version(colb_writer *w, uint64_t version)
{
	if (w) {
		w->version = version;
		w->version_set = true;
	}
}

void colb_writer_set_created(colb_writer *w, time_t created)
{
	if (w) {
		w->created = created;
		w->created_set = true;
	}
}

void colb_writer_set_expires(colb_writer *w, time_t expires)
{
	if (w) {
		w->expires = expires;
		w->expires_set = true;
	}
}

colb_err colb_writer_set_publisher(colb_writer *w, const char *name)
{
	if (!w || !name || !*name || strlen(name) > 256)
		return w ? wfail(w, COLB_ERR_INVALID_ARG, "publisher: 1 to 256 bytes") : COLB_ERR_INVALID_ARG;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return wfail(w, COLB_ERR_INVALID_ARG, "publisher: control character");
	json_t *probe = json_string(name); /* must be valid UTF-8 */
	if (!probe)
		return wfail(w, COLB_ERR_INVALID_ARG, "publisher: not UTF-8");
	json_decref(probe);
	char *p = strdup(name);
	if (!p)
		return COLB_ERR_NOMEM;
	free(w->publisher);
	w->publisher = p;
	return COLB_OK;
}

colb_err colb_writer_set_baseline_json(colb_writer *w, const char *json)
{
	if (!w || !json)
		return COLB_ERR_INVALID_ARG;
	json_error_t jerr;
	json_t *j = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return wfail(w, COLB_ERR_INVALID_ARG, "baseline: not a JSON object (%s)",
			     j ? "another type" : jerr.text);
	}
	json_decref(w->baseline);
	w->baseline = j;
	return COLB_OK;
}

colb_err colb_writer_add_file(colb_writer *w, const char *path, const uint8_t *data, size_t len,
			      const char *kind, const char *meta_json)
{
	if (!w || !path || (!data && len))
		return COLB_ERR_INVALID_ARG;
	if (!colb_path_ok(path))
		return wfail(w, COLB_ERR_BAD_PATH, "'%s': not an allowed payload path", path);
	if (len > COLB_DEFAULT_MAX_ENTRY)
		return wfail(w, COLB_ERR_LIMIT, "'%s': %zu bytes, over the %llu-byte entry cap", path,
			     len, (unsigned long long)COLB_DEFAULT_MAX_ENTRY);
	const char *dkind = NULL;
	colb_meta meta, dmeta;
	char why[256], store[512];
	if (!colb_kind_from_path(path, &dkind, &dmeta, store, sizeof store))
		return wfail(w, COLB_ERR_BAD_PATH, "'%s': does not follow the entry naming rules", path);
	json_t *given = NULL;
	if (meta_json) {
		json_error_t jerr;
		given = json_loads(meta_json, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(given)) {
			json_decref(given);
			return wfail(w, COLB_ERR_INVALID_ARG, "'%s': meta is not a JSON object", path);
		}
		if (!colb_meta_from_json(given, &meta, why, sizeof why)) {
			json_decref(given);
			return wfail(w, COLB_ERR_INVALID_ARG, "'%s': %s", path, why);
		}
		/* What the caller gives wins; the path fills in the rest. */
		for (size_t k = 0; k < COLB_META_COUNT; k++)
			if (!(meta.has & COLB_META_BIT(k)) && (dmeta.has & COLB_META_BIT(k))) {
				meta.has |= COLB_META_BIT(k);
				meta.str[k] = dmeta.str[k];
				if (k == COLB_META_EVAL)
					meta.eval = dmeta.eval;
			}
	} else {
		meta = dmeta;
	}
	const char *kname = kind ? colb_kind_name(kind, strlen(kind)) : dkind;
	if (!kname) {
		json_decref(given);
		return wfail(w, COLB_ERR_INVALID_ARG, "'%s': unknown kind '%s'", path, kind);
	}
	if (!colb_kind_check(kname, &meta, why, sizeof why) ||
	    !colb_kind_path_agrees(path, kname, &meta, why, sizeof why)) {
		json_decref(given);
		return wfail(w, COLB_ERR_INVALID_ARG, "'%s': %s", path, why);
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		colb_mfile *f = realloc(w->files, cap * sizeof *f);
		if (f)
			w->files = f;
		uint8_t **d = realloc(w->data, cap * sizeof *d);
		if (d)
			w->data = d;
		if (!f || !d) {
			json_decref(given);
			return wfail(w, COLB_ERR_NOMEM, "out of memory");
		}
		w->cap = cap;
	}
	colb_mfile *f = &w->files[w->n];
	memset(f, 0, sizeof *f);
	colb_err rc = colb_mfile_set(f, path, kname, &meta);
	json_decref(given);
	uint8_t *copy = malloc(len ? len : 1);
	if (rc || !copy) {
		colb_mfile_release(f);
		free(copy);
		return wfail(w, COLB_ERR_NOMEM, "out of memory");
	}
	if (len)
		memcpy(copy, data, len);
	f->size = len;
	colb_sha256(copy, len, f->digest);
	colb_hex_encode(f->digest, 32, f->sha256, false);
	w->data[w->n++] = copy;
	return COLB_OK;
}

static colb_err add_tree(colb_writer *w, const char *root, const char *rel, int depth)
{
	char dirpath[PATH_MAX];
	snprintf(dirpath, sizeof dirpath, "%s%s%s", root, *rel ? "/" : "", rel);
	if (depth > 16)
		return wfail(w, COLB_ERR_BAD_PATH, "%s: directories nested too deep", dirpath);
	DIR *d = opendir(dirpath);
	if (!d)
		return wfail(w, errno == ENOENT ? COLB_ERR_NOT_FOUND : COLB_ERR_IO, "%s: %s", dirpath,
			     strerror(errno));
	colb_err rc = COLB_OK;
	struct dirent *de;
	while (rc == COLB_OK && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char sub[PATH_MAX], full[PATH_MAX];
		if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= (int)sizeof sub ||
		    snprintf(full, sizeof full, "%s/%s", root, sub) >= (int)sizeof full) {
			rc = wfail(w, COLB_ERR_BAD_PATH, "%s/%s: path too long", dirpath, de->d_name);
			break;
		}
		struct stat st;
		if (lstat(full, &st) != 0) {
			rc = wfail(w, COLB_ERR_IO, "%s: %s", full, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = add_tree(w, root, sub, depth + 1);
		} else if (!S_ISREG(st.st_mode)) {
			rc = wfail(w, COLB_ERR_NOT_REGULAR, "%s: not a regular file", full);
		} else {
			uint8_t *data = NULL;
			size_t len = 0;
			char why[512];
			rc = colb_read_file(full, COLB_DEFAULT_MAX_ENTRY, &data, &len, why, sizeof why);
			if (rc)
				wfail(w, rc, "%s", why);
			else
				rc = colb_writer_add_file(w, sub, data, len, NULL, NULL);
			free(data);
		}
	}
	closedir(d);
	return rc;
}

colb_err colb_writer_add_dir(colb_writer *w, const char *dir)
{
	if (!w || !dir)
		return COLB_ERR_INVALID_ARG;
	return add_tree(w, dir, "", 0);
}

/* ---- the payload --------------------------------------------------------------- */

static la_ssize_t buf_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	colb_buf *b = ctx;
	if (colb_buf_append(b, p, n) != COLB_OK) {
		archive_set_error(a, ENOMEM, "payload over its size limit");
		return -1;
	}
	return (la_ssize_t)n;
}

static int buf_open(struct archive *a, void *ctx) { return ARCHIVE_OK; }
static int buf_close(struct archive *a, void *ctx) { return ARCHIVE_OK; }

colb_err colb_payload_build(const colb_mfile *files, uint8_t *const *data, size_t n, time_t mtime,
			    colb_buf *out, char *why, size_t whylen)
{
	struct archive *a = archive_write_new();
	colb_err rc = COLB_OK;
	if (!a)
		return colb_seterr(why, whylen, COLB_ERR_NOMEM, "payload: out of memory");
	/* pax_restricted writes plain ustar headers unless a field does not fit;
	 * gzip without its timestamp and at a fixed level: the same files give
	 * the same bytes. */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "gzip:!timestamp,gzip:compression-level=9") != ARCHIVE_OK ||
	    /* no zero padding after the gzip stream */
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, out, buf_open, buf_write, buf_close) != ARCHIVE_OK) {
		rc = colb_seterr(why, whylen, COLB_ERR_INTERNAL, "payload: %s", archive_error_string(a));
		archive_write_free(a);
		return rc;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct archive_entry *e = archive_entry_new();
		if (!e) {
			rc = colb_seterr(why, whylen, COLB_ERR_NOMEM, "payload: out of memory");
			break;
		}
		archive_entry_set_pathname(e, files[i].path);
		archive_entry_set_size(e, (la_int64_t)files[i].size);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_mtime(e, mtime, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_uname(e, "");
		archive_entry_set_gname(e, "");
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (files[i].size &&
		     archive_write_data(a, data[i], (size_t)files[i].size) != (la_ssize_t)files[i].size))
			rc = colb_seterr(why, whylen, COLB_ERR_INTERNAL, "payload: '%s': %s", files[i].path,
					 archive_error_string(a));
		archive_entry_free(e);
	}
	if (archive_write_close(a) != ARCHIVE_OK && !rc)
		rc = colb_seterr(why, whylen, COLB_ERR_INTERNAL, "payload: %s", archive_error_string(a));
	archive_write_free(a);
	return rc;
}

/* ---- the envelope ----------------------------------------------------------------- */

colb_err colb_envelope_build(const uint8_t *manifest, size_t manifest_len, const uint8_t *payload,
			     size_t payload_len, const colb_seckey *const *keys, size_t nkeys,
			     colb_buf *out)
{
	return colb_envelope_build_rot(manifest, manifest_len, NULL, 0, payload, payload_len, keys,
				       nkeys, out);
}

colb_err colb_envelope_build_rot(const uint8_t *manifest, size_t manifest_len,
				 const uint8_t *rotation, size_t rotation_len, const uint8_t *payload,
				 size_t payload_len, const colb_seckey *const *keys, size_t nkeys,
				 colb_buf *out)
{
	if (nkeys > COLB_MAX_SIGS || manifest_len > UINT32_MAX || rotation_len > COLB_ROT_MAX_SECTION)
		return COLB_ERR_INVALID_ARG;
	uint32_t sigblock_len = 2 + COLB_SIG_ENTRY_LEN * (uint32_t)nkeys;
	uint8_t header[COLB_HEADER_LEN], cnt[2];
	colb_envelope_header(header, COLB_FORMAT_MINOR, (uint32_t)manifest_len, sigblock_len,
			     payload_len);
	colb_put32(header + 28, (uint32_t)rotation_len);
	colb_buf pae;
	colb_buf_init(&pae, 0);
	colb_err rc = colb_pae_build_rot(header, manifest, manifest_len, rotation, rotation_len, &pae);
	colb_put16(cnt, (uint16_t)nkeys);
	if (!rc && !(rc = colb_buf_append(out, header, sizeof header)) &&
	    !(rc = colb_buf_append(out, manifest, manifest_len)))
		rc = colb_buf_append(out, cnt, 2);
	for (size_t i = 0; !rc && i < nkeys; i++) {
		uint8_t sig[crypto_sign_BYTES];
		crypto_sign_detached(sig, NULL, pae.data, pae.len, keys[i]->sk);
		if (!(rc = colb_buf_append(out, keys[i]->keyid, COLB_KEYID_BYTES)))
			rc = colb_buf_append(out, sig, sizeof sig);
	}
	if (!rc && rotation_len)
		rc = colb_buf_append(out, rotation, rotation_len);
	if (!rc)
		rc = colb_buf_append(out, payload, payload_len);
	colb_buf_free(&pae);
	return rc;
}

static int cmp_index(const void *a, const void *b, void *ctx)
{
	const colb_mfile *f = ctx;
	return strcmp(f[*(const size_t *)a].path, f[*(const size_t *)b].path);
}

colb_err colb_writer_build(colb_writer *w, const colb_seckey *key, colb_buf *out)
{
	if (!w || !key || !out)
		return COLB_ERR_INVALID_ARG;
	if (!w->created_set) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		uint64_t t;
		w->created = sde && colb_parse_u64(sde, &t) && t < (1ull << 40) ? (time_t)t : time(NULL);
	}
	if (!w->expires_set)
		w->expires = w->created + DEFAULT_VALIDITY;
	if (w->expires <= w->created)
		return wfail(w, COLB_ERR_INVALID_ARG, "expires is not after created");
	if (!w->version_set)
		w->version = (uint64_t)w->created; /* increases with every later bundle */
	char keyid[2 * COLB_KEYID_BYTES + 1], pubname[32];
	colb_seckey_id(key, keyid);
	snprintf(pubname, sizeof pubname, "key %s", keyid);

	/* Sort by path (an index permutation, so files and data stay paired). */
	size_t *order = malloc((w->n ? w->n : 1) * sizeof *order);
	colb_mfile *files = calloc(w->n ? w->n : 1, sizeof *files);
	uint8_t **data = calloc(w->n ? w->n : 1, sizeof *data);
	colb_buf payload, manifest;
	colb_buf_init(&payload, COLB_MAX_PAYLOAD);
	colb_buf_init(&manifest, COLB_MAX_MANIFEST);
	colb_err rc = COLB_OK;
	char why[512];
	if (!order || !files || !data) {
		rc = wfail(w, COLB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < w->n; i++)
		order[i] = i;
	qsort_r(order, w->n, sizeof *order, cmp_index, w->files);
	for (size_t i = 0; i < w->n; i++) {
		files[i] = w->files[order[i]];
		data[i] = w->data[order[i]];
		if (i && !strcmp(files[i - 1].path, files[i].path)) {
			rc = wfail(w, COLB_ERR_DUPLICATE_ENTRY, "'%s': added twice", files[i].path);
			goto out;
		}
	}
	if ((rc = colb_payload_build(files, data, w->n, w->created, &payload, why, sizeof why))) {
		wfail(w, rc, "%s", why);
		goto out;
	}
	colb_manifest m;
	memset(&m, 0, sizeof m);
	m.minor = COLB_FORMAT_MINOR;
	m.version = w->version;
	m.created = w->created;
	m.expires = w->expires;
	m.publisher = w->publisher ? w->publisher : pubname;
	m.baseline = w->baseline;
	m.payload_size = payload.len;
	colb_sha256(payload.data, payload.len, m.payload_sha256);
	colb_manifest_bundle_id(m.version, m.publisher, m.payload_sha256, m.bundle_id);
	m.files = files;
	m.nfiles = w->n;
	for (size_t i = 0; i < w->n; i++)
		m.tee_mask |= colb_tee_of_meta(&files[i].meta);
	if ((rc = colb_manifest_emit(&m, &manifest))) {
		wfail(w, rc, "manifest: %s", rc == COLB_ERR_LIMIT ? "over the size cap" : "out of memory");
		goto out;
	}
	const colb_seckey *keys[1] = {key};
	if ((rc = colb_envelope_build_rot(manifest.data, manifest.len, w->rotation.data, w->rotation.len,
					  payload.data, payload.len, keys, 1, out)))
		wfail(w, rc, "envelope: %s", colb_strerror(rc));
out:
	free(order);
	free(files);
	free(data);
	colb_buf_free(&payload);
	colb_buf_free(&manifest);
	return rc;
}

colb_err colb_writer_finish(colb_writer *w, const colb_seckey *key, const char *out_path)
{
	if (!w || !key || !out_path)
		return COLB_ERR_INVALID_ARG;
	colb_buf out;
	colb_buf_init(&out, 0);
	char why[512];
	colb_err rc = colb_writer_build(w, key, &out);
	if (!rc && (rc = colb_write_file_atomic(out_path, out.data, out.len, 0644, why, sizeof why)))
		wfail(w, rc, "%s", why);
	colb_buf_free(&out);
	return rc;
}

/* ---- key rotation ------------------------------------------------------------------ */

colb_err colb_writer_add_rotation(colb_writer *w, const uint8_t *stmt, size_t len)
{
	if (!w || !stmt)
		return COLB_ERR_INVALID_ARG;
	colb_rot_stmt st;
	char why[256];
	colb_err rc = colb_rot_decode(stmt, len, &st, why, sizeof why);
	if (rc)
		return wfail(w, rc, "%s", why);
	if (w->nrotation >= COLB_ROT_MAX_CHAIN)
		return wfail(w, COLB_ERR_LIMIT, "rotation: more than %d statements", COLB_ROT_MAX_CHAIN);
	uint8_t cnt[2], l[4];
	if (w->rotation.max == 0)
		colb_buf_init(&w->rotation, COLB_ROT_MAX_SECTION + 4 + len);
	if (w->rotation.len == 0 && (rc = colb_buf_append(&w->rotation, "\0\0", 2)))
		return wfail(w, rc, "rotation: out of memory");
	colb_put32(l, (uint32_t)len);
	if ((rc = colb_buf_append(&w->rotation, l, 4)) || (rc = colb_buf_append(&w->rotation, stmt, len)))
		return wfail(w, rc, "rotation: out of memory");
	colb_put16(cnt, (uint16_t)++w->nrotation);
	memcpy(w->rotation.data, cnt, 2);
	colb_rot_stmt *all = calloc(w->nrotation, sizeof *all);
	size_t n;
	if (!all)
		return wfail(w, COLB_ERR_NOMEM, "rotation: out of memory");
	rc = colb_rot_section_decode(w->rotation.data, w->rotation.len, all, w->nrotation, &n, why,
				     sizeof why);
	free(all);
	if (rc || w->rotation.len > COLB_ROT_MAX_SECTION) {
		/* take the statement back out: the chain must stay consecutive */
		w->rotation.len -= 4 + len;
		colb_put16(cnt, (uint16_t)--w->nrotation);
		memcpy(w->rotation.data, cnt, 2);
		if (w->nrotation == 0)
			w->rotation.len = 0;
		return wfail(w, rc ? rc : COLB_ERR_LIMIT, "%s", rc ? why : "rotation: section over its cap");
	}
	return COLB_OK;
}

/* ---- sign ------------------------------------------------------------------------- */

colb_err colb_sign_file(const char *path, const colb_seckey *key, char *errbuf, size_t errlen)
{
	if (!path || !key)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "sign: no bundle or key");
	uint8_t *data = NULL;
	size_t len = 0;
	char why[512];
	size_t cap = COLB_HEADER_LEN + COLB_MAX_MANIFEST + 2 + COLB_SIG_ENTRY_LEN * COLB_MAX_SIGS +
		     COLB_ROT_MAX_SECTION + COLB_MAX_PAYLOAD;
	colb_err rc = colb_read_file(path, cap, &data, &len, errbuf, errlen);
	if (rc)
		return rc;
	colb_envelope env;
	colb_manifest m;
	colb_buf pae, out;
	colb_buf_init(&pae, 0);
	colb_buf_init(&out, 0);
	memset(&m, 0, sizeof m);
	if ((rc = colb_envelope_decode(data, len, &env, why, sizeof why))) {
		colb_seterr(errbuf, errlen, rc, "%s: %s", path, why);
		goto out;
	}
	/* Sign only what is well-formed and whose payload matches its manifest:
	 * a signature vouches for the whole bundle. */
	if ((rc = colb_manifest_parse(env.manifest, env.manifest_len, env.minor, COLB_DEFAULT_MAX_ENTRIES,
				      &m, why, sizeof why))) {
		colb_seterr(errbuf, errlen, rc, "%s: %s", path, why);
		goto out;
	}
	uint8_t d[32];
	colb_sha256(env.payload, env.payload_len, d);
	if (env.payload_len != m.payload_size || memcmp(d, m.payload_sha256, 32) != 0) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_DIGEST_MISMATCH,
				 "%s: the payload does not match the manifest; not signing", path);
		goto out;
	}
	for (unsigned i = 0; i < env.sig_count; i++) {
		if (!memcmp(env.sigblock + 2 + (size_t)COLB_SIG_ENTRY_LEN * i, key->keyid, COLB_KEYID_BYTES)) {
			char hex[2 * COLB_KEYID_BYTES + 1];
			colb_seckey_id(key, hex);
			rc = colb_seterr(errbuf, errlen, COLB_ERR_DUPLICATE_ENTRY,
					 "%s: already signed by key %s", path, hex);
			goto out;
		}
	}
	if (env.sig_count >= COLB_MAX_SIGS) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_OVERSIZED, "%s: already %u signatures", path,
				 env.sig_count);
		goto out;
	}
	uint8_t header[COLB_HEADER_LEN], cnt[2], sig[crypto_sign_BYTES];
	memcpy(header, data, COLB_HEADER_LEN);
	colb_put32(header + 16, env.sigblock_len + COLB_SIG_ENTRY_LEN);
	colb_put16(cnt, (uint16_t)(env.sig_count + 1));
	if ((rc = colb_envelope_pae(&env, &pae)))
		goto oom;
	crypto_sign_detached(sig, NULL, pae.data, pae.len, key->sk);
	if ((rc = colb_buf_append(&out, header, sizeof header)) ||
	    (rc = colb_buf_append(&out, env.manifest, env.manifest_len)) ||
	    (rc = colb_buf_append(&out, cnt, 2)) ||
	    (rc = colb_buf_append(&out, env.sigblock + 2, env.sigblock_len - 2)) ||
	    (rc = colb_buf_append(&out, key->keyid, COLB_KEYID_BYTES)) ||
	    (rc = colb_buf_append(&out, sig, sizeof sig)) ||
	    (rc = colb_buf_append(&out, env.rotation, env.rotation_len)) ||
	    (rc = colb_buf_append(&out, env.payload, env.payload_len)))
		goto oom;
	rc = colb_write_file_atomic(path, out.data, out.len, 0644, errbuf, errlen);
	goto out;
oom:
	colb_seterr(errbuf, errlen, rc, "%s: out of memory", path);
out:
	colb_manifest_clear(&m);
	colb_buf_free(&pae);
	colb_buf_free(&out);
	free(data);
	return rc;
}
