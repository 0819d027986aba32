/*
 * cmd_keygen.c — `colbundle keygen`: a publisher key pair.
 */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"

static int run(int argc, char **argv)
{
	const char *out = NULL, *pwfile = NULL, *v;
	bool no_password = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-password")) {
			no_password = true;
		} else if (cli_opt("keygen", argc, argv, &i, "--out", &v)) {
			if (!(out = v))
				return EXIT_USAGE;
		} else if (cli_opt("keygen", argc, argv, &i, "--password-file", &v)) {
			if (!(pwfile = v))
				return EXIT_USAGE;
		} else {
			cli_err("keygen", "unexpected argument '%s' (see --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!out) {
		cli_err("keygen", "--out NAME is required");
		return EXIT_USAGE;
	}
	if (no_password && pwfile) {
		cli_err("keygen", "--no-password and --password-file exclude each other");
		return EXIT_USAGE;
	}
	char *pw = NULL;
	if (no_password) {
		fprintf(stderr, "colbundle keygen: warning: the secret key is written UNENCRYPTED; "
				"keep %s.key in a vault\n", out);
	} else {
		int ex = cli_read_password("keygen", pwfile, true, &pw);
		if (ex)
			return ex;
	}
	char why[512];
	colb_err rc = colb_keygen(out, pw, why, sizeof why);
	cli_password_free(pw);
	if (rc) {
		cli_err("keygen", "%s", why);
		return cli_exit_for(rc);
	}
	char pub[4200];
	snprintf(pub, sizeof pub, "%s.pub", out);
	FILE *f = fopen(pub, "r");
	char line[256] = "";
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = 0;
		fclose(f);
	}
	char *id = strstr(line, "key ");
	printf("wrote %s.key (secret, mode 0600) and %s.pub; key id %s", out, out,
	       id ? id + 4 : "?\n");
	return EXIT_OK;
}

const cli_command cmd_keygen = {
	.name = "keygen",
	.summary = "make a publisher key pair",
	.usage = "usage: colbundle keygen --out NAME [--password-file F | --no-password]\n\n"
		 "Writes NAME.key (the secret key, mode 0600, never overwritten) and NAME.pub.\n"
		 "The secret key is encrypted with a password (Argon2id + XChaCha20-Poly1305),\n"
		 "asked on the terminal twice, or read from the first line of F or of the file\n"
		 "named by COLBUNDLE_PASSWORD_FILE. --no-password writes it unencrypted, for\n"
		 "pipelines that keep keys in a vault (a warning is printed).\n",
	.run = run,
};
