/*
 * cli.c — the helpers declared in cli.h, shared by every command. They live
 * outside main.c so that the unit tests, which link the commands without
 * main(), link them too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_exit_for(colb_err e)
{
	switch (e) {
	case COLB_OK:
		return EXIT_OK;
	case COLB_ERR_INVALID_ARG:
	case COLB_ERR_CONFIG:
		return EXIT_USAGE;
	case COLB_ERR_NOT_FOUND:
		return EXIT_NOTFOUND;
	case COLB_ERR_IO:
	case COLB_ERR_NOMEM:
	case COLB_ERR_INTERNAL:
	case COLB_ERR_LOCKED:
	case COLB_ERR_STORE:
		return EXIT_IOERR;
	default:
		return EXIT_REFUSED;
	}
}

void cli_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "colbundle %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_wants_help(const cli_command *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(c->usage, stdout);
			return true;
		}
	}
	return false;
}
