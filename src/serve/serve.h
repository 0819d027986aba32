/*
 * serve.h — `colbundle serve`: a read-only HTTP endpoint that answers the
 * requests Intel PCS v4 / PCCS, AMD KDS and Azure THIM answer, from one
 * verified bundle.
 *
 * The bundle in service is a reference-counted generation: each request
 * takes a reference to the current one when it starts and drops it when its
 * answer is sent, so a reload swaps in a whole new bundle atomically and the
 * old one is freed only after its last answer; no answer mixes two bundles.
 */
#ifndef COLB_SERVE_H
#define COLB_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "colbundle.h"

typedef struct serve_config {
	const char *listen;        /* "ADDR:PORT", "[V6]:PORT"; port 0 picks one */
	const char *tls_cert;      /* PEM files; both or neither */
	const char *tls_key;
	unsigned threads;          /* the thread pool's size */
	unsigned max_connections;
	unsigned max_per_client;   /* concurrent connections per address; 0 = no limit */
	unsigned rate;             /* requests per second per address; 0 = no limit */
	unsigned burst;            /* token-bucket depth (default 2 x rate) */
	unsigned timeout;          /* seconds a connection may stay idle or half-sent */
	size_t max_request_bytes;  /* request line + headers */
	unsigned max_headers;
	const char *baseline;      /* the site's baseline override (colb_intel_set_baseline) */
	const char *thim_map;      /* file: "ADDRESS PRODUCT HWID [TCBM]" per line */
	unsigned cache_seconds;    /* THIM's cacheControl and Cache-Control cap */
	int verbose;               /* log every refused request on stderr */
	time_t at;                 /* the verification time (0: the wall clock) */
} serve_config;

void serve_config_defaults(serve_config *c);

typedef struct serve_server serve_server;

/* Opens the bundle file at path, or the current bundle of the site store
 * (format-spec/site-store.md) when store is set, with opts (borrowed: they
 * must outlive the server), and starts listening. On failure returns NULL
 * with the reason in why. */
serve_server *serve_start(const serve_config *cfg, const colb_opts *opts, const char *path, const char *store,
			  char *why, size_t whylen);
/* The port actually bound (for port 0). */
unsigned serve_port(const serve_server *s);
/* Checks the bundle file (its identity) or the store (its generation): when
 * it changed since it was loaded (or force),
 * opens and verifies the new one and swaps it in. Returns 1 when a new
 * bundle went into service, 0 when nothing changed, -1 when the new file was
 * refused (logged; the old bundle keeps serving). */
int serve_reload(serve_server *s, bool force);
void serve_stop(serve_server *s);

#endif
