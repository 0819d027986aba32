/*
 * bench_site.c — how fast a reader gets its first byte from an installed
 * bundle: colb_bundle_open_store (the store's fast path) beside
 * colb_bundle_open_file (full verification of the same bundle), in the same
 * run, for 1,000 and 10,000 files of PCK-certificate size (~17 KB of JSON
 * text each, as Intel's pckcerts answers for one platform). Target: the
 * first answer of a fresh reader in < 100 ms for 10,000 platforms.
 *
 * Times are medians of several runs; CPU time (this thread) is shown beside
 * wall time because the machine may be shared.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "colbundle.h"

static double now(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return v[n / 2];
}

/* ~17 KB of pckcerts-like JSON for platform i: hex-heavy, so it compresses
 * about as well as the real thing. */
static size_t fake_pckcerts(unsigned i, char *out, size_t cap)
{
	size_t n = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
	n += (size_t)snprintf(out + n, cap - n, "[");
	for (int c = 0; c < 8 && n + 2200 < cap; c++) {
		n += (size_t)snprintf(out + n, cap - n, "%s{\"tcb\":{\"sgxtcbcomp01svn\":%d,\"pcesvn\":%d},"
				      "\"tcbm\":\"%016llX\",\"cert\":\"-----BEGIN CERTIFICATE-----\\n",
				      c ? "," : "", c + 1, 13 - c, (unsigned long long)x);
		/* certificates of one fleet share issuer, extensions and layout:
		 * a common body with per-certificate keys, ids and signatures */
		for (int k = 0; k < 1900; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			bool own = (k % 19) < 3;
			out[n++] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
				[own ? (x & 63) : (unsigned)(k * 7 + k / 64) & 63];
		}
		n += (size_t)snprintf(out + n, cap - n, "\\n-----END CERTIFICATE-----\\n\"}");
	}
	n += (size_t)snprintf(out + n, cap - n, "]");
	return n;
}

static int run(const char *dir, unsigned files)
{
	char key[600], bundle[600], store[600], err[512];
	snprintf(key, sizeof key, "%s/k%u", dir, files);
	snprintf(bundle, sizeof bundle, "%s/b%u.colb", dir, files);
	snprintf(store, sizeof store, "%s/store%u", dir, files);
	if (colb_keygen(key, NULL, err, sizeof err)) {
		fprintf(stderr, "keygen: %s\n", err);
		return 1;
	}
	colb_writer *w = colb_writer_new();
	char *buf = malloc(20000);
	uint64_t content = 0;
	for (unsigned i = 0; i < files; i++) {
		char path[64];
		snprintf(path, sizeof path, "other/p%05u.json", i);
		size_t n = fake_pckcerts(i, buf, 20000);
		content += n;
		if (colb_writer_add_file(w, path, (const uint8_t *)buf, n, NULL, NULL)) {
			fprintf(stderr, "add: %s\n", colb_writer_error(w));
			return 1;
		}
	}
	free(buf);
	char kp[700], pp[700];
	snprintf(kp, sizeof kp, "%s.key", key);
	snprintf(pp, sizeof pp, "%s.pub", key);
	colb_seckey *sk = NULL;
	if (colb_seckey_load(kp, NULL, &sk, err, sizeof err) || colb_writer_finish(w, sk, bundle)) {
		fprintf(stderr, "create: %s %s\n", err, colb_writer_error(w));
		return 1;
	}
	colb_seckey_free(sk);
	colb_writer_free(w);
	colb_trust *t = colb_trust_new();
	if (colb_trust_add_pubkey_file(t, pp, err, sizeof err))
		return 1;
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, t);
	colb_install_result res;
	double t0 = now(CLOCK_MONOTONIC);
	if (colb_store_install(store, bundle, o, 0, &res, err, sizeof err)) {
		fprintf(stderr, "install: %s\n", err);
		return 1;
	}
	double install_ms = now(CLOCK_MONOTONIC) - t0;

	enum { RUNS = 3 };
	double full[RUNS], full_cpu[RUNS], fast[RUNS], fast_cpu[RUNS], first[RUNS];
	char path0[64];
	snprintf(path0, sizeof path0, "other/p%05u.json", files / 2);
	for (int r = 0; r < RUNS; r++) {
		colb_bundle *b = colb_bundle_new(o);
		double a = now(CLOCK_MONOTONIC), ac = now(CLOCK_THREAD_CPUTIME_ID);
		if (colb_bundle_open_file(b, bundle))
			return 1;
		full[r] = now(CLOCK_MONOTONIC) - a;
		full_cpu[r] = now(CLOCK_THREAD_CPUTIME_ID) - ac;
		colb_bundle_free(b);

		b = colb_bundle_new(o);
		a = now(CLOCK_MONOTONIC);
		ac = now(CLOCK_THREAD_CPUTIME_ID);
		if (colb_bundle_open_store(b, store)) {
			fprintf(stderr, "open_store: %s\n", colb_bundle_error(b));
			return 1;
		}
		fast[r] = now(CLOCK_MONOTONIC) - a;
		fast_cpu[r] = now(CLOCK_THREAD_CPUTIME_ID) - ac;
		const uint8_t *d;
		size_t n;
		a = now(CLOCK_MONOTONIC);
		if (colb_bundle_read(b, path0, &d, &n))
			return 1;
		first[r] = now(CLOCK_MONOTONIC) - a;
		colb_bundle_free(b);
	}
	double f = median(fast, RUNS), fc = median(fast_cpu, RUNS), s = median(full, RUNS),
	       sc = median(full_cpu, RUNS);
	FILE *bf = fopen(bundle, "rb");
	long bsize = 0;
	if (bf) {
		fseek(bf, 0, SEEK_END);
		bsize = ftell(bf);
		fclose(bf);
	}
	printf("site %5u files: bundle %.1f MB (%.1f MB of files), install %.0f ms\n", files, bsize / 1e6,
	       (double)content / 1e6, install_ms);
	printf("  open_file   %7.1f ms (cpu %6.1f ms)  full verification, the baseline\n", s, sc);
	printf("  open_store  %7.1f ms (cpu %6.1f ms)  ratio %.2f of open_file; first read %.3f ms; "
	       "target < %d ms: %s\n",
	       f, fc, f / s, median(first, RUNS), files >= 10000 ? 100 : 20,
	       fc + median(first, RUNS) < (files >= 10000 ? 100 : 20) ? "met (cpu)" : "NOT met (cpu)");
	colb_opts_free(o);
	colb_trust_free(t);
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/colb-bench-site.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	int rc = run(dir, 1000) || run(dir, 10000);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' && rm -rf '%s'", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
