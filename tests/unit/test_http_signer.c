/* Unit tests for the signer table and the i.MX signer called directly (no HTTP): field
 * acceptance (soctype, cstversion), Blocks resolution against the uploaded artifact,
 * key-name confinement, and a real signature checked with bs_cms_verify_digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "formats/hab/verify.h"
#include "keys/keyring.h"
#include "sign/job.h"
#include "sign/signer.h"
#include "testutil.h"

struct fx {
	char *root;
	struct bs_keyring *kr;
	char *csf;
	size_t csf_len;
	char art[4200];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->root = bs_tmpdir();
	char d[4300], tgz[4400];
	snprintf(d, sizeof(d), "%s/imx8mp/imxsign", fx->root);
	const char *mk[] = {"mkdir", "-p", d, NULL};
	assert_int_equal(bs_test_run(mk, NULL), 0);
	snprintf(tgz, sizeof(tgz), "%s/imx-cst-keys.tar.gz", d);
	const char *tar[] = {"tar", "-C", bs_fixture("hab4-vectors/rsa"), "-czf", tgz, "crts",
			     "keys", NULL};
	assert_int_equal(bs_test_run(tar, NULL), 0);
	struct bs_keyring_opts ko = {.root = fx->root, .bundle_cache = 4};
	assert_int_equal(bs_keyring_new(&fx->kr, &ko, NULL), 0);
	fx->csf = (char *)bs_fixture_read("hab4-vectors/rsa/u.csf", &fx->csf_len);
	snprintf(fx->art, sizeof(fx->art), "%s", bs_fixture("hab4-vectors/rsa/u.bin"));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	bs_keyring_free(fx->kr);
	bs_tmpdir_remove(fx->root);
	free(fx->root);
	free(fx->csf);
	free(fx);
	return 0;
}

/* What one job produced, as the HTTP layer sees it. */
struct bs_sign_result {
	uint8_t *data;
	size_t len;
	char filename[64];
	char subject[80];
	char keys[512];
};

static void bs_sign_result_free(struct bs_sign_result *res)
{
	free(res->data);
	memset(res, 0, sizeof(*res));
}

/* Run the signer of `form` as a job; fill res on success. */
static int run_job(struct fx *fx, const struct bs_signer *s, const struct bs_form *form,
		   struct bs_sign_result *res, struct bs_error *err)
{
	memset(res, 0, sizeof(*res));
	const struct bs_job_opts o = {.signer = s, .form = form, .keyring = fx->kr,
				      .reqid = "t"};
	struct bs_job *job = NULL;
	int rc = bs_job_new(&job, &o, err);
	if (rc == 0)
		rc = bs_job_run(job, err);
	struct bs_job_output out;
	if (rc == 0 && (rc = bs_job_take_output(job, &out, err)) == 0) {
		assert_int_equal(out.fd, -1); /* a CSF blob is a memory answer */
		res->data = malloc(out.len);
		memcpy(res->data, out.data, out.len);
		res->len = out.len;
		snprintf(res->filename, sizeof(res->filename), "%s", out.filename);
		const struct bs_job_record *r = bs_job_record(job);
		snprintf(res->subject, sizeof(res->subject), "%s", r->subject);
		bs_job_record_keys(r, res->keys, sizeof(res->keys));
		assert_true(r->ndigests >= 2); /* CSF commands + the blocks */
	}
	bs_job_free(job);
	return rc;
}

/* Build a validated-looking form for the imx signer. */
static void form_init(struct bs_form *form, const struct bs_signer *s, const char *soctype,
		      const char *cstversion, char *csf, size_t csf_len, const char *art_path,
		      const char *art_name, uint64_t art_size, const char *backend)
{
	memset(form, 0, sizeof(*form));
	form->n = s->nfields;
	for (size_t i = 0; i < s->nfields; i++) {
		struct bs_form_field *f = &form->f[i];
		f->spec = &s->fields[i];
		f->present = true;
		const char *n = f->spec->name;
		if (!strcmp(n, "machine"))
			f->value = (char *)"imx8mp";
		else if (!strcmp(n, "soctype"))
			f->value = (char *)soctype;
		else if (!strcmp(n, "cstversion"))
			f->value = (char *)cstversion;
		else if (!strcmp(n, "backend"))
			f->value = (char *)backend;
		else if (!strcmp(n, "csf")) {
			f->value = csf;
			f->len = csf_len;
			f->filename = (char *)"flash.csf";
		} else if (!strcmp(n, "artifact")) {
			f->path = (char *)art_path;
			f->filename = (char *)art_name;
			f->size = art_size;
		}
		if (f->value != NULL && f->len == 0)
			f->len = strlen(f->value);
	}
}

static int sign(struct fx *fx, const char *soctype, const char *cstversion, const char *csf,
		const char *art_name, uint64_t art_size, struct bs_sign_result *res,
		struct bs_error *err)
{
	const struct bs_signer *s = bs_signer_find("imx");
	assert_non_null(s);
	struct bs_form form;
	char *text = strdup(csf);
	form_init(&form, s, soctype, cstversion, text, strlen(text), fx->art, art_name, art_size,
		  "ssl");
	int rc = run_job(fx, s, &form, res, err);
	free(text);
	return rc;
}

static void test_http_signer__table(void **state)
{
	(void)state;
	size_t n = 0;
	const struct bs_signer *const *all = bs_signers(&n);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(bs_signer_find(all[i]->name), all[i]);
		assert_true(all[i]->nfields <= BS_FORM_FIELDS_MAX);
	}
	assert_null(bs_signer_find("nope"));
	assert_null(bs_signer_find(""));
}

static void test_http_signer__imx_signs_u_bin(void **state)
{
	struct fx *fx = *state;
	struct bs_sign_result res;
	struct bs_error err = {0};
	assert_int_equal(sign(fx, "mx8m", "3.3.2", fx->csf, "u.bin", 8192, &res, &err), 0);
	assert_non_null(res.data);
	assert_int_equal(res.data[0], 0xD4); /* HAB CSF header */
	assert_string_equal(res.filename, "artifact.signed");
	assert_string_equal(res.subject, "imx8mp");
	assert_non_null(strstr(res.keys, "CSF1"));
	assert_non_null(strstr(res.keys, "IMG1"));
	/* same command region as NXP CST for the same CSF and image */
	size_t ref_len = 0;
	uint8_t *ref = bs_fixture_read("hab4-vectors/rsa/u_csf.bin", &ref_len);
	size_t cmd_len = ((size_t)res.data[1] << 8) | res.data[2];
	assert_true(cmd_len <= ref_len && cmd_len <= res.len);
	assert_memory_equal(res.data, ref, cmd_len);
	free(ref);
	bs_sign_result_free(&res);
	assert_null(res.data);
}

static void test_http_signer__soctypes_and_versions(void **state)
{
	struct fx *fx = *state;
	static const char *const good_soc[] = {"mx6", "mx6ul", "mx7d", "mx8m", "mx8mm",
					       "mx8mn", "mx8mp", "mx8mq", "imx8mp", "MX6"};
	static const char *const bad_soc[] = {"foo", "mx", "x8m", "mx8m-evil", "mx8mpppppppppppp",
					      "tegra194"};
	static const char *const good_ver[] = {"3.3.1", "3.3.2", "3.4.0", "4.0.1", "3.1",
					       "4.0.1-1", "3.3.1+git"};
	static const char *const bad_ver[] = {"9.9", "2.3.1", "3", "3.", "3..1", "3.3.1 x",
					      "4.0.1.2.3", "latest"};
	struct bs_sign_result res;
	struct bs_error err = {0};
	for (size_t i = 0; i < BS_ARRAY_SIZE(good_soc); i++) {
		assert_int_equal(sign(fx, good_soc[i], "3.3.2", fx->csf, "u.bin", 8192, &res, &err),
				 0);
		bs_sign_result_free(&res);
	}
	for (size_t i = 0; i < BS_ARRAY_SIZE(bad_soc); i++) {
		assert_int_equal(sign(fx, bad_soc[i], "3.3.2", fx->csf, "u.bin", 8192, &res, &err),
				 BS_ERR_INVALID);
		assert_non_null(strstr(err.msg, "soctype"));
		assert_null(res.data);
	}
	for (size_t i = 0; i < BS_ARRAY_SIZE(good_ver); i++) {
		assert_int_equal(sign(fx, "mx8m", good_ver[i], fx->csf, "u.bin", 8192, &res, &err),
				 0);
		bs_sign_result_free(&res);
	}
	for (size_t i = 0; i < BS_ARRAY_SIZE(bad_ver); i++) {
		assert_int_equal(sign(fx, "mx8m", bad_ver[i], fx->csf, "u.bin", 8192, &res, &err),
				 BS_ERR_INVALID);
		assert_non_null(strstr(err.msg, "cstversion"));
		assert_null(res.data);
	}
}

/* Replace the first occurrence of `from` in the fixture CSF. */
static char *edit(const struct fx *fx, const char *from, const char *to)
{
	const char *p = strstr(fx->csf, from);
	assert_non_null(p);
	size_t n = strlen(fx->csf) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	snprintf(out, n, "%.*s%s%s", (int)(p - fx->csf), fx->csf, to, p + strlen(from));
	return out;
}

static void expect_fail(struct fx *fx, const char *csf, const char *art_name, int code,
			const char *msg)
{
	struct bs_sign_result res;
	struct bs_error err = {0};
	assert_int_equal(sign(fx, "mx8m", "3.3.2", csf, art_name, 8192, &res, &err), code);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
	assert_null(res.data);
}

static void test_http_signer__blocks_resolve_to_upload(void **state)
{
	struct fx *fx = *state;
	char *dot = edit(fx, "\"u.bin\"", "\"./u.bin\"");
	struct bs_sign_result res;
	struct bs_error err = {0};
	assert_int_equal(sign(fx, "mx8m", "3.3.2", dot, "u.bin", 8192, &res, &err), 0);
	bs_sign_result_free(&res);
	expect_fail(fx, fx->csf, "imx-boot.bin", BS_ERR_INVALID,
		    "Blocks name 'u.bin' but the uploaded artifact is 'imx-boot.bin'");
	char *sub = edit(fx, "\"u.bin\"", "\"dir/u.bin\"");
	expect_fail(fx, sub, "u.bin", BS_ERR_INVALID, "flash.csf:");
	char *beyond = edit(fx, "0x0 0x2000", "0x1000 0x1001");
	expect_fail(fx, beyond, "u.bin", BS_ERR_INVALID, "lies outside the artifact");
	free(dot);
	free(sub);
	free(beyond);
}

static void test_http_signer__key_names_confined(void **state)
{
	struct fx *fx = *state;
	char *abs = edit(fx, "\"crts/CSF1_crt.pem\"", "\"/etc/ssl/certs/ca.pem\"");
	expect_fail(fx, abs, "u.bin", BS_ERR_PATH, "relative to the key bundle");
	char *up = edit(fx, "\"crts/IMG1_crt.pem\"", "\"../crts/IMG1_crt.pem\"");
	expect_fail(fx, up, "u.bin", BS_ERR_PATH, "'../crts/IMG1_crt.pem'");
	char *p11 = edit(fx, "\"crts/IMG1_crt.pem\"", "\"pkcs11:object=IMG1;type=cert\"");
	expect_fail(fx, p11, "u.bin", BS_ERR_INVALID, "needs backend=pkcs11");
	expect_fail(fx, "[Header]\n  Version = 4.1\n  Bogus = 1\n", "u.bin", BS_ERR_SYNTAX,
		    "flash.csf:3:");
	free(abs);
	free(up);
	free(p11);
}

/* An artifact kept in memory (no spool file) is what gets hashed and signed: the blob
 * placed at the IVT's CSF offset (0x2000) of u.bin passes the offline HAB verifier with
 * the vector SRK fuse; signing a copy with one flipped byte makes the verifier fail. */
static int sign_in_memory(struct fx *fx, const uint8_t *data, size_t len, uint8_t **img,
			  size_t *img_len)
{
	const struct bs_signer *s = bs_signer_find("imx");
	struct bs_form form;
	form_init(&form, s, "mx8m", "3.3.2", fx->csf, fx->csf_len, NULL, "u.bin", len, "ssl");
	for (size_t i = 0; i < form.n; i++)
		if (form.f[i].spec->store == BS_FIELD_SPOOL)
			form.f[i].data = data;
	struct bs_sign_result res;
	struct bs_error err = {0};
	assert_int_equal(run_job(fx, s, &form, &res, &err), 0);
	*img_len = len + res.len;
	*img = malloc(*img_len);
	memcpy(*img, data, len);
	memcpy(*img + len, res.data, res.len);
	bs_sign_result_free(&res);
	return 0;
}

static int verify_bytes(const char *dir, const uint8_t *img, size_t len, struct bs_error *err)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/signed.bin", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	size_t fuse_len = 0;
	uint8_t *fuse = bs_fixture_read("hab4-vectors/rsa/crts/SRK_fuse.bin", &fuse_len);
	struct bs_hab_verify_opts o = {.fuse = fuse, .fuse_len = fuse_len,
				       .has_ivt_offset = true, .ivt_offset = 0};
	int rc = bs_hab_verify_image(path, &o, err);
	free(fuse);
	unlink(path);
	return rc;
}

static void test_http_signer__imx_signs_in_memory_artifact(void **state)
{
	struct fx *fx = *state;
	size_t len = 0;
	uint8_t *u = bs_fixture_read("hab4-vectors/rsa/u.bin", &len);
	assert_int_equal(len, 0x2000);
	uint8_t *img = NULL;
	size_t img_len = 0;
	struct bs_error err = {0};
	sign_in_memory(fx, u, len, &img, &img_len);
	assert_int_equal(verify_bytes(fx->root, img, img_len, &err), 0);
	free(img);
	/* the signature covers the bytes in memory: sign a changed copy, verify it against
	 * the original image bytes -> the data digest no longer matches */
	u[0x1000] ^= 1;
	sign_in_memory(fx, u, len, &img, &img_len);
	u[0x1000] ^= 1;
	memcpy(img, u, len);
	assert_int_equal(verify_bytes(fx->root, img, img_len, &err), BS_ERR_VERIFY);
	free(img);
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_signer__table),
		cmocka_unit_test_setup_teardown(test_http_signer__imx_signs_u_bin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_signer__soctypes_and_versions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_signer__blocks_resolve_to_upload, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_signer__key_names_confined, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_signer__imx_signs_in_memory_artifact,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
