/*
 * cmd_serve.c — `colbundle serve`: the local PCS/PCCS-, KDS- and
 * THIM-compatible HTTP endpoint (src/serve) run in the foreground.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/conf.h"
#include "cli/common.h"
#include "serve/serve.h"
#include "util/util.h"

static bool num_opt(const char *v, uint64_t max, uint64_t *out)
{
	return v && colb_parse_u64(v, out) && *out <= max;
}

/* The options of a store reader that configures no keys: the extra roots,
 * the time and allow-expired from the command line. */
static int store_opts(const cli_common *c, const colb_conf *conf, cli_bundle *cb)
{
	memset(cb, 0, sizeof *cb);
	cb->trust = colb_trust_new();
	cb->opts = colb_opts_new();
	if (!cb->trust || !cb->opts)
		return EXIT_IOERR;
	/* the configuration file's roots, then the command line's */
	const char *roots[4 * CLI_MAX_LIST];
	bool is_amd[4 * CLI_MAX_LIST];
	size_t n = 0;
	for (size_t i = 0; i < conf->nintel_root && n < COLB_ARRAY_LEN(roots); i++, n++)
		roots[n] = conf->intel_root[i], is_amd[n] = false;
	for (size_t i = 0; i < conf->namd_ark && n < COLB_ARRAY_LEN(roots); i++, n++)
		roots[n] = conf->amd_ark[i], is_amd[n] = true;
	for (size_t i = 0; i < c->nintel && n < COLB_ARRAY_LEN(roots); i++, n++)
		roots[n] = c->intel_root[i], is_amd[n] = false;
	for (size_t i = 0; i < c->namd && n < COLB_ARRAY_LEN(roots); i++, n++)
		roots[n] = c->amd_ark[i], is_amd[n] = true;
	for (size_t i = 0; i < n; i++) {
		bool amd = is_amd[i];
		const char *path = roots[i];
		uint8_t *der = NULL;
		size_t len = 0;
		char why[512];
		colb_err rc = colb_read_file(path, 1u << 20, &der, &len, why, sizeof why);
		if (rc == COLB_OK)
			rc = amd ? colb_trust_add_amd_ark(cb->trust, der, len) : colb_trust_add_intel_root(cb->trust, der, len);
		else
			cli_err("serve", "%s", why);
		free(der);
		if (rc) {
			cli_err("serve", "%s: %s", path, colb_strerror(rc));
			return cli_exit_for(rc);
		}
	}
	colb_opts_set_trust(cb->opts, cb->trust);
	time_t at = 0;
	if (c->at)
		cli_parse_time(c->at, &at);
	colb_opts_set_time(cb->opts, at);
	colb_opts_set_allow_expired(cb->opts, c->allow_expired || conf->allow_expired == 1);
	if (conf->freshness >= 0)
		colb_opts_set_freshness(cb->opts, (colb_freshness)conf->freshness);
	return EXIT_OK;
}

static int run(int argc, char **argv)
{
	cli_common c = { 0 };
	serve_config cfg;
	serve_config_defaults(&cfg);
	const char *bundle = NULL, *store = NULL, *port_file = NULL;
	uint64_t poll = 2;
	char storebuf[4096], storedir[4096];

	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "serve", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		const char *v = NULL;
		uint64_t n;
#define NUM(name, max, field)                                                        \
	if (cli_opt("serve", argc, argv, &i, name, &v)) {                            \
		if (!num_opt(v, max, &n)) {                                          \
			if (v)                                                       \
				cli_err("serve", "%s must be a number up to %llu", name, \
					(unsigned long long)(max));                  \
			return EXIT_USAGE;                                           \
		}                                                                    \
		field = n;                                                           \
		continue;                                                            \
	}
		NUM("--threads", 256, cfg.threads)
		NUM("--max-connections", 1000000, cfg.max_connections)
		NUM("--max-per-client", 1000000, cfg.max_per_client)
		NUM("--rate", 1000000, cfg.rate)
		NUM("--burst", 1000000, cfg.burst)
		NUM("--timeout", 3600, cfg.timeout)
		NUM("--max-request-bytes", 1u << 20, cfg.max_request_bytes)
		NUM("--max-headers", 1000, cfg.max_headers)
		NUM("--cache-seconds", 31536000, cfg.cache_seconds)
		NUM("--poll", 3600, poll)
#undef NUM
		if (cli_opt("serve", argc, argv, &i, "--listen", &v)) {
			if (!v)
				return EXIT_USAGE;
			cfg.listen = v;
		} else if (cli_opt("serve", argc, argv, &i, "--store", &v)) {
			if (!v)
				return EXIT_USAGE;
			store = v;
		} else if (cli_opt("serve", argc, argv, &i, "--port-file", &v)) {
			if (!v)
				return EXIT_USAGE;
			port_file = v;
		} else if (cli_opt("serve", argc, argv, &i, "--tls-cert", &v)) {
			if (!v)
				return EXIT_USAGE;
			cfg.tls_cert = v;
		} else if (cli_opt("serve", argc, argv, &i, "--tls-key", &v)) {
			if (!v)
				return EXIT_USAGE;
			cfg.tls_key = v;
		} else if (cli_opt("serve", argc, argv, &i, "--thim-map", &v)) {
			if (!v)
				return EXIT_USAGE;
			cfg.thim_map = v;
		} else if (cli_opt("serve", argc, argv, &i, "--baseline", &v)) {
			if (!v)
				return EXIT_USAGE;
			cfg.baseline = v;
		} else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
			cfg.verbose = 1;
		} else if (!cli_positional("serve", argv[i], &bundle, NULL)) {
			return EXIT_USAGE;
		}
	}
	if (bundle && store) {
		cli_err("serve", "give a bundle or --store DIR, not both");
		return EXIT_USAGE;
	}
	if ((cfg.tls_cert != NULL) != (cfg.tls_key != NULL)) {
		cli_err("serve", "--tls-cert and --tls-key go together");
		return EXIT_USAGE;
	}
	if (cfg.threads == 0 || cfg.max_connections == 0 || cfg.max_headers == 0 || poll == 0) {
		cli_err("serve", "--threads, --max-connections, --max-headers and --poll must be at least 1");
		return EXIT_USAGE;
	}
	const char *colon = strrchr(cfg.listen, ':');
	uint64_t port;
	if (!colon || !colb_parse_u64(colon + 1, &port) || port > 65535) {
		cli_err("serve", "--listen %s: expected ADDR:PORT with a port 0 to 65535 ([ADDR]:PORT for IPv6)",
			cfg.listen);
		return EXIT_USAGE;
	}
	const char *conf_path = getenv("COLBUNDLE_CONF");
	colb_conf conf;
	colb_conf_init(&conf);
	if (conf_path && *conf_path) {
		char why[512];
		if (colb_conf_load(conf_path, &conf, why, sizeof why) != COLB_OK) {
			cli_err("serve", "%s", why);
			colb_conf_free(&conf);
			return EXIT_USAGE;
		}
	}
	/* Neither: the configuration file's store (its bundle is taken below). */
	if (!bundle && !store && !conf.bundle && conf.store) {
		snprintf(storedir, sizeof storedir, "%s", conf.store);
		store = storedir;
	}
	if (c.at)
		cli_parse_time(c.at, &cfg.at);
	cli_bundle cb;
	int ex;
	const char *env_trust = getenv("COLBUNDLE_TRUST");
	char basebuf[64];
	if (!cfg.baseline && conf.baseline) {
		snprintf(basebuf, sizeof basebuf, "%s", conf.baseline);
		cfg.baseline = basebuf;
	}
	if (store && !c.ntrust && !(env_trust && *env_trust) && !conf.ntrust) {
		/* No keys configured: the store's recorded keyset is the trust. */
		ex = store_opts(&c, &conf, &cb);
	} else {
		/* Trust configured: check it, and the file, once here; the server
		 * opens the bundle again and keeps the options for every reload. */
		if (store) {
			snprintf(storebuf, sizeof storebuf, "%s/current.colb", store);
			bundle = storebuf;
		}
		ex = cli_open_bundle(&c, "serve", bundle, &cb);
		colb_bundle_free(cb.b);
		cb.b = NULL;
	}
	colb_conf_free(&conf);
	if (ex) {
		cli_close_bundle(&cb);
		return ex;
	}

	/* Signals are taken synchronously by this thread only: the server's
	 * threads start with them blocked. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	char why[1024];
	serve_server *s = serve_start(&cfg, cb.opts, store ? NULL : cb.path, store, why, sizeof why);
	if (!s) {
		cli_err("serve", "%s", why);
		cli_close_bundle(&cb);
		return strstr(why, "REFUSED") ? EXIT_REFUSED : EXIT_IOERR;
	}
	printf("colbundle serve: listening on %s (port %u)%s\n", cfg.listen, serve_port(s),
	       cfg.tls_cert ? " with TLS" : "");
	fflush(stdout);
	if (port_file) {
		char p[16];
		int n = snprintf(p, sizeof p, "%u\n", serve_port(s));
		if (colb_write_file_atomic(port_file, p, (size_t)n, 0644, why, sizeof why) != COLB_OK) {
			cli_err("serve", "%s", why);
			serve_stop(s);
			cli_close_bundle(&cb);
			return EXIT_IOERR;
		}
	}
	for (;;) {
		struct timespec ts = { .tv_sec = (time_t)poll, .tv_nsec = 0 };
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		serve_reload(s, sig == SIGHUP);
	}
	fprintf(stderr, "colbundle serve: stopping\n");
	serve_stop(s);
	cli_close_bundle(&cb);
	return EXIT_OK;
}

const cli_command cmd_serve = {
	.name = "serve",
	.summary = "answer PCS/PCCS, KDS and THIM requests over HTTP from a verified bundle",
	.usage =
		"usage: colbundle serve [B.colb | --store DIR] [--listen ADDR:PORT] [options] [trust options]\n\n"
		"Serves the collateral of a verified bundle read-only over HTTP, on the paths\n"
		"unmodified clients already use:\n"
		"  Intel PCS v4 / PCCS  /sgx/certification/v4/{pckcert,pckcerts,pckcrl,tcb,qe/identity,\n"
		"                       qve/identity,qae/identity,tcbevaluationdatanumbers,fmspcs,\n"
		"                       rootcacrl,crl?uri=}, /tdx/certification/v4/{tcb,qe/identity,\n"
		"                       tcbevaluationdatanumbers} (also under /metadata/THIM/)\n"
		"  AMD KDS              /vcek/v1/{Milan,Genoa,Turin}/{HWID?blSPL=..,cert_chain,crl},\n"
		"                       /vlek/v1/{P}/{CSP_ID?blSPL=..,cert_chain,crl}\n"
		"  Azure THIM           /metadata/THIM/amd/certification[?product=P&hwid=H[&tcbm=T]]\n"
		"  Operations           /healthz, /metrics (Prometheus text)\n"
		"Every item is verified (bundle signatures and the vendor's own) before it is\n"
		"served; an item that does not verify is answered 500 and logged, never sent.\n"
		"A newly installed bundle (the file replaced, or SIGHUP) is verified and swapped\n"
		"in whole; a bad one is refused and the old one keeps serving.\n\n"
		"Options:\n"
		"  --store DIR            serve the site store's current bundle (`colbundle install\n"
		"                         --store DIR`); a new install is picked up by its\n"
		"                         generation. Without trust options, the keys the store\n"
		"                         recorded at install are the trust. Default: the\n"
		"                         configuration file's store, when it names no bundle\n"
		"  --listen ADDR:PORT     default 127.0.0.1:8081; IPv6 as [ADDR]:PORT ([::] takes\n"
		"                         IPv4 too); port 0 picks a free port\n"
		"  --port-file F          write the bound port to F (for port 0)\n"
		"  --tls-cert PEM --tls-key PEM   serve HTTPS\n"
		"  --threads N            worker threads (default 2)\n"
		"  --max-connections N    concurrent connections (default 1024)\n"
		"  --max-per-client N     concurrent connections per client address (default 128)\n"
		"  --rate N [--burst M]   requests per second per client address, answered 429\n"
		"                         with Retry-After past it (default: no limit; burst 2N)\n"
		"  --timeout S            idle or half-sent connections are closed after S seconds\n"
		"                         (default 10)\n"
		"  --max-request-bytes N  request line and headers (default 16384)\n"
		"  --max-headers N        request header fields (default 64)\n"
		"  --baseline SPEC        the site's Intel baseline: standard, early or a TCB\n"
		"                         evaluation data number (default: the bundle's)\n"
		"  --thim-map FILE        THIM clients by address: lines 'ADDRESS PRODUCT HWID [TCBM]'\n"
		"  --cache-seconds N      Cache-Control max-age cap and THIM's cacheControl (86400)\n"
		"  --poll S               check the bundle file for a new install every S seconds (2)\n"
		"  --verbose              log every refused request\n\n"
		"Intel semantics: tcb and the identities take update=standard|early or\n"
		"tcbEvaluationDataNumber=N (both: 400); without either, the baseline is served.\n"
		"An unknown FMSPC or number is 404, a number below the bundle's minimum 410.\n"
		"Bad parameters are 400 with Error-Code and Error-Message headers.\n\n"
		CLI_TRUST_USAGE,
	.run = run,
};
