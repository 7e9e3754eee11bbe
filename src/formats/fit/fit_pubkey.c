/* The public key of a FIT signature in U-Boot's control DTB: /signature/key-<hint>.
 *
 * RSA (what U-Boot's Montgomery verifier needs): rsa,num-bits, rsa,n0-inverse
 * (-1/n mod 2^32), rsa,exponent (64-bit), rsa,modulus and rsa,r-squared ((2^bits)^2 mod n),
 * big numbers as big-endian arrays of bits/32 words. ECDSA: ecdsa,curve (the curve's short
 * OpenSSL name), ecdsa,x-point, ecdsa,y-point. Both with key-name-hint, algo and, for -r,
 * required. Property order follows mkimage so the DTB comes out byte-identical. */
#include <libfdt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/fit/fit_int.h"

#define FIT_BIGNUM_MAX (4096 / 8) /* largest big number written (RSA-4096) */

static int put_bignum(struct bs_fit_fdt *f, int node, const char *name, const BIGNUM *v,
		      unsigned bits, struct bs_error *err)
{
	uint8_t buf[FIT_BIGNUM_MAX];
	size_t n = bits / 32 * 4;
	if (n == 0 || n > sizeof(buf) || BN_bn2binpad(v, buf, (int)n) != (int)n)
		return bs_error_set(err, BS_ERR_KEY, "DTB: %s does not fit in %u bits", name, bits);
	return bs_fit_setprop(f, node, name, buf, n, err);
}

struct rsa_params {
	BIGNUM *n, *e, *rr;
	uint64_t exponent;
	uint32_t n0inv;
	unsigned bits;
};

static void rsa_params_free(struct rsa_params *p)
{
	BN_free(p->n);
	BN_free(p->e);
	BN_free(p->rr);
}

static int rsa_params(struct rsa_params *p, EVP_PKEY *pub, struct bs_error *err)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *b32 = BN_new(), *inv = BN_new();
	int rc = BS_ERR_CRYPTO;
	if (ctx == NULL || b32 == NULL || inv == NULL ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &p->n) != 1 ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &p->e) != 1) {
		bs_error_ssl(err, rc, "DTB: reading the RSA public key");
		goto out;
	}
	if (BN_num_bits(p->e) > 64) {
		rc = bs_error_set(err, BS_ERR_KEY, "DTB: RSA exponent wider than 64 bits");
		goto out;
	}
	uint8_t e8[8];
	BN_bn2binpad(p->e, e8, sizeof(e8));
	p->exponent = 0;
	for (size_t i = 0; i < sizeof(e8); i++)
		p->exponent = p->exponent << 8 | e8[i];
	p->bits = (unsigned)BN_num_bits(p->n);
	/* n0inv = 2^32 - (n^-1 mod 2^32); rr = 2^(2*bits) mod n */
	p->rr = BN_new();
	if (p->rr == NULL || !BN_set_word(b32, 1) || !BN_lshift(b32, b32, 32) ||
	    BN_mod_inverse(inv, p->n, b32, ctx) == NULL || !BN_sub(inv, b32, inv) ||
	    !BN_set_word(p->rr, 1) || !BN_lshift(p->rr, p->rr, 2 * (int)p->bits) ||
	    !BN_mod(p->rr, p->rr, p->n, ctx)) {
		bs_error_ssl(err, rc, "DTB: RSA Montgomery parameters");
		goto out;
	}
	p->n0inv = (uint32_t)BN_get_word(inv);
	rc = 0;
out:
	BN_free(b32);
	BN_free(inv);
	BN_CTX_free(ctx);
	return rc;
}

static int add_rsa(struct bs_fit_fdt *f, int node, EVP_PKEY *pub, struct bs_error *err)
{
	struct rsa_params p = {0};
	int rc = rsa_params(&p, pub, err);
	fdt64_t e = cpu_to_fdt64(p.exponent);
	if (rc == 0)
		rc = bs_fit_setprop_u32(f, node, "rsa,num-bits", p.bits, err);
	if (rc == 0)
		rc = bs_fit_setprop_u32(f, node, "rsa,n0-inverse", p.n0inv, err);
	if (rc == 0)
		rc = bs_fit_setprop(f, node, "rsa,exponent", &e, sizeof(e), err);
	if (rc == 0)
		rc = put_bignum(f, node, "rsa,modulus", p.n, p.bits, err);
	if (rc == 0)
		rc = put_bignum(f, node, "rsa,r-squared", p.rr, p.bits, err);
	rsa_params_free(&p);
	return rc;
}

static int add_ec(struct bs_fit_fdt *f, int node, EVP_PKEY *pub, struct bs_error *err)
{
	char curve[64];
	BIGNUM *x = NULL, *y = NULL;
	int rc = 0;
	if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, curve,
					   sizeof(curve), NULL) != 1 ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "DTB: reading the EC public key");
		goto out;
	}
	unsigned bits = (unsigned)EVP_PKEY_get_bits(pub);
	rc = bs_fit_setprop_str(f, node, "ecdsa,curve", curve, err);
	if (rc == 0)
		rc = put_bignum(f, node, "ecdsa,x-point", x, bits, err);
	if (rc == 0)
		rc = put_bignum(f, node, "ecdsa,y-point", y, bits, err);
out:
	BN_free(x);
	BN_free(y);
	return rc;
}

int bs_fit_add_pubkey(struct bs_fit_fdt *dtb, EVP_PKEY *pub, const char *hint,
		      const char *algo, const char *required, struct bs_error *err)
{
	char name[BS_FIT_NAME_MAX + 8];
	int sig, node, rc;
	snprintf(name, sizeof(name), "key-%s", hint);
	rc = bs_fit_subnode(&sig, dtb, 0, "signature", err);
	if (rc == 0)
		rc = bs_fit_subnode(&node, dtb, sig, name, err);
	if (rc != 0)
		return rc;
	bool rsa = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
	rc = bs_fit_setprop_str(dtb, node, "key-name-hint", hint, err);
	if (rc == 0)
		rc = rsa ? add_rsa(dtb, node, pub, err) : add_ec(dtb, node, pub, err);
	if (rc == 0)
		rc = bs_fit_setprop_str(dtb, node, "algo", algo, err);
	if (rc == 0 && required != NULL)
		rc = bs_fit_setprop_str(dtb, node, "required", required, err);
	return rc;
}
