/* Unit tests for the i.MX SoC table (src/formats/hab/soc.c): soctype lookup, the list
 * for error messages, and which HAB4 CSFs a SoC can run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "formats/hab/csf.h"
#include "formats/hab/soc.h"

static void test_hab_soc__find_accepts_spellings(void **state)
{
	(void)state;
	const struct bs_imx_soc *s = bs_imx_soc_find("mx8mp");
	assert_non_null(s);
	assert_string_equal(s->name, "mx8mp");
	assert_int_equal(s->family, BS_IMX_HAB4);
	assert_int_equal(s->boot_data_len, 12);
	assert_ptr_equal(bs_imx_soc_find("iMX8MP"), s);
	assert_ptr_equal(bs_imx_soc_find("i.MX8MP"), s);
	assert_ptr_equal(bs_imx_soc_find("IMX8MP"), s);
	assert_int_equal(bs_imx_soc_find("mx6ull")->boot_data_len, 1);
	assert_int_equal(bs_imx_soc_find("imx7d")->boot_data_len, 1);
	assert_int_equal(bs_imx_soc_find("mx8m")->family, BS_IMX_HAB4);
	const char *ahab[] = {"mx8qxp", "mx8qm", "mx8ulp", "mx91", "mx93", "imx95"};
	for (size_t i = 0; i < sizeof(ahab) / sizeof(ahab[0]); i++) {
		assert_non_null(bs_imx_soc_find(ahab[i]));
		assert_int_equal(bs_imx_soc_find(ahab[i])->family, BS_IMX_AHAB);
	}
	assert_null(bs_imx_soc_find("mx99"));
	assert_null(bs_imx_soc_find(""));
	assert_null(bs_imx_soc_find("i"));
	assert_null(bs_imx_soc_find(NULL));
	assert_null(bs_imx_soc_find("mx8mpXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"));
	/* the fuse map U-Boot's guides give */
	s = bs_imx_soc_find("mx8mm");
	assert_true(s->fuse_known);
	assert_int_equal(s->fuse_bank[4], 7);
	assert_int_equal(s->fuse_word[4], 0);
}

static void test_hab_soc__unknown_lists_known_names(void **state)
{
	(void)state;
	const struct bs_imx_soc *s = (const void *)1;
	struct bs_error err = {0};
	assert_int_equal(bs_imx_soc_lookup(&s, "x'y", &err), BS_ERR_INVALID);
	assert_null(s);
	assert_non_null(strstr(err.msg, "unknown soctype 'x?y' (known: mx6, mx6q, "));
	assert_non_null(strstr(err.msg, "mx8mp, mx50, mx53, mx8qxp, mx8qm, mx8ulp, mx91, mx93, mx95)"));
	char small[12];
	assert_string_equal(bs_imx_soc_names(small, sizeof(small)), "mx6, mx6q");
	assert_int_equal(bs_imx_soc_lookup(&s, "imx93", &err), 0);
	assert_string_equal(s->name, "mx93");
}

static struct bs_csf *parse(const char *text)
{
	struct bs_csf *csf = NULL;
	struct bs_error err = {0};
	struct bs_csf_parse_opts po = {0};
	if (bs_csf_parse(&csf, text, strlen(text), "s.csf", &po, &err) != 0)
		fail_msg("%s", err.msg);
	return csf;
}

#define CSF(ver, eng, data_eng)                                                              \
	"[Header]\nVersion = " ver "\nHash Algorithm = sha256\nEngine = " eng "\n"           \
	"Engine Configuration = 0\nCertificate Format = X509\nSignature Format = CMS\n"      \
	"[Install SRK]\nFile = \"t.bin\"\nSource index = 0\n"                                \
	"[Install CSFK]\nFile = \"c.pem\"\n[Authenticate CSF]\n"                             \
	"[Install Key]\nVerification index = 0\nTarget index = 2\nFile = \"i.pem\"\n"        \
	"[Authenticate Data]\nVerification index = 2\nEngine = " data_eng "\n"               \
	"Blocks = 0x877ff400 0x0 0x1000 \"img.bin\"\n"

static void check(const char *text, const char *soc, int code, const char *msg)
{
	struct bs_csf *csf = parse(text);
	struct bs_error err = {0};
	int rc = bs_hab_check_soc(csf, bs_imx_soc_find(soc), &err);
	bs_csf_free(csf);
	if (rc != code)
		fail_msg("%s: expected %d, got %d: %s", soc, code, rc, err.msg);
	if (msg != NULL)
		assert_string_equal(err.msg, msg);
}

static void test_hab_soc__check_csf_against_soc(void **state)
{
	(void)state;
	check(CSF("4.3", "CAAM", "CAAM"), "mx8mp", 0, NULL);
	check(CSF("4.1", "ANY", "ANY"), "mx6q", 0, NULL);
	check(CSF("4.2", "ANY", "DCP"), "mx6ull", 0, NULL);
	check(CSF("4.5", "CAAM", "ANY"), "mx8mm", 0, NULL);
	check(CSF("4.3", "CAAM", "CAAM"), "mx93", BS_ERR_SEMANTIC,
	      "s.csf: HAB4 does not run on i.MX93 (soctype mx93): it boots signed AHAB "
	      "containers, not an IVT with a HAB4 CSF");
	check(CSF("4.3", "ANY", "DCP"), "mx8mp", BS_ERR_SEMANTIC,
	      "s.csf:18:1: [Authenticate Data] Engine 0x1b is DCP, which i.MX8MP does not have");
	check(CSF("4.2", "CAAM", "ANY"), "mx6ull", BS_ERR_SEMANTIC,
	      "s.csf:1:1: [Header] Engine 0x1d is CAAM, which i.MX6ULL does not have");
	check(CSF("4.3", "ANY", "SAHARA"), "mx6q", BS_ERR_SEMANTIC,
	      "s.csf:18:1: [Authenticate Data] Engine 0x06 is an i.MX5-era engine, which i.MX6Q "
	      "does not have");
	check(CSF("4.6", "ANY", "ANY"), "mx8m", BS_ERR_SEMANTIC,
	      "s.csf:1:1: Version 4.6: no HAB4 ROM is newer than 4.5 (i.MX8M)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hab_soc__find_accepts_spellings),
		cmocka_unit_test(test_hab_soc__unknown_lists_known_names),
		cmocka_unit_test(test_hab_soc__check_csf_against_soc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
