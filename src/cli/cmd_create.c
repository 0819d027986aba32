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
#include "util/util.h"

typedef struct create_inputs {
	const char *dirs[CLI_MAX_LIST];  /* --dir: collateral already in the entry naming */
	size_t ndirs;
} create_inputs;

static bool has_inputs(const create_inputs *in)
{
	return in->ndirs > 0;
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
		cli_err("create", "no input: give --dir DIR (see --help)");
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
	if ((ex = add_inputs(&in, w)))
		goto out;
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
		 "                       taken from each path; repeatable\n\n"
		 "Options:\n"
		 "  --version N          the bundle version (uint64; default: the creation time\n"
		 "                       in seconds). Sites refuse versions lower than installed.\n"
		 "  --expires TIME       RFC 3339 UTC expiry time\n"
		 "  --valid-for DAYS     expiry as days after creation (default 90)\n"
		 "  --created TIME       creation time (default: $SOURCE_DATE_EPOCH, else now)\n"
		 "  --publisher NAME     the publisher's name (default: \"key <KEYID>\")\n\n"
		 "The same inputs, key and creation time give the same bytes.\n",
	.run = run,
};
