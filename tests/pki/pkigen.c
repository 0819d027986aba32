/*
 * pkigen.c — colb-pkigen: writes a synthetic Intel and AMD PKI and fleet,
 * deterministic from a seed, in the shapes Intel PCS and AMD KDS serve.
 *
 *   colb-pkigen --out DIR [--seed TEXT] [--intel N] [--amd N]
 *               [--now 2026-01-01T00:00:00Z] [--threads N]
 *
 * TEST KEYS ONLY: every key it makes is derived from a public seed.
 */
#include "pkigen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

static int usage(void)
{
	fprintf(stderr, "usage: colb-pkigen --out DIR [--seed TEXT] [--intel N] [--amd N]\n"
			"                   [--now YYYY-MM-DDTHH:MM:SSZ] [--threads N]\n");
	return 2;
}

static int parse_time(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return 0;
}

int main(int argc, char **argv)
{
	pki_ctx ctx = {0};
	const char *seed = "colbundle-test-pki";
	unsigned nintel = 8, namd = 8;
	long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
	ctx.now = 1764547200; /* 2025-12-01T00:00:00Z: fixed, so output is reproducible */

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--out") && v) {
			ctx.outdir = v;
		} else if (!strcmp(a, "--seed") && v) {
			seed = v;
		} else if (!strcmp(a, "--intel") && v) {
			nintel = (unsigned)strtoul(v, NULL, 10);
		} else if (!strcmp(a, "--amd") && v) {
			namd = (unsigned)strtoul(v, NULL, 10);
		} else if (!strcmp(a, "--threads") && v) {
			nthreads = strtol(v, NULL, 10);
		} else if (!strcmp(a, "--now") && v) {
			if (parse_time(v, &ctx.now) != 0)
				return usage();
		} else {
			return usage();
		}
		i++;
	}
	if (!ctx.outdir)
		return usage();
	ctx.threads = nthreads > 0 ? (unsigned)nthreads : 1;
	SHA256((const unsigned char *)seed, strlen(seed), ctx.seed);
	pki_rng_install();

	if (pki_intel_generate(&ctx, nintel) != 0) {
		fprintf(stderr, "colb-pkigen: Intel generation failed\n");
		return 1;
	}
	if (pki_amd_generate(&ctx, namd) != 0) {
		fprintf(stderr, "colb-pkigen: AMD generation failed\n");
		return 1;
	}
	return 0;
}
