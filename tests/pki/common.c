/*
 * common.c — keys, encodings, output files and the worker pool of the
 * synthetic PKI generator.
 */
#include "pkigen.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/pem.h>

EVP_PKEY *pki_key_ec(int nid)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	if (!c || EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, nid) <= 0 ||
	    EVP_PKEY_CTX_set_ec_param_enc(c, OPENSSL_EC_NAMED_CURVE) <= 0 || EVP_PKEY_keygen(c, &k) <= 0)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

EVP_PKEY *pki_key_rsa(int bits)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	if (!c || EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_CTX_set_rsa_keygen_bits(c, bits) <= 0 ||
	    EVP_PKEY_keygen(c, &k) <= 0)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

static int mkparents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

int pki_write(const pki_ctx *ctx, const char *relpath, const void *data, size_t len)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", ctx->outdir, relpath) >= (int)sizeof path)
		return -1;
	if (mkparents(path) != 0)
		return -1;
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc)
		fprintf(stderr, "colb-pkigen: cannot write %s\n", path);
	return rc;
}

int pki_write_str(const pki_ctx *ctx, const char *relpath, const char *s)
{
	return pki_write(ctx, relpath, s, strlen(s));
}

static char *bio_text(BIO *b)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *out = malloc((size_t)n + 1);
	if (out) {
		memcpy(out, p, (size_t)n);
		out[n] = 0;
	}
	BIO_free(b);
	return out;
}

char *pki_cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || !PEM_write_bio_X509(b, x)) {
		BIO_free(b);
		return NULL;
	}
	return bio_text(b);
}

char *pki_crl_pem(X509_CRL *c)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || !PEM_write_bio_X509_CRL(b, c)) {
		BIO_free(b);
		return NULL;
	}
	return bio_text(b);
}

uint8_t *pki_cert_der(X509 *x, size_t *len)
{
	uint8_t *out = NULL;
	int n = i2d_X509(x, &out);
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return out; /* OPENSSL_free == free with the default allocator */
}

uint8_t *pki_crl_der(X509_CRL *c, size_t *len)
{
	uint8_t *out = NULL;
	int n = i2d_X509_CRL(c, &out);
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

void pki_set_serial(X509 *x, size_t n)
{
	uint8_t b[32];
	if (n > sizeof b)
		n = sizeof b;
	pki_rng_bytes(b, n);
	b[0] &= 0x7f;
	b[0] |= 0x01;
	BIGNUM *bn = BN_bin2bn(b, (int)n, NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
}

struct pool {
	uint64_t next, n;
	int failed;
	pthread_mutex_t lock;
	int (*fn)(uint64_t, void *);
	void *arg;
};

static void *worker(void *p)
{
	struct pool *pool = p;
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		uint64_t i = pool->next++;
		int stop = pool->failed;
		pthread_mutex_unlock(&pool->lock);
		if (stop || i >= pool->n)
			return NULL;
		if (pool->fn(i, pool->arg) != 0) {
			pthread_mutex_lock(&pool->lock);
			pool->failed = 1;
			pthread_mutex_unlock(&pool->lock);
		}
	}
}

int pki_parallel(const pki_ctx *ctx, uint64_t n, int (*fn)(uint64_t i, void *arg), void *arg)
{
	struct pool pool = {.n = n, .fn = fn, .arg = arg};
	unsigned nt = ctx->threads ? ctx->threads : 1;
	pthread_t th[64];
	if (nt > 64)
		nt = 64;
	pthread_mutex_init(&pool.lock, NULL);
	for (unsigned t = 0; t < nt; t++)
		pthread_create(&th[t], NULL, worker, &pool);
	for (unsigned t = 0; t < nt; t++)
		pthread_join(th[t], NULL);
	pthread_mutex_destroy(&pool.lock);
	return pool.failed ? -1 : 0;
}
