/*
 * main.c — the colbundle tool: dispatches to one command per file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

extern const cli_command cmd_version;
extern const cli_command cmd_keygen;
extern const cli_command cmd_sign;
extern const cli_command cmd_create;
extern const cli_command cmd_verify;
extern const cli_command cmd_inspect;
extern const cli_command cmd_ls;
extern const cli_command cmd_cat;
extern const cli_command cmd_extract;
extern const cli_command cmd_diff;
extern const cli_command cmd_fleet_status;
extern const cli_command cmd_get;
extern const cli_command cmd_install;
extern const cli_command cmd_status;
extern const cli_command cmd_rotate;
extern const cli_command cmd_serve;
extern const cli_command cmd_capture;

/* The commands, in the order `colbundle --help` lists them. */
static const cli_command *const commands[] = {
	&cmd_keygen,
	&cmd_create,
	&cmd_capture,
	&cmd_sign,
	&cmd_verify,
	&cmd_inspect,
	&cmd_ls,
	&cmd_cat,
	&cmd_extract,
	&cmd_diff,
	&cmd_fleet_status,
	&cmd_get,
	&cmd_install,
	&cmd_status,
	&cmd_rotate,
	&cmd_serve,
	&cmd_version,
};

static void usage(FILE *f)
{
	fprintf(f, "usage: colbundle COMMAND [ARGS...]\n\n"
		   "Signed, verified attestation collateral bundles for air-gapped sites.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nRun `colbundle COMMAND --help` (or `colbundle help COMMAND`) for a command's options.\n"
		   "Exit codes: 0 success, 1 refused (verification failed), 2 usage error,\n"
		   "3 not found, 4 I/O or system error.\n");
}

static const cli_command *find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		const cli_command *c = argc > 2 ? find(argv[2]) : NULL;
		if (!c) {
			usage(argc > 2 ? stderr : stdout);
			return argc > 2 ? EXIT_USAGE : EXIT_OK;
		}
		fputs(c->usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		argv[1] = "version";
	const cli_command *c = find(argv[1]);
	if (!c) {
		fprintf(stderr, "colbundle: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (cli_wants_help(c, argc - 1, argv + 1))
		return EXIT_OK;
	return c->run(argc - 1, argv + 1);
}
