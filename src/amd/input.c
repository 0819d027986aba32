/*
 * input.c — the AMD inputs of `colbundle create`: reads AMD collateral from
 * a directory in one of three shapes, validates every item, and adds it to
 * a writer under the entry names of format-spec/colbundle-v1.md:
 *
 *   raw layout (raw-layouts.md):  <P>/cert_chain.pem, <P>/vlek_cert_chain.pem,
 *                                 <P>/crl.der, <P>/vcek/<hwid>/<tcbm>.der,
 *                                 <P>/vlek/<csp>/<tcbm>.der
 *   trustee's offline store:      vcek/<hwid>/bl.._tee.._snp.._ucode..[_fmc..]_vcek.der
 *                                 (or vcek/<hwid>/vcek.der)
 *   snphost's certificate dir:    {ark,ask,vcek,vlek}.{pem,der}
 *
 * The product of a trustee or snphost item is read from its issuer's name
 * (SEV-Milan, SEV-VLEK-Genoa, ...), its hwid and TCB from its extensions,
 * checked against the file name where the name states them.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "amd/amd_priv.h"
#include "bundle/internal.h"
#include "util/util.h"

#define MAX_ITEMS 1000000
#define MAX_REPORTS 100000

typedef struct in_cert {
	colb_amd_product product;    /* UNKNOWN until resolved from the issuer */
	bool vlek;
	bool id_known, tcb_known;    /* what the file name states */
	char id[129];                /* hwid hex (lowercase) or csp */
	uint64_t tcbm;
	colb_amd_tcb name_tcb;       /* trustee names: the SPLs, checked per field */
	bool name_tcb_known, name_has_fmc;
	char *src;
	uint8_t *data;
	size_t len;
} in_cert;

typedef struct in_file {
	char *src;
	uint8_t *data;
	size_t len;
} in_file;

struct colb_amd_input {
	const colb_trust *trust;
	time_t at;
	char err[1024];
	in_file chain[4][2];
	in_file crl[4];
	in_cert *certs;
	size_t ncerts, cap;
	in_file *reports;
	char (*report_names)[64];
	size_t nreports;
};

static colb_err fail(colb_amd_input *in, colb_err rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static colb_err fail(colb_amd_input *in, colb_err rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(in->err, sizeof in->err, fmt, ap);
	va_end(ap);
	return rc;
}

colb_amd_input *colb_amd_input_new(const colb_trust *t, time_t at)
{
	colb_amd_input *in = calloc(1, sizeof *in);
	if (in) {
		in->trust = t;
		in->at = at ? at : time(NULL);
	}
	return in;
}

static void file_clear(in_file *f)
{
	free(f->src);
	free(f->data);
	memset(f, 0, sizeof *f);
}

void colb_amd_input_free(colb_amd_input *in)
{
	if (!in)
		return;
	for (int p = 0; p < 4; p++) {
		file_clear(&in->chain[p][0]);
		file_clear(&in->chain[p][1]);
		file_clear(&in->crl[p]);
	}
	for (size_t i = 0; i < in->ncerts; i++) {
		free(in->certs[i].src);
		free(in->certs[i].data);
	}
	for (size_t i = 0; i < in->nreports; i++)
		file_clear(&in->reports[i]);
	free(in->reports);
	free(in->report_names);
	free(in->certs);
	free(in);
}

const char *colb_amd_input_error(const colb_amd_input *in)
{
	return in ? in->err : "";
}

/* ---- reading ------------------------------------------------------------------- */

static colb_err slurp(colb_amd_input *in, const char *path, size_t max, uint8_t **data, size_t *len)
{
	char why[512];
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return fail(in, COLB_ERR_IO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return fail(in, COLB_ERR_NOT_REGULAR, "%s: not a regular file", path);
	colb_err rc = colb_read_file(path, max, data, len, why, sizeof why);
	return rc ? fail(in, rc, "%s", why) : COLB_OK;
}

static colb_err set_file(colb_amd_input *in, in_file *f, const char *path, size_t max)
{
	in_file n = {0};
	colb_err rc = slurp(in, path, max, &n.data, &n.len);
	if (rc)
		return rc;
	if (f->data && (f->len != n.len || memcmp(f->data, n.data, n.len) != 0)) {
		free(n.data);
		return fail(in, COLB_ERR_DUPLICATE_ENTRY, "%s: differs from %s, given for the same item", path,
			    f->src);
	}
	if (f->data) {
		free(n.data);
		return COLB_OK;
	}
	n.src = strdup(path);
	if (!n.src) {
		free(n.data);
		return COLB_ERR_NOMEM;
	}
	*f = n;
	return COLB_OK;
}

static colb_err add_cert(colb_amd_input *in, const in_cert *proto, const char *path)
{
	if (in->ncerts >= MAX_ITEMS)
		return fail(in, COLB_ERR_LIMIT, "%s: more than %d AMD certificates", path, MAX_ITEMS);
	if (in->ncerts == in->cap) {
		size_t cap = in->cap ? 2 * in->cap : 256;
		in_cert *c = realloc(in->certs, cap * sizeof *c);
		if (!c)
			return COLB_ERR_NOMEM;
		in->certs = c;
		in->cap = cap;
	}
	in_cert c = *proto;
	colb_err rc = slurp(in, path, AMD_MAX_CERT, &c.data, &c.len);
	if (rc)
		return rc;
	if (!(c.src = strdup(path))) {
		free(c.data);
		return COLB_ERR_NOMEM;
	}
	in->certs[in->ncerts++] = c;
	return COLB_OK;
}

static bool is_dir(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_lower_hex(const char *s, size_t n)
{
	return strlen(s) == n && colb_is_hex_case(s, n, false);
}

static bool is_name(const char *s)
{
	return colb_is_name(s, strlen(s));
}

/* Calls fn for every entry of dir except . and .. */
static colb_err each_entry(colb_amd_input *in, const char *dir,
			   colb_err (*fn)(colb_amd_input *, const char *dir, const char *name, void *), void *arg)
{
	DIR *d = opendir(dir);
	if (!d)
		return fail(in, COLB_ERR_IO, "%s: %s", dir, strerror(errno));
	colb_err rc = COLB_OK;
	struct dirent *e;
	while (rc == COLB_OK && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		rc = fn(in, dir, e->d_name, arg);
	}
	closedir(d);
	return rc;
}

static void join(char *out, const char *a, const char *b)
{
	snprintf(out, PATH_MAX, "%s/%s", a, b);
}

/* ---- the raw layout ---------------------------------------------------------------- */

typedef struct raw_ctx {
	colb_amd_product product;
	bool vlek;
	const char *id;
} raw_ctx;

static colb_err raw_cert_file(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	raw_ctx *rc = arg;
	char path[PATH_MAX], tcb[17];
	join(path, dir, name);
	size_t n = strlen(name);
	if (n != 20 || strcmp(name + 16, ".der") != 0)
		return fail(in, COLB_ERR_BAD_PATH, "%s: not a <tcbm>.der file (16 lowercase hex digits)", path);
	memcpy(tcb, name, 16);
	tcb[16] = 0;
	in_cert c = {.product = rc->product, .vlek = rc->vlek, .id_known = true, .tcb_known = true};
	if (!is_lower_hex(tcb, 16) || colb_amd_tcbm_parse(tcb, &c.tcbm) != COLB_OK)
		return fail(in, COLB_ERR_BAD_PATH, "%s: not a <tcbm>.der file (16 lowercase hex digits)", path);
	snprintf(c.id, sizeof c.id, "%s", rc->id);
	return add_cert(in, &c, path);
}

static colb_err raw_id_dir(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	raw_ctx *rc = arg;
	char path[PATH_MAX];
	join(path, dir, name);
	if (!is_dir(path))
		return fail(in, COLB_ERR_BAD_PATH, "%s: unexpected file (want a %s directory)", path,
			    rc->vlek ? "<csp>" : "<hwid>");
	if (rc->vlek ? !is_name(name) : !is_lower_hex(name, 2 * colb_amd_hwid_len(rc->product)))
		return fail(in, COLB_ERR_BAD_PATH, "%s: not a %s %s", path, colb_amd_product_name(rc->product),
			    rc->vlek ? "provider name ([A-Za-z0-9._-])"
				     : (rc->product == COLB_AMD_TURIN ? "hwid (16 lowercase hex digits)"
								       : "hwid (128 lowercase hex digits)"));
	raw_ctx sub = {rc->product, rc->vlek, name};
	return each_entry(in, path, raw_cert_file, &sub);
}

static colb_err raw_product_entry(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	colb_amd_product p = *(colb_amd_product *)arg;
	char path[PATH_MAX];
	join(path, dir, name);
	if (!strcmp(name, "cert_chain.pem"))
		return set_file(in, &in->chain[p][0], path, AMD_MAX_CHAIN);
	if (!strcmp(name, "vlek_cert_chain.pem"))
		return set_file(in, &in->chain[p][1], path, AMD_MAX_CHAIN);
	if (!strcmp(name, "crl.der"))
		return set_file(in, &in->crl[p], path, AMD_MAX_CRL);
	if ((!strcmp(name, "vcek") || !strcmp(name, "vlek")) && is_dir(path)) {
		raw_ctx rc = {p, name[1] == 'l', NULL};
		return each_entry(in, path, raw_id_dir, &rc);
	}
	return fail(in, COLB_ERR_BAD_PATH, "%s: not part of the AMD raw layout", path);
}

static colb_err raw_top_entry(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	char path[PATH_MAX];
	join(path, dir, name);
	colb_amd_product p = colb_amd_product_from_name(name);
	if (!p || strcmp(name, colb_amd_product_name(p)) != 0 || !is_dir(path))
		return fail(in, COLB_ERR_BAD_PATH, "%s: not part of the AMD raw layout (want Milan, Genoa, Turin)",
			    path);
	return each_entry(in, path, raw_product_entry, &p);
}

/* ---- trustee's offline store --------------------------------------------------------- */

/* bl02_tee00_snp06_ucode21[_fmc01]_vcek.der */
static bool parse_trustee_name(const char *s, colb_amd_tcb *t, bool *has_fmc)
{
	static const char *const keys[] = {"bl", "tee", "snp", "ucode", "fmc"};
	uint8_t *fields[] = {&t->bl, &t->tee, &t->snp, &t->ucode, &t->fmc};
	memset(t, 0, sizeof *t);
	*has_fmc = false;
	for (int k = 0; k < 5; k++) {
		size_t kl = strlen(keys[k]);
		if (k == 4 && strncmp(s, "fmc", 3) != 0)
			break;
		if (strncmp(s, keys[k], kl) != 0)
			return false;
		s += kl;
		unsigned v = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits < 1 || v > 255 || *s != '_')
			return false;
		s++;
		*fields[k] = (uint8_t)v;
		if (k == 4)
			*has_fmc = true;
	}
	return !strcmp(s, "vcek.der");
}

static colb_err trustee_file(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	const char *hwid = arg;
	char path[PATH_MAX];
	join(path, dir, name);
	in_cert c = {.id_known = true};
	snprintf(c.id, sizeof c.id, "%s", hwid);
	bool has_fmc;
	if (strcmp(name, "vcek.der") != 0) {
		if (!parse_trustee_name(name, &c.name_tcb, &has_fmc))
			return fail(in, COLB_ERR_BAD_PATH,
				    "%s: not a trustee VCEK name (bl<BL>_tee<TEE>_snp<SNP>_ucode<UCODE>[_fmc<FMC>]_vcek.der)",
				    path);
		c.name_tcb_known = true; /* compared field by field once the product is known */
		c.name_has_fmc = has_fmc;
	}
	return add_cert(in, &c, path);
}

static colb_err trustee_hwid_dir(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	char path[PATH_MAX];
	join(path, dir, name);
	if (!is_dir(path) || !(is_lower_hex(name, 128) || is_lower_hex(name, 16)))
		return fail(in, COLB_ERR_BAD_PATH, "%s: not a trustee vcek/<hwid> directory (lowercase hex)", path);
	return each_entry(in, path, trustee_file, (void *)name);
}

static colb_err trustee_top_entry(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	char path[PATH_MAX];
	join(path, dir, name);
	if (strcmp(name, "vcek") != 0 || !is_dir(path))
		return fail(in, COLB_ERR_BAD_PATH, "%s: a trustee offline store holds only vcek/", path);
	return COLB_OK;
}

/* ---- snphost's certificate directory --------------------------------------------------- */

/* DER of a certificate given as DER or PEM. */
static colb_err cert_der(colb_amd_input *in, const char *path, uint8_t **der, size_t *len)
{
	uint8_t *data;
	size_t n;
	colb_err rc = slurp(in, path, AMD_MAX_CHAIN, &data, &n);
	if (rc)
		return rc;
	if (n > 10 && !memcmp(data, "-----BEGIN", 10)) {
		BIO *b = BIO_new_mem_buf(data, (int)n);
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		free(data);
		uint8_t *out = NULL;
		int l = x ? i2d_X509(x, &out) : -1;
		X509_free(x);
		if (l <= 0)
			return fail(in, COLB_ERR_COLLATERAL, "%s: not a PEM certificate", path);
		*der = malloc((size_t)l);
		if (!*der) {
			OPENSSL_free(out);
			return COLB_ERR_NOMEM;
		}
		memcpy(*der, out, (size_t)l);
		OPENSSL_free(out);
		*len = (size_t)l;
		return COLB_OK;
	}
	*der = data;
	*len = n;
	return COLB_OK;
}

static colb_err snphost_entry(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	static const char *const known[] = {"ark.pem", "ark.der", "ask.pem", "ask.der",
					    "vcek.pem", "vcek.der", "vlek.pem", "vlek.der"};
	for (size_t i = 0; i < COLB_ARRAY_LEN(known); i++)
		if (!strcmp(name, known[i]))
			return COLB_OK; /* read by add_snphost */
	char path[PATH_MAX];
	join(path, dir, name);
	return fail(in, COLB_ERR_BAD_PATH, "%s: not part of an snphost certificate directory", path);
}

static const char *pick(const char *dir, const char *stem, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s.der", dir, stem);
	if (access(buf, F_OK) == 0)
		return buf;
	snprintf(buf, PATH_MAX, "%s/%s.pem", dir, stem);
	return access(buf, F_OK) == 0 ? buf : NULL;
}

/* The product an issuer or subject CN names: SEV-<P>, SEV-VLEK-<P>, ARK-<P>. */
static colb_amd_product product_of_cn(const X509_NAME *n, bool *vlek)
{
	char cn[64];
	if (X509_NAME_get_text_by_NID((X509_NAME *)n, NID_commonName, cn, sizeof cn) <= 0)
		return COLB_AMD_UNKNOWN;
	*vlek = !strncmp(cn, "SEV-VLEK-", 9);
	if (*vlek)
		return colb_amd_product_from_name(cn + 9);
	if (!strncmp(cn, "SEV-", 4) || !strncmp(cn, "ARK-", 4))
		return colb_amd_product_from_name(cn + 4);
	return COLB_AMD_UNKNOWN;
}

static colb_amd_product product_of_der(const uint8_t *der, size_t len, bool issuer, bool *vlek)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	colb_amd_product prod = COLB_AMD_UNKNOWN;
	if (x)
		prod = product_of_cn(issuer ? X509_get_issuer_name(x) : X509_get_subject_name(x), vlek);
	X509_free(x);
	return prod;
}

static colb_err add_snphost(colb_amd_input *in, const char *dir)
{
	colb_err rc = each_entry(in, dir, snphost_entry, NULL);
	if (rc)
		return rc;
	char buf[PATH_MAX];
	const char *ark = pick(dir, "ark", buf);
	char arkpath[PATH_MAX] = "";
	if (ark)
		snprintf(arkpath, sizeof arkpath, "%s", ark);
	const char *ask = pick(dir, "ask", buf);
	if (!ask != !arkpath[0])
		return fail(in, COLB_ERR_COLLATERAL, "%s: an snphost directory needs both ark and ask, or neither", dir);
	if (ask) {
		uint8_t *d1 = NULL, *d2 = NULL;
		size_t l1, l2;
		bool vlek = false;
		char askpath[PATH_MAX];
		snprintf(askpath, sizeof askpath, "%s", ask);
		if ((rc = cert_der(in, askpath, &d1, &l1)) || (rc = cert_der(in, arkpath, &d2, &l2))) {
			free(d1);
			return rc;
		}
		colb_amd_product p = product_of_der(d1, l1, false, &vlek);
		size_t pl1, pl2;
		char *p1 = amd_der_to_pem(d1, l1, &pl1), *p2 = amd_der_to_pem(d2, l2, &pl2);
		free(d1);
		free(d2);
		if (!p || !p1 || !p2) {
			free(p1);
			free(p2);
			return p ? COLB_ERR_NOMEM
				 : fail(in, COLB_ERR_COLLATERAL, "%s: its subject names no AMD product (SEV-<P>)", askpath);
		}
		in_file *f = &in->chain[p][vlek];
		if (f->data) {
			free(p1);
			free(p2);
			return fail(in, COLB_ERR_DUPLICATE_ENTRY, "%s: a %s chain was already given by %s", askpath,
				    colb_amd_product_name(p), f->src);
		}
		f->data = malloc(pl1 + pl2 + 1);
		f->src = strdup(askpath);
		if (!f->data || !f->src) {
			free(p1);
			free(p2);
			return COLB_ERR_NOMEM;
		}
		memcpy(f->data, p1, pl1);
		memcpy(f->data + pl1, p2, pl2 + 1);
		f->len = pl1 + pl2;
		free(p1);
		free(p2);
	}
	static const char *const stems[] = {"vcek", "vlek"};
	for (int k = 0; k < 2; k++) {
		const char *path = pick(dir, stems[k], buf);
		if (!path)
			continue;
		char cpath[PATH_MAX];
		snprintf(cpath, sizeof cpath, "%s", path);
		in_cert c = {.vlek = k == 1};
		if ((rc = add_cert(in, &c, cpath)))
			return rc;
		in_cert *added = &in->certs[in->ncerts - 1];
		if (strstr(cpath, ".pem")) {
			uint8_t *der;
			size_t len;
			if ((rc = cert_der(in, cpath, &der, &len)))
				return rc;
			free(added->data);
			added->data = der;
			added->len = len;
		}
	}
	return COLB_OK;
}

/* ---- add_dir --------------------------------------------------------------------------- */

static colb_err classify(colb_amd_input *in, const char *dir, const char *name, void *arg)
{
	int *shape = arg; /* bit 0 raw, bit 1 trustee, bit 2 snphost */
	if (colb_amd_product_from_name(name) && !strcmp(name, colb_amd_product_name(colb_amd_product_from_name(name))))
		*shape |= 1;
	else if (!strcmp(name, "vcek"))
		*shape |= 2;
	else if (!strncmp(name, "ark.", 4) || !strncmp(name, "ask.", 4) || !strncmp(name, "vcek.", 5) ||
		 !strncmp(name, "vlek.", 5))
		*shape |= 4;
	return COLB_OK;
}

colb_err colb_amd_input_add_dir(colb_amd_input *in, const char *dir)
{
	if (!in || !dir)
		return COLB_ERR_INVALID_ARG;
	if (!is_dir(dir))
		return fail(in, COLB_ERR_IO, "%s: not a directory", dir);
	int shape = 0;
	colb_err rc = each_entry(in, dir, classify, &shape);
	if (rc)
		return rc;
	switch (shape) {
	case 1:
		return each_entry(in, dir, raw_top_entry, NULL);
	case 2: {
		char path[PATH_MAX];
		join(path, dir, "vcek");
		if ((rc = each_entry(in, dir, trustee_top_entry, NULL)))
			return rc;
		return each_entry(in, path, trustee_hwid_dir, NULL);
	}
	case 4:
		return add_snphost(in, dir);
	case 0:
		return fail(in, COLB_ERR_BAD_PATH,
			    "%s: not an AMD layout (raw Milan/Genoa/Turin, trustee vcek/, or snphost ark/ask/vcek files)",
			    dir);
	default:
		return fail(in, COLB_ERR_BAD_PATH, "%s: mixes AMD layouts (raw, trustee, snphost)", dir);
	}
}

colb_err colb_amd_input_add_report(colb_amd_input *in, const char *path)
{
	if (!in || !path)
		return COLB_ERR_INVALID_ARG;
	if (in->nreports >= MAX_REPORTS)
		return fail(in, COLB_ERR_LIMIT, "%s: too many reports", path);
	in_file f = {0};
	colb_err rc = slurp(in, path, COLB_AMD_REPORT_SIZE + 1, &f.data, &f.len);
	if (rc)
		return rc;
	colb_amd_report r;
	if (colb_amd_report_parse(f.data, f.len, &r) != COLB_OK) {
		free(f.data);
		return fail(in, COLB_ERR_COLLATERAL, "%s: not an SNP attestation report (%zu bytes)", path, f.len);
	}
	/* The entry name: the file's base name without .bin, made path-safe. */
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char name[64];
	size_t k = 0;
	for (const char *s = base; *s && k < sizeof name - 1; s++) {
		if (!strcmp(s, ".bin"))
			break;
		name[k++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *s) ? *s : '_';
	}
	name[k] = 0;
	if (!k)
		snprintf(name, sizeof name, "report-%zu", in->nreports);
	in_file *fr = realloc(in->reports, (in->nreports + 1) * sizeof *fr);
	if (fr)
		in->reports = fr;
	char(*nr)[64] = realloc(in->report_names, (in->nreports + 1) * sizeof *nr);
	if (nr)
		in->report_names = nr;
	f.src = strdup(path);
	if (!fr || !nr || !f.src) {
		free(f.data);
		free(f.src);
		return COLB_ERR_NOMEM;
	}
	for (size_t i = 0; i < in->nreports; i++)
		if (!strcmp(in->report_names[i], name)) {
			free(f.data);
			free(f.src);
			return fail(in, COLB_ERR_DUPLICATE_ENTRY, "%s: a report named %s was already given (%s)", path,
				    name, in->reports[i].src);
		}
	memcpy(in->report_names[in->nreports], name, sizeof name);
	in->reports[in->nreports++] = f;
	return COLB_OK;
}

/* ---- validation and writing ------------------------------------------------------------- */

static colb_err resolve_product(colb_amd_input *in, in_cert *c)
{
	if (c->product)
		return COLB_OK;
	bool vlek = false;
	colb_amd_product p = product_of_der(c->data, c->len, true, &vlek);
	if (!p)
		return fail(in, COLB_ERR_COLLATERAL, "%s: its issuer names no AMD product (SEV-<P>)", c->src);
	if (vlek != c->vlek)
		return fail(in, COLB_ERR_MISFILED, "%s: issued by an %s, filed as a %s", c->src,
			    vlek ? "ASVK" : "ASK", c->vlek ? "VLEK" : "VCEK");
	c->product = p;
	return COLB_OK;
}

static colb_err add_to_writer(colb_amd_input *in, colb_writer *w, const char *path, const uint8_t *d, size_t len,
			      const char *src)
{
	colb_err rc = colb_writer_add_file(w, path, d, len, NULL, NULL);
	if (rc)
		return fail(in, rc, "%s: %s", src, colb_writer_error(w));
	return COLB_OK;
}

static int cert_order(const void *a, const void *b)
{
	const in_cert *x = a, *y = b;
	if (x->vlek != y->vlek)
		return x->vlek - y->vlek;
	if (x->product != y->product)
		return (int)x->product - (int)y->product;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	return x->tcbm < y->tcbm ? -1 : x->tcbm > y->tcbm;
}

colb_err colb_amd_input_write(colb_amd_input *in, colb_writer *w)
{
	if (!in || !w)
		return COLB_ERR_INVALID_ARG;
	colb_err rc;
	char why[512];
	bool need[4][2] = {{false}};
	for (int p = 1; p < 4; p++) {
		need[p][0] = in->chain[p][0].data || in->crl[p].data;
		need[p][1] = in->chain[p][1].data != NULL;
	}
	for (size_t i = 0; i < in->ncerts; i++) {
		if ((rc = resolve_product(in, &in->certs[i])))
			return rc;
		need[in->certs[i].product][in->certs[i].vlek] = true;
	}
	amd_chain chains[4][2];
	amd_crl crls[4];
	memset(chains, 0, sizeof chains);
	memset(crls, 0, sizeof crls);
	rc = COLB_OK;

	/* chains and CRLs */
	for (int p = 1; p < 4 && !rc; p++) {
		const char *pname = colb_amd_product_name((colb_amd_product)p);
		for (int v = 0; v < 2 && !rc; v++) {
			if (!need[p][v])
				continue;
			in_file *f = &in->chain[p][v];
			const char *pem = f->data ? (const char *)f->data : amd_builtin_chain((colb_amd_product)p, v);
			size_t len = f->data ? f->len : strlen(pem);
			char src[PATH_MAX + 64];
			if (f->src)
				snprintf(src, sizeof src, "%s", f->src);
			else
				snprintf(src, sizeof src, "the built-in %s %s chain", pname, v ? "VLEK" : "VCEK");
			rc = amd_chain_verify(pem, len, (colb_amd_product)p, v, in->trust, in->at, &chains[p][v], why,
					      sizeof why);
			if (rc) {
				fail(in, rc, "%s: %s", src, why);
				break;
			}
			if (in->crl[p].data) {
				if (!crls[p].crl) {
					rc = amd_crl_verify(in->crl[p].data, in->crl[p].len, &chains[p][v], in->at, &crls[p],
							    why, sizeof why);
					if (rc) {
						fail(in, rc, "%s: %s", in->crl[p].src, why);
						break;
					}
				}
				rc = amd_crl_check_chain(&crls[p], &chains[p][v], why, sizeof why);
				if (rc) {
					fail(in, rc, "%s: %s", src, why);
					break;
				}
			}
			char path[64];
			snprintf(path, sizeof path, "amd/%s/%s.pem", pname, v ? "vlek_cert_chain" : "cert_chain");
			rc = add_to_writer(in, w, path, (const uint8_t *)pem, len, src);
		}
		if (!rc && in->crl[p].data) {
			if (!crls[p].crl) /* a CRL without anything else: check it with the built-in chain */
				continue;
			char path[64];
			snprintf(path, sizeof path, "amd/%s/crl.der", pname);
			rc = add_to_writer(in, w, path, in->crl[p].data, in->crl[p].len, in->crl[p].src);
		}
	}

	/* VCEKs and VLEKs, in a stable order, duplicates folded */
	if (!rc && in->ncerts)
		qsort(in->certs, in->ncerts, sizeof *in->certs, cert_order);
	in_cert *prev = NULL;
	for (size_t i = 0; i < in->ncerts && !rc; i++) {
		in_cert *c = &in->certs[i];
		amd_endorsement e;
		const char *what = c->vlek ? "VLEK" : "VCEK";
		rc = amd_endorsement_verify(c->data, c->len, &chains[c->product][c->vlek], in->at, &e, why, sizeof why);
		if (rc) {
			fail(in, rc, "%s: %s", c->src, why);
			break;
		}
		const char *id = c->vlek ? e.ext.csp : e.hwid_hex;
		if (c->id_known && strcmp(c->id, id) != 0) {
			rc = fail(in, COLB_ERR_MISFILED, "%s: the %s's %s is %s, it is filed under %s", c->src, what,
				  c->vlek ? "csp_id" : "hwid", id, c->id);
			break;
		}
		if (c->tcb_known && c->tcbm != e.tcbm) {
			rc = fail(in, COLB_ERR_MISFILED, "%s: the %s's TCB is %016llx, it is filed under %016llx", c->src,
				  what, (unsigned long long)e.tcbm, (unsigned long long)c->tcbm);
			break;
		}
		bool turin = c->product == COLB_AMD_TURIN;
		if (c->name_tcb_known &&
		    (c->name_tcb.bl != e.tcb.bl || c->name_tcb.tee != e.tcb.tee || c->name_tcb.snp != e.tcb.snp ||
		     c->name_tcb.ucode != e.tcb.ucode || c->name_has_fmc != turin ||
		     (turin && c->name_tcb.fmc != e.tcb.fmc))) {
			rc = fail(in, COLB_ERR_MISFILED, "%s: the VCEK's SPLs (bl %u tee %u snp %u ucode %u fmc %u) "
							 "differ from its file name",
				  c->src, e.tcb.bl, e.tcb.tee, e.tcb.snp, e.tcb.ucode, e.tcb.fmc);
			break;
		}
		if (c->vlek && !is_name(id)) {
			rc = fail(in, COLB_ERR_COLLATERAL, "%s: csp_id '%s' is not a usable name ([A-Za-z0-9._-])", c->src,
				  id);
			break;
		}
		snprintf(c->id, sizeof c->id, "%s", id);
		c->tcbm = e.tcbm;
		if (prev && !cert_order(prev, c)) {
			if (prev->len != c->len || memcmp(prev->data, c->data, c->len) != 0) {
				rc = fail(in, COLB_ERR_DUPLICATE_ENTRY, "%s and %s: two different %ss for the same %s and TCB",
					  prev->src, c->src, what, c->vlek ? "provider" : "chip");
				break;
			}
			continue;
		}
		char path[300], tcb[17];
		colb_amd_tcbm_hex(e.tcbm, tcb);
		snprintf(path, sizeof path, "amd/%s/%s/%s/%s.der", colb_amd_product_name(c->product),
			 c->vlek ? "vlek" : "vcek", id, tcb);
		rc = add_to_writer(in, w, path, c->data, c->len, c->src);
		prev = c;
	}
	for (size_t i = 0; i < in->nreports && !rc; i++) {
		char path[128];
		snprintf(path, sizeof path, "amd/reports/%s.bin", in->report_names[i]);
		rc = add_to_writer(in, w, path, in->reports[i].data, in->reports[i].len, in->reports[i].src);
	}
	for (int p = 0; p < 4; p++) {
		amd_chain_clear(&chains[p][0]);
		amd_chain_clear(&chains[p][1]);
		amd_crl_clear(&crls[p]);
	}
	return rc;
}
