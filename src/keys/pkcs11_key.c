/* Token keys: the URI loader (certificate from a type=cert object, private key by the
 * same label/id) and the bs_key backend that signs digests through the session pool.
 * RSA PKCS#1 v1.5: CKM_RSA_PKCS over a DigestInfo built here; RSA-PSS: CKM_RSA_PKCS_PSS
 * (MGF1 with the same hash, sLen = the caller's salt length); ECDSA: CKM_ECDSA over the
 * digest, the raw r||s turned into a DER ECDSA-Sig-Value (the key layer makes it raw
 * again when a format wants r||s). */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/util.h"
#include "keys/pkcs11_int.h"

/* ---- helpers running on a worker ---- */

CK_RV p11_find(struct p11_worker *w, CK_OBJECT_CLASS cls, const char *label,
	       const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *out, size_t max, size_t *n)
{
	CK_FUNCTION_LIST *f = w->tok->p11->f;
	CK_BBOOL tru = CK_TRUE;
	CK_ATTRIBUTE tmpl[4];
	CK_ULONG nt = 0;
	tmpl[nt++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
	tmpl[nt++] = (CK_ATTRIBUTE){CKA_TOKEN, &tru, sizeof(tru)};
	if (label != NULL && label[0] != '\0')
		tmpl[nt++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
	if (id_len > 0)
		tmpl[nt++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, id_len};
	*n = 0;
	CK_RV rv = f->C_FindObjectsInit(w->sess, tmpl, nt);
	if (rv != CKR_OK)
		return rv;
	CK_ULONG got = 0;
	rv = f->C_FindObjects(w->sess, out, (CK_ULONG)max, &got);
	CK_RV rv2 = f->C_FindObjectsFinal(w->sess);
	if (rv == CKR_OK)
		rv = rv2;
	*n = got;
	return rv;
}

CK_RV p11_get_attr(struct p11_worker *w, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
		   uint8_t **out, size_t *len)
{
	CK_FUNCTION_LIST *f = w->tok->p11->f;
	*out = NULL;
	*len = 0;
	CK_ATTRIBUTE a = {type, NULL, 0};
	CK_RV rv = f->C_GetAttributeValue(w->sess, h, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > BS_P11_CERT_MAX)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	a.pValue = malloc(a.ulValueLen + 1);
	if (a.pValue == NULL)
		return CKR_HOST_MEMORY;
	rv = f->C_GetAttributeValue(w->sess, h, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*out = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

static CK_RV check_logged_in(struct p11_worker *w);

/* ---- object lookup job (certificate or private key) ---- */

struct obj_arg {
	CK_OBJECT_CLASS cls;
	char label[BS_P11_LABEL_MAX];
	uint8_t id[BS_P11_ID_MAX];
	size_t id_len;
	size_t n;             /* objects found (capped at BS_P11_FIND_MAX) */
	bool key_exists;      /* cert lookups: a private key with that label/id exists */
	CK_OBJECT_HANDLE h;
	CK_KEY_TYPE ktype;
	uint8_t *value;       /* cert: CKA_VALUE; RSA key: CKA_MODULUS */
	size_t value_len;
	uint64_t gen;
};

static void obj_arg_free(void *p)
{
	struct obj_arg *a = p;
	if (a == NULL)
		return;
	free(a->value);
	free(a);
}

static CK_RV obj_job(struct p11_worker *w, void *p)
{
	struct obj_arg *a = p;
	CK_OBJECT_HANDLE hs[BS_P11_FIND_MAX];
	free(a->value);
	a->value = NULL;
	a->gen = w->sess_gen;
	CK_RV rv = p11_find(w, a->cls, a->label, a->id, a->id_len, hs, BS_P11_FIND_MAX, &a->n);
	if (rv == CKR_OK && a->n == 0 && (rv = check_logged_in(w)) != CKR_OK)
		return rv;
	if (rv != CKR_OK || a->n != 1) {
		if (rv == CKR_OK && a->n == 0 && a->cls == CKO_CERTIFICATE) {
			CK_OBJECT_HANDLE k;
			size_t nk = 0;
			rv = p11_find(w, CKO_PRIVATE_KEY, a->label, a->id, a->id_len, &k, 1, &nk);
			a->key_exists = nk > 0;
		}
		return rv;
	}
	a->h = hs[0];
	if (a->cls == CKO_CERTIFICATE)
		return p11_get_attr(w, a->h, CKA_VALUE, &a->value, &a->value_len);
	CK_ATTRIBUTE kt = {CKA_KEY_TYPE, &a->ktype, sizeof(a->ktype)};
	rv = w->tok->p11->f->C_GetAttributeValue(w->sess, a->h, &kt, 1);
	if (rv == CKR_OK && a->ktype == CKK_RSA)
		rv = p11_get_attr(w, a->h, CKA_MODULUS, &a->value, &a->value_len);
	return rv;
}

static void obj_name(char *out, size_t cap, const struct p11_tok *t, const struct obj_arg *a)
{
	char hex[2 * BS_P11_ID_MAX + 1];
	bs_hex(hex, a->id, a->id_len);
	snprintf(out, cap, "%s/%s%s%s", t->name, a->label, a->id_len ? " id=" : "",
		 a->id_len ? hex : "");
}

/* Resolve the URI, run a lookup of class cls; *job_out holds the obj_arg. */
static int lookup(struct bs_p11 *p11, const char *uri, CK_OBJECT_CLASS cls,
		  struct p11_tok **tok_out, struct p11_job **job_out, struct bs_error *err)
{
	P11KitUri *u = NULL;
	*job_out = NULL;
	int rc = p11_uri_parse(&u, uri, err);
	if (rc != 0)
		return rc;
	struct obj_arg *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		p11_kit_uri_free(u);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	CK_OBJECT_CLASS ucls;
	bool has_cls;
	rc = p11_uri_object(u, a->label, sizeof(a->label), a->id, &a->id_len, &ucls, &has_cls,
			    err);
	if (rc == 0 && a->label[0] == '\0' && a->id_len == 0)
		rc = bs_error_set(err, BS_ERR_INVALID,
				  "pkcs11 URI names no object (object= or id=)");
	if (rc == 0 && has_cls && cls == CKO_CERTIFICATE && ucls != CKO_CERTIFICATE)
		rc = bs_error_set(err, BS_ERR_INVALID,
				  "pkcs11 URI for a certificate must have type=cert or no type");
	if (rc == 0)
		rc = p11_tok_get(p11, u, uri, tok_out, err);
	p11_kit_uri_free(u);
	if (rc != 0) {
		obj_arg_free(a);
		return rc;
	}
	a->cls = cls;
	rc = p11_run(*tok_out, obj_job, a, obj_arg_free, job_out,
		     cls == CKO_CERTIFICATE ? "reading a certificate" : "finding a key", err);
	if (rc != 0)
		return rc;
	a = (*job_out)->arg;
	char name[300];
	obj_name(name, sizeof(name), *tok_out, a);
	if (a->n == 0 && cls == CKO_CERTIFICATE && a->key_exists)
		rc = bs_error_set(err, BS_ERR_NOT_FOUND,
				  "token object %s has a private key but no certificate "
				  "(type=cert) object; import one with 'bootsign hsm import'",
				  name);
	else if (a->n == 0)
		rc = bs_error_set(err, BS_ERR_NOT_FOUND, "token object %s (%s) not found", name,
				  cls == CKO_CERTIFICATE ? "certificate" : "private key");
	else if (a->n > 1)
		rc = bs_error_set(err, BS_ERR_CONFIG,
				  "token object %s is ambiguous: several %s objects match; add "
				  "id= to the URI", name,
				  cls == CKO_CERTIFICATE ? "certificate" : "private key");
	if (rc != 0) {
		p11_job_release(p11, *job_out);
		*job_out = NULL;
	}
	return rc;
}

static int load_cert(void *ctx, const char *uri, X509 **out, struct bs_error *err)
{
	struct bs_p11 *p11 = ctx;
	struct p11_tok *t;
	struct p11_job *j;
	*out = NULL;
	int rc = lookup(p11, uri, CKO_CERTIFICATE, &t, &j, err);
	if (rc != 0)
		return rc;
	struct obj_arg *a = j->arg;
	const unsigned char *p = a->value;
	X509 *x = d2i_X509(NULL, &p, (long)a->value_len);
	if (x == NULL || p != a->value + a->value_len) {
		X509_free(x);
		char name[300];
		obj_name(name, sizeof(name), t, a);
		rc = bs_error_ssl(err, BS_ERR_FORMAT, "token certificate %s is not DER X.509",
				  name);
	} else {
		*out = x;
	}
	p11_job_release(p11, j);
	return rc;
}

/* ---- signing ---- */

struct keyctx {
	struct bs_p11 *p11;
	struct p11_tok *tok;
	char label[BS_P11_LABEL_MAX];
	uint8_t id[BS_P11_ID_MAX];
	size_t id_len;
	CK_KEY_TYPE ktype;
	size_t raw_len;          /* RSA: modulus bytes; EC: 2 * field bytes */
	CK_OBJECT_HANDLE h;      /* cached, valid for generation h_gen (under p11->lock) */
	uint64_t h_gen;
};

struct sign_arg {
	char label[BS_P11_LABEL_MAX];
	uint8_t id[BS_P11_ID_MAX];
	size_t id_len;
	CK_OBJECT_HANDLE h;
	uint64_t h_gen;
	bool h_valid;
	bool not_found;
	CK_MECHANISM_TYPE mech;
	CK_RSA_PKCS_PSS_PARAMS pss;
	uint8_t in[BS_P11_TBS_MAX];
	size_t inlen;
	uint8_t out[BS_P11_SIG_MAX];
	CK_ULONG outlen;
};

static void sign_arg_free(void *p)
{
	if (p != NULL)
		OPENSSL_cleanse(p, sizeof(struct sign_arg));
	free(p);
}

/* Private keys are invisible when the token logged us out (another application logged
 * out, our last session was closed): report that as CKR_USER_NOT_LOGGED_IN (recovered). */
static CK_RV check_logged_in(struct p11_worker *w)
{
	CK_SESSION_INFO si;
	CK_RV rv = w->tok->p11->f->C_GetSessionInfo(w->sess, &si);
	if (rv != CKR_OK)
		return rv;
	if (si.state != CKS_RO_USER_FUNCTIONS && si.state != CKS_RW_USER_FUNCTIONS &&
	    w->tok->p11->pin != NULL)
		return CKR_USER_NOT_LOGGED_IN;
	return CKR_OK;
}

static CK_RV refind(struct p11_worker *w, struct sign_arg *a)
{
	size_t n = 0;
	CK_OBJECT_HANDLE hs[BS_P11_FIND_MAX];
	CK_RV rv = p11_find(w, CKO_PRIVATE_KEY, a->label, a->id, a->id_len, hs, BS_P11_FIND_MAX,
			    &n);
	if (rv != CKR_OK)
		return rv;
	if (n == 0 && (rv = check_logged_in(w)) != CKR_OK)
		return rv;
	if (n != 1) {
		a->not_found = true;
		return CKR_OK;
	}
	a->h = hs[0];
	a->h_gen = w->sess_gen;
	a->h_valid = true;
	return CKR_OK;
}

static CK_RV sign_job(struct p11_worker *w, void *p)
{
	struct sign_arg *a = p;
	CK_FUNCTION_LIST *f = w->tok->p11->f;
	bool fresh = false;
	CK_RV rv;
	if (!a->h_valid || a->h_gen != w->sess_gen) {
		if ((rv = refind(w, a)) != CKR_OK || a->not_found)
			return rv;
		fresh = true;
	}
	CK_MECHANISM m = {a->mech, NULL, 0};
	if (a->mech == CKM_RSA_PKCS_PSS) {
		m.pParameter = &a->pss;
		m.ulParameterLen = sizeof(a->pss);
	}
	rv = f->C_SignInit(w->sess, &m, a->h);
	if ((rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID) && !fresh) {
		if ((rv = refind(w, a)) != CKR_OK || a->not_found)
			return rv;
		rv = f->C_SignInit(w->sess, &m, a->h);
	}
	if (rv != CKR_OK)
		return rv;
	a->outlen = sizeof(a->out);
	return f->C_Sign(w->sess, a->in, (CK_ULONG)a->inlen, a->out, &a->outlen);
}

static int pss_params(int md_nid, CK_RSA_PKCS_PSS_PARAMS *pp, int saltlen)
{
	switch (md_nid) {
	case NID_sha1: pp->hashAlg = CKM_SHA_1; pp->mgf = CKG_MGF1_SHA1; break;
	case NID_sha224: pp->hashAlg = CKM_SHA224; pp->mgf = CKG_MGF1_SHA224; break;
	case NID_sha256: pp->hashAlg = CKM_SHA256; pp->mgf = CKG_MGF1_SHA256; break;
	case NID_sha384: pp->hashAlg = CKM_SHA384; pp->mgf = CKG_MGF1_SHA384; break;
	case NID_sha512: pp->hashAlg = CKM_SHA512; pp->mgf = CKG_MGF1_SHA512; break;
	default: return -1;
	}
	pp->sLen = (CK_ULONG)saltlen;
	return 0;
}

/* DER DigestInfo { AlgorithmIdentifier(md, NULL), OCTET STRING digest }. */
static int digest_info(uint8_t *out, size_t *outlen, int md_nid, const uint8_t *dgst,
		       size_t dlen, struct bs_error *err)
{
	X509_SIG *sig = X509_SIG_new();
	X509_ALGOR *alg = NULL;
	ASN1_OCTET_STRING *os = NULL;
	unsigned char *der = NULL;
	int rc = BS_ERR_CRYPTO;
	if (sig == NULL)
		goto out;
	X509_SIG_getm(sig, &alg, &os);
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(md_nid), V_ASN1_NULL, NULL) ||
	    !ASN1_OCTET_STRING_set(os, dgst, (int)dlen))
		goto out;
	int n = i2d_X509_SIG(sig, &der);
	if (n <= 0 || (size_t)n > *outlen)
		goto out;
	memcpy(out, der, (size_t)n);
	*outlen = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(der);
	X509_SIG_free(sig);
	if (rc != 0)
		return bs_error_ssl(err, rc, "cannot encode DigestInfo");
	return 0;
}

/* The token's r||s as DER into sig (at most *siglen bytes). */
static int ecdsa_to_der(uint8_t *sig, size_t *siglen, const uint8_t *raw, size_t n,
			struct bs_error *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc = bs_ecdsa_raw_to_der(&der, &len, raw, n, err);
	if (rc == 0 && len > *siglen)
		rc = bs_error_set(err, BS_ERR_INTERNAL, "signature buffer too small");
	if (rc == 0) {
		memcpy(sig, der, len);
		*siglen = len;
	}
	free(der);
	return rc;
}

static int p11_sign_digest(void *ctx, const struct bs_sig_params *p, const uint8_t *dgst,
			   size_t dlen, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	struct keyctx *k = ctx;
	int md_nid = p->md_nid;
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	if (md == NULL || (size_t)EVP_MD_get_size(md) != dlen || dlen > 64)
		return bs_error_set(err, BS_ERR_INVALID, "digest of %zu bytes does not match "
				    "digest nid %d", dlen, md_nid);
	struct sign_arg *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	memcpy(a->label, k->label, sizeof(a->label));
	memcpy(a->id, k->id, k->id_len);
	a->id_len = k->id_len;
	pthread_mutex_lock(&k->p11->lock);
	a->h = k->h;
	a->h_gen = k->h_gen;
	a->h_valid = true;
	pthread_mutex_unlock(&k->p11->lock);
	int rc = 0;
	if (k->ktype == CKK_EC) {
		if (p->scheme != BS_SIG_DEFAULT)
			rc = bs_error_set(err, BS_ERR_KEY, "PSS requested for an EC key");
		a->mech = CKM_ECDSA;
		memcpy(a->in, dgst, dlen);
		a->inlen = dlen;
	} else if (p->scheme == BS_SIG_RSA_PSS) {
		a->mech = CKM_RSA_PKCS_PSS;
		if (p->pss_saltlen < 0 || pss_params(md_nid, &a->pss, p->pss_saltlen) != 0)
			rc = bs_error_set(err, BS_ERR_UNSUPPORTED, "RSA-PSS with digest %s",
					  OBJ_nid2sn(md_nid));
		memcpy(a->in, dgst, dlen);
		a->inlen = dlen;
	} else {
		a->mech = CKM_RSA_PKCS;
		a->inlen = sizeof(a->in);
		rc = digest_info(a->in, &a->inlen, md_nid, dgst, dlen, err);
	}
	if (rc != 0) {
		sign_arg_free(a);
		return rc;
	}
	struct p11_job *j = NULL;
	rc = p11_run(k->tok, sign_job, a, sign_arg_free, &j, "signing", err);
	if (rc != 0)
		return rc;
	a = j->arg;
	if (a->not_found) {
		rc = bs_error_set(err, BS_ERR_NOT_FOUND, "token key %s/%s no longer found",
				  k->tok->name, k->label);
		goto out;
	}
	pthread_mutex_lock(&k->p11->lock);
	k->h = a->h;
	k->h_gen = a->h_gen;
	pthread_mutex_unlock(&k->p11->lock);
	if (k->ktype == CKK_EC) {
		if (a->outlen == 0 || a->outlen % 2 != 0 || a->outlen > k->raw_len) {
			rc = bs_error_set(err, BS_ERR_TOKEN, "token returned a %lu-byte ECDSA "
					  "signature", (unsigned long)a->outlen);
			goto out;
		}
		rc = ecdsa_to_der(sig, siglen, a->out, a->outlen, err);
	} else {
		if (a->outlen > *siglen) {
			rc = bs_error_set(err, BS_ERR_INTERNAL, "signature buffer too small");
			goto out;
		}
		memcpy(sig, a->out, a->outlen);
		*siglen = a->outlen;
	}
out:
	p11_job_release(k->p11, j);
	return rc;
}

static void keyctx_free(void *p)
{
	struct keyctx *k = p;
	if (k == NULL)
		return;
	struct bs_p11 *p11 = k->p11;
	free(k);
	p11_unref(p11);
}

static const struct bs_key_ops g_p11_key_ops = {
	.sign_digest = p11_sign_digest,
	.free = keyctx_free,
};

/* Public key of the token key: the given certificate, else the token's certificate. */
static int key_public(struct bs_p11 *p11, const char *uri, X509 *cert, EVP_PKEY **out,
		      struct bs_error *err)
{
	if (cert != NULL) {
		*out = X509_get_pubkey(cert);
		if (*out == NULL)
			return bs_error_ssl(err, BS_ERR_KEY, "certificate has no usable public key");
		return 0;
	}
	X509 *x = NULL;
	int rc = load_cert(p11, uri, &x, err);
	if (rc != 0)
		return rc;
	*out = X509_get_pubkey(x);
	X509_free(x);
	if (*out == NULL)
		return bs_error_ssl(err, BS_ERR_KEY, "token certificate has no usable public key");
	return 0;
}

static int check_match(EVP_PKEY *pub, const struct obj_arg *a, const char *name,
		       size_t *raw_len, struct bs_error *err)
{
	int type = EVP_PKEY_get_base_id(pub);
	if (a->ktype == CKK_RSA && type == EVP_PKEY_RSA) {
		BIGNUM *n = NULL, *tn = BN_bin2bn(a->value, (int)a->value_len, NULL);
		bool same = EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) && tn != NULL &&
			    BN_cmp(n, tn) == 0;
		BN_free(n);
		BN_free(tn);
		if (!same)
			return bs_error_set(err, BS_ERR_KEY, "token key %s does not match its "
					    "certificate (RSA modulus differs)", name);
		*raw_len = (size_t)EVP_PKEY_get_size(pub);
		return 0;
	}
	if (a->ktype == CKK_EC && type == EVP_PKEY_EC) {
		int bits = EVP_PKEY_get_bits(pub);
		*raw_len = 2 * (((size_t)bits + 7) / 8);
		return 0;
	}
	return bs_error_set(err, BS_ERR_KEY, "token key %s type does not match its certificate "
			    "(or is neither RSA nor EC)", name);
}

static int load_key(void *ctx, const char *uri, X509 *cert, struct bs_key **out,
		    struct bs_error *err)
{
	struct bs_p11 *p11 = ctx;
	struct p11_tok *t;
	struct p11_job *j;
	EVP_PKEY *pub = NULL;
	*out = NULL;
	int rc = lookup(p11, uri, CKO_PRIVATE_KEY, &t, &j, err);
	if (rc != 0)
		return rc;
	struct obj_arg *a = j->arg;
	char name[300];
	obj_name(name, sizeof(name), t, a);
	size_t raw_len = 0;
	rc = key_public(p11, uri, cert, &pub, err);
	if (rc == 0)
		rc = check_match(pub, a, name, &raw_len, err);
	if (rc == 0)
		rc = p11_key_make(p11, t, a->label, a->id, a->id_len, a->ktype, pub, a->h, a->gen,
				  out, err);
	else
		EVP_PKEY_free(pub);
	p11_job_release(p11, j);
	return rc;
}

int p11_key_make(struct bs_p11 *p11, struct p11_tok *t, const char *label, const uint8_t *id,
		 size_t id_len, CK_KEY_TYPE ktype, EVP_PKEY *pub, CK_OBJECT_HANDLE h,
		 uint64_t gen, struct bs_key **out, struct bs_error *err)
{
	*out = NULL;
	struct keyctx *k = calloc(1, sizeof(*k));
	if (k == NULL || strlen(label) >= sizeof(k->label) || id_len > sizeof(k->id)) {
		free(k);
		EVP_PKEY_free(pub);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	k->p11 = p11;
	k->tok = t;
	memcpy(k->label, label, strlen(label) + 1);
	if (id_len > 0)
		memcpy(k->id, id, id_len);
	k->id_len = id_len;
	k->ktype = ktype;
	if (ktype == CKK_EC)
		k->raw_len = 2 * (((size_t)EVP_PKEY_get_bits(pub) + 7) / 8);
	else
		k->raw_len = (size_t)EVP_PKEY_get_size(pub);
	k->h = h;
	k->h_gen = gen;
	char hex[2 * BS_P11_ID_MAX + 1], name[300];
	bs_hex(hex, k->id, k->id_len);
	snprintf(name, sizeof(name), "%s/%s%s%s", t->name, k->label, id_len ? " id=" : "",
		 id_len ? hex : "");
	p11_ref(p11);
	return bs_key_new(out, &g_p11_key_ops, k, pub, name, err);
}

const struct bs_uri_loader bs_p11_uri_loader = {
	.load_cert = load_cert,
	.load_key = load_key,
};
