/* U-Boot FIT images: verified-boot signing as `mkimage -F -k <keys> [-K dtb] [-r] [-c comment]
 * [-o algo]` (u-boot-tools 2023.01) does it, natively on libfdt.
 *
 * What a signing run does, in mkimage's order:
 *  1. checks the blob (fdt_check_full, a FIT's mandatory root properties, node names) and
 *     brings external image data (data-offset/data-size after the FDT) back inside, packed;
 *  2. for every image under /images (in node order): every `hash*` subnode gets `value`
 *     (the digest of the image data named by its `algo`); every `signature*` subnode is
 *     signed over the image data;
 *  3. for every configuration under /configurations: every `signature*` subnode is signed
 *     over the FDT regions of the root node, the configuration, the images it names
 *     (`sign-images`, default kernel + fdt) with their hash subnodes, and the string block,
 *     and records them in `hashed-nodes` / `hashed-strings` as U-Boot's verifier rebuilds
 *     them;
 *  4. writes `value`, `signer-name`, `signer-version`, `comment`, `timestamp` (and `algo`
 *     when overridden) into each signature node, and the public key of each signature
 *     into the control DTB as /signature/key-<key-name-hint>.
 * The output is byte-identical to mkimage's for RSA PKCS#1 v1.5 (the free space mkimage
 * leaves after its 1 KiB growth steps included), given the same timestamp.
 *
 * Keys come through a callback by key-name-hint, so the caller decides where a name
 * resolves (a key store file, a token object); this module never opens a key itself. */
#ifndef BS_FORMATS_FIT_H
#define BS_FORMATS_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "crypto/key.h"

/* Bounds on input: core/limits.h (BS_FIT_*_MAX). What follows are mkimage's and U-Boot's
 * own numbers, which the output must follow. */
#define BS_FIT_GROW_STEP 1024u                /* mkimage grows the blobs in 1 KiB steps ... */
#define BS_FIT_GROW_MAX (64u * 1024)          /* ... up to 64 KiB, then gives up */
#define BS_FIT_IMPORT_ROOM 16384u             /* room mkimage gives external data on import */
#define BS_FIT_SLACK (BS_FIT_GROW_MAX + 2 * BS_FIT_IMPORT_ROOM) /* work room after a FIT */
#define BS_FIT_PATH_MAX 200                   /* a node path (U-Boot's region finder buffer) */
#define BS_FIT_HASHED_NODES_MAX 100           /* U-Boot's IMAGE_MAX_HASHED_NODES */
#define BS_FIT_REGIONS_MAX 100                /* mkimage's fdt_regions[] for one config */
#define BS_FIT_SIGNER_VERSION "2023.01"       /* mkimage's signer-version (PLAIN_VERSION) */

/* Where keys come from: the key for a signature node's key-name-hint. *out is a new
 * reference the module frees. BS_ERR_NOT_FOUND when there is no such key. */
struct bs_fit_keys {
	int (*get)(void *ctx, const char *hint, struct bs_key **out, struct bs_error *err);
	/* Optional: told every digest signed or stored ("conf-1/signature-1", NID, bytes). */
	int (*note)(void *ctx, const char *what, int md_nid, const uint8_t *d, size_t len,
		    struct bs_error *err);
	void *ctx;
};

struct bs_fit_opts {
	const char *algo;    /* -o: overrides every signature node's algo (NULL = its own) */
	const char *comment; /* -c: written as `comment` (NULL = none) */
	bool require;        /* -r: key nodes get required = "conf" / "image" */
	time_t timestamp;    /* signature timestamp (SOURCE_DATE_EPOCH), 0 = now */
};

/* A blob being worked on: data[0..len) is the file, cap bytes allocated. */
struct bs_fit_blob {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Sign a FIT (and add public keys to a control DTB when dtb != NULL).
 * fit: a malloc'd buffer the call takes over (resized in place: pass a buffer with
 *      BS_FIT_SLACK bytes of room after len to avoid a copy); on success it holds the
 *      signed FIT, on failure it is freed and zeroed.
 * dtb: likewise for the control DTB, or NULL.
 * Errors: BS_ERR_FORMAT (not a FIT / malformed FDT / bad external data), BS_ERR_INVALID
 * (unknown algo or padding, no key-name-hint, image without data, a key that does not fit
 * the algo), BS_ERR_UNSUPPORTED (encrypted images), BS_ERR_NOT_FOUND (key missing),
 * BS_ERR_LIMIT (too many nodes or regions, more than 64 KiB of growth). */
int bs_fit_sign(struct bs_fit_blob *fit, struct bs_fit_blob *dtb, const struct bs_fit_opts *o,
		const struct bs_fit_keys *keys, struct bs_error *err) BS_WUR;

/* Check a blob is a well-formed FIT (as mkimage and U-Boot require) without changing it. */
int bs_fit_check(const uint8_t *data, size_t len, struct bs_error *err) BS_WUR;

/* Check a control DTB (well-formed FDT within len bytes). */
int bs_fit_check_dtb(const uint8_t *data, size_t len, struct bs_error *err) BS_WUR;

/* Is `name` usable as a key name (it becomes a DTB node name and a key-store file name):
 * [A-Za-z0-9._+-], 1..BS_FIT_NAME_MAX bytes, no ".."? */
bool bs_fit_key_name_ok(const char *name);

/* Is `algo` ("sha256,rsa2048") a signature algorithm mkimage knows? */
bool bs_fit_algo_known(const char *algo);

void bs_fit_blob_free(struct bs_fit_blob *b);

#endif
