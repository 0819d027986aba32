/*
 * bench_capture.c — `colbundle capture` of 1,000 Intel platforms and 1,000
 * AMD chips against colb-mock answering every request after 20 ms.
 *
 * Figure: the fetch phase's wall time as a ratio to the ideal, requests x
 * latency / concurrency (target <= 1.3). The whole run (validation and
 * packing included) is printed beside it.
 *
 *   B=build build/bench/bench_capture [--intel N] [--amd N] [--latency-ms MS]
 *
 * The synthetic PKI is generated once into $B/bench/capture-pki and reused.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "capture/capture.h"
#include "capture/fetch.h"
#include "util/util.h"

#define CONNECTIONS 8 /* per service: the capture's default */

static char top[4096], build[4096];

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* The fleet file: the platforms' CSV and every generated chip at every TCB. */
static int write_fleet(const char *pki, const char *path)
{
	json_t *chips = json_array();
	static const char *const products[] = { "Milan", "Genoa", "Turin" };
	for (size_t p = 0; p < 3; p++) {
		char dir[4200];
		snprintf(dir, sizeof dir, "%.3000s/amd/%s/vcek", pki, products[p]);
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char sub[4500];
			snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
			DIR *s = opendir(sub);
			struct dirent *f;
			while (s && (f = readdir(s))) {
				size_t n = strlen(f->d_name);
				if (n != 20 || strcmp(f->d_name + 16, ".der"))
					continue;
				char tcb[17];
				memcpy(tcb, f->d_name, 16);
				tcb[16] = 0;
				json_array_append_new(chips, json_pack("{s:s,s:s,s:s}", "product", products[p],
								       "chip_id", e->d_name, "tcb", tcb));
			}
			if (s)
				closedir(s);
		}
		if (d)
			closedir(d);
	}
	char csv[4200];
	snprintf(csv, sizeof csv, "%.3000s/intel-pckid.csv", pki);
	json_t *fleet = json_pack("{s:{s:[s],s:[s]},s:{s:o}}", "intel", "pckid_csv", csv, "tcb", "standard",
				  "amd", "chips", chips);
	int rc = json_dump_file(fleet, path, JSON_INDENT(1));
	json_decref(fleet);
	return rc;
}

/* The generator's issue time, fixed so that the validation time is known. */
#define PKI_NOW "2026-01-01T00:00:00Z"
#define PKI_NOW_EPOCH 1767225600

static cap_verdict ignore(cap_fetch *f, const cap_reply *r, void *arg)
{
	(void)f, (void)r, (void)arg;
	return CAP_ACCEPT;
}

/* The same-run baseline: the engine alone, as many requests over the same
 * two lanes, doing nothing with the answers. Returns seconds. */
static double engine_baseline(const char *url, unsigned long requests)
{
	cap_fetch *f = cap_fetch_new(NULL);
	if (!f)
		return -1;
	int lanes[2] = { cap_fetch_lane(f, "a", CONNECTIONS, 0, NULL), cap_fetch_lane(f, "b", CONNECTIONS, 0, NULL) };
	char u[256];
	snprintf(u, sizeof u, "%s/vcek/v1/Milan/cert_chain", url);
	for (unsigned long i = 0; i < requests; i++)
		if (cap_fetch_get(f, lanes[i % 2], u, ignore, NULL))
			return -1;
	uint64_t t0 = cap_now_ms();
	colb_err rc = cap_fetch_run(f, NULL, 0, NULL);
	double secs = (double)(cap_now_ms() - t0) / 1000.0;
	cap_fetch_free(f);
	return rc ? -1 : secs;
}

static int add_root(colb_trust *t, const char *path, int amd)
{
	uint8_t *d;
	size_t n;
	if (colb_read_file(path, 1 << 20, &d, &n, NULL, 0))
		return -1;
	colb_err rc = amd ? colb_trust_add_amd_ark(t, d, n) : colb_trust_add_intel_root(t, d, n);
	free(d);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned nintel = 1000, namd = 1000, latency = 20;
	const char *workdir = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--intel"))
			nintel = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--amd"))
			namd = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--latency-ms"))
			latency = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--work"))
			workdir = argv[i + 1];
	}
	const char *e = getenv("COLB_TOP");
	if (e)
		snprintf(top, sizeof top, "%.2000s", e);
	else if (!getcwd(top, sizeof top))
		return 1;
	e = getenv("B");
	snprintf(build, sizeof build, "%.2000s/%.1000s", top, e ? e : "build");

	char pki[4200], cmd[16384], fleet[4300], scratch[] = "/tmp/colbbench.XXXXXX";
	snprintf(pki, sizeof pki, "%s/bench/capture-pki-%u-%u", build, nintel, namd);
	char stamp[4300];
	snprintf(stamp, sizeof stamp, "%s/.bench-complete", pki);
	if (access(stamp, F_OK) != 0) {
		fprintf(stderr, "bench_capture: generating %u platforms and %u chips once (slow)...\n", nintel, namd);
		snprintf(cmd, sizeof cmd, "rm -rf '%s' && '%s/colb-pkigen' --out '%s' --intel %u --amd %u --now %s >/dev/null",
			 pki, build, pki, nintel, namd, PKI_NOW);
		sh(cmd); /* its own fleet file is not needed: ours is below */
		snprintf(cmd, sizeof cmd, "%s/roots/intel-root.der", pki);
		if (access(cmd, F_OK) != 0) {
			fprintf(stderr, "bench_capture: colb-pkigen failed\n");
			return 1;
		}
		snprintf(cmd, sizeof cmd, "touch '%s'", stamp);
		sh(cmd);
	}
	if (!mkdtemp(scratch))
		return 1;
	snprintf(fleet, sizeof fleet, "%s/fleet.json", scratch);
	if (write_fleet(pki, fleet)) {
		fprintf(stderr, "bench_capture: cannot write %s\n", fleet);
		return 1;
	}

	char portf[4200], mock[4200], lat[16];
	snprintf(portf, sizeof portf, "%s/port", scratch);
	snprintf(mock, sizeof mock, "%s/colb-mock", build);
	snprintf(lat, sizeof lat, "%u", latency);
	pid_t pid = fork();
	if (pid == 0) {
		execl(mock, mock, "--root", pki, "--port-file", portf, "--latency-ms", lat, "--lifetime", "900",
		      (char *)NULL);
		_exit(127);
	}
	unsigned port = 0;
	for (int i = 0; i < 200 && !port; i++) {
		FILE *f = fopen(portf, "r");
		if (!f || fscanf(f, "%u", &port) != 1)
			usleep(20000);
		if (f)
			fclose(f);
	}
	if (!port) {
		fprintf(stderr, "bench_capture: colb-mock did not start\n");
		kill(pid, SIGTERM);
		return 1;
	}

	char keyname[4200], keypath[4300], url[64], rootcrl[128], out[4300], path[4300];
	snprintf(keyname, sizeof keyname, "%s/k", scratch);
	snprintf(keypath, sizeof keypath, "%s.key", keyname);
	colb_seckey *key = NULL;
	colb_trust *trust = colb_trust_new();
	if (colb_keygen(keyname, NULL, NULL, 0) || colb_seckey_load(keypath, NULL, &key, NULL, 0)) {
		fprintf(stderr, "bench_capture: cannot make a key\n");
		return 1;
	}
	snprintf(path, sizeof path, "%s/roots/intel-root.der", pki);
	int bad = add_root(trust, path, 0);
	static const char *const products[] = { "Milan", "Genoa", "Turin" };
	for (size_t p = 0; p < 3; p++) {
		snprintf(path, sizeof path, "%s/roots/amd-%s-ark.der", pki, products[p]);
		bad |= add_root(trust, path, 1);
	}
	if (bad) {
		fprintf(stderr, "bench_capture: cannot load the test roots\n");
		return 1;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
	snprintf(rootcrl, sizeof rootcrl, "%s/IntelSGXRootCA.der", url);
	snprintf(out, sizeof out, "%s/b.colb", scratch);

	cap_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.fleet = fleet;
	cfg.pcs = url;
	cfg.kds = url;
	cfg.root_crl = rootcrl;
	cfg.kds_interval_ms = 0;
	cfg.connections = CONNECTIONS;
	cfg.out = out;
	cfg.work = workdir;
	cfg.trust = trust;
	cfg.key = key;
	cfg.at = PKI_NOW_EPOCH + 86400;
	cfg.output = CAP_OUT_QUIET;
	cap_result res;
	colb_err rc = cap_run(&cfg, &res);
	double base = rc ? -1 : engine_baseline(url, res.requests);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
	sh(cmd);
	colb_seckey_free(key);
	colb_trust_free(trust);
	if (rc) {
		fprintf(stderr, "bench_capture: capture failed: %s\n", res.why);
		return 1;
	}
	/* Two services (PCS, KDS), each with CONNECTIONS connections. */
	unsigned concurrency = 2 * CONNECTIONS;
	double ideal = (double)res.requests * latency / 1000.0 / concurrency;
	printf("bench_capture: %u Intel platforms + %u AMD chips, %lu requests, %u ms latency, "
	       "concurrency %u (%u per service)\n", nintel, namd, res.requests, latency, concurrency,
	       CONNECTIONS);
	printf("bench_capture: fetch %.2f s, ideal %.2f s: ratio %.2f (target <= 1.3)\n", res.fetch_seconds,
	       ideal, res.fetch_seconds / ideal);
	printf("bench_capture: same-run baseline, the engine alone with as many requests: %.2f s, ratio %.2f to "
	       "the ideal; capture fetch / baseline %.2f\n", base, base / ideal, res.fetch_seconds / base);
	printf("bench_capture: whole capture incl. validation and packing %.2f s: ratio %.2f\n",
	       res.total_seconds, res.total_seconds / ideal);
	return 0;
}
