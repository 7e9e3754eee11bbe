/* /sign/imx: NXP i.MX HAB4, the digsigserver request unchanged.
 *
 * Fields: machine, soctype, cstversion, csf (text), artifact (file), [backend]. Keys come
 * from <keyfile root>/<machine>/imxsign/imx-cst-keys.tar.gz. The CSF's Blocks must name
 * the uploaded artifact by its multipart file name (as digsigserver stores it under that
 * name and runs cst next to it); key files resolve inside the bundle only; pkcs11: URIs
 * (backend=pkcs11) pass the URI policy and resolve through the server's token. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/util.h"
#include "formats/hab/bundle.h"
#include "formats/hab/csf.h"
#include "formats/hab/csf_sign.h"
#include "formats/hab/soc.h"
#include "keys/pkcs11.h"
#include "sign/imx_ahab.h"
#include "sign/imx_digest.h"
#include "sign/job.h"
#include "sign/signer.h"

static const char *const g_backends[] = {"ssl", "pkcs11", NULL};

static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = "soctype", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_TOKEN},
	{.name = "cstversion", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_TOKEN},
	{.name = "csf", .store = BS_FIELD_MEM, .required = true, .max = BS_CSF_TEXT_MAX,
	 .check = BS_CHECK_TEXT},
	{.name = "artifact", .store = BS_FIELD_SPOOL, .file_upload = true}, /* or digests: */
	BS_IMX_DIGESTS_FIELD,
	{.name = "backend", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,
	 .choices = g_backends, .default_value = "ssl"},
};

/* 3.x or 4.x CST versions: 3.3.1, 3.4.0, 4.0.1, optionally with a short suffix. */
static int check_cstversion(const char *v, struct bs_error *err)
{
	const char *p = v;
	bool ok = (*p == '3' || *p == '4') && p[1] == '.';
	unsigned groups = 0;
	if (ok)
		p++;
	while (ok && *p == '.') {
		p++;
		size_t digits = 0;
		while (isdigit((unsigned char)*p) && digits < 4) {
			p++;
			digits++;
		}
		ok = digits > 0 && !isdigit((unsigned char)*p);
		groups++;
	}
	ok = ok && groups >= 1 && groups <= 3;
	if (ok && *p != '\0') {
		ok = (*p == '-' || *p == '+' || *p == '~' || *p == '_') && strlen(p) <= 17;
		for (p++; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '.';
	}
	if (!ok)
		return bs_error_set(err, BS_ERR_INVALID,
				    "cstversion: '%.32s' is not a CST 3.x/4.x version", v);
	return 0;
}

static bool names_artifact(const char *filename, const char *name)
{
	if (strncmp(name, "./", 2) == 0)
		name += 2;
	return strcmp(name, filename) == 0;
}

/* Blocks files: only the uploaded artifact, by its multipart file name. */
static int artifact_open(void *ctx, const char *name, FILE **out, uint64_t *size,
			 struct bs_error *err)
{
	struct bs_input *in = ctx;
	if (!names_artifact(bs_input_name(in), name))
		return bs_error_set(err, BS_ERR_INVALID,
				    "Blocks name '%s' but the uploaded artifact is '%s'", name,
				    bs_input_name(in));
	*size = bs_input_size(in);
	return bs_input_fopen(out, in, err);
}

/* Check every Blocks entry against the artifact before any key is touched. */
static int check_blocks(const struct bs_csf *csf, const char *csfname,
			const struct bs_input *artifact, struct bs_error *err)
{
	for (size_t i = 0; i < csf->ncmds; i++) {
		const struct bs_csf_cmd *c = &csf->cmds[i];
		if (c->kind == BS_CSF_INSTALL_SECRET_KEY || c->kind == BS_CSF_DECRYPT_DATA)
			return bs_error_set(err, BS_ERR_UNSUPPORTED,
					    "%s:%u:%u: [%s]: encrypted boot is not supported by the "
					    "signing server", csfname, c->line, c->col,
					    bs_csf_kind_name(c->kind));
		for (size_t b = 0; b < c->nblocks; b++) {
			const struct bs_csf_block *blk = &c->blocks[b];
			if (!names_artifact(bs_input_name(artifact), blk->file))
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: Blocks name '%s' but the uploaded "
						    "artifact is '%s'", csfname, blk->line, blk->col,
						    blk->file, bs_input_name(artifact));
			if ((uint64_t)blk->offset + blk->length > bs_input_size(artifact))
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: block 0x%x+0x%x lies outside the "
						    "artifact '%s' (%llu bytes)", csfname, blk->line,
						    blk->col, blk->offset, blk->length,
						    bs_input_name(artifact),
						    (unsigned long long)bs_input_size(artifact));
		}
	}
	return 0;
}

/* Key names: bundle-relative files, or pkcs11: URIs under the URI policy. */
static int check_key_names(struct bs_csf *csf, const char *csfname, bool pkcs11,
			   struct bs_error *err)
{
	for (size_t i = 0; i < csf->ncmds; i++) {
		struct bs_csf_cmd *c = &csf->cmds[i];
		if (c->file == NULL)
			continue;
		if (strncmp(c->file, "pkcs11:", 7) == 0) {
			if (!pkcs11)
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: a pkcs11: URI needs backend=pkcs11",
						    csfname, c->file_line, c->file_col);
			char *clean = NULL;
			int rc = bs_p11_uri_sanitize(&clean, c->file, err);
			if (rc != 0)
				return bs_error_prefix(err, "%s:%u:%u", csfname, c->file_line,
						       c->file_col);
			free(c->file);
			c->file = clean;
			continue;
		}
		const char *f = c->file;
		bool dotdot = strcmp(f, "..") == 0 || strncmp(f, "../", 3) == 0 ||
			      strstr(f, "/../") != NULL ||
			      (strlen(f) >= 3 && strcmp(f + strlen(f) - 3, "/..") == 0);
		if (f[0] == '/' || dotdot)
			return bs_error_set(err, BS_ERR_PATH,
					    "%s:%u:%u: '%s': key files must be named relative to the "
					    "key bundle (no absolute paths, no '..')", csfname,
					    c->file_line, c->file_col, f);
	}
	return 0;
}

#define BUNDLE "imxsign/imx-cst-keys.tar.gz"

/* A bundle holding SRK or CA private keys puts the root of trust on the server: warned
 * about once per bundle version (naming the members and the command that makes a clean
 * bundle), or refused when the server says so (bundle_root_keys = refuse). Those keys are
 * never loaded either way (refuse_root_keys). */
static int check_bundle(struct bs_job *job, struct bs_error *err)
{
	size_t n = 0, nroot = 0;
	const char *const *members = bs_job_bundle_members(job, &n);
	char names[256] = "";
	for (size_t i = 0; i < n; i++) {
		if (!bs_hab_bundle_member_is_root_key(members[i]))
			continue;
		size_t o = strlen(names);
		if (nroot++ < 4)
			snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "", members[i]);
	}
	if (nroot == 0)
		return 0;
	if (bs_job_refuse_root_bundles(job))
		return bs_error_set(err, BS_ERR_CONFIG, "key bundle %s/%s holds %zu root-of-trust "
				    "private key(s) (%s); refused by bundle_root_keys = refuse: "
				    "make a signing-only bundle with `bootsign pki bundle --from "
				    "DIR --out FILE`", bs_job_subject(job), BUNDLE, nroot, names);
	if (bs_job_bundle_first_use(job))
		bs_job_log(job, "warning: key bundle %s/%s holds %zu root-of-trust private key(s) "
			   "(%s) that a signing server must not hold; they are never loaded. Make "
			   "a signing-only bundle with `bootsign pki bundle --from DIR --out FILE`",
			   bs_job_subject(job), BUNDLE, nroot, names);
	return 0;
}

static int imx_sign(struct bs_job *job, struct bs_error *err)
{
	const char *machine = bs_job_subject(job);
	const char *csf_text = bs_job_value(job, "csf");
	struct bs_input *art = bs_job_input(job, "artifact");
	struct bs_csf *csf = NULL;
	struct bs_imx_digests *dg = NULL;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char csfname[64];
	int rc;

	const struct bs_imx_soc *soc = NULL;
	rc = bs_imx_soc_lookup(&soc, bs_job_value(job, "soctype"), err);
	if (rc != 0)
		goto out;
	rc = check_cstversion(bs_job_value(job, "cstversion"), err);
	if (rc != 0)
		goto out;
	const char *fn = bs_job_filename(job, "csf");
	bs_text_sanitize(csfname, sizeof(csfname), fn != NULL && fn[0] != '\0' ? fn : "csf");
	if (bs_imx_ahab_wants(job)) {
		rc = bs_imx_ahab_sign(job, csfname, err);
		goto out;
	}
	rc = bs_csf_parse(&csf, csf_text, strlen(csf_text), csfname, NULL, err);
	if (rc != 0)
		goto out;
	bool pkcs11 = strcmp(bs_job_value(job, "backend"), "pkcs11") == 0;
	rc = bs_hab_check_soc(csf, soc, err);
	if (rc != 0)
		goto out;
	rc = bs_imx_digests_new(&dg, job, csf, csfname, err); /* digest-only: imx_digest.c */
	if (rc == 0 && dg == NULL)
		rc = check_blocks(csf, csfname, art, err);
	if (rc != 0)
		goto out;
	rc = check_key_names(csf, csfname, pkcs11, err);
	if (rc != 0)
		goto out;

	bs_job_allow_token(job, pkcs11);
	struct bs_hab_sign_opts opts = {
		.data = dg ? bs_imx_digests_source(dg)
			   : (struct bs_data_source){.open = artifact_open, .ctx = art},
		.signing_time = bs_job_signing_time(job),
		.refuse_root_keys = bs_job_refuse_root_keys(job),
	};
	rc = bs_job_bundle(&opts.keys, job, BUNDLE, err);
	if (rc == 0)
		rc = check_bundle(job, err);
	if (rc != 0)
		goto out;
	struct bs_hab_sign_report report;
	memset(&report, 0, sizeof(report));
	rc = bs_hab_sign(&blob, &blob_len, csf, &opts, &report, err);
	if (rc == BS_ERR_NOT_FOUND) {
		/* The machine exists (its bundle was found): a file or token object the CSF
		 * names is missing, which the client fixes in its CSF -> 400, not 404. */
		rc = bs_error_recode(err, BS_ERR_INVALID);
		bs_error_prefix(err, "key store of machine '%s'", machine);
	}
	for (size_t i = 0; rc == 0 && i < report.ndigests; i++)
		rc = bs_job_note_digest(job, report.digests[i].what, report.digests[i].md_nid,
					report.digests[i].d, report.digests[i].len, err);
	if (rc != 0)
		goto out;
	struct bs_sink *sink = NULL;
	rc = bs_job_output_memory(&sink, job, "application/octet-stream", "artifact.signed", err);
	if (rc == 0)
		rc = bs_sink_write(sink, blob, blob_len, err);
out:
	bs_imx_digests_free(dg);
	bs_csf_free(csf);
	free(blob);
	return rc;
}

const struct bs_signer bs_signer_imx = {
	.name = "imx",
	.summary = "NXP i.MX: HAB4 CSF blob, or the AHAB-signed image (8QXP/8ULP/9x)",
	.subject_field = "machine",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = imx_sign,
};
