/* HAB4 SRK table: key records, table build and parse, fuse digest and fuse files.
 * Layouts follow the HAB4 format notes §2.7; output is byte-identical to srktool -h 4. */
#include "formats/hab/srk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/limits.h"
#include "formats/hab/hab.h"

#define SRK_HDR_LEN 4
#define SRK_KEY_HDR_LEN 12        /* E1 record header */
#define SRK_FLAG_CA 0x80
#define SRK_RSA_MAX_BYTES 1024    /* modulus and exponent: up to RSA-8192 */
#define SRK_TABLE_VERSION 0x40

struct srk_curve {
	const char *group;  /* OpenSSL group name */
	uint8_t code;       /* HAB curve byte */
	uint16_t bits;
	size_t coord_len;   /* X and Y each padded to this */
};

static const struct srk_curve curves[] = {
	{"prime256v1", 0x4B, 256, 32},
	{"secp384r1", 0x4D, 384, 48},
	{"secp521r1", 0x4E, 521, 66},
};

static const struct srk_curve *curve_by_group(const char *group)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(curves[i].group, group) == 0)
			return &curves[i];
	return NULL;
}

static const struct srk_curve *curve_by_code(uint8_t code)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].code == code)
			return &curves[i];
	return NULL;
}

/* Only sha1 and sha256 are fuse digests srktool (HAB4) produces. */
static const EVP_MD *fuse_md(int *md_nid, struct bs_error *err)
{
	if (*md_nid == 0)
		*md_nid = NID_sha256;
	if (*md_nid != NID_sha256 && *md_nid != NID_sha1) {
		bs_error_set(err, BS_ERR_UNSUPPORTED,
			     "SRK fuse digest must be sha256 or sha1 (got %s)",
			     OBJ_nid2sn(*md_nid));
		return NULL;
	}
	return *md_nid == NID_sha256 ? EVP_sha256() : EVP_sha1();
}

static int digest(uint8_t *out, size_t *out_len, const EVP_MD *md, const uint8_t *data,
		  size_t len, struct bs_error *err)
{
	unsigned int n = 0;
	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "digest failed");
	*out_len = n;
	return 0;
}

static void put_key_header(struct bs_buf *b, size_t rec_len, uint8_t alg, bool ca)
{
	/* Caller reserved SRK_KEY_HDR_LEN bytes at the start of b. */
	uint8_t *p = b->data;
	p[0] = HAB_TAG_KEY_RSA;
	bs_buf_put_be16(p + 1, (uint16_t)rec_len);
	p[3] = alg;
	p[4] = p[5] = p[6] = 0;
	p[7] = ca ? SRK_FLAG_CA : 0;
}

static int rsa_record(struct bs_buf *b, EVP_PKEY *pkey, uint8_t alg, bool ca,
		      struct bs_error *err)
{
	BIGNUM *n = NULL, *e = NULL;
	int rc = 0;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot read RSA public key");
		goto out;
	}
	int nb = BN_num_bytes(n), eb = BN_num_bytes(e);
	if (nb <= 0 || eb <= 0 || nb > SRK_RSA_MAX_BYTES || eb > SRK_RSA_MAX_BYTES) {
		rc = bs_error_set(err, BS_ERR_UNSUPPORTED,
				  "RSA key size %d bits not supported for an SRK", BN_num_bits(n));
		goto out;
	}
	size_t rec_len = SRK_KEY_HDR_LEN + (size_t)nb + (size_t)eb;
	if ((rc = bs_buf_append_zeros(b, rec_len)) != 0) {
		bs_error_set(err, rc, "SRK record too large");
		goto out;
	}
	put_key_header(b, rec_len, alg, ca);
	bs_buf_put_be16(b->data + 8, (uint16_t)nb);
	bs_buf_put_be16(b->data + 10, (uint16_t)eb);
	if (BN_bn2bin(n, b->data + SRK_KEY_HDR_LEN) != nb ||
	    BN_bn2bin(e, b->data + SRK_KEY_HDR_LEN + nb) != eb)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot encode RSA public key");
out:
	BN_free(n);
	BN_free(e);
	return rc;
}

static int ec_record(struct bs_buf *b, EVP_PKEY *pkey, bool ca, struct bs_error *err)
{
	char group[64];
	BIGNUM *x = NULL, *y = NULL;
	int rc = 0;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), NULL) != 1)
		return bs_error_ssl(err, BS_ERR_UNSUPPORTED,
				    "EC key without a named curve is not supported for an SRK");
	const struct srk_curve *c = curve_by_group(group);
	if (c == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED,
				    "EC curve %s not supported for an SRK (P-256, P-384, P-521)",
				    group);
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot read EC public key");
		goto out;
	}
	size_t rec_len = SRK_KEY_HDR_LEN + 2 * c->coord_len;
	if ((rc = bs_buf_append_zeros(b, rec_len)) != 0) {
		bs_error_set(err, rc, "SRK record too large");
		goto out;
	}
	put_key_header(b, rec_len, HAB_ALG_ECDSA, ca);
	b->data[8] = c->code;
	b->data[9] = 0;
	bs_buf_put_be16(b->data + 10, c->bits);
	if (BN_bn2binpad(x, b->data + SRK_KEY_HDR_LEN, (int)c->coord_len) < 0 ||
	    BN_bn2binpad(y, b->data + SRK_KEY_HDR_LEN + c->coord_len, (int)c->coord_len) < 0)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot encode EC public key");
out:
	BN_free(x);
	BN_free(y);
	return rc;
}

bool bs_hab_cert_uses_pss(X509 *cert)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	if (pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA_PSS)
		return true;
	return X509_get_signature_nid(cert) == NID_rsassaPss;
}

static bool cert_is_ca(X509 *cert)
{
	/* srktool sets the flag only for basicConstraints CA:TRUE (check result 1), not for
	 * v1 roots (3) or keyUsage-only certificates (4). */
	return X509_check_ca(cert) == 1;
}

int bs_srk_record(uint8_t **out, size_t *out_len, X509 *cert, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (cert == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "no certificate");
	EVP_PKEY *pkey = X509_get0_pubkey(cert);
	if (pkey == NULL)
		return bs_error_ssl(err, BS_ERR_KEY, "certificate public key unreadable");
	bool ca = cert_is_ca(cert);
	struct bs_buf b;
	bs_buf_init(&b, BS_SRK_TABLE_MAX);
	int rc;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA: rc = rsa_record(&b, pkey, HAB_ALG_PKCS1, ca, err); break;
	case EVP_PKEY_RSA_PSS: rc = rsa_record(&b, pkey, HAB_ALG_RSA_PSS, ca, err); break;
	case EVP_PKEY_EC: rc = ec_record(&b, pkey, ca, err); break;
	default:
		rc = bs_error_set(err, BS_ERR_UNSUPPORTED,
				  "%s keys are not supported for an SRK (RSA or EC P-256/384/521)",
				  OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		break;
	}
	if (rc != 0) {
		bs_buf_free(&b);
		return rc;
	}
	*out = bs_buf_steal(&b, out_len);
	return 0;
}

/* Index of the first certificate whose CA-ness disagrees with the majority (with a tie,
 * with certificate 0), or ncerts if all agree. */
static size_t odd_ca_cert(const bool *ca, size_t ncerts)
{
	size_t nca = 0;
	for (size_t i = 0; i < ncerts; i++)
		nca += ca[i];
	if (nca == 0 || nca == ncerts)
		return ncerts;
	bool want = 2 * nca > ncerts ? true : 2 * nca < ncerts ? false : ca[0];
	for (size_t i = 0; i < ncerts; i++)
		if (ca[i] != want)
			return i;
	return ncerts;
}

static void cert_subject(char *out, size_t out_len, X509 *cert)
{
	out[0] = '\0';
	X509_NAME_oneline(X509_get_subject_name(cert), out, (int)out_len);
}

int bs_srk_table_build(uint8_t **table, size_t *table_len, uint8_t *fuse, size_t *fuse_len,
		       X509 *const *certs, size_t ncerts, const struct bs_srk_build_opts *opts,
		       struct bs_error *err)
{
	*table = NULL;
	*table_len = 0;
	*fuse_len = 0;
	if (ncerts == 0)
		return bs_error_set(err, BS_ERR_INVALID, "an SRK table needs 1 to 4 certificates");
	if (ncerts > HAB_SRK_RECORDS_MAX)
		return bs_error_set(err, BS_ERR_LIMIT,
				    "%zu certificates given, an SRK table holds at most %d", ncerts,
				    HAB_SRK_RECORDS_MAX);
	int md_nid = opts != NULL ? opts->md_nid : 0;
	uint32_t hash_mask = opts != NULL ? opts->hash_only_mask : 0;
	if (hash_mask >> ncerts != 0)
		return bs_error_set(err, BS_ERR_INVALID,
				    "hash-only mask 0x%x names certificates that were not given",
				    hash_mask);
	const EVP_MD *md = fuse_md(&md_nid, err);
	if (md == NULL)
		return BS_ERR_UNSUPPORTED;
	bool ca[HAB_SRK_RECORDS_MAX];
	for (size_t i = 0; i < ncerts; i++) {
		if (certs[i] == NULL)
			return bs_error_set(err, BS_ERR_INVALID, "certificate %zu missing", i + 1);
		ca[i] = cert_is_ca(certs[i]);
		if (bs_hab_cert_uses_pss(certs[i]))
			return bs_error_set(err, BS_ERR_SEMANTIC, "certificate %zu: %s", i + 1,
					    BS_HAB_PSS_REASON);
	}
	size_t odd = odd_ca_cert(ca, ncerts);
	if (odd < ncerts) {
		char subj[256];
		cert_subject(subj, sizeof(subj), certs[odd]);
		return bs_error_set(err, BS_ERR_SEMANTIC,
				    "certificate %zu (%s) is %s but the others are %s: all SRK "
				    "certificates must be CA certificates, or none",
				    odd + 1, subj, ca[odd] ? "a CA" : "not a CA",
				    ca[odd] ? "not" : "CAs");
	}

	struct bs_buf tb, hashes;
	bs_buf_init(&tb, BS_SRK_TABLE_MAX);
	bs_buf_init(&hashes, HAB_SRK_RECORDS_MAX * BS_SRK_DIGEST_MAX);
	uint8_t *rec = NULL;
	size_t rec_len = 0;
	int rc = bs_buf_append_zeros(&tb, SRK_HDR_LEN);
	if (rc != 0)
		goto fail_buf;
	for (size_t i = 0; i < ncerts; i++) {
		if ((rc = bs_srk_record(&rec, &rec_len, certs[i], err)) != 0) {
			bs_error_prefix(err, "certificate %zu", i + 1);
			goto fail;
		}
		uint8_t h[BS_SRK_DIGEST_MAX];
		size_t hlen = 0;
		if ((rc = digest(h, &hlen, md, rec, rec_len, err)) != 0)
			goto fail;
		if ((rc = bs_buf_append(&hashes, h, hlen)) != 0)
			goto fail_buf;
		if (hash_mask & (1u << i)) {
			if ((rc = bs_buf_append_u8(&tb, HAB_TAG_KEY_HASH)) != 0 ||
			    (rc = bs_buf_append_be16(&tb, (uint16_t)(4 + hlen))) != 0 ||
			    (rc = bs_buf_append_u8(&tb, bs_hab_nid_to_alg(md_nid))) != 0 ||
			    (rc = bs_buf_append(&tb, h, hlen)) != 0)
				goto fail_buf;
		} else if ((rc = bs_buf_append(&tb, rec, rec_len)) != 0) {
			goto fail_buf;
		}
		free(rec);
		rec = NULL;
	}
	tb.data[0] = HAB_TAG_CRT;
	bs_buf_put_be16(tb.data + 1, (uint16_t)tb.len);
	tb.data[3] = SRK_TABLE_VERSION;
	if ((rc = digest(fuse, fuse_len, md, hashes.data, hashes.len, err)) != 0)
		goto fail;
	bs_buf_free(&hashes);
	*table = bs_buf_steal(&tb, table_len);
	return 0;
fail_buf:
	bs_error_set(err, rc, rc == BS_ERR_NOMEM ? "out of memory" : "SRK table too large");
fail:
	free(rec);
	bs_buf_free(&tb);
	bs_buf_free(&hashes);
	*fuse_len = 0;
	return rc;
}

void bs_srk_table_free(struct bs_srk_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < HAB_SRK_RECORDS_MAX; i++)
		EVP_PKEY_free(t->e[i].pub);
	free(t->data);
	free(t);
}

/* Build the public key of an RSA E1 record (lengths already checked). */
static int rsa_pub_from_record(EVP_PKEY **out, const uint8_t *rec, size_t nb, size_t eb,
			       bool pss, struct bs_error *err)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = BN_bin2bn(rec + SRK_KEY_HDR_LEN, (int)nb, NULL);
	BIGNUM *e = BN_bin2bn(rec + SRK_KEY_HDR_LEN + nb, (int)eb, NULL);
	int rc = 0;
	if (bld == NULL || n == NULL || e == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, pss ? "RSA-PSS" : "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		rc = bs_error_ssl(err, BS_ERR_FORMAT, "RSA key record does not hold a usable key");
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

static int ec_pub_from_record(EVP_PKEY **out, const uint8_t *rec,
			      const struct srk_curve *c, struct bs_error *err)
{
	uint8_t point[1 + 2 * 66];
	size_t plen = 1 + 2 * c->coord_len;
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, rec + SRK_KEY_HDR_LEN, 2 * c->coord_len);
	OSSL_PARAM params[3];
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)c->group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, plen);
	params[2] = OSSL_PARAM_construct_end();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	int rc = 0;
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		rc = bs_error_ssl(err, BS_ERR_FORMAT,
				  "EC key record does not hold a point on %s", c->group);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int parse_key_record(struct bs_srk_entry *e, size_t idx, struct bs_error *err)
{
	const uint8_t *r = e->rec;
	size_t len = e->rec_len;
	if (len < SRK_KEY_HDR_LEN)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK record %zu: key record length %zu is shorter than its "
				    "12-byte header", idx, len);
	if (r[4] != 0 || r[5] != 0 || r[6] != 0 || (r[7] & ~SRK_FLAG_CA) != 0)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK record %zu: reserved bytes 4-7 are %02x %02x %02x %02x",
				    idx, r[4], r[5], r[6], r[7]);
	e->sig_alg = r[3];
	e->ca = (r[7] & SRK_FLAG_CA) != 0;
	if (e->sig_alg == HAB_ALG_PKCS1 || e->sig_alg == HAB_ALG_RSA_PSS) {
		size_t nb = bs_get_be16(r + 8), eb = bs_get_be16(r + 10);
		if (nb == 0 || eb == 0 || nb > SRK_RSA_MAX_BYTES || eb > SRK_RSA_MAX_BYTES ||
		    SRK_KEY_HDR_LEN + nb + eb != len)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "SRK record %zu: RSA modulus %zu + exponent %zu bytes "
					    "do not fill the %zu-byte record", idx, nb, eb, len);
		return rsa_pub_from_record(&e->pub, r, nb, eb, e->sig_alg == HAB_ALG_RSA_PSS,
					   err);
	}
	if (e->sig_alg == HAB_ALG_ECDSA) {
		const struct srk_curve *c = curve_by_code(r[8]);
		if (c == NULL || r[9] != 0)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "SRK record %zu: unknown EC curve code 0x%02x%02x", idx,
					    r[8], r[9]);
		if (bs_get_be16(r + 10) != c->bits || len != SRK_KEY_HDR_LEN + 2 * c->coord_len)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "SRK record %zu: %u-bit key / %zu-byte record do not "
					    "match curve %s", idx, bs_get_be16(r + 10), len, c->group);
		return ec_pub_from_record(&e->pub, r, c, err);
	}
	return bs_error_set(err, BS_ERR_FORMAT, "SRK record %zu: unknown key algorithm 0x%02x",
			    idx, e->sig_alg);
}

static int parse_hash_record(struct bs_srk_entry *e, size_t idx, struct bs_error *err)
{
	e->hash_alg = e->rec[3];
	int nid = bs_hab_alg_to_nid(e->hash_alg);
	const EVP_MD *md = nid != 0 ? EVP_get_digestbynid(nid) : NULL;
	if (md == NULL)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK record %zu: unknown hash algorithm 0x%02x", idx,
				    e->hash_alg);
	size_t dlen = (size_t)EVP_MD_get_size(md);
	if (e->rec_len != 4 + dlen || dlen > sizeof(e->digest))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK record %zu: %s hash record is %zu bytes, expected %zu",
				    idx, bs_hab_alg_name(e->hash_alg), e->rec_len, 4 + dlen);
	memcpy(e->digest, e->rec + 4, dlen);
	e->digest_len = dlen;
	return 0;
}

int bs_srk_table_parse(struct bs_srk_table **out, const uint8_t *data, size_t len,
		       struct bs_error *err)
{
	*out = NULL;
	if (data == NULL || len < SRK_HDR_LEN)
		return bs_error_set(err, BS_ERR_FORMAT, "SRK table is %zu bytes, too short", len);
	if (data[0] != HAB_TAG_CRT)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK table: tag 0x%02x at offset 0, expected 0xD7", data[0]);
	if (bs_get_be16(data + 1) != len)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK table: header length %u differs from the %zu bytes given",
				    bs_get_be16(data + 1), len);
	if ((data[3] & 0xF0) != 0x40)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "SRK table: version 0x%02x at offset 3, expected 0x4m", data[3]);
	struct bs_srk_table *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->data = malloc(len)) == NULL) {
		free(t);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	memcpy(t->data, data, len);
	t->len = len;
	int rc = 0;
	size_t off = SRK_HDR_LEN;
	while (off < len) {
		if (t->n == HAB_SRK_RECORDS_MAX) {
			rc = bs_error_set(err, BS_ERR_LIMIT,
					  "SRK table: more than %d records (offset %zu)",
					  HAB_SRK_RECORDS_MAX, off);
			goto fail;
		}
		if (len - off < 4) {
			rc = bs_error_set(err, BS_ERR_FORMAT,
					  "SRK table: truncated record header at offset %zu", off);
			goto fail;
		}
		const uint8_t *r = t->data + off;
		size_t rlen = bs_get_be16(r + 1);
		if (rlen < 4 || rlen > len - off) {
			rc = bs_error_set(err, BS_ERR_FORMAT,
					  "SRK table: record %zu at offset %zu has length %zu, %zu "
					  "bytes left", t->n, off, rlen, len - off);
			goto fail;
		}
		struct bs_srk_entry *e = &t->e[t->n];
		e->tag = r[0];
		e->rec = r;
		e->rec_len = rlen;
		if (r[0] == HAB_TAG_KEY_RSA)
			rc = parse_key_record(e, t->n, err);
		else if (r[0] == HAB_TAG_KEY_HASH)
			rc = parse_hash_record(e, t->n, err);
		else
			rc = bs_error_set(err, BS_ERR_FORMAT,
					  "SRK table: record %zu at offset %zu has tag 0x%02x "
					  "(expected 0xE1 or 0xEE)", t->n, off, r[0]);
		if (rc != 0)
			goto fail;
		t->n++;
		off += rlen;
	}
	if (t->n == 0) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "SRK table holds no records");
		goto fail;
	}
	*out = t;
	return 0;
fail:
	bs_srk_table_free(t);
	return rc;
}

int bs_srk_table_fuse(const struct bs_srk_table *t, int md_nid, uint8_t *fuse,
		      size_t *fuse_len, struct bs_error *err)
{
	*fuse_len = 0;
	if (t == NULL || t->n == 0 || t->n > HAB_SRK_RECORDS_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "no SRK table");
	const EVP_MD *md = fuse_md(&md_nid, err);
	if (md == NULL)
		return BS_ERR_UNSUPPORTED;
	uint8_t hashes[HAB_SRK_RECORDS_MAX * BS_SRK_DIGEST_MAX];
	size_t off = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct bs_srk_entry *e = &t->e[i];
		size_t hlen = 0;
		if (e->tag == HAB_TAG_KEY_HASH) {
			if (bs_hab_alg_to_nid(e->hash_alg) != md_nid)
				return bs_error_set(err, BS_ERR_FORMAT,
						    "SRK record %zu holds a %s digest, the fuse "
						    "digest is %s", i, bs_hab_alg_name(e->hash_alg),
						    OBJ_nid2sn(md_nid));
			memcpy(hashes + off, e->digest, e->digest_len);
			hlen = e->digest_len;
		} else {
			int rc = digest(hashes + off, &hlen, md, e->rec, e->rec_len, err);
			if (rc != 0)
				return rc;
		}
		off += hlen;
	}
	return digest(fuse, fuse_len, md, hashes, off, err);
}

int bs_srk_fuse_file(uint8_t **out, size_t *out_len, const uint8_t *fuse, size_t fuse_len,
		     int format, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (format != 0 && format != 1)
		return bs_error_set(err, BS_ERR_INVALID,
				    "fuse file format %d unknown (0 = 8 fuses per word, 1 = 32)",
				    format);
	if (fuse_len == 0 || fuse_len > BS_SRK_DIGEST_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "fuse digest of %zu bytes", fuse_len);
	size_t n = format == 1 ? fuse_len : 4 * fuse_len;
	uint8_t *p = calloc(1, n);
	if (p == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (format == 1)
		memcpy(p, fuse, fuse_len);
	else
		for (size_t i = 0; i < fuse_len; i++)
			p[4 * i + 3] = fuse[i];
	*out = p;
	*out_len = n;
	return 0;
}

uint32_t bs_srk_fuse_word(const uint8_t *fuse, size_t i)
{
	return bs_get_le32(fuse + 4 * i);
}
