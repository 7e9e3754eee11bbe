/* Shared inside src/formats/fit/ only: FDT write helpers that track how far a blob grew,
 * the algorithm tables, the region finder and the public-key writer. */
#ifndef BS_FORMATS_FIT_INT_H
#define BS_FORMATS_FIT_INT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/fit/fit.h"

#define BS_FIT_DIGEST_MAX 64 /* SHA-512 */

/* A blob being written, with the most bytes its data ever used (mkimage retries with more
 * room until every write fits, so this decides the size of its output). */
struct bs_fit_fdt {
	void *fdt;
	size_t high;   /* max over all writes of off_dt_strings + size_dt_strings */
	const char *what; /* "FIT" or "DTB", for messages */
};

int bs_fit_setprop(struct bs_fit_fdt *f, int node, const char *name, const void *val,
		   size_t len, struct bs_error *err) BS_WUR;
int bs_fit_setprop_str(struct bs_fit_fdt *f, int node, const char *name, const char *s,
		       struct bs_error *err) BS_WUR;
int bs_fit_setprop_u32(struct bs_fit_fdt *f, int node, const char *name, uint32_t v,
		       struct bs_error *err) BS_WUR;
/* The subnode `name` of parent, created (at the end of parent) when missing. */
int bs_fit_subnode(int *out, struct bs_fit_fdt *f, int parent, const char *name,
		   struct bs_error *err) BS_WUR;
/* The used size of a canonical blob (header, reserve map, struct, strings). */
size_t bs_fit_used(const void *fdt);

/* A signature algorithm "<hash>,<crypto>" as mkimage 2023.01 knows it (plus ecdsa384). */
enum bs_fit_crypto { BS_FIT_RSA, BS_FIT_ECDSA };
struct bs_fit_sigalg {
	int md_nid;
	size_t dlen;
	enum bs_fit_crypto crypto;
	unsigned bits;   /* RSA modulus bits / EC order bits */
};
int bs_fit_sigalg_parse(struct bs_fit_sigalg *out, const char *algo, struct bs_error *err) BS_WUR;

/* Digest of an image hash node: algo "sha1", "sha256", "sha384", "sha512", "md5", "crc32".
 * *md_nid = NID_undef for crc32. */
int bs_fit_image_hash(uint8_t *out, size_t *out_len, int *md_nid, const char *algo,
		      const uint8_t *data, size_t len, struct bs_error *err) BS_WUR;

/* FDT regions for a configuration signature, found as U-Boot's fdt_find_regions() does:
 * the listed nodes with their properties (minus data, data-size, data-position,
 * data-offset), the begin/end tags of their direct subnodes and parents, merged when
 * adjacent; the last region runs to the end of the struct block, plus strings_len bytes of
 * the string block. Offsets are from the start of the blob. */
struct bs_fit_region {
	size_t off;
	size_t len;
};
int bs_fit_find_regions(struct bs_fit_region *out, size_t max, size_t *n, const void *fdt,
			const char *const *nodes, size_t nnodes, size_t strings_len,
			struct bs_error *err) BS_WUR;

/* Write the public key into dtb as /signature/key-<hint> (RSA: num-bits, n0-inverse,
 * exponent, modulus, r-squared; EC: curve, x-point, y-point), with key-name-hint, algo and
 * `required` when required != NULL. */
int bs_fit_add_pubkey(struct bs_fit_fdt *dtb, EVP_PKEY *pub, const char *hint,
		      const char *algo, const char *required, struct bs_error *err) BS_WUR;

/* Check a FIT and bring it into the form mkimage signs (fit_input.c): external data
 * imported, packed, at least BS_FIT_SLACK bytes of room after len. */
int bs_fit_prepare(struct bs_fit_blob *b, struct bs_error *err) BS_WUR;

#endif
