/* Unit tests for the CSF text parser (src/hab/csf_*.c): CST vectors parse to the
 * resolved commands CST encodes (byte values cross-checked against the vector
 * binaries), lexer edge cases, and bad inputs with exact code and position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hab/csf.h"
#include "hab/hab.h"
#include "testutil.h"

/* A valid start: Header, Install SRK, Install CSFK, Authenticate CSF (lines 1-8). */
#define PRE                                                                                \
	"[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"srk.bin\"\nSource Index = 0\n"   \
	"[Install CSFK]\nFile = \"csf.pem\"\n[Authenticate CSF]\n"
/* ... plus an image key in slot 2 (lines 9-12). */
#define PRE_KEY PRE "[Install Key]\nVerification Index = 0\nTarget Index = 2\nFile = \"img.pem\"\n"

static struct bs_csf *parse_text(const char *text, bool strict, struct bs_error *err)
{
	struct bs_csf *csf = (struct bs_csf *)0x1;
	struct bs_csf_parse_opts opts = {.strict = strict};
	int rc = bs_csf_parse(&csf, text, strlen(text), "t.csf", &opts, err);
	if (rc != 0) {
		assert_null(csf);
		assert_int_equal(err->code, rc);
		return NULL;
	}
	return csf;
}

static struct bs_csf *ok(const char *text)
{
	struct bs_error err = {0};
	struct bs_csf *csf = parse_text(text, false, &err);
	if (csf == NULL)
		fail_msg("unexpected error: %s", err.msg);
	return csf;
}

/* Parse must fail with `code` and a message starting "t.csf:<pos>: ". */
static void bad_mode(const char *text, bool strict, int code, const char *pos)
{
	struct bs_error err = {0};
	struct bs_csf *csf = parse_text(text, strict, &err);
	if (csf != NULL) {
		bs_csf_free(csf);
		fail_msg("parsed but expected %s at %s", bs_err_name(code), pos);
	}
	char want[64];
	snprintf(want, sizeof(want), "t.csf:%s: ", pos);
	if (err.code != code || strncmp(err.msg, want, strlen(want)) != 0)
		fail_msg("expected %s at %s, got %s: %s", bs_err_name(code), pos,
			 bs_err_name(err.code), err.msg);
	assert_non_null(strstr(err.msg, "expected"));
}

static void bad(const char *text, int code, const char *pos)
{
	bad_mode(text, false, code, pos);
}

static bool has_warning(const struct bs_csf *csf, unsigned line, const char *needle)
{
	for (size_t i = 0; i < csf->nwarnings; i++)
		if (csf->warnings[i].line == line && strstr(csf->warnings[i].msg, needle) != NULL)
			return true;
	return false;
}

static struct bs_csf *fixture(const char *rel)
{
	size_t len;
	uint8_t *text = bs_fixture_read(rel, &len);
	struct bs_csf *csf = NULL;
	struct bs_error err = {0};
	int rc = bs_csf_parse(&csf, (const char *)text, len, rel, NULL, &err);
	free(text);
	if (rc != 0)
		fail_msg("%s: %s", rel, err.msg);
	return csf;
}

static void assert_cmd(const struct bs_csf_cmd *c, enum bs_csf_kind kind, uint8_t src,
		       uint8_t tgt)
{
	assert_int_equal(c->kind, kind);
	assert_int_equal(c->src, src);
	assert_int_equal(c->tgt, tgt);
}

/* ---- CST vectors ---- */

static void test_csf_parse__vector_a(void **state)
{
	(void)state;
	struct bs_csf *csf = fixture("hab4-vectors/rsa/a.csf");
	assert_int_equal(csf->ncmds, 6);
	assert_int_equal(csf->cmds[0].kind, BS_CSF_HEADER);
	assert_int_equal(csf->cmds[0].version, 0x41);
	assert_int_equal(csf->cmds[0].hash_alg, HAB_ALG_SHA256);
	assert_int_equal(csf->cmds[0].engine, HAB_ENG_ANY);
	assert_int_equal(csf->cmds[0].cert_format, HAB_PCL_X509);
	assert_false(csf->cmds[0].mode_hsm);
	assert_cmd(&csf->cmds[1], BS_CSF_INSTALL_SRK, 0, 0);
	assert_int_equal(csf->cmds[1].hash_alg, HAB_ALG_SHA256);
	assert_string_equal(csf->cmds[1].file, "crts/SRK_table.bin");
	assert_int_equal(csf->cmds[1].file_line, 10);
	assert_cmd(&csf->cmds[2], BS_CSF_INSTALL_CSFK, 0, 1);
	assert_string_equal(csf->cmds[2].file, "crts/CSF1_crt.pem");
	assert_cmd(&csf->cmds[3], BS_CSF_AUTH_CSF, 0, 1);
	assert_int_equal(csf->cmds[3].engine, HAB_ENG_ANY);
	assert_int_equal(csf->cmds[3].engine_cfg, 0);
	assert_cmd(&csf->cmds[4], BS_CSF_INSTALL_KEY, 0, 2);
	assert_int_equal(csf->cmds[4].hash_alg, 0);
	assert_string_equal(csf->cmds[4].file, "crts/IMG1_crt.pem");
	const struct bs_csf_cmd *ad = &csf->cmds[5];
	assert_cmd(ad, BS_CSF_AUTH_DATA, 0, 2);
	assert_int_equal(ad->line, 23);
	assert_int_equal(ad->nblocks, 2);
	assert_int_equal(ad->blocks[0].addr, 0x877ff400);
	assert_int_equal(ad->blocks[0].offset, 0);
	assert_int_equal(ad->blocks[0].length, 0x1000);
	assert_string_equal(ad->blocks[0].file, "img.bin");
	assert_int_equal(ad->blocks[1].addr, 0x87800400);
	assert_int_equal(ad->blocks[1].offset, 0x1000);
	assert_int_equal(ad->blocks[1].length, 0x20);
	assert_int_equal(ad->blocks[1].line, 26);
	assert_false(csf->auto_unlock_caam_rng);
	assert_false(csf->nocak);
	assert_int_equal(csf->nwarnings, 0);
	bs_csf_free(csf);
}

/* Values cross-checked with rsa/b_csf.bin (decoded with parse.py). */
static void test_csf_parse__vector_b(void **state)
{
	(void)state;
	struct bs_csf *csf = fixture("hab4-vectors/rsa/b.csf");
	const struct bs_csf_cmd *c = csf->cmds;
	assert_int_equal(csf->ncmds, 14);
	assert_int_equal(c[0].version, 0x43);
	assert_int_equal(c[0].engine, HAB_ENG_CAAM);
	assert_int_equal(c[1].kind, BS_CSF_NOP);
	assert_int_equal(c[2].kind, BS_CSF_SET_ENGINE);
	assert_int_equal(c[2].hash_alg, HAB_ALG_SHA256);
	assert_int_equal(c[2].engine, HAB_ENG_DCP);
	assert_int_equal(c[2].engine_cfg, 0x01);
	assert_cmd(&c[3], BS_CSF_INSTALL_SRK, 2, 0);
	assert_cmd(&c[4], BS_CSF_INSTALL_CSFK, 0, 1);
	assert_cmd(&c[5], BS_CSF_AUTH_CSF, 0, 1);
	assert_int_equal(c[5].engine, HAB_ENG_CAAM);
	assert_int_equal(c[5].engine_cfg, 0x02);
	assert_int_equal(c[6].kind, BS_CSF_UNLOCK);
	assert_int_equal(c[6].engine, HAB_ENG_OCOTP);
	assert_true(c[6].has_features);
	assert_int_equal(c[6].features, 0x0A);
	const uint8_t uid[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	assert_int_equal(c[6].uid_len, 8);
	assert_memory_equal(c[6].uid, uid, 8);
	assert_int_equal(c[7].engine, HAB_ENG_SNVS);
	assert_int_equal(c[7].features, 0x03);
	assert_int_equal(c[8].kind, BS_CSF_UNLOCK);
	assert_int_equal(c[8].engine, HAB_ENG_SRTC);
	assert_false(c[8].has_features);
	assert_int_equal(c[9].kind, BS_CSF_INIT);
	assert_int_equal(c[9].engine, HAB_ENG_SRTC);
	assert_int_equal(c[10].engine, HAB_ENG_CAAM);
	assert_int_equal(c[10].features, HAB_CAAM_MID | HAB_CAAM_MFG);
	assert_cmd(&c[11], BS_CSF_INSTALL_KEY, 0, 3);
	assert_int_equal(c[11].hash_alg, HAB_ALG_SHA256); /* CST 4.0.1 quirk */
	assert_cmd(&c[12], BS_CSF_AUTH_DATA, 0, 3);
	assert_int_equal(c[12].engine, HAB_ENG_DCP);
	assert_int_equal(c[12].engine_cfg, 0x20);
	assert_int_equal(c[13].kind, BS_CSF_NOP);
	assert_true(csf->auto_unlock_caam_rng);
	assert_true(has_warning(csf, 40, "Hash Algorithm"));
	bs_csf_free(csf);
}

static void test_csf_parse__vector_d_encrypted(void **state)
{
	(void)state;
	struct bs_csf *csf = fixture("hab4-vectors/rsa/d.csf");
	const struct bs_csf_cmd *c = csf->cmds;
	assert_int_equal(csf->ncmds, 8);
	assert_int_equal(c[0].engine, HAB_ENG_CAAM);
	assert_cmd(&c[6], BS_CSF_INSTALL_SECRET_KEY, 0, 0);
	assert_string_equal(c[6].file, "dek.bin");
	assert_int_equal(c[6].key_length, 128);
	assert_int_equal(c[6].blob_address, 0x27831000);
	assert_cmd(&c[7], BS_CSF_DECRYPT_DATA, 0, 0);
	assert_int_equal(c[7].mac_bytes, 16);
	assert_int_equal(c[7].engine, HAB_ENG_CAAM);
	assert_int_equal(c[7].nblocks, 1);
	assert_int_equal(c[7].blocks[0].addr, 0x27800800);
	assert_int_equal(c[7].blocks[0].offset, 0x400);
	assert_int_equal(c[7].blocks[0].length, 0x1000);
	assert_string_equal(c[7].blocks[0].file, "imgenc.bin");
	assert_true(csf->auto_unlock_caam_rng);
	bs_csf_free(csf);
}

static void test_csf_parse__vector_nxp_source_set(void **state)
{
	(void)state;
	struct bs_csf *csf = fixture("hab4-vectors/rsa/nxp.csf");
	assert_cmd(&csf->cmds[1], BS_CSF_INSTALL_SRK, 0, HAB_SLOT_SRK_NXP);
	assert_cmd(&csf->cmds[2], BS_CSF_INSTALL_CSFK, HAB_SLOT_SRK_NXP, HAB_SLOT_CSFK_NXP);
	assert_cmd(&csf->cmds[3], BS_CSF_AUTH_CSF, 0, HAB_SLOT_CSFK_NXP);
	assert_cmd(&csf->cmds[4], BS_CSF_INSTALL_KEY, 0, 2);
	bs_csf_free(csf);
}

static void test_csf_parse__vector_u_and_ec(void **state)
{
	(void)state;
	struct bs_csf *csf = fixture("hab4-vectors/rsa/u.csf");
	assert_int_equal(csf->ncmds, 6);
	assert_int_equal(csf->cmds[5].blocks[0].addr, 0x87800000);
	assert_int_equal(csf->cmds[5].blocks[0].length, 0x2000);
	assert_string_equal(csf->cmds[5].blocks[0].file, "u.bin");
	bs_csf_free(csf);
	csf = fixture("hab4-vectors/ec/e.csf");
	assert_int_equal(csf->cmds[0].version, 0x45);
	assert_string_equal(csf->cmds[1].file, "crts/tbl.bin");
	assert_cmd(&csf->cmds[5], BS_CSF_AUTH_DATA, 0, 2);
	bs_csf_free(csf);
}

static void test_csf_parse__vector_nocak(void **state)
{
	(void)state;
	struct bs_csf *csf = fixture("hab4-vectors/rsa/nocak/n.csf");
	assert_true(csf->nocak);
	assert_int_equal(csf->ncmds, 5);
	assert_cmd(&csf->cmds[2], BS_CSF_INSTALL_NOCAK, 0, 1);
	assert_string_equal(csf->cmds[2].file, "crts/SRK1_crt.pem");
	assert_cmd(&csf->cmds[3], BS_CSF_AUTH_CSF, 0, 1);
	assert_cmd(&csf->cmds[4], BS_CSF_AUTH_DATA, 0, 0);
	bs_csf_free(csf);
}

/* n2.csf is CST's NOCAK trap: Install Key + index 2 is signed by the NOCAK key anyway. */
static void test_csf_parse__vector_nocak_install_key_rejected(void **state)
{
	(void)state;
	size_t len;
	uint8_t *text = bs_fixture_read("hab4-vectors/rsa/nocak/n2.csf", &len);
	struct bs_csf *csf = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_csf_parse(&csf, (const char *)text, len, "n2.csf", NULL, &err),
			 BS_ERR_SEMANTIC);
	free(text);
	assert_null(csf);
	assert_non_null(strstr(err.msg, "n2.csf:14:1: [Install Key] cannot be used with "));
}

/* ---- lexer ---- */

static void test_csf_parse__case_and_word_separators(void **state)
{
	(void)state;
	struct bs_csf *csf = ok("[header]\nVERSION = 4.2\nhashalgorithm = SHA256\n"
				"[install_srk]\nfile = \"s.bin\"\nsource-index = 1\n"
				"[INSTALL CSFK]\nFILE = \"c.pem\"\n[authenticate csf]\n"
				"[unlock]\nengine = ocotp\nfeatures = SRK_REVOKE\n");
	assert_int_equal(csf->cmds[0].version, 0x42);
	assert_int_equal(csf->cmds[1].src, 1);
	assert_int_equal(csf->cmds[4].features, HAB_OCOTP_SRK_REVOKE);
	bs_csf_free(csf);
}

static void test_csf_parse__stray_character(void **state)
{
	(void)state;
	bad(PRE "[NOP] |\n", BS_ERR_SYNTAX, "9:7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csf_parse__vector_a),
		cmocka_unit_test(test_csf_parse__vector_b),
		cmocka_unit_test(test_csf_parse__vector_d_encrypted),
		cmocka_unit_test(test_csf_parse__vector_nxp_source_set),
		cmocka_unit_test(test_csf_parse__vector_u_and_ec),
		cmocka_unit_test(test_csf_parse__vector_nocak),
		cmocka_unit_test(test_csf_parse__vector_nocak_install_key_rejected),
		cmocka_unit_test(test_csf_parse__case_and_word_separators),
		cmocka_unit_test(test_csf_parse__stray_character),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
