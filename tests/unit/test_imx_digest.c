/* Unit tests for digest-only /sign/imx requests (src/sign/imx_digest.c): the `digests`
 * field checked against the CSF, exact codes for every refusal, and the data source
 * handing the declared digest to the CSF compiler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/hab/csf.h"
#include "formats/hab/csf_sign.h"
#include "sign/imx_digest.h"

#define H64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* Two [Authenticate Data] sections: line 18 (one block, 0x100 bytes) and line 21 (two
 * blocks, 0x20 + 0x40 bytes). */
static const char g_csf[] =
	"[Header]\n"                                        /* 1 */
	"  Version = 4.1\n"
	"  Hash Algorithm = sha256\n"
	"  Engine = ANY\n"
	"  Engine Configuration = 0\n"                      /* 5 */
	"  Certificate Format = X509\n"
	"  Signature Format = CMS\n"
	"[Install SRK]\n"
	"  File = \"crts/SRK_table.bin\"\n"
	"  Source index = 0\n"                              /* 10 */
	"[Install CSFK]\n"
	"  File = \"crts/CSF1_crt.pem\"\n"
	"[Authenticate CSF]\n"
	"[Install Key]\n"
	"  Verification index = 0\n"                       /* 15 */
	"  Target index = 2\n"
	"  File = \"crts/IMG1_crt.pem\"\n"
	"[Authenticate Data]\n"                             /* 18 */
	"  Verification index = 2\n"
	"  Blocks = 0x1000 0x0 0x100 \"img.bin\"\n"           /* 20 */
	"[Authenticate Data]\n"                             /* 21 */
	"  Verification index = 2\n"
	"  Blocks = 0x2000 0x1000 0x20 \"img.bin\", 0x3000 0x2000 0x40 \"./img.bin\"\n";

static struct bs_csf *csf(void)
{
	struct bs_csf *c = NULL;
	struct bs_error err = {0};
	if (bs_csf_parse(&c, g_csf, strlen(g_csf), "t.csf", NULL, &err) != 0)
		fail_msg("csf: %s", err.msg);
	return c;
}

static int parse(const char *text, struct bs_error *err, struct bs_imx_digests **keep)
{
	struct bs_csf *c = csf();
	struct bs_imx_digests *d = (struct bs_imx_digests *)1;
	int rc = bs_imx_digests_parse(&d, text, c, "t.csf", err);
	if (rc != 0)
		assert_null(d);
	if (keep != NULL)
		*keep = d;
	else
		bs_imx_digests_free(d);
	bs_csf_free(c);
	return rc;
}

static void expect(const char *text, int code, const char *msg)
{
	struct bs_error err = {0};
	assert_int_equal(parse(text, &err, NULL), code);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
}

static void test_imx_digest__valid_gives_the_declared_digests(void **state)
{
	struct bs_error err = {0};
	struct bs_imx_digests *d = NULL;
	struct bs_csf *c = csf();
	assert_int_equal(bs_imx_digests_parse(&d,
					      "artifact img.bin 12288\n"
					      "21 sha256:" H64 " 96\r\n"
					      "18 SHA256:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 256\n\n",
					      c, "t.csf", &err), 0);
	struct bs_data_source src = bs_imx_digests_source(d);
	assert_non_null(src.digest);
	uint8_t out[EVP_MAX_MD_SIZE];
	size_t len = 0;
	const struct bs_csf_cmd *auth14 = NULL, *auth17 = NULL;
	for (size_t i = 0; i < c->ncmds; i++)
		if (c->cmds[i].kind == BS_CSF_AUTH_DATA)
			*(c->cmds[i].line == 18 ? &auth14 : &auth17) = &c->cmds[i];
	assert_int_equal(src.digest(src.ctx, auth17, NID_sha256, out, &len, &err), 0);
	assert_int_equal(len, 32);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[31], 0xff);
	assert_int_equal(src.digest(src.ctx, auth14, NID_sha256, out, &len, &err), 0);
	assert_int_equal(out[0], 0xff);
	/* another algorithm than declared: refused, never a wrong-length digest */
	assert_int_equal(src.digest(src.ctx, auth14, NID_sha512, out, &len, &err), BS_ERR_INVALID);
	/* the artifact bytes are never read */
	FILE *fp = NULL;
	uint64_t size = 0;
	assert_int_equal(src.open(src.ctx, "img.bin", &fp, &size, &err), BS_ERR_INTERNAL);
	assert_null(fp);
	bs_imx_digests_free(d);
	bs_csf_free(c);
}

static void test_imx_digest__refusals_name_the_line(void **state)
{
	expect("", BS_ERR_INVALID, "first line must be 'artifact");
	expect("18 sha256:" H64 " 256\n", BS_ERR_INVALID, "expected 'artifact <file name> <size>'");
	expect("artifact img.bin\n", BS_ERR_INVALID, "expected 'artifact");
	expect("artifact img.bin -5\n", BS_ERR_INVALID, "artifact size");
	expect("artifact other.bin 12288\n18 sha256:" H64 " 256\n21 sha256:" H64 " 96\n",
	       BS_ERR_INVALID, "t.csf:20:");
	expect("artifact img.bin 8200\n18 sha256:" H64 " 256\n21 sha256:" H64 " 96\n",
	       BS_ERR_INVALID, "lies outside the artifact 'img.bin' (8200 bytes)");
	expect("artifact img.bin 12288\n18 sha256:" H64 " 256\n", BS_ERR_INVALID,
	       "t.csf:21:1: [Authenticate Data] has no line in digests");
	expect("artifact img.bin 12288\n18 sha256:" H64 " 256\n18 sha256:" H64 " 256\n"
	       "21 sha256:" H64 " 96\n", BS_ERR_INVALID, "has more than one line");
	expect("artifact img.bin 12288\n18 sha256:" H64 " 256\n21 sha256:" H64 " 96\n"
	       "13 sha256:" H64 " 0\n", BS_ERR_INVALID, "no [Authenticate Data] at line 13");
	expect("artifact img.bin 12288\n18 sha384:" H64 H64 " 256\n", BS_ERR_INVALID,
	       "a sha384 digest has 96 hex digits");
	expect("artifact img.bin 12288\n18 sha512:" H64 H64 " 256\n21 sha256:" H64 " 96\n",
	       BS_ERR_INVALID, "uses sha512, the CSF Header says sha256");
	expect("artifact img.bin 12288\n18 md99:" H64 " 256\n", BS_ERR_INVALID, "<alg>:<hex>");
	expect("artifact img.bin 12288\n18 " H64 " 256\n", BS_ERR_INVALID, "<alg>:<hex>");
	expect("artifact img.bin 12288\n18 sha256:" H64 "\n", BS_ERR_INVALID, "expected '<csf line>");
	expect("artifact img.bin 12288\n18 sha256:zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 256\n",
	       BS_ERR_INVALID, "'zz' is not hex");
	expect("artifact img.bin 12288\n18 sha256:" H64 " 255\n21 sha256:" H64 " 96\n",
	       BS_ERR_INVALID, "declares 255 bytes, its Blocks cover 256");
	expect("artifact img.bin 12288\n0 sha256:" H64 " 256\n", BS_ERR_INVALID, "csf line");
	expect("artifact img.bin 12288 extra words here\n", BS_ERR_INVALID, "too many words");
}

static void test_imx_digest__bounds(void **state)
{
	char line[400];
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	char text[600];
	snprintf(text, sizeof(text), "artifact img.bin 12288\n%s\n", line);
	expect(text, BS_ERR_LIMIT, "digests line 2: longer than");
	/* more lines than a CSF has sections */
	char *many = malloc(BS_IMX_DIGESTS_TEXT_MAX + 1);
	size_t at = (size_t)snprintf(many, BS_IMX_DIGESTS_TEXT_MAX, "artifact img.bin 1\n");
	while (at + 8 < BS_IMX_DIGESTS_TEXT_MAX)
		at += (size_t)snprintf(many + at, BS_IMX_DIGESTS_TEXT_MAX - at, "1 a b\n");
	expect(many, BS_ERR_INVALID, "<alg>:<hex>");
	at = (size_t)snprintf(many, BS_IMX_DIGESTS_TEXT_MAX, "artifact img.bin 1\n");
	for (int i = 0; i < 70 && at + 80 < BS_IMX_DIGESTS_TEXT_MAX; i++)
		at += (size_t)snprintf(many + at, BS_IMX_DIGESTS_TEXT_MAX - at,
				       "%d sha1:00112233445566778899aabbccddeeff00112233 1\n", i + 1);
	expect(many, BS_ERR_LIMIT, "more than 64 lines");
	free(many);
	char *big = malloc(BS_IMX_DIGESTS_TEXT_MAX + 2);
	memset(big, '\n', BS_IMX_DIGESTS_TEXT_MAX + 1);
	big[BS_IMX_DIGESTS_TEXT_MAX + 1] = '\0';
	expect(big, BS_ERR_LIMIT, "longer than 4096 bytes");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imx_digest__valid_gives_the_declared_digests),
		cmocka_unit_test(test_imx_digest__refusals_name_the_line),
		cmocka_unit_test(test_imx_digest__bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
