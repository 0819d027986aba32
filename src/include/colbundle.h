/*
 * colbundle.h — the public API of libcolbundle.
 *
 * libcolbundle reads and writes colbundle archives (.colb): signed, versioned
 * bundles of Intel SGX/TDX and AMD SEV-SNP attestation collateral. The
 * reader verifies the bundle's signatures, its manifest and every payload
 * file, and the collateral's own vendor signatures, before it returns a byte.
 *
 * Conventions
 *   - Every handle is opaque and comes in a _new/_free pair; _free accepts NULL.
 *   - Every fallible call returns colb_err (COLB_OK == 0). The message of the
 *     last failure is on the handle (colb_bundle_error(), ...); it says what
 *     failed and where.
 *   - Bytes returned through `const uint8_t **` pointers are owned by the
 *     handle and stay valid until the handle is freed. Buffers returned through
 *     `uint8_t **` / `char **` are the caller's, freed with colb_free().
 *   - The library never prints and never exits. It is thread-safe for
 *     concurrent reads of one open bundle; a handle must not be freed while
 *     another thread uses it.
 *   - Times are seconds since the Unix epoch (UTC).
 */
#ifndef COLBUNDLE_H
#define COLBUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define COLB_API __attribute__((visibility("default")))
#define COLB_WUR __attribute__((warn_unused_result))
#else
#define COLB_API
#define COLB_WUR
#endif

#define COLB_FORMAT_MAJOR 1
#define COLB_FORMAT_MINOR 0

/* ---------------------------------------------------------------------------
 * Errors: one enum for the whole library. Numbers are stable; new codes are
 * only ever appended.
 */
typedef enum colb_err {
	COLB_OK = 0,
	/* general */
	COLB_ERR_INVALID_ARG = 1,      /* a NULL or out-of-range argument */
	COLB_ERR_NOMEM = 2,            /* allocation failed */
	COLB_ERR_IO = 3,               /* a file could not be read or written */
	COLB_ERR_NOT_FOUND = 4,        /* no such file, item or key in the bundle */
	COLB_ERR_LIMIT = 5,            /* an input is larger than a configured limit */
	COLB_ERR_INTERNAL = 6,         /* a library call failed unexpectedly */
	/* the envelope */
	COLB_ERR_BAD_MAGIC = 10,       /* not a .colb file */
	COLB_ERR_UNSUPPORTED_VERSION = 11, /* unknown major format version */
	COLB_ERR_TRUNCATED = 12,       /* shorter than its own lengths say */
	COLB_ERR_OVERSIZED = 13,       /* longer than its lengths say, or over a cap */
	COLB_ERR_MALFORMED = 14,       /* envelope fields inconsistent */
	/* signatures and trust */
	COLB_ERR_NO_SIGNATURE = 20,    /* the bundle carries no signature */
	COLB_ERR_BAD_SIGNATURE = 21,   /* a signature by a trusted key does not verify */
	COLB_ERR_UNTRUSTED_KEY = 22,   /* signed only by keys the trust config does not list */
	COLB_ERR_THRESHOLD = 23,       /* fewer valid trusted signatures than the threshold */
	COLB_ERR_EXPIRED = 24,         /* past the manifest's `expires` */
	COLB_ERR_ROLLBACK = 25,        /* older than (or equal to but different from) the state */
	COLB_ERR_STATE = 26,           /* the anti-rollback state file is unreadable or corrupt */
	COLB_ERR_KEY = 27,             /* a key file is malformed */
	COLB_ERR_PASSWORD = 28,        /* a secret key could not be decrypted */
	COLB_ERR_NOT_YET_VALID = 29,   /* created in the future relative to the verification time */
	/* manifest and payload */
	COLB_ERR_MANIFEST = 30,        /* manifest JSON malformed, unknown/duplicate/missing keys */
	COLB_ERR_DIGEST_MISMATCH = 31, /* payload or file SHA-256 differs from the manifest */
	COLB_ERR_UNLISTED_ENTRY = 32,  /* payload entry not listed in the manifest */
	COLB_ERR_MISSING_ENTRY = 33,   /* manifest file absent from the payload */
	COLB_ERR_DUPLICATE_ENTRY = 34, /* the same path twice */
	COLB_ERR_SIZE_MISMATCH = 35,   /* entry size differs from the manifest */
	COLB_ERR_NOT_REGULAR = 36,     /* symlink, hardlink, device, directory ... */
	COLB_ERR_BAD_PATH = 37,        /* path outside the allow-list, `..`, absolute */
	COLB_ERR_BOMB = 38,            /* decompression caps exceeded (size, ratio, count) */
	COLB_ERR_ARCHIVE = 39,         /* the payload is not a valid tar.gz */
	/* collateral */
	COLB_ERR_COLLATERAL = 50,      /* collateral malformed (JSON, DER, PEM) */
	COLB_ERR_COLLATERAL_SIG = 51,  /* a vendor signature does not verify */
	COLB_ERR_CHAIN = 52,           /* a certificate chain does not verify */
	COLB_ERR_UNTRUSTED_ROOT = 53,  /* a chain ends at a root that is not pinned */
	COLB_ERR_REVOKED = 54,         /* a certificate is revoked by a carried CRL */
	COLB_ERR_STALE = 55,           /* past nextUpdate under the `enforce` freshness policy */
	COLB_ERR_BELOW_MIN_EVAL = 56,  /* TCB evaluation number below the bundle's minimum */
	COLB_ERR_MISFILED = 57,        /* an item's content disagrees with where it is filed */
	COLB_ERR_BASELINE = 58,        /* the baseline asks for something the bundle lacks */
	/* site */
	COLB_ERR_CONFIG = 70,          /* a configuration file is missing or malformed */
	COLB_ERR_LOCKED = 71,          /* another install holds the store lock */
	COLB_ERR_STORE = 72,           /* the store directory is unusable */
	COLB_ERR_ROTATION = 73         /* a key-rotation statement is malformed or not signed
	                                  by the previous keyset's threshold */
} colb_err;

/* A short, static, English description of an error code. Never NULL. */
COLB_API const char *colb_strerror(colb_err err);

/* Frees a buffer that the library handed to the caller. NULL is fine. */
COLB_API void colb_free(void *p);

/* The library's version string, e.g. "0.1.0". */
COLB_API const char *colb_version(void);

/* ---------------------------------------------------------------------------
 * Keys (Ed25519, libsodium). A public key file is two lines:
 *   untrusted comment: colbundle public key <KEYID>
 *   base64("Ed" || keyid[8] || pk[32])
 * The key id is the first 8 bytes of SHA-256(pk), shown as 16 hex digits.
 */
typedef struct colb_seckey colb_seckey;

#define COLB_KEYID_BYTES 8

/* Writes NAME.key (mode 0600, O_EXCL) and NAME.pub. password == NULL writes
 * an unencrypted secret key (for vault-managed pipelines). */
COLB_API COLB_WUR colb_err colb_keygen(const char *name, const char *password,
				       char *errbuf, size_t errlen);
/* Loads a secret key; password may be NULL for an unencrypted key. */
COLB_API COLB_WUR colb_err colb_seckey_load(const char *path, const char *password,
					    colb_seckey **out, char *errbuf, size_t errlen);
COLB_API void colb_seckey_free(colb_seckey *k);
/* The key id of a secret key, as 16 lowercase hex digits + NUL. */
COLB_API void colb_seckey_id(const colb_seckey *k, char out[2 * COLB_KEYID_BYTES + 1]);

/* ---------------------------------------------------------------------------
 * Trust: which publisher keys count, how many must sign, and which vendor
 * roots are accepted beyond the built-in pinned ones.
 */
typedef struct colb_trust colb_trust;

COLB_API colb_trust *colb_trust_new(void);
COLB_API void colb_trust_free(colb_trust *t);
/* Adds a public key from a .pub file, or from its text. */
COLB_API COLB_WUR colb_err colb_trust_add_pubkey_file(colb_trust *t, const char *path,
						      char *errbuf, size_t errlen);
COLB_API COLB_WUR colb_err colb_trust_add_pubkey_text(colb_trust *t, const char *text,
						      char *errbuf, size_t errlen);
/* Signatures needed (default 1). */
COLB_API COLB_WUR colb_err colb_trust_set_threshold(colb_trust *t, unsigned k);
/* Extra vendor roots, for test PKIs only (DER certificates). */
COLB_API COLB_WUR colb_err colb_trust_add_intel_root(colb_trust *t, const uint8_t *der, size_t len);
COLB_API COLB_WUR colb_err colb_trust_add_amd_ark(colb_trust *t, const uint8_t *der, size_t len);
/* Loads a trust configuration from a colbundle.conf file (see colbundle.conf(5)). */
COLB_API COLB_WUR colb_err colb_trust_load_conf(colb_trust *t, const char *conf_path,
						char *errbuf, size_t errlen);

/* ---------------------------------------------------------------------------
 * Opening a bundle.
 */
typedef struct colb_opts colb_opts;

typedef enum colb_freshness {
	COLB_FRESHNESS_WARN = 0,       /* stale collateral is served and reported */
	COLB_FRESHNESS_ENFORCE = 1     /* stale collateral is refused */
} colb_freshness;

COLB_API colb_opts *colb_opts_new(void);
COLB_API void colb_opts_free(colb_opts *o);
/* The trust is borrowed: it must outlive every bundle opened with o. */
COLB_API void colb_opts_set_trust(colb_opts *o, const colb_trust *t);
/* Verification time; 0 (the default) means the wall clock at open. */
COLB_API void colb_opts_set_time(colb_opts *o, time_t at);
/* Anti-rollback state file (read, never written by the reader). */
COLB_API COLB_WUR colb_err colb_opts_set_state_file(colb_opts *o, const char *path);
/* Accept an expired bundle; the caller must log that it did. */
COLB_API void colb_opts_set_allow_expired(colb_opts *o, int allow);
COLB_API void colb_opts_set_freshness(colb_opts *o, colb_freshness f);
/* Caps (0 keeps the default). Defaults: envelope 64 MiB, payload 1 GiB
 * compressed, 4 GiB total decompressed, 64 MiB per entry, ratio 200:1,
 * 1,000,000 entries. */
COLB_API void colb_opts_set_limits(colb_opts *o, uint64_t max_total, uint64_t max_entry,
				   uint64_t max_entries, unsigned max_ratio);

typedef struct colb_bundle colb_bundle;

COLB_API colb_bundle *colb_bundle_new(const colb_opts *o);
COLB_API void colb_bundle_free(colb_bundle *b);
/* Opens and fully verifies a bundle. On failure the handle keeps the error
 * (colb_bundle_error) and serves nothing. */
COLB_API COLB_WUR colb_err colb_bundle_open_file(colb_bundle *b, const char *path);
COLB_API COLB_WUR colb_err colb_bundle_open_memory(colb_bundle *b, const uint8_t *data, size_t len);
/* The last error's message ("" when none): the open's, or, once the bundle
 * is open, that of the calling thread's last failed lookup (threads that
 * share a handle never see each other's messages). */
COLB_API const char *colb_bundle_error(const colb_bundle *b);

/* Manifest facts. Strings are owned by the handle. */
COLB_API uint64_t colb_bundle_version(const colb_bundle *b);
COLB_API const char *colb_bundle_id(const colb_bundle *b);
COLB_API const char *colb_bundle_publisher(const colb_bundle *b);
COLB_API time_t colb_bundle_created(const colb_bundle *b);
COLB_API time_t colb_bundle_expires(const colb_bundle *b);
/* Hex SHA-256 of the whole .colb file as opened (for state files). */
COLB_API const char *colb_bundle_digest(const colb_bundle *b);
/* The exact manifest bytes (signed), and the baseline section as JSON text. */
COLB_API const char *colb_bundle_manifest_json(const colb_bundle *b, size_t *len);
COLB_API const char *colb_bundle_baseline_json(const colb_bundle *b);
/* Key ids (16 hex) of the signatures that verified against trusted keys. */
COLB_API size_t colb_bundle_signer_count(const colb_bundle *b);
COLB_API const char *colb_bundle_signer(const colb_bundle *b, size_t i);

/* One payload file as the manifest describes it. */
typedef struct colb_file_info {
	const char *path;       /* e.g. "intel/tcbinfo/sgx/00906ED50000/17.json" */
	const char *kind;       /* e.g. "tcbinfo", "pckcerts", "vcek" */
	const char *meta_json;  /* the typed metadata object, compact JSON */
	uint64_t size;
	const char *sha256;     /* 64 lowercase hex */
} colb_file_info;

COLB_API size_t colb_bundle_file_count(const colb_bundle *b);
COLB_API COLB_WUR colb_err colb_bundle_file_at(const colb_bundle *b, size_t i, colb_file_info *out);
/* A file's bytes by path; its digest is checked before they are returned
 * (once: the verdict is cached). COLB_ERR_NOT_FOUND when there is no such path. */
COLB_API COLB_WUR colb_err colb_bundle_read(colb_bundle *b, const char *path,
					    const uint8_t **data, size_t *len);
/* Checks every file's SHA-256 now rather than at first read (what `verify`
 * does). The payload as a whole was already checked at open. */
COLB_API COLB_WUR colb_err colb_bundle_verify_files(colb_bundle *b);

/* ---------------------------------------------------------------------------
 * Writing a bundle.
 */
typedef struct colb_writer colb_writer;

COLB_API colb_writer *colb_writer_new(void);
COLB_API void colb_writer_free(colb_writer *w);
COLB_API const char *colb_writer_error(const colb_writer *w);
COLB_API void colb_writer_set_version(colb_writer *w, uint64_t version);
COLB_API void colb_writer_set_created(colb_writer *w, time_t created);
COLB_API void colb_writer_set_expires(colb_writer *w, time_t expires);
COLB_API COLB_WUR colb_err colb_writer_set_publisher(colb_writer *w, const char *name);
/* The baseline section, a JSON object (validated by the Intel layer). */
COLB_API COLB_WUR colb_err colb_writer_set_baseline_json(colb_writer *w, const char *json);
/* Adds a payload file; data is copied. The path must follow the entry naming
 * rules (format-spec/colbundle-v1.md); kind == NULL takes the kind the path
 * names, and the meta the path fixes is added to meta_json (an object, may be
 * NULL). Both are checked against the format's closed list of kinds and keys. */
COLB_API COLB_WUR colb_err colb_writer_add_file(colb_writer *w, const char *path,
						const uint8_t *data, size_t len,
						const char *kind, const char *meta_json);
/* Adds every regular file under dir, which is laid out in the entry naming
 * (paths relative to dir); anything else there (symlinks, unknown names) is
 * an error. */
COLB_API COLB_WUR colb_err colb_writer_add_dir(colb_writer *w, const char *dir);
/* Writes the bundle, signed by key, to out_path (temporary file + rename).
 * Unset fields default: created = $SOURCE_DATE_EPOCH or now, expires =
 * created + 90 days, version = created, publisher = "key <KEYID>". */
COLB_API COLB_WUR colb_err colb_writer_finish(colb_writer *w, const colb_seckey *key,
					      const char *out_path);

/* Adds one more signature to an existing bundle without changing anything else. */
COLB_API COLB_WUR colb_err colb_sign_file(const char *path, const colb_seckey *key,
					  char *errbuf, size_t errlen);

/* ---------------------------------------------------------------------------
 * Key rotation (format-spec/colbundle-v1.md, "Key rotation"). The publisher's
 * first keyset (keys + threshold) is version 1; a rotation statement names
 * keyset N+1 and is signed by keyset N's threshold. A bundle carries the
 * chain of statements; readers walk it from the keys they trust and verify
 * the bundle's signatures under the last keyset reached.
 */

/* Makes a statement naming new_keys (its keys and threshold) as keyset
 * `version`, signed by each of old_keys. *out (colb_free) is the binary
 * statement. */
COLB_API COLB_WUR colb_err colb_rotation_create(const colb_trust *new_keys, uint64_t version,
						const colb_seckey *const *old_keys, size_t nold,
						uint8_t **out, size_t *len, char *errbuf, size_t errlen);
/* Length-checks a statement and tells what it says (any pointer may be NULL). */
COLB_API COLB_WUR colb_err colb_rotation_describe(const uint8_t *stmt, size_t len, uint64_t *version,
						  unsigned *threshold, size_t *nkeys, size_t *nsigs,
						  char *errbuf, size_t errlen);
/* Appends a statement to the chain the writer's bundle carries (in
 * ascending keyset version, consecutive). */
COLB_API COLB_WUR colb_err colb_writer_add_rotation(colb_writer *w, const uint8_t *stmt, size_t len);
/* The version of the keyset an open bundle's signatures verified under. */
COLB_API uint64_t colb_bundle_keyset_version(const colb_bundle *b);

/* ---------------------------------------------------------------------------
 * The site store (format-spec/site-store.md): the directory `colbundle
 * install` keeps the installed bundle in. Readers (the quote provider
 * library, `serve`, the CLI) open "the store's current bundle" with
 * colb_bundle_open_store and poll colb_store_generation to notice a new one.
 * A reader never takes a lock and never sees a torn or mixed bundle: one
 * rename(2) switches the bundle, its payload cache and its state together.
 */

/* Opens the store's current bundle. Verifies the envelope, the key rotation
 * chain, the signatures (trust: the options' keys when it has some, else
 * the keyset the store recorded at install), the manifest, the validity
 * period (the options' time and allow-expired, or the install's recorded
 * override) and the store's anti-rollback state; the files are served from
 * the store's payload cache, each one's SHA-256 checked against the signed
 * manifest before its bytes are first returned. Fast: no decompression and
 * no hash of the whole payload at open. COLB_ERR_STORE when the store has
 * no bundle or is inconsistent. */
COLB_API COLB_WUR colb_err colb_bundle_open_store(colb_bundle *b, const char *store_dir);
/* The name of the store's current generation (e.g. "42-9f86d081884c7d65"),
 * NUL-terminated. One readlink(2): cheap enough to call before every
 * request. It changes exactly when a new bundle is installed.
 * COLB_ERR_STORE when the store has no bundle; COLB_ERR_LIMIT when outlen is
 * too small (64 bytes always suffice). */
COLB_API COLB_WUR colb_err colb_store_generation(const char *store_dir, char *out, size_t outlen);

#define COLB_STORE_GEN_MAX 64

/* Installs a bundle into a store (created when absent): verifies it fully
 * (signatures and rotation chain, expiry, the store's anti-rollback state
 * and keyset, every file, and every Intel and AMD item), then puts it in
 * place atomically. A failed install changes nothing. Trust: the options'
 * keys when it has some, else the keyset the store recorded (a first
 * install needs keys). Installs are serialised by an flock on STORE/lock:
 * COLB_ERR_LOCKED at once when another holds it, unless flags has
 * COLB_INSTALL_WAIT. Reinstalling the current bundle is a no-op. */
#define COLB_INSTALL_WAIT 1u

typedef struct colb_install_result {
	uint64_t version;                     /* the bundle now installed */
	char generation[COLB_STORE_GEN_MAX];
	char previous[COLB_STORE_GEN_MAX];    /* "" on a first install */
	uint64_t keyset_version;              /* the keyset the bundle verified under */
	int unchanged;                        /* it was already the current bundle */
	int expired;                          /* accepted past `expires` (allow-expired) */
} colb_install_result;

COLB_API COLB_WUR colb_err colb_store_install(const char *store_dir, const char *bundle_path,
					      const colb_opts *o, unsigned flags,
					      colb_install_result *res, char *errbuf, size_t errlen);

/* ---------------------------------------------------------------------------
 * Intel SGX/TDX collateral (src/intel).
 *
 * Every item is verified before a byte of it is returned, once per open
 * bundle (the verdict is memoised): its issuer chain ends at the pinned Intel
 * SGX Root CA (pinned by public key; extra roots only through
 * colb_trust_add_intel_root), TCB info, enclave identities and evaluation
 * number lists carry a valid ECDSA signature over their exact inner-object
 * bytes by the TCB Signing cert of their chain, CRLs are signed by the right
 * CA, PCK certs chain to their PCK CA, their SGX extensions decode and agree
 * with the TCB info, and no PCK cert revoked by the carried PCK CRL is ever
 * returned. Freshness follows colb_opts_set_freshness: under WARN a stale
 * item is returned with `stale` set; under ENFORCE it is refused
 * (COLB_ERR_STALE).
 *
 * Evaluation numbers: `eval` 0 means the bundle's baseline (the manifest's
 * baseline section, or the site's override from colb_intel_set_baseline);
 * a number asks for exactly that number. A number the bundle does not
 * carry is COLB_ERR_NOT_FOUND, one below the bundle's minimum
 * COLB_ERR_BELOW_MIN_EVAL. The QE/QvE/QAE/TD_QE identity served for eval 0
 * is the one at the baseline's number, so a TCB info and its identities match.
 *
 * Returned pointers are owned by the bundle handle and stay valid until
 * colb_bundle_free; the functions are safe to call concurrently on one open
 * bundle (except colb_intel_set_baseline, see there).
 */
typedef enum colb_intel_tee {
	COLB_INTEL_SGX = 0,
	COLB_INTEL_TDX = 1
} colb_intel_tee;

typedef enum colb_intel_identity {
	COLB_INTEL_ID_QE = 0,    /* sgx/certification/v4/qe/identity */
	COLB_INTEL_ID_QVE = 1,   /* sgx/certification/v4/qve/identity */
	COLB_INTEL_ID_QAE = 2,   /* sgx/certification/v4/qae/identity */
	COLB_INTEL_ID_TD_QE = 3  /* tdx/certification/v4/qe/identity */
} colb_intel_identity;

typedef enum colb_intel_ca {
	COLB_INTEL_CA_PROCESSOR = 0,
	COLB_INTEL_CA_PLATFORM = 1
} colb_intel_ca;

/* One verified collateral item, as Intel served it. */
typedef struct colb_intel_item {
	const uint8_t *data;      /* exact vendor bytes: the whole JSON body
				     ({"tcbInfo":...,"signature":...}), the DER CRL,
				     or the raw pckcerts JSON array */
	size_t len;
	const char *issuer_chain; /* decoded PEM, issuing CA first, root last,
				     NUL-terminated ("" for the root CA CRL's,
				     which is the root alone: see root_pem) */
	size_t issuer_chain_len;
	const char *root_pem;     /* the root the chain ends at, PEM */
	const char *path;         /* the payload path in the bundle */
	uint32_t eval;            /* tcbEvaluationDataNumber; 0 for CRLs and pckcerts */
	time_t issue_date;        /* issueDate / CRL thisUpdate; 0 for pckcerts */
	time_t next_update;       /* nextUpdate / CRL nextUpdate; 0 for pckcerts */
	int stale;                /* past next_update at the bundle's verification time */
	const char *fmspc;        /* 12 upper-case hex (tcbinfo, pckcerts); else NULL */
	const char *ca_type;      /* "processor"|"platform" (pckcerts, PCK CRL); else NULL */
} colb_intel_item;

/* TCB info of one FMSPC (6 raw bytes). */
COLB_API COLB_WUR colb_err colb_intel_tcbinfo(colb_bundle *b, colb_intel_tee tee,
					      const uint8_t fmspc[6], uint32_t eval,
					      colb_intel_item *out);
/* An enclave identity (QE, QvE, QAE for SGX; TD_QE for TDX). */
COLB_API COLB_WUR colb_err colb_intel_identity_get(colb_bundle *b, colb_intel_identity kind,
						   uint32_t eval, colb_intel_item *out);
/* The TCB evaluation data numbers list (tcbevaluationdatanumbers). */
COLB_API COLB_WUR colb_err colb_intel_evalnums(colb_bundle *b, colb_intel_tee tee,
					       colb_intel_item *out);
/* A PCK CRL (DER, as `pckcrl?ca=..&encoding=der`). */
COLB_API COLB_WUR colb_err colb_intel_pckcrl(colb_bundle *b, colb_intel_ca ca, colb_intel_item *out);
/* The Intel SGX Root CA CRL (DER). */
COLB_API COLB_WUR colb_err colb_intel_rootcacrl(colb_bundle *b, colb_intel_item *out);
/* PEM text of a DER CRL (PCS's default encoding); *pem is freed with colb_free. */
COLB_API COLB_WUR colb_err colb_intel_crl_pem(const uint8_t *der, size_t len, char **pem, size_t *pem_len);
/* The raw pckcerts answer of a platform (qe_id: 16 bytes), with its issuer
 * chain, FMSPC and CA type (the SGX-PCK-Certificate-* headers). */
COLB_API COLB_WUR colb_err colb_intel_pckcerts(colb_bundle *b, const uint8_t qe_id[16], uint16_t pce_id,
					       colb_intel_item *out);

/* The PCK cert chosen for a platform's raw TCB, as Intel's reference
 * selection does (highest TCB level of the TCB info that the raw CPUSVN and
 * PCE SVN reach, among the certs not above it). */
typedef struct colb_intel_pck {
	const char *cert_pem;      /* the PCK cert, PEM, NUL-terminated */
	size_t cert_pem_len;
	const char *issuer_chain;  /* PCK CA then root, PEM, NUL-terminated */
	size_t issuer_chain_len;
	const char *tcbm;          /* SGX-TCBm: 36 upper-case hex (cpusvn || pcesvn LE) */
	uint8_t cpusvn[16];        /* the cert's TCB */
	uint16_t pcesvn;
	const char *fmspc;         /* SGX-FMSPC: 12 upper-case hex */
	const char *ca_type;       /* SGX-PCK-Certificate-CA-Type: "processor"|"platform" */
	colb_intel_ca ca;
	const char *tcb_status;    /* the cert's level in the TCB info used ("UpToDate", ...) */
	uint32_t eval;             /* the evaluation number of that TCB info */
	int stale;                 /* the PCK CRL or TCB info used is stale (WARN policy) */
} colb_intel_pck;

/* qe_id: 16 bytes; cpusvn: 16 raw bytes; eval as above. COLB_ERR_NOT_FOUND
 * when the bundle has no certs for the platform or none at or below its TCB;
 * COLB_ERR_REVOKED when the chosen cert is revoked (never returned). */
COLB_API COLB_WUR colb_err colb_intel_pck_select(colb_bundle *b, const uint8_t qe_id[16], uint16_t pce_id,
						 const uint8_t cpusvn[16], uint16_t pcesvn, uint32_t eval,
						 colb_intel_pck *out);
/* The same, finding the platform by its encrypted PPID (PCS `pckcert?
 * encrypted_ppid=`): the bundle knows encrypted PPIDs from the PCK Cert ID
 * CSVs and PCCS imports it was made from. */
COLB_API COLB_WUR colb_err colb_intel_pck_select_by_ppid(colb_bundle *b, const uint8_t *enc_ppid,
							 size_t enc_ppid_len, uint16_t pce_id,
							 const uint8_t cpusvn[16], uint16_t pcesvn,
							 uint32_t eval, colb_intel_pck *out);

/* What the bundle carries: the FMSPCs with TCB info (12 upper-case hex
 * strings, sorted) and the evaluation numbers (ascending), per TEE. */
COLB_API COLB_WUR colb_err colb_intel_fmspcs(colb_bundle *b, colb_intel_tee tee,
					     const char *const **list, size_t *n);
COLB_API COLB_WUR colb_err colb_intel_evals(colb_bundle *b, colb_intel_tee tee,
					    const uint32_t **list, size_t *n);
/* The number eval 0 resolves to for a TEE and FMSPC (fmspc NULL: the
 * default), after the site override. */
COLB_API COLB_WUR colb_err colb_intel_baseline_eval(colb_bundle *b, colb_intel_tee tee,
						    const uint8_t *fmspc, uint32_t *eval);
/* The site's baseline override: "standard", "early", a number, or NULL for
 * the bundle's own. Only numbers the bundle carries (and not below its
 * minimum) are accepted: COLB_ERR_BASELINE otherwise. Call it before the
 * bundle is shared between threads. */
COLB_API COLB_WUR colb_err colb_intel_set_baseline(colb_bundle *b, const char *spec);
/* Parses a `_with_params` custom parameter in THIM's form (base64 of
 * "tcbEvaluationDataNumber=N[;key=value...]"; the plain text is accepted
 * too) into *eval; 0 when it names no number. */
COLB_API COLB_WUR colb_err colb_intel_parse_custom_param(const void *param, size_t len, uint32_t *eval);

/* Freshness of everything Intel in the bundle at its verification time. */
typedef struct colb_intel_freshness_report {
	size_t items;             /* TCB infos, identities, eval lists, CRLs checked */
	size_t stale;             /* of which past nextUpdate */
	time_t earliest_next_update;
	const char *earliest_path; /* the item that goes stale first */
} colb_intel_freshness_report;
COLB_API COLB_WUR colb_err colb_intel_freshness(colb_bundle *b, colb_intel_freshness_report *out);
/* Verifies every Intel item now (what `colbundle verify` does). */
COLB_API COLB_WUR colb_err colb_intel_verify_all(colb_bundle *b);

/* ---- Intel inputs of `create` ------------------------------------------------
 * Collects raw Intel answers, validates every item (at time `at`, 0 = now)
 * and adds them, with the baseline section, to a writer. The first failing
 * item stops it; colb_intel_input_error names the item and the reason.
 */
typedef struct colb_intel_input colb_intel_input;

COLB_API colb_intel_input *colb_intel_input_new(const colb_trust *t, time_t at);
COLB_API void colb_intel_input_free(colb_intel_input *in);
COLB_API const char *colb_intel_input_error(const colb_intel_input *in);
/* The raw layout of format-spec/raw-layouts.md (`--intel-dir`). */
COLB_API COLB_WUR colb_err colb_intel_input_add_dir(colb_intel_input *in, const char *dir);
/* Intel's admin tool platform_collaterals.json (`--import-pccs`). */
COLB_API COLB_WUR colb_err colb_intel_input_import_pccs(colb_intel_input *in, const char *path);
/* A PCK Cert ID Retrieval Tool CSV: records each platform's encrypted PPID. */
COLB_API COLB_WUR colb_err colb_intel_input_add_pckid_csv(colb_intel_input *in, const char *path);
/* `--baseline standard|early|N` (default standard) and `--min-eval N`. */
COLB_API COLB_WUR colb_err colb_intel_input_set_baseline(colb_intel_input *in, const char *spec);
COLB_API void colb_intel_input_set_min_eval(colb_intel_input *in, uint32_t min_eval);
/* Validates everything collected and adds it to w; also sets the baseline. */
COLB_API COLB_WUR colb_err colb_intel_input_write(colb_intel_input *in, colb_writer *w);

/* ---------------------------------------------------------------------------
 * AMD SEV-SNP collateral (src/amd).
 *
 * Every item is verified before a byte of it is returned, once per open
 * bundle (the verdict is memoised): the product's ARK is pinned (the real
 * Milan, Genoa and Turin ARKs are built in, by public key; test ARKs only
 * through colb_trust_add_amd_ark, and only for the product their subject
 * names), the ARK is self-signed, the ASK/ASVK is signed by it, the VCEK or
 * VLEK by the ASK/ASVK (RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48; real
 * encodings such as the explicit trailerField and serial number 0 are
 * accepted), every certificate is within its validity at the verification
 * time, the CRL is signed by the ARK and no certificate it revokes is ever
 * returned (COLB_ERR_REVOKED), and a VCEK's hwid and TCB extensions agree
 * with where it is filed (COLB_ERR_MISFILED).
 *
 * Freshness follows colb_opts_set_freshness: a product whose CRL is past its
 * nextUpdate, or which has no CRL, is served with `stale` set under WARN and
 * refused (COLB_ERR_STALE) under ENFORCE.
 *
 * Returned pointers are owned by the bundle handle and stay valid until
 * colb_bundle_free; the getters are safe to call concurrently on one open
 * bundle. Buffers returned through `uint8_t **` / `char **` are the
 * caller's (colb_free).
 */
typedef enum colb_amd_product {
	COLB_AMD_UNKNOWN = 0,
	COLB_AMD_MILAN = 1,
	COLB_AMD_GENOA = 2,      /* also Bergamo and Siena (KDS serves them as Genoa) */
	COLB_AMD_TURIN = 3
} colb_amd_product;

/* The KDS product name ("Milan", "Genoa", "Turin"); NULL for UNKNOWN. */
COLB_API const char *colb_amd_product_name(colb_amd_product p);
/* A KDS product name, case-insensitive; COLB_AMD_UNKNOWN otherwise. */
COLB_API colb_amd_product colb_amd_product_from_name(const char *name);
/* From CPUID family and model (a v3+ report's CPUID_FAM_ID/CPUID_MOD_ID):
 * family 0x19 models 0x00-0x0F Milan, 0x10-0x1F and 0xA0-0xAF Genoa; family
 * 0x1A models 0x00-0x11 Turin; anything else COLB_AMD_UNKNOWN. */
COLB_API colb_amd_product colb_amd_product_from_cpuid(uint8_t family, uint8_t model);

/* A TCB version. `tcbm` is its uint64 form (the report's REPORTED_TCB read
 * little-endian), whose byte layout differs per generation:
 *   Milan/Genoa: byte 0 BL, 1 TEE, 6 SNP, 7 UCODE
 *   Turin:       byte 0 FMC, 1 BL, 2 TEE, 3 SNP, 7 UCODE */
typedef struct colb_amd_tcb {
	uint8_t fmc;             /* Turin and later; 0 on Milan/Genoa */
	uint8_t bl, tee, snp, ucode;
} colb_amd_tcb;

/* Decodes tcbm; COLB_ERR_COLLATERAL when a byte reserved in that product's
 * layout is not zero, COLB_ERR_INVALID_ARG for an UNKNOWN product. */
COLB_API COLB_WUR colb_err colb_amd_tcb_decode(colb_amd_product p, uint64_t tcbm, colb_amd_tcb *out);
/* Encodes a TCB (fmc is ignored on Milan/Genoa); 0 for an UNKNOWN product. */
COLB_API uint64_t colb_amd_tcb_encode(colb_amd_product p, const colb_amd_tcb *t);
/* tcbm as 16 hex digits, most significant byte first (THIM's `tcbm`, the
 * raw layout's file names): lowercase, NUL-terminated. */
COLB_API void colb_amd_tcbm_hex(uint64_t tcbm, char out[17]);
/* Parses exactly 16 hex digits (either case). */
COLB_API COLB_WUR colb_err colb_amd_tcbm_parse(const char *hex, uint64_t *out);

/* Chip ids are always the report's 64-byte CHIP_ID. KDS keys Milan/Genoa
 * VCEKs on all 64 bytes and Turin VCEKs on the first 8 (the rest is zero). */
#define COLB_AMD_CHIP_ID_BYTES 64
/* 64 for Milan/Genoa, 8 for Turin, 0 for UNKNOWN. */
COLB_API size_t colb_amd_hwid_len(colb_amd_product p);
/* The KDS hwid of a chip id: lowercase hex of its significant bytes (128 or
 * 16 digits), NUL-terminated. COLB_ERR_INVALID_ARG for a masked (all-zero)
 * chip id, an UNKNOWN product, or a Turin chip id with non-zero bytes past 8. */
COLB_API COLB_WUR colb_err colb_amd_hwid_hex(colb_amd_product p, const uint8_t chip_id[64], char out[129]);
/* Parses a chip id given as hex: 128 digits, or (Turin) 16 digits, which are
 * zero-extended to 64 bytes. Either case. */
COLB_API COLB_WUR colb_err colb_amd_chip_id_parse(colb_amd_product p, const char *hex, uint8_t chip_id[64]);

/* ---- SNP attestation reports ------------------------------------------- */
#define COLB_AMD_REPORT_SIZE 1184

typedef enum colb_amd_signer {
	COLB_AMD_SIGNER_VCEK = 0,
	COLB_AMD_SIGNER_VLEK = 1,
	COLB_AMD_SIGNER_NONE = 7
} colb_amd_signer;

/* The fields of a report colbundle needs (not a full decoder). */
typedef struct colb_amd_report {
	uint32_t version;          /* 2, 3, 5 ... */
	uint32_t sig_algo;         /* 1 = ECDSA P-384 with SHA-384 */
	colb_amd_signer signer;    /* SIGNING_KEY */
	int chip_id_masked;        /* MASK_CHIP_ID: CHIP_ID is all zero */
	uint8_t cpuid_family, cpuid_model, cpuid_stepping; /* version >= 3; else 0 */
	colb_amd_product product;  /* from the CPUID bytes; UNKNOWN before version 3 */
	uint64_t reported_tcb;     /* REPORTED_TCB (0x180) as tcbm */
	uint8_t chip_id[64];       /* CHIP_ID (0x1A0) */
	uint8_t report_data[64];
	uint8_t measurement[48];
} colb_amd_report;

/* Parses a report (exactly 1184 bytes, version >= 2, signature algorithm 1).
 * COLB_ERR_COLLATERAL names the offending field. */
COLB_API COLB_WUR colb_err colb_amd_report_parse(const uint8_t *data, size_t len, colb_amd_report *out);
/* Checks the report's ECDSA P-384 signature (r, s little-endian at 0x2A0 and
 * 0x2E8, over bytes 0x000-0x29F) with the public key of a VCEK or VLEK
 * (DER). COLB_ERR_COLLATERAL_SIG when it does not verify. */
COLB_API COLB_WUR colb_err colb_amd_report_verify(const uint8_t *report, size_t len,
						  const uint8_t *cert_der, size_t cert_len);

/* ---- the reader's getters ---------------------------------------------- */

/* A verified VCEK or VLEK with everything needed to serve it. */
typedef struct colb_amd_cert {
	const uint8_t *der;        /* the certificate exactly as KDS served it */
	size_t der_len;
	const char *pem;           /* the same, PEM, NUL-terminated */
	size_t pem_len;
	const char *chain_pem;     /* ASK (ASVK for a VLEK) then ARK, PEM, as KDS cert_chain */
	size_t chain_pem_len;
	const uint8_t *ask_der;    /* the ASK or ASVK, DER */
	size_t ask_der_len;
	const uint8_t *ark_der;    /* the ARK, DER */
	size_t ark_der_len;
	const char *path;          /* the payload path in the bundle */
	colb_amd_product product;
	int is_vlek;
	uint64_t tcbm;             /* the TCB the certificate is for */
	colb_amd_tcb tcb;
	uint8_t chip_id[64];       /* VCEK: the hwid, zero-extended; VLEK: zero */
	const char *hwid;          /* VCEK: KDS hwid hex; VLEK: NULL */
	const char *csp;           /* VLEK: csp_id; VCEK: NULL */
	const char *product_name;  /* the productName extension ("Milan-B0", ...) */
	int struct_version;        /* the structVersion extension */
	time_t not_before, not_after;
	int stale;                 /* the product's CRL is stale or absent (WARN policy) */
} colb_amd_cert;

/* The VCEK of a chip at exactly one TCB. COLB_ERR_NOT_FOUND when the bundle
 * has none (colb_amd_vcek_tcbs lists what it has). */
COLB_API COLB_WUR colb_err colb_amd_vcek(colb_bundle *b, colb_amd_product p, const uint8_t chip_id[64],
					 uint64_t tcbm, colb_amd_cert *out);
/* The TCBs (tcbm, ascending) the bundle carries VCEKs for, for one chip. */
COLB_API COLB_WUR colb_err colb_amd_vcek_tcbs(colb_bundle *b, colb_amd_product p, const uint8_t chip_id[64],
					      const uint64_t **list, size_t *n);
/* A cloud provider's VLEK (csp: its csp_id) at exactly one TCB, or at the
 * highest TCB carried when tcbm is 0. */
COLB_API COLB_WUR colb_err colb_amd_vlek(colb_bundle *b, colb_amd_product p, const char *csp,
					 uint64_t tcbm, colb_amd_cert *out);
/* The certificate that signed a report, found from the report itself
 * (product from its CPUID bytes, or `p` when the report predates version 3;
 * chip id and REPORTED_TCB for a VCEK; the product's VLEKs at that TCB for
 * a VLEK-signed report), with the report's signature checked against it:
 * COLB_ERR_COLLATERAL_SIG when it does not verify. */
COLB_API COLB_WUR colb_err colb_amd_for_report(colb_bundle *b, const uint8_t *report, size_t len,
					       colb_amd_product p, colb_amd_cert *out);

/* A product's CA chain (KDS `vcek/v1/{P}/cert_chain` or `vlek/v1/{P}/cert_chain`). */
typedef struct colb_amd_chain {
	const char *pem;           /* ASK (or ASVK) then ARK, PEM, NUL-terminated */
	size_t pem_len;
	const uint8_t *ask_der;
	size_t ask_der_len;
	const uint8_t *ark_der;
	size_t ark_der_len;
	const char *path;
	colb_amd_product product;
	int vlek;
	int stale;
} colb_amd_chain;
COLB_API COLB_WUR colb_err colb_amd_chain_get(colb_bundle *b, colb_amd_product p, int vlek,
					      colb_amd_chain *out);

/* A product's CRL (KDS `vcek/v1/{P}/crl`, DER, signed by the ARK). */
typedef struct colb_amd_crl {
	const uint8_t *der;
	size_t len;
	const char *path;
	colb_amd_product product;
	time_t this_update, next_update;
	int stale;                 /* past next_update at the verification time */
} colb_amd_crl;
COLB_API COLB_WUR colb_err colb_amd_crl_get(colb_bundle *b, colb_amd_product p, colb_amd_crl *out);

/* The products the bundle carries a chain for (ascending), and its VCEK count. */
COLB_API COLB_WUR colb_err colb_amd_products(colb_bundle *b, const colb_amd_product **list, size_t *n);
COLB_API size_t colb_amd_vcek_count(colb_bundle *b);
/* Verifies every AMD item now (what `colbundle verify` does). */
COLB_API COLB_WUR colb_err colb_amd_verify_all(colb_bundle *b);

/* ---- output formats (caller-owned results, colb_free) ----------------- */

/* Azure THIM's answer, exactly: {"vcekCert":PEM,"tcbm":16 upper-case hex
 * digits, most significant byte first,"certificateChain":ASK PEM then ARK
 * PEM,"cacheControl":"<seconds>"} (keys in that order, compact). */
COLB_API COLB_WUR colb_err colb_amd_thim_json(const colb_amd_cert *c, unsigned cache_seconds,
					      char **json, size_t *len);

/* The SNP extended-report certificate table (GHCB): 24-byte entries
 * (GUID in RFC 4122 byte order, offset and length little-endian, offsets
 * from the start of the table), an all-zero terminator, then the DER
 * certificates: VCEK (or VLEK), ASK (or ASVK), ARK. */
COLB_API COLB_WUR colb_err colb_amd_certtable(const colb_amd_cert *c, uint8_t **blob, size_t *len);

typedef enum colb_amd_cert_role {
	COLB_AMD_ROLE_UNKNOWN = 0, /* a GUID this library does not know */
	COLB_AMD_ROLE_VCEK = 1,    /* 63da758d-e664-4564-adc5-f4b93be8accd */
	COLB_AMD_ROLE_VLEK = 2,    /* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
	COLB_AMD_ROLE_ASK = 3,     /* 4ab7b379-bbac-4fe4-a02f-05aef327c782 (also ASVK) */
	COLB_AMD_ROLE_ARK = 4      /* c0b406a4-a803-4952-9743-3fb6014cd0ae */
} colb_amd_cert_role;

typedef struct colb_amd_certtable_entry {
	uint8_t guid[16];
	colb_amd_cert_role role;
	const uint8_t *der;        /* points into the parsed blob */
	size_t len;
} colb_amd_certtable_entry;

/* Parses a certificate table (at most `max` entries into `entries`).
 * Strict: entries must lie inside the blob, past the table, not overlap the
 * table, and the table must be terminated. COLB_ERR_COLLATERAL otherwise;
 * COLB_ERR_LIMIT when it holds more than `max` entries. */
COLB_API COLB_WUR colb_err colb_amd_certtable_parse(const uint8_t *blob, size_t len,
						    colb_amd_certtable_entry *entries, size_t max,
						    size_t *n);

/* Writes every VCEK of the bundle as trustee's offline store under dir:
 * vcek/{hwid}/bl{BL}_tee{TEE}_snp{SNP}_ucode{UCODE}[_fmc{FMC}]_vcek.der
 * (SPLs decimal, two digits at least). *written counts the files. */
COLB_API COLB_WUR colb_err colb_amd_export_trustee(colb_bundle *b, const char *dir, size_t *written);

/* ---- AMD inputs of `create` -------------------------------------------------
 * Collects AMD collateral from directories: the raw layout of
 * format-spec/raw-layouts.md, trustee's offline store or snphost's
 * certificate directory (recognised by their shape); the built-in real
 * ARK/ASK/ASVK chains stand in where a layout has none. Validates every item
 * (at time `at`, 0 = now) and adds them to a writer. The first failing item
 * stops it; colb_amd_input_error names the item and the reason.
 */
typedef struct colb_amd_input colb_amd_input;

COLB_API colb_amd_input *colb_amd_input_new(const colb_trust *t, time_t at);
COLB_API void colb_amd_input_free(colb_amd_input *in);
COLB_API const char *colb_amd_input_error(const colb_amd_input *in);
/* `--amd-dir DIR` */
COLB_API COLB_WUR colb_err colb_amd_input_add_dir(colb_amd_input *in, const char *dir);
/* An SNP report to carry in the bundle (amd/reports/NAME.bin). */
COLB_API COLB_WUR colb_err colb_amd_input_add_report(colb_amd_input *in, const char *path);
/* Validates everything collected and adds it to w. */
COLB_API COLB_WUR colb_err colb_amd_input_write(colb_amd_input *in, colb_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* COLBUNDLE_H */
