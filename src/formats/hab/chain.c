/* HAB4 key chain rules shared by the CSF compiler and the verifier (see chain.h). */
#include "formats/hab/chain.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdio.h>

#include "formats/hab/hab.h"

static const char *const pss_reason = BS_HAB_PSS_REASON;

int bs_hab_chain_srk(struct bs_hab_chain_key *out, const struct bs_srk_table *t,
		     unsigned index, int code, struct bs_error *err)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].tag == HAB_TAG_KEY_RSA && t->e[i].sig_alg == HAB_ALG_RSA_PSS)
			return bs_error_set(err, code,
					    "SRK table entry %zu (SRK%zu) is an RSA-PSS key: %s", i,
					    i + 1, pss_reason);
	if (index >= t->n)
		return bs_error_set(err, code,
				    "Source index = %u but the SRK table has %zu entries (0 to %zu)",
				    index, t->n, t->n - 1);
	const struct bs_srk_entry *e = &t->e[index];
	if (e->tag != HAB_TAG_KEY_RSA || e->pub == NULL)
		return bs_error_set(err, code,
				    "Source index = %u selects a hash-only SRK table entry (it holds "
				    "only a digest, no key); select an entry written with its key",
				    index);
	out->pub = e->pub;
	out->ca = e->ca;
	snprintf(out->name, sizeof(out->name), "SRK %u", index);
	return 0;
}

static bool signed_by(X509 *cert, EVP_PKEY *pub)
{
	if (pub == NULL)
		return false;
	int ok = X509_verify(cert, pub);
	ERR_clear_error();
	return ok == 1;
}

/* Which other key signed cert: " (it is signed by SRK 2)" or "". */
static void real_issuer(char *out, size_t len, X509 *cert, const struct bs_srk_table *t,
			const struct bs_hab_chain_key *others, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (t->e[i].pub != NULL && signed_by(cert, t->e[i].pub)) {
			snprintf(out, len, "; it is signed by SRK %zu", i);
			return;
		}
	for (size_t i = 0; i < n; i++)
		if (signed_by(cert, others[i].pub)) {
			snprintf(out, len, "; it is signed by %s", others[i].name);
			return;
		}
	snprintf(out, len, "; no key of the SRK table%s signed it",
		 n ? " or of an installed slot" : "");
}

int bs_hab_chain_cert(X509 *cert, const char *what, const struct bs_hab_chain_key *issuer,
		      const struct bs_srk_table *t, const struct bs_hab_chain_key *others,
		      size_t n, int code, struct bs_error *err)
{
	if (bs_hab_cert_uses_pss(cert))
		return bs_error_set(err, code, "%s: %s", what, pss_reason);
	if (issuer->pub == NULL)
		return bs_error_set(err, code, "%s: %s holds no key to verify it", what,
				    issuer->name);
	if (!signed_by(cert, issuer->pub)) {
		char who[96];
		real_issuer(who, sizeof(who), cert, t, others, n);
		return bs_error_set(err, code,
				    "%s is not signed by %s, which verifies it%s", what,
				    issuer->name, who);
	}
	if (!issuer->ca)
		return bs_error_set(err, code,
				    "%s: %s is not a CA key and cannot verify further keys (HAB "
				    "answers HAB_INV_KEY); it needs basicConstraints CA:TRUE",
				    what, issuer->name);
	return 0;
}

int bs_hab_chain_nocak(X509 *cert, const char *what, const struct bs_hab_chain_key *srk,
		       const struct bs_srk_table *t, int code, struct bs_error *err)
{
	if (cert != NULL) {
		if (bs_hab_cert_uses_pss(cert))
			return bs_error_set(err, code, "%s: %s", what, pss_reason);
		EVP_PKEY *pub = X509_get0_pubkey(cert);
		if (pub == NULL || EVP_PKEY_eq(pub, srk->pub) != 1) {
			ERR_clear_error();
			char which[64] = "";
			for (size_t i = 0; t != NULL && pub != NULL && i < t->n; i++)
				if (t->e[i].pub != NULL && EVP_PKEY_eq(pub, t->e[i].pub) == 1) {
					snprintf(which, sizeof(which), " (it holds SRK %zu's key)", i);
					break;
				}
			ERR_clear_error();
			return bs_error_set(err, code,
					    "%s: fast authentication signs with the selected SRK "
					    "entry's own key, but this certificate is not %s's%s",
					    what, srk->name, which);
		}
	}
	if (srk->ca)
		return bs_error_set(err, code,
				    "%s: fast authentication needs non-CA SRKs, but %s carries the "
				    "CA flag (HAB answers HAB_INV_KEY); build the SRK table from "
				    "certificates without CA:TRUE",
				    what, srk->name);
	return 0;
}
