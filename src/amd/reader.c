/*
 * reader.c — the AMD getters of an open bundle. On first use the layer
 * indexes the bundle's VCEKs and VLEKs (sorted by product, chip id or
 * provider, and TCB, so a lookup is one binary search); each chain, CRL and
 * certificate is verified the first time it is asked for and the verdict is
 * kept, so a warm lookup is a search and a copy.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amd/amd_priv.h"
#include "bundle/internal.h"
#include "util/util.h"

enum { UNCHECKED = 0, GOOD = 1, REFUSED = 2 };
#define NO_FILE ((size_t)-1)

typedef struct amd_item {
	bool vlek;
	colb_amd_product product;
	uint8_t key[64];             /* VCEK: chip id (hwid zero-extended); VLEK: csp, zero-padded */
	uint64_t tcbm;
	size_t file;
	atomic_int state;
	colb_err err;
	char *why;
	colb_amd_cert cert;          /* when GOOD */
	char *pem, *hwid, *csp, *product_name;
} amd_item;

typedef struct amd_prod {
	size_t chain_file[2];        /* [0] VCEK chain, [1] VLEK chain */
	size_t crl_file;
	atomic_int state[2];
	colb_err err[2];
	char why[2][320];
	amd_chain chain[2];
	bool stale[2];
	atomic_int crl_state;
	colb_err crl_err;
	char crl_why[320];
	amd_crl crl;
	colb_amd_crl crl_out;
	bool present;
} amd_prod;

typedef struct amd_state {
	pthread_mutex_t lock;
	amd_prod prod[4];
	amd_item *items;             /* sorted by (vlek, product, key, tcbm) */
	uint64_t *tcbms;             /* items[i].tcbm, for colb_amd_vcek_tcbs */
	size_t nitems, nvceks;
	colb_amd_product products[3];
	size_t nproducts;
	size_t misfiled;             /* a VCEK filed under a hwid of the wrong length, or NO_FILE */
} amd_state;

/* ---- the index --------------------------------------------------------------- */

static int item_cmp(const void *a, const void *b)
{
	const amd_item *x = a, *y = b;
	if (x->vlek != y->vlek)
		return x->vlek ? 1 : -1;
	if (x->product != y->product)
		return x->product < y->product ? -1 : 1;
	int c = memcmp(x->key, y->key, sizeof x->key);
	if (c)
		return c;
	return x->tcbm < y->tcbm ? -1 : x->tcbm > y->tcbm;
}

static void state_free(void *p)
{
	amd_state *st = p;
	if (!st)
		return;
	for (size_t i = 0; i < st->nitems; i++) {
		amd_item *it = &st->items[i];
		free(it->why);
		free(it->pem);
		free(it->hwid);
		free(it->csp);
		free(it->product_name);
	}
	for (int p2 = 0; p2 < 4; p2++) {
		amd_chain_clear(&st->prod[p2].chain[0]);
		amd_chain_clear(&st->prod[p2].chain[1]);
		amd_crl_clear(&st->prod[p2].crl);
	}
	free(st->items);
	free(st->tcbms);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static colb_err state_init(colb_bundle *b, void **out)
{
	amd_state *st = calloc(1, sizeof *st);
	if (!st)
		return COLB_ERR_NOMEM;
	pthread_mutex_init(&st->lock, NULL);
	st->misfiled = NO_FILE;
	for (int p = 0; p < 4; p++)
		st->prod[p].chain_file[0] = st->prod[p].chain_file[1] = st->prod[p].crl_file = NO_FILE;
	size_t n = colb_bundle_file_count(b), cap = 0;
	for (size_t i = 0; i < n; i++) {
		colb_file_info fi;
		if (colb_bundle_file_at(b, i, &fi) != COLB_OK || !fi.kind)
			continue;
		const colb_meta *meta = colb_bundle_file_meta(b, i);
		colb_amd_product p = colb_amd_product_from_name(colb_meta_str(meta, COLB_META_PRODUCT));
		bool vcek = !strcmp(fi.kind, "vcek"), vlek = !strcmp(fi.kind, "vlek");
		if (!strcmp(fi.kind, "cert_chain") && p) {
			const char *name = colb_meta_str(meta, COLB_META_NAME);
			st->prod[p].chain_file[name && !strcmp(name, "vlek")] = i;
			st->prod[p].present = true;
		} else if (!strcmp(fi.kind, "amd_crl") && p) {
			st->prod[p].crl_file = i;
			st->prod[p].present = true;
		} else if ((vcek || vlek) && p) {
			amd_item it = {.vlek = vlek, .product = p, .file = i};
			const char *tcb = colb_meta_str(meta, COLB_META_TCB);
			const char *id = colb_meta_str(meta, vcek ? COLB_META_HWID : COLB_META_CSP);
			if (!tcb || !id || colb_amd_tcbm_parse(tcb, &it.tcbm) != COLB_OK)
				continue; /* the manifest's vocabulary makes this unreachable */
			if (vcek) {
				size_t hl = strlen(id) / 2;
				if (hl != colb_amd_hwid_len(p) || !colb_hex_decode(id, 2 * hl, it.key, hl)) {
					if (st->misfiled == NO_FILE)
						st->misfiled = i; /* never served; verify_all reports it */
					continue;
				}
				st->nvceks++;
			} else {
				size_t cl = strlen(id);
				memcpy(it.key, id, cl > 64 ? 64 : cl);
			}
			if (st->nitems == cap) {
				cap = cap ? 2 * cap : 256;
				amd_item *grown = realloc(st->items, cap * sizeof *grown);
				if (!grown) {
					state_free(st);
					return COLB_ERR_NOMEM;
				}
				st->items = grown;
			}
			memcpy(&st->items[st->nitems++], &it, sizeof it);
			st->prod[p].present = true;
		}
	}
	if (st->nitems)
		qsort(st->items, st->nitems, sizeof *st->items, item_cmp);
	st->tcbms = malloc((st->nitems ? st->nitems : 1) * sizeof *st->tcbms);
	if (!st->tcbms) {
		state_free(st);
		return COLB_ERR_NOMEM;
	}
	for (size_t i = 0; i < st->nitems; i++)
		st->tcbms[i] = st->items[i].tcbm;
	for (int p = COLB_AMD_MILAN; p <= COLB_AMD_TURIN; p++)
		if (st->prod[p].present)
			st->products[st->nproducts++] = (colb_amd_product)p;
	*out = st;
	return COLB_OK;
}

static colb_err get_state(colb_bundle *b, amd_state **st)
{
	void *p = NULL;
	colb_err rc = colb_bundle_ext(b, COLB_EXT_AMD, state_init, state_free, &p);
	*st = p;
	return rc;
}

/* ---- verification, memoised --------------------------------------------------- */

static bool enforce(colb_bundle *b)
{
	return colb_opts_freshness(colb_bundle_opts(b)) == COLB_FRESHNESS_ENFORCE;
}

static colb_err read_file(colb_bundle *b, size_t i, const uint8_t **data, size_t *len)
{
	return colb_bundle_read_at(b, i, data, len);
}

/* The product's CRL, verified against chain c (called under the lock). */
static colb_err crl_ready(colb_bundle *b, amd_prod *pr, const amd_chain *c)
{
	if (atomic_load(&pr->crl_state) != UNCHECKED)
		return pr->crl_err;
	colb_err rc = COLB_OK;
	if (pr->crl_file != NO_FILE) {
		const uint8_t *d;
		size_t len;
		rc = read_file(b, pr->crl_file, &d, &len);
		if (rc == COLB_OK)
			rc = amd_crl_verify(d, len, c, colb_bundle_time(b), &pr->crl, pr->crl_why,
					    sizeof pr->crl_why);
		else
			snprintf(pr->crl_why, sizeof pr->crl_why, "cannot read the CRL");
		if (rc == COLB_OK) {
			colb_file_info fi;
			if (colb_bundle_file_at(b, pr->crl_file, &fi) == COLB_OK)
				pr->crl_out.path = fi.path;
			pr->crl_out.der = d;
			pr->crl_out.len = len;
			pr->crl_out.product = c->product;
			pr->crl_out.this_update = pr->crl.this_update;
			pr->crl_out.next_update = pr->crl.next_update;
			pr->crl_out.stale = pr->crl.stale;
		}
	}
	pr->crl_err = rc;
	atomic_store(&pr->crl_state, rc ? REFUSED : GOOD);
	return rc;
}

/* Verifies a product's VCEK (vlek 0) or VLEK (vlek 1) chain and its CRL,
 * once; the verdict without touching the handle's error message. */
static colb_err chain_verify(colb_bundle *b, amd_state *st, colb_amd_product p, int vlek)
{
	amd_prod *pr = &st->prod[p];
	int s = atomic_load_explicit(&pr->state[vlek], memory_order_acquire);
	if (s == GOOD)
		return COLB_OK;
	if (s == UNCHECKED) {
		pthread_mutex_lock(&st->lock);
		if (atomic_load(&pr->state[vlek]) == UNCHECKED) {
			const char *pem;
			size_t len;
			colb_err rc = COLB_OK;
			bool builtin = pr->chain_file[vlek] == NO_FILE;
			if (builtin) {
				pem = amd_builtin_chain(p, vlek);
				len = strlen(pem);
			} else {
				const uint8_t *d;
				rc = read_file(b, pr->chain_file[vlek], &d, &len);
				pem = (const char *)d;
			}
			const colb_trust *t = colb_opts_trust(colb_bundle_opts(b));
			if (rc == COLB_OK)
				rc = amd_chain_verify(pem, len, p, vlek, t, colb_bundle_time(b), &pr->chain[vlek],
						      pr->why[vlek], sizeof pr->why[vlek]);
			pr->chain[vlek].builtin = builtin;
			if (rc == COLB_OK) {
				rc = crl_ready(b, pr, &pr->chain[vlek]);
				if (rc)
					memcpy(pr->why[vlek], pr->crl_why, sizeof pr->why[vlek]);
			}
			if (rc == COLB_OK && pr->crl.crl)
				rc = amd_crl_check_chain(&pr->crl, &pr->chain[vlek], pr->why[vlek],
							 sizeof pr->why[vlek]);
			if (rc == COLB_OK) {
				pr->stale[vlek] = !pr->crl.crl || pr->crl.stale;
				if (pr->stale[vlek] && enforce(b)) {
					rc = COLB_ERR_STALE;
					snprintf(pr->why[vlek], sizeof pr->why[vlek],
						 pr->crl.crl ? "the %s CRL is past its nextUpdate"
							     : "the bundle has no %s CRL",
						 colb_amd_product_name(p));
				}
			}
			if (rc)
				amd_chain_clear(&pr->chain[vlek]);
			pr->err[vlek] = rc;
			atomic_store_explicit(&pr->state[vlek], rc ? REFUSED : GOOD, memory_order_release);
		}
		pthread_mutex_unlock(&st->lock);
		if (atomic_load(&pr->state[vlek]) == GOOD)
			return COLB_OK;
	}
	return pr->err[vlek];
}

static colb_err chain_fail(colb_bundle *b, amd_state *st, colb_amd_product p, int vlek)
{
	amd_prod *pr = &st->prod[p];
	return colb_bundle_fail(b, pr->err[vlek], "AMD %s %s chain: %s", colb_amd_product_name(p),
				vlek ? "VLEK" : "VCEK", pr->why[vlek]);
}

static colb_err chain_ready(colb_bundle *b, amd_state *st, colb_amd_product p, int vlek)
{
	colb_err rc = chain_verify(b, st, p, vlek);
	return rc ? chain_fail(b, st, p, vlek) : COLB_OK;
}

/* Verifies one item into `res` (its why, cert and owned strings); `it`
 * itself is only read, so this runs without the lock. */
static colb_err item_check(colb_bundle *b, amd_state *st, const amd_item *it, amd_item *res)
{
	amd_prod *pr = &st->prod[it->product];
	const amd_chain *c = &pr->chain[it->vlek];
	const uint8_t *d;
	size_t len;
	char why[320] = "";
	colb_file_info fi = {0};
	colb_err rc = read_file(b, it->file, &d, &len);
	if (rc) {
		snprintf(why, sizeof why, "cannot read it");
		goto done;
	}
	if (colb_bundle_file_at(b, it->file, &fi) != COLB_OK)
		fi.path = NULL;
	amd_endorsement e;
	rc = amd_endorsement_verify(d, len, c, colb_bundle_time(b), &e, why, sizeof why);
	if (rc)
		goto done;
	if (it->vlek ? strncmp(e.ext.csp, (const char *)it->key, 64) != 0 : memcmp(e.chip_id, it->key, 64) != 0) {
		rc = COLB_ERR_MISFILED;
		snprintf(why, sizeof why, "its %s is %s, not the one it is filed under", it->vlek ? "csp_id" : "hwid",
			 it->vlek ? e.ext.csp : e.hwid_hex);
		goto done;
	}
	if (e.tcbm != it->tcbm) {
		rc = COLB_ERR_MISFILED;
		snprintf(why, sizeof why, "its TCB extensions say %016llx, it is filed under %016llx",
			 (unsigned long long)e.tcbm, (unsigned long long)it->tcbm);
		goto done;
	}
	size_t pem_len;
	res->pem = amd_der_to_pem(d, len, &pem_len);
	res->product_name = strdup(e.ext.product_name);
	if (it->vlek)
		res->csp = strdup(e.ext.csp);
	else
		res->hwid = strdup(e.hwid_hex);
	if (!res->pem || !res->product_name || (it->vlek ? !res->csp : !res->hwid)) {
		rc = COLB_ERR_NOMEM;
		goto done;
	}
	colb_amd_cert *o = &res->cert;
	o->der = d;
	o->der_len = len;
	o->pem = res->pem;
	o->pem_len = pem_len;
	o->chain_pem = c->pem;
	o->chain_pem_len = c->pem_len;
	o->ask_der = c->ask_der;
	o->ask_der_len = c->ask_der_len;
	o->ark_der = c->ark_der;
	o->ark_der_len = c->ark_der_len;
	o->path = fi.path;
	o->product = it->product;
	o->is_vlek = it->vlek;
	o->tcbm = e.tcbm;
	o->tcb = e.tcb;
	memcpy(o->chip_id, e.chip_id, 64);
	o->hwid = res->hwid;
	o->csp = res->csp;
	o->product_name = res->product_name;
	o->struct_version = e.ext.struct_version;
	o->not_before = e.not_before;
	o->not_after = e.not_after;
	o->stale = pr->stale[it->vlek];
done:
	if (rc) {
		char what[640];
		snprintf(what, sizeof what, "%s: %s", fi.path ? fi.path : "AMD item", why);
		res->why = strdup(what);
	}
	return rc;
}

static void res_free(amd_item *res)
{
	free(res->why);
	free(res->pem);
	free(res->hwid);
	free(res->csp);
	free(res->product_name);
}

/* The item's verdict, verified once (the signature checks run outside the
 * lock, so threads verify different items in parallel; the first verdict
 * published wins). Does not touch the handle's error message. */
static colb_err item_verify(colb_bundle *b, amd_state *st, amd_item *it)
{
	int s = atomic_load_explicit(&it->state, memory_order_acquire);
	if (s == GOOD)
		return COLB_OK;
	if (s == REFUSED)
		return it->err;
	colb_err rc = chain_verify(b, st, it->product, it->vlek);
	if (rc)
		return rc;
	amd_item res;
	memset(&res, 0, sizeof res);
	colb_err err = item_check(b, st, it, &res);
	pthread_mutex_lock(&st->lock);
	if (atomic_load(&it->state) == UNCHECKED) {
		it->err = err;
		it->why = res.why;
		it->cert = res.cert;
		it->pem = res.pem;
		it->hwid = res.hwid;
		it->csp = res.csp;
		it->product_name = res.product_name;
		memset(&res, 0, sizeof res);
		atomic_store_explicit(&it->state, err ? REFUSED : GOOD, memory_order_release);
	}
	pthread_mutex_unlock(&st->lock);
	res_free(&res);
	return atomic_load(&it->state) == GOOD ? COLB_OK : it->err;
}

/* The verified item, or the (memoised) reason it is refused, on the handle. */
static colb_err item_ready(colb_bundle *b, amd_state *st, amd_item *it)
{
	colb_err rc = item_verify(b, st, it);
	if (rc == COLB_OK)
		return COLB_OK;
	if (atomic_load(&it->state) != REFUSED) /* the chain refused it */
		return chain_fail(b, st, it->product, it->vlek);
	return colb_bundle_fail(b, it->err, "%s", it->why ? it->why : "AMD item refused");
}

/* ---- lookups ------------------------------------------------------------------------ */

/* First index whose (vlek, product, key) is >= the probe's, tcbm from 0. */
static size_t lower_bound(const amd_state *st, bool vlek, colb_amd_product p, const uint8_t key[64])
{
	amd_item probe = {.vlek = vlek, .product = p, .tcbm = 0};
	memcpy(probe.key, key, 64);
	size_t lo = 0, hi = st->nitems;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (item_cmp(&st->items[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool same_key(const amd_item *it, bool vlek, colb_amd_product p, const uint8_t key[64])
{
	return it->vlek == vlek && it->product == p && !memcmp(it->key, key, 64);
}

/* The lookup key of a chip: its hwid's significant bytes, zero-extended. */
static colb_err chip_key(colb_bundle *b, colb_amd_product p, const uint8_t chip_id[64], uint8_t key[64])
{
	size_t n = colb_amd_hwid_len(p);
	if (!n || !chip_id)
		return colb_bundle_fail(b, COLB_ERR_INVALID_ARG, "AMD: unknown product or no chip id");
	memset(key, 0, 64);
	memcpy(key, chip_id, n);
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any |= key[i] != 0;
	if (!any)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND,
					"AMD: the chip id is masked (all zero): no VCEK exists for it");
	return COLB_OK;
}

colb_err colb_amd_vcek(colb_bundle *b, colb_amd_product p, const uint8_t chip_id[64], uint64_t tcbm,
		       colb_amd_cert *out)
{
	amd_state *st;
	uint8_t key[64];
	if (!b || !out)
		return COLB_ERR_INVALID_ARG;
	colb_err rc = get_state(b, &st);
	if (!rc)
		rc = chip_key(b, p, chip_id, key);
	if (rc)
		return rc;
	size_t i = lower_bound(st, false, p, key);
	for (; i < st->nitems && same_key(&st->items[i], false, p, key); i++) {
		if (st->items[i].tcbm != tcbm)
			continue;
		rc = item_ready(b, st, &st->items[i]);
		if (rc == COLB_OK)
			*out = st->items[i].cert;
		return rc;
	}
	char hw[129] = "", t[17];
	colb_hex_encode(key, colb_amd_hwid_len(p), hw, false);
	colb_amd_tcbm_hex(tcbm, t);
	return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "AMD: no %s VCEK for chip %s at TCB %s",
				colb_amd_product_name(p), hw, t);
}

colb_err colb_amd_vcek_tcbs(colb_bundle *b, colb_amd_product p, const uint8_t chip_id[64], const uint64_t **list,
			    size_t *n)
{
	amd_state *st;
	uint8_t key[64];
	if (!b || !list || !n)
		return COLB_ERR_INVALID_ARG;
	colb_err rc = get_state(b, &st);
	if (!rc)
		rc = chip_key(b, p, chip_id, key);
	if (rc)
		return rc;
	size_t first = lower_bound(st, false, p, key), last = first;
	while (last < st->nitems && same_key(&st->items[last], false, p, key))
		last++;
	*list = st->tcbms + first;
	*n = last - first;
	return COLB_OK;
}

colb_err colb_amd_vlek(colb_bundle *b, colb_amd_product p, const char *csp, uint64_t tcbm, colb_amd_cert *out)
{
	amd_state *st;
	uint8_t key[64] = {0};
	if (!b || !out || !csp || !*csp || strlen(csp) > 64 || !colb_amd_product_name(p))
		return COLB_ERR_INVALID_ARG;
	colb_err rc = get_state(b, &st);
	if (rc)
		return rc;
	memcpy(key, csp, strlen(csp));
	size_t first = lower_bound(st, true, p, key), last = first;
	while (last < st->nitems && same_key(&st->items[last], true, p, key))
		last++;
	for (size_t i = first; i < last; i++) {
		if (tcbm ? st->items[i].tcbm != tcbm : i != last - 1)
			continue;
		rc = item_ready(b, st, &st->items[i]);
		if (rc == COLB_OK)
			*out = st->items[i].cert;
		return rc;
	}
	return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "AMD: no %s VLEK for provider '%s'%s",
				colb_amd_product_name(p), csp, tcbm ? " at that TCB" : "");
}

colb_err colb_amd_for_report(colb_bundle *b, const uint8_t *report, size_t len, colb_amd_product p,
			     colb_amd_cert *out)
{
	colb_amd_report r;
	amd_state *st;
	if (!b || !report || !out)
		return COLB_ERR_INVALID_ARG;
	colb_err rc = colb_amd_report_parse(report, len, &r);
	if (rc)
		return colb_bundle_fail(b, rc, "AMD: not an SNP attestation report (%zu bytes; version, "
					       "signature algorithm or signing key field invalid)", len);
	colb_amd_product prod = r.product ? r.product : p;
	if (!prod)
		return colb_bundle_fail(b, COLB_ERR_INVALID_ARG,
					"AMD: the report (version %u, CPUID family %#x model %#x) does not "
					"name a known product: give the product",
					r.version, r.cpuid_family, r.cpuid_model);
	if (r.product && p && r.product != p)
		return colb_bundle_fail(b, COLB_ERR_INVALID_ARG, "AMD: the report is from a %s, not a %s",
					colb_amd_product_name(r.product), colb_amd_product_name(p));
	if (r.signer == COLB_AMD_SIGNER_VCEK) {
		rc = colb_amd_vcek(b, prod, r.chip_id, r.reported_tcb, out);
		if (rc)
			return rc;
		rc = colb_amd_report_verify(report, len, out->der, out->der_len);
		if (rc)
			return colb_bundle_fail(b, COLB_ERR_COLLATERAL_SIG,
						"AMD: the report's signature does not verify with the VCEK %s",
						out->path);
		return COLB_OK;
	}
	if (r.signer != COLB_AMD_SIGNER_VLEK)
		return colb_bundle_fail(b, COLB_ERR_COLLATERAL, "AMD: the report is not signed (SIGNING_KEY 7)");
	if ((rc = get_state(b, &st)))
		return rc;
	bool found = false;
	for (size_t i = 0; i < st->nitems; i++) {
		amd_item *it = &st->items[i];
		if (!it->vlek || it->product != prod || it->tcbm != r.reported_tcb)
			continue;
		found = true;
		if (item_ready(b, st, it) != COLB_OK)
			continue;
		if (colb_amd_report_verify(report, len, it->cert.der, it->cert.der_len) == COLB_OK) {
			*out = it->cert;
			return COLB_OK;
		}
	}
	char t[17];
	colb_amd_tcbm_hex(r.reported_tcb, t);
	return colb_bundle_fail(b, found ? COLB_ERR_COLLATERAL_SIG : COLB_ERR_NOT_FOUND,
				found ? "AMD: no %s VLEK at TCB %s verifies the report's signature"
				      : "AMD: no %s VLEK at TCB %s",
				colb_amd_product_name(prod), t);
}

colb_err colb_amd_chain_get(colb_bundle *b, colb_amd_product p, int vlek, colb_amd_chain *out)
{
	amd_state *st;
	if (!b || !out || !colb_amd_product_name(p))
		return COLB_ERR_INVALID_ARG;
	colb_err rc = get_state(b, &st);
	if (rc)
		return rc;
	vlek = vlek ? 1 : 0;
	amd_prod *pr = &st->prod[p];
	if (!pr->present)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "AMD: the bundle carries nothing for %s",
					colb_amd_product_name(p));
	if ((rc = chain_ready(b, st, p, vlek)))
		return rc;
	const amd_chain *c = &pr->chain[vlek];
	memset(out, 0, sizeof *out);
	out->pem = c->pem;
	out->pem_len = c->pem_len;
	out->ask_der = c->ask_der;
	out->ask_der_len = c->ask_der_len;
	out->ark_der = c->ark_der;
	out->ark_der_len = c->ark_der_len;
	out->product = p;
	out->vlek = vlek;
	out->stale = pr->stale[vlek];
	colb_file_info fi;
	if (pr->chain_file[vlek] != NO_FILE && colb_bundle_file_at(b, pr->chain_file[vlek], &fi) == COLB_OK)
		out->path = fi.path;
	return COLB_OK;
}

colb_err colb_amd_crl_get(colb_bundle *b, colb_amd_product p, colb_amd_crl *out)
{
	amd_state *st;
	if (!b || !out || !colb_amd_product_name(p))
		return COLB_ERR_INVALID_ARG;
	colb_err rc = get_state(b, &st);
	if (rc)
		return rc;
	amd_prod *pr = &st->prod[p];
	if (pr->crl_file == NO_FILE)
		return colb_bundle_fail(b, COLB_ERR_NOT_FOUND, "AMD: the bundle has no %s CRL",
					colb_amd_product_name(p));
	/* The CRL is verified with the VCEK chain's ARK. */
	rc = chain_ready(b, st, p, 0);
	if (rc && atomic_load(&pr->crl_state) != GOOD)
		return rc;
	if (pr->crl.stale && enforce(b))
		return colb_bundle_fail(b, COLB_ERR_STALE, "AMD: the %s CRL is past its nextUpdate",
					colb_amd_product_name(p));
	*out = pr->crl_out;
	return COLB_OK;
}

colb_err colb_amd_products(colb_bundle *b, const colb_amd_product **list, size_t *n)
{
	amd_state *st;
	if (!b || !list || !n)
		return COLB_ERR_INVALID_ARG;
	colb_err rc = get_state(b, &st);
	if (rc)
		return rc;
	*list = st->products;
	*n = st->nproducts;
	return COLB_OK;
}

size_t colb_amd_vcek_count(colb_bundle *b)
{
	amd_state *st;
	if (!b || get_state(b, &st) != COLB_OK)
		return 0;
	return st->nvceks;
}

typedef struct verify_job {
	colb_bundle *b;
	amd_state *st;
	atomic_size_t next;
} verify_job;

static void *verify_worker(void *arg)
{
	verify_job *j = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->st->nitems)
			return NULL;
		(void)item_verify(j->b, j->st, &j->st->items[i]);
	}
}

colb_err colb_amd_verify_all(colb_bundle *b)
{
	amd_state *st;
	if (!b)
		return COLB_ERR_INVALID_ARG;
	colb_err rc = get_state(b, &st);
	if (rc)
		return rc;
	colb_file_info fi;
	if (st->misfiled != NO_FILE && colb_bundle_file_at(b, st->misfiled, &fi) == COLB_OK)
		return colb_bundle_fail(b, COLB_ERR_MISFILED, "%s: the hwid it is filed under has the wrong "
							      "length for its product", fi.path);
	for (size_t k = 0; k < st->nproducts; k++) {
		colb_amd_product p = st->products[k];
		for (int vlek = 0; vlek < 2; vlek++) {
			bool needed = st->prod[p].chain_file[vlek] != NO_FILE || (!vlek && st->prod[p].crl_file != NO_FILE);
			for (size_t i = 0; !needed && i < st->nitems; i++)
				needed = st->items[i].product == p && st->items[i].vlek == vlek;
			if (needed && (rc = chain_ready(b, st, p, vlek)))
				return rc;
		}
	}
	/* Every certificate's signature: spread over the online CPUs. */
	verify_job job = {.b = b, .st = st};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu > 1 ? (size_t)ncpu : 1;
	if (nthreads > 8)
		nthreads = 8;
	if (nthreads > st->nitems / 64 + 1)
		nthreads = st->nitems / 64 + 1;
	pthread_t th[8];
	size_t started = 0;
	for (size_t k = 1; k < nthreads; k++)
		if (pthread_create(&th[started], NULL, verify_worker, &job) == 0)
			started++;
	verify_worker(&job);
	for (size_t k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	/* the first refused item, in index order, names the failure */
	for (size_t i = 0; i < st->nitems; i++)
		if ((rc = item_ready(b, st, &st->items[i])))
			return rc;
	return COLB_OK;
}

colb_err colb_amd_export_trustee(colb_bundle *b, const char *dir, size_t *written)
{
	amd_state *st;
	if (!b || !dir)
		return COLB_ERR_INVALID_ARG;
	if (written)
		*written = 0;
	colb_err rc = get_state(b, &st);
	if (rc)
		return rc;
	for (size_t i = 0; i < st->nitems; i++) {
		amd_item *it = &st->items[i];
		if (it->vlek)
			continue;
		if ((rc = item_ready(b, st, it)))
			return rc;
		char name[64], path[PATH_MAX], err[256];
		amd_trustee_name(it->product, &it->cert.tcb, name);
		if (snprintf(path, sizeof path, "%s/vcek/%s", dir, it->hwid) >= (int)sizeof path)
			return colb_bundle_fail(b, COLB_ERR_INVALID_ARG, "export: path too long");
		if ((rc = colb_mkdirs(path, 0755)))
			return colb_bundle_fail(b, rc, "export: cannot create %s: %s", path, strerror(errno));
		size_t n = strlen(path);
		snprintf(path + n, sizeof path - n, "/%s", name);
		rc = colb_write_file_atomic(path, it->cert.der, it->cert.der_len, 0644, err, sizeof err);
		if (rc)
			return colb_bundle_fail(b, rc, "export: %s", err);
		if (written)
			(*written)++;
	}
	return COLB_OK;
}
