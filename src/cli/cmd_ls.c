/*
 * cmd_ls.c — `colbundle ls`: the files of a verified bundle.
 */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *bundle = NULL, *kind = NULL, *v;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "ls", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (cli_opt("ls", argc, argv, &i, "--kind", &v)) {
			if (!(kind = v))
				return EXIT_USAGE;
		} else if (!cli_positional("ls", argv[i], &bundle, NULL)) {
			return EXIT_USAGE;
		}
	}
	cli_bundle cb;
	int ex = cli_open_bundle(&c, "ls", bundle, &cb);
	if (ex) {
		cli_close_bundle(&cb);
		return ex;
	}
	json_t *arr = c.json ? json_array() : NULL;
	for (size_t i = 0; i < colb_bundle_file_count(cb.b); i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(cb.b, i, &fi) != COLB_OK || (kind && strcmp(kind, fi.kind)))
			continue;
		if (arr) {
			json_t *o = json_object();
			json_object_set_new(o, "path", json_string(fi.path));
			json_object_set_new(o, "kind", json_string(fi.kind));
			json_object_set_new(o, "size", json_integer((json_int_t)fi.size));
			json_object_set_new(o, "sha256", json_string(fi.sha256));
			json_object_set_new(o, "meta", json_loads(fi.meta_json, 0, NULL));
			json_array_append_new(arr, o);
		} else {
			printf("%-12s %9llu  %s\n", fi.kind, (unsigned long long)fi.size, fi.path);
		}
	}
	if (arr) {
		cli_print_json(arr);
		json_decref(arr);
	}
	cli_close_bundle(&cb);
	return EXIT_OK;
}

const cli_command cmd_ls = {
	.name = "ls",
	.summary = "list a verified bundle's files",
	.usage = "usage: colbundle ls B.colb [--kind KIND] [--json] [trust options]\n\n"
		 "Verifies the bundle, then lists its files: kind, size and path, one a line\n"
		 "(--json: an array of {path, kind, size, sha256, meta}).\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
