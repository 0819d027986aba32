/*
 * site_cli.c — the options of the store commands (site_cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/conf.h"
#include "cli/site_cli.h"
#include "util/util.h"

int site_ctx_init(site_ctx *s, const cli_common *c, const char *cmd, const char *store)
{
	memset(s, 0, sizeof *s);
	if (c->state) {
		cli_err(cmd, "--state does not apply: the store keeps its own state");
		return EXIT_USAGE;
	}
	/* Keys are optional: a store trusts the keyset its install recorded. */
	cli_trust ts;
	int ex = cli_trust_setup(c, cmd, false, &ts);
	if (ex)
		return ex;
	s->trust = ts.trust;
	s->opts = ts.opts;
	s->at = ts.at;
	s->allow_expired = ts.allow_expired;
	if (!store)
		store = ts.conf.store;
	if (!store) {
		cli_err(cmd, "no store: give --store DIR (or 'store' in the configuration file)");
		ex = EXIT_USAGE;
	} else {
		snprintf(s->store, sizeof s->store, "%s", store);
	}
	colb_conf_free(&ts.conf);
	if (ex)
		site_ctx_free(s);
	return ex;
}

void site_ctx_free(site_ctx *s)
{
	colb_opts_free(s->opts);
	colb_trust_free(s->trust);
	s->opts = NULL;
	s->trust = NULL;
}
