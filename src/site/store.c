/*
 * store.c — reading the site store (format-spec/site-store.md): site.json,
 * the current generation, and colb_bundle_open_store, the readers' fast path
 * (signed envelope + manifest, files from the payload cache, each checked
 * against the signed manifest at first read).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bundle/internal.h"
#include "bundle/state.h"
#include "site/site.h"

/* ---- site.json ------------------------------------------------------------------ */

static bool hex64(const char *s)
{
	return s && strlen(s) == 64 && colb_is_hex(s, 64) && strspn(s, "0123456789abcdef") == 64;
}

static bool get_u64(json_t *j, uint64_t *out)
{
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return false;
	*out = (uint64_t)json_integer_value(j);
	return *out <= COLB_SITE_MAX_INT;
}

static bool exact_keys(json_t *obj, const char *const *keys)
{
	size_t n = 0;
	for (; keys[n]; n++)
		if (!json_object_get(obj, keys[n]))
			return false;
	return json_is_object(obj) && json_object_size(obj) == n;
}

/* "rotations": base64 statements, oldest first; checked as a section. */
static colb_err parse_rotations(json_t *arr, colb_site_info *out, char *why, size_t whylen)
{
	if (!json_is_array(arr) || json_array_size(arr) > COLB_ROT_MAX_CHAIN)
		return colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: 'rotations' is not a list of statements");
	if (json_array_size(arr) == 0)
		return COLB_OK;
	colb_buf entries, sec;
	colb_buf_init(&entries, COLB_ROT_MAX_SECTION);
	colb_buf_init(&sec, COLB_ROT_MAX_SECTION);
	colb_err rc = COLB_OK;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		size_t n = 0;
		uint8_t *raw = s ? colb_b64_decode(s, strlen(s), &n) : NULL;
		uint8_t l[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
		if (!raw || colb_buf_append(&entries, l, 4) || colb_buf_append(&entries, raw, n))
			rc = colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: rotation %zu is not base64", i + 1);
		free(raw);
		if (rc)
			break;
	}
	colb_rot_stmt *st = rc ? NULL : calloc(COLB_ROT_MAX_CHAIN, sizeof *st);
	size_t n;
	char inner[256];
	if (!rc && (!st || colb_rot_section_build(entries.data, entries.len, json_array_size(arr), &sec) ||
		    colb_rot_section_decode(sec.data, sec.len, st, COLB_ROT_MAX_CHAIN, &n, inner, sizeof inner)))
		rc = colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: 'rotations' is not a valid chain");
	free(st);
	colb_buf_free(&entries);
	if (rc) {
		colb_buf_free(&sec);
		return rc;
	}
	out->chain = colb_buf_steal(&sec, &out->chain_len);
	return COLB_OK;
}

colb_err colb_site_parse(const char *text, size_t len, colb_site_info *out, char *why, size_t whylen)
{
	static const char *const top[] = {"format", "store_version", "version", "digest",
					  "manifest_sha256", "files_size", "keyset", "rotations",
					  "installed", "allow_expired", NULL};
	static const char *const ks[] = {"version", "threshold", "keys", NULL};
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: not valid JSON (%s)", jerr.text);
	colb_err rc = COLB_ERR_STORE;
	json_t *keyset = json_object_get(root, "keyset"), *keys = json_object_get(keyset, "keys");
	const char *fmt = json_string_value(json_object_get(root, "format"));
	const char *ver = json_string_value(json_object_get(root, "version"));
	const char *dig = json_string_value(json_object_get(root, "digest"));
	const char *man = json_string_value(json_object_get(root, "manifest_sha256"));
	const char *ins = json_string_value(json_object_get(root, "installed"));
	json_t *ae = json_object_get(root, "allow_expired");
	uint64_t sv = 0, thr = 0;
	if (!exact_keys(root, top) || !exact_keys(keyset, ks)) {
		colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: unknown, missing or duplicate keys");
	} else if (!fmt || strcmp(fmt, "colbundle-store") || !get_u64(json_object_get(root, "store_version"), &sv) ||
		   sv != 1) {
		colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: not a version 1 colbundle store");
	} else if (!ver || !*ver || (ver[0] == '0' && ver[1]) || !colb_parse_u64(ver, &out->version) ||
		   !hex64(dig) || !hex64(man) || !ins || !colb_time_parse(ins, &out->installed) ||
		   !json_is_boolean(ae) || !get_u64(json_object_get(root, "files_size"), &out->files_size)) {
		colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: a value has the wrong form");
	} else if (!get_u64(json_object_get(keyset, "version"), &out->keyset_version) ||
		   out->keyset_version == 0 || !get_u64(json_object_get(keyset, "threshold"), &thr) ||
		   !json_is_array(keys) || json_array_size(keys) == 0 ||
		   json_array_size(keys) > COLB_ROT_MAX_KEYS || thr == 0 || thr > json_array_size(keys)) {
		colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: the keyset is malformed");
	} else {
		rc = COLB_OK;
		out->threshold = (unsigned)thr;
		out->allow_expired = json_is_true(ae);
		memcpy(out->digest, dig, 65);
		memcpy(out->manifest_sha256, man, 65);
		size_t i;
		json_t *k;
		json_array_foreach(keys, i, k) {
			const char *h = json_string_value(k);
			if (!hex64(h) || !colb_hex_decode(h, 64, out->keys[i], 32)) {
				rc = colb_seterr(why, whylen, COLB_ERR_STORE, "site.json: key %zu is not 64 hex digits",
						 i + 1);
				break;
			}
		}
		out->nkeys = json_array_size(keys);
	}
	if (!rc)
		rc = parse_rotations(json_object_get(root, "rotations"), out, why, whylen);
	json_decref(root);
	if (rc)
		colb_site_info_free(out);
	return rc;
}

void colb_site_info_free(colb_site_info *si)
{
	free(si->chain);
	si->chain = NULL;
	si->chain_len = 0;
}

colb_err colb_site_emit(const colb_site_info *in, colb_buf *out)
{
	char installed[21];
	colb_time_format(in->installed, installed);
	colb_err rc = colb_buf_printf(out,
				      "{\"format\":\"colbundle-store\",\"store_version\":1,\"version\":\"%llu\","
				      "\"digest\":\"%s\",\"manifest_sha256\":\"%s\",\"files_size\":%llu,"
				      "\"keyset\":{\"version\":%llu,\"threshold\":%u,\"keys\":[",
				      (unsigned long long)in->version, in->digest, in->manifest_sha256,
				      (unsigned long long)in->files_size,
				      (unsigned long long)in->keyset_version, in->threshold);
	for (size_t i = 0; !rc && i < in->nkeys; i++) {
		char hex[65];
		colb_hex_encode(in->keys[i], 32, hex, false);
		rc = colb_buf_printf(out, "%s\"%s\"", i ? "," : "", hex);
	}
	if (!rc)
		rc = colb_buf_append_str(out, "]},\"rotations\":[");
	/* the chain's statements, oldest first */
	for (size_t off = 2, i = 0; !rc && in->chain && off + 4 <= in->chain_len; i++) {
		uint32_t sl = (uint32_t)in->chain[off] | (uint32_t)in->chain[off + 1] << 8 |
			      (uint32_t)in->chain[off + 2] << 16 | (uint32_t)in->chain[off + 3] << 24;
		if (sl > in->chain_len - off - 4)
			return COLB_ERR_INTERNAL;
		char *b64 = colb_b64_encode(in->chain + off + 4, sl);
		rc = b64 ? colb_buf_printf(out, "%s\"%s\"", i ? "," : "", b64) : COLB_ERR_NOMEM;
		free(b64);
		off += 4 + sl;
	}
	if (!rc)
		rc = colb_buf_printf(out, "],\"installed\":\"%s\",\"allow_expired\":%s}\n", installed,
				     in->allow_expired ? "true" : "false");
	return rc;
}

colb_trust *colb_site_trust(const colb_site_info *si)
{
	colb_trust *t = colb_trust_new();
	if (!t)
		return NULL;
	for (size_t i = 0; i < si->nkeys; i++)
		if (colb_trust_add_raw_key(t, si->keys[i]) != COLB_OK) {
			colb_trust_free(t);
			return NULL;
		}
	if (colb_trust_set_threshold(t, si->threshold) != COLB_OK) {
		colb_trust_free(t);
		return NULL;
	}
	return t;
}

/* ---- generations ------------------------------------------------------------------ */

void colb_site_gen_name(uint64_t version, const char *digest, char out[COLB_STORE_GEN_MAX])
{
	snprintf(out, COLB_STORE_GEN_MAX, "%llu-%.16s", (unsigned long long)version, digest);
}

static bool gen_name_ok(const char *s)
{
	size_t d = strspn(s, "0123456789");
	return d >= 1 && d <= 20 && s[d] == '-' && strlen(s + d + 1) == 16 &&
	       strspn(s + d + 1, "0123456789abcdef") == 16;
}

colb_err colb_site_current(int store_fd, char out[COLB_STORE_GEN_MAX], char *why, size_t whylen)
{
	char link[COLB_STORE_GEN_MAX + 8];
	ssize_t n = readlinkat(store_fd, "current", link, sizeof link - 1);
	if (n < 0)
		return colb_seterr(why, whylen, errno == ENOENT ? COLB_ERR_NOT_FOUND : COLB_ERR_STORE,
				   "current: %s", errno == ENOENT ? "no bundle is installed" : strerror(errno));
	link[n] = 0;
	if (strncmp(link, "g/", 2) != 0 || !gen_name_ok(link + 2))
		return colb_seterr(why, whylen, COLB_ERR_STORE, "current: points at '%.80s', not g/<generation>",
				   link);
	memcpy(out, link + 2, strlen(link + 2) + 1); /* gen_name_ok: at most 37 bytes */
	return COLB_OK;
}

colb_err colb_store_generation(const char *store_dir, char *out, size_t outlen)
{
	if (!store_dir || !out || !outlen)
		return COLB_ERR_INVALID_ARG;
	char gen[COLB_STORE_GEN_MAX];
	int fd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return COLB_ERR_STORE;
	colb_err rc = colb_site_current(fd, gen, NULL, 0);
	close(fd);
	if (rc)
		return COLB_ERR_STORE;
	if (strlen(gen) >= outlen)
		return COLB_ERR_LIMIT;
	memcpy(out, gen, strlen(gen) + 1);
	return COLB_OK;
}

colb_err colb_site_read_at(int dfd, const char *name, size_t max, uint8_t **data, size_t *len,
			   char *why, size_t whylen)
{
	*data = NULL;
	*len = 0;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return colb_seterr(why, whylen, errno == ENOENT ? COLB_ERR_NOT_FOUND : COLB_ERR_STORE,
				   "%s: %s", name, strerror(errno));
	struct stat st;
	colb_err rc = COLB_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = colb_seterr(why, whylen, COLB_ERR_STORE, "%s: not a regular file", name);
	else if ((uint64_t)st.st_size > max)
		rc = colb_seterr(why, whylen, COLB_ERR_STORE, "%s: %lld bytes, over the %zu-byte cap", name,
				 (long long)st.st_size, max);
	uint8_t *buf = rc ? NULL : malloc((size_t)st.st_size + 1);
	if (!rc && !buf)
		rc = colb_seterr(why, whylen, COLB_ERR_NOMEM, "%s: out of memory", name);
	size_t got = 0;
	while (!rc && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = colb_seterr(why, whylen, COLB_ERR_STORE, "%s: short read", name);
		else
			got += (size_t)n;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[got] = 0;
	*data = buf;
	*len = got;
	return COLB_OK;
}

colb_err colb_site_read_gen(int gen_fd, colb_site_info *si, char *why, size_t whylen)
{
	uint8_t *text = NULL;
	size_t len = 0;
	char inner[384];
	colb_err rc = colb_site_read_at(gen_fd, "site.json", COLB_SITE_JSON_MAX, &text, &len, why, whylen);
	if (rc)
		return rc;
	rc = colb_site_parse((const char *)text, len, si, why, whylen);
	free(text);
	if (rc)
		return rc;
	if ((rc = colb_site_read_at(gen_fd, "state.json", COLB_STATE_MAX, &text, &len, why, whylen))) {
		colb_site_info_free(si);
		return rc;
	}
	uint64_t v;
	char d[65];
	rc = colb_state_parse((const char *)text, len, &v, d, inner, sizeof inner);
	free(text);
	if (rc) {
		colb_site_info_free(si);
		return colb_seterr(why, whylen, COLB_ERR_STORE, "state.json: %s", inner);
	}
	if (v != si->version || strcmp(d, si->digest) != 0) {
		colb_site_info_free(si);
		return colb_seterr(why, whylen, COLB_ERR_STORE,
				   "state.json (version %llu) and site.json (version %llu) disagree",
				   (unsigned long long)v, (unsigned long long)si->version);
	}
	return COLB_OK;
}

/* ---- the readers' fast path ---------------------------------------------------------- */

typedef struct mapping {
	void *addr;
	size_t len;
} mapping;

static void unmap(void *ctx)
{
	mapping *m = ctx;
	if (m && m->addr && m->len)
		munmap(m->addr, m->len);
	free(m);
}

/* Maps a generation's file read-only. An empty file maps to a static byte. */
static colb_err map_at(int dfd, const char *name, mapping *m, char *why, size_t whylen)
{
	static uint8_t empty;
	m->addr = NULL;
	m->len = 0;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return colb_seterr(why, whylen, errno == ENOENT ? COLB_ERR_NOT_FOUND : COLB_ERR_STORE,
				   "%s: %s", name, strerror(errno));
	struct stat st;
	colb_err rc = COLB_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = colb_seterr(why, whylen, COLB_ERR_STORE, "%s: not a regular file", name);
	} else if (st.st_size == 0) {
		m->addr = &empty;
	} else {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			rc = colb_seterr(why, whylen, COLB_ERR_STORE, "%s: mmap: %s", name, strerror(errno));
		else {
			m->addr = p;
			m->len = (size_t)st.st_size;
		}
	}
	close(fd);
	return rc;
}

/* One attempt; *retry when the generation vanished under us (an install
 * removed it after switching twice). */
static colb_err open_once(colb_bundle *b, const char *dir, bool *retry)
{
	char why[512];
	colb_err rc;
	*retry = false;
	int sfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return colb_bundle_fail(b, COLB_ERR_STORE, "store %s: %s", dir, strerror(errno));
	/* The generation by its name, as colb_store_generation reports it: a
	 * generation directory never changes once named, so everything read
	 * through gfd belongs to it. */
	char gen[COLB_STORE_GEN_MAX], gpath[COLB_STORE_GEN_MAX + 4];
	rc = colb_site_current(sfd, gen, why, sizeof why);
	if (rc) {
		close(sfd);
		return colb_bundle_fail(b, COLB_ERR_STORE, "store %s: %s", dir, why);
	}
	snprintf(gpath, sizeof gpath, "g/%s", gen);
	int gfd = openat(sfd, gpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int err = errno;
	close(sfd);
	if (gfd < 0) {
		*retry = err == ENOENT; /* switched and swept since the readlink */
		return colb_bundle_fail(b, COLB_ERR_STORE, "store %s: %s: %s", dir, gpath, strerror(err));
	}
	colb_site_info si;
	mapping bm = {0};
	mapping *fm = calloc(1, sizeof *fm);
	if (!fm) {
		close(gfd);
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "out of memory");
	}
	memset(&si, 0, sizeof si);
	if ((rc = colb_site_read_gen(gfd, &si, why, sizeof why)) ||
	    (rc = map_at(gfd, "bundle.colb", &bm, why, sizeof why)) ||
	    (rc = map_at(gfd, "files.bin", fm, why, sizeof why))) {
		colb_site_info_free(&si);
		close(gfd);
		if (bm.len)
			munmap(bm.addr, bm.len);
		unmap(fm);
		*retry = rc == COLB_ERR_NOT_FOUND;
		return colb_bundle_fail(b, rc == COLB_ERR_NOT_FOUND || rc == COLB_ERR_STORE ? COLB_ERR_STORE : rc,
					"store %s: %s", dir, why);
	}
	close(gfd);
	char want[COLB_STORE_GEN_MAX];
	colb_site_gen_name(si.version, si.digest, want);
	if (strcmp(want, gen) != 0) {
		colb_site_info_free(&si);
		if (bm.len)
			munmap(bm.addr, bm.len);
		unmap(fm);
		return colb_bundle_fail(b, COLB_ERR_STORE, "store %s: generation %s holds the state of %s",
					dir, gen, want);
	}

	/* Trust: the caller's keys when it has some (walking the bundle's
	 * rotation chain from them), else the keyset the install recorded. The
	 * recorded keyset's version is a floor either way. */
	const colb_trust *own = colb_opts_trust(colb_bundle_opts(b));
	colb_trust *anchor = NULL;
	if (colb_trust_key_count(own) == 0 && !(anchor = colb_site_trust(&si))) {
		colb_site_info_free(&si);
		if (bm.len)
			munmap(bm.addr, bm.len);
		unmap(fm);
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "out of memory");
	}
	colb_bundle_set_anchor(b, anchor, anchor ? si.keyset_version : 0, si.keyset_version);
	if (colb_bundle_set_chain(b, si.chain, si.chain_len) != COLB_OK) {
		colb_site_info_free(&si);
		if (bm.len)
			munmap(bm.addr, bm.len);
		unmap(fm);
		return colb_bundle_fail(b, COLB_ERR_NOMEM, "out of memory");
	}
	bool allow = colb_opts_allow_expired(colb_bundle_opts(b));
	colb_bundle_set_allow_expired(b, allow || si.allow_expired);

	colb_files_cache cache = {.data = fm->addr, .len = fm->len, .release = unmap, .ctx = fm};
	memcpy(cache.digest, si.digest, sizeof cache.digest);
	rc = colb_bundle_open_cached(b, bm.addr, bm.len, &cache);
	colb_bundle_set_allow_expired(b, allow);
	/* the store's trust applies to this open only */
	colb_bundle_set_anchor(b, NULL, 0, 0);
	(void)!colb_bundle_set_chain(b, NULL, 0);
	colb_site_info_free(&si);
	if (bm.len)
		munmap(bm.addr, bm.len);
	if (rc)
		return rc;
	size_t mlen;
	const char *mj = colb_bundle_manifest_json(b, &mlen);
	char mhex[65];
	colb_sha256_hex(mj, mlen, mhex);
	if (colb_bundle_version(b) != si.version || strcmp(mhex, si.manifest_sha256) != 0) {
		colb_bundle_fail(b, COLB_ERR_STORE,
				 "store %s: the current bundle (version %llu) is not the one its state "
				 "records (version %llu)",
				 dir, (unsigned long long)colb_bundle_version(b),
				 (unsigned long long)si.version);
		/* close the handle's bundle: reopen nothing, serve nothing */
		colb_bundle_set_anchor(b, NULL, 0, 0);
		char keep[512];
		snprintf(keep, sizeof keep, "%s", colb_bundle_error(b));
		(void)!colb_bundle_open_memory(b, NULL, 0);
		colb_bundle_fail(b, COLB_ERR_STORE, "%s", keep);
		return COLB_ERR_STORE;
	}
	return COLB_OK;
}

colb_err colb_bundle_open_store(colb_bundle *b, const char *store_dir)
{
	if (!b || !store_dir)
		return COLB_ERR_INVALID_ARG;
	colb_err rc = COLB_ERR_STORE;
	for (int attempt = 0; attempt < 3; attempt++) {
		bool retry;
		rc = open_once(b, store_dir, &retry);
		if (!retry)
			break;
	}
	return rc;
}
