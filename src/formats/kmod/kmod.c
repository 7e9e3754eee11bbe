/* Kernel module appended signatures (see kmod.h). */
#include "formats/kmod/kmod.h"

#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "crypto/cms.h"

int bs_kmod_hash_nid(int *out, const char *field, const char *name, struct bs_error *err)
{
	static const struct {
		const char *name;
		int nid;
	} algs[] = {{"sha256", NID_sha256}, {"sha384", NID_sha384}, {"sha512", NID_sha512}};
	*out = NID_undef;
	for (size_t i = 0; name != NULL && i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (strcmp(name, algs[i].name) == 0) {
			*out = algs[i].nid;
			return 0;
		}
	}
	return bs_error_set(err, BS_ERR_INVALID, "%s: unsupported hash algorithm \"%.32s\" "
			    "(sha256, sha384 or sha512)", field, name ? name : "");
}

int bs_kmod_unsigned_len(size_t *out, unsigned *stripped, const uint8_t *mod, size_t len,
			 const char *what, struct bs_error *err)
{
	*out = len;
	*stripped = 0;
	const size_t tail = BS_KMOD_INFO_LEN + BS_KMOD_MAGIC_LEN;
	while (len >= BS_KMOD_MAGIC_LEN &&
	       memcmp(mod + len - BS_KMOD_MAGIC_LEN, BS_KMOD_MAGIC, BS_KMOD_MAGIC_LEN) == 0) {
		if (*stripped == BS_KMOD_STRIP_MAX)
			return bs_error_set(err, BS_ERR_FORMAT, "%s: more than %u appended "
					    "signatures", what, BS_KMOD_STRIP_MAX);
		if (len < tail)
			return bs_error_set(err, BS_ERR_FORMAT, "%s: signature magic without a "
					    "signature record", what);
		const uint8_t *info = mod + len - tail;
		/* algo, hash, id_type, signer_len, key_id_len, pad[3], sig_len */
		if (info[0] != 0 || info[1] != 0 || info[2] != BS_KMOD_ID_PKCS7 || info[3] != 0 ||
		    info[4] != 0 || info[5] != 0 || info[6] != 0 || info[7] != 0)
			return bs_error_set(err, BS_ERR_FORMAT, "%s: appended signature record is "
					    "not a PKCS#7 module signature (id_type %u)", what,
					    info[2]);
		uint32_t sig_len = bs_get_be32(info + 8);
		if (sig_len == 0 || sig_len > len - tail)
			return bs_error_set(err, BS_ERR_FORMAT, "%s: appended signature length %u "
					    "runs past the start of the module", what, sig_len);
		len -= tail + sig_len;
		(*stripped)++;
	}
	*out = len;
	return 0;
}

void bs_kmod_sig_clear(struct bs_kmod_sig *s)
{
	if (s == NULL)
		return;
	free(s->trailer);
	memset(s, 0, sizeof(*s));
}

int bs_kmod_sign(struct bs_kmod_sig *out, struct bs_key *key, X509 *cert, int md_nid,
		 const uint8_t *mod, size_t len, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	unsigned dlen = 0;
	if (md == NULL || EVP_Digest(mod, len, out->digest, &dlen, md, NULL) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "module digest (%s)", OBJ_nid2sn(md_nid));
	out->dlen = dlen;
	/* What sign-file asks OpenSSL for: no attributes, no certificates, detached. */
	const struct bs_cms_sign_opts opts = {
		.md_nid = md_nid, .no_attrs = true, .include_cert = false,
	};
	uint8_t *p7 = NULL;
	size_t p7_len = 0;
	int rc = bs_cms_sign_digest(&p7, &p7_len, key, cert, out->digest, out->dlen, &opts, err);
	if (rc != 0)
		return rc;
	struct bs_buf b;
	bs_buf_init(&b, p7_len + BS_KMOD_INFO_LEN + BS_KMOD_MAGIC_LEN);
	static const uint8_t info[8] = {0, 0, BS_KMOD_ID_PKCS7, 0, 0, 0, 0, 0};
	rc = bs_buf_append(&b, p7, p7_len);
	if (rc == 0)
		rc = bs_buf_append(&b, info, sizeof(info));
	if (rc == 0)
		rc = bs_buf_append_be32(&b, (uint32_t)p7_len);
	if (rc == 0)
		rc = bs_buf_append(&b, BS_KMOD_MAGIC, BS_KMOD_MAGIC_LEN);
	free(p7);
	if (rc != 0) {
		bs_buf_free(&b);
		bs_kmod_sig_clear(out);
		return bs_error_set(err, rc, "module signature trailer: %s", bs_err_name(rc));
	}
	out->trailer = bs_buf_steal(&b, &out->trailer_len);
	return 0;
}
