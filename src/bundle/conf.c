/*
 * conf.c — colbundle.conf parsing (see conf.h) and colb_trust_load_conf.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle_priv.h"
#include "bundle/conf.h"

void colb_conf_init(colb_conf *c)
{
	memset(c, 0, sizeof *c);
	c->freshness = -1;
	c->log_level = COLB_LOG_UNSET;
	c->allow_expired = -1;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void colb_conf_free(colb_conf *c)
{
	if (!c)
		return;
	free(c->bundle);
	free(c->store);
	free(c->state);
	free(c->baseline);
	free_list(c->trust, c->ntrust);
	free_list(c->intel_root, c->nintel_root);
	free_list(c->amd_ark, c->namd_ark);
	colb_conf_init(c);
}

static char *resolve(const char *base, const char *v)
{
	if (!base || v[0] == '/')
		return strdup(v);
	size_t n = strlen(base) + strlen(v) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", base, v);
	return p;
}

static bool push(char ***list, size_t *n, char *v)
{
	if (!v || *n >= 64) {
		free(v);
		return false;
	}
	char **l = realloc(*list, (*n + 1) * sizeof *l);
	if (!l) {
		free(v);
		return false;
	}
	l[(*n)++] = v;
	*list = l;
	return true;
}

static bool is_word(const char *v, const char *const *set, int *idx)
{
	for (int i = 0; set[i]; i++)
		if (!strcmp(v, set[i])) {
			*idx = i;
			return true;
		}
	return false;
}

colb_err colb_conf_parse(const char *text, size_t len, const char *name, const char *base,
			 colb_conf *c, char *why, size_t whylen)
{
	static const char *const yesno[] = {"no", "yes", NULL};
	static const char *const fresh[] = {"warn", "enforce", NULL};
	static const char *const levels[] = {"error", "info", "debug", "trace", NULL};
	if (!name)
		name = "configuration";
	if (len > COLB_CONF_MAX)
		return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s: larger than %u bytes", name,
				   COLB_CONF_MAX);
	if (memchr(text, 0, len))
		return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s: contains a NUL byte", name);
	size_t lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - line) : len - pos;
		pos += l + (nl ? 1 : 0);
		lineno++;
		while (l && (line[0] == ' ' || line[0] == '\t'))
			line++, l--;
		while (l && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
			l--;
		if (l == 0 || line[0] == '#')
			continue;
		if (l > 4096)
			return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s:%zu: line too long", name, lineno);
		const char *eq = memchr(line, '=', l);
		if (!eq)
			return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s:%zu: expected 'key = value'",
					   name, lineno);
		size_t kl = (size_t)(eq - line);
		while (kl && (line[kl - 1] == ' ' || line[kl - 1] == '\t'))
			kl--;
		const char *v = eq + 1;
		size_t vl = l - (size_t)(v - line);
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		char key[64], val[4097];
		if (kl == 0 || kl >= sizeof key)
			return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s:%zu: bad key", name, lineno);
		if (vl == 0)
			return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s:%zu: '%.*s' has no value",
					   name, lineno, (int)kl, line);
		memcpy(key, line, kl);
		key[kl] = 0;
		memcpy(val, v, vl);
		val[vl] = 0;
		int idx;
		char **single = NULL;
		bool path = true;
		if (!strcmp(key, "bundle"))
			single = &c->bundle;
		else if (!strcmp(key, "store"))
			single = &c->store;
		else if (!strcmp(key, "state"))
			single = &c->state;
		else if (!strcmp(key, "baseline"))
			single = &c->baseline, path = false;
		if (single) {
			if (*single)
				return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s:%zu: '%s' given twice",
						   name, lineno, key);
			if (!path) {
				uint64_t n;
				if (strcmp(val, "standard") && strcmp(val, "early") &&
				    !(colb_parse_u64(val, &n) && n <= COLB_JSON_MAX_INT))
					return colb_seterr(why, whylen, COLB_ERR_CONFIG,
							   "%s:%zu: baseline must be standard, early "
							   "or an evaluation number", name, lineno);
			}
			*single = path ? resolve(base, val) : strdup(val);
			if (!*single)
				return colb_seterr(why, whylen, COLB_ERR_NOMEM, "%s: out of memory", name);
		} else if (!strcmp(key, "trust")) {
			if (!push(&c->trust, &c->ntrust, resolve(base, val)))
				return colb_seterr(why, whylen, COLB_ERR_CONFIG,
						   "%s:%zu: too many trust keys", name, lineno);
		} else if (!strcmp(key, "intel_root")) {
			if (!push(&c->intel_root, &c->nintel_root, resolve(base, val)))
				return colb_seterr(why, whylen, COLB_ERR_CONFIG,
						   "%s:%zu: too many intel_root entries", name, lineno);
		} else if (!strcmp(key, "amd_ark")) {
			if (!push(&c->amd_ark, &c->namd_ark, resolve(base, val)))
				return colb_seterr(why, whylen, COLB_ERR_CONFIG,
						   "%s:%zu: too many amd_ark entries", name, lineno);
		} else if (!strcmp(key, "threshold")) {
			uint64_t n;
			if (c->threshold)
				return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s:%zu: '%s' given twice",
						   name, lineno, key);
			if (!colb_parse_u64(val, &n) || n == 0 || n > COLB_MAX_SIGS)
				return colb_seterr(why, whylen, COLB_ERR_CONFIG,
						   "%s:%zu: threshold must be 1 to %u", name, lineno,
						   COLB_MAX_SIGS);
			c->threshold = (unsigned)n;
		} else if (!strcmp(key, "freshness")) {
			if (c->freshness >= 0 || !is_word(val, fresh, &idx))
				return colb_seterr(why, whylen, COLB_ERR_CONFIG,
						   "%s:%zu: freshness must be warn or enforce (once)", name,
						   lineno);
			c->freshness = idx;
		} else if (!strcmp(key, "log_level")) {
			if (c->log_level != COLB_LOG_UNSET || !is_word(val, levels, &idx))
				return colb_seterr(why, whylen, COLB_ERR_CONFIG,
						   "%s:%zu: log_level must be error, info, debug or "
						   "trace (once)", name, lineno);
			c->log_level = (colb_log_level)idx;
		} else if (!strcmp(key, "allow_expired")) {
			if (c->allow_expired >= 0 || !is_word(val, yesno, &idx))
				return colb_seterr(why, whylen, COLB_ERR_CONFIG,
						   "%s:%zu: allow_expired must be yes or no (once)", name,
						   lineno);
			c->allow_expired = idx;
		} else {
			return colb_seterr(why, whylen, COLB_ERR_CONFIG, "%s:%zu: unknown key '%s'", name,
					   lineno, key);
		}
	}
	return COLB_OK;
}

colb_err colb_conf_load(const char *path, colb_conf *c, char *why, size_t whylen)
{
	uint8_t *text = NULL;
	size_t len = 0;
	char e[512];
	colb_err rc = colb_read_file(path, COLB_CONF_MAX, &text, &len, e, sizeof e);
	if (rc)
		return colb_seterr(why, whylen, COLB_ERR_CONFIG, "configuration file %s", e);
	char base[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(base, sizeof base, "%.*s", (int)(slash == path ? 1 : slash - path), path);
	else
		snprintf(base, sizeof base, ".");
	rc = colb_conf_parse((const char *)text, len, path, base, c, why, whylen);
	free(text);
	return rc;
}

colb_err colb_trust_load_conf(colb_trust *t, const char *conf_path, char *errbuf, size_t errlen)
{
	if (!t || !conf_path)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "trust: no configuration file");
	colb_conf c;
	colb_conf_init(&c);
	colb_err rc = colb_conf_load(conf_path, &c, errbuf, errlen);
	char why[512];
	for (size_t i = 0; !rc && i < c.ntrust; i++)
		if ((rc = colb_trust_add_pubkey_file(t, c.trust[i], why, sizeof why)))
			colb_seterr(errbuf, errlen, COLB_ERR_CONFIG, "%s: trust: %s", conf_path, why);
	if (!rc && c.ntrust == 0)
		rc = colb_seterr(errbuf, errlen, COLB_ERR_CONFIG, "%s: no 'trust' key", conf_path);
	if (!rc && c.threshold)
		rc = colb_trust_set_threshold(t, c.threshold);
	for (int kind = 0; kind < 2 && !rc; kind++) {
		char **list = kind ? c.amd_ark : c.intel_root;
		size_t n = kind ? c.namd_ark : c.nintel_root;
		for (size_t i = 0; i < n && !rc; i++) {
			uint8_t *der = NULL;
			size_t len = 0;
			if ((rc = colb_read_file(list[i], 1u << 20, &der, &len, why, sizeof why))) {
				rc = colb_seterr(errbuf, errlen, COLB_ERR_CONFIG, "%s: %s", conf_path, why);
				break;
			}
			rc = kind ? colb_trust_add_amd_ark(t, der, len) : colb_trust_add_intel_root(t, der, len);
			free(der);
			if (rc)
				colb_seterr(errbuf, errlen, rc, "%s: cannot add root %s", conf_path, list[i]);
		}
	}
	if (rc && rc != COLB_ERR_NOMEM)
		rc = COLB_ERR_CONFIG;
	colb_conf_free(&c);
	return rc;
}
