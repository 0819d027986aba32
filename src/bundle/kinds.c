/*
 * kinds.c — the manifest's closed vocabulary: the kinds of payload file, the
 * typed `meta` keys each kind may carry, and the entry naming rules that tie
 * a path to its kind and meta (format-spec/colbundle-v1.md, "Files").
 *
 * To add a kind: one row in kinds[] (its allowed and required meta keys), and
 * the rows of names[] that file it. To add a meta key: its colb_meta_key
 * (internal.h, in bytewise order of the names) and its row in meta_keys[].
 */
#include <stdio.h>
#include <string.h>

#include "bundle/bundle_priv.h"

/* ---- meta keys and their types ------------------------------------------- */

typedef bool (*meta_check_fn)(const char *s, size_t n);

static bool str_in(const char *s, size_t n, const char *const *set)
{
	for (; *set; set++)
		if (strlen(*set) == n && !memcmp(s, *set, n))
			return true;
	return false;
}

static bool hex_str(const char *s, size_t n, size_t want, bool upper)
{
	return n == want && colb_is_hex_case(s, n, upper);
}

static bool m_tee(const char *s, size_t n) { return str_in(s, n, (const char *const[]){"sgx", "tdx", "sev-snp", NULL}); }
static bool m_fmspc(const char *s, size_t n) { return hex_str(s, n, 12, true); }
static bool m_qe_id(const char *s, size_t n) { return hex_str(s, n, 32, true); }
static bool m_pce_id(const char *s, size_t n) { return hex_str(s, n, 4, true); }
static bool m_ca(const char *s, size_t n) { return str_in(s, n, (const char *const[]){"processor", "platform", "root", NULL}); }
static bool m_identity(const char *s, size_t n) { return str_in(s, n, (const char *const[]){"qe", "qve", "qae", "td_qe", NULL}); }
static bool m_product(const char *s, size_t n) { return str_in(s, n, (const char *const[]){"Milan", "Genoa", "Turin", NULL}); }
static bool m_hwid(const char *s, size_t n) { return hex_str(s, n, 16, false) || hex_str(s, n, 128, false); }
static bool m_tcb(const char *s, size_t n) { return hex_str(s, n, 16, false); }
static bool m_encoding(const char *s, size_t n) { return str_in(s, n, (const char *const[]){"der", "pem", "json", NULL}); }
static bool m_chain(const char *s, size_t n) { return n < 256 && strlen(s) == n && colb_path_ok(s); }
static bool m_sha256(const char *s, size_t n) { return hex_str(s, n, 64, false); }

typedef struct meta_key {
	const char *name;
	const char *type;     /* for error messages */
	meta_check_fn check;  /* NULL for the one integer, eval */
} meta_key;

/* Indexed by colb_meta_key, so in the bytewise order of the names. Every
 * string form is ASCII that JSON writes without escapes, which lets
 * colb_meta_json write values as they are. */
static const meta_key meta_keys[COLB_META_COUNT] = {
	[COLB_META_CA] = {"ca", "processor|platform|root", m_ca},
	[COLB_META_CHAIN] = {"chain", "a payload path", m_chain},
	[COLB_META_CSP] = {"csp", "a name of [A-Za-z0-9._-]", colb_is_name},
	[COLB_META_ENC_PPID_SHA256] = {"enc_ppid_sha256", "64 lower-case hex digits", m_sha256},
	[COLB_META_ENCODING] = {"encoding", "der|pem|json", m_encoding},
	[COLB_META_EVAL] = {"eval", "an unsigned integer", NULL},
	[COLB_META_FMSPC] = {"fmspc", "12 upper-case hex digits", m_fmspc},
	[COLB_META_HWID] = {"hwid", "16 or 128 lower-case hex digits", m_hwid},
	[COLB_META_IDENTITY] = {"identity", "qe|qve|qae|td_qe", m_identity},
	[COLB_META_NAME] = {"name", "a name of [A-Za-z0-9._-]", colb_is_name},
	[COLB_META_PCE_ID] = {"pce_id", "4 upper-case hex digits", m_pce_id},
	[COLB_META_PRODUCT] = {"product", "Milan|Genoa|Turin", m_product},
	[COLB_META_QE_ID] = {"qe_id", "32 upper-case hex digits", m_qe_id},
	[COLB_META_TCB] = {"tcb", "16 lower-case hex digits", m_tcb},
	[COLB_META_TEE] = {"tee", "sgx|tdx|sev-snp", m_tee},
};

colb_meta_key colb_meta_key_of(const char *name, size_t len)
{
	for (size_t i = 0; i < COLB_META_COUNT; i++)
		if (strlen(meta_keys[i].name) == len && !memcmp(meta_keys[i].name, name, len))
			return (colb_meta_key)i;
	return COLB_META_COUNT;
}

const char *colb_meta_key_name(colb_meta_key k)
{
	return k < COLB_META_COUNT ? meta_keys[k].name : "?";
}

static bool meta_add(colb_meta *m, const char *key, colb_meta_key *k, char *why, size_t whylen)
{
	*k = colb_meta_key_of(key, strlen(key));
	if (*k == COLB_META_COUNT) {
		snprintf(why, whylen, "meta key '%s' is not a known key", key);
		return false;
	}
	if (m->has & COLB_META_BIT(*k)) {
		snprintf(why, whylen, "meta key '%s' appears twice", key);
		return false;
	}
	return true;
}

bool colb_meta_add_str(colb_meta *m, const char *key, const char *val, size_t len, char *why,
		       size_t whylen)
{
	colb_meta_key k;
	if (!meta_add(m, key, &k, why, whylen))
		return false;
	if (!meta_keys[k].check || !meta_keys[k].check(val, len)) {
		snprintf(why, whylen, "meta key '%s' must be %s", key, meta_keys[k].type);
		return false;
	}
	m->has |= COLB_META_BIT(k);
	m->str[k] = val;
	return true;
}

bool colb_meta_add_uint(colb_meta *m, const char *key, uint64_t val, char *why, size_t whylen)
{
	colb_meta_key k;
	if (!meta_add(m, key, &k, why, whylen))
		return false;
	if (meta_keys[k].check || val > COLB_JSON_MAX_INT) {
		snprintf(why, whylen, "meta key '%s' must be %s", key, meta_keys[k].type);
		return false;
	}
	m->has |= COLB_META_BIT(k);
	m->eval = val;
	return true;
}

bool colb_meta_from_json(const json_t *o, colb_meta *m, char *why, size_t whylen)
{
	memset(m, 0, sizeof *m);
	if (!json_is_object(o)) {
		snprintf(why, whylen, "meta is not an object");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		bool ok;
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			ok = colb_meta_add_uint(m, key, (uint64_t)json_integer_value(v), why, whylen);
		else if (json_is_string(v))
			ok = colb_meta_add_str(m, key, json_string_value(v), json_string_length(v), why, whylen);
		else
			ok = colb_meta_add_str(m, key, "", 0, why, whylen); /* the key's own message */
		if (!ok)
			return false;
	}
	return true;
}

size_t colb_meta_json(const colb_meta *m, char *out, size_t cap)
{
	size_t n = 0;
	char num[24];
#define PUT(s, l)                                                    \
	do {                                                         \
		size_t l_ = (l);                                     \
		if (n + l_ < cap)                                    \
			memcpy(out + n, (s), l_);                    \
		n += l_;                                             \
	} while (0)
	PUT("{", 1);
	for (size_t k = 0; k < COLB_META_COUNT; k++) {
		if (!(m->has & COLB_META_BIT(k)))
			continue;
		if (n > 1)
			PUT(",", 1);
		PUT("\"", 1);
		PUT(meta_keys[k].name, strlen(meta_keys[k].name));
		PUT("\":", 2);
		if (k == COLB_META_EVAL) {
			int l = snprintf(num, sizeof num, "%llu", (unsigned long long)m->eval);
			PUT(num, (size_t)l);
		} else {
			PUT("\"", 1);
			PUT(m->str[k], strlen(m->str[k]));
			PUT("\"", 1);
		}
	}
	PUT("}", 1);
#undef PUT
	if (cap)
		out[n < cap ? n : cap - 1] = 0;
	return n;
}

unsigned colb_tee_of_meta(const colb_meta *meta)
{
	const char *t = meta ? meta->str[COLB_META_TEE] : NULL;
	if (!t)
		return 0;
	return !strcmp(t, "sgx") ? COLB_TEE_SGX : !strcmp(t, "tdx") ? COLB_TEE_TDX
		: !strcmp(t, "sev-snp") ? COLB_TEE_SEV_SNP : 0;
}

/* ---- kinds ------------------------------------------------------------------ */

#define K(x) COLB_META_BIT(COLB_META_##x)

typedef struct kind_row {
	const char *kind;
	uint32_t allowed;   /* meta keys */
	uint32_t required;  /* a subset of allowed */
} kind_row;

static const kind_row kinds[] = {
	{"pckcerts", K(TEE) | K(QE_ID) | K(PCE_ID) | K(FMSPC) | K(CA) | K(ENCODING) | K(CHAIN) | K(ENC_PPID_SHA256),
	 K(QE_ID) | K(PCE_ID)},
	{"tcbinfo", K(TEE) | K(FMSPC) | K(EVAL) | K(ENCODING) | K(CHAIN), K(TEE) | K(FMSPC) | K(EVAL)},
	{"identity", K(TEE) | K(IDENTITY) | K(EVAL) | K(ENCODING) | K(CHAIN), K(TEE) | K(IDENTITY) | K(EVAL)},
	{"tcbevalnums", K(TEE) | K(ENCODING) | K(CHAIN), K(TEE)},
	{"crl", K(CA) | K(ENCODING) | K(CHAIN), K(CA)},
	{"rootcacrl", K(CA) | K(ENCODING), 0},
	{"issuer_chain", K(NAME) | K(ENCODING), K(NAME)},
	{"fmspcs", K(ENCODING), 0},
	{"tcb_sets", K(ENCODING), 0},
	{"vcek", K(TEE) | K(PRODUCT) | K(HWID) | K(TCB) | K(ENCODING) | K(CHAIN), K(PRODUCT) | K(HWID) | K(TCB)},
	{"vlek", K(TEE) | K(PRODUCT) | K(CSP) | K(TCB) | K(ENCODING) | K(CHAIN), K(PRODUCT) | K(CSP) | K(TCB)},
	{"cert_chain", K(TEE) | K(PRODUCT) | K(NAME) | K(ENCODING), K(PRODUCT)},
	{"amd_crl", K(TEE) | K(PRODUCT) | K(ENCODING) | K(CHAIN), K(PRODUCT)},
	{"report", K(TEE) | K(PRODUCT) | K(NAME) | K(ENCODING), 0},
	{"other", K(NAME) | K(ENCODING), 0},
};

#undef K

static const kind_row *find_kind(const char *kind, size_t len)
{
	for (size_t i = 0; i < COLB_ARRAY_LEN(kinds); i++)
		if (strlen(kinds[i].kind) == len && !memcmp(kinds[i].kind, kind, len))
			return &kinds[i];
	return NULL;
}

const char *colb_kind_name(const char *kind, size_t len)
{
	const kind_row *k = kind ? find_kind(kind, len) : NULL;
	return k ? k->kind : NULL;
}

bool colb_kind_check(const char *kind, const colb_meta *meta, char *why, size_t whylen)
{
	const kind_row *k = kind ? find_kind(kind, strlen(kind)) : NULL;
	if (!k) {
		snprintf(why, whylen, "unknown kind '%s'", kind ? kind : "(null)");
		return false;
	}
	for (size_t i = 0; i < COLB_META_COUNT; i++) {
		uint32_t bit = COLB_META_BIT(i);
		if ((meta->has & bit) && !(k->allowed & bit)) {
			snprintf(why, whylen, "meta key '%s' is not allowed for kind '%s'", meta_keys[i].name,
				 kind);
			return false;
		}
		if ((k->required & bit) && !(meta->has & bit)) {
			snprintf(why, whylen, "kind '%s' needs meta key '%s'", kind, meta_keys[i].name);
			return false;
		}
	}
	return true;
}

/* ---- paths ------------------------------------------------------------------ */

bool colb_path_ok(const char *path)
{
	if (!path)
		return false;
	size_t n = strlen(path);
	if (n == 0 || n > 255)
		return false;
	const char *comp = path;
	for (size_t i = 0; i <= n; i++) {
		char c = path[i];
		if (c == '/' || c == 0) {
			size_t l = (size_t)(path + i - comp);
			if (l == 0 || (l == 1 && comp[0] == '.') || (l == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			comp = path + i + 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* ---- entry naming -------------------------------------------------------------
 *
 * A pattern is matched against the whole path. `{key}` captures a run of
 * characters up to the pattern's next literal character (or the end, or a
 * `/`), which must be a valid value of meta key `key`; `{eval}` is stored as
 * an integer. `fixed` is meta that every file of this name carries. The first
 * matching row wins, so specific names come before general ones.
 */
typedef struct name_row {
	const char *pattern;
	const char *kind;
	const char *fixed;   /* "key=value ...": string meta every file of this name has */
} name_row;

static const name_row names[] = {
	{"intel/pckcerts/{qe_id}-{pce_id}.json", "pckcerts", "encoding=json tee=sgx"},
	{"intel/tcbinfo/{tee}/{fmspc}/{eval}.json", "tcbinfo", "encoding=json"},
	{"intel/identity/td_qe/{eval}.json", "identity", "encoding=json identity=td_qe tee=tdx"},
	{"intel/identity/{identity}/{eval}.json", "identity", "encoding=json tee=sgx"},
	{"intel/tcbevalnums/{tee}.json", "tcbevalnums", "encoding=json"},
	{"intel/crl/root.der", "rootcacrl", "ca=root encoding=der"},
	{"intel/crl/{ca}.der", "crl", "encoding=der"},
	{"intel/chains/{name}.pem", "issuer_chain", "encoding=pem"},
	{"intel/fmspcs.json", "fmspcs", "encoding=json"},
	{"intel/tcb-sets.json", "tcb_sets", "encoding=json"},
	{"amd/{product}/vcek/{hwid}/{tcb}.der", "vcek", "encoding=der tee=sev-snp"},
	{"amd/{product}/vlek/{csp}/{tcb}.der", "vlek", "encoding=der tee=sev-snp"},
	{"amd/{product}/cert_chain.pem", "cert_chain", "encoding=pem name=vcek tee=sev-snp"},
	{"amd/{product}/vlek_cert_chain.pem", "cert_chain", "encoding=pem name=vlek tee=sev-snp"},
	{"amd/{product}/crl.der", "amd_crl", "encoding=der tee=sev-snp"},
	{"amd/reports/{name}.bin", "report", "tee=sev-snp"},
	{"other/{name}", "other", ""},
};

/* What a path's name says: captured values and the row's fixed meta,
 * as spans of the path and of the row. */
typedef struct name_cap {
	colb_meta_key key;
	const char *val;
	size_t len;
} name_cap;

#define MAX_CAPS 4

/* A decimal `eval` as the path writes it: no sign, no leading zero. */
static bool eval_of(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 16 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > COLB_JSON_MAX_INT)
		return false;
	*out = v;
	return true;
}

static bool capture_ok(colb_meta_key k, const char *val, size_t len)
{
	uint64_t n;
	if (k == COLB_META_COUNT || len == 0 || len > 200)
		return false;
	return meta_keys[k].check ? meta_keys[k].check(val, len) : eval_of(val, len, &n);
}

/* Matches one pattern against the whole path, filling caps. A capture runs
 * up to the pattern's next literal character (or the end, or a '/'). */
static bool match_name(const char *pat, const char *path, name_cap *caps, size_t *ncaps)
{
	const char *p = pat, *s = path;
	*ncaps = 0;
	while (*p) {
		if (*p != '{') {
			if (*p != *s)
				return false;
			p++;
			s++;
			continue;
		}
		const char *close = strchr(p, '}');
		if (*ncaps == MAX_CAPS)
			return false;
		name_cap *c = &caps[(*ncaps)++];
		c->key = colb_meta_key_of(p + 1, (size_t)(close - p - 1));
		p = close + 1;
		const char *e = s;
		while (*e && *e != '/' && *e != *p)
			e++;
		c->val = s;
		c->len = (size_t)(e - s);
		if (!capture_ok(c->key, c->val, c->len))
			return false;
		s = e;
	}
	return *s == 0;
}

static const name_row *name_of(const char *path, name_cap *caps, size_t *ncaps)
{
	if (!colb_path_ok(path))
		return NULL;
	for (size_t i = 0; i < COLB_ARRAY_LEN(names); i++)
		if (match_name(names[i].pattern, path, caps, ncaps))
			return &names[i];
	return NULL;
}

/* Calls fn for each key=value pair of a row's fixed meta. */
static bool each_fixed(const name_row *r,
		       bool (*fn)(colb_meta_key k, const char *val, size_t len, void *ctx), void *ctx)
{
	for (const char *p = r->fixed; *p;) {
		size_t l = strcspn(p, " ");
		const char *eq = memchr(p, '=', l);
		if (!eq)
			return false;
		colb_meta_key k = colb_meta_key_of(p, (size_t)(eq - p));
		if (k == COLB_META_COUNT || !fn(k, eq + 1, l - (size_t)(eq - p) - 1, ctx))
			return false;
		p += l;
		while (*p == ' ')
			p++;
	}
	return true;
}

typedef struct derive_ctx {
	colb_meta *meta;
	char *store, *end;
} derive_ctx;

/* Copies a value into the caller's store and adds it to the meta. */
static bool derive_put(colb_meta_key k, const char *val, size_t len, void *ctx)
{
	derive_ctx *d = ctx;
	if (k == COLB_META_EVAL) {
		uint64_t n;
		if (!eval_of(val, len, &n))
			return false;
		d->meta->has |= COLB_META_BIT(k);
		d->meta->eval = n;
		return true;
	}
	if ((size_t)(d->end - d->store) <= len)
		return false;
	memcpy(d->store, val, len);
	d->store[len] = 0;
	d->meta->has |= COLB_META_BIT(k);
	d->meta->str[k] = d->store;
	d->store += len + 1;
	return true;
}

bool colb_kind_from_path(const char *path, const char **kind, colb_meta *meta, char *store,
			 size_t storelen)
{
	name_cap caps[MAX_CAPS];
	size_t n;
	const name_row *r = name_of(path, caps, &n);
	memset(meta, 0, sizeof *meta);
	if (!r)
		return false;
	derive_ctx d = {meta, store, store + storelen};
	for (size_t i = 0; i < n; i++)
		if (!derive_put(caps[i].key, caps[i].val, caps[i].len, &d))
			return false;
	if (!each_fixed(r, derive_put, &d))
		return false;
	*kind = r->kind;
	return true;
}

typedef struct agree_ctx {
	const colb_meta *meta;
	colb_meta_key bad;
} agree_ctx;

static bool value_is(const colb_meta *m, colb_meta_key k, const char *val, size_t len)
{
	if (!(m->has & COLB_META_BIT(k)))
		return false;
	if (k == COLB_META_EVAL) {
		uint64_t n;
		return eval_of(val, len, &n) && n == m->eval;
	}
	return strlen(m->str[k]) == len && !memcmp(m->str[k], val, len);
}

static bool fixed_agrees(colb_meta_key k, const char *val, size_t len, void *ctx)
{
	agree_ctx *a = ctx;
	if (value_is(a->meta, k, val, len))
		return true;
	a->bad = k;
	return false;
}

bool colb_kind_path_agrees(const char *path, const char *kind, const colb_meta *meta, char *why,
			   size_t whylen)
{
	name_cap caps[MAX_CAPS];
	size_t n;
	const name_row *r = name_of(path, caps, &n);
	if (!r) {
		snprintf(why, whylen, "'%s' does not follow the entry naming rules", path);
		return false;
	}
	if (strcmp(r->kind, kind) != 0) {
		snprintf(why, whylen, "'%s' is named as kind '%s', listed as '%s'", path, r->kind, kind);
		return false;
	}
	agree_ctx a = {meta, COLB_META_COUNT};
	for (size_t i = 0; i < n; i++)
		if (!fixed_agrees(caps[i].key, caps[i].val, caps[i].len, &a))
			break;
	if (a.bad == COLB_META_COUNT)
		each_fixed(r, fixed_agrees, &a);
	if (a.bad != COLB_META_COUNT) {
		snprintf(why, whylen, "'%s': meta '%s' disagrees with the path", path,
			 colb_meta_key_name(a.bad));
		return false;
	}
	return true;
}
