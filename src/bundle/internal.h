/*
 * internal.h — what the vendor layers (src/intel, src/amd), the site layer
 * and the servers may use of the bundle core beyond the public header.
 * Nothing here is exported from libcolbundle.so.
 */
#ifndef COLB_BUNDLE_INTERNAL_H
#define COLB_BUNDLE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "colbundle.h"

/* ---- the manifest's closed vocabulary (src/bundle/kinds.c) -------------- */

/* The keys of a file's typed `meta`, in bytewise order of their names: the
 * order the canonical JSON writes them in. */
typedef enum colb_meta_key {
	COLB_META_CA,
	COLB_META_CHAIN,
	COLB_META_CSP,
	COLB_META_ENC_PPID_SHA256,
	COLB_META_ENCODING,
	COLB_META_EVAL,
	COLB_META_FMSPC,
	COLB_META_HWID,
	COLB_META_IDENTITY,
	COLB_META_NAME,
	COLB_META_PCE_ID,
	COLB_META_PRODUCT,
	COLB_META_QE_ID,
	COLB_META_TCB,
	COLB_META_TEE,
	COLB_META_COUNT
} colb_meta_key;

#define COLB_META_BIT(k) (1u << (k))

/* A file's meta, typed: `eval` is the one integer, every other value a
 * string whose form the vocabulary fixes. The strings are borrowed from
 * whoever built the meta (the open bundle, for the bundle's files). */
typedef struct colb_meta {
	uint32_t has;                       /* COLB_META_BIT(k) for each key present */
	uint64_t eval;
	const char *str[COLB_META_COUNT];   /* NULL when absent, and for eval */
} colb_meta;

/* A string value, or NULL. */
static inline const char *colb_meta_str(const colb_meta *m, colb_meta_key k)
{
	return m && k < COLB_META_COUNT ? m->str[k] : NULL;
}

/* The key of a name, or COLB_META_COUNT; and the name of a key. */
colb_meta_key colb_meta_key_of(const char *name, size_t len);
const char *colb_meta_key_name(colb_meta_key k);
/* Adds one key and its value (borrowed) to meta, refusing unknown and
 * repeated keys, the wrong type and a value out of the key's form. */
bool colb_meta_add_str(colb_meta *m, const char *key, const char *val, size_t len, char *why,
		       size_t whylen);
bool colb_meta_add_uint(colb_meta *m, const char *key, uint64_t val, char *why, size_t whylen);
/* The same for every key of a JSON object (strings borrowed from it). */
bool colb_meta_from_json(const json_t *o, colb_meta *m, char *why, size_t whylen);
/* The canonical JSON of a meta: compact, keys sorted. Writes at most cap
 * bytes with the NUL and returns the length it needs, as snprintf does. */
size_t colb_meta_json(const colb_meta *m, char *out, size_t cap);
/* The kind table's own name for a kind, or NULL if it is not one. */
const char *colb_kind_name(const char *kind, size_t len);
/* Checks that meta holds only the keys the kind allows and all it needs.
 * On failure writes a reason into why. */
bool colb_kind_check(const char *kind, const colb_meta *meta, char *why, size_t whylen);
/* Checks a payload path against the allow-list (ASCII [A-Za-z0-9._-/],
 * relative, no empty, `.` or `..` component, at most 255 bytes). */
bool colb_path_ok(const char *path);

/* ---- options and trust as the layers see them ---------------------------- */

const colb_trust *colb_opts_trust(const colb_opts *o);
colb_freshness colb_opts_freshness(const colb_opts *o);
time_t colb_opts_time(const colb_opts *o);          /* 0 = wall clock */
bool colb_opts_allow_expired(const colb_opts *o);

/* Extra vendor roots configured for test PKIs (DER), in the order added. */
size_t colb_trust_intel_root_count(const colb_trust *t);
const uint8_t *colb_trust_intel_root(const colb_trust *t, size_t i, size_t *len);
size_t colb_trust_amd_ark_count(const colb_trust *t);
const uint8_t *colb_trust_amd_ark(const colb_trust *t, size_t i, size_t *len);

/* ---- an open bundle as the layers see it ------------------------------- */

const colb_opts *colb_bundle_opts(const colb_bundle *b);
/* The verification time fixed when the bundle was opened. */
time_t colb_bundle_time(const colb_bundle *b);
/* Sets the handle's error message and returns err (printf-style). */
colb_err colb_bundle_fail(colb_bundle *b, colb_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The typed meta of file i (borrowed; never NULL for a valid i). */
const colb_meta *colb_bundle_file_meta(const colb_bundle *b, size_t i);
/* The parsed baseline section (borrowed; an empty object when absent). */
const json_t *colb_bundle_baseline(const colb_bundle *b);
/* Index of a file by path, or (size_t)-1. */
size_t colb_bundle_find_path(const colb_bundle *b, const char *path);
/* A file's bytes by index; digest-checked once, then cached. */
colb_err colb_bundle_read_at(colb_bundle *b, size_t i, const uint8_t **data, size_t *len);

/* Per-bundle state of a vendor layer (its index, memoised verdicts),
 * built on first use. init runs once per bundle, under the bundle's lock;
 * later calls return the same pointer without locking. fini runs at free. */
typedef enum colb_ext_id {
	COLB_EXT_INTEL = 0,
	COLB_EXT_AMD = 1,
	COLB_EXT_COUNT = 4
} colb_ext_id;
typedef colb_err (*colb_ext_init_fn)(colb_bundle *b, void **state);
typedef void (*colb_ext_fini_fn)(void *state);
colb_err colb_bundle_ext(colb_bundle *b, colb_ext_id id, colb_ext_init_fn init,
			 colb_ext_fini_fn fini, void **state);

/* ---- the site store's payload cache (src/site, format-spec/site-store.md) -- */

/* The bytes of every listed file of a bundle, concatenated in manifest order,
 * as `install` wrote them from a verified bundle. */
typedef struct colb_files_cache {
	const uint8_t *data;
	size_t len;
	char digest[65];              /* the bundle file's SHA-256, recorded at install */
	void (*release)(void *ctx);   /* called once when the bundle no longer needs data */
	void *ctx;
} colb_files_cache;

/* Opens a bundle from its envelope bytes as colb_bundle_open_memory does,
 * except that the payload is neither hashed nor inflated: the files are
 * served from cache->data, each one's SHA-256 checked against the signed
 * manifest before its bytes are first returned. The bundle takes the cache
 * over whatever the outcome (release is called at close or on failure);
 * the envelope bytes are not needed after the call. */
colb_err colb_bundle_open_cached(colb_bundle *b, const uint8_t *data, size_t len,
				 const colb_files_cache *cache);

#endif /* COLB_BUNDLE_INTERNAL_H */
