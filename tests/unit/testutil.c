#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <unistd.h>

#include "core/util.h"

const char *bs_fixture(const char *rel)
{
	static char slots[8][4096];
	static int next;
	const char *root = getenv("BS_FIXTURES");
	if (root == NULL)
		root = "tests/fixtures";
	char *p = slots[next++ % 8];
	snprintf(p, 4096, "%s/%s", root, rel);
	return p;
}

uint8_t *bs_fixture_read(const char *rel, size_t *len)
{
	uint8_t *data = NULL;
	struct bs_error err = {0};
	if (bs_read_file(&data, len, bs_fixture(rel), 256u << 20, &err) != 0) {
		fprintf(stderr, "fixture %s: %s\n", rel, err.msg);
		abort();
	}
	return data;
}

char *bs_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/bs-test-XXXXXX", base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	if (d == NULL)
		abort();
	return strdup(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

void bs_tmpdir_remove(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void bs_tmpdir_free(char *dir)
{
	bs_tmpdir_remove(dir);
	free(dir);
}

int bs_test_run(const char *const *argv, const char *out_path)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out_path != NULL) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0)
				_exit(127);
			dup2(fd, 1);
			close(fd);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void bs_test_run_ok(const char *const *argv)
{
	int rc = bs_test_run(argv, "/dev/null");
	if (rc != 0)
		fail_msg("%s %s failed (%d)", argv[0], argv[1] ? argv[1] : "", rc);
}

void bs_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

X509 *bs_read_pem_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

EVP_PKEY *bs_read_pem_key(const char *path, const char *pass)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, (void *)pass);
	fclose(f);
	return k;
}

int bs_sign_verify(struct bs_key *key, EVP_PKEY *pub, enum bs_sig_scheme scheme,
		   struct bs_error *e)
{
	uint8_t dg[32];
	SHA256((const unsigned char *)"msg", 3, dg);
	uint8_t *sig = NULL;
	size_t sl = 0;
	int rc = bs_key_sign_digest(key, NID_sha256, scheme, dg, sizeof(dg), &sig, &sl, e);
	if (rc != 0)
		return rc;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	int ok = c != NULL && EVP_PKEY_verify_init(c) == 1 &&
		 EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1;
	if (ok && scheme == BS_SIG_RSA_PSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) == 1;
	ok = ok && EVP_PKEY_verify(c, sig, sl, dg, sizeof(dg)) == 1;
	EVP_PKEY_CTX_free(c);
	free(sig);
	return ok ? 0 : -1000;
}

time_t bs_cms_signing_time(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	assert_non_null(si);
	time_t t = 0;
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	if (idx >= 0) {
		ASN1_TYPE *v = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
		struct tm tm;
		assert_non_null(v);
		assert_int_equal(ASN1_TIME_to_tm((ASN1_TIME *)v->value.utctime, &tm), 1);
		t = timegm(&tm);
	}
	CMS_ContentInfo_free(cms);
	return t;
}

int bs_pkeyutl_verify(const char *dir, EVP_PKEY *pub, const char *const *pkeyopts, bool rawin,
		      const uint8_t *in, size_t in_len, const uint8_t *sig, size_t sig_len)
{
	char pp[4096], ip[4096], sp[4096];
	snprintf(pp, sizeof(pp), "%s/pub.pem", dir);
	snprintf(ip, sizeof(ip), "%s/in.bin", dir);
	snprintf(sp, sizeof(sp), "%s/sig.bin", dir);
	FILE *f = fopen(pp, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pub), 1);
	assert_int_equal(fclose(f), 0);
	bs_write(ip, in, in_len);
	bs_write(sp, sig, sig_len);
	const char *argv[32] = {"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pp,
				"-in", ip, "-sigfile", sp};
	size_t n = 10;
	if (rawin)
		argv[n++] = "-rawin";
	for (size_t i = 0; pkeyopts != NULL && pkeyopts[i] != NULL && n < 30; i++) {
		argv[n++] = "-pkeyopt";
		argv[n++] = pkeyopts[i];
	}
	argv[n] = NULL;
	return bs_test_run(argv, "/dev/null");
}

int bs_softhsm_init(const char *dir, const char *label, const char *pin)
{
	char conf[4096], path[4096], tok[4096];
	snprintf(conf, sizeof(conf), "directories.tokendir = %s/tokens\nobjectstore.backend = "
		 "file\nlog.level = ERROR\n", dir);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	snprintf(tok, sizeof(tok), "%s/tokens", dir);
	struct bs_error e;
	if (bs_write_file(path, conf, strlen(conf), 0600, false, &e) != 0)
		return -1;
	if (mkdir(tok, 0700) != 0)
		return -1;
	setenv("SOFTHSM2_CONF", path, 1);
	const char *init[] = {"softhsm2-util", "--init-token", "--free", "--label", label,
			      "--pin", pin, "--so-pin", "12345678", NULL};
	return bs_test_run(init, "/dev/null") == 0 ? 0 : -1;
}

int bs_softhsm_add_key(const char *dir, const char *name, const char *alg, const char *opt,
		       const char *pin, bool with_cert)
{
	char key[4096], crt[4096], cn[256];
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(cn, sizeof(cn), "/CN=%s", name);
	const char *gen[] = {"openssl", "genpkey", "-algorithm", alg, "-pkeyopt", opt, "-out", key,
			     NULL};
	const char *req[] = {"openssl", "req", "-x509", "-new", "-key", key, "-subj", cn,
			     "-days", "2", "-out", crt, NULL};
	const char *wk[] = {"pkcs11-tool", "--module", BS_SOFTHSM_MODULE, "--login", "--pin", pin,
			    "--write-object", key, "--type", "privkey", "--label", name, NULL};
	const char *wc[] = {"pkcs11-tool", "--module", BS_SOFTHSM_MODULE, "--login", "--pin", pin,
			    "--write-object", crt, "--type", "cert", "--label", name, NULL};
	if (bs_test_run(gen, "/dev/null") != 0 || bs_test_run(req, "/dev/null") != 0 ||
	    bs_test_run(wk, "/dev/null") != 0)
		return -1;
	if (with_cert && bs_test_run(wc, "/dev/null") != 0)
		return -1;
	return 0;
}

static char g_shim_ctl[4096], g_shim_count[4096];

void bs_shim_env(const char *dir)
{
	snprintf(g_shim_ctl, sizeof(g_shim_ctl), "%s/shim.ctl", dir);
	snprintf(g_shim_count, sizeof(g_shim_count), "%s/shim.count", dir);
	setenv("P11SHIM_CTL", g_shim_ctl, 1);
	setenv("P11SHIM_COUNT", g_shim_count, 1);
}

void bs_shim_ctl(const char *text)
{
	static int epoch = 1;
	FILE *f = fopen(g_shim_ctl, "w");
	assert_non_null(f);
	fprintf(f, "epoch=%d\n%s", epoch++, text);
	fclose(f);
}

unsigned long bs_shim_count(const char *key)
{
	FILE *f = fopen(g_shim_count, "r");
	if (f == NULL)
		return 0;
	char line[512] = " "; /* leading blank: every counter is matched as " key=" */
	if (fgets(line + 1, 256, f) == NULL)
		line[1] = '\0';
	fclose(f);
	char pat[64];
	snprintf(pat, sizeof(pat), " %s=", key);
	const char *p = strstr(line, pat);
	return p ? strtoul(p + strlen(pat), NULL, 10) : 0;
}

void bs_shim_count_remove(void)
{
	remove(g_shim_count);
}

int bs_test_dir_open(void *ctx, const char *name, FILE **out, uint64_t *size,
		     struct bs_error *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", (const char *)ctx, name);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return bs_error_set(err, BS_ERR_NOT_FOUND, "no such file \"%s\"", name);
	struct stat st;
	assert_int_equal(fstat(fileno(fp), &st), 0);
	*out = fp;
	*size = (uint64_t)st.st_size;
	return 0;
}

int bs_test_membuf_put(struct bs_test_membuf *m, const void *buf, size_t n)
{
	if (m->n + n > m->cap) {
		size_t nc = (m->cap + n) * 2;
		uint8_t *p = realloc(m->d, nc);
		if (p == NULL)
			return -1;
		m->d = p;
		m->cap = nc;
	}
	memcpy(m->d + m->n, buf, n);
	m->n += n;
	return 0;
}
