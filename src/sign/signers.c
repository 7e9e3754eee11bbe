/* The signer table and helpers shared by every signer. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sign/signer.h"

extern const struct bs_signer bs_signer_imx;
extern const struct bs_signer bs_signer_modules;
extern const struct bs_signer bs_signer_uefi;
extern const struct bs_signer bs_signer_optee;
extern const struct bs_signer bs_signer_swupdate;
extern const struct bs_signer bs_signer_mender;
extern const struct bs_signer bs_signer_fitimage;

/* One line per format. */
static const struct bs_signer *const g_signers[] = {
	&bs_signer_imx,
	&bs_signer_modules,
	&bs_signer_uefi,
	&bs_signer_optee,
	&bs_signer_swupdate,
	&bs_signer_mender,
	&bs_signer_fitimage,
};

const struct bs_signer *bs_signer_find(const char *name)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(g_signers); i++)
		if (strcmp(g_signers[i]->name, name) == 0)
			return g_signers[i];
	return NULL;
}

const struct bs_signer *const *bs_signers(size_t *n)
{
	*n = BS_ARRAY_SIZE(g_signers);
	return g_signers;
}
