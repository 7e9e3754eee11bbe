/* Unit tests for the request layer before a signer runs: the multipart/form-data reader
 * (src/http/formdata.c), framing and target checks (src/http/request.c), and the secure
 * memory helper those secrets use (src/core/secmem.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secmem.h"
#include "core/util.h"
#include "http/formdata.h"
#include "http/multipart.h"
#include "http/request.h"
#include "http/spool.h"
#include "sign/signer.h"
#include "testutil.h"

static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = "artifact", .store = BS_FIELD_SPOOL, .required = true, .file_upload = true,
	 .max = 1000},
};
static const struct bs_signer g_signer = {.name = "t", .fields = g_fields, .nfields = 2};

struct fx {
	char *dir;
	struct bs_spool *spool;
	struct bs_upload *up;
	struct bs_formdata *fd;
	struct bs_error err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->dir = bs_tmpdir();
	assert_int_equal(bs_spool_open(&fx->spool, fx->dir, NULL), 0);
	bs_spool_set_memory(fx->spool, 4096, 65536);
	assert_int_equal(bs_upload_new(&fx->up, &g_signer, fx->spool, "r", 65536, NULL), 0);
	assert_int_equal(bs_formdata_new(&fx->fd, "B0", fx->up, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	bs_formdata_free(fx->fd);
	bs_upload_free(fx->up);
	bs_spool_close(fx->spool);
	bs_tmpdir_remove(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Feed the body in pieces of `step` bytes, end it, finish the upload. */
static int body(struct fx *fx, const char *b, size_t step)
{
	size_t n = strlen(b);
	for (size_t o = 0; o < n; o += step)
		(void)bs_formdata_feed(fx->fd, b + o, n - o < step ? n - o : step);
	(void)bs_formdata_end(fx->fd);
	int rc = bs_upload_error(fx->up, &fx->err);
	if (rc == 0)
		rc = bs_upload_finish(fx->up, &fx->err);
	return rc;
}

#define P(name, extra, value) \
	"--B0\r\nContent-Disposition: form-data; name=\"" name "\"" extra "\r\n\r\n" value "\r\n"
#define END "--B0--\r\n"

static void test_http_formdata__fields_byte_by_byte(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(body(fx, P("machine", "", "imx8mp") P("artifact", "; filename=\"a.bin\"",
				  "x\r\n--B\r\n-B0x\r") END, 1), 0);
	const struct bs_form *f = bs_upload_form(fx->up);
	assert_string_equal(f->f[0].value, "imx8mp");
	assert_int_equal(f->f[1].size, 13);
	assert_memory_equal(f->f[1].data, "x\r\n--B\r\n-B0x\r", 13);
	assert_string_equal(f->f[1].filename, "a.bin");
}

/* Near-delimiters (CR, CRLF, "\r\n--B", a CR right before the real delimiter) split at every
 * piece size: the part holds exactly the bytes sent, whatever the reads' boundaries. */
static void test_http_formdata__near_delimiters_any_split(void **state)
{
	struct fx *fx = *state;
	static const char *const bits[] = {"\r", "\r\r", "\r\n", "\r\n-", "\r\n--", "\r\n--B",
					   "\r\n\r\n--B", "ab", "x\n--B0", "y-B0\r", "x"};
	char payload[700] = "";
	size_t n = 0;
	for (unsigned k = 0; n + 12 < sizeof(payload) - 1; k = k * 7 + 3) {
		const char *b = bits[k % BS_ARRAY_SIZE(bits)];
		memcpy(payload + n, b, strlen(b));
		n += strlen(b);
	}
	payload[n++] = '\r'; /* a CR just before the delimiter's own CR */
	payload[n] = '\0';
	char b[1024];
	snprintf(b, sizeof(b), P("machine", "", "m") P("artifact", "; filename=\"a\"", "%s") END,
		 payload);
	size_t steps[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 64, 333, sizeof(b)};
	for (size_t k = 0; k < BS_ARRAY_SIZE(steps); k++) {
		if (k > 0) { /* a fresh reader for each split */
			assert_int_equal(teardown(state), 0);
			assert_int_equal(setup(state), 0);
			fx = *state;
		}
		assert_int_equal(body(fx, b, steps[k]), 0);
		const struct bs_form *f = bs_upload_form(fx->up);
		assert_int_equal(f->f[1].size, n);
		assert_memory_equal(f->f[1].data, payload, n);
	}
}

static void test_http_formdata__empty_then_same_field(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(body(fx, P("machine", "", "") P("machine", "", "imx8mp") END, 7),
			 BS_ERR_INVALID);
	assert_string_equal(fx->err.msg, "machine: field given more than once");
}

static void test_http_formdata__empty_file_then_file(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(body(fx, P("machine", "", "m") P("artifact", "; filename=\"x\"", "")
				  P("artifact", "; filename=\"y\"", "data") END, 3),
			 BS_ERR_INVALID);
	assert_string_equal(fx->err.msg, "artifact: field given more than once");
}

static void test_http_formdata__refused_parts(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(body(fx, "--B0\r\nContent-Disposition: form-data\r\n\r\nv\r\n" END, 64),
			 BS_ERR_INVALID);
	assert_string_equal(fx->err.msg, "multipart part without a name");
}

static void test_http_formdata__truncated(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(body(fx, P("machine", "", "imx8mp") "--B0\r\nContent-Dis", 5),
			 BS_ERR_INVALID);
	assert_string_equal(fx->err.msg, "incomplete multipart/form-data body (truncated?)");
}

static void test_http_formdata__boundary(void **state)
{
	(void)state;
	char b[BS_FORMDATA_BOUNDARY_MAX + 1];
	assert_int_equal(bs_formdata_boundary(b, "Multipart/Form-Data; boundary=\"a b\"", NULL), 0);
	assert_string_equal(b, "a b");
	assert_int_equal(bs_formdata_boundary(b, "multipart/form-data-x; boundary=a", NULL),
			 BS_ERR_UNSUPPORTED);
	assert_int_equal(bs_formdata_boundary(b, "multipart/mixed; boundary=a", NULL),
			 BS_ERR_UNSUPPORTED);
	assert_int_equal(bs_formdata_boundary(b, "multipart/form-data", NULL), BS_ERR_INVALID);
	assert_int_equal(bs_formdata_boundary(b, "multipart/form-data; boundary=a; boundary=b",
					      NULL), BS_ERR_INVALID);
	assert_int_equal(bs_formdata_boundary(b, "multipart/form-data; boundary=\"a \"", NULL),
			 BS_ERR_INVALID);
}

static void test_http_request__framing(void **state)
{
	(void)state;
	const char *cl = NULL;
	struct bs_header one[] = {{"Host", "x"}, {"content-length", "5"}};
	assert_int_equal(bs_request_framing(&cl, one, 2, NULL), 0);
	assert_string_equal(cl, "5");
	struct bs_header two[] = {{"Content-Length", "5"}, {"Content-Length", "5"}};
	assert_int_equal(bs_request_framing(&cl, two, 2, NULL), BS_ERR_INVALID);
	struct bs_header both[] = {{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}};
	assert_int_equal(bs_request_framing(&cl, both, 2, NULL), BS_ERR_INVALID);
	struct bs_header gz[] = {{"Transfer-Encoding", "gzip, chunked"}};
	assert_int_equal(bs_request_framing(&cl, gz, 1, NULL), BS_ERR_INVALID);
}

static void test_http_request__target(void **state)
{
	(void)state;
	char a[] = "/heal%74hz", b[] = "/x%00y", c[] = "/x%0", d[] = "/x\x7f";
	bool bad = false;
	assert_int_equal(bs_request_unescape(a, &bad), 8);
	assert_string_equal(a, "/healthz");
	assert_false(bad);
	(void)bs_request_unescape(b, &bad);
	assert_true(bad);
	bad = false;
	(void)bs_request_unescape(c, &bad);
	assert_true(bad);
	bad = false;
	(void)bs_request_unescape(d, &bad);
	assert_true(bad);
}

static void test_core_secmem__secrets_in_secure_heap(void **state)
{
	(void)state;
	assert_int_equal(bs_secmem_protect_process(NULL), 0);
	assert_true(bs_secmem_active());
	char *pin = bs_secmem_strdup("0001password");
	assert_non_null(pin);
	assert_true(CRYPTO_secure_allocated(pin));
	bs_free_secret_str(pin); /* back to the secure heap, wiped */
	uint8_t *big = bs_secmem_malloc(32);
	assert_non_null(big);
	bs_free_secret(big, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http_formdata__fields_byte_by_byte, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_formdata__near_delimiters_any_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_formdata__empty_then_same_field, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_formdata__empty_file_then_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_formdata__refused_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_formdata__truncated, setup, teardown),
		cmocka_unit_test(test_http_formdata__boundary),
		cmocka_unit_test(test_http_request__framing),
		cmocka_unit_test(test_http_request__target),
		cmocka_unit_test(test_core_secmem__secrets_in_secure_heap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
