/* Unit tests for the offline HAB4 verifier and dump (src/hab/verify.c, dump.c).
 *
 * Oracle: the CST 4.0.1 vectors. u_signed.bin is an image signed by NXP's cst with the
 * fuse value srktool wrote (SRK_fuse.bin); it must verify. Every tampered variant is built
 * here from that file, and must fail with the exact check named. The NOCAK and P-256
 * vectors (CSF blobs signed by cst over img.bin) are wrapped into images here: every
 * signature in them must verify, and coverage must then fail because the IVT we add is
 * outside the block cst signed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "crypto/cms.h"
#include "formats/hab/verify.h"
#include "keys/store.h"
#include "testutil.h"

#define U_SIGNED "hab4-vectors/rsa/u_signed.bin"
#define U_FUSE "hab4-vectors/rsa/crts/SRK_fuse.bin"
#define CSF_OFF 0x2000u /* CSF file offset in u_signed.bin */

struct fx {
	char *dir;
	uint8_t *img;
	size_t img_len;
	uint8_t *fuse;
	size_t fuse_len;
	char path[512];
	char log[8192];
	uint64_t ivt_off;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = bs_tmpdir();
	f->img = bs_fixture_read(U_SIGNED, &f->img_len);
	f->fuse = bs_fixture_read(U_FUSE, &f->fuse_len);
	snprintf(f->path, sizeof(f->path), "%s/image.bin", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	bs_tmpdir_free(f->dir);
	free(f->img);
	free(f->fuse);
	free(f);
	return 0;
}

static void write_image(struct fx *f, const uint8_t *data, size_t len)
{
	FILE *o = fopen(f->path, "wb");
	assert_non_null(o);
	assert_int_equal(fwrite(data, 1, len, o), len);
	assert_int_equal(fclose(o), 0);
}

/* Verify `data` (written to a file) with the vector fuse unless fuse != NULL. */
static int run(struct fx *f, const uint8_t *data, size_t len, const uint8_t *fuse,
	       size_t fuse_len, uint32_t revoked, struct bs_error *err)
{
	write_image(f, data, len);
	struct bs_hab_verify_opts o = {
		.fuse = fuse ? fuse : f->fuse,
		.fuse_len = fuse ? fuse_len : f->fuse_len,
		.revoked_mask = revoked,
		.has_ivt_offset = true,
		.ivt_offset = f->ivt_off,
	};
	memset(f->log, 0, sizeof(f->log));
	o.log = fmemopen(f->log, sizeof(f->log) - 1, "w");
	assert_non_null(o.log);
	bs_error_clear(err);
	int rc = bs_hab_verify_image(f->path, &o, err);
	fclose(o.log);
	return rc;
}

/* Tamper: copy of u_signed.bin with byte `off` xor 0x01. */
static int run_tampered(struct fx *f, size_t off, struct bs_error *err)
{
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	memcpy(c, f->img, f->img_len);
	assert_true(off < f->img_len);
	c[off] ^= 0x01;
	int rc = run(f, c, f->img_len, NULL, 0, 0, err);
	free(c);
	return rc;
}

static void assert_prefix(const char *msg, const char *prefix)
{
	if (strncmp(msg, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", msg, prefix);
}

/* Offset (in the file) of the last byte of the blob at CSF+blob_off. */
static size_t blob_last(const struct fx *f, size_t blob_off)
{
	const uint8_t *b = f->img + CSF_OFF + blob_off;
	return CSF_OFF + blob_off + bs_get_be16(b + 1) - 1;
}

static void test_verify__vector_image_verifies(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	int rc = run(f, f->img, f->img_len, NULL, 0, 0, &err);
	if (rc != 0)
		fail_msg("verify failed: %s\nlog:\n%s", err.msg, f->log);
	assert_non_null(strstr(f->log, "ok    SRK table hash matches fuse"));
	assert_non_null(strstr(f->log, "CSFK certificate signed by SRK 0"));
	assert_non_null(strstr(f->log, "Install Key slot 2: certificate signed by slot 0 key"));
	assert_non_null(strstr(f->log, "coverage: entry point"));
	assert_null(strstr(f->log, "FAIL"));
}

static void test_verify__srktool_f0_fuse_accepted(void **state)
{
	struct fx *f = *state;
	uint8_t exp[128];
	for (size_t i = 0; i < 32; i++) {
		memset(exp + 4 * i, 0, 3);
		exp[4 * i + 3] = f->fuse[i];
	}
	struct bs_error err;
	assert_int_equal(run(f, f->img, f->img_len, exp, sizeof(exp), 0, &err), 0);
	uint8_t d[64];
	size_t dl = 0;
	assert_int_equal(bs_hab_fuse_load(d, &dl, exp, sizeof(exp), &err), 0);
	assert_int_equal(dl, 32);
	assert_memory_equal(d, f->fuse, 32);
	exp[5] = 1;
	assert_int_equal(bs_hab_fuse_load(d, &dl, exp, sizeof(exp), &err), BS_ERR_FORMAT);
	assert_int_equal(bs_hab_fuse_load(d, &dl, exp, 31, &err), BS_ERR_FORMAT);
}

static void test_verify__wrong_fuse(void **state)
{
	struct fx *f = *state;
	uint8_t fuse[32];
	memcpy(fuse, f->fuse, 32);
	fuse[31] ^= 0x80;
	struct bs_error err;
	assert_int_equal(run(f, f->img, f->img_len, fuse, 32, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "SRK: table hash does not match fuse");
	assert_non_null(strstr(f->log, "FAIL  SRK: table hash does not match fuse"));
	/* A SHA-1 sized fuse cannot match a SHA-256 table hash. */
	assert_int_equal(run(f, f->img, f->img_len, fuse, 20, 0, &err), BS_ERR_VERIFY);
	assert_prefix(err.msg, "SRK: table hash does not match fuse");
}

static void test_verify__revoked_index(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	assert_int_equal(run(f, f->img, f->img_len, NULL, 0, 0x1, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "SRK: index 0 is revoked");
	/* Revoking another index does not matter. */
	assert_int_equal(run(f, f->img, f->img_len, NULL, 0, 0x6, &err), 0);
}

static void test_verify__tampered_signed_data(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	assert_int_equal(run_tampered(f, 0x1234, &err), BS_ERR_VERIFY);
	assert_prefix(err.msg, "Authenticate Data key 2: signature does not verify");
}

static void test_verify__tampered_commands(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	/* The block address of Authenticate Data (CSF+0x43): structurally fine. */
	assert_int_equal(run_tampered(f, CSF_OFF + 0x43, &err), BS_ERR_VERIFY);
	assert_prefix(err.msg, "CSF signature does not verify");
	/* Install Key target slot 2 -> 3 (CSF+0x2f). */
	assert_int_equal(run_tampered(f, CSF_OFF + 0x2f, &err), BS_ERR_VERIFY);
	assert_prefix(err.msg, "CSF signature does not verify");
}

static void test_verify__tampered_srk_table(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	/* A modulus byte of record 0 (the selected key) and of record 2. */
	assert_int_equal(run_tampered(f, CSF_OFF + 0x48 + 4 + 40, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "SRK: table hash does not match fuse");
	assert_int_equal(run_tampered(f, CSF_OFF + 0x48 + 4 + 2 * 271 + 100, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "SRK: table hash does not match fuse");
}

static void test_verify__tampered_csfk_cert(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	assert_int_equal(run_tampered(f, blob_last(f, 0x488), &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "CSFK: certificate is not signed by SRK 0, which verifies it; no key of the SRK table or of an installed slot signed it");
}

static void test_verify__tampered_img_cert(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	assert_int_equal(run_tampered(f, blob_last(f, 0x788), &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "Install Key slot 2: certificate is not signed by SRK 0, which verifies it; no key of the SRK table or of an installed slot signed it");
}

static void test_verify__tampered_signatures(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	assert_int_equal(run_tampered(f, blob_last(f, 0xc70), &err), BS_ERR_VERIFY);
	assert_prefix(err.msg, "CSF signature does not verify");
	assert_int_equal(run_tampered(f, blob_last(f, 0xa88), &err), BS_ERR_VERIFY);
	assert_prefix(err.msg, "Authenticate Data key 2: signature does not verify");
}

static void test_verify__bad_ivt(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	assert_int_equal(run_tampered(f, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "IVT: header at 0x0 is d0 00 20 41 (want D1 00 20 4x)");
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	memcpy(c, f->img, f->img_len);
	memset(c + 24, 0, 4); /* csf = 0 */
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "IVT: csf pointer is 0 (the image is not signed)");
	free(c);
}

static void test_verify__csf_offset_out_of_bounds(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	memcpy(c, f->img, f->img_len);
	bs_buf_put_be32(c + 24, 0x00808087); /* csf = 0x87808000 (LE) */
	bs_buf_put_be32(c + 0x24, 0x00000100); /* boot data length 0x10000 (LE) */
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "CSF: header at 0x87808000 (file offset 0x8000) lies "
				     "outside the file (size 0x3000)");
	free(c);
}

/* Replace the CMS in the D8 blob at CSF+blob_off of image c by a fresh signature (same
 * length, as RSA-2048 CMS from the same signer always is) over `msg` with the vector key
 * whose certificate is `cert_name`. Lets a test change signed content and still pass the
 * signature checks, to reach the later checks. */
static void resign_ex(uint8_t *c, size_t blob_off, const char *cert_name, const uint8_t *msg,
		      size_t msg_len, bool no_attrs)
{
	struct bs_store *st = NULL;
	struct bs_error err;
	X509 *cert = NULL;
	struct bs_key *key = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	uint8_t dig[32];
	assert_int_equal(bs_store_open_dir(&st, bs_fixture("hab4-vectors/rsa"), true, &err), 0);
	assert_int_equal(bs_store_load_cert(st, cert_name, &cert, &err), 0);
	assert_int_equal(bs_store_load_key(st, cert_name, cert, &key, &err), 0);
	assert_int_equal(EVP_Digest(msg, msg_len, dig, NULL, EVP_sha256(), NULL), 1);
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256, .signing_time = 1700000000,
				     .no_attrs = no_attrs};
	assert_int_equal(bs_cms_sign_digest(&sig, &sig_len, key, cert, dig, 32, &o, &err), 0);
	uint8_t *b = c + CSF_OFF + blob_off;
	if (no_attrs) { /* shorter: only for the last blob (the CSF signature) */
		assert_true(sig_len + 4 < bs_get_be16(b + 1));
		bs_buf_put_be16(b + 1, (uint16_t)(sig_len + 4));
	}
	assert_int_equal(bs_get_be16(b + 1), sig_len + 4);
	memcpy(b + 4, sig, sig_len);
	free(sig);
	bs_key_free(key);
	X509_free(cert);
	bs_store_free(st);
}

static void resign(uint8_t *c, size_t blob_off, const char *cert_name, const uint8_t *msg,
		   size_t msg_len)
{
	resign_ex(c, blob_off, cert_name, msg, msg_len, false);
}

static void resign_csf(uint8_t *c)
{
	resign(c, 0xc70, "crts/CSF1_crt.pem", c + CSF_OFF, 0x48);
}

static void test_verify__cms_without_signed_attributes(void **state)
{
	/* The CSF signature replaced by a valid CSFK signature over the same CSF digest but
	 * with no signed attributes (RSA over DigestInfo directly): not CST's CMS format
	 * (HAB4 notes 2.6, 3.4 step 7), so the verifier must not pass it. */
	struct fx *f = *state;
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	memcpy(c, f->img, f->img_len);
	resign_ex(c, 0xc70, "crts/CSF1_crt.pem", c + CSF_OFF, 0x48, true);
	struct bs_error err;
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "CSF signature: no signed attributes (contentType and "
				     "messageDigest are required)");
	free(c);
}

static void test_verify__resigned_csf_still_verifies(void **state)
{
	/* Guards the helper below: re-signing the unchanged CSF keeps the image valid. */
	struct fx *f = *state;
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	memcpy(c, f->img, f->img_len);
	resign_csf(c);
	struct bs_error err;
	int rc = run(f, c, f->img_len, NULL, 0, 0, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	free(c);
}

static void test_verify__block_outside_image(void **state)
{
	struct fx *f = *state;
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	memcpy(c, f->img, f->img_len);
	bs_buf_put_be32(c + CSF_OFF + 0x44, 0x3001); /* block length past the end */
	resign_csf(c);
	struct bs_error err;
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "Authenticate Data key 2: block 0 [0x87800000+0x3001] "
				     "outside the image (file holds [0x87800000+0x3000]; a part loaded "
				     "elsewhere needs its Blocks line: --blocks CSF.txt)");
	bs_buf_put_be32(c + CSF_OFF + 0x40, 0x877ff000); /* address below the image */
	bs_buf_put_be32(c + CSF_OFF + 0x44, 0x10);
	resign_csf(c);
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_prefix(err.msg, "Authenticate Data key 2: block 0 [0x877ff000+0x10] outside");
	free(c);
}

static uint8_t *grow_cmds(struct fx *f, size_t at, size_t extra, size_t *len);

static void put_le32(uint8_t *p, uint32_t v)
{
	for (size_t b = 0; b < 4; b++)
		p[b] = (uint8_t)(v >> (8 * b));
}

/* Move the image (IVT at file 0) to load address `base`: entry at file 0x1000, boot data
 * at file 0x20 describing [base, base+bd_len), CSF at file 0x2000. */
static void rebase(uint8_t *c, uint32_t base, uint32_t bd_len)
{
	put_le32(c + 4, base + 0x1000);  /* entry */
	put_le32(c + 16, base + 0x20);   /* boot data */
	put_le32(c + 20, base);          /* self */
	put_le32(c + 24, base + 0x2000); /* csf */
	put_le32(c + 0x20, base);        /* boot data start */
	put_le32(c + 0x24, bd_len);
}

static void test_verify__blob_wraps_address_space(void **state)
{
	/* At self = 0xFFFFD800 the file spans [0xFFFFD800, 0x100000800): the CSF signature
	 * at file 0x2c70 lies past 0xFFFFFFFF, so at boot it is read from low addresses
	 * (32-bit wrap), not from the file. Everything else is re-signed to stay valid. */
	struct fx *f = *state;
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	memcpy(c, f->img, f->img_len);
	rebase(c, 0xffffd800, 0x2800);
	bs_buf_put_be32(c + CSF_OFF + 0x40, 0xffffd800);
	resign_csf(c);
	resign(c, 0xa88, "crts/IMG1_crt.pem", c, 0x2000);
	struct bs_error err;
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "CSF signature: blob [address 0x100000470+0x1e7] wraps past "
				     "the end of the 32-bit address space");
	/* Boot data image running past 0xFFFFFFFF. */
	put_le32(c + 0x24, 0x2801);
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "IVT: boot data image [0xffffd800+0x2801] wraps past the end "
				     "of the 32-bit address space");
	free(c);
}

static void test_verify__block_wraps_address_space(void **state)
{
	/* A second block [base+0x2e70, +0x20) in the zero padding after the last blob, with
	 * base = 0xFFFFD180: the file spans [base, 0x100000180) and every blob ends below
	 * 0x100000000. By 64-bit arithmetic the block maps to file [0x2e70, 0x2e90), but at
	 * boot its last 0x10 bytes are addresses 0-0xF. Ending exactly at 0xFFFFFFFF
	 * ([base+0x2e64, +0x1c), the control) verifies. */
	struct fx *f = *state;
	size_t len;
	uint8_t *g = grow_cmds(f, 0x48, 8, &len);
	const uint32_t base = 0xffffd180;
	uint8_t *c = calloc(1, 0x3000);
	assert_non_null(c);
	memcpy(c, g, len < 0x3000 ? len : 0x3000);
	free(g);
	uint8_t *csf = c + CSF_OFF;
	assert_true(CSF_OFF + 0xc78 + bs_get_be16(csf + 0xc78 + 1) <= 0x2e64); /* last blob */
	csf[0x36] = 0x1c; /* Authenticate Data: 12 + 2 * 8 */
	rebase(c, base, 0x2e80);
	bs_buf_put_be32(csf + 0x40, base);
	static const uint32_t b1[2][2] = {{0x2e64, 0x1c}, {0x2e70, 0x20}};
	uint8_t *msg = malloc(0x2000 + 0x20);
	assert_non_null(msg);
	struct bs_error err;
	for (size_t i = 0; i < 2; i++) {
		bs_buf_put_be32(csf + 0x48, base + b1[i][0]);
		bs_buf_put_be32(csf + 0x4c, b1[i][1]);
		resign(c, 0xc70 + 8, "crts/CSF1_crt.pem", csf, 0x48 + 8);
		memcpy(msg, c, 0x2000);
		memcpy(msg + 0x2000, c + b1[i][0], b1[i][1]);
		resign(c, 0xa88 + 8, "crts/IMG1_crt.pem", msg, 0x2000 + b1[i][1]);
		int rc = run(f, c, 0x3000, NULL, 0, 0, &err);
		if (i == 0 && rc != 0)
			fail_msg("control: %s\n%s", err.msg, f->log);
	}
	assert_int_equal(run(f, c, 0x3000, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "Authenticate Data key 2: block 1 [0xfffffff0+0x20] wraps "
				     "past the end of the 32-bit address space");
	free(msg);
	free(c);
}

static void test_verify__coverage(void **state)
{
	struct fx *f = *state;
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	memcpy(c, f->img, f->img_len);
	/* Sign [0x20, 0x2000): everything but the IVT. */
	bs_buf_put_be32(c + CSF_OFF + 0x40, 0x87800020);
	bs_buf_put_be32(c + CSF_OFF + 0x44, 0x1fe0);
	resign_csf(c);
	resign(c, 0xa88, "crts/IMG1_crt.pem", c + 0x20, 0x1fe0);
	struct bs_error err;
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "coverage: IVT [0x87800000+0x20] is not inside one "
				     "authenticated block");
	assert_non_null(strstr(f->log, "ok    Authenticate Data key 2: signature valid"));
	/* Sign [0, 0x1000): the entry word at 0x87801000 is left out. */
	bs_buf_put_be32(c + CSF_OFF + 0x40, 0x87800000);
	bs_buf_put_be32(c + CSF_OFF + 0x44, 0x1000);
	resign_csf(c);
	resign(c, 0xa88, "crts/IMG1_crt.pem", c, 0x1000);
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "coverage: entry point [0x87801000+0x4] is not inside one "
				     "authenticated block");
	free(c);
}

static void test_verify__dcd(void **state)
{
	struct fx *f = *state;
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	struct bs_error err;
	/* A DCD at 0x87800040 inside the signed block (image signature redone). */
	memcpy(c, f->img, f->img_len);
	static const uint8_t dcd[] = {0xD2, 0x00, 0x08, 0x41, 0xCC, 0x00, 0x04, 0x04};
	memcpy(c + 0x40, dcd, sizeof(dcd));
	bs_buf_put_be32(c + 12, 0x40008087); /* dcd = 0x87800040 (LE) */
	resign(c, 0xa88, "crts/IMG1_crt.pem", c, 0x2000);
	int rc = run(f, c, f->img_len, NULL, 0, 0, &err);
	if (rc != 0)
		fail_msg("%s\n%s", err.msg, f->log);
	assert_non_null(strstr(f->log, "ok    coverage: DCD [0x87800040+0x8] inside"));
	/* The DCD straddles the end of the signed block. */
	memcpy(c, f->img, f->img_len);
	memcpy(c + 0x1ffc, dcd, 4);
	bs_buf_put_be32(c + 12, 0xfc1f8087); /* dcd = 0x87801ffc */
	resign(c, 0xa88, "crts/IMG1_crt.pem", c, 0x2000);
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "coverage: DCD [0x87801ffc+0x8] is not inside one "
				     "authenticated block");
	/* Not a DCD header. */
	c[0x1ffc] = 0xD3;
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "IVT: DCD header at 0x87801ffc is d3 00 08 41 (want D2 "
				     "<len> 4x)");
	free(c);
}

/* u_signed.bin with `extra` zero bytes inserted into the command region at CSF offset
 * `at` (between commands), the header length and every blob offset moved accordingly.
 * *len = new file length (the blobs follow the commands; the padding is dropped). */
static uint8_t *grow_cmds(struct fx *f, size_t at, size_t extra, size_t *len)
{
	const size_t blobs_len = f->img_len - CSF_OFF - 0x48;
	*len = CSF_OFF + 0x48 + extra + blobs_len;
	uint8_t *c = calloc(1, *len);
	assert_non_null(c);
	memcpy(c, f->img, CSF_OFF + at);
	uint8_t *csf = c + CSF_OFF;
	memcpy(csf + at + extra, f->img + CSF_OFF + at, 0x48 - at + blobs_len);
	csf[2] = (uint8_t)(0x48 + extra);
	static const size_t offs[] = {0x04, 0x10, 0x1c, 0x28, 0x34}; /* command starts */
	for (size_t i = 0; i < 5; i++) {
		uint8_t *o = csf + offs[i] + (offs[i] >= at ? extra : 0) + 8;
		bs_buf_put_be32(o, bs_get_be32(o) + (uint32_t)extra);
	}
	return c;
}

static void test_verify__install_key_hash(void **state)
{
	/* Install Key with HSH: the SHA-256 of the whole D7 certificate structure. */
	struct fx *f = *state;
	size_t len;
	uint8_t *c = grow_cmds(f, 0x34, 32, &len);
	uint8_t *csf = c + CSF_OFF;
	csf[0x2a] = 0x2c; /* length 12 + 32 */
	csf[0x2b] = 0x80; /* HSH */
	csf[0x2d] = 0x17; /* sha256 */
	const uint8_t *cert = csf + bs_get_be32(csf + 0x30);
	assert_int_equal(cert[0], 0xD7);
	assert_int_equal(EVP_Digest(cert, bs_get_be16(cert + 1), csf + 0x34, NULL, EVP_sha256(),
				    NULL), 1);
	resign(c, 0xc70 + 32, "crts/CSF1_crt.pem", csf, 0x48 + 32);
	struct bs_error err;
	int rc = run(f, c, len, NULL, 0, 0, &err);
	if (rc != 0)
		fail_msg("%s\n%s", err.msg, f->log);
	/* A wrong digest (CSF re-signed, so only the hash check can catch it). */
	csf[0x34] ^= 1;
	resign(c, 0xc70 + 32, "crts/CSF1_crt.pem", csf, 0x48 + 32);
	assert_int_equal(run(f, c, len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "Install Key slot 2: certificate does not match the hash in "
				     "the command");
	free(c);
}

static void test_verify__hash_total_bounded(void **state)
{
	/* Authenticate Data with 5 blocks of 1 GiB each over a sparse 1 GiB file: all map
	 * into the image, but more than 4 GiB would be hashed, so it stops before hashing. */
	struct fx *f = *state;
	size_t len;
	uint8_t *c = grow_cmds(f, 0x48, 32, &len);
	uint8_t *csf = c + CSF_OFF;
	csf[0x36] = 0x34; /* Authenticate Data length 12 + 5 * 8 */
	for (size_t i = 0; i < 5; i++) {
		bs_buf_put_be32(csf + 0x40 + 8 * i, 0x87800000);
		bs_buf_put_be32(csf + 0x44 + 8 * i, 0x40000000);
	}
	resign(c, 0xc70 + 32, "crts/CSF1_crt.pem", csf, 0x48 + 32);
	write_image(f, c, len);
	assert_int_equal(truncate(f->path, 1ll << 30), 0);
	struct bs_hab_verify_opts o = {.fuse = f->fuse, .fuse_len = f->fuse_len};
	struct bs_error err;
	uint64_t t0 = bs_now_ms();
	assert_int_equal(bs_hab_verify_image(f->path, &o, &err), BS_ERR_LIMIT);
	assert_string_equal(err.msg, "Authenticate Data key 2: blocks total 0x140000000 bytes; "
				     "more than 4 GiB signed in all");
	assert_true(bs_now_ms() - t0 < 5000);
	free(c);
}

static void test_verify__state_machine(void **state)
{
	struct fx *f = *state;
	uint8_t *c = malloc(f->img_len);
	assert_non_null(c);
	struct bs_error err;
	/* Authenticate Data key 2 -> key 0 (the SRK, a CA key). */
	memcpy(c, f->img, f->img_len);
	c[CSF_OFF + 0x38] = 0;
	resign_csf(c);
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "Authenticate Data key 0: key is a CA key (HAB_INV_KEY)");
	/* Authenticate Data key 2 -> key 3 (empty slot). */
	c[CSF_OFF + 0x38] = 3;
	resign_csf(c);
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "Authenticate Data key 3: key slot is empty");
	/* Install Key with alg sha256 but no HSH flag (the CST quirk). */
	memcpy(c, f->img, f->img_len);
	c[CSF_OFF + 0x2d] = 0x17;
	resign_csf(c);
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_VERIFY);
	assert_prefix(err.msg, "CSF: command 4 at 0x28: Install Key: hash algorithm 0x17 "
			       "without the HSH flag");
	/* Unknown command tag. */
	memcpy(c, f->img, f->img_len);
	c[CSF_OFF + 0x28] = 0xBF;
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "CSF: command 4 at 0x28: unknown command tag 0xbf");
	/* A command length running past the region. */
	memcpy(c, f->img, f->img_len);
	c[CSF_OFF + 0x36] = 0x40;
	assert_int_equal(run(f, c, f->img_len, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_prefix(err.msg, "CSF: command 5 at 0x34: Authenticate Data length outside");
	free(c);
}

static void test_verify__truncated_file(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	assert_int_equal(run(f, f->img, CSF_OFF + 0x10, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "CSF: header: command region length 72 runs past the end "
				     "of the file (16 bytes left)");
	assert_int_equal(run(f, f->img, CSF_OFF + 0x100, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "SRK: table [file offset 0x2048+0x440] beyond end of file "
				     "(size 0x2100)");
	assert_int_equal(run(f, f->img, 16, NULL, 0, 0, &err), BS_ERR_FORMAT);
	assert_string_equal(err.msg, "IVT: offset 0x0 + 32 bytes beyond end of file (size 0x10)");
}

static void test_verify__missing_file(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	struct bs_hab_verify_opts o = {.fuse = f->fuse, .fuse_len = f->fuse_len};
	char p[600];
	snprintf(p, sizeof(p), "%s/nope.bin", f->dir);
	assert_int_equal(bs_hab_verify_image(p, &o, &err), BS_ERR_NOT_FOUND);
}

static void test_verify__ivt_scan_finds_offset(void **state)
{
	struct fx *f = *state;
	/* Prepend 0x400 bytes of zeros: the IVT moves to 0x400, addresses unchanged. */
	size_t len = f->img_len + 0x400;
	uint8_t *c = calloc(1, len);
	assert_non_null(c);
	memcpy(c + 0x400, f->img, f->img_len);
	write_image(f, c, len);
	struct bs_hab_verify_opts o = {.fuse = f->fuse, .fuse_len = f->fuse_len};
	struct bs_error err;
	int rc = bs_hab_verify_image(f->path, &o, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	o.has_ivt_offset = true;
	o.ivt_offset = 0x200;
	assert_int_equal(bs_hab_verify_image(f->path, &o, &err), BS_ERR_FORMAT);
	assert_prefix(err.msg, "IVT: header at 0x200");
	free(c);
}

/* Wrap a cst CSF blob signed over img.bin at 0x877ff400 into an image:
 * img.bin[0..signed) | IVT | boot data | pad | CSF at 0x1100. */
static int run_wrapped(struct fx *f, const char *img_rel, const char *csf_rel,
		       const char *fuse_rel, size_t signed_len, struct bs_error *err)
{
	size_t il, cl, fl;
	uint8_t *img = bs_fixture_read(img_rel, &il);
	uint8_t *csf = bs_fixture_read(csf_rel, &cl);
	uint8_t *fuse = bs_fixture_read(fuse_rel, &fl);
	assert_true(il >= signed_len && signed_len + 0x40 <= 0x1100);
	size_t len = 0x1100 + cl;
	uint8_t *c = calloc(1, len);
	assert_non_null(c);
	memcpy(c, img, signed_len);
	const uint32_t base = 0x877ff400, ivt = (uint32_t)signed_len;
	uint32_t le[8] = {0, base + 0x100, 0, 0, base + ivt + 0x20, base + ivt, base + 0x1100, 0};
	c[ivt] = 0xD1;
	c[ivt + 2] = 0x20;
	c[ivt + 3] = 0x41;
	for (size_t i = 1; i < 8; i++)
		for (size_t b = 0; b < 4; b++)
			c[ivt + 4 * i + b] = (uint8_t)(le[i] >> (8 * b));
	uint32_t bd[2] = {base, (uint32_t)len};
	for (size_t i = 0; i < 2; i++)
		for (size_t b = 0; b < 4; b++)
			c[ivt + 0x20 + 4 * i + b] = (uint8_t)(bd[i] >> (8 * b));
	memcpy(c + 0x1100, csf, cl);
	f->ivt_off = ivt;
	int rc = run(f, c, len, fuse, fl, 0, err);
	free(c);
	free(img);
	free(csf);
	free(fuse);
	return rc;
}

static void test_verify__nxp_source_set(void **state)
{
	/* nxp.csf: Source Set NXP (SRK slot 5, CSFK slot 6). Its [Install Key] keeps
	 * `Verification index = 0`, which cst accepts but which names the empty OEM SRK slot:
	 * the chain up to the CSF signature holds, the image key install must fail. */
	struct fx *f = *state;
	struct bs_error err;
	int rc = run_wrapped(f, "hab4-vectors/rsa/img.bin", "hab4-vectors/rsa/nxp.bin", U_FUSE,
			     0x1020, &err);
	if (rc != BS_ERR_VERIFY)
		fail_msg("rc %d: %s\n%s", rc, err.msg, f->log);
	assert_non_null(strstr(f->log, "ok    SRK 0 installed in slot 5"));
	assert_non_null(strstr(f->log, "installed in slot 6"));
	assert_non_null(strstr(f->log, "ok    CSF signature valid"));
	assert_string_equal(err.msg, "Install Key slot 2: verification slot 0 is empty");
	/* a.csf (OEM set, same blocks): both blocks verify, then the added IVT is uncovered. */
	rc = run_wrapped(f, "hab4-vectors/rsa/img.bin", "hab4-vectors/rsa/a_csf.bin", U_FUSE,
			 0x1020, &err);
	assert_int_equal(rc, BS_ERR_VERIFY);
	assert_non_null(strstr(f->log, "ok    SRK 0 installed in slot 0"));
	assert_non_null(strstr(f->log, "block 1 [0x87800400+0x20] authenticated"));
	assert_string_equal(err.msg, "coverage: IVT [0x87800420+0x20] is not inside one "
				     "authenticated block");
}

static void test_verify__nocak_chain(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	int rc = run_wrapped(f, "hab4-vectors/rsa/nocak/img.bin", "hab4-vectors/rsa/nocak/n.bin",
			     "hab4-vectors/rsa/nocak/crts/fuse.bin", 0x1000, &err);
	if (rc != BS_ERR_VERIFY)
		fail_msg("rc %d: %s\n%s", rc, err.msg, f->log);
	assert_non_null(strstr(f->log, "fast authentication"));
	assert_non_null(strstr(f->log, "ok    CSF signature valid"));
	assert_non_null(strstr(f->log, "ok    Authenticate Data key 0: signature valid"));
	assert_string_equal(err.msg, "coverage: IVT [0x87800400+0x20] is not inside one "
				     "authenticated block");
}

static void test_verify__ec_chain(void **state)
{
	struct fx *f = *state;
	struct bs_error err;
	int rc = run_wrapped(f, "hab4-vectors/ec/img.bin", "hab4-vectors/ec/e.bin",
			     "hab4-vectors/ec/crts/fuse.bin", 0x1000, &err);
	if (rc != BS_ERR_VERIFY)
		fail_msg("rc %d: %s\n%s", rc, err.msg, f->log);
	assert_non_null(strstr(f->log, "ok    SRK table hash matches fuse"));
	assert_non_null(strstr(f->log, "ok    Authenticate Data key 2: signature valid"));
	assert_prefix(err.msg, "coverage: IVT");
}

static void test_verify__dump_vectors(void **state)
{
	struct fx *f = *state;
	static const char *const blobs[] = {
		"hab4-vectors/rsa/a_csf.bin", "hab4-vectors/rsa/b_csf.bin",
		"hab4-vectors/rsa/d.bin",     "hab4-vectors/rsa/nxp.bin",
		"hab4-vectors/rsa/u_csf.bin", "hab4-vectors/rsa/nocak/n.bin",
		"hab4-vectors/rsa/nocak/n2.bin", "hab4-vectors/ec/e.bin",
	};
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		char *buf = NULL;
		size_t blen = 0;
		FILE *o = open_memstream(&buf, &blen);
		assert_non_null(o);
		struct bs_error err;
		int rc = bs_hab_dump(o, bs_fixture(blobs[i]), false, false, 0, &err);
		fclose(o);
		if (rc != 0)
			fail_msg("%s: %s\n%s", blobs[i], err.msg, buf);
		assert_non_null(strstr(buf, "Install Key"));
		assert_non_null(strstr(buf, "CMS signature"));
		free(buf);
	}
	/* The image: IVT fields, and the fuse hash equal to srktool's SRK_fuse.bin. */
	char *buf = NULL;
	size_t blen = 0;
	FILE *o = open_memstream(&buf, &blen);
	struct bs_error err;
	assert_int_equal(bs_hab_dump(o, bs_fixture(U_SIGNED), true, false, 0, &err), 0);
	fclose(o);
	char hex[65], want[100];
	snprintf(want, sizeof(want), "fuse hash (SHA256): %s", bs_hex(hex, f->fuse, 32));
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "  csf        0x87802000"));
	assert_non_null(strstr(buf, "block 0: address 0x87800000 length 0x2000"));
	assert_non_null(strstr(buf, "subject: "));
	free(buf);
	/* NOCAK: the certificate blob no command references is listed. */
	buf = NULL;
	o = open_memstream(&buf, &blen);
	assert_int_equal(bs_hab_dump(o, bs_fixture("hab4-vectors/rsa/nocak/n.bin"), false, false,
				     0, &err), 0);
	fclose(o);
	assert_non_null(strstr(buf, "(not referenced by any command)"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verify__vector_image_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__srktool_f0_fuse_accepted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify__wrong_fuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__revoked_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__tampered_signed_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__tampered_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__tampered_srk_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__tampered_csfk_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__tampered_img_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__tampered_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__bad_ivt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__csf_offset_out_of_bounds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify__resigned_csf_still_verifies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify__block_outside_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__blob_wraps_address_space, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify__block_wraps_address_space, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify__cms_without_signed_attributes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify__coverage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__state_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__hash_total_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__dcd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__install_key_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__truncated_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__ivt_scan_finds_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__nocak_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__nxp_source_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__ec_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify__dump_vectors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
