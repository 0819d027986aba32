/*
 * reader.c — opening and verifying a .colb bundle, in the order that lets
 * nothing but the length-checked envelope decoder see unauthenticated bytes:
 *
 *   envelope lengths -> signatures over the exact manifest bytes -> strict
 *   manifest parse -> validity period and anti-rollback state -> payload
 *   size and SHA-256 -> only then zlib + libarchive, into bounded memory,
 *   every entry a listed regular file of its listed size.
 *
 * Each file's own SHA-256 is checked before its bytes are first returned
 * (colb_bundle_read_at), and by colb_bundle_verify_files for all at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "bundle/bundle_priv.h"
#include "bundle/rotation.h"
#include "bundle/state.h"

/* ---- options ---------------------------------------------------------------- */

colb_opts *colb_opts_new(void)
{
	colb_opts *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->max_total = COLB_DEFAULT_MAX_TOTAL;
	o->max_entry = COLB_DEFAULT_MAX_ENTRY;
	o->max_entries = COLB_DEFAULT_MAX_ENTRIES;
	o->max_ratio = COLB_DEFAULT_MAX_RATIO;
	return o;
}

void colb_opts_free(colb_opts *o)
{
	if (!o)
		return;
	free(o->state_path);
	free(o);
}

void colb_opts_set_trust(colb_opts *o, const colb_trust *t) { if (o) o->trust = t; }
void colb_opts_set_time(colb_opts *o, time_t at) { if (o) o->at = at; }
void colb_opts_set_allow_expired(colb_opts *o, int allow) { if (o) o->allow_expired = allow != 0; }
void colb_opts_set_freshness(colb_opts *o, colb_freshness f) { if (o) o->freshness = f; }

colb_err colb_opts_set_state_file(colb_opts *o, const char *path)
{
	if (!o)
		return COLB_ERR_INVALID_ARG;
	char *p = NULL;
	if (path && !(p = strdup(path)))
		return COLB_ERR_NOMEM;
	free(o->state_path);
	o->state_path = p;
	return COLB_OK;
}

void colb_opts_set_limits(colb_opts *o, uint64_t max_total, uint64_t max_entry,
			  uint64_t max_entries, unsigned max_ratio)
{
	if (!o)
		return;
	if (max_total)
		o->max_total = max_total;
	if (max_entry)
		o->max_entry = max_entry;
	if (max_entries)
		o->max_entries = max_entries;
	if (max_ratio)
		o->max_ratio = max_ratio;
}

const colb_trust *colb_opts_trust(const colb_opts *o) { return o ? o->trust : NULL; }
colb_freshness colb_opts_freshness(const colb_opts *o) { return o ? o->freshness : COLB_FRESHNESS_WARN; }
time_t colb_opts_time(const colb_opts *o) { return o ? o->at : 0; }
bool colb_opts_allow_expired(const colb_opts *o) { return o && o->allow_expired; }

/* ---- the handle --------------------------------------------------------------- */

colb_bundle *colb_bundle_new(const colb_opts *o)
{
	colb_bundle *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	if (o) {
		b->opts = *o;
		b->opts.state_path = o->state_path ? strdup(o->state_path) : NULL;
		if (o->state_path && !b->opts.state_path) {
			free(b);
			return NULL;
		}
	} else {
		colb_opts *d = colb_opts_new();
		if (!d) {
			free(b);
			return NULL;
		}
		b->opts = *d;
		free(d);
	}
	pthread_mutex_init(&b->lock, NULL);
	return b;
}

static void close_bundle(colb_bundle *b)
{
	for (int i = 0; i < COLB_EXT_COUNT; i++) {
		if (b->ext_done[i] && b->ext_fini[i])
			b->ext_fini[i](b->ext[i]);
		b->ext[i] = NULL;
		b->ext_fini[i] = NULL;
		b->ext_done[i] = false;
	}
	for (size_t i = 0; b->entries && i < b->m.nfiles; i++)
		free(b->entries[i].copy);
	colb_manifest_clear(&b->m);
	free(b->manifest_bytes);
	free(b->entries);
	colb_big_free(b->arena, b->arena_size);
	free(b->slots);
	if (b->cache.release)
		b->cache.release(b->cache.ctx);
	memset(&b->cache, 0, sizeof b->cache);
	colb_trust_free(b->keyset);
	b->keyset = NULL;
	b->keyset_version = 0;
	b->manifest_bytes = NULL;
	b->manifest_len = 0;
	b->entries = NULL;
	b->arena = NULL;
	b->arena_size = 0;
	b->slots = NULL;
	b->nslots = 0;
	b->nsigners = 0;
	b->digest[0] = 0;
	b->open = false;
	b->shared = false;
}

void colb_bundle_free(colb_bundle *b)
{
	if (!b)
		return;
	close_bundle(b);
	colb_bundle_rotation_free(b);
	pthread_mutex_destroy(&b->lock);
	free(b->opts.state_path);
	free(b);
}

/* Once a bundle is open, many threads look things up in it at once, and a
 * failed lookup's message must not be torn by another thread's: it goes to
 * a per-thread buffer tagged with the handle. Opening is single-threaded, so
 * its messages stay on the handle, where any thread can read them. */
static _Thread_local struct {
	const colb_bundle *owner;
	char msg[512];
} lookup_error;

const char *colb_bundle_error(const colb_bundle *b)
{
	if (!b)
		return "no bundle handle";
	if (b->shared && lookup_error.owner == b)
		return lookup_error.msg;
	return b->error;
}

colb_err colb_bundle_fail(colb_bundle *b, colb_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (b->shared) {
		lookup_error.owner = b;
		vsnprintf(lookup_error.msg, sizeof lookup_error.msg, fmt, ap);
	} else {
		vsnprintf(b->error, sizeof b->error, fmt, ap);
	}
	va_end(ap);
	return err;
}

/* ---- signatures ------------------------------------------------------------------ */

static colb_err check_signatures(colb_bundle *b, const colb_envelope *env)
{
	/* the keyset reached through the rotation chain (rotation.c) */
	const colb_trust *t = b->keyset;
	if (!t || t->nkeys == 0)
		return colb_bundle_fail(b, COLB_ERR_UNTRUSTED_KEY,
					"signatures: no trusted publisher key is configured");
	if (env->sig_count == 0)
		return colb_bundle_fail(b, COLB_ERR_NO_SIGNATURE, "signatures: the bundle is not signed");
	colb_buf pae;
	colb_buf_init(&pae, 0);
	if (colb_envelope_pae(env, &pae) != COLB_OK) {
		colb_buf_free(&pae);
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "signatures: out of memory");
	}
	bool *counted = calloc(t->nkeys, sizeof *counted);
	colb_err rc = COLB_OK;
	size_t valid = 0;
	if (!counted) {
		colb_buf_free(&pae);
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "signatures: out of memory");
	}
	for (unsigned i = 0; i < env->sig_count; i++) {
		const uint8_t *entry = env->sigblock + 2 + (size_t)COLB_SIG_ENTRY_LEN * i;
		const uint8_t *sig = entry + COLB_KEYID_BYTES;
		char hex[2 * COLB_KEYID_BYTES + 1];
		colb_hex_encode(entry, COLB_KEYID_BYTES, hex, false);
		bool trusted = false, verified = false;
		/* The key id is a hint: try every trusted key that carries it. */
		for (size_t k = 0; k < t->nkeys; k++) {
			if (memcmp(t->keys[k].keyid, entry, COLB_KEYID_BYTES) != 0)
				continue;
			trusted = true;
			if (crypto_sign_verify_detached(sig, pae.data, pae.len, t->keys[k].pk) == 0) {
				verified = true;
				if (!counted[k]) {
					counted[k] = true;
					snprintf(b->signers[valid++], sizeof b->signers[0], "%s", hex);
				}
				break;
			}
		}
		if (trusted && !verified) {
			rc = colb_bundle_fail(b, COLB_ERR_BAD_SIGNATURE,
					      "signatures: signature %u by trusted key %s does not verify",
					      i + 1, hex);
			break;
		}
	}
	b->nsigners = valid;
	if (!rc && valid == 0)
		rc = colb_bundle_fail(b, COLB_ERR_UNTRUSTED_KEY,
				      "signatures: none of the %u signatures is by a trusted key",
				      env->sig_count);
	else if (!rc && valid < t->threshold)
		rc = colb_bundle_fail(b, COLB_ERR_THRESHOLD,
				      "signatures: %zu valid signatures by distinct trusted keys, %u needed",
				      valid, t->threshold);
	free(counted);
	colb_buf_free(&pae);
	return rc;
}

/* ---- the path index ---------------------------------------------------------------- */

static uint64_t path_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static colb_err build_index(colb_bundle *b)
{
	size_t n = b->m.nfiles, cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	b->slots = calloc(cap, sizeof *b->slots);
	if (!b->slots)
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "index: out of memory");
	b->nslots = cap;
	for (size_t i = 0; i < n; i++) {
		size_t s = (size_t)path_hash(b->m.files[i].path) & (cap - 1);
		while (b->slots[s])
			s = (s + 1) & (cap - 1);
		b->slots[s] = i + 1;
	}
	return COLB_OK;
}

size_t colb_bundle_find_path(const colb_bundle *b, const char *path)
{
	if (!b || !b->open || !path || !b->nslots)
		return (size_t)-1;
	size_t s = (size_t)path_hash(path) & (b->nslots - 1);
	while (b->slots[s]) {
		size_t i = b->slots[s] - 1;
		if (!strcmp(b->m.files[i].path, path))
			return i;
		s = (s + 1) & (b->nslots - 1);
	}
	return (size_t)-1;
}

/* ---- the payload ------------------------------------------------------------------ */

/* The length of a gzip member's header (RFC 1952, 2.3), or 0 when the bytes
 * are not one zlib would take: magic, deflate, no reserved flag, and the
 * optional extra field, name, comment and header CRC within the bytes. */
static size_t gzip_header_len(const uint8_t *p, size_t len)
{
	enum { FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };
	if (len < 10 || p[0] != 0x1f || p[1] != 0x8b || p[2] != 8 || (p[3] & 0xe0))
		return 0;
	size_t at = 10;
	if (p[3] & FEXTRA) {
		if (len - at < 2 || len - at - 2 < colb_le16(p + at))
			return 0;
		at += 2 + (size_t)colb_le16(p + at);
	}
	for (int flag = FNAME; flag <= FCOMMENT; flag <<= 1)
		if (p[3] & flag) {
			const uint8_t *nul = memchr(p + at, 0, len - at);
			if (!nul)
				return 0;
			at = (size_t)(nul - p) + 1;
		}
	if (p[3] & FHCRC) {
		if (len - at < 2)
			return 0;
		at += 2;
	}
	return at;
}

/* zlib inflates the gzip payload (one member, nothing after it) into a
 * buffer no larger than the listed files need as a tar: their sizes rounded
 * to 512-byte blocks, three header blocks each (ustar, pax header and its
 * data), and two records of end-of-archive padding. Anything that inflates
 * past that, or past the ratio cap, is a bomb.
 *
 * The member's framing is checked here (header, then raw deflate, then the
 * trailer's length), but not its CRC-32: the payload's SHA-256 matched the
 * signed manifest before these bytes were read at all, which covers every
 * bit the CRC covers, and the CRC cost a sixth of an open. */
static colb_err inflate_payload(colb_bundle *b, const uint8_t *payload, size_t len, uint8_t **tar,
				size_t *tarlen, size_t *tarsize)
{
	uint64_t bound = 2 * 10240;
	for (size_t i = 0; i < b->m.nfiles; i++)
		bound += (b->m.files[i].size + 511) / 512 * 512 + 3 * 512;
	if (bound > b->opts.max_total + (1u << 20))
		bound = b->opts.max_total + (1u << 20);
	uint8_t *out = colb_big_alloc(bound);
	if (!out)
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "payload: out of memory for %llu bytes",
					(unsigned long long)bound);
	size_t head = gzip_header_len(payload, len);
	if (!head) {
		colb_big_free(out, bound);
		return colb_bundle_fail(b, COLB_ERR_ARCHIVE, "payload: not a gzip stream (bad header)");
	}
	payload += head;
	len -= head;
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, -MAX_WBITS) != Z_OK) { /* raw deflate: the framing is ours */
		colb_big_free(out, bound);
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "payload: zlib init failed");
	}
	colb_err rc = COLB_OK;
	int zr;
	/* Fed in uInt-sized steps, so that no length is truncated. */
	for (;;) {
		if (z.avail_in == 0 && z.total_in < len) {
			z.next_in = (Bytef *)payload + z.total_in;
			z.avail_in = (uInt)(len - z.total_in < (1u << 30) ? len - z.total_in : (1u << 30));
		}
		if (z.avail_out == 0 && z.total_out < bound) {
			z.next_out = out + z.total_out;
			z.avail_out = (uInt)(bound - z.total_out < (1u << 30) ? bound - z.total_out : (1u << 30));
		}
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK)
			break;
		if (z.total_out == bound && z.avail_out == 0) {
			rc = colb_bundle_fail(b, COLB_ERR_BOMB,
					      "payload: inflates past the %llu bytes its listed files need",
					      (unsigned long long)bound);
			break;
		}
	}
	size_t in_done = z.total_in, out_done = z.total_out;
	inflateEnd(&z);
	if (!rc && zr != Z_STREAM_END)
		rc = colb_bundle_fail(b, COLB_ERR_ARCHIVE, "payload: not a complete gzip stream (%s)",
				      z.msg ? z.msg : zr == Z_BUF_ERROR ? "truncated" : "corrupt");
	else if (!rc && len - in_done < 8)
		rc = colb_bundle_fail(b, COLB_ERR_ARCHIVE, "payload: not a complete gzip stream (truncated)");
	else if (!rc && colb_le32(payload + in_done + 4) != (uint32_t)out_done)
		rc = colb_bundle_fail(b, COLB_ERR_ARCHIVE,
				      "payload: gzip trailer gives a length other than the %zu bytes inflated",
				      out_done);
	else if (!rc && len - in_done != 8)
		rc = colb_bundle_fail(b, COLB_ERR_ARCHIVE, "payload: %zu bytes after the gzip stream",
				      len - in_done - 8);
	/* Small archives of small files compress far better than 200:1 (tar
	 * padding), so the ratio only counts past the first MiB. */
	else if (!rc && out_done > (1u << 20) && out_done > (uint64_t)len * b->opts.max_ratio)
		rc = colb_bundle_fail(b, COLB_ERR_BOMB,
				      "payload: compression ratio over %u:1 (%zu from %zu bytes)",
				      b->opts.max_ratio, out_done, len);
	if (rc) {
		colb_big_free(out, bound);
		return rc;
	}
	*tar = out;
	*tarlen = out_done;
	*tarsize = bound;
	return COLB_OK;
}

/* Points an entry at its bytes inside the inflated tar (libarchive hands
 * out blocks of the memory it reads); an entry that does not come as one
 * block is copied. Either way it must hold exactly `want` bytes. */
static colb_err entry_data(colb_bundle *b, struct archive *a, colb_entry *en, uint64_t want,
			   size_t tarlen, const char *shown)
{
	const void *buf;
	size_t sz;
	la_int64_t off;
	uint64_t got = 0;
	int r;
	en->data = b->arena;
	while ((r = archive_read_data_block(a, &buf, &sz, &off)) == ARCHIVE_OK) {
		const uint8_t *p = buf;
		if (off < 0 || (uint64_t)off != got || sz > want - got)
			break;
		if (got == 0 && sz == want && p >= b->arena && p + sz <= b->arena + tarlen) {
			en->data = (uint8_t *)p; /* the whole entry, in place */
		} else {
			if (!en->copy && !(en->copy = malloc(want)))
				return colb_bundle_fail(b, COLB_ERR_NOMEM, "payload entry '%s': out of memory",
							shown);
			memcpy(en->copy + got, p, sz);
			en->data = en->copy;
		}
		got += sz;
		if (sz == 0)
			break;
	}
	if (r == ARCHIVE_FATAL || r == ARCHIVE_FAILED || r == ARCHIVE_WARN || r == ARCHIVE_RETRY)
		return colb_bundle_fail(b, COLB_ERR_ARCHIVE, "payload entry '%s': %s", shown,
					archive_error_string(a) ? archive_error_string(a) : "unreadable");
	if (r != ARCHIVE_EOF || got != want)
		return colb_bundle_fail(b, COLB_ERR_SIZE_MISMATCH,
					"payload entry '%s': %llu bytes of data, manifest says %llu", shown,
					(unsigned long long)got, (unsigned long long)want);
	return COLB_OK;
}

static colb_err read_payload(colb_bundle *b, const uint8_t *payload, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	colb_err rc = COLB_OK;
	uint64_t total = 0, count = 0;
	if (!a)
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "payload: out of memory");
	uint8_t *tar = NULL;
	size_t tarlen = 0;
	/* Only the tar format, over bytes zlib has already inflated. */
	if (archive_read_support_format_tar(a) != ARCHIVE_OK) {
		archive_read_free(a);
		return colb_bundle_fail(b, COLB_ERR_INTERNAL, "payload: libarchive lacks tar");
	}
	for (size_t i = 0; i < b->m.nfiles; i++)
		total += b->m.files[i].size;
	b->entries = calloc(b->m.nfiles ? b->m.nfiles : 1, sizeof *b->entries);
	if (!b->entries) {
		archive_read_free(a);
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "payload: out of memory for %zu entries",
					b->m.nfiles);
	}
	if ((rc = inflate_payload(b, payload, len, &tar, &tarlen, &b->arena_size)))
		goto out;
	/* The inflated tar is the arena: files are served from inside it. */
	b->arena = tar;
	tar = NULL;
	if (archive_read_open_memory(a, b->arena, tarlen) != ARCHIVE_OK) {
		rc = colb_bundle_fail(b, COLB_ERR_ARCHIVE, "payload: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			const char *msg = archive_error_string(a);
			rc = colb_bundle_fail(b, COLB_ERR_ARCHIVE, "payload entry %llu: %s",
					      (unsigned long long)count + 1, msg ? msg : "unreadable");
			goto out;
		}
		if (++count > b->opts.max_entries) {
			rc = colb_bundle_fail(b, COLB_ERR_BOMB, "payload: more than %llu entries",
					      (unsigned long long)b->opts.max_entries);
			goto out;
		}
		const char *path = archive_entry_pathname(e);
		char shown[80];
		snprintf(shown, sizeof shown, "%.64s%s", path ? path : "", path && strlen(path) > 64 ? "..." : "");
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
		    archive_entry_symlink(e) || archive_entry_sparse_count(e) > 0) {
			rc = colb_bundle_fail(b, COLB_ERR_NOT_REGULAR,
					      "payload entry '%s': not a regular file", shown);
			goto out;
		}
		if (!path || !colb_path_ok(path)) {
			rc = colb_bundle_fail(b, COLB_ERR_BAD_PATH,
					      "payload entry '%s': path outside the allowed form", shown);
			goto out;
		}
		size_t i = colb_bundle_find_path(b, path);
		if (i == (size_t)-1) {
			rc = colb_bundle_fail(b, COLB_ERR_UNLISTED_ENTRY,
					      "payload entry '%s': not listed in the manifest", shown);
			goto out;
		}
		if (b->entries[i].seen) {
			rc = colb_bundle_fail(b, COLB_ERR_DUPLICATE_ENTRY,
					      "payload entry '%s': appears twice", shown);
			goto out;
		}
		b->entries[i].seen = true;
		uint64_t want = b->m.files[i].size;
		if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0 ||
		    (uint64_t)archive_entry_size(e) != want) {
			rc = colb_bundle_fail(b, COLB_ERR_SIZE_MISMATCH,
					      "payload entry '%s': size %lld differs from manifest %llu",
					      shown, (long long)archive_entry_size(e),
					      (unsigned long long)want);
			goto out;
		}
		if ((rc = entry_data(b, a, &b->entries[i], want, tarlen, shown)))
			goto out;
	}
	for (size_t i = 0; i < b->m.nfiles; i++) {
		if (!b->entries[i].seen) {
			rc = colb_bundle_fail(b, COLB_ERR_MISSING_ENTRY,
					      "payload: '%s' is listed in the manifest but absent",
					      b->m.files[i].path);
			goto out;
		}
	}
out:
	archive_read_free(a);
	free(tar);
	return rc;
}

/* ---- opening ------------------------------------------------------------------------ */

static colb_err check_time_and_state(colb_bundle *b)
{
	char when[21], lim[21];
	if (b->m.created > b->at + COLB_CLOCK_SKEW) {
		colb_time_format(b->m.created, when);
		colb_time_format(b->at, lim);
		return colb_bundle_fail(b, COLB_ERR_NOT_YET_VALID,
					"manifest: created %s, after the verification time %s", when, lim);
	}
	if (b->at >= b->m.expires && !b->opts.allow_expired) {
		colb_time_format(b->m.expires, when);
		colb_time_format(b->at, lim);
		return colb_bundle_fail(b, COLB_ERR_EXPIRED,
					"manifest: expired %s, verification time %s", when, lim);
	}
	if (b->opts.state_path) {
		uint64_t version;
		char digest[65], why[512];
		colb_err rc = colb_state_read(b->opts.state_path, &version, digest, why, sizeof why);
		if (rc)
			return colb_bundle_fail(b, rc, "%s", why);
		if (b->m.version < version)
			return colb_bundle_fail(b, COLB_ERR_ROLLBACK,
						"rollback: bundle version %llu is lower than the installed %llu",
						(unsigned long long)b->m.version,
						(unsigned long long)version);
		if (b->m.version == version && strcmp(digest, b->digest) != 0)
			return colb_bundle_fail(b, COLB_ERR_ROLLBACK,
						"rollback: bundle version %llu is the installed version but "
						"a different bundle (digest %.16s..., installed %.16s...)",
						(unsigned long long)version, b->digest, digest);
	}
	return COLB_OK;
}

/* The files of a bundle opened from the store's payload cache point into
 * it; their digests are checked at first read like any other's. */
static colb_err attach_cache(colb_bundle *b)
{
	uint64_t off = 0;
	b->entries = calloc(b->m.nfiles ? b->m.nfiles : 1, sizeof *b->entries);
	if (!b->entries)
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "payload cache: out of memory");
	for (size_t i = 0; i < b->m.nfiles; i++) {
		b->entries[i].data = (uint8_t *)b->cache.data + off;
		off += b->m.files[i].size;
	}
	if (off != b->cache.len)
		return colb_bundle_fail(b, COLB_ERR_SIZE_MISMATCH,
					"payload cache: %zu bytes, the manifest's files total %llu",
					b->cache.len, (unsigned long long)off);
	return COLB_OK;
}

static colb_err open_bytes(colb_bundle *b, const uint8_t *data, size_t len)
{
	bool cached = b->cache.data != NULL;
	colb_envelope env;
	char why[512];
	colb_err rc;
	if (sodium_init() < 0)
		return colb_bundle_fail(b, COLB_ERR_INTERNAL, "libsodium init failed");
	b->at = b->opts.at ? b->opts.at : time(NULL);
	if ((rc = colb_envelope_decode(data, len, &env, why, sizeof why)))
		return colb_bundle_fail(b, rc, "%s", why);
	if ((rc = colb_bundle_resolve_keyset(b, env.rotation, env.rotation_len)))
		return rc;
	if ((rc = check_signatures(b, &env)))
		return rc;
	if ((rc = colb_manifest_parse(env.manifest, env.manifest_len, env.minor, b->opts.max_entries,
				      &b->m, why, sizeof why)))
		return colb_bundle_fail(b, rc, "%s", why);
	b->manifest_bytes = malloc(env.manifest_len + 1);
	if (!b->manifest_bytes)
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "out of memory");
	memcpy(b->manifest_bytes, env.manifest, env.manifest_len);
	b->manifest_bytes[env.manifest_len] = 0;
	b->manifest_len = env.manifest_len;
	if (cached)
		memcpy(b->digest, b->cache.digest, sizeof b->digest);
	else
		colb_sha256_hex(data, len, b->digest);
	if ((rc = check_time_and_state(b)))
		return rc;

	if (env.payload_len != b->m.payload_size)
		return colb_bundle_fail(b, COLB_ERR_SIZE_MISMATCH,
					"payload: %llu bytes, manifest says %llu",
					(unsigned long long)env.payload_len,
					(unsigned long long)b->m.payload_size);
	uint8_t d[32];
	if (!cached)
		colb_sha256(env.payload, env.payload_len, d);
	if (!cached && memcmp(d, b->m.payload_sha256, 32) != 0)
		return colb_bundle_fail(b, COLB_ERR_DIGEST_MISMATCH,
					"payload: SHA-256 differs from the manifest's");
	uint64_t total = 0;
	for (size_t i = 0; i < b->m.nfiles; i++) {
		const colb_mfile *f = &b->m.files[i];
		if (f->size > b->opts.max_entry)
			return colb_bundle_fail(b, COLB_ERR_BOMB,
						"manifest: '%s' is %llu bytes, over the %llu-byte entry cap",
						f->path, (unsigned long long)f->size,
						(unsigned long long)b->opts.max_entry);
		total += f->size;
	}
	if (total > b->opts.max_total)
		return colb_bundle_fail(b, COLB_ERR_BOMB,
					"manifest: files total %llu bytes, over the %llu-byte cap",
					(unsigned long long)total, (unsigned long long)b->opts.max_total);
	if ((rc = build_index(b)))
		return rc;
	if (cached)
		return attach_cache(b);
	b->open = true; /* for the index lookups while reading; reset on failure */
	rc = read_payload(b, env.payload, env.payload_len);
	b->open = false;
	return rc;
}

static colb_err open_with(colb_bundle *b, const uint8_t *data, size_t len,
			  const colb_files_cache *cache)
{
	close_bundle(b);
	b->error[0] = 0;
	if (cache) {
		b->cache = *cache;
		b->cache.digest[64] = 0;
	}
	colb_err rc = open_bytes(b, data, len);
	if (rc) {
		char keep[sizeof b->error];
		memcpy(keep, b->error, sizeof keep);
		close_bundle(b);
		memcpy(b->error, keep, sizeof keep);
		return rc;
	}
	b->open = true;
	b->shared = true;
	return COLB_OK;
}

colb_err colb_bundle_open_memory(colb_bundle *b, const uint8_t *data, size_t len)
{
	if (!b || (!data && len))
		return COLB_ERR_INVALID_ARG;
	return open_with(b, data, len, NULL);
}

colb_err colb_bundle_open_cached(colb_bundle *b, const uint8_t *data, size_t len,
				 const colb_files_cache *cache)
{
	if (!b || !cache || !cache->data) {
		if (cache && cache->release)
			cache->release(cache->ctx);
		return COLB_ERR_INVALID_ARG;
	}
	return open_with(b, data, len, cache);
}

colb_err colb_bundle_open_file(colb_bundle *b, const char *path)
{
	if (!b || !path)
		return COLB_ERR_INVALID_ARG;
	uint8_t *data = NULL;
	size_t len = 0;
	char why[512];
	/* Read into private memory: the bytes that were hashed must be the
	 * bytes that are parsed, whatever happens to the file meanwhile. */
	size_t cap = COLB_HEADER_LEN + COLB_MAX_MANIFEST + 2 + COLB_SIG_ENTRY_LEN * COLB_MAX_SIGS +
		     COLB_ROT_MAX_SECTION + COLB_MAX_PAYLOAD;
	colb_err rc = colb_read_file(path, cap, &data, &len, why, sizeof why);
	if (rc) {
		close_bundle(b);
		return colb_bundle_fail(b, rc == COLB_ERR_LIMIT ? COLB_ERR_OVERSIZED : rc, "%s", why);
	}
	rc = colb_bundle_open_memory(b, data, len);
	free(data);
	return rc;
}

/* ---- what an open bundle tells ----------------------------------------------------- */

uint64_t colb_bundle_version(const colb_bundle *b) { return b && b->open ? b->m.version : 0; }
const char *colb_bundle_id(const colb_bundle *b) { return b && b->open ? b->m.bundle_id : ""; }
const char *colb_bundle_publisher(const colb_bundle *b) { return b && b->open ? b->m.publisher : ""; }
time_t colb_bundle_created(const colb_bundle *b) { return b && b->open ? b->m.created : 0; }
time_t colb_bundle_expires(const colb_bundle *b) { return b && b->open ? b->m.expires : 0; }
const char *colb_bundle_digest(const colb_bundle *b) { return b && b->open ? b->digest : ""; }
size_t colb_bundle_signer_count(const colb_bundle *b) { return b && b->open ? b->nsigners : 0; }
size_t colb_bundle_file_count(const colb_bundle *b) { return b && b->open ? b->m.nfiles : 0; }
const colb_opts *colb_bundle_opts(const colb_bundle *b) { return &b->opts; }
time_t colb_bundle_time(const colb_bundle *b) { return b->at; }

const char *colb_bundle_signer(const colb_bundle *b, size_t i)
{
	return b && b->open && i < b->nsigners ? b->signers[i] : NULL;
}

const char *colb_bundle_manifest_json(const colb_bundle *b, size_t *len)
{
	if (!b || !b->open) {
		if (len)
			*len = 0;
		return "";
	}
	if (len)
		*len = b->manifest_len;
	return (const char *)b->manifest_bytes;
}

const char *colb_bundle_baseline_json(const colb_bundle *b)
{
	return b && b->open ? b->m.baseline_json : "{}";
}

const json_t *colb_bundle_baseline(const colb_bundle *b)
{
	static json_t *empty;
	if (b && b->open)
		return b->m.baseline;
	if (!empty)
		empty = json_object();
	return empty;
}

const colb_meta *colb_bundle_file_meta(const colb_bundle *b, size_t i)
{
	return b && b->open && i < b->m.nfiles ? &b->m.files[i].meta : NULL;
}

colb_err colb_bundle_file_at(const colb_bundle *b, size_t i, colb_file_info *out)
{
	if (!b || !out || !b->open || i >= b->m.nfiles)
		return COLB_ERR_INVALID_ARG;
	const colb_mfile *f = &b->m.files[i];
	out->path = f->path;
	out->kind = f->kind;
	out->meta_json = f->meta_json;
	out->size = f->size;
	out->sha256 = f->sha256;
	return COLB_OK;
}

colb_err colb_bundle_read_at(colb_bundle *b, size_t i, const uint8_t **data, size_t *len)
{
	if (!b || !b->open || i >= b->m.nfiles || !data || !len)
		return COLB_ERR_INVALID_ARG;
	colb_entry *e = &b->entries[i];
	const colb_mfile *f = &b->m.files[i];
	int st = atomic_load_explicit(&e->state, memory_order_acquire);
	if (st == 0) {
		/* Two threads may both hash the first time; the verdict is the same. */
		uint8_t d[32];
		colb_sha256(e->data, f->size, d);
		st = memcmp(d, f->digest, 32) == 0 ? 1 : 2;
		atomic_store_explicit(&e->state, st, memory_order_release);
	}
	if (st != 1)
		return colb_bundle_fail(b, COLB_ERR_DIGEST_MISMATCH,
					"payload entry '%s': SHA-256 differs from the manifest's", f->path);
	*data = e->data;
	*len = (size_t)f->size;
	return COLB_OK;
}

colb_err colb_bundle_read(colb_bundle *b, const char *path, const uint8_t **data, size_t *len)
{
	if (!b || !path || !data || !len)
		return COLB_ERR_INVALID_ARG;
	if (!b->open)
		return colb_bundle_fail(b, COLB_ERR_INVALID_ARG, "the bundle is not open");
	size_t i = colb_bundle_find_path(b, path);
	if (i == (size_t)-1)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "'%s': no such file in the bundle", path);
	return colb_bundle_read_at(b, i, data, len);
}

/* Hashes files first..n in steps of `step`, recording each verdict as a
 * first read would. */
typedef struct digest_job {
	colb_bundle *b;
	size_t first, step;
} digest_job;

static void *digest_worker(void *arg)
{
	digest_job *j = arg;
	for (size_t i = j->first; i < j->b->m.nfiles; i += j->step) {
		colb_entry *e = &j->b->entries[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) != 0)
			continue;
		uint8_t d[32];
		colb_sha256(e->data, j->b->m.files[i].size, d);
		atomic_store_explicit(&e->state, memcmp(d, j->b->m.files[i].digest, 32) == 0 ? 1 : 2,
				      memory_order_release);
	}
	return NULL;
}

colb_err colb_bundle_verify_files(colb_bundle *b)
{
	if (!b || !b->open)
		return COLB_ERR_INVALID_ARG;
	/* Large bundles are hashed on every CPU (up to 4); the loop below then
	 * only reads the recorded verdicts and names the first bad file. */
	uint64_t bytes = 0;
	for (size_t i = 0; i < b->m.nfiles; i++)
		bytes += b->m.files[i].size;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu > 1 ? (size_t)(ncpu < 4 ? ncpu : 4) : 1;
	if (bytes >= (4u << 20) && nthreads > 1 && b->m.nfiles > 1) {
		pthread_t th[4];
		digest_job jobs[4];
		size_t started = 0;
		for (size_t t = 1; t < nthreads; t++) {
			jobs[t] = (digest_job){b, t, nthreads};
			if (pthread_create(&th[started], NULL, digest_worker, &jobs[t]) == 0)
				started++;
			else
				break;
		}
		jobs[0] = (digest_job){b, 0, started + 1 == nthreads ? nthreads : 1};
		digest_worker(&jobs[0]);
		for (size_t t = 0; t < started; t++)
			pthread_join(th[t], NULL);
	}
	for (size_t i = 0; i < b->m.nfiles; i++) {
		const uint8_t *d;
		size_t n;
		colb_err rc = colb_bundle_read_at(b, i, &d, &n);
		if (rc)
			return rc;
	}
	return COLB_OK;
}

/* ---- per-bundle state of the vendor layers ------------------------------------------ */

colb_err colb_bundle_ext(colb_bundle *b, colb_ext_id id, colb_ext_init_fn init,
			 colb_ext_fini_fn fini, void **state)
{
	if (!b || !b->open || id < 0 || id >= COLB_EXT_COUNT || !init || !state)
		return COLB_ERR_INVALID_ARG;
	if (atomic_load_explicit(&b->ext_done[id], memory_order_acquire)) {
		*state = b->ext[id];
		return COLB_OK;
	}
	colb_err rc = COLB_OK;
	pthread_mutex_lock(&b->lock);
	if (!atomic_load_explicit(&b->ext_done[id], memory_order_relaxed)) {
		void *s = NULL;
		rc = init(b, &s);
		if (rc == COLB_OK) {
			b->ext[id] = s;
			b->ext_fini[id] = fini;
			atomic_store_explicit(&b->ext_done[id], true, memory_order_release);
		}
	}
	if (rc == COLB_OK)
		*state = b->ext[id];
	pthread_mutex_unlock(&b->lock);
	return rc;
}
