/* Unit tests for src/core: bounded buffers, error reports, log redaction, the secret-file
 * reader, the display sanitiser and the number parser. */
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
#include "core/limits.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/text.h"
#include "core/util.h"
#include "testutil.h"

#include <sys/stat.h>

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

static void test_core__buf_little_endian(void **state)
{
	(void)state;
	uint8_t b[6] = {0};
	bs_buf_put_le16(b, 0x1234);
	bs_buf_put_le32(b + 2, 0xA1B2C3D4);
	const uint8_t want[] = {0x34, 0x12, 0xD4, 0xC3, 0xB2, 0xA1};
	assert_memory_equal(b, want, sizeof(want));
	assert_int_equal(bs_get_le16(b), 0x1234);
	assert_int_equal(bs_get_le32(b + 2), 0xA1B2C3D4);
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

static void write_mode(const char *path, const char *data, size_t len, unsigned mode)
{
	bs_write(path, data, len);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_core__secret_file_refuses_group_readable(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/pin", dir);
	write_mode(path, "s3cret\n", 7, 0644);
	char *out = (char *)1;
	struct bs_error err = {0};
	assert_int_equal(bs_secret_read_file(&out, path, "PIN", &err), BS_ERR_CONFIG);
	assert_null(out);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "mode 0644"));
	assert_null(strstr(err.msg, "s3cret"));
	assert_int_equal(chmod(path, 0620), 0); /* group-writable is refused too */
	assert_int_equal(bs_secret_read_file(&out, path, "PIN", &err), BS_ERR_CONFIG);
	assert_null(out);
	bs_tmpdir_free(dir);
}

static void test_core__secret_file_first_line(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/pin", dir);
	struct bs_error err = {0};
	char *out = NULL;
	write_mode(path, "0001password\r\nsecond line\n", 27, 0600);
	assert_int_equal(bs_secret_read_file(&out, path, "PIN", &err), 0);
	assert_string_equal(out, "0001password");
	bs_free_secret_str(out);
	write_mode(path, "no newline", 10, 0400);
	assert_int_equal(bs_secret_read_file(&out, path, "PIN", &err), 0);
	assert_string_equal(out, "no newline");
	bs_free_secret_str(out);
	out = NULL;
	write_mode(path, "\nsecond\n", 8, 0600);
	assert_int_equal(bs_secret_read_file(&out, path, "passphrase", &err), BS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "passphrase file"));
	assert_non_null(strstr(err.msg, "first line is empty"));
	assert_null(out);
	write_mode(path, "ab\0cd\n", 6, 0600);
	assert_int_equal(bs_secret_read_file(&out, path, "PIN", &err), BS_ERR_INVALID);
	assert_null(out);
	bs_tmpdir_free(dir);
}

static void test_core__secret_file_missing_or_too_big(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/absent", dir);
	struct bs_error err = {0};
	char *out = NULL;
	assert_int_equal(bs_secret_read_file(&out, path, "PIN", &err), BS_ERR_NOT_FOUND);
	assert_null(out);
	assert_non_null(strstr(err.msg, "PIN file"));
	assert_non_null(strstr(err.msg, "absent"));
	static char big[BS_SECRET_FILE_MAX + 1];
	memset(big, 'a', sizeof(big));
	snprintf(path, sizeof(path), "%s/big", dir);
	write_mode(path, big, sizeof(big), 0600);
	assert_int_equal(bs_secret_read_file(&out, path, "PIN", &err), BS_ERR_LIMIT);
	assert_null(out);
	write_mode(path, big, sizeof(big) - 1, 0600); /* exactly the limit is fine */
	assert_int_equal(bs_secret_read_file(&out, path, "PIN", &err), 0);
	assert_int_equal(strlen(out), BS_SECRET_FILE_MAX);
	bs_free_secret_str(out);
	assert_int_equal(bs_secret_read_file(&out, dir, "PIN", &err), BS_ERR_IO);
	assert_null(out);
	bs_tmpdir_free(dir);
}

static void test_core__parse_u64_bounds_and_bases(void **state)
{
	(void)state;
	uint64_t v = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_parse_u64(&v, "18446744073709551615", 10, 0, UINT64_MAX, "n", &err), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(bs_parse_u64(&v, "0x1F", 0, 0, 100, "n", &err), 0);
	assert_int_equal(v, 31);
	assert_int_equal(bs_parse_u64(&v, "ff", 16, 0, 255, "n", &err), 0);
	assert_int_equal(v, 255);
	assert_int_equal(bs_parse_u64(&v, "010", 0, 0, 100, "n", &err), 0);
	assert_int_equal(v, 8);
	assert_int_equal(bs_parse_u64(&v, "0", 0, 0, 100, "n", &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(bs_parse_u64(&v, "4", 10, 4, 4, "n", &err), 0);
	assert_int_equal(v, 4);
	unsigned u = 0;
	assert_int_equal(bs_parse_uint(&u, "65535", 10, 0, 65535, "port", &err), 0);
	assert_int_equal(u, 65535);
}

static void test_core__parse_u64_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int base;
	} bad[] = {
		{"18446744073709551616", 10}, /* overflow */
		{"99999999999999999999999", 10},
		{"0x10000000000000000", 0},
		{"12x", 10}, {"12 ", 10}, {" 12", 10}, {"-1", 10}, {"+1", 10}, {"", 10},
		{"0x", 0}, {"0x1F", 10}, {"08", 0}, {"1e3", 10}, {"g", 16}, {"101", 100},
		{"3", 10}, {"201", 10}, /* range 4..200 */
	};
	for (size_t i = 0; i < BS_ARRAY_SIZE(bad); i++) {
		uint64_t v = 77;
		struct bs_error err = {0};
		assert_int_equal(bs_parse_u64(&v, bad[i].s, bad[i].base, 4, 200, "--days", &err),
				 BS_ERR_INVALID);
		assert_int_equal(v, 77);
		assert_int_equal(strncmp(err.msg, "--days: '", 9), 0);
		assert_non_null(strstr(err.msg, "is not a number in 4..200"));
	}
	uint64_t v = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_parse_u64(&v, NULL, 10, 0, 1, "x", &err), BS_ERR_INVALID);
	assert_int_equal(bs_parse_u64(&v, "1\x1b[2J", 10, 0, 9, "--csf-max", &err),
			 BS_ERR_INVALID);
	assert_string_equal(err.msg, "--csf-max: '1?[2J' is not a number in 0..9");
	char longer[200];
	memset(longer, '7', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(bs_parse_u64(&v, longer, 10, 0, 9, "n", &err), BS_ERR_INVALID);
	assert_true(strlen(err.msg) < 80); /* the shown value is shortened */
	assert_non_null(strstr(err.msg, "...'"));
}

static void test_core__sanitize_shows_printable_ascii_only(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(bs_text_sanitize(out, sizeof(out), "a\x1b[31mb\xc3\xa9\x7f\x9b\tz"),
			    "a?[31mb?????z");
	assert_string_equal(bs_text_sanitize(out, 4, "abcdef"), "abc");
	assert_string_equal(bs_text_sanitize(out, sizeof(out), NULL), "");
	assert_string_equal(bs_text_sanitize_n(out, sizeof(out), "ab\0cd", 5), "ab?cd");
	char s[] = "lab\x07" "el\xff";
	bs_text_sanitize_inplace(s);
	assert_string_equal(s, "lab?el?");
	out[0] = 'x';
	bs_text_sanitize(out, 1, "abc");
	assert_int_equal(out[0], '\0');
}

static void test_core__error_recode_keeps_message(void **state)
{
	(void)state;
	struct bs_error err = {0};
	bs_error_set(&err, BS_ERR_NOT_FOUND, "bundle.tgz: missing");
	assert_int_equal(bs_error_recode(&err, BS_ERR_CONFIG), BS_ERR_CONFIG);
	assert_int_equal(err.code, BS_ERR_CONFIG);
	assert_string_equal(err.msg, "bundle.tgz: missing");
	assert_int_equal(bs_error_recode(NULL, BS_ERR_INVALID), BS_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core__buf_respects_max),
		cmocka_unit_test(test_core__buf_big_endian_and_pad),
		cmocka_unit_test(test_core__buf_little_endian),
		cmocka_unit_test(test_core__error_set_returns_code),
		cmocka_unit_test(test_core__redact_pin_value),
		cmocka_unit_test(test_core__redact_registered_secret),
		cmocka_unit_test(test_core__redact_percent_encoded_and_repeated_keys),
		cmocka_unit_test(test_core__redact_secret_of_asterisks_terminates),
		cmocka_unit_test(test_core__log_line_has_no_control_bytes),
		cmocka_unit_test(test_core__hex),
		cmocka_unit_test(test_core__secret_file_refuses_group_readable),
		cmocka_unit_test(test_core__secret_file_first_line),
		cmocka_unit_test(test_core__secret_file_missing_or_too_big),
		cmocka_unit_test(test_core__parse_u64_bounds_and_bases),
		cmocka_unit_test(test_core__parse_u64_rejects),
		cmocka_unit_test(test_core__sanitize_shows_printable_ascii_only),
		cmocka_unit_test(test_core__error_recode_keeps_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
