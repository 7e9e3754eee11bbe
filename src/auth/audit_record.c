/* Audit record helpers shared by the writer and the verifier (audit_int.h). */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "auth/audit.h"
#include "auth/audit_int.h"
#include "core/util.h"

void bs_audit_hash(char out[65], const void *data, size_t len)
{
	uint8_t md[32];
	unsigned mdlen = 0;
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));
	bs_hex(out, md, sizeof(md));
}

int bs_audit_keyid(char out[17], EVP_PKEY *pub)
{
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(pub, &der);
	if (n <= 0)
		return -1;
	char h[65];
	bs_audit_hash(h, der, (size_t)n);
	OPENSSL_free(der);
	memcpy(out, h, 16);
	out[16] = '\0';
	return 0;
}

int bs_audit_field(char *out, size_t cap, const char *line, const char *key)
{
	size_t kl = strlen(key);
	const char *p = line;
	for (;;) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t n = strcspn(v, "\t\n");
			if (n >= cap)
				n = cap - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, '\t');
		if (p == NULL)
			return -1;
		p++;
	}
}
