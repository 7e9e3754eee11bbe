/* Token provisioning, part 2: list the token's objects; generate a key pair inside the
 * token (non-extractable) and return it as a struct bs_key. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/util.h"
#include "keys/pkcs11_int.h"

#define KEYGEN_TIMEOUT_MS 600000u /* RSA-4096 on a YubiHSM takes minutes */

static CK_RV get_ulong(struct p11_worker *w, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t,
		       CK_ULONG *v)
{
	CK_ATTRIBUTE a = {t, v, sizeof(*v)};
	return w->tok->p11->f->C_GetAttributeValue(w->sess, h, &a, 1);
}

static bool get_bool(struct p11_worker *w, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = {t, &v, sizeof(v)};
	return w->tok->p11->f->C_GetAttributeValue(w->sess, h, &a, 1) == CKR_OK && v == CK_TRUE;
}

static unsigned ec_params_bits(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, (long)len);
	int nid = o != NULL ? OBJ_obj2nid(o) : NID_undef;
	ASN1_OBJECT_free(o);
	EC_GROUP *g = nid != NID_undef ? EC_GROUP_new_by_curve_name(nid) : NULL;
	unsigned bits = g != NULL ? (unsigned)EC_GROUP_order_bits(g) : 0;
	EC_GROUP_free(g);
	return bits;
}

static void append_usage(char *out, size_t cap, const char *word)
{
	size_t n = strlen(out);
	snprintf(out + n, cap - n, "%s%s", n ? "," : "", word);
}

static void fill_info(struct p11_worker *w, CK_OBJECT_HANDLE h, struct bs_p11_object_info *o)
{
	static const struct {
		CK_ATTRIBUTE_TYPE t;
		const char *name;
	} usages[] = {{CKA_SIGN, "sign"},       {CKA_VERIFY, "verify"}, {CKA_ENCRYPT, "encrypt"},
		      {CKA_DECRYPT, "decrypt"}, {CKA_WRAP, "wrap"},     {CKA_UNWRAP, "unwrap"},
		      {CKA_DERIVE, "derive"}};
	memset(o, 0, sizeof(*o));
	CK_ULONG cls = 0, kt = 0;
	(void)get_ulong(w, h, CKA_CLASS, &cls);
	const char *type = cls == CKO_PRIVATE_KEY ? "private" : cls == CKO_PUBLIC_KEY ? "public"
			   : cls == CKO_CERTIFICATE ? "cert" : cls == CKO_SECRET_KEY ? "secret"
			   : "data";
	memcpy(o->type, type, strlen(type) + 1);
	uint8_t *v = NULL;
	size_t len = 0;
	if (p11_get_attr(w, h, CKA_LABEL, &v, &len) == CKR_OK) {
		size_t n = len < sizeof(o->label) - 1 ? len : sizeof(o->label) - 1;
		memcpy(o->label, v, n);
		o->label[n] = '\0';
	}
	free(v);
	if (p11_get_attr(w, h, CKA_ID, &v, &len) == CKR_OK)
		bs_hex(o->id_hex, v, len < 64 ? len : 64);
	free(v);
	v = NULL;
	if (cls == CKO_CERTIFICATE) {
		if (p11_get_attr(w, h, CKA_VALUE, &v, &len) == CKR_OK) {
			const unsigned char *p = v;
			X509 *x = d2i_X509(NULL, &p, (long)len);
			EVP_PKEY *pk = x != NULL ? X509_get0_pubkey(x) : NULL;
			if (pk != NULL) {
				int id = EVP_PKEY_get_base_id(pk);
				snprintf(o->keytype, sizeof(o->keytype), "%s",
					 id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : "");
				o->bits = (unsigned)EVP_PKEY_get_bits(pk);
			}
			X509_free(x);
		}
		free(v);
		return;
	}
	if (cls != CKO_PRIVATE_KEY && cls != CKO_PUBLIC_KEY && cls != CKO_SECRET_KEY)
		return;
	if (get_ulong(w, h, CKA_KEY_TYPE, &kt) == CKR_OK) {
		if (kt == CKK_RSA) {
			memcpy(o->keytype, "RSA", 4);
			if (p11_get_attr(w, h, CKA_MODULUS, &v, &len) == CKR_OK)
				o->bits = (unsigned)len * 8;
			free(v);
		} else if (kt == CKK_EC) {
			memcpy(o->keytype, "EC", 3);
			if (p11_get_attr(w, h, CKA_EC_PARAMS, &v, &len) == CKR_OK)
				o->bits = ec_params_bits(v, len);
			free(v);
		}
	}
	for (size_t i = 0; i < BS_ARRAY_SIZE(usages); i++)
		if (get_bool(w, h, usages[i].t))
			append_usage(o->usage, sizeof(o->usage), usages[i].name);
}

struct list_arg {
	struct bs_p11_object_info *objs;
	size_t n;
};

static void list_arg_free(void *p)
{
	struct list_arg *a = p;
	if (a != NULL)
		free(a->objs);
	free(a);
}

static CK_RV list_job(struct p11_worker *w, void *p)
{
	struct list_arg *a = p;
	CK_FUNCTION_LIST *f = w->tok->p11->f;
	CK_BBOOL tru = CK_TRUE;
	CK_ATTRIBUTE tmpl = {CKA_TOKEN, &tru, sizeof(tru)};
	CK_OBJECT_HANDLE *hs = calloc(BS_P11_LIST_MAX, sizeof(*hs));
	if (hs == NULL)
		return CKR_HOST_MEMORY;
	a->n = 0;
	CK_ULONG got = 0;
	CK_RV rv = f->C_FindObjectsInit(w->sess, &tmpl, 1);
	if (rv == CKR_OK) {
		rv = f->C_FindObjects(w->sess, hs, BS_P11_LIST_MAX, &got);
		CK_RV rv2 = f->C_FindObjectsFinal(w->sess);
		if (rv == CKR_OK)
			rv = rv2;
	}
	if (rv == CKR_OK && got > 0) {
		free(a->objs);
		a->objs = calloc(got, sizeof(*a->objs));
		if (a->objs == NULL)
			rv = CKR_HOST_MEMORY;
	}
	for (CK_ULONG i = 0; rv == CKR_OK && i < got; i++)
		fill_info(w, hs[i], &a->objs[a->n++]);
	free(hs);
	return rv;
}

int bs_p11_list(struct bs_p11 *p11, const char *token_uri, struct bs_p11_object_info **out,
		size_t *n, struct bs_error *err)
{
	*out = NULL;
	*n = 0;
	struct p11_tok *t;
	int rc = p11_tok_get_text(p11, token_uri, &t, err);
	if (rc != 0)
		return rc;
	struct list_arg *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	struct p11_job *j = NULL;
	rc = p11_run(t, list_job, a, list_arg_free, &j, "listing objects", err);
	if (rc != 0)
		return rc;
	a = j->arg;
	*out = a->objs;
	*n = a->n;
	a->objs = NULL;
	p11_job_release(p11, j);
	return 0;
}

/* ---- key generation ---- */

struct gen_arg {
	char label[BS_P11_LABEL_MAX];
	uint8_t id[BS_P11_ID_MAX];
	size_t id_len;
	unsigned rsa_bits;     /* 0 = EC */
	int curve_nid;
	bool exists;
	CK_OBJECT_HANDLE priv;
	uint64_t gen;
	uint8_t *pub1;         /* RSA: modulus; EC: CKA_EC_POINT */
	size_t pub1_len;
	uint8_t *pub2;         /* RSA: public exponent */
	size_t pub2_len;
};

static void gen_arg_free(void *p)
{
	struct gen_arg *a = p;
	if (a == NULL)
		return;
	free(a->pub1);
	free(a->pub2);
	free(a);
}

static CK_RV gen_job(struct p11_worker *w, void *p)
{
	struct gen_arg *a = p;
	CK_FUNCTION_LIST *f = w->tok->p11->f;
	CK_OBJECT_HANDLE h;
	size_t n = 0;
	CK_RV rv = p11_find(w, CKO_PRIVATE_KEY, a->label, NULL, 0, &h, 1, &n);
	if (rv == CKR_OK && n == 0 && a->id_len > 0)
		rv = p11_find(w, CKO_PRIVATE_KEY, "", a->id, a->id_len, &h, 1, &n);
	if (rv != CKR_OK || (a->exists = n > 0))
		return rv;
	CK_BBOOL tru = CK_TRUE, fal = CK_FALSE;
	CK_ULONG bits = a->rsa_bits;
	CK_BYTE e65537[] = {0x01, 0x00, 0x01};
	unsigned char *params = NULL;
	int plen = 0;
	if (a->rsa_bits == 0 &&
	    (plen = i2d_ASN1_OBJECT(OBJ_nid2obj(a->curve_nid), &params)) <= 0)
		return CKR_GENERAL_ERROR;
	CK_ATTRIBUTE pub[8] = {
		{CKA_TOKEN, &tru, sizeof(tru)},        {CKA_VERIFY, &tru, sizeof(tru)},
		{CKA_ENCRYPT, &fal, sizeof(fal)},      {CKA_WRAP, &fal, sizeof(fal)},
		{CKA_LABEL, a->label, strlen(a->label)}, {CKA_ID, a->id, a->id_len},
	};
	CK_ULONG npub = 6;
	if (a->rsa_bits) {
		pub[npub++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
		pub[npub++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537)};
	} else {
		pub[npub++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, params, (CK_ULONG)plen};
	}
	CK_ATTRIBUTE priv[] = {
		{CKA_TOKEN, &tru, sizeof(tru)},       {CKA_PRIVATE, &tru, sizeof(tru)},
		{CKA_SENSITIVE, &tru, sizeof(tru)},   {CKA_EXTRACTABLE, &fal, sizeof(fal)},
		{CKA_SIGN, &tru, sizeof(tru)},        {CKA_DECRYPT, &fal, sizeof(fal)},
		{CKA_UNWRAP, &fal, sizeof(fal)},      {CKA_LABEL, a->label, strlen(a->label)},
		{CKA_ID, a->id, a->id_len},
	};
	CK_MECHANISM m = {a->rsa_bits ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE hpub;
	rv = f->C_GenerateKeyPair(w->sess, &m, pub, npub, priv, BS_ARRAY_SIZE(priv), &hpub,
				  &a->priv);
	OPENSSL_free(params);
	if (rv != CKR_OK)
		return rv;
	a->gen = w->sess_gen;
	free(a->pub1);
	free(a->pub2);
	a->pub1 = a->pub2 = NULL;
	if (a->rsa_bits) {
		rv = p11_get_attr(w, hpub, CKA_MODULUS, &a->pub1, &a->pub1_len);
		if (rv == CKR_OK)
			rv = p11_get_attr(w, hpub, CKA_PUBLIC_EXPONENT, &a->pub2, &a->pub2_len);
	} else {
		rv = p11_get_attr(w, hpub, CKA_EC_POINT, &a->pub1, &a->pub1_len);
	}
	return rv;
}

static EVP_PKEY *pub_from(const struct gen_arg *a)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *n = NULL, *e = NULL;
	ASN1_OCTET_STRING *os = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *c = NULL;
	if (b == NULL)
		goto out;
	if (a->rsa_bits) {
		n = BN_bin2bn(a->pub1, (int)a->pub1_len, NULL);
		e = BN_bin2bn(a->pub2, (int)a->pub2_len, NULL);
		if (n == NULL || e == NULL || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
	} else {
		/* CKA_EC_POINT is a DER OCTET STRING; some tokens return the raw point. */
		const unsigned char *p = a->pub1;
		os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)a->pub1_len);
		const unsigned char *pt = os ? ASN1_STRING_get0_data(os) : a->pub1;
		size_t ptlen = os ? (size_t)ASN1_STRING_length(os) : a->pub1_len;
		if (!OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
						     OBJ_nid2sn(a->curve_nid), 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen))
			goto out;
	}
	params = OSSL_PARAM_BLD_to_param(b);
	c = EVP_PKEY_CTX_new_from_name(NULL, a->rsa_bits ? "RSA" : "EC", NULL);
	if (params == NULL || c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	ASN1_OCTET_STRING_free(os);
	BN_free(n);
	BN_free(e);
	return pk;
}

int bs_p11_generate(struct bs_p11 *p11, const char *token_uri, const char *keytype,
		    const char *label, const uint8_t *id, size_t id_len, struct bs_key **out,
		    struct bs_error *err)
{
	static const struct {
		const char *name;
		unsigned bits;
		int nid;
	} types[] = {{"rsa2048", 2048, 0}, {"rsa3072", 3072, 0}, {"rsa4096", 4096, 0},
		     {"p256", 0, NID_X9_62_prime256v1}, {"p384", 0, NID_secp384r1},
		     {"p521", 0, NID_secp521r1}};
	*out = NULL;
	size_t ti = BS_ARRAY_SIZE(types);
	for (size_t i = 0; keytype != NULL && i < BS_ARRAY_SIZE(types); i++)
		if (strcmp(keytype, types[i].name) == 0)
			ti = i;
	if (ti == BS_ARRAY_SIZE(types))
		return bs_error_set(err, BS_ERR_INVALID, "unknown key type '%s' (rsa2048, rsa3072, "
				    "rsa4096, p256, p384, p521)", keytype ? keytype : "");
	if (label == NULL || label[0] == '\0' || strlen(label) >= BS_P11_LABEL_MAX ||
	    id_len > BS_P11_ID_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "token key label/id out of range");
	struct p11_tok *t;
	int rc = p11_tok_get_text(p11, token_uri, &t, err);
	if (rc != 0)
		return rc;
	struct gen_arg *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	memcpy(a->label, label, strlen(label) + 1);
	if (id_len > 0)
		memcpy(a->id, id, id_len);
	a->id_len = id_len;
	a->rsa_bits = types[ti].bits;
	a->curve_nid = types[ti].nid;
	unsigned tmo = p11->op_timeout_ms > KEYGEN_TIMEOUT_MS ? p11->op_timeout_ms
							      : KEYGEN_TIMEOUT_MS;
	struct p11_job *j = NULL;
	rc = p11_run_timeout(t, gen_job, a, gen_arg_free, &j, "generating a key pair", tmo, err);
	if (rc != 0)
		return rc;
	a = j->arg;
	if (a->exists) {
		rc = bs_error_set(err, BS_ERR_INVALID, "token '%s' already has a private key "
				  "labelled '%s' or with that id", t->name, a->label);
		goto out;
	}
	EVP_PKEY *pub = pub_from(a);
	if (pub == NULL) {
		rc = bs_error_ssl(err, BS_ERR_TOKEN, "token '%s': cannot read the generated public "
				  "key", t->name);
		goto out;
	}
	rc = p11_key_make(p11, t, a->label, a->id, a->id_len, a->rsa_bits ? CKK_RSA : CKK_EC,
			  pub, a->priv, a->gen, out, err);
out:
	p11_job_release(p11, j);
	return rc;
}
