/*
 * site.h — the site store's files (format-spec/site-store.md), shared by
 * the store reader, install and `colbundle status`. Internal.
 */
#ifndef COLB_SITE_H
#define COLB_SITE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bundle/rotation.h"
#include "colbundle.h"
#include "util/util.h"

#define COLB_SITE_JSON_MAX (64u << 10)
#define COLB_SITE_MAX_INT ((1ull << 53) - 1)

/* site.json */
typedef struct colb_site_info {
	uint64_t version;
	char digest[65];
	char manifest_sha256[65];
	uint64_t files_size;
	uint64_t keyset_version;
	unsigned threshold;
	uint8_t keys[COLB_ROT_MAX_KEYS][32];
	size_t nkeys;
	time_t installed;
	bool allow_expired;
	/* the rotation statements this store has followed, oldest first, as a
	 * section (rotation.h; NULL when none) */
	uint8_t *chain;
	size_t chain_len;
} colb_site_info;

/* Strict parse of site.json; colb_site_info_free releases it. */
colb_err colb_site_parse(const char *text, size_t len, colb_site_info *out, char *why, size_t whylen);
void colb_site_info_free(colb_site_info *si);
/* Deterministic emission of site.json. */
colb_err colb_site_emit(const colb_site_info *in, colb_buf *out);
/* A trust holding the recorded keyset. */
colb_trust *colb_site_trust(const colb_site_info *si);

/* "<version>-<first 16 hex of digest>" */
void colb_site_gen_name(uint64_t version, const char *digest, char out[COLB_STORE_GEN_MAX]);
/* Reads STORE/current: the generation's name, or COLB_ERR_NOT_FOUND when
 * the store has no bundle. */
colb_err colb_site_current(int store_fd, char out[COLB_STORE_GEN_MAX], char *why, size_t whylen);
/* Reads and cross-checks site.json and state.json of an open generation
 * directory. ENOENT on any of them is COLB_ERR_NOT_FOUND. */
colb_err colb_site_read_gen(int gen_fd, colb_site_info *si, char *why, size_t whylen);

/* Reads a whole file relative to a directory (regular files only, no
 * symlink followed), refusing more than max bytes. ENOENT: COLB_ERR_NOT_FOUND. */
colb_err colb_site_read_at(int dfd, const char *name, size_t max, uint8_t **data, size_t *len,
			   char *why, size_t whylen);

#endif
