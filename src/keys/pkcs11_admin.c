/* Token provisioning: list objects, import a key pair + certificate, generate a key pair
 * inside the token, write a certificate. Every token call runs through the session pool
 * (pkcs11.c), so the same timeouts and recovery apply. Imported private keys are created
 * CKA_SENSITIVE, non-extractable, sign-only; key bytes live only in memory that is wiped. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/util.h"
#include "keys/pkcs11_int.h"

/* ---- attribute templates that own their values ---- */

struct tmpl {
	CK_ATTRIBUTE a[BS_P11_TMPL_MAX];
	CK_ULONG n;
	CK_ULONG ul[BS_P11_TMPL_MAX];
	CK_BBOOL b[BS_P11_TMPL_MAX];
	bool owned[BS_P11_TMPL_MAX];
	bool fail;
};

static void t_ulong(struct tmpl *t, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	if (t->n >= BS_P11_TMPL_MAX) {
		t->fail = true;
		return;
	}
	t->ul[t->n] = v;
	t->a[t->n] = (CK_ATTRIBUTE){type, &t->ul[t->n], sizeof(CK_ULONG)};
	t->n++;
}

static void t_bool(struct tmpl *t, CK_ATTRIBUTE_TYPE type, bool v)
{
	if (t->n >= BS_P11_TMPL_MAX) {
		t->fail = true;
		return;
	}
	t->b[t->n] = v ? CK_TRUE : CK_FALSE;
	t->a[t->n] = (CK_ATTRIBUTE){type, &t->b[t->n], sizeof(CK_BBOOL)};
	t->n++;
}

/* Takes ownership of p (malloc'd; NULL marks failure). */
static void t_take(struct tmpl *t, CK_ATTRIBUTE_TYPE type, void *p, size_t len)
{
	if (p == NULL || t->n >= BS_P11_TMPL_MAX) {
		if (p != NULL)
			bs_free_secret(p, len);
		t->fail = true;
		return;
	}
	t->a[t->n] = (CK_ATTRIBUTE){type, p, len};
	t->owned[t->n] = true;
	t->n++;
}

static void t_bytes(struct tmpl *t, CK_ATTRIBUTE_TYPE type, const void *p, size_t len)
{
	void *c = malloc(len > 0 ? len : 1);
	if (c != NULL && len > 0)
		memcpy(c, p, len);
	t_take(t, type, c, len);
}

static void t_bn(struct tmpl *t, CK_ATTRIBUTE_TYPE type, const EVP_PKEY *pk, const char *name,
		 size_t pad)
{
	BIGNUM *bn = NULL;
	if (!EVP_PKEY_get_bn_param(pk, name, &bn)) {
		t->fail = true;
		return;
	}
	size_t len = (size_t)BN_num_bytes(bn);
	if (pad > len)
		len = pad;
	uint8_t *p = malloc(len > 0 ? len : 1);
	if (p != NULL && BN_bn2binpad(bn, p, (int)len) < 0) {
		free(p);
		p = NULL;
	}
	BN_clear_free(bn);
	t_take(t, type, p, len);
}

static void tmpl_clear(struct tmpl *t)
{
	for (CK_ULONG i = 0; i < t->n; i++)
		if (t->owned[i])
			bs_free_secret(t->a[i].pValue, t->a[i].ulValueLen);
	t->n = 0;
}

static void t_der(struct tmpl *t, CK_ATTRIBUTE_TYPE type, int len, unsigned char *der)
{
	if (len <= 0 || der == NULL) {
		OPENSSL_free(der);
		t->fail = true;
		return;
	}
	t_bytes(t, type, der, (size_t)len);
	OPENSSL_free(der);
}

/* CKA_EC_PARAMS: DER OID of the named curve. */
static void t_ec_params(struct tmpl *t, const EVP_PKEY *pk)
{
	char group[64];
	if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL)) {
		t->fail = true;
		return;
	}
	int nid = OBJ_txt2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	unsigned char *der = NULL;
	int len = nid != NID_undef ? i2d_ASN1_OBJECT(OBJ_nid2obj(nid), &der) : -1;
	t_der(t, CKA_EC_PARAMS, len, der);
}

/* CKA_EC_POINT: DER OCTET STRING holding the uncompressed point. */
static void t_ec_point(struct tmpl *t, const EVP_PKEY *pk)
{
	uint8_t pt[200];
	size_t ptlen = 0;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	unsigned char *der = NULL;
	int len = -1;
	if (os != NULL &&
	    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
					    sizeof(pt), &ptlen) &&
	    ASN1_OCTET_STRING_set(os, pt, (int)ptlen))
		len = i2d_ASN1_OCTET_STRING(os, &der);
	ASN1_OCTET_STRING_free(os);
	t_der(t, CKA_EC_POINT, len, der);
}

static void t_common(struct tmpl *t, CK_OBJECT_CLASS cls, const char *label, const uint8_t *id,
		     size_t id_len)
{
	t_ulong(t, CKA_CLASS, cls);
	t_bool(t, CKA_TOKEN, true);
	t_bytes(t, CKA_LABEL, label, strlen(label));
	t_bytes(t, CKA_ID, id, id_len);
}

static void t_cert(struct tmpl *t, X509 *cert, const char *label, const uint8_t *id,
		   size_t id_len)
{
	t_common(t, CKO_CERTIFICATE, label, id, id_len);
	t_ulong(t, CKA_CERTIFICATE_TYPE, CKC_X_509);
	t_bool(t, CKA_PRIVATE, false);
	unsigned char *der = NULL;
	int len = i2d_X509_NAME(X509_get_subject_name(cert), &der);
	t_der(t, CKA_SUBJECT, len, der);
	der = NULL;
	len = i2d_X509_NAME(X509_get_issuer_name(cert), &der);
	t_der(t, CKA_ISSUER, len, der);
	der = NULL;
	len = i2d_ASN1_INTEGER(X509_get_serialNumber(cert), &der);
	t_der(t, CKA_SERIAL_NUMBER, len, der);
	der = NULL;
	len = i2d_X509(cert, &der);
	t_der(t, CKA_VALUE, len, der);
}

static void t_keys(struct tmpl *priv, struct tmpl *pub, EVP_PKEY *pk, const char *label,
		   const uint8_t *id, size_t id_len)
{
	bool rsa = EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA;
	t_common(priv, CKO_PRIVATE_KEY, label, id, id_len);
	t_ulong(priv, CKA_KEY_TYPE, rsa ? CKK_RSA : CKK_EC);
	t_bool(priv, CKA_PRIVATE, true);
	t_bool(priv, CKA_SENSITIVE, true);
	t_bool(priv, CKA_EXTRACTABLE, false);
	t_bool(priv, CKA_SIGN, true);
	t_bool(priv, CKA_DECRYPT, false);
	t_bool(priv, CKA_UNWRAP, false);
	t_common(pub, CKO_PUBLIC_KEY, label, id, id_len);
	t_ulong(pub, CKA_KEY_TYPE, rsa ? CKK_RSA : CKK_EC);
	t_bool(pub, CKA_PRIVATE, false);
	t_bool(pub, CKA_VERIFY, true);
	t_bool(pub, CKA_ENCRYPT, false);
	t_bool(pub, CKA_WRAP, false);
	if (rsa) {
		t_bn(priv, CKA_MODULUS, pk, OSSL_PKEY_PARAM_RSA_N, 0);
		t_bn(priv, CKA_PUBLIC_EXPONENT, pk, OSSL_PKEY_PARAM_RSA_E, 0);
		t_bn(priv, CKA_PRIVATE_EXPONENT, pk, OSSL_PKEY_PARAM_RSA_D, 0);
		t_bn(priv, CKA_PRIME_1, pk, OSSL_PKEY_PARAM_RSA_FACTOR1, 0);
		t_bn(priv, CKA_PRIME_2, pk, OSSL_PKEY_PARAM_RSA_FACTOR2, 0);
		t_bn(priv, CKA_EXPONENT_1, pk, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0);
		t_bn(priv, CKA_EXPONENT_2, pk, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0);
		t_bn(priv, CKA_COEFFICIENT, pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0);
		t_bn(pub, CKA_MODULUS, pk, OSSL_PKEY_PARAM_RSA_N, 0);
		t_bn(pub, CKA_PUBLIC_EXPONENT, pk, OSSL_PKEY_PARAM_RSA_E, 0);
	} else {
		t_ec_params(priv, pk);
		t_bn(priv, CKA_VALUE, pk, OSSL_PKEY_PARAM_PRIV_KEY,
		     ((size_t)EVP_PKEY_get_bits(pk) + 7) / 8);
		t_ec_params(pub, pk);
		t_ec_point(pub, pk);
	}
}

/* ---- jobs ---- */

struct create_arg {
	struct tmpl t[3];
	size_t nt;
	char label[BS_P11_LABEL_MAX];
	uint8_t id[BS_P11_ID_MAX];
	size_t id_len;
	bool check_certs_only; /* write_cert: only certificates may not exist yet */
	bool exists;
};

static void create_arg_free(void *p)
{
	struct create_arg *a = p;
	if (a == NULL)
		return;
	for (size_t i = 0; i < 3; i++)
		tmpl_clear(&a->t[i]);
	free(a);
}

/* Does any object (of class cls, or any class) with this label or this id exist? */
static CK_RV exists_any(struct p11_worker *w, const struct create_arg *a, bool certs_only,
			bool *out)
{
	static const CK_OBJECT_CLASS all[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE};
	CK_OBJECT_HANDLE h;
	size_t n = 0;
	*out = false;
	for (size_t i = certs_only ? 2 : 0; i < BS_ARRAY_SIZE(all); i++) {
		CK_RV rv = p11_find(w, all[i], a->label, NULL, 0, &h, 1, &n);
		if (rv == CKR_OK && n == 0 && a->id_len > 0)
			rv = p11_find(w, all[i], "", a->id, a->id_len, &h, 1, &n);
		if (rv != CKR_OK)
			return rv;
		if (n > 0) {
			*out = true;
			return CKR_OK;
		}
	}
	return CKR_OK;
}

static CK_RV create_job(struct p11_worker *w, void *p)
{
	struct create_arg *a = p;
	CK_FUNCTION_LIST *f = w->tok->p11->f;
	CK_RV rv = exists_any(w, a, a->check_certs_only, &a->exists);
	if (rv != CKR_OK || a->exists)
		return rv;
	CK_OBJECT_HANDLE made[3];
	size_t nm = 0;
	for (size_t i = 0; i < a->nt; i++) {
		rv = f->C_CreateObject(w->sess, a->t[i].a, a->t[i].n, &made[nm]);
		if (rv != CKR_OK)
			break;
		nm++;
	}
	if (rv != CKR_OK) /* all or nothing */
		for (size_t i = 0; i < nm; i++)
			(void)f->C_DestroyObject(w->sess, made[i]);
	return rv;
}

static int check_label_id(const char *label, const uint8_t *id, size_t id_len,
			  struct bs_error *err)
{
	if (label == NULL || label[0] == '\0' || strlen(label) >= BS_P11_LABEL_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "token object label must be 1..%d bytes",
				    BS_P11_LABEL_MAX - 1);
	if (id_len > BS_P11_ID_MAX || (id_len > 0 && id == NULL))
		return bs_error_set(err, BS_ERR_INVALID, "token object id must be at most %d bytes",
				    BS_P11_ID_MAX);
	return 0;
}

static int run_create(struct bs_p11 *p11, const char *token_uri, struct create_arg *a,
		      const char *what, struct bs_error *err)
{
	struct p11_tok *t;
	int rc = 0;
	for (size_t i = 0; i < a->nt; i++)
		if (a->t[i].fail)
			rc = bs_error_ssl(err, BS_ERR_CRYPTO, "%s: cannot encode the objects", what);
	if (rc == 0)
		rc = p11_tok_get_text(p11, token_uri, &t, err);
	if (rc != 0) {
		create_arg_free(a);
		return rc;
	}
	struct p11_job *j = NULL;
	rc = p11_run(t, create_job, a, create_arg_free, &j, what, err);
	if (rc != 0)
		return rc;
	a = j->arg;
	if (a->exists)
		rc = bs_error_set(err, BS_ERR_INVALID, "token '%s' already has an object labelled "
				  "'%s' or with that id; not overwritten", t->name, a->label);
	p11_job_release(p11, j);
	return rc;
}

static struct create_arg *create_arg_new(const char *label, const uint8_t *id, size_t id_len)
{
	struct create_arg *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	memcpy(a->label, label, strlen(label) + 1);
	if (id_len > 0)
		memcpy(a->id, id, id_len);
	a->id_len = id_len;
	return a;
}

int bs_p11_import(struct bs_p11 *p11, const char *token_uri, EVP_PKEY *priv, X509 *cert,
		  const char *label, const uint8_t *id, size_t id_len, struct bs_error *err)
{
	int rc = check_label_id(label, id, id_len, err);
	if (rc != 0)
		return rc;
	if (priv == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "import: no private key");
	int type = EVP_PKEY_get_base_id(priv);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
		return bs_error_set(err, BS_ERR_KEY, "import: only RSA and EC keys are supported");
	if (cert != NULL && X509_check_private_key(cert, priv) != 1) {
		ERR_clear_error();
		return bs_error_set(err, BS_ERR_KEY, "import: certificate and key do not match");
	}
	struct create_arg *a = create_arg_new(label, id, id_len);
	if (a == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	t_keys(&a->t[0], &a->t[1], priv, label, id, id_len);
	a->nt = 2;
	if (cert != NULL) {
		t_cert(&a->t[2], cert, label, id, id_len);
		a->nt = 3;
	}
	return run_create(p11, token_uri, a, "importing a key", err);
}

int bs_p11_write_cert(struct bs_p11 *p11, const char *token_uri, X509 *cert,
		      const char *label, const uint8_t *id, size_t id_len, struct bs_error *err)
{
	int rc = check_label_id(label, id, id_len, err);
	if (rc != 0)
		return rc;
	if (cert == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "write_cert: no certificate");
	struct create_arg *a = create_arg_new(label, id, id_len);
	if (a == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	t_cert(&a->t[0], cert, label, id, id_len);
	a->nt = 1;
	a->check_certs_only = true;
	return run_create(p11, token_uri, a, "writing a certificate", err);
}
