/* Fuzz target: CMS parsing and verification (src/crypto/cms_verify.c). Every input goes
 * through bs_cms_inspect and then bs_cms_verify_digest against a fixed throwaway key and
 * digests of every supported length, so the attribute and signature paths run too. */
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto/cms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *fuzz_key(void)
{
	static EVP_PKEY *key;
	if (key == NULL)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_cms_info info;
	struct bs_error err;
	if (bs_cms_inspect(data, size, &info, &err) != 0)
		return 0;
	/* A digest the attacker controls: the last bytes of the input, so messageDigest can
	 * match and the signature check is reached. */
	static const int mds[] = {NID_sha1, NID_sha256, NID_sha384, NID_sha512};
	for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		const EVP_MD *md = EVP_get_digestbynid(mds[i]);
		size_t dl = (size_t)EVP_MD_get_size(md);
		uint8_t dg[64] = {0};
		if (size >= dl)
			memcpy(dg, data + size - dl, dl);
		if (bs_cms_verify_digest(data, size, fuzz_key(), NULL, 0, dg, dl, &info, &err) == 0)
			__builtin_trap(); /* nobody can sign with our private key */
	}
	return 0;
}
