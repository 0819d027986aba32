/*
 * request.c — the request-target parser of request.h.
 *
 * Everything here reads attacker-controlled bytes: every copy is bounded,
 * every number is checked for range, and a parameter given twice is refused
 * rather than guessed at. Unknown parameters are ignored, as the PCS and
 * KDS do (clients such as Intel's QCNL send PCCS-only ones to both).
 */
#include <stdio.h>
#include <string.h>

#include "serve/request.h"
#include "util/util.h"

typedef struct param {
	const char *key;
	const char *val;
	size_t val_len;
} param;

typedef struct query {
	char buf[SERVE_MAX_TARGET + 1];
	param p[SERVE_MAX_PARAMS];
	size_t n;
} query;

static const char *const route_names[SR__COUNT] = {
	[SR_NONE] = "unknown",
	[SR_HEALTHZ] = "healthz",
	[SR_METRICS] = "metrics",
	[SR_PCKCERT] = "pckcert",
	[SR_PCKCERTS] = "pckcerts",
	[SR_PCKCRL] = "pckcrl",
	[SR_TCB] = "tcb",
	[SR_IDENTITY] = "identity",
	[SR_EVALNUMS] = "tcbevaluationdatanumbers",
	[SR_FMSPCS] = "fmspcs",
	[SR_ROOTCACRL] = "rootcacrl",
	[SR_CRL_URI] = "crl",
	[SR_AMD_CERT] = "amd_cert",
	[SR_AMD_CHAIN] = "amd_cert_chain",
	[SR_AMD_CRL] = "amd_crl",
	[SR_THIM_AMD] = "thim_amd",
};

const char *serve_route_name(serve_route r)
{
	return (unsigned)r < SR__COUNT ? route_names[r] : "unknown";
}

const char *serve_amd_product_name(serve_amd_product p)
{
	switch (p) {
	case SA_MILAN:
		return "Milan";
	case SA_GENOA:
		return "Genoa";
	case SA_TURIN:
		return "Turin";
	}
	return "?";
}

/* The message goes out in an Error-Message header: the echoed piece of
 * input is clipped and anything but printable ASCII becomes '?'. */
static bool fail(serve_req *r, int status, const char *code, const char *fmt, const char *arg)
{
	char clip[65];
	size_t n = 0;
	for (; arg && arg[n] && n < sizeof clip - 1; n++)
		clip[n] = arg[n] >= 0x20 && arg[n] < 0x7f ? arg[n] : '?';
	clip[n] = 0;
	r->status = status; /* r->route stays: /metrics counts refusals by route */
	r->error_code = code;
	snprintf(r->error_msg, sizeof r->error_msg, fmt, clip);
	return false;
}

static bool bad(serve_req *r, const char *fmt, const char *arg)
{
	return fail(r, 400, "InvalidRequestSyntax", fmt, arg);
}

/* Percent-decodes in[0..n) into out (which has room for n + 1); false on a
 * malformed escape or an encoded NUL. */
static bool pct_decode(const char *in, size_t n, char *out, size_t *outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] != '%') {
			out[o++] = in[i];
			continue;
		}
		if (n - i < 3)
			return false;
		int hi = colb_hex_digit((unsigned char)in[i + 1]), lo = colb_hex_digit((unsigned char)in[i + 2]);
		if (hi < 0 || lo < 0 || (hi | lo) == 0)
			return false;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = 0;
	*outlen = o;
	return true;
}

/* Splits and decodes "k=v&k=v" into q; duplicates are refused. */
static bool parse_query(const char *s, size_t n, query *q, serve_req *r)
{
	q->n = 0;
	size_t used = 0;
	size_t i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && s[end] != '&')
			end++;
		if (end > i) {
			size_t eq = i;
			while (eq < end && s[eq] != '=')
				eq++;
			if (q->n == SERVE_MAX_PARAMS)
				return bad(r, "more than %s query parameters", "32");
			param *p = &q->p[q->n];
			size_t kl, vl;
			char *k = q->buf + used;
			if (!pct_decode(s + i, eq - i, k, &kl))
				return bad(r, "malformed percent-escape in a parameter name%s", NULL);
			used += kl + 1;
			char *v = q->buf + used;
			size_t vstart = eq < end ? eq + 1 : end;
			if (!pct_decode(s + vstart, end - vstart, v, &vl))
				return bad(r, "malformed percent-escape in parameter '%s'", k);
			used += vl + 1;
			if (strlen(k) != kl || strlen(v) != vl)
				return bad(r, "NUL byte in parameter '%s'", k);
			for (size_t j = 0; j < q->n; j++)
				if (!strcmp(q->p[j].key, k))
					return bad(r, "parameter '%s' given twice", k);
			p->key = k;
			p->val = v;
			p->val_len = vl;
			q->n++;
		}
		i = end + 1;
	}
	return true;
}

static const param *get(const query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (!strcmp(q->p[i].key, key))
			return &q->p[i];
	return NULL;
}

/* A hex parameter of exactly `bytes` bytes. Missing: false with 400 unless
 * optional (then *present = false). */
static bool hex_param(const query *q, const char *key, uint8_t *out, size_t bytes, bool optional, bool *present,
		      serve_req *r)
{
	const param *p = get(q, key);
	if (present)
		*present = p != NULL;
	if (!p) {
		if (optional)
			return true;
		return bad(r, "missing parameter '%s'", key);
	}
	if (p->val_len != 2 * bytes) {
		char msg[64];
		snprintf(msg, sizeof msg, "%s' must be %zu hex digits", key, 2 * bytes);
		return bad(r, "parameter '%s", msg);
	}
	if (!colb_hex_decode(p->val, p->val_len, out, bytes))
		return bad(r, "parameter '%s' is not hexadecimal", key);
	return true;
}

/* A little-endian 16-bit value written as 4 hex digits (pceid, pcesvn). */
static bool le16_param(const query *q, const char *key, uint16_t *out, serve_req *r)
{
	uint8_t b[2];
	if (!hex_param(q, key, b, 2, false, NULL, r))
		return false;
	*out = (uint16_t)(b[0] | b[1] << 8);
	return true;
}

/* A decimal number without sign or leading junk, at most max. */
static bool dec_value(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* update= / tcbEvaluationDataNumber= of tcb and the identities. */
static bool update_params(const query *q, serve_req *r)
{
	const param *u = get(q, "update"), *e = get(q, "tcbEvaluationDataNumber");
	if (u && e)
		return bad(r, "give either update%s or tcbEvaluationDataNumber, not both", NULL);
	r->update = SU_NONE;
	if (u) {
		if (!strcmp(u->val, "standard"))
			r->update = SU_STANDARD;
		else if (!strcmp(u->val, "early"))
			r->update = SU_EARLY;
		else
			return bad(r, "update must be 'standard' or 'early'%s", NULL);
	}
	if (e) {
		uint64_t v;
		if (!dec_value(e->val, e->val_len, UINT32_MAX, &v) || v == 0)
			return bad(r, "tcbEvaluationDataNumber must be a positive decimal number%s", NULL);
		r->update = SU_NUMBER;
		r->eval = (uint32_t)v;
	}
	return true;
}

/* The platform of pckcert and pckcerts: an encrypted PPID, or (as PCCS
 * clients also send it) a QE ID, which wins. */
static bool platform_params(const query *q, serve_req *r)
{
	bool has_qe2 = false;
	if (!hex_param(q, "qeid", r->qe_id, 16, true, &r->has_qe_id, r) ||
	    (!r->has_qe_id && !hex_param(q, "qe_id", r->qe_id, 16, true, &has_qe2, r)))
		return false;
	r->has_qe_id = r->has_qe_id || has_qe2;
	const param *p = get(q, "encrypted_ppid");
	if (p) {
		if (p->val_len == 0 || p->val_len % 2 || p->val_len > 2 * SERVE_MAX_ENC_PPID)
			return bad(r, "encrypted_ppid must be hex, at most 768 digits%s", NULL);
		if (!hex_param(q, "encrypted_ppid", r->enc_ppid, p->val_len / 2, false, NULL, r))
			return false;
		r->enc_ppid_len = p->val_len / 2;
	}
	if (!r->has_qe_id && !r->enc_ppid_len)
		return bad(r, "missing parameter 'encrypted_ppid'%s", NULL);
	return true;
}

static bool intel_route(const char *rest, size_t n, const query *q, serve_req *r)
{
	char name[32];
	if (n == 0 || n >= sizeof name)
		return fail(r, 404, "NotFound", "no such resource%s", NULL);
	memcpy(name, rest, n);
	name[n] = 0;
	bool sgx = r->tee == 0;

	if (!strcmp(name, "tcb")) {
		r->route = SR_TCB;
		return hex_param(q, "fmspc", r->fmspc, 6, false, NULL, r) && update_params(q, r);
	}
	if (!strcmp(name, "qe/identity") || (sgx && (!strcmp(name, "qve/identity") || !strcmp(name, "qae/identity")))) {
		r->route = SR_IDENTITY;
		r->identity = !sgx ? 3 : name[1] == 'e' ? 0 : name[1] == 'v' ? 1 : 2;
		return update_params(q, r);
	}
	if (!strcmp(name, "tcbevaluationdatanumbers")) {
		r->route = SR_EVALNUMS;
		return true;
	}
	if (!sgx)
		return fail(r, 404, "NotFound", "no such resource under /tdx/certification/v4/%s", NULL);
	if (!strcmp(name, "pckcert")) {
		r->route = SR_PCKCERT;
		if (!hex_param(q, "cpusvn", r->cpusvn, 16, false, NULL, r) || !le16_param(q, "pcesvn", &r->pcesvn, r) ||
		    !le16_param(q, "pceid", &r->pce_id, r))
			return false;
		return platform_params(q, r);
	}
	if (!strcmp(name, "pckcerts")) {
		r->route = SR_PCKCERTS;
		if (!le16_param(q, "pceid", &r->pce_id, r))
			return false;
		return platform_params(q, r);
	}
	if (!strcmp(name, "pckcrl")) {
		r->route = SR_PCKCRL;
		const param *ca = get(q, "ca"), *enc = get(q, "encoding");
		if (!ca)
			return bad(r, "missing parameter 'ca'%s", NULL);
		if (!strcmp(ca->val, "processor"))
			r->ca = 0;
		else if (!strcmp(ca->val, "platform"))
			r->ca = 1;
		else
			return bad(r, "ca must be 'processor' or 'platform'%s", NULL);
		if (enc && strcmp(enc->val, "der") && strcmp(enc->val, "pem"))
			return bad(r, "encoding must be 'der' or 'pem'%s", NULL);
		r->der = enc && !strcmp(enc->val, "der");
		return true;
	}
	if (!strcmp(name, "fmspcs")) {
		r->route = SR_FMSPCS;
		const param *p = get(q, "platform");
		static const char *const plats[] = { "all", "client", "E3", "E5" };
		r->platform = 0;
		if (p) {
			r->platform = -1;
			for (int i = 0; i < 4; i++)
				if (!strcmp(p->val, plats[i]))
					r->platform = i;
			if (r->platform < 0)
				return bad(r, "platform must be all, client, E3 or E5%s", NULL);
		}
		return true;
	}
	if (!strcmp(name, "rootcacrl")) {
		r->route = SR_ROOTCACRL;
		return true;
	}
	if (!strcmp(name, "crl")) {
		r->route = SR_CRL_URI;
		const param *u = get(q, "uri");
		if (!u)
			return bad(r, "missing parameter 'uri'%s", NULL);
		if (u->val_len > SERVE_MAX_URI)
			return bad(r, "uri is too long%s", NULL);
		/* The CRL distribution points Intel's certificates name: the root
		 * CA's DER file, and the PCS pckcrl URL of either PCK CA. */
		const char *v = u->val, *slash = strrchr(v, '/');
		const char *file = slash ? slash + 1 : v;
		if (!strcmp(file, "IntelSGXRootCA.der") || !strcmp(file, "IntelSGXRootCA.crl")) {
			r->ca = -1;
			return true;
		}
		if (strstr(v, "/pckcrl?") || strstr(v, "/pckcrl/")) {
			if (strstr(v, "ca=processor"))
				r->ca = 0;
			else if (strstr(v, "ca=platform"))
				r->ca = 1;
			else
				return fail(r, 404, "NotFound", "no CRL for uri %s", v);
			return true;
		}
		return fail(r, 404, "NotFound", "no CRL for uri %s", v);
	}
	return fail(r, 404, "NotFound", "no such resource%s", NULL);
}

static bool product_of(const char *s, size_t n, serve_amd_product *p)
{
	static const char *const names[] = { "Milan", "Genoa", "Turin" };
	for (int i = 0; i < 3; i++)
		if (strlen(names[i]) == n && !memcmp(s, names[i], n)) {
			*p = (serve_amd_product)i;
			return true;
		}
	return false;
}

/* One SPL parameter: decimal 0..255, zero-padded or not. */
static bool spl_param(const query *q, const char *key, bool required, uint8_t *out, serve_req *r)
{
	const param *p = get(q, key);
	*out = 0;
	if (!p)
		return required ? bad(r, "missing parameter '%s'", key) : true;
	uint64_t v;
	if (!dec_value(p->val, p->val_len, 255, &v))
		return bad(r, "parameter '%s' must be a decimal number 0 to 255", key);
	*out = (uint8_t)v;
	return true;
}

static bool spl_params(const query *q, serve_req *r)
{
	bool turin = r->product == SA_TURIN;
	if (!turin && get(q, "fmcSPL"))
		return bad(r, "fmcSPL is only for Turin%s", NULL);
	if (!spl_param(q, "blSPL", true, &r->bl, r) || !spl_param(q, "teeSPL", true, &r->tee_spl, r) ||
	    !spl_param(q, "snpSPL", true, &r->snp, r) || !spl_param(q, "ucodeSPL", true, &r->ucode, r) ||
	    !spl_param(q, "fmcSPL", turin, &r->fmc, r))
		return false;
	r->has_spl = true;
	return true;
}

static bool hwid_of(const char *s, size_t n, serve_req *r)
{
	size_t want = r->product == SA_TURIN ? 8 : 64;
	if (n != 2 * want)
		return bad(r, "the chip id must be %s hex digits for this product",
			   r->product == SA_TURIN ? "16" : "128");
	if (!colb_hex_decode(s, n, r->hwid, want))
		return bad(r, "the chip id is not hexadecimal%s", NULL);
	r->hwid_len = want;
	return true;
}

/* /{vcek,vlek}/v1/{product}/{hwid|cert_chain|crl} */
static bool amd_route(const char *rest, size_t n, const query *q, serve_req *r)
{
	const char *slash = memchr(rest, '/', n);
	if (!slash || !product_of(rest, (size_t)(slash - rest), &r->product))
		return fail(r, 404, "NotFound", "unknown product (Milan, Genoa or Turin)%s", NULL);
	const char *leaf = slash + 1;
	size_t ln = n - (size_t)(leaf - rest);
	if (ln == 10 && !memcmp(leaf, "cert_chain", 10)) {
		r->route = SR_AMD_CHAIN;
		return true;
	}
	if (ln == 3 && !memcmp(leaf, "crl", 3)) {
		r->route = SR_AMD_CRL;
		return true;
	}
	if (ln == 0 || memchr(leaf, '/', ln))
		return fail(r, 404, "NotFound", "no such resource%s", NULL);
	r->route = SR_AMD_CERT;
	if (r->vlek) {
		/* A VLEK is filed by its cloud provider id, as the raw layout names it. */
		if (ln >= sizeof r->csp)
			return bad(r, "the provider id is too long%s", NULL);
		for (size_t i = 0; i < ln; i++) {
			char c = leaf[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
			      c == '_' || c == '.'))
				return bad(r, "the provider id has a character outside [A-Za-z0-9._-]%s", NULL);
		}
		memcpy(r->csp, leaf, ln);
		r->csp[ln] = 0;
	} else if (!hwid_of(leaf, ln, r)) {
		return false;
	}
	return spl_params(q, r);
}

/* THIM: the chip named by product=&hwid=&tcbm= (or the KDS SPLs); with no
 * chip in the query the server maps the client's address. */
static bool thim_route(const query *q, serve_req *r)
{
	r->route = SR_THIM_AMD;
	const param *prod = get(q, "product"), *hw = get(q, "hwid");
	if (!hw)
		hw = get(q, "chip_id");
	if (!prod && !hw)
		return true;
	if (!prod || !hw)
		return bad(r, "name the chip by both product and hwid%s", NULL);
	if (!product_of(prod->val, prod->val_len, &r->product))
		return bad(r, "unknown product (Milan, Genoa or Turin)%s", NULL);
	if (!hwid_of(hw->val, hw->val_len, r))
		return false;
	r->has_chip = true;
	uint8_t t[8];
	bool has_tcbm = false;
	if (!hex_param(q, "tcbm", t, 8, true, &has_tcbm, r))
		return false;
	if (has_tcbm) {
		r->tcbm = 0;
		for (int i = 0; i < 8; i++)
			r->tcbm = r->tcbm << 8 | t[i];
		r->has_tcbm = true;
		return true;
	}
	/* No TCB at all: the server answers the highest one it carries. */
	if (!get(q, "blSPL"))
		return true;
	return spl_params(q, r);
}

static bool starts(const char *s, size_t n, const char *prefix, size_t *plen)
{
	size_t pl = strlen(prefix);
	if (n < pl || memcmp(s, prefix, pl))
		return false;
	*plen = pl;
	return true;
}

bool serve_parse_target(const char *target, size_t len, serve_req *r)
{
	query qq;
	memset(r, 0, sizeof *r);
	r->route = SR_NONE;
	if (len > SERVE_MAX_TARGET)
		return fail(r, 414, "RequestTooLong", "request target longer than %s bytes", "4096");
	if (len == 0 || target[0] != '/')
		return bad(r, "the request target must be an absolute path%s", NULL);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
			return bad(r, "control, space or non-ASCII byte in the request target%s", NULL);
	const char *qm = memchr(target, '?', len);
	size_t plen = qm ? (size_t)(qm - target) : len;
	if (memchr(target, '#', len))
		return bad(r, "fragment in the request target%s", NULL);
	if (!parse_query(qm ? qm + 1 : "", qm ? len - plen - 1 : 0, &qq, r))
		return false; /* before any route is known */
	/* The path is matched as sent: Intel's and AMD's paths have nothing to
	 * escape, so an escaped path names nothing we serve. */
	if (memchr(target, '%', plen))
		return fail(r, 404, "NotFound", "no such resource%s", NULL);

	const char *p = target;
	size_t n = plen, k;
	if (n == 8 && !memcmp(p, "/healthz", 8)) {
		r->route = SR_HEALTHZ;
		return true;
	}
	if (n == 8 && !memcmp(p, "/metrics", 8)) {
		r->route = SR_METRICS;
		return true;
	}
	if (n == 32 && !memcmp(p, "/metadata/THIM/amd/certification", 32))
		return thim_route(&qq, r);
	if (starts(p, n, "/metadata/THIM/", &k)) {
		/* THIM's Intel API: the PCS paths under a prefix. */
		r->thim_prefix = true;
		p += k - 1;
		n -= k - 1;
	}
	if (starts(p, n, "/sgx/certification/v4/", &k)) {
		r->tee = 0;
		return intel_route(p + k, n - k, &qq, r);
	}
	if (starts(p, n, "/tdx/certification/v4/", &k)) {
		r->tee = 1;
		return intel_route(p + k, n - k, &qq, r);
	}
	if (!r->thim_prefix && starts(p, n, "/vcek/v1/", &k))
		return amd_route(p + k, n - k, &qq, r);
	if (!r->thim_prefix && starts(p, n, "/vlek/v1/", &k)) {
		r->vlek = true;
		return amd_route(p + k, n - k, &qq, r);
	}
	return fail(r, 404, "NotFound", "no such resource%s", NULL);
}
