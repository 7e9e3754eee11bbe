/* keys/keyproc_msg.c (the message table) and the private-key member check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "testutil.h"
#include "core/limits.h"
#include "keys/keyproc.h"
#include "keys/keyproc_msg.h"

static void encode(struct bs_kp_enc *e, uint16_t type, const char *s1, uint64_t v)
{
	bs_kp_enc_start(e, type, 77);
	if (s1 != NULL)
		bs_kp_put_str(e, s1);
	if (v != 0)
		bs_kp_put_u64(e, v);
	assert_int_equal(bs_kp_enc_end(e, NULL), 0);
}

static void test_keyproc__round_trip(void **state)
{
	(void)state;
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, BS_KP_EXISTS, 9);
	bs_kp_put_u64(&e, 0x100000002ull);
	bs_kp_put_str(&e, "kmodsign/kernel-signkey.priv");
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	struct bs_kp_msg m;
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len, NULL), 0);
	assert_int_equal(m.type, BS_KP_EXISTS);
	assert_int_equal(m.seq, 9);
	uint64_t v = 0;
	char name[BS_PATH_MAX];
	assert_int_equal(bs_kp_get_u64(&v, &m, 0, NULL), 0);
	assert_true(v == 0x100000002ull);
	assert_int_equal(bs_kp_get_str(name, sizeof(name), &m, 1, NULL), 0);
	assert_string_equal(name, "kmodsign/kernel-signkey.priv");
	/* wrong shapes */
	assert_int_equal(bs_kp_get_u64(&v, &m, 1, NULL), BS_ERR_FORMAT);
	assert_int_equal(bs_kp_get_str(name, 4, &m, 1, NULL), BS_ERR_FORMAT);
	assert_int_equal(bs_kp_get_str(name, sizeof(name), &m, 2, NULL), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
}

static void test_keyproc__refuses_off_table(void **state)
{
	(void)state;
	struct bs_kp_enc e;
	struct bs_kp_msg m;
	struct bs_error err = {0};
	/* LEASE_OPEN takes exactly one field */
	encode(&e, BS_KP_LEASE_OPEN, "imx8mp", 5);
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len, &err), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
	/* a subject over BS_NAME_MAX */
	char big[BS_NAME_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	encode(&e, BS_KP_LEASE_OPEN, big, 0);
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len, &err), BS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "too long"));
	/* truncated, trailing byte, unknown type */
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len - 1, NULL), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
	encode(&e, BS_KP_LEASE_OPEN, "imx8mp", 0);
	uint8_t buf[64];
	memcpy(buf, e.buf, e.len);
	buf[e.len] = 0;
	assert_int_equal(bs_kp_decode(&m, buf, e.len + 1, NULL), BS_ERR_FORMAT);
	buf[1] = 55;
	assert_int_equal(bs_kp_decode(&m, buf, e.len, NULL), BS_ERR_FORMAT);
	assert_int_equal(bs_kp_decode(&m, buf, 3, NULL), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
	/* a digest longer than any hash */
	uint8_t dg[BS_KEYPROC_DIGEST_MAX + 1] = {0};
	bs_kp_enc_start(&e, BS_KP_SIGN, 1);
	for (int i = 0; i < 5; i++)
		bs_kp_put_u64(&e, 1);
	bs_kp_put(&e, dg, sizeof(dg));
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len, NULL), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
}

static void test_keyproc__encoder_limits(void **state)
{
	(void)state;
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, BS_KP_OK, 1);
	for (int i = 0; i < BS_KEYPROC_FIELDS_MAX + 1; i++)
		bs_kp_put_u64(&e, 1);
	assert_int_equal(bs_kp_enc_end(&e, NULL), BS_ERR_LIMIT);
	bs_kp_enc_free(&e);
}

static void test_keyproc__secret_members(void **state)
{
	(void)state;
	static const uint8_t cert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
	static const uint8_t pem[] = "junk\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n";
	static const uint8_t enc[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n";
	assert_false(bs_keyproc_secret_member("crts/SRK1_crt.pem", cert, sizeof(cert) - 1));
	assert_true(bs_keyproc_secret_member("crts/innocent.pem", pem, sizeof(pem) - 1));
	assert_true(bs_keyproc_secret_member("x", enc, sizeof(enc) - 1));
	assert_true(bs_keyproc_secret_member("keys/key_pass.txt", cert, 4));
	/* a DER private key under any name */
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	unsigned char *der = NULL;
	int n = i2d_PrivateKey(k, &der);
	assert_true(n > 0);
	assert_true(bs_keyproc_secret_member("crts/table.bin", der, (size_t)n));
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyproc__round_trip),
		cmocka_unit_test(test_keyproc__refuses_off_table),
		cmocka_unit_test(test_keyproc__encoder_limits),
		cmocka_unit_test(test_keyproc__secret_members),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
