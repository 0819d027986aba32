/*
 * site_cli.h — what `install` and `status` share: the trust and options of
 * a store command. Unlike the other reading commands, keys are optional:
 * a store that has a bundle trusts the keyset it recorded at install.
 */
#ifndef COLB_CLI_SITE_H
#define COLB_CLI_SITE_H

#include "cli/common.h"

typedef struct site_ctx {
	colb_trust *trust;
	colb_opts *opts;
	char store[4096];      /* --store, else the configuration file's `store` */
	time_t at;             /* the verification time (0: now) */
	bool allow_expired;
} site_ctx;

/* Builds trust and options from the common options, COLBUNDLE_TRUST and the
 * configuration file (COLBUNDLE_CONF). store may be NULL. Prints the reason
 * and returns the exit code on failure. */
int site_ctx_init(site_ctx *s, const cli_common *c, const char *cmd, const char *store);
void site_ctx_free(site_ctx *s);

/* Reads a key-rotation statement file (`colbundle rotate --out`): a comment
 * line, then the base64 of the binary statement. *out is malloc'd. Prints
 * the reason and returns the exit code on failure. */
int cli_read_rotation(const char *cmd, const char *path, uint8_t **out, size_t *len);

#endif
