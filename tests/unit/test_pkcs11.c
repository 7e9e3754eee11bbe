/* Unit tests for src/keys/pkcs11*.c against a private SoftHSM2 token (created here) and
 * the fault-injecting shim module (tests/shim/p11shim.c, env BS_P11SHIM). Keys are made
 * with the openssl CLI and written to the token with pkcs11-tool (independent of our
 * import code); signatures are verified with OpenSSL against the certificates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "keys/pkcs11.h"
#include "testutil.h"

#define SOFTHSM BS_SOFTHSM_MODULE
#define PIN "0001password"

static char *g_dir;

static int make_key(const char *name, const char *alg, const char *opt, bool with_cert)
{
	return bs_softhsm_add_key(g_dir, name, alg, opt, PIN, with_cert);
}

static int group_setup(void **state)
{
	(void)state;
	g_dir = bs_tmpdir();
	if (g_dir == NULL)
		return -1;
	if (bs_softhsm_init(g_dir, "YubiHSM", PIN) != 0)
		return -1;
	if (make_key("rsa2048", "RSA", "rsa_keygen_bits:2048", true) != 0 ||
	    make_key("rsa4096", "RSA", "rsa_keygen_bits:4096", true) != 0 ||
	    make_key("p256", "EC", "ec_paramgen_curve:P-256", true) != 0 ||
	    make_key("nocert", "EC", "ec_paramgen_curve:P-256", false) != 0)
		return -1;
	bs_shim_env(g_dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	bs_tmpdir_free(g_dir);
	return 0;
}

static void reset_shim(void)
{
	bs_shim_ctl("reset_counts=1\n");
	bs_shim_count_remove();
}

static struct bs_p11 *open_p11(const char *module, const char *pin, size_t pool,
			       unsigned timeout_ms)
{
	struct bs_p11_opts o = {.module = module, .pin = pin, .pool_size = pool,
				.op_timeout_ms = timeout_ms};
	struct bs_p11 *p = NULL;
	struct bs_error e = {0};
	int rc = bs_p11_open(&p, &o, &e);
	if (rc != 0)
		fprintf(stderr, "bs_p11_open: %s\n", e.msg);
	assert_int_equal(rc, 0);
	return p;
}

static const char *shim(void)
{
	const char *s = getenv("BS_P11SHIM");
	assert_non_null(s);
	return s;
}

static void load(struct bs_p11 *p, const char *name, X509 **cert, struct bs_key **key)
{
	char uri[256];
	snprintf(uri, sizeof(uri), "pkcs11:token=YubiHSM;object=%s;type=cert;pin-value=password",
		 name);
	struct bs_error e = {0};
	int rc = bs_p11_uri_loader.load_cert(p, uri, cert, &e);
	if (rc != 0)
		fprintf(stderr, "load_cert: %s\n", e.msg);
	assert_int_equal(rc, 0);
	rc = bs_p11_uri_loader.load_key(p, uri, *cert, key, &e);
	if (rc != 0)
		fprintf(stderr, "load_key: %s\n", e.msg);
	assert_int_equal(rc, 0);
}

/* Sign SHA-256("msg") and verify with OpenSSL and the certificate's public key. */
static void check_sign(const char *module, const char *name, enum bs_sig_scheme scheme)
{
	struct bs_p11 *p = open_p11(module, PIN, 2, 10000);
	X509 *cert = NULL;
	struct bs_key *key = NULL;
	load(p, name, &cert, &key);
	struct bs_error e = {0};
	int rc = bs_sign_verify(key, X509_get0_pubkey(cert), scheme, &e);
	if (rc != 0)
		fprintf(stderr, "sign: %s\n", e.msg);
	assert_int_equal(rc, 0);
	bs_key_free(key);
	X509_free(cert);
	bs_p11_close(p);
}

static void test_pkcs11__sign_rsa2048_pkcs1_verifies(void **s)
{
	(void)s;
	check_sign(SOFTHSM, "rsa2048", BS_SIG_DEFAULT);
}

static void test_pkcs11__sign_rsa2048_pss_verifies(void **s)
{
	(void)s;
	check_sign(SOFTHSM, "rsa2048", BS_SIG_RSA_PSS);
}

static void test_pkcs11__sign_rsa4096_verifies(void **s)
{
	(void)s;
	check_sign(SOFTHSM, "rsa4096", BS_SIG_DEFAULT);
}

static void test_pkcs11__sign_p256_verifies(void **s)
{
	(void)s;
	check_sign(SOFTHSM, "p256", BS_SIG_DEFAULT);
}

/* CKM_RSA_PKCS_PSS with the caller's sLen, checked by openssl pkeyutl; CKM_ECDSA as raw
 * r||s through the key layer. */
static void test_pkcs11__sign_pss_salt_and_raw_ecdsa(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 2, 10000);
	X509 *cert = NULL;
	struct bs_key *key = NULL;
	load(p, "rsa2048", &cert, &key);
	uint8_t dg[32];
	SHA256((const unsigned char *)"msg", 3, dg);
	const int salts[] = {0, 20, 64};
	for (size_t i = 0; i < BS_ARRAY_SIZE(salts); i++) {
		struct bs_sig_params sp = {.md_nid = NID_sha256, .scheme = BS_SIG_RSA_PSS,
					   .pss_saltlen = salts[i]};
		uint8_t *sig = NULL;
		size_t sl = 0;
		struct bs_error e = {0};
		int rc = bs_key_sign(key, &sp, dg, 32, &sig, &sl, &e);
		if (rc != 0)
			fprintf(stderr, "sign: %s\n", e.msg);
		assert_int_equal(rc, 0);
		char opt[64];
		snprintf(opt, sizeof(opt), "rsa_pss_saltlen:%d", salts[i]);
		const char *o[] = {"digest:sha256", "rsa_padding_mode:pss", opt, NULL};
		assert_int_equal(bs_pkeyutl_verify(g_dir, X509_get0_pubkey(cert), o, false, dg, 32,
						   sig, sl), 0);
		sp.pss_saltlen = salts[i] + 1;
		assert_int_equal(bs_sig_verify(X509_get0_pubkey(cert), &sp, dg, 32, sig, sl, NULL),
				 BS_ERR_VERIFY);
		free(sig);
	}
	bs_key_free(key);
	X509_free(cert);
	load(p, "p256", &cert, &key);
	struct bs_sig_params sp = {.md_nid = NID_sha256, .ecdsa_raw = true};
	uint8_t *sig = NULL;
	size_t sl = 0;
	assert_int_equal(bs_key_sign(key, &sp, dg, 32, &sig, &sl, NULL), 0);
	assert_int_equal(sl, 64);
	assert_int_equal(bs_sig_verify(X509_get0_pubkey(cert), &sp, dg, 32, sig, sl, NULL), 0);
	free(sig);
	sp = (struct bs_sig_params){.md_nid = NID_sha256, .scheme = BS_SIG_RSA_PSS};
	assert_int_equal(bs_key_sign(key, &sp, dg, 32, &sig, &sl, NULL), BS_ERR_KEY);
	bs_key_free(key);
	X509_free(cert);
	bs_p11_close(p);
}

static void test_pkcs11__sign_through_p11kit_proxy(void **s)
{
	(void)s;
	check_sign(NULL, "p256", BS_SIG_DEFAULT); /* default module: p11-kit proxy */
}

/* ---- URI policy ---- */

static void sanitize_ok(const char *in, const char *want)
{
	char *out = NULL;
	struct bs_error e = {0};
	int rc = bs_p11_uri_sanitize(&out, in, &e);
	if (rc != 0)
		fprintf(stderr, "sanitize %s: %s\n", in, e.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
	free(out);
}

static void sanitize_bad(const char *in, int code, const char *secret)
{
	char *out = (char *)1;
	struct bs_error e = {0};
	assert_int_equal(bs_p11_uri_sanitize(&out, in, &e), code);
	assert_int_equal(e.code, code);
	assert_null(out);
	if (secret != NULL)
		assert_null(strstr(e.msg, secret));
}

static void test_pkcs11__uri_sanitize(void **s)
{
	(void)s;
	sanitize_ok("pkcs11:token=YubiHSM;object=CSF1_1_sha256_4096_usr;type=cert;"
		    "pin-value=password",
		    "pkcs11:token=YubiHSM;object=CSF1_1_sha256_4096_usr;type=cert");
	sanitize_ok("pkcs11:token=YubiHSM;object=a%20b;id=%01%02",
		    "pkcs11:token=YubiHSM;object=a%20b;id=%01%02");
	sanitize_ok("pkcs11:token=YubiHSM;object=x?pin-value=password",
		    "pkcs11:token=YubiHSM;object=x");
	sanitize_ok("pkcs11:object=x;pin-value=%70assword", "pkcs11:object=x");
	sanitize_bad("pkcs11:token=YubiHSM;object=x;pin-value=s3cr3tPIN", BS_ERR_POLICY,
		     "s3cr3tPIN");
	sanitize_bad("pkcs11:token=YubiHSM;object=x?pin-value=s3cr3tPIN", BS_ERR_POLICY,
		     "s3cr3tPIN");
	sanitize_bad("pkcs11:object=x;pin-value=passwordX", BS_ERR_POLICY, "passwordX");
	sanitize_bad("pkcs11:object=x;pin-value=", BS_ERR_POLICY, NULL);
	sanitize_bad("pkcs11:object=x?pin-source=file:/etc/pin", BS_ERR_POLICY, "/etc/pin");
	sanitize_bad("pkcs11:object=x?module-path=/tmp/evil.so", BS_ERR_POLICY, NULL);
	sanitize_bad("pkcs11:object=x?module-name=evil", BS_ERR_POLICY, NULL);
	sanitize_bad("pkcs11:object=x;frobnicate=1", BS_ERR_POLICY, NULL);
	sanitize_bad("pkcs11:object=x;slot-id=3", BS_ERR_POLICY, NULL);
	sanitize_bad("pkcs11:object=x;object=y", BS_ERR_INVALID, NULL);
	sanitize_bad("pkcs11:object=x;type=bogus", BS_ERR_INVALID, NULL);
	sanitize_bad("pkcs11:object=%zz", BS_ERR_INVALID, NULL);
	sanitize_bad("file:/x", BS_ERR_INVALID, NULL);
	sanitize_bad("pkcs11:object=a b", BS_ERR_INVALID, NULL);
}

/* ---- errors ---- */

static void test_pkcs11__loader_rejects_real_pin(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 1, 5000);
	X509 *x = NULL;
	struct bs_error e = {0};
	assert_int_equal(bs_p11_uri_loader.load_cert(p, "pkcs11:token=YubiHSM;object=p256;"
						     "pin-value=0001password", &x, &e),
			 BS_ERR_POLICY);
	assert_null(x);
	assert_null(strstr(e.msg, PIN));
	bs_p11_close(p);
}

static void test_pkcs11__wrong_pin_is_config_error_and_not_retried(void **s)
{
	(void)s;
	reset_shim();
	struct bs_p11 *p = open_p11(shim(), "0001wrong", 2, 5000);
	X509 *x = NULL;
	struct bs_error e = {0};
	const char *uri = "pkcs11:token=YubiHSM;object=p256;type=cert";
	assert_int_equal(bs_p11_uri_loader.load_cert(p, uri, &x, &e), BS_ERR_CONFIG);
	assert_null(x);
	assert_non_null(strstr(e.msg, "wrong PIN"));
	assert_null(strstr(e.msg, "0001wrong"));
	assert_int_equal(bs_p11_uri_loader.load_cert(p, uri, &x, &e), BS_ERR_CONFIG);
	assert_int_equal(bs_shim_count("login"), 1); /* never retried */
	bs_p11_close(p);
	/* The token is not locked: the right PIN works afterwards. */
	p = open_p11(SOFTHSM, PIN, 1, 5000);
	assert_int_equal(bs_p11_uri_loader.load_cert(p, uri, &x, &e), 0);
	X509_free(x);
	bs_p11_close(p);
}

static void test_pkcs11__unknown_object_not_found(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 1, 5000);
	X509 *x = NULL;
	struct bs_key *k = NULL;
	struct bs_error e = {0};
	assert_int_equal(bs_p11_uri_loader.load_cert(p, "pkcs11:token=YubiHSM;object=nope;"
						     "type=cert", &x, &e), BS_ERR_NOT_FOUND);
	assert_null(x);
	assert_int_equal(bs_p11_uri_loader.load_key(p, "pkcs11:token=YubiHSM;object=nope",
						    NULL, &k, &e), BS_ERR_NOT_FOUND);
	assert_null(k);
	bs_p11_close(p);
}

static void test_pkcs11__key_without_certificate(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 1, 5000);
	X509 *x = NULL;
	struct bs_key *k = NULL;
	struct bs_error e = {0};
	const char *uri = "pkcs11:token=YubiHSM;object=nocert;type=cert";
	assert_int_equal(bs_p11_uri_loader.load_cert(p, uri, &x, &e), BS_ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "no certificate"));
	assert_null(x);
	assert_int_equal(bs_p11_uri_loader.load_key(p, uri, NULL, &k, &e), BS_ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "no certificate"));
	assert_null(k);
	bs_p11_close(p);
}

static void test_pkcs11__key_certificate_mismatch(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 1, 5000);
	X509 *x = NULL, *other = NULL;
	struct bs_key *k = NULL;
	struct bs_error e = {0};
	load(p, "rsa4096", &other, &k);
	bs_key_free(k);
	k = NULL;
	assert_int_equal(bs_p11_uri_loader.load_key(p, "pkcs11:token=YubiHSM;object=rsa2048",
						    other, &k, &e), BS_ERR_KEY);
	assert_null(k);
	X509_free(x);
	X509_free(other);
	bs_p11_close(p);
}

static void test_pkcs11__token_absent(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 1, 5000);
	X509 *x = NULL;
	struct bs_error e = {0};
	/* a client's typo is not a token fault: not found, naming the label and the tokens */
	assert_int_equal(bs_p11_uri_loader.load_cert(p, "pkcs11:token=NoSuchToken;object=p256",
						     &x, &e), BS_ERR_NOT_FOUND);
	assert_string_equal(e.msg, "token 'NoSuchToken' not present: the PKCS#11 module has no "
			    "token with that label (tokens: 'YubiHSM')");
	assert_null(x);
	/* every distinct token description costs a pool: bounded */
	int rc = 0;
	for (int i = 0; i < 10 && rc == 0; i++) {
		char uri[128];
		snprintf(uri, sizeof(uri), "pkcs11:token=T%d;object=p256", i);
		rc = bs_p11_uri_loader.load_cert(p, uri, &x, &e);
		if (rc == BS_ERR_NOT_FOUND)
			rc = 0;
	}
	assert_int_equal(rc, BS_ERR_LIMIT);
	assert_null(x);
	bs_p11_close(p);
}

/* A token created after the module was opened is found on the next request (the module
 * is re-initialised on a miss, at most once per second, while no session is open). */
static void test_pkcs11__token_created_after_open_is_found(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 1, 5000);
	X509 *x = NULL;
	struct bs_error e = {0};
	const char *uri = "pkcs11:token=LateHSM;object=late;type=cert";
	assert_int_equal(bs_p11_uri_loader.load_cert(p, uri, &x, &e), BS_ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "token 'LateHSM' not present"));
	const char *init[] = {"softhsm2-util", "--init-token", "--free", "--label", "LateHSM",
			      "--pin", PIN, "--so-pin", "12345678", NULL};
	bs_test_run_ok(init);
	const char *w[] = {"pkcs11-tool", "--module", SOFTHSM, "--token-label", "LateHSM",
			   "--login", "--pin", PIN, "--write-object", NULL, "--type", "cert",
			   "--label", "late", NULL};
	char crt[4096];
	snprintf(crt, sizeof(crt), "%s/p256.crt", g_dir);
	w[9] = crt;
	bs_test_run_ok(w);
	usleep(1100 * 1000); /* the rate limit */
	int rc = bs_p11_uri_loader.load_cert(p, uri, &x, &e);
	if (rc != 0)
		fail_msg("late token: %s", e.msg);
	assert_non_null(x);
	X509_free(x);
	bs_p11_close(p);
}

/* Log lines written during failures and recoveries never carry the PIN. */
static void test_pkcs11__pin_never_logged(void **s)
{
	(void)s;
	char path[1024];
	snprintf(path, sizeof(path), "%s/log.txt", g_dir);
	FILE *lf = fopen(path, "w+");
	assert_non_null(lf);
	bs_log_set_fd(fileno(lf));
	bs_log_set_level(BS_LOG_DEBUG);
	reset_shim();
	struct bs_p11 *p = open_p11(shim(), PIN, 2, 300);
	X509 *cert = NULL;
	struct bs_key *key = NULL;
	struct bs_error e = {0};
	load(p, "p256", &cert, &key);
	bs_shim_ctl("fail_session=1\n");
	assert_int_equal(bs_sign_verify(key, X509_get0_pubkey(cert), BS_SIG_DEFAULT, &e), 0);
	bs_shim_ctl("sleep_sign_ms=600\n");
	assert_int_equal(bs_sign_verify(key, X509_get0_pubkey(cert), BS_SIG_DEFAULT, &e),
			 BS_ERR_TIMEOUT);
	assert_null(strstr(e.msg, PIN));
	bs_shim_ctl("");
	bs_key_free(key);
	X509_free(cert);
	bs_p11_close(p);
	bs_log_set_fd(2);
	bs_log_set_level(BS_LOG_INFO);
	rewind(lf);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, lf);
	buf[n] = '\0';
	fclose(lf);
	assert_non_null(strstr(buf, "lost its sessions"));  /* the log did get lines */
	assert_non_null(strstr(buf, "quarantined"));
	assert_null(strstr(buf, PIN));
}

static void test_pkcs11__bad_module_is_config_error(void **s)
{
	(void)s;
	struct bs_p11_opts o = {.module = "/nonexistent/module.so", .pin = PIN};
	struct bs_p11 *p = NULL;
	struct bs_error e = {0};
	assert_int_equal(bs_p11_open(&p, &o, &e), BS_ERR_CONFIG);
	assert_null(p);
	o.module = SOFTHSM;
	o.pool_size = 17;
	assert_int_equal(bs_p11_open(&p, &o, &e), BS_ERR_CONFIG);
	assert_null(p);
}

/* ---- provisioning ---- */

static EVP_PKEY *read_key(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.key", g_dir, name);
	EVP_PKEY *k = bs_read_pem_key(path, NULL);
	assert_non_null(k);
	return k;
}

static X509 *read_cert(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.crt", g_dir, name);
	return bs_read_pem_cert(path);
}

static const struct bs_p11_object_info *find_info(const struct bs_p11_object_info *o,
						  size_t n, const char *label, const char *type)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].label, label) == 0 && strcmp(o[i].type, type) == 0)
			return &o[i];
	return NULL;
}

static void test_pkcs11__import_list_sign_roundtrip(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 2, 10000);
	struct bs_error e = {0};
	const uint8_t id[] = {0x42, 0x01};
	const char *tok = "pkcs11:token=YubiHSM";
	struct {
		const char *file, *label;
		const char *kt;
		unsigned bits;
	} cases[] = {{"rsa2048", "imp-rsa", "RSA", 2048}, {"p256", "imp-ec", "EC", 256}};
	for (size_t c = 0; c < 2; c++) {
		EVP_PKEY *k = read_key(cases[c].file);
		X509 *x = read_cert(cases[c].file);
		uint8_t myid[2] = {id[0], (uint8_t)(id[1] + c)};
		int rc = bs_p11_import(p, tok, k, x, cases[c].label, myid, 2, &e);
		if (rc != 0)
			fprintf(stderr, "import: %s\n", e.msg);
		assert_int_equal(rc, 0);
		/* a second import under the same label is refused, nothing overwritten */
		assert_int_equal(bs_p11_import(p, tok, k, x, cases[c].label, myid, 2, &e),
				 BS_ERR_INVALID);
		EVP_PKEY_free(k);
		X509_free(x);
		X509 *cert = NULL;
		struct bs_key *key = NULL;
		load(p, cases[c].label, &cert, &key);
		assert_int_equal(bs_sign_verify(key, X509_get0_pubkey(cert), BS_SIG_DEFAULT, &e),
				 0);
		bs_key_free(key);
		X509_free(cert);
	}
	struct bs_p11_object_info *objs = NULL;
	size_t n = 0;
	assert_int_equal(bs_p11_list(p, tok, &objs, &n, &e), 0);
	for (size_t c = 0; c < 2; c++) {
		const struct bs_p11_object_info *o = find_info(objs, n, cases[c].label, "private");
		assert_non_null(o);
		assert_string_equal(o->keytype, cases[c].kt);
		assert_int_equal(o->bits, cases[c].bits);
		assert_string_equal(o->usage, "sign");
		assert_string_equal(o->id_hex, c == 0 ? "4201" : "4202");
		assert_non_null(o = find_info(objs, n, cases[c].label, "public"));
		assert_string_equal(o->usage, "verify");
		assert_non_null(o = find_info(objs, n, cases[c].label, "cert"));
		assert_int_equal(o->bits, cases[c].bits);
	}
	free(objs);
	/* a key that does not match the certificate is refused before touching the token */
	EVP_PKEY *k = read_key("rsa2048");
	X509 *x = read_cert("rsa4096");
	assert_int_equal(bs_p11_import(p, tok, k, x, "mismatch", NULL, 0, &e), BS_ERR_KEY);
	EVP_PKEY_free(k);
	X509_free(x);
	bs_p11_close(p);
}

static void test_pkcs11__generate_signs_with_token_key(void **s)
{
	(void)s;
	struct bs_p11 *p = open_p11(SOFTHSM, PIN, 2, 10000);
	struct bs_error e = {0};
	const char *tok = "pkcs11:token=YubiHSM";
	const char *types[] = {"p256", "rsa2048"};
	for (size_t i = 0; i < 2; i++) {
		char label[32];
		snprintf(label, sizeof(label), "gen-%s", types[i]);
		uint8_t id = (uint8_t)(0x70 + i);
		struct bs_key *key = NULL;
		int rc = bs_p11_generate(p, tok, types[i], label, &id, 1, &key, &e);
		if (rc != 0)
			fprintf(stderr, "generate: %s\n", e.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(bs_sign_verify(key, bs_key_public(key), BS_SIG_DEFAULT, &e), 0);
		bs_key_free(key);
		assert_int_equal(bs_p11_generate(p, tok, types[i], label, &id, 1, &key, &e),
				 BS_ERR_INVALID);
		assert_null(key);
	}
	struct bs_key *key = NULL;
	assert_int_equal(bs_p11_generate(p, tok, "dsa1024", "x", NULL, 0, &key, &e),
			 BS_ERR_INVALID);
	assert_null(key);
	bs_p11_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkcs11__uri_sanitize),
		cmocka_unit_test(test_pkcs11__sign_rsa2048_pkcs1_verifies),
		cmocka_unit_test(test_pkcs11__sign_rsa2048_pss_verifies),
		cmocka_unit_test(test_pkcs11__sign_rsa4096_verifies),
		cmocka_unit_test(test_pkcs11__sign_p256_verifies),
		cmocka_unit_test(test_pkcs11__sign_through_p11kit_proxy),
		cmocka_unit_test(test_pkcs11__sign_pss_salt_and_raw_ecdsa),
		cmocka_unit_test(test_pkcs11__loader_rejects_real_pin),
		cmocka_unit_test(test_pkcs11__wrong_pin_is_config_error_and_not_retried),
		cmocka_unit_test(test_pkcs11__unknown_object_not_found),
		cmocka_unit_test(test_pkcs11__key_without_certificate),
		cmocka_unit_test(test_pkcs11__key_certificate_mismatch),
		cmocka_unit_test(test_pkcs11__token_absent),
		cmocka_unit_test(test_pkcs11__token_created_after_open_is_found),
		cmocka_unit_test(test_pkcs11__pin_never_logged),
		cmocka_unit_test(test_pkcs11__bad_module_is_config_error),
		cmocka_unit_test(test_pkcs11__import_list_sign_roundtrip),
		cmocka_unit_test(test_pkcs11__generate_signs_with_token_key),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
