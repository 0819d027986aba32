/*
 * envelope.c — the .colb envelope: a fixed header of lengths, the manifest,
 * the signature block and the payload. This is the only code that touches
 * unauthenticated bytes, and it looks at nothing but lengths.
 */
#include <stdio.h>
#include <string.h>

#include "bundle/bundle_priv.h"
#include "bundle/rotation.h"

void colb_envelope_header(uint8_t out[COLB_HEADER_LEN], uint16_t minor, uint32_t manifest_len,
			  uint32_t sigblock_len, uint64_t payload_len)
{
	memcpy(out, COLB_MAGIC, COLB_MAGIC_LEN);
	colb_put16(out + 8, COLB_FORMAT_MAJOR);
	colb_put16(out + 10, minor);
	colb_put32(out + 12, manifest_len);
	colb_put32(out + 16, sigblock_len);
	colb_put64(out + 20, payload_len);
	colb_put32(out + 28, 0);
}

colb_err colb_envelope_decode(const uint8_t *data, size_t len, colb_envelope *env,
			      char *why, size_t whylen)
{
	memset(env, 0, sizeof *env);
	if (!data)
		len = 0;
	size_t m = len < COLB_MAGIC_LEN ? len : COLB_MAGIC_LEN;
	if (m && memcmp(data, COLB_MAGIC, m) != 0)
		return colb_seterr(why, whylen, COLB_ERR_BAD_MAGIC,
				   "envelope: the first bytes are not the .colb magic");
	if (len < COLB_HEADER_LEN)
		return colb_seterr(why, whylen, COLB_ERR_TRUNCATED,
				   "envelope: %zu bytes, shorter than the %d-byte header", len,
				   COLB_HEADER_LEN);
	env->header = data;
	env->major = colb_le16(data + 8);
	env->minor = colb_le16(data + 10);
	env->manifest_len = colb_le32(data + 12);
	env->sigblock_len = colb_le32(data + 16);
	env->payload_len = colb_le64(data + 20);
	env->rotation_len = colb_le32(data + 28);
	if (env->major != COLB_FORMAT_MAJOR)
		return colb_seterr(why, whylen, COLB_ERR_UNSUPPORTED_VERSION,
				   "envelope: format version %u.%u, this reader reads %d.x",
				   env->major, env->minor, COLB_FORMAT_MAJOR);
	if (env->manifest_len > COLB_MAX_MANIFEST)
		return colb_seterr(why, whylen, COLB_ERR_OVERSIZED,
				   "envelope: manifest length %u is over the %u-byte cap",
				   env->manifest_len, COLB_MAX_MANIFEST);
	if (env->manifest_len == 0)
		return colb_seterr(why, whylen, COLB_ERR_MALFORMED, "envelope: empty manifest");
	if (env->sigblock_len < 2 || env->sigblock_len > 2 + COLB_SIG_ENTRY_LEN * COLB_MAX_SIGS)
		return colb_seterr(why, whylen, env->sigblock_len < 2 ? COLB_ERR_MALFORMED
								       : COLB_ERR_OVERSIZED,
				   "envelope: signature block length %u is outside 2..%u",
				   env->sigblock_len, 2 + COLB_SIG_ENTRY_LEN * COLB_MAX_SIGS);
	if (env->payload_len > COLB_MAX_PAYLOAD)
		return colb_seterr(why, whylen, COLB_ERR_OVERSIZED,
				   "envelope: payload length %llu is over the %llu-byte cap",
				   (unsigned long long)env->payload_len,
				   (unsigned long long)COLB_MAX_PAYLOAD);
	if (env->rotation_len > COLB_ROT_MAX_SECTION)
		return colb_seterr(why, whylen, COLB_ERR_OVERSIZED,
				   "envelope: rotation section length %u is over the %u-byte cap",
				   env->rotation_len, (unsigned)COLB_ROT_MAX_SECTION);
	uint64_t total = (uint64_t)COLB_HEADER_LEN + env->manifest_len + env->sigblock_len +
			 env->rotation_len + env->payload_len;
	if ((uint64_t)len < total)
		return colb_seterr(why, whylen, COLB_ERR_TRUNCATED,
				   "envelope: %zu bytes, its lengths say %llu", len,
				   (unsigned long long)total);
	if ((uint64_t)len > total)
		return colb_seterr(why, whylen, COLB_ERR_OVERSIZED,
				   "envelope: %llu trailing bytes after the payload",
				   (unsigned long long)((uint64_t)len - total));
	env->manifest = data + COLB_HEADER_LEN;
	env->sigblock = env->manifest + env->manifest_len;
	env->rotation = env->sigblock + env->sigblock_len;
	env->payload = env->rotation + env->rotation_len;
	env->sig_count = colb_le16(env->sigblock);
	if (env->sig_count > COLB_MAX_SIGS)
		return colb_seterr(why, whylen, COLB_ERR_OVERSIZED,
				   "signature block: %u signatures, the cap is %u", env->sig_count,
				   COLB_MAX_SIGS);
	if (env->sigblock_len != 2 + (uint32_t)COLB_SIG_ENTRY_LEN * env->sig_count)
		return colb_seterr(why, whylen, COLB_ERR_MALFORMED,
				   "signature block: %u bytes do not hold exactly %u signatures",
				   env->sigblock_len, env->sig_count);
	return COLB_OK;
}

colb_err colb_pae_build_rot(const uint8_t header[COLB_HEADER_LEN], const uint8_t *manifest,
			    size_t manifest_len, const uint8_t *rotation, size_t rotation_len,
			    colb_buf *out)
{
	/* The signed header is the fixed fields without sigblock_len, so that
	 * adding a signature changes no signed byte. */
	uint8_t signed_hdr[COLB_SIGNED_HEADER_LEN];
	memcpy(signed_hdr, header, 16);
	memcpy(signed_hdr + 16, header + 20, 12);
	colb_err rc;
	if ((rc = colb_buf_printf(out, "%s %d ", COLB_PAE_PREFIX, COLB_SIGNED_HEADER_LEN)) ||
	    (rc = colb_buf_append(out, signed_hdr, sizeof signed_hdr)) ||
	    (rc = colb_buf_printf(out, " %zu ", manifest_len)) ||
	    (rc = colb_buf_append(out, manifest, manifest_len)) ||
	    (rc = colb_buf_printf(out, " %zu ", rotation_len)) ||
	    (rc = colb_buf_append(out, rotation, rotation_len)))
		return rc;
	return COLB_OK;
}

colb_err colb_pae_build(const uint8_t header[COLB_HEADER_LEN], const uint8_t *manifest,
			size_t manifest_len, colb_buf *out)
{
	return colb_pae_build_rot(header, manifest, manifest_len, NULL, 0, out);
}

colb_err colb_envelope_pae(const colb_envelope *env, colb_buf *out)
{
	return colb_pae_build_rot(env->header, env->manifest, env->manifest_len, env->rotation,
				  env->rotation_len, out);
}
