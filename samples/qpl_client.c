/*
 * qpl_client.c — a small DCAP client, as Intel's QVL loads a quote provider
 * library: dlopen("libdcap_quoteprov.so.1"), look up the functions, ask for
 * the quote verification collateral of one FMSPC, then check what came back
 * on its own with OpenSSL (not with libcolbundle): the TCB info and QE
 * identity signatures over their exact bytes, the issuer chains up to the
 * root given on the command line, and the CRL signatures.
 *
 *   qpl-client [--tdx] [--param tcbEvaluationDataNumber=N] FMSPC ROOT.der [OUTDIR]
 *
 * With OUTDIR it also writes what it received there (tcb_info.json,
 * qe_identity.json, pck_crl.der, root_ca_crl.der, *_chain.pem).
 * Exit status 0 only when every check passed.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "qpl/sgx_ql_types.h"

typedef quote3_error_t (*get_coll_fn)(const uint8_t *, uint16_t, const char *, sgx_ql_qve_collateral_t **);
typedef quote3_error_t (*get_coll_params_fn)(const uint8_t *, uint16_t, const char *, const void *, uint16_t,
					     sgx_ql_qve_collateral_t **);
typedef quote3_error_t (*free_coll_fn)(sgx_ql_qve_collateral_t *);
typedef quote3_error_t (*set_log_fn)(sgx_ql_logging_callback_t, sgx_ql_log_level_t);

static int failures;

static void check(int ok, const char *what)
{
	printf("  %-58s %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
}

static void logger(sgx_ql_log_level_t level, const char *msg)
{
	fprintf(stderr, "  [provider %d] %s\n", (int)level, msg);
}

static X509 *root_cert;

/* Verifies a PEM chain (issuer first, root last) up to the trusted root;
 * returns the first certificate (the signer), or NULL. */
static X509 *verify_chain(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509 *x, *first = NULL;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!first)
			first = x;
		else
			sk_X509_push(untrusted, x);
	}
	BIO_free(b);
	if (!first) {
		sk_X509_pop_free(untrusted, X509_free);
		return NULL;
	}
	X509_STORE *store = X509_STORE_new();
	X509_STORE_add_cert(store, root_cert);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, first, untrusted);
	/* Collateral outlives its certificates' freshness in test data; what
	 * matters here is the signature path. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	int ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untrusted, X509_free);
	if (!ok) {
		X509_free(first);
		return NULL;
	}
	return first;
}

/* Checks {"<key>":{...},"signature":"<128 hex>"}: ECDSA P-256 over the exact
 * bytes of the inner object, r||s in hex. */
static int verify_signed_json(const char *body, size_t len, const char *key, X509 *signer)
{
	char prefix[64];
	snprintf(prefix, sizeof prefix, "{\"%s\":", key);
	const char *sig = strstr(body, ",\"signature\":\"");
	if (strncmp(body, prefix, strlen(prefix)) != 0 || !sig || len < 130)
		return 0;
	const char *inner = body + strlen(prefix);
	size_t inner_len = (size_t)(sig - inner);
	const char *hex = sig + strlen(",\"signature\":\"");
	unsigned char rs[64];
	for (int i = 0; i < 64; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &rs[i]) != 1)
			return 0;
	ECDSA_SIG *es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
	unsigned char *der = NULL;
	int derlen = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(signer)) == 1 &&
		 EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)inner, inner_len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

static int verify_crl(const char *der, size_t len, const char *chain, size_t chain_len)
{
	const unsigned char *p = (const unsigned char *)der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	int ok = 0;
	if (!crl)
		return 0;
	if (chain) {
		X509 *issuer = verify_chain(chain, chain_len);
		ok = issuer && X509_CRL_verify(crl, X509_get0_pubkey(issuer)) == 1;
		X509_free(issuer);
	} else {
		ok = X509_CRL_verify(crl, X509_get0_pubkey(root_cert)) == 1;
	}
	X509_CRL_free(crl);
	return ok;
}

static void save(const char *dir, const char *name, const char *data, size_t len)
{
	char path[4096];
	if (!dir)
		return;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	int tdx = 0;
	const char *param = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--tdx"))
			tdx = 1;
		else if (!strcmp(argv[i], "--param") && i + 1 < argc)
			param = argv[++i];
		else
			break;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: qpl-client [--tdx] [--param K=V] FMSPC ROOT.der [OUTDIR]\n");
		return 2;
	}
	const char *fmspc_hex = argv[i], *root_path = argv[i + 1], *outdir = argc - i > 2 ? argv[i + 2] : NULL;
	uint8_t fmspc[6];
	for (int k = 0; k < 6; k++)
		if (strlen(fmspc_hex) != 12 || sscanf(fmspc_hex + 2 * k, "%2hhx", &fmspc[k]) != 1) {
			fprintf(stderr, "qpl-client: FMSPC must be 12 hex digits\n");
			return 2;
		}
	FILE *rf = fopen(root_path, "rb");
	root_cert = rf ? d2i_X509_fp(rf, NULL) : NULL;
	if (rf)
		fclose(rf);
	if (!root_cert) {
		fprintf(stderr, "qpl-client: cannot read the root certificate %s\n", root_path);
		return 2;
	}

	/* Exactly as Intel's QVL: the versioned name first, then the unversioned. */
	void *lib = dlopen("libdcap_quoteprov.so.1", RTLD_NOW);
	if (!lib)
		lib = dlopen("libdcap_quoteprov.so", RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "qpl-client: cannot load the quote provider library: %s\n", dlerror());
		return 1;
	}
	set_log_fn set_log = (set_log_fn)dlsym(lib, "sgx_ql_set_logging_callback");
	get_coll_fn get = (get_coll_fn)dlsym(lib, tdx ? "tdx_ql_get_quote_verification_collateral"
						      : "sgx_ql_get_quote_verification_collateral");
	get_coll_params_fn get_params = (get_coll_params_fn)dlsym(
		lib, tdx ? "tdx_ql_get_quote_verification_collateral_with_params"
			 : "sgx_ql_get_quote_verification_collateral_with_params");
	free_coll_fn freec = (free_coll_fn)dlsym(lib, tdx ? "tdx_ql_free_quote_verification_collateral"
							  : "sgx_ql_free_quote_verification_collateral");
	if (!get || !freec || !get_params) {
		fprintf(stderr, "qpl-client: the library lacks the collateral functions\n");
		return 1;
	}
	if (set_log)
		set_log(logger, SGX_QL_LOG_ERROR);

	sgx_ql_qve_collateral_t *c = NULL;
	quote3_error_t rc = param ? get_params(fmspc, 6, "processor", param, (uint16_t)strlen(param), &c)
				  : get(fmspc, 6, "processor", &c);
	printf("%s collateral for FMSPC %s through libdcap_quoteprov.so.1: 0x%04x\n", tdx ? "TDX" : "SGX",
	       fmspc_hex, (unsigned)rc);
	if (rc != SGX_QL_SUCCESS || !c)
		return 1;

	check(tdx ? (c->major_version == 4 && c->minor_version == 0 && c->tee_type == 0x81)
		  : (c->major_version == 3 && c->minor_version == 1 && c->tee_type == 0),
	      tdx ? "version 4.0, tee_type 0x81" : "version 3.1, tee_type 0 (raw DER CRLs)");
	check(strnlen(c->tcb_info, c->tcb_info_size) == c->tcb_info_size - 1 &&
		      strnlen(c->qe_identity, c->qe_identity_size) == c->qe_identity_size - 1 &&
		      strnlen(c->tcb_info_issuer_chain, c->tcb_info_issuer_chain_size) ==
			      c->tcb_info_issuer_chain_size - 1,
	      "sizes count the trailing NUL (the QVL's check)");

	X509 *tcb_signer = verify_chain(c->tcb_info_issuer_chain, c->tcb_info_issuer_chain_size - 1);
	check(tcb_signer != NULL, "TCB info issuer chain verifies to the root");
	check(tcb_signer && verify_signed_json(c->tcb_info, c->tcb_info_size - 1, "tcbInfo", tcb_signer),
	      "TCB info signature over its exact bytes");
	X509 *qe_signer = verify_chain(c->qe_identity_issuer_chain, c->qe_identity_issuer_chain_size - 1);
	check(qe_signer && verify_signed_json(c->qe_identity, c->qe_identity_size - 1, "enclaveIdentity", qe_signer),
	      "QE identity signature over its exact bytes");
	check(verify_crl(c->pck_crl, c->pck_crl_size - 1, c->pck_crl_issuer_chain,
			 c->pck_crl_issuer_chain_size - 1),
	      "PCK CRL signed by the PCK CA of its chain");
	check(verify_crl(c->root_ca_crl, c->root_ca_crl_size - 1, NULL, 0), "Root CA CRL signed by the root");
	const char *eval = strstr(c->tcb_info, "\"tcbEvaluationDataNumber\":");
	if (eval)
		printf("  TCB info evaluation number: %d\n", atoi(eval + strlen("\"tcbEvaluationDataNumber\":")));

	save(outdir, "tcb_info.json", c->tcb_info, c->tcb_info_size - 1);
	save(outdir, "qe_identity.json", c->qe_identity, c->qe_identity_size - 1);
	save(outdir, "pck_crl.der", c->pck_crl, c->pck_crl_size - 1);
	save(outdir, "root_ca_crl.der", c->root_ca_crl, c->root_ca_crl_size - 1);
	save(outdir, "tcb_info_chain.pem", c->tcb_info_issuer_chain, c->tcb_info_issuer_chain_size - 1);
	X509_free(tcb_signer);
	X509_free(qe_signer);
	freec(c);
	X509_free(root_cert);
	dlclose(lib);
	printf("%s\n", failures ? "qpl-client: some checks FAILED" : "qpl-client: all checks passed");
	return failures ? 1 : 0;
}
