/*
 * errors.c — the one error enum's descriptions.
 */
#include <stdlib.h>

#include "colbundle.h"

const char *colb_strerror(colb_err err)
{
	switch (err) {
	case COLB_OK: return "success";
	case COLB_ERR_INVALID_ARG: return "invalid argument";
	case COLB_ERR_NOMEM: return "out of memory";
	case COLB_ERR_IO: return "input/output error";
	case COLB_ERR_NOT_FOUND: return "not found";
	case COLB_ERR_LIMIT: return "over a size limit";
	case COLB_ERR_INTERNAL: return "internal error";
	case COLB_ERR_BAD_MAGIC: return "not a colbundle file (bad magic)";
	case COLB_ERR_UNSUPPORTED_VERSION: return "unsupported format version";
	case COLB_ERR_TRUNCATED: return "truncated bundle";
	case COLB_ERR_OVERSIZED: return "oversized bundle or trailing data";
	case COLB_ERR_MALFORMED: return "malformed envelope";
	case COLB_ERR_NO_SIGNATURE: return "bundle is not signed";
	case COLB_ERR_BAD_SIGNATURE: return "bad signature";
	case COLB_ERR_UNTRUSTED_KEY: return "signed by an untrusted key";
	case COLB_ERR_THRESHOLD: return "signature threshold not met";
	case COLB_ERR_EXPIRED: return "bundle has expired";
	case COLB_ERR_ROLLBACK: return "rollback refused";
	case COLB_ERR_STATE: return "anti-rollback state unreadable";
	case COLB_ERR_KEY: return "malformed key";
	case COLB_ERR_PASSWORD: return "wrong password or corrupt secret key";
	case COLB_ERR_NOT_YET_VALID: return "bundle created in the future";
	case COLB_ERR_MANIFEST: return "invalid manifest";
	case COLB_ERR_DIGEST_MISMATCH: return "digest mismatch";
	case COLB_ERR_UNLISTED_ENTRY: return "payload entry not in the manifest";
	case COLB_ERR_MISSING_ENTRY: return "manifest file missing from the payload";
	case COLB_ERR_DUPLICATE_ENTRY: return "duplicated entry";
	case COLB_ERR_SIZE_MISMATCH: return "entry size differs from the manifest";
	case COLB_ERR_NOT_REGULAR: return "payload entry is not a regular file";
	case COLB_ERR_BAD_PATH: return "bad path";
	case COLB_ERR_BOMB: return "decompression limits exceeded";
	case COLB_ERR_ARCHIVE: return "payload is not a valid tar.gz";
	case COLB_ERR_COLLATERAL: return "malformed collateral";
	case COLB_ERR_COLLATERAL_SIG: return "collateral signature does not verify";
	case COLB_ERR_CHAIN: return "certificate chain does not verify";
	case COLB_ERR_UNTRUSTED_ROOT: return "chain ends at an untrusted root";
	case COLB_ERR_REVOKED: return "certificate revoked";
	case COLB_ERR_STALE: return "collateral past its nextUpdate";
	case COLB_ERR_BELOW_MIN_EVAL: return "TCB evaluation number below the minimum";
	case COLB_ERR_MISFILED: return "item disagrees with where it is filed";
	case COLB_ERR_BASELINE: return "baseline not satisfiable by the bundle";
	case COLB_ERR_CONFIG: return "configuration error";
	case COLB_ERR_LOCKED: return "store is locked by another install";
	case COLB_ERR_STORE: return "store unusable";
	case COLB_ERR_ROTATION: return "key rotation refused";
	}
	return "unknown error";
}

void colb_free(void *p)
{
	free(p);
}

const char *colb_version(void)
{
	return "0.1.0";
}
