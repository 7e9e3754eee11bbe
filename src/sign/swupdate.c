/* /sign/swupdate: SWUpdate's sw-description.sig, the digsigserver request unchanged.
 *
 * Fields: distro, sw-description (file), [method = RSA | RSA-PSS | CMS, default RSA],
 * [backend = ssl | pkcs11, default ssl], [key-uri (backend=pkcs11)]. Keys:
 * <distro>/swupdate/rsa-private.key (RSA, RSA-PSS) or <distro>/swupdate/cms.cert +
 * cms-private.key (CMS); with backend=pkcs11 the key is the token object named by key-uri,
 * and the CMS certificate is cms.cert from the key store when there is one, else the
 * token's certificate object with the same URI (type=cert). Answer: the signature
 * (formats/swupdate/swu_sig.h), Content-Disposition sw-description.sig. */
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "formats/swupdate/swu_sig.h"
#include "sign/job.h"
#include "sign/keychoice.h"
#include "sign/signer.h"

#define SWU_DESC_MAX (4u * 1024 * 1024) /* bytes of sw-description (libconfig/JSON text) */
#define SWU_READ_CHUNK 16384

#define KEY_RSA "swupdate/rsa-private.key"
#define KEY_CMS "swupdate/cms-private.key"
#define CERT_CMS "swupdate/cms.cert"

static const char *const g_methods[] = {"RSA", "RSA-PSS", "CMS", NULL};

static const struct bs_field_spec g_fields[] = {
	{.name = "distro", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = "sw-description", .store = BS_FIELD_SPOOL, .required = true,
	 .file_upload = true, .max = SWU_DESC_MAX},
	{.name = "method", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN, .choices = g_methods,
	 .default_value = "RSA"},
	BS_KEYCHOICE_FIELDS,
};

/* SHA-256 of the sw-description upload, read in chunks (spool or memory alike). */
static int hash_input(uint8_t out[BS_SWU_DIGEST_LEN], struct bs_input *in,
		      struct bs_error *err)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t *buf = malloc(SWU_READ_CHUNK);
	int rc = 0;
	if (c == NULL || buf == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		rc = bs_error_ssl(err, BS_ERR_NOMEM, "sw-description: digest set-up");
		goto out;
	}
	rc = bs_input_seek(in, 0, err);
	for (size_t got = 1; rc == 0 && got > 0;) {
		rc = bs_input_read(in, buf, SWU_READ_CHUNK, &got, err);
		if (rc == 0 && got > 0 && EVP_DigestUpdate(c, buf, got) != 1)
			rc = bs_error_ssl(err, BS_ERR_CRYPTO, "sw-description: digest");
	}
	unsigned n = 0;
	if (rc == 0 && (EVP_DigestFinal_ex(c, out, &n) != 1 || n != BS_SWU_DIGEST_LEN))
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "sw-description: digest");
out:
	free(buf);
	EVP_MD_CTX_free(c);
	return rc;
}

/* Key (and for CMS the certificate) from the key store or the token. */
static int get_keys(struct bs_key **key, X509 **cert, struct bs_job *job,
		    enum bs_swu_method method, struct bs_error *err)
{
	char name[BS_KEYCHOICE_NAME_MAX];
	bool token = false;
	int rc = bs_keychoice(name, sizeof(name), &token, job,
			      method == BS_SWU_CMS ? KEY_CMS : KEY_RSA, err);
	if (rc != 0 || method != BS_SWU_CMS)
		return rc != 0 ? rc : bs_job_key(key, job, name, NULL, err);
	if (!token || bs_job_key_exists(job, CERT_CMS)) {
		rc = bs_job_cert(cert, job, CERT_CMS, err);
	} else {
		char cu[BS_KEYCHOICE_NAME_MAX];
		rc = bs_keychoice_cert_uri(cu, sizeof(cu), name, err);
		if (rc == 0)
			rc = bs_job_cert(cert, job, cu, err);
	}
	if (rc == 0)
		rc = bs_job_key(key, job, name, *cert, err);
	return rc;
}

static int swupdate_sign(struct bs_job *job, struct bs_error *err)
{
	enum bs_swu_method method;
	int rc = bs_swu_method_parse(&method, bs_job_value(job, "method"), err);
	if (rc != 0)
		return rc;
	struct bs_input *in = bs_job_input(job, "sw-description");
	if (in == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "sw-description: missing");
	uint8_t dg[BS_SWU_DIGEST_LEN];
	rc = hash_input(dg, in, err);
	if (rc != 0)
		return rc;
	struct bs_key *key = NULL;
	X509 *cert = NULL;
	uint8_t *sig = NULL;
	size_t slen = 0;
	struct bs_sink *sink = NULL;
	rc = get_keys(&key, &cert, job, method, err);
	if (rc == 0)
		rc = bs_swu_sign(&sig, &slen, method, key, cert, dg,
				 bs_job_signing_time(job), err);
	if (rc == 0)
		rc = bs_job_note_digest(job, "sw-description", NID_sha256, dg, sizeof(dg), err);
	if (rc == 0)
		rc = bs_job_output_memory(&sink, job, NULL, "sw-description.sig", err);
	if (rc == 0)
		rc = bs_sink_write(sink, sig, slen, err);
	if (rc == 0)
		bs_job_log(job, "%s signature over sw-description (%llu bytes)",
			   bs_swu_method_name(method),
			   (unsigned long long)bs_input_size(in));
	free(sig);
	X509_free(cert);
	bs_key_free(key);
	return rc;
}

const struct bs_signer bs_signer_swupdate = {
	.name = "swupdate",
	.summary = "SWUpdate sw-description signature (RSA, RSA-PSS or CMS)",
	.subject_field = "distro",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = swupdate_sign,
};
