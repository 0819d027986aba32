/*
 * server.c — the HTTP endpoint of serve.h, on libmicrohttpd.
 *
 * A request goes: raw target captured (URI log callback) -> method, rate and
 * header-count checks -> serve_parse_target -> a reference on the current
 * bundle generation -> the Intel or AMD getter (which verifies the item
 * before returning it) -> the answer with the vendor's headers -> the
 * reference dropped when MHD says the answer is sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "serve/request.h"
#include "serve/serve.h"
#include "util/util.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_ret;
#else
typedef enum MHD_Result mhd_ret;
#endif

#define MAX_CHAIN_CACHE 64
#define RL_SLOTS 4096
#define RL_STRIPES 16
#define MAX_THIM_MAP 4096
#define TLS_FILE_MAX (1u << 20)

/* ---- logging ---------------------------------------------------------------- */

static void slog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void slog(const char *fmt, ...)
{
	char when[21], line[1024];
	colb_time_format(time(NULL), when);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s colbundle serve: %s\n", when, line);
}

/* ---- bundle generations ------------------------------------------------------ */

typedef struct chain_enc {
	const char *src; /* the getter's pointer: stable for the bundle's life */
	char *enc;
} chain_enc;

/* A platform the bundle knows by its encrypted PPID (from the PCK Cert ID
 * CSV it was made with: the signed manifest's enc_ppid_sha256). */
typedef struct ppid_ent {
	char sha[65];
	uint8_t qe_id[16];
	uint16_t pce_id;
} ppid_ent;

typedef struct gen {
	atomic_uint refs;
	colb_bundle *b;
	uint64_t seq;
	char key[96]; /* what it was opened from: source_key() */
	time_t loaded;
	pthread_mutex_t lock; /* guards the lazily filled caches below */
	chain_enc chains[MAX_CHAIN_CACHE];
	size_t nchains;
	char *crl_pem[2];
	size_t crl_pem_len[2];
	char *root_hex;
	size_t root_hex_len;
	bool sets_done;
	json_t *sets; /* intel/tcb-sets.json, NULL when absent */
	char *fmspcs[4];
	size_t fmspcs_len[4];
	bool ppids_done;
	ppid_ent *ppids;
	size_t nppids;
} gen;

static void gen_free(gen *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nchains; i++)
		free(g->chains[i].enc);
	free(g->crl_pem[0]);
	free(g->crl_pem[1]);
	free(g->root_hex);
	for (int i = 0; i < 4; i++)
		free(g->fmspcs[i]);
	json_decref(g->sets);
	free(g->ppids);
	colb_bundle_free(g->b);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static void gen_put(gen *g)
{
	if (g && atomic_fetch_sub(&g->refs, 1) == 1)
		gen_free(g);
}

/* ---- the server ------------------------------------------------------------- */

enum { ST_200, ST_400, ST_404, ST_405, ST_410, ST_413, ST_414, ST_429, ST_431, ST_500, ST_503, ST_OTHER, ST__N };
static const int status_codes[ST__N] = { 200, 400, 404, 405, 410, 413, 414, 429, 431, 500, 503, 0 };

typedef struct rl_slot {
	uint8_t key[16];
	bool used;
	double tokens;
	uint64_t last_ns;
} rl_slot;

typedef struct thim_entry {
	uint8_t addr[16];
	colb_amd_product product;
	uint8_t chip_id[64];
	bool has_tcbm;
	uint64_t tcbm;
} thim_entry;

struct serve_server {
	serve_config cfg;
	const colb_opts *opts;
	char *path;   /* the bundle file, or NULL */
	char *store;  /* the site store, or NULL */
	char *tls_cert, *tls_key;
	struct MHD_Daemon *d;
	unsigned port;

	pthread_mutex_t swap; /* guards cur and the reload bookkeeping */
	gen *cur;
	uint64_t seq;
	bool has_refused;
	char refused_key[96];

	atomic_uint_fast64_t hits[SR__COUNT][ST__N];
	atomic_uint_fast64_t reloads_ok, reloads_refused;

	pthread_mutex_t rl_lock[RL_STRIPES];
	rl_slot *rl;

	thim_entry *thim;
	size_t nthim;

	uint64_t rid_prefix;
	atomic_uint_fast64_t rid_next;
};

typedef struct req_ctx {
	gen *g;
	bool seen;
	size_t body_bytes;
	serve_route route;
	size_t tlen;
	char target[]; /* empty when tlen > SERVE_MAX_TARGET */
} req_ctx;

void serve_config_defaults(serve_config *c)
{
	memset(c, 0, sizeof *c);
	c->listen = "127.0.0.1:8081";
	c->threads = 2;
	c->max_connections = 1024;
	c->max_per_client = 128;
	c->rate = 0;
	c->timeout = 10;
	c->max_request_bytes = 16384;
	c->max_headers = 64;
	c->cache_seconds = 86400;
}

static gen *gen_get(serve_server *s)
{
	pthread_mutex_lock(&s->swap);
	gen *g = s->cur;
	atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&s->swap);
	return g;
}

/* What identifies the bundle the source holds now: the store's generation
 * (one readlink), or the file's identity (an install renames a new file
 * into place, so the inode changes). False when there is none. */
static bool source_key(const serve_server *s, char *key, size_t len, char *why, size_t whylen)
{
	if (s->store) {
		colb_err rc = colb_store_generation(s->store, key, len);
		if (rc)
			snprintf(why, whylen, "store %s: %s", s->store, colb_strerror(rc));
		return rc == COLB_OK;
	}
	struct stat st;
	if (stat(s->path, &st) != 0) {
		snprintf(why, whylen, "%s: %s", s->path, strerror(errno));
		return false;
	}
	snprintf(key, len, "%llx:%llx:%lld:%lld.%ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (long long)st.st_size, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	return true;
}

static const char *source_name(const serve_server *s)
{
	return s->store ? s->store : s->path;
}

/* Opens and verifies a bundle completely, items included, so that a bad new
 * bundle is refused before it serves a single request. */
static gen *gen_open(serve_server *s, const char *key, char *why, size_t whylen)
{
	gen *g = calloc(1, sizeof *g);
	if (!g) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&g->lock, NULL);
	atomic_init(&g->refs, 1);
	snprintf(g->key, sizeof g->key, "%s", key);
	g->loaded = time(NULL);
	g->b = colb_bundle_new(s->opts);
	colb_err rc = !g->b ? COLB_ERR_NOMEM
			    : s->store ? colb_bundle_open_store(g->b, s->store) : colb_bundle_open_file(g->b, s->path);
	if (rc) {
		snprintf(why, whylen, "%s: %s", colb_strerror(rc), g->b ? colb_bundle_error(g->b) : "");
		gen_free(g);
		return NULL;
	}
	if (s->cfg.baseline && (rc = colb_intel_set_baseline(g->b, s->cfg.baseline)) != COLB_OK) {
		snprintf(why, whylen, "baseline '%s': %s: %s", s->cfg.baseline, colb_strerror(rc),
			 colb_bundle_error(g->b));
		gen_free(g);
		return NULL;
	}
	/* Stale collateral is a matter of time, not of integrity: it is refused
	 * per request under the enforce policy, and the rest is still served. */
	const char *layer[2] = { "Intel", "AMD" };
	for (int i = 0; i < 2; i++) {
		rc = i == 0 ? colb_intel_verify_all(g->b) : colb_amd_verify_all(g->b);
		if (rc == COLB_ERR_STALE) {
			slog("warning: %s: %s collateral is stale: %s", source_name(s), layer[i],
			     colb_bundle_error(g->b));
		} else if (rc) {
			snprintf(why, whylen, "%s collateral: %s: %s", layer[i], colb_strerror(rc), colb_bundle_error(g->b));
			gen_free(g);
			return NULL;
		}
	}
	return g;
}

int serve_reload(serve_server *s, bool force)
{
	char key[96], why[1024];
	if (!source_key(s, key, sizeof key, why, sizeof why)) {
		/* between an install's steps, or gone: keep serving what we have */
		if (force)
			slog("reload: %s; still serving bundle version %llu", why,
			     (unsigned long long)colb_bundle_version(s->cur->b));
		return force ? -1 : 0;
	}
	pthread_mutex_lock(&s->swap);
	bool unchanged = !strcmp(key, s->cur->key) || (s->has_refused && !strcmp(key, s->refused_key));
	pthread_mutex_unlock(&s->swap);
	if (unchanged && !force)
		return 0;
	gen *g = gen_open(s, key, why, sizeof why);
	if (g) {
		/* Never back to an older bundle, even where no state file guards
		 * the site: the same rule as the core's anti-rollback check. */
		uint64_t now_v = colb_bundle_version(s->cur->b), new_v = colb_bundle_version(g->b);
		if (new_v < now_v || (new_v == now_v && strcmp(colb_bundle_digest(g->b), colb_bundle_digest(s->cur->b)))) {
			snprintf(why, sizeof why, "%s: version %llu would replace version %llu (rollback)",
				 colb_strerror(COLB_ERR_ROLLBACK), (unsigned long long)new_v, (unsigned long long)now_v);
			gen_put(g);
			g = NULL;
		}
	}
	if (!g) {
		pthread_mutex_lock(&s->swap);
		s->has_refused = true;
		snprintf(s->refused_key, sizeof s->refused_key, "%s", key);
		uint64_t v = colb_bundle_version(s->cur->b);
		pthread_mutex_unlock(&s->swap);
		atomic_fetch_add(&s->reloads_refused, 1);
		slog("reload: REFUSED %s: %s; still serving bundle version %llu", source_name(s), why,
		     (unsigned long long)v);
		return -1;
	}
	pthread_mutex_lock(&s->swap);
	gen *old = s->cur;
	g->seq = ++s->seq;
	s->cur = g;
	s->has_refused = false;
	pthread_mutex_unlock(&s->swap);
	atomic_fetch_add(&s->reloads_ok, 1);
	slog("reload: now serving %s version %llu (was %llu)", colb_bundle_id(g->b),
	     (unsigned long long)colb_bundle_version(g->b), (unsigned long long)colb_bundle_version(old->b));
	gen_put(old);
	return 1;
}

/* ---- per-generation caches ------------------------------------------------- */

/* The percent-encoded form of an issuer chain, as the PCS sends it. */
static const char *chain_header(gen *g, const char *chain)
{
	const char *enc = NULL;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->nchains; i++)
		if (g->chains[i].src == chain) {
			enc = g->chains[i].enc;
			break;
		}
	if (!enc && g->nchains < MAX_CHAIN_CACHE) {
		char *e = colb_percent_encode(chain, strlen(chain));
		if (e) {
			g->chains[g->nchains].src = chain;
			g->chains[g->nchains++].enc = e;
			enc = e;
		}
	}
	pthread_mutex_unlock(&g->lock);
	return enc;
}

/* The number `update=early` names: tcb-sets.json's, else the highest carried. */
static uint32_t early_eval(gen *g, int tee, const uint8_t *fmspc)
{
	pthread_mutex_lock(&g->lock);
	if (!g->sets_done) {
		const uint8_t *data;
		size_t len;
		if (colb_bundle_read(g->b, "intel/tcb-sets.json", &data, &len) == COLB_OK)
			g->sets = json_loadb((const char *)data, len, 0, NULL);
		g->sets_done = true;
	}
	json_t *t = json_object_get(g->sets, tee ? "tdx" : "sgx");
	json_int_t n = 0;
	if (t && fmspc) {
		char hex[13];
		colb_hex_encode(fmspc, 6, hex, true);
		json_t *f = json_object_get(json_object_get(t, "fmspc"), hex);
		n = json_integer_value(json_object_get(f, "early"));
	}
	if (t && n <= 0)
		n = json_integer_value(json_object_get(t, "early"));
	pthread_mutex_unlock(&g->lock);
	if (n > 0 && n <= UINT32_MAX)
		return (uint32_t)n;
	const uint32_t *list;
	size_t cnt;
	if (colb_intel_evals(g->b, (colb_intel_tee)tee, &list, &cnt) == COLB_OK && cnt)
		return list[cnt - 1];
	return 0;
}

/* ---- answers ------------------------------------------------------------------ */

static int status_index(int status)
{
	for (int i = 0; i < ST__N - 1; i++)
		if (status_codes[i] == status)
			return i;
	return ST_OTHER;
}

static void add_common(serve_server *s, struct MHD_Response *resp)
{
	uint64_t n = atomic_fetch_add(&s->rid_next, 1);
	char rid[33];
	snprintf(rid, sizeof rid, "%016llx%016llx", (unsigned long long)s->rid_prefix, (unsigned long long)n);
	MHD_add_response_header(resp, "Request-ID", rid);
}

static mhd_ret queue(serve_server *s, struct MHD_Connection *c, req_ctx *x, int status, struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO;
	add_common(s, resp);
	mhd_ret r = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	atomic_fetch_add(&s->hits[x ? x->route : SR_NONE][status_index(status)], 1);
	return r;
}

static mhd_ret reply_error(serve_server *s, struct MHD_Connection *c, req_ctx *x, int status, const char *code,
			   const char *msg)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Error-Code", code);
	MHD_add_response_header(resp, "Error-Message", msg);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (s->cfg.verbose)
		slog("%d %s: %s", status, x && x->tlen <= SERVE_MAX_TARGET ? x->target : "-", msg);
	return queue(s, c, x, status, resp);
}

/* Maps a getter's refusal to the status the vendor's service would give. */
static mhd_ret reply_colb_err(serve_server *s, struct MHD_Connection *c, req_ctx *x, colb_err rc, const char *what)
{
	char msg[200];
	switch (rc) {
	case COLB_ERR_NOT_FOUND:
		snprintf(msg, sizeof msg, "%s: not in this bundle", what);
		return reply_error(s, c, x, 404, "NotFound", msg);
	case COLB_ERR_BELOW_MIN_EVAL:
		snprintf(msg, sizeof msg, "%s: the TCB evaluation data number is retired (below this bundle's minimum)",
			 what);
		return reply_error(s, c, x, 410, "Gone", msg);
	case COLB_ERR_REVOKED:
		snprintf(msg, sizeof msg, "%s: revoked", what);
		return reply_error(s, c, x, 404, "NotFound", msg);
	case COLB_ERR_STALE:
		snprintf(msg, sizeof msg, "%s: past its nextUpdate (freshness policy: enforce)", what);
		return reply_error(s, c, x, 503, "StaleCollateral", msg);
	case COLB_ERR_INVALID_ARG:
		snprintf(msg, sizeof msg, "%s: invalid request", what);
		return reply_error(s, c, x, 400, "InvalidRequestSyntax", msg);
	default:
		/* The item did not verify: it is never served. */
		slog("refused to serve %s: %s: %s", what, colb_strerror(rc), x && x->g ? colb_bundle_error(x->g->b) : "");
		snprintf(msg, sizeof msg, "%s: %s", what, colb_strerror(rc));
		return reply_error(s, c, x, 500, "InternalError", msg);
	}
}

static time_t now_s(const serve_server *s)
{
	return s->cfg.at ? s->cfg.at : time(NULL);
}

static void cache_control(serve_server *s, struct MHD_Response *resp, time_t next_update)
{
	long max = (long)s->cfg.cache_seconds;
	if (next_update) {
		long left = (long)(next_update - now_s(s));
		if (left < max)
			max = left < 0 ? 0 : left;
	}
	char v[64];
	snprintf(v, sizeof v, "public, max-age=%ld", max);
	MHD_add_response_header(resp, "Cache-Control", v);
}

static struct MHD_Response *body(const void *data, size_t len, const char *ctype)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
	if (r)
		MHD_add_response_header(r, "Content-Type", ctype);
	return r;
}

static mhd_ret reply_item(serve_server *s, struct MHD_Connection *c, req_ctx *x, const colb_intel_item *it,
			  const void *data, size_t len, const char *ctype, const char *chain_hdr)
{
	struct MHD_Response *r = body(data, len, ctype);
	if (!r)
		return MHD_NO;
	if (chain_hdr && it->issuer_chain && it->issuer_chain[0]) {
		const char *enc = chain_header(x->g, it->issuer_chain);
		if (enc)
			MHD_add_response_header(r, chain_hdr, enc);
	}
	cache_control(s, r, it->next_update);
	return queue(s, c, x, 200, r);
}

/* ---- Intel ---------------------------------------------------------------------- */

static uint32_t eval_for(gen *g, const serve_req *q, const uint8_t *fmspc)
{
	switch (q->update) {
	case SU_NUMBER:
		return q->eval;
	case SU_EARLY:
		return early_eval(g, q->tee, fmspc);
	default:
		return 0; /* the bundle's (or the site's) baseline */
	}
}

static mhd_ret do_tcb(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_intel_item it;
	colb_err rc = colb_intel_tcbinfo(x->g->b, (colb_intel_tee)q->tee, q->fmspc, eval_for(x->g, q, q->fmspc), &it);
	if (rc)
		return reply_colb_err(s, c, x, rc, "tcb");
	struct MHD_Response *r = body(it.data, it.len, "application/json");
	if (!r)
		return MHD_NO;
	const char *enc = chain_header(x->g, it.issuer_chain);
	if (enc) {
		MHD_add_response_header(r, "TCB-Info-Issuer-Chain", enc);
		if (q->thim_prefix)
			MHD_add_response_header(r, "SGX-TCB-Info-Issuer-Chain", enc);
	}
	cache_control(s, r, it.next_update);
	return queue(s, c, x, 200, r);
}

static mhd_ret do_identity(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_intel_item it;
	colb_err rc = colb_intel_identity_get(x->g->b, (colb_intel_identity)q->identity, eval_for(x->g, q, NULL), &it);
	if (rc)
		return reply_colb_err(s, c, x, rc, "identity");
	return reply_item(s, c, x, &it, it.data, it.len, "application/json", "SGX-Enclave-Identity-Issuer-Chain");
}

static mhd_ret do_evalnums(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_intel_item it;
	colb_err rc = colb_intel_evalnums(x->g->b, (colb_intel_tee)q->tee, &it);
	if (rc)
		return reply_colb_err(s, c, x, rc, "tcbevaluationdatanumbers");
	return reply_item(s, c, x, &it, it.data, it.len, "application/json",
			  "TCB-Evaluation-Data-Numbers-Issuer-Chain");
}

static mhd_ret do_pckcrl(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_intel_item it;
	colb_err rc = colb_intel_pckcrl(x->g->b, (colb_intel_ca)q->ca, &it);
	if (rc)
		return reply_colb_err(s, c, x, rc, "pckcrl");
	if (q->der)
		return reply_item(s, c, x, &it, it.data, it.len, "application/pkix-crl", "SGX-PCK-CRL-Issuer-Chain");
	gen *g = x->g;
	pthread_mutex_lock(&g->lock);
	if (!g->crl_pem[q->ca]) {
		char *pem = NULL;
		size_t pl = 0;
		if (colb_intel_crl_pem(it.data, it.len, &pem, &pl) == COLB_OK) {
			g->crl_pem[q->ca] = pem;
			g->crl_pem_len[q->ca] = pl;
		}
	}
	const char *pem = g->crl_pem[q->ca];
	size_t pl = g->crl_pem_len[q->ca];
	pthread_mutex_unlock(&g->lock);
	if (!pem)
		return reply_colb_err(s, c, x, COLB_ERR_INTERNAL, "pckcrl");
	return reply_item(s, c, x, &it, pem, pl, "application/x-pem-file", "SGX-PCK-CRL-Issuer-Chain");
}

static mhd_ret do_rootcacrl(serve_server *s, struct MHD_Connection *c, req_ctx *x)
{
	colb_intel_item it;
	colb_err rc = colb_intel_rootcacrl(x->g->b, &it);
	if (rc)
		return reply_colb_err(s, c, x, rc, "rootcacrl");
	/* PCCS answers the root CA CRL as hex text. */
	gen *g = x->g;
	pthread_mutex_lock(&g->lock);
	if (!g->root_hex && (g->root_hex = malloc(2 * it.len + 1)) != NULL) {
		colb_hex_encode(it.data, it.len, g->root_hex, false);
		g->root_hex_len = 2 * it.len;
	}
	const char *hex = g->root_hex;
	size_t hl = g->root_hex_len;
	pthread_mutex_unlock(&g->lock);
	if (!hex)
		return MHD_NO;
	return reply_item(s, c, x, &it, hex, hl, "text/plain", NULL);
}

static mhd_ret do_crl_uri(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_intel_item it;
	colb_err rc = q->ca < 0 ? colb_intel_rootcacrl(x->g->b, &it)
				: colb_intel_pckcrl(x->g->b, (colb_intel_ca)q->ca, &it);
	if (rc)
		return reply_colb_err(s, c, x, rc, "crl");
	return reply_item(s, c, x, &it, it.data, it.len, "application/pkix-crl", NULL);
}

static mhd_ret do_pckcert(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_intel_pck pck;
	colb_err rc = q->has_qe_id
			      ? colb_intel_pck_select(x->g->b, q->qe_id, q->pce_id, q->cpusvn, q->pcesvn, 0, &pck)
			      : colb_intel_pck_select_by_ppid(x->g->b, q->enc_ppid, q->enc_ppid_len, q->pce_id, q->cpusvn,
							      q->pcesvn, 0, &pck);
	if (rc)
		return reply_colb_err(s, c, x, rc, "pckcert");
	struct MHD_Response *r = body(pck.cert_pem, pck.cert_pem_len, "application/x-pem-file");
	if (!r)
		return MHD_NO;
	const char *enc = chain_header(x->g, pck.issuer_chain);
	if (enc)
		MHD_add_response_header(r, "SGX-PCK-Certificate-Issuer-Chain", enc);
	MHD_add_response_header(r, "SGX-TCBm", pck.tcbm);
	MHD_add_response_header(r, "SGX-FMSPC", pck.fmspc);
	MHD_add_response_header(r, "SGX-PCK-Certificate-CA-Type", pck.ca_type);
	cache_control(s, r, 0);
	return queue(s, c, x, 200, r);
}

/* "intel/pckcerts/<QEID>-<PCEID>.json" -> the QE ID and PCE ID (its two
 * bytes in file order, little-endian as the request's pceid). */
static bool pckcerts_path(const char *path, uint8_t qe_id[16], uint16_t *pce_id)
{
	const char *pre = "intel/pckcerts/";
	size_t pl = strlen(pre);
	uint8_t pce[2];
	if (strncmp(path, pre, pl) || strlen(path) != pl + 32 + 1 + 4 + 5 || path[pl + 32] != '-' ||
	    strcmp(path + pl + 37, ".json") || !colb_hex_decode(path + pl, 32, qe_id, 16) ||
	    !colb_hex_decode(path + pl + 33, 4, pce, 2))
		return false;
	*pce_id = (uint16_t)(pce[0] | pce[1] << 8);
	return true;
}

static void ppid_index(gen *g)
{
	size_t n = colb_bundle_file_count(g->b), k = 0;
	g->ppids = calloc(n ? n : 1, sizeof *g->ppids);
	for (size_t i = 0; g->ppids && i < n; i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(g->b, i, &fi) != COLB_OK || !fi.kind || strcmp(fi.kind, "pckcerts"))
			continue;
		json_t *meta = fi.meta_json ? json_loads(fi.meta_json, 0, NULL) : NULL;
		const char *sha = json_string_value(json_object_get(meta, "enc_ppid_sha256"));
		if (sha && strlen(sha) == 64 && pckcerts_path(fi.path, g->ppids[k].qe_id, &g->ppids[k].pce_id)) {
			snprintf(g->ppids[k].sha, sizeof g->ppids[k].sha, "%s", sha);
			k++;
		}
		json_decref(meta);
	}
	g->nppids = k;
	g->ppids_done = true;
}

/* The platform of an encrypted PPID, as PCS pckcerts?encrypted_ppid= names it. */
static bool platform_by_ppid(gen *g, const serve_req *q, uint8_t qe_id[16])
{
	char sha[65];
	colb_sha256_hex(q->enc_ppid, q->enc_ppid_len, sha);
	pthread_mutex_lock(&g->lock);
	if (!g->ppids_done)
		ppid_index(g);
	bool found = false;
	for (size_t i = 0; i < g->nppids && !found; i++)
		if (!strcasecmp(g->ppids[i].sha, sha) && g->ppids[i].pce_id == q->pce_id) {
			memcpy(qe_id, g->ppids[i].qe_id, 16);
			found = true;
		}
	pthread_mutex_unlock(&g->lock);
	return found;
}

static mhd_ret do_pckcerts(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	uint8_t qe_id[16];
	if (q->has_qe_id)
		memcpy(qe_id, q->qe_id, 16);
	else if (!platform_by_ppid(x->g, q, qe_id))
		return reply_colb_err(s, c, x, COLB_ERR_NOT_FOUND, "pckcerts");
	colb_intel_item it;
	colb_err rc = colb_intel_pckcerts(x->g->b, qe_id, q->pce_id, &it);
	if (rc)
		return reply_colb_err(s, c, x, rc, "pckcerts");
	struct MHD_Response *r = body(it.data, it.len, "application/json");
	if (!r)
		return MHD_NO;
	const char *enc = chain_header(x->g, it.issuer_chain);
	if (enc)
		MHD_add_response_header(r, "SGX-PCK-Certificate-Issuer-Chain", enc);
	if (it.fmspc)
		MHD_add_response_header(r, "SGX-FMSPC", it.fmspc);
	if (it.ca_type)
		MHD_add_response_header(r, "SGX-PCK-Certificate-CA-Type", it.ca_type);
	cache_control(s, r, 0);
	return queue(s, c, x, 200, r);
}

/* fmspcs: the PCS's list as captured (filtered by platform), or, when the
 * bundle carries none, the FMSPCs it has TCB info for. */
static char *fmspcs_text(gen *g, int platform, size_t *len)
{
	static const char *const plats[] = { "all", "client", "E3", "E5" };
	const uint8_t *data;
	size_t dl;
	json_t *out = json_array();
	if (colb_bundle_read(g->b, "intel/fmspcs.json", &data, &dl) == COLB_OK) {
		if (platform == 0) {
			char *copy = malloc(dl + 1);
			if (copy) {
				memcpy(copy, data, dl);
				copy[dl] = 0;
				*len = dl;
			}
			json_decref(out);
			return copy;
		}
		json_t *all = json_loadb((const char *)data, dl, 0, NULL);
		size_t i;
		json_t *e;
		json_array_foreach(all, i, e) {
			const char *p = json_string_value(json_object_get(e, "platform"));
			if (p && !strcmp(p, plats[platform]))
				json_array_append(out, e);
		}
		json_decref(all);
	} else {
		const char *const *list;
		size_t n;
		if (platform == 0 && colb_intel_fmspcs(g->b, COLB_INTEL_SGX, &list, &n) == COLB_OK)
			for (size_t i = 0; i < n; i++)
				json_array_append_new(out, json_pack("{s:s}", "fmspc", list[i]));
	}
	char *t = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(out);
	*len = t ? strlen(t) : 0;
	return t;
}

static mhd_ret do_fmspcs(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	gen *g = x->g;
	pthread_mutex_lock(&g->lock);
	if (!g->fmspcs[q->platform])
		g->fmspcs[q->platform] = fmspcs_text(g, q->platform, &g->fmspcs_len[q->platform]);
	const char *t = g->fmspcs[q->platform];
	size_t tl = g->fmspcs_len[q->platform];
	pthread_mutex_unlock(&g->lock);
	if (!t)
		return MHD_NO;
	struct MHD_Response *r = body(t, tl, "application/json");
	if (!r)
		return MHD_NO;
	cache_control(s, r, 0);
	return queue(s, c, x, 200, r);
}

/* ---- AMD ---------------------------------------------------------------------- */

static colb_amd_product amd_product(serve_amd_product p)
{
	return p == SA_MILAN ? COLB_AMD_MILAN : p == SA_GENOA ? COLB_AMD_GENOA : COLB_AMD_TURIN;
}

static uint64_t req_tcbm(const serve_req *q)
{
	if (q->has_tcbm)
		return q->tcbm;
	colb_amd_tcb t = { .fmc = q->fmc, .bl = q->bl, .tee = q->tee_spl, .snp = q->snp, .ucode = q->ucode };
	return colb_amd_tcb_encode(amd_product(q->product), &t);
}

static mhd_ret do_amd_cert(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_amd_cert cert;
	colb_err rc = q->vlek ? colb_amd_vlek(x->g->b, amd_product(q->product), q->csp, req_tcbm(q), &cert)
			      : colb_amd_vcek(x->g->b, amd_product(q->product), q->hwid, req_tcbm(q), &cert);
	if (rc)
		return reply_colb_err(s, c, x, rc, q->vlek ? "vlek" : "vcek");
	struct MHD_Response *r = body(cert.der, cert.der_len, "application/pkix-cert");
	if (!r)
		return MHD_NO;
	cache_control(s, r, 0);
	return queue(s, c, x, 200, r);
}

static mhd_ret do_amd_chain(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_amd_chain ch;
	colb_err rc = colb_amd_chain_get(x->g->b, amd_product(q->product), q->vlek, &ch);
	if (rc)
		return reply_colb_err(s, c, x, rc, "cert_chain");
	struct MHD_Response *r = body(ch.pem, ch.pem_len, "application/x-pem-file");
	if (!r)
		return MHD_NO;
	cache_control(s, r, 0);
	return queue(s, c, x, 200, r);
}

static mhd_ret do_amd_crl(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_amd_crl crl;
	colb_err rc = colb_amd_crl_get(x->g->b, amd_product(q->product), &crl);
	if (rc)
		return reply_colb_err(s, c, x, rc, "crl");
	struct MHD_Response *r = body(crl.der, crl.len, "application/pkix-crl");
	if (!r)
		return MHD_NO;
	cache_control(s, r, crl.next_update);
	return queue(s, c, x, 200, r);
}

/* The client's address as 16 bytes (IPv4 as v4-mapped IPv6). */
static bool client_key(struct MHD_Connection *c, uint8_t key[16])
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	memset(key, 0, 16);
	if (!ci || !ci->client_addr)
		return false;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static mhd_ret do_thim(serve_server *s, struct MHD_Connection *c, req_ctx *x, const serve_req *q)
{
	colb_amd_product p;
	const uint8_t *chip;
	bool has_tcbm;
	uint64_t tcbm;
	if (q->has_chip) {
		p = amd_product(q->product);
		chip = q->hwid;
		has_tcbm = q->has_tcbm || q->has_spl;
		tcbm = has_tcbm ? req_tcbm(q) : 0;
	} else {
		uint8_t key[16];
		const thim_entry *e = NULL;
		if (client_key(c, key))
			for (size_t i = 0; i < s->nthim && !e; i++)
				if (!memcmp(s->thim[i].addr, key, 16))
					e = &s->thim[i];
		if (!e)
			return reply_error(s, c, x, 404, "NotFound",
					   "no chip named (product=&hwid=) and none mapped to this client's address");
		p = e->product;
		chip = e->chip_id;
		has_tcbm = e->has_tcbm;
		tcbm = e->tcbm;
	}
	if (!has_tcbm) {
		const uint64_t *list;
		size_t n;
		colb_err rc = colb_amd_vcek_tcbs(x->g->b, p, chip, &list, &n);
		if (rc || n == 0)
			return reply_colb_err(s, c, x, rc ? rc : COLB_ERR_NOT_FOUND, "thim");
		tcbm = list[n - 1];
	}
	colb_amd_cert cert;
	colb_err rc = colb_amd_vcek(x->g->b, p, chip, tcbm, &cert);
	if (rc)
		return reply_colb_err(s, c, x, rc, "thim");
	char *json = NULL;
	size_t jl = 0;
	if ((rc = colb_amd_thim_json(&cert, s->cfg.cache_seconds, &json, &jl)) != COLB_OK)
		return reply_colb_err(s, c, x, rc, "thim");
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(jl, json, colb_free);
	if (!r) {
		colb_free(json);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	cache_control(s, r, 0);
	return queue(s, c, x, 200, r);
}

/* ---- health and metrics ---------------------------------------------------------- */

static mhd_ret do_healthz(serve_server *s, struct MHD_Connection *c, req_ctx *x)
{
	char text[256];
	time_t now = now_s(s), exp = colb_bundle_expires(x->g->b);
	int n = snprintf(text, sizeof text, "%s version %llu%s\n", exp > now ? "ok" : "expired",
			 (unsigned long long)colb_bundle_version(x->g->b), "");
	struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	/* An expired bundle was accepted only because the site allows it: say so. */
	return queue(s, c, x, exp > now ? 200 : 503, r);
}

static mhd_ret do_metrics(serve_server *s, struct MHD_Connection *c, req_ctx *x)
{
	colb_buf b;
	colb_buf_init(&b, 1u << 20);
	colb_buf_append_str(&b, "# HELP colbundle_serve_requests_total Requests answered, by route and status.\n"
				"# TYPE colbundle_serve_requests_total counter\n");
	for (int r = 0; r < SR__COUNT; r++)
		for (int k = 0; k < ST__N; k++) {
			uint64_t v = atomic_load(&s->hits[r][k]);
			if (!v)
				continue;
			char st[8];
			if (k == ST_OTHER)
				snprintf(st, sizeof st, "other");
			else
				snprintf(st, sizeof st, "%d", status_codes[k]);
			colb_buf_printf(&b, "colbundle_serve_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
					serve_route_name((serve_route)r), st, (unsigned long long)v);
		}
	colb_bundle *bd = x->g->b;
	colb_buf_printf(&b,
			"# HELP colbundle_bundle_version The version of the bundle in service.\n"
			"# TYPE colbundle_bundle_version gauge\n"
			"colbundle_bundle_version %llu\n"
			"# HELP colbundle_bundle_expiry_timestamp_seconds When the bundle in service expires.\n"
			"# TYPE colbundle_bundle_expiry_timestamp_seconds gauge\n"
			"colbundle_bundle_expiry_timestamp_seconds %lld\n"
			"# HELP colbundle_bundle_created_timestamp_seconds When the bundle in service was made.\n"
			"# TYPE colbundle_bundle_created_timestamp_seconds gauge\n"
			"colbundle_bundle_created_timestamp_seconds %lld\n"
			"# HELP colbundle_bundle_loaded_timestamp_seconds When the bundle in service was loaded.\n"
			"# TYPE colbundle_bundle_loaded_timestamp_seconds gauge\n"
			"colbundle_bundle_loaded_timestamp_seconds %lld\n"
			"# HELP colbundle_bundle_info The bundle in service.\n"
			"# TYPE colbundle_bundle_info gauge\n"
			"colbundle_bundle_info{id=\"%s\",digest=\"%s\"} 1\n"
			"# HELP colbundle_serve_reloads_total Bundle reloads, by result.\n"
			"# TYPE colbundle_serve_reloads_total counter\n"
			"colbundle_serve_reloads_total{result=\"ok\"} %llu\n"
			"colbundle_serve_reloads_total{result=\"refused\"} %llu\n",
			(unsigned long long)colb_bundle_version(bd), (long long)colb_bundle_expires(bd),
			(long long)colb_bundle_created(bd), (long long)x->g->loaded, colb_bundle_id(bd),
			colb_bundle_digest(bd), (unsigned long long)atomic_load(&s->reloads_ok),
			(unsigned long long)atomic_load(&s->reloads_refused));
	size_t len;
	uint8_t *text = colb_buf_steal(&b, &len);
	if (!text)
		return MHD_NO;
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	return queue(s, c, x, 200, r);
}

/* ---- admission: rate ------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A token bucket per client address in a fixed table (a collision resets
 * the bucket: memory stays bounded whatever the number of clients). Returns
 * 0 to admit, else the seconds to wait. */
static unsigned rate_check(serve_server *s, const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	rl_slot *e = &s->rl[h % RL_SLOTS];
	pthread_mutex_t *lk = &s->rl_lock[h % RL_STRIPES];
	double burst = s->cfg.burst ? s->cfg.burst : 2.0 * s->cfg.rate;
	uint64_t t = now_ns();
	unsigned wait = 0;
	pthread_mutex_lock(lk);
	if (!e->used || memcmp(e->key, key, 16)) {
		memcpy(e->key, key, 16);
		e->used = true;
		e->tokens = burst;
		e->last_ns = t;
	}
	e->tokens += (double)(t - e->last_ns) / 1e9 * s->cfg.rate;
	if (e->tokens > burst)
		e->tokens = burst;
	e->last_ns = t;
	if (e->tokens >= 1.0)
		e->tokens -= 1.0;
	else
		wait = (unsigned)((1.0 - e->tokens) / s->cfg.rate) + 1;
	pthread_mutex_unlock(lk);
	return wait;
}

/* ---- MHD callbacks ------------------------------------------------------------ */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	size_t n = strlen(uri);
	size_t keep = n <= SERVE_MAX_TARGET ? n : 0;
	req_ctx *x = malloc(sizeof *x + keep + 1);
	if (!x)
		return NULL;
	x->g = NULL;
	x->seen = false;
	x->body_bytes = 0;
	x->route = SR_NONE;
	x->tlen = n;
	memcpy(x->target, uri, keep);
	x->target[keep] = 0;
	return x;
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	req_ctx *x = *req_cls;
	if (!x)
		return;
	gen_put(x->g);
	free(x);
	*req_cls = NULL;
}

static mhd_ret on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			  const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	serve_server *s = cls;
	req_ctx *x = *req_cls;
	if (!x)
		return MHD_NO;
	if (x->g) {
		*upload_data_size = 0; /* answered already */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		/* Answered at once, without reading a body: the connection closes. */
		x->g = gen_get(s);
		struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Allow", "GET, HEAD");
		MHD_add_response_header(r, "Error-Code", "MethodNotAllowed");
		MHD_add_response_header(r, "Error-Message", "this server is read-only: GET and HEAD only");
		return queue(s, c, x, 405, r);
	}
	/* A GET is answered once the whole request is in (MHD keeps the
	 * connection alive only then); a body, which a GET should not have, is
	 * read and dropped up to a bound. */
	if (!x->seen) {
		x->seen = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		x->body_bytes += *upload_data_size;
		*upload_data_size = 0;
		if (x->body_bytes <= s->cfg.max_request_bytes)
			return MHD_YES;
		x->g = gen_get(s);
		return reply_error(s, c, x, 413, "RequestTooLarge", "a GET with a body larger than the request limit");
	}
	x->g = gen_get(s);
	if (s->cfg.rate) {
		uint8_t key[16];
		client_key(c, key);
		unsigned wait = rate_check(s, key);
		if (wait) {
			struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
			if (!r)
				return MHD_NO;
			char ra[16];
			snprintf(ra, sizeof ra, "%u", wait);
			MHD_add_response_header(r, "Retry-After", ra);
			MHD_add_response_header(r, "Error-Code", "TooManyRequests");
			MHD_add_response_header(r, "Error-Message", "per-client request rate exceeded");
			return queue(s, c, x, 429, r);
		}
	}
	if ((unsigned)MHD_get_connection_values(c, MHD_HEADER_KIND, NULL, NULL) > s->cfg.max_headers)
		return reply_error(s, c, x, 431, "TooManyHeaders", "too many request header fields");

	serve_req q;
	bool parsed = serve_parse_target(x->target, x->tlen, &q);
	x->route = q.route;
	if (!parsed)
		return reply_error(s, c, x, q.status, q.error_code, q.error_msg);
	switch (q.route) {
	case SR_HEALTHZ:
		return do_healthz(s, c, x);
	case SR_METRICS:
		return do_metrics(s, c, x);
	case SR_TCB:
		return do_tcb(s, c, x, &q);
	case SR_IDENTITY:
		return do_identity(s, c, x, &q);
	case SR_EVALNUMS:
		return do_evalnums(s, c, x, &q);
	case SR_PCKCERT:
		return do_pckcert(s, c, x, &q);
	case SR_PCKCERTS:
		return do_pckcerts(s, c, x, &q);
	case SR_PCKCRL:
		return do_pckcrl(s, c, x, &q);
	case SR_FMSPCS:
		return do_fmspcs(s, c, x, &q);
	case SR_ROOTCACRL:
		return do_rootcacrl(s, c, x);
	case SR_CRL_URI:
		return do_crl_uri(s, c, x, &q);
	case SR_AMD_CERT:
		return do_amd_cert(s, c, x, &q);
	case SR_AMD_CHAIN:
		return do_amd_chain(s, c, x, &q);
	case SR_AMD_CRL:
		return do_amd_crl(s, c, x, &q);
	case SR_THIM_AMD:
		return do_thim(s, c, x, &q);
	default:
		return reply_error(s, c, x, 404, "NotFound", "no such resource");
	}
}

/* ---- start and stop --------------------------------------------------------- */

/* "ADDR:PORT" or "[V6ADDR]:PORT" into a socket address. */
static bool parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sl, char *why, size_t whylen)
{
	char host[256];
	const char *port;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host) {
			snprintf(why, whylen, "--listen %s: expected [IPV6]:PORT", spec);
			return false;
		}
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = 0;
		port = end + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof host || strchr(spec, ':') != colon) {
			snprintf(why, whylen, "--listen %s: expected ADDR:PORT (IPv6 as [ADDR]:PORT)", spec);
			return false;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		port = colon + 1;
	}
	uint64_t pn;
	if (!colb_parse_u64(port, &pn) || pn > 65535) {
		snprintf(why, whylen, "--listen %s: bad port '%s'", spec, port);
		return false;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
			*res = NULL;
	int e = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (e || !res) {
		snprintf(why, whylen, "--listen %s: %s", spec, gai_strerror(e));
		return false;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

static bool load_thim_map(serve_server *s, const char *path, char *why, size_t whylen)
{
	uint8_t *text = NULL;
	size_t len = 0;
	if (colb_read_file(path, 4u << 20, &text, &len, why, whylen) != COLB_OK)
		return false;
	s->thim = calloc(MAX_THIM_MAP, sizeof *s->thim);
	if (!s->thim) {
		free(text);
		snprintf(why, whylen, "out of memory");
		return false;
	}
	unsigned lineno = 0;
	char *save = NULL;
	bool ok = true;
	for (char *line = strtok_r((char *)text, "\n", &save); line && ok; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *f[5] = { 0 }, *sv2 = NULL;
		size_t n = 0;
		for (char *t = strtok_r(line, " \t\r", &sv2); t; t = strtok_r(NULL, " \t\r", &sv2))
			if (n < 5)
				f[n++] = t;
			else
				n = 6;
		if (n == 0)
			continue;
		thim_entry *e = &s->thim[s->nthim];
		struct in_addr a4;
		struct in6_addr a6;
		if (n < 3 || n > 4) {
			snprintf(why, whylen, "%s:%u: expected ADDRESS PRODUCT HWID [TCBM]", path, lineno);
			ok = false;
		} else if (s->nthim == MAX_THIM_MAP) {
			snprintf(why, whylen, "%s:%u: more than %d entries", path, lineno, MAX_THIM_MAP);
			ok = false;
		} else if (inet_pton(AF_INET, f[0], &a4) == 1) {
			memset(e->addr, 0, 16);
			e->addr[10] = e->addr[11] = 0xff;
			memcpy(e->addr + 12, &a4, 4);
		} else if (inet_pton(AF_INET6, f[0], &a6) == 1) {
			memcpy(e->addr, &a6, 16);
		} else {
			snprintf(why, whylen, "%s:%u: '%s' is not an IP address", path, lineno, f[0]);
			ok = false;
		}
		if (!ok)
			break;
		e->product = colb_amd_product_from_name(f[1]);
		if (e->product == COLB_AMD_UNKNOWN || colb_amd_chip_id_parse(e->product, f[2], e->chip_id) != COLB_OK) {
			snprintf(why, whylen, "%s:%u: bad product or chip id", path, lineno);
			ok = false;
		} else if (n == 4 && colb_amd_tcbm_parse(f[3], &e->tcbm) != COLB_OK) {
			snprintf(why, whylen, "%s:%u: TCBM must be 16 hex digits", path, lineno);
			ok = false;
		} else {
			e->has_tcbm = n == 4;
			s->nthim++;
		}
	}
	free(text);
	return ok;
}

static bool read_text(const char *path, char **out, char *why, size_t whylen)
{
	uint8_t *d = NULL;
	size_t l = 0;
	if (colb_read_file(path, TLS_FILE_MAX, &d, &l, why, whylen) != COLB_OK)
		return false;
	*out = (char *)d;
	return true;
}

static void free_server(serve_server *s)
{
	if (!s)
		return;
	gen_put(s->cur);
	free(s->path);
	free(s->store);
	if (s->tls_key) {
		explicit_bzero(s->tls_key, strlen(s->tls_key));
		free(s->tls_key);
	}
	free(s->tls_cert);
	free(s->rl);
	free(s->thim);
	for (int i = 0; i < RL_STRIPES; i++)
		pthread_mutex_destroy(&s->rl_lock[i]);
	pthread_mutex_destroy(&s->swap);
	free(s);
}

serve_server *serve_start(const serve_config *cfg, const colb_opts *opts, const char *path, const char *store,
			  char *why, size_t whylen)
{
	serve_server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->opts = opts;
	pthread_mutex_init(&s->swap, NULL);
	for (int i = 0; i < RL_STRIPES; i++)
		pthread_mutex_init(&s->rl_lock[i], NULL);
	s->path = path ? strdup(path) : NULL;
	s->store = store ? strdup(store) : NULL;
	s->rl = calloc(RL_SLOTS, sizeof *s->rl);
	if ((!s->path && !s->store) || !s->rl) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	if (getrandom(&s->rid_prefix, sizeof s->rid_prefix, 0) != (ssize_t)sizeof s->rid_prefix)
		s->rid_prefix = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (cfg->thim_map && !load_thim_map(s, cfg->thim_map, why, whylen))
		goto fail;

	char key[96], w2[1024];
	if (!source_key(s, key, sizeof key, why, whylen))
		goto fail;
	s->cur = gen_open(s, key, w2, sizeof w2);
	if (!s->cur) {
		snprintf(why, whylen, "%s: REFUSED: %s", source_name(s), w2);
		goto fail;
	}
	s->cur->seq = s->seq = 1;

	struct sockaddr_storage ss;
	socklen_t sl;
	if (!parse_listen(cfg->listen, &ss, &sl, why, whylen))
		goto fail;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)&ss;
		flags |= IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	}
	if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL)) {
		snprintf(why, whylen, "--tls-cert and --tls-key go together");
		goto fail;
	}
	if (cfg->tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(why, whylen, "this libmicrohttpd has no TLS support");
			goto fail;
		}
		if (!read_text(cfg->tls_cert, &s->tls_cert, why, whylen) ||
		    !read_text(cfg->tls_key, &s->tls_key, why, whylen))
			goto fail;
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 1),
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_per_client,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_request_bytes,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
				MHD_OPTION_ARRAY, cfg->tls_cert ? tls_opts : &tls_opts[2],
				MHD_OPTION_END);
	if (!s->d) {
		snprintf(why, whylen, "cannot listen on %s (address in use, or not permitted?)", cfg->listen);
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	return s;
fail:
	free_server(s);
	return NULL;
}

unsigned serve_port(const serve_server *s)
{
	return s->port;
}

void serve_stop(serve_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	free_server(s);
}
