/*
 * cmd_version.c — `colbundle version`.
 */
#include <stdio.h>

#include "cli/cli.h"

static int run(int argc, char **argv)
{
	printf("colbundle %s (bundle format %d.%d)\n", colb_version(), COLB_FORMAT_MAJOR,
	       COLB_FORMAT_MINOR);
	return EXIT_OK;
}

const cli_command cmd_version = {
	.name = "version",
	.summary = "print the version",
	.usage = "usage: colbundle version\n\nPrints the tool's version and the bundle format it writes.\n",
	.run = run,
};
