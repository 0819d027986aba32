/*
 * json.c — strict, bounded parsing of Intel's JSON: the signed bodies (TCB
 * info, enclave identities, evaluation-number lists), where the signature
 * covers the exact bytes of the inner object, and pckcerts answers.
 *
 * The inner object's bytes are found by a small scanner, never by
 * re-serializing: key order, spacing and escapes are the vendor's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "intel/intel_priv.h"
#include "util/util.h"

static colb_err whyf(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static colb_err whyf(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return COLB_ERR_COLLATERAL;
}
#define WHY(...) whyf(why, whylen, __VA_ARGS__)

/* ---- the scanner ------------------------------------------------------------ */

static const uint8_t *ws(const uint8_t *p, const uint8_t *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static bool skip_string(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	if (p >= end || *p != '"')
		return false;
	for (p++; p < end; p++) {
		if (*p == '"') {
			*pp = p + 1;
			return true;
		}
		if (*p < 0x20)
			return false;
		if (*p == '\\') {
			if (++p >= end)
				return false;
			if (*p == 'u') {
				if (end - p < 5 || !colb_is_hex((const char *)p + 1, 4))
					return false;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p)) {
				return false;
			}
		}
	}
	return false;
}

static bool skip_value(const uint8_t **pp, const uint8_t *end, int depth)
{
	const uint8_t *p = ws(*pp, end);
	if (p >= end || depth > INTEL_JSON_DEPTH)
		return false;
	if (*p == '"') {
		if (!skip_string(&p, end))
			return false;
	} else if (*p == '{' || *p == '[') {
		uint8_t close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';
		p = ws(p + 1, end);
		if (p < end && *p == close) {
			p++;
		} else {
			for (;;) {
				if (obj) {
					p = ws(p, end);
					if (!skip_string(&p, end))
						return false;
					p = ws(p, end);
					if (p >= end || *p != ':')
						return false;
					p++;
				}
				if (!skip_value(&p, end, depth + 1))
					return false;
				p = ws(p, end);
				if (p < end && *p == ',') {
					p++;
					continue;
				}
				if (p < end && *p == close) {
					p++;
					break;
				}
				return false;
			}
		}
	} else {
		const uint8_t *s = p;
		while (p < end && strchr("-+.0123456789eEtruefalsn", *p) && *p)
			p++;
		if (p == s)
			return false;
	}
	*pp = p;
	return true;
}

colb_err intel_split_signed(const uint8_t *body, size_t len, const char *wrapper, const uint8_t **inner,
			    size_t *inner_len, uint8_t sig[64], char *why, size_t whylen)
{
	if (len > INTEL_MAX_BODY)
		return WHY("body of %zu bytes is over the %u-byte cap", len, INTEL_MAX_BODY);
	const uint8_t *p = ws(body, body + len), *end = body + len;
	const uint8_t *in = NULL, *in_end = NULL, *sg = NULL;
	if (p >= end || *p != '{')
		return WHY("not a JSON object");
	p++;
	for (int nkeys = 0;; nkeys++) {
		p = ws(p, end);
		const uint8_t *k = p;
		if (nkeys >= 2 || !skip_string(&p, end))
			return WHY("expected exactly the keys \"%s\" and \"signature\"", wrapper);
		size_t klen = (size_t)(p - k) - 2;
		p = ws(p, end);
		if (p >= end || *p != ':')
			return WHY("malformed JSON after a key");
		p = ws(p + 1, end);
		const uint8_t *v = p;
		if (!skip_value(&p, end, 1))
			return WHY("malformed JSON value");
		if (klen == strlen(wrapper) && !memcmp(k + 1, wrapper, klen) && !in) {
			if (*v != '{')
				return WHY("\"%s\" is not an object", wrapper);
			in = v;
			in_end = p;
		} else if (klen == 9 && !memcmp(k + 1, "signature", 9) && !sg) {
			if (p - v != 130 || *v != '"' || !colb_is_hex((const char *)v + 1, 128))
				return WHY("\"signature\" is not 128 hex digits");
			sg = v + 1;
		} else {
			return WHY("unexpected key \"%.*s\"", (int)(klen > 40 ? 40 : klen), k + 1);
		}
		p = ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}') {
			p++;
			break;
		}
		return WHY("malformed JSON object");
	}
	if (ws(p, end) != end)
		return WHY("trailing bytes after the JSON object");
	if (!in || !sg)
		return WHY("missing \"%s\" or \"signature\"", in ? "signature" : wrapper);
	if (!colb_hex_decode((const char *)sg, 128, sig, 64))
		return WHY("bad signature hex");
	*inner = in;
	*inner_len = (size_t)(in_end - in);
	return COLB_OK;
}

/* ---- typed field access ------------------------------------------------------ */

static json_t *load(const uint8_t *data, size_t len, char *why, size_t whylen)
{
	json_error_t e;
	if (len > INTEL_MAX_BODY) {
		snprintf(why, whylen, "JSON of %zu bytes is over the cap", len);
		return NULL;
	}
	json_t *j = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		snprintf(why, whylen, "invalid JSON at line %d column %d: %s", e.line, e.column, e.text);
	return j;
}

static bool get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static const char *get_str(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool get_time(const json_t *o, const char *key, time_t *out)
{
	const char *s = get_str(o, key);
	return s && colb_time_parse(s, out);
}

static bool get_hex(const json_t *o, const char *key, uint8_t *out, size_t n)
{
	const char *s = get_str(o, key);
	return s && strlen(s) == 2 * n && colb_hex_decode(s, 2 * n, out, n);
}

/* A tcb object: {"sgxtcbcomponents":[16 x {"svn":N,...}],"pcesvn":N,...} or
 * the older {"sgxtcbcomp01svn":N,...,"sgxtcbcomp16svn":N,"pcesvn":N}. */
static bool parse_tcb(const json_t *t, intel_tcb *out)
{
	uint64_t v;
	if (!json_is_object(t) || !get_uint(t, "pcesvn", 0xffff, &v))
		return false;
	out->pcesvn = (uint16_t)v;
	json_t *arr = json_object_get(t, "sgxtcbcomponents");
	if (arr) {
		if (!json_is_array(arr) || json_array_size(arr) != 16)
			return false;
		for (size_t c = 0; c < 16; c++) {
			json_t *comp = json_array_get(arr, c);
			if (!json_is_object(comp) || !get_uint(comp, "svn", 255, &v))
				return false;
			out->comp[c] = (uint8_t)v;
		}
		json_t *tdx = json_object_get(t, "tdxtcbcomponents");
		if (tdx && (!json_is_array(tdx) || json_array_size(tdx) != 16))
			return false;
		return true;
	}
	for (int c = 0; c < 16; c++) {
		char key[32];
		snprintf(key, sizeof key, "sgxtcbcomp%02dsvn", c + 1);
		if (!get_uint(t, key, 255, &v))
			return false;
		out->comp[c] = (uint8_t)v;
	}
	return true;
}

static const char *const STATUSES[] = {"UpToDate",
				       "SWHardeningNeeded",
				       "ConfigurationNeeded",
				       "ConfigurationAndSWHardeningNeeded",
				       "OutOfDate",
				       "OutOfDateConfigurationNeeded",
				       "Revoked",
				       NULL};

static bool known_status(const char *s)
{
	for (const char *const *p = STATUSES; s && *p; p++)
		if (!strcmp(s, *p))
			return true;
	return false;
}

colb_err intel_parse_tcbinfo(const uint8_t *inner, size_t len, intel_tcbinfo *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	json_t *j = load(inner, len, why, whylen);
	if (!j)
		return COLB_ERR_COLLATERAL;
	colb_err rc = COLB_ERR_COLLATERAL;
	uint64_t v;
	const char *id = get_str(j, "id"), *fmspc = get_str(j, "fmspc");
	uint8_t pce[2];
	if (!json_is_object(j)) {
		WHY("tcbInfo is not an object");
		goto out;
	}
	if (!id || (strcmp(id, "SGX") && strcmp(id, "TDX"))) {
		/* v2 TCB info has no id: it is SGX. */
		if (id || json_object_get(j, "version") == NULL) {
			WHY("tcbInfo.id is not SGX or TDX");
			goto out;
		}
	}
	out->tee = id && !strcmp(id, "TDX") ? COLB_INTEL_TDX : COLB_INTEL_SGX;
	if (!get_uint(j, "version", 3, &v) || v < 2) {
		WHY("tcbInfo.version is not 2 or 3");
		goto out;
	}
	out->version = (int)v;
	if (!get_time(j, "issueDate", &out->issue) || !get_time(j, "nextUpdate", &out->next)) {
		WHY("tcbInfo.issueDate/nextUpdate missing or not RFC 3339");
		goto out;
	}
	if (!fmspc || strlen(fmspc) != 12 || !colb_hex_decode(fmspc, 12, out->fmspc, 6)) {
		WHY("tcbInfo.fmspc is not 12 hex digits");
		goto out;
	}
	memcpy(out->fmspc_hex, fmspc, 13);
	if (!get_hex(j, "pceId", pce, 2)) {
		WHY("tcbInfo.pceId is not 4 hex digits");
		goto out;
	}
	out->pceid = (uint16_t)(pce[0] | pce[1] << 8);
	if (out->version == 3) {
		if (!get_uint(j, "tcbType", 255, &v)) {
			WHY("tcbInfo.tcbType missing");
			goto out;
		}
		out->tcb_type = (int)v;
	}
	if (!get_uint(j, "tcbEvaluationDataNumber", UINT32_MAX, &v)) {
		WHY("tcbInfo.tcbEvaluationDataNumber missing");
		goto out;
	}
	out->eval = (uint32_t)v;
	json_t *levels = json_object_get(j, "tcbLevels");
	size_t n = json_array_size(levels);
	if (!json_is_array(levels) || n == 0 || n > INTEL_MAX_LEVELS) {
		WHY("tcbInfo.tcbLevels is not a list of 1..%d levels", INTEL_MAX_LEVELS);
		goto out;
	}
	out->levels = calloc(n, sizeof *out->levels);
	if (!out->levels) {
		rc = COLB_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *l = json_array_get(levels, i);
		const char *st = get_str(l, "tcbStatus");
		if (!json_is_object(l) || !parse_tcb(json_object_get(l, "tcb"), &out->levels[i].tcb)) {
			WHY("tcbInfo.tcbLevels[%zu].tcb is malformed", i);
			goto out;
		}
		if (!known_status(st)) {
			WHY("tcbInfo.tcbLevels[%zu].tcbStatus is unknown", i);
			goto out;
		}
		snprintf(out->levels[i].status, sizeof out->levels[i].status, "%s", st);
		if (!get_time(l, "tcbDate", &out->levels[i].tcb_date)) {
			WHY("tcbInfo.tcbLevels[%zu].tcbDate missing", i);
			goto out;
		}
		out->nlevels = i + 1;
	}
	rc = COLB_OK;
out:
	json_decref(j);
	if (rc)
		intel_tcbinfo_free(out);
	return rc;
}

void intel_tcbinfo_free(intel_tcbinfo *t)
{
	if (!t)
		return;
	free(t->levels);
	t->levels = NULL;
	t->nlevels = 0;
}

colb_err intel_parse_identity(const uint8_t *inner, size_t len, intel_identity *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	json_t *j = load(inner, len, why, whylen);
	if (!j)
		return COLB_ERR_COLLATERAL;
	colb_err rc = COLB_ERR_COLLATERAL;
	uint64_t v;
	const char *id = get_str(j, "id");
	static const char *const ids[] = {"QE", "QVE", "QAE", "TD_QE"};
	size_t k;
	for (k = 0; id && k < 4; k++)
		if (!strcmp(id, ids[k]))
			break;
	if (!id || k == 4) {
		WHY("enclaveIdentity.id is not QE, QVE, QAE or TD_QE");
		goto out;
	}
	out->kind = (colb_intel_identity)k;
	if (!get_uint(j, "version", 2, &v) || v != 2) {
		WHY("enclaveIdentity.version is not 2");
		goto out;
	}
	if (!get_time(j, "issueDate", &out->issue) || !get_time(j, "nextUpdate", &out->next)) {
		WHY("enclaveIdentity.issueDate/nextUpdate missing or not RFC 3339");
		goto out;
	}
	if (!get_uint(j, "tcbEvaluationDataNumber", UINT32_MAX, &v)) {
		WHY("enclaveIdentity.tcbEvaluationDataNumber missing");
		goto out;
	}
	out->eval = (uint32_t)v;
	uint8_t m[32];
	if (!get_hex(j, "mrsigner", m, 32) || !get_uint(j, "isvprodid", 0xffff, &v)) {
		WHY("enclaveIdentity.mrsigner/isvprodid missing");
		goto out;
	}
	json_t *levels = json_object_get(j, "tcbLevels");
	if (!json_is_array(levels) || json_array_size(levels) == 0 || json_array_size(levels) > INTEL_MAX_LEVELS) {
		WHY("enclaveIdentity.tcbLevels is not a list of levels");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(levels); i++) {
		json_t *l = json_array_get(levels, i), *t = json_object_get(l, "tcb");
		if (!json_is_object(t) || !get_uint(t, "isvsvn", 0xffff, &v) || !known_status(get_str(l, "tcbStatus"))) {
			WHY("enclaveIdentity.tcbLevels[%zu] is malformed", i);
			goto out;
		}
	}
	rc = COLB_OK;
out:
	json_decref(j);
	return rc;
}

colb_err intel_parse_evalnums(const uint8_t *inner, size_t len, intel_evalnums *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	json_t *j = load(inner, len, why, whylen);
	if (!j)
		return COLB_ERR_COLLATERAL;
	colb_err rc = COLB_ERR_COLLATERAL;
	uint64_t v;
	const char *id = get_str(j, "id");
	if (!id || (strcmp(id, "SGX") && strcmp(id, "TDX"))) {
		WHY("tcbEvaluationDataNumbers.id is not SGX or TDX");
		goto out;
	}
	out->tee = !strcmp(id, "TDX") ? COLB_INTEL_TDX : COLB_INTEL_SGX;
	if (!get_uint(j, "version", 1, &v) || v != 1) {
		WHY("tcbEvaluationDataNumbers.version is not 1");
		goto out;
	}
	if (!get_time(j, "issueDate", &out->issue) || !get_time(j, "nextUpdate", &out->next)) {
		WHY("tcbEvaluationDataNumbers.issueDate/nextUpdate missing");
		goto out;
	}
	json_t *nums = json_object_get(j, "tcbEvalNumbers");
	if (!json_is_array(nums) || json_array_size(nums) == 0 || json_array_size(nums) > INTEL_MAX_EVALS) {
		WHY("tcbEvaluationDataNumbers.tcbEvalNumbers is not a list");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(nums); i++) {
		json_t *e = json_array_get(nums, i);
		time_t t;
		if (!get_uint(e, "tcbEvaluationDataNumber", UINT32_MAX, &v) || !get_time(e, "tcbDate", &t) ||
		    !get_time(e, "tcbRecoveryEventDate", &t)) {
			WHY("tcbEvalNumbers[%zu] is malformed", i);
			goto out;
		}
		out->nums[out->n++] = (uint32_t)v;
	}
	rc = COLB_OK;
out:
	json_decref(j);
	return rc;
}

/* ---- pckcerts --------------------------------------------------------------------- */

void intel_tcbm_hex(const intel_tcb *t, char out[37])
{
	uint8_t b[18];
	memcpy(b, t->comp, 16);
	b[16] = (uint8_t)(t->pcesvn & 0xff);
	b[17] = (uint8_t)(t->pcesvn >> 8);
	colb_hex_encode(b, 18, out, true);
}

void intel_pck_entries_free(intel_pck_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].pem);
	free(e);
}

colb_err intel_parse_pckcerts(const uint8_t *body, size_t len, intel_pck_entry **out, size_t *n, char *why,
			      size_t whylen)
{
	*out = NULL;
	*n = 0;
	json_t *j = load(body, len, why, whylen);
	if (!j)
		return COLB_ERR_COLLATERAL;
	json_t *arr = json_is_object(j) ? json_object_get(j, "pck_data") : j;
	colb_err rc = COLB_ERR_COLLATERAL;
	size_t count = json_array_size(arr);
	intel_pck_entry *e = NULL;
	if (!json_is_array(arr) || count == 0 || count > INTEL_MAX_PCK_ENTRIES) {
		WHY("not a list of 1..%d {tcb, tcbm, cert} entries", INTEL_MAX_PCK_ENTRIES);
		goto out;
	}
	e = calloc(count, sizeof *e);
	if (!e) {
		rc = COLB_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		json_t *it = json_array_get(arr, i);
		const char *tcbm = get_str(it, "tcbm"), *cert = get_str(it, "cert");
		if (!json_is_object(it) || !parse_tcb(json_object_get(it, "tcb"), &e[i].tcb)) {
			WHY("entry %zu: tcb is malformed", i);
			goto out;
		}
		char want[37];
		intel_tcbm_hex(&e[i].tcb, want);
		if (!tcbm || strlen(tcbm) != 36 || strcasecmp(tcbm, want) != 0) {
			WHY("entry %zu: tcbm does not match its tcb", i);
			goto out;
		}
		memcpy(e[i].tcbm, want, sizeof want);
		if (!cert) {
			WHY("entry %zu: no cert", i);
			goto out;
		}
		if (!strcmp(cert, "Not available"))
			continue;
		size_t clen = strlen(cert);
		if (strchr(cert, '%')) {
			e[i].pem = colb_percent_decode(cert, clen, &e[i].pem_len);
			if (!e[i].pem) {
				WHY("entry %zu: cert is not valid percent-encoding", i);
				goto out;
			}
		} else {
			e[i].pem = strdup(cert);
			e[i].pem_len = clen;
			if (!e[i].pem) {
				rc = COLB_ERR_NOMEM;
				goto out;
			}
		}
	}
	*out = e;
	*n = count;
	e = NULL;
	rc = COLB_OK;
out:
	intel_pck_entries_free(e, count);
	json_decref(j);
	return rc;
}
