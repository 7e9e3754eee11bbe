/* Unit tests for src/keys/store.c and store_tgz.c: confinement, tar.gz bundles, CST key
 * lookup, encrypted PKCS#8 with key_pass.txt, pkcs11: dispatch. Inputs are built with the
 * openssl CLI, tar and libarchive's writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "keys/store.h"
#include "testutil.h"

#define RSA_DIR "hab4-vectors/rsa"

static char *path2(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static void put(const char *dir, const char *rel, const void *d, size_t n)
{
	char *p = path2(dir, rel);
	bs_write(p, d, n);
	free(p);
}

static void mkdir_in(const char *dir, const char *rel)
{
	char *p = path2(dir, rel);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
}

static void copy_fixture(const char *dir, const char *rel_dst, const char *fixture)
{
	size_t n;
	uint8_t *d = bs_fixture_read(fixture, &n);
	put(dir, rel_dst, d, n);
	free(d);
}

/* ---- CST naming ---- */

static void test_store__cst_key_name_rule(void **state)
{
	(void)state;
	char *k = NULL;
	assert_int_equal(bs_store_key_name_for_cert(&k, "crts/CSF1_crt.pem", NULL), 0);
	assert_string_equal(k, "keys/CSF1_key.pem");
	free(k);
	assert_int_equal(bs_store_key_name_for_cert(&k, "/x/crts/SRK1_sha256_crt.der", NULL), 0);
	assert_string_equal(k, "/x/keys/SRK1_sha256_key.der");
	free(k);
	/* only the first "crts"; position-based crt -> key */
	assert_int_equal(bs_store_key_name_for_cert(&k, "crts/crts/IMGcrt.pem", NULL), 0);
	assert_string_equal(k, "keys/crts/IMGkey.pem");
	free(k);
	struct bs_error err = {0};
	k = (char *)"x";
	assert_int_equal(bs_store_key_name_for_cert(&k, "a.pem", &err), BS_ERR_INVALID);
	assert_null(k);
}

/* ---- directory stores ---- */

struct tree {
	char *tmp;  /* private temp dir */
	char *root; /* tmp/root: the store */
};

static void tree_make(struct tree *t)
{
	t->tmp = bs_tmpdir();
	t->root = path2(t->tmp, "root");
	assert_int_equal(mkdir(t->root, 0700), 0);
	mkdir_in(t->root, "crts");
	mkdir_in(t->root, "keys");
	mkdir_in(t->tmp, "outside");
	put(t->tmp, "outside/secret.pem", "secret", 6);
	put(t->tmp, "outside_sibling.txt", "x", 1);
	put(t->root, "crts/a.txt", "hello", 5);
}

static void tree_free(struct tree *t)
{
	bs_tmpdir_free(t->tmp);
	free(t->root);
}

static void symlink_in(const char *dir, const char *rel, const char *target)
{
	char *p = path2(dir, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static void expect_read(struct bs_store *s, const char *name, int code, const char *want)
{
	uint8_t *d = (uint8_t *)"junk";
	size_t n = 99;
	struct bs_error err = {0};
	int rc = bs_store_read(s, name, 0, &d, &n, &err);
	if (rc != code)
		fprintf(stderr, "%s: got %d (%s), want %d\n", name, rc, err.msg, code);
	assert_int_equal(rc, code);
	if (code == 0) {
		assert_int_equal(n, strlen(want));
		assert_memory_equal(d, want, n);
		free(d);
	} else {
		assert_null(d);
		assert_int_equal(n, 0);
		assert_int_equal(err.code, code);
		if (code == BS_ERR_PATH) /* the message names the offending name */
			assert_non_null(strstr(err.msg, name));
	}
}

static void test_store__dir_confined_rejects_escapes(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	symlink_in(t.root, "crts/up.pem", "../../outside/secret.pem");
	symlink_in(t.root, "crts/abs.pem", "/etc/passwd");
	symlink_in(t.root, "outdir", "../outside");
	symlink_in(t.root, "crts/in.pem", "a.txt");
	symlink_in(t.root, "keys/crts_alias", "../crts");
	struct bs_store *s = NULL;
	assert_int_equal(bs_store_open_dir(&s, t.root, true, NULL), 0);
	expect_read(s, "crts/a.txt", 0, "hello");
	expect_read(s, "./crts//a.txt", 0, "hello");
	expect_read(s, "crts/in.pem", 0, "hello");
	expect_read(s, "keys/crts_alias/a.txt", 0, "hello");
	char *abs = path2(t.root, "crts/a.txt");
	expect_read(s, abs, BS_ERR_PATH, NULL);
	free(abs);
	expect_read(s, "../outside_sibling.txt", BS_ERR_PATH, NULL);
	expect_read(s, "crts/../crts/a.txt", BS_ERR_PATH, NULL);
	expect_read(s, "crts/up.pem", BS_ERR_PATH, NULL);
	expect_read(s, "crts/abs.pem", BS_ERR_PATH, NULL);
	expect_read(s, "outdir/secret.pem", BS_ERR_PATH, NULL); /* intermediate directory */
	expect_read(s, "crts/missing.pem", BS_ERR_NOT_FOUND, NULL);
	uint8_t *d = NULL;
	size_t n = 0;
	assert_int_equal(bs_store_read(s, "crts/a.txt", 4, &d, &n, NULL), BS_ERR_LIMIT);
	assert_null(d);
	assert_true(bs_store_exists(s, "crts/in.pem"));
	assert_false(bs_store_exists(s, "crts/up.pem"));
	assert_false(bs_store_exists(s, "outdir/secret.pem"));
	assert_false(bs_store_exists(s, "crts/missing.pem"));
	/* certificates go through the same confinement */
	X509 *x = (X509 *)1;
	struct bs_error err = {0};
	assert_int_equal(bs_store_load_cert(s, "outdir/secret.pem", &x, &err), BS_ERR_PATH);
	assert_null(x);
	bs_store_free(s);

	/* unconfined (CST mode): relative to the root, absolute and .. allowed */
	assert_int_equal(bs_store_open_dir(&s, t.root, false, NULL), 0);
	expect_read(s, "crts/up.pem", 0, "secret");
	expect_read(s, "../outside_sibling.txt", 0, "x");
	abs = path2(t.tmp, "outside/secret.pem");
	expect_read(s, abs, 0, "secret");
	free(abs);
	bs_store_free(s);
	/* unconfined without a root: relative to the working directory, like CST */
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(t.root), 0);
	assert_int_equal(bs_store_open_dir(&s, NULL, false, NULL), 0);
	expect_read(s, "crts/a.txt", 0, "hello");
	expect_read(s, "crts/up.pem", 0, "secret");
	bs_store_free(s);
	assert_int_equal(chdir(cwd), 0);
	/* a confined root that does not exist */
	struct bs_error err2 = {0};
	char *nope = path2(t.tmp, "nope");
	assert_int_equal(bs_store_open_dir(&s, nope, true, &err2), BS_ERR_NOT_FOUND);
	assert_null(s);
	free(nope);
	tree_free(&t);
}

/* ---- key lookup on the CST vectors ---- */

static void load_pair(struct bs_store *s, const char *cert_name, int want)
{
	X509 *cert = NULL;
	struct bs_key *key = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_store_load_cert(s, cert_name, &cert, &err), 0);
	int rc = bs_store_load_key(s, cert_name, cert, &key, &err);
	if (rc != want)
		fprintf(stderr, "%s: %d %s\n", cert_name, rc, err.msg);
	assert_int_equal(rc, want);
	if (want == 0) {
		assert_non_null(key);
		assert_int_equal(EVP_PKEY_eq(bs_key_public(key), X509_get0_pubkey(cert)), 1);
		/* it signs, and the signature verifies under the certificate */
		assert_int_equal(bs_sign_verify(key, X509_get0_pubkey(cert), BS_SIG_DEFAULT, &err),
				 0);
	} else {
		assert_null(key);
	}
	bs_key_free(key);
	X509_free(cert);
}

static void test_store__cst_lookup_on_vectors(void **state)
{
	(void)state;
	struct bs_store *s = NULL;
	assert_int_equal(bs_store_open_dir(&s, bs_fixture(RSA_DIR), true, NULL), 0);
	load_pair(s, "crts/CSF1_crt.pem", 0);
	load_pair(s, "crts/IMG1_crt.pem", 0);
	load_pair(s, "crts/SRK1_crt.pem", 0);
	bs_store_free(s);
	assert_int_equal(bs_store_open_dir(&s, bs_fixture("hab4-vectors/ec"), true, NULL), 0);
	load_pair(s, "crts/CSF1_crt.pem", 0);
	bs_store_free(s);
}

static void test_store__key_mismatch_and_missing(void **state)
{
	(void)state;
	struct bs_store *s = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_store_open_dir(&s, bs_fixture(RSA_DIR), true, NULL), 0);
	X509 *img = NULL;
	assert_int_equal(bs_store_load_cert(s, "crts/IMG1_crt.pem", &img, NULL), 0);
	struct bs_key *key = (struct bs_key *)1;
	assert_int_equal(bs_store_load_key(s, "crts/CSF1_crt.pem", img, &key, &err), BS_ERR_KEY);
	assert_null(key);
	assert_non_null(strstr(err.msg, "does not match"));
	/* SRK_fuse.bin has no key: names the expected key path */
	assert_int_equal(bs_store_load_key(s, "crts/SRK9_crt.pem", img, &key, &err),
			 BS_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "keys/SRK9_key.pem"));
	assert_null(key);
	X509_free(img);
	/* a certificate that is not one */
	X509 *x = NULL;
	assert_int_equal(bs_store_load_cert(s, "crts/SRK_fuse.bin", &x, &err), BS_ERR_FORMAT);
	assert_null(x);
	bs_store_free(s);
}

/* ---- encrypted keys ---- */

/* A store with CSF1's certificate and key in the requested encoding/encryption. */
static char *make_key_store(const char *tmp, const char *pass_file_content, bool der,
			    const char *key_pass_for_openssl, const char *trad)
{
	char *root = path2(tmp, der ? "der" : "pem");
	assert_int_equal(mkdir(root, 0700), 0);
	mkdir_in(root, "crts");
	mkdir_in(root, "keys");
	char *src = (char *)bs_fixture(RSA_DIR "/keys/CSF1_key.pem");
	char *srcdup = strdup(src);
	char *crt_src = strdup(bs_fixture(RSA_DIR "/crts/CSF1_crt.pem"));
	char *crt = path2(root, der ? "crts/CSF1_crt.der" : "crts/CSF1_crt.pem");
	char *key = path2(root, der ? "keys/CSF1_key.der" : "keys/CSF1_key.pem");
	char *pf = path2(tmp, "openssl_pass");
	{
		const char *a[] = {"openssl", "x509", "-in", crt_src, "-outform", der ? "DER" : "PEM",
				   "-out", crt, NULL};
		bs_test_run_ok(a);
	}
	if (key_pass_for_openssl != NULL) {
		put(tmp, "openssl_pass", key_pass_for_openssl, strlen(key_pass_for_openssl));
		char passarg[4200];
		snprintf(passarg, sizeof(passarg), "file:%s", pf);
		const char *a[] = {"openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in",
				   srcdup, "-outform", der ? "DER" : "PEM", "-out", key,
				   "-passout", passarg, NULL};
		bs_test_run_ok(a);
	} else if (trad != NULL) {
		const char *a[] = {"openssl", "rsa", "-traditional", "-in", srcdup, "-out", key,
				   NULL};
		bs_test_run_ok(a);
	} else {
		const char *a[] = {"openssl", "pkcs8", "-topk8", "-nocrypt", "-in", srcdup,
				   "-outform", der ? "DER" : "PEM", "-out", key, NULL};
		bs_test_run_ok(a);
	}
	if (pass_file_content != NULL)
		put(root, "keys/key_pass.txt", pass_file_content, strlen(pass_file_content));
	free(srcdup);
	free(crt_src);
	free(crt);
	free(key);
	free(pf);
	return root;
}

static int try_load(const char *root, const char *cert_name, struct bs_error *err)
{
	struct bs_store *s = NULL;
	assert_int_equal(bs_store_open_dir(&s, root, true, NULL), 0);
	X509 *cert = NULL;
	assert_int_equal(bs_store_load_cert(s, cert_name, &cert, NULL), 0);
	struct bs_key *key = NULL;
	int rc = bs_store_load_key(s, cert_name, cert, &key, err);
	if (rc == 0)
		assert_int_equal(EVP_PKEY_eq(bs_key_public(key), X509_get0_pubkey(cert)), 1);
	else
		assert_null(key);
	bs_key_free(key);
	X509_free(cert);
	bs_store_free(s);
	return rc;
}

static void test_store__encrypted_pkcs8_with_key_pass(void **state)
{
	(void)state;
	struct bs_error err = {0};
	char *tmp = bs_tmpdir();
	/* PEM, CRLF line end and a second line that must be ignored */
	char *root = make_key_store(tmp, "s3cret pass\r\nsecond line\n", false, "s3cret pass",
				    NULL);
	assert_int_equal(try_load(root, "crts/CSF1_crt.pem", &err), 0);
	/* wrong passphrase */
	put(root, "keys/key_pass.txt", "wrong\n", 6);
	assert_int_equal(try_load(root, "crts/CSF1_crt.pem", &err), BS_ERR_KEY);
	assert_non_null(strstr(err.msg, "wrong passphrase in keys/key_pass.txt for "
				      "keys/CSF1_key.pem"));
	assert_null(strstr(err.msg, "wrong\n"));
	/* missing key_pass.txt for an encrypted key */
	char *pp = path2(root, "keys/key_pass.txt");
	assert_int_equal(unlink(pp), 0);
	free(pp);
	assert_int_equal(try_load(root, "crts/CSF1_crt.pem", &err), BS_ERR_KEY);
	free(root);
	/* DER, no trailing newline */
	root = make_key_store(tmp, "pw", true, "pw", NULL);
	assert_int_equal(try_load(root, "crts/CSF1_crt.der", &err), 0);
	put(root, "keys/key_pass.txt", "pW\n", 3);
	assert_int_equal(try_load(root, "crts/CSF1_crt.der", &err), BS_ERR_KEY);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	free(root);
	bs_tmpdir_free(tmp);
}

static void test_store__unencrypted_key_forms(void **state)
{
	(void)state;
	struct bs_error err = {0};
	char *tmp = bs_tmpdir();
	/* traditional "RSA PRIVATE KEY" PEM, key_pass.txt present but unused */
	char *root = make_key_store(tmp, "unused\n", false, NULL, "trad");
	assert_int_equal(try_load(root, "crts/CSF1_crt.pem", &err), 0);
	free(root);
	/* unencrypted PKCS#8 DER */
	root = make_key_store(tmp, NULL, true, NULL, NULL);
	assert_int_equal(try_load(root, "crts/CSF1_crt.der", &err), 0);
	/* garbage key */
	put(root, "keys/CSF1_key.der", "garbage", 7);
	assert_int_equal(try_load(root, "crts/CSF1_crt.der", &err), BS_ERR_KEY);
	free(root);
	bs_tmpdir_free(tmp);
}

/* ---- pkcs11: dispatch ---- */

static int mock_calls;

static int mock_cert(void *ctx, const char *uri, X509 **out, struct bs_error *err)
{
	(void)ctx;
	(void)uri;
	mock_calls++;
	*out = NULL;
	return bs_error_set(err, BS_ERR_TOKEN, "mock cert");
}

static int mock_key(void *ctx, const char *uri, X509 *cert, struct bs_key **out,
		    struct bs_error *err)
{
	(void)cert;
	assert_string_equal(ctx, "ctx");
	assert_non_null(strstr(uri, "object=CSF1"));
	mock_calls += 10;
	*out = NULL;
	return bs_error_set(err, BS_ERR_TOKEN, "mock key");
}

static void test_store__pkcs11_names_go_to_loader(void **state)
{
	(void)state;
	struct bs_store *s = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_store_open_dir(&s, bs_fixture(RSA_DIR), true, NULL), 0);
	const char *uri = "pkcs11:token=T;object=CSF1;type=cert;pin-value=1234";
	X509 *x = NULL;
	struct bs_key *k = NULL;
	assert_int_equal(bs_store_load_cert(s, uri, &x, &err), BS_ERR_UNSUPPORTED);
	assert_null(strstr(err.msg, "1234")); /* never echo a PIN */
	assert_int_equal(bs_store_load_key(s, uri, NULL, &k, &err), BS_ERR_UNSUPPORTED);
	static const struct bs_uri_loader loader = {mock_cert, mock_key};
	bs_store_set_uri_loader(s, &loader, (void *)"ctx");
	mock_calls = 0;
	assert_int_equal(bs_store_load_cert(s, uri, &x, &err), BS_ERR_TOKEN);
	assert_int_equal(bs_store_load_key(s, uri, NULL, &k, &err), BS_ERR_TOKEN);
	assert_int_equal(mock_calls, 11);
	assert_false(bs_store_exists(s, uri));
	bs_store_free(s);
}

/* ---- tar.gz bundles ---- */

/* Build a tar.gz in memory with libarchive's writer. */
struct tw {
	struct archive *a;
	uint8_t *buf;
	size_t cap, used;
};

static void tw_open(struct tw *w, size_t cap)
{
	w->cap = cap;
	w->buf = malloc(cap);
	assert_non_null(w->buf);
	w->a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(w->a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_gzip(w->a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(w->a, w->buf, cap, &w->used), ARCHIVE_OK);
}

static void tw_add(struct tw *w, const char *name, const void *d, size_t n, mode_t type,
		   const char *link)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_perm(e, 0644);
	if (type == 0) { /* hardlink */
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, link);
		archive_entry_set_size(e, 0);
	} else {
		archive_entry_set_filetype(e, type);
		archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)n : 0);
		if (type == AE_IFLNK)
			archive_entry_set_symlink(e, link);
	}
	assert_int_equal(archive_write_header(w->a, e), ARCHIVE_OK);
	if (type == AE_IFREG && n > 0)
		assert_int_equal(archive_write_data(w->a, d, n), (la_ssize_t)n);
	archive_entry_free(e);
}

static void tw_close(struct tw *w)
{
	assert_int_equal(archive_write_close(w->a), ARCHIVE_OK);
	archive_write_free(w->a);
}

static int open_tw(struct tw *w, struct bs_store **s, struct bs_error *err)
{
	tw_close(w);
	*s = (struct bs_store *)1;
	int rc = bs_store_open_tgz(s, w->buf, w->used, err);
	if (rc != 0)
		assert_null(*s);
	free(w->buf);
	return rc;
}

static void expect_bad_bundle(void (*fill)(struct tw *), int code, const char *needle)
{
	struct tw w;
	tw_open(&w, 8u << 20);
	fill(&w);
	struct bs_store *s = NULL;
	struct bs_error err = {0};
	int rc = open_tw(&w, &s, &err);
	if (rc != code)
		fprintf(stderr, "bundle: got %d (%s), want %d\n", rc, err.msg, code);
	assert_int_equal(rc, code);
	if (getenv("BS_TEST_VERBOSE") != NULL)
		fprintf(stderr, "bundle rejected: %s\n", err.msg);
	if (needle != NULL && strstr(err.msg, needle) == NULL) {
		fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, needle);
		fail();
	}
}

static void fill_abs(struct tw *w)
{
	tw_add(w, "crts/a", "a", 1, AE_IFREG, NULL);
	tw_add(w, "/etc/evil", "x", 1, AE_IFREG, NULL);
}
static void fill_dotdot(struct tw *w) { tw_add(w, "crts/../../evil", "x", 1, AE_IFREG, NULL); }
static void fill_symlink_escape(struct tw *w)
{
	tw_add(w, "crts/a", "a", 1, AE_IFREG, NULL);
	tw_add(w, "crts/evil.pem", NULL, 0, AE_IFLNK, "../../etc/passwd");
}
static void fill_symlink_abs(struct tw *w)
{
	tw_add(w, "crts/evil.pem", NULL, 0, AE_IFLNK, "/etc/passwd");
}
static void fill_symlink_dangling(struct tw *w)
{
	tw_add(w, "crts/evil.pem", NULL, 0, AE_IFLNK, "nothere.pem");
}
static void fill_symlink_loop(struct tw *w)
{
	tw_add(w, "a", NULL, 0, AE_IFLNK, "b");
	tw_add(w, "b", NULL, 0, AE_IFLNK, "a");
}
static void fill_hardlink_escape(struct tw *w)
{
	tw_add(w, "crts/a", "a", 1, AE_IFREG, NULL);
	tw_add(w, "crts/evil", NULL, 0, 0, "../etc/passwd");
}
static void fill_hardlink_abs(struct tw *w)
{
	tw_add(w, "crts/evil", NULL, 0, 0, "/etc/passwd");
}
static void fill_dup(struct tw *w)
{
	tw_add(w, "crts/a", "a", 1, AE_IFREG, NULL);
	tw_add(w, "./crts/a", "b", 1, AE_IFREG, NULL);
}
static void fill_oversize(struct tw *w)
{
	size_t n = BS_STORE_FILE_MAX + 1;
	uint8_t *z = calloc(1, n);
	tw_add(w, "big", z, n, AE_IFREG, NULL);
	free(z);
}
static void fill_many(struct tw *w)
{
	char name[32];
	for (int i = 0; i <= BS_STORE_ENTRIES_MAX; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		tw_add(w, name, "x", 1, AE_IFREG, NULL);
	}
}
static void fill_total(struct tw *w)
{
	size_t n = BS_STORE_FILE_MAX;
	uint8_t *z = calloc(1, n);
	char name[32];
	for (unsigned i = 0; i <= BS_STORE_BUNDLE_MAX / BS_STORE_FILE_MAX; i++) {
		snprintf(name, sizeof(name), "z%u", i);
		tw_add(w, name, z, n, AE_IFREG, NULL);
	}
	free(z);
}

static void test_store__tgz_rejects_bad_bundles(void **state)
{
	(void)state;
	expect_bad_bundle(fill_abs, BS_ERR_PATH, "/etc/evil");
	expect_bad_bundle(fill_dotdot, BS_ERR_PATH, "crts/../../evil");
	expect_bad_bundle(fill_symlink_escape, BS_ERR_PATH, "crts/evil.pem");
	expect_bad_bundle(fill_symlink_abs, BS_ERR_PATH, "crts/evil.pem");
	expect_bad_bundle(fill_symlink_dangling, BS_ERR_PATH, "crts/evil.pem");
	expect_bad_bundle(fill_symlink_loop, BS_ERR_PATH, "levels");
	expect_bad_bundle(fill_hardlink_escape, BS_ERR_PATH, "crts/evil");
	expect_bad_bundle(fill_hardlink_abs, BS_ERR_PATH, "/etc/passwd");
	expect_bad_bundle(fill_dup, BS_ERR_FORMAT, "crts/a");
	expect_bad_bundle(fill_oversize, BS_ERR_LIMIT, "big");
	expect_bad_bundle(fill_many, BS_ERR_LIMIT, "entries");
	expect_bad_bundle(fill_total, BS_ERR_LIMIT, "uncompressed");
}

static void fill_good(struct tw *w, const char *prefix)
{
	char n[256];
	size_t len;
	static const char *const files[] = {"crts/CSF1_crt.pem", "keys/CSF1_key.pem",
					    "crts/IMG1_crt.pem", "keys/IMG1_key.pem"};
	if (prefix[0] != '\0') {
		tw_add(w, prefix, NULL, 0, AE_IFDIR, NULL);
	}
	for (size_t i = 0; i < BS_ARRAY_SIZE(files); i++) {
		char fx[128];
		snprintf(fx, sizeof(fx), RSA_DIR "/%s", files[i]);
		uint8_t *d = bs_fixture_read(fx, &len);
		snprintf(n, sizeof(n), "%s%s", prefix, files[i]);
		tw_add(w, n, d, len, AE_IFREG, NULL);
		free(d);
	}
	snprintf(n, sizeof(n), "%scrts/alias_crt.pem", prefix);
	tw_add(w, n, NULL, 0, AE_IFLNK, "./CSF1_crt.pem");
	snprintf(n, sizeof(n), "%skeys/alias_key.pem", prefix);
	tw_add(w, n, NULL, 0, AE_IFLNK, "../keys/CSF1_key.pem");
	snprintf(n, sizeof(n), "%scrts/hard_crt.pem", prefix);
	char t[256];
	snprintf(t, sizeof(t), "%scrts/IMG1_crt.pem", prefix);
	tw_add(w, n, NULL, 0, 0, t);
	snprintf(n, sizeof(n), "%skeys/hard_key.pem", prefix);
	snprintf(t, sizeof(t), "%skeys/IMG1_key.pem", prefix);
	tw_add(w, n, NULL, 0, 0, t);
}

static void test_store__tgz_layouts_and_links(void **state)
{
	(void)state;
	static const char *const prefixes[] = {"", "./", "imx-cst-keys/", "./cst/"};
	for (size_t i = 0; i < BS_ARRAY_SIZE(prefixes); i++) {
		struct tw w;
		tw_open(&w, 1u << 20);
		fill_good(&w, prefixes[i]);
		struct bs_store *s = NULL;
		struct bs_error err = {0};
		int rc = open_tw(&w, &s, &err);
		if (rc != 0)
			fprintf(stderr, "prefix '%s': %s\n", prefixes[i], err.msg);
		assert_int_equal(rc, 0);
		load_pair(s, "crts/CSF1_crt.pem", 0);
		load_pair(s, "./crts/IMG1_crt.pem", 0);
		load_pair(s, "crts/alias_crt.pem", 0); /* symlinks, cert and key */
		load_pair(s, "crts/hard_crt.pem", 0);  /* hardlinks, cert and key */
		if (strcmp(prefixes[i], "imx-cst-keys/") == 0)
			load_pair(s, "imx-cst-keys/crts/CSF1_crt.pem", 0);
		assert_true(bs_store_exists(s, "crts/alias_crt.pem"));
		expect_read(s, "crts/missing", BS_ERR_NOT_FOUND, NULL);
		expect_read(s, "../crts/CSF1_crt.pem", BS_ERR_PATH, NULL);
		expect_read(s, "/crts/CSF1_crt.pem", BS_ERR_PATH, NULL);
		uint8_t *d = NULL;
		size_t n = 0;
		assert_int_equal(bs_store_read(s, "crts/CSF1_crt.pem", 10, &d, &n, &err),
				 BS_ERR_LIMIT);
		assert_null(d);
		bs_store_free(s);
	}
}

/* A bundle store keeps decoded keys: a second load is served from memory and is still
 * checked against the certificate it is asked for. */
static void test_store__tgz_key_reuse_still_checks_cert(void **state)
{
	(void)state;
	struct tw w;
	tw_open(&w, 1u << 20);
	fill_good(&w, "");
	struct bs_store *s = NULL;
	struct bs_error err = {0};
	assert_int_equal(open_tw(&w, &s, &err), 0);
	load_pair(s, "crts/CSF1_crt.pem", 0);
	load_pair(s, "crts/CSF1_crt.pem", 0); /* from the store's memory */
	/* a kept certificate is the same certificate, and outlives the caller's reference */
	X509 *c1 = NULL, *c2 = NULL;
	assert_int_equal(bs_store_load_cert(s, "crts/CSF1_crt.pem", &c1, &err), 0);
	assert_int_equal(bs_store_load_cert(s, "crts/CSF1_crt.pem", &c2, &err), 0);
	assert_int_equal(X509_cmp(c1, c2), 0);
	X509_free(c1);
	X509_free(c2);
	X509 *img = NULL;
	struct bs_key *key = NULL;
	assert_int_equal(bs_store_load_cert(s, "crts/IMG1_crt.pem", &img, &err), 0);
	assert_int_equal(bs_store_load_key(s, "crts/CSF1_crt.pem", img, &key, &err), BS_ERR_KEY);
	assert_null(key);
	assert_non_null(strstr(err.msg, "does not match"));
	X509_free(img);
	bs_store_free(s);
}

/* Bundles made by GNU tar the ways users make them, from a copy of the vector tree. */
static void test_store__tgz_from_gnu_tar_and_corruption(void **state)
{
	(void)state;
	char *tmp = bs_tmpdir();
	char *tree = path2(tmp, "mytree");
	assert_int_equal(mkdir(tree, 0700), 0);
	mkdir_in(tree, "crts");
	mkdir_in(tree, "keys");
	copy_fixture(tree, "crts/CSF1_crt.pem", RSA_DIR "/crts/CSF1_crt.pem");
	copy_fixture(tree, "keys/CSF1_key.pem", RSA_DIR "/keys/CSF1_key.pem");
	symlink_in(tree, "crts/link_crt.pem", "CSF1_crt.pem");
	symlink_in(tree, "keys/link_key.pem", "CSF1_key.pem");
	char *a1 = path2(tmp, "flat.tgz"), *a2 = path2(tmp, "dot.tgz"), *a3 = path2(tmp, "dir.tgz");
	const char *c1[] = {"tar", "czf", a1, "-C", tree, "crts", "keys", NULL};
	const char *c2[] = {"tar", "czf", a2, "-C", tree, ".", NULL};
	const char *c3[] = {"tar", "czf", a3, "-C", tmp, "mytree", NULL};
	bs_test_run_ok(c1);
	bs_test_run_ok(c2);
	bs_test_run_ok(c3);
	const char *arcs[] = {a1, a2, a3};
	for (size_t i = 0; i < 3; i++) {
		struct bs_store *s = NULL;
		struct bs_error err = {0};
		int rc = bs_store_open_tgz_file(&s, arcs[i], &err);
		if (rc != 0)
			fprintf(stderr, "%s: %s\n", arcs[i], err.msg);
		assert_int_equal(rc, 0);
		load_pair(s, "crts/CSF1_crt.pem", 0);
		load_pair(s, "crts/link_crt.pem", 0);
		bs_store_free(s);
	}
	/* corruption: flipped bytes inside the deflate stream, truncation, not gzip */
	size_t n;
	uint8_t *d = NULL;
	assert_int_equal(bs_read_file(&d, &n, a1, 1u << 20, NULL), 0);
	struct bs_store *s = (struct bs_store *)1;
	struct bs_error err = {0};
	uint8_t *c = malloc(n);
	memcpy(c, d, n);
	for (size_t i = n / 3; i < n / 3 + 16; i++)
		c[i] ^= 0x5A;
	assert_int_equal(bs_store_open_tgz(&s, c, n, &err), BS_ERR_FORMAT);
	assert_null(s);
	assert_int_equal(bs_store_open_tgz(&s, d, n / 2, &err), BS_ERR_FORMAT);
	assert_null(s);
	assert_int_equal(bs_store_open_tgz(&s, (const uint8_t *)"hello world, not gzip", 21,
					   &err), BS_ERR_FORMAT);
	assert_null(s);
	assert_int_equal(bs_store_open_tgz(&s, d, 0, &err), BS_ERR_FORMAT);
	char *missing = path2(tmp, "missing.tgz");
	assert_int_equal(bs_store_open_tgz_file(&s, missing, &err), BS_ERR_NOT_FOUND);
	free(missing);
	free(c);
	free(d);
	free(a1);
	free(a2);
	free(a3);
	free(tree);
	bs_tmpdir_free(tmp);
}

#define TGZ_TESTS                                                        \
	cmocka_unit_test(test_store__tgz_rejects_bad_bundles),            \
	cmocka_unit_test(test_store__tgz_layouts_and_links),              \
	cmocka_unit_test(test_store__tgz_key_reuse_still_checks_cert),    \
	cmocka_unit_test(test_store__tgz_from_gnu_tar_and_corruption),

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store__cst_key_name_rule),
		cmocka_unit_test(test_store__dir_confined_rejects_escapes),
		cmocka_unit_test(test_store__cst_lookup_on_vectors),
		cmocka_unit_test(test_store__key_mismatch_and_missing),
		cmocka_unit_test(test_store__encrypted_pkcs8_with_key_pass),
		cmocka_unit_test(test_store__unencrypted_key_forms),
		cmocka_unit_test(test_store__pkcs11_names_go_to_loader),
		TGZ_TESTS
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
