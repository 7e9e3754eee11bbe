/* Unit tests for src/core: bounded buffers, error reports, log redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/util.h"

static void test_core__buf_respects_max(void **state)
{
	(void)state;
	struct bs_buf b;
	bs_buf_init(&b, 8);
	assert_int_equal(bs_buf_append(&b, "12345678", 8), 0);
	assert_int_equal(bs_buf_append_u8(&b, 1), BS_ERR_LIMIT);
	assert_int_equal(b.len, 8);
	bs_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.max, 8);
}

static void test_core__buf_big_endian_and_pad(void **state)
{
	(void)state;
	struct bs_buf b;
	bs_buf_init(&b, 0);
	assert_int_equal(bs_buf_append_be16(&b, 0x1234), 0);
	assert_int_equal(bs_buf_append_be32(&b, 0xA1B2C3D4), 0);
	assert_int_equal(bs_buf_append_u8(&b, 0xFF), 0);
	assert_int_equal(bs_buf_pad(&b, 4), 0);
	const uint8_t want[] = {0x12, 0x34, 0xA1, 0xB2, 0xC3, 0xD4, 0xFF, 0x00};
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	assert_int_equal(bs_get_be32(b.data + 2), 0xA1B2C3D4);
	bs_buf_free(&b);
}

static void test_core__error_set_returns_code(void **state)
{
	(void)state;
	struct bs_error err = {0};
	assert_int_equal(bs_error_set(&err, BS_ERR_SYNTAX, "a.csf:%d:%d: expected '='", 3, 7),
			 BS_ERR_SYNTAX);
	assert_string_equal(err.msg, "a.csf:3:7: expected '='");
	assert_int_equal(bs_error_prefix(&err, "sign"), BS_ERR_SYNTAX);
	assert_string_equal(err.msg, "sign: a.csf:3:7: expected '='");
	assert_int_equal(bs_error_set(NULL, BS_ERR_IO, "x"), BS_ERR_IO);
	assert_string_equal(bs_err_name(BS_ERR_PATH), "path");
}

static void test_core__redact_pin_value(void **state)
{
	(void)state;
	char s[256] = "File = \"pkcs11:token=YubiHSM;object=CSF1;type=cert;pin-value=0001password\"";
	bs_log_redact(s, sizeof(s));
	assert_null(strstr(s, "0001password"));
	assert_non_null(strstr(s, "pin-value=***;") == NULL ? strstr(s, "pin-value=***") : s);
	char h[128] = "Authorization: Bearer abc.def";
	bs_log_redact(h, sizeof(h));
	assert_null(strstr(h, "abc.def"));
}

static void test_core__redact_registered_secret(void **state)
{
	(void)state;
	bs_log_add_secret("s3cr3tPIN");
	char s[128] = "login failed with s3cr3tPIN twice: s3cr3tPIN";
	bs_log_redact(s, sizeof(s));
	assert_null(strstr(s, "s3cr3tPIN"));
	assert_string_equal(s, "login failed with *** twice: ***");
	bs_log_clear_secrets();
	char t[64] = "s3cr3tPIN";
	bs_log_redact(t, sizeof(t));
	assert_string_equal(t, "s3cr3tPIN");
}

static void test_core__redact_percent_encoded_and_repeated_keys(void **state)
{
	(void)state;
	char s[256] = "pkcs11:token=a;pin%2Dvalue=4711 PIN%2dVALUE=4712 %70in-value=4713 "
		      "pin-value%3D4714 pin=1;pin=2 end pin-value=4715";
	bs_log_redact(s, sizeof(s));
	assert_string_equal(s, "pkcs11:token=a;pin%2Dvalue=*** PIN%2dVALUE=*** %70in-value=*** "
			       "pin-value%3D*** pin=*;pin=* end pin-value=***");
}

static void on_alarm(int sig)
{
	(void)sig;
	_exit(3); /* redaction looped: fail the test */
}

static void test_core__redact_secret_of_asterisks_terminates(void **state)
{
	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(10);
	bs_log_add_secret("**");
	bs_log_add_secret("***");
	char s[64] = "pin ** or *** here";
	bs_log_redact(s, sizeof(s));
	assert_string_equal(s, "pin ** or *** here");
	bs_log_clear_secrets();
	alarm(0);
}

static void test_core__log_line_has_no_control_bytes(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	bs_log_set_fd(fileno(f));
	bs_log(BS_LOG_ERROR, "rq1", "artifact is '%s'", "a\x1b]0;owned\x07" "b\tc\nd\x7f");
	bs_log_set_fd(2);
	char line[512] = "";
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "Z error [rq1] artifact is 'a?]0;owned?b c d?'\n"));
}

static void test_core__hex(void **state)
{
	(void)state;
	char out[9];
	const uint8_t d[] = {0xde, 0xad, 0x00, 0x0f};
	assert_string_equal(bs_hex(out, d, 4), "dead000f");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core__buf_respects_max),
		cmocka_unit_test(test_core__buf_big_endian_and_pad),
		cmocka_unit_test(test_core__error_set_returns_code),
		cmocka_unit_test(test_core__redact_pin_value),
		cmocka_unit_test(test_core__redact_registered_secret),
		cmocka_unit_test(test_core__redact_percent_encoded_and_repeated_keys),
		cmocka_unit_test(test_core__redact_secret_of_asterisks_terminates),
		cmocka_unit_test(test_core__log_line_has_no_control_bytes),
		cmocka_unit_test(test_core__hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
