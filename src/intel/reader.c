/*
 * reader.c — the Intel side of an open bundle: an index of the Intel files
 * (built once per bundle from the manifest's meta), lazy verification of
 * each item on first use with the verdict memoised, the TCB baseline, and
 * the public colb_intel_* getters and PCK cert selection.
 *
 * Concurrency: the index is built under the bundle's lock (colb_bundle_ext);
 * an item is verified under this layer's lock and published with a release
 * store, so warm calls take no lock at all.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle/internal.h"
#include "intel/intel_priv.h"
#include "util/util.h"

enum rkind { R_TCBINFO, R_IDENTITY, R_EVALNUMS, R_CRL, R_ROOTCRL };

/* ---- a small string-keyed hash map ---------------------------------------------- */

typedef struct map {
	const char **keys;
	void **vals;
	size_t cap, n;
} map;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static colb_err map_put(map *m, const char *key, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		const char **k = calloc(cap, sizeof *k);
		void **v = calloc(cap, sizeof *v);
		if (!k || !v) {
			free(k);
			free(v);
			return COLB_ERR_NOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = hash_str(m->keys[i]) & (cap - 1);
			while (k[j])
				j = (j + 1) & (cap - 1);
			k[j] = m->keys[i];
			v[j] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = k;
		m->vals = v;
		m->cap = cap;
	}
	size_t j = hash_str(key) & (m->cap - 1);
	while (m->keys[j]) {
		if (!strcmp(m->keys[j], key))
			return COLB_ERR_DUPLICATE_ENTRY;
		j = (j + 1) & (m->cap - 1);
	}
	m->keys[j] = key;
	m->vals[j] = val;
	m->n++;
	return COLB_OK;
}

static void *map_get(const map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t j = hash_str(key) & (m->cap - 1);
	while (m->keys[j]) {
		if (!strcmp(m->keys[j], key))
			return m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

static void map_free(map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- the index ------------------------------------------------------------------------ */

typedef struct rchain {
	size_t file;
	const char *path;
	atomic_int state;      /* 0 unknown, 1 good, else -colb_err */
	char why[200];
	intel_chain chain;
} rchain;

typedef struct ritem {
	char key[48];
	enum rkind kind;
	size_t file;
	const char *path;
	colb_intel_tee tee;
	colb_intel_identity ident;
	colb_intel_ca ca;
	uint32_t eval;
	char fmspc[13];
	rchain *chain;
	atomic_int state;
	char why[200];
	const uint8_t *data;
	size_t len;
	time_t issue, next;
	intel_tcbinfo ti;      /* R_TCBINFO */
	X509_CRL *crl;         /* R_CRL, R_ROOTCRL */
} ritem;

typedef struct rcert {
	intel_tcb tcb;
	char tcbm[37];
	char *pem;
	size_t pem_len;
	bool revoked;
} rcert;

typedef struct rplat {
	char key[38];          /* QEID-PCEID */
	size_t file;
	const char *path;
	char fmspc[13];
	uint8_t fmspc_raw[6];
	colb_intel_ca ca;
	char ppid_sha[65];
	rchain *chain;
	atomic_int state;
	char why[200];
	const uint8_t *data;
	size_t len;
	rcert *certs;
	size_t ncerts;
	intel_tcb *tcbs;       /* certs' TCBs, for selection (NULL cert: unusable) */
	size_t *tcb_cert;      /* tcbs[i] belongs to certs[tcb_cert[i]] */
	size_t ntcbs;
	bool crl_stale;
} rplat;

typedef struct intel_state {
	colb_bundle *b;
	pthread_mutex_t lock;
	ritem *items;
	size_t nitems;
	rchain *chains;
	size_t nchains;
	rplat *plats;
	size_t nplats;
	map m_items, m_chains, m_plats, m_ppid;
	/* baseline */
	int policy_kind;
	uint32_t policy_num, min_eval;
	const json_t *sets;
	bool site_set;
	int site_kind;
	uint32_t site_num;
	/* what is carried */
	const char **fmspcs[2];
	size_t nfmspcs[2];
	uint32_t *evals[2];
	size_t nevals[2];
} intel_state;

static void state_free(void *p)
{
	intel_state *s = p;
	if (!s)
		return;
	for (size_t i = 0; i < s->nitems; i++) {
		intel_tcbinfo_free(&s->items[i].ti);
		X509_CRL_free(s->items[i].crl);
	}
	for (size_t i = 0; i < s->nchains; i++)
		intel_chain_free(&s->chains[i].chain);
	for (size_t i = 0; i < s->nplats; i++) {
		for (size_t k = 0; k < s->plats[i].ncerts; k++)
			free(s->plats[i].certs[k].pem);
		free(s->plats[i].certs);
		free(s->plats[i].tcbs);
		free(s->plats[i].tcb_cert);
	}
	free(s->items);
	free(s->chains);
	free(s->plats);
	map_free(&s->m_items);
	map_free(&s->m_chains);
	map_free(&s->m_plats);
	map_free(&s->m_ppid);
	for (int t = 0; t < 2; t++) {
		free(s->fmspcs[t]);
		free(s->evals[t]);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}


static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void add_u32(uint32_t *list, size_t *n, uint32_t v)
{
	for (size_t i = 0; i < *n; i++)
		if (list[i] == v)
			return;
	list[(*n)++] = v;
}

static void add_fmspc(const char **list, size_t *n, const char *f)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(list[i], f))
			return;
	list[(*n)++] = f;
}

static colb_err parse_baseline(intel_state *s)
{
	const json_t *bl = json_object_get(colb_bundle_baseline(s->b), "intel");
	s->policy_kind = 0;
	if (!bl)
		return COLB_OK;
	json_t *p = json_object_get(bl, "policy");
	if (json_is_integer(p) && json_integer_value(p) > 0 && json_integer_value(p) <= UINT32_MAX) {
		s->policy_kind = 2;
		s->policy_num = (uint32_t)json_integer_value(p);
	} else if (json_is_string(p) && intel_parse_baseline_spec(json_string_value(p), &s->policy_kind, &s->policy_num) &&
		   s->policy_kind != 2) {
		/* standard / early */
	} else if (p) {
		return colb_bundle_fail(s->b, COLB_ERR_BASELINE, "baseline: intel.policy is not standard, early or a number");
	}
	json_t *m = json_object_get(bl, "min_eval");
	if (m) {
		if (!json_is_integer(m) || json_integer_value(m) < 0 || json_integer_value(m) > UINT32_MAX)
			return colb_bundle_fail(s->b, COLB_ERR_BASELINE, "baseline: intel.min_eval is not a number");
		s->min_eval = (uint32_t)json_integer_value(m);
	}
	s->sets = json_object_get(bl, "sets");
	return COLB_OK;
}

static colb_err state_init(colb_bundle *b, void **out)
{
	intel_state *s = calloc(1, sizeof *s);
	if (!s)
		return COLB_ERR_NOMEM;
	s->b = b;
	pthread_mutex_init(&s->lock, NULL);
	size_t nf = colb_bundle_file_count(b);
	s->items = calloc(nf ? nf : 1, sizeof *s->items);
	s->chains = calloc(nf ? nf : 1, sizeof *s->chains);
	s->plats = calloc(nf ? nf : 1, sizeof *s->plats);
	for (int t = 0; t < 2; t++) {
		s->fmspcs[t] = calloc(nf ? nf : 1, sizeof(char *));
		s->evals[t] = calloc(nf ? nf : 1, sizeof(uint32_t));
	}
	colb_err rc = COLB_ERR_NOMEM;
	if (!s->items || !s->chains || !s->plats || !s->fmspcs[0] || !s->fmspcs[1] || !s->evals[0] || !s->evals[1])
		goto fail;
	/* Chains first, so entries can point at them. */
	for (size_t i = 0; i < nf; i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(b, i, &fi) != COLB_OK || strcmp(fi.kind, "issuer_chain") != 0 ||
		    strncmp(fi.path, "intel/", 6) != 0)
			continue;
		rchain *c = &s->chains[s->nchains++];
		c->file = i;
		c->path = fi.path;
		if ((rc = map_put(&s->m_chains, c->path, c)) != COLB_OK)
			goto fail;
	}
	for (size_t i = 0; i < nf; i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(b, i, &fi) != COLB_OK || strncmp(fi.path, "intel/", 6) != 0)
			continue;
		const colb_meta *meta = colb_bundle_file_meta(b, i);
		const char *chain = colb_meta_str(meta, COLB_META_CHAIN);
		rchain *rc_chain = chain ? map_get(&s->m_chains, chain) : NULL;
		if (chain && !rc_chain) {
			rc = colb_bundle_fail(b, COLB_ERR_MISSING_ENTRY, "%s: its issuer chain %s is not in the bundle",
					      fi.path, chain);
			goto fail;
		}
		if (!strcmp(fi.kind, "pckcerts")) {
			rplat *p = &s->plats[s->nplats++];
			const char *qe = meta->str[COLB_META_QE_ID], *pce = meta->str[COLB_META_PCE_ID],
				   *fm = meta->str[COLB_META_FMSPC], *ca = meta->str[COLB_META_CA],
				   *sha = meta->str[COLB_META_ENC_PPID_SHA256];
			if (!qe || !pce || !fm || !ca || !rc_chain || !colb_hex_decode(fm, 12, p->fmspc_raw, 6)) {
				rc = colb_bundle_fail(b, COLB_ERR_MANIFEST, "%s: pckcerts meta lacks fmspc, ca or chain",
						      fi.path);
				goto fail;
			}
			snprintf(p->key, sizeof p->key, "%s-%s", qe, pce);
			snprintf(p->fmspc, sizeof p->fmspc, "%s", fm);
			p->ca = !strcmp(ca, "platform") ? COLB_INTEL_CA_PLATFORM : COLB_INTEL_CA_PROCESSOR;
			p->file = i;
			p->path = fi.path;
			p->chain = rc_chain;
			if ((rc = map_put(&s->m_plats, p->key, p)) != COLB_OK)
				goto fail;
			if (sha && strlen(sha) == 64) {
				snprintf(p->ppid_sha, sizeof p->ppid_sha, "%s", sha);
				map_put(&s->m_ppid, p->ppid_sha, p); /* a repeated PPID keeps its first platform */
			}
			continue;
		}
		ritem *it = &s->items[s->nitems];
		it->file = i;
		it->path = fi.path;
		it->chain = rc_chain;
		const char *tee = colb_meta_str(meta, COLB_META_TEE);
		it->tee = tee && !strcmp(tee, "tdx") ? COLB_INTEL_TDX : COLB_INTEL_SGX;
		if (meta->eval > UINT32_MAX) {
			rc = colb_bundle_fail(b, COLB_ERR_MANIFEST, "%s: evaluation number %llu is out of range",
					      fi.path, (unsigned long long)meta->eval);
			goto fail;
		}
		it->eval = (uint32_t)meta->eval;
		if (!strcmp(fi.kind, "tcbinfo")) {
			const char *fm = colb_meta_str(meta, COLB_META_FMSPC);
			it->kind = R_TCBINFO;
			snprintf(it->fmspc, sizeof it->fmspc, "%s", fm ? fm : "");
			snprintf(it->key, sizeof it->key, "t/%d/%s/%u", it->tee, it->fmspc, it->eval);
			add_u32(s->evals[it->tee], &s->nevals[it->tee], it->eval);
			add_fmspc(s->fmspcs[it->tee], &s->nfmspcs[it->tee], it->fmspc);
		} else if (!strcmp(fi.kind, "identity")) {
			const char *id = colb_meta_str(meta, COLB_META_IDENTITY);
			it->kind = R_IDENTITY;
			it->ident = !id ? COLB_INTEL_ID_QE
				  : !strcmp(id, "qve") ? COLB_INTEL_ID_QVE
				  : !strcmp(id, "qae") ? COLB_INTEL_ID_QAE
				  : !strcmp(id, "td_qe") ? COLB_INTEL_ID_TD_QE
							 : COLB_INTEL_ID_QE;
			snprintf(it->key, sizeof it->key, "i/%d/%u", it->ident, it->eval);
		} else if (!strcmp(fi.kind, "tcbevalnums")) {
			it->kind = R_EVALNUMS;
			snprintf(it->key, sizeof it->key, "e/%d", it->tee);
		} else if (!strcmp(fi.kind, "crl")) {
			const char *ca = colb_meta_str(meta, COLB_META_CA);
			it->kind = R_CRL;
			it->ca = ca && !strcmp(ca, "platform") ? COLB_INTEL_CA_PLATFORM : COLB_INTEL_CA_PROCESSOR;
			snprintf(it->key, sizeof it->key, "c/%d", it->ca);
		} else if (!strcmp(fi.kind, "rootcacrl")) {
			it->kind = R_ROOTCRL;
			snprintf(it->key, sizeof it->key, "r");
		} else {
			continue; /* chains, fmspcs.json, tcb-sets.json */
		}
		if (it->kind != R_ROOTCRL && !it->chain) {
			rc = colb_bundle_fail(b, COLB_ERR_MANIFEST, "%s: no issuer chain named in its meta", fi.path);
			goto fail;
		}
		if ((rc = map_put(&s->m_items, it->key, it)) != COLB_OK) {
			rc = colb_bundle_fail(b, COLB_ERR_DUPLICATE_ENTRY, "%s: a second item for the same key", fi.path);
			goto fail;
		}
		s->nitems++;
	}
	for (int t = 0; t < 2; t++) {
		qsort(s->evals[t], s->nevals[t], sizeof(uint32_t), cmp_u32);
		qsort(s->fmspcs[t], s->nfmspcs[t], sizeof(char *), cmp_strp);
	}
	if ((rc = parse_baseline(s)) != COLB_OK)
		goto fail;
	*out = s;
	return COLB_OK;
fail:
	state_free(s);
	return rc;
}

static colb_err get_state(colb_bundle *b, intel_state **s)
{
	if (!b)
		return COLB_ERR_INVALID_ARG;
	return colb_bundle_ext(b, COLB_EXT_INTEL, state_init, state_free, (void **)s);
}

/* ---- lazy verification ------------------------------------------------------------------ */

static colb_err failed(colb_bundle *b, atomic_int *state, char *why, size_t whylen, colb_err e, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static colb_err failed(colb_bundle *b, atomic_int *state, char *why, size_t whylen, colb_err e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	atomic_store_explicit(state, -(int)e, memory_order_release);
	return colb_bundle_fail(b, e, "%s", why);
}

/* A memoised verdict, or 0 when not yet known. */
static colb_err verdict(colb_bundle *b, atomic_int *state, const char *why, bool *known)
{
	int v = atomic_load_explicit(state, memory_order_acquire);
	*known = v != 0;
	if (v < 0)
		return colb_bundle_fail(b, (colb_err)-v, "%s", why);
	return COLB_OK;
}

static const char *role_cn(int role)
{
	return role == 0 ? INTEL_TCB_SIGNING_CN : intel_ca_cn(role == 2 ? COLB_INTEL_CA_PLATFORM : COLB_INTEL_CA_PROCESSOR);
}

static colb_err root_crl_locked(intel_state *s, X509_CRL **out);

/* Under s->lock. role: 0 TCB signing, 1 processor CA, 2 platform CA. */
static colb_err verify_chain_locked(intel_state *s, rchain *c, int role)
{
	bool known;
	colb_err rc = verdict(s->b, &c->state, c->why, &known);
	if (known)
		return rc;
	const uint8_t *d;
	size_t n;
	char why[256];
	if ((rc = colb_bundle_read_at(s->b, c->file, &d, &n)) != COLB_OK)
		return rc;
	rc = intel_chain_parse((const char *)d, n, &c->chain, why, sizeof why);
	if (rc)
		return failed(s->b, &c->state, c->why, sizeof c->why, rc, "%s: %s", c->path, why);
	X509_CRL *rcrl = NULL;
	rc = root_crl_locked(s, &rcrl);
	if (rc && rc != COLB_ERR_NOT_FOUND)
		return rc;
	rc = intel_chain_verify(&c->chain, colb_opts_trust(colb_bundle_opts(s->b)), colb_bundle_time(s->b),
				role_cn(role), rcrl, why, sizeof why);
	if (rc)
		return failed(s->b, &c->state, c->why, sizeof c->why, rc, "%s: %s", c->path, why);
	atomic_store_explicit(&c->state, 1, memory_order_release);
	return COLB_OK;
}

/* The root CA CRL, verified against the root of any carried chain that is
 * a trusted Intel root. NOT_FOUND when the bundle carries none. */
static colb_err root_crl_locked(intel_state *s, X509_CRL **out)
{
	*out = NULL;
	ritem *it = map_get(&s->m_items, "r");
	if (!it)
		return COLB_ERR_NOT_FOUND;
	bool known;
	colb_err rc = verdict(s->b, &it->state, it->why, &known);
	if (known) {
		*out = it->crl;
		return rc;
	}
	if ((rc = colb_bundle_read_at(s->b, it->file, &it->data, &it->len)) != COLB_OK)
		return rc;
	char why[256] = "no carried chain ends at a trusted root";
	rc = COLB_ERR_CHAIN;
	for (size_t i = 0; i < s->nchains && rc; i++) {
		const uint8_t *d;
		size_t n;
		intel_chain tmp;
		if (colb_bundle_read_at(s->b, s->chains[i].file, &d, &n) != COLB_OK ||
		    intel_chain_parse((const char *)d, n, &tmp, why, sizeof why) != COLB_OK)
			continue;
		X509 *root = sk_X509_value(tmp.certs, sk_X509_num(tmp.certs) - 1);
		/* The chain check with no leaf CN proves the root is pinned. */
		if (intel_chain_verify(&tmp, colb_opts_trust(colb_bundle_opts(s->b)), colb_bundle_time(s->b), NULL, NULL,
				       why, sizeof why) == COLB_OK)
			rc = intel_crl_parse_verify(it->data, it->len, root, &it->crl, &it->issue, &it->next, why,
						    sizeof why);
		intel_chain_free(&tmp);
	}
	if (rc)
		return failed(s->b, &it->state, it->why, sizeof it->why, rc, "%s: %s", it->path, why);
	atomic_store_explicit(&it->state, 1, memory_order_release);
	*out = it->crl;
	return COLB_OK;
}

static colb_err verify_item_locked(intel_state *s, ritem *it)
{
	bool known;
	colb_err rc = verdict(s->b, &it->state, it->why, &known);
	if (known)
		return rc;
	if (it->kind == R_ROOTCRL) {
		X509_CRL *c;
		return root_crl_locked(s, &c);
	}
	char why[256];
	if ((rc = colb_bundle_read_at(s->b, it->file, &it->data, &it->len)) != COLB_OK)
		return rc;
	int role = it->kind == R_CRL ? 1 + (int)it->ca : 0;
	if ((rc = verify_chain_locked(s, it->chain, role)) != COLB_OK)
		return failed(s->b, &it->state, it->why, sizeof it->why, rc, "%s: %s", it->path, it->chain->why);
	X509 *signer = sk_X509_value(it->chain->chain.certs, 0);
	if (it->kind == R_CRL) {
		rc = intel_crl_parse_verify(it->data, it->len, signer, &it->crl, &it->issue, &it->next, why, sizeof why);
		if (rc)
			return failed(s->b, &it->state, it->why, sizeof it->why, rc, "%s: %s", it->path, why);
		atomic_store_explicit(&it->state, 1, memory_order_release);
		return COLB_OK;
	}
	static const char *const wrapper[] = {"tcbInfo", "enclaveIdentity", "tcbEvaluationDataNumbers"};
	const uint8_t *inner;
	size_t ilen;
	uint8_t sig[64];
	rc = intel_split_signed(it->data, it->len, wrapper[it->kind], &inner, &ilen, sig, why, sizeof why);
	if (rc)
		return failed(s->b, &it->state, it->why, sizeof it->why, rc, "%s: %s", it->path, why);
	if (!intel_verify_raw_sig(signer, inner, ilen, sig))
		return failed(s->b, &it->state, it->why, sizeof it->why, COLB_ERR_COLLATERAL_SIG,
			      "%s: signature does not verify over the exact bytes", it->path);
	uint32_t eval = 0;
	bool misfiled = false;
	if (it->kind == R_TCBINFO) {
		rc = intel_parse_tcbinfo(inner, ilen, &it->ti, why, sizeof why);
		eval = it->ti.eval;
		it->issue = it->ti.issue;
		it->next = it->ti.next;
		misfiled = !rc && (it->ti.tee != it->tee || strcmp(it->ti.fmspc_hex, it->fmspc) != 0);
	} else if (it->kind == R_IDENTITY) {
		intel_identity id;
		rc = intel_parse_identity(inner, ilen, &id, why, sizeof why);
		eval = id.eval;
		it->issue = id.issue;
		it->next = id.next;
		misfiled = !rc && id.kind != it->ident;
	} else {
		intel_evalnums *en = malloc(sizeof *en);
		rc = en ? intel_parse_evalnums(inner, ilen, en, why, sizeof why) : COLB_ERR_NOMEM;
		if (!rc) {
			it->issue = en->issue;
			it->next = en->next;
			misfiled = en->tee != it->tee;
		}
		free(en);
		eval = it->eval;
	}
	if (rc)
		return failed(s->b, &it->state, it->why, sizeof it->why, rc, "%s: %s", it->path, why);
	if (misfiled || eval != it->eval)
		return failed(s->b, &it->state, it->why, sizeof it->why, COLB_ERR_MISFILED,
			      "%s: its content disagrees with where it is filed", it->path);
	atomic_store_explicit(&it->state, 1, memory_order_release);
	return COLB_OK;
}

static colb_err verify_item(intel_state *s, ritem *it)
{
	bool known;
	colb_err rc = verdict(s->b, &it->state, it->why, &known);
	if (known)
		return rc;
	pthread_mutex_lock(&s->lock);
	rc = verify_item_locked(s, it);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static colb_err verify_plat_locked(intel_state *s, rplat *p)
{
	bool known;
	colb_err rc = verdict(s->b, &p->state, p->why, &known);
	if (known)
		return rc;
	char why[256];
	if ((rc = colb_bundle_read_at(s->b, p->file, &p->data, &p->len)) != COLB_OK)
		return rc;
	if ((rc = verify_chain_locked(s, p->chain, 1 + (int)p->ca)) != COLB_OK)
		return failed(s->b, &p->state, p->why, sizeof p->why, rc, "%s: %s", p->path, p->chain->why);
	X509 *issuer = sk_X509_value(p->chain->chain.certs, 0);
	char crlkey[8];
	snprintf(crlkey, sizeof crlkey, "c/%d", p->ca);
	ritem *crl = map_get(&s->m_items, crlkey);
	if (crl && (rc = verify_item_locked(s, crl)) != COLB_OK)
		return failed(s->b, &p->state, p->why, sizeof p->why, rc, "%s: its PCK CRL: %s", p->path, crl->why);
	p->crl_stale = crl && crl->next && crl->next < colb_bundle_time(s->b);
	intel_pck_entry *e = NULL;
	size_t n = 0;
	rc = intel_parse_pckcerts(p->data, p->len, &e, &n, why, sizeof why);
	if (rc)
		return failed(s->b, &p->state, p->why, sizeof p->why, rc, "%s: %s", p->path, why);
	p->certs = calloc(n, sizeof *p->certs);
	p->tcbs = calloc(n, sizeof *p->tcbs);
	p->tcb_cert = calloc(n, sizeof *p->tcb_cert);
	if (!p->certs || !p->tcbs || !p->tcb_cert) {
		intel_pck_entries_free(e, n);
		return COLB_ERR_NOMEM;
	}
	uint8_t pce[2];
	char pcehex[5];
	bool first = true;
	uint8_t ppid[16];
	rc = COLB_OK;
	time_t at = colb_bundle_time(s->b);
	for (size_t i = 0; i < n && !rc; i++) {
		rcert *c = &p->certs[p->ncerts++];
		c->tcb = e[i].tcb;
		memcpy(c->tcbm, e[i].tcbm, sizeof c->tcbm);
		if (!e[i].pem)
			continue;
		BIO *bio = BIO_new_mem_buf(e[i].pem, (int)e[i].pem_len);
		X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		intel_sgxext ext;
		if (!x) {
			rc = COLB_ERR_COLLATERAL;
			snprintf(why, sizeof why, "cert %s is not PEM", e[i].tcbm);
		} else if (X509_check_issued(issuer, x) != X509_V_OK || X509_verify(x, X509_get0_pubkey(issuer)) != 1) {
			rc = COLB_ERR_CHAIN;
			snprintf(why, sizeof why, "cert %s is not signed by its %s", e[i].tcbm, intel_ca_cn(p->ca));
		} else if (X509_cmp_time(X509_get0_notAfter(x), &at) < 0 || X509_cmp_time(X509_get0_notBefore(x), &at) > 0) {
			rc = COLB_ERR_CHAIN;
			snprintf(why, sizeof why, "cert %s is not valid at the verification time", e[i].tcbm);
		} else if ((rc = intel_sgxext_from_cert(x, &ext, why, sizeof why)) != COLB_OK) {
			/* why is set */
		} else if (memcmp(ext.tcb.comp, c->tcb.comp, 16) || ext.tcb.pcesvn != c->tcb.pcesvn ||
			   memcmp(ext.fmspc, p->fmspc_raw, 6) || (!first && (memcmp(pce, ext.pceid, 2) || memcmp(ppid, ext.ppid, 16)))) {
			rc = COLB_ERR_MISFILED;
			snprintf(why, sizeof why, "cert %s: its SGX extension disagrees with the answer", e[i].tcbm);
		} else {
			if (first) {
				memcpy(pce, ext.pceid, 2);
				memcpy(ppid, ext.ppid, 16);
				first = false;
			}
			c->revoked = crl && intel_crl_revokes(crl->crl, x);
			c->pem = e[i].pem;
			c->pem_len = e[i].pem_len;
			e[i].pem = NULL;
			p->tcb_cert[p->ntcbs] = p->ncerts - 1;
			p->tcbs[p->ntcbs++] = c->tcb;
		}
		X509_free(x);
		ERR_clear_error();
	}
	intel_pck_entries_free(e, n);
	if (!rc && !first) {
		colb_hex_encode(pce, 2, pcehex, true);
		if (strcmp(p->key + 33, pcehex) != 0) {
			rc = COLB_ERR_MISFILED;
			snprintf(why, sizeof why, "filed under PCE-ID %s, the certs say %s", p->key + 33, pcehex);
		}
	}
	if (rc)
		return failed(s->b, &p->state, p->why, sizeof p->why, rc, "%s: %s", p->path, why);
	atomic_store_explicit(&p->state, 1, memory_order_release);
	return COLB_OK;
}

static colb_err verify_plat(intel_state *s, rplat *p)
{
	bool known;
	colb_err rc = verdict(s->b, &p->state, p->why, &known);
	if (known)
		return rc;
	pthread_mutex_lock(&s->lock);
	rc = verify_plat_locked(s, p);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- baseline --------------------------------------------------------------------------- */

static uint32_t resolve_with(const intel_state *s, int kind, uint32_t num, colb_intel_tee tee, const char *fmspc)
{
	if (kind == 2)
		return num;
	json_t *t = json_object_get(s->sets, intel_tee_name(tee));
	json_t *f = fmspc ? json_object_get(json_object_get(t, "fmspc"), fmspc) : NULL;
	const char *key = kind == 1 ? "early" : "standard";
	json_t *v = f ? json_object_get(f, key) : NULL;
	if (!json_is_integer(v))
		v = json_object_get(t, key);
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= UINT32_MAX)
		return (uint32_t)json_integer_value(v);
	/* No sets recorded: the highest number carried. */
	return s->nevals[tee] ? s->evals[tee][s->nevals[tee] - 1] : 0;
}

static colb_err resolve(intel_state *s, colb_intel_tee tee, const char *fmspc, uint32_t req, uint32_t *out)
{
	uint32_t e = req;
	if (!e) {
		/* The per-FMSPC overrides of the bundle's policy. */
		int kind = s->site_set ? s->site_kind : s->policy_kind;
		uint32_t num = s->site_set ? s->site_num : s->policy_num;
		e = resolve_with(s, kind, num, tee, fmspc);
	}
	if (!e)
		return colb_bundle_fail(s->b, COLB_ERR_NOT_FOUND, "no %s TCB info in the bundle", intel_tee_name(tee));
	if (s->min_eval && e < s->min_eval)
		return colb_bundle_fail(s->b, COLB_ERR_BELOW_MIN_EVAL,
					"evaluation number %u is below the bundle's minimum %u", e, s->min_eval);
	*out = e;
	return COLB_OK;
}

colb_err colb_intel_set_baseline(colb_bundle *b, const char *spec)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!spec) {
		s->site_set = false;
		return COLB_OK;
	}
	int kind;
	uint32_t num;
	if (!intel_parse_baseline_spec(spec, &kind, &num))
		return colb_bundle_fail(b, COLB_ERR_BASELINE, "baseline '%s' is not standard, early or a number", spec);
	for (int t = 0; t < 2; t++) {
		for (size_t f = 0; f < s->nfmspcs[t]; f++) {
			uint32_t e = resolve_with(s, kind, num, (colb_intel_tee)t, s->fmspcs[t][f]);
			char key[48];
			snprintf(key, sizeof key, "t/%d/%s/%u", t, s->fmspcs[t][f], e);
			if (!map_get(&s->m_items, key))
				return colb_bundle_fail(b, COLB_ERR_BASELINE,
							"baseline %s: the bundle has no %s TCB info at %u for FMSPC %s", spec,
							intel_tee_name((colb_intel_tee)t), e, s->fmspcs[t][f]);
			if (s->min_eval && e < s->min_eval)
				return colb_bundle_fail(b, COLB_ERR_BELOW_MIN_EVAL,
							"baseline %s resolves to %u, below the bundle's minimum %u", spec, e,
							s->min_eval);
		}
	}
	s->site_set = true;
	s->site_kind = kind;
	s->site_num = num;
	return COLB_OK;
}

colb_err colb_intel_baseline_eval(colb_bundle *b, colb_intel_tee tee, const uint8_t *fmspc, uint32_t *eval)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc || !eval || (unsigned)tee > 1)
		return rc ? rc : COLB_ERR_INVALID_ARG;
	char fm[13];
	if (fmspc)
		colb_hex_encode(fmspc, 6, fm, true);
	return resolve(s, tee, fmspc ? fm : NULL, 0, eval);
}

/* ---- getters ------------------------------------------------------------------------------- */

static colb_err fresh(intel_state *s, const char *path, time_t next, int *stale)
{
	*stale = next && next < colb_bundle_time(s->b);
	if (*stale && colb_opts_freshness(colb_bundle_opts(s->b)) == COLB_FRESHNESS_ENFORCE) {
		char t[21];
		colb_time_format(next, t);
		return colb_bundle_fail(s->b, COLB_ERR_STALE, "%s: stale since %s (freshness policy: enforce)", path, t);
	}
	return COLB_OK;
}

static colb_err fill(intel_state *s, ritem *it, colb_intel_item *out)
{
	colb_err rc = verify_item(s, it);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	out->data = it->data;
	out->len = it->len;
	if (it->chain) {
		out->issuer_chain = it->chain->chain.pem;
		out->issuer_chain_len = it->chain->chain.pem_len;
		out->root_pem = it->chain->chain.root_pem;
	} else {
		out->issuer_chain = "";
		out->root_pem = "";
	}
	out->path = it->path;
	out->eval = it->kind == R_CRL || it->kind == R_ROOTCRL || it->kind == R_EVALNUMS ? 0 : it->eval;
	out->issue_date = it->issue;
	out->next_update = it->next;
	out->fmspc = it->kind == R_TCBINFO ? it->fmspc : NULL;
	out->ca_type = it->kind == R_CRL ? intel_ca_name(it->ca) : NULL;
	return fresh(s, it->path, it->next, &out->stale);
}

static ritem *find_tcbinfo(intel_state *s, colb_intel_tee tee, const char *fm, uint32_t e)
{
	char key[48];
	snprintf(key, sizeof key, "t/%d/%s/%u", tee, fm, e);
	return map_get(&s->m_items, key);
}

colb_err colb_intel_tcbinfo(colb_bundle *b, colb_intel_tee tee, const uint8_t fmspc[6], uint32_t eval,
			    colb_intel_item *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!fmspc || !out || (unsigned)tee > 1)
		return COLB_ERR_INVALID_ARG;
	char fm[13];
	colb_hex_encode(fmspc, 6, fm, true);
	uint32_t e;
	if ((rc = resolve(s, tee, fm, eval, &e)) != COLB_OK)
		return rc;
	ritem *it = find_tcbinfo(s, tee, fm, e);
	if (!it)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "no %s TCB info for FMSPC %s at evaluation number %u",
					intel_tee_name(tee), fm, e);
	return fill(s, it, out);
}

colb_err colb_intel_identity_get(colb_bundle *b, colb_intel_identity kind, uint32_t eval, colb_intel_item *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!out || (unsigned)kind > 3)
		return COLB_ERR_INVALID_ARG;
	uint32_t e;
	colb_intel_tee tee = kind == COLB_INTEL_ID_TD_QE ? COLB_INTEL_TDX : COLB_INTEL_SGX;
	if ((rc = resolve(s, tee, NULL, eval, &e)) != COLB_OK)
		return rc;
	char key[48];
	snprintf(key, sizeof key, "i/%d/%u", kind, e);
	ritem *it = map_get(&s->m_items, key);
	if (!it)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "no %s identity at evaluation number %u",
					intel_identity_name(kind), e);
	return fill(s, it, out);
}

colb_err colb_intel_evalnums(colb_bundle *b, colb_intel_tee tee, colb_intel_item *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!out || (unsigned)tee > 1)
		return COLB_ERR_INVALID_ARG;
	ritem *it = map_get(&s->m_items, tee ? "e/1" : "e/0");
	if (!it)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "no %s evaluation-number list", intel_tee_name(tee));
	return fill(s, it, out);
}

colb_err colb_intel_pckcrl(colb_bundle *b, colb_intel_ca ca, colb_intel_item *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!out || (unsigned)ca > 1)
		return COLB_ERR_INVALID_ARG;
	ritem *it = map_get(&s->m_items, ca ? "c/1" : "c/0");
	if (!it)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "no PCK %s CRL", intel_ca_name(ca));
	return fill(s, it, out);
}

colb_err colb_intel_rootcacrl(colb_bundle *b, colb_intel_item *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!out)
		return COLB_ERR_INVALID_ARG;
	ritem *it = map_get(&s->m_items, "r");
	if (!it)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "no root CA CRL");
	pthread_mutex_lock(&s->lock);
	X509_CRL *c;
	rc = root_crl_locked(s, &c);
	pthread_mutex_unlock(&s->lock);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	out->data = it->data;
	out->len = it->len;
	out->issuer_chain = "";
	out->root_pem = "";
	out->path = it->path;
	out->issue_date = it->issue;
	out->next_update = it->next;
	return fresh(s, it->path, it->next, &out->stale);
}

colb_err colb_intel_crl_pem(const uint8_t *der, size_t len, char **pem, size_t *pem_len)
{
	if (!der || !pem || len > INTEL_MAX_BODY)
		return COLB_ERR_INVALID_ARG;
	*pem = NULL;
	const uint8_t *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	BIO *bio = crl ? BIO_new(BIO_s_mem()) : NULL;
	colb_err rc = COLB_ERR_COLLATERAL;
	if (bio && PEM_write_bio_X509_CRL(bio, crl)) {
		char *d;
		long n = BIO_get_mem_data(bio, &d);
		*pem = malloc((size_t)n + 1);
		if (*pem) {
			memcpy(*pem, d, (size_t)n);
			(*pem)[n] = 0;
			if (pem_len)
				*pem_len = (size_t)n;
			rc = COLB_OK;
		} else {
			rc = COLB_ERR_NOMEM;
		}
	}
	BIO_free(bio);
	X509_CRL_free(crl);
	ERR_clear_error();
	return rc;
}

static rplat *find_plat(intel_state *s, const uint8_t qe_id[16], uint16_t pce_id)
{
	char key[40], qe[33];
	uint8_t pce[2] = {(uint8_t)(pce_id & 0xff), (uint8_t)(pce_id >> 8)};
	colb_hex_encode(qe_id, 16, qe, true);
	memcpy(key, qe, 32);
	key[32] = '-';
	colb_hex_encode(pce, 2, key + 33, true);
	return map_get(&s->m_plats, key);
}

colb_err colb_intel_pckcerts(colb_bundle *b, const uint8_t qe_id[16], uint16_t pce_id, colb_intel_item *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!qe_id || !out)
		return COLB_ERR_INVALID_ARG;
	rplat *p = find_plat(s, qe_id, pce_id);
	if (!p)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "no pckcerts for this QE ID and PCE ID");
	if ((rc = verify_plat(s, p)) != COLB_OK)
		return rc;
	memset(out, 0, sizeof *out);
	out->data = p->data;
	out->len = p->len;
	out->issuer_chain = p->chain->chain.pem;
	out->issuer_chain_len = p->chain->chain.pem_len;
	out->root_pem = p->chain->chain.root_pem;
	out->path = p->path;
	out->fmspc = p->fmspc;
	out->ca_type = intel_ca_name(p->ca);
	out->stale = p->crl_stale;
	if (p->crl_stale && colb_opts_freshness(colb_bundle_opts(b)) == COLB_FRESHNESS_ENFORCE)
		return colb_bundle_fail(b, COLB_ERR_STALE, "%s: its PCK CRL is stale (freshness policy: enforce)", p->path);
	return COLB_OK;
}

static colb_err select_in(intel_state *s, rplat *p, const uint8_t cpusvn[16], uint16_t pcesvn, uint32_t eval,
			  colb_intel_pck *out)
{
	colb_err rc = verify_plat(s, p);
	if (rc)
		return rc;
	uint32_t e;
	if ((rc = resolve(s, COLB_INTEL_SGX, p->fmspc, eval, &e)) != COLB_OK)
		return rc;
	ritem *ti = find_tcbinfo(s, COLB_INTEL_SGX, p->fmspc, e);
	if (!ti)
		return colb_bundle_fail(s->b, COLB_ERR_NOT_FOUND, "no SGX TCB info for FMSPC %s at evaluation number %u",
					p->fmspc, e);
	if ((rc = verify_item(s, ti)) != COLB_OK)
		return rc;
	int stale_ti;
	if ((rc = fresh(s, ti->path, ti->next, &stale_ti)) != COLB_OK)
		return rc;
	if (p->crl_stale && colb_opts_freshness(colb_bundle_opts(s->b)) == COLB_FRESHNESS_ENFORCE)
		return colb_bundle_fail(s->b, COLB_ERR_STALE, "%s: its PCK CRL is stale (freshness policy: enforce)",
					p->path);
	intel_tcb raw;
	memcpy(raw.comp, cpusvn, 16);
	raw.pcesvn = pcesvn;
	size_t level;
	int k = intel_select_pck(&raw, ti->ti.levels, ti->ti.nlevels, p->tcbs, p->ntcbs, &level);
	if (k < 0)
		return colb_bundle_fail(s->b, COLB_ERR_NOT_FOUND,
					"%s: no PCK cert at or below the platform's TCB reaches a TCB level of %s",
					p->path, ti->path);
	rcert *c = &p->certs[p->tcb_cert[k]];
	if (c->revoked)
		return colb_bundle_fail(s->b, COLB_ERR_REVOKED, "%s: the PCK cert for TCBm %s is revoked by the PCK %s CRL",
					p->path, c->tcbm, intel_ca_name(p->ca));
	memset(out, 0, sizeof *out);
	out->cert_pem = c->pem;
	out->cert_pem_len = c->pem_len;
	out->issuer_chain = p->chain->chain.pem;
	out->issuer_chain_len = p->chain->chain.pem_len;
	out->tcbm = c->tcbm;
	memcpy(out->cpusvn, c->tcb.comp, 16);
	out->pcesvn = c->tcb.pcesvn;
	out->fmspc = p->fmspc;
	out->ca = p->ca;
	out->ca_type = intel_ca_name(p->ca);
	out->tcb_status = ti->ti.levels[level].status;
	out->eval = e;
	out->stale = stale_ti || p->crl_stale;
	return COLB_OK;
}

colb_err colb_intel_pck_select(colb_bundle *b, const uint8_t qe_id[16], uint16_t pce_id, const uint8_t cpusvn[16],
			       uint16_t pcesvn, uint32_t eval, colb_intel_pck *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!qe_id || !cpusvn || !out)
		return COLB_ERR_INVALID_ARG;
	rplat *p = find_plat(s, qe_id, pce_id);
	if (!p) {
		char qe[33];
		colb_hex_encode(qe_id, 16, qe, true);
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "no pckcerts for platform %s", qe);
	}
	return select_in(s, p, cpusvn, pcesvn, eval, out);
}

colb_err colb_intel_pck_select_by_ppid(colb_bundle *b, const uint8_t *enc_ppid, size_t enc_ppid_len, uint16_t pce_id,
				       const uint8_t cpusvn[16], uint16_t pcesvn, uint32_t eval, colb_intel_pck *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!enc_ppid || !cpusvn || !out || enc_ppid_len != 384)
		return COLB_ERR_INVALID_ARG;
	char sha[65];
	colb_sha256_hex(enc_ppid, enc_ppid_len, sha);
	rplat *p = map_get(&s->m_ppid, sha);
	if (!p || strtoul(p->key + 33, NULL, 16) != (unsigned long)((pce_id & 0xff) << 8 | pce_id >> 8))
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "no platform with this encrypted PPID and PCE ID");
	return select_in(s, p, cpusvn, pcesvn, eval, out);
}

colb_err colb_intel_fmspcs(colb_bundle *b, colb_intel_tee tee, const char *const **list, size_t *n)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!list || !n || (unsigned)tee > 1)
		return COLB_ERR_INVALID_ARG;
	*list = s->fmspcs[tee];
	*n = s->nfmspcs[tee];
	return COLB_OK;
}

colb_err colb_intel_evals(colb_bundle *b, colb_intel_tee tee, const uint32_t **list, size_t *n)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!list || !n || (unsigned)tee > 1)
		return COLB_ERR_INVALID_ARG;
	*list = s->evals[tee];
	*n = s->nevals[tee];
	return COLB_OK;
}

colb_err colb_intel_parse_custom_param(const void *param, size_t len, uint32_t *eval)
{
	if (!eval || (len && !param))
		return COLB_ERR_INVALID_ARG;
	*eval = 0;
	if (!len)
		return COLB_OK;
	if (len > 1024)
		return COLB_ERR_LIMIT;
	char text[1025];
	size_t tlen = 0;
	size_t dlen = 0;
	uint8_t *dec = colb_b64_decode(param, len, &dlen);
	if (dec && dlen <= 1024 && memchr(dec, '=', dlen)) {
		memcpy(text, dec, dlen);
		tlen = dlen;
	} else {
		memcpy(text, param, len);
		tlen = len;
	}
	free(dec);
	text[tlen] = 0;
	if (strlen(text) != tlen)
		return COLB_ERR_INVALID_ARG;
	for (char *kv = text, *next; kv && *kv; kv = next) {
		next = strchr(kv, ';');
		if (next)
			*next++ = 0;
		char *eq = strchr(kv, '=');
		if (!eq)
			return COLB_ERR_INVALID_ARG;
		*eq = 0;
		if (!strcmp(kv, "tcbEvaluationDataNumber")) {
			uint64_t v;
			if (!colb_parse_u64(eq + 1, &v) || v == 0 || v > UINT32_MAX)
				return COLB_ERR_INVALID_ARG;
			*eval = (uint32_t)v;
		}
	}
	return COLB_OK;
}

colb_err colb_intel_freshness(colb_bundle *b, colb_intel_freshness_report *out)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	if (!out)
		return COLB_ERR_INVALID_ARG;
	memset(out, 0, sizeof *out);
	time_t at = colb_bundle_time(b);
	for (size_t i = 0; i < s->nitems; i++) {
		ritem *it = &s->items[i];
		if (it->kind == R_ROOTCRL) {
			X509_CRL *c;
			pthread_mutex_lock(&s->lock);
			rc = root_crl_locked(s, &c);
			pthread_mutex_unlock(&s->lock);
		} else {
			rc = verify_item(s, it);
		}
		if (rc)
			return rc;
		out->items++;
		if (it->next && it->next < at)
			out->stale++;
		if (it->next && (!out->earliest_next_update || it->next < out->earliest_next_update)) {
			out->earliest_next_update = it->next;
			out->earliest_path = it->path;
		}
	}
	return COLB_OK;
}

colb_err colb_intel_verify_all(colb_bundle *b)
{
	intel_state *s;
	colb_err rc = get_state(b, &s);
	if (rc)
		return rc;
	colb_intel_freshness_report r;
	if ((rc = colb_intel_freshness(b, &r)) != COLB_OK)
		return rc;
	for (size_t i = 0; i < s->nplats; i++)
		if ((rc = verify_plat(s, &s->plats[i])) != COLB_OK)
			return rc;
	return COLB_OK;
}
