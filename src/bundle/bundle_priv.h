/*
 * bundle_priv.h — the bundle core's own structures, shared between the
 * files of src/bundle only. Other layers use internal.h.
 */
#ifndef COLB_BUNDLE_PRIV_H
#define COLB_BUNDLE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include "bundle/internal.h"
#include "util/util.h"

/* ---- the envelope (format-spec/colbundle-v1.md, "Envelope") ------------- */

/* 8 bytes, in the manner of PNG's: a high-bit byte, the name, CR LF (line-ending
 * conversion shows), ^Z. The name has four letters, so PNG's final LF does not fit. */
#define COLB_MAGIC "\x89" "COLB\r\n\x1a"
#define COLB_MAGIC_LEN 8
#define COLB_HEADER_LEN 32        /* magic, major, minor, manifest_len, sigblock_len, payload_len,
				     rotation_len */
#define COLB_SIGNED_HEADER_LEN 28 /* the same without sigblock_len */
#define COLB_SIG_ENTRY_LEN 72     /* keyid[8] + Ed25519 signature[64] */
#define COLB_MAX_MANIFEST (64u << 20)
#define COLB_MAX_SIGS 64u
#define COLB_MAX_PAYLOAD (1ull << 30)
#define COLB_PAE_PREFIX "COLBUNDLEv1"

typedef struct colb_envelope {
	uint16_t major, minor;
	uint32_t manifest_len, sigblock_len, rotation_len;
	uint64_t payload_len;
	const uint8_t *header;   /* COLB_HEADER_LEN bytes */
	const uint8_t *manifest;
	const uint8_t *sigblock; /* count (u16) then count entries */
	const uint8_t *rotation; /* the key-rotation section (rotation.h), may be empty */
	const uint8_t *payload;
	uint16_t sig_count;
} colb_envelope;

/* Decodes and length-checks an envelope; touches nothing but lengths. */
colb_err colb_envelope_decode(const uint8_t *data, size_t len, colb_envelope *env,
			      char *why, size_t whylen);
/* Writes the 32-byte header, with rotation_len 0 (colb_put32(out + 28, n)
 * sets it). */
void colb_envelope_header(uint8_t out[COLB_HEADER_LEN], uint16_t minor, uint32_t manifest_len,
			  uint32_t sigblock_len, uint64_t payload_len);
/* The signed message (PAE) over the header fields and the manifest. */
colb_err colb_envelope_pae(const colb_envelope *env, colb_buf *out);
/* The PAE for a header that is being written (no rotation section). */
colb_err colb_pae_build(const uint8_t header[COLB_HEADER_LEN], const uint8_t *manifest,
			size_t manifest_len, colb_buf *out);
/* The same with a rotation section. */
colb_err colb_pae_build_rot(const uint8_t header[COLB_HEADER_LEN], const uint8_t *manifest,
			    size_t manifest_len, const uint8_t *rotation, size_t rotation_len,
			    colb_buf *out);

static inline uint16_t colb_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t colb_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t colb_le64(const uint8_t *p)
{
	return (uint64_t)colb_le32(p) | (uint64_t)colb_le32(p + 4) << 32;
}
static inline void colb_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void colb_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void colb_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- keys and trust ------------------------------------------------------ */

struct colb_seckey {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t keyid[COLB_KEYID_BYTES];
};

typedef struct colb_pubkey {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t keyid[COLB_KEYID_BYTES];
} colb_pubkey;

typedef struct colb_der {
	uint8_t *data;
	size_t len;
} colb_der;

struct colb_trust {
	colb_pubkey *keys;
	size_t nkeys;
	unsigned threshold;
	colb_der *intel_roots;
	size_t nintel;
	colb_der *amd_arks;
	size_t namd;
};

void colb_keyid_of(const uint8_t pk[crypto_sign_PUBLICKEYBYTES], uint8_t keyid[COLB_KEYID_BYTES]);
/* Parses the text of a .pub file. */
colb_err colb_pubkey_parse(const char *text, size_t len, colb_pubkey *out, char *why, size_t whylen);

/* ---- options --------------------------------------------------------------- */

#define COLB_DEFAULT_MAX_TOTAL (4ull << 30)
#define COLB_DEFAULT_MAX_ENTRY (64ull << 20)
#define COLB_DEFAULT_MAX_ENTRIES 1000000ull
#define COLB_DEFAULT_MAX_RATIO 200u
/* A bundle whose `created` is later than the verification time by more than
 * this is refused: clocks of the publishing and the reading host differ. */
#define COLB_CLOCK_SKEW 300

struct colb_opts {
	const colb_trust *trust;
	time_t at;
	char *state_path;
	bool allow_expired;
	colb_freshness freshness;
	uint64_t max_total, max_entry, max_entries;
	unsigned max_ratio;
};

/* ---- the manifest ---------------------------------------------------------- */

#define COLB_TEE_SEV_SNP 1u
#define COLB_TEE_SGX 2u
#define COLB_TEE_TDX 4u
/* JSON integers are kept within what every JSON reader holds exactly. */
#define COLB_JSON_MAX_INT ((1ull << 53) - 1)

typedef struct colb_mfile {
	const char *path;
	const char *kind;         /* the kind table's static name */
	colb_meta meta;
	const char *meta_json;    /* canonical: compact, keys sorted */
	uint64_t size;
	char sha256[65];
	uint8_t digest[32];
	char *own;                /* the block path, meta and meta_json live in, or
				     NULL when they live in the manifest's arena */
} colb_mfile;

typedef struct colb_manifest {
	unsigned minor;
	char bundle_id[33];
	uint64_t version;
	time_t created, expires;
	char *publisher;
	unsigned tee_mask;
	json_t *baseline;   /* owned reference, an object */
	char *baseline_json;
	uint64_t payload_size;
	uint8_t payload_sha256[32];
	colb_mfile *files;  /* sorted bytewise by path */
	size_t nfiles;
	char *arena;        /* the parsed files' strings */
} colb_manifest;

void colb_manifest_clear(colb_manifest *m);
/* Strict parse of the signed manifest bytes; max_files caps the file list. */
colb_err colb_manifest_parse(const uint8_t *bytes, size_t len, unsigned envelope_minor,
			     uint64_t max_files, colb_manifest *m, char *why, size_t whylen);
/* Deterministic emission (format-spec/colbundle-v1.md, "Manifest"). Files must
 * already be sorted and bundle_id computed. */
colb_err colb_manifest_emit(const colb_manifest *m, colb_buf *out);
/* bundle_id = hex(SHA-256("colbundle-id" || u64le(version) || publisher || 0x00
 * || payload sha256)[0..16]). */
void colb_manifest_bundle_id(uint64_t version, const char *publisher,
			     const uint8_t payload_sha256[32], char out[33]);
/* The TEE kinds a file belongs to, from its meta "tee" key (0 if none). */
unsigned colb_tee_of_meta(const colb_meta *meta);
/* A json object with keys sorted recursively (a new reference). */
json_t *colb_json_sorted_copy(const json_t *j);

/* Fills f's path, kind, meta and meta_json from copies in one block (f->own),
 * without judging them: the writer judges first, tests build hostile lists. */
colb_err colb_mfile_set(colb_mfile *f, const char *path, const char *kind, const colb_meta *meta);
/* Frees what colb_mfile_set allocated. */
void colb_mfile_release(colb_mfile *f);

/* ---- entry naming (kinds.c) ------------------------------------------------ */

/* Derives a file's kind and meta from its path by the naming rules. On a
 * match returns true, *kind points to a static string and meta's strings to
 * copies in store (512 bytes are always enough). */
bool colb_kind_from_path(const char *path, const char **kind, colb_meta *meta, char *store,
			 size_t storelen);
/* Checks that kind/meta agree with what the path says (every key the path
 * fixes is present with the same value, and the kind is the path's kind). */
bool colb_kind_path_agrees(const char *path, const char *kind, const colb_meta *meta, char *why,
			   size_t whylen);

/* ---- the open bundle ------------------------------------------------------- */

typedef struct colb_entry {
	uint8_t *data;              /* inside b->arena (the inflated tar), or copy */
	uint8_t *copy;              /* owned: an entry that did not come in one block */
	atomic_int state;           /* 0 unchecked, 1 digest ok, 2 digest bad */
	bool seen;                  /* while reading the payload */
} colb_entry;

struct colb_bundle {
	colb_opts opts;             /* copied at new; the trust is borrowed */
	char error[512];
	bool open;
	bool shared;                /* opened: lookups may now run on many threads */
	time_t at;
	colb_manifest m;
	uint8_t *manifest_bytes;
	size_t manifest_len;
	char digest[65];
	size_t nsigners;
	char signers[COLB_MAX_SIGS][2 * COLB_KEYID_BYTES + 1];
	colb_entry *entries;
	uint8_t *arena;             /* colb_big_alloc'ed, arena_size bytes */
	size_t arena_size;
	colb_files_cache cache;     /* the store's payload cache when opened from it */
	colb_trust *anchor;         /* owned; the store's keyset when opts has no keys */
	uint64_t anchor_version, keyset_floor;
	colb_trust *keyset;         /* owned; what the signatures verified under */
	uint64_t keyset_version;
	uint8_t *pre_chain;         /* owned; a store's recorded rotation chain, walked first */
	size_t pre_chain_len;
	colb_buf applied;           /* the envelope's statements the last walk applied */
	size_t *slots;              /* open-addressing hash table of file indexes + 1 */
	size_t nslots;
	pthread_mutex_t lock;
	void *ext[COLB_EXT_COUNT];
	colb_ext_fini_fn ext_fini[COLB_EXT_COUNT];
	atomic_bool ext_done[COLB_EXT_COUNT];
};

/* ---- the writer ------------------------------------------------------------ */

/* An envelope around exact manifest and payload bytes, signed by each key
 * in turn (the writer uses it; so do tests that need hostile bundles). */
colb_err colb_envelope_build(const uint8_t *manifest, size_t manifest_len, const uint8_t *payload,
			     size_t payload_len, const colb_seckey *const *keys, size_t nkeys,
			     colb_buf *out);
/* The same with a key-rotation section (rotation.h). */
colb_err colb_envelope_build_rot(const uint8_t *manifest, size_t manifest_len,
				 const uint8_t *rotation, size_t rotation_len, const uint8_t *payload,
				 size_t payload_len, const colb_seckey *const *keys, size_t nkeys,
				 colb_buf *out);
/* colb_writer_finish into memory. */
colb_err colb_writer_build(colb_writer *w, const colb_seckey *key, colb_buf *out);

/* The reproducible tar.gz of the files (sorted), mtime = created. */
colb_err colb_payload_build(const colb_mfile *files, uint8_t *const *data, size_t n, time_t mtime,
			    colb_buf *out, char *why, size_t whylen);

#endif
