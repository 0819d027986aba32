/*
 * conf.h — colbundle.conf, the one configuration file of the CLI, the quote
 * provider library and the HTTP server (format-spec/colbundle-v1.md,
 * "Configuration file"):
 *
 *   # comment
 *   key = value
 *
 * Keys: bundle, store, state, trust (repeatable), threshold, baseline
 * (standard|early|N), freshness (warn|enforce), log_level
 * (error|info|debug|trace), intel_root (repeatable), amd_ark (repeatable),
 * allow_expired (yes|no). An unknown key, a bad value or a non-repeatable
 * key given twice is COLB_ERR_CONFIG with "file:line: ...". Relative paths
 * are taken relative to the directory of the configuration file.
 */
#ifndef COLB_BUNDLE_CONF_H
#define COLB_BUNDLE_CONF_H

#include <stddef.h>

#include "colbundle.h"

#define COLB_CONF_MAX (64u << 10)

typedef enum colb_log_level {
	COLB_LOG_UNSET = -1,
	COLB_LOG_ERROR = 0,
	COLB_LOG_INFO = 1,
	COLB_LOG_DEBUG = 2,
	COLB_LOG_TRACE = 3
} colb_log_level;

typedef struct colb_conf {
	char *bundle;          /* NULL when not set */
	char *store;
	char *state;
	char **trust;          /* .pub paths */
	size_t ntrust;
	unsigned threshold;    /* 0 = not set */
	char *baseline;        /* "standard", "early" or a decimal number */
	int freshness;         /* -1 not set, else colb_freshness */
	colb_log_level log_level;
	char **intel_root;     /* DER paths */
	size_t nintel_root;
	char **amd_ark;
	size_t namd_ark;
	int allow_expired;     /* -1 not set, 0 no, 1 yes */
} colb_conf;

void colb_conf_init(colb_conf *c);
void colb_conf_free(colb_conf *c);
/* Parses configuration text; `name` prefixes messages ("name:line: ...");
 * `base` (may be NULL) is the directory relative paths are resolved in. */
colb_err colb_conf_parse(const char *text, size_t len, const char *name, const char *base,
			 colb_conf *c, char *why, size_t whylen);
/* Reads and parses a configuration file. */
colb_err colb_conf_load(const char *path, colb_conf *c, char *why, size_t whylen);

#endif
