/*
 * fuzz_envelope.c — the envelope decoder and the reader's first steps on
 * arbitrary bytes: length checks, the signature block, signature checks with
 * a fixed trusted key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static colb_trust *trust;

static colb_trust *fixed_trust(void)
{
	uint8_t seed[32] = {1}, pk[32], sk[64], raw[42];
	crypto_sign_seed_keypair(pk, sk, seed);
	memcpy(raw, "Ed", 2);
	colb_keyid_of(pk, raw + 2);
	memcpy(raw + 10, pk, 32);
	char *b64 = colb_b64_encode(raw, sizeof raw);
	char text[200];
	snprintf(text, sizeof text, "untrusted comment: fuzz\n%s\n", b64);
	free(b64);
	colb_trust *t = colb_trust_new();
	if (colb_trust_add_pubkey_text(t, text, NULL, 0) != COLB_OK)
		abort();
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!trust) {
		if (sodium_init() < 0)
			abort();
		trust = fixed_trust();
	}
	colb_envelope env;
	char why[256];
	if (colb_envelope_decode(data, size, &env, why, sizeof why) == COLB_OK) {
		colb_buf pae;
		colb_buf_init(&pae, 0);
		if (colb_envelope_pae(&env, &pae) != COLB_OK)
			abort();
		colb_buf_free(&pae);
	}
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, trust);
	colb_opts_set_time(o, 1748822400);
	colb_bundle *b = colb_bundle_new(o);
	if (colb_bundle_open_memory(b, data, size) == COLB_OK)
		abort(); /* nothing can be signed by the fixed key without its secret */
	colb_bundle_free(b);
	colb_opts_free(o);
	return 0;
}
