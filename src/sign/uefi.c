/* /sign/tegra/uefi: UEFI Secure Boot signing for NVIDIA Jetson (digsigserver's endpoint).
 *
 * Fields: machine, signing_type (sbsign | signature | attach_signature), artifact, and
 * [backend=ssl|pkcs11], [key-uri] (backend=pkcs11). Keys: <machine>/uefisign/db.key and
 * <machine>/uefisign/db.crt, or the token key named by key-uri with the certificate from the
 * store file, or from the token (the same object as type=cert) when the store has none.
 *  sbsign:           the PE/COFF image Authenticode-signed (formats/pe), as sbsign does;
 *  signature:        a detached CMS signature over the artifact, as `openssl cms -sign
 *                    -binary -outform DER` writes it (default attributes, certificate);
 *  attach_signature: the artifact zero-padded to a multiple of 2048 bytes, then that
 *                    signature (NVIDIA's L4TLauncher layout). */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "crypto/cms.h"
#include "formats/pe/pe.h"
#include "sign/job.h"
#include "sign/signer.h"

#define KEY_FILE "uefisign/db.key"
#define CERT_FILE "uefisign/db.crt"
#define KEY_URI_MAX 1024u
#define ATTACH_ALIGN 2048u   /* attach_signature pads the artifact to this */
#define HASH_CHUNK (64u * 1024u)

static const char *const g_types[] = {"sbsign", "signature", "attach_signature", NULL};
static const char *const g_backends[] = {"ssl", "pkcs11", NULL};

static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = "signing_type", .store = BS_FIELD_MEM, .required = true,
	 .check = BS_CHECK_TOKEN, .choices = g_types},
	{.name = "artifact", .store = BS_FIELD_SPOOL, .required = true, .file_upload = true},
	{.name = "backend", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,
	 .choices = g_backends, .default_value = "ssl"},
	{.name = "key-uri", .store = BS_FIELD_MEM, .max = KEY_URI_MAX, .check = BS_CHECK_TOKEN},
};

/* The certificate object beside a token key: the key URI with type=cert instead of its
 * type attribute (path attributes are ';'-separated before any '?query'). */
static int cert_uri(char **out, const char *key_uri, struct bs_error *err)
{
	static const char scheme[] = "pkcs11:";
	const size_t sl = sizeof(scheme) - 1;
	if (strncmp(key_uri, scheme, sl) != 0)
		return bs_error_set(err, BS_ERR_INVALID, "key-uri: not a pkcs11: URI");
	size_t n = strlen(key_uri);
	const char *q = strchr(key_uri, '?');
	const char *p = key_uri + sl, *end = q ? q : key_uri + n;
	char *u = malloc(n + sizeof(";type=cert"));
	if (u == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	memcpy(u, scheme, sl);
	size_t o = sl;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		size_t len = semi ? (size_t)(semi - p) : (size_t)(end - p);
		if (len > 0 && strncmp(p, "type=", 5) != 0) {
			if (o > sl)
				u[o++] = ';';
			memcpy(u + o, p, len);
			o += len;
		}
		p += len + (semi ? 1 : 0);
	}
	if (o > sl)
		u[o++] = ';';
	memcpy(u + o, "type=cert", 9);
	o += 9;
	memcpy(u + o, end, strlen(end) + 1);
	*out = u;
	return 0;
}

/* A file key: db.key first (a missing key file is reported by its name), then db.crt, and
 * they must belong together. A token key: the certificate first (db.crt from the store, or
 * the token's certificate object when the store has none), then the token key checked
 * against it (the token loader takes the public key from the certificate). */
static int load_keys(struct bs_key **key, X509 **cert, struct bs_job *job,
		     struct bs_error *err)
{
	bool token = strcmp(bs_job_value(job, "backend"), "pkcs11") == 0;
	const char *uri = bs_job_value(job, "key-uri");
	if (token && uri == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "key-uri: required with backend=pkcs11");
	if (!token && uri != NULL)
		return bs_error_set(err, BS_ERR_INVALID, "key-uri: needs backend=pkcs11");
	bs_job_allow_token(job, token);
	if (!token) {
		int rc = bs_job_key(key, job, KEY_FILE, NULL, err);
		if (rc == 0)
			rc = bs_job_cert(cert, job, CERT_FILE, err);
		if (rc == 0 && EVP_PKEY_eq(X509_get0_pubkey(*cert), bs_key_public(*key)) != 1)
			rc = bs_error_set(err, BS_ERR_KEY, "%s/%s does not match %s/%s",
					  bs_job_subject(job), CERT_FILE, bs_job_subject(job),
					  KEY_FILE);
		return rc;
	}
	int rc;
	if (bs_job_key_exists(job, CERT_FILE)) {
		rc = bs_job_cert(cert, job, CERT_FILE, err);
	} else {
		char *cu = NULL;
		rc = cert_uri(&cu, uri, err);
		if (rc == 0)
			rc = bs_job_cert(cert, job, cu, err);
		bs_free_secret_str(cu);
	}
	if (rc == 0)
		rc = bs_job_key(key, job, uri, *cert, err);
	return rc;
}

static int input_pread(void *ctx, void *buf, size_t n, uint64_t off, struct bs_error *err)
{
	return bs_input_pread(ctx, buf, n, off, err);
}

static int sink_write(void *ctx, const void *data, size_t n, struct bs_error *err)
{
	return bs_sink_write(ctx, data, n, err);
}

static int sink_pwrite(void *ctx, const void *data, size_t n, uint64_t off,
		       struct bs_error *err)
{
	return bs_sink_pwrite(ctx, data, n, off, err);
}

static struct bs_pe_reader input_reader(struct bs_input *in)
{
	return (struct bs_pe_reader){.pread = input_pread, .ctx = in,
				     .size = bs_input_size(in)};
}

static int sign_pe(struct bs_job *job, struct bs_input *in, const struct bs_pe_image *img,
		   struct bs_key *key, X509 *cert, struct bs_error *err)
{
	struct bs_pe_reader r = input_reader(in);
	uint8_t dg[EVP_MAX_MD_SIZE], *p7 = NULL;
	size_t dl = 0, len = 0;
	struct bs_sink *sink = NULL;
	if (img->ncerts > 0)
		bs_job_log(job, "artifact already carries %zu signature(s); adding one",
			   img->ncerts);
	int rc = bs_pe_digest(dg, &dl, img, &r, NID_sha256, err);
	if (rc == 0)
		rc = bs_job_note_digest(job, "artifact (Authenticode)", NID_sha256, dg, dl, err);
	if (rc == 0)
		rc = bs_pe_authenticode(&p7, &len, key, cert, NID_sha256, dg, dl,
					bs_job_signing_time(job), err);
	if (rc == 0)
		rc = bs_job_output_file(&sink, job, NULL, "artifact.signed", err);
	if (rc == 0) {
		struct bs_pe_writer w = {.write = sink_write, .pwrite = sink_pwrite, .ctx = sink};
		rc = bs_pe_write_signed(&w, img, &r, p7, len, err);
	}
	free(p7);
	return rc;
}

/* SHA-256 of the whole artifact, streamed. */
static int digest_input(uint8_t *dg, struct bs_input *in, struct bs_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *chunk = malloc(HASH_CHUNK);
	int rc = bs_input_seek(in, 0, err);
	if (rc == 0 && (ctx == NULL || chunk == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(),
									  NULL) != 1))
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "artifact digest");
	for (size_t got = 1; rc == 0 && got > 0;) {
		rc = bs_input_read(in, chunk, HASH_CHUNK, &got, err);
		if (rc == 0 && EVP_DigestUpdate(ctx, chunk, got) != 1)
			rc = bs_error_ssl(err, BS_ERR_CRYPTO, "artifact digest");
	}
	if (rc == 0 && EVP_DigestFinal_ex(ctx, dg, NULL) != 1)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "artifact digest");
	free(chunk);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int sign_cms(struct bs_job *job, struct bs_input *in, struct bs_key *key, X509 *cert,
		    bool attach, struct bs_error *err)
{
	static const uint8_t zeros[ATTACH_ALIGN];
	uint8_t dg[32], *sig = NULL;
	size_t len = 0;
	struct bs_sink *sink = NULL;
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256, .include_cert = true,
				     .smime_caps = true,
				     .signing_time = bs_job_signing_time(job)};
	int rc = digest_input(dg, in, err);
	if (rc == 0)
		rc = bs_job_note_digest(job, "artifact", NID_sha256, dg, sizeof(dg), err);
	if (rc == 0)
		rc = bs_cms_sign_digest(&sig, &len, key, cert, dg, sizeof(dg), &o, err);
	if (rc == 0)
		rc = attach ? bs_job_output_file(&sink, job, NULL, "artifact.signed", err)
			    : bs_job_output_memory(&sink, job, NULL, "artifact.sig", err);
	if (rc == 0 && attach) {
		uint64_t size = bs_input_size(in);
		rc = bs_sink_copy_input(sink, in, err);
		if (rc == 0)
			rc = bs_sink_write(sink, zeros, (ATTACH_ALIGN - size % ATTACH_ALIGN) %
						   ATTACH_ALIGN, err);
	}
	if (rc == 0)
		rc = bs_sink_write(sink, sig, len, err);
	free(sig);
	return rc;
}

static int uefi_sign(struct bs_job *job, struct bs_error *err)
{
	bool pe = strcmp(bs_job_value(job, "signing_type"), "sbsign") == 0;
	bool attach = strcmp(bs_job_value(job, "signing_type"), "attach_signature") == 0;
	struct bs_input *in = bs_job_input(job, "artifact");
	struct bs_pe_image *img = NULL;
	struct bs_key *key = NULL;
	X509 *cert = NULL;
	if (in == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "artifact: missing");
	int rc = 0;
	if (pe) { /* a bad image is refused before any key is touched */
		struct bs_pe_reader r = input_reader(in);
		rc = bs_pe_parse(&img, &r, err);
		if (rc != 0)
			return bs_error_prefix(err, "artifact");
	}
	rc = load_keys(&key, &cert, job, err);
	if (rc == 0)
		rc = pe ? sign_pe(job, in, img, key, cert, err)
			: sign_cms(job, in, key, cert, attach, err);
	bs_pe_free(img);
	bs_key_free(key);
	X509_free(cert);
	return rc;
}

const struct bs_signer bs_signer_uefi = {
	.name = "tegra/uefi",
	.summary = "UEFI images: Authenticode (sbsign), detached or attached CMS signature",
	.subject_field = "machine",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = uefi_sign,
};
