/*
 * cmd_status.c — `colbundle status`: what a site store holds and how soon
 * it goes stale, for people and for monitoring checks. Its exit codes are
 * the Nagios plugin ones (format-spec/site-store.md, section 7), not the
 * other commands'.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/site_cli.h"
#include "site/site.h"
#include "util/util.h"

enum { ST_OK = 0, ST_WARNING = 1, ST_CRITICAL = 2, ST_UNKNOWN = 3 };
static const char *const level_name[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

typedef struct report {
	int level;
	json_t *warnings;        /* array of strings, worst first is not required */
} report;

static void raise_to(report *r, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void raise_to(report *r, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (level > r->level)
		r->level = level;
	json_array_append_new(r->warnings, json_string(msg));
}

static long days_between(time_t from, time_t to)
{
	/* whole days, rounded down (a day and a half ago is -2) */
	long long d = (long long)(to - from);
	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

/* The collateral item that passes nextUpdate first: Intel's (TCB infos,
 * identities, CRLs) and AMD's CRLs. */
static void stalest(colb_bundle *b, time_t *when, const char **path, size_t *stale, report *r)
{
	*when = 0;
	*path = NULL;
	*stale = 0;
	colb_intel_freshness_report fr;
	colb_err rc = colb_intel_freshness(b, &fr);
	if (rc == COLB_OK && fr.items) {
		*when = fr.earliest_next_update;
		*path = fr.earliest_path;
		*stale = fr.stale;
	} else if (rc != COLB_OK && rc != COLB_ERR_NOT_FOUND) {
		raise_to(r, ST_CRITICAL, "Intel collateral fails verification: %s: %s", colb_strerror(rc),
			 colb_bundle_error(b));
	}
	const colb_amd_product *prods;
	size_t n = 0;
	if (colb_amd_products(b, &prods, &n) != COLB_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		colb_amd_crl crl;
		rc = colb_amd_crl_get(b, prods[i], &crl);
		if (rc == COLB_ERR_NOT_FOUND)
			continue;
		if (rc != COLB_OK) {
			raise_to(r, ST_CRITICAL, "AMD collateral fails verification: %s: %s",
				 colb_strerror(rc), colb_bundle_error(b));
			continue;
		}
		if (crl.stale)
			(*stale)++;
		if (crl.next_update && (!*when || crl.next_update < *when)) {
			*when = crl.next_update;
			*path = crl.path;
		}
	}
}

static json_t *kinds_of(colb_bundle *b)
{
	json_t *kinds = json_object();
	for (size_t i = 0; i < colb_bundle_file_count(b); i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(b, i, &fi) != COLB_OK)
			continue;
		json_int_t n = json_integer_value(json_object_get(kinds, fi.kind));
		json_object_set_new(kinds, fi.kind, json_integer(n + 1));
	}
	return kinds;
}

static void print_unknown(bool json, const char *store, const char *msg)
{
	if (json) {
		json_t *j = json_object();
		json_object_set_new(j, "status", json_string("UNKNOWN"));
		json_object_set_new(j, "code", json_integer(ST_UNKNOWN));
		json_object_set_new(j, "store", json_string(store ? store : ""));
		json_object_set_new(j, "message", json_string(msg));
		cli_print_json(j);
		json_decref(j);
	} else {
		printf("COLBUNDLE UNKNOWN - %s\n", msg);
	}
}

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *store = NULL, *v;
	uint64_t warn_days = 14;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "status", argc, argv, &i);
		if (r < 0)
			return ST_UNKNOWN;
		if (r)
			continue;
		if (cli_opt("status", argc, argv, &i, "--store", &v)) {
			if (!(store = v))
				return ST_UNKNOWN;
		} else if (cli_opt("status", argc, argv, &i, "--warn-days", &v)) {
			if (!v || !colb_parse_u64(v, &warn_days) || warn_days > 3650) {
				cli_err("status", "--warn-days must be 0 to 3650");
				return ST_UNKNOWN;
			}
		} else {
			cli_err("status", "unexpected argument '%s' (see --help)", argv[i]);
			return ST_UNKNOWN;
		}
	}
	site_ctx s;
	if (site_ctx_init(&s, &c, "status", store) != EXIT_OK) {
		print_unknown(c.json, store, "bad options or configuration (see stderr)");
		return ST_UNKNOWN;
	}
	time_t at = s.at ? s.at : time(NULL);
	colb_opts_set_time(s.opts, at);
	/* Open an expired bundle too: it is reported as CRITICAL, with its facts. */
	colb_opts_set_allow_expired(s.opts, 1);

	char gen[COLB_STORE_GEN_MAX] = "", why[512];
	colb_site_info si;
	memset(&si, 0, sizeof si);
	int sfd = open(s.store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	colb_err rc = sfd < 0 ? COLB_ERR_STORE : colb_site_current(sfd, gen, why, sizeof why);
	if (!rc) {
		char path[COLB_STORE_GEN_MAX + 4];
		snprintf(path, sizeof path, "g/%s", gen);
		int gfd = openat(sfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = gfd < 0 ? COLB_ERR_STORE : colb_site_read_gen(gfd, &si, why, sizeof why);
		if (gfd >= 0)
			close(gfd);
	}
	if (sfd >= 0)
		close(sfd);
	if (rc) {
		char msg[5200];
		snprintf(msg, sizeof msg, "store %s: %s", s.store,
			 sfd < 0 ? "no such store" : rc == COLB_ERR_NOT_FOUND ? "no bundle is installed" : why);
		print_unknown(c.json, s.store, msg);
		site_ctx_free(&s);
		return ST_UNKNOWN;
	}

	report r = {ST_OK, json_array()};
	colb_bundle *b = colb_bundle_new(s.opts);
	if (!b || (rc = colb_bundle_open_store(b, s.store)) != COLB_OK) {
		raise_to(&r, ST_CRITICAL, "the installed bundle fails verification: %s: %s",
			 colb_strerror(rc), b ? colb_bundle_error(b) : "out of memory");
		if (c.json) {
			json_t *j = json_object();
			json_object_set_new(j, "status", json_string("CRITICAL"));
			json_object_set_new(j, "code", json_integer(ST_CRITICAL));
			json_object_set_new(j, "store", json_string(s.store));
			json_object_set_new(j, "generation", json_string(gen));
			json_object_set_new(j, "warnings", r.warnings);
			cli_print_json(j);
			json_decref(j);
		} else {
			printf("COLBUNDLE CRITICAL - %s\n", json_string_value(json_array_get(r.warnings, 0)));
			json_decref(r.warnings);
		}
		colb_site_info_free(&si);
		colb_bundle_free(b);
		site_ctx_free(&s);
		return ST_CRITICAL;
	}

	time_t expires = colb_bundle_expires(b), next = 0;
	const char *next_path = NULL;
	size_t nstale = 0;
	long days = days_between(at, expires);
	char when[21], created[21], installed[21], nexts[21] = "";
	colb_time_format(expires, when);
	colb_time_format(colb_bundle_created(b), created);
	colb_time_format(si.installed, installed);
	if (at >= expires)
		raise_to(&r, ST_CRITICAL, "the bundle expired at %s%s", when,
			 si.allow_expired ? " (installed with --allow-expired)" : "");
	else if (expires - at < (time_t)warn_days * 86400)
		raise_to(&r, ST_WARNING, "the bundle expires at %s, in %ld days", when, days);
	stalest(b, &next, &next_path, &nstale, &r);
	if (next) {
		colb_time_format(next, nexts);
		if (nstale || at >= next)
			raise_to(&r, ST_CRITICAL, "%zu collateral item(s) past nextUpdate; the first, %s, at %s",
				 nstale ? nstale : 1, next_path, nexts);
		else if (next - at < (time_t)warn_days * 86400)
			raise_to(&r, ST_WARNING, "collateral %s passes nextUpdate at %s, in %ld days",
				 next_path, nexts, days_between(at, next));
	}

	char version[24];
	snprintf(version, sizeof version, "%llu", (unsigned long long)colb_bundle_version(b));
	json_t *signers = json_array();
	for (size_t i = 0; i < colb_bundle_signer_count(b); i++)
		json_array_append_new(signers, json_string(colb_bundle_signer(b, i)));
	json_t *kinds = kinds_of(b);
	if (c.json) {
		json_t *j = json_object(), *st = json_null();
		if (next) {
			st = json_object();
			json_object_set_new(st, "path", json_string(next_path));
			json_object_set_new(st, "next_update", json_string(nexts));
			json_object_set_new(st, "days_left", json_integer(days_between(at, next)));
		}
		json_object_set_new(j, "status", json_string(level_name[r.level]));
		json_object_set_new(j, "code", json_integer(r.level));
		json_object_set_new(j, "store", json_string(s.store));
		json_object_set_new(j, "generation", json_string(gen));
		json_object_set_new(j, "version", json_string(version));
		json_object_set_new(j, "bundle_id", json_string(colb_bundle_id(b)));
		json_object_set_new(j, "digest", json_string(colb_bundle_digest(b)));
		json_object_set_new(j, "publisher", json_string(colb_bundle_publisher(b)));
		json_object_set_new(j, "signers", signers);
		json_object_set_new(j, "keyset_version", json_integer((json_int_t)colb_bundle_keyset_version(b)));
		json_object_set_new(j, "created", json_string(created));
		json_object_set_new(j, "expires", json_string(when));
		json_object_set_new(j, "days_left", json_integer(days));
		json_object_set_new(j, "installed", json_string(installed));
		json_object_set_new(j, "allow_expired", json_boolean(si.allow_expired));
		json_object_set_new(j, "stalest", st);
		json_object_set_new(j, "stale_items", json_integer((json_int_t)nstale));
		json_object_set_new(j, "files", json_integer((json_int_t)colb_bundle_file_count(b)));
		json_object_set_new(j, "kinds", kinds);
		json_object_set_new(j, "warn_days", json_integer((json_int_t)warn_days));
		json_object_set_new(j, "warnings", r.warnings);
		cli_print_json(j);
		json_decref(j);
	} else {
		printf("COLBUNDLE %s - version %s, expires %s (%ld days left)%s%s\n", level_name[r.level],
		       version, when, days, r.level ? ": " : "",
		       r.level ? json_string_value(json_array_get(r.warnings, 0)) : "");
		printf("store       %s (generation %s, installed %s%s)\n", s.store, gen, installed,
		       si.allow_expired ? ", expired bundle allowed" : "");
		printf("bundle      version %s, id %s\n", version, colb_bundle_id(b));
		printf("publisher   %s\n", colb_bundle_publisher(b));
		printf("signers    ");
		for (size_t i = 0; i < json_array_size(signers); i++)
			printf(" %s", json_string_value(json_array_get(signers, i)));
		printf(" (keyset %llu)\n", (unsigned long long)colb_bundle_keyset_version(b));
		printf("created     %s\nexpires     %s (%ld days left)\n", created, when, days);
		if (next)
			printf("stalest     %s, nextUpdate %s (%ld days left)%s\n", next_path, nexts,
			       days_between(at, next), nstale ? ", STALE" : "");
		else
			printf("stalest     (no collateral with a nextUpdate)\n");
		printf("files       %zu\n", colb_bundle_file_count(b));
		const char *k;
		json_t *n;
		json_object_foreach(kinds, k, n)
			printf("  %-14s %lld\n", k, (long long)json_integer_value(n));
		for (size_t i = 0; i < json_array_size(r.warnings); i++)
			printf("warning     %s\n", json_string_value(json_array_get(r.warnings, i)));
		json_decref(signers);
		json_decref(kinds);
		json_decref(r.warnings);
	}
	int level = r.level;
	colb_site_info_free(&si);
	colb_bundle_free(b);
	site_ctx_free(&s);
	return level;
}

const cli_command cmd_status = {
	.name = "status",
	.summary = "what a site store holds and when it goes stale (monitoring exit codes)",
	.usage = "usage: colbundle status [--store DIR] [--json] [--warn-days N] [--at TIME] [trust options]\n\n"
		 "Verifies the store's current bundle and prints its version, publisher,\n"
		 "signers and keyset, creation and expiry (days left), the collateral item\n"
		 "that passes its nextUpdate first, and the file counts per kind. Warns N days\n"
		 "ahead (default 14) of the bundle's expiry and of any nextUpdate.\n\n"
		 "Exit codes (Nagios plugin conventions; they differ from other commands'):\n"
		 "  0 OK        installed, verifies, nothing expires within N days\n"
		 "  1 WARNING   the bundle or a collateral item expires within N days\n"
		 "  2 CRITICAL  expired, stale collateral, or the bundle fails verification\n"
		 "  3 UNKNOWN   no store, no bundle installed, or a usage error\n\n"
		 "  --store DIR         the store (default: 'store' in the configuration file)\n"
		 "  --json              one JSON object: {\"status\":\"OK\",\"code\":0,...}\n"
		 "  --warn-days N       warning window in days (0 to 3650)\n\n"
		 "Trust: the store's recorded keyset unless keys are given.\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
