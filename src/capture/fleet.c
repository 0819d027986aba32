/*
 * fleet.c — what a capture must fetch: the fleet file of
 * format-spec/raw-layouts.md and the same inputs as flags (PCK Cert ID
 * Retrieval Tool CSVs, Intel admin tool platform_list.json files, FMSPCs,
 * AMD chips as PRODUCT:CHIPID:TCB and raw SNP reports).
 */
#include "capture/capture_priv.h"

#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/util.h"

#define MAX_INPUT_FILE (64u << 20)

void cap_fleet_free(cap_fleet *fl)
{
	free(fl->plats);
	free(fl->fmspcs);
	free(fl->chips);
	memset(fl, 0, sizeof *fl);
}

static void to_upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

static void to_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool hex_len(const char *s, size_t n)
{
	return s && strlen(s) == n && colb_is_hex(s, n);
}

colb_err cap_fleet_add_fmspc(cap_fleet *fl, const char *fmspc)
{
	if (!hex_len(fmspc, 12))
		return COLB_ERR_INVALID_ARG;
	char f[13];
	memcpy(f, fmspc, 13);
	to_upper(f);
	for (size_t i = 0; i < fl->nfmspcs; i++)
		if (!strcmp(fl->fmspcs[i], f))
			return COLB_OK;
	char(*n)[13] = realloc(fl->fmspcs, (fl->nfmspcs + 1) * sizeof *n);
	if (!n)
		return COLB_ERR_NOMEM;
	fl->fmspcs = n;
	memcpy(fl->fmspcs[fl->nfmspcs++], f, 13);
	return COLB_OK;
}

/* Adds a platform unless the same QE ID + PCE ID is already there. */
static colb_err add_platform(cap_fleet *fl, const char *enc, const char *pceid, const char *cpusvn,
			     const char *pcesvn, const char *qeid, const char *where, char *err,
			     size_t errlen)
{
	if (!hex_len(enc, 768))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
				   "%s: the encrypted PPID must be 768 hex digits", where);
	if (!hex_len(pceid, 4))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s: PCE ID must be 4 hex digits", where);
	if (!hex_len(cpusvn, 32))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s: CPUSVN must be 32 hex digits", where);
	if (!hex_len(pcesvn, 4))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s: PCE SVN must be 4 hex digits", where);
	if (!hex_len(qeid, 32))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s: QE ID must be 32 hex digits", where);
	cap_platform p;
	memcpy(p.encppid, enc, 769);
	memcpy(p.pceid, pceid, 5);
	memcpy(p.cpusvn, cpusvn, 33);
	memcpy(p.pcesvn, pcesvn, 5);
	memcpy(p.qeid, qeid, 33);
	to_lower(p.encppid);
	to_upper(p.pceid);
	to_lower(p.cpusvn);
	to_lower(p.pcesvn);
	to_upper(p.qeid);
	for (size_t i = 0; i < fl->nplats; i++)
		if (!strcmp(fl->plats[i].qeid, p.qeid) && !strcmp(fl->plats[i].pceid, p.pceid))
			return COLB_OK;
	cap_platform *n = realloc(fl->plats, (fl->nplats + 1) * sizeof *n);
	if (!n)
		return colb_seterr(err, errlen, COLB_ERR_NOMEM, "out of memory");
	fl->plats = n;
	fl->plats[fl->nplats++] = p;
	return COLB_OK;
}

static colb_err load_csv(cap_fleet *fl, const char *path, char *err, size_t errlen)
{
	uint8_t *data;
	size_t len;
	colb_err rc = colb_read_file(path, MAX_INPUT_FILE, &data, &len, err, errlen);
	if (rc)
		return rc;
	char *save = NULL;
	unsigned lineno = 0;
	char *text = (char *)data;
	for (char *line = text; line && *line; line = save) {
		char *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		lineno++;
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\r' || line[l - 1] == ' '))
			line[--l] = 0;
		if (!l)
			continue;
		char *f[6] = { 0 };
		size_t n = 0;
		for (char *p = line; p && n < 6; n++) {
			f[n] = p;
			p = strchr(p, ',');
			if (p)
				*p++ = 0;
		}
		char where[4200];
		snprintf(where, sizeof where, "%s:%u", path, lineno);
		if (n < 5) {
			rc = colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
					 "%s: expected EncPPID,PCE_ID,CPUSVN,PCE_ISVSVN,QE_ID[,PLATFORM_MANIFEST]",
					 where);
			break;
		}
		if ((rc = add_platform(fl, f[0], f[1], f[2], f[3], f[4], where, err, errlen)))
			break;
	}
	free(data);
	return rc;
}

/* A JSON input file: a regular file, bounded, parsed strictly. */
static colb_err load_json(const char *path, json_t **out, char *err, size_t errlen)
{
	uint8_t *data;
	size_t len;
	colb_err rc = colb_read_file(path, MAX_INPUT_FILE, &data, &len, err, errlen);
	if (rc)
		return rc;
	json_error_t je;
	*out = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	free(data);
	if (!*out)
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s:%d: %s", path, je.line, je.text);
	return COLB_OK;
}

static colb_err load_platform_list(cap_fleet *fl, const char *path, char *err, size_t errlen)
{
	json_t *j;
	colb_err rc = load_json(path, &j, err, errlen);
	if (rc)
		return rc;
	if (!json_is_array(j)) {
		rc = colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s: expected a JSON array of platforms",
				 path);
		goto out;
	}
	size_t i;
	json_t *p;
	json_array_foreach(j, i, p) {
		char where[4200];
		snprintf(where, sizeof where, "%s: platform %zu", path, i);
		rc = add_platform(fl, json_string_value(json_object_get(p, "enc_ppid")),
				  json_string_value(json_object_get(p, "pce_id")),
				  json_string_value(json_object_get(p, "cpu_svn")),
				  json_string_value(json_object_get(p, "pce_svn")),
				  json_string_value(json_object_get(p, "qe_id")), where, err, errlen);
		if (rc)
			break;
	}
out:
	json_decref(j);
	return rc;
}

static colb_err add_product(cap_fleet *fl, colb_amd_product p)
{
	const char *name = colb_amd_product_name(p);
	for (size_t i = 0; i < fl->nproducts; i++)
		if (!strcmp(fl->products[i], name))
			return COLB_OK;
	if (fl->nproducts >= COLB_ARRAY_LEN(fl->products))
		return COLB_ERR_INTERNAL;
	snprintf(fl->products[fl->nproducts++], sizeof fl->products[0], "%s", name);
	return COLB_OK;
}

/* A chip at a TCB; the hwid and TCB rules are the AMD layer's. */
static colb_err add_chip(cap_fleet *fl, const char *product, const char *chip_id, const char *tcb,
			 const char *where, char *err, size_t errlen)
{
	colb_amd_product p = product ? colb_amd_product_from_name(product) : COLB_AMD_UNKNOWN;
	if (p == COLB_AMD_UNKNOWN)
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
				   "%s: product must be Milan, Genoa or Turin", where);
	uint8_t chip[COLB_AMD_CHIP_ID_BYTES];
	cap_chip c;
	memset(&c, 0, sizeof c);
	snprintf(c.product, sizeof c.product, "%s", colb_amd_product_name(p));
	if (!chip_id || colb_amd_chip_id_parse(p, chip_id, chip) || colb_amd_hwid_hex(p, chip, c.hwid))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
				   "%s: the chip id must be 128 hex digits (16 on Turin), not all zeros "
				   "(a masked chip has no VCEK)", where);
	uint64_t tcbm;
	colb_amd_tcb t;
	if (!tcb || colb_amd_tcbm_parse(tcb, &tcbm) || colb_amd_tcb_decode(p, tcbm, &t))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
				   "%s: the TCB must be 16 hex digits (tcbm, most significant byte "
				   "first) with %s's reserved bytes zero", where, c.product);
	colb_amd_tcbm_hex(tcbm, c.tcbm);
	if (add_product(fl, p))
		return colb_seterr(err, errlen, COLB_ERR_INTERNAL, "too many products");
	for (size_t i = 0; i < fl->nchips; i++)
		if (!strcmp(fl->chips[i].product, c.product) && !strcmp(fl->chips[i].hwid, c.hwid) &&
		    !strcmp(fl->chips[i].tcbm, c.tcbm))
			return COLB_OK;
	cap_chip *n = realloc(fl->chips, (fl->nchips + 1) * sizeof *n);
	if (!n)
		return colb_seterr(err, errlen, COLB_ERR_NOMEM, "out of memory");
	fl->chips = n;
	fl->chips[fl->nchips++] = c;
	return COLB_OK;
}

/* An SNP attestation report: its product, chip and TCB, as the AMD layer reads them. */
static colb_err load_report(cap_fleet *fl, const char *path, char *err, size_t errlen)
{
	uint8_t *data;
	size_t len;
	colb_err rc = colb_read_file(path, 64 * 1024, &data, &len, err, errlen);
	if (rc)
		return rc;
	colb_amd_report rep;
	rc = colb_amd_report_parse(data, len, &rep);
	free(data);
	if (rc)
		return colb_seterr(err, errlen, rc, "%s: not an SNP attestation report (%s)", path,
				   colb_strerror(rc));
	if (rep.product == COLB_AMD_UNKNOWN)
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
				   "%s: a version %u report does not say its product; give the chip as "
				   "--amd-chip PRODUCT:CHIPID:TCB instead", path, rep.version);
	if (rep.signer == COLB_AMD_SIGNER_VLEK) {
		/* VLEKs come from the cloud provider, not KDS: only the chains are fetched. */
		return add_product(fl, rep.product) ? colb_seterr(err, errlen, COLB_ERR_INTERNAL,
								  "too many products") : COLB_OK;
	}
	if (rep.chip_id_masked)
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
				   "%s: the report's chip id is masked (MASK_CHIP_ID): KDS has no VCEK "
				   "for it", path);
	char hwid[129], tcbm[17];
	if (colb_amd_hwid_hex(rep.product, rep.chip_id, hwid))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s: unusable chip id", path);
	colb_amd_tcbm_hex(rep.reported_tcb, tcbm);
	return add_chip(fl, colb_amd_product_name(rep.product), hwid, tcbm, path, err, errlen);
}

static colb_err load_chip_flag(cap_fleet *fl, const char *spec, char *err, size_t errlen)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", spec);
	char *a = strchr(buf, ':');
	char *b = a ? strchr(a + 1, ':') : NULL;
	if (!a || !b)
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
				   "--amd-chip %s: expected PRODUCT:CHIPID:TCB", spec);
	*a++ = 0;
	*b++ = 0;
	char where[300];
	snprintf(where, sizeof where, "--amd-chip %.200s", spec);
	return add_chip(fl, buf, a, b, where, err, errlen);
}

static colb_err add_set(cap_fleet *fl, const char *s, const char *where, char *err, size_t errlen)
{
	uint64_t n;
	if (strcmp(s, "standard") && strcmp(s, "early") && !(colb_parse_u64(s, &n) && n > 0 && n < 100000))
		return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
				   "%s: '%s' is not standard, early or an evaluation number", where, s);
	for (size_t i = 0; i < fl->nsets; i++)
		if (!strcmp(fl->sets[i], s))
			return COLB_OK;
	if (fl->nsets >= CAP_MAX_SETS)
		return colb_seterr(err, errlen, COLB_ERR_LIMIT, "%s: too many TCB sets", where);
	snprintf(fl->sets[fl->nsets++], sizeof fl->sets[0], "%s", s);
	return COLB_OK;
}

static colb_err add_sets_text(cap_fleet *fl, const char *text, char *err, size_t errlen)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", text);
	colb_err rc = COLB_OK;
	for (char *s = strtok(buf, ","); s && !rc; s = strtok(NULL, ","))
		rc = add_set(fl, s, "--tcb", err, errlen);
	return rc;
}

/* A path of the fleet file, relative to the fleet file's directory. */
static void fleet_path(const char *fleet, const char *rel, char *out, size_t outlen)
{
	if (rel[0] == '/') {
		snprintf(out, outlen, "%s", rel);
		return;
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", fleet);
	snprintf(out, outlen, "%s/%s", dirname(tmp), rel);
}

static const char *const intel_keys[] = { "pckid_csv", "platform_list", "fmspcs", "all_fmspcs", "tcb" };
static const char *const amd_keys[] = { "chips", "reports" };

static colb_err unknown_keys(json_t *obj, const char *const *keys, size_t n, const char *where,
			     char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		bool known = false;
		for (size_t i = 0; i < n; i++)
			known |= !strcmp(k, keys[i]);
		if (!known)
			return colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s: unknown key \"%s\"", where, k);
	}
	return COLB_OK;
}

static colb_err load_fleet_file(cap_fleet *fl, const char *path, bool cli_sets, char *err, size_t errlen)
{
	json_t *j;
	colb_err rc = load_json(path, &j, err, errlen);
	if (rc)
		return rc;
	char where[4200], p[4096];
	json_t *intel = json_object_get(j, "intel"), *amd = json_object_get(j, "amd"), *v;
	size_t i;
	const char *top[] = { "intel", "amd" };
	if (!json_is_object(j)) {
		rc = colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "%s: not a JSON object", path);
		goto out;
	}
	if ((rc = unknown_keys(j, top, 2, path, err, errlen)))
		goto out;
	if (intel) {
		snprintf(where, sizeof where, "%s: intel", path);
		if ((rc = unknown_keys(intel, intel_keys, COLB_ARRAY_LEN(intel_keys), where, err, errlen)))
			goto out;
		json_array_foreach(json_object_get(intel, "pckid_csv"), i, v) {
			fleet_path(path, json_string_value(v) ? json_string_value(v) : "", p, sizeof p);
			if ((rc = load_csv(fl, p, err, errlen)))
				goto out;
		}
		json_array_foreach(json_object_get(intel, "platform_list"), i, v) {
			fleet_path(path, json_string_value(v) ? json_string_value(v) : "", p, sizeof p);
			if ((rc = load_platform_list(fl, p, err, errlen)))
				goto out;
		}
		json_array_foreach(json_object_get(intel, "fmspcs"), i, v) {
			if (cap_fleet_add_fmspc(fl, json_string_value(v))) {
				rc = colb_seterr(err, errlen, COLB_ERR_INVALID_ARG,
						 "%s: intel.fmspcs[%zu] is not 12 hex digits", path, i);
				goto out;
			}
		}
		if (json_is_true(json_object_get(intel, "all_fmspcs")))
			fl->all_fmspcs = true;
		if (!cli_sets) {
			snprintf(where, sizeof where, "%s: intel.tcb", path);
			json_array_foreach(json_object_get(intel, "tcb"), i, v) {
				char num[24];
				const char *s = json_string_value(v);
				if (json_is_integer(v)) {
					snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
					s = num;
				}
				if ((rc = add_set(fl, s ? s : "", where, err, errlen)))
					goto out;
			}
		}
	}
	if (amd) {
		snprintf(where, sizeof where, "%s: amd", path);
		if ((rc = unknown_keys(amd, amd_keys, COLB_ARRAY_LEN(amd_keys), where, err, errlen)))
			goto out;
		json_array_foreach(json_object_get(amd, "chips"), i, v) {
			snprintf(where, sizeof where, "%s: amd.chips[%zu]", path, i);
			if ((rc = add_chip(fl, json_string_value(json_object_get(v, "product")),
					   json_string_value(json_object_get(v, "chip_id")),
					   json_string_value(json_object_get(v, "tcb")), where, err, errlen)))
				goto out;
		}
		json_array_foreach(json_object_get(amd, "reports"), i, v) {
			fleet_path(path, json_string_value(v) ? json_string_value(v) : "", p, sizeof p);
			if ((rc = load_report(fl, p, err, errlen)))
				goto out;
		}
	}
out:
	json_decref(j);
	return rc;
}

colb_err cap_fleet_load(const cap_config *cfg, cap_fleet *fl, char *err, size_t errlen)
{
	colb_err rc = COLB_OK;
	memset(fl, 0, sizeof *fl);
	if (cfg->tcb && (rc = add_sets_text(fl, cfg->tcb, err, errlen)))
		return rc;
	if (cfg->fleet && (rc = load_fleet_file(fl, cfg->fleet, cfg->tcb != NULL, err, errlen)))
		return rc;
	for (size_t i = 0; i < cfg->npckid_csv && !rc; i++)
		rc = load_csv(fl, cfg->pckid_csv[i], err, errlen);
	for (size_t i = 0; i < cfg->nplatform_list && !rc; i++)
		rc = load_platform_list(fl, cfg->platform_list[i], err, errlen);
	for (size_t i = 0; i < cfg->nfmspcs && !rc; i++)
		if (cap_fleet_add_fmspc(fl, cfg->fmspcs[i]))
			rc = colb_seterr(err, errlen, COLB_ERR_INVALID_ARG, "--fmspc %s: not 12 hex digits",
					 cfg->fmspcs[i]);
	for (size_t i = 0; i < cfg->namd_chips && !rc; i++)
		rc = load_chip_flag(fl, cfg->amd_chips[i], err, errlen);
	for (size_t i = 0; i < cfg->namd_reports && !rc; i++)
		rc = load_report(fl, cfg->amd_reports[i], err, errlen);
	if (cfg->all_fmspcs)
		fl->all_fmspcs = true;
	/* The standard set is the baseline a bundle falls back to: always taken. */
	if (!rc)
		rc = add_set(fl, "standard", "--tcb", err, errlen);
	return rc;
}
