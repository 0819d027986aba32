/*
 * cmd_verify.c — `colbundle verify`: exit 0 only when everything holds.
 */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"
#include "util/util.h"

static json_t *refusal_json(const char *path, colb_err rc, const char *detail)
{
	json_t *j = json_object();
	json_object_set_new(j, "ok", json_false());
	json_object_set_new(j, "bundle", json_string(path));
	json_object_set_new(j, "error", json_string(colb_strerror(rc)));
	json_object_set_new(j, "code", json_integer(rc));
	json_object_set_new(j, "detail", json_string(detail));
	return j;
}

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *bundle = NULL;
	bool format_only = false;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "verify", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (!strcmp(argv[i], "--format-only")) {
			format_only = true;
		} else if (!cli_positional("verify", argv[i], &bundle, NULL)) {
			return EXIT_USAGE;
		}
	}
	cli_bundle cb;
	int ex = cli_open_bundle(&c, "verify", bundle, &cb);
	colb_err rc = COLB_OK;
	if (!ex)
		rc = colb_bundle_verify_files(cb.b);
	/* The collateral's own vendor signatures, chains and CRLs. */
	bool intel = false, amd = false;
	for (size_t i = 0; !ex && i < colb_bundle_file_count(cb.b); i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(cb.b, i, &fi) == COLB_OK) {
			intel |= !strncmp(fi.path, "intel/", 6);
			amd |= !strncmp(fi.path, "amd/", 4);
		}
	}
	if (!ex && !rc && !format_only && intel)
		rc = colb_intel_verify_all(cb.b);
	if (!ex && !rc && !format_only && amd)
		rc = colb_amd_verify_all(cb.b);
	if (!ex && rc) {
		ex = cli_exit_for(rc);
		if (!c.json)
			cli_err("verify", "%s: REFUSED: %s: %s", cb.path, colb_strerror(rc),
				colb_bundle_error(cb.b));
	}
	if (ex) {
		if (c.json && cb.b) {
			/* the library's verdict, for scripts */
			colb_err why = rc ? rc : cb.err;
			json_t *j = refusal_json(cb.path, why, colb_bundle_error(cb.b));
			cli_print_json(j);
			json_decref(j);
		}
		cli_close_bundle(&cb);
		return ex;
	}
	char created[21], expires[21];
	colb_time_format(colb_bundle_created(cb.b), created);
	colb_time_format(colb_bundle_expires(cb.b), expires);
	if (c.json) {
		json_t *j = json_object(), *signers = json_array();
		for (size_t i = 0; i < colb_bundle_signer_count(cb.b); i++)
			json_array_append_new(signers, json_string(colb_bundle_signer(cb.b, i)));
		char version[24];
		snprintf(version, sizeof version, "%llu", (unsigned long long)colb_bundle_version(cb.b));
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "bundle", json_string(cb.path));
		json_object_set_new(j, "version", json_string(version));
		json_object_set_new(j, "bundle_id", json_string(colb_bundle_id(cb.b)));
		json_object_set_new(j, "digest", json_string(colb_bundle_digest(cb.b)));
		json_object_set_new(j, "created", json_string(created));
		json_object_set_new(j, "expires", json_string(expires));
		json_object_set_new(j, "files", json_integer((json_int_t)colb_bundle_file_count(cb.b)));
		json_object_set_new(j, "signers", signers);
		json_object_set_new(j, "collateral", json_string(format_only ? "not checked" : "verified"));
		cli_print_json(j);
		json_decref(j);
	} else {
		printf("OK %s: version %llu, id %s, %zu files, created %s, expires %s, signed by",
		       cb.path, (unsigned long long)colb_bundle_version(cb.b), colb_bundle_id(cb.b),
		       colb_bundle_file_count(cb.b), created, expires);
		for (size_t i = 0; i < colb_bundle_signer_count(cb.b); i++)
			printf(" %s", colb_bundle_signer(cb.b, i));
		printf("%s\n", format_only ? "; collateral NOT checked (--format-only)"
					   : intel || amd ? "; collateral verified" : "");
	}
	cli_close_bundle(&cb);
	return EXIT_OK;
}

const cli_command cmd_verify = {
	.name = "verify",
	.summary = "verify a bundle (exit 0 only when everything holds)",
	.usage = "usage: colbundle verify B.colb [--json] [--format-only] [trust options]\n\n"
		 "Checks the envelope, the signatures against the trusted keys and threshold,\n"
		 "the manifest, the validity period, the anti-rollback state, the payload,\n"
		 "every file's size and SHA-256, and then the collateral itself: Intel and\n"
		 "AMD signatures, certificate chains to the pinned roots and CRLs\n"
		 "(--format-only stops before the collateral, and says so). Exit 0 when all\n"
		 "of it holds, 1 when anything\n"
		 "is refused (the reason is printed), 2 on a usage error, 4 on an I/O error.\n"
		 "--json prints one object: {\"ok\":true,...} or {\"ok\":false,\"error\":...}.\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
