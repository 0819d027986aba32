/*
 * bench_qpl.c — libdcap_quoteprov.so.1: what a DCAP verifier pays for its
 * collateral.
 *
 * Figures (targets in brackets):
 *   - warm: median latency of sgx_ql_get_quote_verification_collateral once
 *     the bundle is open [< 5 us], served from a site store and from a file;
 *   - first call in a fresh process (dlopen, configuration, opening and
 *     verifying the bundle, the first item), for a 1,000- and a
 *     10,000-platform bundle [< 20 ms, < 100 ms], from a store and from a
 *     file (the file must be inflated and hashed whole: the store exists
 *     for this);
 *   - beside them, in the same run, the same collateral over loopback HTTP
 *     from `colbundle serve` of the same store (the four requests a PCCS
 *     client makes: pckcrl, tcb, qe/identity, rootcacrl, on one keep-alive
 *     connection), as a ratio to the library's warm call.
 *
 *   B=build build/bench/bench_qpl [--platforms 1000,10000] [--calls N] [--runs N]
 *
 * The synthetic PKIs, bundles and stores are made once into $B/bench/qpl
 * (colb-pkigen at today's date; regenerated after 7 days) and reused: the
 * 10,000-platform PKI takes minutes to generate.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "colbundle.h"
#include "qpl/sgx_ql_types.h"

#define FIXTURE_MAX_AGE (7 * 86400)

typedef __typeof__(sgx_ql_get_quote_verification_collateral) get_fn;
typedef __typeof__(sgx_ql_free_quote_verification_collateral) free_fn;

static char top[1024], build[1536], dir[2048], lib[2048];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static bool fresh(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && time(NULL) - st.st_mtime < FIXTURE_MAX_AGE;
}

/* ---- fixtures ----------------------------------------------------------------------- */

#define FPATH 2560

typedef struct fleet {
	unsigned n;
	char pki[FPATH];
	char key[FPATH];
	char bundle[FPATH];
	char store[FPATH];
	char conf_store[FPATH];
	char conf_file[FPATH];
	uint8_t fmspc[6];
	char fmspc_hex[13];
} fleet;

static colb_trust *fleet_trust(const fleet *f, bool with_key)
{
	char path[PATH_MAX + 64], err[512];
	colb_trust *t = colb_trust_new();
	snprintf(path, sizeof path, "%s/roots/intel-root.der", f->pki);
	FILE *fp = fopen(path, "rb");
	uint8_t der[8192];
	size_t len = fp ? fread(der, 1, sizeof der, fp) : 0;
	if (fp)
		fclose(fp);
	if (!len || colb_trust_add_intel_root(t, der, len) != COLB_OK)
		return colb_trust_free(t), NULL;
	snprintf(path, sizeof path, "%s.pub", f->key);
	if (with_key && colb_trust_add_pubkey_file(t, path, err, sizeof err) != COLB_OK) {
		fprintf(stderr, "bench_qpl: %s\n", err);
		return colb_trust_free(t), NULL;
	}
	return t;
}

static int make_fleet(fleet *f)
{
	char stamp[PATH_MAX + 16], err[512];
	snprintf(f->pki, sizeof f->pki, "%s/pki-%u", dir, f->n);
	snprintf(f->key, sizeof f->key, "%s/publisher", dir);
	snprintf(f->bundle, sizeof f->bundle, "%s/bundle-%u.colb", dir, f->n);
	snprintf(f->store, sizeof f->store, "%s/store-%u", dir, f->n);
	snprintf(f->conf_store, sizeof f->conf_store, "%s/store-%u.conf", dir, f->n);
	snprintf(f->conf_file, sizeof f->conf_file, "%s/file-%u.conf", dir, f->n);
	snprintf(stamp, sizeof stamp, "%s/.stamp", f->pki);
	bool remade = false;
	if (!fresh(stamp)) {
		time_t t = time(NULL);
		t -= t % 86400;
		char iso[32];
		strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		fprintf(stderr, "bench_qpl: generating a %u-platform PKI (once; this takes a while)\n", f->n);
		if (sh("rm -rf '%s' && '%s/colb-pkigen' --out '%s' --seed bench-qpl --intel %u --amd 0 --now %s "
		       ">/dev/null && touch '%s'", f->pki, build, f->pki, f->n, iso, stamp) != 0)
			return fprintf(stderr, "bench_qpl: colb-pkigen failed\n"), -1;
		remade = true;
	}
	char pub[PATH_MAX + 8];
	snprintf(pub, sizeof pub, "%s.pub", f->key);
	if (access(pub, R_OK) != 0 && colb_keygen(f->key, NULL, err, sizeof err) != COLB_OK)
		return fprintf(stderr, "bench_qpl: keygen: %s\n", err), -1;
	struct stat sb, ss;
	if (remade || stat(f->bundle, &sb) != 0 || stat(stamp, &ss) != 0 || sb.st_mtime < ss.st_mtime) {
		fprintf(stderr, "bench_qpl: packing the %u-platform bundle\n", f->n);
		colb_trust *t = fleet_trust(f, false);
		colb_intel_input *in = t ? colb_intel_input_new(t, 0) : NULL;
		char intel[PATH_MAX + 8], key[PATH_MAX + 8];
		snprintf(intel, sizeof intel, "%s/intel", f->pki);
		snprintf(key, sizeof key, "%s.key", f->key);
		colb_writer *w = colb_writer_new();
		colb_seckey *k = NULL;
		if (!in || colb_intel_input_add_dir(in, intel) != COLB_OK || colb_intel_input_write(in, w) != COLB_OK) {
			fprintf(stderr, "bench_qpl: %s\n", in ? colb_intel_input_error(in) : "no trust");
			return -1;
		}
		if (colb_writer_set_publisher(w, "bench") != COLB_OK ||
		    colb_seckey_load(key, NULL, &k, err, sizeof err) != COLB_OK ||
		    colb_writer_finish(w, k, f->bundle) != COLB_OK) {
			fprintf(stderr, "bench_qpl: packing: %s %s\n", err, colb_writer_error(w));
			return -1;
		}
		colb_seckey_free(k);
		colb_writer_free(w);
		colb_intel_input_free(in);
		colb_trust_free(t);
		if (sh("chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", f->store, f->store) != 0)
			return -1;
	}
	/* A store made by an older build may not open with this one: made anew. */
	colb_trust *tt = fleet_trust(f, true);
	colb_opts *to = colb_opts_new();
	colb_opts_set_trust(to, tt);
	colb_bundle *tb = colb_bundle_new(to);
	bool usable = tb && colb_bundle_open_store(tb, f->store) == COLB_OK;
	colb_bundle_free(tb);
	colb_opts_free(to);
	colb_trust_free(tt);
	if (!usable) {
		fprintf(stderr, "bench_qpl: installing the %u-platform bundle into a store\n", f->n);
		if (sh("chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", f->store, f->store) != 0)
			return -1;
		colb_trust *t = fleet_trust(f, true);
		colb_opts *o = colb_opts_new();
		colb_opts_set_trust(o, t);
		colb_install_result res;
		if (!t || colb_store_install(f->store, f->bundle, o, COLB_INSTALL_WAIT, &res, err, sizeof err) != COLB_OK)
			return fprintf(stderr, "bench_qpl: install: %s\n", err), -1;
		colb_opts_free(o);
		colb_trust_free(t);
	}
	FILE *c = fopen(f->conf_store, "w");
	if (!c)
		return -1;
	fprintf(c, "store = %s\nintel_root = %s/roots/intel-root.der\n", f->store, f->pki);
	fclose(c);
	if (!(c = fopen(f->conf_file, "w")))
		return -1;
	fprintf(c, "bundle = %s\ntrust = %s.pub\nintel_root = %s/roots/intel-root.der\n", f->bundle, f->key, f->pki);
	fclose(c);
	/* The FMSPC of the first platform (its pckcerts header). */
	char cmd[PATH_MAX * 2];
	snprintf(cmd, sizeof cmd, "ls '%s/intel/sgx/tcb' | head -1", f->pki);
	FILE *p = popen(cmd, "r");
	if (!p || !fgets(f->fmspc_hex, sizeof f->fmspc_hex, p) || strlen(f->fmspc_hex) != 12)
		return fprintf(stderr, "bench_qpl: no FMSPC in %s\n", f->pki), -1;
	pclose(p);
	for (int i = 0; i < 6; i++)
		sscanf(f->fmspc_hex + 2 * i, "%2hhx", &f->fmspc[i]);
	return 0;
}

/* ---- the library in this process ----------------------------------------------------- */

/* --first-call FMSPC: what a fresh verifier process pays. Prints the dlopen
 * time and the first call's wall and CPU time, in ms (the CPU time is what
 * the call costs on an idle machine; the wall time includes waiting for a
 * busy one). */
static int first_call(const char *fmspc_hex)
{
	uint8_t fm[6];
	for (int i = 0; i < 6; i++)
		sscanf(fmspc_hex + 2 * i, "%2hhx", &fm[i]);
	double t0 = now_ms();
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return fprintf(stderr, "dlopen: %s\n", dlerror()), 1;
	get_fn *get = (get_fn *)dlsym(h, "sgx_ql_get_quote_verification_collateral");
	free_fn *fr = (free_fn *)dlsym(h, "sgx_ql_free_quote_verification_collateral");
	double t1 = now_ms(), c1 = cpu_ms();
	sgx_ql_qve_collateral_t *c = NULL;
	quote3_error_t rc = get(fm, 6, "processor", &c);
	double t2 = now_ms(), c2 = cpu_ms();
	fr(c);
	if (rc)
		return fprintf(stderr, "first call: 0x%04x\n", rc), 1;
	printf("%.3f %.3f %.3f\n", t1 - t0, t2 - t1, c2 - c1);
	return 0;
}

static int fresh_process(const fleet *f, const char *conf, unsigned runs, double *dl, double *first, double *cpu)
{
	double *a = calloc(runs, sizeof *a), *b = calloc(runs, sizeof *b), *c = calloc(runs, sizeof *c);
	for (unsigned r = 0; r < runs; r++) {
		char cmd[PATH_MAX * 3];
		snprintf(cmd, sizeof cmd, "COLBUNDLE_CONF='%s' '%s/bench/bench_qpl' --first-call %s", conf, build,
			 f->fmspc_hex);
		FILE *p = popen(cmd, "r");
		if (!p || fscanf(p, "%lf %lf %lf", &a[r], &b[r], &c[r]) != 3) {
			if (p)
				pclose(p);
			free(a);
			free(b);
			free(c);
			return -1;
		}
		pclose(p);
	}
	*dl = median(a, runs);
	*first = median(b, runs);
	*cpu = median(c, runs);
	free(a);
	free(b);
	free(c);
	return 0;
}

typedef struct tput {
	get_fn *get;
	free_fn *fr;
	const uint8_t *fmspc;
	unsigned calls;
	int failed;
} tput;

static void *tput_worker(void *arg)
{
	tput *t = arg;
	for (unsigned i = 0; i < t->calls; i++) {
		sgx_ql_qve_collateral_t *c = NULL;
		if (t->get(t->fmspc, 6, "processor", &c))
			t->failed = 1;
		t->fr(c);
	}
	return NULL;
}

#define TPUT_THREADS 8

/* Calls per second of n threads sharing the open bundle. */
static double throughput(get_fn *get, free_fn *fr, const uint8_t *fmspc, unsigned calls, int n)
{
	pthread_t tid[TPUT_THREADS];
	tput t[TPUT_THREADS];
	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
		t[i] = (tput){get, fr, fmspc, calls / (unsigned)n, 0};
		pthread_create(&tid[i], NULL, tput_worker, &t[i]);
	}
	int failed = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		failed |= t[i].failed;
	}
	double ms = now_ms() - t0;
	return failed ? -1 : (calls / (unsigned)n) * (unsigned)n / (ms / 1e3);
}

static int warm(const fleet *f, const char *conf, unsigned calls, double *med_us, double *p99_us, double per_s[2])
{
	setenv("COLBUNDLE_CONF", conf, 1);
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return fprintf(stderr, "dlopen: %s\n", dlerror()), -1;
	get_fn *get = (get_fn *)dlsym(h, "sgx_ql_get_quote_verification_collateral");
	free_fn *fr = (free_fn *)dlsym(h, "sgx_ql_free_quote_verification_collateral");
	__typeof__(sgx_qpl_clear_cache) *clear = dlsym(h, "sgx_qpl_clear_cache");
	clear(SGX_QPL_CACHE_QV_COLLATERAL);
	double *t = calloc(calls, sizeof *t);
	for (unsigned i = 0; i < 1000 + calls; i++) {
		sgx_ql_qve_collateral_t *c = NULL;
		double t0 = now_ms();
		quote3_error_t rc = get(f->fmspc, 6, "processor", &c);
		double t1 = now_ms();
		fr(c);
		if (rc) {
			fprintf(stderr, "bench_qpl: warm call: 0x%04x\n", rc);
			free(t);
			return -1;
		}
		if (i >= 1000)
			t[i - 1000] = (t1 - t0) * 1e3;
	}
	*med_us = median(t, calls);
	*p99_us = t[(size_t)(calls * 0.99)];
	free(t);
	if (per_s) {
		per_s[0] = throughput(get, fr, f->fmspc, calls, 1);
		per_s[1] = throughput(get, fr, f->fmspc, calls, TPUT_THREADS);
	}
	clear(SGX_QPL_CACHE_QV_COLLATERAL);
	dlclose(h);
	return 0;
}

/* ---- the same over loopback HTTP ---------------------------------------------------------- */

static size_t sink(void *p, size_t size, size_t n, void *ud)
{
	(void)p;
	*(size_t *)ud += size * n;
	return size * n;
}

/* `colbundle serve --store` of the same store; the median time of the four
 * requests a PCCS client makes for the same collateral. */
static int http(const fleet *f, unsigned iters, double *med_us)
{
	char portfile[PATH_MAX + 16];
	snprintf(portfile, sizeof portfile, "%s/serve.port", dir);
	unlink(portfile);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char root[PATH_MAX + 32], pub[PATH_MAX + 8], tool[PATH_MAX + 16];
		snprintf(root, sizeof root, "%s/roots/intel-root.der", f->pki);
		snprintf(pub, sizeof pub, "%s.pub", f->key);
		snprintf(tool, sizeof tool, "%s/colbundle", build);
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(tool, "colbundle", "serve", "--store", f->store, "--listen", "127.0.0.1:0", "--port-file",
		      portfile, "--trust", pub, "--intel-root", root, (char *)NULL);
		_exit(127);
	}
	/* serve verifies every item of the bundle before it listens. */
	unsigned port = 0;
	for (int i = 0; i < 12000 && !port; i++) {
		FILE *p = fopen(portfile, "r");
		if (p) {
			if (fscanf(p, "%u", &port) != 1)
				port = 0;
			fclose(p);
		}
		if (!port)
			usleep(10000);
	}
	int rc = -1;
	CURL *c = port ? curl_easy_init() : NULL;
	if (c) {
		char urls[4][256];
		snprintf(urls[0], sizeof urls[0], "http://127.0.0.1:%u/sgx/certification/v4/pckcrl?ca=processor&encoding=der",
			 port);
		snprintf(urls[1], sizeof urls[1], "http://127.0.0.1:%u/sgx/certification/v4/tcb?fmspc=%s", port,
			 f->fmspc_hex);
		snprintf(urls[2], sizeof urls[2], "http://127.0.0.1:%u/sgx/certification/v4/qe/identity", port);
		snprintf(urls[3], sizeof urls[3], "http://127.0.0.1:%u/sgx/certification/v4/rootcacrl", port);
		size_t got = 0;
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		double *t = calloc(iters, sizeof *t);
		rc = 0;
		for (unsigned i = 0; i < 20 + iters && !rc; i++) {
			double t0 = now_ms();
			for (int u = 0; u < 4 && !rc; u++) {
				long status = 0;
				curl_easy_setopt(c, CURLOPT_URL, urls[u]);
				if (curl_easy_perform(c) != CURLE_OK ||
				    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
					fprintf(stderr, "bench_qpl: %s answered %ld\n", urls[u], status);
					rc = -1;
				}
			}
			if (i >= 20)
				t[i - 20] = (now_ms() - t0) * 1e3;
		}
		if (!rc)
			*med_us = median(t, iters);
		free(t);
		curl_easy_cleanup(c);
	} else {
		fprintf(stderr, "bench_qpl: colbundle serve did not start\n");
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return rc;
}

int main(int argc, char **argv)
{
	const char *e = getenv("COLB_TOP");
	snprintf(top, sizeof top, "%.1000s", e ? e : ".");
	e = getenv("B");
	snprintf(build, sizeof build, "%s/%.500s", top, e ? e : "build");
	snprintf(dir, sizeof dir, "%s/bench/qpl", build);
	snprintf(lib, sizeof lib, "%s/libdcap_quoteprov.so.1", build);
	if (argc == 3 && !strcmp(argv[1], "--first-call"))
		return first_call(argv[2]);
	unsigned sizes[4] = {1000, 10000}, nsizes = 2, calls = 200000, runs = 7;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--platforms")) {
			nsizes = 0;
			for (char *p = strtok(argv[i + 1], ","); p && nsizes < 4; p = strtok(NULL, ","))
				sizes[nsizes++] = (unsigned)atoi(p);
		} else if (!strcmp(argv[i], "--calls")) {
			calls = (unsigned)atoi(argv[i + 1]);
		} else if (!strcmp(argv[i], "--runs")) {
			runs = (unsigned)atoi(argv[i + 1]);
		} else {
			fprintf(stderr, "usage: bench_qpl [--platforms 1000,10000] [--calls N] [--runs N]\n");
			return 2;
		}
	}
	if (sh("mkdir -p '%s'", dir) != 0 || !calls || !runs)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int failed = 0;
	double warm_store = 0;
	for (unsigned s = 0; s < nsizes; s++) {
		fleet f = {.n = sizes[s]};
		if (make_fleet(&f) != 0)
			return 1;
		struct stat bs;
		stat(f.bundle, &bs);
		printf("qpl %5u platforms (bundle %.1f MB), FMSPC %s:\n", f.n, bs.st_size / 1e6, f.fmspc_hex);
		double dl, first, cpu, med, p99;
		const double target_first = f.n <= 1000 ? 20 : 100;
		if (fresh_process(&f, f.conf_store, runs, &dl, &first, &cpu) == 0)
			printf("  first call, fresh process, store  %8.2f ms wall, %.2f ms CPU (dlopen %.2f ms)  "
			       "target < %.0f ms%s\n", first, cpu, dl, target_first, first < target_first ? "" : "  MISSED");
		else
			failed = 1;
		if (fresh_process(&f, f.conf_file, runs < 3 ? runs : 3, &dl, &first, &cpu) == 0)
			printf("  first call, fresh process, file   %8.2f ms wall, %.2f ms CPU (dlopen %.2f ms)  "
			       "(the whole .colb inflated and hashed)\n", first, cpu, dl);
		else
			failed = 1;
		double per_s[2];
		if (warm(&f, f.conf_store, calls, &med, &p99, per_s) == 0) {
			printf("  warm call, store                  %8.2f us median, %.2f us p99 (%u calls)  target < 5 us%s\n",
			       med, p99, calls, med < 5 ? "" : "  MISSED");
			printf("  warm calls, store                 %8.0f calls/s on 1 thread, %.0f on %d threads (%ld cores)\n",
			       per_s[0], per_s[1], TPUT_THREADS, sysconf(_SC_NPROCESSORS_ONLN));
			if (s == 0)
				warm_store = med;
		} else {
			failed = 1;
		}
		if (warm(&f, f.conf_file, calls, &med, &p99, NULL) == 0)
			printf("  warm call, file                   %8.2f us median, %.2f us p99\n", med, p99);
		else
			failed = 1;
		if (s == 0) {
			double h;
			if (http(&f, 500, &h) == 0)
				printf("  same collateral over loopback HTTP (colbundle serve, 4 requests, keep-alive) %.1f us "
				       "median: %.0fx the library's warm call\n", h, warm_store > 0 ? h / warm_store : 0);
			else
				failed = 1;
		}
	}
	curl_global_cleanup();
	return failed;
}
