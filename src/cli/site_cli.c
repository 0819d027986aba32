/*
 * site_cli.c — the options of the store commands (site_cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/conf.h"
#include "cli/site_cli.h"
#include "util/util.h"

static int add_key(const char *cmd, colb_trust *t, const char *path)
{
	char why[512];
	colb_err rc = colb_trust_add_pubkey_file(t, path, why, sizeof why);
	if (rc) {
		cli_err(cmd, "trust: %s", why);
		return rc == COLB_ERR_KEY ? EXIT_USAGE : cli_exit_for(rc);
	}
	return EXIT_OK;
}

static int add_root(const char *cmd, colb_trust *t, const char *path, bool amd)
{
	uint8_t *der = NULL;
	size_t len = 0;
	char why[512];
	colb_err rc = colb_read_file(path, 1u << 20, &der, &len, why, sizeof why);
	if (!rc)
		rc = amd ? colb_trust_add_amd_ark(t, der, len) : colb_trust_add_intel_root(t, der, len);
	free(der);
	if (rc) {
		cli_err(cmd, "%s: %s", path, colb_strerror(rc));
		return cli_exit_for(rc);
	}
	return EXIT_OK;
}

int site_ctx_init(site_ctx *s, const cli_common *c, const char *cmd, const char *store)
{
	memset(s, 0, sizeof *s);
	colb_conf conf;
	colb_conf_init(&conf);
	char why[512];
	int ex = EXIT_OK;
	const char *conf_path = getenv("COLBUNDLE_CONF");
	const char *env_trust = getenv("COLBUNDLE_TRUST");
	if (conf_path && *conf_path && colb_conf_load(conf_path, &conf, why, sizeof why) != COLB_OK) {
		cli_err(cmd, "%s", why);
		colb_conf_free(&conf);
		return EXIT_USAGE;
	}
	s->trust = colb_trust_new();
	s->opts = colb_opts_new();
	if (!s->trust || !s->opts) {
		cli_err(cmd, "out of memory");
		ex = EXIT_IOERR;
		goto done;
	}
	if (c->ntrust) {
		for (size_t i = 0; i < c->ntrust && !ex; i++)
			ex = add_key(cmd, s->trust, c->trust[i]);
	} else if (env_trust && *env_trust) {
		char *copy = strdup(env_trust), *save = NULL;
		for (char *p = copy ? strtok_r(copy, ":", &save) : NULL; p && !ex; p = strtok_r(NULL, ":", &save))
			ex = add_key(cmd, s->trust, p);
		free(copy);
	} else {
		for (size_t i = 0; i < conf.ntrust && !ex; i++)
			ex = add_key(cmd, s->trust, conf.trust[i]);
	}
	unsigned k = c->threshold ? c->threshold : conf.threshold ? conf.threshold : 1;
	if (!ex && colb_trust_set_threshold(s->trust, k) != COLB_OK) {
		cli_err(cmd, "bad threshold %u", k);
		ex = EXIT_USAGE;
	}
	for (size_t i = 0; i < conf.nintel_root && !ex; i++)
		ex = add_root(cmd, s->trust, conf.intel_root[i], false);
	for (size_t i = 0; i < conf.namd_ark && !ex; i++)
		ex = add_root(cmd, s->trust, conf.amd_ark[i], true);
	for (size_t i = 0; i < c->nintel && !ex; i++)
		ex = add_root(cmd, s->trust, c->intel_root[i], false);
	for (size_t i = 0; i < c->namd && !ex; i++)
		ex = add_root(cmd, s->trust, c->amd_ark[i], true);
	if (ex)
		goto done;
	colb_opts_set_trust(s->opts, s->trust);
	if (c->at)
		cli_parse_time(c->at, &s->at);
	colb_opts_set_time(s->opts, s->at);
	s->allow_expired = c->allow_expired || conf.allow_expired == 1;
	colb_opts_set_allow_expired(s->opts, s->allow_expired);
	if (conf.freshness >= 0)
		colb_opts_set_freshness(s->opts, (colb_freshness)conf.freshness);
	if (c->state) {
		cli_err(cmd, "--state does not apply: the store keeps its own state");
		ex = EXIT_USAGE;
		goto done;
	}
	if (!store)
		store = conf.store;
	if (!store) {
		cli_err(cmd, "no store: give --store DIR (or 'store' in the configuration file)");
		ex = EXIT_USAGE;
		goto done;
	}
	snprintf(s->store, sizeof s->store, "%s", store);
done:
	colb_conf_free(&conf);
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
