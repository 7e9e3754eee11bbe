/* The i.MX SoC table (see soc.h). */
#include "formats/hab/soc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "formats/hab/hab.h"

#define MX6_FUSE true, {3, 3, 3, 3, 3, 3, 3, 3}, {0, 1, 2, 3, 4, 5, 6, 7}
#define MX7_FUSE true, {6, 6, 6, 6, 7, 7, 7, 7}, {0, 1, 2, 3, 0, 1, 2, 3}
#define MX7ULP_FUSE true, {5, 5, 5, 5, 5, 5, 5, 5}, {0, 1, 2, 3, 4, 5, 6, 7}
#define MX8M_FUSE true, {6, 6, 6, 6, 7, 7, 7, 7}, {0, 1, 2, 3, 0, 1, 2, 3}
#define NO_FUSE false, {0}, {0}
#define HAB6(n, l, caam, dcp) { n, l, BS_IMX_HAB4, 1, caam, dcp, false, MX6_FUSE }
#define AHAB(n, l) { n, l, BS_IMX_AHAB, 0, false, false, false, NO_FUSE }

static const struct bs_imx_soc socs[] = {
	HAB6("mx6", "i.MX6", true, false),
	HAB6("mx6q", "i.MX6Q", true, false),
	HAB6("mx6d", "i.MX6D", true, false),
	HAB6("mx6dq", "i.MX6DQ", true, false),
	HAB6("mx6qp", "i.MX6QP", true, false),
	HAB6("mx6dqp", "i.MX6DQP", true, false),
	HAB6("mx6dl", "i.MX6DL", true, false),
	HAB6("mx6s", "i.MX6S", true, false),
	HAB6("mx6solo", "i.MX6Solo", true, false),
	HAB6("mx6sx", "i.MX6SX", true, false),
	HAB6("mx6ul", "i.MX6UL", true, false),
	HAB6("mx6ull", "i.MX6ULL", false, true),
	HAB6("mx6ulz", "i.MX6ULZ", false, true),
	HAB6("mx6sl", "i.MX6SL", false, true),
	HAB6("mx6sll", "i.MX6SLL", false, true),
	{"mx7", "i.MX7", BS_IMX_HAB4, 1, true, false, false, MX7_FUSE},
	{"mx7d", "i.MX7D", BS_IMX_HAB4, 1, true, false, false, MX7_FUSE},
	{"mx7s", "i.MX7S", BS_IMX_HAB4, 1, true, false, false, MX7_FUSE},
	{"mx7ulp", "i.MX7ULP", BS_IMX_HAB4, 1, true, false, false, MX7ULP_FUSE},
	{"mx8m", "i.MX8M", BS_IMX_HAB4, 12, true, false, false, MX8M_FUSE},
	{"mx8mq", "i.MX8MQ", BS_IMX_HAB4, 12, true, false, false, MX8M_FUSE},
	{"mx8mm", "i.MX8MM", BS_IMX_HAB4, 12, true, false, false, MX8M_FUSE},
	{"mx8mn", "i.MX8MN", BS_IMX_HAB4, 12, true, false, false, MX8M_FUSE},
	{"mx8mp", "i.MX8MP", BS_IMX_HAB4, 12, true, false, false, MX8M_FUSE},
	/* i.MX5x: HAB4 with SAHARA; accepted, fuse map not confirmed here */
	{"mx50", "i.MX50", BS_IMX_HAB4, 1, false, false, true, NO_FUSE},
	{"mx53", "i.MX53", BS_IMX_HAB4, 1, false, false, true, NO_FUSE},
	AHAB("mx8qxp", "i.MX8QXP"),
	AHAB("mx8qm", "i.MX8QM"),
	AHAB("mx8ulp", "i.MX8ULP"),
	AHAB("mx91", "i.MX91"),
	AHAB("mx93", "i.MX93"),
	AHAB("mx95", "i.MX95"),
};

const struct bs_imx_soc *bs_imx_soc_find(const char *soctype)
{
	char norm[BS_IMX_SOC_NAME_MAX];
	size_t n = 0;
	if (soctype == NULL)
		return NULL;
	const char *p = soctype;
	if (tolower((unsigned char)p[0]) == 'i')
		p++;
	for (; *p != '\0' && n + 1 < sizeof(norm); p++)
		if (*p != '.' && *p != '-' && *p != '_')
			norm[n++] = (char)tolower((unsigned char)*p);
	norm[n] = '\0';
	if (*p != '\0' || n == 0)
		return NULL;
	for (size_t i = 0; i < BS_ARRAY_SIZE(socs); i++)
		if (strcmp(socs[i].name, norm) == 0)
			return &socs[i];
	return NULL;
}

char *bs_imx_soc_names(char *out, size_t out_len)
{
	size_t used = 0;
	if (out_len == 0)
		return out;
	out[0] = '\0';
	for (size_t i = 0; i < BS_ARRAY_SIZE(socs); i++) {
		int k = snprintf(out + used, out_len - used, "%s%s", i ? ", " : "", socs[i].name);
		if (k < 0 || (size_t)k >= out_len - used) {
			out[used] = '\0'; /* whole names only */
			break;
		}
		used += (size_t)k;
	}
	return out;
}

int bs_imx_soc_lookup(const struct bs_imx_soc **out, const char *soctype,
		      struct bs_error *err)
{
	*out = bs_imx_soc_find(soctype);
	if (*out != NULL)
		return 0;
	char names[512];
	char shown[BS_IMX_SOC_NAME_MAX * 2];
	snprintf(shown, sizeof(shown), "%s", soctype ? soctype : "");
	for (char *q = shown; *q != '\0'; q++)
		if (!isprint((unsigned char)*q) || *q == '\'')
			*q = '?';
	return bs_error_set(err, BS_ERR_INVALID, "unknown soctype '%s' (known: %s)", shown,
			    bs_imx_soc_names(names, sizeof(names)));
}

static const char *engine_missing(const struct bs_imx_soc *soc, uint8_t eng)
{
	switch (eng) {
	case HAB_ENG_SAHARA:
	case HAB_ENG_RTIC:
	case HAB_ENG_SCC:
		return soc->mx5 ? NULL : "an i.MX5-era engine";
	case HAB_ENG_DCP:
		return soc->dcp ? NULL : "DCP";
	case HAB_ENG_CAAM:
		return soc->caam ? NULL : "CAAM";
	default:
		return NULL;
	}
}

static bool uses_engine(enum bs_csf_kind k)
{
	return k == BS_CSF_HEADER || k == BS_CSF_AUTH_CSF || k == BS_CSF_AUTH_DATA ||
	       k == BS_CSF_DECRYPT_DATA || k == BS_CSF_SET_ENGINE || k == BS_CSF_UNLOCK ||
	       k == BS_CSF_INIT;
}

int bs_hab_check_soc(const struct bs_csf *csf, const struct bs_imx_soc *soc,
		     struct bs_error *err)
{
	const char *file = csf->filename ? csf->filename : "<csf>";
	if (soc->family != BS_IMX_HAB4)
		return bs_error_set(err, BS_ERR_SEMANTIC,
				    "%s: HAB4 does not run on %s (soctype %s): it boots signed AHAB "
				    "containers, not an IVT with a HAB4 CSF",
				    file, soc->label, soc->name);
	for (size_t i = 0; i < csf->ncmds; i++) {
		const struct bs_csf_cmd *c = &csf->cmds[i];
		if (c->kind == BS_CSF_HEADER && c->version > 0x45)
			return bs_error_set(err, BS_ERR_SEMANTIC,
					    "%s:%u:%u: Version %u.%u: no HAB4 ROM is newer than "
					    "4.5 (%s)", file, c->line, c->col, c->version >> 4,
					    c->version & 15, soc->label);
		const char *why = uses_engine(c->kind) ? engine_missing(soc, c->engine) : NULL;
		if (why != NULL)
			return bs_error_set(err, BS_ERR_SEMANTIC,
					    "%s:%u:%u: [%s] Engine 0x%02x is %s, which %s does not "
					    "have", file, c->line, c->col, bs_csf_kind_name(c->kind),
					    c->engine, why, soc->label);
	}
	return 0;
}
