/* Unit tests for src/formats/mender/artifact.c (Mender artifact v3 signing) and
 * src/sign/artifact_file.c (file:// URIs confined to a root, atomic replacement).
 * Artifacts are built in memory with libarchive's writer; signatures are checked with
 * OpenSSL's EVP verify (not our own code). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "formats/mender/artifact.h"
#include "sign/artifact_file.h"
#include "testutil.h"

#define VERSION_JSON "{\"format\":\"mender\",\"version\":3}"
#define HEADER_DATA "header-bytes: not really gzip, the signer does not unpack it"
#define PAYLOAD_DATA "payload data/0000.tar.gz bytes"

#define membuf bs_test_membuf
#define mb_put bs_test_membuf_put

static la_ssize_t la_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	return mb_put(ud, buf, n) == 0 ? (la_ssize_t)n : -1;
}

static int out_write(void *ctx, const void *buf, size_t n, struct bs_error *err)
{
	return mb_put(ctx, buf, n) == 0 ? 0 : bs_error_set(err, BS_ERR_NOMEM, "oom");
}

static int mem_read(void *ctx, void *buf, size_t cap, size_t *got, struct bs_error *err)
{
	(void)err;
	struct membuf *m = ctx;
	size_t n = m->n - m->pos < cap ? m->n - m->pos : cap;
	memcpy(buf, m->d + m->pos, n);
	m->pos += n;
	*got = n;
	return 0;
}

struct member {
	const char *name;
	const char *data; /* NULL = directory */
};

static struct membuf build(const struct member *mm, size_t n)
{
	struct membuf m = {0};
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, &m, NULL, la_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, mm[i].name);
		archive_entry_set_filetype(e, mm[i].data ? AE_IFREG : AE_IFDIR);
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, mm[i].data ? (la_int64_t)strlen(mm[i].data) : 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (mm[i].data && mm[i].data[0])
			assert_true(archive_write_data(a, mm[i].data, strlen(mm[i].data)) > 0);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return m;
}

static void sha_line(char *out, size_t cap, const char *data, const char *name)
{
	uint8_t d[32];
	char hex[65];
	unsigned dl = 0;
	assert_int_equal(EVP_Digest(data, strlen(data), d, &dl, EVP_sha256(), NULL), 1);
	snprintf(out, cap, "%s  %s\n", bs_hex(hex, d, 32), name);
}

/* A well-formed artifact; `tamper` changes the header after the manifest was made,
 * `old_sig` adds a manifest.sig. */
static struct membuf artifact(bool tamper, const char *old_sig)
{
	char manifest[512], l1[128], l2[128], l3[128];
	sha_line(l1, sizeof(l1), "rootfs", "data/0000/rootfs.ext4");
	sha_line(l2, sizeof(l2), HEADER_DATA, "header.tar.gz");
	sha_line(l3, sizeof(l3), VERSION_JSON, "version");
	snprintf(manifest, sizeof(manifest), "%s%s%s", l1, l2, l3);
	struct member mm[] = {
		{"version", VERSION_JSON}, {"manifest", manifest}, {"manifest.sig", old_sig},
		{"header.tar.gz", tamper ? HEADER_DATA "!" : HEADER_DATA},
		{"data/0000.tar.gz", PAYLOAD_DATA},
	};
	if (old_sig != NULL)
		return build(mm, 5);
	struct member nosig[] = {mm[0], mm[1], mm[3], mm[4]};
	return build(nosig, 4);
}

static EVP_PKEY *gen(const char *alg, const char *param)
{
	EVP_PKEY *k = NULL;
	if (strcmp(alg, "RSA") == 0)
		k = EVP_RSA_gen(2048);
	else
		k = EVP_EC_gen(param);
	assert_non_null(k);
	return k;
}

static int resign(struct membuf *out, struct membuf *in, EVP_PKEY *pk, struct bs_error *err)
{
	struct bs_key *key = NULL;
	assert_true(EVP_PKEY_up_ref(pk) == 1);
	assert_int_equal(bs_key_from_pkey(&key, pk, "test", NULL), 0);
	uint8_t dg[32];
	in->pos = 0;
	int rc = bs_mender_resign(dg, mem_read, in, NULL, out_write, out, key, err);
	bs_key_free(key);
	return rc;
}

/* Members of an output artifact, in order, with their data. */
static size_t read_members(const struct membuf *m, char names[][64], char data[][512], size_t max)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, m->d, m->n), ARCHIVE_OK);
	struct archive_entry *e;
	size_t n = 0;
	while (n < max && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		snprintf(names[n], 64, "%s", archive_entry_pathname(e));
		la_ssize_t got = archive_read_data(a, data[n], 511);
		assert_true(got >= 0);
		data[n][got] = '\0';
		n++;
	}
	archive_read_free(a);
	return n;
}

/* The manifest.sig verifies over the manifest under pk (OpenSSL EVP). */
static void check_sig(const char *manifest, const char *sig_b64, EVP_PKEY *pk)
{
	uint8_t raw[1024];
	int n = EVP_DecodeBlock(raw, (const unsigned char *)sig_b64, (int)strlen(sig_b64));
	assert_true(n > 0);
	size_t len = (size_t)n - (strlen(sig_b64) > 1 && sig_b64[strlen(sig_b64) - 1] == '=') -
		     (strlen(sig_b64) > 2 && sig_b64[strlen(sig_b64) - 2] == '=');
	uint8_t der[128];
	const uint8_t *sig = raw;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		assert_int_equal(len, 64); /* r||s, as mender-artifact writes it */
		ECDSA_SIG *es = ECDSA_SIG_new();
		assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL),
						BN_bin2bn(raw + 32, 32, NULL)), 1);
		uint8_t *p = der;
		len = (size_t)i2d_ECDSA_SIG(es, &p);
		ECDSA_SIG_free(es);
		sig = der;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, len, (const uint8_t *)manifest,
					  strlen(manifest)), 1);
	EVP_MD_CTX_free(md);
}

static void sign_and_check(EVP_PKEY *pk, const char *old_sig)
{
	struct membuf in = artifact(false, old_sig), out = {0};
	struct bs_error err = {0};
	assert_int_equal(resign(&out, &in, pk, &err), 0);
	char names[8][64], data[8][512];
	size_t n = read_members(&out, names, data, 8);
	assert_int_equal(n, 5);
	const char *want[] = {"version", "manifest", "manifest.sig", "header.tar.gz",
			      "data/0000.tar.gz"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(names[i], want[i]);
	assert_string_equal(data[0], VERSION_JSON);
	assert_string_equal(data[3], HEADER_DATA);
	assert_string_equal(data[4], PAYLOAD_DATA);
	check_sig(data[1], data[2], pk);
	free(in.d);
	free(out.d);
}

static void test_mender__rsa_signature_verifies(void **state)
{
	(void)state;
	EVP_PKEY *pk = gen("RSA", NULL);
	sign_and_check(pk, NULL);
	EVP_PKEY_free(pk);
}

static void test_mender__ecdsa_p256_raw_signature(void **state)
{
	(void)state;
	EVP_PKEY *pk = gen("EC", "P-256");
	sign_and_check(pk, NULL);
	EVP_PKEY_free(pk);
}

static void test_mender__existing_signature_replaced(void **state)
{
	(void)state;
	EVP_PKEY *pk = gen("EC", "P-256");
	sign_and_check(pk, "b2xkIHNpZ25hdHVyZQ==");
	EVP_PKEY_free(pk);
}

static void expect_refused(struct membuf *in, EVP_PKEY *pk, int code, const char *needle)
{
	struct membuf out = {0};
	struct bs_error err = {0};
	assert_int_equal(resign(&out, in, pk, &err), code);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
	free(out.d);
	free(in->d);
}

static void test_mender__refused_artifacts(void **state)
{
	(void)state;
	EVP_PKEY *pk = gen("EC", "P-256");
	struct membuf in = artifact(true, NULL);
	expect_refused(&in, pk, BS_ERR_INVALID, "\"header.tar.gz\": SHA-256 differs");
	struct member first[] = {{"manifest", "x"}, {"version", VERSION_JSON}};
	in = build(first, 2);
	expect_refused(&in, pk, BS_ERR_INVALID, "member 1 is \"manifest\", expected \"version\"");
	struct member v2[] = {{"version", "{\"format\":\"mender\",\"version\":2}"}};
	in = build(v2, 1);
	expect_refused(&in, pk, BS_ERR_INVALID, "version 2, only 3");
	char line[128];
	sha_line(line, sizeof(line), "h", "header.tar.gz");
	struct member missing[] = {{"version", VERSION_JSON}, {"manifest", line}};
	in = build(missing, 2);
	expect_refused(&in, pk, BS_ERR_INVALID, "lists \"header.tar.gz\", the artifact has no");
	struct member dir[] = {{"version", VERSION_JSON}, {"manifest", line}, {"data", NULL}};
	in = build(dir, 3);
	expect_refused(&in, pk, BS_ERR_INVALID, "\"data\": a directory");
	uint8_t junk[4096] = {1, 2, 3};
	in = (struct membuf){.d = malloc(sizeof(junk)), .n = sizeof(junk)};
	memcpy(in.d, junk, sizeof(junk));
	expect_refused(&in, pk, BS_ERR_FORMAT, "");
	EVP_PKEY_free(pk);
	EVP_PKEY *p384 = gen("EC", "P-384");
	in = artifact(false, NULL);
	expect_refused(&in, p384, BS_ERR_KEY, "RSA or ECDSA P-256 keys only");
	EVP_PKEY_free(p384);
}

static void test_mender__version_and_manifest_syntax(void **state)
{
	(void)state;
	const char *ok[] = {VERSION_JSON, " { \"version\" : 3 ,\n \"format\": \"mender\" }\n"};
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(bs_mender_version_check((const uint8_t *)ok[i], strlen(ok[i]), NULL),
				 0);
	const char *bad[] = {"", "[]", "{\"format\":\"mender\"}", "{\"format\":\"x\",\"version\":3}",
			     "{\"format\":\"mender\",\"version\":3} x",
			     "{\"format\":\"men\\\"der\",\"version\":3}",
			     "{\"format\":\"mender\",\"version\":3333333333}",
			     "{\"format\":\"mender\" \"version\":3}"};
	for (size_t i = 0; i < BS_ARRAY_SIZE(bad); i++)
		assert_int_equal(bs_mender_version_check((const uint8_t *)bad[i], strlen(bad[i]),
							  NULL), BS_ERR_INVALID);
	struct bs_mender_entry *e = NULL;
	size_t n = 0;
	struct bs_error err = {0};
	char good[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF  a\n"
		      "0000000000000000000000000000000000000000000000000000000000000000  b";
	assert_int_equal(bs_mender_manifest_parse(&e, &n, good, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[1].name, "b");
	assert_int_equal(e[0].sha256[31], 0xff);
	free(e);
	char dup[] = "0000000000000000000000000000000000000000000000000000000000000000  a\n"
		     "0000000000000000000000000000000000000000000000000000000000000000  a\n";
	assert_int_equal(bs_mender_manifest_parse(&e, &n, dup, &err), BS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "line 2"));
	assert_null(e);
	char hex[] = "g000000000000000000000000000000000000000000000000000000000000000  a\n";
	assert_int_equal(bs_mender_manifest_parse(&e, &n, hex, &err), BS_ERR_INVALID);
	char one_space[] = "0000000000000000000000000000000000000000000000000000000000000000 a\n";
	assert_int_equal(bs_mender_manifest_parse(&e, &n, one_space, &err), BS_ERR_INVALID);
	char empty[] = "";
	assert_int_equal(bs_mender_manifest_parse(&e, &n, empty, &err), BS_ERR_INVALID);
}

/* ---- artifact_file ---- */

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.' || strncmp(e->d_name, ".bootsign", 9) == 0;
	closedir(d);
	return n;
}

static void expect_uri(const char *root, const char *uri, int code, const char *needle)
{
	struct bs_artifact_file *af = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_artifact_file_open(&af, root, uri, "artifact-uri", &err), code);
	assert_null(af);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_mender__artifact_uri_confined(void **state)
{
	(void)state;
	char *t = bs_tmpdir();
	char root[512], p[600], uri[700], outside[600];
	snprintf(root, sizeof(root), "%s/root", t);
	assert_int_equal(mkdir(root, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/a.mender", root);
	bs_write(p, "orig", 4);
	snprintf(outside, sizeof(outside), "%s/out.mender", t);
	bs_write(outside, "secret", 6);
	snprintf(p, sizeof(p), "%s/sub/link.mender", root);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/dirlink", root);
	assert_int_equal(symlink(t, p), 0);

	snprintf(uri, sizeof(uri), "file://%s/sub/a.mender", root);
	expect_uri(NULL, uri, BS_ERR_POLICY, "no mender_artifact_root configured");
	expect_uri(root, "s3://bucket/a.mender", BS_ERR_UNSUPPORTED, "only file:// URIs");
	expect_uri(root, "file://host/x", BS_ERR_INVALID, "not a local absolute path");
	snprintf(uri, sizeof(uri), "file://%s", outside);
	expect_uri(root, uri, BS_ERR_PATH, "is outside mender_artifact_root");
	snprintf(uri, sizeof(uri), "file://%s/sub/../../out.mender", root);
	expect_uri(root, uri, BS_ERR_PATH, "\"..\" is refused");
	snprintf(uri, sizeof(uri), "file://%s/sub/link.mender", root);
	expect_uri(root, uri, BS_ERR_PATH, "\"sub/link.mender\" is a symlink");
	snprintf(uri, sizeof(uri), "file://%s/dirlink/out.mender", root);
	expect_uri(root, uri, BS_ERR_PATH, "\"dirlink\" is a symlink");
	snprintf(uri, sizeof(uri), "file://%s/sub/none.mender", root);
	expect_uri(root, uri, BS_ERR_NOT_FOUND, "sub/none.mender");
	snprintf(uri, sizeof(uri), "file://%s/sub", root);
	expect_uri(root, uri, BS_ERR_PATH, "not a regular file");

	/* not committed: the original stays, no temporary file is left */
	struct bs_artifact_file *af = NULL;
	snprintf(uri, sizeof(uri), "file://%s/sub/%%61.mender", root); /* %61 = 'a' */
	assert_int_equal(bs_artifact_file_open(&af, root, uri, "artifact-uri", NULL), 0);
	assert_string_equal(bs_artifact_file_name(af), "sub/a.mender");
	assert_int_equal(bs_artifact_file_write(af, "new!", 4, NULL), 0);
	snprintf(p, sizeof(p), "%s/sub", root);
	assert_int_equal(count_entries(p), 3); /* a.mender, link.mender, the temp file */
	bs_artifact_file_free(af);
	assert_int_equal(count_entries(p), 2);
	size_t len = 0;
	snprintf(p, sizeof(p), "%s/sub/a.mender", root);
	uint8_t *d = NULL;
	assert_int_equal(bs_read_file(&d, &len, p, 64, NULL), 0);
	assert_memory_equal(d, "orig", 4);
	free(d);

	/* committed: replaced, mode kept */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(bs_artifact_file_open(&af, root, uri, "artifact-uri", NULL), 0);
	assert_int_equal(bs_artifact_file_write(af, "signed", 6, NULL), 0);
	assert_int_equal(bs_artifact_file_commit(af, NULL), 0);
	bs_artifact_file_free(af);
	assert_int_equal(bs_read_file(&d, &len, p, 64, NULL), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(d, "signed", 6);
	free(d);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(p, sizeof(p), "%s/sub", root);
	assert_int_equal(count_entries(p), 2);
	bs_tmpdir_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mender__rsa_signature_verifies),
		cmocka_unit_test(test_mender__ecdsa_p256_raw_signature),
		cmocka_unit_test(test_mender__existing_signature_replaced),
		cmocka_unit_test(test_mender__refused_artifacts),
		cmocka_unit_test(test_mender__version_and_manifest_syntax),
		cmocka_unit_test(test_mender__artifact_uri_confined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
