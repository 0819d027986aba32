/*
 * cmd_create.c — `colbundle create`: pack collateral into a signed bundle.
 *
 * The inputs are gathered by add_inputs(), which hands every file to a
 * colb_writer. A new kind of input is one option in the INPUT OPTIONS block
 * of run() and one step in add_inputs().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/common.h"
#include "cli/site_cli.h"
#include "util/util.h"

typedef struct create_inputs {
	const char *dirs[CLI_MAX_LIST];  /* --dir: collateral already in the entry naming */
	size_t ndirs;
	/* Intel: raw PCS answers, PCCS admin-tool imports, PCK Cert ID CSVs */
	const char *intel_dirs[CLI_MAX_LIST], *pccs[CLI_MAX_LIST], *pckid[CLI_MAX_LIST];
	size_t nintel_dirs, npccs, npckid;
	const char *intel_roots[CLI_MAX_LIST];
	size_t nintel_roots;
	const char *baseline, *min_eval;
	/* AMD: raw KDS answers, trustee's offline store, snphost's cert directory, reports */
	const char *amd_dirs[CLI_MAX_LIST], *amd_arks[CLI_MAX_LIST], *amd_reports[CLI_MAX_LIST];
	size_t namd_dirs, namd_arks, namd_reports;
	time_t at;                       /* validation time: the creation time */
} create_inputs;

static bool has_inputs(const create_inputs *in)
{
	return in->ndirs > 0 || in->nintel_dirs > 0 || in->npccs > 0 || in->namd_dirs > 0 || in->namd_reports > 0;
}

/* Validates the AMD inputs and adds them; prints the item and reason on failure. */
static int add_amd_inputs(const create_inputs *in, colb_writer *w)
{
	if (!in->namd_dirs && !in->namd_reports)
		return EXIT_OK;
	colb_trust *t = colb_trust_new();
	colb_err rc = t ? COLB_OK : COLB_ERR_NOMEM;
	for (size_t i = 0; !rc && i < in->namd_arks; i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		char why[256];
		if ((rc = colb_read_file(in->amd_arks[i], 1 << 20, &der, &len, why, sizeof why)))
			cli_err("create", "--amd-ark %s: %s", in->amd_arks[i], why);
		else if ((rc = colb_trust_add_amd_ark(t, der, len)))
			cli_err("create", "--amd-ark %s: not a DER certificate", in->amd_arks[i]);
		free(der);
	}
	if (rc) {
		colb_trust_free(t);
		return cli_exit_for(rc);
	}
	colb_amd_input *ai = colb_amd_input_new(t, in->at);
	rc = ai ? COLB_OK : COLB_ERR_NOMEM;
	for (size_t i = 0; !rc && i < in->namd_dirs; i++)
		rc = colb_amd_input_add_dir(ai, in->amd_dirs[i]);
	for (size_t i = 0; !rc && i < in->namd_reports; i++)
		rc = colb_amd_input_add_report(ai, in->amd_reports[i]);
	if (!rc)
		rc = colb_amd_input_write(ai, w);
	if (rc)
		cli_err("create", "AMD collateral refused: %s", ai ? colb_amd_input_error(ai) : "out of memory");
	colb_amd_input_free(ai);
	colb_trust_free(t);
	return rc ? cli_exit_for(rc) : EXIT_OK;
}

/* Validates the Intel inputs and adds them; prints the item and reason on failure. */
static int add_intel_inputs(const create_inputs *in, colb_writer *w)
{
	if (!in->nintel_dirs && !in->npccs)
		return EXIT_OK;
	colb_trust *t = colb_trust_new();
	colb_intel_input *ii = t ? colb_intel_input_new(t, in->at) : NULL;
	colb_err rc = ii ? COLB_OK : COLB_ERR_NOMEM;
	int ex = EXIT_OK;
	for (size_t i = 0; !rc && i < in->nintel_roots; i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		char why[256];
		rc = colb_read_file(in->intel_roots[i], 1 << 20, &der, &len, why, sizeof why);
		if (rc)
			cli_err("create", "--intel-root %s: %s", in->intel_roots[i], why);
		else if ((rc = colb_trust_add_intel_root(t, der, len)))
			cli_err("create", "--intel-root %s: not a DER certificate", in->intel_roots[i]);
		free(der);
		if (rc)
			ex = cli_exit_for(rc);
	}
	if (!rc && in->baseline && (rc = colb_intel_input_set_baseline(ii, in->baseline))) {
		cli_err("create", "%s", colb_intel_input_error(ii));
		ex = EXIT_USAGE;
	}
	if (!rc && in->min_eval) {
		uint64_t m;
		if (!colb_parse_u64(in->min_eval, &m) || m > UINT32_MAX) {
			cli_err("create", "--min-eval: '%s' is not a number", in->min_eval);
			rc = COLB_ERR_INVALID_ARG;
			ex = EXIT_USAGE;
		} else {
			colb_intel_input_set_min_eval(ii, (uint32_t)m);
		}
	}
	for (size_t i = 0; !rc && i < in->npckid; i++)
		rc = colb_intel_input_add_pckid_csv(ii, in->pckid[i]);
	for (size_t i = 0; !rc && i < in->nintel_dirs; i++)
		rc = colb_intel_input_add_dir(ii, in->intel_dirs[i]);
	for (size_t i = 0; !rc && i < in->npccs; i++)
		rc = colb_intel_input_import_pccs(ii, in->pccs[i]);
	if (!rc)
		rc = colb_intel_input_write(ii, w);
	if (rc && !ex) {
		cli_err("create", "Intel collateral refused: %s", colb_intel_input_error(ii));
		ex = cli_exit_for(rc);
	}
	colb_intel_input_free(ii);
	colb_trust_free(t);
	return ex;
}

/* Adds every input to the writer; prints the reason and returns the exit
 * code on failure. */
static int add_inputs(const create_inputs *in, colb_writer *w)
{
	for (size_t i = 0; i < in->ndirs; i++) {
		colb_err rc = colb_writer_add_dir(w, in->dirs[i]);
		if (rc) {
			cli_err("create", "--dir %s: %s", in->dirs[i], colb_writer_error(w));
			return cli_exit_for(rc);
		}
	}
	return EXIT_OK;
}

static int push_input(const char **list, size_t *n, const char *v, const char *opt)
{
	if (!v)
		return -1;
	if (*n >= CLI_MAX_LIST) {
		cli_err("create", "too many %s options", opt);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

static bool parse_days(const char *s, time_t *out)
{
	uint64_t d;
	if (!colb_parse_u64(s, &d) || d == 0 || d > 36500)
		return false;
	*out = (time_t)(d * 86400);
	return true;
}

static int run(int argc, char **argv)
{
	const char *out = NULL, *key = NULL, *pwfile = NULL, *publisher = NULL, *v;
	const char *version_s = NULL, *expires_s = NULL, *valid_s = NULL, *created_s = NULL;
	const char *rotation[CLI_MAX_LIST];
	size_t nrotation = 0;
	create_inputs in = {0};
	for (int i = 1; i < argc; i++) {
		/* ---- INPUT OPTIONS: one branch per kind of input ---------------- */
		if (cli_opt("create", argc, argv, &i, "--dir", &v)) {
			if (!v)
				return EXIT_USAGE;
			if (in.ndirs >= CLI_MAX_LIST) {
				cli_err("create", "too many --dir options");
				return EXIT_USAGE;
			}
			in.dirs[in.ndirs++] = v;
		} else if (cli_opt("create", argc, argv, &i, "--intel-dir", &v)) {
			if (push_input(in.intel_dirs, &in.nintel_dirs, v, "--intel-dir"))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--import-pccs", &v)) {
			if (push_input(in.pccs, &in.npccs, v, "--import-pccs"))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--pckid-csv", &v)) {
			if (push_input(in.pckid, &in.npckid, v, "--pckid-csv"))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--intel-root", &v)) {
			if (push_input(in.intel_roots, &in.nintel_roots, v, "--intel-root"))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--baseline", &v)) {
			if (!(in.baseline = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--min-eval", &v)) {
			if (!(in.min_eval = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--amd-dir", &v)) {
			if (push_input(in.amd_dirs, &in.namd_dirs, v, "--amd-dir"))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--amd-ark", &v)) {
			if (push_input(in.amd_arks, &in.namd_arks, v, "--amd-ark"))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--amd-report", &v)) {
			if (push_input(in.amd_reports, &in.namd_reports, v, "--amd-report"))
				return EXIT_USAGE;
		}
		/* ---- end of INPUT OPTIONS ------------------------------------------ */
		else if (cli_opt("create", argc, argv, &i, "--out", &v)) {
			if (!(out = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--key", &v)) {
			if (!(key = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--password-file", &v)) {
			if (!(pwfile = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--version", &v)) {
			if (!(version_s = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--expires", &v)) {
			if (!(expires_s = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--valid-for", &v)) {
			if (!(valid_s = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--created", &v)) {
			if (!(created_s = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--publisher", &v)) {
			if (!(publisher = v))
				return EXIT_USAGE;
		} else if (cli_opt("create", argc, argv, &i, "--rotation", &v)) {
			if (!v || nrotation >= CLI_MAX_LIST)
				return EXIT_USAGE;
			rotation[nrotation++] = v;
		} else {
			cli_err("create", "unexpected argument '%s' (see --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!out || !key) {
		cli_err("create", "--out B.colb and --key KEY are required");
		return EXIT_USAGE;
	}
	if (!has_inputs(&in)) {
		cli_err("create", "no input: give --dir DIR, --intel-dir DIR or --import-pccs FILE (see --help)");
		return EXIT_USAGE;
	}
	if (expires_s && valid_s) {
		cli_err("create", "--expires and --valid-for exclude each other");
		return EXIT_USAGE;
	}
	uint64_t version = 0;
	time_t created = 0, expires = 0, valid = 0;
	if (version_s && !colb_parse_u64(version_s, &version)) {
		cli_err("create", "--version: '%s' is not an unsigned 64-bit number", version_s);
		return EXIT_USAGE;
	}
	if (created_s && !cli_parse_time(created_s, &created)) {
		cli_err("create", "--created: '%s' is not an RFC 3339 UTC time", created_s);
		return EXIT_USAGE;
	}
	if (expires_s && !cli_parse_time(expires_s, &expires)) {
		cli_err("create", "--expires: '%s' is not an RFC 3339 UTC time", expires_s);
		return EXIT_USAGE;
	}
	if (valid_s && !parse_days(valid_s, &valid)) {
		cli_err("create", "--valid-for: '%s' is not a number of days (1 to 36500)", valid_s);
		return EXIT_USAGE;
	}

	colb_seckey *k = NULL;
	int ex = cli_load_key("create", key, pwfile, &k);
	if (ex)
		return ex;
	colb_writer *w = colb_writer_new();
	if (!w) {
		colb_seckey_free(k);
		return EXIT_IOERR;
	}
	if (!created_s) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		uint64_t t;
		created = sde && colb_parse_u64(sde, &t) && t < (1ull << 40) ? (time_t)t : time(NULL);
	}
	colb_writer_set_created(w, created);
	if (version_s)
		colb_writer_set_version(w, version);
	if (expires_s)
		colb_writer_set_expires(w, expires);
	else if (valid_s)
		colb_writer_set_expires(w, created + valid);
	colb_err rc = COLB_OK;
	if (publisher && (rc = colb_writer_set_publisher(w, publisher))) {
		cli_err("create", "--publisher: %s", colb_writer_error(w));
		ex = EXIT_USAGE;
		goto out;
	}
	in.at = created;
	if ((ex = add_inputs(&in, w)) || (ex = add_intel_inputs(&in, w)) || (ex = add_amd_inputs(&in, w)))
		goto out;
	for (size_t r = 0; r < nrotation; r++) {
		uint8_t *stmt;
		size_t slen;
		if ((ex = cli_read_rotation("create", rotation[r], &stmt, &slen)))
			goto out;
		rc = colb_writer_add_rotation(w, stmt, slen);
		free(stmt);
		if (rc) {
			cli_err("create", "--rotation %s: %s", rotation[r], colb_writer_error(w));
			ex = cli_exit_for(rc);
			goto out;
		}
	}
	if ((rc = colb_writer_finish(w, k, out))) {
		cli_err("create", "%s: %s", out, colb_writer_error(w));
		ex = cli_exit_for(rc);
		goto out;
	}
	char id[17];
	colb_seckey_id(k, id);
	printf("wrote %s, signed by key %s\n", out, id);
out:
	colb_writer_free(w);
	colb_seckey_free(k);
	return ex;
}

const cli_command cmd_create = {
	.name = "create",
	.summary = "pack collateral into a signed bundle",
	.usage = "usage: colbundle create --out B.colb --key KEY [options] INPUTS...\n\n"
		 "Packs collateral into a new bundle signed by KEY (the password is asked as\n"
		 "for keygen, or read from --password-file F / COLBUNDLE_PASSWORD_FILE).\n\n"
		 "Inputs:\n"
		 "  --dir DIR            files already laid out in the bundle's entry naming\n"
		 "                       (format-spec/colbundle-v1.md); kind and metadata are\n"
		 "                       taken from each path; repeatable\n"
		 "  --intel-dir DIR      raw Intel PCS v4 answers in the layout of\n"
		 "                       format-spec/raw-layouts.md; every item is validated\n"
		 "  --import-pccs FILE   Intel's admin-tool platform_collaterals.json\n"
		 "  --pckid-csv CSV      PCK Cert ID Retrieval Tool CSV: lets the bundle find\n"
		 "                       platforms by encrypted PPID\n"
		 "  --baseline B         the Intel TCB baseline served by default: standard\n"
		 "                       (default), early, or an evaluation number\n"
		 "  --min-eval N         refuse Intel collateral below evaluation number N\n"
		 "  --intel-root DER     accept an extra Intel root CA (test PKIs only)\n"
		 "  --amd-dir DIR        AMD collateral: raw KDS answers in the layout of\n"
		 "                       format-spec/raw-layouts.md, trustee's offline store\n"
		 "                       (vcek/<hwid>/...), or snphost's {ark,ask,vcek,vlek}\n"
		 "                       files; the built-in AMD chains stand in where there\n"
		 "                       are none; every item is validated; repeatable\n"
		 "  --amd-report FILE    an SNP attestation report to carry (amd/reports/)\n"
		 "  --amd-ark DER        accept an extra AMD ARK (test PKIs only; repeatable)\n"
		 "  Intel and AMD items are validated at the creation time (--created).\n\n"
		 "Options:\n"
		 "  --version N          the bundle version (uint64; default: the creation time\n"
		 "                       in seconds). Sites refuse versions lower than installed.\n"
		 "  --expires TIME       RFC 3339 UTC expiry time\n"
		 "  --valid-for DAYS     expiry as days after creation (default 90)\n"
		 "  --created TIME       creation time (default: $SOURCE_DATE_EPOCH, else now)\n"
		 "  --publisher NAME     the publisher's name (default: \"key <KEYID>\")\n"
		 "  --rotation STMT      a key-rotation statement to carry (`colbundle rotate`;\n"
		 "                       repeatable, oldest first); KEY is then a key of the\n"
		 "                       keyset the last statement names\n\n"
		 "The same inputs, key and creation time give the same bytes.\n",
	.run = run,
};
