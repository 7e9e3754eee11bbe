/* Unit tests for src/formats/optee: the signed TA layout checked field by field with
 * offsets written out here (OP-TEE's signed_hdr.h), the digest recomputed and the
 * signature verified with OpenSSL (RSASSA-PSS, MGF1-SHA-256, salt exactly 32); names and
 * versions of archive members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "formats/optee/ta.h"
#include "formats/optee/ta_set.h"
#include "testutil.h"

#define U1 "8aaaf200-2450-11e4-abe2-0002a5d5c51b"
#define U1_UPPER "8AAAF200-2450-11E4-ABE2-0002A5D5C51B"
#define U2 "5b9e0e40-2636-11e1-ad9e-0002a5d5c51b"

static const uint8_t g_u1[16] = {0x8a, 0xaa, 0xf2, 0x00, 0x24, 0x50, 0x11, 0xe4,
				 0xab, 0xe2, 0x00, 0x02, 0xa5, 0xd5, 0xc5, 0x1b};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_optee__uuid_parse(void **state)
{
	(void)state;
	uint8_t u[16], z[16] = {0};
	assert_int_equal(bs_optee_uuid_parse(u, U1, strlen(U1)), 0);
	assert_memory_equal(u, g_u1, 16);
	assert_int_equal(bs_optee_uuid_parse(u, U1_UPPER, strlen(U1_UPPER)), 0);
	assert_memory_equal(u, g_u1, 16);
	char t[BS_OPTEE_UUID_TEXT_LEN + 1];
	assert_string_equal(bs_optee_uuid_text(t, u), U1);
	const char *bad[] = {"", "8aaaf200245011e4abe20002a5d5c51b",
			     "8aaaf200-2450-11e4-abe2-0002a5d5c51",
			     "8aaaf200-2450-11e4-abe2-0002a5d5c51bb",
			     "8aaaf2002-450-11e4-abe2-0002a5d5c51b",
			     "8aaaf200-2450-11e4-abe2-0002a5d5c5g1",
			     "{aaaf200-2450-11e4-abe2-0002a5d5c51}",
			     "8aaaf200-2450-11e4-abe2+0002a5d5c51b", "hello"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(u, 0, sizeof(u));
		assert_int_equal(bs_optee_uuid_parse(u, bad[i], strlen(bad[i])), BS_ERR_INVALID);
		assert_memory_equal(u, z, 16);
	}
	/* the length given counts, not the NUL */
	assert_int_equal(bs_optee_uuid_parse(u, U1 "x", strlen(U1)), 0);
}

static int ver(const char *s, uint32_t *v)
{
	struct bs_error e = {0};
	*v = 12345;
	int rc = bs_optee_version_parse(v, (const uint8_t *)s, strlen(s), "x.ta-version", &e);
	if (rc != 0) {
		assert_int_equal(*v, 12345);
		assert_non_null(strstr(e.msg, "x.ta-version"));
	}
	return rc;
}

static void test_optee__version_parse(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint32_t v;
	} ok[] = {{"0", 0},	  {"7\n", 7},		{" 42 \r\n", 42},   {"0x10", 16},
		  {"0X1f", 31},	  {"0o17", 15},		{"0b101", 5},	    {"00", 0},
		  {"5\nfoo", 5},  {"4294967295", UINT32_MAX}, {"0xffffffff", UINT32_MAX},
		  {"\t9", 9}};
	uint32_t v;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(ver(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	const char *bad[] = {"", "\n", "   ", "4294967296", "0x100000000", "010", "-1", "+1",
			     "1_0", "abc", "0x", "0b2", "0o8", "1.0", "1 2", "99999999999999999999",
			     "0xg"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ver(bad[i], &v), BS_ERR_INVALID);
}

static EVP_PKEY *g_rsa;

static int setup(void **state)
{
	(void)state;
	g_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return g_rsa ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(g_rsa);
	return 0;
}

static uint8_t *make_ta(const uint8_t *img, size_t ilen, uint32_t version, size_t *len,
			uint8_t digest[32])
{
	struct bs_key *k = NULL;
	EVP_PKEY_up_ref(g_rsa);
	assert_int_equal(bs_key_from_pkey(&k, g_rsa, "ta key", NULL), 0);
	uint8_t *hdr = NULL;
	size_t hl = 0;
	struct bs_error e = {0};
	assert_int_equal(bs_optee_ta_sign(&hdr, &hl, digest, k, g_u1, version, img, ilen, &e), 0);
	bs_key_free(k);
	uint8_t *ta = malloc(hl + ilen + 1);
	memcpy(ta, hdr, hl);
	memcpy(ta + hl, img, ilen);
	free(hdr);
	*len = hl + ilen;
	return ta;
}

/* Every field where signed_hdr.h puts it; digest and signature checked with OpenSSL. */
static void test_optee__layout_matches_signed_hdr(void **state)
{
	(void)state;
	const uint8_t img[] = "\x7f" "ELF this is not really an ELF, the loader checks that";
	size_t ilen = sizeof(img) - 1, len = 0;
	uint8_t digest[32];
	uint8_t *ta = make_ta(img, ilen, 0x01020304, &len, digest);
	assert_int_equal(len, 20 + 32 + 256 + 16 + 4 + ilen);
	assert_int_equal(le32(ta), 0x4f545348);
	assert_memory_equal(ta, "HSTO", 4);
	assert_int_equal(le32(ta + 4), 1);
	assert_int_equal(le32(ta + 8), ilen);
	assert_int_equal(le32(ta + 12), 0x70414930);
	assert_int_equal(ta[16] | ta[17] << 8, 32);
	assert_int_equal(ta[18] | ta[19] << 8, 256);
	assert_memory_equal(ta + 20, digest, 32);
	const uint8_t *boot = ta + 20 + 32 + 256;
	assert_memory_equal(boot, g_u1, 16);
	assert_int_equal(le32(boot + 16), 0x01020304);
	assert_memory_equal(boot + 20, img, ilen);
	/* digest = SHA-256(shdr || uuid || version || image) */
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t h[32];
	unsigned hl = 0;
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	EVP_DigestUpdate(c, ta, 20);
	EVP_DigestUpdate(c, boot, 20 + ilen);
	assert_int_equal(EVP_DigestFinal_ex(c, h, &hl), 1);
	EVP_MD_CTX_free(c);
	assert_memory_equal(h, digest, 32);
	/* RSASSA-PSS, MGF1-SHA-256, salt exactly 32 */
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(g_rsa, NULL);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) > 0);
	assert_int_equal(EVP_PKEY_verify(pc, ta + 52, 256, digest, 32), 1);
	EVP_PKEY_CTX_free(pc);
	/* and our own parser agrees */
	struct bs_optee_ta_info info;
	struct bs_error e = {0};
	assert_int_equal(bs_optee_ta_verify(&info, ta, len, g_rsa, &e), 0);
	assert_true(info.hash_ok);
	assert_int_equal(info.version, 0x01020304);
	assert_memory_equal(info.uuid, g_u1, 16);
	free(ta);
}

static void test_optee__verify_rejects_tampering(void **state)
{
	(void)state;
	const uint8_t img[] = "image bytes";
	size_t len = 0;
	uint8_t digest[32];
	uint8_t *ta = make_ta(img, sizeof(img) - 1, 0, &len, digest);
	struct bs_error e = {0};
	struct {
		size_t off;
		int code;
	} flips[] = {{0, BS_ERR_FORMAT},     {4, BS_ERR_FORMAT},   {8, BS_ERR_FORMAT},
		     {12, BS_ERR_FORMAT},    {16, BS_ERR_FORMAT},  {20, BS_ERR_VERIFY},
		     {60, BS_ERR_VERIFY},    {308, BS_ERR_VERIFY}, {324, BS_ERR_VERIFY},
		     {len - 1, BS_ERR_VERIFY}};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		ta[flips[i].off] ^= 0x01;
		assert_int_equal(bs_optee_ta_verify(NULL, ta, len, g_rsa, &e), flips[i].code);
		ta[flips[i].off] ^= 0x01;
	}
	assert_int_equal(bs_optee_ta_verify(NULL, ta, len, g_rsa, &e), 0);
	assert_int_equal(bs_optee_ta_verify(NULL, ta, len - 1, g_rsa, &e), BS_ERR_FORMAT);
	assert_int_equal(bs_optee_ta_verify(NULL, ta, 19, NULL, &e), BS_ERR_FORMAT);
	/* another key */
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_int_equal(bs_optee_ta_verify(NULL, ta, len, other, &e), BS_ERR_VERIFY);
	EVP_PKEY_free(other);
	free(ta);
}

static void test_optee__sign_needs_rsa(void **state)
{
	(void)state;
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct bs_key *k = NULL;
	assert_int_equal(bs_key_from_pkey(&k, ec, "ec", NULL), 0);
	uint8_t *hdr = (uint8_t *)"x", d[32];
	size_t hl = 9;
	struct bs_error e = {0};
	assert_int_equal(bs_optee_ta_sign(&hdr, &hl, d, k, g_u1, 0, (const uint8_t *)"a", 1, &e),
			 BS_ERR_KEY);
	assert_null(hdr);
	assert_int_equal(hl, 0);
	bs_key_free(k);
}

static int plan(const char *const *names, size_t n, struct bs_optee_member *m,
		struct bs_error *e)
{
	return bs_optee_plan(m, names, n, "artifact", e);
}

static void test_optee__plan_pairs_and_passes_others(void **state)
{
	(void)state;
	const char *names[] = {"ta/" U1 ".ta-version", "README", "ta/" U1 ".stripped.elf",
			       "ta/", U2 ".stripped.elf", "lib/libfoo.so"};
	struct bs_optee_member m[6];
	struct bs_error e = {0};
	assert_int_equal(plan(names, 6, m, &e), 0);
	assert_int_equal(m[0].role, BS_OPTEE_VERSION);
	assert_int_equal(m[0].pair, 2);
	assert_int_equal(m[2].role, BS_OPTEE_IMAGE);
	assert_int_equal(m[2].pair, 0);
	assert_memory_equal(m[2].uuid, g_u1, 16);
	assert_int_equal(m[1].role, BS_OPTEE_OTHER);
	assert_int_equal(m[3].role, BS_OPTEE_OTHER);
	assert_int_equal(m[4].role, BS_OPTEE_IMAGE);
	assert_int_equal(m[4].pair, BS_OPTEE_NO_PAIR);
	assert_int_equal(m[5].role, BS_OPTEE_OTHER);
	char out[128];
	assert_int_equal(bs_optee_ta_name(out, sizeof(out), names[2], m[2].uuid, &e), 0);
	assert_string_equal(out, "ta/" U1 ".ta");
	assert_int_equal(bs_optee_ta_name(out, sizeof(out), names[4], m[4].uuid, &e), 0);
	assert_string_equal(out, U2 ".ta");
	assert_int_equal(bs_optee_ta_name(out, 10, names[4], m[4].uuid, &e), BS_ERR_LIMIT);
	/* upper-case names become the canonical lower-case .ta */
	const char *up[] = {U1_UPPER ".stripped.elf"};
	assert_int_equal(plan(up, 1, m, &e), 0);
	assert_int_equal(bs_optee_ta_name(out, sizeof(out), up[0], m[0].uuid, &e), 0);
	assert_string_equal(out, U1 ".ta");
}

static void plan_fails(const char *const *names, size_t n, const char *needle)
{
	struct bs_optee_member m[8];
	memset(m, 0x5a, sizeof(m));
	struct bs_error e = {0};
	assert_int_equal(plan(names, n, m, &e), BS_ERR_INVALID);
	if (strstr(e.msg, needle) == NULL)
		fail_msg("message \"%s\" does not name \"%s\"", e.msg, needle);
	assert_non_null(strstr(e.msg, "artifact"));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(m[i].role, BS_OPTEE_OTHER);
}

static void test_optee__plan_errors_name_the_member(void **state)
{
	(void)state;
	const char *a[] = {"ok/" U1 ".stripped.elf", "ta/hello.stripped.elf"};
	plan_fails(a, 2, "ta/hello.stripped.elf");
	const char *b[] = {U1 ".stripped.elf", "v1.ta-version"};
	plan_fails(b, 2, "v1.ta-version");
	const char *c[] = {U1 ".stripped.elf", "x/" U1 ".ta-version"};
	plan_fails(c, 2, "x/" U1 ".ta-version");
	const char *d[] = {U1 ".stripped.elf", U1_UPPER ".stripped.elf"};
	plan_fails(d, 2, ".stripped.elf\": a second TA image");
	const char *f[] = {U1 ".stripped.elf", U1 ".ta-version", U1_UPPER ".ta-version"};
	plan_fails(f, 3, "a second version file");
	const char *g[] = {U1 ".ta", U1 ".stripped.elf"};
	plan_fails(g, 2, U1 ".stripped.elf\": its signed TA name is already taken");
	const char *h[] = {"README", "dir/"};
	plan_fails(h, 2, "no TA image");
	plan_fails(NULL, 0, "no TA image");
	/* control bytes in a name never reach the message */
	const char *i[] = {"\x1b[31mred.stripped.elf"};
	plan_fails(i, 1, "?[31mred.stripped.elf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_optee__uuid_parse),
		cmocka_unit_test(test_optee__version_parse),
		cmocka_unit_test(test_optee__layout_matches_signed_hdr),
		cmocka_unit_test(test_optee__verify_rejects_tampering),
		cmocka_unit_test(test_optee__sign_needs_rsa),
		cmocka_unit_test(test_optee__plan_pairs_and_passes_others),
		cmocka_unit_test(test_optee__plan_errors_name_the_member),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
