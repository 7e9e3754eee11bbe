/* Fuzz target: the FIT reader and signer (formats/fit) on untrusted bytes. The input is
 * the FIT; every key-name-hint gets one P-256 key (fast), and a small control DTB takes
 * the public keys. Whatever is accepted must come out a well-formed FDT. The input is
 * also tried as a control DTB. */
#include <libfdt.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/fit/fit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *g_key;

static int get_key(void *ctx, const char *hint, struct bs_key **out, struct bs_error *err)
{
	EVP_PKEY_up_ref(g_key);
	return bs_key_from_pkey(out, g_key, hint, err);
}

static void small_dtb(struct bs_fit_blob *b)
{
	b->cap = 512;
	b->data = calloc(1, b->cap);
	if (b->data == NULL || fdt_create(b->data, (int)b->cap) || fdt_finish_reservemap(b->data) ||
	    fdt_begin_node(b->data, "") || fdt_end_node(b->data) || fdt_finish(b->data))
		abort();
	b->len = fdt_totalsize(b->data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (g_key == NULL && (g_key = EVP_EC_gen("P-256")) == NULL)
		abort();
	if (size > (1u << 20))
		return 0;
	if (bs_fit_check_dtb(data, size, NULL) == 0 && fdt_check_full(data, fdt_totalsize(data)) != 0)
		abort();
	struct bs_fit_blob fit = {.data = malloc(size + 1), .len = size, .cap = size + 1}, dtb;
	if (fit.data == NULL)
		abort();
	memcpy(fit.data, data, size);
	small_dtb(&dtb);
	struct bs_fit_keys keys = {.get = get_key};
	struct bs_fit_opts o = {.timestamp = 1, .require = size & 1};
	if (bs_fit_sign(&fit, &dtb, &o, &keys, NULL) == 0) {
		if (fdt_check_full(fit.data, fit.len) != 0 || fdt_check_full(dtb.data, dtb.len) != 0)
			abort();
	} else if (fit.data != NULL || dtb.data != NULL) {
		abort(); /* a failed run leaves nothing */
	}
	bs_fit_blob_free(&fit);
	bs_fit_blob_free(&dtb);
	return 0;
}
