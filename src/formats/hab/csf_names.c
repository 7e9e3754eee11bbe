/* CSF name tables: sections and arguments as documented, their normalised spellings
 * (upper case, no separators) and the arguments each section accepts. Shared by the
 * grammar (csf_parse.c) and the semantic pass (csf_validate.c, csf_value.c, csf_unlock.c). */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "formats/hab/csf_int.h"

#define A(id) CSF_ARG_BIT(id)

static const struct csf_section_def sections[] = {
	{"HEADER", "Header", BS_CSF_HEADER,
	 A(CSF_ARG_TARGET) | A(CSF_ARG_VERSION) | A(CSF_ARG_MODE) | A(CSF_ARG_HASH) |
		 A(CSF_ARG_ENGINE) | A(CSF_ARG_ENGCFG) | A(CSF_ARG_CERTFMT) | A(CSF_ARG_SIGFMT) |
		 A(CSF_ARG_SIGSIZE)},
	{"INSTALLSRK", "Install SRK", BS_CSF_INSTALL_SRK,
	 A(CSF_ARG_FILE) | A(CSF_ARG_SRCIDX) | A(CSF_ARG_VFYIDX) | A(CSF_ARG_HASH) |
		 A(CSF_ARG_SRCSET) | A(CSF_ARG_CERTFMT)},
	{"INSTALLCSFK", "Install CSFK", BS_CSF_INSTALL_CSFK, A(CSF_ARG_FILE) | A(CSF_ARG_CERTFMT)},
	{"INSTALLNOCAK", "Install NOCAK", BS_CSF_INSTALL_NOCAK,
	 A(CSF_ARG_FILE) | A(CSF_ARG_CERTFMT)},
	{"AUTHENTICATECSF", "Authenticate CSF", BS_CSF_AUTH_CSF,
	 A(CSF_ARG_ENGINE) | A(CSF_ARG_ENGCFG) | A(CSF_ARG_SIGFMT)},
	{"INSTALLKEY", "Install Key", BS_CSF_INSTALL_KEY,
	 A(CSF_ARG_FILE) | A(CSF_ARG_VFYIDX) | A(CSF_ARG_SRCIDX) | A(CSF_ARG_TGTIDX) |
		 A(CSF_ARG_CERTFMT) | A(CSF_ARG_HASH)},
	{"AUTHENTICATEDATA", "Authenticate Data", BS_CSF_AUTH_DATA,
	 A(CSF_ARG_VFYIDX) | A(CSF_ARG_BLOCKS) | A(CSF_ARG_ENGINE) | A(CSF_ARG_ENGCFG) |
		 A(CSF_ARG_SIGFMT) | A(CSF_ARG_HASH)},
	{"INSTALLSECRETKEY", "Install Secret Key", BS_CSF_INSTALL_SECRET_KEY,
	 A(CSF_ARG_KEY) | A(CSF_ARG_KEYLEN) | A(CSF_ARG_VFYIDX) | A(CSF_ARG_SRCIDX) |
		 A(CSF_ARG_TGTIDX) | A(CSF_ARG_BLOBADDR)},
	{"DECRYPTDATA", "Decrypt Data", BS_CSF_DECRYPT_DATA,
	 A(CSF_ARG_VFYIDX) | A(CSF_ARG_BLOCKS) | A(CSF_ARG_ENGINE) | A(CSF_ARG_ENGCFG) |
		 A(CSF_ARG_MACBYTES)},
	{"NOP", "NOP", BS_CSF_NOP, 0},
	{"SETENGINE", "Set Engine", BS_CSF_SET_ENGINE,
	 A(CSF_ARG_HASH) | A(CSF_ARG_ENGINE) | A(CSF_ARG_ENGCFG)},
	{"UNLOCK", "Unlock", BS_CSF_UNLOCK, A(CSF_ARG_ENGINE) | A(CSF_ARG_FEATURES) | A(CSF_ARG_UID)},
	{"INIT", "Init", BS_CSF_INIT, A(CSF_ARG_ENGINE) | A(CSF_ARG_FEATURES) | A(CSF_ARG_UID)},
};

struct arg_def {
	const char *norm;
	const char *name;
};

/* Indexed by enum csf_arg_id; the tail are names CST knows (removed commands, AHAB). */
static const struct arg_def args[CSF_ARG_COUNT] = {
	[CSF_ARG_TARGET] = {"TARGET", "Target"},
	[CSF_ARG_VERSION] = {"VERSION", "Version"},
	[CSF_ARG_MODE] = {"MODE", "Mode"},
	[CSF_ARG_HASH] = {"HASHALGORITHM", "Hash Algorithm"},
	[CSF_ARG_ENGINE] = {"ENGINE", "Engine"},
	[CSF_ARG_ENGCFG] = {"ENGINECONFIGURATION", "Engine Configuration"},
	[CSF_ARG_CERTFMT] = {"CERTIFICATEFORMAT", "Certificate Format"},
	[CSF_ARG_SIGFMT] = {"SIGNATUREFORMAT", "Signature Format"},
	[CSF_ARG_SIGSIZE] = {"SIGNATURESIZE", "Signature Size"},
	[CSF_ARG_FILE] = {"FILE", "File"},
	[CSF_ARG_SRCIDX] = {"SOURCEINDEX", "Source Index"},
	[CSF_ARG_VFYIDX] = {"VERIFICATIONINDEX", "Verification Index"},
	[CSF_ARG_TGTIDX] = {"TARGETINDEX", "Target Index"},
	[CSF_ARG_SRCSET] = {"SOURCESET", "Source Set"},
	[CSF_ARG_BLOCKS] = {"BLOCKS", "Blocks"},
	[CSF_ARG_FEATURES] = {"FEATURES", "Features"},
	[CSF_ARG_UID] = {"UID", "UID"},
	[CSF_ARG_KEY] = {"KEY", "Key"},
	[CSF_ARG_KEYLEN] = {"KEYLENGTH", "Key Length"},
	[CSF_ARG_BLOBADDR] = {"BLOBADDRESS", "Blob Address"},
	[CSF_ARG_MACBYTES] = {"MACBYTES", "MAC Bytes"},
	[CSF_ARG_USED_COUNT + 0] = {"WIDTH", "Width"},
	[CSF_ARG_USED_COUNT + 1] = {"ADDRESSDATA", "Address Data"},
	[CSF_ARG_USED_COUNT + 2] = {"COUNT", "Count"},
	[CSF_ARG_USED_COUNT + 3] = {"ADDRESSMASK", "Address Mask"},
	[CSF_ARG_USED_COUNT + 4] = {"BANK", "Bank"},
	[CSF_ARG_USED_COUNT + 5] = {"ROW", "Row"},
	[CSF_ARG_USED_COUNT + 6] = {"FUSE", "Fuse"},
	[CSF_ARG_USED_COUNT + 7] = {"BITS", "Bits"},
	[CSF_ARG_USED_COUNT + 8] = {"SOURCE", "Source"},
	[CSF_ARG_USED_COUNT + 9] = {"PERMISSIONS", "Permissions"},
	[CSF_ARG_USED_COUNT + 10] = {"OFFSETS", "Offsets"},
	[CSF_ARG_USED_COUNT + 11] = {"SIGNATURE", "Signature"},
	[CSF_ARG_USED_COUNT + 12] = {"REVOCATIONS", "Revocations"},
	[CSF_ARG_USED_COUNT + 13] = {"KEYIDENTIFIER", "Key Identifier"},
	[CSF_ARG_USED_COUNT + 14] = {"IMAGEINDEXES", "Image Indexes"},
};

const char *bs_csf_arg_name(int id)
{
	if (id < 0 || id >= CSF_ARG_COUNT)
		return "?";
	return args[id].name;
}

const char *bs_csf_kind_name(enum bs_csf_kind kind)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(sections); i++)
		if (sections[i].kind == kind)
			return sections[i].name;
	return "?";
}

const struct csf_section_def *bs_csf_section_find(const char *norm)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(sections); i++)
		if (strcmp(sections[i].norm, norm) == 0)
			return &sections[i];
	return NULL;
}

int bs_csf_arg_find(const char *norm)
{
	for (int i = 0; i < CSF_ARG_COUNT; i++)
		if (strcmp(args[i].norm, norm) == 0)
			return i;
	return -1;
}

void bs_csf_list_sections(char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < BS_ARRAY_SIZE(sections) && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s[%s]", i ? ", " : "", sections[i].name);
}

void bs_csf_list_args(uint64_t mask, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	if (mask == 0) {
		snprintf(buf, cap, "no arguments");
		return;
	}
	for (int i = 0; i < CSF_ARG_USED_COUNT && n < cap; i++)
		if (mask & A(i))
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "",
					      args[i].name);
}
