/*
 * cmd_inspect.c — `colbundle inspect`: what a verified bundle holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "util/util.h"

static json_t *summary(const cli_bundle *cb)
{
	colb_bundle *b = cb->b;
	char created[21], expires[21], version[24];
	colb_time_format(colb_bundle_created(b), created);
	colb_time_format(colb_bundle_expires(b), expires);
	snprintf(version, sizeof version, "%llu", (unsigned long long)colb_bundle_version(b));
	json_t *j = json_object(), *signers = json_array(), *kinds = json_object();
	for (size_t i = 0; i < colb_bundle_signer_count(b); i++)
		json_array_append_new(signers, json_string(colb_bundle_signer(b, i)));
	uint64_t bytes = 0;
	for (size_t i = 0; i < colb_bundle_file_count(b); i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(b, i, &fi) != COLB_OK)
			continue;
		json_int_t n = json_integer_value(json_object_get(kinds, fi.kind));
		json_object_set_new(kinds, fi.kind, json_integer(n + 1));
		bytes += fi.size;
	}
	size_t mlen;
	const char *mj = colb_bundle_manifest_json(b, &mlen);
	json_t *m = json_loadb(mj, mlen, 0, NULL);
	json_t *baseline = json_loads(colb_bundle_baseline_json(b), 0, NULL);
	long long fsize = -1;
	FILE *f = fopen(cb->path, "rb");
	if (f) {
		fseek(f, 0, SEEK_END);
		fsize = ftell(f);
		fclose(f);
	}
	json_object_set_new(j, "bundle", json_string(cb->path));
	json_object_set_new(j, "format_version", json_incref(json_object_get(m, "format_version")));
	json_object_set_new(j, "version", json_string(version));
	json_object_set_new(j, "bundle_id", json_string(colb_bundle_id(b)));
	json_object_set_new(j, "publisher", json_string(colb_bundle_publisher(b)));
	json_object_set_new(j, "created", json_string(created));
	json_object_set_new(j, "expires", json_string(expires));
	json_object_set_new(j, "signers", signers);
	json_object_set_new(j, "tee", json_incref(json_object_get(m, "tee")));
	json_object_set_new(j, "files", json_integer((json_int_t)colb_bundle_file_count(b)));
	json_object_set_new(j, "kinds", kinds);
	json_object_set_new(j, "content_bytes", json_integer((json_int_t)bytes));
	json_object_set_new(j, "size", json_integer(fsize));
	json_object_set_new(j, "digest", json_string(colb_bundle_digest(b)));
	json_object_set_new(j, "baseline", baseline ? baseline : json_object());
	json_decref(m);
	return j;
}

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *bundle = NULL;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "inspect", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (!cli_positional("inspect", argv[i], &bundle, NULL))
			return EXIT_USAGE;
	}
	cli_bundle cb;
	int ex = cli_open_bundle(&c, "inspect", bundle, &cb);
	if (ex) {
		cli_close_bundle(&cb);
		return ex;
	}
	json_t *j = summary(&cb);
	if (c.json) {
		cli_print_json(j);
	} else {
		printf("bundle     %s\n", cb.path);
		printf("format     colbundle %s\n", json_string_value(json_object_get(j, "format_version")));
		printf("version    %s\n", json_string_value(json_object_get(j, "version")));
		printf("id         %s\n", colb_bundle_id(cb.b));
		printf("publisher  %s\n", colb_bundle_publisher(cb.b));
		printf("created    %s\n", json_string_value(json_object_get(j, "created")));
		printf("expires    %s\n", json_string_value(json_object_get(j, "expires")));
		printf("signers   ");
		for (size_t i = 0; i < colb_bundle_signer_count(cb.b); i++)
			printf(" %s", colb_bundle_signer(cb.b, i));
		printf("\ntee       ");
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(j, "tee"), i, v)
			printf(" %s", json_string_value(v));
		printf("\nfiles      %zu (%lld bytes of collateral)\n", colb_bundle_file_count(cb.b),
		       (long long)json_integer_value(json_object_get(j, "content_bytes")));
		const char *k;
		json_object_foreach(json_object_get(j, "kinds"), k, v)
			printf("  %-14s %lld\n", k, (long long)json_integer_value(v));
		printf("size       %lld bytes\n", (long long)json_integer_value(json_object_get(j, "size")));
		printf("digest     %s\n", colb_bundle_digest(cb.b));
		char *bl = json_dumps(json_object_get(j, "baseline"), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("baseline   %s\n", bl ? bl : "{}");
		free(bl);
	}
	json_decref(j);
	cli_close_bundle(&cb);
	return EXIT_OK;
}

const cli_command cmd_inspect = {
	.name = "inspect",
	.summary = "show a verified bundle's facts",
	.usage = "usage: colbundle inspect B.colb [--json] [trust options]\n\n"
		 "Verifies the bundle, then prints its version, id, publisher, creation and\n"
		 "expiry times, signers, TEE kinds, file counts per kind, baseline and size.\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
