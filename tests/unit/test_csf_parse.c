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

#include "formats/hab/csf.h"
#include "formats/hab/hab.h"
#include "testutil.h"

/* A valid start: Header, Install SRK, Install CSFK, Authenticate CSF (lines 1-8). */
#define PRE                                                                                \
	"[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"srk.bin\"\nSource Index = 0\n"   \
	"[Install CSFK]\nFile = \"csf.pem\"\n[Authenticate CSF]\n"
/* ... plus an image key in slot 2 (lines 9-12). */
#define PRE_KEY PRE "[Install Key]\nVerification Index = 0\nTarget Index = 2\nFile = \"img.pem\"\n"

static struct bs_csf *parse_len(const char *text, size_t len, bool strict, struct bs_error *err)
{
	struct bs_csf *csf = (struct bs_csf *)0x1; /* must be reset to NULL on error */
	struct bs_csf_parse_opts opts = {.strict = strict};
	int rc = bs_csf_parse(&csf, text, len, "t.csf", &opts, err);
	if (rc != 0) {
		assert_null(csf);
		assert_int_equal(err->code, rc);
		return NULL;
	}
	return csf;
}

static struct bs_csf *parse_text(const char *text, bool strict, struct bs_error *err)
{
	return parse_len(text, strlen(text), strict, err);
}

static struct bs_csf *ok(const char *text)
{
	struct bs_error err = {0};
	struct bs_csf *csf = parse_text(text, false, &err);
	if (csf == NULL)
		fail_msg("unexpected error: %s", err.msg);
	return csf;
}

static struct bs_csf *ok_strict(const char *text)
{
	struct bs_error err = {0};
	struct bs_csf *csf = parse_text(text, true, &err);
	if (csf == NULL)
		fail_msg("unexpected error: %s", err.msg);
	return csf;
}

/* Parse must fail with `code` and a message starting "t.csf:<pos>: " that contains
 * `needle` (if not NULL). Returns nothing was produced (checked in parse_len). */
static void bad_full(const char *text, size_t len, bool strict, int code, const char *pos,
		     const char *needle)
{
	struct bs_error err = {0};
	struct bs_csf *csf = parse_len(text, len, strict, &err);
	if (csf != NULL) {
		bs_csf_free(csf);
		fail_msg("parsed but expected %s at %s", bs_err_name(code), pos);
	}
	char want[64];
	snprintf(want, sizeof(want), "t.csf:%s: ", pos);
	if (err.code != code || strncmp(err.msg, want, strlen(want)) != 0)
		fail_msg("expected %s at %s, got %s: %s", bs_err_name(code), pos,
			 bs_err_name(err.code), err.msg);
	assert_non_null(strstr(err.msg, "; expected"));
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("message lacks \"%s\": %s", needle, err.msg);
}

static void bad_mode(const char *text, bool strict, int code, const char *pos)
{
	bad_full(text, strlen(text), strict, code, pos, NULL);
}

static void bad(const char *text, int code, const char *pos)
{
	bad_mode(text, false, code, pos);
}

static void bad_msg(const char *text, int code, const char *pos, const char *needle)
{
	bad_full(text, strlen(text), false, code, pos, needle);
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

/* Oracle: re-encode the resolved commands the way HAB4.md 2.3 lays them out and compare
 * with the command region of the binary CST 4.0.1 produced for the same CSF (offset
 * fields masked: they depend on blob sizes, not on the parser). */
static size_t encode_cmd(const struct bs_csf_cmd *c, uint8_t *b)
{
	size_t n = 0;
	switch (c->kind) {
	case BS_CSF_HEADER: return 0;
	case BS_CSF_INSTALL_NOCAK: return 0;
	case BS_CSF_INSTALL_SRK:
	case BS_CSF_INSTALL_CSFK:
	case BS_CSF_INSTALL_KEY:
	case BS_CSF_INSTALL_SECRET_KEY: {
		bool srk = c->kind == BS_CSF_INSTALL_SRK, sec = c->kind == BS_CSF_INSTALL_SECRET_KEY;
		uint8_t flags = c->kind == BS_CSF_INSTALL_CSFK ? HAB_CMD_INS_KEY_CSF
				: sec ? HAB_CMD_INS_KEY_ABS : 0;
		uint8_t pcl = srk ? HAB_PCL_SRK : sec ? HAB_PCL_BLOB : HAB_PCL_X509;
		const uint8_t cmd[12] = {HAB_CMD_INS_KEY, 0, 12, flags, pcl, c->hash_alg, c->src,
					 c->tgt, 0, 0, 0, 0};
		memcpy(b, cmd, 12);
		if (sec) {
			b[8] = (uint8_t)(c->blob_address >> 24);
			b[9] = (uint8_t)(c->blob_address >> 16);
			b[10] = (uint8_t)(c->blob_address >> 8);
			b[11] = (uint8_t)c->blob_address;
		}
		return 12;
	}
	case BS_CSF_AUTH_CSF:
	case BS_CSF_AUTH_DATA:
	case BS_CSF_DECRYPT_DATA: {
		n = 12 + 8 * c->nblocks;
		uint8_t pcl = c->kind == BS_CSF_DECRYPT_DATA ? HAB_PCL_AEAD : HAB_PCL_CMS;
		const uint8_t cmd[12] = {HAB_CMD_AUT_DAT, 0, (uint8_t)n, 0, c->tgt, pcl, c->engine,
					 c->engine_cfg, 0, 0, 0, 0};
		memcpy(b, cmd, 12);
		for (size_t i = 0; i < c->nblocks; i++) {
			uint32_t v[2] = {c->blocks[i].addr, c->blocks[i].length};
			for (int k = 0; k < 8; k++)
				b[12 + 8 * i + k] = (uint8_t)(v[k / 4] >> (24 - 8 * (k % 4)));
		}
		return n;
	}
	case BS_CSF_NOP: memcpy(b, "\xC0\x00\x04\xAE", 4); return 4;
	case BS_CSF_SET_ENGINE: {
		const uint8_t cmd[8] = {HAB_CMD_SET, 0, 8, 3, 0, c->hash_alg, c->engine, c->engine_cfg};
		memcpy(b, cmd, 8);
		return 8;
	}
	case BS_CSF_UNLOCK:
	case BS_CSF_INIT:
		n = 4;
		b[0] = c->kind == BS_CSF_UNLOCK ? HAB_CMD_UNLK : HAB_CMD_INIT;
		b[3] = c->engine;
		if (c->has_features) {
			b[4] = (uint8_t)(c->features >> 24);
			b[5] = (uint8_t)(c->features >> 16);
			b[6] = (uint8_t)(c->features >> 8);
			b[7] = (uint8_t)c->features;
			n = 8;
		}
		memcpy(b + n, c->uid, c->uid_len);
		n += c->uid_len;
		b[1] = 0;
		b[2] = (uint8_t)n;
		return n;
	}
	return 0;
}

static void check_against_cst(const char *csf_rel, const char *bin_rel)
{
	struct bs_csf *csf = fixture(csf_rel);
	size_t blen;
	uint8_t *bin = bs_fixture_read(bin_rel, &blen);
	uint8_t want[1024] = {HAB_TAG_CSF, 0, 0, csf->cmds[0].version};
	size_t n = 4;
	for (size_t i = 0; i < csf->ncmds; i++)
		n += encode_cmd(&csf->cmds[i], want + n);
	if (csf->auto_unlock_caam_rng) {
		memcpy(want + n, "\xB2\x00\x08\x1D\x00\x00\x00\x02", 8);
		n += 8;
	}
	want[1] = (uint8_t)(n >> 8);
	want[2] = (uint8_t)n;
	assert_true(blen >= n);
	uint8_t *got = malloc(n);
	memcpy(got, bin, n);
	for (size_t off = 4; off < n; off += (size_t)(got[off + 1] << 8 | got[off + 2])) {
		bool keyed = got[off] == HAB_CMD_AUT_DAT ||
			     (got[off] == HAB_CMD_INS_KEY && got[off + 3] != HAB_CMD_INS_KEY_ABS);
		if (keyed)
			memset(got + off + 8, 0, 4); /* blob offset */
		assert_true(got[off + 2] > 0);
	}
	assert_memory_equal(got, want, n);
	free(got);
	free(bin);
	bs_csf_free(csf);
}

static void test_csf_parse__vectors_match_cst_command_bytes(void **state)
{
	(void)state;
	check_against_cst("hab4-vectors/rsa/a.csf", "hab4-vectors/rsa/a_csf.bin");
	check_against_cst("hab4-vectors/rsa/b.csf", "hab4-vectors/rsa/b_csf.bin");
	check_against_cst("hab4-vectors/rsa/d.csf", "hab4-vectors/rsa/d.bin");
	check_against_cst("hab4-vectors/rsa/nxp.csf", "hab4-vectors/rsa/nxp.bin");
	check_against_cst("hab4-vectors/rsa/u.csf", "hab4-vectors/rsa/u_csf.bin");
	check_against_cst("hab4-vectors/rsa/nocak/n.csf", "hab4-vectors/rsa/nocak/n.bin");
	check_against_cst("hab4-vectors/ec/e.csf", "hab4-vectors/ec/e.bin");
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

static void test_csf_parse__hash_algorithm_spellings(void **state)
{
	(void)state;
	const char *names[] = {"Hash Algorithm", "HashAlgorithm", "hash_algorithm", "HASH-ALGORITHM",
			       "Hash\tAlgorithm"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "[Header]\nVersion = 4.1\n%s = sha512\n[Install SRK]\nFile = \"s\"\n"
			 "Source Index = 0\n[Install CSFK]\nFile = \"c\"\n[Authenticate CSF]\n",
			 names[i]);
		struct bs_csf *csf = ok(text);
		assert_int_equal(csf->cmds[0].hash_alg, HAB_ALG_SHA512);
		assert_int_equal(csf->cmds[1].hash_alg, HAB_ALG_SHA512); /* SRK default */
		bs_csf_free(csf);
	}
}

/* CRLF, no final newline, blank lines, leading comments: same commands as LF. */
static void test_csf_parse__crlf_and_no_final_newline(void **state)
{
	(void)state;
	size_t len;
	uint8_t *lf = bs_fixture_read("hab4-vectors/rsa/a.csf", &len);
	char *crlf = malloc(2 * len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (lf[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = (char)lf[i];
	}
	while (n > 0 && (crlf[n - 1] == '\n' || crlf[n - 1] == '\r'))
		n--; /* no final newline */
	struct bs_error err = {0};
	struct bs_csf *csf = parse_len(crlf, n, false, &err);
	if (csf == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(csf->ncmds, 6);
	assert_int_equal(csf->cmds[5].nblocks, 2);
	assert_string_equal(csf->cmds[5].blocks[1].file, "img.bin");
	assert_int_equal(csf->cmds[5].blocks[1].length, 0x20);
	assert_int_equal(csf->nwarnings, 0);
	bs_csf_free(csf);
	free(crlf);
	free(lf);
}

static void test_csf_parse__comments_everywhere(void **state)
{
	(void)state;
	struct bs_csf *csf = ok("\n# top\n\n[Header]   # header comment\n"
				"Version = 4.1 # trailing comment\n"
				"Engine = DCP /* C comment */\n"
				"[Install SRK]\nFile = \"s\" # x\nSource Index = 0\n"
				"[Install CSFK]\nFile = \"c\"\n[Authenticate CSF]\n# end");
	assert_int_equal(csf->cmds[0].version, 0x41);
	assert_int_equal(csf->cmds[0].engine, HAB_ENG_DCP);
	assert_int_equal(csf->cmds[3].engine, HAB_ENG_DCP);
	assert_int_equal(csf->nwarnings, 1);
	assert_true(has_warning(csf, 6, "C-style comment"));
	assert_int_equal(csf->warnings[0].col, 14);
	bs_csf_free(csf);
}

static void test_csf_parse__continuation(void **state)
{
	(void)state;
	struct bs_csf *csf = ok(PRE_KEY "[Authenticate Data]\nVerification Index = \\\n  2\n"
				"Blocks = 1 2 3 \"a\", \\ # comment after the backslash\n"
				"        4 5 6 \"b\",\\\n"
				"        7 8 9 \"c\"\n");
	const struct bs_csf_cmd *ad = &csf->cmds[5];
	assert_int_equal(ad->tgt, 2);
	assert_int_equal(ad->nblocks, 3);
	assert_int_equal(ad->blocks[2].addr, 7);
	assert_int_equal(ad->blocks[2].line, 18);
	assert_int_equal(ad->blocks[2].col, 9);
	assert_int_equal(csf->nwarnings, 0);
	bs_csf_free(csf);
	/* text after '\' is ignored like CST (warning); strict refuses it */
	const char *junk = PRE "[NOP] \\ junk\n\n";
	csf = ok(junk);
	assert_true(has_warning(csf, 9, "after '\\'"));
	bs_csf_free(csf);
	bad_mode(junk, true, BS_ERR_SYNTAX, "9:9");
}

static void test_csf_parse__version_forms(void **state)
{
	(void)state;
	const char *forms[] = {"4.1", "4 . 1", "4 1", "4.01", "0x4.0x1"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text),
			 "[Header]\nVersion = %s\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
			 "[Install CSFK]\nFile = \"c\"\n[Authenticate CSF]\n",
			 forms[i]);
		struct bs_csf *csf = ok(text);
		assert_int_equal(csf->cmds[0].version, 0x41);
		bs_csf_free(csf);
	}
}

static void test_csf_parse__octal_like_cst_with_warning(void **state)
{
	(void)state;
	const char *text = PRE_KEY "[Authenticate Data]\nVerification Index = 2\n"
				   "Blocks = 0x100 010 0x10 \"f\"\n";
	struct bs_csf *csf = ok(text);
	assert_int_equal(csf->cmds[5].blocks[0].offset, 8);
	assert_true(has_warning(csf, 15, "octal"));
	bs_csf_free(csf);
	bad_mode(text, true, BS_ERR_SEMANTIC, "15:16");
	/* 0, 00 and 007 mean the same in octal and decimal: no warning */
	csf = ok(PRE_KEY "[Authenticate Data]\nVerification Index = 002\nBlocks = 00 0 007 \"f\"\n");
	assert_int_equal(csf->cmds[5].blocks[0].length, 7);
	assert_int_equal(csf->nwarnings, 0);
	bs_csf_free(csf);
	bad_msg(PRE "[Install Key]\nVerification Index = 08\n", BS_ERR_SEMANTIC, "10:22",
		"octal");
}

static void test_csf_parse__strings(void **state)
{
	(void)state;
	struct bs_csf *csf = ok(PRE "[Install Key]\nVerification Index = 0\nTarget Index = 2\n"
				    "File = \"pkcs11:token=T;object=IMG\\1;type=cert;pin-value=1234\"\n"
				    "[Authenticate Data]\nVerification Index = 2\n"
				    "Blocks = 0 0 4 \"dir\\sub dir\\img.bin\", 4 4 4 \"x\"\n");
	assert_string_equal(csf->cmds[4].file,
			    "pkcs11:token=T;object=IMG\\1;type=cert;pin-value=1234");
	assert_string_equal(csf->cmds[5].blocks[0].file, "dir/sub dir/img.bin");
	assert_string_equal(csf->cmds[5].blocks[1].file, "x");
	/* CST would merge both names on line 15 */
	assert_true(has_warning(csf, 15, "merge"));
	bs_csf_free(csf);
}

static void test_csf_parse__engine_configuration(void **state)
{
	(void)state;
	/* numbers are CST indices, not bits: 4 = OUT SWAP8 = 0x08 on DCP; Header cfg is
	 * the default of later commands and is translated for their engine */
	struct bs_csf *csf = ok("[Header]\nVersion = 4.1\nEngine = DCP\nEngine Configuration = 4\n"
				"[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
				"[Install CSFK]\nFile = \"c\"\n[Authenticate CSF]\n"
				"[Set Engine]\nHash Algorithm = sha1\nEngine = CAAM\n"
				"[Set Engine]\nHash Algorithm = sha256\nEngine = CAAM\n"
				"Engine Configuration = DSC_SWAP16\n"
				"[Set Engine]\nHash Algorithm = sha256\nEngine = RTIC\n"
				"Engine Configuration = keep\n"
				"[Set Engine]\nHash Algorithm = sha256\nEngine = SAHARA\n"
				"Engine Configuration = DSC BE8_32\n");
	assert_int_equal(csf->cmds[0].engine_cfg, 0x08);
	assert_int_equal(csf->cmds[3].engine, HAB_ENG_DCP);
	assert_int_equal(csf->cmds[3].engine_cfg, 0x08);
	assert_int_equal(csf->cmds[4].hash_alg, HAB_ALG_SHA1);
	assert_int_equal(csf->cmds[4].engine_cfg, 0x08); /* OUT SWAP8 on CAAM */
	assert_int_equal(csf->cmds[5].engine_cfg, 0x80);
	assert_int_equal(csf->cmds[6].engine_cfg, 0x80);
	assert_int_equal(csf->cmds[7].engine_cfg, 0x20);
	bs_csf_free(csf);
	/* a list: the first flag wins (warning); strict refuses */
	const char *list = PRE "[Set Engine]\nHash Algorithm = sha256\nEngine = CAAM\n"
			       "Engine Configuration = IN SWAP16, OUT SWAP8\n";
	csf = ok(list);
	assert_int_equal(csf->cmds[4].engine_cfg, 0x02);
	assert_true(has_warning(csf, 12, "only the first"));
	bs_csf_free(csf);
	bad_mode(list, true, BS_ERR_SEMANTIC, "12:33");
}

static void test_csf_parse__duplicate_blocks_first_wins(void **state)
{
	(void)state;
	const char *text = PRE_KEY "[Authenticate Data]\nVerification Index = 2\n"
				   "Blocks = 1 0 4 \"a\"\nBlocks = 2 0 4 \"b\"\n";
	struct bs_csf *csf = ok(text);
	assert_int_equal(csf->cmds[5].nblocks, 1);
	assert_string_equal(csf->cmds[5].blocks[0].file, "a");
	assert_true(has_warning(csf, 16, "first (line 15)"));
	bs_csf_free(csf);
	bad_mode(text, true, BS_ERR_SYNTAX, "16:1");
}

static void test_csf_parse__unlock_init_and_auto_rng(void **state)
{
	(void)state;
	/* Header CAAM + an Init CAAM RNG: no automatic Unlock */
	struct bs_csf *csf = ok("[Header]\nVersion = 4.1\nEngine = CAAM\n[Install SRK]\n"
				"File = \"s\"\nSource Index = 0\n[Install CSFK]\nFile = \"c\"\n"
				"[Authenticate CSF]\n[Init]\nEngine = CAAM\nFeatures = RNG\n"
				"[Unlock]\nEngine = OCOTP\nFeatures = 1, 4\n"
				"UID = 0, 1, 2, 3, 4, 5, 6, 0xff\n[Unlock]\nEngine = DCP\n");
	assert_false(csf->auto_unlock_caam_rng);
	assert_int_equal(csf->cmds[4].kind, BS_CSF_INIT);
	assert_int_equal(csf->cmds[4].features, HAB_CAAM_RNG);
	assert_int_equal(csf->cmds[5].features, 5);
	assert_int_equal(csf->cmds[5].uid[7], 0xff);
	assert_int_equal(csf->cmds[6].engine, HAB_ENG_DCP);
	assert_false(csf->cmds[6].has_features);
	bs_csf_free(csf);
	/* Unlock CAAM RNG given as a number also suppresses it */
	csf = ok("[Header]\nVersion = 4.1\nEngine = CAAM\n[Install SRK]\n"
		 "File = \"s\"\nSource Index = 0\n[Install CSFK]\nFile = \"c\"\n"
		 "[Authenticate CSF]\n[Unlock]\nEngine = CAAM\nFeatures = 2\n");
	assert_false(csf->auto_unlock_caam_rng);
	bs_csf_free(csf);
}

static void test_csf_parse__hsm_mode_and_secret_defaults(void **state)
{
	(void)state;
	struct bs_csf *csf = ok("[Header]\nVersion = 4.2\nMode = HSM\nSignature Size = 512\n"
				"Certificate Format = x509\nSignature Format = cms\nTarget = hab\n"
				"[Install SRK]\nFile = \"s\"\nVerification Index = 3\n"
				"[Install CSFK]\nFile = \"c\"\nCertificate Format = X509\n"
				"[Authenticate CSF]\n"
				"[Install Secret Key]\nKey = \"dek.bin\"\nTarget Index = 5\n"
				"Blob Address = 0x1000\n"
				"[Decrypt Data]\nVerification Index = 5\nBlocks = 0 0 32 \"f\"\n");
	assert_true(csf->cmds[0].mode_hsm);
	assert_int_equal(csf->cmds[0].signature_size, 512);
	assert_int_equal(csf->cmds[1].src, 3);
	assert_int_equal(csf->cmds[4].key_length, 128);
	assert_int_equal(csf->cmds[4].src, 0);
	assert_int_equal(csf->cmds[4].tgt, 5);
	assert_int_equal(csf->cmds[5].mac_bytes, 16);
	assert_int_equal(csf->cmds[5].tgt, 5);
	bs_csf_free(csf);
}

static void test_csf_parse__strict_accepts_clean_vectors(void **state)
{
	(void)state;
	const char *files[] = {"hab4-vectors/rsa/a.csf", "hab4-vectors/rsa/d.csf",
			       "hab4-vectors/rsa/nocak/n.csf", "hab4-vectors/ec/e.csf"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		uint8_t *text = bs_fixture_read(files[i], &len);
		char *z = calloc(1, len + 1);
		memcpy(z, text, len);
		struct bs_csf *csf = ok_strict(z);
		bs_csf_free(csf);
		free(z);
		free(text);
	}
	/* b.csf uses Install Key Hash Algorithm: strict refuses it (line 40) */
	size_t len;
	uint8_t *text = bs_fixture_read("hab4-vectors/rsa/b.csf", &len);
	char *z = calloc(1, len + 1);
	memcpy(z, text, len);
	bad_mode(z, true, BS_ERR_SEMANTIC, "40:5");
	free(z);
	free(text);
}

/* ---- bad inputs: lexical and grammar ---- */

static void test_csf_parse__bad_characters(void **state)
{
	(void)state;
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \xE2\x80\x9Cs.bin\xE2\x80\x9D\n",
		BS_ERR_SYNTAX, "4:8", "typographic quote");
	bad_full("[Header]\nVer\0sion = 4.1\n", 24, false, BS_ERR_SYNTAX, "2:4", "0x00");
	bad_msg("[Header]\nVersion = 4.1;\n", BS_ERR_SYNTAX, "2:14", "';'");
	bad_msg("[Header]\n\xC3\xA9\n", BS_ERR_SYNTAX, "2:1", "0xC3");
	bad_msg(PRE "[Set Engine]\nHash Algorithm = sha256\nEngine = DCP\n"
		    "Engine Configuration = IN SWAP8 | OUT SWAP8\n",
		BS_ERR_SYNTAX, "12:33", "'|'");
	bad(PRE "[NOP] /\n", BS_ERR_SYNTAX, "9:7");
	bad_msg("[Header]\nVersion = 4.1 /* open\n\n", BS_ERR_SYNTAX, "2:15", "'*/'");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\tb\"\n", BS_ERR_SYNTAX,
		"4:10", "0x09");
}

static void test_csf_parse__unterminated_string(void **state)
{
	(void)state;
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"srk.bin\nSource Index = 0\n",
		BS_ERR_SYNTAX, "4:8", "unterminated");
	bad("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"srk.bin", BS_ERR_SYNTAX, "4:8");
}

static void test_csf_parse__bad_numbers(void **state)
{
	(void)state;
	bad_msg(PRE "[Install Key]\nVerification Index = 0x\n", BS_ERR_SYNTAX, "10:22", "0x");
	bad_msg(PRE "[Install Key]\nVerification Index = 2a\n", BS_ERR_SYNTAX, "10:23", "'a'");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 2\n"
			"Blocks = 0x100000000 0 4 \"f\"\n",
		BS_ERR_SEMANTIC, "15:10", "32 bits");
	bad(PRE_KEY "[Authenticate Data]\nVerification Index = 2\nBlocks = 4294967296 0 4 \"f\"\n",
	    BS_ERR_SEMANTIC, "15:10");
	bad_msg(PRE "[Install Key]\nVerification Index = -1\nTarget Index = 2\nFile = \"k\"\n",
		BS_ERR_SEMANTIC, "10:22",
		"negative");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 2\nBlocks = 0 -4 4 \"f\"\n",
		BS_ERR_SEMANTIC, "15:12", "negative");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 2\n"
			"Blocks = 0 0xFFFFFF00 0x200 \"f\"\n",
		BS_ERR_SEMANTIC, "15:12", "4 GiB");
}

static void test_csf_parse__grammar_errors(void **state)
{
	(void)state;
	bad_msg("Version = 4.1\n[Header]\n", BS_ERR_SYNTAX, "1:1", "[Header]");
	bad_msg("[Header\nVersion = 4.1\n", BS_ERR_SYNTAX, "1:8", "']'");
	bad_msg("[Header] Version = 4.1\n", BS_ERR_SYNTAX, "1:10", "end of line");
	bad_msg("[]\n", BS_ERR_SYNTAX, "1:2", "section name");
	bad_msg("[Header]\nVersion\n", BS_ERR_SYNTAX, "2:8", "'=' after 'Version'");
	bad_msg("[Header]\nVersion =\n", BS_ERR_SYNTAX, "2:10", "missing value");
	bad_msg("[Header]\nVersion = 4.1 = 2\n", BS_ERR_SYNTAX, "2:15", "'='");
	bad_msg("[Header]\n= 4.1\n", BS_ERR_SYNTAX, "2:1", "argument name");
	bad_msg("[Header]\n\"x\" = 1\n", BS_ERR_SYNTAX, "2:1", "argument name");
}

static void test_csf_parse__unknown_names(void **state)
{
	(void)state;
	bad_msg(PRE "[Write Data]\nWidth = 4\n", BS_ERR_SYNTAX, "9:2",
		"unknown section [Write Data] (removed from CST since 2.3.3)");
	bad_msg("[Header]\nVersion = 4.1\nSecurity Configuration = Open\n", BS_ERR_SYNTAX, "3:1",
		"'Security Configuration' (removed");
	bad_msg("[Header]\nVersion = 4.1\nColour = blue\n", BS_ERR_SYNTAX, "3:1",
		"unknown argument 'Colour'");
	/* a known argument in the wrong section lists what the section accepts */
	bad_msg(PRE "[Install Key]\nBlocks = 0 0 4 \"f\"\n", BS_ERR_SYNTAX, "10:1",
		"expected Hash Algorithm, Certificate Format, File, Source Index, Verification Index, Target Index");
	bad_msg(PRE "[Unlock]\nEngine = CAAM\nWidth = 4\n", BS_ERR_SYNTAX, "11:1",
		"not valid in [Unlock]");
	/* names CST knows only for AHAB or removed commands (fuzzer regression: ids >= 32) */
	bad_msg("[Header]\nVersion = 4.1\nSignature = \"x\"\n", BS_ERR_SYNTAX, "3:1",
		"'Signature' is not valid in [Header]");
	bad_msg("[Header]\nVersion = 4.1\nImage Indexes = 1\n", BS_ERR_SYNTAX, "3:1",
		"not valid in [Header]");
}

static void test_csf_parse__duplicate_arguments(void **state)
{
	(void)state;
	bad_msg("[Header]\nVersion = 4.1\nVersion = 4.2\n", BS_ERR_SYNTAX, "3:1",
		"already given at line 2");
	/* Source Index and Verification Index are one argument in [Install SRK] */
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
		"Verification Index = 1\n",
		BS_ERR_SYNTAX, "6:1", "line 5 as 'Source Index'");
	bad(PRE_KEY "[Install Key]\nFile = \"a\"\nFile = \"b\"\n", BS_ERR_SYNTAX, "15:1");
}

static void test_csf_parse__value_shapes(void **state)
{
	(void)state;
	bad_msg("[Header]\nVersion = 4\n", BS_ERR_SYNTAX, "2:11", "major.minor");
	bad("[Header]\nVersion = 4.1.2\n", BS_ERR_SYNTAX, "2:11");
	bad("[Header]\nVersion = 4.1\n[Install SRK]\nFile = srk\nSource Index = 0\n", BS_ERR_SYNTAX, "4:8");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0, 1\n",
		BS_ERR_SYNTAX, "5:16", "single number");
	bad(PRE_KEY "[Authenticate Data]\nVerification Index = zero\nBlocks = 0 0 4 \"f\"\n",
	    BS_ERR_SYNTAX, "14:22");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 2\nBlocks = 0 0 4\n",
		BS_ERR_SYNTAX, "15:10", "ADDRESS OFFSET LENGTH \"file\"");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 2\nBlocks = 0 0 4 \"f\",\n",
		BS_ERR_SYNTAX, "15:19", "after ','");
	bad_msg(PRE "[Unlock]\nEngine = CAAM, SNVS\n", BS_ERR_SYNTAX, "10:14", "one value");
	bad(PRE "[Unlock]\nEngine = 29\n", BS_ERR_SYNTAX, "10:10");
	bad_msg(PRE "[Unlock]\nEngine = OCOTP\nFeatures = SRK REVOKE\nUID = 1, x\n",
		BS_ERR_SYNTAX, "12:10", "byte values");
}

/* ---- bad inputs: values ---- */

static void test_csf_parse__header_values(void **state)
{
	(void)state;
	bad_msg("[Header]\nHash Algorithm = sha256\n[Install SRK]\n", BS_ERR_SEMANTIC, "1:1",
		"missing 'Version'");
	bad_msg("[Header]\nVersion = 3.0\n", BS_ERR_SEMANTIC, "2:11", "not a HAB4 version");
	bad("[Header]\nVersion = 5.1\n", BS_ERR_SEMANTIC, "2:11");
	bad("[Header]\nVersion = 4.16\n", BS_ERR_SEMANTIC, "2:11");
	bad_msg("[Header]\nVersion = 4.1\nHash Algorithm = sha384\n", BS_ERR_SEMANTIC, "3:18",
		"no sha384");
	bad_msg("[Header]\nVersion = 4.1\nSignature Format = PKCS1\n", BS_ERR_SEMANTIC, "3:20",
		"expected CMS");
	bad_msg("[Header]\nVersion = 4.1\nCertificate Format = WTLS\n", BS_ERR_SEMANTIC, "3:22",
		"expected X509");
	bad_msg("[Header]\nVersion = 4.1\nEngine = ANY\nEngine Configuration = IN SWAP8\n",
		BS_ERR_SEMANTIC, "4:1", "Engine is ANY");
	bad_msg("[Header]\nVersion = 4.1\nEngine = SNVS\n", BS_ERR_SEMANTIC, "3:10", "hashing");
	bad_msg("[Header]\nVersion = 4.1\nEngine = FOO\n", BS_ERR_SEMANTIC, "3:10",
		"unknown engine");
	bad_msg("[Header]\nVersion = 4.1\nMode = Fast\n", BS_ERR_SEMANTIC, "3:8", "HSM");
	bad_msg("[Header]\nVersion = 4.1\nMode = HSM\nSignature Size = 5000\n", BS_ERR_SEMANTIC,
		"4:18", "1 to 4096");
}

static void test_csf_parse__ahab_unsupported(void **state)
{
	(void)state;
	bad_msg("[Header]\nTarget = AHAB\nVersion = 1.0\n[Install SRK]\n", BS_ERR_UNSUPPORTED,
		"2:10", "an AHAB CSF is not a HAB4 CSF");
	bad_msg("[Header]\nTarget = XYZ\nVersion = 4.1\n", BS_ERR_SEMANTIC, "2:10", "HAB");
}

static void test_csf_parse__engine_configuration_errors(void **state)
{
	(void)state;
	/* IN SWAP32 exists for DCP only */
	bad_msg(PRE "[Set Engine]\nHash Algorithm = sha256\nEngine = CAAM\n"
		    "Engine Configuration = IN SWAP32\n",
		BS_ERR_SEMANTIC, "12:1", "not valid for CAAM");
	/* the Header's DCP configuration does not fit CAAM in [Authenticate CSF] */
	bad_msg("[Header]\nVersion = 4.1\nEngine = DCP\nEngine Configuration = OUT SWAP32\n"
		"[Install SRK]\nFile = \"s\"\nSource Index = 0\n[Install CSFK]\nFile = \"c\"\n"
		"[Authenticate CSF]\nEngine = CAAM\n",
		BS_ERR_SEMANTIC, "11:1", "default from [Header]");
	bad_msg(PRE "[Set Engine]\nHash Algorithm = sha256\nEngine = DCP\n"
		    "Engine Configuration = 12\n",
		BS_ERR_SEMANTIC, "12:24", "out of range");
	bad_msg(PRE "[Set Engine]\nHash Algorithm = sha256\nEngine = DCP\n"
		    "Engine Configuration = SWAP8\n",
		BS_ERR_SEMANTIC, "12:24", "unknown engine configuration");
	bad_msg(PRE "[Set Engine]\nEngine = DCP\n", BS_ERR_SEMANTIC, "9:1",
		"missing 'Hash Algorithm'");
}

/* ---- bad inputs: order ---- */

static void test_csf_parse__command_order(void **state)
{
	(void)state;
	bad_msg("[NOP]\n[Header]\nVersion = 4.1\n", BS_ERR_SEMANTIC, "1:1", "before [Header]");
	bad_msg("[Header]\nVersion = 4.1\n[Header]\nVersion = 4.1\n", BS_ERR_SEMANTIC, "3:1",
		"first at line 1");
	bad_msg("[Header]\nVersion = 4.1\n[Install CSFK]\nFile = \"c\"\n", BS_ERR_SEMANTIC, "3:1",
		"[Install SRK] first");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
		"[Authenticate CSF]\n",
		BS_ERR_SEMANTIC, "6:1", "[Install CSFK] or [Install NOCAK] first");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
		"[Install CSFK]\nFile = \"c\"\n[Install Key]\n",
		BS_ERR_SEMANTIC, "8:1", "after [Authenticate CSF]");
	bad(PRE "[Install SRK]\nFile = \"s\"\nSource Index = 0\n", BS_ERR_SEMANTIC, "9:1");
	bad_msg(PRE "[Install NOCAK]\nFile = \"c\"\n", BS_ERR_SEMANTIC, "9:1", "second CSF key");
	bad_msg(PRE "[Authenticate CSF]\n", BS_ERR_SEMANTIC, "9:1", "second [Authenticate CSF]");
	bad_msg(PRE "[Authenticate Data]\nVerification Index = 2\nBlocks = 0 0 4 \"f\"\n",
		BS_ERR_SEMANTIC, "9:1", "earlier [Install Key]");
	bad_msg(PRE "[Decrypt Data]\nVerification Index = 0\nBlocks = 0 0 16 \"f\"\n",
		BS_ERR_SEMANTIC, "9:1", "earlier [Install Secret Key]");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
		"[Install CSFK]\nFile = \"c\"\n[Unlock]\nEngine = SRTC\n",
		BS_ERR_SEMANTIC, "8:1", "after [Authenticate CSF]");
}

static void test_csf_parse__missing_sections_at_end(void **state)
{
	(void)state;
	bad_msg("", BS_ERR_SEMANTIC, "1:1", "without [Header]");
	bad_msg("# only a comment\n", BS_ERR_SEMANTIC, "2:1", "without [Header]");
	bad_msg("[Header]\nVersion = 4.1\n", BS_ERR_SEMANTIC, "3:1", "without [Install SRK]");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
		"[Install CSFK]\nFile = \"c\"",
		BS_ERR_SEMANTIC, "7:11", "without [Authenticate CSF]");
}

/* ---- bad inputs: indices and keys ---- */

static void test_csf_parse__srk_rules(void **state)
{
	(void)state;
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 4\n",
		BS_ERR_SEMANTIC, "5:16", "0 to 3");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
		"Certificate Format = X509\n",
		BS_ERR_SEMANTIC, "6:1", "not allowed in [Install SRK]");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
		"Source Set = ACME\n",
		BS_ERR_SEMANTIC, "6:14", "OEM or NXP");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"pkcs11:object=SRK\"\n"
		"Source Index = 0\n",
		BS_ERR_SEMANTIC, "4:8", "PKCS#11");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nSource Index = 0\n", BS_ERR_SEMANTIC,
		"3:1", "missing 'File'");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\n", BS_ERR_SEMANTIC, "3:1",
		"missing 'Source Index'");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"\"\nSource Index = 0\n",
		BS_ERR_SEMANTIC, "4:8", "empty name");
	bad_msg("[Header]\nVersion = 4.1\n[Install SRK]\nFile = \" s.bin\"\nSource Index = 0\n",
		BS_ERR_SEMANTIC, "4:8", "space");
}

static void test_csf_parse__install_key_indices(void **state)
{
	(void)state;
	const char *head = PRE "[Install Key]\nFile = \"k.pem\"\n";
	char text[512];
	struct {
		const char *args;
		const char *pos;
		const char *needle;
	} cases[] = {
		{"Verification Index = 0\nTarget Index = 1\n", "12:16", "reserved"},
		{"Verification Index = 0\nTarget Index = 5\n", "12:16", "reserved"},
		{"Verification Index = 0\nTarget Index = 8\n", "12:16", "exceeds"},
		{"Verification Index = 3\nTarget Index = 4\n", "11:22", "holds no key"},
		{"Verification Index = 1\nTarget Index = 4\n", "11:22", "cannot verify"},
		{"Verification Index = 0\n", "9:1", "missing 'Target Index'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", head, cases[i].args);
		bad_msg(text, BS_ERR_SEMANTIC, cases[i].pos, cases[i].needle);
	}
	/* a slot may not be reused for another certificate */
	bad_msg(PRE_KEY "[Install Key]\nVerification Index = 0\nTarget Index = 2\n"
			"File = \"other.pem\"\n",
		BS_ERR_SEMANTIC, "15:16", "already holds \"img.pem\"");
	bad_msg(PRE_KEY "[Install Key]\nVerification Index = 2\nTarget Index = 2\n"
			"File = \"img.pem\"\n",
		BS_ERR_SEMANTIC, "15:16", "equals");
	/* chain: slot 2 verifies slot 3 */
	struct bs_csf *csf = ok(PRE_KEY "[Install Key]\nVerification Index = 2\nTarget Index = 7\n"
					"File = \"k3.pem\"\n");
	assert_int_equal(csf->cmds[5].src, 2);
	assert_int_equal(csf->cmds[5].tgt, 7);
	bs_csf_free(csf);
}

static void test_csf_parse__auth_data_indices(void **state)
{
	(void)state;
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 0\nBlocks = 0 0 4 \"f\"\n",
		BS_ERR_SEMANTIC, "14:22", "expected 2, 3 or 4");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 3\nBlocks = 0 0 4 \"f\"\n",
		BS_ERR_SEMANTIC, "14:22", "holds no key");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 2\n", BS_ERR_SEMANTIC, "13:1",
		"missing 'Blocks'");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 2\nEngine = OCOTP\n"
			"Blocks = 0 0 4 \"f\"\n",
		BS_ERR_SEMANTIC, "15:10", "hashing");
	bad_msg(PRE_KEY "[Authenticate Data]\nVerification Index = 2\n"
			"Blocks = 0 0 4 \"pkcs11:object=x\"\n",
		BS_ERR_SEMANTIC, "15:16", "PKCS#11");
}

static void test_csf_parse__nocak_rules(void **state)
{
	(void)state;
	const char *nocak = "[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
			    "[Install NOCAK]\nFile = \"n.pem\"\n[Authenticate CSF]\n";
	char text[512];
	snprintf(text, sizeof(text), "%s[Authenticate Data]\nVerification Index = 2\n"
				     "Blocks = 0 0 4 \"f\"\n", nocak);
	bad_msg(text, BS_ERR_SEMANTIC, "10:22", "expected 0");
	snprintf(text, sizeof(text), "%s[Install Key]\nVerification Index = 0\nTarget Index = 2\n"
				     "File = \"k\"\n", nocak);
	bad_msg(text, BS_ERR_SEMANTIC, "9:1", "NOCAK");
}

static void test_csf_parse__unlock_rules(void **state)
{
	(void)state;
	bad_msg(PRE "[Unlock]\nEngine = OCOTP\nFeatures = JTAG\n", BS_ERR_SEMANTIC, "11:1",
		"need the device UID");
	bad_msg(PRE "[Unlock]\nEngine = OCOTP\nFeatures = SCS\nUID = 1, 2, 3, 4, 5, 6, 7\n",
		BS_ERR_SEMANTIC, "12:1", "exactly 8 bytes");
	bad_msg(PRE "[Unlock]\nEngine = OCOTP\nFeatures = SCS\nUID = 1, 2, 3, 4, 5, 6, 7, 8, 9\n",
		BS_ERR_SEMANTIC, "12:31", "exactly 8 bytes");
	bad_msg(PRE "[Unlock]\nEngine = OCOTP\nFeatures = SCS\nUID = 1, 2, 3, 0x100, 5, 6, 7, 8\n",
		BS_ERR_SEMANTIC, "12:16", "8 bits");
	bad_msg(PRE "[Unlock]\nEngine = OCOTP\nFeatures = SRK REVOKE\n"
		    "UID = 1, 2, 3, 4, 5, 6, 7, 8\n",
		BS_ERR_SEMANTIC, "12:1", "only feature is SRK REVOKE");
	bad_msg(PRE "[Init]\nEngine = OCOTP\nUID = 1, 2, 3, 4, 5, 6, 7, 8\n", BS_ERR_SEMANTIC,
		"11:1", "not allowed in [Init]");
	bad_msg(PRE "[Unlock]\nEngine = CAAM\nUID = 1, 2, 3, 4, 5, 6, 7, 8\n", BS_ERR_SEMANTIC,
		"11:1", "only used with Engine = OCOTP");
	bad_msg(PRE "[Unlock]\nFeatures = MID\n", BS_ERR_SEMANTIC, "9:1", "missing 'Engine'");
}

static void test_csf_parse__features_case_sensitive(void **state)
{
	(void)state;
	bad_msg(PRE "[Unlock]\nEngine = CAAM\nFeatures = rng\n", BS_ERR_SEMANTIC, "11:12",
		"case-sensitive); expected 'RNG'");
	bad_msg(PRE "[Unlock]\nEngine = SNVS\nFeatures = lp swr\n", BS_ERR_SEMANTIC, "11:12",
		"expected 'LP SWR'");
	bad_msg(PRE "[Unlock]\nEngine = CAAM\nFeatures = JTAG\n", BS_ERR_SEMANTIC, "11:12",
		"belongs to OCOTP");
	bad_msg(PRE "[Unlock]\nEngine = SRTC\nFeatures = MID\n", BS_ERR_SEMANTIC, "11:12",
		"no feature keywords");
	bad_msg(PRE "[Unlock]\nEngine = CAAM\nFeatures = TURBO\n", BS_ERR_SEMANTIC, "11:12",
		"MID, RNG, MFG");
	bad_msg(PRE "[Unlock]\nEngine = CAAM\nFeatures = 8\n", BS_ERR_SEMANTIC, "11:12",
		"not defined for CAAM");
}

static void test_csf_parse__secret_key_rules(void **state)
{
	(void)state;
	const char *isk = "[Install Secret Key]\nKey = \"dek.bin\"\nTarget Index = 0\n"
			  "Blob Address = 0x1000\n";
	char text[1024];
	/* Version 4.0 has no encrypted boot */
	snprintf(text, sizeof(text),
		 "[Header]\nVersion = 4.0\n[Install SRK]\nFile = \"s\"\nSource Index = 0\n"
		 "[Install CSFK]\nFile = \"c\"\n[Authenticate CSF]\n%s",
		 isk);
	bad_msg(text, BS_ERR_SEMANTIC, "9:1", "4.1 or later");
	bad_msg(PRE "[Install Secret Key]\nKey = \"dek.bin\"\nTarget Index = 0\n"
		    "Blob Address = 0\n",
		BS_ERR_SEMANTIC, "12:16", "Blob Address 0");
	bad_msg(PRE "[Install Secret Key]\nKey = \"dek.bin\"\nTarget Index = 6\n"
		    "Blob Address = 1\n",
		BS_ERR_SEMANTIC, "11:16", "0 to 5");
	bad_msg(PRE "[Install Secret Key]\nKey = \"dek.bin\"\nTarget Index = 0\n"
		    "Blob Address = 1\nKey Length = 100\n",
		BS_ERR_SEMANTIC, "13:14", "128, 192 or 256");
	bad_msg(PRE "[Install Secret Key]\nKey = \"dek.bin\"\nTarget Index = 0\n"
		    "Blob Address = 1\nVerification Index = 4\n",
		BS_ERR_SEMANTIC, "13:22", "0 to 3");
	snprintf(text, sizeof(text), PRE "%s[Decrypt Data]\nVerification Index = 0\n"
					 "Blocks = 0 0 20 \"f\"\n", isk);
	bad_msg(text, BS_ERR_SEMANTIC, "15:14", "multiple of 16");
	snprintf(text, sizeof(text), PRE "%s[Decrypt Data]\nVerification Index = 0\n"
					 "MAC Bytes = 5\nBlocks = 0 0 16 \"f\"\n", isk);
	bad_msg(text, BS_ERR_SEMANTIC, "15:13", "even number from 4 to 16");
	snprintf(text, sizeof(text), PRE "%s[Decrypt Data]\nVerification Index = 1\n"
					 "Blocks = 0 0 16 \"f\"\n", isk);
	bad_msg(text, BS_ERR_SEMANTIC, "14:22", "holds no secret key");
	/* a secret key slot is used once */
	snprintf(text, sizeof(text), PRE "%s[Decrypt Data]\nVerification Index = 0\n"
					 "Blocks = 0 0 16 \"f\"\n[Decrypt Data]\n"
					 "Verification Index = 0\nBlocks = 0 0 16 \"g\"\n", isk);
	bad_msg(text, BS_ERR_SEMANTIC, "17:22", "unused");
}

static void test_csf_parse__install_key_hash_strict(void **state)
{
	(void)state;
	const char *text = PRE_KEY "[Install Key]\nVerification Index = 2\nTarget Index = 3\n"
				   "File = \"k3.pem\"\nHash Algorithm = sha256\n";
	struct bs_csf *csf = ok(text);
	assert_int_equal(csf->cmds[5].hash_alg, HAB_ALG_SHA256);
	assert_true(has_warning(csf, 17, "HAB probably rejects"));
	bs_csf_free(csf);
	bad_mode(text, true, BS_ERR_SEMANTIC, "17:1");
}

/* ---- limits ---- */

static void test_csf_parse__limits(void **state)
{
	(void)state;
	/* text size: the first byte past the limit is on line 2 */
	size_t big = BS_CSF_TEXT_MAX + 1;
	char *text = malloc(big + 1);
	memset(text, ' ', big);
	memcpy(text, "[Header]\n", 9);
	text[big] = '\0';
	bad_msg(text, BS_ERR_LIMIT, "2:65528", "at most 65536");
	free(text);

	/* a string longer than BS_CSF_STRING_MAX */
	char *s = malloc(BS_CSF_STRING_MAX + 200);
	int n = snprintf(s, 64, "[Header]\nVersion = 4.1\n[Install SRK]\nFile = \"");
	memset(s + n, 'a', BS_CSF_STRING_MAX + 1);
	memcpy(s + n + BS_CSF_STRING_MAX + 1, "\"\n", 3);
	bad_msg(s, BS_ERR_LIMIT, "4:8", "at most 1024");
	free(s);

	/* 65 sections */
	struct bs_buf_s {
		char d[8192];
		size_t n;
	} *b = calloc(1, sizeof(*b));
	b->n = (size_t)snprintf(b->d, sizeof(b->d), "%s", PRE);
	for (int i = 0; i < 61; i++)
		b->n += (size_t)snprintf(b->d + b->n, sizeof(b->d) - b->n, "[NOP]\n");
	bad_msg(b->d, BS_ERR_LIMIT, "69:1", "at most 64");
	/* 64 sections is fine */
	b->d[b->n - 6] = '\0';
	struct bs_csf *csf = ok(b->d);
	assert_int_equal(csf->ncmds, 64);
	bs_csf_free(csf);

	/* 65 blocks */
	b->n = (size_t)snprintf(b->d, sizeof(b->d), "%s", PRE_KEY "[Authenticate Data]\n"
						    "Verification Index = 2\nBlocks = ");
	for (int i = 0; i < 65; i++)
		b->n += (size_t)snprintf(b->d + b->n, sizeof(b->d) - b->n, "%s%d 0 4 \"f\", \\\n",
					 i ? "  " : "", i);
	b->d[b->n - 4] = '\n';
	b->d[b->n - 3] = '\0';
	bad_msg(b->d, BS_ERR_LIMIT, "79:3", "at most 64");

	/* command region > 768 bytes: 4+12+12+12+12 + (12+64*8) + (12+31*8) = 836 */
	b->n = (size_t)snprintf(b->d, sizeof(b->d), "%s", PRE_KEY);
	for (int k = 0; k < 2; k++) {
		b->n += (size_t)snprintf(b->d + b->n, sizeof(b->d) - b->n,
					 "[Authenticate Data]\nVerification Index = 2\nBlocks = ");
		for (int i = 0; i < (k ? 31 : 64); i++)
			b->n += (size_t)snprintf(b->d + b->n, sizeof(b->d) - b->n, "%s%d 0 4 \"f\"",
						 i ? ", \\\n" : "", i);
		b->n += (size_t)snprintf(b->d + b->n, sizeof(b->d) - b->n, "\n");
	}
	bad_msg(b->d, BS_ERR_LIMIT, "79:1", "836 bytes");
	free(b);
}

static void test_csf_parse__stray_minus(void **state)
{
	(void)state;
	const char *text = PRE "[NOP] -\n";
	struct bs_csf *csf = ok(text);
	assert_true(has_warning(csf, 9, "stray '-'"));
	bs_csf_free(csf);
	bad_mode(text, true, BS_ERR_SYNTAX, "9:7");
	/* between words it is a separator, also in strict mode */
	csf = ok_strict(PRE "[Unlock]\nEngine = OCOTP\nFeatures = SRK-REVOKE\n");
	assert_int_equal(csf->cmds[4].features, HAB_OCOTP_SRK_REVOKE);
	bs_csf_free(csf);
}

static void test_csf_parse__bom_ignored(void **state)
{
	(void)state;
	struct bs_csf *csf = ok("\xEF\xBB\xBF" PRE);
	assert_int_equal(csf->ncmds, 4);
	assert_true(has_warning(csf, 1, "byte order mark"));
	bs_csf_free(csf);
	/* a BOM elsewhere is an ordinary bad byte */
	bad_msg(PRE "\xEF\xBB\xBF[NOP]\n", BS_ERR_SYNTAX, "9:1", "0xEF");
}

static void test_csf_parse__engine_block_limit(void **state)
{
	(void)state;
	/* DCP hashes at most 6 blocks: warning by default, error when strict */
	char text[2048];
	int n = snprintf(text, sizeof(text), "%s", PRE_KEY "[Authenticate Data]\n"
						 "Verification Index = 2\nEngine = DCP\nBlocks = ");
	for (int i = 0; i < 7; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s%d 0 64 \"f\"", i ? ", " : "",
			      i * 64);
	snprintf(text + n, sizeof(text) - (size_t)n, "\n");
	struct bs_csf *csf = ok(text);
	assert_int_equal(csf->cmds[5].nblocks, 7);
	assert_true(has_warning(csf, 16, "at most 6"));
	bs_csf_free(csf);
	bad_mode(text, true, BS_ERR_LIMIT, "16:1");
}

static void test_csf_parse__uid_needs_features(void **state)
{
	(void)state;
	bad_msg(PRE "[Unlock]\nEngine = OCOTP\nUID = 1, 2, 3, 4, 5, 6, 7, 8\n", BS_ERR_SEMANTIC,
		"11:1", "without 'Features'");
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
		cmocka_unit_test(test_csf_parse__vectors_match_cst_command_bytes),
		cmocka_unit_test(test_csf_parse__case_and_word_separators),
		cmocka_unit_test(test_csf_parse__stray_character),
		cmocka_unit_test(test_csf_parse__hash_algorithm_spellings),
		cmocka_unit_test(test_csf_parse__crlf_and_no_final_newline),
		cmocka_unit_test(test_csf_parse__comments_everywhere),
		cmocka_unit_test(test_csf_parse__continuation),
		cmocka_unit_test(test_csf_parse__version_forms),
		cmocka_unit_test(test_csf_parse__octal_like_cst_with_warning),
		cmocka_unit_test(test_csf_parse__strings),
		cmocka_unit_test(test_csf_parse__engine_configuration),
		cmocka_unit_test(test_csf_parse__duplicate_blocks_first_wins),
		cmocka_unit_test(test_csf_parse__unlock_init_and_auto_rng),
		cmocka_unit_test(test_csf_parse__hsm_mode_and_secret_defaults),
		cmocka_unit_test(test_csf_parse__strict_accepts_clean_vectors),
		cmocka_unit_test(test_csf_parse__bad_characters),
		cmocka_unit_test(test_csf_parse__unterminated_string),
		cmocka_unit_test(test_csf_parse__bad_numbers),
		cmocka_unit_test(test_csf_parse__grammar_errors),
		cmocka_unit_test(test_csf_parse__unknown_names),
		cmocka_unit_test(test_csf_parse__duplicate_arguments),
		cmocka_unit_test(test_csf_parse__value_shapes),
		cmocka_unit_test(test_csf_parse__header_values),
		cmocka_unit_test(test_csf_parse__ahab_unsupported),
		cmocka_unit_test(test_csf_parse__engine_configuration_errors),
		cmocka_unit_test(test_csf_parse__command_order),
		cmocka_unit_test(test_csf_parse__missing_sections_at_end),
		cmocka_unit_test(test_csf_parse__srk_rules),
		cmocka_unit_test(test_csf_parse__install_key_indices),
		cmocka_unit_test(test_csf_parse__auth_data_indices),
		cmocka_unit_test(test_csf_parse__nocak_rules),
		cmocka_unit_test(test_csf_parse__unlock_rules),
		cmocka_unit_test(test_csf_parse__features_case_sensitive),
		cmocka_unit_test(test_csf_parse__secret_key_rules),
		cmocka_unit_test(test_csf_parse__install_key_hash_strict),
		cmocka_unit_test(test_csf_parse__limits),
		cmocka_unit_test(test_csf_parse__stray_minus),
		cmocka_unit_test(test_csf_parse__bom_ignored),
		cmocka_unit_test(test_csf_parse__engine_block_limit),
		cmocka_unit_test(test_csf_parse__uid_needs_features),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
