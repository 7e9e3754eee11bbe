/* Unit tests for src/formats/pe: the parser on hostile headers, the Authenticode digest
 * ranges, the PE checksum, and signed images checked with OpenSSL's own PKCS#7 verifier.
 * Images are built here (a small PE32+ or PE32 with two sections and trailing data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pe/pe.h"

#define PE_OFF 0x80u
#define HDRS 0x200u
#define SEC_SIZE 0x200u
#define TRAIL 5u
#define IMG_SIZE (HDRS + 2 * SEC_SIZE + TRAIL)
#define IMG_CAP 0x2000u

struct img {
	uint8_t d[IMG_CAP];
	size_t n;
	bool pe32plus;
	uint32_t opt, checksum_off, certdir_off, sec_off;
};

static void p16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void p32(uint8_t *p, uint32_t v)
{
	p16(p, (uint16_t)v);
	p16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* MZ, PE, COFF (2 sections), optional header with 16 data directories, .text at 0x200,
 * .data at 0x400, 5 trailing bytes; contents are a counter pattern. */
static void build(struct img *im, bool pe32plus)
{
	memset(im, 0, sizeof(*im));
	im->pe32plus = pe32plus;
	for (size_t i = 0; i < IMG_SIZE; i++)
		im->d[i] = (uint8_t)(i * 7 + 3);
	memset(im->d, 0, HDRS);
	uint8_t *d = im->d;
	d[0] = 'M';
	d[1] = 'Z';
	p32(d + 0x3C, PE_OFF);
	memcpy(d + PE_OFF, "PE\0\0", 4);
	uint8_t *coff = d + PE_OFF + 4;
	uint16_t optsize = pe32plus ? 240 : 224;
	p16(coff, pe32plus ? 0x8664 : 0x14c);
	p16(coff + 2, 2);
	p16(coff + 16, optsize);
	im->opt = PE_OFF + 24;
	uint8_t *opt = d + im->opt;
	p16(opt, pe32plus ? 0x20B : 0x10B);
	p32(opt + 36, 0x200);                /* FileAlignment */
	p32(opt + 60, HDRS);                 /* SizeOfHeaders */
	p32(opt + 64, 0x12345678);           /* CheckSum (stale) */
	uint32_t nd = pe32plus ? 108 : 92;
	p32(opt + nd, 16);
	im->checksum_off = im->opt + 64;
	im->certdir_off = im->opt + nd + 4 + 4 * 8;
	p32(d + im->certdir_off - 8, 0xAABBCCDD); /* directory 3 (exception): hashed */
	im->sec_off = im->opt + optsize;
	const char *names[2] = {".text", ".data"};
	for (uint32_t i = 0; i < 2; i++) {
		uint8_t *s = d + im->sec_off + 40 * i;
		memcpy(s, names[i], strlen(names[i]));
		p32(s + 16, SEC_SIZE);
		p32(s + 20, HDRS + i * SEC_SIZE);
	}
	im->n = IMG_SIZE;
}

static int mem_pread(void *ctx, void *buf, size_t n, uint64_t off, struct bs_error *err)
{
	const struct img *im = ctx;
	if (off > im->n || n > im->n - off)
		return bs_error_set(err, BS_ERR_FORMAT, "short read");
	memcpy(buf, im->d + off, n);
	return 0;
}

static struct bs_pe_reader reader(struct img *im)
{
	return (struct bs_pe_reader){.pread = mem_pread, .ctx = im, .size = im->n};
}

struct sink {
	uint8_t d[IMG_CAP * 2];
	size_t n;
	int writes;
};

static int sink_write(void *ctx, const void *data, size_t n, struct bs_error *err)
{
	struct sink *s = ctx;
	if (n > sizeof(s->d) - s->n)
		return bs_error_set(err, BS_ERR_LIMIT, "sink full");
	memcpy(s->d + s->n, data, n);
	s->n += n;
	s->writes++;
	return 0;
}

static int sink_pwrite(void *ctx, const void *data, size_t n, uint64_t off,
		       struct bs_error *err)
{
	struct sink *s = ctx;
	if (off > s->n || n > s->n - off)
		return bs_error_set(err, BS_ERR_INTERNAL, "pwrite past end");
	memcpy(s->d + off, data, n);
	return 0;
}

static int parse(struct img *im, struct bs_pe_image **out, struct bs_error *err)
{
	struct bs_pe_reader r = reader(im);
	return bs_pe_parse(out, &r, err);
}

static void expect_format(struct img *im, int code, const char *needle)
{
	struct bs_pe_image *pe = (struct bs_pe_image *)1;
	struct bs_error err = {0};
	assert_int_equal(parse(im, &pe, &err), code);
	assert_null(pe);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_pe__parse_pe32plus_and_pe32(void **state)
{
	(void)state;
	for (int v = 0; v < 2; v++) {
		struct img im;
		build(&im, v == 0);
		struct bs_pe_image *pe = NULL;
		struct bs_error err = {0};
		assert_int_equal(parse(&im, &pe, &err), 0);
		assert_int_equal(pe->pe32plus, v == 0);
		assert_int_equal(pe->size_of_headers, HDRS);
		assert_int_equal(pe->checksum_off, im.checksum_off);
		assert_int_equal(pe->certdir_off, im.certdir_off);
		assert_int_equal(pe->nsections, 2);
		assert_string_equal(pe->sections[0].name, ".text");
		assert_int_equal(pe->sections[1].raw_off, HDRS + SEC_SIZE);
		assert_int_equal(pe->sections_end, HDRS + 2 * SEC_SIZE);
		assert_int_equal(pe->cert_size, 0);
		assert_int_equal(bs_pe_pad_len(pe), 3);
		bs_pe_free(pe);
	}
	bs_pe_free(NULL);
}

static void test_pe__rejects_bad_headers(void **state)
{
	(void)state;
	struct img im;
	build(&im, true);
	im.d[0] = 'X';
	expect_format(&im, BS_ERR_FORMAT, "not a PE image");
	build(&im, true);
	p32(im.d + 0x3C, 0xFFFFFFF0u);
	expect_format(&im, BS_ERR_FORMAT, "e_lfanew");
	build(&im, true);
	p32(im.d + 0x3C, 0x10);
	expect_format(&im, BS_ERR_FORMAT, "e_lfanew");
	build(&im, true);
	im.d[PE_OFF + 1] = 'X';
	expect_format(&im, BS_ERR_FORMAT, "PE signature");
	build(&im, true);
	p16(im.d + im.opt, 0x107);
	expect_format(&im, BS_ERR_FORMAT, "Magic");
	build(&im, true);
	p32(im.d + im.opt + 108, 4);
	expect_format(&im, BS_ERR_FORMAT, "NumberOfRvaAndSizes");
	build(&im, true);
	p32(im.d + im.opt + 108, 0xFFFFFFFFu);
	expect_format(&im, BS_ERR_FORMAT, "NumberOfRvaAndSizes");
	build(&im, true);
	p16(im.d + PE_OFF + 4 + 16, 100); /* SizeOfOptionalHeader too small for the dirs */
	expect_format(&im, BS_ERR_FORMAT, "SizeOfOptionalHeader");
	build(&im, false);
	p16(im.d + PE_OFF + 4 + 16, 0xFFFF);
	expect_format(&im, BS_ERR_FORMAT, "SizeOfOptionalHeader");
	build(&im, true);
	p32(im.d + im.opt + 60, 0x10000); /* SizeOfHeaders past the file */
	expect_format(&im, BS_ERR_FORMAT, "SizeOfHeaders");
	build(&im, true);
	p32(im.d + im.opt + 60, 0x1C0); /* ends before the section table ends */
	expect_format(&im, BS_ERR_FORMAT, "section table");
	build(&im, true);
	p16(im.d + PE_OFF + 4 + 2, 40); /* section table past SizeOfHeaders */
	expect_format(&im, BS_ERR_FORMAT, "section table");
	build(&im, true);
	p16(im.d + PE_OFF + 4 + 2, 0xFFFF);
	expect_format(&im, BS_ERR_LIMIT, "NumberOfSections");
}

static void test_pe__rejects_bad_sections(void **state)
{
	(void)state;
	struct img im;
	build(&im, true);
	p32(im.d + im.sec_off + 40 + 16, 0xFFFFFFF0u); /* .data size wraps past the file */
	expect_format(&im, BS_ERR_FORMAT, "\".data\" raw data");
	build(&im, true);
	p32(im.d + im.sec_off + 20, 0x100); /* .text inside the headers */
	expect_format(&im, BS_ERR_FORMAT, "inside the headers");
	build(&im, true);
	p32(im.d + im.sec_off + 40 + 20, HDRS + 0x100); /* .data overlaps .text */
	expect_format(&im, BS_ERR_FORMAT, "overlaps");
	/* every truncation of the image is refused */
	for (size_t n = 0; n < HDRS + 2 * SEC_SIZE; n += 7) {
		build(&im, true);
		im.n = n;
		struct bs_pe_image *pe = NULL;
		struct bs_error err = {0};
		int rc = parse(&im, &pe, &err);
		assert_true(rc == BS_ERR_FORMAT);
		assert_null(pe);
	}
}

static void test_pe__rejects_bad_cert_table(void **state)
{
	(void)state;
	struct img im;
	build(&im, true);
	p32(im.d + im.certdir_off, HDRS + 2 * SEC_SIZE);
	p32(im.d + im.certdir_off + 4, 8); /* does not end the file (5 trailing bytes) */
	expect_format(&im, BS_ERR_FORMAT, "does not end the file");
	build(&im, true);
	p32(im.d + im.certdir_off, HDRS);
	p32(im.d + im.certdir_off + 4, IMG_SIZE - HDRS); /* over the sections */
	expect_format(&im, BS_ERR_FORMAT, "runs past the end of the image data");
	build(&im, true);
	p32(im.d + im.certdir_off, 0x10);
	p32(im.d + im.certdir_off + 4, 16);
	expect_format(&im, BS_ERR_FORMAT, "inside the headers");
	build(&im, true);
	im.n = HDRS + 2 * SEC_SIZE + 16;
	p32(im.d + im.certdir_off, HDRS + 2 * SEC_SIZE);
	p32(im.d + im.certdir_off + 4, 16);
	uint8_t *wc = im.d + HDRS + 2 * SEC_SIZE;
	p32(wc, 0x100); /* dwLength past the table */
	p16(wc + 4, 0x0200);
	expect_format(&im, BS_ERR_FORMAT, "dwLength");
	p32(wc, 16);
	p16(wc + 4, 0x0100);
	expect_format(&im, BS_ERR_FORMAT, "wRevision");
}

/* The digest recomputed here from the documented ranges, by plain concatenation. */
static void expected_digest(const struct img *im, uint8_t *out)
{
	uint8_t *buf = malloc(im->n + 8);
	size_t n = 0;
	memcpy(buf, im->d, im->checksum_off);
	n = im->checksum_off;
	memcpy(buf + n, im->d + im->checksum_off + 4, im->certdir_off - im->checksum_off - 4);
	n += im->certdir_off - im->checksum_off - 4;
	memcpy(buf + n, im->d + im->certdir_off + 8, HDRS - im->certdir_off - 8);
	n += HDRS - im->certdir_off - 8;
	memcpy(buf + n, im->d + HDRS, im->n - HDRS); /* sections + trailing data */
	n += im->n - HDRS;
	for (size_t pad = (8 - im->n % 8) % 8; pad > 0; pad--)
		buf[n++] = 0; /* the file padded to 8 bytes */
	unsigned l = 0;
	assert_int_equal(EVP_Digest(buf, n, out, &l, EVP_sha256(), NULL), 1);
	free(buf);
}

static void test_pe__digest_covers_documented_ranges(void **state)
{
	(void)state;
	struct img im;
	build(&im, true);
	uint8_t want[32], got[EVP_MAX_MD_SIZE];
	size_t glen = 0;
	expected_digest(&im, want);
	struct bs_pe_image *pe = NULL;
	struct bs_error err = {0};
	assert_int_equal(parse(&im, &pe, &err), 0);
	struct bs_pe_reader r = reader(&im);
	assert_int_equal(bs_pe_digest(got, &glen, pe, &r, NID_sha256, &err), 0);
	assert_int_equal(glen, 32);
	assert_memory_equal(got, want, 32);
	bs_pe_free(pe);

	/* CheckSum and the certificate directory entry are outside the digest ... */
	p32(im.d + im.checksum_off, 0);
	uint8_t got2[EVP_MAX_MD_SIZE];
	assert_int_equal(parse(&im, &pe, &err), 0);
	assert_int_equal(bs_pe_digest(got2, &glen, pe, &r, NID_sha256, &err), 0);
	assert_memory_equal(got, got2, 32);
	bs_pe_free(pe);
	/* ... every other header byte, section byte and trailing byte is inside it */
	const size_t probes[] = {2, im.checksum_off - 8, im.certdir_off - 1,
				 im.certdir_off + 8, HDRS + 1, HDRS + SEC_SIZE + 9, IMG_SIZE - 1};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct img t = im;
		t.d[probes[i]] ^= 0x01;
		struct bs_pe_reader tr = reader(&t);
		assert_int_equal(parse(&t, &pe, &err), 0);
		assert_int_equal(bs_pe_digest(got2, &glen, pe, &tr, NID_sha256, &err), 0);
		assert_memory_not_equal(got, got2, 32);
		bs_pe_free(pe);
	}
}

/* The loader's checksum, written out plainly over a whole buffer. */
static uint32_t naive_checksum(const uint8_t *d, size_t n, size_t csum_off)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i += 2) {
		uint32_t w = d[i] | (i + 1 < n ? d[i + 1] << 8 : 0);
		if (i == csum_off || i == csum_off + 2)
			w = 0;
		sum += w;
		sum = (sum & 0xFFFF) + (sum >> 16);
	}
	return (uint32_t)(sum + n);
}

static void test_pe__checksum_in_odd_pieces(void **state)
{
	(void)state;
	uint8_t buf[1001];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 17);
	for (size_t step = 1; step < 9; step++) {
		struct bs_pe_csum c;
		bs_pe_csum_init(&c);
		for (size_t off = 0; off < sizeof(buf); off += step) {
			size_t n = sizeof(buf) - off < step ? sizeof(buf) - off : step;
			bs_pe_csum_update(&c, buf + off, n);
		}
		assert_int_equal(bs_pe_csum_final(&c), naive_checksum(buf, sizeof(buf), 4000));
	}
}

static X509 *self_signed(EVP_PKEY *k)
{
	X509 *c = X509_new();
	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 42);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_NAME *n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"db", -1, -1, 0);
	X509_set_issuer_name(c, n);
	X509_set_pubkey(c, k);
	assert_true(X509_sign(c, k, EVP_sha256()) > 0);
	return c;
}

struct signer {
	EVP_PKEY *pkey;
	struct bs_key *key;
	X509 *cert;
};

static void signer_new(struct signer *s, const char *alg)
{
	s->pkey = strcmp(alg, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
					 : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(s->pkey);
	s->cert = self_signed(s->pkey);
	assert_true(EVP_PKEY_up_ref(s->pkey));
	struct bs_error err = {0};
	assert_int_equal(bs_key_from_pkey(&s->key, s->pkey, "test", &err), 0);
}

static void signer_free(struct signer *s)
{
	bs_key_free(s->key);
	X509_free(s->cert);
	EVP_PKEY_free(s->pkey);
}

/* Sign `im` into `out`; returns the image digest. */
static void sign_image(struct img *im, struct signer *s, struct sink *out, uint8_t *dg)
{
	struct bs_pe_image *pe = NULL;
	struct bs_error err = {0};
	struct bs_pe_reader r = reader(im);
	size_t dl = 0, len = 0;
	uint8_t *p7 = NULL;
	assert_int_equal(bs_pe_parse(&pe, &r, &err), 0);
	assert_int_equal(bs_pe_digest(dg, &dl, pe, &r, NID_sha256, &err), 0);
	assert_int_equal(bs_pe_authenticode(&p7, &len, s->key, s->cert, NID_sha256, dg, dl,
					    1700000000, &err), 0);
	struct bs_pe_writer w = {.write = sink_write, .pwrite = sink_pwrite, .ctx = out};
	memset(out, 0, sizeof(*out));
	assert_int_equal(bs_pe_write_signed(&w, pe, &r, p7, len, &err), 0);
	free(p7);
	bs_pe_free(pe);
}

/* Verify the last WIN_CERTIFICATE of a signed image with OpenSSL's PKCS#7 code: the
 * signature over the SpcIndirectDataContent value, and its DigestInfo = image digest. */
static void verify_signed(const struct sink *out, size_t csum_off, size_t certdir_off,
			  X509 *cert, const uint8_t *dg, size_t want_certs)
{
	uint32_t toff = g32(out->d + certdir_off), tsize = g32(out->d + certdir_off + 4);
	assert_int_equal(toff % 8, 0);
	assert_int_equal((size_t)toff + tsize, out->n);
	assert_int_equal(out->n % 8, 0);
	assert_int_equal(g32(out->d + csum_off), naive_checksum(out->d, out->n, csum_off));
	size_t off = toff, ncerts = 0, last = 0;
	while (off < out->n) {
		uint32_t len = g32(out->d + off);
		assert_int_equal(out->d[off + 4] | out->d[off + 5] << 8, 0x0200);
		assert_int_equal(out->d[off + 6] | out->d[off + 7] << 8, 0x0002);
		last = off;
		off += (len + 7) / 8 * 8;
		ncerts++;
	}
	assert_int_equal(off, out->n);
	assert_int_equal(ncerts, want_certs);
	const unsigned char *p = out->d + last + 8;
	uint32_t plen = g32(out->d + last) - 8;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, plen);
	assert_non_null(p7);
	char oid[64];
	assert_true(OBJ_obj2txt(oid, sizeof(oid), p7->d.sign->contents->type, 1) > 0);
	assert_string_equal(oid, "1.3.6.1.4.1.311.2.1.4");
	ASN1_STRING *idc = p7->d.sign->contents->d.other->value.sequence;
	const unsigned char *q = ASN1_STRING_get0_data(idc);
	long clen = 0;
	int tag = 0, cls = 0;
	const unsigned char *body = q;
	assert_int_equal(ASN1_get_object(&body, &clen, &tag, &cls, ASN1_STRING_length(idc)), 0x20);
	BIO *content = BIO_new_mem_buf(body, (int)clen);
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *none = sk_X509_new_null();
	assert_int_equal(PKCS7_verify(p7, none, st, content, NULL, PKCS7_NOVERIFY | PKCS7_BINARY),
			 1);
	/* the DigestInfo's OCTET STRING is the last 32 bytes of the content */
	assert_memory_equal(q + ASN1_STRING_length(idc) - 32, dg, 32);
	STACK_OF(X509) *signers = PKCS7_get0_signers(p7, NULL, 0);
	assert_int_equal(X509_cmp(sk_X509_value(signers, 0), cert), 0);
	sk_X509_free(signers);
	sk_X509_free(none);
	X509_STORE_free(st);
	BIO_free(content);
	PKCS7_free(p7);
}

static void test_pe__sign_verifies_with_openssl(void **state)
{
	(void)state;
	const char *algs[] = {"RSA", "EC"};
	for (int v = 0; v < 4; v++) {
		struct signer s;
		signer_new(&s, algs[v % 2]);
		struct img im;
		build(&im, v < 2);
		static struct sink out;
		uint8_t dg[EVP_MAX_MD_SIZE];
		sign_image(&im, &s, &out, dg);
		verify_signed(&out, im.checksum_off, im.certdir_off, s.cert, dg, 1);
		/* the signed data is the input plus its zero padding */
		assert_memory_equal(out.d + HDRS, im.d + HDRS, IMG_SIZE - HDRS);
		assert_int_equal(out.d[IMG_SIZE], 0);
		signer_free(&s);
	}
}

static void test_pe__resign_appends_a_signature(void **state)
{
	(void)state;
	struct signer s;
	signer_new(&s, "RSA");
	struct img im;
	build(&im, true);
	static struct sink out, out2;
	uint8_t dg[EVP_MAX_MD_SIZE], dg2[EVP_MAX_MD_SIZE];
	sign_image(&im, &s, &out, dg);
	struct img im2;
	memcpy(&im2, &im, sizeof(im2));
	assert_true(out.n <= sizeof(im2.d));
	memcpy(im2.d, out.d, out.n);
	im2.n = out.n;
	struct bs_pe_image *pe = NULL;
	struct bs_error err = {0};
	assert_int_equal(parse(&im2, &pe, &err), 0);
	assert_int_equal(pe->ncerts, 1);
	bs_pe_free(pe);
	sign_image(&im2, &s, &out2, dg2);
	assert_memory_equal(dg, dg2, 32); /* the table is outside the digest */
	verify_signed(&out2, im.checksum_off, im.certdir_off, s.cert, dg, 2);
	signer_free(&s);
}

static void test_pe__authenticode_rejects_mismatch(void **state)
{
	(void)state;
	struct signer a, b;
	signer_new(&a, "RSA");
	signer_new(&b, "EC");
	uint8_t dg[32] = {1}, *p7 = (uint8_t *)1;
	size_t len = 7;
	struct bs_error err = {0};
	assert_int_equal(bs_pe_authenticode(&p7, &len, a.key, b.cert, NID_sha256, dg, 32, 0,
					    &err), BS_ERR_KEY);
	assert_null(p7);
	assert_int_equal(len, 0);
	assert_int_equal(bs_pe_authenticode(&p7, &len, a.key, a.cert, NID_sha256, dg, 20, 0,
					    &err), BS_ERR_INVALID);
	assert_null(p7);
	signer_free(&a);
	signer_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe__parse_pe32plus_and_pe32),
		cmocka_unit_test(test_pe__rejects_bad_headers),
		cmocka_unit_test(test_pe__rejects_bad_sections),
		cmocka_unit_test(test_pe__rejects_bad_cert_table),
		cmocka_unit_test(test_pe__digest_covers_documented_ranges),
		cmocka_unit_test(test_pe__checksum_in_odd_pieces),
		cmocka_unit_test(test_pe__sign_verifies_with_openssl),
		cmocka_unit_test(test_pe__resign_appends_a_signature),
		cmocka_unit_test(test_pe__authenticode_rejects_mismatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
