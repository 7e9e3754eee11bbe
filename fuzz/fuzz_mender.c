/* Fuzz target: the Mender artifact reader/rewriter (src/formats/mender/artifact.c) over
 * the hostile tar reader. The input is an artifact, fed in uneven chunks; it is signed
 * with a fixed P-256 key into a bounded buffer. A signed output must itself be accepted
 * again (it is an artifact with the same members) and carry exactly one manifest.sig.
 * The same bytes also go to the version and manifest parsers directly. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/mender/artifact.h"

#define OUT_MAX (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *d;
	size_t n, off;
};

struct dst {
	uint8_t *d;
	size_t n;
};

static int src_read(void *ctx, void *buf, size_t cap, size_t *got, struct bs_error *err)
{
	(void)err;
	struct src *s = ctx;
	size_t k = s->n - s->off, step = 1 + (s->off * 31 + 7) % 4093;
	k = k > step ? step : k;
	k = k > cap ? cap : k;
	memcpy(buf, s->d + s->off, k);
	s->off += k;
	*got = k;
	return 0;
}

static int dst_write(void *ctx, const void *buf, size_t n, struct bs_error *err)
{
	struct dst *d = ctx;
	if (n > OUT_MAX - d->n)
		return bs_error_set(err, BS_ERR_LIMIT, "fuzz output full");
	memcpy(d->d + d->n, buf, n);
	d->n += n;
	return 0;
}

static struct bs_key *fuzz_key(void)
{
	static struct bs_key *key;
	if (key == NULL) {
		EVP_PKEY *pk = EVP_EC_gen("P-256");
		if (pk == NULL || bs_key_from_pkey(&key, pk, "fuzz", NULL) != 0)
			abort();
	}
	return key;
}

/* Members named manifest.sig in a signed output (read back with the tar reader). */
static size_t count_sigs(const uint8_t *d, size_t n)
{
	struct src s = {d, n, 0};
	struct bs_tar *t = NULL;
	const struct bs_tar_member *m = NULL;
	size_t c = 0;
	if (bs_tar_open(&t, src_read, &s, NULL, NULL) != 0)
		abort();
	while (bs_tar_next(&m, t, NULL) == 0 && m != NULL)
		c += strcmp(m->path, "manifest.sig") == 0;
	bs_tar_free(t);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bs_tar_limits lim = {.members = 64, .unpacked = 2u << 20,
						 .ratio_floor = 1u << 20};
	if (bs_mender_version_check(data, size, NULL) == 0 && size < 2)
		abort(); /* the shortest object is "{}" (and that lacks the format) */
	char *text = malloc(size + 1);
	struct dst out = {.d = malloc(OUT_MAX)}, again = {.d = malloc(OUT_MAX)};
	if (text == NULL || out.d == NULL || again.d == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	struct bs_mender_entry *e = NULL;
	size_t n = 0;
	if (bs_mender_manifest_parse(&e, &n, text, NULL) == 0 && (n == 0 || e == NULL))
		abort();
	free(e);

	struct src in = {data, size, 0};
	if (bs_mender_resign(NULL, src_read, &in, &lim, dst_write, &out, fuzz_key(), NULL) == 0) {
		struct src in2 = {out.d, out.n, 0};
		if (bs_mender_resign(NULL, src_read, &in2, &lim, dst_write, &again, fuzz_key(),
				     NULL) != 0 || count_sigs(out.d, out.n) != 1)
			abort();
	}
	free(again.d);
	free(out.d);
	free(text);
	return 0;
}
