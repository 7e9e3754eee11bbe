/* i.MX SoCs by the `soctype` names digsigserver and users give them: which boot ROM
 * (HAB4 or AHAB) authenticates the image, and what the HAB4 ROM checks. Facts from
 * docs/HAB4.md (notes 3.2, 4.4, 4.7) and U-Boot's secure-boot guides; kept conservative:
 * only what is known to be absent on a SoC is refused. */
#ifndef BS_HAB_SOC_H
#define BS_HAB_SOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/hab/csf.h"

enum bs_imx_family {
	BS_IMX_HAB4 = 1, /* i.MX6, i.MX7, i.MX8M: IVT + CSF */
	BS_IMX_AHAB = 2, /* i.MX8QXP/QM, 8ULP, 9x: signed containers */
};

#define BS_IMX_SOC_NAME_MAX 16

struct bs_imx_soc {
	const char *name;          /* canonical soctype: "mx8mp" */
	const char *label;         /* "i.MX8MP" */
	enum bs_imx_family family;
	/* HAB4: boot data bytes the ROM asserts are authenticated (HAB events on i.MX8M
	 * show len 0x0c; i.MX6/7 check 1 byte). 0 for AHAB. */
	uint8_t boot_data_len;
	bool caam, dcp;            /* hash/crypto engines the SoC has (HAB4) */
	bool mx5;                  /* i.MX5x: SAHARA, RTIC and SCC engines exist */
	/* SRK_HASH fuse word i as U-Boot `fuse prog <bank> <word>`; known = false if not
	 * confirmed for this SoC. */
	bool fuse_known;
	uint8_t fuse_bank[8], fuse_word[8];
};

/* Look up a soctype: case-insensitive, optional "i" prefix, '.' '-' '_' ignored
 * ("iMX8MP", "i.MX8MP", "mx8mp"). NULL if unknown. */
const struct bs_imx_soc *bs_imx_soc_find(const char *soctype);

/* The known soctype names, comma-separated ("mx6, mx6q, ..."), for error messages.
 * Writes at most out_len bytes (NUL-terminated); returns out. */
char *bs_imx_soc_names(char *out, size_t out_len);

/* bs_imx_soc_find, or BS_ERR_INVALID "unknown soctype 'x' (known: mx6, ...)". */
int bs_imx_soc_lookup(const struct bs_imx_soc **out, const char *soctype,
		      struct bs_error *err) BS_WUR;

/* Can this SoC run this HAB4 CSF? BS_ERR_SEMANTIC for an AHAB-only SoC ("HAB4 does not
 * run on i.MX93: it boots signed AHAB containers"), a header version above 4.5 (no HAB4
 * ROM is newer), an engine the SoC does not have (SAHARA, RTIC, SCC are i.MX5-era and
 * absent from i.MX6/7/8M; DCP is absent from i.MX8M; CAAM from i.MX6ULL/ULZ/SL/SLL),
 * with the CSF file:line of the value. */
int bs_hab_check_soc(const struct bs_csf *csf, const struct bs_imx_soc *soc,
		     struct bs_error *err) BS_WUR;

#endif
