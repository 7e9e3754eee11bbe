/* OP-TEE: which members of an uploaded archive are TAs to sign.
 *
 * "<dir>/<uuid>.stripped.elf" is a TA image; "<dir>/<uuid>.ta-version" (optional, same
 * directory and UUID) holds its version. Each image becomes "<dir>/<uuid>.ta" (the UUID in
 * canonical lower case, as OP-TEE's loader looks it up); its version file is dropped.
 * Every other member passes through unchanged. */
#ifndef BS_FORMATS_OPTEE_TA_SET_H
#define BS_FORMATS_OPTEE_TA_SET_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/optee/ta.h"

#define BS_OPTEE_IMG_SUFFIX ".stripped.elf"
#define BS_OPTEE_VERSION_SUFFIX ".ta-version"
#define BS_OPTEE_TA_SUFFIX ".ta"
#define BS_OPTEE_NO_PAIR SIZE_MAX

enum bs_optee_role {
	BS_OPTEE_OTHER = 0,   /* copied unchanged */
	BS_OPTEE_IMAGE = 1,   /* signed into a .ta */
	BS_OPTEE_VERSION = 2, /* read for its image, not copied */
};

struct bs_optee_member {
	enum bs_optee_role role;
	uint8_t uuid[BS_OPTEE_UUID_LEN]; /* IMAGE and VERSION */
	size_t pair; /* IMAGE: index of its VERSION member; VERSION: of its IMAGE;
		      * BS_OPTEE_NO_PAIR when none */
};

/* Classify n member names (regular files; directories etc. are the caller's business and
 * count as OTHER). out holds n entries. BS_ERR_INVALID naming the member (as
 * "<field>: member \"...\"") for: an image or version file whose name is not a UUID, two
 * images or two version files for one directory and UUID (e.g. different case), a version
 * file without its image, an output name "<dir>/<uuid>.ta" that another member already
 * has; and when there is no image at all. BS_ERR_NOMEM. */
int bs_optee_plan(struct bs_optee_member *out, const char *const *names, size_t n,
		  const char *field, struct bs_error *err) BS_WUR;

/* The .ta name for image member `name` with `uuid`: "<dir>/<uuid>.ta". BS_ERR_LIMIT if it
 * does not fit cap bytes. */
int bs_optee_ta_name(char *out, size_t cap, const char *name,
		     const uint8_t uuid[BS_OPTEE_UUID_LEN], struct bs_error *err) BS_WUR;

#endif
