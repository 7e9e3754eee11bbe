/* POST /sign/modules (and `bootsign sign modules`): every *.ko in a tar.gz of a module
 * tree gets the kernel's appended signature (formats/kmod), as digsigserver does with
 * sign-file, natively. The answer is the same tree, same member order, names, modes and
 * times, non-module files and directories untouched.
 *
 * Streaming: the archive is read member by member from the job's input (formats/tar: the
 * hostile-input reader) and written member by member to the job's tgz sink; only one
 * module is held in memory at a time. */
#include <archive_entry.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "formats/kmod/kmod.h"
#include "formats/tar/tar_read.h"
#include "sign/job.h"
#include "sign/keychoice.h"

#define KEY_NAME "kmodsign/kernel-signkey.priv"
#define CERT_NAME "kmodsign/kernel-signkey.x509"
#define MODULE_MAX (256u << 20)   /* bytes of one .ko (they are read whole to sign) */
#define COPY_CHUNK 65536u

static const char *const g_hashalgs[] = {"sha256", "sha384", "sha512", NULL};

static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME,
	 .help = "whose keys: <keyroot>/<machine>/kmodsign/"},
	{.name = "hashalg", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,
	 .choices = g_hashalgs, .default_value = "sha512", .help = "module digest"},
	BS_KEYCHOICE_FIELDS,
	{.name = "artifact", .store = BS_FIELD_SPOOL, .required = true, .file_upload = true,
	 .help = "tar.gz (or tar) of the module tree; every *.ko is signed"},
};

static int input_read(void *ctx, void *buf, size_t cap, size_t *got, struct bs_error *err)
{
	return bs_input_read(ctx, buf, cap, got, err);
}

/* File keys from the store, or a token key (backend=pkcs11 + key-uri) with the store's
 * certificate, or the token's certificate beside the key when the store has none. */
static int get_keys(struct bs_key **key, X509 **cert, struct bs_job *job, struct bs_error *err)
{
	char name[BS_KEYCHOICE_NAME_MAX];
	bool token = false;
	int rc = bs_keychoice(name, sizeof(name), &token, job, KEY_NAME, err);
	if (rc != 0)
		return rc;
	if (token && !bs_job_key_exists(job, CERT_NAME)) {
		char cu[BS_KEYCHOICE_NAME_MAX];
		rc = bs_keychoice_cert_uri(cu, sizeof(cu), name, err);
		if (rc == 0)
			rc = bs_job_cert(cert, job, cu, err);
	} else {
		rc = bs_job_cert(cert, job, CERT_NAME, err);
	}
	return rc ? rc : bs_job_key(key, job, name, *cert, err);
}

static bool is_module(const struct bs_tar_member *m)
{
	size_t n = strlen(m->path);
	return m->type == BS_TAR_FILE && n > 3 && strcmp(m->path + n - 3, ".ko") == 0;
}

static int copy_member(struct bs_sink *out, struct bs_tar *t, const struct bs_tar_member *m,
		       uint8_t *chunk, struct bs_error *err)
{
	int rc = bs_sink_tgz_entry(out, m->entry, err);
	size_t got = 0;
	while (rc == 0 && m->type == BS_TAR_FILE) {
		rc = bs_tar_read(t, chunk, COPY_CHUNK, &got, err);
		if (rc != 0 || got == 0)
			break;
		rc = bs_sink_write(out, chunk, got, err);
	}
	return rc;
}

static int sign_member(struct bs_sink *out, struct bs_job *job, struct bs_tar *t,
		       const struct bs_tar_member *m, struct bs_key *key, X509 *cert,
		       int md_nid, struct bs_error *err)
{
	uint8_t *mod = NULL;
	size_t len = 0, ulen = 0;
	unsigned stripped = 0;
	struct bs_kmod_sig sig = {0};
	struct archive_entry *e = NULL;
	int rc = bs_tar_slurp(&mod, &len, t, MODULE_MAX, err);
	if (rc == 0)
		rc = bs_kmod_unsigned_len(&ulen, &stripped, mod, len, m->name, err);
	if (rc == 0)
		rc = bs_kmod_sign(&sig, key, cert, md_nid, mod, ulen, err);
	if (rc != 0) {
		if (rc != BS_ERR_FORMAT && rc != BS_ERR_LIMIT)
			bs_error_prefix(err, "%s", m->name);
		goto out;
	}
	if (stripped > 0)
		bs_job_log(job, "module %s: re-signed, %u old signature%s stripped", m->name,
			   stripped, stripped > 1 ? "s" : "");
	rc = bs_job_note_digest(job, m->name, md_nid, sig.digest, sig.dlen, err);
	if (rc != 0)
		goto out;
	e = archive_entry_clone(m->entry);
	if (e == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	archive_entry_set_size(e, (la_int64_t)(ulen + sig.trailer_len));
	rc = bs_sink_tgz_entry(out, e, err);
	if (rc == 0)
		rc = bs_sink_write(out, mod, ulen, err);
	if (rc == 0)
		rc = bs_sink_write(out, sig.trailer, sig.trailer_len, err);
out:
	archive_entry_free(e);
	bs_kmod_sig_clear(&sig);
	free(mod);
	return rc;
}

static int modules_sign(struct bs_job *job, struct bs_error *err)
{
	int md_nid;
	int rc = bs_kmod_hash_nid(&md_nid, "hashalg", bs_job_value(job, "hashalg"), err);
	if (rc != 0)
		return rc;
	struct bs_input *in = bs_job_input(job, "artifact");
	if (in == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "artifact: missing");
	struct bs_key *key = NULL;
	X509 *cert = NULL;
	struct bs_tar *t = NULL;
	struct bs_sink *out = NULL;
	uint8_t *chunk = malloc(COPY_CHUNK);
	size_t modules = 0;
	if (chunk == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = get_keys(&key, &cert, job, err);
	if (rc == 0)
		rc = bs_tar_open(&t, input_read, in, NULL, err);
	if (rc == 0)
		rc = bs_job_output_tgz(&out, job, "signed-artifact.tar.gz", err);
	while (rc == 0) {
		const struct bs_tar_member *m = NULL;
		rc = bs_tar_next(&m, t, err);
		if (rc != 0 || m == NULL)
			break;
		rc = bs_job_check_deadline(job, err);
		if (rc != 0)
			break;
		if (is_module(m)) {
			rc = sign_member(out, job, t, m, key, cert, md_nid, err);
			modules++;
		} else {
			rc = copy_member(out, t, m, chunk, err);
		}
	}
	/* a tree without a module is a wrong path or compressed modules (.ko.xz, .ko.zst):
	 * answering it unchanged would look like success */
	if (rc == 0 && modules == 0)
		rc = bs_error_set(err, BS_ERR_INVALID, "artifact: no *.ko module in the archive "
				  "(%llu members; compressed modules such as .ko.xz must be signed "
				  "before compression)", (unsigned long long)bs_tar_count(t));
	if (rc == 0)
		bs_job_log(job, "%zu module%s signed (%s), %llu members", modules,
			   modules == 1 ? "" : "s", bs_job_value(job, "hashalg"),
			   (unsigned long long)bs_tar_count(t));
out:
	bs_tar_free(t);
	bs_key_free(key);
	X509_free(cert);
	free(chunk);
	return rc;
}

const struct bs_signer bs_signer_modules = {
	.name = "modules",
	.summary = "Linux kernel modules (tar.gz of a module tree), appended PKCS#7",
	.subject_field = "machine",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = modules_sign,
};
