/*
 * cmd_cat.c — `colbundle cat`: one file of a verified bundle, on stdout.
 */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *bundle = NULL, *path = NULL;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "cat", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (!cli_positional("cat", argv[i], &bundle, &path, NULL))
			return EXIT_USAGE;
	}
	if (!bundle || !path) {
		cli_err("cat", "a bundle and a path are required");
		return EXIT_USAGE;
	}
	cli_bundle cb;
	int ex = cli_open_bundle(&c, "cat", bundle, &cb);
	if (ex) {
		cli_close_bundle(&cb);
		return ex;
	}
	const uint8_t *data;
	size_t len;
	colb_err rc = colb_bundle_read(cb.b, path, &data, &len);
	if (rc) {
		cli_err("cat", "%s", colb_bundle_error(cb.b));
		ex = cli_exit_for(rc);
	} else if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
		cli_err("cat", "write to stdout failed");
		ex = EXIT_IOERR;
	}
	cli_close_bundle(&cb);
	return ex;
}

const cli_command cmd_cat = {
	.name = "cat",
	.summary = "print one file of a verified bundle",
	.usage = "usage: colbundle cat B.colb PATH [trust options]\n\n"
		 "Verifies the bundle, checks the file's SHA-256, then writes its bytes to\n"
		 "stdout. Exit 3 when the bundle has no such path.\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
