/* Unit tests for the HAB4 PKI ceremony (src/keys/pki.c), certificate issuing through the
 * key interface (src/crypto/x509.c) and the tar.gz packer. Oracles: OpenSSL's own chain
 * verification (X509_verify_cert), PKCS#8 decryption, libarchive reading, srktool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "crypto/x509.h"
#include "crypto/key.h"
#include "formats/hab/pki.h"
#include "keys/p11_keygen.h"
#include "testutil.h"

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);
	assert_non_null(s);
	snprintf(s, n, "%s/%s", a, b);
	return s;
}

static X509 *load_cert(const char *dir, const char *rel)
{
	char *p = join(dir, rel);
	X509 *x = bs_read_pem_cert(p);
	free(p);
	return x;
}

static EVP_PKEY *load_key(const char *dir, const char *rel, const char *pass)
{
	char *p = join(dir, rel);
	EVP_PKEY *k = bs_read_pem_key(p, pass);
	free(p);
	return k;
}

static unsigned mode_of(const char *dir, const char *rel)
{
	char *p = join(dir, rel);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_mode & 07777;
}

/* Number of entries in a directory (without . and ..). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int verify_chain(X509 *leaf, X509 *root, X509 *inter)
{
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_true(st != NULL && untrusted != NULL && ctx != NULL);
	assert_int_equal(X509_STORE_add_cert(st, root), 1);
	if (inter != NULL)
		assert_true(sk_X509_push(untrusted, inter) > 0);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, untrusted), 1);
	int ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(st);
	return ok;
}

/* The outer and TBS signature algorithms agree; RSA carries a NULL parameter, ECDSA none. */
static void check_sigalg(X509 *x, int want_nid, int want_ptype)
{
	const ASN1_BIT_STRING *sig = NULL;
	const X509_ALGOR *outer = NULL;
	X509_get0_signature(&sig, &outer, x);
	const X509_ALGOR *tbs = X509_get0_tbs_sigalg(x);
	assert_int_equal(X509_ALGOR_cmp(outer, tbs), 0);
	const ASN1_OBJECT *obj = NULL;
	int ptype = -1;
	X509_ALGOR_get0(&obj, &ptype, NULL, outer);
	assert_int_equal(OBJ_obj2nid(obj), want_nid);
	assert_int_equal(ptype, want_ptype);
}

static void test_pki__file_tree_p256(void **state)
{
	(void)state;
	char *tmp = bs_tmpdir();
	char *out = join(tmp, "pki");
	struct bs_pki_opts o = {
		.outdir = out, .keytype = BS_PKI_P256, .nsrk = 2, .validity_days = 30,
		.passphrase = "test-pass-1234", .write_tgz = true,
	};
	struct bs_error err = { 0 };
	assert_int_equal(bs_pki_create(&o, &err), 0);
	assert_int_equal(count_entries(tmp), 1); /* no working directory left beside it */

	assert_int_equal(mode_of(out, "."), 0700);
	assert_int_equal(mode_of(out, "keys"), 0700);
	assert_int_equal(mode_of(out, "keys/key_pass.txt"), 0600);
	assert_int_equal(mode_of(out, "keys/CSF1_1_sha256_prime256v1_v3_usr_key.pem"), 0600);
	assert_int_equal(mode_of(out, "keys/SRK2_sha256_prime256v1_v3_ca_key.der"), 0600);
	assert_int_equal(mode_of(out, "imx-cst-keys.tar.gz"), 0600);
	assert_int_equal(mode_of(out, "crts/SRK_1_2_table.bin"), 0644);
	assert_int_equal(mode_of(out, "crts/SRK_1_2_fuse.bin"), 0644);

	X509 *ca = load_cert(out, "crts/CA1_sha256_prime256v1_v3_ca_crt.pem");
	X509 *srk2 = load_cert(out, "crts/SRK2_sha256_prime256v1_v3_ca_crt.pem");
	X509 *img2 = load_cert(out, "crts/IMG2_1_sha256_prime256v1_v3_usr_crt.pem");
	X509 *csf1 = load_cert(out, "crts/CSF1_1_sha256_prime256v1_v3_usr_crt.pem");
	assert_int_equal(X509_check_ca(srk2), 1);
	assert_int_equal(X509_check_ca(img2), 0);
	check_sigalg(ca, NID_ecdsa_with_SHA256, V_ASN1_UNDEF);
	check_sigalg(img2, NID_ecdsa_with_SHA256, V_ASN1_UNDEF);
	assert_true(X509_get_key_usage(srk2) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(img2) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(img2) & KU_KEY_CERT_SIGN);
	assert_non_null(X509_get0_subject_key_id(img2));
	assert_non_null(X509_get0_authority_key_id(img2));
	assert_int_equal(verify_chain(srk2, ca, NULL), 1);
	assert_int_equal(verify_chain(img2, ca, srk2), 1);
	/* CSF1 was issued by SRK1, not SRK2: the chain through SRK2 must not build. */
	assert_int_not_equal(verify_chain(csf1, ca, srk2), 1);

	EVP_PKEY *k = load_key(out, "keys/IMG2_1_sha256_prime256v1_v3_usr_key.pem",
			       "test-pass-1234");
	assert_non_null(k);
	assert_int_equal(X509_check_private_key(img2, k), 1);
	EVP_PKEY_free(k);
	assert_null(load_key(out, "keys/IMG2_1_sha256_prime256v1_v3_usr_key.pem", "wrong"));

	uint8_t *pass = NULL;
	size_t plen = 0;
	char *pp = join(out, "keys/key_pass.txt");
	assert_int_equal(bs_read_file(&pass, &plen, pp, 4096, NULL), 0);
	assert_string_equal((char *)pass, "test-pass-1234\n");
	free(pass);
	free(pp);

	X509_free(ca);
	X509_free(srk2);
	X509_free(img2);
	X509_free(csf1);
	free(out);
	bs_tmpdir_free(tmp);
}

/* Generated passphrase, RSA, 1 SRK, no bundle; the table matches srktool's. */
static void test_pki__file_tree_rsa_generated_pass(void **state)
{
	(void)state;
	char *tmp = bs_tmpdir();
	char *out = join(tmp, "pki");
	assert_int_equal(mkdir(out, 0755), 0); /* an existing empty directory is fine */
	struct bs_pki_opts o = { .outdir = out, .keytype = BS_PKI_RSA2048, .nsrk = 1 };
	struct bs_error err = { 0 };
	assert_int_equal(bs_pki_create(&o, &err), 0);
	char *tgz = join(out, "imx-cst-keys.tar.gz");
	assert_int_not_equal(access(tgz, F_OK), 0);
	free(tgz);

	uint8_t *pass = NULL;
	size_t plen = 0;
	char *pp = join(out, "keys/key_pass.txt");
	assert_int_equal(bs_read_file(&pass, &plen, pp, 4096, NULL), 0);
	assert_int_equal(plen, 49); /* 48 hex characters + newline */
	pass[48] = '\0';
	EVP_PKEY *k = load_key(out, "keys/SRK1_sha256_2048_65537_v3_ca_key.pem", (char *)pass);
	assert_non_null(k);
	X509 *srk1 = load_cert(out, "crts/SRK1_sha256_2048_65537_v3_ca_crt.pem");
	check_sigalg(srk1, NID_sha256WithRSAEncryption, V_ASN1_NULL);
	assert_int_equal(X509_check_private_key(srk1, k), 1);
	X509_free(srk1);
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	EVP_PKEY_free(k);
	bs_free_secret(pass, plen);
	free(pp);

	char *crt = join(out, "crts/SRK1_sha256_2048_65537_v3_ca_crt.pem");
	char *t = join(tmp, "t.bin"), *f = join(tmp, "f.bin");
	const char *argv[] = { "srktool", "-h", "4", "-t", t, "-e", f, "-d", "sha256",
			       "-f", "1", "-c", crt, NULL };
	bs_test_run_ok(argv);
	char *mt = join(out, "crts/SRK_1_table.bin"), *mf = join(out, "crts/SRK_1_fuse.bin");
	const char *c1[] = { "cmp", t, mt, NULL };
	const char *c2[] = { "cmp", f, mf, NULL };
	bs_test_run_ok(c1);
	bs_test_run_ok(c2);
	free(crt);
	free(t);
	free(f);
	free(mt);
	free(mf);
	free(out);
	bs_tmpdir_free(tmp);
}

static void test_pki__bad_options(void **state)
{
	(void)state;
	char *tmp = bs_tmpdir();
	char *out = join(tmp, "pki");
	struct bs_error err = { 0 };
	struct bs_pki_opts o = { .outdir = out, .keytype = BS_PKI_P256, .nsrk = 5 };
	assert_int_equal(bs_pki_create(&o, &err), BS_ERR_INVALID);
	o.nsrk = 1;
	o.validity_days = 40000;
	assert_int_equal(bs_pki_create(&o, &err), BS_ERR_INVALID);
	o.validity_days = 1;
	o.keytype = (enum bs_pki_keytype)42;
	assert_int_equal(bs_pki_create(&o, &err), BS_ERR_INVALID);
	o.keytype = BS_PKI_P256;
	struct bs_p11_keygen *kg = NULL;
	assert_int_equal(bs_p11_keygen_open(&kg, NULL, "pkcs11:token=x", NULL, &err),
			 BS_ERR_INVALID); /* no PIN */
	assert_null(kg);
	o.outdir = NULL;
	assert_int_equal(bs_pki_create(&o, &err), BS_ERR_INVALID);
	assert_int_equal(bs_pki_create(NULL, &err), BS_ERR_INVALID);
	assert_int_equal(count_entries(tmp), 0);
	free(out);
	bs_tmpdir_free(tmp);
}

/* Failures after the working directory exists leave nothing behind. */
static void test_pki__failure_leaves_nothing(void **state)
{
	(void)state;
	char *tmp = bs_tmpdir();
	char *out = join(tmp, "pki");
	struct bs_error err = { 0 };
	/* a passphrase with a line break cannot go into key_pass.txt */
	struct bs_pki_opts o = { .outdir = out, .keytype = BS_PKI_P256, .nsrk = 1,
				 .passphrase = "two\nlines" };
	assert_int_equal(bs_pki_create(&o, &err), BS_ERR_INVALID);
	assert_int_equal(count_entries(tmp), 0);

	/* a non-empty directory is refused and left untouched */
	assert_int_equal(mkdir(out, 0700), 0);
	char *marker = join(out, "marker");
	assert_int_equal(bs_write_file(marker, "x", 1, 0600, true, NULL), 0);
	o.passphrase = NULL;
	assert_int_equal(bs_pki_create(&o, &err), BS_ERR_IO);
	assert_non_null(strstr(err.msg, "not empty"));
	assert_int_equal(count_entries(tmp), 1);
	assert_int_equal(count_entries(out), 1);

	/* a missing parent directory */
	char *deep = join(tmp, "no/such/dir");
	o.outdir = deep;
	assert_int_equal(bs_pki_create(&o, &err), BS_ERR_IO);
	assert_int_equal(count_entries(tmp), 1);
	free(deep);
	free(marker);
	free(out);
	bs_tmpdir_free(tmp);
}

static void test_pki__pack_tgz_roundtrip(void **state)
{
	(void)state;
	char *tmp = bs_tmpdir();
	char *sub = join(tmp, "crts");
	assert_int_equal(mkdir(sub, 0755), 0);
	char *f1 = join(tmp, "crts/a.bin"), *f2 = join(tmp, "top.txt");
	assert_int_equal(bs_write_file(f1, "\x00\x01\x02", 3, 0644, true, NULL), 0);
	assert_int_equal(bs_write_file(f2, "hello", 5, 0600, true, NULL), 0);
	uint8_t *tgz = NULL;
	size_t len = 0;
	assert_int_equal(bs_pki_pack_tgz(&tgz, &len, tmp, NULL), 0);
	assert_true(len > 20 && tgz[0] == 0x1f && tgz[1] == 0x8b);

	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tgz, len), ARCHIVE_OK);
	struct archive_entry *e;
	const char *want[] = { "crts", "crts/a.bin", "top.txt" };
	size_t i = 0;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		assert_true(i < 3);
		const char *name = archive_entry_pathname(e);
		size_t nl = strlen(name);
		if (nl > 0 && name[nl - 1] == '/')
			nl--;
		assert_int_equal(nl, strlen(want[i]));
		assert_memory_equal(name, want[i], nl);
		if (i == 2) {
			char buf[16] = { 0 };
			assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 5);
			assert_string_equal(buf, "hello");
			assert_int_equal(archive_entry_perm(e), 0600);
		}
		i++;
	}
	assert_int_equal(i, 3);
	archive_read_free(a);
	free(tgz);

	/* errors: missing directory, a file instead of a directory */
	char *missing = join(tmp, "missing");
	assert_int_equal(bs_pki_pack_tgz(&tgz, &len, missing, NULL), BS_ERR_NOT_FOUND);
	assert_null(tgz);
	assert_int_equal(bs_pki_pack_tgz(&tgz, &len, f2, NULL), BS_ERR_INVALID);
	assert_null(tgz);
	free(missing);
	free(f1);
	free(f2);
	free(sub);
	bs_tmpdir_free(tmp);
}

/* bs_x509_issue refuses a signer that does not own the issuer certificate, and the
 * certificates it makes verify with the issuer's public key. */
static void test_pki__x509_issue(void **state)
{
	(void)state;
	EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_true(a != NULL && b != NULL);
	assert_int_equal(EVP_PKEY_up_ref(a), 1);
	struct bs_key *ka = NULL, *kb = NULL;
	assert_int_equal(bs_key_from_pkey(&ka, a, "a", NULL), 0);
	assert_int_equal(EVP_PKEY_up_ref(b), 1);
	assert_int_equal(bs_key_from_pkey(&kb, b, "b", NULL), 0);

	struct bs_x509_params p = { .cn = "root", .subject = a, .ca = true, .days = 1 };
	X509 *root = NULL, *leaf = NULL;
	assert_int_equal(bs_x509_issue(&root, &p, ka, NULL), 0);
	assert_int_equal(X509_verify(root, a), 1);
	assert_int_equal(X509_check_ca(root), 1);

	struct bs_error err = { 0 };
	p = (struct bs_x509_params){ .cn = "leaf", .subject = b, .issuer = root, .days = 1 };
	assert_int_equal(bs_x509_issue(&leaf, &p, kb, &err), BS_ERR_KEY);
	assert_null(leaf);
	assert_int_equal(bs_x509_issue(&leaf, &p, ka, NULL), 0);
	assert_int_equal(X509_verify(leaf, a), 1);
	assert_int_not_equal(X509_verify(leaf, b), 1);
	assert_int_equal(X509_check_ca(leaf), 0);

	p.days = 0;
	X509 *none = NULL;
	assert_int_equal(bs_x509_issue(&none, &p, ka, NULL), BS_ERR_INVALID);
	p.days = 1;
	p.cn = "";
	assert_int_equal(bs_x509_issue(&none, &p, ka, NULL), BS_ERR_INVALID);
	assert_null(none);

	X509_free(root);
	X509_free(leaf);
	bs_key_free(ka);
	bs_key_free(kb);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pki__file_tree_p256),
		cmocka_unit_test(test_pki__file_tree_rsa_generated_pass),
		cmocka_unit_test(test_pki__bad_options),
		cmocka_unit_test(test_pki__failure_leaves_nothing),
		cmocka_unit_test(test_pki__pack_tgz_roundtrip),
		cmocka_unit_test(test_pki__x509_issue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
