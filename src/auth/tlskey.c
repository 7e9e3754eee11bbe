/* The HTTPS server key behind the key interface (tlskey.h). GnuTLS calls sign_hash for
 * every algorithm that signs a digest: RSA PKCS#1 v1.5 arrives as GNUTLS_SIGN_RSA_RAW with
 * the DigestInfo already encoded (read back here to the digest and its algorithm, so the
 * key signs it as bs_key_sign's PKCS#1 v1.5 with the same DigestInfo), RSA-PSS and ECDSA as
 * the bare digest of the algorithm named; sign_data gets the whole message (Ed25519, and
 * any caller that does not hash first). ECDSA signatures stay DER, as TLS carries them. */
#include "auth/tlskey.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "crypto/key.h"

struct bs_tlskey {
	struct bs_key *key;
	int type;                       /* EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519 */
	char curve[24];                 /* EC: the group's OpenSSL name */
	gnutls_pk_algorithm_t pk;
	int bits;
	gnutls_pcert_st pcerts[BS_TLS_CHAIN_MAX];
	unsigned npcerts;
	gnutls_privkey_t priv;
};

/* What GnuTLS may ask for, and how the key interface signs it. */
struct tls_alg {
	gnutls_sign_algorithm_t alg;
	int type;                 /* key type */
	const char *curve;        /* TLS 1.3 ECDSA: only this curve; NULL = any */
	int md_nid;
	enum bs_sig_scheme scheme;
};

static const struct tls_alg g_algs[] = {
	{GNUTLS_SIGN_RSA_SHA256, EVP_PKEY_RSA, NULL, NID_sha256, BS_SIG_DEFAULT},
	{GNUTLS_SIGN_RSA_SHA384, EVP_PKEY_RSA, NULL, NID_sha384, BS_SIG_DEFAULT},
	{GNUTLS_SIGN_RSA_SHA512, EVP_PKEY_RSA, NULL, NID_sha512, BS_SIG_DEFAULT},
	{GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, EVP_PKEY_RSA, NULL, NID_sha256, BS_SIG_RSA_PSS},
	{GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, EVP_PKEY_RSA, NULL, NID_sha384, BS_SIG_RSA_PSS},
	{GNUTLS_SIGN_RSA_PSS_RSAE_SHA512, EVP_PKEY_RSA, NULL, NID_sha512, BS_SIG_RSA_PSS},
	{GNUTLS_SIGN_ECDSA_SHA256, EVP_PKEY_EC, NULL, NID_sha256, BS_SIG_DEFAULT},
	{GNUTLS_SIGN_ECDSA_SHA384, EVP_PKEY_EC, NULL, NID_sha384, BS_SIG_DEFAULT},
	{GNUTLS_SIGN_ECDSA_SHA512, EVP_PKEY_EC, NULL, NID_sha512, BS_SIG_DEFAULT},
	{GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, EVP_PKEY_EC, "prime256v1", NID_sha256,
	 BS_SIG_DEFAULT},
	{GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, EVP_PKEY_EC, "secp384r1", NID_sha384,
	 BS_SIG_DEFAULT},
	{GNUTLS_SIGN_ECDSA_SECP521R1_SHA512, EVP_PKEY_EC, "secp521r1", NID_sha512,
	 BS_SIG_DEFAULT},
	{GNUTLS_SIGN_EDDSA_ED25519, EVP_PKEY_ED25519, NULL, NID_undef, BS_SIG_DEFAULT},
};

/* The DigestInfo prefixes of RFC 8017 9.2 (note 1), followed by the digest. */
static const struct {
	int md_nid;
	uint8_t prefix[19];
} g_digest_info[] = {
	{NID_sha256, {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		      0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}},
	{NID_sha384, {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		      0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}},
	{NID_sha512, {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		      0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}},
};

static const struct tls_alg *find_alg(const struct bs_tlskey *t, gnutls_sign_algorithm_t alg)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(g_algs); i++) {
		const struct tls_alg *a = &g_algs[i];
		if (a->alg == alg && a->type == t->type &&
		    (a->curve == NULL || strcmp(a->curve, t->curve) == 0))
			return a;
	}
	return NULL;
}

static int tls_info(gnutls_privkey_t priv, unsigned int flags, void *userdata)
{
	(void)priv;
	const struct bs_tlskey *t = userdata;
	switch (flags & ((1u << 20) - 1)) {
	case GNUTLS_PRIVKEY_INFO_PK_ALGO:
		return (int)t->pk;
	case GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS:
		return t->bits;
	case GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO:
		return find_alg(t, (gnutls_sign_algorithm_t)GNUTLS_FLAGS_TO_SIGN_ALGO(flags)) != NULL;
	default:
		return -1; /* not answered: GnuTLS falls back to its own checks */
	}
}

/* Sign `in` (a digest, or with `message` the data itself) and hand the signature to
 * GnuTLS in its allocator. */
static int sign_as(struct bs_tlskey *t, const char *what, const struct bs_sig_params *p,
		   bool message, const uint8_t *in, size_t len, gnutls_datum_t *out)
{
	struct bs_error err = {0};
	uint8_t *sig = NULL;
	size_t sl = 0;
	int rc = message ? bs_key_sign_message(t->key, p, in, len, &sig, &sl, &err)
			 : bs_key_sign(t->key, p, in, len, &sig, &sl, &err);
	if (rc != 0) {
		bs_log(BS_LOG_ERROR, NULL, "TLS handshake: %s with tls_key: %s", what, err.msg);
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	out->data = gnutls_malloc(sl);
	if (out->data != NULL)
		memcpy(out->data, sig, sl);
	out->size = out->data != NULL ? (unsigned)sl : 0;
	free(sig);
	return out->data != NULL ? 0 : GNUTLS_E_MEMORY_ERROR;
}

/* GNUTLS_SIGN_RSA_RAW: hash is a DigestInfo (TLS 1.2; TLS 1.0's MD5+SHA-1 is refused). */
static int sign_digest_info(struct bs_tlskey *t, const gnutls_datum_t *hash,
			    gnutls_datum_t *out)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(g_digest_info); i++) {
		const size_t pl = sizeof(g_digest_info[i].prefix);
		const size_t dl = g_digest_info[i].prefix[pl - 1];
		if (t->type != EVP_PKEY_RSA || hash->size != pl + dl ||
		    memcmp(hash->data, g_digest_info[i].prefix, pl) != 0)
			continue;
		const struct bs_sig_params p = {.md_nid = g_digest_info[i].md_nid};
		return sign_as(t, "RSA PKCS#1 v1.5 signature", &p, false, hash->data + pl, dl,
			       out);
	}
	bs_log(BS_LOG_ERROR, NULL, "TLS handshake: raw RSA signature of %u bytes that is not a "
	       "SHA-2 DigestInfo refused", hash->size);
	return GNUTLS_E_INVALID_REQUEST;
}

/* Both callbacks: the algorithm says it all (PSS salt = hash length, as TLS asks). */
static int sign_cb(struct bs_tlskey *t, gnutls_sign_algorithm_t alg, bool message,
		   const gnutls_datum_t *in, gnutls_datum_t *out)
{
	const struct tls_alg *a = find_alg(t, alg);
	if (a == NULL || (!message && a->md_nid == NID_undef))
		return GNUTLS_E_INVALID_REQUEST;
	const struct bs_sig_params p = {.md_nid = a->md_nid, .scheme = a->scheme,
					.pss_saltlen = -1};
	return sign_as(t, gnutls_sign_get_name(alg), &p, message, in->data, in->size, out);
}

static int tls_sign_hash(gnutls_privkey_t priv, gnutls_sign_algorithm_t alg, void *userdata,
			 unsigned int flags, const gnutls_datum_t *hash, gnutls_datum_t *out)
{
	(void)priv;
	(void)flags;
	if (alg == GNUTLS_SIGN_RSA_RAW)
		return sign_digest_info(userdata, hash, out);
	return sign_cb(userdata, alg, false, hash, out);
}

static int tls_sign_data(gnutls_privkey_t priv, gnutls_sign_algorithm_t alg, void *userdata,
			 unsigned int flags, const gnutls_datum_t *data, gnutls_datum_t *out)
{
	(void)priv;
	(void)flags;
	return sign_cb(userdata, alg, true, data, out);
}

/* The key's type, curve and size as GnuTLS names them. */
static int describe_key(struct bs_tlskey *t, struct bs_error *err)
{
	EVP_PKEY *pub = bs_key_public(t->key);
	t->type = bs_key_type(t->key);
	t->bits = EVP_PKEY_get_bits(pub);
	size_t n = 0;
	if (t->type == EVP_PKEY_RSA) {
		t->pk = GNUTLS_PK_RSA;
		if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
			return 0;
		return bs_error_set(err, BS_ERR_CONFIG, "tls_key: an RSA-PSS-only key (use an "
				    "rsaEncryption key)");
	}
	if (t->type == EVP_PKEY_ED25519) {
		t->pk = GNUTLS_PK_EDDSA_ED25519;
		return 0;
	}
	if (t->type == EVP_PKEY_EC &&
	    EVP_PKEY_get_group_name(pub, t->curve, sizeof(t->curve), &n) == 1 &&
	    (strcmp(t->curve, "prime256v1") == 0 || strcmp(t->curve, "secp384r1") == 0 ||
	     strcmp(t->curve, "secp521r1") == 0)) {
		t->pk = GNUTLS_PK_ECDSA;
		return 0;
	}
	return bs_error_set(err, BS_ERR_CONFIG, "tls_key: TLS needs an RSA, ECDSA P-256, P-384, "
			    "P-521 or Ed25519 key");
}

/* The server certificate's public key must be the key's. */
static int check_pair(struct bs_tlskey *t, const char *cert_path, struct bs_error *err)
{
	gnutls_datum_t der = {0};
	int rc = gnutls_pubkey_export2(t->pcerts[0].pubkey, GNUTLS_X509_FMT_DER, &der);
	if (rc < 0)
		return bs_error_set(err, BS_ERR_CONFIG, "tls_cert %s: public key: %s", cert_path,
				    gnutls_strerror(rc));
	const unsigned char *p = der.data;
	EVP_PKEY *cpub = d2i_PUBKEY(NULL, &p, (long)der.size);
	gnutls_free(der.data);
	bool same = cpub != NULL && EVP_PKEY_eq(cpub, bs_key_public(t->key)) == 1;
	EVP_PKEY_free(cpub);
	if (!same)
		return bs_error_set(err, BS_ERR_CONFIG, "tls_key does not belong to the "
				    "certificate in tls_cert %s", cert_path);
	return 0;
}

int bs_tlskey_new(struct bs_tlskey **out, const char *cert_pem, size_t len,
		  const char *cert_path, struct bs_key *key, struct bs_error *err)
{
	*out = NULL;
	struct bs_tlskey *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		bs_key_free(key);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	t->key = key;
	int rc = key != NULL ? describe_key(t, err)
			     : bs_error_set(err, BS_ERR_CONFIG, "tls_key: no key");
	if (rc != 0)
		goto fail;
	gnutls_datum_t pem = {(unsigned char *)cert_pem, (unsigned)len};
	unsigned n = BS_TLS_CHAIN_MAX;
	int g = len <= (1u << 24)
			? gnutls_pcert_list_import_x509_raw(t->pcerts, &n, &pem,
							    GNUTLS_X509_FMT_PEM,
							    GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED)
			: GNUTLS_E_BASE64_DECODING_ERROR;
	if (g < 0 || n == 0) {
		if (g == GNUTLS_E_SHORT_MEMORY_BUFFER)
			rc = bs_error_set(err, BS_ERR_CONFIG, "tls_cert %s: more than %d "
					  "certificates", cert_path, BS_TLS_CHAIN_MAX);
		else
			rc = bs_error_set(err, BS_ERR_CONFIG, "tls_cert %s: %s", cert_path,
					  g < 0 ? gnutls_strerror(g) : "no certificate");
		goto fail;
	}
	t->npcerts = n;
	if ((rc = check_pair(t, cert_path, err)) != 0)
		goto fail;
	if ((g = gnutls_privkey_init(&t->priv)) < 0 ||
	    (g = gnutls_privkey_import_ext4(t->priv, t, tls_sign_data, tls_sign_hash, NULL, NULL,
					    tls_info, 0)) < 0) {
		rc = bs_error_set(err, BS_ERR_CONFIG, "tls_key: %s", gnutls_strerror(g));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	bs_tlskey_free(t);
	return rc;
}

static _Atomic(struct bs_tlskey *) g_installed;

void bs_tlskey_free(struct bs_tlskey *t)
{
	if (t == NULL)
		return;
	struct bs_tlskey *mine = t;
	atomic_compare_exchange_strong(&g_installed, &mine, NULL);
	gnutls_privkey_deinit(t->priv);
	for (unsigned i = 0; i < t->npcerts; i++)
		gnutls_pcert_deinit(&t->pcerts[i]);
	bs_key_free(t->key);
	free(t);
}

void bs_tlskey_get(struct bs_tlskey *t, gnutls_pcert_st **pcerts, unsigned *n,
		   gnutls_privkey_t *key)
{
	*pcerts = t->pcerts;
	*n = t->npcerts;
	*key = t->priv;
}

int bs_tlskey_install(struct bs_tlskey *t, struct bs_error *err)
{
	struct bs_tlskey *none = NULL;
	if (!atomic_compare_exchange_strong(&g_installed, &none, t) && none != t)
		return bs_error_set(err, BS_ERR_BUSY, "another HTTPS server's key is installed "
				    "in this process");
	return 0;
}

int bs_tlskey_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
		       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		       gnutls_pcert_st **pcert, unsigned int *pcert_length,
		       gnutls_privkey_t *key)
{
	(void)session;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	struct bs_tlskey *t = atomic_load(&g_installed);
	if (t == NULL)
		return -1;
	bs_tlskey_get(t, pcert, pcert_length, key);
	return 0;
}
