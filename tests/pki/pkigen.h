/*
 * pkigen.h — the synthetic PKI generator's shared pieces: a deterministic
 * random source (so the same seed always gives the same bytes, whatever the
 * thread count), key and certificate helpers, and file output.
 *
 * Determinism: every unit of work (a platform, a chip, a CA) calls
 * pki_rng_reseed(ctx, "label", index) before it generates keys or signs;
 * all OpenSSL randomness on that thread then comes from that point.
 */
#ifndef COLB_PKIGEN_H
#define COLB_PKIGEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct pki_ctx {
	uint8_t seed[32];     /* from --seed */
	time_t now;           /* the fixed "issue time" every date derives from */
	const char *outdir;   /* output root */
	unsigned threads;     /* worker threads (default: online CPUs) */
} pki_ctx;

/* Installs the deterministic random source for the whole process (once). */
void pki_rng_install(void);
/* Re-seeds this thread's stream from (ctx->seed, label, index). */
void pki_rng_reseed(const pki_ctx *ctx, const char *label, uint64_t index);
/* Deterministic bytes from this thread's stream. */
void pki_rng_bytes(uint8_t *out, size_t n);

/* Keys. */
EVP_PKEY *pki_key_ec(int nid);            /* NID_X9_62_prime256v1 / NID_secp384r1 */
EVP_PKEY *pki_key_rsa(int bits);

/* Writes bytes to outdir/relpath, creating directories. Returns 0 or -1. */
int pki_write(const pki_ctx *ctx, const char *relpath, const void *data, size_t len);
int pki_write_str(const pki_ctx *ctx, const char *relpath, const char *s);
/* PEM / DER of a certificate or CRL (malloc'd). */
char *pki_cert_pem(X509 *x);
char *pki_crl_pem(X509_CRL *c);
uint8_t *pki_cert_der(X509 *x, size_t *len);
uint8_t *pki_crl_der(X509_CRL *c, size_t *len);
/* A random-looking positive serial of n bytes from the stream. */
void pki_set_serial(X509 *x, size_t n);

/* Runs fn(i, arg) for i in [0, n) over ctx->threads threads. fn returns 0 or -1. */
int pki_parallel(const pki_ctx *ctx, uint64_t n, int (*fn)(uint64_t i, void *arg), void *arg);

/* The two halves (tests/pki/intel.c, tests/pki/amd.c). */
int pki_intel_generate(const pki_ctx *ctx, unsigned nplatforms);
int pki_amd_generate(const pki_ctx *ctx, unsigned nchips);

#endif
