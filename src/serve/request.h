/*
 * request.h — the HTTP server's request-target parser: turns the raw target
 * of a GET ("/sgx/certification/v4/tcb?fmspc=00906ED50000&update=early")
 * into a typed request, or into the 4xx answer the vendor's service would
 * give. Pure code on bounded buffers: no I/O, no allocation, no bundle; the
 * fuzz target tests/fuzz/fuzz_serve_request.c drives it directly.
 */
#ifndef COLB_SERVE_REQUEST_H
#define COLB_SERVE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on request input. A target longer than SERVE_MAX_TARGET is 414. */
#define SERVE_MAX_TARGET 4096
#define SERVE_MAX_PARAMS 32
#define SERVE_MAX_ENC_PPID 384 /* RSA-3072 encrypted PPID */
#define SERVE_MAX_URI 1024      /* crl?uri= */

typedef enum serve_route {
	SR_NONE = 0,        /* no route matched */
	SR_HEALTHZ,
	SR_METRICS,
	SR_PCKCERT,
	SR_PCKCERTS,
	SR_PCKCRL,
	SR_TCB,
	SR_IDENTITY,
	SR_EVALNUMS,
	SR_FMSPCS,
	SR_ROOTCACRL,
	SR_CRL_URI,
	SR_AMD_CERT,        /* /vcek/v1/{product}/{hwid}?..SPL.. or /vlek/v1/.. */
	SR_AMD_CHAIN,       /* /{vcek,vlek}/v1/{product}/cert_chain */
	SR_AMD_CRL,         /* /{vcek,vlek}/v1/{product}/crl */
	SR_THIM_AMD,        /* /metadata/THIM/amd/certification */
	SR__COUNT
} serve_route;

/* The route's label in /metrics ("tcb", "pckcert", ...; "unknown" for SR_NONE). */
const char *serve_route_name(serve_route r);

typedef enum serve_update {
	SU_NONE = 0,       /* neither update= nor tcbEvaluationDataNumber= */
	SU_STANDARD,
	SU_EARLY,
	SU_NUMBER          /* tcbEvaluationDataNumber=N: see eval */
} serve_update;

typedef enum serve_amd_product {
	SA_MILAN = 0,
	SA_GENOA = 1,
	SA_TURIN = 2
} serve_amd_product;

typedef struct serve_req {
	serve_route route;
	/* a refused request: HTTP status, PCS Error-Code and a message */
	int status;
	const char *error_code;
	char error_msg[160];

	/* Intel */
	int tee;                   /* 0 sgx, 1 tdx (colb_intel_tee) */
	int identity;              /* colb_intel_identity */
	bool thim_prefix;          /* came in under /metadata/THIM/ */
	uint8_t fmspc[6];
	serve_update update;
	uint32_t eval;
	bool has_qe_id;
	uint8_t qe_id[16];
	size_t enc_ppid_len;       /* 0: not given */
	uint8_t enc_ppid[SERVE_MAX_ENC_PPID];
	uint8_t cpusvn[16];
	uint16_t pcesvn;
	uint16_t pce_id;
	int ca;                    /* colb_intel_ca; -1 for the root CA (crl?uri=) */
	bool der;                  /* encoding=der */
	int platform;              /* fmspcs?platform=: 0 all, 1 client, 2 E3, 3 E5 */

	/* AMD */
	bool vlek;                 /* /vlek/ rather than /vcek/ */
	serve_amd_product product;
	size_t hwid_len;           /* 64 (Milan/Genoa) or 8 (Turin); csp id for VLEK */
	uint8_t hwid[64];
	char csp[65];              /* VLEK: the cloud provider id as given */
	bool has_spl;              /* the SPLs came as KDS parameters */
	uint8_t bl, tee_spl, snp, ucode, fmc;
	bool has_tcbm;             /* THIM: tcbm=16 hex digits instead of the SPLs */
	uint64_t tcbm;
	bool has_chip;             /* THIM: the chip came in the query */
} serve_req;

/* Parses a raw request target (path and query, exactly as received, not yet
 * percent-decoded). Returns true with req->route set, or false with
 * req->status (400, 404, 414), req->error_code and req->error_msg set (and
 * req->route set to the path's route when the path was recognised). */
bool serve_parse_target(const char *target, size_t len, serve_req *req);

const char *serve_amd_product_name(serve_amd_product p);

#endif
