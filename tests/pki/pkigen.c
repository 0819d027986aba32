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

/* Each half writes its fleet fragment (OUT/fleet-intel.json,
 * OUT/fleet-amd.json: the object under its vendor key); they become one
 * OUT/fleet.json here, and the fragments go. */
static int merge_fleet(const pki_ctx *ctx)
{
	static const char *const vendors[] = {"intel", "amd"};
	char *out = NULL;
	size_t outlen = 0;
	FILE *m = open_memstream(&out, &outlen);
	if (!m)
		return -1;
	fputs("{", m);
	int n = 0;
	for (size_t v = 0; v < sizeof vendors / sizeof vendors[0]; v++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/fleet-%s.json", ctx->outdir, vendors[v]);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		/* A 10,000-chip fragment is megabytes: read it whole. */
		char *buf = NULL;
		long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
		size_t len = 0;
		if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)))
			len = fread(buf, 1, (size_t)size, f);
		fclose(f);
		if (!buf || len != (size_t)size)
			return free(buf), fclose(m), free(out), -1;
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
			len--;
		fprintf(m, "%s\n  \"%s\": ", n++ ? "," : "", vendors[v]);
		fwrite(buf, 1, len, m);
		free(buf);
		unlink(path);
	}
	fputs("\n}\n", m);
	if (fclose(m) != 0)
		return free(out), -1;
	int rc = pki_write(ctx, "fleet.json", out, outlen);
	free(out);
	return rc;
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
	if (merge_fleet(&ctx) != 0) {
		fprintf(stderr, "colb-pkigen: cannot write fleet.json\n");
		return 1;
	}
	char readme[1024];
	snprintf(readme, sizeof readme,
		 "colb-pkigen output: a synthetic Intel and AMD PKI and fleet. TEST KEYS ONLY:\n"
		 "every key here derives from a public seed and must never be trusted outside tests.\n\n"
		 "seed: %s\nintel platforms: %u\namd chips: %u\nnow: %lld\n\n"
		 "intel-revoked.txt lists the PCK certificates the generated PCK CRLs revoke.\n",
		 seed, nintel, namd, (long long)ctx.now);
	return pki_write_str(&ctx, "README", readme) == 0 ? 0 : 1;
}
