/* Fuzz target: PE/COFF parsing, the Authenticode digest and the signed-image writer
 * (src/formats/pe). An input that parses is signed with a throwaway key into memory; the
 * output must parse again, hold one more certificate and have the same digest. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pe/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (4u << 20) /* larger signed outputs are not checked */

struct mem {
	const uint8_t *d;
	size_t n;
};

struct sink {
	uint8_t *d;
	size_t n;
};

static int mem_pread(void *ctx, void *buf, size_t n, uint64_t off, struct bs_error *err)
{
	const struct mem *m = ctx;
	if (off > m->n || n > m->n - off)
		return bs_error_set(err, BS_ERR_FORMAT, "short");
	memcpy(buf, m->d + off, n);
	return 0;
}

static int sink_write(void *ctx, const void *data, size_t n, struct bs_error *err)
{
	struct sink *s = ctx;
	if (n > OUT_MAX - s->n)
		return bs_error_set(err, BS_ERR_LIMIT, "big");
	memcpy(s->d + s->n, data, n);
	s->n += n;
	return 0;
}

static int sink_pwrite(void *ctx, const void *data, size_t n, uint64_t off,
		       struct bs_error *err)
{
	struct sink *s = ctx;
	if (off > s->n || n > s->n - off)
		__builtin_trap(); /* the writer only patches bytes it wrote */
	memcpy(s->d + off, data, n);
	(void)err;
	return 0;
}

static struct bs_key *g_key;
static X509 *g_cert;

static void setup(void)
{
	if (g_key != NULL)
		return;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	g_cert = X509_new();
	if (k == NULL || g_cert == NULL)
		abort();
	ASN1_INTEGER_set(X509_get_serialNumber(g_cert), 1);
	X509_set_issuer_name(g_cert, X509_get_subject_name(g_cert));
	X509_set_pubkey(g_cert, k);
	if (X509_sign(g_cert, k, EVP_sha256()) <= 0 || bs_key_from_pkey(&g_key, k, "fuzz", NULL))
		abort();
}

static int digest(const struct mem *m, struct bs_pe_image **pe, uint8_t *dg, size_t *dl)
{
	struct bs_pe_reader r = {.pread = mem_pread, .ctx = (void *)m, .size = m->n};
	if (bs_pe_parse(pe, &r, NULL) != 0)
		return -1;
	if (bs_pe_digest(dg, dl, *pe, &r, NID_sha256, NULL) != 0)
		__builtin_trap(); /* a parsed image is always within the file */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	struct mem in = {data, size};
	struct bs_pe_image *pe = NULL, *pe2 = NULL;
	uint8_t dg[EVP_MAX_MD_SIZE], dg2[EVP_MAX_MD_SIZE];
	size_t dl = 0, dl2 = 0, len = 0;
	if (digest(&in, &pe, dg, &dl) != 0)
		return 0;
	uint8_t *p7 = NULL;
	struct sink out = {malloc(OUT_MAX), 0};
	struct bs_pe_reader r = {.pread = mem_pread, .ctx = &in, .size = size};
	struct bs_pe_writer w = {.write = sink_write, .pwrite = sink_pwrite, .ctx = &out};
	if (out.d == NULL || bs_pe_authenticode(&p7, &len, g_key, g_cert, NID_sha256, dg, dl, 1,
						NULL) != 0)
		abort();
	if (bs_pe_write_signed(&w, pe, &r, p7, len, NULL) == 0) {
		struct mem signed_img = {out.d, out.n};
		if (digest(&signed_img, &pe2, dg2, &dl2) != 0 || dl2 != dl ||
		    memcmp(dg, dg2, dl) != 0 || pe2->ncerts != pe->ncerts + 1)
			__builtin_trap();
	}
	bs_pe_free(pe2);
	bs_pe_free(pe);
	free(p7);
	free(out.d);
	return 0;
}
