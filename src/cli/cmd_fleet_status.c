/*
 * cmd_fleet_status.c — `colbundle fleet-status B.colb --fleet CSV`: the TCB
 * status of every Intel platform of a fleet under the bundle's baseline.
 */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"
#include "cli/intel_fleet.h"

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *bundle = NULL, *csv = NULL, *baseline = NULL, *v;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "fleet-status", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (cli_opt("fleet-status", argc, argv, &i, "--fleet", &v)) {
			if (!(csv = v))
				return EXIT_USAGE;
		} else if (cli_opt("fleet-status", argc, argv, &i, "--baseline", &v)) {
			if (!(baseline = v))
				return EXIT_USAGE;
		} else if (!cli_positional("fleet-status", argv[i], &bundle, NULL)) {
			return EXIT_USAGE;
		}
	}
	if (!bundle || !csv) {
		cli_err("fleet-status", "a bundle and --fleet CSV are required");
		return EXIT_USAGE;
	}
	fleet f;
	int ex = fleet_load("fleet-status", csv, &f);
	if (ex)
		return ex;
	cli_bundle cb;
	ex = cli_open_bundle(&c, "fleet-status", bundle, &cb);
	if (!ex && baseline && colb_intel_set_baseline(cb.b, baseline) != COLB_OK) {
		cli_err("fleet-status", "--baseline: %s", colb_bundle_error(cb.b));
		ex = EXIT_REFUSED;
	}
	if (!ex) {
		fleet_evaluate(cb.b, &f);
		json_t *arr = c.json ? json_array() : NULL;
		size_t up = 0, bad = 0;
		for (size_t i = 0; i < f.n; i++) {
			fleet_platform *p = &f.p[i];
			up += !strcmp(p->status, "UpToDate");
			bad += p->err != COLB_OK;
			if (arr)
				json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:i}", "qe_id", p->qe_id, "fmspc",
								     p->fmspc, "tcbm", p->tcbm, "status", p->status,
								     "eval", (json_int_t)p->eval));
			else
				printf("%s %s %-36s %-34s %u\n", p->qe_id, p->fmspc[0] ? p->fmspc : "-",
				       p->tcbm[0] ? p->tcbm : "-", p->status, p->eval);
		}
		if (arr)
			cli_print_json(arr);
		else
			printf("# %zu platforms: %zu UpToDate, %zu without a servable PCK cert\n", f.n, up, bad);
		json_decref(arr);
	}
	cli_close_bundle(&cb);
	fleet_free(&f);
	return ex;
}

const cli_command cmd_fleet_status = {
	.name = "fleet-status",
	.summary = "TCB status of a fleet's Intel platforms under a bundle",
	.usage = "usage: colbundle fleet-status B.colb --fleet CSV [--baseline B] [--json] [trust options]\n\n"
		 "For every platform of a PCK Cert ID Retrieval Tool CSV: the PCK cert the\n"
		 "bundle serves for its raw TCB, and that cert's TCB status in the bundle's\n"
		 "TCB info at the baseline's evaluation number (or --baseline standard|early|N).\n"
		 "Columns: QE ID, FMSPC, SGX-TCBm, status, evaluation number. A platform the\n"
		 "bundle cannot serve shows NoPCKCert, PCKRevoked or the error.\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
