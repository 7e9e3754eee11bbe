/* FIT signing (formats/fit): hashes, configuration regions, signatures checked with
 * OpenSSL, the public key in the DTB, mkimage's output sizes, and every refusal with its
 * exact code (and nothing left behind). mkimage itself is the oracle in the e2e tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libfdt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "formats/fit/fit.h"
#include "formats/fit/fit_int.h"

static EVP_PKEY *g_rsa, *g_ec;

struct keyctx {
	EVP_PKEY *pkey;
	int calls, notes;
};

static int get_key(void *ctx, const char *hint, struct bs_key **out, struct bs_error *err)
{
	struct keyctx *k = ctx;
	k->calls++;
	if (strcmp(hint, "dev") != 0)
		return bs_error_set(err, BS_ERR_NOT_FOUND, "no key %s", hint);
	EVP_PKEY_up_ref(k->pkey);
	return bs_key_from_pkey(out, k->pkey, "test", err);
}

static int note(void *ctx, const char *what, int nid, const uint8_t *d, size_t len,
		struct bs_error *err)
{
	((struct keyctx *)ctx)->notes++;
	return 0;
}

struct fit_spec {
	const char *algo, *hint, *padding, *extra_node;
	bool no_desc, ext, no_data, cipher;
	int nsigs;
};

#define CK(x) assert_int_equal((x), 0)

/* A small FIT (kernel + fdt, one configuration) built with libfdt's sequential writer. */
static void make_fit(struct bs_fit_blob *b, const struct fit_spec *s)
{
	size_t cap = 16384;
	uint8_t *buf = calloc(1, cap);
	static const char kernel[] = "KERNEL IMAGE BYTES";
	static const char fdt[] = "FDT BYTES";
	assert_non_null(buf);
	CK(fdt_create(buf, (int)cap));
	CK(fdt_finish_reservemap(buf));
	CK(fdt_begin_node(buf, ""));
	if (!s->no_desc)
		CK(fdt_property_string(buf, "description", "unit test"));
	CK(fdt_property_u32(buf, "timestamp", 1234));
	CK(fdt_begin_node(buf, "images"));
	CK(fdt_begin_node(buf, "kernel-1"));
	if (s->ext) {
		CK(fdt_property_u32(buf, "data-offset", 0));
		CK(fdt_property_u32(buf, "data-size", sizeof(kernel)));
	} else if (!s->no_data) {
		CK(fdt_property(buf, "data", kernel, sizeof(kernel)));
	}
	CK(fdt_property_string(buf, "type", "kernel"));
	CK(fdt_begin_node(buf, "hash-1"));
	CK(fdt_property_string(buf, "algo", "sha256"));
	CK(fdt_end_node(buf));
	if (s->cipher) {
		CK(fdt_begin_node(buf, "cipher"));
		CK(fdt_end_node(buf));
	}
	CK(fdt_end_node(buf));
	CK(fdt_begin_node(buf, "fdt-1"));
	CK(fdt_property(buf, "data", fdt, sizeof(fdt)));
	CK(fdt_begin_node(buf, "hash-1"));
	CK(fdt_property_string(buf, "algo", "crc32"));
	CK(fdt_end_node(buf));
	CK(fdt_end_node(buf));
	if (s->extra_node) {
		CK(fdt_begin_node(buf, s->extra_node));
		CK(fdt_end_node(buf));
	}
	CK(fdt_end_node(buf));
	CK(fdt_begin_node(buf, "configurations"));
	CK(fdt_property_string(buf, "default", "conf-1"));
	CK(fdt_begin_node(buf, "conf-1"));
	CK(fdt_property_string(buf, "kernel", "kernel-1"));
	CK(fdt_property_string(buf, "fdt", "fdt-1"));
	for (int i = 0; i < (s->nsigs ? s->nsigs : 1); i++) {
		char name[32];
		snprintf(name, sizeof(name), "signature-%d", i + 1);
		CK(fdt_begin_node(buf, name));
		CK(fdt_property_string(buf, "algo", s->algo ? s->algo : "sha256,rsa2048"));
		if (s->hint == NULL || s->hint[0] != '\0')
			CK(fdt_property_string(buf, "key-name-hint", s->hint ? s->hint : "dev"));
		if (s->padding)
			CK(fdt_property_string(buf, "padding", s->padding));
		CK(fdt_end_node(buf));
	}
	CK(fdt_end_node(buf));
	CK(fdt_end_node(buf));
	CK(fdt_end_node(buf));
	CK(fdt_finish(buf));
	size_t len = fdt_totalsize(buf);
	if (s->ext) { /* external data after the FDT, 4-aligned */
		size_t base = (len + 3) & ~(size_t)3;
		memcpy(buf + base, kernel, sizeof(kernel));
		len = base + sizeof(kernel);
	}
	b->data = buf;
	b->len = len;
	b->cap = cap;
}

static void make_dtb(struct bs_fit_blob *b)
{
	size_t cap = 4096;
	uint8_t *buf = calloc(1, cap);
	assert_non_null(buf);
	CK(fdt_create(buf, (int)cap));
	CK(fdt_finish_reservemap(buf));
	CK(fdt_begin_node(buf, ""));
	CK(fdt_property_string(buf, "model", "board"));
	CK(fdt_end_node(buf));
	CK(fdt_finish(buf));
	b->data = buf;
	b->len = fdt_totalsize(buf);
	b->cap = cap;
}

static int sign(struct bs_fit_blob *fit, struct bs_fit_blob *dtb, const struct bs_fit_opts *o,
		struct keyctx *k, struct bs_error *err)
{
	struct bs_fit_keys keys = {.get = get_key, .note = note, .ctx = k};
	return bs_fit_sign(fit, dtb, o, &keys, err);
}

/* The configuration signature of conf-1/signature-1 recomputed from hashed-nodes and
 * verified with OpenSSL under pub. */
static void check_conf_sig(const void *fit, EVP_PKEY *pub, const struct bs_sig_params *p)
{
	int node = fdt_path_offset(fit, "/configurations/conf-1/signature-1"), len = 0;
	assert_true(node >= 0);
	const char *hn = fdt_getprop(fit, node, "hashed-nodes", &len);
	assert_non_null(hn);
	const char *nodes[16];
	size_t n = 0;
	for (const char *s = hn; s < hn + len; s += strlen(s) + 1)
		nodes[n++] = s;
	assert_string_equal(nodes[0], "/");
	assert_string_equal(nodes[1], "/configurations/conf-1");
	const fdt32_t *hs = fdt_getprop(fit, node, "hashed-strings", NULL);
	assert_non_null(hs);
	struct bs_fit_region r[BS_FIT_REGIONS_MAX];
	size_t nr = 0;
	CK(bs_fit_find_regions(r, BS_FIT_REGIONS_MAX, &nr, fit, nodes, n, fdt32_to_cpu(hs[1]),
			       NULL));
	uint8_t d[64];
	unsigned dl = 0;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestInit_ex(mc, EVP_get_digestbynid(p->md_nid), NULL), 1);
	for (size_t i = 0; i < nr; i++)
		EVP_DigestUpdate(mc, (const uint8_t *)fit + r[i].off, r[i].len);
	EVP_DigestFinal_ex(mc, d, &dl);
	EVP_MD_CTX_free(mc);
	const uint8_t *v = fdt_getprop(fit, node, "value", &len);
	assert_non_null(v);
	CK(bs_sig_verify(pub, p, d, dl, v, (size_t)len, NULL));
	/* one byte of a hashed property changed: no longer verifies */
	int kn = fdt_path_offset(fit, "/images/kernel-1");
	const char *type = fdt_getprop(fit, kn, "type", NULL);
	((char *)type)[0] ^= 1;
	mc = EVP_MD_CTX_new();
	EVP_DigestInit_ex(mc, EVP_get_digestbynid(p->md_nid), NULL);
	for (size_t i = 0; i < nr; i++)
		EVP_DigestUpdate(mc, (const uint8_t *)fit + r[i].off, r[i].len);
	EVP_DigestFinal_ex(mc, d, &dl);
	EVP_MD_CTX_free(mc);
	assert_int_equal(bs_sig_verify(pub, p, d, dl, v, (size_t)len, NULL), BS_ERR_VERIFY);
	((char *)type)[0] ^= 1;
}

static void test_fit__signs_hashes_config_and_adds_the_key(void **state)
{
	struct bs_fit_blob fit, dtb;
	struct keyctx k = {.pkey = g_rsa};
	struct bs_fit_opts o = {.timestamp = 1700000000, .require = true, .comment = "hi"};
	make_fit(&fit, &(struct fit_spec){0});
	make_dtb(&dtb);
	size_t dtb_len0 = dtb.len;
	CK(sign(&fit, &dtb, &o, &k, NULL));
	assert_int_equal(k.notes, 2); /* sha256 hash, config digest (crc32 is not a digest) */
	assert_int_equal(fdt_check_full(fit.data, fit.len), 0);
	assert_int_equal(fdt_totalsize(fit.data), fit.len);
	/* kernel hash = sha256(data); crc32 of the fdt image big-endian */
	int len = 0;
	const uint8_t *data = fdt_getprop(fit.data, fdt_path_offset(fit.data, "/images/kernel-1"),
					  "data", &len);
	uint8_t want[32];
	EVP_Digest(data, (size_t)len, want, NULL, EVP_sha256(), NULL);
	const uint8_t *v = fdt_getprop(fit.data, fdt_path_offset(fit.data,
					"/images/kernel-1/hash-1"), "value", &len);
	assert_int_equal(len, 32);
	assert_memory_equal(v, want, 32);
	v = fdt_getprop(fit.data, fdt_path_offset(fit.data, "/images/fdt-1/hash-1"), "value", &len);
	assert_int_equal(len, 4);
	int sn = fdt_path_offset(fit.data, "/configurations/conf-1/signature-1");
	assert_string_equal(fdt_getprop(fit.data, sn, "signer-name", NULL), "mkimage");
	assert_string_equal(fdt_getprop(fit.data, sn, "signer-version", NULL), "2023.01");
	assert_string_equal(fdt_getprop(fit.data, sn, "comment", NULL), "hi");
	const fdt32_t *ts = fdt_getprop(fit.data, sn, "timestamp", NULL);
	assert_int_equal(fdt32_to_cpu(*ts), 1700000000);
	check_conf_sig(fit.data, g_rsa, &(struct bs_sig_params){.md_nid = NID_sha256});
	/* the DTB: /signature/key-dev with the modulus, required = conf, grown by 1 KiB */
	int kn = fdt_path_offset(dtb.data, "/signature/key-dev");
	assert_true(kn >= 0);
	assert_string_equal(fdt_getprop(dtb.data, kn, "required", NULL), "conf");
	assert_string_equal(fdt_getprop(dtb.data, kn, "algo", NULL), "sha256,rsa2048");
	BIGNUM *n = NULL;
	EVP_PKEY_get_bn_param(g_rsa, OSSL_PKEY_PARAM_RSA_N, &n);
	uint8_t nb[256];
	BN_bn2binpad(n, nb, sizeof(nb));
	BN_free(n);
	v = fdt_getprop(dtb.data, kn, "rsa,modulus", &len);
	assert_int_equal(len, 256);
	assert_memory_equal(v, nb, 256);
	assert_int_equal(dtb.len, dtb_len0 + 1024);
	assert_int_equal(fdt_totalsize(dtb.data), dtb.len);
	bs_fit_blob_free(&fit);
	bs_fit_blob_free(&dtb);
}

/* mkimage's sizes: packed FIT + n KiB, the smallest step where everything fits. */
static void test_fit__output_size_is_mkimages(void **state)
{
	struct bs_fit_blob fit;
	struct keyctx k = {.pkey = g_rsa};
	struct bs_fit_opts o = {.timestamp = 1};
	make_fit(&fit, &(struct fit_spec){.nsigs = 3});
	/* packed size of the input */
	uint8_t *copy = malloc(fit.len);
	memcpy(copy, fit.data, fit.len);
	fdt_pack(copy);
	size_t packed = fdt_totalsize(copy);
	free(copy);
	CK(sign(&fit, NULL, &o, &k, NULL));
	size_t used = bs_fit_used(fit.data);
	assert_true(fit.len >= used && fit.len - used < 1024);
	assert_int_equal((fit.len - packed) % 1024, 0);
	/* signing the signed FIT again needs no room: same size, same bytes */
	uint8_t *first = malloc(fit.len);
	size_t first_len = fit.len;
	memcpy(first, fit.data, fit.len);
	struct bs_fit_blob again = {.data = malloc(first_len), .len = first_len, .cap = first_len};
	memcpy(again.data, first, first_len);
	CK(sign(&again, NULL, &o, &k, NULL));
	assert_int_equal(again.len, used); /* packed, nothing grew */
	assert_int_equal(bs_fit_used(again.data), used);
	free(first);
	bs_fit_blob_free(&again);
	bs_fit_blob_free(&fit);
}

static void test_fit__pss_and_ecdsa(void **state)
{
	struct bs_fit_blob fit;
	struct keyctx k = {.pkey = g_rsa};
	struct bs_fit_opts o = {.timestamp = 1};
	make_fit(&fit, &(struct fit_spec){.padding = "pss", .algo = "sha384,rsa2048"});
	CK(sign(&fit, NULL, &o, &k, NULL));
	check_conf_sig(fit.data, g_rsa, &(struct bs_sig_params){.md_nid = NID_sha384,
		       .scheme = BS_SIG_RSA_PSS, .pss_saltlen = 256 - 48 - 2});
	bs_fit_blob_free(&fit);
	k.pkey = g_ec;
	struct bs_fit_blob dtb;
	make_fit(&fit, &(struct fit_spec){.algo = "sha256,ecdsa256"});
	make_dtb(&dtb);
	CK(sign(&fit, &dtb, &o, &k, NULL));
	check_conf_sig(fit.data, g_ec, &(struct bs_sig_params){.md_nid = NID_sha256,
		       .ecdsa_raw = true});
	int kn = fdt_path_offset(dtb.data, "/signature/key-dev"), len = 0;
	assert_string_equal(fdt_getprop(dtb.data, kn, "ecdsa,curve", NULL), "prime256v1");
	assert_non_null(fdt_getprop(dtb.data, kn, "ecdsa,x-point", &len));
	assert_int_equal(len, 32);
	assert_null(fdt_getprop(dtb.data, kn, "required", NULL));
	bs_fit_blob_free(&fit);
	bs_fit_blob_free(&dtb);
}

static void test_fit__external_data_is_imported(void **state)
{
	struct bs_fit_blob fit;
	struct keyctx k = {.pkey = g_rsa};
	make_fit(&fit, &(struct fit_spec){.ext = true});
	CK(sign(&fit, NULL, &(struct bs_fit_opts){.timestamp = 1}, &k, NULL));
	int len = 0;
	const char *d = fdt_getprop(fit.data, fdt_path_offset(fit.data, "/images/kernel-1"),
				    "data", &len);
	assert_non_null(d);
	assert_string_equal(d, "KERNEL IMAGE BYTES");
	bs_fit_blob_free(&fit);
	/* data-size past the end of the file */
	make_fit(&fit, &(struct fit_spec){.ext = true});
	fit.len -= 4;
	assert_int_equal(sign(&fit, NULL, &(struct bs_fit_opts){0}, &k, NULL), BS_ERR_FORMAT);
	assert_null(fit.data);
}

/* Each refusal: its code, the blobs freed, no key asked for when the input is bad. */
static void expect(const struct fit_spec *s, const struct bs_fit_opts *o, int code,
		   const char *msg, bool with_dtb)
{
	struct bs_fit_blob fit, dtb = {0};
	struct keyctx k = {.pkey = g_rsa};
	struct bs_error err = {0};
	make_fit(&fit, s);
	if (with_dtb) {
		make_dtb(&dtb);
		memset(dtb.data + 8, 0xff, 4); /* off_dt_struct out of range */
	}
	assert_int_equal(sign(&fit, with_dtb ? &dtb : NULL, o, &k, &err), code);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
	assert_null(fit.data);
	assert_null(dtb.data);
	assert_int_equal(fit.len, 0);
}

static void test_fit__refusals(void **state)
{
	struct bs_fit_opts o = {0};
	expect(&(struct fit_spec){.no_desc = true}, &o, BS_ERR_FORMAT, "not a FIT", false);
	expect(&(struct fit_spec){.algo = "sha256,rsa1024"}, &o, BS_ERR_INVALID,
	       "not a FIT signature algorithm", false);
	expect(&(struct fit_spec){0}, &(struct bs_fit_opts){.algo = "md5,rsa2048"},
	       BS_ERR_INVALID, "md5,rsa2048", false);
	expect(&(struct fit_spec){.hint = "prod"}, &o, BS_ERR_NOT_FOUND, "no key prod", false);
	expect(&(struct fit_spec){.hint = ""}, &o, BS_ERR_INVALID, "key-name-hint", false);
	expect(&(struct fit_spec){.hint = "../x"}, &o, BS_ERR_INVALID, "key-name-hint", false);
	expect(&(struct fit_spec){.algo = "sha256,rsa4096"}, &o, BS_ERR_INVALID,
	       "needs RSA-4096", false);
	expect(&(struct fit_spec){.algo = "sha256,ecdsa256"}, &o, BS_ERR_INVALID,
	       "needs EC-256", false);
	expect(&(struct fit_spec){.padding = "oaep"}, &o, BS_ERR_INVALID, "padding", false);
	expect(&(struct fit_spec){.no_data = true}, &o, BS_ERR_INVALID, "has no data", false);
	expect(&(struct fit_spec){.cipher = true}, &o, BS_ERR_UNSUPPORTED, "cipher", false);
	expect(&(struct fit_spec){.extra_node = "x@1"}, &o, BS_ERR_FORMAT, "'@'", false);
	/* many signature nodes: each config signature covers them all (U-Boot's verifier
	 * bound on regions), or the count bound */
	expect(&(struct fit_spec){.nsigs = BS_FIT_SIGS_MAX + 1}, &o, BS_ERR_LIMIT, "FIT: ",
	       false);
	expect(&(struct fit_spec){0}, &o, BS_ERR_FORMAT, "DTB", true);
	char big[BS_FIT_COMMENT_MAX + 2];
	memset(big, 'c', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect(&(struct fit_spec){0}, &(struct bs_fit_opts){.comment = big}, BS_ERR_LIMIT,
	       "comment", false);
	/* not a device tree at all; a truncated one */
	struct bs_fit_blob b = {.data = calloc(1, 64), .len = 64, .cap = 64};
	struct keyctx k = {.pkey = g_rsa};
	assert_int_equal(sign(&b, NULL, &o, &k, NULL), BS_ERR_FORMAT);
	assert_null(b.data);
	make_fit(&b, &(struct fit_spec){0});
	b.len = fdt_totalsize(b.data) - 8;
	assert_int_equal(sign(&b, NULL, &o, &k, NULL), BS_ERR_FORMAT);
	assert_int_equal(k.calls, 0);
}

static void test_fit__algorithms(void **state)
{
	struct bs_fit_sigalg a;
	CK(bs_fit_sigalg_parse(&a, "sha512,rsa4096", NULL));
	assert_int_equal(a.md_nid, NID_sha512);
	assert_int_equal(a.bits, 4096);
	CK(bs_fit_sigalg_parse(&a, "sha1,rsa2048", NULL));
	CK(bs_fit_sigalg_parse(&a, "sha384,ecdsa384", NULL));
	assert_int_equal(a.crypto, BS_FIT_ECDSA);
	const char *bad[] = {"sha256", "sha256,", ",rsa2048", "sha2566,rsa2048", "sha256,rsa2048x",
			     "SHA256,rsa2048", "sha256,ecdsa521", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(bs_fit_algo_known(bad[i]));
	uint8_t d[64];
	size_t dl = 0;
	int nid = 0;
	CK(bs_fit_image_hash(d, &dl, &nid, "crc32", (const uint8_t *)"123456789", 9, NULL));
	assert_int_equal(dl, 4);
	assert_memory_equal(d, "\xcb\xf4\x39\x26", 4);
	assert_int_equal(bs_fit_image_hash(d, &dl, &nid, "crc16", d, 1, NULL), BS_ERR_INVALID);
}

static int setup(void **state)
{
	g_rsa = EVP_RSA_gen(2048);
	g_ec = EVP_EC_gen("P-256");
	return g_rsa && g_ec ? 0 : -1;
}

static int teardown(void **state)
{
	EVP_PKEY_free(g_rsa);
	EVP_PKEY_free(g_ec);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit__signs_hashes_config_and_adds_the_key),
		cmocka_unit_test(test_fit__output_size_is_mkimages),
		cmocka_unit_test(test_fit__pss_and_ecdsa),
		cmocka_unit_test(test_fit__external_data_is_imported),
		cmocka_unit_test(test_fit__refusals),
		cmocka_unit_test(test_fit__algorithms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
