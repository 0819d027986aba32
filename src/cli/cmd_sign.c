/*
 * cmd_sign.c — `colbundle sign`: one more signature on a bundle.
 */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"

static int run(int argc, char **argv)
{
	const char *bundle = NULL, *key = NULL, *pwfile = NULL, *v;
	for (int i = 1; i < argc; i++) {
		if (cli_opt("sign", argc, argv, &i, "--key", &v)) {
			if (!(key = v))
				return EXIT_USAGE;
		} else if (cli_opt("sign", argc, argv, &i, "--password-file", &v)) {
			if (!(pwfile = v))
				return EXIT_USAGE;
		} else if (!cli_positional("sign", argv[i], &bundle, NULL)) {
			return EXIT_USAGE;
		}
	}
	if (!bundle || !key) {
		cli_err("sign", "a bundle and --key KEY are required");
		return EXIT_USAGE;
	}
	colb_seckey *k = NULL;
	int ex = cli_load_key("sign", key, pwfile, &k);
	if (ex)
		return ex;
	char why[512], id[17];
	colb_seckey_id(k, id);
	colb_err rc = colb_sign_file(bundle, k, why, sizeof why);
	colb_seckey_free(k);
	if (rc) {
		cli_err("sign", "%s", why);
		return cli_exit_for(rc);
	}
	printf("signed %s with key %s\n", bundle, id);
	return EXIT_OK;
}

const cli_command cmd_sign = {
	.name = "sign",
	.summary = "add a signature to a bundle",
	.usage = "usage: colbundle sign B.colb --key KEY [--password-file F]\n\n"
		 "Appends one signature by KEY to B.colb without changing any other byte\n"
		 "(the signed manifest and the payload stay as they are). The bundle must be\n"
		 "well formed and its payload must match its manifest; a key signs a bundle\n"
		 "once. Readers count signatures by distinct trusted keys (--threshold).\n",
	.run = run,
};
