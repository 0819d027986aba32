/*
 * mock.c — colb-mock: a loopback-only stand-in for Intel PCS v4 and AMD KDS
 * that serves a colb-pkigen output directory with the real services' shapes,
 * and injects faults on demand so tests can pin what capture does with them.
 *
 *   colb-mock --root OUT [--port N] [--port-file F] [--latency-ms MS]
 *             [--fault SPEC]... [--api-key-file F] [--log F] [--lifetime S]
 *
 * SPEC is KIND[:MATCH[:COUNT[:PARAM]]]: the first COUNT requests (default
 * all) whose path+query contains MATCH (default any) get the fault. KINDs:
 *   429 (PARAM = Retry-After seconds, default 1), 500, 503, 404,
 *   reset (close the connection without an answer),
 *   truncate (announce the full length, send half, close),
 *   badsig (flip a byte of the signature of the served body),
 *   wrongroot (issuer chain re-signed under a root that is not the real one),
 *   delay (PARAM = extra milliseconds).
 * Control endpoints: GET /_mock/fault?spec=SPEC adds a rule, /_mock/clear
 * drops all rules, /_mock/stats answers {"requests":N,"faults":N,"with_key":N}.
 *
 * Not part of the product: test code, never installed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/util.h"

#define MAX_FILE (64u << 20)
#define MAX_RULES 64

#if MHD_VERSION < 0x00097002
typedef int mhd_ret;
#else
typedef enum MHD_Result mhd_ret;
#endif

typedef enum fault_kind {
	F_NONE, F_429, F_500, F_503, F_404, F_RESET, F_TRUNCATE, F_BADSIG, F_WRONGROOT, F_DELAY
} fault_kind;

static const char *const fault_names[] = {
	"none", "429", "500", "503", "404", "reset", "truncate", "badsig", "wrongroot", "delay"
};

typedef struct rule {
	fault_kind kind;
	char match[200];
	long remaining; /* < 0: unlimited */
	long param;
} rule;

/* One platform of the PCK ID CSV: how pckcerts finds its file. */
typedef struct platform {
	char *encppid; /* lower case */
	char qeid[33];
	char pceid[5];
} platform;

static struct {
	const char *root;
	unsigned latency_ms;
	char *api_key;
	FILE *log;
	platform *plats;
	size_t nplats;
	rule rules[MAX_RULES];
	size_t nrules;
	unsigned long requests, faults, with_key;
	pthread_mutex_t lock;
	EVP_PKEY *fake_root_key;
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- small helpers --------------------------------------------------------- */

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("colb-mock: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static uint8_t *load(const char *rel, size_t *len)
{
	char path[4096];
	uint8_t *d = NULL;
	snprintf(path, sizeof path, "%s/%s", M.root, rel);
	if (colb_read_file(path, MAX_FILE, &d, len, NULL, 0) != COLB_OK)
		return NULL;
	return d;
}

static bool parse_rule(const char *spec, rule *r)
{
	char buf[300];
	snprintf(buf, sizeof buf, "%s", spec);
	char *parts[4] = { 0 };
	size_t n = 0;
	char *p = buf;
	while (n < 4) {
		parts[n++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	memset(r, 0, sizeof *r);
	r->kind = F_NONE;
	for (size_t k = 1; k < COLB_ARRAY_LEN(fault_names); k++)
		if (!strcmp(parts[0], fault_names[k]))
			r->kind = (fault_kind)k;
	if (r->kind == F_NONE)
		return false;
	if (parts[1] && strcmp(parts[1], "*"))
		snprintf(r->match, sizeof r->match, "%s", parts[1]);
	r->remaining = parts[2] && *parts[2] ? strtol(parts[2], NULL, 10) : -1;
	r->param = parts[3] && *parts[3] ? strtol(parts[3], NULL, 10) : -1;
	if (r->kind == F_429 && r->param < 0)
		r->param = 1;
	return true;
}

static bool add_rule(const char *spec)
{
	rule r;
	if (!parse_rule(spec, &r))
		return false;
	pthread_mutex_lock(&M.lock);
	bool ok = M.nrules < MAX_RULES;
	if (ok)
		M.rules[M.nrules++] = r;
	pthread_mutex_unlock(&M.lock);
	return ok;
}

/* The first live rule matching the request, consumed. */
static rule take_fault(const char *target)
{
	rule hit = { .kind = F_NONE };
	pthread_mutex_lock(&M.lock);
	for (size_t i = 0; i < M.nrules; i++) {
		rule *r = &M.rules[i];
		if (r->remaining == 0 || (r->match[0] && !strstr(target, r->match)))
			continue;
		if (r->remaining > 0)
			r->remaining--;
		hit = *r;
		M.faults++;
		break;
	}
	pthread_mutex_unlock(&M.lock);
	return hit;
}

static void load_platforms(void)
{
	size_t len;
	char *csv = (char *)load("intel-pckid.csv", &len);
	if (!csv)
		return;
	char *save = NULL;
	for (char *line = strtok_r(csv, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *f[5] = { 0 };
		size_t n = 0;
		for (char *p = line; n < 5 && p; n++) {
			f[n] = p;
			p = strchr(p, ',');
			if (p)
				*p++ = 0;
		}
		if (n < 5 || strlen(f[1]) != 4 || strlen(f[4]) != 32)
			continue;
		platform *np = realloc(M.plats, (M.nplats + 1) * sizeof *np);
		if (!np)
			die("out of memory");
		M.plats = np;
		platform *pl = &M.plats[M.nplats++];
		pl->encppid = strdup(f[0]);
		lower(pl->encppid);
		snprintf(pl->qeid, sizeof pl->qeid, "%s", f[4]);
		snprintf(pl->pceid, sizeof pl->pceid, "%s", f[1]);
		upper(pl->qeid);
		upper(pl->pceid);
	}
	free(csv);
}

/* ---- answers ---------------------------------------------------------------- */

typedef struct answer {
	unsigned status;
	colb_buf body;
	const char *ctype;
	char hdr_names[32][64];
	char *hdr_values[32];
	size_t nhdr;
} answer;

static void ans_header(answer *a, const char *name, const char *value)
{
	if (a->nhdr >= COLB_ARRAY_LEN(a->hdr_values))
		return;
	snprintf(a->hdr_names[a->nhdr], sizeof a->hdr_names[0], "%s", name);
	a->hdr_values[a->nhdr++] = strdup(value);
}

static void ans_error(answer *a, unsigned status, const char *code, const char *msg)
{
	a->status = status;
	colb_buf_reset(&a->body);
	a->ctype = "text/plain";
	if (code) {
		ans_header(a, "Error-Code", code);
		ans_header(a, "Error-Message", msg);
	}
	if (colb_buf_append_str(&a->body, msg) != COLB_OK)
		a->body.len = 0;
}

/* Serves rel (and the headers of rel.hdr) as the answer. */
static bool ans_file(answer *a, const char *rel, const char *ctype)
{
	size_t len;
	uint8_t *d = load(rel, &len);
	if (!d)
		return false;
	colb_buf_reset(&a->body);
	if (colb_buf_append(&a->body, d, len) != COLB_OK) {
		free(d);
		return false;
	}
	free(d);
	a->status = 200;
	a->ctype = ctype;
	char hrel[4096];
	snprintf(hrel, sizeof hrel, "%s.hdr", rel);
	char *h = (char *)load(hrel, &len);
	if (h) {
		char *save = NULL; /* strtok_r: every connection has its own thread */
		for (char *line = strtok_r(h, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
			char *c = strchr(line, ':');
			if (!c)
				continue;
			*c = 0;
			const char *v = c + 1;
			while (*v == ' ')
				v++;
			if (!strcasecmp(line, "Content-Length") || !strcasecmp(line, "Transfer-Encoding") ||
			    !strcasecmp(line, "Connection") || !strcasecmp(line, "Request-ID"))
				continue;
			ans_header(a, line, v);
		}
		free(h);
	}
	return true;
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static bool hex_ok(const char *s, size_t n)
{
	return s && strlen(s) == n && colb_is_hex(s, n);
}

/* The evaluation number a tcb/identity request asks for: update=standard|early
 * through tcb-sets.json (with its per-FMSPC exceptions), or the explicit N. */
static long eval_number(answer *a, struct MHD_Connection *c, const char *tee, const char *fmspc)
{
	const char *upd = arg(c, "update"), *num = arg(c, "tcbEvaluationDataNumber");
	if (upd && num) {
		ans_error(a, 400, "InvalidRequestSyntax", "update and tcbEvaluationDataNumber are exclusive");
		return -1;
	}
	if (num) {
		uint64_t n;
		if (!colb_parse_u64(num, &n) || n > 1000000) {
			ans_error(a, 400, "InvalidRequestSyntax", "bad tcbEvaluationDataNumber");
			return -1;
		}
		return (long)n;
	}
	if (!upd)
		upd = "standard";
	if (strcmp(upd, "standard") && strcmp(upd, "early")) {
		ans_error(a, 400, "InvalidRequestSyntax", "bad update");
		return -1;
	}
	size_t len;
	char *sets = (char *)load("intel/tcb-sets.json", &len);
	json_t *j = sets ? json_loadb(sets, len, 0, NULL) : NULL;
	free(sets);
	json_t *t = json_object_get(j, tee);
	json_t *v = json_object_get(t, upd);
	if (fmspc) {
		json_t *ex = json_object_get(json_object_get(json_object_get(t, "fmspc"), fmspc), upd);
		if (ex)
			v = ex;
	}
	long n = json_is_integer(v) ? (long)json_integer_value(v) : -1;
	json_decref(j);
	if (n < 0)
		ans_error(a, 404, NULL, "no such TCB set");
	return n;
}

static void intel_tcb(answer *a, struct MHD_Connection *c, const char *tee)
{
	const char *fm = arg(c, "fmspc");
	if (!hex_ok(fm, 12)) {
		ans_error(a, 400, "InvalidRequestSyntax", "fmspc must be 12 hex digits");
		return;
	}
	char f[13];
	snprintf(f, sizeof f, "%s", fm);
	upper(f);
	long n = eval_number(a, c, tee, f);
	if (n < 0)
		return;
	char rel[256];
	snprintf(rel, sizeof rel, "intel/%s/tcb/%s/%ld.json", tee, f, n);
	if (!ans_file(a, rel, "application/json"))
		ans_error(a, 404, NULL, "no TCB info for this FMSPC");
}

static void intel_identity(answer *a, struct MHD_Connection *c, const char *tee, const char *name)
{
	long n = eval_number(a, c, tee, NULL);
	if (n < 0)
		return;
	char rel[256];
	snprintf(rel, sizeof rel, "intel/%s/identity/%s/%ld.json", tee, name, n);
	if (!ans_file(a, rel, "application/json"))
		ans_error(a, 404, NULL, "no such identity");
}

static void intel_pckcerts(answer *a, struct MHD_Connection *c)
{
	const char *ppid = arg(c, "encrypted_ppid"), *pceid = arg(c, "pceid");
	if (!ppid || !hex_ok(pceid, 4) || !colb_is_hex(ppid, strlen(ppid)) || strlen(ppid) != 768) {
		ans_error(a, 400, "InvalidRequestSyntax", "encrypted_ppid (768 hex) and pceid (4 hex) required");
		return;
	}
	for (size_t i = 0; i < M.nplats; i++) {
		if (strcasecmp(M.plats[i].encppid, ppid) || strcasecmp(M.plats[i].pceid, pceid))
			continue;
		char rel[256];
		snprintf(rel, sizeof rel, "intel/sgx/pckcerts/%s-%s.json", M.plats[i].qeid, M.plats[i].pceid);
		if (ans_file(a, rel, "application/json"))
			return;
	}
	ans_error(a, 404, NULL, "no PCK certificates for this platform");
}

static void der_to_pem(answer *a, const char *label)
{
	char *b64 = colb_b64_encode(a->body.data, a->body.len);
	colb_buf out;
	colb_buf_init(&out, 0);
	if (!b64 || colb_buf_printf(&out, "-----BEGIN %s-----\n", label) != COLB_OK)
		goto done;
	for (size_t i = 0, n = strlen(b64); i < n; i += 64)
		if (colb_buf_append(&out, b64 + i, n - i < 64 ? n - i : 64) != COLB_OK ||
		    colb_buf_append_str(&out, "\n") != COLB_OK)
			goto done;
	if (colb_buf_printf(&out, "-----END %s-----\n", label) != COLB_OK)
		goto done;
	colb_buf_free(&a->body);
	a->body = out;
	out.data = NULL;
done:
	colb_buf_free(&out);
	free(b64);
}

static void intel_pckcrl(answer *a, struct MHD_Connection *c)
{
	const char *ca = arg(c, "ca"), *enc = arg(c, "encoding");
	if (!ca || (strcmp(ca, "processor") && strcmp(ca, "platform"))) {
		ans_error(a, 400, "InvalidRequestSyntax", "ca must be processor or platform");
		return;
	}
	if (enc && strcmp(enc, "der") && strcmp(enc, "pem")) {
		ans_error(a, 400, "InvalidRequestSyntax", "encoding must be der or pem");
		return;
	}
	char rel[256];
	snprintf(rel, sizeof rel, "intel/sgx/pckcrl/%s.der", ca);
	if (!ans_file(a, rel, "application/pkix-crl")) {
		ans_error(a, 404, NULL, "no such CRL");
		return;
	}
	if (!enc || !strcmp(enc, "pem")) {
		der_to_pem(a, "X509 CRL");
		a->ctype = "application/x-pem-file";
	}
}

static void intel_fmspcs(answer *a)
{
	if (ans_file(a, "intel/sgx/fmspcs.json", "application/json"))
		return;
	/* No listing was generated: list the FMSPCs that have SGX TCB info. */
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "ls '%s/intel/sgx/tcb' 2>/dev/null", M.root);
	FILE *p = popen(cmd, "r");
	json_t *arr = json_array();
	char line[64];
	while (p && fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = 0;
		if (hex_ok(line, 12))
			json_array_append_new(arr, json_pack("{s:s,s:s}", "fmspc", line, "platform", "E5"));
	}
	if (p)
		pclose(p);
	char *s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	colb_buf_reset(&a->body);
	if (s && colb_buf_append_str(&a->body, s) == COLB_OK) {
		a->status = 200;
		a->ctype = "application/json";
	} else {
		ans_error(a, 500, NULL, "out of memory");
	}
	free(s);
}

static bool product_ok(const char *p)
{
	return !strcmp(p, "Milan") || !strcmp(p, "Genoa") || !strcmp(p, "Turin");
}

static bool spl(struct MHD_Connection *c, const char *name, unsigned *out)
{
	const char *v = arg(c, name);
	uint64_t n;
	if (!v || !colb_parse_u64(v, &n) || n > 255)
		return false;
	*out = (unsigned)n;
	return true;
}

static void amd_route(answer *a, struct MHD_Connection *c, const char *url)
{
	char kind[8], prod[16], rest[200];
	if (sscanf(url, "/%7[a-z]/v1/%15[A-Za-z]/%199s", kind, prod, rest) != 3 ||
	    (strcmp(kind, "vcek") && strcmp(kind, "vlek")) || !product_ok(prod)) {
		ans_error(a, 404, NULL, "not found");
		return;
	}
	char rel[512];
	if (!strcmp(rest, "cert_chain")) {
		snprintf(rel, sizeof rel, "amd/%s/%s.pem", prod,
			 strcmp(kind, "vcek") ? "vlek_cert_chain" : "cert_chain");
		if (!ans_file(a, rel, "application/x-pem-file"))
			ans_error(a, 404, NULL, "not found");
		return;
	}
	if (!strcmp(rest, "crl")) {
		snprintf(rel, sizeof rel, "amd/%s/crl.der", prod);
		if (!ans_file(a, rel, "application/pkix-crl"))
			ans_error(a, 404, NULL, "not found");
		return;
	}
	if (strcmp(kind, "vcek")) {
		ans_error(a, 404, NULL, "not found");
		return;
	}
	bool turin = !strcmp(prod, "Turin");
	char hwid[129];
	if (!hex_ok(rest, turin ? 16 : 128)) {
		ans_error(a, 400, NULL, "bad hwid");
		return;
	}
	memcpy(hwid, rest, strlen(rest) + 1);
	lower(hwid);
	unsigned bl, tee, snp, uc, fmc = 0;
	if (!spl(c, "blSPL", &bl) || !spl(c, "teeSPL", &tee) || !spl(c, "snpSPL", &snp) ||
	    !spl(c, "ucodeSPL", &uc) || (turin && !spl(c, "fmcSPL", &fmc))) {
		ans_error(a, 400, NULL, "missing or bad SPL parameters");
		return;
	}
	uint8_t t[8] = { 0 }; /* little-endian REPORTED_TCB bytes */
	if (turin) {
		t[0] = (uint8_t)fmc, t[1] = (uint8_t)bl, t[2] = (uint8_t)tee, t[3] = (uint8_t)snp;
	} else {
		t[0] = (uint8_t)bl, t[1] = (uint8_t)tee, t[6] = (uint8_t)snp;
	}
	t[7] = (uint8_t)uc;
	char tcbm[17];
	for (int i = 0; i < 8; i++)
		snprintf(tcbm + 2 * i, 3, "%02x", t[7 - i]);
	snprintf(rel, sizeof rel, "amd/%s/vcek/%s/%s.der", prod, hwid, tcbm);
	if (!ans_file(a, rel, "application/x-x509-ca-cert"))
		ans_error(a, 404, NULL, "not found");
}

static void route(answer *a, struct MHD_Connection *c, const char *url)
{
	if (!strcmp(url, "/IntelSGXRootCA.der")) {
		if (!ans_file(a, "intel/rootcacrl.der", "application/pkix-crl"))
			ans_error(a, 404, NULL, "not found");
		return;
	}
	const char *tee = NULL, *rest = NULL;
	if (!strncmp(url, "/sgx/certification/v4/", 22))
		tee = "sgx", rest = url + 22;
	else if (!strncmp(url, "/tdx/certification/v4/", 22))
		tee = "tdx", rest = url + 22;
	if (!tee) {
		amd_route(a, c, url);
		return;
	}
	bool sgx = !strcmp(tee, "sgx");
	if (!strcmp(rest, "tcb"))
		intel_tcb(a, c, tee);
	else if (!strcmp(rest, "qe/identity"))
		intel_identity(a, c, tee, sgx ? "qe" : "td_qe");
	else if (sgx && !strcmp(rest, "qve/identity"))
		intel_identity(a, c, tee, "qve");
	else if (sgx && !strcmp(rest, "qae/identity"))
		intel_identity(a, c, tee, "qae");
	else if (!strcmp(rest, "tcbevaluationdatanumbers")) {
		char rel[128];
		snprintf(rel, sizeof rel, "intel/%s/tcbevaluationdatanumbers.json", tee);
		if (!ans_file(a, rel, "application/json"))
			ans_error(a, 404, NULL, "not found");
	} else if (sgx && !strcmp(rest, "pckcerts"))
		intel_pckcerts(a, c);
	else if (sgx && !strcmp(rest, "pckcrl"))
		intel_pckcrl(a, c);
	else if (sgx && !strcmp(rest, "fmspcs"))
		intel_fmspcs(a);
	else if (sgx && !strcmp(rest, "rootcacrl")) {
		/* PCCS's quirk: the Root CA CRL as hex text. */
		if (!ans_file(a, "intel/rootcacrl.der", "text/plain")) {
			ans_error(a, 404, NULL, "not found");
			return;
		}
		char *hex = malloc(a->body.len * 2 + 1);
		if (hex) {
			colb_hex_encode(a->body.data, a->body.len, hex, false);
			colb_buf_reset(&a->body);
			if (colb_buf_append_str(&a->body, hex) != COLB_OK)
				ans_error(a, 500, NULL, "out of memory");
			free(hex);
		}
	} else
		ans_error(a, 404, NULL, "not found");
}

/* ---- faults that change the served bytes ----------------------------------- */

/* Flips the last byte of a DER certificate (inside its signature) held as PEM. */
static char *flip_pem_cert(const char *pem, size_t len)
{
	BIO *in = BIO_new_mem_buf(pem, (int)len);
	X509 *x = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
	BIO_free(in);
	if (!x)
		return NULL;
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0)
		return NULL;
	der[n - 1] ^= 0x01;
	const unsigned char *p = der;
	x = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	if (!x)
		return NULL;
	BIO *out = BIO_new(BIO_s_mem());
	char *res = NULL;
	if (out && PEM_write_bio_X509(out, x)) {
		char *d;
		long m = BIO_get_mem_data(out, &d);
		res = strndup(d, (size_t)m);
	}
	BIO_free(out);
	X509_free(x);
	return res;
}

/* Replaces body[off, off+oldlen) with rep. */
static bool splice(colb_buf *b, size_t off, size_t oldlen, const char *rep)
{
	colb_buf out;
	colb_buf_init(&out, 0);
	bool ok = colb_buf_append(&out, b->data, off) == COLB_OK &&
		  colb_buf_append_str(&out, rep) == COLB_OK &&
		  colb_buf_append(&out, b->data + off + oldlen, b->len - off - oldlen) == COLB_OK;
	if (ok) {
		colb_buf_free(b);
		*b = out;
	} else {
		colb_buf_free(&out);
	}
	return ok;
}

static void fault_badsig(answer *a)
{
	char *body = (char *)a->body.data;
	if (!body || !a->body.len)
		return;
	char *sig = strstr(body, "\"signature\":\"");
	if (sig) { /* signed JSON: change one hex digit of r||s */
		char *h = sig + 13;
		*h = *h == '0' ? '1' : '0';
		return;
	}
	char *cert = strstr(body, "\"cert\":\"");
	if (cert) { /* pckcerts: flip the first certificate's signature */
		char *v = cert + 8, *end = strchr(v, '"');
		size_t pemlen;
		char *pem = end ? colb_percent_decode(v, (size_t)(end - v), &pemlen) : NULL;
		char *flipped = pem ? flip_pem_cert(pem, pemlen) : NULL;
		char *enc = flipped ? colb_percent_encode(flipped, strlen(flipped)) : NULL;
		if (enc)
			splice(&a->body, (size_t)(v - body), (size_t)(end - v), enc);
		free(pem);
		free(flipped);
		free(enc);
		return;
	}
	char *begin = strstr(body, "-----BEGIN CERTIFICATE-----");
	if (begin) { /* PEM chain: flip the first certificate */
		char *end = strstr(begin, "-----END CERTIFICATE-----");
		if (!end)
			return;
		end += 25;
		char *flipped = flip_pem_cert(begin, (size_t)(end - begin));
		if (flipped) {
			size_t fl = strlen(flipped);
			if (fl && flipped[fl - 1] == '\n')
				flipped[fl - 1] = 0; /* the span replaced ends before its LF */
			splice(&a->body, (size_t)(begin - body), (size_t)(end - begin), flipped);
		}
		free(flipped);
		return;
	}
	/* DER (CRL, VCEK): the signature is the last thing in the encoding. */
	a->body.data[a->body.len - 1] ^= 0x01;
}

/* The chain's PEM certificates re-issued so that they lead to a root with
 * the real root's name but a key of our own: a chain to the wrong root. */
static char *wrong_root_chain(const char *pem, size_t len)
{
	BIO *in = BIO_new_mem_buf(pem, (int)len);
	X509 *certs[8];
	size_t n = 0;
	while (in && n < COLB_ARRAY_LEN(certs)) {
		X509 *x = PEM_read_bio_X509(in, NULL, NULL, NULL);
		if (!x)
			break;
		certs[n++] = x;
	}
	BIO_free(in);
	char *res = NULL;
	BIO *out = NULL;
	if (n < 2)
		goto done;
	X509 *root = certs[n - 1];
	/* The fake root: same name and validity, our key, self-signed. */
	X509_set_pubkey(root, M.fake_root_key);
	if (!X509_sign(root, M.fake_root_key, EVP_sha256()))
		goto done;
	/* The certificate below it now signed by the fake root. */
	if (!X509_sign(certs[n - 2], M.fake_root_key, EVP_sha256()))
		goto done;
	out = BIO_new(BIO_s_mem());
	for (size_t i = 0; out && i < n; i++)
		if (!PEM_write_bio_X509(out, certs[i]))
			goto done;
	char *d;
	long m = out ? BIO_get_mem_data(out, &d) : 0;
	if (m > 0)
		res = strndup(d, (size_t)m);
done:
	BIO_free(out);
	for (size_t i = 0; i < n; i++)
		X509_free(certs[i]);
	return res;
}

static void fault_wrongroot(answer *a)
{
	for (size_t i = 0; i < a->nhdr; i++) {
		size_t nl = strlen(a->hdr_names[i]);
		if (nl < 12 || strcasecmp(a->hdr_names[i] + nl - 12, "Issuer-Chain"))
			continue;
		size_t pemlen;
		char *pem = colb_percent_decode(a->hdr_values[i], strlen(a->hdr_values[i]), &pemlen);
		char *chain = pem ? wrong_root_chain(pem, pemlen) : NULL;
		char *enc = chain ? colb_percent_encode(chain, strlen(chain)) : NULL;
		if (enc) {
			free(a->hdr_values[i]);
			a->hdr_values[i] = enc;
		}
		free(pem);
		free(chain);
	}
	if (a->body.len && strstr((char *)a->body.data, "-----BEGIN CERTIFICATE-----")) {
		char *chain = wrong_root_chain((char *)a->body.data, a->body.len);
		if (chain) {
			colb_buf_reset(&a->body);
			if (colb_buf_append_str(&a->body, chain) != COLB_OK)
				a->body.len = 0;
		}
		free(chain);
	}
}

/* ---- the server ------------------------------------------------------------- */

typedef struct trunc_body {
	uint8_t *data;
	size_t len;   /* what is sent before the connection is cut */
} trunc_body;

static ssize_t trunc_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	trunc_body *t = cls;
	if (pos >= t->len)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = t->len - (size_t)pos < max ? t->len - (size_t)pos : max;
	memcpy(buf, t->data + pos, n);
	return (ssize_t)n;
}

static void trunc_free(void *cls)
{
	trunc_body *t = cls;
	free(t->data);
	free(t);
}

static mhd_ret collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	colb_buf *b = cls;
	(void)kind;
	if (colb_buf_printf(b, "%s%s=%s", b->len && strchr((char *)b->data, '?') ? "&" : "?", key,
			    value ? value : "") != COLB_OK)
		return MHD_NO;
	return MHD_YES;
}

static void sleep_ms(long ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static mhd_ret control(struct MHD_Connection *c, const char *url)
{
	char msg[256];
	unsigned status = 200;
	if (!strcmp(url, "/_mock/fault")) {
		const char *spec = arg(c, "spec");
		if (!spec || !add_rule(spec)) {
			status = 400;
			snprintf(msg, sizeof msg, "bad fault spec\n");
		} else {
			snprintf(msg, sizeof msg, "ok\n");
		}
	} else if (!strcmp(url, "/_mock/clear")) {
		pthread_mutex_lock(&M.lock);
		M.nrules = 0;
		pthread_mutex_unlock(&M.lock);
		snprintf(msg, sizeof msg, "ok\n");
	} else if (!strcmp(url, "/_mock/stats")) {
		pthread_mutex_lock(&M.lock);
		snprintf(msg, sizeof msg, "{\"requests\":%lu,\"faults\":%lu,\"with_key\":%lu}\n",
			 M.requests, M.faults, M.with_key);
		pthread_mutex_unlock(&M.lock);
	} else {
		status = 404;
		snprintf(msg, sizeof msg, "not found\n");
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
	mhd_ret ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_ret handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
		      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls, (void)version, (void)upload;
	if (!*con_cls) { /* first call: headers only */
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* no request bodies are served; drop them */
		return MHD_YES;
	}
	if (!strncmp(url, "/_mock/", 7))
		return control(c, url);

	colb_buf target;
	colb_buf_init(&target, 64 * 1024);
	if (colb_buf_append_str(&target, url) != COLB_OK)
		return MHD_NO;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &target);
	const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Ocp-Apim-Subscription-Key");

	pthread_mutex_lock(&M.lock);
	M.requests++;
	if (key)
		M.with_key++;
	pthread_mutex_unlock(&M.lock);

	sleep_ms(M.latency_ms);
	rule f = take_fault((char *)target.data);
	if (f.kind == F_DELAY)
		sleep_ms(f.param);

	answer a = { .status = 500 };
	colb_buf_init(&a.body, MAX_FILE);
	mhd_ret ret = MHD_NO;
	if (f.kind == F_RESET)
		goto log;
	if (strcmp(method, "GET")) {
		ans_error(&a, 405, NULL, "only GET is served");
	} else if (M.api_key && !strncmp(url, "/sgx/certification/v4/pckcert", 29) &&
		   (!key || strcmp(key, M.api_key))) {
		ans_error(&a, 401, NULL, "missing or invalid subscription key");
	} else if (f.kind == F_429) {
		char ra[32];
		snprintf(ra, sizeof ra, "%ld", f.param);
		ans_error(&a, 429, NULL, "too many requests");
		ans_header(&a, "Retry-After", ra);
	} else if (f.kind == F_500 || f.kind == F_503 || f.kind == F_404) {
		ans_error(&a, f.kind == F_500 ? 500 : f.kind == F_503 ? 503 : 404, NULL, "injected fault");
	} else {
		route(&a, c, url);
		if (a.status == 200 && f.kind == F_BADSIG)
			fault_badsig(&a);
		if (a.status == 200 && f.kind == F_WRONGROOT)
			fault_wrongroot(&a);
	}

	struct MHD_Response *r;
	if (f.kind == F_TRUNCATE && a.status == 200 && a.body.len > 1) {
		trunc_body *t = malloc(sizeof *t);
		if (!t)
			goto log;
		size_t full;
		t->len = a.body.len / 2;
		t->data = colb_buf_steal(&a.body, &full);
		r = MHD_create_response_from_callback(full, 4096, trunc_read, t, trunc_free);
	} else {
		r = MHD_create_response_from_buffer(a.body.len, a.body.data, MHD_RESPMEM_MUST_COPY);
	}
	if (!r)
		goto log;
	MHD_add_response_header(r, "Content-Type", a.ctype ? a.ctype : "text/plain");
	for (size_t i = 0; i < a.nhdr; i++)
		MHD_add_response_header(r, a.hdr_names[i], a.hdr_values[i]);
	char rid[33];
	uint8_t rb[16];
	for (size_t i = 0; i < sizeof rb; i++)
		rb[i] = (uint8_t)rand();
	colb_hex_encode(rb, sizeof rb, rid, false);
	MHD_add_response_header(r, "Request-ID", rid);
	ret = MHD_queue_response(c, a.status, r);
	MHD_destroy_response(r);
log:
	if (M.log) {
		pthread_mutex_lock(&M.lock);
		fprintf(M.log, "%u %s %s key=%d fault=%s\n", f.kind == F_RESET ? 0 : a.status, method,
			(char *)target.data, key != NULL, fault_names[f.kind]);
		fflush(M.log);
		pthread_mutex_unlock(&M.lock);
	}
	for (size_t i = 0; i < a.nhdr; i++)
		free(a.hdr_values[i]);
	colb_buf_free(&a.body);
	colb_buf_free(&target);
	return ret;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fputs("usage: colb-mock --root PKIGEN_OUT [--port N] [--port-file FILE] [--latency-ms MS]\n"
	      "                 [--fault KIND[:MATCH[:COUNT[:PARAM]]]]... [--api-key-file FILE]\n"
	      "                 [--log FILE] [--lifetime SECONDS]\n"
	      "Serves Intel PCS v4 and AMD KDS paths from a colb-pkigen directory on 127.0.0.1.\n"
	      "Fault kinds: 429 500 503 404 reset truncate badsig wrongroot delay.\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned port = 0;
	long lifetime = 600;
	const char *port_file = NULL;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "-h") || !strcmp(o, "--help"))
			usage();
		if (!v)
			usage();
		i++;
		if (!strcmp(o, "--root"))
			M.root = v;
		else if (!strcmp(o, "--port"))
			port = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(o, "--port-file"))
			port_file = v;
		else if (!strcmp(o, "--latency-ms"))
			M.latency_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(o, "--lifetime"))
			lifetime = strtol(v, NULL, 10);
		else if (!strcmp(o, "--fault")) {
			if (!add_rule(v))
				die("bad fault spec '%s'", v);
		} else if (!strcmp(o, "--api-key-file")) {
			size_t len;
			uint8_t *k = NULL;
			if (colb_read_file(v, 4096, &k, &len, NULL, 0) != COLB_OK)
				die("cannot read %s", v);
			k[strcspn((char *)k, "\r\n")] = 0;
			M.api_key = (char *)k;
		} else if (!strcmp(o, "--log")) {
			M.log = fopen(v, "a");
			if (!M.log)
				die("cannot open %s", v);
		} else
			usage();
	}
	if (!M.root)
		usage();
	load_platforms();
	M.fake_root_key = EVP_EC_gen("P-256");
	if (!M.fake_root_key)
		die("cannot generate a key");
	srand((unsigned)time(NULL) ^ (unsigned)getpid());

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, always */
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
		(uint16_t)port, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_END);
	if (!d)
		die("cannot listen on 127.0.0.1:%u", port);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned bound = info ? info->port : port;
	if (port_file) {
		char tmp[4096], txt[16];
		snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
		snprintf(txt, sizeof txt, "%u\n", bound);
		FILE *f = fopen(tmp, "w");
		if (!f || fputs(txt, f) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0)
			die("cannot write %s", port_file);
	} else {
		printf("%u\n", bound);
		fflush(stdout);
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* Bounded: a test that forgets to stop us does not leave us running. */
	for (long t = 0; !stop && (lifetime <= 0 || t < lifetime * 10); t++)
		sleep_ms(100);
	MHD_stop_daemon(d);
	EVP_PKEY_free(M.fake_root_key);
	return 0;
}
