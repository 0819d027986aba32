/*
 * cmd_rotate.c — `colbundle rotate`: a key-rotation statement naming the
 * publisher's next keyset, signed by keys of the current one
 * (format-spec/colbundle-v1.md, section 12).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/site_cli.h"
#include "util/util.h"

#define STMT_FILE_MAX (1u << 20)

int cli_read_rotation(const char *cmd, const char *path, uint8_t **out, size_t *len)
{
	static const char comment[] = "untrusted comment: ";
	uint8_t *text = NULL;
	size_t n = 0;
	char why[512];
	*out = NULL;
	*len = 0;
	colb_err rc = colb_read_file(path, STMT_FILE_MAX, &text, &n, why, sizeof why);
	if (rc) {
		cli_err(cmd, "%s", why);
		return cli_exit_for(rc);
	}
	const char *s = (const char *)text, *nl = memchr(s, '\n', n);
	const char *b64 = nl ? nl + 1 : NULL;
	size_t bl = b64 ? n - (size_t)(b64 - s) : 0;
	while (bl && (b64[bl - 1] == '\n' || b64[bl - 1] == '\r'))
		bl--;
	uint8_t *raw = NULL;
	size_t rl = 0;
	if (n < sizeof comment - 1 || memcmp(s, comment, sizeof comment - 1) != 0 || !nl ||
	    memchr(b64, '\n', bl) || !(raw = colb_b64_decode(b64, bl, &rl))) {
		cli_err(cmd, "%s: not a rotation statement file (a comment line, then base64)", path);
		free(text);
		return EXIT_REFUSED;
	}
	free(text);
	uint64_t version;
	if ((rc = colb_rotation_describe(raw, rl, &version, NULL, NULL, NULL, why, sizeof why))) {
		cli_err(cmd, "%s: %s", path, why);
		free(raw);
		return cli_exit_for(rc);
	}
	*out = raw;
	*len = rl;
	return EXIT_OK;
}

static int run(int argc, char **argv)
{
	const char *keys[CLI_MAX_LIST], *pubs[CLI_MAX_LIST], *out = NULL, *pwfile = NULL, *v;
	const char *thr_s = NULL, *ver_s = NULL;
	size_t nkeys = 0, npubs = 0;
	for (int i = 1; i < argc; i++) {
		if (cli_opt("rotate", argc, argv, &i, "--key", &v)) {
			if (!v || nkeys >= CLI_MAX_LIST)
				return EXIT_USAGE;
			keys[nkeys++] = v;
		} else if (cli_opt("rotate", argc, argv, &i, "--new-pub", &v)) {
			if (!v || npubs >= CLI_MAX_LIST)
				return EXIT_USAGE;
			pubs[npubs++] = v;
		} else if (cli_opt("rotate", argc, argv, &i, "--threshold", &v)) {
			if (!(thr_s = v))
				return EXIT_USAGE;
		} else if (cli_opt("rotate", argc, argv, &i, "--keyset-version", &v)) {
			if (!(ver_s = v))
				return EXIT_USAGE;
		} else if (cli_opt("rotate", argc, argv, &i, "--out", &v)) {
			if (!(out = v))
				return EXIT_USAGE;
		} else if (cli_opt("rotate", argc, argv, &i, "--password-file", &v)) {
			if (!(pwfile = v))
				return EXIT_USAGE;
		} else {
			cli_err("rotate", "unexpected argument '%s' (see --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	uint64_t thr = 1, version = 0;
	if (!nkeys || !npubs || !out || !ver_s) {
		cli_err("rotate", "--key, --new-pub, --keyset-version and --out are required");
		return EXIT_USAGE;
	}
	if (!colb_parse_u64(ver_s, &version) || version < 2) {
		cli_err("rotate", "--keyset-version must be 2 or more (the first keyset is 1)");
		return EXIT_USAGE;
	}
	if (thr_s && (!colb_parse_u64(thr_s, &thr) || thr == 0 || thr > npubs)) {
		cli_err("rotate", "--threshold must be 1 to the number of --new-pub keys");
		return EXIT_USAGE;
	}
	colb_trust *next = colb_trust_new();
	colb_seckey *sk[CLI_MAX_LIST] = {0};
	int ex = next ? EXIT_OK : EXIT_IOERR;
	char why[512];
	for (size_t i = 0; i < npubs && !ex; i++)
		if (colb_trust_add_pubkey_file(next, pubs[i], why, sizeof why) != COLB_OK) {
			cli_err("rotate", "--new-pub: %s", why);
			ex = EXIT_USAGE;
		}
	if (!ex && colb_trust_set_threshold(next, (unsigned)thr) != COLB_OK)
		ex = EXIT_USAGE;
	for (size_t i = 0; i < nkeys && !ex; i++)
		ex = cli_load_key("rotate", keys[i], pwfile, &sk[i]);
	uint8_t *stmt = NULL;
	size_t len = 0;
	if (!ex) {
		colb_err rc = colb_rotation_create(next, version, (const colb_seckey *const *)sk, nkeys,
						   &stmt, &len, why, sizeof why);
		if (rc) {
			cli_err("rotate", "%s", why);
			ex = cli_exit_for(rc);
		}
	}
	if (!ex) {
		char *b64 = colb_b64_encode(stmt, len);
		colb_buf text;
		colb_buf_init(&text, 0);
		if (!b64 || colb_buf_printf(&text,
					    "untrusted comment: colbundle key rotation to keyset %llu "
					    "(%zu keys, threshold %llu)\n%s\n",
					    (unsigned long long)version, npubs, (unsigned long long)thr,
					    b64) != COLB_OK) {
			ex = EXIT_IOERR;
		} else {
			colb_err rc = colb_write_file_excl(out, text.data, text.len, 0644, why, sizeof why);
			if (rc) {
				cli_err("rotate", "%s", why);
				ex = cli_exit_for(rc);
			} else {
				printf("wrote %s: keyset %llu (%zu keys, threshold %llu), signed by %zu "
				       "key(s) of the previous keyset\n",
				       out, (unsigned long long)version, npubs, (unsigned long long)thr,
				       nkeys);
			}
		}
		free(b64);
		colb_buf_free(&text);
	}
	free(stmt);
	for (size_t i = 0; i < nkeys; i++)
		colb_seckey_free(sk[i]);
	colb_trust_free(next);
	return ex;
}

const cli_command cmd_rotate = {
	.name = "rotate",
	.summary = "sign a key-rotation statement naming the next publisher keyset",
	.usage = "usage: colbundle rotate --key OLD.key [--key OLD2.key ...] --new-pub NEW.pub\n"
		 "                        [--new-pub ...] [--threshold K] --keyset-version N --out STMT\n\n"
		 "Writes a statement that makes the keys given by --new-pub (with threshold K,\n"
		 "default 1) the publisher's keyset version N, signed by each --key: keys of\n"
		 "keyset N-1, at least its threshold of them. Bundles then carry the chain of\n"
		 "statements (`colbundle create --rotation STMT`, repeatable, oldest first) and\n"
		 "are signed by the new keys; sites follow the chain from the keys they trust\n"
		 "and record the new keyset (format-spec/colbundle-v1.md, section 12).\n\n"
		 "  --password-file F   password of the old keys (else asked, or\n"
		 "                      COLBUNDLE_PASSWORD_FILE)\n",
	.run = run,
};
