/* SWUpdate sw-description signatures (see swu_sig.h). */
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "crypto/cms.h"
#include "formats/swupdate/swu_sig.h"

static const struct {
	enum bs_swu_method m;
	const char *name;
} g_methods[] = {
	{BS_SWU_RSA, "RSA"},
	{BS_SWU_RSA_PSS, "RSA-PSS"},
	{BS_SWU_CMS, "CMS"},
};

int bs_swu_method_parse(enum bs_swu_method *out, const char *name, struct bs_error *err)
{
	for (size_t i = 0; name != NULL && i < BS_ARRAY_SIZE(g_methods); i++) {
		if (strcmp(name, g_methods[i].name) == 0) {
			*out = g_methods[i].m;
			return 0;
		}
	}
	return bs_error_set(err, BS_ERR_INVALID, "method: unknown signing method (RSA, "
			    "RSA-PSS or CMS)");
}

const char *bs_swu_method_name(enum bs_swu_method m)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(g_methods); i++)
		if (g_methods[i].m == m)
			return g_methods[i].name;
	return "?";
}

int bs_swu_pss_saltlen(EVP_PKEY *pub)
{
	if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
		return 0;
	int em = (EVP_PKEY_get_bits(pub) - 1 + 7) / 8;
	int max = em - BS_SWU_DIGEST_LEN - 2;
	if (max < 0)
		return 0;
	return max > BS_PSS_SALT_MAX ? BS_PSS_SALT_MAX : max;
}

static int sign_raw(uint8_t **out, size_t *out_len, enum bs_swu_method method,
		    struct bs_key *key, const uint8_t *digest, struct bs_error *err)
{
	if (bs_key_type(key) != EVP_PKEY_RSA)
		return bs_error_set(err, BS_ERR_KEY, "method %s needs an RSA key, %s is not one",
				    bs_swu_method_name(method), bs_key_id(key));
	struct bs_sig_params p = {.md_nid = NID_sha256, .scheme = BS_SIG_DEFAULT};
	if (method == BS_SWU_RSA_PSS) {
		p.scheme = BS_SIG_RSA_PSS;
		p.pss_saltlen = bs_swu_pss_saltlen(bs_key_public(key));
	}
	return bs_key_sign(key, &p, digest, BS_SWU_DIGEST_LEN, out, out_len, err);
}

int bs_swu_sign(uint8_t **out, size_t *out_len, enum bs_swu_method method,
		struct bs_key *key, X509 *cert, const uint8_t digest[BS_SWU_DIGEST_LEN],
		time_t signing_time, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (key == NULL || digest == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "swupdate: no key or digest");
	switch (method) {
	case BS_SWU_RSA:
	case BS_SWU_RSA_PSS:
		return sign_raw(out, out_len, method, key, digest, err);
	case BS_SWU_CMS: {
		if (cert == NULL)
			return bs_error_set(err, BS_ERR_INVALID, "method CMS needs the signer "
					    "certificate");
		struct bs_cms_sign_opts o = {
			.md_nid = NID_sha256,
			.signing_time = signing_time,
			.include_cert = true,
			.smime_caps = false,
		};
		return bs_cms_sign_digest(out, out_len, key, cert, digest, BS_SWU_DIGEST_LEN, &o,
					  err);
	}
	}
	return bs_error_set(err, BS_ERR_INVALID, "swupdate: unknown method %d", (int)method);
}
