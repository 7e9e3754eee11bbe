/* Audit log verification (audit.h): sequence, record hashes, chain, seals. */
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "auth/audit.h"
#include "auth/audit_int.h"
#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"
#include "crypto/key.h"

static int unhex(uint8_t *out, size_t *out_len, const char *hex, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = bs_hex_digit(hex[2 * i]), lo = bs_hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = n / 2;
	return 0;
}

static int check_seal(const char *line, size_t body_len, EVP_PKEY *pub, const char *keyid,
		      const char *where, struct bs_error *err)
{
	char sighex[2 * BS_AUDIT_SIG_MAX + 2], kid[24];
	uint8_t sig[BS_AUDIT_SIG_MAX];
	size_t siglen = 0;
	if (bs_audit_field(sighex, sizeof(sighex), line, "seal") != 0 ||
	    unhex(sig, &siglen, sighex, sizeof(sig)) != 0 || siglen == 0)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: malformed seal", where);
	if (bs_audit_field(kid, sizeof(kid), line, "keyid") != 0 || strcmp(kid, keyid) != 0)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: sealed by key %s, not by the key "
				    "given (%s)", where, kid, keyid);
	uint8_t md[32];
	unsigned mdlen = 0;
	if (EVP_Digest(line, body_len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return bs_error_set(err, BS_ERR_CRYPTO, "%s: digest", where);
	const struct bs_sig_params p = {.md_nid = NID_sha256, .scheme = BS_SIG_DEFAULT,
					.pss_saltlen = -1};
	if (bs_sig_verify(pub, &p, md, sizeof(md), sig, siglen, NULL) != 0)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: seal signature does not verify",
				    where);
	return 0;
}

int bs_audit_verify(struct bs_audit_summary *out, FILE *f, const char *name, EVP_PKEY *pub,
		    struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	char keyid[17] = "";
	if (pub != NULL && bs_audit_keyid(keyid, pub) != 0)
		return bs_error_ssl(err, BS_ERR_KEY, "public key");
	char prev[65];
	memset(prev, '0', 64);
	prev[64] = '\0';
	uint64_t seq = 0;
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		lineno++;
		char where[BS_PATH_MAX + 64];
		snprintf(where, sizeof(where), "%s:%lu: record %llu", name, lineno,
			 (unsigned long long)seq + 1);
		if ((size_t)n > BS_AUDIT_LINE_MAX) {
			rc = bs_error_set(err, BS_ERR_VERIFY, "%s: longer than %u bytes", where,
					  BS_AUDIT_LINE_MAX);
			break;
		}
		if (line[n - 1] != '\n' || memchr(line, '\0', (size_t)n) != NULL) {
			rc = bs_error_set(err, BS_ERR_VERIFY, "%s: truncated (no end of line)", where);
			break;
		}
		line[--n] = '\0';
		char *h = strstr(line, "\thash=");
		char *h2;
		while (h != NULL && (h2 = strstr(h + 1, "\thash=")) != NULL)
			h = h2;
		char calc[65], s[24], p[80];
		uint64_t v = 0;
		if (h == NULL || strlen(h + 6) != 64) {
			rc = bs_error_set(err, BS_ERR_VERIFY, "%s: no record hash (truncated or "
					  "edited)", where);
			break;
		}
		bs_audit_hash(calc, line, (size_t)(h - line));
		if (strcmp(calc, h + 6) != 0) {
			rc = bs_error_set(err, BS_ERR_VERIFY, "%s: record hash does not match its "
					  "content (edited)", where);
			break;
		}
		if (bs_audit_field(s, sizeof(s), line, "seq") != 0 ||
		    bs_parse_u64(&v, s, 10, 1, UINT64_MAX - 1, "seq", NULL) != 0 || v != seq + 1) {
			rc = bs_error_set(err, BS_ERR_VERIFY, "%s: sequence number %s where %llu was "
					  "expected (records deleted, reordered or inserted)", where,
					  s, (unsigned long long)seq + 1);
			break;
		}
		if (bs_audit_field(p, sizeof(p), line, "prev") != 0 || strcmp(p, prev) != 0) {
			rc = bs_error_set(err, BS_ERR_VERIFY, "%s: does not chain to the record "
					  "before it (records deleted, reordered or replaced)", where);
			break;
		}
		char *sealf = strstr(line, "\tseal=");
		if (sealf != NULL) {
			out->seals++;
			out->after_last_seal = 0;
			if (pub != NULL) {
				rc = check_seal(line, (size_t)(sealf - line), pub, keyid, where, err);
				if (rc == 0)
					out->seals_checked++;
			}
		} else {
			out->records++;
			out->after_last_seal++;
		}
		seq = v;
		memcpy(prev, h + 6, 65);
	}
	if (rc == 0 && ferror(f))
		rc = bs_error_set(err, BS_ERR_IO, "%s: read error", name);
	free(line);
	return rc;
}
