/*
 * bench_intel.c — PCK cert selection and TCB info fetch on an open bundle of
 * a 10,000-platform synthetic fleet (colb-pkigen), warm: the median time of
 * one call once the items it touches are verified and memoised.
 * Target: < 5 microseconds each.
 *
 * Also prints the one-off costs around it: generating the fleet, create
 * (validating every item), opening, and the cold first selection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "colbundle.h"

#define NPLAT 10000
#define WARM 2000      /* platforms whose certs are verified before timing */
#define ROUNDS 21
#define CALLS 20000

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef struct plat {
	uint8_t qe[16], cpusvn[16];
	uint16_t pcesvn;
} plat;

static int hexb(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int main(void)
{
	const char *b = getenv("B") ? getenv("B") : "build";
	char dir[] = "/tmp/colb-bench-intel.XXXXXX", cmd[1024], path[512];
	if (!mkdtemp(dir))
		return 1;
	double t0 = now_ms();
	snprintf(cmd, sizeof cmd, "'%s/colb-pkigen' --out '%s/pki' --seed bench-intel --intel %d --amd 0 >/dev/null", b, dir,
		 NPLAT);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_intel: colb-pkigen failed\n");
		return 1;
	}
	double t_gen = now_ms() - t0;

	char err[256];
	snprintf(path, sizeof path, "%s/key", dir);
	if (colb_keygen(path, NULL, err, sizeof err) != COLB_OK)
		return 1;
	colb_seckey *key = NULL;
	snprintf(path, sizeof path, "%s/key.key", dir);
	if (colb_seckey_load(path, NULL, &key, err, sizeof err) != COLB_OK)
		return 1;
	colb_trust *t = colb_trust_new();
	snprintf(path, sizeof path, "%s/key.pub", dir);
	if (colb_trust_add_pubkey_file(t, path, err, sizeof err) != COLB_OK)
		return 1;
	snprintf(path, sizeof path, "%s/pki/roots/intel-root.der", dir);
	FILE *f = fopen(path, "rb");
	uint8_t root[4096];
	size_t rlen = f ? fread(root, 1, sizeof root, f) : 0;
	if (f)
		fclose(f);
	if (colb_trust_add_intel_root(t, root, rlen) != COLB_OK)
		return 1;
	time_t at = 1764633600; /* the synthetic PKI's issue time + 1 day */

	t0 = now_ms();
	colb_intel_input *in = colb_intel_input_new(t, at);
	colb_writer *w = colb_writer_new();
	colb_writer_set_created(w, at);
	snprintf(path, sizeof path, "%s/pki/intel", dir);
	char bpath[512];
	snprintf(bpath, sizeof bpath, "%s/fleet.colb", dir);
	if (colb_intel_input_add_dir(in, path) || colb_intel_input_write(in, w) || colb_writer_finish(w, key, bpath)) {
		fprintf(stderr, "bench_intel: create failed: %s %s\n", colb_intel_input_error(in), colb_writer_error(w));
		return 1;
	}
	double t_create = now_ms() - t0;
	colb_writer_free(w);
	colb_intel_input_free(in);
	colb_seckey_free(key);

	/* The fleet: the generator's PCK Cert ID CSV. */
	plat *p = calloc(NPLAT, sizeof *p);
	snprintf(path, sizeof path, "%s/pki/intel-pckid.csv", dir);
	f = fopen(path, "r");
	char line[2048];
	size_t np = 0;
	while (f && np < NPLAT && fgets(line, sizeof line, f)) {
		uint8_t svn[2];
		if (strlen(line) < 844 || hexb(line + 774, p[np].cpusvn, 16) || hexb(line + 807, svn, 2) ||
		    hexb(line + 812, p[np].qe, 16))
			continue;
		p[np].pcesvn = (uint16_t)(svn[0] | svn[1] << 8);
		np++;
	}
	if (f)
		fclose(f);

	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, t);
	colb_opts_set_time(o, at);
	colb_bundle *bd = colb_bundle_new(o);
	t0 = now_ms();
	if (colb_bundle_open_file(bd, bpath) != COLB_OK) {
		fprintf(stderr, "bench_intel: open: %s\n", colb_bundle_error(bd));
		return 1;
	}
	double t_open = now_ms() - t0;

	/* Cold: the first selection of a platform verifies its certs. */
	colb_intel_pck pck;
	size_t warm = np < WARM ? np : WARM, ok = 0;
	t0 = now_ms();
	for (size_t i = 0; i < warm; i++)
		ok += colb_intel_pck_select(bd, p[i].qe, 0, p[i].cpusvn, p[i].pcesvn, 0, &pck) == COLB_OK;
	double t_cold = (now_ms() - t0) / (double)warm;

	static const uint8_t fmspcs[6][6] = {{0x00, 0x90, 0x6E, 0xD5, 0, 0}, {0x00, 0xA0, 0x67, 0x11, 0, 0},
					     {0x00, 0x60, 0x6C, 0x04, 0, 0}, {0x30, 0x60, 0x6A, 0x00, 0, 0},
					     {0x00, 0x80, 0x6F, 0x05, 0, 0}, {0x90, 0xC0, 0x6F, 0x00, 0, 0}};
	colb_intel_item it;
	for (int k = 0; k < 6; k++)
		if (colb_intel_tcbinfo(bd, COLB_INTEL_SGX, fmspcs[k], 0, &it) != COLB_OK)
			return 1;

	double sel[ROUNDS], tcb[ROUNDS];
	volatile size_t sink = 0;
	for (int r = 0; r < ROUNDS; r++) {
		t0 = now_ms();
		for (int c = 0; c < CALLS; c++) {
			const plat *q = &p[(size_t)c % warm];
			sink += colb_intel_pck_select(bd, q->qe, 0, q->cpusvn, q->pcesvn, 0, &pck);
		}
		sel[r] = (now_ms() - t0) * 1e3 / CALLS;
		t0 = now_ms();
		for (int c = 0; c < CALLS; c++)
			sink += colb_intel_tcbinfo(bd, COLB_INTEL_SGX, fmspcs[c % 6], 0, &it);
		tcb[r] = (now_ms() - t0) * 1e3 / CALLS;
	}
	qsort(sel, ROUNDS, sizeof *sel, cmp_d);
	qsort(tcb, ROUNDS, sizeof *tcb, cmp_d);
	printf("intel fleet: %zu platforms; %zu of the %zu timed are selectable (the generated PCK CRLs revoke the others)\n",
	       np, ok, warm);
	printf("  generate (colb-pkigen)       %8.0f ms\n", t_gen);
	printf("  create (validate + write)    %8.0f ms\n", t_create);
	printf("  open (verify the bundle)     %8.0f ms\n", t_open);
	printf("  PCK selection, cold          %8.1f us per platform (verifies its certs)\n", t_cold * 1e3);
	printf("  PCK selection, warm median   %8.3f us   (target < 5 us: %s)\n", sel[ROUNDS / 2],
	       sel[ROUNDS / 2] < 5 ? "met" : "MISSED");
	printf("  TCB info fetch, warm median  %8.3f us   (target < 5 us: %s)\n", tcb[ROUNDS / 2],
	       tcb[ROUNDS / 2] < 5 ? "met" : "MISSED");
	(void)sink;
	colb_bundle_free(bd);
	colb_opts_free(o);
	colb_trust_free(t);
	free(p);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
