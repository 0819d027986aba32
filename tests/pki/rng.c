/*
 * rng.c — a deterministic random source for the generator. OpenSSL 3.0 still
 * routes every RAND_bytes/RAND_priv_bytes call (key generation, ECDSA nonces,
 * RSA-PSS salts) through a process-wide RAND_METHOD when one is set; ours
 * reads a per-thread stream, so output depends only on (seed, label, index).
 * This is test tooling: it must never be linked into the library.
 */
#include "pkigen.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sodium.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static _Thread_local struct {
	uint8_t key[32];
	uint64_t counter;
	int seeded;
} stream;

void pki_rng_bytes(uint8_t *out, size_t n)
{
	if (!stream.seeded) {
		memset(stream.key, 0x5a, sizeof stream.key);
		stream.seeded = 1;
	}
	while (n) {
		uint8_t block_seed[32];
		uint8_t in[40];
		size_t take = n < 4096 ? n : 4096;
		memcpy(in, stream.key, 32);
		memcpy(in + 32, &stream.counter, 8);
		stream.counter++;
		SHA256(in, sizeof in, block_seed);
		randombytes_buf_deterministic(out, take, block_seed);
		out += take;
		n -= take;
	}
}

void pki_rng_reseed(const pki_ctx *ctx, const char *label, uint64_t index)
{
	SHA256_CTX c;
	SHA256_Init(&c);
	SHA256_Update(&c, ctx->seed, sizeof ctx->seed);
	SHA256_Update(&c, label, strlen(label) + 1);
	SHA256_Update(&c, &index, sizeof index);
	SHA256_Final(stream.key, &c);
	stream.counter = 0;
	stream.seeded = 1;
}

static int m_seed(const void *buf, int num) { return 1; }
static int m_bytes(unsigned char *buf, int num)
{
	pki_rng_bytes(buf, (size_t)num);
	return 1;
}
static void m_cleanup(void) {}
static int m_add(const void *buf, int num, double e) { return 1; }
static int m_status(void) { return 1; }

static RAND_METHOD method = {
	.seed = m_seed,
	.bytes = m_bytes,
	.cleanup = m_cleanup,
	.add = m_add,
	.pseudorand = m_bytes,
	.status = m_status,
};

void pki_rng_install(void)
{
	if (sodium_init() < 0)
		abort();
	RAND_set_rand_method(&method);
}
