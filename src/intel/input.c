/*
 * input.c — the Intel inputs of `colbundle create`: the raw PCS v4 layout
 * (--intel-dir), Intel's admin-tool platform_collaterals.json
 * (--import-pccs) and PCK Cert ID CSVs. Every item is validated before it is
 * added to the writer; the first failure stops everything and names the item.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle/internal.h"
#include "intel/intel_priv.h"
#include "util/util.h"

enum item_kind { K_PCKCERTS, K_TCBINFO, K_IDENTITY, K_EVALNUMS, K_CRL, K_ROOTCRL, K_FMSPCS, K_TCBSETS };

typedef struct in_item {
	enum item_kind kind;
	char *src;             /* where it came from, for messages */
	char path[256];        /* payload path */
	uint8_t *data;
	size_t len;
	char *chain;           /* decoded issuer chain PEM, or NULL */
	size_t chain_len;
	/* what the name or the source says it is */
	colb_intel_tee tee;
	char fmspc[13];
	uint32_t eval;         /* 0: take it from the content */
	colb_intel_identity ident;
	colb_intel_ca ca;
	char qe_id[33], pce_id[5];
	char hdr_fmspc[13], hdr_ca[16];
	/* filled by validation */
	char chain_name[80];
	bool stale;
} in_item;

typedef struct ppid_map {
	char key[40];          /* QEID-PCEID */
	char sha[65];          /* SHA-256 of the raw encrypted PPID */
} ppid_map;

typedef struct set_rec {
	bool have;
	uint32_t standard, early;
} set_rec;

struct colb_intel_input {
	const colb_trust *trust;
	time_t at;
	in_item *items;
	size_t n, cap;
	ppid_map *ppids;
	size_t nppid, ppidcap;
	int policy_kind;       /* 0 standard, 1 early, 2 number */
	uint32_t policy_num;
	uint32_t min_eval;
	json_t *tcb_sets;      /* tcb-sets.json as given, or built from a PCCS import */
	size_t *slots;         /* hash set of item indexes + 1, by payload path */
	size_t nslots;
	char err[512];
	size_t stale_count;
};

static colb_err fail(colb_intel_input *in, colb_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static colb_err fail(colb_intel_input *in, colb_err e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(in->err, sizeof in->err, fmt, ap);
	va_end(ap);
	return e;
}

colb_intel_input *colb_intel_input_new(const colb_trust *t, time_t at)
{
	colb_intel_input *in = calloc(1, sizeof *in);
	if (!in)
		return NULL;
	in->trust = t;
	in->at = at ? at : time(NULL);
	return in;
}

void colb_intel_input_free(colb_intel_input *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n; i++) {
		free(in->items[i].src);
		free(in->items[i].data);
		free(in->items[i].chain);
	}
	free(in->items);
	free(in->slots);
	free(in->ppids);
	json_decref(in->tcb_sets);
	free(in);
}

const char *colb_intel_input_error(const colb_intel_input *in) { return in ? in->err : "no input"; }

colb_err colb_intel_input_set_baseline(colb_intel_input *in, const char *spec)
{
	if (!in || !intel_parse_baseline_spec(spec, &in->policy_kind, &in->policy_num))
		return in ? fail(in, COLB_ERR_INVALID_ARG, "--baseline must be standard, early or a number, not '%s'",
				 spec ? spec : "")
			  : COLB_ERR_INVALID_ARG;
	return COLB_OK;
}

void colb_intel_input_set_min_eval(colb_intel_input *in, uint32_t min_eval)
{
	if (in)
		in->min_eval = min_eval;
}

static size_t path_hash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The item already filed under path, or NULL: a hash set over the items'
 * paths keeps large fleets linear. */
static in_item *item_at_path(colb_intel_input *in, const char *path)
{
	if (!in->nslots)
		return NULL;
	for (size_t j = path_hash(path) & (in->nslots - 1); in->slots[j]; j = (j + 1) & (in->nslots - 1))
		if (!strcmp(in->items[in->slots[j] - 1].path, path))
			return &in->items[in->slots[j] - 1];
	return NULL;
}

/* Records the path of item idx (call once its path is set). */
static colb_err index_path(colb_intel_input *in, size_t idx)
{
	if ((in->n + 1) * 2 > in->nslots) {
		size_t ns = in->nslots ? in->nslots * 2 : 1024;
		while (ns < (in->n + 1) * 2)
			ns *= 2;
		size_t *sl = calloc(ns, sizeof *sl);
		if (!sl)
			return COLB_ERR_NOMEM;
		free(in->slots);
		in->slots = sl;
		in->nslots = ns;
		for (size_t i = 0; i < in->n; i++) {
			if (i == idx || !in->items[i].path[0])
				continue;
			size_t j = path_hash(in->items[i].path) & (ns - 1);
			while (sl[j])
				j = (j + 1) & (ns - 1);
			sl[j] = i + 1;
		}
	}
	size_t j = path_hash(in->items[idx].path) & (in->nslots - 1);
	while (in->slots[j])
		j = (j + 1) & (in->nslots - 1);
	in->slots[j] = idx + 1;
	return COLB_OK;
}

static in_item *new_item(colb_intel_input *in, enum item_kind kind, const char *src)
{
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 64;
		in_item *p = realloc(in->items, cap * sizeof *p);
		if (!p)
			return NULL;
		in->items = p;
		in->cap = cap;
	}
	in_item *it = &in->items[in->n];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->src = strdup(src);
	if (!it->src)
		return NULL;
	in->n++;
	return it;
}

static bool upper_hex(const char *s, size_t n)
{
	return strlen(s) == n && colb_is_hex_case(s, n, true);
}

static bool parse_eval_name(const char *name, uint32_t *out)
{
	char num[16];
	size_t n = strlen(name);
	uint64_t v;
	if (n < 6 || n > 15 || strcmp(name + n - 5, ".json") != 0)
		return false;
	memcpy(num, name, n - 5);
	num[n - 5] = 0;
	if (!colb_parse_u64(num, &v) || v == 0 || v > UINT32_MAX || num[0] == '0')
		return false;
	*out = (uint32_t)v;
	return true;
}

/* ---- the raw layout ----------------------------------------------------------- */

/* Reads NAME.hdr beside a body: the issuer-chain header (decoded) and the
 * SGX-FMSPC / SGX-PCK-Certificate-CA-Type headers. */
static colb_err read_hdr(colb_intel_input *in, in_item *it, const char *body_path, const char *const *names)
{
	char path[PATH_MAX], why[256];
	uint8_t *data = NULL;
	size_t len = 0;
	if (snprintf(path, sizeof path, "%s.hdr", body_path) >= (int)sizeof path)
		return fail(in, COLB_ERR_BAD_PATH, "%s: path too long", it->src);
	colb_err rc = colb_read_file(path, 1 << 20, &data, &len, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: no issuer-chain headers (%s)", it->src, why);
	char *s = (char *)data;
	rc = COLB_OK;
	for (char *line = s, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = 0;
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		bool is_chain = false;
		for (const char *const *n = names; *n; n++)
			if (!strcasecmp(line, *n))
				is_chain = true;
		if (is_chain && !it->chain) {
			it->chain = colb_percent_decode(v, strlen(v), &it->chain_len);
			if (!it->chain) {
				rc = fail(in, COLB_ERR_COLLATERAL, "%s: %s header is not valid percent-encoding", it->src, line);
				break;
			}
		} else if (!strcasecmp(line, "SGX-FMSPC")) {
			snprintf(it->hdr_fmspc, sizeof it->hdr_fmspc, "%s", v);
		} else if (!strcasecmp(line, "SGX-PCK-Certificate-CA-Type")) {
			snprintf(it->hdr_ca, sizeof it->hdr_ca, "%s", v);
		}
	}
	free(data);
	if (!rc && !it->chain)
		rc = fail(in, COLB_ERR_COLLATERAL, "%s: %s.hdr carries no %s header", it->src, body_path, names[0]);
	return rc;
}

static const char *const TCB_CHAIN_HDRS[] = {"TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain", NULL};
static const char *const ID_CHAIN_HDRS[] = {"SGX-Enclave-Identity-Issuer-Chain", NULL};
static const char *const EVAL_CHAIN_HDRS[] = {"TCB-Evaluation-Data-Numbers-Issuer-Chain", NULL};
static const char *const PCK_CHAIN_HDRS[] = {"SGX-PCK-Certificate-Issuer-Chain", NULL};
static const char *const CRL_CHAIN_HDRS[] = {"SGX-PCK-CRL-Issuer-Chain", NULL};

/* Files one raw-layout file (rel: relative to the --intel-dir). */
static colb_err add_raw_file(colb_intel_input *in, const char *dir, const char *rel)
{
	char full[PATH_MAX], src[PATH_MAX + 8], why[256];
	if (snprintf(full, sizeof full, "%s/%s", dir, rel) >= (int)sizeof full)
		return fail(in, COLB_ERR_BAD_PATH, "%s/%s: path too long", dir, rel);
	snprintf(src, sizeof src, "%s", full);
	size_t rl = strlen(rel);
	if (rl > 4 && !strcmp(rel + rl - 4, ".hdr"))
		return COLB_OK; /* read with its body */

	char a[64], b[64], c[64], d[64], extra;
	enum item_kind kind;
	const char *const *hdrs = NULL;
	in_item tmp;
	memset(&tmp, 0, sizeof tmp);
	if (sscanf(rel, "sgx/pckcerts/%63[^/]%c", a, &extra) == 1) {
		char qe[33], pce[5];
		if (strlen(a) != 42 || sscanf(a, "%32[0-9A-F]-%4[0-9A-F].json", qe, pce) != 2 || !upper_hex(qe, 32) ||
		    !upper_hex(pce, 4) || strcmp(a + 37, ".json") != 0)
			return fail(in, COLB_ERR_MISFILED, "%s: not named <QEID>-<PCEID>.json (upper-case hex)", src);
		kind = K_PCKCERTS;
		hdrs = PCK_CHAIN_HDRS;
		snprintf(tmp.path, sizeof tmp.path, "intel/pckcerts/%s-%s.json", qe, pce);
		memcpy(tmp.qe_id, qe, 33);
		memcpy(tmp.pce_id, pce, 5);
	} else if (!strcmp(rel, "sgx/pckcrl/processor.der") || !strcmp(rel, "sgx/pckcrl/platform.der")) {
		kind = K_CRL;
		hdrs = CRL_CHAIN_HDRS;
		tmp.ca = strstr(rel, "platform") ? COLB_INTEL_CA_PLATFORM : COLB_INTEL_CA_PROCESSOR;
		snprintf(tmp.path, sizeof tmp.path, "intel/crl/%s.der", intel_ca_name(tmp.ca));
	} else if (sscanf(rel, "%3[a-z]/tcb/%63[^/]/%63[^/]%c", a, b, c, &extra) == 3 &&
		   (!strcmp(a, "sgx") || !strcmp(a, "tdx"))) {
		if (!upper_hex(b, 12) || !parse_eval_name(c, &tmp.eval))
			return fail(in, COLB_ERR_MISFILED, "%s: not named <tee>/tcb/<FMSPC>/<N>.json", src);
		kind = K_TCBINFO;
		hdrs = TCB_CHAIN_HDRS;
		tmp.tee = !strcmp(a, "tdx") ? COLB_INTEL_TDX : COLB_INTEL_SGX;
		memcpy(tmp.fmspc, b, 13);
		snprintf(tmp.path, sizeof tmp.path, "intel/tcbinfo/%s/%s/%u.json", a, b, tmp.eval);
	} else if (sscanf(rel, "%3[a-z]/identity/%63[^/]/%63[^/]%c", a, b, c, &extra) == 3) {
		bool sgx = !strcmp(a, "sgx");
		if ((sgx && strcmp(b, "qe") && strcmp(b, "qve") && strcmp(b, "qae")) ||
		    (!sgx && (strcmp(a, "tdx") || strcmp(b, "td_qe"))) || !parse_eval_name(c, &tmp.eval))
			return fail(in, COLB_ERR_MISFILED, "%s: not a known identity file", src);
		kind = K_IDENTITY;
		hdrs = ID_CHAIN_HDRS;
		tmp.ident = !sgx ? COLB_INTEL_ID_TD_QE
			  : !strcmp(b, "qe") ? COLB_INTEL_ID_QE
			  : !strcmp(b, "qve") ? COLB_INTEL_ID_QVE
					      : COLB_INTEL_ID_QAE;
		snprintf(tmp.path, sizeof tmp.path, "intel/identity/%s/%u.json", b, tmp.eval);
	} else if (!strcmp(rel, "sgx/tcbevaluationdatanumbers.json") || !strcmp(rel, "tdx/tcbevaluationdatanumbers.json")) {
		kind = K_EVALNUMS;
		hdrs = EVAL_CHAIN_HDRS;
		tmp.tee = rel[0] == 't' ? COLB_INTEL_TDX : COLB_INTEL_SGX;
		snprintf(tmp.path, sizeof tmp.path, "intel/tcbevalnums/%s.json", intel_tee_name(tmp.tee));
	} else if (!strcmp(rel, "sgx/fmspcs.json")) {
		kind = K_FMSPCS;
		snprintf(tmp.path, sizeof tmp.path, "intel/fmspcs.json");
	} else if (!strcmp(rel, "rootcacrl.der")) {
		kind = K_ROOTCRL;
		snprintf(tmp.path, sizeof tmp.path, "intel/crl/root.der");
	} else if (!strcmp(rel, "tcb-sets.json")) {
		kind = K_TCBSETS;
		snprintf(tmp.path, sizeof tmp.path, "intel/tcb-sets.json");
	} else {
		(void)d;
		return fail(in, COLB_ERR_MISFILED, "%s: not a file of the Intel raw layout", src);
	}
	in_item *dup = item_at_path(in, tmp.path);
	if (dup)
		return fail(in, COLB_ERR_DUPLICATE_ENTRY, "%s: %s is already given by %s", src, tmp.path, dup->src);
	in_item *it = new_item(in, kind, src);
	if (!it)
		return fail(in, COLB_ERR_NOMEM, "out of memory");
	char *keep = it->src;
	*it = tmp;
	it->kind = kind;
	it->src = keep;
	if (index_path(in, in->n - 1) != COLB_OK)
		return fail(in, COLB_ERR_NOMEM, "out of memory");
	colb_err rc = colb_read_file(full, INTEL_MAX_BODY, &it->data, &it->len, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", src, why);
	if (kind == K_TCBSETS) {
		json_error_t e;
		json_decref(in->tcb_sets);
		in->tcb_sets = json_loadb((const char *)it->data, it->len, JSON_REJECT_DUPLICATES, &e);
		if (!json_is_object(in->tcb_sets))
			return fail(in, COLB_ERR_COLLATERAL, "%s: not a JSON object", src);
	}
	return hdrs ? read_hdr(in, it, full, hdrs) : COLB_OK;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static colb_err walk(colb_intel_input *in, const char *root, const char *rel, int depth)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel);
	if (depth > 5)
		return fail(in, COLB_ERR_MISFILED, "%s: nested too deep for the Intel raw layout", path);
	DIR *d = opendir(path);
	if (!d)
		return fail(in, COLB_ERR_IO, "%s: %s", path, strerror(errno));
	colb_err rc = COLB_OK;
	struct dirent *e;
	/* Sorted order keeps create reproducible and messages stable. */
	char **names = NULL;
	size_t n = 0, cap = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(names, cap * sizeof *p);
			if (!p) {
				rc = COLB_ERR_NOMEM;
				break;
			}
			names = p;
		}
		if (!(names[n] = strdup(e->d_name))) {
			rc = COLB_ERR_NOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_name);
	for (size_t i = 0; i < n && !rc; i++) {
		char sub[PATH_MAX], full[PATH_MAX];
		if (snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", names[i]) >= (int)sizeof sub ||
		    snprintf(full, sizeof full, "%s/%s", root, sub) >= (int)sizeof full) {
			rc = fail(in, COLB_ERR_BAD_PATH, "%s/%s: path too long", path, names[i]);
			break;
		}
		struct stat st;
		if (lstat(full, &st) != 0)
			rc = fail(in, COLB_ERR_IO, "%s: %s", full, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = walk(in, root, sub, depth + 1);
		else if (!S_ISREG(st.st_mode))
			rc = fail(in, COLB_ERR_NOT_REGULAR, "%s: not a regular file", full);
		else
			rc = add_raw_file(in, root, sub);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

colb_err colb_intel_input_add_dir(colb_intel_input *in, const char *dir)
{
	if (!in || !dir)
		return COLB_ERR_INVALID_ARG;
	return walk(in, dir, "", 0);
}

/* ---- PCK Cert ID CSV ------------------------------------------------------------- */

static colb_err add_ppid(colb_intel_input *in, const char *qe_upper, const char *pce_upper, const uint8_t *enc,
			 size_t enc_len)
{
	if (in->nppid == in->ppidcap) {
		size_t cap = in->ppidcap ? in->ppidcap * 2 : 256;
		ppid_map *p = realloc(in->ppids, cap * sizeof *p);
		if (!p)
			return COLB_ERR_NOMEM;
		in->ppids = p;
		in->ppidcap = cap;
	}
	ppid_map *m = &in->ppids[in->nppid++];
	snprintf(m->key, sizeof m->key, "%s-%s", qe_upper, pce_upper);
	colb_sha256_hex(enc, enc_len, m->sha);
	return COLB_OK;
}

static void upcase(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'f')
			*s = (char)(*s - 'a' + 'A');
}

colb_err colb_intel_input_add_pckid_csv(colb_intel_input *in, const char *path)
{
	if (!in || !path)
		return COLB_ERR_INVALID_ARG;
	uint8_t *data;
	size_t len;
	char why[256];
	colb_err rc = colb_read_file(path, 256u << 20, &data, &len, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", path, why);
	size_t lineno = 0;
	for (char *line = (char *)data, *next; line && *line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = 0;
		if (!l)
			continue;
		char *f[6] = {0};
		int nf = 0;
		for (char *p = line; p && nf < 6; nf++) {
			f[nf] = p;
			p = strchr(p, ',');
			if (p)
				*p++ = 0;
		}
		uint8_t enc[384];
		if (nf < 5 || strlen(f[0]) != 768 || !colb_hex_decode(f[0], 768, enc, sizeof enc) ||
		    strlen(f[1]) != 4 || !colb_is_hex(f[1], 4) || strlen(f[2]) != 32 || !colb_is_hex(f[2], 32) ||
		    strlen(f[3]) != 4 || !colb_is_hex(f[3], 4) || strlen(f[4]) != 32 || !colb_is_hex(f[4], 32)) {
			rc = fail(in, COLB_ERR_COLLATERAL,
				  "%s:%zu: not EncPPID(768 hex),PCE_ID(4),CPUSVN(32),PCE_ISVSVN(4),QE_ID(32)", path,
				  lineno);
			break;
		}
		upcase(f[1]);
		upcase(f[4]);
		rc = add_ppid(in, f[4], f[1], enc, sizeof enc);
	}
	free(data);
	return rc;
}

/* ---- PCCS admin-tool import ------------------------------------------------------- */

static colb_err add_bytes(colb_intel_input *in, enum item_kind kind, const char *src, const char *path,
			  const void *data, size_t len, const char *chain_pct, in_item **out)
{
	in_item *dup = item_at_path(in, path);
	if (dup)
		return fail(in, COLB_ERR_DUPLICATE_ENTRY, "%s: %s is already given by %s", src, path, dup->src);
	in_item *it = new_item(in, kind, src);
	if (!it || !(it->data = malloc(len + 1)))
		return fail(in, COLB_ERR_NOMEM, "out of memory");
	memcpy(it->data, data, len);
	it->data[len] = 0;
	it->len = len;
	snprintf(it->path, sizeof it->path, "%s", path);
	if (index_path(in, in->n - 1) != COLB_OK)
		return fail(in, COLB_ERR_NOMEM, "out of memory");
	if (chain_pct) {
		it->chain = colb_percent_decode(chain_pct, strlen(chain_pct), &it->chain_len);
		if (!it->chain)
			return fail(in, COLB_ERR_COLLATERAL, "%s: issuer chain is not valid percent-encoding", src);
	}
	if (out)
		*out = it;
	return COLB_OK;
}

static colb_err add_hex_der(colb_intel_input *in, enum item_kind kind, const char *src, const char *path,
			    const char *hexs, const char *chain_pct, in_item **out)
{
	size_t n = strlen(hexs);
	if (n % 2 || n > 2 * (size_t)INTEL_MAX_BODY)
		return fail(in, COLB_ERR_COLLATERAL, "%s: not hex-encoded DER", src);
	uint8_t *der = malloc(n / 2 + 1);
	if (!der)
		return COLB_ERR_NOMEM;
	colb_err rc;
	if (!colb_hex_decode(hexs, n, der, n / 2))
		rc = fail(in, COLB_ERR_COLLATERAL, "%s: not hex-encoded DER", src);
	else
		rc = add_bytes(in, kind, src, path, der, n / 2, chain_pct, out);
	free(der);
	return rc;
}

/* A TCB info the admin tool stored as a parsed object: its signed bytes are
 * the compact serialization in the original key order (what Intel's caching
 * service does); the signature check at validation decides. */
static colb_err add_pccs_tcbinfo(colb_intel_input *in, json_t *obj, const char *fmspc, const char *field,
				 colb_intel_tee tee, const char *chain_pct, set_rec *sets, bool early)
{
	char src[128];
	snprintf(src, sizeof src, "platform_collaterals tcbinfos[%s].%s", fmspc, field);
	json_t *ti = json_object_get(obj, "tcbInfo");
	const char *sig = json_string_value(json_object_get(obj, "signature"));
	if (!json_is_object(ti) || !sig)
		return fail(in, COLB_ERR_COLLATERAL, "%s: not {tcbInfo, signature}", src);
	char *inner = json_dumps(ti, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!inner)
		return COLB_ERR_NOMEM;
	json_t *ev = json_object_get(ti, "tcbEvaluationDataNumber");
	colb_buf b;
	colb_buf_init(&b, INTEL_MAX_BODY);
	colb_err rc = colb_buf_printf(&b, "{\"tcbInfo\":%s,\"signature\":\"%s\"}", inner, sig);
	free(inner);
	if (!rc && (!json_is_integer(ev) || json_integer_value(ev) <= 0 || json_integer_value(ev) > UINT32_MAX))
		rc = fail(in, COLB_ERR_COLLATERAL, "%s: no tcbEvaluationDataNumber", src);
	if (!rc) {
		char path[128];
		uint32_t e = (uint32_t)json_integer_value(ev);
		snprintf(path, sizeof path, "intel/tcbinfo/%s/%s/%u.json", intel_tee_name(tee), fmspc, e);
		in_item *it = NULL;
		rc = add_bytes(in, K_TCBINFO, src, path, b.data, b.len, chain_pct, &it);
		if (!rc) {
			it->tee = tee;
			it->eval = e;
			snprintf(it->fmspc, sizeof it->fmspc, "%s", fmspc);
			set_rec *s = &sets[tee];
			s->have = true;
			if (early)
				s->early = e;
			else
				s->standard = e;
		}
	}
	colb_buf_free(&b);
	return rc;
}

static colb_err add_pccs_identity(colb_intel_input *in, json_t *coll, const char *field, colb_intel_identity k,
				  const char *chain_pct)
{
	const char *raw = json_string_value(json_object_get(coll, field));
	if (!raw)
		return COLB_OK;
	char src[96], why[256], path[96];
	snprintf(src, sizeof src, "platform_collaterals %s", field);
	const uint8_t *inner;
	size_t ilen;
	uint8_t sig[64];
	intel_identity id;
	colb_err rc = intel_split_signed((const uint8_t *)raw, strlen(raw), "enclaveIdentity", &inner, &ilen, sig, why,
					 sizeof why);
	if (!rc)
		rc = intel_parse_identity(inner, ilen, &id, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", src, why);
	snprintf(path, sizeof path, "intel/identity/%s/%u.json", intel_identity_name(k), id.eval);
	in_item *it = NULL;
	rc = add_bytes(in, K_IDENTITY, src, path, raw, strlen(raw), chain_pct, &it);
	if (!rc) {
		it->ident = k;
		it->eval = id.eval;
	}
	return rc;
}

colb_err colb_intel_input_import_pccs(colb_intel_input *in, const char *path)
{
	if (!in || !path)
		return COLB_ERR_INVALID_ARG;
	json_error_t e;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!root)
		return fail(in, COLB_ERR_COLLATERAL, "%s: invalid JSON at line %d: %s", path, e.line, e.text);
	colb_err rc = COLB_OK;
	json_t *coll = json_object_get(root, "collaterals");
	json_t *certs = json_object_get(coll, "certificates");
	json_t *pckchains = json_object_get(certs, "SGX-PCK-Certificate-Issuer-Chain");
	const char *tcb_chain = json_string_value(json_object_get(certs, "TCB-Info-Issuer-Chain"));
	const char *id_chain = json_string_value(json_object_get(certs, "SGX-Enclave-Identity-Issuer-Chain"));
	if (!json_is_object(coll) || !json_is_object(certs)) {
		rc = fail(in, COLB_ERR_COLLATERAL, "%s: no collaterals.certificates", path);
		goto out;
	}
	set_rec sets[2] = {{0}};
	/* PCK certs */
	json_t *pcks = json_object_get(coll, "pck_certs");
	for (size_t i = 0; !rc && i < json_array_size(pcks); i++) {
		json_t *p = json_array_get(pcks, i);
		const char *qe = json_string_value(json_object_get(p, "qe_id"));
		const char *pce = json_string_value(json_object_get(p, "pce_id"));
		const char *enc = json_string_value(json_object_get(p, "enc_ppid"));
		json_t *list = json_object_get(p, "certs");
		char src[96], qeu[33], pceu[5], bpath[96];
		snprintf(src, sizeof src, "platform_collaterals pck_certs[%zu]", i);
		if (!qe || !pce || strlen(qe) != 32 || !colb_is_hex(qe, 32) || strlen(pce) != 4 || !colb_is_hex(pce, 4) ||
		    !json_is_array(list)) {
			rc = fail(in, COLB_ERR_COLLATERAL, "%s: needs qe_id, pce_id and certs", src);
			break;
		}
		snprintf(qeu, sizeof qeu, "%s", qe);
		snprintf(pceu, sizeof pceu, "%s", pce);
		upcase(qeu);
		upcase(pceu);
		/* The CA type is not in the file: it is read from the first cert's issuer. */
		const char *chain = NULL, *ca = NULL;
		json_t *c0 = json_array_get(list, 0);
		const char *pem = json_string_value(json_object_get(c0, "cert"));
		if (pem) {
			size_t plen = 0;
			char *dec = strchr(pem, '%') ? colb_percent_decode(pem, strlen(pem), &plen) : strdup(pem);
			BIO *bio = dec ? BIO_new_mem_buf(dec, -1) : NULL;
			X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
			char cn[128] = "";
			if (x)
				intel_cert_cn(x, true, cn, sizeof cn);
			ca = !strcmp(cn, intel_ca_cn(COLB_INTEL_CA_PLATFORM)) ? "PLATFORM"
			   : !strcmp(cn, intel_ca_cn(COLB_INTEL_CA_PROCESSOR)) ? "PROCESSOR"
									       : NULL;
			X509_free(x);
			BIO_free(bio);
			free(dec);
		}
		chain = ca ? json_string_value(json_object_get(pckchains, ca)) : NULL;
		if (!chain) {
			rc = fail(in, COLB_ERR_COLLATERAL, "%s: no PCK issuer chain for its CA", src);
			break;
		}
		char *body = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
		snprintf(bpath, sizeof bpath, "intel/pckcerts/%s-%s.json", qeu, pceu);
		in_item *it = NULL;
		rc = body ? add_bytes(in, K_PCKCERTS, src, bpath, body, strlen(body), chain, &it) : COLB_ERR_NOMEM;
		free(body);
		if (rc)
			break;
		memcpy(it->qe_id, qeu, 33);
		memcpy(it->pce_id, pceu, 5);
		snprintf(it->hdr_ca, sizeof it->hdr_ca, "%s", !strcmp(ca, "PLATFORM") ? "platform" : "processor");
		if (enc) {
			uint8_t raw[384];
			if (strlen(enc) != 768 || !colb_hex_decode(enc, 768, raw, sizeof raw))
				rc = fail(in, COLB_ERR_COLLATERAL, "%s: enc_ppid is not 768 hex digits", src);
			else
				rc = add_ppid(in, qeu, pceu, raw, sizeof raw);
		}
	}
	/* TCB info */
	json_t *tis = json_object_get(coll, "tcbinfos");
	for (size_t i = 0; !rc && i < json_array_size(tis); i++) {
		json_t *t = json_array_get(tis, i);
		const char *fm = json_string_value(json_object_get(t, "fmspc"));
		char fmu[13];
		if (!fm || strlen(fm) != 12 || !colb_is_hex(fm, 12)) {
			rc = fail(in, COLB_ERR_COLLATERAL, "platform_collaterals tcbinfos[%zu]: no fmspc", i);
			break;
		}
		snprintf(fmu, sizeof fmu, "%s", fm);
		upcase(fmu);
		static const struct {
			const char *field;
			colb_intel_tee tee;
			bool early;
		} F[] = {{"sgx_tcbinfo", COLB_INTEL_SGX, false},
			 {"tdx_tcbinfo", COLB_INTEL_TDX, false},
			 {"sgx_tcbinfo_early", COLB_INTEL_SGX, true},
			 {"tdx_tcbinfo_early", COLB_INTEL_TDX, true}};
		for (size_t f = 0; !rc && f < 4; f++) {
			json_t *o = json_object_get(t, F[f].field);
			if (!o || json_is_null(o))
				continue;
			if (!tcb_chain) {
				rc = fail(in, COLB_ERR_COLLATERAL, "platform_collaterals: no TCB-Info-Issuer-Chain");
				break;
			}
			/* The same number may come as standard and early: keep one. */
			json_t *ev = json_object_get(json_object_get(o, "tcbInfo"), "tcbEvaluationDataNumber");
			char p[128];
			snprintf(p, sizeof p, "intel/tcbinfo/%s/%s/%lld.json", intel_tee_name(F[f].tee), fmu,
				 (long long)json_integer_value(ev));
			if (item_at_path(in, p)) {
				set_rec *s = &sets[F[f].tee];
				if (F[f].early)
					s->early = (uint32_t)json_integer_value(ev);
				continue;
			}
			rc = add_pccs_tcbinfo(in, o, fmu, F[f].field, F[f].tee, tcb_chain, sets, F[f].early);
		}
	}
	/* Identities (raw strings: exact bytes) */
	static const struct {
		const char *field;
		colb_intel_identity k;
	} IDS[] = {{"qeidentity", COLB_INTEL_ID_QE},
		   {"qeidentity_early", COLB_INTEL_ID_QE},
		   {"qveidentity", COLB_INTEL_ID_QVE},
		   {"qveidentity_early", COLB_INTEL_ID_QVE},
		   {"tdqeidentity", COLB_INTEL_ID_TD_QE},
		   {"tdqeidentity_early", COLB_INTEL_ID_TD_QE}};
	for (size_t i = 0; !rc && i < sizeof IDS / sizeof IDS[0]; i++) {
		const char *raw = json_string_value(json_object_get(coll, IDS[i].field));
		if (!raw)
			continue;
		if (!id_chain) {
			rc = fail(in, COLB_ERR_COLLATERAL, "platform_collaterals: no SGX-Enclave-Identity-Issuer-Chain");
			break;
		}
		size_t before = in->n;
		rc = add_pccs_identity(in, coll, IDS[i].field, IDS[i].k, id_chain);
		if (rc == COLB_ERR_DUPLICATE_ENTRY && strstr(IDS[i].field, "_early")) {
			rc = COLB_OK; /* early and standard at the same number */
			in->n = before;
		}
	}
	/* CRLs (hex DER) */
	json_t *crl = json_object_get(coll, "pckcacrl");
	static const char *const CRLF[2] = {"processorCrl", "platformCrl"};
	for (int c = 0; !rc && c < 2; c++) {
		const char *h = json_string_value(json_object_get(crl, CRLF[c]));
		if (!h)
			continue;
		const char *chain = json_string_value(json_object_get(pckchains, c ? "PLATFORM" : "PROCESSOR"));
		char src[64], p[64];
		snprintf(src, sizeof src, "platform_collaterals pckcacrl.%s", CRLF[c]);
		snprintf(p, sizeof p, "intel/crl/%s.der", c ? "platform" : "processor");
		in_item *it = NULL;
		if (!chain)
			rc = fail(in, COLB_ERR_COLLATERAL, "%s: no issuer chain for it", src);
		else
			rc = add_hex_der(in, K_CRL, src, p, h, chain, &it);
		if (!rc)
			it->ca = c ? COLB_INTEL_CA_PLATFORM : COLB_INTEL_CA_PROCESSOR;
	}
	const char *rh = json_string_value(json_object_get(coll, "rootcacrl"));
	if (!rc && rh)
		rc = add_hex_der(in, K_ROOTCRL, "platform_collaterals rootcacrl", "intel/crl/root.der", rh, NULL, NULL);
	/* What the file calls standard and early, unless a tcb-sets.json says it. */
	if (!rc && !in->tcb_sets) {
		in->tcb_sets = json_object();
		for (int t = 0; t < 2; t++) {
			if (!sets[t].have)
				continue;
			json_t *o = json_object();
			uint32_t st = sets[t].standard ? sets[t].standard : sets[t].early;
			json_object_set_new(o, "standard", json_integer(st));
			json_object_set_new(o, "early", json_integer(sets[t].early ? sets[t].early : st));
			json_object_set_new(in->tcb_sets, intel_tee_name((colb_intel_tee)t), o);
		}
	}
out:
	json_decref(root);
	return rc;
}

/* ---- validation --------------------------------------------------------------------- */

typedef struct chain_rec {
	char name[80];
	char sha[65];
	intel_chain chain;
	bool verified_as[4]; /* leaf CN: TCB signing, processor CA, platform CA */
	char *pem;
	size_t pem_len;
} chain_rec;

typedef struct vstate {
	colb_intel_input *in;
	chain_rec *chains;
	size_t nchains;
	X509_CRL *root_crl;
	X509_CRL *pck_crl[2];
	X509 *pck_ca[2];
	/* evaluation numbers carried per tee, FMSPCs per tee */
	uint32_t evals[2][INTEL_MAX_EVALS];
	size_t nevals[2];
	char (*fmspcs[2])[13];
	size_t nfmspcs[2];
	/* identities carried: per kind, numbers */
	uint32_t idevals[4][INTEL_MAX_EVALS];
	size_t nidevals[4];
} vstate;

static void add_num(uint32_t *list, size_t *n, uint32_t v)
{
	for (size_t i = 0; i < *n; i++)
		if (list[i] == v)
			return;
	if (*n < INTEL_MAX_EVALS)
		list[(*n)++] = v;
}

static colb_err chain_of(vstate *vs, in_item *it, const char *leaf_cn, int role, chain_rec **out)
{
	colb_intel_input *in = vs->in;
	char why[256], sha[65];
	if (!it->chain)
		return fail(in, COLB_ERR_CHAIN, "%s: no issuer chain", it->src);
	colb_sha256_hex(it->chain, it->chain_len, sha);
	chain_rec *c = NULL;
	for (size_t i = 0; i < vs->nchains; i++)
		if (!strcmp(vs->chains[i].sha, sha))
			c = &vs->chains[i];
	if (!c) {
		chain_rec *p = realloc(vs->chains, (vs->nchains + 1) * sizeof *p);
		if (!p)
			return COLB_ERR_NOMEM;
		vs->chains = p;
		c = &p[vs->nchains];
		memset(c, 0, sizeof *c);
		memcpy(c->sha, sha, 65);
		colb_err rc = intel_chain_parse(it->chain, it->chain_len, &c->chain, why, sizeof why);
		if (rc)
			return fail(in, rc, "%s: %s", it->src, why);
		vs->nchains++;
		static const char *const role_name[] = {"tcb-signing", "pck-processor", "pck-platform"};
		snprintf(c->name, sizeof c->name, "%s-%.16s", role_name[role], sha);
	}
	if (!c->verified_as[role]) {
		colb_err rc = intel_chain_verify(&c->chain, in->trust, in->at, leaf_cn, vs->root_crl, why, sizeof why);
		if (rc)
			return fail(in, rc, "%s: %s", it->src, why);
		c->verified_as[role] = true;
	}
	snprintf(it->chain_name, sizeof it->chain_name, "%s", c->name);
	*out = c;
	return COLB_OK;
}

static void note_stale(colb_intel_input *in, in_item *it, time_t next)
{
	if (next && next < in->at) {
		it->stale = true;
		in->stale_count++;
	}
}

static colb_err check_signed(vstate *vs, in_item *it, const char *wrapper, const uint8_t **inner, size_t *ilen)
{
	colb_intel_input *in = vs->in;
	char why[256];
	uint8_t sig[64];
	chain_rec *c;
	colb_err rc = intel_split_signed(it->data, it->len, wrapper, inner, ilen, sig, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", it->src, why);
	rc = chain_of(vs, it, INTEL_TCB_SIGNING_CN, 0, &c);
	if (rc)
		return rc;
	if (!intel_verify_raw_sig(sk_X509_value(c->chain.certs, 0), *inner, *ilen, sig))
		return fail(in, COLB_ERR_COLLATERAL_SIG, "%s: signature does not verify over the exact bytes", it->src);
	return COLB_OK;
}

static colb_err check_eval(vstate *vs, in_item *it, uint32_t eval)
{
	colb_intel_input *in = vs->in;
	if (it->eval && it->eval != eval)
		return fail(in, COLB_ERR_MISFILED, "%s: filed as evaluation number %u but carries %u", it->src, it->eval,
			    eval);
	it->eval = eval;
	if (in->min_eval && eval < in->min_eval)
		return fail(in, COLB_ERR_BELOW_MIN_EVAL, "%s: evaluation number %u is below --min-eval %u", it->src, eval,
			    in->min_eval);
	return COLB_OK;
}

static colb_err validate_tcbinfo(vstate *vs, in_item *it)
{
	colb_intel_input *in = vs->in;
	const uint8_t *inner;
	size_t ilen;
	char why[256];
	colb_err rc = check_signed(vs, it, "tcbInfo", &inner, &ilen);
	if (rc)
		return rc;
	intel_tcbinfo ti;
	rc = intel_parse_tcbinfo(inner, ilen, &ti, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", it->src, why);
	if (ti.tee != it->tee || strcasecmp(ti.fmspc_hex, it->fmspc) != 0)
		rc = fail(in, COLB_ERR_MISFILED, "%s: carries %s TCB info for FMSPC %s", it->src,
			  ti.tee == COLB_INTEL_TDX ? "TDX" : "SGX", ti.fmspc_hex);
	if (!rc)
		rc = check_eval(vs, it, ti.eval);
	note_stale(in, it, ti.next);
	intel_tcbinfo_free(&ti);
	if (rc)
		return rc;
	add_num(vs->evals[it->tee], &vs->nevals[it->tee], it->eval);
	size_t *nf = &vs->nfmspcs[it->tee];
	for (size_t i = 0; i < *nf; i++)
		if (!strcmp(vs->fmspcs[it->tee][i], it->fmspc))
			return COLB_OK;
	char(*p)[13] = realloc(vs->fmspcs[it->tee], (*nf + 1) * sizeof *p);
	if (!p)
		return COLB_ERR_NOMEM;
	vs->fmspcs[it->tee] = p;
	memcpy(p[(*nf)++], it->fmspc, 13);
	return COLB_OK;
}

static colb_err validate_identity(vstate *vs, in_item *it)
{
	colb_intel_input *in = vs->in;
	const uint8_t *inner;
	size_t ilen;
	char why[256];
	colb_err rc = check_signed(vs, it, "enclaveIdentity", &inner, &ilen);
	if (rc)
		return rc;
	intel_identity id;
	rc = intel_parse_identity(inner, ilen, &id, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", it->src, why);
	if (id.kind != it->ident)
		return fail(in, COLB_ERR_MISFILED, "%s: carries the %s identity", it->src, intel_identity_name(id.kind));
	note_stale(in, it, id.next);
	rc = check_eval(vs, it, id.eval);
	if (!rc)
		add_num(vs->idevals[it->ident], &vs->nidevals[it->ident], it->eval);
	return rc;
}

static colb_err validate_evalnums(vstate *vs, in_item *it)
{
	colb_intel_input *in = vs->in;
	const uint8_t *inner;
	size_t ilen;
	char why[256];
	colb_err rc = check_signed(vs, it, "tcbEvaluationDataNumbers", &inner, &ilen);
	if (rc)
		return rc;
	intel_evalnums en;
	rc = intel_parse_evalnums(inner, ilen, &en, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", it->src, why);
	if (en.tee != it->tee)
		return fail(in, COLB_ERR_MISFILED, "%s: carries the %s list", it->src, en.tee ? "TDX" : "SGX");
	note_stale(in, it, en.next);
	return COLB_OK;
}

static colb_err validate_root_crl(vstate *vs, in_item *it)
{
	colb_intel_input *in = vs->in;
	char why[256];
	time_t tu, nu;
	/* Its issuer is the root every carried chain ends at. */
	X509 *root = NULL;
	for (size_t i = 0; i < vs->nchains && !root; i++) {
		intel_chain *c = &vs->chains[i].chain;
		root = sk_X509_value(c->certs, sk_X509_num(c->certs) - 1);
	}
	if (!root)
		return fail(in, COLB_ERR_CHAIN, "%s: no carried chain names the root that signs it", it->src);
	colb_err rc = intel_crl_parse_verify(it->data, it->len, root, &vs->root_crl, &tu, &nu, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", it->src, why);
	note_stale(in, it, nu);
	return COLB_OK;
}

static colb_err validate_crl(vstate *vs, in_item *it)
{
	colb_intel_input *in = vs->in;
	char why[256];
	chain_rec *c;
	time_t tu, nu;
	colb_err rc = chain_of(vs, it, intel_ca_cn(it->ca), 1 + (int)it->ca, &c);
	if (rc)
		return rc;
	X509 *ca = sk_X509_value(c->chain.certs, 0);
	rc = intel_crl_parse_verify(it->data, it->len, ca, &vs->pck_crl[it->ca], &tu, &nu, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", it->src, why);
	vs->pck_ca[it->ca] = ca;
	note_stale(in, it, nu);
	return COLB_OK;
}

static colb_err validate_pckcerts(vstate *vs, in_item *it)
{
	colb_intel_input *in = vs->in;
	char why[256];
	colb_intel_ca ca;
	if (!strcasecmp(it->hdr_ca, "processor"))
		ca = COLB_INTEL_CA_PROCESSOR;
	else if (!strcasecmp(it->hdr_ca, "platform"))
		ca = COLB_INTEL_CA_PLATFORM;
	else
		return fail(in, COLB_ERR_COLLATERAL, "%s: SGX-PCK-Certificate-CA-Type is '%s'", it->src, it->hdr_ca);
	it->ca = ca;
	chain_rec *c;
	colb_err rc = chain_of(vs, it, intel_ca_cn(ca), 1 + (int)ca, &c);
	if (rc)
		return rc;
	X509 *issuer = sk_X509_value(c->chain.certs, 0);
	intel_pck_entry *e = NULL;
	size_t n = 0;
	rc = intel_parse_pckcerts(it->data, it->len, &e, &n, why, sizeof why);
	if (rc)
		return fail(in, rc, "%s: %s", it->src, why);
	uint8_t ppid[16], fmspc[6], pce[2];
	bool first = true;
	size_t usable = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (!e[i].pem)
			continue;
		BIO *b = BIO_new_mem_buf(e[i].pem, (int)e[i].pem_len);
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		intel_sgxext ext;
		if (!x) {
			rc = fail(in, COLB_ERR_COLLATERAL, "%s: cert %s is not PEM", it->src, e[i].tcbm);
		} else if (X509_check_issued(issuer, x) != X509_V_OK || X509_verify(x, X509_get0_pubkey(issuer)) != 1) {
			rc = fail(in, COLB_ERR_CHAIN, "%s: cert %s is not signed by its %s", it->src, e[i].tcbm,
				  intel_ca_cn(ca));
		} else if (X509_cmp_time(X509_get0_notAfter(x), &in->at) < 0 ||
			   X509_cmp_time(X509_get0_notBefore(x), &in->at) > 0) {
			rc = fail(in, COLB_ERR_CHAIN, "%s: cert %s is not valid at the verification time", it->src,
				  e[i].tcbm);
		} else if ((rc = intel_sgxext_from_cert(x, &ext, why, sizeof why)) != COLB_OK) {
			rc = fail(in, rc, "%s: cert %s: %s", it->src, e[i].tcbm, why);
		} else if (memcmp(ext.tcb.comp, e[i].tcb.comp, 16) || ext.tcb.pcesvn != e[i].tcb.pcesvn) {
			rc = fail(in, COLB_ERR_COLLATERAL, "%s: cert %s: its SGX extension names another TCB", it->src,
				  e[i].tcbm);
		} else if (!first && (memcmp(ppid, ext.ppid, 16) || memcmp(fmspc, ext.fmspc, 6) || memcmp(pce, ext.pceid, 2))) {
			rc = fail(in, COLB_ERR_COLLATERAL, "%s: certs disagree on PPID, FMSPC or PCE-ID", it->src);
		}
		if (!rc && first) {
			memcpy(ppid, ext.ppid, 16);
			memcpy(fmspc, ext.fmspc, 6);
			memcpy(pce, ext.pceid, 2);
			first = false;
		}
		X509_free(x);
		ERR_clear_error();
		usable++;
	}
	intel_pck_entries_free(e, n);
	if (rc)
		return rc;
	if (!usable)
		return fail(in, COLB_ERR_COLLATERAL, "%s: no certificate in the answer", it->src);
	char fm[13], pcehex[5];
	colb_hex_encode(fmspc, 6, fm, true);
	colb_hex_encode(pce, 2, pcehex, true);
	if (it->hdr_fmspc[0] && strcasecmp(it->hdr_fmspc, fm) != 0)
		return fail(in, COLB_ERR_MISFILED, "%s: SGX-FMSPC says %s, the certs %s", it->src, it->hdr_fmspc, fm);
	if (strcmp(pcehex, it->pce_id) != 0)
		return fail(in, COLB_ERR_MISFILED, "%s: filed under PCE-ID %s, the certs say %s", it->src, it->pce_id,
			    pcehex);
	memcpy(it->fmspc, fm, 13);
	return COLB_OK;
}

/* The number a policy resolves to for one TEE and FMSPC. */
static bool resolve_policy(const json_t *sets, colb_intel_tee tee, const char *fmspc, int kind, uint32_t num,
			   uint32_t *out)
{
	if (kind == 2) {
		*out = num;
		return true;
	}
	json_t *t = json_object_get(sets, intel_tee_name(tee));
	json_t *f = fmspc ? json_object_get(json_object_get(t, "fmspc"), fmspc) : NULL;
	const char *key = kind == 1 ? "early" : "standard";
	json_t *v = json_object_get(f ? f : t, key);
	if (!json_is_integer(v) && f)
		v = json_object_get(t, key);
	if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > UINT32_MAX)
		return false;
	*out = (uint32_t)json_integer_value(v);
	return true;
}

static colb_err check_baseline(vstate *vs, json_t *sets)
{
	colb_intel_input *in = vs->in;
	static const char *const pname[] = {"standard", "early"};
	for (int tee = 0; tee < 2; tee++) {
		for (size_t f = 0; f < vs->nfmspcs[tee]; f++) {
			const char *fm = vs->fmspcs[tee][f];
			uint32_t e;
			if (!resolve_policy(sets, (colb_intel_tee)tee, fm, in->policy_kind, in->policy_num, &e)) {
				/* No sets: standard is the highest number carried. */
				e = 0;
				for (size_t i = 0; i < vs->nevals[tee]; i++)
					if (vs->evals[tee][i] > e)
						e = vs->evals[tee][i];
			}
			char p[96];
			snprintf(p, sizeof p, "intel/tcbinfo/%s/%s/%u.json", intel_tee_name((colb_intel_tee)tee), fm, e);
			if (!item_at_path(in, p)) {
				char what[32];
				if (in->policy_kind == 2)
					snprintf(what, sizeof what, "%u", in->policy_num);
				else
					snprintf(what, sizeof what, "%s (%u)", pname[in->policy_kind], e);
				return fail(in, COLB_ERR_BASELINE,
					    "baseline %s: no %s TCB info at evaluation number %u for FMSPC %s", what,
					    intel_tee_name((colb_intel_tee)tee), e, fm);
			}
			if (in->min_eval && e < in->min_eval)
				return fail(in, COLB_ERR_BELOW_MIN_EVAL, "baseline resolves to %u for FMSPC %s, below --min-eval %u",
					    e, fm, in->min_eval);
		}
	}
	return COLB_OK;
}

static colb_err write_items(vstate *vs, colb_writer *w)
{
	colb_intel_input *in = vs->in;
	/* Chains first: the entries' meta names them. */
	for (size_t i = 0; i < vs->nchains; i++) {
		char p[128];
		snprintf(p, sizeof p, "intel/chains/%s.pem", vs->chains[i].name);
		colb_err rc = colb_writer_add_file(w, p, (const uint8_t *)vs->chains[i].chain.pem, vs->chains[i].chain.pem_len,
						   NULL, NULL);
		if (rc)
			return fail(in, rc, "%s: %s", p, colb_writer_error(w));
	}
	for (size_t i = 0; i < in->n; i++) {
		in_item *it = &in->items[i];
		char meta[512];
		int m = 0;
		if (it->chain_name[0])
			m = snprintf(meta, sizeof meta, "{\"chain\":\"intel/chains/%s.pem\"", it->chain_name);
		else
			m = snprintf(meta, sizeof meta, "{");
		if (it->kind == K_PCKCERTS) {
			m += snprintf(meta + m, sizeof meta - (size_t)m, ",\"fmspc\":\"%s\",\"ca\":\"%s\"", it->fmspc,
				      intel_ca_name(it->ca));
			char key[40];
			snprintf(key, sizeof key, "%s-%s", it->qe_id, it->pce_id);
			for (size_t k = 0; k < in->nppid; k++)
				if (!strcmp(in->ppids[k].key, key)) {
					m += snprintf(meta + m, sizeof meta - (size_t)m, ",\"enc_ppid_sha256\":\"%s\"",
						      in->ppids[k].sha);
					break;
				}
		}
		snprintf(meta + m, sizeof meta - (size_t)m, "}");
		colb_err rc = colb_writer_add_file(w, it->path, it->data, it->len, NULL, meta);
		if (rc)
			return fail(in, rc, "%s: %s", it->src, colb_writer_error(w));
	}
	return COLB_OK;
}

static json_t *baseline_json(vstate *vs, json_t *sets)
{
	colb_intel_input *in = vs->in;
	json_t *intel = json_object(), *evals = json_object();
	if (in->policy_kind == 2)
		json_object_set_new(intel, "policy", json_integer(in->policy_num));
	else
		json_object_set_new(intel, "policy", json_string(in->policy_kind ? "early" : "standard"));
	json_object_set_new(intel, "min_eval", json_integer(in->min_eval));
	json_object_set(intel, "sets", sets);
	for (int t = 0; t < 2; t++) {
		json_t *a = json_array();
		for (size_t i = 0; i < vs->nevals[t]; i++)
			json_array_append_new(a, json_integer(vs->evals[t][i]));
		json_object_set_new(evals, intel_tee_name((colb_intel_tee)t), a);
	}
	json_object_set_new(intel, "evals", evals);
	json_t *root = json_object();
	json_object_set_new(root, "intel", intel);
	return root;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

colb_err colb_intel_input_write(colb_intel_input *in, colb_writer *w)
{
	if (!in || !w)
		return COLB_ERR_INVALID_ARG;
	vstate vs;
	memset(&vs, 0, sizeof vs);
	vs.in = in;
	colb_err rc = COLB_OK;
	if (!in->n) {
		rc = fail(in, COLB_ERR_NOT_FOUND, "no Intel collateral given");
		goto out;
	}
	/* Order: TCB info first (so the signer chain and root are known), then
	 * the root CA CRL, PCK CRLs, identities, lists, and pckcerts last (they
	 * need the CRLs and the TCB info FMSPCs). */
	static const enum item_kind order[] = {K_TCBINFO, K_ROOTCRL, K_CRL, K_IDENTITY, K_EVALNUMS, K_PCKCERTS, K_FMSPCS, K_TCBSETS};
	for (size_t o = 0; o < sizeof order / sizeof order[0] && !rc; o++) {
		for (size_t i = 0; i < in->n && !rc; i++) {
			in_item *it = &in->items[i];
			if (it->kind != order[o])
				continue;
			switch (it->kind) {
			case K_TCBINFO: rc = validate_tcbinfo(&vs, it); break;
			case K_ROOTCRL: rc = validate_root_crl(&vs, it); break;
			case K_CRL: rc = validate_crl(&vs, it); break;
			case K_IDENTITY: rc = validate_identity(&vs, it); break;
			case K_EVALNUMS: rc = validate_evalnums(&vs, it); break;
			case K_PCKCERTS: rc = validate_pckcerts(&vs, it); break;
			case K_FMSPCS: {
				json_error_t e;
				json_t *j = json_loadb((const char *)it->data, it->len, JSON_REJECT_DUPLICATES, &e);
				if (!json_is_array(j))
					rc = fail(in, COLB_ERR_COLLATERAL, "%s: not a JSON list", it->src);
				json_decref(j);
				break;
			}
			case K_TCBSETS: break;
			}
		}
	}
	/* Root-CA revocation of the chains: recheck now that the root CRL is known. */
	for (size_t i = 0; !rc && vs.root_crl && i < vs.nchains; i++) {
		intel_chain *c = &vs.chains[i].chain;
		for (int k = 0; !rc && k < sk_X509_num(c->certs) - 1; k++)
			if (intel_crl_revokes(vs.root_crl, sk_X509_value(c->certs, k)))
				rc = fail(in, COLB_ERR_REVOKED, "issuer chain %s: a CA is revoked by the root CA CRL",
					  vs.chains[i].name);
	}
	/* Every platform's FMSPC has SGX TCB info. */
	for (size_t i = 0; !rc && i < in->n; i++) {
		in_item *it = &in->items[i];
		if (it->kind != K_PCKCERTS)
			continue;
		bool found = false;
		for (size_t f = 0; f < vs.nfmspcs[0] && !found; f++)
			found = !strcmp(vs.fmspcs[0][f], it->fmspc);
		if (!found)
			rc = fail(in, COLB_ERR_BASELINE, "%s: no SGX TCB info for its FMSPC %s", it->src, it->fmspc);
	}
	for (int t = 0; t < 2; t++)
		qsort(vs.evals[t], vs.nevals[t], sizeof(uint32_t), cmp_u32);
	json_t *sets = in->tcb_sets ? json_incref(in->tcb_sets) : json_object();
	if (!rc)
		rc = check_baseline(&vs, sets);
	if (!rc)
		rc = write_items(&vs, w);
	if (!rc) {
		json_t *bl = baseline_json(&vs, sets);
		char *s = bl ? json_dumps(bl, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		rc = s ? colb_writer_set_baseline_json(w, s) : COLB_ERR_NOMEM;
		if (rc && s)
			fail(in, rc, "baseline: %s", colb_writer_error(w));
		free(s);
		json_decref(bl);
	}
	json_decref(sets);
out:
	for (size_t i = 0; i < vs.nchains; i++)
		intel_chain_free(&vs.chains[i].chain);
	free(vs.chains);
	X509_CRL_free(vs.root_crl);
	X509_CRL_free(vs.pck_crl[0]);
	X509_CRL_free(vs.pck_crl[1]);
	free(vs.fmspcs[0]);
	free(vs.fmspcs[1]);
	return rc;
}
