/*
 * state.h — the anti-rollback state file (format-spec/colbundle-v1.md,
 * "State"): the version and the file digest of the last bundle accepted on
 * a site. The reader reads it; the install layer writes it after a bundle
 * has been put in place.
 */
#ifndef COLB_BUNDLE_STATE_H
#define COLB_BUNDLE_STATE_H

#include <stdint.h>

#include "colbundle.h"

#define COLB_STATE_MAX 4096

/* Reads and strictly parses a state file. A missing file is COLB_ERR_STATE
 * too: a site that was given a state file must not silently lose it. */
colb_err colb_state_read(const char *path, uint64_t *version, char digest[65], char *why,
			 size_t whylen);
/* Parses state text (for the reader and the fuzzer). */
colb_err colb_state_parse(const char *text, size_t len, uint64_t *version, char digest[65],
			  char *why, size_t whylen);
/* Writes a state file atomically (temporary file, fsync, rename), mode 0644. */
colb_err colb_state_write(const char *path, uint64_t version, const char *digest_hex, char *why,
			  size_t whylen);

#endif
