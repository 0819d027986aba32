/*
 * cmd_install.c — `colbundle install`: verify a bundle fully and make it
 * the store's current one, atomically (format-spec/site-store.md).
 */
#include <stdio.h>
#include <string.h>

#include "cli/site_cli.h"
#include "util/util.h"

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *bundle = NULL, *store = NULL, *v;
	unsigned flags = 0;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "install", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (cli_opt("install", argc, argv, &i, "--store", &v)) {
			if (!(store = v))
				return EXIT_USAGE;
		} else if (!strcmp(argv[i], "--wait")) {
			flags |= COLB_INSTALL_WAIT;
		} else if (!cli_positional("install", argv[i], &bundle, NULL)) {
			return EXIT_USAGE;
		}
	}
	if (!bundle) {
		cli_err("install", "no bundle given (see --help)");
		return EXIT_USAGE;
	}
	site_ctx s;
	int ex = site_ctx_init(&s, &c, "install", store);
	if (ex)
		return ex;
	colb_install_result res;
	char why[768];
	colb_err rc = colb_store_install(s.store, bundle, s.opts, flags, &res, why, sizeof why);
	if (rc) {
		if (c.json) {
			json_t *j = json_object();
			json_object_set_new(j, "ok", json_false());
			json_object_set_new(j, "bundle", json_string(bundle));
			json_object_set_new(j, "store", json_string(s.store));
			json_object_set_new(j, "error", json_string(colb_strerror(rc)));
			json_object_set_new(j, "code", json_integer(rc));
			json_object_set_new(j, "detail", json_string(why));
			cli_print_json(j);
			json_decref(j);
		}
		cli_err("install", "%s: REFUSED: %s: %s (the store is unchanged)", bundle,
			colb_strerror(rc), why);
		site_ctx_free(&s);
		return cli_exit_for(rc);
	}
	if (res.expired)
		fprintf(stderr, "colbundle install: warning: %s has expired; installed anyway because "
				"expired bundles are allowed (--allow-expired or allow_expired = yes)\n",
			bundle);
	char version[24];
	snprintf(version, sizeof version, "%llu", (unsigned long long)res.version);
	if (c.json) {
		json_t *j = json_object();
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "bundle", json_string(bundle));
		json_object_set_new(j, "store", json_string(s.store));
		json_object_set_new(j, "version", json_string(version));
		json_object_set_new(j, "generation", json_string(res.generation));
		json_object_set_new(j, "previous", res.previous[0] ? json_string(res.previous) : json_null());
		json_object_set_new(j, "keyset_version", json_integer((json_int_t)res.keyset_version));
		json_object_set_new(j, "unchanged", json_boolean(res.unchanged));
		json_object_set_new(j, "expired", json_boolean(res.expired));
		cli_print_json(j);
		json_decref(j);
	} else if (res.unchanged) {
		printf("%s: version %s is already installed in %s; nothing changed\n", bundle, version,
		       s.store);
	} else {
		printf("installed %s into %s: version %s (generation %s, keyset %llu)%s%s\n", bundle, s.store,
		       version, res.generation, (unsigned long long)res.keyset_version,
		       res.previous[0] ? "; previous " : "", res.previous);
	}
	site_ctx_free(&s);
	return EXIT_OK;
}

const cli_command cmd_install = {
	.name = "install",
	.summary = "verify a bundle and install it into a site store",
	.usage = "usage: colbundle install B.colb --store DIR [--wait] [--json] [trust options]\n\n"
		 "Verifies B.colb fully (signatures and key-rotation chain, threshold, expiry,\n"
		 "the store's anti-rollback state and keyset, every file, every Intel and AMD\n"
		 "item), then makes it the store's current bundle with one atomic rename\n"
		 "(format-spec/site-store.md). A failed install changes nothing. The bundle it\n"
		 "replaces is kept, read-only, as STORE/previous; installing it again is refused\n"
		 "as a rollback. Installing the current bundle again changes nothing.\n\n"
		 "  --store DIR         the store (created if absent; default: 'store' in the\n"
		 "                      configuration file)\n"
		 "  --wait              wait for another install to finish (default: fail at\n"
		 "                      once with exit 4 while the store is locked)\n"
		 "  --json              one JSON object on stdout\n\n"
		 "Trust: the first install needs keys (--trust, COLBUNDLE_TRUST or the\n"
		 "configuration file); later installs trust the keyset the store recorded\n"
		 "when none is given. --allow-expired installs an expired bundle (logged on\n"
		 "stderr; store readers then accept that bundle's expiry too).\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
