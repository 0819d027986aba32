/*
 * rotation.c — publisher keysets and key-rotation statements
 * (format-spec/colbundle-v1.md, "Key rotation").
 *
 * A keyset is a set of Ed25519 keys and a threshold, with a version: the
 * publisher's first keyset is version 1. A rotation statement names keyset
 * N+1 and is signed by the threshold of keyset N. A bundle carries the chain
 * of statements in its envelope; a reader walks it from the keyset it trusts
 * (its anchor) and verifies the bundle's signatures under the last keyset
 * reached. Statements are fixed binary records checked by length before
 * anything reads them, and verified before they are used: no JSON parser
 * sees a byte of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle_priv.h"
#include "bundle/rotation.h"

/* ---- trust as a keyset ------------------------------------------------------- */

size_t colb_trust_key_count(const colb_trust *t) { return t ? t->nkeys : 0; }
unsigned colb_trust_threshold(const colb_trust *t) { return t ? t->threshold : 0; }

const uint8_t *colb_trust_key(const colb_trust *t, size_t i)
{
	return t && i < t->nkeys ? t->keys[i].pk : NULL;
}

colb_err colb_trust_add_raw_key(colb_trust *t, const uint8_t pk[32])
{
	if (!t || !pk)
		return COLB_ERR_INVALID_ARG;
	for (size_t i = 0; i < t->nkeys; i++)
		if (!memcmp(t->keys[i].pk, pk, 32))
			return COLB_OK;
	if (t->nkeys >= COLB_ROT_MAX_KEYS)
		return COLB_ERR_LIMIT;
	colb_pubkey *n = realloc(t->keys, (t->nkeys + 1) * sizeof *n);
	if (!n)
		return COLB_ERR_NOMEM;
	t->keys = n;
	memcpy(n[t->nkeys].pk, pk, 32);
	colb_keyid_of(pk, n[t->nkeys].keyid);
	t->nkeys++;
	return COLB_OK;
}

/* A new trust with only the keys and threshold of keys/nkeys. */
static colb_trust *trust_of(const uint8_t *keys, size_t nkeys, unsigned threshold)
{
	colb_trust *t = colb_trust_new();
	if (!t)
		return NULL;
	for (size_t i = 0; i < nkeys; i++)
		if (colb_trust_add_raw_key(t, keys + 32 * i) != COLB_OK) {
			colb_trust_free(t);
			return NULL;
		}
	t->threshold = threshold;
	return t;
}

/* ---- statements ---------------------------------------------------------------- */

colb_err colb_rot_decode(const uint8_t *data, size_t len, colb_rot_stmt *st, char *why, size_t whylen)
{
	memset(st, 0, sizeof *st);
	if (len < COLB_ROT_FIXED_LEN + 2)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION,
				   "rotation statement: %zu bytes, shorter than its fixed part", len);
	if (memcmp(data, COLB_ROT_MAGIC, 8) != 0)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION, "rotation statement: bad magic");
	st->version = colb_le64(data + 8);
	st->threshold = colb_le16(data + 16);
	st->nkeys = colb_le16(data + 18);
	if (st->version < 2 || st->version > COLB_JSON_MAX_INT)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION,
				   "rotation statement: keyset version %llu is outside 2..2^53-1",
				   (unsigned long long)st->version);
	if (st->nkeys == 0 || st->nkeys > COLB_ROT_MAX_KEYS || st->threshold == 0 ||
	    st->threshold > st->nkeys)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION,
				   "rotation statement: %u keys with threshold %u (1 <= threshold <= keys <= %d)",
				   st->nkeys, st->threshold, COLB_ROT_MAX_KEYS);
	size_t body = COLB_ROT_FIXED_LEN + (size_t)32 * st->nkeys;
	if (len < body + 2)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION,
				   "rotation statement: %zu bytes, its key count needs %zu", len, body + 2);
	st->nsigs = colb_le16(data + body);
	if (st->nsigs > COLB_MAX_SIGS || len != body + 2 + (size_t)COLB_SIG_ENTRY_LEN * st->nsigs)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION,
				   "rotation statement: %zu bytes do not hold exactly %u signatures", len,
				   st->nsigs);
	st->body = data;
	st->body_len = body;
	st->keys = data + COLB_ROT_FIXED_LEN;
	st->sigs = data + body + 2;
	for (unsigned i = 0; i < st->nkeys; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(st->keys + 32 * i, st->keys + 32 * j, 32))
				return colb_seterr(why, whylen, COLB_ERR_ROTATION,
						   "rotation statement: key %u is listed twice", i + 1);
	return COLB_OK;
}

static colb_err rot_pae(const uint8_t *body, size_t len, colb_buf *out)
{
	colb_err rc;
	if ((rc = colb_buf_printf(out, "%s %zu ", COLB_ROT_PAE_PREFIX, len)) ||
	    (rc = colb_buf_append(out, body, len)))
		return rc;
	return COLB_OK;
}

/* The bundle rule (format-spec/colbundle-v1.md, section 2) applied to a
 * statement: a signature by a key of t must verify; distinct valid keys
 * must reach t's threshold. */
static colb_err rot_verify(const colb_rot_stmt *st, const colb_trust *t, char *why, size_t whylen)
{
	colb_buf pae;
	colb_buf_init(&pae, 0);
	if (rot_pae(st->body, st->body_len, &pae) != COLB_OK) {
		colb_buf_free(&pae);
		return colb_seterr(why, whylen, COLB_ERR_NOMEM, "out of memory");
	}
	bool counted[COLB_ROT_MAX_KEYS + 1] = {false};
	size_t valid = 0;
	colb_err rc = COLB_OK;
	for (unsigned i = 0; i < st->nsigs && !rc; i++) {
		const uint8_t *e = st->sigs + (size_t)COLB_SIG_ENTRY_LEN * i;
		bool trusted = false, ok = false;
		for (size_t k = 0; k < t->nkeys && k < COLB_ROT_MAX_KEYS; k++) {
			if (memcmp(t->keys[k].keyid, e, COLB_KEYID_BYTES) != 0)
				continue;
			trusted = true;
			if (crypto_sign_verify_detached(e + COLB_KEYID_BYTES, pae.data, pae.len,
							t->keys[k].pk) == 0) {
				ok = true;
				if (!counted[k]) {
					counted[k] = true;
					valid++;
				}
				break;
			}
		}
		if (trusted && !ok) {
			char hex[2 * COLB_KEYID_BYTES + 1];
			colb_hex_encode(e, COLB_KEYID_BYTES, hex, false);
			rc = colb_seterr(why, whylen, COLB_ERR_ROTATION,
					 "its signature %u by key %s does not verify", i + 1, hex);
		}
	}
	if (!rc && valid < t->threshold)
		rc = colb_seterr(why, whylen, COLB_ERR_ROTATION,
				 "%zu valid signatures by keys of the previous keyset, %u needed", valid,
				 t->threshold);
	colb_buf_free(&pae);
	return rc;
}

static bool same_keys(const colb_trust *t, const colb_rot_stmt *st)
{
	if (t->nkeys != st->nkeys)
		return false;
	for (size_t i = 0; i < t->nkeys; i++) {
		bool found = false;
		for (unsigned j = 0; j < st->nkeys && !found; j++)
			found = !memcmp(t->keys[i].pk, st->keys + 32 * j, 32);
		if (!found)
			return false;
	}
	return true;
}

colb_err colb_rot_section_decode(const uint8_t *data, size_t len, colb_rot_stmt *st, size_t max,
				 size_t *n, char *why, size_t whylen)
{
	*n = 0;
	if (len == 0)
		return COLB_OK;
	if (len < 2)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION, "rotation section: %zu bytes", len);
	size_t count = colb_le16(data), off = 2;
	if (count == 0 || count > max)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION,
				   "rotation section: %zu statements (1 to %zu)", count, max);
	char inner[256];
	for (size_t i = 0; i < count; i++) {
		if (len - off < 4)
			return colb_seterr(why, whylen, COLB_ERR_ROTATION,
					   "rotation section: statement %zu: truncated length", i + 1);
		uint32_t sl = colb_le32(data + off);
		off += 4;
		if (sl > len - off)
			return colb_seterr(why, whylen, COLB_ERR_ROTATION,
					   "rotation section: statement %zu: %u bytes, %zu left", i + 1, sl,
					   len - off);
		if (colb_rot_decode(data + off, sl, &st[i], inner, sizeof inner))
			return colb_seterr(why, whylen, COLB_ERR_ROTATION, "rotation section: statement %zu: %s",
					   i + 1, inner);
		if (i && st[i].version != st[i - 1].version + 1)
			return colb_seterr(why, whylen, COLB_ERR_ROTATION,
					   "rotation section: keyset version %llu follows %llu (must be consecutive)",
					   (unsigned long long)st[i].version,
					   (unsigned long long)st[i - 1].version);
		off += sl;
	}
	if (off != len)
		return colb_seterr(why, whylen, COLB_ERR_ROTATION,
				   "rotation section: %zu bytes after the last statement", len - off);
	*n = count;
	return COLB_OK;
}

colb_err colb_keyset_walk(const colb_trust *anchor, uint64_t anchor_version, const uint8_t *section,
			  size_t section_len, colb_trust **out, uint64_t *out_version, char *why,
			  size_t whylen)
{
	return colb_keyset_walk_ex(anchor, anchor_version, section, section_len, NULL, out, out_version,
				   why, whylen);
}

colb_err colb_rot_section_build(const uint8_t *entries, size_t len, size_t count, colb_buf *out)
{
	if (count == 0)
		return COLB_OK;
	if (count > COLB_ROT_MAX_CHAIN || len + 2 > COLB_ROT_MAX_SECTION)
		return COLB_ERR_LIMIT;
	uint8_t cnt[2];
	colb_put16(cnt, (uint16_t)count);
	colb_err rc = colb_buf_append(out, cnt, 2);
	return rc ? rc : colb_buf_append(out, entries, len);
}

colb_err colb_keyset_walk_ex(const colb_trust *anchor, uint64_t anchor_version, const uint8_t *section,
			     size_t section_len, colb_buf *applied, colb_trust **out,
			     uint64_t *out_version, char *why, size_t whylen)
{
	*out = NULL;
	*out_version = 0;
	if (!anchor || anchor->nkeys == 0)
		return colb_seterr(why, whylen, COLB_ERR_UNTRUSTED_KEY,
				   "signatures: no trusted publisher key is configured");
	colb_rot_stmt *st = calloc(COLB_ROT_MAX_CHAIN, sizeof *st);
	size_t n = 0;
	if (!st)
		return colb_seterr(why, whylen, COLB_ERR_NOMEM, "out of memory");
	colb_err rc = colb_rot_section_decode(section, section_len, st, COLB_ROT_MAX_CHAIN, &n, why,
					      whylen);
	if (rc) {
		free(st);
		return rc;
	}
	/* An unversioned anchor (keys from a configuration) is the keyset of the
	 * chain that has the same keys, else the publisher's first. */
	uint64_t cur_ver = anchor_version;
	unsigned threshold = anchor->threshold;
	for (size_t i = 0; !cur_ver && i < n; i++)
		if (same_keys(anchor, &st[i])) {
			cur_ver = st[i].version;
			if (st[i].threshold > threshold)
				threshold = st[i].threshold;
		}
	if (!cur_ver)
		cur_ver = 1;
	colb_trust *cur = colb_trust_new();
	for (size_t i = 0; cur && i < anchor->nkeys; i++)
		if (colb_trust_add_raw_key(cur, anchor->keys[i].pk) != COLB_OK) {
			colb_trust_free(cur);
			cur = NULL;
		}
	if (!cur) {
		free(st);
		return colb_seterr(why, whylen, COLB_ERR_NOMEM, "out of memory");
	}
	cur->threshold = threshold;
	for (size_t i = 0; i < n && !rc; i++) {
		if (st[i].version <= cur_ver)
			continue; /* already behind the trusted keyset */
		char inner[256];
		if (st[i].version != cur_ver + 1) {
			rc = colb_seterr(why, whylen, COLB_ERR_ROTATION,
					 "key rotation: the chain jumps from keyset %llu to %llu",
					 (unsigned long long)cur_ver, (unsigned long long)st[i].version);
		} else if (rot_verify(&st[i], cur, inner, sizeof inner)) {
			rc = colb_seterr(why, whylen, COLB_ERR_ROTATION,
					 "key rotation: keyset %llu is not signed by keyset %llu: %s",
					 (unsigned long long)st[i].version, (unsigned long long)cur_ver, inner);
		} else {
			colb_trust *next = trust_of(st[i].keys, st[i].nkeys, st[i].threshold);
			size_t whole = st[i].body_len + 2 + (size_t)COLB_SIG_ENTRY_LEN * st[i].nsigs;
			uint8_t l[4];
			colb_put32(l, (uint32_t)whole);
			if (next && applied &&
			    (colb_buf_append(applied, l, 4) || colb_buf_append(applied, st[i].body, whole))) {
				colb_trust_free(next);
				next = NULL;
			}
			if (!next) {
				rc = colb_seterr(why, whylen, COLB_ERR_NOMEM, "out of memory");
			} else {
				colb_trust_free(cur);
				cur = next;
				cur_ver = st[i].version;
			}
		}
	}
	free(st);
	if (rc) {
		colb_trust_free(cur);
		return rc;
	}
	*out = cur;
	*out_version = cur_ver;
	return COLB_OK;
}

/* ---- the open bundle's keyset ---------------------------------------------------- */

colb_err colb_bundle_resolve_keyset(colb_bundle *b, const uint8_t *section, size_t section_len)
{
	const colb_trust *anchor = b->anchor ? b->anchor : b->opts.trust;
	uint64_t anchor_version = b->anchor ? b->anchor_version : 0;
	char why[512];
	colb_trust_free(b->keyset);
	b->keyset = NULL;
	if (b->applied.max == 0)
		colb_buf_init(&b->applied, COLB_ROT_MAX_SECTION);
	colb_buf_reset(&b->applied);
	/* A store's recorded chain first: a site that followed a rotation
	 * keeps following it when later bundles no longer carry the chain. */
	colb_trust *mid = NULL;
	colb_err rc = COLB_OK;
	if (b->pre_chain_len) {
		if ((rc = colb_keyset_walk(anchor, anchor_version, b->pre_chain, b->pre_chain_len, &mid,
					   &anchor_version, why, sizeof why)))
			return colb_bundle_fail(b, rc, "the store's recorded rotation chain: %s", why);
		anchor = mid;
	}
	rc = colb_keyset_walk_ex(anchor, anchor_version, section, section_len, &b->applied, &b->keyset,
				 &b->keyset_version, why, sizeof why);
	colb_trust_free(mid);
	if (rc)
		return colb_bundle_fail(b, rc, "%s", why);
	if (b->keyset_version < b->keyset_floor)
		return colb_bundle_fail(b, COLB_ERR_ROLLBACK,
					"key rotation: the bundle verifies under keyset %llu, older than "
					"keyset %llu that this site already accepted",
					(unsigned long long)b->keyset_version,
					(unsigned long long)b->keyset_floor);
	return COLB_OK;
}

void colb_bundle_set_anchor(colb_bundle *b, colb_trust *anchor, uint64_t version, uint64_t floor)
{
	colb_trust_free(b->anchor);
	b->anchor = anchor;
	b->anchor_version = version;
	b->keyset_floor = floor;
}

colb_err colb_bundle_set_chain(colb_bundle *b, const uint8_t *section, size_t len)
{
	uint8_t *copy = NULL;
	if (len && !(copy = malloc(len)))
		return COLB_ERR_NOMEM;
	if (len)
		memcpy(copy, section, len);
	free(b->pre_chain);
	b->pre_chain = copy;
	b->pre_chain_len = len;
	return COLB_OK;
}

const uint8_t *colb_bundle_applied_chain(const colb_bundle *b, size_t *len, size_t *count)
{
	size_t n = 0;
	for (size_t off = 0; off + 4 <= b->applied.len; n++)
		off += 4 + colb_le32(b->applied.data + off);
	*len = b->applied.len;
	*count = n;
	return b->applied.data;
}

void colb_bundle_rotation_free(colb_bundle *b)
{
	colb_trust_free(b->anchor);
	b->anchor = NULL;
	free(b->pre_chain);
	b->pre_chain = NULL;
	b->pre_chain_len = 0;
	colb_buf_free(&b->applied);
}

void colb_bundle_set_allow_expired(colb_bundle *b, bool allow)
{
	b->opts.allow_expired = allow;
}

const colb_trust *colb_bundle_keyset(const colb_bundle *b)
{
	return b && b->open ? b->keyset : NULL;
}

uint64_t colb_bundle_keyset_version(const colb_bundle *b)
{
	return b && b->open ? b->keyset_version : 0;
}

/* ---- making statements ------------------------------------------------------------ */

colb_err colb_rotation_create(const colb_trust *new_keys, uint64_t version,
			      const colb_seckey *const *old_keys, size_t nold, uint8_t **out,
			      size_t *len, char *errbuf, size_t errlen)
{
	if (!new_keys || !out || !len || (nold && !old_keys))
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "rotation: missing argument");
	*out = NULL;
	*len = 0;
	if (new_keys->nkeys == 0 || new_keys->nkeys > COLB_ROT_MAX_KEYS ||
	    new_keys->threshold > new_keys->nkeys)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG,
				   "rotation: %zu new keys with threshold %u (1 <= threshold <= keys <= %d)",
				   new_keys->nkeys, new_keys->threshold, COLB_ROT_MAX_KEYS);
	if (version < 2 || version > COLB_JSON_MAX_INT)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG,
				   "rotation: keyset version must be 2 or more (the first keyset is 1)");
	if (nold == 0 || nold > COLB_MAX_SIGS)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG,
				   "rotation: 1 to %u keys of the previous keyset must sign", COLB_MAX_SIGS);
	colb_buf st, pae;
	colb_buf_init(&st, 0);
	colb_buf_init(&pae, 0);
	uint8_t fixed[COLB_ROT_FIXED_LEN], cnt[2];
	memcpy(fixed, COLB_ROT_MAGIC, 8);
	colb_put64(fixed + 8, version);
	colb_put16(fixed + 16, (uint16_t)new_keys->threshold);
	colb_put16(fixed + 18, (uint16_t)new_keys->nkeys);
	colb_put16(cnt, (uint16_t)nold);
	colb_err rc = colb_buf_append(&st, fixed, sizeof fixed);
	for (size_t i = 0; !rc && i < new_keys->nkeys; i++)
		rc = colb_buf_append(&st, new_keys->keys[i].pk, 32);
	if (!rc)
		rc = rot_pae(st.data, st.len, &pae);
	if (!rc)
		rc = colb_buf_append(&st, cnt, 2);
	for (size_t i = 0; !rc && i < nold; i++) {
		uint8_t sig[crypto_sign_BYTES];
		for (size_t j = 0; j < i; j++)
			if (!memcmp(old_keys[j]->pk, old_keys[i]->pk, 32))
				rc = COLB_ERR_DUPLICATE_ENTRY;
		if (rc)
			break;
		crypto_sign_detached(sig, NULL, pae.data, pae.len, old_keys[i]->sk);
		if (!(rc = colb_buf_append(&st, old_keys[i]->keyid, COLB_KEYID_BYTES)))
			rc = colb_buf_append(&st, sig, sizeof sig);
	}
	colb_buf_free(&pae);
	if (rc) {
		colb_buf_free(&st);
		return colb_seterr(errbuf, errlen, rc, "rotation: %s",
				   rc == COLB_ERR_DUPLICATE_ENTRY ? "a signing key is given twice"
								  : "out of memory");
	}
	*out = colb_buf_steal(&st, len);
	return COLB_OK;
}

colb_err colb_rotation_describe(const uint8_t *stmt, size_t len, uint64_t *version,
				unsigned *threshold, size_t *nkeys, size_t *nsigs, char *errbuf,
				size_t errlen)
{
	colb_rot_stmt st;
	colb_err rc = colb_rot_decode(stmt, len, &st, errbuf, errlen);
	if (rc)
		return rc;
	if (version)
		*version = st.version;
	if (threshold)
		*threshold = st.threshold;
	if (nkeys)
		*nkeys = st.nkeys;
	if (nsigs)
		*nsigs = st.nsigs;
	return COLB_OK;
}
