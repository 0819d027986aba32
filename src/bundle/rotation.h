/*
 * rotation.h — keysets and key-rotation statements, shared by the reader,
 * the writer and the site layer (format-spec/colbundle-v1.md, "Key rotation").
 *
 * Statement (all integers little-endian):
 *   "COLBROT1" | u64 version | u16 threshold | u16 nkeys | nkeys x pk[32]
 *   | u16 nsigs | nsigs x { keyid[8], signature[64] }
 * The signatures are Ed25519 over
 *   "COLBUNDLE-ROTATIONv1" SP LEN(body) SP body
 * where body is everything before nsigs.
 * Envelope section: u16 count | count x { u32 len | statement }, versions
 * consecutive and ascending.
 */
#ifndef COLB_BUNDLE_ROTATION_H
#define COLB_BUNDLE_ROTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "colbundle.h"
#include "util/util.h"

#define COLB_ROT_MAGIC "COLBROT1"
#define COLB_ROT_PAE_PREFIX "COLBUNDLE-ROTATIONv1"
#define COLB_ROT_FIXED_LEN 20
#define COLB_ROT_MAX_KEYS 64
#define COLB_ROT_MAX_CHAIN 64
#define COLB_ROT_MAX_SECTION (1u << 20)

typedef struct colb_rot_stmt {
	uint64_t version;
	unsigned threshold, nkeys, nsigs;
	const uint8_t *body;     /* the signed part */
	size_t body_len;
	const uint8_t *keys;     /* nkeys x 32 */
	const uint8_t *sigs;     /* nsigs x 72 */
} colb_rot_stmt;

/* Length-checks one statement (no signature is checked). */
colb_err colb_rot_decode(const uint8_t *data, size_t len, colb_rot_stmt *st, char *why, size_t whylen);
/* Length-checks a rotation section into at most max statements. */
colb_err colb_rot_section_decode(const uint8_t *data, size_t len, colb_rot_stmt *st, size_t max,
				 size_t *n, char *why, size_t whylen);
/* Walks a section from an anchor keyset (anchor_version 0: unversioned, as
 * configured): statements at or below the current version are skipped, the
 * next one must be signed by the current keyset's threshold. *out is a new
 * trust holding the last keyset's keys and threshold. */
colb_err colb_keyset_walk(const colb_trust *anchor, uint64_t anchor_version, const uint8_t *section,
			  size_t section_len, colb_trust **out, uint64_t *out_version, char *why,
			  size_t whylen);
/* The same, appending each statement it applies to `applied` as
 * { u32 len, statement } (no count), when applied is not NULL. */
colb_err colb_keyset_walk_ex(const colb_trust *anchor, uint64_t anchor_version, const uint8_t *section,
			     size_t section_len, colb_buf *applied, colb_trust **out,
			     uint64_t *out_version, char *why, size_t whylen);
/* Builds a section from { u32 len, statement } entries (no count). */
colb_err colb_rot_section_build(const uint8_t *entries, size_t len, size_t count, colb_buf *out);

/* Trust as a keyset. */
size_t colb_trust_key_count(const colb_trust *t);
const uint8_t *colb_trust_key(const colb_trust *t, size_t i);   /* 32 bytes */
unsigned colb_trust_threshold(const colb_trust *t);
colb_err colb_trust_add_raw_key(colb_trust *t, const uint8_t pk[32]);

/* The reader's part: resolves the keyset an opening bundle is verified under. */
colb_err colb_bundle_resolve_keyset(colb_bundle *b, const uint8_t *section, size_t section_len);
/* For the store: the trust to start from when the options have no keys
 * (taken over by the bundle, may be NULL), its version, and the lowest
 * keyset version accepted. Kept across opens of the handle. */
void colb_bundle_set_anchor(colb_bundle *b, colb_trust *anchor, uint64_t version, uint64_t floor);
void colb_bundle_set_allow_expired(colb_bundle *b, bool allow);
/* A store's recorded chain (a section), walked from the anchor before the
 * envelope's own; copied, kept across opens. NULL/0 clears it. */
colb_err colb_bundle_set_chain(colb_bundle *b, const uint8_t *section, size_t len);
/* The envelope statements the last open applied, as { u32 len, statement }
 * entries; *count of them. */
const uint8_t *colb_bundle_applied_chain(const colb_bundle *b, size_t *len, size_t *count);
/* Frees what the functions above keep on the handle (colb_bundle_free). */
void colb_bundle_rotation_free(colb_bundle *b);
/* The keyset the open bundle's signatures verified under. */
const colb_trust *colb_bundle_keyset(const colb_bundle *b);

#endif
