/*
 * test_bundle_support.h — helpers shared by the bundle tests: test keys,
 * small bundles built in memory, and hostile bundles (an envelope signed
 * around arbitrary manifest and tar.gz bytes) that the writer would refuse
 * to produce.
 */
#ifndef COLB_TEST_BUNDLE_SUPPORT_H
#define COLB_TEST_BUNDLE_SUPPORT_H

#include "support.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle_priv.h"

/* 2025-06-01T00:00:00Z: the creation time of every test bundle. */
#define TB_CREATED ((time_t)1748736000)
#define TB_EXPIRES (TB_CREATED + 30 * 86400)
#define TB_AT (TB_CREATED + 86400)

/* A key pair NAME.key/NAME.pub in the scratch directory, made once. */
static inline const char *tb_keyname(const char *name)
{
	static char path[8][512];
	static int next;
	char *p = path[next++ & 7];
	snprintf(p, 512, "%s/%s", t_scratch(), name);
	char pub[600];
	snprintf(pub, sizeof pub, "%s.pub", p);
	FILE *f = fopen(pub, "r");
	if (f) {
		fclose(f);
		return p;
	}
	char err[256];
	colb_err rc = colb_keygen(p, NULL, err, sizeof err);
	if (rc)
		fail_msg("keygen %s: %s", p, err);
	return p;
}

static inline colb_seckey *tb_seckey(const char *name)
{
	char path[600], err[256];
	snprintf(path, sizeof path, "%s.key", tb_keyname(name));
	colb_seckey *k = NULL;
	if (colb_seckey_load(path, NULL, &k, err, sizeof err))
		fail_msg("load %s: %s", path, err);
	return k;
}

static inline colb_trust *tb_trust(const char *const *names, size_t n, unsigned threshold)
{
	colb_trust *t = colb_trust_new();
	char path[600], err[256];
	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s.pub", tb_keyname(names[i]));
		if (colb_trust_add_pubkey_file(t, path, err, sizeof err))
			fail_msg("trust %s: %s", path, err);
	}
	assert_int_equal(colb_trust_set_threshold(t, threshold), COLB_OK);
	return t;
}

/* A TCB info body of n bytes (content does not matter to the core). */
static inline uint8_t *tb_body(size_t n, unsigned seed)
{
	uint8_t *d = malloc(n ? n : 1);
	assert_non_null(d);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)("{\"tcbInfo\":0123456789abcdef}"[(i * 7 + seed) % 28]);
	return d;
}

/* A writer with `nfiles` small files over both vendors, fixed times. */
static inline colb_writer *tb_writer(size_t nfiles, uint64_t version)
{
	colb_writer *w = colb_writer_new();
	assert_non_null(w);
	colb_writer_set_version(w, version);
	colb_writer_set_created(w, TB_CREATED);
	colb_writer_set_expires(w, TB_EXPIRES);
	assert_int_equal(colb_writer_set_publisher(w, "Test Publisher"), COLB_OK);
	assert_int_equal(colb_writer_set_baseline_json(w, "{\"policy\":\"standard\"}"), COLB_OK);
	for (size_t i = 0; i < nfiles; i++) {
		char path[128];
		if (i % 3 == 2)
			snprintf(path, sizeof path, "amd/Milan/vcek/%016zx/%016zx.der", i, i + 1);
		else
			snprintf(path, sizeof path, "intel/tcbinfo/%s/%012zX/%zu.json",
				 i % 3 ? "tdx" : "sgx", i, 17 + i % 2);
		uint8_t *body = tb_body(100 + 37 * i, (unsigned)i);
		colb_err rc = colb_writer_add_file(w, path, body, 100 + 37 * i, NULL, NULL);
		if (rc)
			fail_msg("add %s: %s", path, colb_writer_error(w));
		free(body);
	}
	return w;
}

/* Builds a bundle in memory signed by one key name. */
static inline uint8_t *tb_bundle(size_t nfiles, uint64_t version, const char *key, size_t *len)
{
	colb_writer *w = tb_writer(nfiles, version);
	colb_seckey *k = tb_seckey(key);
	colb_buf out;
	colb_buf_init(&out, 0);
	if (colb_writer_build(w, k, &out))
		fail_msg("build: %s", colb_writer_error(w));
	colb_writer_free(w);
	colb_seckey_free(k);
	return colb_buf_steal(&out, len);
}

/* Opens bytes with a trust of the given keys at TB_AT; returns the error. */
static inline colb_err tb_open_with(const uint8_t *data, size_t len, const colb_trust *t,
				    const char *state, colb_bundle **out)
{
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, t);
	colb_opts_set_time(o, TB_AT);
	if (state)
		assert_int_equal(colb_opts_set_state_file(o, state), COLB_OK);
	colb_bundle *b = colb_bundle_new(o);
	colb_opts_free(o);
	colb_err rc = colb_bundle_open_memory(b, data, len);
	if (out)
		*out = b;
	else
		colb_bundle_free(b);
	return rc;
}

static inline colb_err tb_open(const uint8_t *data, size_t len, const char *key)
{
	const char *names[1] = {key};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_err rc = tb_open_with(data, len, t, NULL, NULL);
	colb_trust_free(t);
	return rc;
}

/* ---- hostile bundles ------------------------------------------------------- */

typedef struct tb_entry {
	const char *path;
	const void *data;
	size_t len;
	int type;               /* AE_IFREG, AE_IFLNK, AE_IFDIR ... (0 = regular) */
	const char *link;       /* symlink target or hardlink source */
	int64_t header_size;    /* -1: the data length */
} tb_entry;

/* A tar.gz of arbitrary entries, as a hostile publisher could make it. */
static inline uint8_t *tb_targz(const tb_entry *e, size_t n, size_t *len)
{
	size_t cap = 1 << 20;
	for (size_t i = 0; i < n; i++)
		cap += e[i].len * 2 + 4096;
	uint8_t *buf = malloc(cap);
	size_t used = 0;
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_filetype(ae, e[i].type ? (unsigned)e[i].type : (unsigned)AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, e[i].header_size >= 0 ? e[i].header_size : (int64_t)e[i].len);
		if (e[i].link && e[i].type == AE_IFLNK)
			archive_entry_set_symlink(ae, e[i].link);
		else if (e[i].link)
			archive_entry_set_hardlink(ae, e[i].link);
		assert_true(archive_write_header(a, ae) >= ARCHIVE_WARN);
		if (e[i].len && (!e[i].type || e[i].type == AE_IFREG))
			archive_write_data(a, e[i].data, e[i].len);
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	*len = used;
	return buf;
}

/* A manifest (the writer's deterministic form) over listed files and a
 * payload, with whatever the caller puts in it. */
typedef struct tb_listed {
	const char *path;
	const void *data;       /* the digest is taken of these bytes ... */
	size_t len;             /* ... and this is the listed size */
} tb_listed;

static inline void tb_manifest(const tb_listed *l, size_t n, const uint8_t *payload, size_t plen,
			       uint64_t version, colb_buf *out)
{
	colb_manifest m;
	memset(&m, 0, sizeof m);
	m.minor = COLB_FORMAT_MINOR;
	m.version = version;
	m.created = TB_CREATED;
	m.expires = TB_EXPIRES;
	m.publisher = "Test Publisher";
	m.payload_size = plen;
	colb_sha256(payload, plen, m.payload_sha256);
	colb_manifest_bundle_id(m.version, m.publisher, m.payload_sha256, m.bundle_id);
	m.files = calloc(n ? n : 1, sizeof *m.files);
	m.nfiles = n;
	for (size_t i = 0; i < n; i++) {
		const char *kind;
		colb_meta meta;
		char store[512];
		if (!colb_kind_from_path(l[i].path, &kind, &meta, store, sizeof store)) {
			kind = "other"; /* a hostile path: listed as it is */
			memset(&meta, 0, sizeof meta);
		}
		assert_int_equal(colb_mfile_set(&m.files[i], l[i].path, kind, &meta), COLB_OK);
		m.tee_mask |= colb_tee_of_meta(&meta);
		m.files[i].size = l[i].len;
		colb_sha256_hex(l[i].data, l[i].len, m.files[i].sha256);
	}
	assert_int_equal(colb_manifest_emit(&m, out), COLB_OK);
	for (size_t i = 0; i < n; i++)
		colb_mfile_release(&m.files[i]);
	free(m.files);
}

/* A signed envelope around exact manifest and payload bytes. */
static inline uint8_t *tb_envelope(const uint8_t *manifest, size_t mlen, const uint8_t *payload,
				   size_t plen, const char *key, size_t *len)
{
	colb_seckey *k = tb_seckey(key);
	const colb_seckey *keys[1] = {k};
	colb_buf out;
	colb_buf_init(&out, 0);
	assert_int_equal(colb_envelope_build(manifest, mlen, payload, plen, keys, 1, &out), COLB_OK);
	colb_seckey_free(k);
	return colb_buf_steal(&out, len);
}

/* The whole hostile recipe: entries in the tar, files in the manifest. */
static inline uint8_t *tb_hostile(const tb_entry *e, size_t ne, const tb_listed *l, size_t nl,
				  size_t *len)
{
	size_t plen;
	uint8_t *payload = tb_targz(e, ne, &plen);
	colb_buf m;
	colb_buf_init(&m, 0);
	tb_manifest(l, nl, payload, plen, 7, &m);
	uint8_t *out = tb_envelope(m.data, m.len, payload, plen, "hostile", len);
	colb_buf_free(&m);
	free(payload);
	return out;
}

#endif
