/*
 * fuzz_payload.c — the payload reader (zlib + libarchive under our caps) on
 * arbitrary bytes taken as a tar.gz. A first, independent pass lists the
 * regular entries it can read; a manifest listing them (with the right sizes
 * and digests) is signed with a fixed key, so that the reader gets past the
 * signature and digest checks and reaches the archive with a matching
 * manifest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle/bundle_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 16
#define MAX_FILE (1u << 20)

static colb_seckey key;
static colb_trust *trust;

static void setup(void)
{
	uint8_t seed[32] = {2}, raw[42];
	if (sodium_init() < 0)
		abort();
	crypto_sign_seed_keypair(key.pk, key.sk, seed);
	colb_keyid_of(key.pk, key.keyid);
	memcpy(raw, "Ed", 2);
	memcpy(raw + 2, key.keyid, 8);
	memcpy(raw + 10, key.pk, 32);
	char *b64 = colb_b64_encode(raw, sizeof raw);
	char text[200];
	snprintf(text, sizeof text, "untrusted comment: fuzz\n%s\n", b64);
	free(b64);
	trust = colb_trust_new();
	if (colb_trust_add_pubkey_text(trust, text, NULL, 0) != COLB_OK)
		abort();
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const colb_mfile *)a)->path, ((const colb_mfile *)b)->path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!trust)
		setup();
	colb_mfile files[MAX_FILES];
	size_t n = 0;
	memset(files, 0, sizeof files);

	/* The listing pass: whatever entries libarchive hands out. */
	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
		struct archive_entry *e;
		uint8_t *buf = malloc(MAX_FILE);
		while (n < MAX_FILES && archive_read_next_header(a, &e) == ARCHIVE_OK) {
			const char *p = archive_entry_pathname(e);
			const char *kind;
			colb_meta meta;
			char store[512];
			if (!p || !colb_kind_from_path(p, &kind, &meta, store, sizeof store))
				continue;
			la_ssize_t got = 0, r = 0;
			while (got < MAX_FILE && (r = archive_read_data(a, buf + got, MAX_FILE - (size_t)got)) > 0)
				got += r;
			if (r < 0)
				break;
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup |= !strcmp(files[i].path, p);
			if (dup || colb_mfile_set(&files[n], p, kind, &meta) != COLB_OK)
				continue;
			files[n].size = (uint64_t)got;
			colb_sha256_hex(buf, (size_t)got, files[n].sha256);
			n++;
		}
		free(buf);
	}
	archive_read_free(a);
	qsort(files, n, sizeof files[0], cmp_files);

	colb_manifest m;
	memset(&m, 0, sizeof m);
	m.version = 1;
	m.created = 1748736000;
	m.expires = m.created + 86400 * 30;
	m.publisher = "fuzz";
	m.payload_size = size;
	colb_sha256(data, size, m.payload_sha256);
	colb_manifest_bundle_id(m.version, m.publisher, m.payload_sha256, m.bundle_id);
	m.files = files;
	m.nfiles = n;
	for (size_t i = 0; i < n; i++)
		m.tee_mask |= colb_tee_of_meta(&files[i].meta);
	colb_buf man, env;
	colb_buf_init(&man, 0);
	colb_buf_init(&env, 0);
	const colb_seckey *keys[1] = {&key};
	if (colb_manifest_emit(&m, &man) == COLB_OK &&
	    colb_envelope_build(man.data, man.len, data, size, keys, 1, &env) == COLB_OK) {
		colb_opts *o = colb_opts_new();
		colb_opts_set_trust(o, trust);
		colb_opts_set_time(o, m.created + 3600);
		colb_opts_set_limits(o, 64u << 20, MAX_FILE, 1000, 0);
		colb_bundle *b = colb_bundle_new(o);
		if (colb_bundle_open_memory(b, env.data, env.len) == COLB_OK) {
			/* accepted: every listed file is there and reads back */
			if (colb_bundle_file_count(b) != n)
				abort();
			colb_err rc = colb_bundle_verify_files(b);
			if (rc != COLB_OK && rc != COLB_ERR_DIGEST_MISMATCH)
				abort();
		}
		colb_bundle_free(b);
		colb_opts_free(o);
	}
	colb_buf_free(&man);
	colb_buf_free(&env);
	for (size_t i = 0; i < n; i++)
		colb_mfile_release(&files[i]);
	return 0;
}
