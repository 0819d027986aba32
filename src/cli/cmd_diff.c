/*
 * cmd_diff.c — `colbundle diff OLD NEW --fleet CSV`: which Intel platforms
 * change TCB status between two bundles, or two baselines of one bundle —
 * the warning a fleet needs before a TCB recovery reaches it.
 */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"
#include "cli/intel_fleet.h"

static int eval_side(const cli_common *c, const char *path, const char *baseline, fleet *f)
{
	cli_bundle cb;
	int ex = cli_open_bundle(c, "diff", path, &cb);
	if (!ex && baseline && colb_intel_set_baseline(cb.b, baseline) != COLB_OK) {
		cli_err("diff", "%s: --baseline %s: %s", path, baseline, colb_bundle_error(cb.b));
		ex = EXIT_REFUSED;
	}
	if (!ex)
		fleet_evaluate(cb.b, f);
	cli_close_bundle(&cb);
	return ex;
}

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *old = NULL, *new = NULL, *csv = NULL, *bold = NULL, *bnew = NULL, *v;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "diff", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (cli_opt("diff", argc, argv, &i, "--fleet", &v)) {
			if (!(csv = v))
				return EXIT_USAGE;
		} else if (cli_opt("diff", argc, argv, &i, "--old-baseline", &v)) {
			if (!(bold = v))
				return EXIT_USAGE;
		} else if (cli_opt("diff", argc, argv, &i, "--new-baseline", &v)) {
			if (!(bnew = v))
				return EXIT_USAGE;
		} else if (!cli_positional("diff", argv[i], &old, &new, NULL)) {
			return EXIT_USAGE;
		}
	}
	if (!old || !new || !csv) {
		cli_err("diff", "OLD and NEW bundles and --fleet CSV are required");
		return EXIT_USAGE;
	}
	fleet a, b;
	int ex = fleet_load("diff", csv, &a);
	if (ex)
		return ex;
	if ((ex = fleet_load("diff", csv, &b))) {
		fleet_free(&a);
		return ex;
	}
	if (!(ex = eval_side(&c, old, bold, &a)) && !(ex = eval_side(&c, new, bnew, &b))) {
		json_t *arr = c.json ? json_array() : NULL;
		size_t changed = 0;
		for (size_t i = 0; i < a.n; i++) {
			fleet_platform *x = &a.p[i], *y = &b.p[i];
			if (!strcmp(x->status, y->status) && !strcmp(x->tcbm, y->tcbm))
				continue;
			changed++;
			if (arr)
				json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:i,s:s,s:i}", "qe_id", x->qe_id, "fmspc",
								     y->fmspc[0] ? y->fmspc : x->fmspc, "old", x->status,
								     "old_eval", (json_int_t)x->eval, "new", y->status,
								     "new_eval", (json_int_t)y->eval));
			else
				printf("%s %s %s (%u) -> %s (%u)\n", x->qe_id, y->fmspc[0] ? y->fmspc : x->fmspc, x->status,
				       x->eval, y->status, y->eval);
		}
		if (arr)
			cli_print_json(arr);
		else
			printf("# %zu of %zu platforms change status\n", changed, a.n);
		json_decref(arr);
	}
	fleet_free(&a);
	fleet_free(&b);
	return ex;
}

const cli_command cmd_diff = {
	.name = "diff",
	.summary = "which Intel platforms change TCB status between two bundles",
	.usage = "usage: colbundle diff OLD.colb NEW.colb --fleet CSV [--old-baseline B]\n"
		 "                      [--new-baseline B] [--json] [trust options]\n\n"
		 "Evaluates every platform of a PCK Cert ID Retrieval Tool CSV under both\n"
		 "bundles (as fleet-status does) and prints those whose TCB status or chosen\n"
		 "PCK cert changes, e.g. UpToDate -> OutOfDate. OLD and NEW may be the same\n"
		 "bundle with two baselines (--old-baseline standard --new-baseline early):\n"
		 "what the fleet will look like when the early TCB set becomes the standard.\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
