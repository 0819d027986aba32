/*
 * keys.c — publisher keys (Ed25519) and the trust configuration.
 *
 * Key files are shaped like minisign's: an untrusted comment line, then the
 * base64 of a fixed struct decoded with an exact length check.
 *
 *   public (42 bytes):  "Ed" | keyid[8] | pk[32]
 *   secret (148 bytes): "Ed" | kdf[2] | keyid[8] | opslimit u64le | memlimit u64le
 *                       | salt[16] | nonce[24] | box[80]
 *
 * kdf "A2": box = XChaCha20-Poly1305(key = Argon2id(password, salt, opslimit,
 * memlimit), nonce, sk[64], ad = the 68 bytes before box). kdf "NO": box =
 * sk[64] || 16 zero bytes and the other fields are zero. The secret key's
 * public half must match the stored key id either way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle_priv.h"

#define PUB_ALG "Ed"
#define PUB_LEN (2 + COLB_KEYID_BYTES + crypto_sign_PUBLICKEYBYTES)
#define SEC_AD_LEN 68
#define SEC_LEN (SEC_AD_LEN + crypto_sign_SECRETKEYBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define KEYFILE_MAX 4096

static int sodium_ready(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void colb_keyid_of(const uint8_t pk[crypto_sign_PUBLICKEYBYTES], uint8_t keyid[COLB_KEYID_BYTES])
{
	uint8_t d[32];
	colb_sha256(pk, crypto_sign_PUBLICKEYBYTES, d);
	memcpy(keyid, d, COLB_KEYID_BYTES);
}

/* Splits "untrusted comment: ...\n<base64>\n" and decodes the base64 line to
 * exactly `want` bytes. */
static colb_err parse_keyfile(const char *text, size_t len, size_t want, uint8_t *out,
			      const char *what, char *why, size_t whylen)
{
	static const char comment[] = "untrusted comment: ";
	const char *nl = memchr(text, '\n', len);
	if (len < sizeof comment - 1 || memcmp(text, comment, sizeof comment - 1) != 0 || !nl)
		return colb_seterr(why, whylen, COLB_ERR_KEY,
				   "%s: the first line is not an 'untrusted comment:' line", what);
	const char *b64 = nl + 1, *end = text + len;
	size_t n = (size_t)(end - b64);
	if (n && b64[n - 1] == '\n')
		n--;
	if (n && b64[n - 1] == '\r')
		n--;
	if (memchr(b64, '\n', n))
		return colb_seterr(why, whylen, COLB_ERR_KEY, "%s: more than two lines", what);
	size_t got = 0;
	uint8_t *raw = colb_b64_decode(b64, n, &got);
	if (!raw || got != want) {
		if (raw)
			sodium_memzero(raw, got);
		free(raw);
		return colb_seterr(why, whylen, COLB_ERR_KEY,
				   "%s: the key line is not base64 of exactly %zu bytes", what, want);
	}
	memcpy(out, raw, want);
	sodium_memzero(raw, got);
	free(raw);
	return COLB_OK;
}

colb_err colb_pubkey_parse(const char *text, size_t len, colb_pubkey *out, char *why, size_t whylen)
{
	uint8_t raw[PUB_LEN];
	colb_err rc = parse_keyfile(text, len, PUB_LEN, raw, "public key", why, whylen);
	if (rc)
		return rc;
	if (memcmp(raw, PUB_ALG, 2) != 0)
		return colb_seterr(why, whylen, COLB_ERR_KEY, "public key: algorithm is not Ed25519");
	memcpy(out->keyid, raw + 2, COLB_KEYID_BYTES);
	memcpy(out->pk, raw + 2 + COLB_KEYID_BYTES, crypto_sign_PUBLICKEYBYTES);
	uint8_t id[COLB_KEYID_BYTES];
	colb_keyid_of(out->pk, id);
	if (memcmp(id, out->keyid, COLB_KEYID_BYTES) != 0)
		return colb_seterr(why, whylen, COLB_ERR_KEY,
				   "public key: key id does not match the key");
	return COLB_OK;
}

static char *keyfile_text(const char *kind, const uint8_t keyid[COLB_KEYID_BYTES],
			  const uint8_t *raw, size_t n)
{
	char hex[2 * COLB_KEYID_BYTES + 1];
	colb_hex_encode(keyid, COLB_KEYID_BYTES, hex, false);
	char *b64 = colb_b64_encode(raw, n);
	if (!b64)
		return NULL;
	size_t cap = strlen(b64) + 128;
	char *text = sodium_malloc(cap);
	if (text)
		snprintf(text, cap, "untrusted comment: colbundle %s key %s\n%s\n", kind, hex, b64);
	sodium_memzero(b64, strlen(b64));
	free(b64);
	return text;
}

colb_err colb_keygen(const char *name, const char *password, char *errbuf, size_t errlen)
{
	if (!name || !*name)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "keygen: no key name");
	if (sodium_ready() != 0)
		return colb_seterr(errbuf, errlen, COLB_ERR_INTERNAL, "keygen: libsodium init failed");
	char keypath[4096], pubpath[4096];
	if (snprintf(keypath, sizeof keypath, "%s.key", name) >= (int)sizeof keypath ||
	    snprintf(pubpath, sizeof pubpath, "%s.pub", name) >= (int)sizeof pubpath)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "keygen: name too long");

	colb_err rc = COLB_OK;
	uint8_t *sec = sodium_malloc(SEC_LEN);
	uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	uint8_t *kek = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	char *sectext = NULL, *pubtext = NULL;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], keyid[COLB_KEYID_BYTES], pub[PUB_LEN];
	if (!sec || !sk || !kek) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "keygen: out of secure memory");
		goto out;
	}
	crypto_sign_keypair(pk, sk);
	colb_keyid_of(pk, keyid);

	memset(sec, 0, SEC_LEN);
	memcpy(sec, PUB_ALG, 2);
	memcpy(sec + 4, keyid, COLB_KEYID_BYTES);
	if (password) {
		uint64_t ops = crypto_pwhash_OPSLIMIT_INTERACTIVE, mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		memcpy(sec + 2, "A2", 2);
		colb_put64(sec + 12, ops);
		colb_put64(sec + 20, mem);
		randombytes_buf(sec + 28, crypto_pwhash_SALTBYTES);
		randombytes_buf(sec + 44, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
		if (crypto_pwhash(kek, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, password,
				  strlen(password), sec + 28, ops, (size_t)mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM,
					 "keygen: Argon2id needs more memory than is available");
			goto out;
		}
		crypto_aead_xchacha20poly1305_ietf_encrypt(sec + SEC_AD_LEN, NULL, sk,
							   crypto_sign_SECRETKEYBYTES, sec, SEC_AD_LEN,
							   NULL, sec + 44, kek);
	} else {
		memcpy(sec + 2, "NO", 2);
		memcpy(sec + SEC_AD_LEN, sk, crypto_sign_SECRETKEYBYTES);
	}
	memcpy(pub, PUB_ALG, 2);
	memcpy(pub + 2, keyid, COLB_KEYID_BYTES);
	memcpy(pub + 2 + COLB_KEYID_BYTES, pk, sizeof pk);
	sectext = keyfile_text("secret", keyid, sec, SEC_LEN);
	pubtext = keyfile_text("public", keyid, pub, PUB_LEN);
	if (!sectext || !pubtext) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "keygen: out of memory");
		goto out;
	}
	rc = colb_write_file_excl(keypath, sectext, strlen(sectext), 0600, errbuf, errlen);
	if (rc)
		goto out;
	rc = colb_write_file_excl(pubpath, pubtext, strlen(pubtext), 0644, errbuf, errlen);
	if (rc)
		unlink(keypath); /* never leave a secret key without its public half */
out:
	sodium_free(sec);
	sodium_free(sk);
	sodium_free(kek);
	sodium_free(sectext);
	sodium_free(pubtext);
	return rc;
}

colb_err colb_seckey_load(const char *path, const char *password, colb_seckey **out,
			  char *errbuf, size_t errlen)
{
	*out = NULL;
	if (sodium_ready() != 0)
		return colb_seterr(errbuf, errlen, COLB_ERR_INTERNAL, "libsodium init failed");
	uint8_t *text = NULL;
	size_t len = 0;
	char why[256];
	colb_err rc = colb_read_file(path, KEYFILE_MAX, &text, &len, errbuf, errlen);
	if (rc)
		return rc;
	uint8_t *sec = sodium_malloc(SEC_LEN);
	uint8_t *kek = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	colb_seckey *k = sodium_malloc(sizeof *k);
	if (!sec || !kek || !k) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "%s: out of secure memory", path);
		goto out;
	}
	rc = parse_keyfile((const char *)text, len, SEC_LEN, sec, "secret key", why, sizeof why);
	if (rc) {
		colb_seterr(errbuf, errlen, rc, "%s: %s", path, why);
		goto out;
	}
	if (memcmp(sec, PUB_ALG, 2) != 0) {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_KEY, "%s: not an Ed25519 secret key", path);
		goto out;
	}
	if (!memcmp(sec + 2, "A2", 2)) {
		uint64_t ops = colb_le64(sec + 12), mem = colb_le64(sec + 20);
		/* The limits come from the file: refuse any outside libsodium's
		 * range so that a crafted key file cannot ask for unbounded work. */
		if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
		    mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_SENSITIVE) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_KEY,
					 "%s: Argon2id limits out of range", path);
			goto out;
		}
		if (!password) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_PASSWORD,
					 "%s: the key is encrypted and no password was given", path);
			goto out;
		}
		if (crypto_pwhash(kek, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, password,
				  strlen(password), sec + 28, ops, (size_t)mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM,
					 "%s: Argon2id needs more memory than is available", path);
			goto out;
		}
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(k->sk, NULL, NULL, sec + SEC_AD_LEN,
							       SEC_LEN - SEC_AD_LEN, sec, SEC_AD_LEN,
							       sec + 44, kek) != 0) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_PASSWORD,
					 "%s: wrong password or corrupt secret key", path);
			goto out;
		}
	} else if (!memcmp(sec + 2, "NO", 2)) {
		memcpy(k->sk, sec + SEC_AD_LEN, crypto_sign_SECRETKEYBYTES);
	} else {
		rc = colb_seterr(errbuf, errlen, COLB_ERR_KEY, "%s: unknown key protection", path);
		goto out;
	}
	/* The stored public half and key id must be those of the seed. */
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	{
		uint8_t *check = sodium_malloc(crypto_sign_SECRETKEYBYTES);
		if (!check) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "out of secure memory");
			goto out;
		}
		crypto_sign_seed_keypair(pk, check, k->sk);
		int same = sodium_memcmp(check, k->sk, crypto_sign_SECRETKEYBYTES) == 0;
		sodium_free(check);
		colb_keyid_of(pk, k->keyid);
		if (!same || memcmp(k->keyid, sec + 4, COLB_KEYID_BYTES) != 0) {
			rc = colb_seterr(errbuf, errlen, COLB_ERR_KEY,
					 "%s: the secret key does not match its key id", path);
			goto out;
		}
	}
	*out = k;
	k = NULL;
out:
	sodium_memzero(text, len);
	free(text);
	sodium_free(sec);
	sodium_free(kek);
	sodium_free(k);
	return rc;
}

void colb_seckey_free(colb_seckey *k)
{
	sodium_free(k); /* wipes */
}

void colb_seckey_id(const colb_seckey *k, char out[2 * COLB_KEYID_BYTES + 1])
{
	colb_hex_encode(k->keyid, COLB_KEYID_BYTES, out, false);
}

/* ---- trust ---------------------------------------------------------------- */

colb_trust *colb_trust_new(void)
{
	if (sodium_ready() != 0)
		return NULL;
	colb_trust *t = calloc(1, sizeof *t);
	if (t)
		t->threshold = 1;
	return t;
}

static void free_ders(colb_der *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i].data);
	free(d);
}

void colb_trust_free(colb_trust *t)
{
	if (!t)
		return;
	free(t->keys);
	free_ders(t->intel_roots, t->nintel);
	free_ders(t->amd_arks, t->namd);
	free(t);
}

colb_err colb_trust_add_pubkey_text(colb_trust *t, const char *text, char *errbuf, size_t errlen)
{
	if (!t || !text)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "trust: no key text");
	colb_pubkey k;
	colb_err rc = colb_pubkey_parse(text, strlen(text), &k, errbuf, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < t->nkeys; i++)
		if (!memcmp(t->keys[i].pk, k.pk, sizeof k.pk))
			return COLB_OK; /* the same key listed twice counts once */
	colb_pubkey *n = realloc(t->keys, (t->nkeys + 1) * sizeof *n);
	if (!n)
		return colb_seterr(errbuf, errlen, COLB_ERR_NOMEM, "trust: out of memory");
	t->keys = n;
	t->keys[t->nkeys++] = k;
	return COLB_OK;
}

colb_err colb_trust_add_pubkey_file(colb_trust *t, const char *path, char *errbuf, size_t errlen)
{
	if (!t || !path)
		return colb_seterr(errbuf, errlen, COLB_ERR_INVALID_ARG, "trust: no key file");
	uint8_t *text = NULL;
	size_t len = 0;
	char why[256];
	colb_err rc = colb_read_file(path, KEYFILE_MAX, &text, &len, errbuf, errlen);
	if (rc)
		return rc;
	if (memchr(text, 0, len))
		rc = colb_seterr(errbuf, errlen, COLB_ERR_KEY, "%s: not a text file", path);
	else if ((rc = colb_trust_add_pubkey_text(t, (const char *)text, why, sizeof why)))
		colb_seterr(errbuf, errlen, rc, "%s: %s", path, why);
	free(text);
	return rc;
}

colb_err colb_trust_set_threshold(colb_trust *t, unsigned k)
{
	if (!t || k == 0 || k > COLB_MAX_SIGS)
		return COLB_ERR_INVALID_ARG;
	t->threshold = k;
	return COLB_OK;
}

static colb_err add_der(colb_der **list, size_t *n, const uint8_t *der, size_t len)
{
	if (!der || !len || len > (1u << 20))
		return COLB_ERR_INVALID_ARG;
	colb_der *l = realloc(*list, (*n + 1) * sizeof *l);
	if (!l)
		return COLB_ERR_NOMEM;
	*list = l;
	l[*n].data = malloc(len);
	if (!l[*n].data)
		return COLB_ERR_NOMEM;
	memcpy(l[*n].data, der, len);
	l[*n].len = len;
	(*n)++;
	return COLB_OK;
}

colb_err colb_trust_add_intel_root(colb_trust *t, const uint8_t *der, size_t len)
{
	return t ? add_der(&t->intel_roots, &t->nintel, der, len) : COLB_ERR_INVALID_ARG;
}

colb_err colb_trust_add_amd_ark(colb_trust *t, const uint8_t *der, size_t len)
{
	return t ? add_der(&t->amd_arks, &t->namd, der, len) : COLB_ERR_INVALID_ARG;
}

size_t colb_trust_intel_root_count(const colb_trust *t) { return t ? t->nintel : 0; }
size_t colb_trust_amd_ark_count(const colb_trust *t) { return t ? t->namd : 0; }

const uint8_t *colb_trust_intel_root(const colb_trust *t, size_t i, size_t *len)
{
	if (!t || i >= t->nintel)
		return NULL;
	*len = t->intel_roots[i].len;
	return t->intel_roots[i].data;
}

const uint8_t *colb_trust_amd_ark(const colb_trust *t, size_t i, size_t *len)
{
	if (!t || i >= t->namd)
		return NULL;
	*len = t->amd_arks[i].len;
	return t->amd_arks[i].data;
}
