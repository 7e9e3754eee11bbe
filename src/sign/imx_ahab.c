/* /sign/imx with an AHAB CSF: see imx_ahab.h. The byte work is formats/ahab/sign.c; here
 * only the request checks, the key source and the output. */
#include "sign/imx_ahab.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "formats/ahab/csf.h"
#include "formats/ahab/sign.h"
#include "formats/hab/soc.h"
#include "keys/pkcs11.h"

bool bs_imx_ahab_wants(const struct bs_job *job)
{
	const char *csf = bs_job_value(job, "csf");
	return csf != NULL && bs_ahab_csf_detect(csf, strlen(csf));
}

static int input_pread(void *ctx, void *buf, size_t len, uint64_t off, struct bs_error *err)
{
	return bs_input_pread(ctx, buf, len, off, err);
}

/* A key name: bundle-relative, or a pkcs11: URI under the client URI policy (rewritten
 * without its pin-value placeholder). */
static int check_name(struct bs_ahab_csf_file *f, const char *csfname, bool pkcs11,
		      bool uri_ok, struct bs_error *err)
{
	if (f->name == NULL)
		return 0;
	if (strncmp(f->name, "pkcs11:", 7) == 0) {
		if (!uri_ok || !pkcs11)
			return bs_error_set(err, BS_ERR_INVALID, "%s:%u:%u: a pkcs11: URI %s",
					    csfname, f->line, f->col,
					    uri_ok ? "needs backend=pkcs11"
						   : "cannot name a table or signature file");
		char *clean = NULL;
		int rc = bs_p11_uri_sanitize(&clean, f->name, err);
		if (rc != 0) {
			bs_error_prefix(err, "%s:%u:%u", csfname, f->line, f->col);
			return rc;
		}
		bs_free_secret_str(f->name);
		f->name = clean;
		return 0;
	}
	const char *s = f->name;
	size_t n = strlen(s);
	if (s[0] == '/' || strcmp(s, "..") == 0 || strncmp(s, "../", 3) == 0 ||
	    strstr(s, "/../") != NULL || (n >= 3 && strcmp(s + n - 3, "/..") == 0))
		return bs_error_set(err, BS_ERR_PATH,
				    "%s:%u:%u: '%s': key files must be named relative to the key "
				    "bundle (no absolute paths, no '..')", csfname, f->line, f->col, s);
	return 0;
}

static int check_request(struct bs_ahab_csf *csf, const char *csfname,
			 struct bs_input *art, bool pkcs11, struct bs_error *err)
{
	const char *data = csf->data.name;
	if (strncmp(data, "./", 2) == 0)
		data += 2;
	if (strcmp(data, bs_input_name(art)) != 0)
		return bs_error_set(err, BS_ERR_INVALID,
				    "%s:%u:%u: Authenticate Data names '%s' but the uploaded "
				    "artifact is '%s'", csfname, csf->data.line, csf->data.col,
				    csf->data.name, bs_input_name(art));
	int rc = check_name(&csf->srk_table, csfname, pkcs11, false, err);
	if (rc == 0)
		rc = check_name(&csf->source, csfname, pkcs11, true, err);
	if (rc == 0 && csf->has_cert)
		rc = check_name(&csf->cert, csfname, pkcs11, true, err);
	if (rc == 0)
		rc = check_name(&csf->cert_sig, csfname, pkcs11, false, err);
	return rc;
}

int bs_imx_ahab_sign(struct bs_job *job, const char *csfname, struct bs_error *err)
{
	const char *soctype = bs_job_value(job, "soctype");
	const char *text = bs_job_value(job, "csf");
	struct bs_input *art = bs_job_input(job, "artifact");
	const struct bs_imx_soc *soc = bs_imx_soc_find(soctype);
	if (soc == NULL || soc->family != BS_IMX_AHAB)
		return bs_error_set(err, BS_ERR_INVALID,
				    "an AHAB CSF (Target = AHAB) needs an AHAB soctype (mx8qxp, "
				    "mx8qm, mx8ulp, mx91, mx93, mx95), not '%.32s'", soctype);
	struct bs_ahab_csf *csf = NULL;
	struct bs_ahab_patch patch;
	memset(&patch, 0, sizeof(patch));
	bool pkcs11 = strcmp(bs_job_value(job, "backend"), "pkcs11") == 0;
	int rc = bs_ahab_csf_parse(&csf, text, strlen(text), csfname, err);
	if (rc == 0)
		rc = check_request(csf, csfname, art, pkcs11, err);
	if (rc != 0)
		goto out;
	bs_job_allow_token(job, pkcs11);
	struct bs_key_source keys;
	if ((rc = bs_job_bundle(&keys, job, "imxsign/imx-cst-keys.tar.gz", err)) != 0)
		goto out;
	struct bs_ahab_reader r = {.pread = input_pread, .size = bs_input_size(art), .ctx = art};
	uint64_t t0 = bs_now_ms();
	struct bs_ahab_sign_opts so = {.refuse_root_keys = bs_job_refuse_root_keys(job)};
	rc = bs_ahab_sign(&patch, csf, &keys, &r, &so, err);
	uint64_t t1 = bs_now_ms();
	if (rc == BS_ERR_VERIFY || rc == BS_ERR_FORMAT) {
		/* the uploaded image (changed after mkimage, malformed) or table: -> 400 */
		rc = bs_error_recode(err, BS_ERR_INVALID);
	} else if (rc == BS_ERR_NOT_FOUND) {
		/* the machine's bundle exists: a name in the CSF is wrong -> 400 */
		rc = bs_error_recode(err, BS_ERR_INVALID);
		bs_error_prefix(err, "key store of machine '%s'", bs_job_subject(job));
	}
	if (rc == 0 && patch.cert_digest_len > 0)
		rc = bs_job_note_digest(job, "AHAB certificate", patch.md_nid, patch.cert_digest,
					patch.cert_digest_len, err);
	if (rc == 0)
		rc = bs_job_note_digest(job, "AHAB container", patch.md_nid, patch.digest,
					patch.digest_len, err);
	struct bs_sink *sink = NULL;
	if (rc == 0)
		rc = bs_job_output_file(&sink, job, "application/octet-stream", "artifact.signed",
					err);
	if (rc == 0)
		rc = bs_sink_copy_input(sink, art, err);
	if (rc == 0)
		rc = bs_sink_pwrite(sink, patch.data, patch.len, patch.offset, err);
	if (rc == 0)
		bs_job_log(job, "ahab: container at 0x%llx signed in %llu ms (image hashes, "
			   "signature), %llu-byte image written in %llu ms",
			   (unsigned long long)patch.offset, (unsigned long long)(t1 - t0),
			   (unsigned long long)bs_input_size(art),
			   (unsigned long long)(bs_now_ms() - t1));
out:
	bs_ahab_patch_free(&patch);
	bs_ahab_csf_free(csf);
	return rc;
}
