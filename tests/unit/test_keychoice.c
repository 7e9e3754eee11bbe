/* Unit tests for src/sign/keychoice.c: the certificate URI beside a token key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sign/keychoice.h"

static void cert_uri(const char *in, const char *want)
{
	char out[BS_KEYCHOICE_NAME_MAX];
	struct bs_error e = {0};
	assert_int_equal(bs_keychoice_cert_uri(out, sizeof(out), in, &e), 0);
	assert_string_equal(out, want);
}

static void test_keychoice__cert_uri(void **state)
{
	(void)state;
	cert_uri("pkcs11:token=YubiHSM;object=swu;type=private;pin-value=password",
		 "pkcs11:token=YubiHSM;object=swu;pin-value=password;type=cert");
	cert_uri("pkcs11:token=YubiHSM;object=swu?pin-value=password",
		 "pkcs11:token=YubiHSM;object=swu;type=cert?pin-value=password");
	cert_uri("pkcs11:type=private;object=k;type=secret-key", "pkcs11:object=k;type=cert");
	cert_uri("pkcs11:object=k;;id=%01", "pkcs11:object=k;id=%01;type=cert");
	cert_uri("pkcs11:", "pkcs11:type=cert");
	cert_uri("PKCS11:object=a", "pkcs11:object=a;type=cert");
}

static void test_keychoice__cert_uri_errors(void **state)
{
	(void)state;
	char out[32];
	struct bs_error e = {0};
	assert_int_equal(bs_keychoice_cert_uri(out, sizeof(out), "file:key.pem", &e),
			 BS_ERR_INVALID);
	assert_non_null(strstr(e.msg, "key-uri"));
	assert_int_equal(bs_keychoice_cert_uri(out, sizeof(out),
					       "pkcs11:token=YubiHSM;object=a-long-name", &e),
			 BS_ERR_LIMIT);
	assert_int_equal(bs_keychoice_cert_uri(out, 5, "pkcs11:", &e), BS_ERR_LIMIT);
	assert_int_equal(bs_keychoice_cert_uri(out, 16, "pkcs11:", &e), BS_ERR_LIMIT);
	assert_int_equal(bs_keychoice_cert_uri(out, 17, "pkcs11:", &e), 0); /* exactly fits */
	assert_int_equal(bs_keychoice_cert_uri(out, 17, "pkcs11:?pin-value=x", &e),
			 BS_ERR_LIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keychoice__cert_uri),
		cmocka_unit_test(test_keychoice__cert_uri_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
