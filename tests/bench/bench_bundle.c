/*
 * bench_bundle.c — create and verify bundles of 1,000- and 10,000-platform
 * synthetic Intel fleets (colb-pkigen's output, filed in the bundle's entry
 * naming), against the same machine's raw SHA-256 + inflate of the same
 * payload bytes, measured in the same run.
 *
 * Targets: verify throughput >= 0.5 of SHA-256 + inflate; bundle size <= 0.6
 * of the raw collateral bytes; a lookup by path < 5 us.
 *
 * BENCH_BUNDLE_SIZES="1000 10000" (default) picks the fleet sizes. When
 * colb-pkigen is missing or fails, PCS-sized synthetic pckcerts files are
 * generated instead (and the output says so). BENCH_BUNDLE_RUNS sets the
 * number of verify runs (default 5); BENCH_BUNDLE_SAVE=FILE keeps the last
 * bundle built, for profiling the reader on it.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <zlib.h>

#include "bundle/bundle_priv.h"

#define MAX_RUNS 64
static int RUNS = 5; /* BENCH_BUNDLE_RUNS */

static double now(void)
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

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

/* ---- the fleet ------------------------------------------------------------- */

static colb_writer *W;
static const char *ROOT;
static size_t NFILES;
static uint64_t RAW;
static int FAILED;

/* Raw PCS layout (format-spec/raw-layouts.md) to bundle entry naming. */
static bool map_path(const char *rel, char *out, size_t outlen)
{
	static const struct {
		const char *from, *to;
	} map[] = {
		{"intel/sgx/pckcerts/", "intel/pckcerts/"},
		{"intel/sgx/tcb/", "intel/tcbinfo/sgx/"},
		{"intel/tdx/tcb/", "intel/tcbinfo/tdx/"},
		{"intel/sgx/identity/", "intel/identity/"},
		{"intel/tdx/identity/", "intel/identity/"},
		{"intel/sgx/pckcrl/", "intel/crl/"},
	};
	size_t n = strlen(rel);
	if (n > 4 && !strcmp(rel + n - 4, ".hdr"))
		return false;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		size_t l = strlen(map[i].from);
		if (!strncmp(rel, map[i].from, l)) {
			snprintf(out, outlen, "%s%s", map[i].to, rel + l);
			return true;
		}
	}
	if (!strcmp(rel, "intel/rootcacrl.der"))
		snprintf(out, outlen, "intel/crl/root.der");
	else if (!strcmp(rel, "intel/sgx/tcbevaluationdatanumbers.json"))
		snprintf(out, outlen, "intel/tcbevalnums/sgx.json");
	else if (!strcmp(rel, "intel/tdx/tcbevaluationdatanumbers.json"))
		snprintf(out, outlen, "intel/tcbevalnums/tdx.json");
	else if (!strcmp(rel, "intel/sgx/fmspcs.json"))
		snprintf(out, outlen, "intel/fmspcs.json");
	else if (!strcmp(rel, "intel/tcb-sets.json"))
		snprintf(out, outlen, "intel/tcb-sets.json");
	else
		return false;
	return true;
}

static int add_one(const char *fpath, const struct stat *st, int type, struct FTW *ftw)
{
	char path[512];
	if (type != FTW_F || !map_path(fpath + strlen(ROOT) + 1, path, sizeof path))
		return 0;
	uint8_t *data;
	size_t len;
	char why[256];
	if (colb_read_file(fpath, 64u << 20, &data, &len, why, sizeof why) != COLB_OK) {
		fprintf(stderr, "bench_bundle: %s\n", why);
		FAILED = 1;
		return 1;
	}
	if (colb_writer_add_file(W, path, data, len, NULL, NULL) != COLB_OK) {
		fprintf(stderr, "bench_bundle: %s\n", colb_writer_error(W));
		FAILED = 1;
		free(data);
		return 1;
	}
	free(data);
	NFILES++;
	RAW += len;
	return 0;
}

/* A PEM certificate-like block: base64 lines of a DER-ish body whose first
 * bytes repeat (as issuer names and extensions do across one CA's certs). */
static void synth_pem(colb_buf *b, uint64_t *x)
{
	uint8_t der[1100];
	static const uint8_t common[600] = {0x30, 0x82, 0x04, 0x4c, 0x30, 0x82, 0x03, 0xf2, 0xa0, 0x03};
	memcpy(der, common, sizeof common);
	for (size_t i = sizeof common; i < sizeof der; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		der[i] = (uint8_t)*x;
	}
	char *b64 = colb_b64_encode(der, sizeof der);
	colb_buf_append_str(b, "-----BEGIN CERTIFICATE-----\\n");
	size_t n = strlen(b64);
	for (size_t i = 0; i < n; i += 64) {
		colb_buf_append(b, b64 + i, n - i < 64 ? n - i : 64);
		colb_buf_append_str(b, "\\n");
	}
	colb_buf_append_str(b, "-----END CERTIFICATE-----\\n");
	free(b64);
}

static void synth_fleet(size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t p = 0; p < n; p++) {
		colb_buf b;
		colb_buf_init(&b, 0);
		colb_buf_append_str(&b, "[");
		for (int t = 0; t < 8; t++) {
			colb_buf_printf(&b, "%s{\"tcb\":{\"sgxtcbcomp01svn\":%d,\"pcesvn\":%d},"
					    "\"tcbm\":\"%02X0C020302010E0000000000000000000D00\",\"cert\":\"",
					t ? "," : "", 12 - t, 13 - t, 12 - t);
			synth_pem(&b, &x);
			colb_buf_append_str(&b, "\"}");
		}
		colb_buf_append_str(&b, "]");
		char path[128];
		snprintf(path, sizeof path, "intel/pckcerts/%032zX-0000.json", p * 2654435761u);
		if (colb_writer_add_file(W, path, b.data, b.len, NULL, NULL) != COLB_OK) {
			fprintf(stderr, "bench_bundle: %s\n", colb_writer_error(W));
			FAILED = 1;
			colb_buf_free(&b);
			return;
		}
		NFILES++;
		RAW += b.len;
		colb_buf_free(&b);
	}
}

/* ---- the baseline: SHA-256 + inflate of the same bytes --------------------- */

static volatile uint8_t sink;

static double baseline(const uint8_t *payload, size_t len, uint8_t *out, size_t outlen)
{
	double t0 = now();
	uint8_t d[32];
	SHA256(payload, len, d);
	z_stream z;
	memset(&z, 0, sizeof z);
	inflateInit2(&z, 16 + MAX_WBITS);
	z.next_in = (Bytef *)payload;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	int rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (rc != Z_STREAM_END)
		fprintf(stderr, "bench_bundle: baseline inflate ended with %d\n", rc);
	double t = now() - t0;
	sink = d[0] ^ out[0];
	return t;
}

/* ---- one fleet size ------------------------------------------------------------ */

static int run(size_t n, colb_seckey *key, colb_trust *trust)
{
	char dir[] = "/tmp/colbbench.XXXXXX", cmd[1024];
	const char *source = "colb-pkigen";
	if (!mkdtemp(dir))
		return 1;
	const char *b = getenv("B");
	const char *top = getenv("COLB_TOP");
	snprintf(cmd, sizeof cmd, "'%s/%s/colb-pkigen' --out '%s/fleet' --intel %zu --amd 0 >/dev/null 2>&1",
		 top ? top : ".", b ? b : "build", dir, n);
	W = colb_writer_new();
	colb_writer_set_version(W, 1);
	colb_writer_set_created(W, 1748736000);
	colb_writer_set_expires(W, 1748736000 + 86400 * 3650);
	NFILES = 0;
	RAW = 0;
	FAILED = 0;
	double tg = now();
	if (system(cmd) == 0) {
		char root[64];
		snprintf(root, sizeof root, "%s/fleet", dir);
		ROOT = root;
		nftw(root, add_one, 32, FTW_PHYS);
	} else {
		source = "synthetic (colb-pkigen unavailable)";
		synth_fleet(n);
	}
	tg = now() - tg;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_bundle: could not remove %s\n", dir);
	if (FAILED) {
		colb_writer_free(W);
		return 1;
	}

	colb_buf bundle;
	colb_buf_init(&bundle, 0);
	double tc = now();
	if (colb_writer_build(W, key, &bundle) != COLB_OK) {
		fprintf(stderr, "bench_bundle: create: %s\n", colb_writer_error(W));
		colb_writer_free(W);
		return 1;
	}
	tc = now() - tc;
	colb_writer_free(W);

	colb_envelope env;
	char why[256];
	if (colb_envelope_decode(bundle.data, bundle.len, &env, why, sizeof why) != COLB_OK) {
		fprintf(stderr, "bench_bundle: %s\n", why);
		return 1;
	}
	uint8_t *scratch = malloc(RAW + (NFILES + 64) * 1024 + (1 << 20));
	double tv[MAX_RUNS], tb[MAX_RUNS], to[MAX_RUNS];
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, trust);
	colb_opts_set_time(o, 1748736000 + 86400);
	colb_bundle *bh = NULL;
	for (int r = 0; r < RUNS; r++) {
		tb[r] = baseline(env.payload, env.payload_len, scratch, RAW + (NFILES + 64) * 1024 + (1 << 20));
		if (bh)
			colb_bundle_free(bh);
		bh = colb_bundle_new(o);
		double t0 = now();
		colb_err rc = colb_bundle_open_memory(bh, bundle.data, bundle.len);
		double t1 = now();
		if (!rc)
			rc = colb_bundle_verify_files(bh);
		tv[r] = now() - t0;
		to[r] = t1 - t0;
		if (rc) {
			fprintf(stderr, "bench_bundle: verify: %s\n", colb_bundle_error(bh));
			return 1;
		}
	}
	double v = median(tv, RUNS), base = median(tb, RUNS), vo = median(to, RUNS);

	/* The manifest alone: the strict parse into the index, beside jansson
	 * only reading the same bytes into a tree and freeing it. */
	double tm[MAX_RUNS], tj[MAX_RUNS];
	for (int r = 0; r < RUNS; r++) {
		colb_manifest m;
		double t0 = now();
		if (colb_manifest_parse(env.manifest, env.manifest_len, env.minor, COLB_DEFAULT_MAX_ENTRIES, &m,
					why, sizeof why) != COLB_OK) {
			fprintf(stderr, "bench_bundle: manifest: %s\n", why);
			return 1;
		}
		colb_manifest_clear(&m);
		double t1 = now();
		json_t *j = json_loadb((const char *)env.manifest, env.manifest_len, JSON_REJECT_DUPLICATES, NULL);
		json_decref(j);
		tj[r] = now() - t1;
		tm[r] = t1 - t0;
	}
	double man = median(tm, RUNS), jan = median(tj, RUNS);

	/* lookups by path, of files spread over the bundle */
	size_t nf = colb_bundle_file_count(bh), lookups = 200000;
	char **paths = calloc(nf, sizeof *paths);
	for (size_t i = 0; i < nf; i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(bh, i, &fi) == COLB_OK)
			paths[i] = strdup(fi.path);
	}
	uint64_t x = 12345;
	double tl = now();
	size_t found = 0;
	for (size_t i = 0; i < lookups; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		const uint8_t *d;
		size_t len;
		found += colb_bundle_read(bh, paths[(x >> 33) % nf], &d, &len) == COLB_OK;
	}
	tl = (now() - tl) / (double)lookups;
	if (found != lookups)
		fprintf(stderr, "bench_bundle: %zu lookups failed\n", lookups - found);

	double mb = 1048576.0;
	printf("bundle: %zu platforms (%s, %.1f s to generate): %zu files, %.1f MB of collateral\n", n,
	       source, tg, NFILES, (double)RAW / mb);
	printf("bundle: %zu platforms: size %.1f MB = %.3f of the raw bytes (target <= 0.6) %s\n", n,
	       (double)bundle.len / mb, (double)bundle.len / (double)RAW,
	       (double)bundle.len / (double)RAW <= 0.6 ? "ok" : "MISSED");
	printf("bundle: %zu platforms: create %.2f s (%.0f MB/s of collateral)\n", n, tc,
	       (double)RAW / mb / tc);
	printf("bundle: %zu platforms: verify %.3f s median of %d (%.0f MB/s); SHA-256 + inflate of the "
	       "same payload %.3f s; ratio %.2f (target >= 0.5) %s\n",
	       n, v, RUNS, (double)RAW / mb / v, base, base / v, base / v >= 0.5 ? "ok" : "MISSED");
	printf("bundle: %zu platforms: of which open %.3f s, every file's SHA-256 %.3f s\n", n, vo, v - vo);
	printf("bundle: %zu platforms: manifest (%.2f MB) parsed and freed in %.1f ms; jansson's tree of it "
	       "alone %.1f ms (%.1fx)\n",
	       n, (double)env.manifest_len / mb, man * 1e3, jan * 1e3, jan / man);
	printf("bundle: %zu platforms: lookup+read by path %.2f us (target < 5 us) %s\n", n, tl * 1e6,
	       tl * 1e6 < 5 ? "ok" : "MISSED");
	fflush(stdout);
	const char *save = getenv("BENCH_BUNDLE_SAVE");
	FILE *sf = save ? fopen(save, "wb") : NULL;
	if (sf) {
		if (fwrite(bundle.data, 1, bundle.len, sf) != bundle.len)
			fprintf(stderr, "bench_bundle: could not write %s\n", save);
		fclose(sf);
	}
	for (size_t i = 0; i < nf; i++)
		free(paths[i]);
	free(paths);
	colb_bundle_free(bh);
	colb_opts_free(o);
	free(scratch);
	colb_buf_free(&bundle);
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/colbbenchkey.XXXXXX", name[64], pub[80], keyp[80], why[256];
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	snprintf(name, sizeof name, "%s/k", dir);
	snprintf(pub, sizeof pub, "%s.pub", name);
	snprintf(keyp, sizeof keyp, "%s.key", name);
	colb_seckey *key = NULL;
	colb_trust *trust = colb_trust_new();
	if (colb_keygen(name, NULL, why, sizeof why) || colb_seckey_load(keyp, NULL, &key, why, sizeof why) ||
	    colb_trust_add_pubkey_file(trust, pub, why, sizeof why)) {
		fprintf(stderr, "bench_bundle: %s\n", why);
		return 1;
	}
	unlink(keyp);
	unlink(pub);
	rmdir(dir);
	const char *runs = getenv("BENCH_BUNDLE_RUNS");
	if (runs && atoi(runs) > 0 && atoi(runs) <= MAX_RUNS)
		RUNS = atoi(runs);
	const char *sizes = getenv("BENCH_BUNDLE_SIZES");
	char *list = strdup(sizes && *sizes ? sizes : "1000 10000"), *save = NULL;
	int rc = 0;
	for (char *s = strtok_r(list, " ,", &save); s && !rc; s = strtok_r(NULL, " ,", &save))
		rc = run(strtoul(s, NULL, 10), key, trust);
	free(list);
	colb_seckey_free(key);
	colb_trust_free(trust);
	return rc;
}
