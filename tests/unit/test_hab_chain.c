/* Unit tests for the HAB4 key chain rules the CSF compiler enforces at signing time
 * (src/formats/hab/chain.c, csf_sign.c) and the server bundle rules (bundle.c).
 *
 * Every PKI is made here with OpenSSL (RSA and ECDSA, CA and non-CA SRKs, hash-only SRK
 * entries), so each rule has an input that breaks exactly it. The accepted forms are
 * checked with the offline verifier; every refusal asserts the exact code, the message
 * (CSF file:line, the certificate, the reason) and that no output came out. The field
 * cases (tests/fixtures/hab-field/fastauth-nocak, rsa-pss) run as users wrote them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "formats/hab/bundle.h"
#include "formats/hab/csf.h"
#include "formats/hab/csf_sign.h"
#include "formats/hab/srk.h"
#include "keys/store.h"
#include "testutil.h"

enum kt { KT_RSA, KT_EC, KT_PSS };

/* A generated PKI in a temp dir: crts/NAME_crt.pem, keys/NAME_key.pem, img.bin. */
struct pki {
	char *dir;
	EVP_PKEY *srk_key[4];
	X509 *srk[4];
};

static EVP_PKEY *genkey(enum kt t)
{
	EVP_PKEY *k = NULL;
	if (t == KT_EC) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, t == KT_PSS ? "RSA-PSS" : "RSA",
							     NULL);
		assert_non_null(c);
		assert_int_equal(EVP_PKEY_keygen_init(c), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 1024), 1);
		assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
		EVP_PKEY_CTX_free(c);
	}
	assert_non_null(k);
	return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for `key` (CN=cn) signed by `ikey` (issuer certificate `issuer`, NULL =
 * self-signed); `pss_sig` signs with RSA-PSS. */
static X509 *mkcert(const char *cn, EVP_PKEY *key, bool ca, X509 *issuer, EVP_PKEY *ikey,
		    bool pss_sig)
{
	static long serial = 1;
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(x, key);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints, ca ? "critical,CA:TRUE"
								: "CA:FALSE");
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	assert_int_equal(EVP_DigestSignInit(mc, &pc, EVP_sha256(), NULL, ikey ? ikey : key), 1);
	if (pss_sig)
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0);
	assert_true(X509_sign_ctx(x, mc) > 0);
	EVP_MD_CTX_free(mc);
	return x;
}

static void write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/crts/%s_crt.pem", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	snprintf(path, sizeof(path), "%s/keys/%s_key.pem", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/* Four SRKs (CA-flagged or not) of type t; SRK_table.bin with hash-only entries from
 * `hash_mask`; a 48 KiB img.bin. */
static void pki_new(struct pki *p, enum kt t, bool ca, uint32_t hash_mask)
{
	memset(p, 0, sizeof(*p));
	p->dir = bs_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/crts", p->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/keys", p->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "SRK%d", i + 1);
		p->srk_key[i] = genkey(t);
		p->srk[i] = mkcert(name, p->srk_key[i], ca, NULL, NULL, false);
		write_pem(p->dir, name, p->srk[i], p->srk_key[i]);
	}
	uint8_t *table = NULL, fuse[64];
	size_t tlen = 0, flen = 0;
	struct bs_srk_build_opts o = {.md_nid = NID_sha256, .hash_only_mask = hash_mask};
	struct bs_error err = {0};
	if (bs_srk_table_build(&table, &tlen, fuse, &flen, p->srk, 4, &o, &err) != 0)
		fail_msg("%s", err.msg);
	snprintf(path, sizeof(path), "%s/crts/SRK_table.bin", p->dir);
	bs_write(path, table, tlen);
	free(table);
	uint8_t *img = calloc(1, 0xC000);
	assert_non_null(img);
	snprintf(path, sizeof(path), "%s/img.bin", p->dir);
	bs_write(path, img, 0xC000);
	free(img);
}

static void pki_free(struct pki *p)
{
	for (int i = 0; i < 4; i++) {
		X509_free(p->srk[i]);
		EVP_PKEY_free(p->srk_key[i]);
	}
	bs_tmpdir_free(p->dir);
}

/* A leaf (or CA) certificate NAME issued by issuer/ikey, with a fresh key of type t. */
static void pki_cert(struct pki *p, const char *name, enum kt t, bool ca, X509 *issuer,
		     EVP_PKEY *ikey, bool pss_sig, X509 **xout, EVP_PKEY **kout)
{
	EVP_PKEY *k = genkey(t);
	X509 *x = mkcert(name, k, ca, issuer, ikey, pss_sig);
	write_pem(p->dir, name, x, k);
	if (xout != NULL)
		*xout = x;
	else
		X509_free(x);
	if (kout != NULL)
		*kout = k;
	else
		EVP_PKEY_free(k);
}


struct run {
	bool allow_unbootable, refuse_root_keys;
};

/* Parse `text` as "t.csf" and sign it with dir as key store and data directory. */
static int sign_text(const char *dir, const char *csfname, const char *text,
		     const struct run *r, struct bs_error *err)
{
	struct bs_csf *csf = NULL;
	struct bs_csf_parse_opts po = {0};
	int rc = bs_csf_parse(&csf, text, strlen(text), csfname, &po, err);
	if (rc != 0)
		fail_msg("parse: %s", err->msg);
	struct bs_store *store = NULL;
	assert_int_equal(bs_store_open_dir(&store, dir, true, err), 0);
	struct bs_hab_sign_opts o = {
		.keys = bs_store_key_source(store),
		.data = {.open = bs_test_dir_open, .ctx = (void *)dir},
		.signing_time = 1700000000,
		.allow_unbootable = r ? r->allow_unbootable : false,
		.refuse_root_keys = r ? r->refuse_root_keys : false,
	};
	uint8_t *out = (uint8_t *)"sentinel";
	size_t len = 99;
	rc = bs_hab_sign(&out, &len, csf, &o, NULL, err);
	if (rc != 0) {
		assert_null(out);
		assert_int_equal(len, 0);
	} else {
		assert_non_null(out);
		assert_true(len > 0);
	}
	free(out);
	bs_store_free(store);
	bs_csf_free(csf);
	return rc;
}

static int sign_file(const char *dir, const char *csfname, const struct run *r,
		     struct bs_error *err)
{
	char rel[512];
	size_t len;
	snprintf(rel, sizeof(rel), "%s/%s", dir, csfname);
	uint8_t *d = NULL;
	assert_int_equal(bs_read_file(&d, &len, rel, 1u << 20, err), 0);
	char *text = calloc(1, len + 1);
	assert_non_null(text);
	memcpy(text, d, len);
	free(d);
	int rc = sign_text(dir, csfname, text, r, err);
	free(text);
	return rc;
}

static void expect(int rc, const struct bs_error *err, int code, const char *msg)
{
	if (rc != code)
		fail_msg("expected %d, got %d: %s", code, rc, err->msg);
	if (msg != NULL && strcmp(err->msg, msg) != 0)
		fail_msg("message\n  \"%s\"\nis not\n  \"%s\"", err->msg, msg);
}

#define HDR                                                                                  \
	"[Header]\nVersion = 4.5\nHash Algorithm = sha256\nEngine = ANY\n"                   \
	"Engine Configuration = 0\nCertificate Format = X509\nSignature Format = CMS\n"
/* line 8 */
#define SRK(idx) "[Install SRK]\nFile = \"crts/SRK_table.bin\"\nSource index = " idx "\n"
/* lines 11-12 */
#define CSFK(name) "[Install CSFK]\nFile = \"crts/" name "_crt.pem\"\n[Authenticate CSF]\n"
/* lines 14-17 */
#define KEY(vfy, tgt, name)                                                                  \
	"[Install Key]\nVerification index = " vfy "\nTarget index = " tgt                   \
	"\nFile = \"crts/" name "_crt.pem\"\n"
#define DATA(vfy)                                                                            \
	"[Authenticate Data]\nVerification index = " vfy                                   \
	"\nBlocks = 0x87800000 0x0 0xC000 \"img.bin\"\n"
#define NOCAK(name) "[Install NOCAK]\nFile = \"crts/" name "_crt.pem\"\n[Authenticate CSF]\n"

/* A normal PKI: CSF1/IMG1 under SRK 0 (or `srk`); the classic CSF signs. */
static void normal_pki(struct pki *p, enum kt t, int srk)
{
	pki_new(p, t, true, 0);
	pki_cert(p, "CSF1", t, false, p->srk[srk], p->srk_key[srk], false, NULL, NULL);
	pki_cert(p, "IMG1", t, false, p->srk[srk], p->srk_key[srk], false, NULL, NULL);
}

static void test_hab_chain__correct_pki_signs_rsa_and_ec(void **state)
{
	(void)state;
	const enum kt kts[] = {KT_RSA, KT_EC};
	for (size_t i = 0; i < 2; i++) {
		struct pki p;
		normal_pki(&p, kts[i], 2);
		struct bs_error err = {0};
		expect(sign_text(p.dir, "t.csf", HDR SRK("2") CSFK("CSF1") KEY("0", "2", "IMG1")
				 DATA("2"), NULL, &err), &err, 0, NULL);
		/* what a server sets: CSF/IMG keys still sign */
		struct run r = {.refuse_root_keys = true};
		expect(sign_text(p.dir, "t.csf", HDR SRK("2") CSFK("CSF1") KEY("0", "2", "IMG1")
				 DATA("2"), &r, &err), &err, 0, NULL);
		pki_free(&p);
	}
}

static void test_hab_chain__csfk_from_another_srk(void **state)
{
	(void)state;
	const enum kt kts[] = {KT_RSA, KT_EC};
	for (size_t i = 0; i < 2; i++) {
		struct pki p;
		normal_pki(&p, kts[i], 1);
		struct bs_error err = {0};
		const char *csf = HDR SRK("0") CSFK("CSF1") KEY("0", "2", "IMG1") DATA("2");
		expect(sign_text(p.dir, "t.csf", csf, NULL, &err), &err, BS_ERR_SEMANTIC,
		       "t.csf:12:1: [Install CSFK]: certificate \"crts/CSF1_crt.pem\" is not "
		       "signed by SRK 0, which verifies it; it is signed by SRK 1");
		/* only the explicit flag writes it */
		struct run r = {.allow_unbootable = true};
		expect(sign_text(p.dir, "t.csf", csf, &r, &err), &err, 0, NULL);
		pki_free(&p);
	}
}

static void test_hab_chain__install_key_wrong_slot_and_non_ca(void **state)
{
	(void)state;
	struct pki p;
	normal_pki(&p, KT_RSA, 0);
	X509 *img1 = NULL;
	EVP_PKEY *img1k = NULL;
	/* IMGCA: a CA image key under SRK 0; IMG2 under IMGCA; IMG3 under the non-CA IMG2 */
	X509 *imgca = NULL, *img2 = NULL;
	EVP_PKEY *imgcak = NULL, *img2k = NULL;
	pki_cert(&p, "IMGCA", KT_RSA, true, p.srk[0], p.srk_key[0], false, &imgca, &imgcak);
	pki_cert(&p, "IMG2", KT_RSA, false, imgca, imgcak, false, &img2, &img2k);
	pki_cert(&p, "IMG3", KT_RSA, false, img2, img2k, false, NULL, NULL);
	pki_cert(&p, "IMGX", KT_RSA, false, p.srk[3], p.srk_key[3], false, &img1, &img1k);
	struct bs_error err = {0};
	/* a CA key in slot 3 verifies IMG2 into slot 2: the chain HAB walks */
	expect(sign_text(p.dir, "t.csf", HDR SRK("0") CSFK("CSF1") KEY("0", "3", "IMGCA")
			 KEY("3", "2", "IMG2") DATA("2"), NULL, &err), &err, 0, NULL);
	/* IMG2 named with Verification index 0: SRK 0 did not sign it, slot 3 did */
	expect(sign_text(p.dir, "t.csf", HDR SRK("0") CSFK("CSF1") KEY("0", "3", "IMGCA")
			 KEY("0", "2", "IMG2") DATA("2"), NULL, &err), &err, BS_ERR_SEMANTIC,
	       "t.csf:21:1: [Install Key]: certificate \"crts/IMG2_crt.pem\" is not signed by "
	       "SRK 0, which verifies it; it is signed by the key in slot 3");
	/* IMG3 under the non-CA IMG2: HAB refuses a non-CA verification key */
	expect(sign_text(p.dir, "t.csf", HDR SRK("0") CSFK("CSF1") KEY("0", "3", "IMGCA")
			 KEY("3", "2", "IMG2") KEY("2", "4", "IMG3") DATA("4"), NULL, &err), &err,
	       BS_ERR_SEMANTIC,
	       "t.csf:25:1: [Install Key]: certificate \"crts/IMG3_crt.pem\": the key in slot 2 "
	       "is not a CA key and cannot verify further keys (HAB answers HAB_INV_KEY); it "
	       "needs basicConstraints CA:TRUE");
	/* signed by no key HAB holds */
	expect(sign_text(p.dir, "t.csf", HDR SRK("0") CSFK("CSF1") KEY("0", "2", "IMGX")
			 DATA("2"), NULL, &err), &err, BS_ERR_SEMANTIC,
	       "t.csf:17:1: [Install Key]: certificate \"crts/IMGX_crt.pem\" is not signed by "
	       "SRK 0, which verifies it; it is signed by SRK 3");
	/* data signed with the CA key in slot 3 */
	expect(sign_text(p.dir, "t.csf", HDR SRK("0") CSFK("CSF1") KEY("0", "3", "IMGCA")
			 DATA("3"), NULL, &err), &err, BS_ERR_SEMANTIC,
	       "t.csf:18:1: [Authenticate Data] Verification index = 3: the key in slot 3 is a "
	       "CA key; HAB signs data only with non-CA keys (HAB_INV_KEY)");
	X509_free(imgca);
	X509_free(img2);
	X509_free(img1);
	EVP_PKEY_free(imgcak);
	EVP_PKEY_free(img2k);
	EVP_PKEY_free(img1k);
	pki_free(&p);
}

static void test_hab_chain__fast_auth_rules(void **state)
{
	(void)state;
	const enum kt kts[] = {KT_RSA, KT_EC};
	for (size_t i = 0; i < 2; i++) {
		struct pki p;
		struct bs_error err = {0};
		/* non-CA SRKs: the selected entry's own certificate signs */
		pki_new(&p, kts[i], false, 0);
		expect(sign_text(p.dir, "t.csf", HDR SRK("1") NOCAK("SRK2") DATA("0"), NULL, &err),
		       &err, 0, NULL);
		expect(sign_text(p.dir, "t.csf", HDR SRK("0") NOCAK("SRK2") DATA("0"), NULL, &err),
		       &err, BS_ERR_SEMANTIC,
		       "t.csf:12:1: [Install NOCAK]: certificate \"crts/SRK2_crt.pem\": fast "
		       "authentication signs with the selected SRK entry's own key, but this "
		       "certificate is not SRK 0's (it holds SRK 1's key)");
		/* refuse_root_keys: the NOCAK key is the SRK key, never loaded from a file */
		struct run r = {.refuse_root_keys = true};
		expect(sign_text(p.dir, "t.csf", HDR SRK("1") NOCAK("SRK2") DATA("0"), &r, &err),
		       &err, BS_ERR_POLICY,
		       "t.csf:12:1: \"crts/SRK2_crt.pem\" needs an SRK or CA private key, which this "
		       "server never loads from a key bundle; sign with CSF/IMG keys (fast "
		       "authentication: keep the SRK key on a token, pkcs11: URI)");
		pki_free(&p);
		/* CA SRKs cannot do fast authentication */
		pki_new(&p, kts[i], true, 0);
		expect(sign_text(p.dir, "t.csf", HDR SRK("0") NOCAK("SRK1") DATA("0"), NULL, &err),
		       &err, BS_ERR_SEMANTIC,
		       "t.csf:12:1: [Install NOCAK]: certificate \"crts/SRK1_crt.pem\": fast "
		       "authentication needs non-CA SRKs, but SRK 0 carries the CA flag (HAB "
		       "answers HAB_INV_KEY); build the SRK table from certificates without "
		       "CA:TRUE");
		/* and a non-CA SRK cannot certify a CSFK */
		pki_free(&p);
		pki_new(&p, kts[i], false, 0);
		pki_cert(&p, "CSF1", kts[i], false, p.srk[0], p.srk_key[0], false, NULL, NULL);
		pki_cert(&p, "IMG1", kts[i], false, p.srk[0], p.srk_key[0], false, NULL, NULL);
		expect(sign_text(p.dir, "t.csf", HDR SRK("0") CSFK("CSF1") KEY("0", "2", "IMG1")
				 DATA("2"), NULL, &err), &err, BS_ERR_SEMANTIC,
		       "t.csf:12:1: [Install CSFK]: certificate \"crts/CSF1_crt.pem\": SRK 0 is not "
		       "a CA key and cannot verify further keys (HAB answers HAB_INV_KEY); it needs "
		       "basicConstraints CA:TRUE");
		pki_free(&p);
	}
}

static void test_hab_chain__hash_only_srk_entry(void **state)
{
	(void)state;
	struct pki p;
	pki_new(&p, KT_EC, true, 0x5); /* entries 0 and 2 hash-only */
	pki_cert(&p, "CSF1", KT_EC, false, p.srk[1], p.srk_key[1], false, NULL, NULL);
	pki_cert(&p, "IMG1", KT_EC, false, p.srk[1], p.srk_key[1], false, NULL, NULL);
	struct bs_error err = {0};
	expect(sign_text(p.dir, "t.csf", HDR SRK("1") CSFK("CSF1") KEY("0", "2", "IMG1")
			 DATA("2"), NULL, &err), &err, 0, NULL);
	expect(sign_text(p.dir, "t.csf", HDR SRK("2") CSFK("CSF1") KEY("0", "2", "IMG1")
			 DATA("2"), NULL, &err), &err, BS_ERR_SEMANTIC,
	       "t.csf:9:1: [Install SRK]: SRK table \"crts/SRK_table.bin\": Source index = 2 "
	       "selects a hash-only SRK table entry (it holds only a digest, no key); select an "
	       "entry written with its key");
	pki_free(&p);
}

static void test_hab_chain__rsa_pss_refused_everywhere(void **state)
{
	(void)state;
	struct pki p;
	normal_pki(&p, KT_RSA, 0);
	struct bs_error err = {0};
	/* a PSS key, and a PKCS#1 key with a PSS signature, as CSFK / image key */
	pki_cert(&p, "CSFP", KT_PSS, false, p.srk[0], p.srk_key[0], false, NULL, NULL);
	pki_cert(&p, "IMGS", KT_RSA, false, p.srk[0], p.srk_key[0], true, NULL, NULL);
	expect(sign_text(p.dir, "t.csf", HDR SRK("0") CSFK("CSFP") KEY("0", "2", "IMG1")
			 DATA("2"), NULL, &err), &err, BS_ERR_SEMANTIC,
	       "t.csf:12:1: [Install CSFK]: certificate \"crts/CSFP_crt.pem\": HAB4 cannot use "
	       "RSA-PSS keys or signatures (they are for AHAB); use RSA (PKCS#1 v1.5) or ECDSA "
	       "keys");
	expect(sign_text(p.dir, "t.csf", HDR SRK("0") CSFK("CSF1") KEY("0", "2", "IMGS")
			 DATA("2"), NULL, &err), &err, BS_ERR_SEMANTIC,
	       "t.csf:17:1: [Install Key]: certificate \"crts/IMGS_crt.pem\": HAB4 cannot use "
	       "RSA-PSS keys or signatures (they are for AHAB); use RSA (PKCS#1 v1.5) or ECDSA "
	       "keys");
	/* an SRK table whose record says PSS (0x22): srktool writes such tables */
	char path[4096];
	snprintf(path, sizeof(path), "%s/crts/SRK_table.bin", p.dir);
	size_t tlen;
	uint8_t *t = NULL;
	assert_int_equal(bs_read_file(&t, &tlen, path, 8192, &err), 0);
	assert_int_equal(t[4], 0xE1);
	assert_int_equal(t[7], 0x21);
	t[7] = 0x22;
	bs_write(path, t, tlen);
	free(t);
	expect(sign_text(p.dir, "t.csf", HDR SRK("1") CSFK("CSF1") KEY("0", "2", "IMG1")
			 DATA("2"), NULL, &err), &err, BS_ERR_SEMANTIC,
	       "t.csf:9:1: [Install SRK]: SRK table \"crts/SRK_table.bin\": SRK table entry 0 "
	       "(SRK1) is an RSA-PSS key: HAB4 cannot use RSA-PSS keys or signatures (they are "
	       "for AHAB); use RSA (PKCS#1 v1.5) or ECDSA keys");
	/* srk -h 4 refuses a PSS certificate before it builds anything */
	EVP_PKEY *k = genkey(KT_PSS);
	X509 *x = mkcert("SRKP", k, true, NULL, NULL, false);
	X509 *certs[2] = {p.srk[0], x};
	uint8_t *table = (uint8_t *)"x", fuse[64];
	size_t tl = 1, fl = 1;
	assert_int_equal(bs_srk_table_build(&table, &tl, fuse, &fl, certs, 2, NULL, &err),
			 BS_ERR_SEMANTIC);
	assert_null(table);
	assert_string_equal(err.msg, "certificate 2: HAB4 cannot use RSA-PSS keys or signatures "
			    "(they are for AHAB); use RSA (PKCS#1 v1.5) or ECDSA keys");
	X509_free(x);
	EVP_PKEY_free(k);
	pki_free(&p);
}

/* tests/fixtures/hab-field/fastauth-nocak: a.csf signs; b.csf and c.csf are refused with
 * their cause; d.csf and e.csf stay refused by the parser. */
static void test_hab_chain__field_fastauth_nocak(void **state)
{
	(void)state;
	const char *dir = bs_fixture("hab-field/fastauth-nocak");
	struct bs_error err = {0};
	expect(sign_file(dir, "a.csf", NULL, &err), &err, 0, NULL);
	expect(sign_file(dir, "b.csf", NULL, &err), &err, BS_ERR_SEMANTIC,
	       "b.csf:12:1: [Install NOCAK]: certificate "
	       "\"fa/crts/SRK2_sha256_2048_65537_v3_usr_crt.pem\": fast authentication signs with "
	       "the selected SRK entry's own key, but this certificate is not SRK 0's (it holds "
	       "SRK 1's key)");
	expect(sign_file(dir, "c.csf", NULL, &err), &err, BS_ERR_SEMANTIC,
	       "c.csf:12:1: [Install NOCAK]: certificate "
	       "\"ca/crts/SRK1_sha256_2048_65537_v3_ca_crt.pem\": fast authentication needs "
	       "non-CA SRKs, but SRK 0 carries the CA flag (HAB answers HAB_INV_KEY); build the "
	       "SRK table from certificates without CA:TRUE");
	/* what the field did before: --allow-unbootable reproduces the blob */
	struct run r = {.allow_unbootable = true};
	expect(sign_file(dir, "b.csf", &r, &err), &err, 0, NULL);
}

/* tests/fixtures/hab-field/rsa-pss: NXP's PKI script with RSA-PSS keys. */
static void test_hab_chain__field_rsa_pss(void **state)
{
	(void)state;
	const char *dir = bs_fixture("hab-field/rsa-pss");
	struct bs_error err = {0};
	expect(sign_file(dir, "csf.txt", NULL, &err), &err, BS_ERR_SEMANTIC,
	       "csf.txt:9:1: [Install SRK]: SRK table \"p/crts/SRK_1_2_3_4_table.bin\": SRK table "
	       "entry 0 (SRK1) is an RSA-PSS key: HAB4 cannot use RSA-PSS keys or signatures "
	       "(they are for AHAB); use RSA (PKCS#1 v1.5) or ECDSA keys");
}

static void test_hab_chain__bundle_member_names(void **state)
{
	(void)state;
	assert_true(bs_hab_bundle_member_is_root_key("keys/SRK1_sha256_2048_65537_v3_ca_key.pem"));
	assert_true(bs_hab_bundle_member_is_root_key("keys/CA1_sha256_2048_65537_v3_ca_key.der"));
	assert_true(bs_hab_bundle_member_is_root_key("./keys/srk2_key.pem"));
	assert_true(bs_hab_bundle_member_is_root_key("cst-3.3.2/keys/SRK4_key.pem"));
	assert_false(bs_hab_bundle_member_is_root_key("crts/SRK1_sha256_2048_65537_v3_ca_crt.pem"));
	assert_false(bs_hab_bundle_member_is_root_key("keys/CSF1_1_sha256_2048_65537_v3_usr_key.pem"));
	assert_false(bs_hab_bundle_member_is_root_key("keys/IMG1_1_key.pem"));
	assert_false(bs_hab_bundle_member_is_root_key("keys/key_pass.txt"));
	assert_false(bs_hab_bundle_member_is_root_key("keys/"));
	assert_false(bs_hab_bundle_member_is_root_key("SRK1_key.pem"));
	assert_false(bs_hab_bundle_member_is_root_key("mykeys/SRK1_key.pem"));
	assert_false(bs_hab_bundle_member_is_root_key(NULL));
	assert_true(bs_hab_bundle_member_wanted("crts/SRK_1_2_3_4_table.bin", false));
	assert_true(bs_hab_bundle_member_wanted("crts/SRK1_sha256_2048_65537_v3_ca_crt.pem", true));
	assert_true(bs_hab_bundle_member_wanted("keys/CSF1_1_key.pem", false));
	assert_true(bs_hab_bundle_member_wanted("keys/key_pass.txt", false));
	assert_false(bs_hab_bundle_member_wanted("keys/key_pass.txt", true));
	assert_false(bs_hab_bundle_member_wanted("keys/CSF1_1_key.pem", true));
	assert_false(bs_hab_bundle_member_wanted("keys/SRK1_key.pem", false));
	assert_false(bs_hab_bundle_member_wanted("keys/CA1_key.pem", false));
	assert_false(bs_hab_bundle_member_wanted("openssl.cnf", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hab_chain__correct_pki_signs_rsa_and_ec),
		cmocka_unit_test(test_hab_chain__csfk_from_another_srk),
		cmocka_unit_test(test_hab_chain__install_key_wrong_slot_and_non_ca),
		cmocka_unit_test(test_hab_chain__fast_auth_rules),
		cmocka_unit_test(test_hab_chain__hash_only_srk_entry),
		cmocka_unit_test(test_hab_chain__rsa_pss_refused_everywhere),
		cmocka_unit_test(test_hab_chain__field_fastauth_nocak),
		cmocka_unit_test(test_hab_chain__field_rsa_pss),
		cmocka_unit_test(test_hab_chain__bundle_member_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
