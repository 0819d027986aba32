/*
 * cli.h — the colbundle tool's command table and shared helpers. Each
 * command lives in its own src/cli/cmd_*.c and defines one cli_command.
 *
 * Exit codes (documented in colbundle(1)):
 *   0  success; for verify: the bundle is valid and trusted
 *   1  refused: verification failed, rollback, expired, revoked, ...
 *   2  usage error (bad flags or arguments)
 *   3  not found (no such item in the bundle)
 *   4  I/O or system error
 */
#ifndef COLB_CLI_H
#define COLB_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "colbundle.h"

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_NOTFOUND = 3,
	EXIT_IOERR = 4,
};

typedef struct cli_command {
	const char *name;
	const char *summary;   /* one line for `colbundle --help` */
	const char *usage;     /* the full text for `colbundle CMD --help` */
	int (*run)(int argc, char **argv);  /* argv[0] is the command name */
} cli_command;

/* Maps a library error to the documented exit code. */
int cli_exit_for(colb_err e);
/* Prints "colbundle CMD: message" to stderr. */
void cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv has -h/--help; prints usage. */
bool cli_wants_help(const cli_command *c, int argc, char **argv);

#endif
