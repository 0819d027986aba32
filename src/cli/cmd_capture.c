/*
 * cmd_capture.c — `colbundle capture`: fetch a fleet's collateral from the
 * vendors' services into a signed bundle (src/capture does the work).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "cli/common.h"
#include "util/util.h"

#define CMD "capture"

static int push(const char **list, size_t *n, const char *v, const char *name)
{
	if (!v)
		return EXIT_USAGE;
	if (*n >= CAP_MAX_LIST) {
		cli_err(CMD, "too many %s options", name);
		return EXIT_USAGE;
	}
	list[(*n)++] = v;
	return EXIT_OK;
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	return s && colb_parse_u64(s, out) && *out <= max;
}

/* Test roots for validation and publisher keys for --reuse. */
static int build_trust(const cli_common *cc, colb_trust **out)
{
	colb_trust *t = colb_trust_new();
	if (!t)
		return EXIT_IOERR;
	char why[512];
	for (size_t i = 0; i < cc->ntrust; i++) {
		if (colb_trust_add_pubkey_file(t, cc->trust[i], why, sizeof why)) {
			cli_err(CMD, "--trust: %s", why);
			colb_trust_free(t);
			return EXIT_USAGE;
		}
	}
	for (size_t r = 0; r < cc->nintel + cc->namd; r++) {
		bool amd = r >= cc->nintel;
		const char *path = amd ? cc->amd_ark[r - cc->nintel] : cc->intel_root[r];
		uint8_t *der;
		size_t len;
		colb_err rc = colb_read_file(path, 1u << 20, &der, &len, why, sizeof why);
		if (!rc) {
			rc = amd ? colb_trust_add_amd_ark(t, der, len) : colb_trust_add_intel_root(t, der, len);
			free(der);
			if (rc)
				snprintf(why, sizeof why, "%s: %s", path, colb_strerror(rc));
		}
		if (rc) {
			cli_err(CMD, "%s", why);
			colb_trust_free(t);
			return cli_exit_for(rc);
		}
	}
	*out = t;
	return EXIT_OK;
}

static int run(int argc, char **argv)
{
	cap_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.kds_interval_ms = -1;
	cli_common cc;
	memset(&cc, 0, sizeof cc);
	const char *key = NULL, *pwfile = NULL, *v, *created_s = NULL, *expires_s = NULL;
	const char *valid_s = NULL, *version_s = NULL, *min_eval_s = NULL;
	bool quiet = false, plain = false;
	int ex;
	for (int i = 1; i < argc; i++) {
		int c = cli_common_arg(&cc, CMD, argc, argv, &i);
		if (c < 0)
			return EXIT_USAGE;
		if (c > 0)
			continue;
		ex = EXIT_OK;
		uint64_t n;
		if (cli_opt(CMD, argc, argv, &i, "--fleet", &v)) {
			if (!(cfg.fleet = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--pckid-csv", &v)) {
			ex = push(cfg.pckid_csv, &cfg.npckid_csv, v, "--pckid-csv");
		} else if (cli_opt(CMD, argc, argv, &i, "--platform-list", &v)) {
			ex = push(cfg.platform_list, &cfg.nplatform_list, v, "--platform-list");
		} else if (cli_opt(CMD, argc, argv, &i, "--fmspc", &v)) {
			ex = push(cfg.fmspcs, &cfg.nfmspcs, v, "--fmspc");
		} else if (!strcmp(argv[i], "--all-fmspcs")) {
			cfg.all_fmspcs = true;
		} else if (cli_opt(CMD, argc, argv, &i, "--amd-report", &v)) {
			ex = push(cfg.amd_reports, &cfg.namd_reports, v, "--amd-report");
		} else if (cli_opt(CMD, argc, argv, &i, "--amd-chip", &v)) {
			ex = push(cfg.amd_chips, &cfg.namd_chips, v, "--amd-chip");
		} else if (cli_opt(CMD, argc, argv, &i, "--tcb", &v)) {
			if (!(cfg.tcb = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--baseline", &v)) {
			if (!(cfg.baseline = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--min-eval", &v)) {
			if (!(min_eval_s = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--pcs", &v)) {
			if (!(cfg.pcs = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--pccs", &v)) {
			if (!(cfg.pccs = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--thim", &v)) {
			if (!(cfg.thim = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--kds", &v)) {
			if (!(cfg.kds = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--root-crl", &v)) {
			if (!(cfg.root_crl = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--api-key-file", &v)) {
			if (!(cfg.api_key_file = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--kds-interval", &v)) {
			if (!parse_uint(v, 3600, &n)) {
				cli_err(CMD, "--kds-interval: seconds from 0 to 3600");
				return EXIT_USAGE;
			}
			cfg.kds_interval_ms = (int)n * 1000;
		} else if (cli_opt(CMD, argc, argv, &i, "--connections", &v)) {
			if (!parse_uint(v, 64, &n) || !n) {
				cli_err(CMD, "--connections: 1 to 64");
				return EXIT_USAGE;
			}
			cfg.connections = (unsigned)n;
		} else if (cli_opt(CMD, argc, argv, &i, "--retries", &v)) {
			if (!parse_uint(v, 100, &n) || !n) {
				cli_err(CMD, "--retries: attempts per request, 1 to 100");
				return EXIT_USAGE;
			}
			cfg.retries = (unsigned)n;
		} else if (cli_opt(CMD, argc, argv, &i, "--backoff-ms", &v)) {
			if (!parse_uint(v, 600000, &n) || !n) {
				cli_err(CMD, "--backoff-ms: 1 to 600000");
				return EXIT_USAGE;
			}
			cfg.backoff_ms = (unsigned)n;
		} else if (cli_opt(CMD, argc, argv, &i, "--timeout", &v)) {
			if (!parse_uint(v, 3600, &n) || !n) {
				cli_err(CMD, "--timeout: seconds, 1 to 3600");
				return EXIT_USAGE;
			}
			cfg.timeout_s = (unsigned)n;
		} else if (cli_opt(CMD, argc, argv, &i, "--work", &v)) {
			if (!(cfg.work = v))
				return EXIT_USAGE;
		} else if (!strcmp(argv[i], "--keep-work")) {
			cfg.keep_work = true;
		} else if (cli_opt(CMD, argc, argv, &i, "--reuse", &v)) {
			if (!(cfg.reuse = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--out", &v)) {
			if (!(cfg.out = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--key", &v)) {
			if (!(key = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--password-file", &v)) {
			if (!(pwfile = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--created", &v)) {
			if (!(created_s = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--expires", &v)) {
			if (!(expires_s = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--valid-for", &v)) {
			if (!(valid_s = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--version", &v)) {
			if (!(version_s = v))
				return EXIT_USAGE;
		} else if (cli_opt(CMD, argc, argv, &i, "--publisher", &v)) {
			if (!(cfg.publisher = v))
				return EXIT_USAGE;
		} else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			quiet = true;
		} else if (!strcmp(argv[i], "--plain")) {
			plain = true;
		} else if (cli_opt(CMD, argc, argv, &i, "--api-key", &v)) {
			cli_err(CMD, "the API key is never taken on the command line: use --api-key-file "
				     "FILE or COLBUNDLE_PCS_API_KEY_FILE");
			return EXIT_USAGE;
		} else {
			cli_err(CMD, "unexpected argument '%s' (see --help)", argv[i]);
			return EXIT_USAGE;
		}
		if (ex)
			return ex;
	}
	if (!cfg.out || !key) {
		cli_err(CMD, "--out B.colb and --key KEY are required");
		return EXIT_USAGE;
	}
	if (!cfg.fleet && !cfg.npckid_csv && !cfg.nplatform_list && !cfg.nfmspcs && !cfg.all_fmspcs &&
	    !cfg.namd_reports && !cfg.namd_chips) {
		cli_err(CMD, "nothing to capture: give --fleet FLEET or the inputs as flags (see --help)");
		return EXIT_USAGE;
	}
	if (!!cfg.pcs + !!cfg.pccs + !!cfg.thim > 1) {
		cli_err(CMD, "--pcs, --pccs and --thim are alternatives: give one");
		return EXIT_USAGE;
	}
	if (expires_s && valid_s) {
		cli_err(CMD, "--expires and --valid-for exclude each other");
		return EXIT_USAGE;
	}
	if (cfg.reuse && !cc.ntrust) {
		cli_err(CMD, "--reuse needs --trust PUB to open the old bundle");
		return EXIT_USAGE;
	}
	cfg.output = cc.json ? CAP_OUT_JSON : quiet ? CAP_OUT_QUIET : plain ? CAP_OUT_PLAIN : CAP_OUT_AUTO;
	uint64_t n;
	if (version_s && !colb_parse_u64(version_s, &n)) {
		cli_err(CMD, "--version: '%s' is not an unsigned 64-bit number", version_s);
		return EXIT_USAGE;
	}
	cfg.version = version_s ? n : 0;
	/* Checked now rather than after the whole fetch: a typo must not cost a capture. */
	if (cfg.baseline && strcmp(cfg.baseline, "standard") && strcmp(cfg.baseline, "early") &&
	    (!colb_parse_u64(cfg.baseline, &n) || n == 0 || n > UINT32_MAX)) {
		cli_err(CMD, "--baseline: '%s' is not standard, early or an evaluation number", cfg.baseline);
		return EXIT_USAGE;
	}
	if (min_eval_s) {
		if (!colb_parse_u64(min_eval_s, &n) || n > UINT32_MAX) {
			cli_err(CMD, "--min-eval: '%s' is not an evaluation number", min_eval_s);
			return EXIT_USAGE;
		}
		cfg.min_eval = (uint32_t)n;
	}
	if (created_s && !cli_parse_time(created_s, &cfg.created)) {
		cli_err(CMD, "--created: '%s' is not an RFC 3339 UTC time", created_s);
		return EXIT_USAGE;
	}
	if (!created_s) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		uint64_t t;
		cfg.created = sde && colb_parse_u64(sde, &t) && t < (1ull << 40) ? (time_t)t : time(NULL);
	}
	if (expires_s && !cli_parse_time(expires_s, &cfg.expires)) {
		cli_err(CMD, "--expires: '%s' is not an RFC 3339 UTC time", expires_s);
		return EXIT_USAGE;
	}
	if (valid_s) {
		if (!colb_parse_u64(valid_s, &n) || !n || n > 36500) {
			cli_err(CMD, "--valid-for: '%s' is not a number of days (1 to 36500)", valid_s);
			return EXIT_USAGE;
		}
		cfg.expires = cfg.created + (time_t)n * 86400;
	}
	if (cc.at && !cli_parse_time(cc.at, &cfg.at))
		return EXIT_USAGE;

	colb_trust *trust = NULL;
	if ((ex = build_trust(&cc, &trust)))
		return ex;
	colb_seckey *k = NULL;
	if ((ex = cli_load_key(CMD, key, pwfile, &k))) {
		colb_trust_free(trust);
		return ex;
	}
	cfg.trust = trust;
	cfg.reuse_trust = trust;
	cfg.key = k;
	/* A reset connection must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	cap_result res;
	colb_err rc = cap_run(&cfg, &res);
	if (rc) {
		cli_err(CMD, "%s; no bundle written", res.why);
		ex = cli_exit_for(rc);
	} else if (cfg.output != CAP_OUT_JSON && cfg.output != CAP_OUT_QUIET) {
		char id[17];
		colb_seckey_id(k, id);
		printf("wrote %s, signed by key %s\n", cfg.out, id);
	}
	colb_seckey_free(k);
	colb_trust_free(trust);
	return ex;
}

const cli_command cmd_capture = {
	.name = "capture",
	.summary = "fetch a fleet's collateral from Intel and AMD into a signed bundle",
	.usage =
		"usage: colbundle capture --out B.colb --key KEY [--fleet FLEET] [inputs] [sources] [options]\n\n"
		"Fetches everything the fleet needs from Intel PCS (or a PCCS / THIM) and AMD KDS,\n"
		"validates it as `create` does, and writes a signed bundle, or fails with a report\n"
		"and writes no bundle. Answers are kept in a work directory as they arrive: run the\n"
		"same command again after an interruption and it resumes.\n\n"
		"Inputs (the fleet file of format-spec/raw-layouts.md names any of them):\n"
		"  --fleet FILE          fleet file (JSON)\n"
		"  --pckid-csv FILE      PCK Cert ID Retrieval Tool CSV (repeatable)\n"
		"  --platform-list FILE  Intel admin tool platform_list.json (repeatable)\n"
		"  --fmspc HEX           TCB info for this FMSPC too (repeatable)\n"
		"  --all-fmspcs          TCB info for every FMSPC the PCS lists\n"
		"  --amd-report FILE     raw SNP attestation report: chip, TCB, product (repeatable)\n"
		"  --amd-chip P:CHIPID:TCB  an AMD chip (Milan|Genoa|Turin, hex chip id, 16-hex tcbm)\n"
		"  --tcb LIST            TCB sets: standard, early, evaluation numbers (comma-\n"
		"                        separated; default: the fleet file's, else standard)\n"
		"  --baseline B          the Intel TCB baseline the bundle serves by default:\n"
		"                        standard (default), early, or an evaluation number\n"
		"  --min-eval N          serve no Intel collateral below evaluation number N\n\n"
		"Sources (base URLs; a mirror or test server can stand in):\n"
		"  --pcs URL             Intel PCS (default " CAP_DEFAULT_PCS ")\n"
		"  --pccs URL | --thim URL  an Intel PCCS or Azure THIM instead of the PCS\n"
		"  --kds URL             AMD KDS (default " CAP_DEFAULT_KDS ")\n"
		"  --root-crl URL        the Intel SGX Root CA CRL (default " CAP_DEFAULT_ROOT_CRL ";\n"
		"                        with --pccs: its /rootcacrl)\n"
		"  --api-key-file FILE   PCS API key (or $COLBUNDLE_PCS_API_KEY_FILE); sent only to\n"
		"                        the PCS as Ocp-Apim-Subscription-Key, never logged\n\n"
		"Fetching:\n"
		"  --connections N       concurrent requests per service (default 8)\n"
		"  --kds-interval SECS   at least this long between KDS requests (default 10: KDS\n"
		"                        throttles per client address)\n"
		"  --retries N           attempts per request (default 6); 5xx, timeouts, resets\n"
		"                        and cut-short answers are retried with exponential backoff\n"
		"                        and jitter; HTTP 429 waits as Retry-After says\n"
		"  --backoff-ms MS       first retry delay (default 500)\n"
		"  --timeout SECS        per request (default 60)\n"
		"  --work DIR            work directory (default B.colb.work, removed after success)\n"
		"  --keep-work           keep the default work directory after success\n"
		"  --reuse OLD.colb      take PCK certs and VCEKs from an older bundle (needs --trust)\n\n"
		"Output:\n"
		"  --out B.colb --key KEY [--password-file F]  the bundle and its signing key\n"
		"  --created T --expires T | --valid-for DAYS --version N --publisher NAME  as for create\n"
		"  --quiet | --plain | --json   no progress | log lines | JSON lines on stdout\n"
		"  (default: a progress bar on a terminal, log lines otherwise)\n\n" CLI_TRUST_USAGE
		"\nExit codes: 0 bundle written, 1 collateral refused, 2 usage, 4 fetch or I/O failure.\n",
	.run = run,
};
