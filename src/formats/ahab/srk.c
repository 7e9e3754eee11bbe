/* AHAB SRK records and tables (AHAB.md §5): build from certificates, parse untrusted
 * tables, fuse digests. */
#include "formats/ahab/srk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"

#define REC_FLAG_CA 0x80

struct rsa_size {
	uint8_t code;
	unsigned bits;
};
static const struct rsa_size rsa_sizes[] = {{5, 2048}, {6, 3072}, {7, 4096}};

struct ec_curve {
	uint8_t code;
	const char *group;
	size_t coord;
	unsigned bits;
};
static const struct ec_curve ec_curves[] = {
	{1, "prime256v1", 32, 256},
	{2, "secp384r1", 48, 384},
	{3, "secp521r1", 66, 521},
};

static const struct ec_curve *curve_by(uint8_t code, const char *group)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(ec_curves); i++)
		if ((group == NULL && ec_curves[i].code == code) ||
		    (group != NULL && strcmp(group, ec_curves[i].group) == 0))
			return &ec_curves[i];
	return NULL;
}

static uint8_t rsa_code(unsigned bits)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(rsa_sizes); i++)
		if (rsa_sizes[i].bits == bits)
			return rsa_sizes[i].code;
	return 0;
}

static unsigned rsa_bits(uint8_t code)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(rsa_sizes); i++)
		if (rsa_sizes[i].code == code)
			return rsa_sizes[i].bits;
	return 0;
}

static void put_header(uint8_t *p, size_t rec_len, uint8_t alg, uint8_t hash, uint8_t size,
		       bool ca, size_t la, size_t lb)
{
	p[0] = BS_AHAB_TAG_SRK_RECORD;
	bs_buf_put_le16(p + 1, (uint16_t)rec_len);
	p[3] = alg;
	p[4] = hash;
	p[5] = size;
	p[6] = 0;
	p[7] = ca ? REC_FLAG_CA : 0;
	bs_buf_put_le16(p + 8, (uint16_t)la);
	bs_buf_put_le16(p + 10, (uint16_t)lb);
}

static int rsa_rec(uint8_t **out, size_t *out_len, EVP_PKEY *pub, uint8_t alg, bool ca,
		   uint8_t hash, struct bs_error *err)
{
	BIGNUM *n = NULL, *e = NULL;
	int rc = 0;
	if (EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot read RSA public key");
		goto out;
	}
	unsigned bits = (unsigned)BN_num_bits(n);
	uint8_t code = rsa_code(bits);
	if (code == 0) {
		rc = bs_error_set(err, BS_ERR_UNSUPPORTED,
				  "RSA-%u keys cannot be AHAB SRKs (2048, 3072 or 4096 bits)", bits);
		goto out;
	}
	size_t nb = bits / 8, eb = (size_t)BN_num_bytes(e);
	if (eb == 0 || eb > nb) {
		rc = bs_error_set(err, BS_ERR_KEY, "RSA public exponent unusable");
		goto out;
	}
	size_t len = BS_AHAB_SRK_REC_HDR + nb + eb;
	uint8_t *p = calloc(1, len);
	if (p == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	put_header(p, len, alg, hash, code, ca, nb, eb);
	if (BN_bn2binpad(n, p + BS_AHAB_SRK_REC_HDR, (int)nb) < 0 ||
	    BN_bn2bin(e, p + BS_AHAB_SRK_REC_HDR + nb) != (int)eb) {
		free(p);
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot encode RSA public key");
		goto out;
	}
	*out = p;
	*out_len = len;
out:
	BN_free(n);
	BN_free(e);
	return rc;
}

static int ec_rec(uint8_t **out, size_t *out_len, EVP_PKEY *pub, bool ca, uint8_t hash,
		  struct bs_error *err)
{
	char group[64];
	if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), NULL) != 1)
		return bs_error_ssl(err, BS_ERR_UNSUPPORTED, "EC key without a named curve");
	const struct ec_curve *c = curve_by(0, group);
	if (c == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED,
				    "EC curve %s cannot be an AHAB SRK (P-256, P-384, P-521)", group);
	uint8_t point[1 + 2 * 66];
	size_t plen = 0;
	if (EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
					    sizeof(point), &plen) != 1 ||
	    plen != 1 + 2 * c->coord || point[0] != 0x04) {
		/* compressed form stored: ask for the uncompressed point */
		EVP_PKEY *dup = EVP_PKEY_dup(pub);
		int ok = dup != NULL &&
			 EVP_PKEY_set_utf8_string_param(dup, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
							"uncompressed") == 1 &&
			 EVP_PKEY_get_octet_string_param(dup, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
							 point, sizeof(point), &plen) == 1 &&
			 plen == 1 + 2 * c->coord;
		EVP_PKEY_free(dup);
		if (!ok)
			return bs_error_ssl(err, BS_ERR_CRYPTO, "cannot read EC public key");
	}
	size_t len = BS_AHAB_SRK_REC_HDR + 2 * c->coord;
	uint8_t *p = calloc(1, len);
	if (p == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	put_header(p, len, BS_AHAB_ALG_ECDSA, hash, c->code, ca, c->coord, c->coord);
	memcpy(p + BS_AHAB_SRK_REC_HDR, point + 1, 2 * c->coord);
	*out = p;
	*out_len = len;
	return 0;
}

int bs_ahab_srk_record(uint8_t **out, size_t *out_len, EVP_PKEY *pub, bool ca,
		       uint8_t hash_code, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (pub == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "no public key");
	if (bs_ahab_hash_nid(hash_code) == 0)
		return bs_error_set(err, BS_ERR_INVALID, "SRK hash code %u unknown", hash_code);
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_RSA: return rsa_rec(out, out_len, pub, BS_AHAB_ALG_RSA, ca, hash_code, err);
	case EVP_PKEY_RSA_PSS:
		return rsa_rec(out, out_len, pub, BS_AHAB_ALG_RSA_PSS, ca, hash_code, err);
	case EVP_PKEY_EC: return ec_rec(out, out_len, pub, ca, hash_code, err);
	default:
		return bs_error_set(err, BS_ERR_UNSUPPORTED,
				    "%s keys cannot be AHAB SRKs (RSA or EC P-256/384/521)",
				    OBJ_nid2sn(EVP_PKEY_get_base_id(pub)));
	}
}

int bs_ahab_srk_record_cert(uint8_t **out, size_t *out_len, X509 *cert, uint8_t hash_code,
			    struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	EVP_PKEY *pub = cert != NULL ? X509_get0_pubkey(cert) : NULL;
	if (pub == NULL)
		return bs_error_ssl(err, BS_ERR_KEY, "certificate public key unreadable");
	return bs_ahab_srk_record(out, out_len, pub, X509_check_ca(cert) == 1, hash_code, err);
}

int bs_ahab_srk_table_build(uint8_t **out, size_t *out_len, X509 *const *certs, size_t n,
			    uint8_t hash_code, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (n != BS_AHAB_SRK_RECORDS)
		return bs_error_set(err, n > BS_AHAB_SRK_RECORDS ? BS_ERR_LIMIT : BS_ERR_INVALID,
				    "an AHAB SRK table holds exactly 4 certificates, %zu given", n);
	struct bs_buf b;
	bs_buf_init(&b, BS_AHAB_SRK_TABLE_MAX);
	int rc = bs_buf_append_zeros(&b, 4);
	uint8_t first[6] = {0};
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint8_t *rec = NULL;
		size_t rec_len = 0;
		if ((rc = bs_ahab_srk_record_cert(&rec, &rec_len, certs[i], hash_code, err)) != 0) {
			bs_error_prefix(err, "certificate %zu", i + 1);
			goto fail;
		}
		/* alg, hash, size (bytes 3..5) must agree across the table */
		if (i == 0)
			memcpy(first, rec + 3, 3);
		if (memcmp(first, rec + 3, 3) != 0) {
			free(rec);
			rc = bs_error_set(err, BS_ERR_SEMANTIC,
					  "certificate %zu: key type/size differs from certificate 1 "
					  "(all SRKs of an AHAB table must be of the same type)", i + 1);
			goto fail;
		}
		rc = bs_buf_append(&b, rec, rec_len);
		free(rec);
	}
	if (rc != 0) {
		bs_error_set(err, rc, "SRK table too large");
		goto fail;
	}
	b.data[0] = BS_AHAB_TAG_SRK_TABLE;
	bs_buf_put_le16(b.data + 1, (uint16_t)b.len);
	b.data[3] = BS_AHAB_SRK_TABLE_VERSION;
	*out = bs_buf_steal(&b, out_len);
	return 0;
fail:
	bs_buf_free(&b);
	return rc;
}

void bs_ahab_srk_clear(struct bs_ahab_srk *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->pub);
	memset(s, 0, sizeof(*s));
}

/* Public key from big-endian key material: RSA (n, e) or EC (X || Y). */
static int pub_from_material(EVP_PKEY **out, const struct ec_curve *c, bool pss,
			     const uint8_t *a, size_t la, const uint8_t *b, size_t lb,
			     struct bs_error *err)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * 66];
	int ok = bld != NULL;
	if (ok && c == NULL) {
		ok = (n = BN_bin2bn(a, (int)la, NULL)) != NULL &&
		     (e = BN_bin2bn(b, (int)lb, NULL)) != NULL &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1;
	} else if (ok) {
		point[0] = 0x04;
		memcpy(point + 1, a, la);
		memcpy(point + 1 + la, b, lb);
		ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group,
						     0) == 1 &&
		     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
						      1 + la + lb) == 1;
	}
	const char *type = c != NULL ? "EC" : pss ? "RSA-PSS" : "RSA";
	ok = ok && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	     (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) != NULL &&
	     EVP_PKEY_fromdata_init(ctx) == 1 &&
	     EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
	if (ok && c != NULL) {
		/* fromdata does not check the point: do it here */
		EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
		ok = chk != NULL && EVP_PKEY_public_check(chk) == 1;
		EVP_PKEY_CTX_free(chk);
		if (!ok) {
			EVP_PKEY_free(*out);
			*out = NULL;
		}
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	if (!ok)
		return bs_error_ssl(err, BS_ERR_FORMAT, "SRK record does not hold a usable %s key",
				    type);
	return 0;
}

int bs_ahab_srk_record_parse(struct bs_ahab_srk *out, const uint8_t *p, size_t len,
			     size_t *used, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	*used = 0;
	if (len < BS_AHAB_SRK_REC_HDR)
		return bs_error_set(err, BS_ERR_FORMAT, "SRK record: %zu bytes, header needs 12",
				    len);
	size_t rlen = bs_get_le16(p + 1), la = bs_get_le16(p + 8), lb = bs_get_le16(p + 10);
	if (p[0] != BS_AHAB_TAG_SRK_RECORD)
		return bs_error_set(err, BS_ERR_FORMAT, "SRK record: tag 0x%02x, expected 0xE1",
				    p[0]);
	if (rlen > len || rlen != BS_AHAB_SRK_REC_HDR + la + lb)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK record: length %zu, key parts %zu + %zu, %zu bytes left",
				    rlen, la, lb, len);
	if (p[6] != 0 || (p[7] & ~REC_FLAG_CA) != 0)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK record: reserved byte 0x%02x / flags 0x%02x not allowed",
				    p[6], p[7]);
	if (bs_ahab_hash_nid(p[4]) == 0)
		return bs_error_set(err, BS_ERR_FORMAT, "SRK record: hash code %u unknown", p[4]);
	out->alg = p[3];
	out->hash = p[4];
	out->size_code = p[5];
	out->ca = (p[7] & REC_FLAG_CA) != 0;
	out->rec = p;
	out->rec_len = rlen;
	const uint8_t *a = p + BS_AHAB_SRK_REC_HDR, *b = a + la;
	int rc;
	if (out->alg == BS_AHAB_ALG_RSA || out->alg == BS_AHAB_ALG_RSA_PSS) {
		unsigned bits = rsa_bits(out->size_code);
		if (bits == 0 || la != bits / 8 || (a[0] & 0x80) == 0 || lb == 0 || lb > la)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "SRK record: RSA size code %u with a %zu-byte modulus "
					    "(top bit %s) and %zu-byte exponent", out->size_code, la,
					    la && (a[0] & 0x80) ? "set" : "clear", lb);
		out->sig_len = la;
		rc = pub_from_material(&out->pub, NULL, out->alg == BS_AHAB_ALG_RSA_PSS, a, la, b,
				       lb, err);
	} else if (out->alg == BS_AHAB_ALG_ECDSA) {
		const struct ec_curve *c = curve_by(out->size_code, NULL);
		if (c == NULL || la != c->coord || lb != c->coord)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "SRK record: EC curve code %u with %zu/%zu-byte coordinates",
					    out->size_code, la, lb);
		out->sig_len = 2 * c->coord;
		rc = pub_from_material(&out->pub, c, false, a, la, b, lb, err);
	} else {
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK record: signature algorithm 0x%02x not supported (0x21 RSA, "
				    "0x22 RSA-PSS, 0x27 ECDSA)", out->alg);
	}
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	*used = rlen;
	return 0;
}

void bs_ahab_srk_table_free(struct bs_ahab_srk_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < BS_AHAB_SRK_RECORDS; i++)
		bs_ahab_srk_clear(&t->e[i]);
	free(t->data);
	free(t);
}

int bs_ahab_srk_table_parse(struct bs_ahab_srk_table **out, const uint8_t *data, size_t len,
			    bool prefix, struct bs_error *err)
{
	*out = NULL;
	if (data == NULL || len < 4)
		return bs_error_set(err, BS_ERR_FORMAT, "SRK table: %zu bytes, too short", len);
	size_t tlen = bs_get_le16(data + 1);
	if (data[0] != BS_AHAB_TAG_SRK_TABLE || data[3] != BS_AHAB_SRK_TABLE_VERSION)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK table: tag 0x%02x version 0x%02x, expected 0xD7 0x42",
				    data[0], data[3]);
	if (tlen < 4 || tlen > len || (!prefix && tlen != len))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK table: header length %zu, %zu bytes given", tlen, len);
	struct bs_ahab_srk_table *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->data = malloc(tlen)) == NULL) {
		free(t);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	memcpy(t->data, data, tlen);
	t->len = tlen;
	int rc = 0;
	size_t off = 4;
	while (off < tlen) {
		if (t->n == BS_AHAB_SRK_RECORDS) {
			rc = bs_error_set(err, BS_ERR_FORMAT,
					  "SRK table: more than 4 records (offset %zu)", off);
			goto fail;
		}
		size_t used = 0;
		if ((rc = bs_ahab_srk_record_parse(&t->e[t->n], t->data + off, tlen - off, &used,
						   err)) != 0) {
			bs_error_prefix(err, "SRK table record %zu at offset %zu", t->n, off);
			goto fail;
		}
		const struct bs_ahab_srk *e0 = &t->e[0], *e = &t->e[t->n];
		if (e->alg != e0->alg || e->hash != e0->hash || e->size_code != e0->size_code) {
			rc = bs_error_set(err, BS_ERR_FORMAT,
					  "SRK table: record %zu differs in type, hash or size from "
					  "record 0", t->n);
			goto fail;
		}
		t->n++;
		off += used;
	}
	if (t->n == 0) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "SRK table holds no records");
		goto fail;
	}
	*out = t;
	return 0;
fail:
	bs_ahab_srk_table_free(t);
	return rc;
}

int bs_ahab_srk_fuse(uint8_t *fuse, size_t *fuse_len, const uint8_t *table, size_t len,
		     int md_nid, struct bs_error *err)
{
	*fuse_len = 0;
	if (md_nid != NID_sha256 && md_nid != NID_sha512)
		return bs_error_set(err, BS_ERR_INVALID, "AHAB fuse digest must be sha256 or sha512");
	unsigned n = 0;
	if (EVP_Digest(table, len, fuse, &n, EVP_get_digestbynid(md_nid), NULL) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "digest failed");
	*fuse_len = n;
	return 0;
}

void bs_ahab_srk_sig_params(const struct bs_ahab_srk *s, struct bs_sig_params *out)
{
	memset(out, 0, sizeof(*out));
	out->md_nid = bs_ahab_hash_nid(s->hash);
	out->scheme = s->alg == BS_AHAB_ALG_RSA_PSS ? BS_SIG_RSA_PSS : BS_SIG_DEFAULT;
	out->pss_saltlen = s->alg == BS_AHAB_ALG_RSA_PSS ? -1 : 0;
	out->ecdsa_raw = s->alg == BS_AHAB_ALG_ECDSA;
}

const char *bs_ahab_srk_desc(const struct bs_ahab_srk *s, char *buf, size_t cap)
{
	if (s->alg == BS_AHAB_ALG_ECDSA) {
		const struct ec_curve *c = curve_by(s->size_code, NULL);
		snprintf(buf, cap, "EC P-%u, %s%s", c ? c->bits : 0, bs_ahab_hash_name(s->hash),
			 s->ca ? ", CA" : "");
	} else {
		snprintf(buf, cap, "RSA-%u %s, %s%s", rsa_bits(s->size_code),
			 s->alg == BS_AHAB_ALG_RSA_PSS ? "PSS" : "PKCS#1 v1.5",
			 bs_ahab_hash_name(s->hash), s->ca ? ", CA" : "");
	}
	return buf;
}
