/*
 * quoteprov.c — the functions libdcap_quoteprov.so.1 exports: the quote
 * provider ABI that Intel's QVL, Intel's quote generation, the TDX QGS and
 * Open Enclave load by dlopen. Everything is served from the installed,
 * verified bundle (source.c); nothing goes to the network.
 *
 * Every buffer handed out is one allocation (the collateral structure with
 * its seven fields behind it, the quote config with its chain), except the
 * QvE identity and its chain which the ABI frees through two pointers. Every
 * size counts the trailing NUL, the DER CRLs' too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qpl/qpl.h"
#include "util/util.h"

static quote3_error_t bad_param(const char *fn, const char *what)
{
	qpl_log(SGX_QL_LOG_ERROR, "%s: %s", fn, what);
	return SGX_QL_ERROR_INVALID_PARAMETER;
}

/* A failed lookup: the ABI code, logged with what was asked. */
static quote3_error_t lookup_failed(const char *fn, colb_err e, quote3_error_t not_found, const char *what)
{
	quote3_error_t rc = qpl_map_err(e, not_found);
	qpl_log(SGX_QL_LOG_ERROR, "%s: %s: %s (%s)", fn, what, colb_strerror(e), qpl_err_name(rc));
	return rc;
}

/* Stale collateral served under the `warn` freshness policy is reported,
 * once per process: the QvE judges the dates, this only explains them. */
static atomic_int stale_reported;

static void note_stale(bool stale, const char *what)
{
	if (stale && !atomic_exchange(&stale_reported, 1))
		qpl_log(SGX_QL_LOG_INFO, "%s is past its nextUpdate; it is served because the freshness policy is warn "
				     "(install a newer bundle)", what);
}

/* ---- verification collateral ---------------------------------------------------------- */

typedef struct field {
	const void *data;
	size_t len;         /* without the NUL */
} field;

/* The issuer chain as text: up to its first NUL, so that the QVL's
 * strnlen(p, size) == size - 1 holds whatever the length says. */
static field chain_field(const colb_intel_item *it)
{
	return (field){it->issuer_chain, strnlen(it->issuer_chain, it->issuer_chain_len)};
}

static quote3_error_t build_collateral(colb_intel_tee tee, const colb_intel_item *crl, const colb_intel_item *root,
				       const colb_intel_item *tcb, const colb_intel_item *qe,
				       sgx_ql_qve_collateral_t **out)
{
	/* In the structure's order. */
	field f[7] = {chain_field(crl),        {root->data, root->len}, {crl->data, crl->len},
		      chain_field(tcb),        {tcb->data, tcb->len},   chain_field(qe),
		      {qe->data, qe->len}};
	size_t total = sizeof(sgx_ql_qve_collateral_t);
	for (size_t i = 0; i < 7; i++) {
		if (f[i].len >= UINT32_MAX)
			return SGX_QL_ERROR_UNEXPECTED;
		total += f[i].len + 1;
	}
	sgx_ql_qve_collateral_t *c = malloc(total);
	if (!c)
		return SGX_QL_ERROR_OUT_OF_MEMORY;
	memset(c, 0, sizeof *c);
	if (tee == COLB_INTEL_TDX) {
		c->major_version = QPL_TDX_COLLATERAL_MAJOR;
		c->minor_version = QPL_TDX_COLLATERAL_MINOR;
		c->tee_type = SGX_QL_TEE_TYPE_TDX;
	} else {
		c->major_version = QPL_SGX_COLLATERAL_MAJOR;
		c->minor_version = QPL_SGX_COLLATERAL_MINOR;
		c->tee_type = SGX_QL_TEE_TYPE_SGX;
	}
	char *p = (char *)(c + 1);
	char **ptrs[7] = {&c->pck_crl_issuer_chain, &c->root_ca_crl, &c->pck_crl, &c->tcb_info_issuer_chain,
			  &c->tcb_info, &c->qe_identity_issuer_chain, &c->qe_identity};
	uint32_t *sizes[7] = {&c->pck_crl_issuer_chain_size, &c->root_ca_crl_size, &c->pck_crl_size,
			      &c->tcb_info_issuer_chain_size, &c->tcb_info_size, &c->qe_identity_issuer_chain_size,
			      &c->qe_identity_size};
	for (size_t i = 0; i < 7; i++) {
		if (f[i].len)
			memcpy(p, f[i].data, f[i].len);
		p[f[i].len] = 0;
		*ptrs[i] = p;
		*sizes[i] = (uint32_t)(f[i].len + 1);
		p += f[i].len + 1;
	}
	*out = c;
	return SGX_QL_SUCCESS;
}

static quote3_error_t get_collateral(const char *fn, colb_intel_tee tee, const uint8_t *fmspc, uint16_t fmspc_size,
				     const char *pck_ca, const void *param, uint16_t param_len,
				     sgx_ql_qve_collateral_t **out)
{
	if (!out)
		return bad_param(fn, "the collateral output pointer is NULL");
	*out = NULL;
	if (!fmspc || fmspc_size != 6)
		return bad_param(fn, "the FMSPC must be 6 raw bytes");
	colb_intel_ca ca;
	if (!pck_ca)
		return bad_param(fn, "pck_ca is NULL");
	if (!strcmp(pck_ca, "processor"))
		ca = COLB_INTEL_CA_PROCESSOR;
	else if (!strcmp(pck_ca, "platform"))
		ca = COLB_INTEL_CA_PLATFORM;
	else
		return bad_param(fn, "pck_ca must be \"processor\" or \"platform\"");
	uint32_t eval = 0;
	if (param_len) {
		if (!param)
			return bad_param(fn, "custom_param is NULL with a non-zero length");
		if (colb_intel_parse_custom_param(param, param_len, &eval) != COLB_OK)
			return bad_param(fn, "custom_param is not base64(\"tcbEvaluationDataNumber=N[;key=value...]\")");
	}
	char fm[13], what[96];
	colb_hex_encode(fmspc, 6, fm, true);
	qpl_source *s;
	quote3_error_t rc = qpl_acquire(&s);
	if (rc)
		return rc;
	colb_intel_item tcb, qe, crl, root;
	colb_err e;
	int failed = 0;
	colb_intel_identity qe_kind = tee == COLB_INTEL_TDX ? COLB_INTEL_ID_TD_QE : COLB_INTEL_ID_QE;
	pthread_mutex_lock(&s->lookup_lock);
	if ((e = colb_intel_tcbinfo(s->b, tee, fmspc, eval, &tcb)) != COLB_OK)
		failed = 1;
	/* The identity must come from the same evaluation as the TCB info. */
	else if ((e = colb_intel_identity_get(s->b, qe_kind, tcb.eval, &qe)) != COLB_OK)
		failed = 2;
	else if ((e = colb_intel_pckcrl(s->b, ca, &crl)) != COLB_OK)
		failed = 3;
	else if ((e = colb_intel_rootcacrl(s->b, &root)) != COLB_OK)
		failed = 4;
	pthread_mutex_unlock(&s->lookup_lock);
	const char *tee_name = tee == COLB_INTEL_TDX ? "TDX" : "SGX";
	switch (failed) {
	case 1:
		if (eval)
			snprintf(what, sizeof what, "%s TCB info of FMSPC %s at evaluation number %u", tee_name, fm, eval);
		else
			snprintf(what, sizeof what, "%s TCB info of FMSPC %s at the baseline", tee_name, fm);
		break;
	case 2:
		snprintf(what, sizeof what, "%s identity at evaluation number %u (that of FMSPC %s's TCB info)",
			 tee == COLB_INTEL_TDX ? "TD_QE" : "QE", tcb.eval, fm);
		break;
	case 3:
		snprintf(what, sizeof what, "PCK %s CRL", pck_ca);
		break;
	case 4:
		snprintf(what, sizeof what, "root CA CRL");
		break;
	}
	if (failed) {
		rc = lookup_failed(fn, e, SGX_QL_NO_QUOTE_COLLATERAL_DATA, what);
	} else {
		note_stale(tcb.stale, tcb.path);
		note_stale(qe.stale, qe.path);
		note_stale(crl.stale, crl.path);
		note_stale(root.stale, root.path);
		/* The bytes belong to the bundle, which our reference keeps alive. */
		rc = build_collateral(tee, &crl, &root, &tcb, &qe, out);
		qpl_log(SGX_QL_LOG_TRACE, "%s: FMSPC %s, %s CA: evaluation number %u from bundle version %llu", fn, fm,
			pck_ca, tcb.eval, (unsigned long long)s->version);
	}
	qpl_release(s);
	return rc;
}

QPL_EXPORT quote3_error_t sgx_ql_get_quote_verification_collateral(const uint8_t *fmspc, uint16_t fmspc_size,
								    const char *pck_ca,
								    sgx_ql_qve_collateral_t **pp_quote_collateral)
{
	return get_collateral(__func__, COLB_INTEL_SGX, fmspc, fmspc_size, pck_ca, NULL, 0, pp_quote_collateral);
}

QPL_EXPORT quote3_error_t sgx_ql_get_quote_verification_collateral_with_params(
	const uint8_t *fmspc, uint16_t fmspc_size, const char *pck_ca, const void *custom_param,
	uint16_t custom_param_length, sgx_ql_qve_collateral_t **pp_quote_collateral)
{
	return get_collateral(__func__, COLB_INTEL_SGX, fmspc, fmspc_size, pck_ca, custom_param, custom_param_length,
			      pp_quote_collateral);
}

QPL_EXPORT quote3_error_t sgx_ql_free_quote_verification_collateral(sgx_ql_qve_collateral_t *p_quote_collateral)
{
	free(p_quote_collateral);
	return SGX_QL_SUCCESS;
}

QPL_EXPORT quote3_error_t tdx_ql_get_quote_verification_collateral(const uint8_t *fmspc, uint16_t fmspc_size,
								    const char *pck_ca,
								    tdx_ql_qv_collateral_t **pp_quote_collateral)
{
	return get_collateral(__func__, COLB_INTEL_TDX, fmspc, fmspc_size, pck_ca, NULL, 0, pp_quote_collateral);
}

QPL_EXPORT quote3_error_t tdx_ql_get_quote_verification_collateral_with_params(
	const uint8_t *fmspc, uint16_t fmspc_size, const char *pck_ca, const void *custom_param,
	uint16_t custom_param_length, tdx_ql_qv_collateral_t **pp_quote_collateral)
{
	return get_collateral(__func__, COLB_INTEL_TDX, fmspc, fmspc_size, pck_ca, custom_param, custom_param_length,
			      pp_quote_collateral);
}

QPL_EXPORT quote3_error_t tdx_ql_free_quote_verification_collateral(tdx_ql_qv_collateral_t *p_quote_collateral)
{
	free(p_quote_collateral);
	return SGX_QL_SUCCESS;
}

/* ---- quote generation: the PCK cert chain for the platform ------------------------------- */

#define ENCRYPTED_PPID_SIZE 384 /* RSA-OAEP-3072 */

QPL_EXPORT quote3_error_t sgx_ql_get_quote_config(const sgx_ql_pck_cert_id_t *p_pck_cert_id,
						  sgx_ql_config_t **pp_quote_config)
{
	static const char fn[] = "sgx_ql_get_quote_config";
	if (!pp_quote_config)
		return bad_param(fn, "the config output pointer is NULL");
	*pp_quote_config = NULL;
	if (!p_pck_cert_id)
		return bad_param(fn, "the PCK cert ID is NULL");
	/* Fields of a packed structure: copied out, never addressed. */
	const uint8_t *qe_id = p_pck_cert_id->p_qe3_id;
	uint32_t qe_id_size = p_pck_cert_id->qe3_id_size;
	const sgx_cpu_svn_t *cpusvn_p = p_pck_cert_id->p_platform_cpu_svn;
	const sgx_isv_svn_t *pcesvn_p = p_pck_cert_id->p_platform_pce_isv_svn;
	const uint8_t *ppid = p_pck_cert_id->p_encrypted_ppid;
	uint32_t ppid_size = p_pck_cert_id->encrypted_ppid_size;
	uint8_t suite = p_pck_cert_id->crypto_suite;
	uint16_t pce_id = p_pck_cert_id->pce_id;
	if (!qe_id || qe_id_size != 16)
		return bad_param(fn, "the QE ID must be 16 bytes");
	if (!cpusvn_p || !pcesvn_p)
		return bad_param(fn, "the platform CPUSVN and PCE SVN are required");
	if (ppid && (ppid_size != ENCRYPTED_PPID_SIZE || suite != PCE_ALG_RSA_OAEP_3072))
		return bad_param(fn, "an encrypted PPID must be 384 bytes of RSA-OAEP-3072");
	uint8_t cpusvn[16];
	uint16_t pcesvn;
	memcpy(cpusvn, cpusvn_p->svn, sizeof cpusvn);
	memcpy(&pcesvn, pcesvn_p, sizeof pcesvn);
	char qe[33], what[128];
	colb_hex_encode(qe_id, 16, qe, true);

	qpl_source *s;
	quote3_error_t rc = qpl_acquire(&s);
	if (rc)
		return rc;
	colb_intel_pck pck;
	pthread_mutex_lock(&s->lookup_lock);
	colb_err e = colb_intel_pck_select(s->b, qe_id, pce_id, cpusvn, pcesvn, 0, &pck);
	/* A platform the bundle knows by its encrypted PPID only (PCK Cert ID CSVs). */
	if (e == COLB_ERR_NOT_FOUND && ppid)
		e = colb_intel_pck_select_by_ppid(s->b, ppid, ppid_size, pce_id, cpusvn, pcesvn, 0, &pck);
	pthread_mutex_unlock(&s->lookup_lock);
	if (e) {
		snprintf(what, sizeof what, "PCK cert of platform QE ID %s, PCE ID %04X, PCE SVN %u", qe, pce_id, pcesvn);
		/* The cert chosen for the platform's TCB is revoked: it is never served. */
		rc = e == COLB_ERR_REVOKED ? SGX_QL_CERTS_UNAVAILABLE : qpl_map_err(e, SGX_QL_NO_PLATFORM_CERT_DATA);
		qpl_log(SGX_QL_LOG_ERROR, "%s: %s: %s (%s)", fn, what, colb_strerror(e), qpl_err_name(rc));
		qpl_release(s);
		return rc;
	}
	size_t leaf = strnlen(pck.cert_pem, pck.cert_pem_len);
	size_t chain = strnlen(pck.issuer_chain, pck.issuer_chain_len);
	bool nl = leaf && pck.cert_pem[leaf - 1] != '\n';
	size_t n = leaf + nl + chain;
	sgx_ql_config_t *cfg = n < UINT32_MAX ? malloc(sizeof *cfg + n + 1) : NULL;
	if (!cfg) {
		qpl_release(s);
		return SGX_QL_ERROR_OUT_OF_MEMORY;
	}
	uint8_t *d = (uint8_t *)(cfg + 1);
	memcpy(d, pck.cert_pem, leaf);
	if (nl)
		d[leaf] = '\n';
	memcpy(d + leaf + nl, pck.issuer_chain, chain);
	d[n] = 0;
	sgx_cpu_svn_t cert_svn;
	memcpy(cert_svn.svn, pck.cpusvn, sizeof cert_svn.svn);
	cfg->version = SGX_QL_CONFIG_VERSION_1;
	cfg->cert_cpu_svn = cert_svn;
	cfg->cert_pce_isv_svn = pck.pcesvn;
	cfg->cert_data_size = (uint32_t)(n + 1);
	cfg->p_cert_data = d;
	if (pck.stale) {
		snprintf(what, sizeof what, "the TCB info or PCK %s CRL used for platform %s", pck.ca_type, qe);
		note_stale(true, what);
	}
	qpl_log(SGX_QL_LOG_TRACE, "%s: platform %s: PCK cert at TCBm %s (%s, evaluation number %u) from bundle version %llu",
		fn, qe, pck.tcbm, pck.tcb_status, pck.eval, (unsigned long long)s->version);
	qpl_release(s);
	*pp_quote_config = cfg;
	return SGX_QL_SUCCESS;
}

QPL_EXPORT quote3_error_t sgx_ql_free_quote_config(sgx_ql_config_t *p_quote_config)
{
	free(p_quote_config);
	return SGX_QL_SUCCESS;
}

/* ---- QvE identity and the root CA CRL ----------------------------------------------------- */

QPL_EXPORT quote3_error_t sgx_ql_get_qve_identity(char **pp_qve_identity, uint32_t *p_qve_identity_size,
						  char **pp_qve_identity_issuer_chain,
						  uint32_t *p_qve_identity_issuer_chain_size)
{
	static const char fn[] = "sgx_ql_get_qve_identity";
	if (!pp_qve_identity || !p_qve_identity_size || !pp_qve_identity_issuer_chain ||
	    !p_qve_identity_issuer_chain_size)
		return bad_param(fn, "an output pointer is NULL");
	*pp_qve_identity = NULL;
	*pp_qve_identity_issuer_chain = NULL;
	qpl_source *s;
	quote3_error_t rc = qpl_acquire(&s);
	if (rc)
		return rc;
	colb_intel_item it;
	pthread_mutex_lock(&s->lookup_lock);
	colb_err e = colb_intel_identity_get(s->b, COLB_INTEL_ID_QVE, 0, &it);
	pthread_mutex_unlock(&s->lookup_lock);
	if (e) {
		rc = lookup_failed(fn, e, SGX_QL_NO_QVE_IDENTITY_DATA, "QvE identity at the baseline");
		qpl_release(s);
		return rc;
	}
	note_stale(it.stale, it.path);
	field chain = chain_field(&it);
	char *id = it.len < UINT32_MAX ? malloc(it.len + 1) : NULL;
	char *ch = chain.len < UINT32_MAX ? malloc(chain.len + 1) : NULL;
	if (!id || !ch) {
		free(id);
		free(ch);
		qpl_release(s);
		return SGX_QL_ERROR_OUT_OF_MEMORY;
	}
	memcpy(id, it.data, it.len);
	id[it.len] = 0;
	memcpy(ch, chain.data, chain.len);
	ch[chain.len] = 0;
	qpl_release(s);
	*pp_qve_identity = id;
	*p_qve_identity_size = (uint32_t)(it.len + 1);
	*pp_qve_identity_issuer_chain = ch;
	*p_qve_identity_issuer_chain_size = (uint32_t)(chain.len + 1);
	return SGX_QL_SUCCESS;
}

QPL_EXPORT quote3_error_t sgx_ql_free_qve_identity(char *p_qve_identity, char *p_qve_identity_issuer_chain)
{
	free(p_qve_identity);
	free(p_qve_identity_issuer_chain);
	return SGX_QL_SUCCESS;
}

QPL_EXPORT quote3_error_t sgx_ql_get_root_ca_crl(uint8_t **pp_root_ca_crl, uint16_t *p_root_ca_crl_size)
{
	static const char fn[] = "sgx_ql_get_root_ca_crl";
	if (!pp_root_ca_crl || !p_root_ca_crl_size)
		return bad_param(fn, "an output pointer is NULL");
	*pp_root_ca_crl = NULL;
	qpl_source *s;
	quote3_error_t rc = qpl_acquire(&s);
	if (rc)
		return rc;
	colb_intel_item it;
	pthread_mutex_lock(&s->lookup_lock);
	colb_err e = colb_intel_rootcacrl(s->b, &it);
	pthread_mutex_unlock(&s->lookup_lock);
	if (e) {
		rc = lookup_failed(fn, e, SGX_QL_NO_QUOTE_COLLATERAL_DATA, "root CA CRL");
		qpl_release(s);
		return rc;
	}
	if (it.len + 1 > UINT16_MAX) {
		qpl_log(SGX_QL_LOG_ERROR, "%s: the root CA CRL (%zu bytes) does not fit the ABI's 16-bit size", fn,
			it.len);
		qpl_release(s);
		return SGX_QL_ERROR_UNEXPECTED;
	}
	note_stale(it.stale, it.path);
	uint8_t *crl = malloc(it.len + 1);
	if (!crl) {
		qpl_release(s);
		return SGX_QL_ERROR_OUT_OF_MEMORY;
	}
	memcpy(crl, it.data, it.len);
	crl[it.len] = 0;
	qpl_release(s);
	*pp_root_ca_crl = crl;
	*p_root_ca_crl_size = (uint16_t)(it.len + 1);
	return SGX_QL_SUCCESS;
}

QPL_EXPORT quote3_error_t sgx_ql_free_root_ca_crl(uint8_t *p_root_ca_crl)
{
	free(p_root_ca_crl);
	return SGX_QL_SUCCESS;
}

/* ---- logging, cache, process-wide setup ----------------------------------------------------- */

QPL_EXPORT quote3_error_t sgx_ql_set_logging_callback(sgx_ql_logging_callback_t logger, sgx_ql_log_level_t loglevel)
{
	return qpl_log_set_callback(logger, loglevel);
}

QPL_EXPORT quote3_error_t sgx_ql_set_logging_function(sgx_ql_logging_function_t logger)
{
	return qpl_log_set_function(logger);
}

/* There is no network cache to clear: clearing forgets the open bundle, so
 * the next call reads the configuration again and re-verifies the bundle. */
QPL_EXPORT quote3_error_t sgx_qpl_clear_cache(uint32_t cache_type)
{
	if (cache_type & ~SGX_QPL_CACHE_ALL)
		return bad_param("sgx_qpl_clear_cache", "unknown cache type bits");
	if (cache_type) {
		qpl_drop();
		qpl_log(SGX_QL_LOG_INFO, "cache cleared: the bundle is opened and verified again at the next call");
	}
	return SGX_QL_SUCCESS;
}

QPL_EXPORT quote3_error_t sgx_qpl_global_init(void)
{
	return SGX_QL_SUCCESS;
}

QPL_EXPORT quote3_error_t sgx_qpl_global_cleanup(void)
{
	qpl_drop();
	return SGX_QL_SUCCESS;
}

/* dlclose: the bundle goes with the library (calls in flight hold their own
 * references). */
__attribute__((destructor)) static void qpl_unload(void)
{
	qpl_drop();
}
