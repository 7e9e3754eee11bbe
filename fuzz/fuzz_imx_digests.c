/* Fuzz target: the `digests` field of digest-only /sign/imx requests, checked against a
 * fixed CSF with two [Authenticate Data] sections. Whatever is accepted must give, for
 * each section, a digest of the Header's algorithm (32 bytes) and never read bytes. */
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/hab/csf.h"
#include "formats/hab/csf_sign.h"
#include "sign/imx_digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char g_csf[] =
	"[Header]\nVersion = 4.1\nHash Algorithm = sha256\nEngine = ANY\n"
	"Engine Configuration = 0\nCertificate Format = X509\nSignature Format = CMS\n"
	"[Install SRK]\nFile = \"crts/SRK_table.bin\"\nSource index = 0\n"
	"[Install CSFK]\nFile = \"crts/CSF1_crt.pem\"\n[Authenticate CSF]\n"
	"[Install Key]\nVerification index = 0\nTarget index = 2\nFile = \"crts/IMG1_crt.pem\"\n"
	"[Authenticate Data]\nVerification index = 2\nBlocks = 0x1000 0x0 0x100 \"img.bin\"\n"
	"[Authenticate Data]\nVerification index = 2\n"
	"Blocks = 0x2000 0x1000 0x20 \"img.bin\", 0x3000 0x2000 0x40 \"img.bin\"\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bs_csf *csf;
	struct bs_error err = {0};
	if (csf == NULL && bs_csf_parse(&csf, g_csf, strlen(g_csf), "f.csf", NULL, &err) != 0)
		abort();
	if (size > 2 * BS_IMX_DIGESTS_TEXT_MAX)
		return 0;
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct bs_imx_digests *d = NULL;
	if (bs_imx_digests_parse(&d, text, csf, "f.csf", &err) == 0) {
		struct bs_data_source src = bs_imx_digests_source(d);
		for (size_t i = 0; i < csf->ncmds; i++) {
			if (csf->cmds[i].kind != BS_CSF_AUTH_DATA)
				continue;
			uint8_t out[EVP_MAX_MD_SIZE];
			size_t len = 0;
			if (src.digest(src.ctx, &csf->cmds[i], NID_sha256, out, &len, &err) != 0 ||
			    len != 32)
				abort();
		}
		bs_imx_digests_free(d);
	} else if (d != NULL || err.code == 0 || err.msg[0] == '\0') {
		abort();
	}
	free(text);
	return 0;
}
