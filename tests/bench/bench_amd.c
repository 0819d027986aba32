/*
 * bench_amd.c — VCEK lookup in an open bundle of a 10,000-chip AMD fleet.
 *
 * Figure: the median time of colb_amd_vcek() for a random (chip, TCB) of the
 * fleet once every VCEK has been verified (warm), target < 5 microseconds.
 * Also printed: the time to validate and pack the fleet (create) and the
 * verification of every VCEK (colb_amd_verify_all, cold).
 *
 *   B=build build/bench/bench_amd [--chips N] [--lookups N]
 *
 * The synthetic PKI is generated once into $B/bench/amd-pki-N and reused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "util/util.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef struct chip {
	colb_amd_product product;
	uint8_t id[64];
	uint64_t tcbm;
} chip;

static colb_err add_arks(colb_trust *t, const char *pki)
{
	static const char *const products[] = {"Milan", "Genoa", "Turin"};
	for (int i = 0; i < 3; i++) {
		char path[4200], why[256];
		uint8_t *der;
		size_t len;
		snprintf(path, sizeof path, "%.4000s/roots/amd-%s-ark.der", pki, products[i]);
		colb_err rc = colb_read_file(path, 1 << 16, &der, &len, why, sizeof why);
		if (rc)
			return rc;
		rc = colb_trust_add_amd_ark(t, der, len);
		free(der);
		if (rc)
			return rc;
	}
	return COLB_OK;
}

int main(int argc, char **argv)
{
	unsigned nchips = 10000;
	size_t nlookups = 200000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--chips"))
			nchips = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--lookups"))
			nlookups = strtoul(argv[i + 1], NULL, 10);
	}
	const char *b = getenv("B") ? getenv("B") : "build";
	char pki[4096], cmd[9000], bundle[4200], keyname[4200], why[1024];
	snprintf(pki, sizeof pki, "%s/bench/amd-pki-%u", b, nchips);
	struct stat sb;
	snprintf(cmd, sizeof cmd, "%s/fleet.json", pki);
	if (stat(cmd, &sb) != 0) {
		double t0 = now_s();
		snprintf(cmd, sizeof cmd, "rm -rf '%s' && '%s/colb-pkigen' --out '%s' --seed bench --intel 0 --amd %u >/dev/null",
			 pki, b, pki, nchips);
		if (system(cmd) != 0) {
			fprintf(stderr, "bench_amd: colb-pkigen failed\n");
			return 1;
		}
		printf("bench_amd: generated %u chips in %.1f s\n", nchips, now_s() - t0);
	}
	time_t at = 1764547200 + 86400; /* the generator's default --now, plus a day */

	/* create: validate every item and pack */
	colb_trust *t = colb_trust_new();
	if (add_arks(t, pki) != COLB_OK) {
		fprintf(stderr, "bench_amd: cannot read the test ARKs\n");
		return 1;
	}
	snprintf(keyname, sizeof keyname, "%s/bench/amd-bench-key", b);
	snprintf(cmd, sizeof cmd, "%s.key", keyname);
	if (stat(cmd, &sb) != 0 && colb_keygen(keyname, NULL, why, sizeof why) != COLB_OK) {
		fprintf(stderr, "bench_amd: keygen: %s\n", why);
		return 1;
	}
	colb_seckey *key = NULL;
	if (colb_seckey_load(cmd, NULL, &key, why, sizeof why) != COLB_OK) {
		fprintf(stderr, "bench_amd: %s\n", why);
		return 1;
	}
	double t0 = now_s();
	colb_amd_input *in = colb_amd_input_new(t, at);
	colb_writer *w = colb_writer_new();
	snprintf(cmd, sizeof cmd, "%s/amd", pki);
	colb_err rc = colb_amd_input_add_dir(in, cmd);
	if (!rc)
		rc = colb_amd_input_write(in, w);
	if (rc) {
		fprintf(stderr, "bench_amd: create: %s\n", colb_amd_input_error(in));
		return 1;
	}
	colb_writer_set_created(w, at - 3600);
	colb_writer_set_expires(w, at + 30 * 86400);
	snprintf(bundle, sizeof bundle, "%s/bench/amd-%u.colb", b, nchips);
	if (colb_writer_finish(w, key, bundle) != COLB_OK) {
		fprintf(stderr, "bench_amd: %s\n", colb_writer_error(w));
		return 1;
	}
	double t_create = now_s() - t0;
	colb_writer_free(w);
	colb_amd_input_free(in);
	colb_seckey_free(key);

	/* the fleet's (chip, TCB) pairs */
	snprintf(cmd, sizeof cmd, "%s/fleet.json", pki);
	json_t *fleet = json_load_file(cmd, 0, NULL);
	json_t *chips = json_object_get(json_object_get(fleet, "amd"), "chips");
	size_t n = json_array_size(chips);
	chip *list = calloc(n ? n : 1, sizeof *list);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(chips, i);
		list[i].product = colb_amd_product_from_name(json_string_value(json_object_get(c, "product")));
		if (colb_amd_chip_id_parse(list[i].product, json_string_value(json_object_get(c, "chip_id")), list[i].id) ||
		    colb_amd_tcbm_parse(json_string_value(json_object_get(c, "tcb")), &list[i].tcbm)) {
			fprintf(stderr, "bench_amd: bad fleet entry %zu\n", i);
			return 1;
		}
	}
	json_decref(fleet);

	/* open, verify everything (cold), then every pair once */
	snprintf(cmd, sizeof cmd, "%s.pub", keyname);
	if (colb_trust_add_pubkey_file(t, cmd, why, sizeof why) != COLB_OK) {
		fprintf(stderr, "bench_amd: %s\n", why);
		return 1;
	}
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, t);
	colb_opts_set_time(o, at);
	colb_bundle *bb = colb_bundle_new(o);
	t0 = now_s();
	if (colb_bundle_open_file(bb, bundle) != COLB_OK) {
		fprintf(stderr, "bench_amd: open: %s\n", colb_bundle_error(bb));
		return 1;
	}
	double t_open = now_s() - t0;
	t0 = now_s();
	if (colb_amd_verify_all(bb) != COLB_OK) {
		fprintf(stderr, "bench_amd: verify_all: %s\n", colb_bundle_error(bb));
		return 1;
	}
	double t_cold = now_s() - t0;
	for (size_t i = 0; i < n; i++) {
		colb_amd_cert c;
		if (colb_amd_vcek(bb, list[i].product, list[i].id, list[i].tcbm, &c) != COLB_OK) {
			fprintf(stderr, "bench_amd: lookup %zu: %s\n", i, colb_bundle_error(bb));
			return 1;
		}
	}

	/* warm: random pairs, each timed */
	double *samples = malloc(nlookups * sizeof *samples);
	uint64_t x = 88172645463325252ull;
	volatile size_t sink = 0;
	for (size_t k = 0; k < nlookups; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		const chip *c = &list[x % n];
		colb_amd_cert cert;
		double a = now_s();
		colb_err e = colb_amd_vcek(bb, c->product, c->id, c->tcbm, &cert);
		samples[k] = now_s() - a;
		if (e) {
			fprintf(stderr, "bench_amd: warm lookup failed\n");
			return 1;
		}
		sink += cert.der_len;
	}
	qsort(samples, nlookups, sizeof *samples, cmp_double);
	double median_us = samples[nlookups / 2] * 1e6, p99_us = samples[nlookups * 99 / 100] * 1e6;
	printf("bench_amd: %zu VCEKs of %u chips: create (validate + pack) %.2f s, open %.2f s, "
	       "verify_all (every chain, CRL and VCEK) %.2f s\n",
	       n, nchips, t_create, t_open, t_cold);
	printf("bench_amd: warm VCEK lookup median %.2f us, p99 %.2f us over %zu lookups (target < 5 us): %s\n",
	       median_us, p99_us, nlookups, median_us < 5.0 ? "ok" : "OVER TARGET");
	free(samples);
	free(list);
	colb_bundle_free(bb);
	colb_opts_free(o);
	colb_trust_free(t);
	return median_us < 5.0 ? 0 : 1;
}
