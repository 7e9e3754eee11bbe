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

#include "core/config.h"
#include "core/util.h"
#include "formats/hab/csf.h"
#include "formats/hab/csf_sign.h"
#include "keys/pkcs11.h"
#include "keys/store.h"
#include "sign/keycache.h"
#include "sign/signer.h"
#include "sign/tokcache.h"

static const char *const g_backends[] = {"ssl", "pkcs11", NULL};

static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = "soctype", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_TOKEN},
	{.name = "cstversion", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_TOKEN},
	{.name = "csf", .store = BS_FIELD_MEM, .required = true, .max = BS_CSF_TEXT_MAX,
	 .check = BS_CHECK_TEXT},
	{.name = "artifact", .store = BS_FIELD_SPOOL, .required = true, .file_upload = true},
	{.name = "backend", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,
	 .choices = g_backends, .default_value = "ssl"},
};

/* mx6, mx6ul, mx7d, mx8m, mx8mm, mx8mn, mx8mp, mx8mq, ... (optionally "imx..."). */
static int check_soctype(const char *v, struct bs_error *err)
{
	const char *p = v;
	if (tolower((unsigned char)*p) == 'i')
		p++;
	bool ok = tolower((unsigned char)p[0]) == 'm' && tolower((unsigned char)p[1]) == 'x' &&
		  isdigit((unsigned char)p[2]) && strlen(p) <= 12;
	for (const char *q = p + 2; ok && *q; q++)
		ok = isalnum((unsigned char)*q);
	if (!ok)
		return bs_error_set(err, BS_ERR_INVALID,
				    "soctype: '%.32s' is not an i.MX SoC type (mx6, mx7, mx8m, ...)",
				    v);
	return 0;
}

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

struct artifact_src {
	const char *filename; /* multipart file name */
	const char *path;     /* spool file, or */
	const uint8_t *data;  /* the upload kept in memory */
	uint64_t size;
};

static bool names_artifact(const char *filename, const char *name)
{
	if (strncmp(name, "./", 2) == 0)
		name += 2;
	return strcmp(name, filename) == 0;
}

static int artifact_open(void *ctx, const char *name, FILE **out, uint64_t *size,
			 struct bs_error *err)
{
	struct artifact_src *a = ctx;
	if (!names_artifact(a->filename, name))
		return bs_error_set(err, BS_ERR_INVALID,
				    "Blocks name '%s' but the uploaded artifact is '%s'", name,
				    a->filename);
	if (a->data != NULL) {
		*out = a->size > 0 ? fmemopen((void *)a->data, (size_t)a->size, "rb") : NULL;
		if (*out == NULL)
			return bs_error_set(err, BS_ERR_IO, "artifact '%s': cannot open the "
					    "in-memory upload", a->filename);
		*size = a->size;
		return 0;
	}
	struct bs_data_single single = {.name = name, .path = a->path, .match_basename = 0};
	return bs_data_single_open(&single, name, out, size, err);
}

/* Check every Blocks entry against the artifact before any key is touched. */
static int check_blocks(const struct bs_csf *csf, const char *csfname,
			const struct bs_form_field *artifact, struct bs_error *err)
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
			if (!names_artifact(artifact->filename, blk->file))
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: Blocks name '%s' but the uploaded "
						    "artifact is '%s'", csfname, blk->line, blk->col,
						    blk->file, artifact->filename);
			if ((uint64_t)blk->offset + blk->length > artifact->size)
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: block 0x%x+0x%x lies outside the "
						    "artifact '%s' (%llu bytes)", csfname, blk->line,
						    blk->col, blk->offset, blk->length,
						    artifact->filename,
						    (unsigned long long)artifact->size);
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

static void csf_display_name(char *out, size_t cap, const struct bs_form_field *f)
{
	const char *n = f->filename != NULL && f->filename[0] != '\0' ? f->filename : "csf";
	snprintf(out, cap, "%s", n);
	for (char *p = out; *p; p++)
		if (*p < ' ' || *p > '~')
			*p = '?';
}

static int imx_sign(const struct bs_sign_env *env, const struct bs_form *form,
		    struct bs_sign_result *res, struct bs_error *err)
{
	const char *machine = bs_form_value(form, "machine");
	const char *backend = bs_form_value(form, "backend");
	const struct bs_form_field *csff = bs_form_get(form, "csf");
	const struct bs_form_field *art = bs_form_get(form, "artifact");
	struct bs_csf *csf = NULL;
	struct bs_keylease *lease = NULL;
	struct bs_store *store = NULL;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char csfname[64];
	int rc;

	snprintf(res->subject, sizeof(res->subject), "%s", machine);
	rc = check_soctype(bs_form_value(form, "soctype"), err);
	if (rc != 0)
		goto out;
	rc = check_cstversion(bs_form_value(form, "cstversion"), err);
	if (rc != 0)
		goto out;
	csf_display_name(csfname, sizeof(csfname), csff);
	rc = bs_csf_parse(&csf, csff->value, csff->len, csfname, NULL, err);
	if (rc != 0)
		goto out;
	bool pkcs11 = strcmp(backend, "pkcs11") == 0;
	rc = check_blocks(csf, csfname, art, err);
	if (rc != 0)
		goto out;
	rc = check_key_names(csf, csfname, pkcs11, err);
	if (rc != 0)
		goto out;

	rc = bs_keycache_acquire(env->keys, machine, "imxsign", "imx-cst-keys.tar.gz", &lease,
				 &store, err);
	if (rc != 0)
		goto out;
	if (pkcs11) {
		struct bs_p11 *p11 = NULL;
		rc = env->get_p11 != NULL ? env->get_p11(env->p11_ctx, &p11, err)
					  : bs_error_set(err, BS_ERR_CONFIG,
							 "backend=pkcs11 but no token configured");
		if (rc != 0)
			goto out;
		if (env->tokcache != NULL)
			bs_store_set_uri_loader(store, bs_tokcache_loader(env->tokcache, p11),
						env->tokcache);
		else
			bs_store_set_uri_loader(store, &bs_p11_uri_loader, p11);
	} else {
		bs_store_set_uri_loader(store, NULL, NULL);
	}

	struct artifact_src src = {.filename = art->filename, .path = art->path,
				   .data = art->data, .size = art->size};
	struct bs_hab_sign_opts opts = {
		.keys = bs_store_key_source(store),
		.data = {.open = artifact_open, .ctx = &src},
	};
	struct bs_hab_sign_report report;
	memset(&report, 0, sizeof(report));
	rc = bs_hab_sign(&blob, &blob_len, csf, &opts, &report, err);
	if (rc == BS_ERR_NOT_FOUND) {
		/* The machine exists (its bundle was found): a file or token object the CSF
		 * names is missing, which the client fixes in its CSF -> 400, not 404. */
		err->code = rc = BS_ERR_INVALID;
		bs_error_prefix(err, "key store of machine '%s'", machine);
	}
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < report.nkeys && i < BS_ARRAY_SIZE(report.keys); i++) {
		size_t n = strlen(res->keys);
		snprintf(res->keys + n, sizeof(res->keys) - n, "%s%s", n ? "," : "",
			 report.keys[i]);
	}
	res->data = blob;
	res->len = blob_len;
	blob = NULL;
	res->content_type = "application/octet-stream";
	snprintf(res->filename, sizeof(res->filename), "artifact.signed");
out:
	if (store != NULL)
		bs_store_set_uri_loader(store, NULL, NULL);
	bs_keycache_release(lease);
	bs_csf_free(csf);
	free(blob);
	return rc;
}

const struct bs_signer bs_signer_imx = {
	.name = "imx",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = imx_sign,
};
