/*
 * source.c — the bundle the quote provider library serves.
 *
 * The first call reads the configuration (COLBUNDLE_CONF, default
 * /etc/colbundle/colbundle.conf; COLBUNDLE_BUNDLE and COLBUNDLE_TRUST
 * override its bundle and trust keys), opens the bundle and verifies it once.
 * Every later call stat()s the bundle file: an install replaces it by an
 * atomic rename, so a new inode (or size or times) means a new bundle. The
 * thread that notices opens and verifies it while the others keep serving
 * the old one; then the current pointer is swapped. Sources are
 * reference-counted, so a call in flight finishes on the bundle it started
 * with: no call ever sees half of each.
 *
 * A new bundle that fails verification is refused and logged once; the
 * verified one stays in service (an install must never break a fleet's
 * attestation), and the refused file is not tried again until it changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/conf.h"
#include "qpl/qpl.h"
#include "util/util.h"

/* The reader's own caps bound what it accepts; this only stops a read of
 * something absurd before the reader sees it. */
#define QPL_MAX_BUNDLE ((size_t)(1ull << 30) + ((size_t)80 << 20))
#define QPL_MAX_KEYFILE ((size_t)1 << 20)

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;   /* current, refused */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;  /* one open at a time */
static qpl_source *current;

/* The last bundle file refused, with the configuration it was judged under. */
static struct {
	bool set;
	char path[PATH_MAX];
	qpl_ident id;
	qpl_fileid conf_id;
	quote3_error_t code;
	char msg[1024];
} refused;

/* ---- errors ------------------------------------------------------------------------ */

/* By the error enum's groups, so that a code appended to a group later is
 * mapped with its group (format-spec/quote-provider.md has the table). */
quote3_error_t qpl_map_err(colb_err e, quote3_error_t not_found)
{
	switch (e) {
	case COLB_OK:
		return SGX_QL_SUCCESS;
	case COLB_ERR_INVALID_ARG:
		return SGX_QL_ERROR_INVALID_PARAMETER;
	case COLB_ERR_NOMEM:
		return SGX_QL_ERROR_OUT_OF_MEMORY;
	case COLB_ERR_NOT_FOUND:
		return not_found;
	/* the site: configuration, keys, the store, the state file */
	case COLB_ERR_CONFIG:
	case COLB_ERR_KEY:
		return SGX_QL_CONFIG_INVALID_JSON;
	case COLB_ERR_IO:
	case COLB_ERR_STATE:
	case COLB_ERR_LOCKED:
	case COLB_ERR_STORE:
		return SGX_QL_SERVICE_UNAVAILABLE;
	/* refused by policy: the bundle's validity period, freshness, baselines */
	case COLB_ERR_EXPIRED:
	case COLB_ERR_NOT_YET_VALID:
	case COLB_ERR_STALE:
	case COLB_ERR_BELOW_MIN_EVAL:
	case COLB_ERR_BASELINE:
		return SGX_QL_UNABLE_TO_GET_COLLATERAL;
	case COLB_ERR_INTERNAL:
	case COLB_ERR_PASSWORD:
		return SGX_QL_ERROR_UNEXPECTED;
	default:
		break;
	}
	/* Refused for integrity or trust: the envelope (10-19), signatures and
	 * rotation (20-29, 73), manifest and payload (30-49), the collateral
	 * (50-69), and anything over a cap. */
	if (e == COLB_ERR_LIMIT || (e >= 10 && e < 70) || e == COLB_ERR_ROTATION)
		return SGX_QL_ROOT_CA_UNTRUSTED;
	return SGX_QL_ERROR_UNEXPECTED;
}

const char *qpl_err_name(quote3_error_t e)
{
	switch (e) {
	case SGX_QL_SUCCESS: return "SGX_QL_SUCCESS";
	case SGX_QL_ERROR_UNEXPECTED: return "SGX_QL_ERROR_UNEXPECTED";
	case SGX_QL_ERROR_INVALID_PARAMETER: return "SGX_QL_ERROR_INVALID_PARAMETER";
	case SGX_QL_ERROR_OUT_OF_MEMORY: return "SGX_QL_ERROR_OUT_OF_MEMORY";
	case SGX_QL_NO_PLATFORM_CERT_DATA: return "SGX_QL_NO_PLATFORM_CERT_DATA";
	case SGX_QL_NETWORK_ERROR: return "SGX_QL_NETWORK_ERROR";
	case SGX_QL_MESSAGE_ERROR: return "SGX_QL_MESSAGE_ERROR";
	case SGX_QL_NO_QUOTE_COLLATERAL_DATA: return "SGX_QL_NO_QUOTE_COLLATERAL_DATA";
	case SGX_QL_UNABLE_TO_GET_COLLATERAL: return "SGX_QL_UNABLE_TO_GET_COLLATERAL";
	case SGX_QL_NO_QVE_IDENTITY_DATA: return "SGX_QL_NO_QVE_IDENTITY_DATA";
	case SGX_QL_SERVICE_UNAVAILABLE: return "SGX_QL_SERVICE_UNAVAILABLE";
	case SGX_QL_ERROR_MESSAGE_PARSING_ERROR: return "SGX_QL_ERROR_MESSAGE_PARSING_ERROR";
	case SGX_QL_PLATFORM_UNKNOWN: return "SGX_QL_PLATFORM_UNKNOWN";
	case SGX_QL_CERTS_UNAVAILABLE: return "SGX_QL_CERTS_UNAVAILABLE";
	case SGX_QL_COLLATERAL_VERSION_NOT_SUPPORTED: return "SGX_QL_COLLATERAL_VERSION_NOT_SUPPORTED";
	case SGX_QL_QEIDENTITY_NOT_FOUND: return "SGX_QL_QEIDENTITY_NOT_FOUND";
	case SGX_QL_TCBINFO_NOT_FOUND: return "SGX_QL_TCBINFO_NOT_FOUND";
	case SGX_QL_ROOT_CA_UNTRUSTED: return "SGX_QL_ROOT_CA_UNTRUSTED";
	case SGX_QL_CONFIG_INVALID_JSON: return "SGX_QL_CONFIG_INVALID_JSON";
	}
	return "unknown";
}

/* ---- sources ------------------------------------------------------------------------- */

static void fileid_of(const struct stat *st, qpl_fileid *id)
{
	memset(id, 0, sizeof *id);
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

static bool fileid_eq(const qpl_fileid *a, const qpl_fileid *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static bool ident_eq(const qpl_ident *a, const qpl_ident *b)
{
	return fileid_eq(&a->file, &b->file) && !strcmp(a->gen, b->gen);
}

/* What is installed at path now: false when nothing can be seen there.
 * For a store, the `current` symlink is its commit point and an install
 * renames a new one over it (site-store.md): while lstat() sees the same
 * symlink as `known`, the generation is known's and is not read again. */
static bool ident_now(const char *path, bool store, const qpl_ident *known, qpl_ident *id)
{
	struct stat sb;
	memset(id, 0, sizeof *id);
	if (store) {
		char cur[PATH_MAX];
		if ((size_t)snprintf(cur, sizeof cur, "%s/current", path) >= sizeof cur || lstat(cur, &sb) != 0)
			return false;
		fileid_of(&sb, &id->file);
		if (known && fileid_eq(&id->file, &known->file)) {
			memcpy(id->gen, known->gen, sizeof id->gen);
			return true;
		}
		return colb_store_generation(path, id->gen, sizeof id->gen) == COLB_OK;
	}
	if (stat(path, &sb) != 0)
		return false;
	fileid_of(&sb, &id->file);
	return true;
}

static void source_free(qpl_source *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lookup_lock);
	colb_bundle_free(s->b);
	colb_opts_free(s->opts);
	colb_trust_free(s->trust);
	free(s->path);
	free(s);
}

void qpl_release(qpl_source *s)
{
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		source_free(s);
}

/* A new reference to the current source, or NULL. */
static qpl_source *take_current(void)
{
	pthread_mutex_lock(&cur_lock);
	qpl_source *s = current;
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&cur_lock);
	return s;
}

/* Makes n (which the caller holds one reference to) the current source. */
static void publish(qpl_source *n)
{
	atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
	pthread_mutex_lock(&cur_lock);
	qpl_source *old = current;
	current = n;
	refused.set = false;
	pthread_mutex_unlock(&cur_lock);
	qpl_release(old);
}

void qpl_drop(void)
{
	pthread_mutex_lock(&cur_lock);
	qpl_source *old = current;
	current = NULL;
	refused.set = false;
	pthread_mutex_unlock(&cur_lock);
	qpl_release(old);
}

static bool is_refused(const char *path, const qpl_ident *id, const qpl_fileid *conf_id, quote3_error_t *code,
		       char *msg, size_t msglen)
{
	pthread_mutex_lock(&cur_lock);
	bool r = refused.set && !strcmp(refused.path, path) && ident_eq(&refused.id, id) &&
		 (!conf_id || fileid_eq(&refused.conf_id, conf_id));
	if (r && code)
		*code = refused.code;
	if (r && msg)
		snprintf(msg, msglen, "%s", refused.msg);
	pthread_mutex_unlock(&cur_lock);
	return r;
}

static void remember_refusal(const char *path, const qpl_ident *id, const qpl_fileid *conf_id, quote3_error_t code,
			     const char *msg)
{
	pthread_mutex_lock(&cur_lock);
	refused.set = true;
	snprintf(refused.path, sizeof refused.path, "%s", path);
	refused.id = *id;
	refused.conf_id = *conf_id;
	refused.code = code;
	snprintf(refused.msg, sizeof refused.msg, "%s", msg);
	pthread_mutex_unlock(&cur_lock);
}

/* ---- opening ------------------------------------------------------------------------------ */

typedef struct settings {
	colb_conf conf;
	const char *conf_path;
	qpl_fileid conf_id;       /* zero when there is no configuration file */
	const char *bundle;       /* COLBUNDLE_BUNDLE or the configuration's */
	bool store;               /* bundle names a site store */
	const char *trust_env;    /* COLBUNDLE_TRUST: colon-separated .pub paths */
} settings;

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static quote3_error_t read_settings(settings *st, char *why, size_t whylen)
{
	colb_conf_init(&st->conf);
	memset(&st->conf_id, 0, sizeof st->conf_id);
	st->conf_path = env_nonempty("COLBUNDLE_CONF");
	if (!st->conf_path)
		st->conf_path = QPL_DEFAULT_CONF;
	const char *env_bundle = env_nonempty("COLBUNDLE_BUNDLE");
	st->trust_env = env_nonempty("COLBUNDLE_TRUST");
	struct stat sb;
	if (stat(st->conf_path, &sb) != 0 && errno == ENOENT && env_bundle && st->trust_env) {
		/* Both overrides given: the configuration file is optional. */
		qpl_log(SGX_QL_LOG_DEBUG, "no configuration file %s: using COLBUNDLE_BUNDLE and COLBUNDLE_TRUST",
			st->conf_path);
	} else {
		char e[768];
		if (colb_conf_load(st->conf_path, &st->conf, e, sizeof e) != COLB_OK) {
			snprintf(why, whylen, "%s (COLBUNDLE_CONF names the configuration file, default %s)", e,
				 QPL_DEFAULT_CONF);
			return SGX_QL_CONFIG_INVALID_JSON;
		}
		if (stat(st->conf_path, &sb) == 0)
			fileid_of(&sb, &st->conf_id);
	}
	qpl_log_set_conf_level(st->conf.log_level);
	st->bundle = env_bundle ? env_bundle : st->conf.bundle ? st->conf.bundle : st->conf.store;
	if (!st->bundle) {
		snprintf(why, whylen, "%s: no 'bundle' or 'store' key, and COLBUNDLE_BUNDLE is not set", st->conf_path);
		return SGX_QL_CONFIG_INVALID_JSON;
	}
	/* A store is a directory, whichever key or variable names it. */
	st->store = (st->bundle == st->conf.store && !st->conf.bundle) ||
		    (stat(st->bundle, &sb) == 0 && S_ISDIR(sb.st_mode));
	return SGX_QL_SUCCESS;
}

static quote3_error_t add_key(colb_trust *t, const char *path, const char *from, char *why, size_t whylen)
{
	char e[512];
	if (colb_trust_add_pubkey_file(t, path, e, sizeof e) != COLB_OK) {
		snprintf(why, whylen, "%s: trusted key %s: %s", from, path, e);
		return SGX_QL_CONFIG_INVALID_JSON;
	}
	return SGX_QL_SUCCESS;
}

static quote3_error_t make_trust(const settings *st, colb_trust **out, char *why, size_t whylen)
{
	colb_trust *t = colb_trust_new();
	if (!t)
		return SGX_QL_ERROR_OUT_OF_MEMORY;
	quote3_error_t rc = SGX_QL_SUCCESS;
	size_t nkeys = 0;
	if (st->trust_env) {
		char *list = strdup(st->trust_env), *save = NULL;
		if (!list)
			rc = SGX_QL_ERROR_OUT_OF_MEMORY;
		for (char *p = list ? strtok_r(list, ":", &save) : NULL; p && !rc; p = strtok_r(NULL, ":", &save), nkeys++)
			rc = add_key(t, p, "COLBUNDLE_TRUST", why, whylen);
		free(list);
	} else {
		for (size_t i = 0; i < st->conf.ntrust && !rc; i++, nkeys++)
			rc = add_key(t, st->conf.trust[i], st->conf_path, why, whylen);
	}
	/* A store brings the keyset its install verified; a bare file does not. */
	if (!rc && nkeys == 0 && !st->store) {
		snprintf(why, whylen, "%s: no trusted publisher key ('trust' key or COLBUNDLE_TRUST)", st->conf_path);
		rc = SGX_QL_CONFIG_INVALID_JSON;
	}
	if (!rc && st->conf.threshold && colb_trust_set_threshold(t, st->conf.threshold) != COLB_OK) {
		snprintf(why, whylen, "%s: threshold %u refused", st->conf_path, st->conf.threshold);
		rc = SGX_QL_CONFIG_INVALID_JSON;
	}
	for (size_t i = 0; i < st->conf.nintel_root && !rc; i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		char e[512];
		if (colb_read_file(st->conf.intel_root[i], QPL_MAX_KEYFILE, &der, &len, e, sizeof e) != COLB_OK ||
		    colb_trust_add_intel_root(t, der, len) != COLB_OK) {
			snprintf(why, whylen, "%s: intel_root %s: %s", st->conf_path, st->conf.intel_root[i],
				 der ? "not a DER certificate" : e);
			rc = SGX_QL_CONFIG_INVALID_JSON;
		}
		free(der);
	}
	if (rc) {
		colb_trust_free(t);
		return rc;
	}
	*out = t;
	return SGX_QL_SUCCESS;
}

static quote3_error_t make_opts(const settings *st, const colb_trust *t, colb_opts **out, char *why, size_t whylen)
{
	colb_opts *o = colb_opts_new();
	if (!o)
		return SGX_QL_ERROR_OUT_OF_MEMORY;
	colb_opts_set_trust(o, t);
	if (st->conf.state && colb_opts_set_state_file(o, st->conf.state) != COLB_OK) {
		snprintf(why, whylen, "%s: state file %s refused", st->conf_path, st->conf.state);
		colb_opts_free(o);
		return SGX_QL_CONFIG_INVALID_JSON;
	}
	if (st->conf.freshness >= 0)
		colb_opts_set_freshness(o, (colb_freshness)st->conf.freshness);
	if (st->conf.allow_expired == 1)
		colb_opts_set_allow_expired(o, 1);
	*out = o;
	return SGX_QL_SUCCESS;
}

/* Opens the bundle file: the identity recorded is that of the descriptor
 * read, so it names the bytes verified even if an install renames a new
 * file in meanwhile. */
static quote3_error_t open_bundle(const char *path, int *fdp, qpl_ident *id, char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "bundle %s: %s", path, strerror(errno));
		return SGX_QL_SERVICE_UNAVAILABLE;
	}
	struct stat sb;
	quote3_error_t rc = SGX_QL_SUCCESS;
	if (fstat(fd, &sb) != 0) {
		snprintf(why, whylen, "bundle %s: %s", path, strerror(errno));
		rc = SGX_QL_SERVICE_UNAVAILABLE;
	} else if (S_ISDIR(sb.st_mode)) {
		snprintf(why, whylen, "bundle %s is a directory: name the installed .colb file", path);
		rc = SGX_QL_CONFIG_INVALID_JSON;
	} else if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "bundle %s is not a regular file", path);
		rc = SGX_QL_SERVICE_UNAVAILABLE;
	} else if ((uint64_t)sb.st_size > QPL_MAX_BUNDLE) {
		snprintf(why, whylen, "bundle %s: %lld bytes is larger than any bundle the reader accepts", path,
			 (long long)sb.st_size);
		rc = SGX_QL_ROOT_CA_UNTRUSTED;
	}
	if (rc) {
		close(fd);
		return rc;
	}
	memset(id, 0, sizeof *id);
	fileid_of(&sb, &id->file);
	*fdp = fd;
	return SGX_QL_SUCCESS;
}

static quote3_error_t read_bundle(int fd, const char *path, size_t n, uint8_t **data, char *why, size_t whylen)
{
	size_t got = 0;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return SGX_QL_ERROR_OUT_OF_MEMORY;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, "bundle %s: %s", path, r < 0 ? strerror(errno) : "shorter than its size");
			free(buf);
			return SGX_QL_SERVICE_UNAVAILABLE;
		}
		got += (size_t)r;
	}
	*data = buf;
	return SGX_QL_SUCCESS;
}

/* Reads the configuration and opens and verifies the bundle it names. On
 * failure why says what failed; a bundle refused on its merits is
 * remembered (remember_refusal). */
static quote3_error_t open_source(qpl_source **out, char *why, size_t whylen)
{
	settings st;
	quote3_error_t rc = read_settings(&st, why, whylen);
	qpl_source *s = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int fd = -1;
	if (rc)
		goto done;
	if (!(s = calloc(1, sizeof *s))) {
		rc = SGX_QL_ERROR_OUT_OF_MEMORY;
		goto done;
	}
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lookup_lock, NULL);
	if (!(s->path = strdup(st.bundle))) {
		rc = SGX_QL_ERROR_OUT_OF_MEMORY;
		goto done;
	}
	/* The configuration is judged whole before any bundle is. */
	if ((rc = make_trust(&st, &s->trust, why, whylen)) || (rc = make_opts(&st, s->trust, &s->opts, why, whylen)))
		goto done;
	if (!(s->b = colb_bundle_new(s->opts))) {
		rc = SGX_QL_ERROR_OUT_OF_MEMORY;
		goto done;
	}
	colb_err e;
	s->store = st.store;
	if (st.store) {
		/* The generation is read first: if an install switches it while the
		 * store is opened, the next call notices and opens again. */
		if (!ident_now(s->path, true, NULL, &s->id)) {
			snprintf(why, whylen, "store %s: no bundle is installed, or the store is unreadable", s->path);
			rc = SGX_QL_SERVICE_UNAVAILABLE;
			goto done;
		}
		if (is_refused(s->path, &s->id, &st.conf_id, &rc, why, whylen))
			goto done;
		e = colb_bundle_open_store(s->b, s->path);
	} else {
		if ((rc = open_bundle(s->path, &fd, &s->id, why, whylen)))
			goto done;
		/* A file already refused under this configuration is not read again. */
		if (is_refused(s->path, &s->id, &st.conf_id, &rc, why, whylen))
			goto done;
		len = (size_t)s->id.file.size;
		if ((rc = read_bundle(fd, s->path, len, &data, why, whylen)))
			goto done;
		e = colb_bundle_open_memory(s->b, data, len);
	}
	if (!e && st.conf.baseline)
		e = colb_intel_set_baseline(s->b, st.conf.baseline);
	if (e) {
		rc = qpl_map_err(e, SGX_QL_SERVICE_UNAVAILABLE);
		snprintf(why, whylen, "%s %s refused: %s (%s)", s->store ? "the bundle of store" : "bundle", s->path,
			 colb_bundle_error(s->b), colb_strerror(e));
		remember_refusal(s->path, &s->id, &st.conf_id, rc, why);
		goto done;
	}
	s->version = colb_bundle_version(s->b);
	time_t expires = colb_bundle_expires(s->b);
	if (st.conf.allow_expired == 1 && expires <= time(NULL))
		qpl_log(SGX_QL_LOG_ERROR, "bundle %s (version %llu) is expired and served because allow_expired = yes",
			s->path, (unsigned long long)s->version);
	qpl_log(SGX_QL_LOG_INFO, "serving bundle %s%s%s: version %llu from %s, %zu file(s), baseline %s", s->path,
		s->store ? " generation " : "", s->id.gen, (unsigned long long)s->version, colb_bundle_publisher(s->b),
		colb_bundle_file_count(s->b), st.conf.baseline ? st.conf.baseline : "of the bundle");
done:
	if (fd >= 0)
		close(fd);
	free(data);
	colb_conf_free(&st.conf);
	if (rc) {
		source_free(s);
		return rc;
	}
	*out = s;
	return SGX_QL_SUCCESS;
}

quote3_error_t qpl_acquire(qpl_source **out)
{
	char why[1024];
	qpl_source *s = take_current(), *n = NULL;
	*out = NULL;
	if (s) {
		qpl_ident now;
		/* Unchanged, or gone (nothing to switch to): keep the verified one. */
		if (!ident_now(s->path, s->store, &s->id, &now))
			return *out = s, SGX_QL_SUCCESS;
		if (ident_eq(&now, &s->id) || is_refused(s->path, &now, NULL, NULL, NULL, 0))
			return *out = s, SGX_QL_SUCCESS;
		/* Another thread is opening the new one: serve this one meanwhile. */
		if (pthread_mutex_trylock(&load_lock) != 0)
			return *out = s, SGX_QL_SUCCESS;
		quote3_error_t rc = open_source(&n, why, sizeof why);
		if (rc == SGX_QL_SUCCESS) {
			publish(n);
			pthread_mutex_unlock(&load_lock);
			qpl_log(SGX_QL_LOG_INFO, "switched from bundle version %llu to version %llu",
				(unsigned long long)s->version, (unsigned long long)n->version);
			qpl_release(s);
			*out = n;
			return SGX_QL_SUCCESS;
		}
		/* Judged once: the refusal is remembered (by open_source) until the
		 * file changes again. A file that could not even be read is not. */
		if (!is_refused(s->path, &now, NULL, NULL, NULL, 0))
			remember_refusal(s->path, &now, &(qpl_fileid){0}, rc, why);
		pthread_mutex_unlock(&load_lock);
		qpl_log(SGX_QL_LOG_ERROR, "a new bundle at %s is refused (%s); still serving version %llu: %s", s->path,
			qpl_err_name(rc), (unsigned long long)s->version, why);
		*out = s;
		return SGX_QL_SUCCESS;
	}
	pthread_mutex_lock(&load_lock);
	if ((s = take_current()) != NULL) {
		pthread_mutex_unlock(&load_lock);
		*out = s;
		return SGX_QL_SUCCESS;
	}
	quote3_error_t rc = open_source(&n, why, sizeof why);
	if (rc == SGX_QL_SUCCESS)
		publish(n);
	pthread_mutex_unlock(&load_lock);
	if (rc) {
		qpl_log(SGX_QL_LOG_ERROR, "%s: %s", qpl_err_name(rc), why);
		return rc;
	}
	*out = n;
	return SGX_QL_SUCCESS;
}
