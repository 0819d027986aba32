/*
 * cmd_get.c — `colbundle get B.colb VENDOR ITEM ...`: one collateral item of a
 * verified bundle, exactly as the vendor served it. The vendor word picks
 * the handler; each vendor's items and options live in its own file.
 */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"
#include "cli/get_amd.h"
#include "cli/vendor_get.h"

static const struct {
	const char *vendor;
	int (*run)(const char *bundle, int argc, char **argv);
} vendors[] = {
	{"intel", cli_get_intel},
	{"amd", cli_get_amd},
};

static int run(int argc, char **argv)
{
	if (argc < 3) {
		cli_err("get", "usage: colbundle get B.colb VENDOR ITEM [options] (see --help)");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof vendors / sizeof vendors[0]; i++)
		if (!strcmp(argv[2], vendors[i].vendor))
			return vendors[i].run(argv[1], argc - 2, argv + 2);
	cli_err("get", "unknown vendor '%s' (see --help)", argv[2]);
	return EXIT_USAGE;
}

const cli_command cmd_get = {
	.name = "get",
	.summary = "print one collateral item of a verified bundle",
	.usage = "usage: colbundle get B.colb VENDOR ITEM [options] [trust options]\n\n"
		 "Verifies the bundle and the item's vendor signatures, then writes the item's\n"
		 "exact bytes to stdout (or --out FILE).\n\n"
		 CLI_GET_INTEL_USAGE "\n"
		 CLI_GET_AMD_USAGE "\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
