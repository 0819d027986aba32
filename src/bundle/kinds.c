/*
 * kinds.c — the manifest's closed vocabulary: the kinds of payload file, the
 * typed `meta` keys each kind may carry, and the entry naming rules that tie
 * a path to its kind and meta (format-spec/colbundle-v1.md, "Files").
 *
 * To add a kind: one row in kinds[] (its allowed and required meta keys), and
 * the rows of names[] that file it. To add a meta key: one row in meta_keys[].
 */
#include <stdio.h>
#include <string.h>

#include "bundle/bundle_priv.h"

/* ---- meta keys and their types ------------------------------------------- */

typedef bool (*meta_check_fn)(const json_t *v);

static bool str_in(const json_t *v, const char *const *set)
{
	if (!json_is_string(v))
		return false;
	for (; *set; set++)
		if (!strcmp(json_string_value(v), *set))
			return true;
	return false;
}

static bool hex_str(const json_t *v, size_t n, bool upper)
{
	if (!json_is_string(v) || json_string_length(v) != n)
		return false;
	const char *s = json_string_value(v);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= '0' && c <= '9') || (upper ? (c >= 'A' && c <= 'F') : (c >= 'a' && c <= 'f'));
		if (!ok)
			return false;
	}
	return true;
}

/* A name usable as one path component: [A-Za-z0-9._-], 1..64, not . or .. */
static bool name_str(const json_t *v)
{
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0 || n > 64 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]) ||
		    !s[i])
			return false;
	return true;
}

static bool m_tee(const json_t *v) { return str_in(v, (const char *const[]){"sgx", "tdx", "sev-snp", NULL}); }
static bool m_fmspc(const json_t *v) { return hex_str(v, 12, true); }
static bool m_uint(const json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0 && (uint64_t)json_integer_value(v) <= COLB_JSON_MAX_INT; }
static bool m_qe_id(const json_t *v) { return hex_str(v, 32, true); }
static bool m_pce_id(const json_t *v) { return hex_str(v, 4, true); }
static bool m_ca(const json_t *v) { return str_in(v, (const char *const[]){"processor", "platform", "root", NULL}); }
static bool m_identity(const json_t *v) { return str_in(v, (const char *const[]){"qe", "qve", "qae", "td_qe", NULL}); }
static bool m_product(const json_t *v) { return str_in(v, (const char *const[]){"Milan", "Genoa", "Turin", NULL}); }
static bool m_hwid(const json_t *v) { return hex_str(v, 16, false) || hex_str(v, 128, false); }
static bool m_tcb(const json_t *v) { return hex_str(v, 16, false); }
static bool m_encoding(const json_t *v) { return str_in(v, (const char *const[]){"der", "pem", "json", NULL}); }
static bool m_chain(const json_t *v) { return json_is_string(v) && colb_path_ok(json_string_value(v)); }
static bool m_sha256(const json_t *v) { return hex_str(v, 64, false); }

typedef struct meta_key {
	const char *name;
	const char *type;   /* for error messages */
	meta_check_fn check;
} meta_key;

static const meta_key meta_keys[] = {
	{"tee", "sgx|tdx|sev-snp", m_tee},
	{"fmspc", "12 upper-case hex digits", m_fmspc},
	{"eval", "an unsigned integer", m_uint},
	{"qe_id", "32 upper-case hex digits", m_qe_id},
	{"pce_id", "4 upper-case hex digits", m_pce_id},
	{"ca", "processor|platform|root", m_ca},
	{"identity", "qe|qve|qae|td_qe", m_identity},
	{"product", "Milan|Genoa|Turin", m_product},
	{"hwid", "16 or 128 lower-case hex digits", m_hwid},
	{"tcb", "16 lower-case hex digits", m_tcb},
	{"csp", "a name of [A-Za-z0-9._-]", name_str},
	{"encoding", "der|pem|json", m_encoding},
	{"chain", "a payload path", m_chain},
	{"enc_ppid_sha256", "64 lower-case hex digits", m_sha256},
	{"name", "a name of [A-Za-z0-9._-]", name_str},
};

static const meta_key *find_meta_key(const char *name)
{
	for (size_t i = 0; i < COLB_ARRAY_LEN(meta_keys); i++)
		if (!strcmp(meta_keys[i].name, name))
			return &meta_keys[i];
	return NULL;
}

/* ---- kinds ------------------------------------------------------------------ */

typedef struct kind_row {
	const char *kind;
	const char *allowed;   /* space-separated meta keys */
	const char *required;  /* space-separated, a subset of allowed */
} kind_row;

static const kind_row kinds[] = {
	{"pckcerts", "tee qe_id pce_id fmspc ca encoding chain enc_ppid_sha256", "qe_id pce_id"},
	{"tcbinfo", "tee fmspc eval encoding chain", "tee fmspc eval"},
	{"identity", "tee identity eval encoding chain", "tee identity eval"},
	{"tcbevalnums", "tee encoding chain", "tee"},
	{"crl", "ca encoding chain", "ca"},
	{"rootcacrl", "ca encoding", ""},
	{"issuer_chain", "name encoding", "name"},
	{"fmspcs", "encoding", ""},
	{"tcb_sets", "encoding", ""},
	{"vcek", "tee product hwid tcb encoding chain", "product hwid tcb"},
	{"vlek", "tee product csp tcb encoding chain", "product csp tcb"},
	{"cert_chain", "tee product name encoding", "product"},
	{"amd_crl", "tee product encoding chain", "product"},
	{"report", "tee product name encoding", ""},
	{"other", "name encoding", ""},
};

static const kind_row *find_kind(const char *kind)
{
	for (size_t i = 0; i < COLB_ARRAY_LEN(kinds); i++)
		if (!strcmp(kinds[i].kind, kind))
			return &kinds[i];
	return NULL;
}

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && !memcmp(p, word, n))
			return true;
		p += l;
		while (*p == ' ')
			p++;
	}
	return false;
}

bool colb_kind_check(const char *kind, const json_t *meta, char *why, size_t whylen)
{
	const kind_row *k = kind ? find_kind(kind) : NULL;
	if (!k) {
		snprintf(why, whylen, "unknown kind '%s'", kind ? kind : "(null)");
		return false;
	}
	if (!json_is_object(meta)) {
		snprintf(why, whylen, "meta is not an object");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)meta, key, v) {
		const meta_key *mk = find_meta_key(key);
		if (!mk || !word_in(k->allowed, key)) {
			snprintf(why, whylen, "meta key '%s' is not allowed for kind '%s'", key, kind);
			return false;
		}
		if (!mk->check(v)) {
			snprintf(why, whylen, "meta key '%s' must be %s", key, mk->type);
			return false;
		}
	}
	char word[32];
	for (const char *p = k->required; *p;) {
		size_t l = strcspn(p, " ");
		snprintf(word, sizeof word, "%.*s", (int)l, p);
		if (!json_object_get(meta, word)) {
			snprintf(why, whylen, "kind '%s' needs meta key '%s'", kind, word);
			return false;
		}
		p += l;
		while (*p == ' ')
			p++;
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
 * as spans of the path and of the row, without building JSON. */
typedef struct name_cap {
	char key[16];
	const char *val;
	size_t len;
} name_cap;

#define MAX_CAPS 4

static bool capture_ok(const char *key, const char *val, size_t len)
{
	const meta_key *mk = find_meta_key(key);
	if (!mk || len == 0 || len > 200)
		return false;
	char buf[256];
	memcpy(buf, val, len);
	buf[len] = 0;
	json_t *v;
	if (!strcmp(key, "eval")) {
		uint64_t n;
		if (!colb_parse_u64(buf, &n) || n > COLB_JSON_MAX_INT || (buf[0] == '0' && buf[1]))
			return false;
		v = json_integer((json_int_t)n);
	} else {
		v = json_string(buf);
	}
	bool ok = v && mk->check(v);
	json_decref(v);
	return ok;
}

/* Matches one pattern against the whole path, filling caps. */
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
		if (*ncaps == MAX_CAPS || (size_t)(close - p - 1) >= sizeof caps[0].key)
			return false;
		name_cap *c = &caps[(*ncaps)++];
		snprintf(c->key, sizeof c->key, "%.*s", (int)(close - p - 1), p + 1);
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
static bool each_fixed(const name_row *r, bool (*fn)(const char *key, const char *val, void *ctx),
		       void *ctx)
{
	for (const char *p = r->fixed; *p;) {
		char key[32], val[32];
		size_t l = strcspn(p, " ");
		const char *eq = memchr(p, '=', l);
		if (!eq || (size_t)(eq - p) >= sizeof key || l - (size_t)(eq - p) - 1 >= sizeof val)
			return false;
		snprintf(key, sizeof key, "%.*s", (int)(eq - p), p);
		snprintf(val, sizeof val, "%.*s", (int)(l - (size_t)(eq - p) - 1), eq + 1);
		if (!fn(key, val, ctx))
			return false;
		p += l;
		while (*p == ' ')
			p++;
	}
	return true;
}

static bool add_fixed(const char *key, const char *val, void *ctx)
{
	return json_object_set_new((json_t *)ctx, key, json_string(val)) == 0;
}

bool colb_kind_from_path(const char *path, const char **kind, json_t **meta)
{
	name_cap caps[MAX_CAPS];
	size_t n;
	const name_row *r = name_of(path, caps, &n);
	if (!r)
		return false;
	json_t *m = json_object();
	for (size_t i = 0; m && i < n; i++) {
		char buf[256];
		snprintf(buf, sizeof buf, "%.*s", (int)caps[i].len, caps[i].val);
		uint64_t num;
		json_object_set_new(m, caps[i].key,
				    !strcmp(caps[i].key, "eval") && colb_parse_u64(buf, &num)
					    ? json_integer((json_int_t)num)
					    : json_string(buf));
	}
	if (!m || !each_fixed(r, add_fixed, m)) {
		json_decref(m);
		return false;
	}
	*kind = r->kind;
	*meta = m;
	return true;
}

static bool str_is(const json_t *v, const char *s, size_t n)
{
	return json_is_string(v) && json_string_length(v) == n && !memcmp(json_string_value(v), s, n);
}

typedef struct agree_ctx {
	const json_t *meta;
	const char *bad;
} agree_ctx;

static bool fixed_agrees(const char *key, const char *val, void *ctx)
{
	agree_ctx *a = ctx;
	if (str_is(json_object_get(a->meta, key), val, strlen(val)))
		return true;
	a->bad = key;
	return false;
}

bool colb_kind_path_agrees(const char *path, const char *kind, const json_t *meta, char *why,
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
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(meta, caps[i].key);
		bool same;
		if (!strcmp(caps[i].key, "eval")) {
			char buf[32];
			uint64_t num;
			snprintf(buf, sizeof buf, "%.*s", (int)caps[i].len, caps[i].val);
			same = json_is_integer(v) && colb_parse_u64(buf, &num) &&
			       (uint64_t)json_integer_value(v) == num;
		} else {
			same = str_is(v, caps[i].val, caps[i].len);
		}
		if (!same) {
			snprintf(why, whylen, "'%s': meta '%s' disagrees with the path", path, caps[i].key);
			return false;
		}
	}
	agree_ctx a = {meta, NULL};
	if (!each_fixed(r, fixed_agrees, &a)) {
		snprintf(why, whylen, "'%s': meta '%s' disagrees with the path", path, a.bad ? a.bad : "?");
		return false;
	}
	return true;
}
