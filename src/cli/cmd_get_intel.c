/*
 * cmd_get_intel.c — the Intel half of `colbundle get`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "cli/vendor_get.h"
#include "util/util.h"

typedef struct intel_args {
	const char *tee, *fmspc, *eval, *kind, *ca, *encoding, *qe_id, *pce_id, *cpusvn, *pcesvn, *out, *baseline;
	bool chain;
} intel_args;

static bool parse_hex_arg(const char *what, const char *s, uint8_t *out, size_t n)
{
	if (!s || strlen(s) != 2 * n || !colb_hex_decode(s, 2 * n, out, n)) {
		cli_err("get", "%s must be %zu hex digits", what, 2 * n);
		return false;
	}
	return true;
}

static bool parse_u32_arg(const char *what, const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (!s) {
		*out = 0;
		return true;
	}
	if (!colb_parse_u64(s, &v) || v > max) {
		cli_err("get", "%s: '%s' is not a number up to %u", what, s, max);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

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

static int emit_item(const intel_args *a, const colb_intel_item *it)
{
	if (it->stale) {
		char t[21];
		colb_time_format(it->next_update, t);
		fprintf(stderr, "colbundle get: warning: %s is stale (nextUpdate %s)\n", it->path, t);
	}
	if (a->chain)
		return emit(a->out, it->issuer_chain[0] ? it->issuer_chain : it->root_pem,
			    it->issuer_chain[0] ? it->issuer_chain_len : strlen(it->root_pem));
	return emit(a->out, it->data, it->len);
}

static int get_item(colb_bundle *b, const char *item, const intel_args *a)
{
	colb_intel_item it;
	colb_err rc;
	uint32_t eval;
	if (!parse_u32_arg("--eval", a->eval, UINT32_MAX, &eval))
		return EXIT_USAGE;
	if (!strcmp(item, "tcbinfo") || !strcmp(item, "evalnums")) {
		colb_intel_tee tee;
		if (!a->tee || (strcmp(a->tee, "sgx") && strcmp(a->tee, "tdx"))) {
			cli_err("get", "intel %s needs --tee sgx|tdx", item);
			return EXIT_USAGE;
		}
		tee = !strcmp(a->tee, "tdx") ? COLB_INTEL_TDX : COLB_INTEL_SGX;
		if (item[0] == 'e') {
			rc = colb_intel_evalnums(b, tee, &it);
		} else {
			uint8_t fm[6];
			if (!parse_hex_arg("--fmspc", a->fmspc, fm, 6))
				return EXIT_USAGE;
			rc = colb_intel_tcbinfo(b, tee, fm, eval, &it);
		}
	} else if (!strcmp(item, "identity")) {
		static const char *const kinds[] = {"qe", "qve", "qae", "td_qe"};
		size_t k = 0;
		while (a->kind && k < 4 && strcmp(a->kind, kinds[k]))
			k++;
		if (!a->kind || k == 4) {
			cli_err("get", "intel identity needs --kind qe|qve|qae|td_qe");
			return EXIT_USAGE;
		}
		rc = colb_intel_identity_get(b, (colb_intel_identity)k, eval, &it);
	} else if (!strcmp(item, "pckcrl")) {
		if (!a->ca || (strcmp(a->ca, "processor") && strcmp(a->ca, "platform"))) {
			cli_err("get", "intel pckcrl needs --ca processor|platform");
			return EXIT_USAGE;
		}
		bool der = a->encoding && !strcmp(a->encoding, "der");
		if (a->encoding && !der && strcmp(a->encoding, "pem")) {
			cli_err("get", "--encoding must be pem or der");
			return EXIT_USAGE;
		}
		rc = colb_intel_pckcrl(b, !strcmp(a->ca, "platform") ? COLB_INTEL_CA_PLATFORM : COLB_INTEL_CA_PROCESSOR, &it);
		if (!rc && !der && !a->chain) {
			char *pem;
			size_t plen;
			if (it.stale)
				fprintf(stderr, "colbundle get: warning: %s is stale\n", it.path);
			if ((rc = colb_intel_crl_pem(it.data, it.len, &pem, &plen)) == COLB_OK) {
				int ex = emit(a->out, pem, plen);
				colb_free(pem);
				return ex;
			}
		}
	} else if (!strcmp(item, "rootcacrl")) {
		rc = colb_intel_rootcacrl(b, &it);
	} else if (!strcmp(item, "pckcerts")) {
		uint8_t qe[16], pce[2];
		if (!parse_hex_arg("--qe-id", a->qe_id, qe, 16) || !parse_hex_arg("--pce-id", a->pce_id, pce, 2))
			return EXIT_USAGE;
		rc = colb_intel_pckcerts(b, qe, (uint16_t)(pce[0] | pce[1] << 8), &it);
	} else if (!strcmp(item, "pckcert")) {
		uint8_t qe[16], pce[2], cpusvn[16];
		uint32_t pcesvn;
		if (!parse_hex_arg("--qe-id", a->qe_id, qe, 16) || !parse_hex_arg("--pce-id", a->pce_id, pce, 2) ||
		    !parse_hex_arg("--cpusvn", a->cpusvn, cpusvn, 16) || !a->pcesvn ||
		    !parse_u32_arg("--pcesvn", a->pcesvn, 0xffff, &pcesvn))
			return a->pcesvn ? EXIT_USAGE : (cli_err("get", "intel pckcert needs --pcesvn N"), EXIT_USAGE);
		colb_intel_pck pck;
		rc = colb_intel_pck_select(b, qe, (uint16_t)(pce[0] | pce[1] << 8), cpusvn, (uint16_t)pcesvn, eval, &pck);
		if (!rc) {
			fprintf(stderr, "SGX-TCBm: %s\nSGX-FMSPC: %s\nSGX-PCK-Certificate-CA-Type: %s\n"
					"TCB status: %s (evaluation number %u)%s\n",
				pck.tcbm, pck.fmspc, pck.ca_type, pck.tcb_status, pck.eval, pck.stale ? " [stale]" : "");
			if (a->chain)
				return emit(a->out, pck.issuer_chain, pck.issuer_chain_len);
			colb_buf out;
			colb_buf_init(&out, 1 << 20);
			if (colb_buf_append(&out, pck.cert_pem, pck.cert_pem_len) ||
			    colb_buf_append(&out, pck.issuer_chain, pck.issuer_chain_len)) {
				colb_buf_free(&out);
				return EXIT_IOERR;
			}
			int ex = emit(a->out, out.data, out.len);
			colb_buf_free(&out);
			return ex;
		}
	} else {
		cli_err("get", "unknown Intel item '%s' (see --help)", item);
		return EXIT_USAGE;
	}
	if (rc) {
		cli_err("get", "%s", colb_bundle_error(b));
		return cli_exit_for(rc);
	}
	return emit_item(a, &it);
}

int cli_get_intel(const char *bundle, int argc, char **argv)
{
	cli_common c = {0};
	intel_args a = {0};
	const char *item = NULL;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "get", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		static const cli_opt_field opts[] = {
			{"--tee", offsetof(intel_args, tee)},       {"--fmspc", offsetof(intel_args, fmspc)},
			{"--eval", offsetof(intel_args, eval)},     {"--kind", offsetof(intel_args, kind)},
			{"--ca", offsetof(intel_args, ca)},         {"--encoding", offsetof(intel_args, encoding)},
			{"--qe-id", offsetof(intel_args, qe_id)},   {"--pce-id", offsetof(intel_args, pce_id)},
			{"--cpusvn", offsetof(intel_args, cpusvn)}, {"--pcesvn", offsetof(intel_args, pcesvn)},
			{"--out", offsetof(intel_args, out)},       {"--baseline", offsetof(intel_args, baseline)},
		};
		int m = cli_opt_table("get", argc, argv, &i, opts, sizeof opts / sizeof opts[0], &a);
		if (m < 0)
			return EXIT_USAGE;
		if (m)
			continue;
		if (!strcmp(argv[i], "--issuer-chain"))
			a.chain = true;
		else if (!cli_positional("get", argv[i], &item, NULL))
			return EXIT_USAGE;
	}
	if (!item) {
		cli_err("get", "which Intel item? (see --help)");
		return EXIT_USAGE;
	}
	cli_bundle cb;
	int ex = cli_open_bundle(&c, "get", bundle, &cb);
	if (!ex && a.baseline && colb_intel_set_baseline(cb.b, a.baseline) != COLB_OK) {
		cli_err("get", "--baseline: %s", colb_bundle_error(cb.b));
		ex = EXIT_REFUSED;
	}
	if (!ex)
		ex = get_item(cb.b, item, &a);
	cli_close_bundle(&cb);
	return ex;
}
