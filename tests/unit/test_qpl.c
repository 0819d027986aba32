/*
 * test_qpl.c — libdcap_quoteprov.so.1 as Intel's QVL uses it.
 *
 * The library is installed into a scratch prefix (`make install DESTDIR=..
 * PREFIX=/usr`), this program re-executes itself with LD_LIBRARY_PATH on
 * that prefix and dlopen()s "libdcap_quoteprov.so.1" by name, resolves every
 * function with dlsym and calls each with good and bad arguments. What comes
 * back is checked independently of libcolbundle: byte for byte against the
 * synthetic PKI's raw PCS answers (and `colbundle cat`), and with OpenSSL
 * (TCB info and identity signatures over the raw inner bytes, chains to the
 * test root, CRL signatures).
 *
 *   test_qpl              the suite (prepares the fixture, re-executes)
 *   test_qpl --prepare    only the fixture (for tests/sh/test_qpl_valgrind.sh)
 *
 * QPL_TEST_CALLS sets the calls per thread of the concurrency test (10000).
 */
#include "support.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "qpl/sgx_ql_types.h"

#define FIXTURE_MAX_AGE (6 * 3600) /* the synthetic PKI's TCB infos live 30 days */
#define NTHREADS 8

/* ---- the library, as a QVL sees it ------------------------------------------------ */

#define QPL_FUNCS(X)                                                                                     \
	X(sgx_ql_get_quote_config) X(sgx_ql_free_quote_config) X(sgx_ql_get_quote_verification_collateral) \
	X(sgx_ql_get_quote_verification_collateral_with_params) X(sgx_ql_free_quote_verification_collateral) \
	X(tdx_ql_get_quote_verification_collateral) X(tdx_ql_get_quote_verification_collateral_with_params) \
	X(tdx_ql_free_quote_verification_collateral) X(sgx_ql_get_qve_identity) X(sgx_ql_free_qve_identity) \
	X(sgx_ql_get_root_ca_crl) X(sgx_ql_free_root_ca_crl) X(sgx_ql_set_logging_callback)                \
	X(sgx_ql_set_logging_function) X(sgx_qpl_clear_cache) X(sgx_qpl_global_init) X(sgx_qpl_global_cleanup)

static struct {
#define X(f) __typeof__(f) *f;
	QPL_FUNCS(X)
#undef X
} q;

static const char *const abi_names[] = {
#define X(f) #f,
	QPL_FUNCS(X)
#undef X
};

/* ---- the fixture ------------------------------------------------------------------- */

static struct {
	char dir[PATH_MAX];        /* $B/qpl-fixture: kept between runs */
	char pki[PATH_MAX];        /* colb-pkigen output */
	char pki_old[PATH_MAX];    /* the same 40 days ago: its collateral is stale */
	char libdir[PATH_MAX];     /* the install prefix's library directory */
	char work[PATH_MAX];       /* this run's bundles and configuration */
	char key[PATH_MAX];        /* the publisher key (NAME.key / NAME.pub) */
	char installed[PATH_MAX];  /* the path the configuration names */
	char bundle_a[PATH_MAX];   /* baseline standard, version 100 */
	char bundle_b[PATH_MAX];   /* baseline early, version 200 */
	char conf[PATH_MAX];
	char store[PATH_MAX];      /* a site store (format-spec/site-store.md) */
	char store_conf[PATH_MAX];
	void *lib;
	char fmspc_hex[13];        /* an SGX FMSPC of the fleet */
	uint8_t fmspc[6];
	unsigned standard, early;  /* evaluation numbers of tcb-sets.json */
} fx;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("not ok 1 - test_qpl fixture: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

/* snprintf that refuses to truncate a path (a long $TMPDIR must not make a
 * test read the wrong file). */
static void xsnprintf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void xsnprintf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(dst, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		die("a path does not fit in %zu bytes: %.60s...", n, dst);
}

static void fixture_paths(void)
{
	xsnprintf(fx.dir, sizeof fx.dir, "%s/qpl-fixture", t_build_dir());
	xsnprintf(fx.pki, sizeof fx.pki, "%s/pki", fx.dir);
	xsnprintf(fx.pki_old, sizeof fx.pki_old, "%s/pki-old", fx.dir);
	xsnprintf(fx.libdir, sizeof fx.libdir, "%s/root/usr/lib", fx.dir);
}

/* The synthetic PKI, generated at the current time minus age_days
 * (collateral has lifetimes: 30 days for TCB infos), reused for a few hours
 * because generating takes a while. */
static void prepare_pki(const char *out, int age_days)
{
	char stamp[PATH_MAX + 16], pkigen[PATH_MAX];
	xsnprintf(stamp, sizeof stamp, "%s/.stamp", out);
	xsnprintf(pkigen, sizeof pkigen, "%s/colb-pkigen", t_build_dir());
	struct stat st, sg;
	if (stat(pkigen, &sg) != 0)
		die("%s is not built", pkigen);
	if (stat(stamp, &st) == 0 && time(NULL) - st.st_mtime < FIXTURE_MAX_AGE && st.st_mtime >= sg.st_mtime)
		return;
	time_t now = time(NULL) - (time_t)age_days * 86400;
	now -= now % 3600;
	char iso[32];
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (t_sh("rm -rf '%s' && mkdir -p '%s' && '%s' --out '%s' --intel 4 --amd 0 --now %s >/dev/null",
		 out, fx.dir, pkigen, out, iso) != 0)
		die("colb-pkigen failed");
	if (t_sh("touch '%s'", stamp) != 0)
		die("cannot write %s", stamp);
}

/* `make install DESTDIR=.. PREFIX=/usr` when the build is up to date (so it
 * only copies); otherwise the two library names are copied as it would. */
static void install_library(void)
{
	const char *b = getenv("B") ? getenv("B") : "build";
	if (t_sh("rm -rf '%s/root'", fx.dir) != 0)
		die("cannot clean %s/root", fx.dir);
	const char *mk = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory";
	if (t_sh("%s -q -C '%s' B='%s' all >/dev/null 2>&1", mk, t_top_dir(), b) == 0) {
		if (t_sh("%s -C '%s' B='%s' install DESTDIR='%s/root' PREFIX=/usr >/dev/null", mk, t_top_dir(), b,
			     fx.dir) != 0)
			die("make install DESTDIR=%s/root PREFIX=/usr failed", fx.dir);
	} else {
		printf("# the build is not up to date: copying both library names instead of make install\n");
		if (t_sh("mkdir -p '%s' && cp '%s/libdcap_quoteprov.so.1' '%s/' && "
			     "ln -sf libdcap_quoteprov.so.1 '%s/libdcap_quoteprov.so'",
			     fx.libdir, t_build_dir(), fx.libdir, fx.libdir) != 0)
			die("cannot copy the library into %s", fx.libdir);
	}
}

/* ---- small independent helpers ----------------------------------------------------- */

static char *read_text(const char *path, size_t *len)
{
	return (char *)t_read(path, len);
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Percent-decoding, as the PCS issuer-chain headers need. */
static char *pct_decode(const char *v)
{
	char *out = malloc(strlen(v) + 1);
	assert_non_null(out);
	size_t o = 0;
	for (size_t i = 0; v[i] && v[i] != '\r'; i++) {
		if (v[i] == '%' && isxdigit((unsigned char)v[i + 1]) && isxdigit((unsigned char)v[i + 2])) {
			out[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
			i += 2;
		} else {
			out[o++] = v[i];
		}
	}
	out[o] = 0;
	return out;
}

static char *b64(const char *text)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(text);
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
	assert_non_null(out);
	const uint8_t *in = (const uint8_t *)text;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		*o++ = al[v >> 18 & 63];
		*o++ = al[v >> 12 & 63];
		*o++ = i + 1 < n ? al[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? al[v & 63] : '=';
	}
	*o = 0;
	return out;
}

/* The value of one header of a NAME.hdr file, percent-decoded. */
static char *hdr_chain(const char *hdr_path, const char *name)
{
	char *text = read_text(hdr_path, NULL);
	size_t nl = strlen(name);
	char *out = NULL;
	for (char *line = text; line && *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = 0;
		if (!strncasecmp(line, name, nl) && line[nl] == ':') {
			char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			out = pct_decode(v);
			break;
		}
		line = end ? end + 1 : NULL;
	}
	free(text);
	if (!out)
		fail_msg("%s has no %s header", hdr_path, name);
	return out;
}

static const char *pki(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *pki(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int i;
	char rel[PATH_MAX - 512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	char *p = bufs[i++ & 7];
	xsnprintf(p, PATH_MAX, "%s/intel/%s", fx.pki, rel);
	return p;
}

static X509 *load_der_cert(const char *path)
{
	size_t len;
	uint8_t *der = t_read(path, &len);
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	free(der);
	assert_non_null(x);
	return x;
}

static STACK_OF(X509) *pem_chain(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	BIO_free(bio);
	if (sk_X509_num(sk) == 0)
		fail_msg("no certificate in a PEM chain of %zu bytes", len);
	return sk;
}

/* The chain (leaf first) verifies up to the test Intel root at the wall clock. */
static void assert_chain_to_test_root(const char *pem, size_t len, const char *what)
{
	STACK_OF(X509) *sk = pem_chain(pem, len);
	X509 *root = load_der_cert(t_path(fx.pki, "roots/intel-root.der"));
	X509_STORE *store = X509_STORE_new();
	X509_STORE_add_cert(store, root);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, sk_X509_value(sk, 0), sk);
	int ok = X509_verify_cert(ctx);
	if (ok != 1)
		fail_msg("%s: chain does not verify to the test root: %s", what,
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	/* The chain ends at the root itself, as PCS sends it. */
	assert_int_equal(X509_cmp(sk_X509_value(sk, sk_X509_num(sk) - 1), root), 0);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(root);
	sk_X509_pop_free(sk, X509_free);
}

static void assert_crl_signed_by(const uint8_t *der, size_t len, X509 *issuer, const char *what)
{
	const uint8_t *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (!crl || p != der + len)
		fail_msg("%s: not exactly one DER CRL", what);
	if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
		fail_msg("%s: CRL signature does not verify", what);
	X509_CRL_free(crl);
}

/* {"<wrapper>":{...},"signature":"<128 hex>"}: the ECDSA P-256 signature
 * (raw r||s) over the exact bytes of the inner object, by the first cert of
 * the chain. Found by brace matching, never by re-serialising. */
static void assert_signed_json(const char *body, size_t len, const char *wrapper, const char *chain_pem,
			       size_t chain_len)
{
	char key[64];
	xsnprintf(key, sizeof key, "\"%s\":", wrapper);
	const char *start = strstr(body, key);
	assert_non_null(start);
	start += strlen(key);
	while (*start == ' ')
		start++;
	assert_int_equal(*start, '{');
	int depth = 0;
	bool in_str = false;
	const char *end = start;
	for (; end < body + len; end++) {
		if (in_str) {
			if (*end == '\\')
				end++;
			else if (*end == '"')
				in_str = false;
		} else if (*end == '"') {
			in_str = true;
		} else if (*end == '{') {
			depth++;
		} else if (*end == '}' && --depth == 0) {
			break;
		}
	}
	assert_true(end < body + len);
	size_t inner_len = (size_t)(end - start) + 1;
	const char *sig = strstr(body, "\"signature\":\"");
	assert_non_null(sig);
	sig += strlen("\"signature\":\"");
	uint8_t rs[64];
	for (int i = 0; i < 64; i++) {
		assert_true(isxdigit((unsigned char)sig[2 * i]) && isxdigit((unsigned char)sig[2 * i + 1]));
		rs[i] = (uint8_t)(hexval(sig[2 * i]) * 16 + hexval(sig[2 * i + 1]));
	}
	ECDSA_SIG *es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
	uint8_t *dersig = NULL;
	int dlen = i2d_ECDSA_SIG(es, &dersig);
	STACK_OF(X509) *sk = pem_chain(chain_pem, chain_len);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(sk_X509_value(sk, 0))) == 1 &&
		 EVP_DigestVerify(md, (const uint8_t *)dersig, (size_t)dlen, (const uint8_t *)start, inner_len) == 1;
	if (!ok)
		fail_msg("%s: signature over the %zu inner bytes does not verify", wrapper, inner_len);
	EVP_MD_CTX_free(md);
	sk_X509_pop_free(sk, X509_free);
	OPENSSL_free(dersig);
	ECDSA_SIG_free(es);
}

/* A field of the ABI: its size counts the trailing NUL; text has no other. */
static void assert_field(const char *p, uint32_t size, bool text, const char *what)
{
	if (!p || size == 0)
		fail_msg("%s: NULL or empty", what);
	if (p[size - 1] != 0)
		fail_msg("%s: size %u does not include a trailing NUL", what, size);
	if (text && strnlen(p, size) != size - 1)
		fail_msg("%s: strnlen %zu != size - 1 (%u): the QVL would refuse it", what, strnlen(p, size), size - 1);
}

static void assert_bytes(const char *what, const void *got, size_t got_len, const void *want, size_t want_len)
{
	if (got_len != want_len)
		fail_msg("%s: %zu bytes, expected %zu", what, got_len, want_len);
	if (memcmp(got, want, want_len) != 0)
		fail_msg("%s: the bytes differ from the PCS answer", what);
}

/* ---- bundles ------------------------------------------------------------------------ */

static colb_trust *pki_root_trust(const char *pki_dir)
{
	colb_trust *t = colb_trust_new();
	size_t len;
	uint8_t *der = t_read(t_path(pki_dir, "roots/intel-root.der"), &len);
	assert_int_equal(colb_trust_add_intel_root(t, der, len), COLB_OK);
	free(der);
	return t;
}

static colb_trust *test_root_trust(void)
{
	return pki_root_trust(fx.pki);
}

/* A bundle of a PKI's Intel answers, validated at `at` (0: now). */
static void make_bundle_of(const char *pki_dir, time_t at, const char *out, const char *baseline, uint64_t version,
			   const char *keyname)
{
	colb_trust *t = pki_root_trust(pki_dir);
	colb_intel_input *in = colb_intel_input_new(t, at);
	assert_non_null(in);
	if (colb_intel_input_add_dir(in, t_path(pki_dir, "intel")) != COLB_OK)
		fail_msg("intel input: %s", colb_intel_input_error(in));
	assert_int_equal(colb_intel_input_set_baseline(in, baseline), COLB_OK);
	colb_writer *w = colb_writer_new();
	colb_writer_set_version(w, version);
	assert_int_equal(colb_writer_set_publisher(w, "qpl test publisher"), COLB_OK);
	if (colb_intel_input_write(in, w) != COLB_OK)
		fail_msg("intel input write: %s", colb_intel_input_error(in));
	char path[PATH_MAX + 8], err[256];
	xsnprintf(path, sizeof path, "%s.key", keyname);
	colb_seckey *k = NULL;
	if (colb_seckey_load(path, NULL, &k, err, sizeof err) != COLB_OK)
		fail_msg("%s: %s", path, err);
	if (colb_writer_finish(w, k, out) != COLB_OK)
		fail_msg("writer: %s", colb_writer_error(w));
	colb_seckey_free(k);
	colb_writer_free(w);
	colb_intel_input_free(in);
	colb_trust_free(t);
}

static void make_bundle(const char *out, const char *baseline, uint64_t version, const char *keyname)
{
	make_bundle_of(fx.pki, 0, out, baseline, version, keyname);
}

/* What `colbundle install` does to the file the library watches. */
static void install_bundle(const char *from)
{
	char tmp[PATH_MAX + 8];
	xsnprintf(tmp, sizeof tmp, "%s.tmp", fx.installed);
	assert_int_equal(t_sh("cp '%s' '%s'", from, tmp), 0);
	assert_int_equal(rename(tmp, fx.installed), 0);
}

/* `colbundle install B --store DIR`, through the library. */
static void store_install(const char *bundle)
{
	colb_trust *t = test_root_trust();
	char pub[PATH_MAX + 8], err[512];
	xsnprintf(pub, sizeof pub, "%s.pub", fx.key);
	assert_int_equal(colb_trust_add_pubkey_file(t, pub, err, sizeof err), COLB_OK);
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, t);
	colb_install_result res;
	if (colb_store_install(fx.store, bundle, o, COLB_INSTALL_WAIT, &res, err, sizeof err) != COLB_OK)
		fail_msg("install %s: %s", bundle, err);
	colb_opts_free(o);
	colb_trust_free(t);
}

static void write_conf(const char *path, const char *extra)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# test_qpl\nbundle = %s\ntrust = %s.pub\nintel_root = %s/roots/intel-root.der\nlog_level = trace\n%s",
		fx.installed, fx.key, fx.pki, extra ? extra : "");
	fclose(f);
}

/* Points the library at a configuration and makes it read it again. */
static void use_conf(const char *path)
{
	setenv("COLBUNDLE_CONF", path, 1);
	assert_int_equal(q.sgx_qpl_clear_cache(SGX_QPL_CACHE_QV_COLLATERAL | SGX_QPL_CACHE_CERTIFICATE),
			 SGX_QL_SUCCESS);
}

/* ---- logging capture ------------------------------------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[16384];
static int log_levels[4];
static int az_levels[3];

static void intel_logger(sgx_ql_log_level_t level, const char *msg)
{
	pthread_mutex_lock(&log_lock);
	if ((unsigned)level < 4)
		log_levels[level]++;
	size_t n = strlen(log_text);
	if (n + strlen(msg) + 2 < sizeof log_text)
		xsnprintf(log_text + n, sizeof log_text - n, "%s\n", msg);
	pthread_mutex_unlock(&log_lock);
}

static void azure_logger(int level, const char *msg)
{
	(void)msg;
	pthread_mutex_lock(&log_lock);
	if ((unsigned)level < 3)
		az_levels[level]++;
	pthread_mutex_unlock(&log_lock);
}

static void log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	log_text[0] = 0;
	memset(log_levels, 0, sizeof log_levels);
	memset(az_levels, 0, sizeof az_levels);
	pthread_mutex_unlock(&log_lock);
}

static void assert_logged(const char *needle)
{
	pthread_mutex_lock(&log_lock);
	bool found = strstr(log_text, needle) != NULL;
	pthread_mutex_unlock(&log_lock);
	if (!found)
		fail_msg("expected a log message containing \"%s\"; the log was:\n%s", needle, log_text);
}

/* ---- setup ----------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	fixture_paths();
	xsnprintf(fx.work, sizeof fx.work, "%s", t_scratch());
	xsnprintf(fx.key, sizeof fx.key, "%s/publisher", fx.work);
	xsnprintf(fx.installed, sizeof fx.installed, "%s/installed.colb", fx.work);
	xsnprintf(fx.bundle_a, sizeof fx.bundle_a, "%s/a.colb", fx.work);
	xsnprintf(fx.bundle_b, sizeof fx.bundle_b, "%s/b.colb", fx.work);
	xsnprintf(fx.conf, sizeof fx.conf, "%s/colbundle.conf", fx.work);
	xsnprintf(fx.store, sizeof fx.store, "%s/store", fx.work);
	xsnprintf(fx.store_conf, sizeof fx.store_conf, "%s/store.conf", fx.work);
	char err[256];
	if (colb_keygen(fx.key, NULL, err, sizeof err) != COLB_OK)
		fail_msg("keygen: %s", err);

	json_t *sets = json_load_file(pki("tcb-sets.json"), 0, NULL);
	assert_non_null(sets);
	fx.standard = (unsigned)json_integer_value(json_object_get(json_object_get(sets, "sgx"), "standard"));
	fx.early = (unsigned)json_integer_value(json_object_get(json_object_get(sets, "sgx"), "early"));
	json_decref(sets);
	assert_true(fx.standard > 0 && fx.early > fx.standard);

	/* An FMSPC of the fleet: the first SGX one the PCS answered for. */
	DIR *d = opendir(pki("sgx/tcb"));
	assert_non_null(d);
	struct dirent *e;
	fx.fmspc_hex[0] = 0;
	while ((e = readdir(d)) != NULL)
		if (strlen(e->d_name) == 12 && (!fx.fmspc_hex[0] || strcmp(e->d_name, fx.fmspc_hex) < 0))
			xsnprintf(fx.fmspc_hex, sizeof fx.fmspc_hex, "%s", e->d_name);
	closedir(d);
	assert_int_equal(strlen(fx.fmspc_hex), 12);
	for (int i = 0; i < 6; i++)
		fx.fmspc[i] = (uint8_t)(hexval(fx.fmspc_hex[2 * i]) * 16 + hexval(fx.fmspc_hex[2 * i + 1]));

	make_bundle(fx.bundle_a, "standard", 100, fx.key);
	make_bundle(fx.bundle_b, "early", 200, fx.key);
	install_bundle(fx.bundle_a);
	write_conf(fx.conf, NULL);
	FILE *f = fopen(fx.store_conf, "w");
	assert_non_null(f);
	fprintf(f, "store = %s\nintel_root = %s/roots/intel-root.der\nlog_level = trace\n", fx.store, fx.pki);
	fclose(f);
	setenv("COLBUNDLE_CONF", fx.conf, 1);
	unsetenv("COLBUNDLE_BUNDLE");
	unsetenv("COLBUNDLE_TRUST");

	/* As the QVL does: by soname, through the library path. */
	fx.lib = dlopen("libdcap_quoteprov.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!fx.lib)
		fail_msg("dlopen(libdcap_quoteprov.so.1): %s", dlerror());
#define X(f)                                                              \
	if (!(*(void **)&q.f = dlsym(fx.lib, #f)))                        \
		fail_msg("dlsym(%s): not exported", #f);
	QPL_FUNCS(X)
#undef X
	assert_int_equal(q.sgx_qpl_global_init(), SGX_QL_SUCCESS);
	assert_int_equal(q.sgx_ql_set_logging_callback(intel_logger, SGX_QL_LOG_TRACE), SGX_QL_SUCCESS);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (q.sgx_qpl_global_cleanup)
		q.sgx_qpl_global_cleanup();
	if (fx.lib)
		dlclose(fx.lib);
	return 0;
}

/* ---- the checks of one collateral answer ------------------------------------------------ */

typedef struct expect {
	char *tcb, *tcb_chain, *qe, *qe_chain, *crl_chain;
	uint8_t *crl, *root;
	size_t tcb_len, qe_len, crl_len, root_len;
} expect;

/* The raw PCS answers for a TEE, FMSPC, CA and evaluation number. */
static void expect_load(expect *x, bool tdx, const char *fmspc_hex, const char *ca, unsigned eval)
{
	const char *tee = tdx ? "tdx" : "sgx";
	x->tcb = read_text(pki("%s/tcb/%s/%u.json", tee, fmspc_hex, eval), &x->tcb_len);
	x->tcb_chain = hdr_chain(pki("%s/tcb/%s/%u.json.hdr", tee, fmspc_hex, eval), "TCB-Info-Issuer-Chain");
	const char *qe = tdx ? "tdx/identity/td_qe" : "sgx/identity/qe";
	x->qe = read_text(pki("%s/%u.json", qe, eval), &x->qe_len);
	x->qe_chain = hdr_chain(pki("%s/%u.json.hdr", qe, eval), "SGX-Enclave-Identity-Issuer-Chain");
	x->crl = t_read(pki("sgx/pckcrl/%s.der", ca), &x->crl_len);
	x->crl_chain = hdr_chain(pki("sgx/pckcrl/%s.der.hdr", ca), "SGX-PCK-CRL-Issuer-Chain");
	x->root = t_read(t_path(fx.pki, "intel/rootcacrl.der"), &x->root_len);
}

static void expect_free(expect *x)
{
	free(x->tcb);
	free(x->tcb_chain);
	free(x->qe);
	free(x->qe_chain);
	free(x->crl_chain);
	free(x->crl);
	free(x->root);
	memset(x, 0, sizeof *x);
}

static void assert_collateral(const sgx_ql_qve_collateral_t *c, bool tdx, const expect *x)
{
	assert_non_null(c);
	assert_int_equal(c->major_version, tdx ? 4 : 3);
	assert_int_equal(c->minor_version, tdx ? 0 : 1);
	assert_int_equal(c->tee_type, tdx ? 0x81 : 0);
	assert_field(c->pck_crl_issuer_chain, c->pck_crl_issuer_chain_size, true, "pck_crl_issuer_chain");
	assert_field(c->root_ca_crl, c->root_ca_crl_size, false, "root_ca_crl");
	assert_field(c->pck_crl, c->pck_crl_size, false, "pck_crl");
	assert_field(c->tcb_info_issuer_chain, c->tcb_info_issuer_chain_size, true, "tcb_info_issuer_chain");
	assert_field(c->tcb_info, c->tcb_info_size, true, "tcb_info");
	assert_field(c->qe_identity_issuer_chain, c->qe_identity_issuer_chain_size, true, "qe_identity_issuer_chain");
	assert_field(c->qe_identity, c->qe_identity_size, true, "qe_identity");
	assert_bytes("tcb_info", c->tcb_info, c->tcb_info_size - 1, x->tcb, x->tcb_len);
	assert_bytes("tcb_info_issuer_chain", c->tcb_info_issuer_chain, c->tcb_info_issuer_chain_size - 1,
		     x->tcb_chain, strlen(x->tcb_chain));
	assert_bytes("qe_identity", c->qe_identity, c->qe_identity_size - 1, x->qe, x->qe_len);
	assert_bytes("qe_identity_issuer_chain", c->qe_identity_issuer_chain, c->qe_identity_issuer_chain_size - 1,
		     x->qe_chain, strlen(x->qe_chain));
	assert_bytes("pck_crl (raw DER)", c->pck_crl, c->pck_crl_size - 1, x->crl, x->crl_len);
	assert_bytes("pck_crl_issuer_chain", c->pck_crl_issuer_chain, c->pck_crl_issuer_chain_size - 1, x->crl_chain,
		     strlen(x->crl_chain));
	assert_bytes("root_ca_crl (raw DER)", c->root_ca_crl, c->root_ca_crl_size - 1, x->root, x->root_len);
}

/* Independently of the bytes' origin: signatures, chains, CRLs. */
static void assert_collateral_verifies(const sgx_ql_qve_collateral_t *c)
{
	assert_chain_to_test_root(c->tcb_info_issuer_chain, c->tcb_info_issuer_chain_size - 1, "TCB info chain");
	assert_chain_to_test_root(c->qe_identity_issuer_chain, c->qe_identity_issuer_chain_size - 1,
				  "QE identity chain");
	assert_chain_to_test_root(c->pck_crl_issuer_chain, c->pck_crl_issuer_chain_size - 1, "PCK CRL chain");
	assert_signed_json(c->tcb_info, c->tcb_info_size - 1, "tcbInfo", c->tcb_info_issuer_chain,
			   c->tcb_info_issuer_chain_size - 1);
	assert_signed_json(c->qe_identity, c->qe_identity_size - 1, "enclaveIdentity", c->qe_identity_issuer_chain,
			   c->qe_identity_issuer_chain_size - 1);
	STACK_OF(X509) *sk = pem_chain(c->pck_crl_issuer_chain, c->pck_crl_issuer_chain_size - 1);
	assert_crl_signed_by((const uint8_t *)c->pck_crl, c->pck_crl_size - 1, sk_X509_value(sk, 0), "PCK CRL");
	X509 *root = load_der_cert(t_path(fx.pki, "roots/intel-root.der"));
	assert_crl_signed_by((const uint8_t *)c->root_ca_crl, c->root_ca_crl_size - 1, root, "root CA CRL");
	X509_free(root);
	sk_X509_pop_free(sk, X509_free);
}

static sgx_ql_qve_collateral_t *get_sgx(const char *ca)
{
	sgx_ql_qve_collateral_t *c = NULL;
	quote3_error_t rc = q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, ca, &c);
	if (rc != SGX_QL_SUCCESS)
		fail_msg("collateral for %s (%s): 0x%04x, expected success; log:\n%s", fx.fmspc_hex, ca, rc, log_text);
	return c;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_qpl_exports_exactly_the_abi(void **state)
{
	(void)state;
	char out[PATH_MAX + 16];
	xsnprintf(out, sizeof out, "%s/nm.txt", fx.work);
	assert_int_equal(t_sh("nm -D --defined-only '%s/libdcap_quoteprov.so.1' > '%s'", fx.libdir, out), 0);
	char *text = read_text(out, NULL);
	size_t n = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char addr[32], type[4], name[256];
		if (sscanf(line, "%31s %3s %255s", addr, type, name) != 3)
			fail_msg("unexpected nm line: %s", line);
		bool known = false;
		for (size_t i = 0; i < sizeof abi_names / sizeof abi_names[0]; i++)
			known |= !strcmp(name, abi_names[i]);
		if (!known)
			fail_msg("exports %s, which is not part of the quote provider ABI", name);
		if (strcmp(type, "T"))
			fail_msg("%s is exported as '%s', expected a function (T)", name, type);
		n++;
	}
	free(text);
	assert_int_equal(n, sizeof abi_names / sizeof abi_names[0]);
	/* The soname, and the unversioned name Open Enclave loads. */
	assert_int_equal(t_sh("readelf -d '%s/libdcap_quoteprov.so.1' | grep -q 'SONAME.*\\[libdcap_quoteprov.so.1\\]'",
			      fx.libdir), 0);
	void *h = dlopen("libdcap_quoteprov.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen(libdcap_quoteprov.so): %s", dlerror());
	assert_ptr_equal(dlsym(h, "sgx_ql_get_quote_verification_collateral"),
			 (void *)q.sgx_ql_get_quote_verification_collateral);
	dlclose(h);
}

static void test_qpl_sgx_collateral_is_the_bundles_bytes_and_verifies(void **state)
{
	(void)state;
	static const char *const cas[] = {"processor", "platform"};
	for (int i = 0; i < 2; i++) {
		expect x;
		expect_load(&x, false, fx.fmspc_hex, cas[i], fx.standard);
		sgx_ql_qve_collateral_t *c = get_sgx(cas[i]);
		assert_collateral(c, false, &x);
		assert_collateral_verifies(c);
		assert_int_equal(q.sgx_ql_free_quote_verification_collateral(c), SGX_QL_SUCCESS);
		expect_free(&x);
	}
}

static void test_qpl_collateral_matches_colbundle_cat(void **state)
{
	(void)state;
	char out[PATH_MAX + 16];
	xsnprintf(out, sizeof out, "%s/cat.out", fx.work);
	if (t_sh("'%s/colbundle' cat '%s' intel/tcbinfo/sgx/%s/%u.json --trust '%s.pub' > '%s' 2>/dev/null",
		 t_build_dir(), fx.installed, fx.fmspc_hex, fx.standard, fx.key, out) != 0)
		fail_msg("colbundle cat of the TCB info failed");
	size_t len;
	char *want = read_text(out, &len);
	sgx_ql_qve_collateral_t *c = get_sgx("processor");
	assert_bytes("tcb_info vs colbundle cat", c->tcb_info, c->tcb_info_size - 1, want, len);
	q.sgx_ql_free_quote_verification_collateral(c);
	free(want);
}

static void test_qpl_every_fmspc_of_the_fleet_is_served(void **state)
{
	(void)state;
	static const char *const tees[] = {"sgx", "tdx"};
	for (int t = 0; t < 2; t++) {
		DIR *d = opendir(pki("%s/tcb", tees[t]));
		assert_non_null(d);
		struct dirent *e;
		size_t n = 0;
		while ((e = readdir(d)) != NULL) {
			if (strlen(e->d_name) != 12)
				continue;
			uint8_t fm[6];
			for (int i = 0; i < 6; i++)
				fm[i] = (uint8_t)(hexval(e->d_name[2 * i]) * 16 + hexval(e->d_name[2 * i + 1]));
			expect x;
			expect_load(&x, t == 1, e->d_name, "platform", fx.standard);
			sgx_ql_qve_collateral_t *c = NULL;
			quote3_error_t rc = t ? q.tdx_ql_get_quote_verification_collateral(fm, 6, "platform", &c)
					      : q.sgx_ql_get_quote_verification_collateral(fm, 6, "platform", &c);
			if (rc)
				fail_msg("%s FMSPC %s: 0x%04x", tees[t], e->d_name, rc);
			assert_collateral(c, t == 1, &x);
			(t ? q.tdx_ql_free_quote_verification_collateral : q.sgx_ql_free_quote_verification_collateral)(c);
			expect_free(&x);
			n++;
		}
		closedir(d);
		assert_true(n > 0);
	}
}

static void test_qpl_tdx_collateral_is_version_4_with_td_qe_identity(void **state)
{
	(void)state;
	expect x;
	expect_load(&x, true, fx.fmspc_hex, "processor", fx.standard);
	tdx_ql_qv_collateral_t *c = NULL;
	assert_int_equal(q.tdx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c), SGX_QL_SUCCESS);
	assert_collateral(c, true, &x);
	assert_collateral_verifies(c);
	assert_non_null(strstr(c->qe_identity, "\"id\":\"TD_QE\""));
	assert_non_null(strstr(c->tcb_info, "\"id\":\"TDX\""));
	q.tdx_ql_free_quote_verification_collateral(c);
	expect_free(&x);
}

static void test_qpl_with_params_selects_the_evaluation_number(void **state)
{
	(void)state;
	unsigned evals[] = {fx.standard - 1, fx.standard, fx.early};
	for (int i = 0; i < 3; i++) {
		char text[64];
		xsnprintf(text, sizeof text, "tcbEvaluationDataNumber=%u", evals[i]);
		char *enc = b64(text);
		expect x;
		expect_load(&x, false, fx.fmspc_hex, "processor", evals[i]);
		sgx_ql_qve_collateral_t *c = NULL;
		quote3_error_t rc = q.sgx_ql_get_quote_verification_collateral_with_params(
			fx.fmspc, 6, "processor", enc, (uint16_t)strlen(enc), &c);
		if (rc)
			fail_msg("%s: 0x%04x", text, rc);
		/* The identity comes from the same evaluation as the TCB info. */
		assert_collateral(c, false, &x);
		q.sgx_ql_free_quote_verification_collateral(c);
		expect_free(&x);
		tdx_ql_qv_collateral_t *t = NULL;
		rc = q.tdx_ql_get_quote_verification_collateral_with_params(fx.fmspc, 6, "processor", enc,
									    (uint16_t)strlen(enc), &t);
		if (rc)
			fail_msg("TDX %s: 0x%04x", text, rc);
		expect_load(&x, true, fx.fmspc_hex, "processor", evals[i]);
		assert_collateral(t, true, &x);
		q.tdx_ql_free_quote_verification_collateral(t);
		expect_free(&x);
		free(enc);
	}
	/* Without a number, or with none given, the bundle's baseline. */
	expect x;
	expect_load(&x, false, fx.fmspc_hex, "processor", fx.standard);
	sgx_ql_qve_collateral_t *c = NULL;
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral_with_params(fx.fmspc, 6, "processor", NULL, 0, &c),
			 SGX_QL_SUCCESS);
	assert_collateral(c, false, &x);
	q.sgx_ql_free_quote_verification_collateral(c);
	expect_free(&x);
	/* A number the bundle does not carry: no collateral, as PCS's 404. */
	char *enc = b64("tcbEvaluationDataNumber=9999");
	c = NULL;
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral_with_params(fx.fmspc, 6, "processor", enc,
										(uint16_t)strlen(enc), &c),
			 SGX_QL_NO_QUOTE_COLLATERAL_DATA);
	assert_null(c);
	free(enc);
}

static void test_qpl_site_baseline_comes_from_the_configuration(void **state)
{
	(void)state;
	char conf[PATH_MAX + 16];
	xsnprintf(conf, sizeof conf, "%s/early.conf", fx.work);
	write_conf(conf, "baseline = early\n");
	use_conf(conf);
	expect x;
	expect_load(&x, false, fx.fmspc_hex, "processor", fx.early);
	sgx_ql_qve_collateral_t *c = get_sgx("processor");
	assert_collateral(c, false, &x);
	q.sgx_ql_free_quote_verification_collateral(c);
	expect_free(&x);
	/* A baseline the bundle cannot satisfy is refused, loudly. */
	write_conf(conf, "baseline = 9999\n");
	use_conf(conf);
	log_reset();
	c = NULL;
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c),
			 SGX_QL_UNABLE_TO_GET_COLLATERAL);
	assert_null(c);
	assert_logged("9999");
	use_conf(fx.conf);
}

static void test_qpl_bad_arguments_are_invalid_parameter(void **state)
{
	(void)state;
	sgx_ql_qve_collateral_t *c = NULL;
	const uint8_t fm[6] = {0};
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(NULL, 6, "processor", &c),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fm, 5, "processor", &c),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fm, 12, "processor", &c),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fm, 6, NULL, &c), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fm, 6, "Processor", &c),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fm, 6, "processor", NULL),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.tdx_ql_get_quote_verification_collateral(fm, 6, "root", &c), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral_with_params(fm, 6, "processor", NULL, 4, &c),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral_with_params(fx.fmspc, 6, "processor", "!!!", 3, &c),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.tdx_ql_get_quote_verification_collateral_with_params(fx.fmspc, 6, "processor", NULL, 2, &c),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_null(c);

	sgx_ql_config_t *cfg = NULL;
	uint8_t qe[16] = {0};
	sgx_cpu_svn_t svn = {{0}};
	uint16_t pcesvn = 0;
	sgx_ql_pck_cert_id_t id = {.p_qe3_id = qe, .qe3_id_size = 16, .p_platform_cpu_svn = &svn,
				   .p_platform_pce_isv_svn = &pcesvn, .crypto_suite = PCE_ALG_RSA_OAEP_3072};
	assert_int_equal(q.sgx_ql_get_quote_config(NULL, &cfg), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_quote_config(&id, NULL), SGX_QL_ERROR_INVALID_PARAMETER);
	id.qe3_id_size = 15;
	assert_int_equal(q.sgx_ql_get_quote_config(&id, &cfg), SGX_QL_ERROR_INVALID_PARAMETER);
	id.qe3_id_size = 16;
	id.p_platform_cpu_svn = NULL;
	assert_int_equal(q.sgx_ql_get_quote_config(&id, &cfg), SGX_QL_ERROR_INVALID_PARAMETER);
	id.p_platform_cpu_svn = &svn;
	id.p_platform_pce_isv_svn = NULL;
	assert_int_equal(q.sgx_ql_get_quote_config(&id, &cfg), SGX_QL_ERROR_INVALID_PARAMETER);
	id.p_platform_pce_isv_svn = &pcesvn;
	uint8_t ppid[384] = {0};
	id.p_encrypted_ppid = ppid;
	id.encrypted_ppid_size = 100;
	assert_int_equal(q.sgx_ql_get_quote_config(&id, &cfg), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_null(cfg);

	char *s = NULL;
	uint32_t n = 0;
	assert_int_equal(q.sgx_ql_get_qve_identity(NULL, &n, &s, &n), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_qve_identity(&s, NULL, &s, &n), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_qve_identity(&s, &n, NULL, &n), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_qve_identity(&s, &n, &s, NULL), SGX_QL_ERROR_INVALID_PARAMETER);
	uint8_t *crl = NULL;
	uint16_t crl_size = 0;
	assert_int_equal(q.sgx_ql_get_root_ca_crl(NULL, &crl_size), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_get_root_ca_crl(&crl, NULL), SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_ql_set_logging_callback(intel_logger, (sgx_ql_log_level_t)4),
			 SGX_QL_ERROR_INVALID_PARAMETER);
	assert_int_equal(q.sgx_qpl_clear_cache(0x100), SGX_QL_ERROR_INVALID_PARAMETER);
}

static void test_qpl_free_functions_accept_null(void **state)
{
	(void)state;
	assert_int_equal(q.sgx_ql_free_quote_config(NULL), SGX_QL_SUCCESS);
	assert_int_equal(q.sgx_ql_free_quote_verification_collateral(NULL), SGX_QL_SUCCESS);
	assert_int_equal(q.tdx_ql_free_quote_verification_collateral(NULL), SGX_QL_SUCCESS);
	assert_int_equal(q.sgx_ql_free_qve_identity(NULL, NULL), SGX_QL_SUCCESS);
	assert_int_equal(q.sgx_ql_free_root_ca_crl(NULL), SGX_QL_SUCCESS);
}

static void test_qpl_unknown_fmspc_is_no_quote_collateral_data(void **state)
{
	(void)state;
	const uint8_t fm[6] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
	sgx_ql_qve_collateral_t *c = NULL;
	log_reset();
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fm, 6, "processor", &c),
			 SGX_QL_NO_QUOTE_COLLATERAL_DATA);
	assert_null(c);
	assert_logged("DEADBEEF0001");
	assert_int_equal(q.tdx_ql_get_quote_verification_collateral(fm, 6, "platform", &c),
			 SGX_QL_NO_QUOTE_COLLATERAL_DATA);
	assert_null(c);
}

/* One line of the PCK Cert ID Retrieval Tool CSV. */
typedef struct platform {
	uint8_t qe_id[16];
	uint16_t pce_id;
	uint8_t cpusvn[16];
	uint16_t pcesvn;
	uint8_t ppid[384];
	char qe_hex[33];
} platform;

static size_t load_platforms(platform *out, size_t max)
{
	char *csv = read_text(t_path(fx.pki, "intel-pckid.csv"), NULL);
	size_t n = 0;
	for (char *line = strtok(csv, "\n"); line && n < max; line = strtok(NULL, "\n")) {
		char ppid[769], pce[5], cpu[33], svn[5], qe[33];
		if (sscanf(line, "%768[0-9a-fA-F],%4[0-9a-fA-F],%32[0-9a-fA-F],%4[0-9a-fA-F],%32[0-9a-fA-F]", ppid, pce,
			   cpu, svn, qe) != 5)
			fail_msg("unexpected CSV line: %.60s", line);
		platform *p = &out[n++];
		for (int i = 0; i < 16; i++) {
			p->qe_id[i] = (uint8_t)(hexval(qe[2 * i]) * 16 + hexval(qe[2 * i + 1]));
			p->cpusvn[i] = (uint8_t)(hexval(cpu[2 * i]) * 16 + hexval(cpu[2 * i + 1]));
		}
		for (int i = 0; i < 384; i++)
			p->ppid[i] = (uint8_t)(hexval(ppid[2 * i]) * 16 + hexval(ppid[2 * i + 1]));
		/* Little-endian hex, as the tool writes them. */
		p->pce_id = (uint16_t)(hexval(pce[0]) * 16 + hexval(pce[1]) + (hexval(pce[2]) * 16 + hexval(pce[3])) * 256);
		p->pcesvn = (uint16_t)(hexval(svn[0]) * 16 + hexval(svn[1]) + (hexval(svn[2]) * 16 + hexval(svn[3])) * 256);
		for (int i = 0; i < 32; i++)
			p->qe_hex[i] = (char)toupper((unsigned char)qe[i]);
		p->qe_hex[32] = 0;
	}
	free(csv);
	return n;
}

/* Whether intel-revoked.txt lists the platform's cert at its own raw TCB. */
static bool revoked_at_raw_tcb(const platform *p)
{
	char *text = read_text(t_path(fx.pki, "intel-revoked.txt"), NULL);
	char tcbm[37];
	for (int i = 0; i < 16; i++)
		xsnprintf(tcbm + 2 * i, 3, "%02X", p->cpusvn[i]);
	xsnprintf(tcbm + 32, 5, "%02X%02X", p->pcesvn & 0xff, p->pcesvn >> 8);
	bool r = false;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char ca[16], qe[40], pce[8], t[40];
		if (line[0] != '#' && sscanf(line, "%15s %39s %7s %39s", ca, qe, pce, t) == 4 && !strcmp(qe, p->qe_hex) &&
		    !strcmp(t, tcbm))
			r = true;
	}
	free(text);
	return r;
}

static void test_qpl_quote_config_selects_the_pck_cert_for_the_raw_tcb(void **state)
{
	(void)state;
	platform plats[16];
	size_t n = load_platforms(plats, 16), served = 0, refused = 0;
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		platform *p = &plats[i];
		sgx_ql_pck_cert_id_t id = {.p_qe3_id = p->qe_id, .qe3_id_size = 16,
					   .p_platform_cpu_svn = (sgx_cpu_svn_t *)p->cpusvn,
					   .p_platform_pce_isv_svn = &p->pcesvn, .p_encrypted_ppid = p->ppid,
					   .encrypted_ppid_size = 384, .crypto_suite = PCE_ALG_RSA_OAEP_3072,
					   .pce_id = p->pce_id};
		sgx_ql_config_t *cfg = NULL;
		quote3_error_t rc = q.sgx_ql_get_quote_config(&id, &cfg);
		if (revoked_at_raw_tcb(p)) {
			/* The cert for its TCB is revoked: never handed out. */
			assert_int_equal(rc, SGX_QL_CERTS_UNAVAILABLE);
			assert_null(cfg);
			refused++;
			continue;
		}
		if (rc)
			fail_msg("platform %s: 0x%04x; log:\n%s", p->qe_hex, rc, log_text);
		assert_int_equal(cfg->version, SGX_QL_CONFIG_VERSION_1);
		assert_field((const char *)cfg->p_cert_data, cfg->cert_data_size, true, "cert data");
		STACK_OF(X509) *sk = pem_chain((const char *)cfg->p_cert_data, cfg->cert_data_size - 1);
		assert_int_equal(sk_X509_num(sk), 3); /* PCK cert, PCK CA, root */
		sk_X509_pop_free(sk, X509_free);
		assert_chain_to_test_root((const char *)cfg->p_cert_data, cfg->cert_data_size - 1, "PCK cert chain");
		/* The cert is one of the platform's, at the TCB the config reports,
		 * and not above the platform's raw TCB. */
		char tcbm[37];
		sgx_cpu_svn_t cert_svn = cfg->cert_cpu_svn;
		uint16_t cert_pcesvn = cfg->cert_pce_isv_svn;
		for (int k = 0; k < 16; k++) {
			xsnprintf(tcbm + 2 * k, 3, "%02X", cert_svn.svn[k]);
			if (cert_svn.svn[k] > p->cpusvn[k])
				fail_msg("platform %s: the cert's component %d SVN %u is above the raw TCB's %u", p->qe_hex,
					 k + 1, cert_svn.svn[k], p->cpusvn[k]);
		}
		xsnprintf(tcbm + 32, 5, "%02X%02X", cert_pcesvn & 0xff, cert_pcesvn >> 8);
		assert_true(cert_pcesvn <= p->pcesvn);
		char *pck = read_text(pki("sgx/pckcerts/%s-%02X%02X.json", p->qe_hex, p->pce_id & 0xff, p->pce_id >> 8),
				      NULL);
		json_t *arr = json_loads(pck, 0, NULL);
		assert_non_null(arr);
		bool found = false;
		size_t k;
		json_t *ent;
		json_array_foreach(arr, k, ent)
		{
			if (strcmp(json_string_value(json_object_get(ent, "tcbm")), tcbm))
				continue;
			char *pem = pct_decode(json_string_value(json_object_get(ent, "cert")));
			found = !strncmp((const char *)cfg->p_cert_data, pem, strlen(pem));
			free(pem);
		}
		json_decref(arr);
		free(pck);
		if (!found)
			fail_msg("platform %s: the leaf is not the platform's PCK cert for TCBm %s", p->qe_hex, tcbm);
		q.sgx_ql_free_quote_config(cfg);
		served++;
	}
	assert_true(served > 0);
	assert_true(refused > 0);
}

static void test_qpl_unknown_platform_is_no_platform_cert_data(void **state)
{
	(void)state;
	platform plats[16];
	assert_true(load_platforms(plats, 16) > 0);
	platform *p = &plats[0];
	uint8_t qe[16];
	memset(qe, 0x5a, sizeof qe);
	sgx_ql_pck_cert_id_t id = {.p_qe3_id = qe, .qe3_id_size = 16, .p_platform_cpu_svn = (sgx_cpu_svn_t *)p->cpusvn,
				   .p_platform_pce_isv_svn = &p->pcesvn, .pce_id = p->pce_id};
	sgx_ql_config_t *cfg = NULL;
	log_reset();
	assert_int_equal(q.sgx_ql_get_quote_config(&id, &cfg), SGX_QL_NO_PLATFORM_CERT_DATA);
	assert_null(cfg);
	assert_logged("5A5A5A5A");
	/* A known platform below every cert it has (all SVNs 0). */
	sgx_cpu_svn_t zero = {{0}};
	uint16_t zsvn = 0;
	id.p_qe3_id = p->qe_id;
	id.p_platform_cpu_svn = &zero;
	id.p_platform_pce_isv_svn = &zsvn;
	assert_int_equal(q.sgx_ql_get_quote_config(&id, &cfg), SGX_QL_NO_PLATFORM_CERT_DATA);
	assert_null(cfg);
}

static void test_qpl_qve_identity_and_root_ca_crl_are_the_bundles(void **state)
{
	(void)state;
	char *id = NULL, *chain = NULL;
	uint32_t id_size = 0, chain_size = 0;
	assert_int_equal(q.sgx_ql_get_qve_identity(&id, &id_size, &chain, &chain_size), SGX_QL_SUCCESS);
	assert_field(id, id_size, true, "QvE identity");
	assert_field(chain, chain_size, true, "QvE identity chain");
	size_t len;
	char *want = read_text(pki("sgx/identity/qve/%u.json", fx.standard), &len);
	assert_bytes("QvE identity", id, id_size - 1, want, len);
	free(want);
	want = hdr_chain(pki("sgx/identity/qve/%u.json.hdr", fx.standard), "SGX-Enclave-Identity-Issuer-Chain");
	assert_bytes("QvE identity chain", chain, chain_size - 1, want, strlen(want));
	free(want);
	assert_signed_json(id, id_size - 1, "enclaveIdentity", chain, chain_size - 1);
	assert_chain_to_test_root(chain, chain_size - 1, "QvE identity chain");
	assert_int_equal(q.sgx_ql_free_qve_identity(id, chain), SGX_QL_SUCCESS);

	uint8_t *crl = NULL;
	uint16_t crl_size = 0;
	assert_int_equal(q.sgx_ql_get_root_ca_crl(&crl, &crl_size), SGX_QL_SUCCESS);
	assert_field((const char *)crl, crl_size, false, "root CA CRL");
	uint8_t *der = t_read(t_path(fx.pki, "intel/rootcacrl.der"), &len);
	assert_bytes("root CA CRL (raw DER)", crl, (size_t)crl_size - 1, der, len);
	X509 *root = load_der_cert(t_path(fx.pki, "roots/intel-root.der"));
	assert_crl_signed_by(crl, (size_t)crl_size - 1, root, "root CA CRL");
	X509_free(root);
	free(der);
	assert_int_equal(q.sgx_ql_free_root_ca_crl(crl), SGX_QL_SUCCESS);
}

static void test_qpl_logs_only_through_the_callbacks(void **state)
{
	(void)state;
	/* Everything the process writes to fd 1 and 2 meanwhile lands here. */
	char path[PATH_MAX + 16];
	xsnprintf(path, sizeof path, "%s/stdio.out", fx.work);
	fflush(stdout);
	fflush(stderr);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	int out = dup(1), err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	log_reset();
	q.sgx_ql_set_logging_function(azure_logger);
	const uint8_t fm[6] = {1, 2, 3, 4, 5, 6};
	sgx_ql_qve_collateral_t *c = NULL;
	quote3_error_t rc1 = q.sgx_ql_get_quote_verification_collateral(fm, 6, "processor", &c);
	quote3_error_t rc2 = q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c);
	q.sgx_ql_free_quote_verification_collateral(c);
	use_conf("/nonexistent/colbundle.conf");
	quote3_error_t rc3 = q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(fd);
	q.sgx_ql_set_logging_function(NULL);
	use_conf(fx.conf);
	assert_int_equal(rc1, SGX_QL_NO_QUOTE_COLLATERAL_DATA);
	assert_int_equal(rc2, SGX_QL_SUCCESS);
	assert_int_equal(rc3, SGX_QL_CONFIG_INVALID_JSON);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	if (st.st_size != 0)
		fail_msg("the library wrote %lld bytes to stdout/stderr", (long long)st.st_size);
	assert_true(log_levels[SGX_QL_LOG_ERROR] >= 2);
	assert_true(log_levels[SGX_QL_LOG_TRACE] >= 1);
	assert_true(az_levels[0] >= 2);  /* Azure's ERROR */
	assert_logged("010203040506");
	assert_logged("/nonexistent/colbundle.conf");
	/* A maximum level filters: ERROR only. */
	log_reset();
	assert_int_equal(q.sgx_ql_set_logging_callback(intel_logger, SGX_QL_LOG_ERROR), SGX_QL_SUCCESS);
	c = get_sgx("processor");
	q.sgx_ql_free_quote_verification_collateral(c);
	assert_int_equal(log_levels[SGX_QL_LOG_TRACE] + log_levels[SGX_QL_LOG_INFO], 0);
	assert_int_equal(q.sgx_ql_set_logging_callback(intel_logger, SGX_QL_LOG_TRACE), SGX_QL_SUCCESS);
}

static void test_qpl_broken_configuration_is_a_logged_config_error(void **state)
{
	(void)state;
	char conf[PATH_MAX + 16];
	xsnprintf(conf, sizeof conf, "%s/broken.conf", fx.work);
	static const struct {
		const char *text;
		quote3_error_t rc;
		const char *logged;
	} cases[] = {
		{"bundle = x.colb\ncolour = blue\n", SGX_QL_CONFIG_INVALID_JSON, "broken.conf:2"},
		{"bundle\n", SGX_QL_CONFIG_INVALID_JSON, "broken.conf:1"},
		{"trust = nope.pub\n", SGX_QL_CONFIG_INVALID_JSON, "no 'bundle'"},
		{"bundle = /nonexistent/b.colb\n", SGX_QL_CONFIG_INVALID_JSON, "no trusted publisher key"},
		{"bundle = x.colb\ntrust = /nonexistent/k.pub\n", SGX_QL_CONFIG_INVALID_JSON, "/nonexistent/k.pub"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		FILE *f = fopen(conf, "w");
		assert_non_null(f);
		fputs(cases[i].text, f);
		fclose(f);
		use_conf(conf);
		log_reset();
		sgx_ql_qve_collateral_t *c = NULL;
		quote3_error_t rc = q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c);
		if (rc != cases[i].rc)
			fail_msg("configuration %zu: 0x%04x, expected 0x%04x", i, rc, cases[i].rc);
		assert_null(c);
		assert_logged(cases[i].logged);
	}
	/* A bundle that is not there: the service is unavailable. */
	char text[PATH_MAX * 2];
	xsnprintf(text, sizeof text, "bundle = %s/none.colb\ntrust = %s.pub\n", fx.work, fx.key);
	FILE *f = fopen(conf, "w");
	fputs(text, f);
	fclose(f);
	use_conf(conf);
	log_reset();
	sgx_ql_config_t *cfg = NULL;
	uint8_t qe[16] = {0};
	sgx_cpu_svn_t svn = {{0}};
	uint16_t pcesvn = 0;
	sgx_ql_pck_cert_id_t id = {.p_qe3_id = qe, .qe3_id_size = 16, .p_platform_cpu_svn = &svn,
				   .p_platform_pce_isv_svn = &pcesvn};
	assert_int_equal(q.sgx_ql_get_quote_config(&id, &cfg), SGX_QL_SERVICE_UNAVAILABLE);
	assert_logged("none.colb");
	char *s = NULL;
	uint32_t n;
	assert_int_equal(q.sgx_ql_get_qve_identity(&s, &n, &s, &n), SGX_QL_SERVICE_UNAVAILABLE);
	uint8_t *crl = NULL;
	uint16_t crl_size;
	assert_int_equal(q.sgx_ql_get_root_ca_crl(&crl, &crl_size), SGX_QL_SERVICE_UNAVAILABLE);
	assert_null(crl);
	/* Fixed configuration: served again without restarting the process. */
	use_conf(fx.conf);
	sgx_ql_qve_collateral_t *c = get_sgx("platform");
	q.sgx_ql_free_quote_verification_collateral(c);
}

static void test_qpl_environment_overrides_bundle_and_trust(void **state)
{
	(void)state;
	char conf[PATH_MAX + 16], text[PATH_MAX * 2];
	xsnprintf(conf, sizeof conf, "%s/env.conf", fx.work);
	xsnprintf(text, sizeof text, "bundle = /nonexistent/b.colb\nintel_root = %s/roots/intel-root.der\n", fx.pki);
	FILE *f = fopen(conf, "w");
	fputs(text, f);
	fclose(f);
	use_conf(conf);
	sgx_ql_qve_collateral_t *c = NULL;
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c),
			 SGX_QL_CONFIG_INVALID_JSON);
	char pub[PATH_MAX + 8];
	xsnprintf(pub, sizeof pub, "%s.pub", fx.key);
	setenv("COLBUNDLE_BUNDLE", fx.installed, 1);
	setenv("COLBUNDLE_TRUST", pub, 1);
	use_conf(conf);
	c = get_sgx("processor");
	q.sgx_ql_free_quote_verification_collateral(c);
	/* No configuration file at all: the overrides suffice to open the
	 * bundle, but the test root is then not trusted, and collateral that
	 * chains to it is refused as untrusted. */
	use_conf("/nonexistent/colbundle.conf");
	log_reset();
	c = NULL;
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c),
			 SGX_QL_ROOT_CA_UNTRUSTED);
	assert_null(c);
	unsetenv("COLBUNDLE_BUNDLE");
	unsetenv("COLBUNDLE_TRUST");
	use_conf(fx.conf);
}

static void test_qpl_untrusted_or_tampered_bundle_is_root_ca_untrusted(void **state)
{
	(void)state;
	char other[PATH_MAX + 8], bad[PATH_MAX + 16], conf[PATH_MAX + 16];
	xsnprintf(other, sizeof other, "%s/other", fx.work);
	char err[256];
	if (colb_keygen(other, NULL, err, sizeof err) != COLB_OK)
		fail_msg("keygen: %s", err);
	/* Signed by a key the site does not trust. */
	xsnprintf(bad, sizeof bad, "%s/untrusted.colb", fx.work);
	make_bundle(bad, "standard", 300, other);
	char text[PATH_MAX * 3];
	xsnprintf(text, sizeof text, "bundle = %s\ntrust = %s.pub\nintel_root = %s/roots/intel-root.der\n", bad, fx.key,
		 fx.pki);
	xsnprintf(conf, sizeof conf, "%s/bad.conf", fx.work);
	FILE *f = fopen(conf, "w");
	fputs(text, f);
	fclose(f);
	use_conf(conf);
	log_reset();
	sgx_ql_qve_collateral_t *c = NULL;
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c),
			 SGX_QL_ROOT_CA_UNTRUSTED);
	assert_null(c);
	assert_logged("untrusted.colb");
	/* One byte changed near the end (in the payload). */
	xsnprintf(bad, sizeof bad, "%s/tampered.colb", fx.work);
	assert_int_equal(t_sh("cp '%s' '%s'", fx.bundle_a, bad), 0);
	struct stat st;
	assert_int_equal(stat(bad, &st), 0);
	int fd = open(bad, O_RDWR);
	uint8_t byte;
	assert_int_equal(pread(fd, &byte, 1, st.st_size - 100), 1);
	byte ^= 0x40;
	assert_int_equal(pwrite(fd, &byte, 1, st.st_size - 100), 1);
	close(fd);
	xsnprintf(text, sizeof text, "bundle = %s\ntrust = %s.pub\nintel_root = %s/roots/intel-root.der\n", bad, fx.key,
		 fx.pki);
	f = fopen(conf, "w");
	fputs(text, f);
	fclose(f);
	use_conf(conf);
	log_reset();
	char *s = NULL;
	uint32_t n;
	assert_int_equal(q.sgx_ql_get_qve_identity(&s, &n, &s, &n), SGX_QL_ROOT_CA_UNTRUSTED);
	assert_logged("tampered.colb");
	use_conf(fx.conf);
}

static void test_qpl_stale_collateral_follows_the_freshness_policy(void **state)
{
	(void)state;
	char bundle[PATH_MAX + 16], conf[PATH_MAX + 16], text[PATH_MAX * 3];
	xsnprintf(bundle, sizeof bundle, "%s/stale.colb", fx.work);
	xsnprintf(conf, sizeof conf, "%s/stale.conf", fx.work);
	struct stat st;
	assert_int_equal(stat(t_path(fx.pki_old, ".stamp"), &st), 0);
	/* Packed while it was fresh (two days after it was issued). */
	make_bundle_of(fx.pki_old, time(NULL) - 38 * 86400, bundle, "standard", 50, fx.key);
	static const char *const policies[] = {"warn", "enforce"};
	for (int i = 0; i < 2; i++) {
		xsnprintf(text, sizeof text,
			  "bundle = %s\ntrust = %s.pub\nintel_root = %s/roots/intel-root.der\nfreshness = %s\n", bundle,
			  fx.key, fx.pki_old, policies[i]);
		FILE *f = fopen(conf, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
		use_conf(conf);
		log_reset();
		sgx_ql_qve_collateral_t *c = NULL;
		quote3_error_t rc = q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c);
		if (i == 0) {
			/* Served: the QvE judges the dates; the library says why it served. */
			if (rc != SGX_QL_SUCCESS)
				fail_msg("freshness = warn: 0x%04x, expected success; log:\n%s", rc, log_text);
			assert_logged("past its nextUpdate");
			q.sgx_ql_free_quote_verification_collateral(c);
		} else {
			assert_int_equal(rc, SGX_QL_UNABLE_TO_GET_COLLATERAL);
			assert_null(c);
			assert_logged("UNABLE_TO_GET_COLLATERAL");
		}
	}
	use_conf(fx.conf);
}

static void test_qpl_switches_to_a_newly_installed_bundle(void **state)
{
	(void)state;
	install_bundle(fx.bundle_a);
	use_conf(fx.conf);
	expect xa, xb;
	expect_load(&xa, false, fx.fmspc_hex, "processor", fx.standard);
	expect_load(&xb, false, fx.fmspc_hex, "processor", fx.early);
	sgx_ql_qve_collateral_t *c = get_sgx("processor");
	assert_collateral(c, false, &xa);
	q.sgx_ql_free_quote_verification_collateral(c);
	install_bundle(fx.bundle_b);
	c = get_sgx("processor");
	assert_collateral(c, false, &xb);
	q.sgx_ql_free_quote_verification_collateral(c);
	/* A tampered install is refused and logged; the verified one stays. */
	char bad[PATH_MAX + 16];
	xsnprintf(bad, sizeof bad, "%s/tampered-b.colb", fx.work);
	assert_int_equal(t_sh("cp '%s' '%s' && printf 'X' | dd of='%s' bs=1 seek=200 conv=notrunc 2>/dev/null",
			      fx.bundle_b, bad, bad), 0);
	log_reset();
	install_bundle(bad);
	for (int i = 0; i < 3; i++) {
		c = get_sgx("processor");
		assert_collateral(c, false, &xb);
		q.sgx_ql_free_quote_verification_collateral(c);
	}
	assert_logged("refused");
	pthread_mutex_lock(&log_lock);
	int errors = log_levels[SGX_QL_LOG_ERROR];
	pthread_mutex_unlock(&log_lock);
	assert_int_equal(errors, 1); /* judged once, not at every call */
	/* Back to A (a lower version: no state file here, so accepted). */
	install_bundle(fx.bundle_a);
	c = get_sgx("processor");
	assert_collateral(c, false, &xa);
	q.sgx_ql_free_quote_verification_collateral(c);
	expect_free(&xa);
	expect_free(&xb);
}

/* ---- concurrency ------------------------------------------------------------------------------ */

typedef struct worker {
	pthread_t tid;
	unsigned calls, done;
	unsigned seen_a, seen_b, torn, errors;
	quote3_error_t first_error;
	bool went_back;
} worker;

static expect conc_a, conc_b;
static atomic_uint conc_done;
static atomic_bool conc_installed;

static bool same_as(const sgx_ql_qve_collateral_t *c, const expect *x)
{
	return c->tcb_info_size == x->tcb_len + 1 && !memcmp(c->tcb_info, x->tcb, x->tcb_len) &&
	       c->qe_identity_size == x->qe_len + 1 && !memcmp(c->qe_identity, x->qe, x->qe_len) &&
	       c->pck_crl_size == x->crl_len + 1 && !memcmp(c->pck_crl, x->crl, x->crl_len) &&
	       c->root_ca_crl_size == x->root_len + 1 && !memcmp(c->root_ca_crl, x->root, x->root_len) &&
	       c->tcb_info_issuer_chain_size == strlen(x->tcb_chain) + 1 &&
	       !memcmp(c->tcb_info_issuer_chain, x->tcb_chain, strlen(x->tcb_chain)) &&
	       c->qe_identity_issuer_chain_size == strlen(x->qe_chain) + 1 &&
	       !memcmp(c->qe_identity_issuer_chain, x->qe_chain, strlen(x->qe_chain)) &&
	       c->pck_crl_issuer_chain_size == strlen(x->crl_chain) + 1 &&
	       !memcmp(c->pck_crl_issuer_chain, x->crl_chain, strlen(x->crl_chain));
}

static void *conc_worker(void *arg)
{
	worker *w = arg;
	/* The calls asked for, and then on until this thread has seen the new
	 * bundle (an install may take longer than the calls, under valgrind):
	 * every thread must switch. A minute at most. */
	time_t give_up = time(NULL) + 60;
	for (unsigned i = 0; i < w->calls || (!w->seen_b && time(NULL) < give_up); i++, w->done++) {
		sgx_ql_qve_collateral_t *c = NULL;
		quote3_error_t rc = q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c);
		if (rc) {
			if (!w->errors++)
				w->first_error = rc;
		} else if (same_as(c, &conc_b)) {
			w->seen_b++;
		} else if (same_as(c, &conc_a)) {
			w->went_back |= w->seen_b > 0;
			w->seen_a++;
		} else {
			w->torn++;
		}
		q.sgx_ql_free_quote_verification_collateral(c);
		atomic_fetch_add_explicit(&conc_done, 1, memory_order_relaxed);
		if (i >= w->calls && !atomic_load(&conc_installed)) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* 8 threads x QPL_TEST_CALLS calls; bundle B is installed when half of all
 * calls are done, by renaming a file over the configured one, or by
 * installing it into the configured store. */
static void concurrent_calls_across_an_install(bool store)
{
	unsigned calls = 10000;
	const char *e = getenv("QPL_TEST_CALLS");
	if (e && atoi(e) > 0)
		calls = (unsigned)atoi(e);
	if (store) {
		assert_int_equal(t_sh("rm -rf '%s'", fx.store), 0);
		store_install(fx.bundle_a);
		use_conf(fx.store_conf);
	} else {
		install_bundle(fx.bundle_a);
		use_conf(fx.conf);
	}
	expect_load(&conc_a, false, fx.fmspc_hex, "processor", fx.standard);
	expect_load(&conc_b, false, fx.fmspc_hex, "processor", fx.early);
	/* The first open happens before the threads start, as in a warm QVL. */
	sgx_ql_qve_collateral_t *c = get_sgx("processor");
	q.sgx_ql_free_quote_verification_collateral(c);
	/* INFO: the switch is logged, the 80,000 per-call traces are not. */
	assert_int_equal(q.sgx_ql_set_logging_callback(intel_logger, SGX_QL_LOG_INFO), SGX_QL_SUCCESS);
	log_reset();
	atomic_store(&conc_done, 0);
	atomic_store(&conc_installed, false);
	worker w[NTHREADS];
	memset(w, 0, sizeof w);
	for (int i = 0; i < NTHREADS; i++) {
		w[i].calls = calls;
		assert_int_equal(pthread_create(&w[i].tid, NULL, conc_worker, &w[i]), 0);
	}
	/* Install B when half of all calls are done. */
	while (atomic_load(&conc_done) < NTHREADS * calls / 2) {
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
	if (store)
		store_install(fx.bundle_b);
	else
		install_bundle(fx.bundle_b);
	atomic_store(&conc_installed, true);
	unsigned a = 0, b = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].tid, NULL);
		if (w[i].errors)
			fail_msg("thread %d: %u errors, the first 0x%04x; log:\n%s", i, w[i].errors, w[i].first_error,
				 log_text);
		if (w[i].torn)
			fail_msg("thread %d: %u answers were neither bundle A's nor bundle B's", i, w[i].torn);
		if (w[i].went_back)
			fail_msg("thread %d: served the old bundle after the new one", i);
		if (!w[i].seen_b)
			fail_msg("thread %d never saw the new bundle in %u calls", i, w[i].done);
		assert_int_equal(w[i].seen_a + w[i].seen_b, w[i].done);
		assert_true(w[i].done >= calls);
		a += w[i].seen_a;
		b += w[i].seen_b;
	}
	print_message("# %s: %u calls on bundle A, %u on bundle B, %d threads\n", store ? "store" : "file", a, b,
		      NTHREADS);
	assert_true(a > 0);
	assert_true(b > 0);
	c = get_sgx("processor");
	assert_true(same_as(c, &conc_b));
	q.sgx_ql_free_quote_verification_collateral(c);
	assert_logged("switched from bundle version 100 to version 200");
	assert_int_equal(q.sgx_ql_set_logging_callback(intel_logger, SGX_QL_LOG_TRACE), SGX_QL_SUCCESS);
	expect_free(&conc_a);
	expect_free(&conc_b);
	use_conf(fx.conf);
}

static void test_qpl_concurrent_calls_while_a_new_bundle_is_installed(void **state)
{
	(void)state;
	concurrent_calls_across_an_install(false);
}

static void test_qpl_concurrent_calls_while_the_store_installs_a_new_bundle(void **state)
{
	(void)state;
	concurrent_calls_across_an_install(true);
}

static void test_qpl_serves_the_site_store_and_follows_its_installs(void **state)
{
	(void)state;
	assert_int_equal(t_sh("rm -rf '%s'", fx.store), 0);
	/* No bundle installed yet. */
	use_conf(fx.store_conf);
	log_reset();
	sgx_ql_qve_collateral_t *c = NULL;
	assert_int_equal(q.sgx_ql_get_quote_verification_collateral(fx.fmspc, 6, "processor", &c),
			 SGX_QL_SERVICE_UNAVAILABLE);
	assert_null(c);
	assert_logged(fx.store);
	/* The store's keyset is the trust: the configuration names no key. */
	store_install(fx.bundle_a);
	expect xa, xb;
	expect_load(&xa, false, fx.fmspc_hex, "processor", fx.standard);
	expect_load(&xb, false, fx.fmspc_hex, "processor", fx.early);
	c = get_sgx("processor");
	assert_collateral(c, false, &xa);
	assert_collateral_verifies(c);
	q.sgx_ql_free_quote_verification_collateral(c);
	store_install(fx.bundle_b);
	c = get_sgx("processor");
	assert_collateral(c, false, &xb);
	q.sgx_ql_free_quote_verification_collateral(c);
	/* COLBUNDLE_BUNDLE naming the store directory works the same. */
	setenv("COLBUNDLE_BUNDLE", fx.store, 1);
	use_conf(fx.conf);
	c = get_sgx("processor");
	assert_collateral(c, false, &xb);
	q.sgx_ql_free_quote_verification_collateral(c);
	unsetenv("COLBUNDLE_BUNDLE");
	expect_free(&xa);
	expect_free(&xb);
	use_conf(fx.conf);
}

static void test_qpl_clear_cache_and_cleanup_reopen_the_bundle(void **state)
{
	(void)state;
	install_bundle(fx.bundle_a);
	use_conf(fx.conf);
	log_reset();
	sgx_ql_qve_collateral_t *c = get_sgx("processor");
	q.sgx_ql_free_quote_verification_collateral(c);
	assert_logged("serving bundle");
	assert_int_equal(q.sgx_qpl_clear_cache(0), SGX_QL_SUCCESS); /* nothing named: nothing cleared */
	log_reset();
	c = get_sgx("processor");
	q.sgx_ql_free_quote_verification_collateral(c);
	pthread_mutex_lock(&log_lock);
	bool reopened = strstr(log_text, "serving bundle") != NULL;
	pthread_mutex_unlock(&log_lock);
	assert_false(reopened);
	assert_int_equal(q.sgx_qpl_global_cleanup(), SGX_QL_SUCCESS);
	assert_int_equal(q.sgx_qpl_global_init(), SGX_QL_SUCCESS);
	log_reset();
	c = get_sgx("processor");
	q.sgx_ql_free_quote_verification_collateral(c);
	assert_logged("serving bundle");
}

int main(int argc, char **argv)
{
	fixture_paths();
	if (!getenv("QPL_TEST_CHILD")) {
		prepare_pki(fx.pki, 0);
		prepare_pki(fx.pki_old, 40);
		install_library();
		if (argc > 1 && !strcmp(argv[1], "--prepare"))
			return 0;
		/* Re-executed so that the dynamic loader searches the install prefix
		 * by name, as for an installed library. */
		setenv("LD_LIBRARY_PATH", fx.libdir, 1);
		setenv("QPL_TEST_CHILD", "1", 1);
		fflush(stdout);
		execv("/proc/self/exe", argv);
		die("re-exec failed: %s", strerror(errno));
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qpl_exports_exactly_the_abi),
		cmocka_unit_test(test_qpl_sgx_collateral_is_the_bundles_bytes_and_verifies),
		cmocka_unit_test(test_qpl_collateral_matches_colbundle_cat),
		cmocka_unit_test(test_qpl_every_fmspc_of_the_fleet_is_served),
		cmocka_unit_test(test_qpl_tdx_collateral_is_version_4_with_td_qe_identity),
		cmocka_unit_test(test_qpl_with_params_selects_the_evaluation_number),
		cmocka_unit_test(test_qpl_site_baseline_comes_from_the_configuration),
		cmocka_unit_test(test_qpl_bad_arguments_are_invalid_parameter),
		cmocka_unit_test(test_qpl_free_functions_accept_null),
		cmocka_unit_test(test_qpl_unknown_fmspc_is_no_quote_collateral_data),
		cmocka_unit_test(test_qpl_quote_config_selects_the_pck_cert_for_the_raw_tcb),
		cmocka_unit_test(test_qpl_unknown_platform_is_no_platform_cert_data),
		cmocka_unit_test(test_qpl_qve_identity_and_root_ca_crl_are_the_bundles),
		cmocka_unit_test(test_qpl_logs_only_through_the_callbacks),
		cmocka_unit_test(test_qpl_broken_configuration_is_a_logged_config_error),
		cmocka_unit_test(test_qpl_environment_overrides_bundle_and_trust),
		cmocka_unit_test(test_qpl_untrusted_or_tampered_bundle_is_root_ca_untrusted),
		cmocka_unit_test(test_qpl_stale_collateral_follows_the_freshness_policy),
		cmocka_unit_test(test_qpl_switches_to_a_newly_installed_bundle),
		cmocka_unit_test(test_qpl_concurrent_calls_while_a_new_bundle_is_installed),
		cmocka_unit_test(test_qpl_serves_the_site_store_and_follows_its_installs),
		cmocka_unit_test(test_qpl_concurrent_calls_while_the_store_installs_a_new_bundle),
		cmocka_unit_test(test_qpl_clear_cache_and_cleanup_reopen_the_bundle),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
