/*
 * get_amd.c — the AMD half of `colbundle get`: VCEKs (by chip id and TCB, or
 * from an SNP report), VLEKs, chains, CRLs, in KDS's and THIM's forms, as an
 * SNP certificate table, or as trustee's offline store.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "cli/get_amd.h"
#include "util/util.h"

typedef struct amd_args {
	const char *product, *chip_id, *tcb, *report, *format, *csp, *out, *out_dir, *cache;
	bool vlek;
} amd_args;

static int emit(const char *out, const void *data, size_t len)
{
	if (out) {
		char why[256];
		colb_err rc = colb_write_file_atomic(out, data, len, 0644, why, sizeof why);
		if (rc)
			cli_err("get", "%s", why);
		return rc ? EXIT_IOERR : EXIT_OK;
	}
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
		cli_err("get", "write to stdout failed");
		return EXIT_IOERR;
	}
	return EXIT_OK;
}

static bool need_product(const char *item, const amd_args *a, colb_amd_product *p)
{
	*p = a->product ? colb_amd_product_from_name(a->product) : COLB_AMD_UNKNOWN;
	if (!*p) {
		cli_err("get", "amd %s needs --product Milan|Genoa|Turin", item);
		return false;
	}
	return true;
}

static bool parse_tcb(const char *s, uint64_t *out)
{
	if (!s || colb_amd_tcbm_parse(s, out) != COLB_OK) {
		cli_err("get", "--tcb must be 16 hex digits (tcbm, most significant byte first)");
		return false;
	}
	return true;
}

static void warn_stale(const char *what, int stale)
{
	if (stale)
		fprintf(stderr, "colbundle get: warning: %s: the product's CRL is stale or absent\n", what);
}

static int emit_cert(colb_bundle *b, const amd_args *a, const colb_amd_cert *c)
{
	warn_stale(c->path, c->stale);
	const char *f = a->format ? a->format : "der";
	if (!strcmp(f, "der"))
		return emit(a->out, c->der, c->der_len);
	if (!strcmp(f, "pem"))
		return emit(a->out, c->pem, c->pem_len);
	colb_err rc;
	uint8_t *blob = NULL;
	size_t len = 0;
	if (!strcmp(f, "thim")) {
		uint64_t secs = 86400;
		if (a->cache && (!colb_parse_u64(a->cache, &secs) || secs > UINT32_MAX)) {
			cli_err("get", "--cache-seconds: '%s' is not a number of seconds", a->cache);
			return EXIT_USAGE;
		}
		char *json;
		rc = colb_amd_thim_json(c, (unsigned)secs, &json, &len);
		blob = (uint8_t *)json;
	} else if (!strcmp(f, "certtable")) {
		rc = colb_amd_certtable(c, &blob, &len);
	} else {
		cli_err("get", "--format must be der, pem, thim or certtable");
		return EXIT_USAGE;
	}
	if (rc) {
		cli_err("get", "cannot format %s: %s", c->path, colb_strerror(rc));
		return cli_exit_for(rc);
	}
	int ex = emit(a->out, blob, len);
	colb_free(blob);
	return ex;
}

static int fail_with(colb_bundle *b, colb_err rc)
{
	cli_err("get", "%s", colb_bundle_error(b));
	return cli_exit_for(rc);
}

static int get_item(colb_bundle *b, const char *item, const amd_args *a)
{
	colb_amd_product p = COLB_AMD_UNKNOWN;
	colb_amd_cert cert;
	colb_err rc;
	uint64_t tcbm = 0;
	uint8_t chip[64];

	if (!strcmp(item, "vcek") && a->report) {
		uint8_t *rep;
		size_t len;
		char why[512];
		if (a->product && !need_product(item, a, &p))
			return EXIT_USAGE;
		if ((rc = colb_read_file(a->report, COLB_AMD_REPORT_SIZE + 1, &rep, &len, why, sizeof why))) {
			cli_err("get", "%s", why);
			return cli_exit_for(rc);
		}
		rc = colb_amd_for_report(b, rep, len, p, &cert);
		free(rep);
		return rc ? fail_with(b, rc) : emit_cert(b, a, &cert);
	}
	if (!strcmp(item, "vcek") || !strcmp(item, "tcbs")) {
		if (!need_product(item, a, &p))
			return EXIT_USAGE;
		if (!a->chip_id || colb_amd_chip_id_parse(p, a->chip_id, chip) != COLB_OK) {
			cli_err("get", "amd %s needs --chip-id: 128 hex digits%s", item,
				p == COLB_AMD_TURIN ? " (or the 16 significant ones)" : "");
			return EXIT_USAGE;
		}
		if (item[0] == 't') {
			const uint64_t *list;
			size_t n;
			if ((rc = colb_amd_vcek_tcbs(b, p, chip, &list, &n)))
				return fail_with(b, rc);
			if (n == 0) {
				cli_err("get", "no %s VCEK for that chip", colb_amd_product_name(p));
				return EXIT_NOTFOUND;
			}
			for (size_t i = 0; i < n; i++) {
				char hex[17];
				colb_amd_tcb t;
				colb_amd_tcbm_hex(list[i], hex);
				if (colb_amd_tcb_decode(p, list[i], &t) == COLB_OK)
					printf("%s  fmc %u bl %u tee %u snp %u ucode %u\n", hex, t.fmc, t.bl, t.tee,
					       t.snp, t.ucode);
				else
					printf("%s\n", hex);
			}
			return fflush(stdout) ? EXIT_IOERR : EXIT_OK;
		}
		if (!a->tcb) {
			cli_err("get", "amd vcek needs --tcb HEX or --report FILE");
			return EXIT_USAGE;
		}
		if (!parse_tcb(a->tcb, &tcbm))
			return EXIT_USAGE;
		rc = colb_amd_vcek(b, p, chip, tcbm, &cert);
		return rc ? fail_with(b, rc) : emit_cert(b, a, &cert);
	}
	if (!strcmp(item, "vlek")) {
		if (!need_product(item, a, &p))
			return EXIT_USAGE;
		if (!a->csp) {
			cli_err("get", "amd vlek needs --csp NAME");
			return EXIT_USAGE;
		}
		if (a->tcb && !parse_tcb(a->tcb, &tcbm))
			return EXIT_USAGE;
		rc = colb_amd_vlek(b, p, a->csp, tcbm, &cert);
		return rc ? fail_with(b, rc) : emit_cert(b, a, &cert);
	}
	if (!strcmp(item, "chain")) {
		colb_amd_chain ch;
		if (!need_product(item, a, &p))
			return EXIT_USAGE;
		if ((rc = colb_amd_chain_get(b, p, a->vlek, &ch)))
			return fail_with(b, rc);
		warn_stale(colb_amd_product_name(p), ch.stale);
		return emit(a->out, ch.pem, ch.pem_len);
	}
	if (!strcmp(item, "crl")) {
		colb_amd_crl crl;
		if (!need_product(item, a, &p))
			return EXIT_USAGE;
		const char *f = a->format ? a->format : "der";
		if (strcmp(f, "der") && strcmp(f, "pem")) {
			cli_err("get", "amd crl: --format must be der or pem");
			return EXIT_USAGE;
		}
		if ((rc = colb_amd_crl_get(b, p, &crl)))
			return fail_with(b, rc);
		if (crl.stale)
			fprintf(stderr, "colbundle get: warning: %s is past its nextUpdate\n", crl.path);
		if (!strcmp(f, "der"))
			return emit(a->out, crl.der, crl.len);
		char *b64 = colb_b64_encode(crl.der, crl.len);
		colb_buf out;
		colb_buf_init(&out, 16u << 20);
		size_t n = b64 ? strlen(b64) : 0;
		colb_err e = b64 ? colb_buf_append_str(&out, "-----BEGIN X509 CRL-----\n") : COLB_ERR_NOMEM;
		for (size_t i = 0; !e && i < n; i += 64)
			if (!(e = colb_buf_append(&out, b64 + i, n - i < 64 ? n - i : 64)))
				e = colb_buf_append(&out, "\n", 1);
		if (!e)
			e = colb_buf_append_str(&out, "-----END X509 CRL-----\n");
		free(b64);
		int ex = e ? EXIT_IOERR : emit(a->out, out.data, out.len);
		colb_buf_free(&out);
		return ex;
	}
	if (!strcmp(item, "trustee")) {
		size_t n;
		if (!a->out_dir) {
			cli_err("get", "amd trustee needs --out-dir DIR");
			return EXIT_USAGE;
		}
		if ((rc = colb_amd_export_trustee(b, a->out_dir, &n)))
			return fail_with(b, rc);
		fprintf(stderr, "colbundle get: wrote %zu VCEKs under %s/vcek\n", n, a->out_dir);
		return EXIT_OK;
	}
	cli_err("get", "unknown AMD item '%s' (see --help)", item);
	return EXIT_USAGE;
}

int cli_get_amd(const char *bundle, int argc, char **argv)
{
	cli_common c = {0};
	amd_args a = {0};
	const char *item = NULL;
	static const cli_opt_field opts[] = {
		{"--product", offsetof(amd_args, product)}, {"--chip-id", offsetof(amd_args, chip_id)},
		{"--tcb", offsetof(amd_args, tcb)},         {"--report", offsetof(amd_args, report)},
		{"--format", offsetof(amd_args, format)},   {"--csp", offsetof(amd_args, csp)},
		{"--out", offsetof(amd_args, out)},         {"--out-dir", offsetof(amd_args, out_dir)},
		{"--cache-seconds", offsetof(amd_args, cache)},
	};
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "get", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		int m = cli_opt_table("get", argc, argv, &i, opts, sizeof opts / sizeof opts[0], &a);
		if (m < 0)
			return EXIT_USAGE;
		if (m)
			continue;
		if (!strcmp(argv[i], "--vlek"))
			a.vlek = true;
		else if (!cli_positional("get", argv[i], &item, NULL))
			return EXIT_USAGE;
	}
	if (!item) {
		cli_err("get", "which AMD item? (vcek, vlek, tcbs, chain, crl, trustee; see --help)");
		return EXIT_USAGE;
	}
	cli_bundle cb;
	int ex = cli_open_bundle(&c, "get", bundle, &cb);
	if (!ex)
		ex = get_item(cb.b, item, &a);
	cli_close_bundle(&cb);
	return ex;
}
