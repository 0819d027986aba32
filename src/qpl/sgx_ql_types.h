/*
 * sgx_ql_types.h — the quote provider library ABI (libdcap_quoteprov.so.1)
 * as Intel's QVL, Intel's quote generation, the TDX QGS and Open Enclave
 * load it: error values, structure layouts and packing, function types.
 *
 * Written from the ABI description (format-spec/quote-provider.md has the
 * behaviour); the _Static_asserts pin every size and offset that a consumer
 * compiled against Intel's headers relies on, so a layout slip fails the
 * build instead of corrupting a verifier.
 */
#ifndef COLB_QPL_SGX_QL_TYPES_H
#define COLB_QPL_SGX_QL_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* ---- errors: 0xE000 | n ----------------------------------------------------- */
typedef enum _quote3_error_t {
	SGX_QL_SUCCESS = 0x0000,
	SGX_QL_ERROR_UNEXPECTED = 0xE001,
	SGX_QL_ERROR_INVALID_PARAMETER = 0xE002,
	SGX_QL_ERROR_OUT_OF_MEMORY = 0xE003,
	SGX_QL_NO_PLATFORM_CERT_DATA = 0xE011,
	SGX_QL_NETWORK_ERROR = 0xE019,
	SGX_QL_MESSAGE_ERROR = 0xE01A,
	SGX_QL_NO_QUOTE_COLLATERAL_DATA = 0xE01B,
	SGX_QL_UNABLE_TO_GET_COLLATERAL = 0xE034,
	SGX_QL_NO_QVE_IDENTITY_DATA = 0xE037,
	SGX_QL_SERVICE_UNAVAILABLE = 0xE040,
	SGX_QL_ERROR_MESSAGE_PARSING_ERROR = 0xE046,
	SGX_QL_PLATFORM_UNKNOWN = 0xE047,
	SGX_QL_CERTS_UNAVAILABLE = 0xE049,
	SGX_QL_COLLATERAL_VERSION_NOT_SUPPORTED = 0xE053,
	SGX_QL_QEIDENTITY_NOT_FOUND = 0xE061,
	SGX_QL_TCBINFO_NOT_FOUND = 0xE062,
	SGX_QL_ROOT_CA_UNTRUSTED = 0xE065,
	SGX_QL_CONFIG_INVALID_JSON = 0xE067
} quote3_error_t;

_Static_assert(sizeof(quote3_error_t) == 4, "quote3_error_t is a 32-bit enum");

/* ---- logging ------------------------------------------------------------------ */
typedef enum _sgx_ql_log_level_t {
	SGX_QL_LOG_ERROR = 0,
	SGX_QL_LOG_INFO = 1,
	SGX_QL_LOG_DEBUG = 2,
	SGX_QL_LOG_TRACE = 3
} sgx_ql_log_level_t;

/* Intel's callback (sgx_ql_set_logging_callback). */
typedef void (*sgx_ql_logging_callback_t)(sgx_ql_log_level_t level, const char *message);
/* Azure's (sgx_ql_set_logging_function): its levels are ERROR 0, WARNING 1,
 * INFO 2. */
typedef void (*sgx_ql_logging_function_t)(int level, const char *message);
#define AZ_QL_LOG_ERROR 0
#define AZ_QL_LOG_INFO 2

/* ---- sgx_qpl_clear_cache ------------------------------------------------------ */
typedef enum _sgx_qpl_cache_type_t {
	SGX_QPL_CACHE_CERTIFICATE = 1 << 0,
	SGX_QPL_CACHE_QV_COLLATERAL = 1 << 1,
	SGX_QPL_CACHE_MULTICERTS = 1 << 2
} sgx_qpl_cache_type_t;
#define SGX_QPL_CACHE_ALL 0x7u

/* ---- quote generation: the PCK cert chain for a platform --------------------------- */
typedef struct _sgx_cpu_svn_t {
	uint8_t svn[16];
} sgx_cpu_svn_t;

typedef uint16_t sgx_isv_svn_t;

#define PCE_ALG_RSA_OAEP_3072 1

#pragma pack(push, 1)
typedef struct _sgx_ql_pck_cert_id_t {
	uint8_t *p_qe3_id;
	uint32_t qe3_id_size;
	sgx_cpu_svn_t *p_platform_cpu_svn;
	sgx_isv_svn_t *p_platform_pce_isv_svn;
	uint8_t *p_encrypted_ppid;
	uint32_t encrypted_ppid_size;
	uint8_t crypto_suite;
	uint16_t pce_id;
} sgx_ql_pck_cert_id_t;

#define SGX_QL_CONFIG_VERSION_1 1

typedef struct _sgx_ql_config_t {
	uint32_t version;             /* SGX_QL_CONFIG_VERSION_1 */
	sgx_cpu_svn_t cert_cpu_svn;   /* the TCB of the chosen PCK cert */
	sgx_isv_svn_t cert_pce_isv_svn;
	uint32_t cert_data_size;      /* includes the trailing NUL */
	uint8_t *p_cert_data;         /* PEM: PCK cert, PCK CA, root; NUL-terminated */
} sgx_ql_config_t;
#pragma pack(pop)

_Static_assert(sizeof(sgx_cpu_svn_t) == 16, "sgx_cpu_svn_t");
_Static_assert(sizeof(sgx_ql_pck_cert_id_t) == 8 + 4 + 8 + 8 + 8 + 4 + 1 + 2, "sgx_ql_pck_cert_id_t is packed");
_Static_assert(offsetof(sgx_ql_pck_cert_id_t, qe3_id_size) == 8, "qe3_id_size");
_Static_assert(offsetof(sgx_ql_pck_cert_id_t, p_platform_cpu_svn) == 12, "p_platform_cpu_svn");
_Static_assert(offsetof(sgx_ql_pck_cert_id_t, p_platform_pce_isv_svn) == 20, "p_platform_pce_isv_svn");
_Static_assert(offsetof(sgx_ql_pck_cert_id_t, p_encrypted_ppid) == 28, "p_encrypted_ppid");
_Static_assert(offsetof(sgx_ql_pck_cert_id_t, encrypted_ppid_size) == 36, "encrypted_ppid_size");
_Static_assert(offsetof(sgx_ql_pck_cert_id_t, crypto_suite) == 40, "crypto_suite");
_Static_assert(offsetof(sgx_ql_pck_cert_id_t, pce_id) == 41, "pce_id");
_Static_assert(sizeof(sgx_ql_config_t) == 4 + 16 + 2 + 4 + 8, "sgx_ql_config_t is packed");
_Static_assert(offsetof(sgx_ql_config_t, cert_cpu_svn) == 4, "cert_cpu_svn");
_Static_assert(offsetof(sgx_ql_config_t, cert_pce_isv_svn) == 20, "cert_pce_isv_svn");
_Static_assert(offsetof(sgx_ql_config_t, cert_data_size) == 22, "cert_data_size");
_Static_assert(offsetof(sgx_ql_config_t, p_cert_data) == 26, "p_cert_data");

/* ---- quote verification collateral (natural alignment) ------------------------------ */
#define SGX_QL_TEE_TYPE_SGX 0x00000000u
#define SGX_QL_TEE_TYPE_TDX 0x00000081u

typedef struct _sgx_ql_qve_collateral_t {
	union {
		uint32_t version;     /* 1: PEM CRLs; 3 (3.0): hex DER; 3.1 and 4: raw DER */
		struct {
			uint16_t major_version;
			uint16_t minor_version;
		};
	};
	uint32_t tee_type;            /* 0 SGX, 0x81 TDX */
	char *pck_crl_issuer_chain;
	uint32_t pck_crl_issuer_chain_size;
	char *root_ca_crl;
	uint32_t root_ca_crl_size;
	char *pck_crl;
	uint32_t pck_crl_size;
	char *tcb_info_issuer_chain;
	uint32_t tcb_info_issuer_chain_size;
	char *tcb_info;
	uint32_t tcb_info_size;
	char *qe_identity_issuer_chain;
	uint32_t qe_identity_issuer_chain_size;
	char *qe_identity;
	uint32_t qe_identity_size;
} sgx_ql_qve_collateral_t;

typedef sgx_ql_qve_collateral_t tdx_ql_qv_collateral_t;

_Static_assert(sizeof(sgx_ql_qve_collateral_t) == 120, "sgx_ql_qve_collateral_t");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, major_version) == 0, "major_version");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, minor_version) == 2, "minor_version");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, tee_type) == 4, "tee_type");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, pck_crl_issuer_chain) == 8, "pck_crl_issuer_chain");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, pck_crl_issuer_chain_size) == 16, "pck_crl_issuer_chain_size");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, root_ca_crl) == 24, "root_ca_crl");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, root_ca_crl_size) == 32, "root_ca_crl_size");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, pck_crl) == 40, "pck_crl");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, pck_crl_size) == 48, "pck_crl_size");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, tcb_info_issuer_chain) == 56, "tcb_info_issuer_chain");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, tcb_info_issuer_chain_size) == 64, "tcb_info_issuer_chain_size");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, tcb_info) == 72, "tcb_info");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, tcb_info_size) == 80, "tcb_info_size");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, qe_identity_issuer_chain) == 88, "qe_identity_issuer_chain");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, qe_identity_issuer_chain_size) == 96,
	       "qe_identity_issuer_chain_size");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, qe_identity) == 104, "qe_identity");
_Static_assert(offsetof(sgx_ql_qve_collateral_t, qe_identity_size) == 112, "qe_identity_size");

/* What colbundle answers: 3.1 for SGX (raw DER CRLs; Intel's QvE and Open
 * Enclave both take it), 4.0 for TDX. */
#define QPL_SGX_COLLATERAL_MAJOR 3
#define QPL_SGX_COLLATERAL_MINOR 1
#define QPL_TDX_COLLATERAL_MAJOR 4
#define QPL_TDX_COLLATERAL_MINOR 0

/* ---- the exported functions ---------------------------------------------------------- */
quote3_error_t sgx_ql_get_quote_config(const sgx_ql_pck_cert_id_t *p_pck_cert_id, sgx_ql_config_t **pp_quote_config);
quote3_error_t sgx_ql_free_quote_config(sgx_ql_config_t *p_quote_config);
quote3_error_t sgx_ql_get_quote_verification_collateral(const uint8_t *fmspc, uint16_t fmspc_size, const char *pck_ca,
							 sgx_ql_qve_collateral_t **pp_quote_collateral);
quote3_error_t sgx_ql_get_quote_verification_collateral_with_params(const uint8_t *fmspc, uint16_t fmspc_size,
								     const char *pck_ca, const void *custom_param,
								     uint16_t custom_param_length,
								     sgx_ql_qve_collateral_t **pp_quote_collateral);
quote3_error_t sgx_ql_free_quote_verification_collateral(sgx_ql_qve_collateral_t *p_quote_collateral);
quote3_error_t tdx_ql_get_quote_verification_collateral(const uint8_t *fmspc, uint16_t fmspc_size, const char *pck_ca,
							 tdx_ql_qv_collateral_t **pp_quote_collateral);
quote3_error_t tdx_ql_get_quote_verification_collateral_with_params(const uint8_t *fmspc, uint16_t fmspc_size,
								     const char *pck_ca, const void *custom_param,
								     uint16_t custom_param_length,
								     tdx_ql_qv_collateral_t **pp_quote_collateral);
quote3_error_t tdx_ql_free_quote_verification_collateral(tdx_ql_qv_collateral_t *p_quote_collateral);
quote3_error_t sgx_ql_get_qve_identity(char **pp_qve_identity, uint32_t *p_qve_identity_size,
				       char **pp_qve_identity_issuer_chain,
				       uint32_t *p_qve_identity_issuer_chain_size);
quote3_error_t sgx_ql_free_qve_identity(char *p_qve_identity, char *p_qve_identity_issuer_chain);
quote3_error_t sgx_ql_get_root_ca_crl(uint8_t **pp_root_ca_crl, uint16_t *p_root_ca_crl_size);
quote3_error_t sgx_ql_free_root_ca_crl(uint8_t *p_root_ca_crl);
quote3_error_t sgx_ql_set_logging_callback(sgx_ql_logging_callback_t logger, sgx_ql_log_level_t loglevel);
quote3_error_t sgx_ql_set_logging_function(sgx_ql_logging_function_t logger);
quote3_error_t sgx_qpl_clear_cache(uint32_t cache_type);
quote3_error_t sgx_qpl_global_init(void);
quote3_error_t sgx_qpl_global_cleanup(void);

#endif /* COLB_QPL_SGX_QL_TYPES_H */
