/*
 * install.c — colb_store_install: verify a bundle fully, then switch the
 * store to it with one rename (format-spec/site-store.md, section 4).
 *
 * Everything of the new generation is written, fsync'd and named before the
 * `current` symlink is replaced; nothing a reader can reach is ever written
 * in place. A failure before the switch leaves the store as it was (and the
 * leftovers are swept by the next install).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/internal.h"
#include "site/site.h"

/* The bundle file cap: what the core reader accepts. */
#define BUNDLE_MAX ((size_t)(64u << 20) + (2u + 72u * 64u) + (1ull << 30) + (1u << 20))

/* The test hook: COLBUNDLE_TEST_CRASH_AT=<step> kills the install right
 * after that step (format-spec/site-store.md, section 6). Inert unless set. */
static void step_done(const char *step)
{
	const char *at = getenv("COLBUNDLE_TEST_CRASH_AT");
	if (at && !strcmp(at, step))
		raise(SIGKILL);
}

static colb_err sys_fail(char *errbuf, size_t errlen, const char *what, const char *name)
{
	int e = errno;
	return colb_seterr(errbuf, errlen, COLB_ERR_STORE, "store: %s %s: %s", what, name, strerror(e));
}

static colb_err fsync_dir_at(int dfd, const char *name, char *errbuf, size_t errlen)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		colb_err rc = sys_fail(errbuf, errlen, "fsync", name);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	close(fd);
	return COLB_OK;
}

/* Creates name in dfd exclusively, read-only, and fills it from the
 * chunks; fsync'd before it is closed. */
typedef struct chunk {
	const void *data;
	size_t len;
} chunk;

static colb_err write_new(int dfd, const char *name, const chunk *c, size_t n, char *errbuf,
			  size_t errlen)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return sys_fail(errbuf, errlen, "create", name);
	/* readable by every reader whatever the installer's umask: the quote
	 * provider library runs inside other users' processes */
	if (fchmod(fd, 0444) != 0) {
		colb_err rc = sys_fail(errbuf, errlen, "chmod", name);
		close(fd);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = c[i].data;
		size_t left = c[i].len;
		while (left) {
			ssize_t w = write(fd, p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				colb_err rc = sys_fail(errbuf, errlen, "write", name);
				close(fd);
				return rc;
			}
			p += w;
			left -= (size_t)w;
		}
	}
	if (fsync(fd) != 0) {
		colb_err rc = sys_fail(errbuf, errlen, "fsync", name);
		close(fd);
		return rc;
	}
	close(fd);
	return COLB_OK;
}

/* Replaces the symlink `name` in dfd by one to target: a new link under a
 * temporary name, renamed over it. */
static colb_err switch_link(int dfd, const char *name, const char *target, char *errbuf, size_t errlen)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%s.new", name);
	unlinkat(dfd, tmp, 0);
	if (symlinkat(target, dfd, tmp) != 0)
		return sys_fail(errbuf, errlen, "symlink", tmp);
	if (renameat(dfd, tmp, dfd, name) != 0)
		return sys_fail(errbuf, errlen, "rename", name);
	return COLB_OK;
}

/* rm -r of a directory's entries, then the directory (one level of
 * subdirectories: generations hold files only). */
static void remove_tree_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		unlinkat(dfd, name, 0);
		return;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(fd, e->d_name, 0);
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Removes every generation but keep1/keep2, and everything in tmp/. */
static void sweep(int sfd, const char *keep1, const char *keep2)
{
	const char *dirs[] = {"g", "tmp"};
	for (int k = 0; k < 2; k++) {
		int fd = openat(sfd, dirs[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			continue;
		}
		/* collect first: removing while reading a directory may skip entries */
		char **names = NULL;
		size_t n = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (k == 0 && ((keep1 && !strcmp(e->d_name, keep1)) || (keep2 && !strcmp(e->d_name, keep2))))
				continue;
			char **nn = realloc(names, (n + 1) * sizeof *nn);
			if (!nn)
				break;
			names = nn;
			if (!(names[n] = strdup(e->d_name)))
				break;
			n++;
		}
		for (size_t i = 0; i < n; i++) {
			remove_tree_at(dirfd(d), names[i]);
			free(names[i]);
		}
		free(names);
		closedir(d);
	}
}

static colb_err ensure_dir_at(int dfd, const char *name, char *errbuf, size_t errlen)
{
	if (mkdirat(dfd, name, 0755) == 0)
		(void)fchmodat(dfd, name, 0755, 0); /* whatever the umask, as write_new */
	else if (errno != EEXIST)
		return sys_fail(errbuf, errlen, "mkdir", name);
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
		return colb_seterr(errbuf, errlen, COLB_ERR_STORE, "store: %s is not a directory", name);
	return COLB_OK;
}

/* The convenience links of the layout; made once, they follow `current`. */
static void ensure_link_at(int dfd, const char *name, const char *target)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		(void)!symlinkat(target, dfd, name);
}

static colb_err verify_bundle(colb_bundle *b, const uint8_t *data, size_t len, char *errbuf,
			      size_t errlen)
{
	colb_err rc = colb_bundle_open_memory(b, data, len);
	if (!rc)
		rc = colb_bundle_verify_files(b);
	if (!rc)
		rc = colb_intel_verify_all(b);
	if (!rc)
		rc = colb_amd_verify_all(b);
	if (rc)
		return colb_seterr(errbuf, errlen, rc, "%s", colb_bundle_error(b));
	return COLB_OK;
}

/* Writes the new generation into tmp/ and names it g/<gen>. */
static colb_err write_generation(int sfd, colb_bundle *b, const uint8_t *data, size_t len,
				 const colb_site_info *si, const char *gen, char *errbuf, size_t errlen)
{
	char tmpname[COLB_STORE_GEN_MAX + 32];
	colb_err rc;
	snprintf(tmpname, sizeof tmpname, "tmp/%s.%ld", gen, (long)getpid());
	remove_tree_at(sfd, tmpname);
	if (mkdirat(sfd, tmpname, 0755) != 0 || fchmodat(sfd, tmpname, 0755, 0) != 0)
		return sys_fail(errbuf, errlen, "mkdir", tmpname);
	int tfd = openat(sfd, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return sys_fail(errbuf, errlen, "open", tmpname);

	chunk whole = {data, len};
	if ((rc = write_new(tfd, "bundle.colb", &whole, 1, errbuf, errlen)))
		goto out;
	step_done("bundle-written");

	size_t n = colb_bundle_file_count(b);
	chunk *files = calloc(n ? n : 1, sizeof *files);
	if (!files) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "store: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		const uint8_t *d;
		size_t l;
		if ((rc = colb_bundle_read_at(b, i, &d, &l)))
			colb_seterr(errbuf, errlen, rc, "%s", colb_bundle_error(b));
		files[i].data = d;
		files[i].len = l;
	}
	if (!rc)
		rc = write_new(tfd, "files.bin", files, n, errbuf, errlen);
	free(files);
	if (rc)
		goto out;
	step_done("cache-written");

	char state[160];
	int sl = snprintf(state, sizeof state, "{\"version\":\"%llu\",\"digest\":\"%s\"}\n",
			  (unsigned long long)si->version, si->digest);
	colb_buf site;
	colb_buf_init(&site, COLB_SITE_JSON_MAX);
	if ((rc = colb_site_emit(si, &site))) {
		colb_buf_free(&site);
		colb_seterr(errbuf, errlen, rc, "store: site.json: %s", colb_strerror(rc));
		goto out;
	}
	chunk sc = {state, (size_t)sl}, jc = {site.data, site.len};
	if (!(rc = write_new(tfd, "state.json", &sc, 1, errbuf, errlen)))
		rc = write_new(tfd, "site.json", &jc, 1, errbuf, errlen);
	colb_buf_free(&site);
	if (rc || (rc = fsync_dir_at(sfd, tmpname, errbuf, errlen)))
		goto out;
	step_done("state-written");

	/* A generation of this name left by an install that crashed after
	 * naming it but before switching holds the same bundle; replace it
	 * anyway rather than trust what a crash left. */
	char final[COLB_STORE_GEN_MAX + 4];
	snprintf(final, sizeof final, "g/%s", gen);
	remove_tree_at(sfd, final);
	if (renameat(sfd, tmpname, sfd, final) != 0) {
		rc = sys_fail(errbuf, errlen, "rename", final);
		goto out;
	}
	if ((rc = fsync_dir_at(sfd, "g", errbuf, errlen)))
		goto out;
	step_done("generation-ready");
out:
	close(tfd);
	if (rc)
		remove_tree_at(sfd, tmpname);
	return rc;
}

/* The chain the new generation records: the store's, then what this
 * bundle's envelope added; the oldest statements give way past the cap. */
static colb_err record_chain(const colb_site_info *cur, colb_bundle *b, colb_site_info *si)
{
	size_t alen, acount;
	const uint8_t *applied = colb_bundle_applied_chain(b, &alen, &acount);
	const uint8_t *old = cur->chain ? cur->chain + 2 : NULL;
	size_t olen = cur->chain ? cur->chain_len - 2 : 0;
	size_t ocount = cur->chain ? (size_t)(cur->chain[0] | cur->chain[1] << 8) : 0;
	while (ocount && ocount + acount > COLB_ROT_MAX_CHAIN) {
		uint32_t sl = (uint32_t)old[0] | (uint32_t)old[1] << 8 | (uint32_t)old[2] << 16 |
			      (uint32_t)old[3] << 24;
		old += 4 + sl;
		olen -= 4 + sl;
		ocount--;
	}
	colb_buf entries, sec;
	colb_buf_init(&entries, 0);
	colb_buf_init(&sec, 0);
	colb_err rc = COLB_OK;
	if ((olen && (rc = colb_buf_append(&entries, old, olen))) ||
	    (alen && (rc = colb_buf_append(&entries, applied, alen))) ||
	    (rc = colb_rot_section_build(entries.data, entries.len, ocount + acount, &sec))) {
		colb_buf_free(&entries);
		colb_buf_free(&sec);
		return rc;
	}
	colb_buf_free(&entries);
	si->chain = sec.len ? colb_buf_steal(&sec, &si->chain_len) : NULL;
	colb_buf_free(&sec);
	return COLB_OK;
}

colb_err colb_store_install(const char *store_dir, const char *bundle_path, const colb_opts *o,
			    unsigned flags, colb_install_result *res, char *errbuf, size_t errlen)
{
	colb_install_result scratch;
	if (!res)
		res = &scratch;
	memset(res, 0, sizeof *res);
	if (!store_dir || !bundle_path)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "install: no store or bundle");
	struct stat sst;
	bool fresh = stat(store_dir, &sst) != 0;
	if (colb_mkdirs(store_dir, 0755) != COLB_OK)
		return colb_seterr(errbuf, errlen, COLB_ERR_STORE, "store %s: cannot create it", store_dir);
	int sfd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return sys_fail(errbuf, errlen, "open", store_dir);
	if (fresh)
		(void)fchmod(sfd, 0755);
	int lfd = openat(sfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0) {
		colb_err rc = sys_fail(errbuf, errlen, "open", "lock");
		close(sfd);
		return rc;
	}
	int lr;
	while ((lr = flock(lfd, LOCK_EX | (flags & COLB_INSTALL_WAIT ? 0 : LOCK_NB))) != 0 && errno == EINTR)
		;
	if (lr != 0) {
		colb_err rc = errno == EWOULDBLOCK
				      ? colb_seterr(errbuf, errlen, COLB_ERR_LOCKED,
						    "store %s: another install holds the lock", store_dir)
				      : sys_fail(errbuf, errlen, "flock", "lock");
		close(lfd);
		close(sfd);
		return rc;
	}
	step_done("locked");

	colb_err rc;
	uint8_t *data = NULL;
	size_t len = 0;
	colb_bundle *b = NULL;
	colb_site_info cur, si;
	char cur_gen[COLB_STORE_GEN_MAX] = "", gen[COLB_STORE_GEN_MAX], why[512];
	bool have_cur = false;
	memset(&cur, 0, sizeof cur);
	memset(&si, 0, sizeof si);

	if ((rc = ensure_dir_at(sfd, "g", errbuf, errlen)) || (rc = ensure_dir_at(sfd, "tmp", errbuf, errlen)))
		goto out;
	ensure_link_at(sfd, "current.colb", "current/bundle.colb");
	ensure_link_at(sfd, "state.json", "current/state.json");

	rc = colb_site_current(sfd, cur_gen, why, sizeof why);
	if (rc == COLB_OK) {
		char path[COLB_STORE_GEN_MAX + 4];
		snprintf(path, sizeof path, "g/%s", cur_gen);
		int gfd = openat(sfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (gfd < 0) {
			rc = sys_fail(errbuf, errlen, "open", path);
			goto out;
		}
		rc = colb_site_read_gen(gfd, &cur, why, sizeof why);
		close(gfd);
		if (rc) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_STORE,
					 "store %s: the current generation is unreadable: %s", store_dir, why);
			goto out;
		}
		have_cur = true;
	} else if (rc != COLB_ERR_NOT_FOUND) {
		colb_seterr(errbuf, errlen, rc, "store %s: %s", store_dir, why);
		goto out;
	}

	if ((rc = colb_read_file(bundle_path, BUNDLE_MAX, &data, &len, why, sizeof why))) {
		colb_seterr(errbuf, errlen, rc == COLB_ERR_LIMIT ? COLB_ERR_OVERSIZED : rc, "%s", why);
		goto out;
	}
	if (!(b = colb_bundle_new(o))) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "install: out of memory");
		goto out;
	}
	/* Trust: the caller's keys, else the keyset this store recorded; the
	 * recorded keyset's version is a floor. */
	if (colb_trust_key_count(colb_opts_trust(o)) == 0) {
		if (!have_cur) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_UNTRUSTED_KEY,
					 "store %s has no bundle yet: the first install needs trusted keys",
					 store_dir);
			goto out;
		}
		colb_bundle_set_anchor(b, colb_site_trust(&cur), cur.keyset_version, cur.keyset_version);
	} else {
		colb_bundle_set_anchor(b, NULL, 0, have_cur ? cur.keyset_version : 0);
	}
	if (have_cur && colb_bundle_set_chain(b, cur.chain, cur.chain_len) != COLB_OK) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "install: out of memory");
		goto out;
	}
	if ((rc = verify_bundle(b, data, len, errbuf, errlen)))
		goto out;

	/* Anti-rollback against the current generation's state. */
	uint64_t v = colb_bundle_version(b);
	const char *digest = colb_bundle_digest(b);
	if (have_cur && v < cur.version) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_ROLLBACK,
				 "rollback: bundle version %llu is lower than the installed %llu",
				 (unsigned long long)v, (unsigned long long)cur.version);
		goto out;
	}
	if (have_cur && v == cur.version && strcmp(digest, cur.digest) != 0) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_ROLLBACK,
				 "rollback: bundle version %llu is the installed version but a different "
				 "bundle (digest %.16s..., installed %.16s...)",
				 (unsigned long long)v, digest, cur.digest);
		goto out;
	}
	time_t at = colb_opts_time(o) ? colb_opts_time(o) : time(NULL);
	res->version = v;
	res->keyset_version = colb_bundle_keyset_version(b);
	res->expired = at >= colb_bundle_expires(b);
	step_done("verified");
	if (have_cur && v == cur.version) {
		/* Already current (maybe by an install that died after switching):
		 * only sweep what such an install may have left. */
		res->unchanged = 1;
		snprintf(res->generation, sizeof res->generation, "%s", cur_gen);
		char prev[COLB_STORE_GEN_MAX + 8] = "";
		ssize_t pl = readlinkat(sfd, "previous", prev, sizeof prev - 1);
		prev[pl > 2 ? pl : 0] = 0;
		sweep(sfd, cur_gen, pl > 2 && !strncmp(prev, "g/", 2) ? prev + 2 : NULL);
		goto out;
	}

	si.version = v;
	if ((rc = record_chain(&cur, b, &si))) {
		colb_seterr(errbuf, errlen, rc, "install: the rotation chain: %s", colb_strerror(rc));
		goto out;
	}
	memcpy(si.digest, digest, 65);
	size_t mlen;
	const char *mj = colb_bundle_manifest_json(b, &mlen);
	colb_sha256_hex(mj, mlen, si.manifest_sha256);
	for (size_t i = 0; i < colb_bundle_file_count(b); i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(b, i, &fi) == COLB_OK)
			si.files_size += fi.size;
	}
	const colb_trust *ks = colb_bundle_keyset(b);
	si.keyset_version = colb_bundle_keyset_version(b);
	si.threshold = colb_trust_threshold(ks);
	si.nkeys = colb_trust_key_count(ks);
	for (size_t i = 0; i < si.nkeys && i < COLB_ROT_MAX_KEYS; i++)
		memcpy(si.keys[i], colb_trust_key(ks, i), 32);
	si.installed = at;
	si.allow_expired = res->expired != 0;
	colb_site_gen_name(v, digest, gen);

	if ((rc = write_generation(sfd, b, data, len, &si, gen, errbuf, errlen)))
		goto out;
	char target[COLB_STORE_GEN_MAX + 4];
	if (have_cur) {
		snprintf(target, sizeof target, "g/%s", cur_gen);
		if ((rc = switch_link(sfd, "previous", target, errbuf, errlen)))
			goto out;
		snprintf(res->previous, sizeof res->previous, "%s", cur_gen);
	}
	step_done("previous-switched");
	snprintf(target, sizeof target, "g/%s", gen);
	if ((rc = switch_link(sfd, "current", target, errbuf, errlen)))
		goto out;
	if (fsync(sfd) != 0) {
		rc = sys_fail(errbuf, errlen, "fsync", store_dir);
		goto out;
	}
	snprintf(res->generation, sizeof res->generation, "%s", gen);
	step_done("current-switched");
	sweep(sfd, gen, have_cur ? cur_gen : NULL);
	step_done("cleaned");
out:
	colb_site_info_free(&cur);
	colb_site_info_free(&si);
	colb_bundle_free(b);
	free(data);
	flock(lfd, LOCK_UN);
	close(lfd);
	close(sfd);
	return rc;
}
