/*
 * common.h — what the bundle commands share: option matching, the trust
 * options every reading command takes, opening a bundle with them, keys and
 * passwords, JSON output.
 *
 * Trust comes from, in this order of precedence:
 *   --trust PUB (repeatable) [--threshold k]
 *   COLBUNDLE_TRUST=a.pub:b.pub
 *   the configuration file named by COLBUNDLE_CONF (trust, threshold, state,
 *   allow_expired, freshness, intel_root, amd_ark, bundle)
 * Command-line options override the configuration file's values.
 */
#ifndef COLB_CLI_COMMON_H
#define COLB_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bundle/conf.h"
#include "cli/cli.h"

#define CLI_MAX_LIST 64

/* The usage text of the trust options, for the commands' --help. */
#define CLI_TRUST_USAGE \
	"Trust (every command that reads a bundle verifies it first):\n" \
	"  --trust PUB         a trusted publisher key (repeatable)\n" \
	"  --threshold K       signatures by distinct trusted keys needed (default 1)\n" \
	"  --state FILE        anti-rollback state file to check against\n" \
	"  --at TIME           verification time (RFC 3339 or seconds since the epoch)\n" \
	"  --allow-expired     accept an expired bundle (logged on stderr)\n" \
	"  --intel-root DER    an extra Intel root CA (test PKIs only; repeatable)\n" \
	"  --amd-ark DER       an extra AMD ARK (test PKIs only; repeatable)\n" \
	"  Without --trust: COLBUNDLE_TRUST (colon-separated .pub paths), or the\n" \
	"  configuration file named by COLBUNDLE_CONF.\n"

typedef struct cli_common {
	const char *trust[CLI_MAX_LIST];
	size_t ntrust;
	unsigned threshold;          /* 0 = not given */
	const char *intel_root[CLI_MAX_LIST];
	size_t nintel;
	const char *amd_ark[CLI_MAX_LIST];
	size_t namd;
	const char *at;
	const char *state;
	bool allow_expired;
	bool json;
} cli_common;

/* Matches argv[*i] against "--name VALUE" or "--name=VALUE". On a match sets
 * *val and advances *i past the value; a missing value prints a usage error
 * and sets *val to NULL. */
bool cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val);
/* A table of "--name VALUE" options that set `const char *` fields of a
 * struct at the given offsets. */
typedef struct cli_opt_field {
	const char *name;
	size_t off;
} cli_opt_field;
/* Matches argv[*i] against the table: 1 when it set a field of `base`,
 * 0 when argv[*i] is none of them, -1 on a missing value (already printed). */
int cli_opt_table(const char *cmd, int argc, char **argv, int *i, const cli_opt_field *t, size_t n,
		  void *base);
/* Takes arg as the next positional argument: into the first of the given
 * slots (a NULL-terminated list of `const char **`) still empty. False,
 * after saying so, when arg is an option no one took or every slot is full. */
bool cli_positional(const char *cmd, const char *arg, ...);
/* Consumes one of the common (trust) options at argv[*i]: returns 1 if it did,
 * 0 if argv[*i] is not one, -1 on a usage error (already printed). */
int cli_common_arg(cli_common *c, const char *cmd, int argc, char **argv, int *i);

/* Opens and fully verifies path (NULL: the configuration file's `bundle`)
 * with the common options. Prints the reason on failure and returns the exit
 * code; on success *out is the open bundle (and *trust its trust, freed by
 * cli_close_bundle). */
typedef struct cli_bundle {
	colb_bundle *b;
	colb_trust *trust;
	colb_opts *opts;
	const char *path;
	colb_err err;               /* why the open failed */
	char pathbuf[4096];
} cli_bundle;
int cli_open_bundle(const cli_common *c, const char *cmd, const char *path, cli_bundle *out);

/* The trust and options every reading command builds from the common
 * options, COLBUNDLE_TRUST and the configuration file (COLBUNDLE_CONF):
 * keys, threshold, extra vendor roots, --at, --allow-expired, freshness.
 * keys_required: no key anywhere is a usage error (the store commands
 * fall back to the keyset their store recorded). Prints the reason and
 * returns the exit code on failure; free with cli_trust_free. */
typedef struct cli_trust {
	colb_trust *trust;
	colb_opts *opts;
	colb_conf conf;             /* the configuration file (empty when none) */
	time_t at;                  /* --at, 0 = now */
	bool allow_expired;
} cli_trust;
int cli_trust_setup(const cli_common *c, const char *cmd, bool keys_required, cli_trust *out);
void cli_trust_free(cli_trust *t);
void cli_close_bundle(cli_bundle *cb);

/* Parses --at: RFC 3339 UTC or decimal seconds since the epoch. */
bool cli_parse_time(const char *s, time_t *out);

/* Reads a password: from password_file (or $COLBUNDLE_PASSWORD_FILE), the
 * first line; else from the terminal without echo (twice when confirm).
 * The result is in sodium_malloc'd memory: free with cli_password_free. */
int cli_read_password(const char *cmd, const char *password_file, bool confirm, char **out);
void cli_password_free(char *pw);
/* Loads a secret key, asking for its password only if it is encrypted. */
int cli_load_key(const char *cmd, const char *path, const char *password_file, colb_seckey **out);

/* Prints a JSON value compactly on stdout, with a newline. */
void cli_print_json(json_t *j);

#endif
