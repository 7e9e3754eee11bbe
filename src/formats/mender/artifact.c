/* Mender artifact v3 signing (see artifact.h). */
#include "formats/mender/artifact.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define MENDER_VERSION_NAME "version"
#define MENDER_MANIFEST_NAME "manifest"
#define MENDER_SIG_NAME "manifest.sig"
#define MENDER_DATA_DIR "data/" /* manifest names of payload files (inside data/NNNN.tar.*) */
#define MENDER_FORMAT "mender"
#define MENDER_FORMAT_VERSION 3
#define MENDER_JSON_TOKEN_MAX 64     /* bytes of one key or value we compare */
#define MENDER_COPY_CHUNK 65536u
#define MENDER_P256_FIELD 32         /* bytes of r and of s */
#define MENDER_SIG_MODE 0644

/* ---- the version member --------------------------------------------------------------- */

struct json {
	const uint8_t *p, *end;
};

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool json_char(struct json *j, char c)
{
	json_ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

/* A string without escapes (the version file needs none), copied into out (cap bytes). */
static bool json_string(struct json *j, char *out, size_t cap)
{
	if (!json_char(j, '"'))
		return false;
	size_t n = 0;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p == '\\' || *j->p < 0x20 || n + 1 >= cap)
			return false;
		out[n++] = (char)*j->p++;
	}
	if (j->p == j->end)
		return false;
	j->p++;
	out[n] = '\0';
	return true;
}

/* A non-negative integer (at most 9 digits) or a string; *is_num says which. */
static bool json_value(struct json *j, char *out, size_t cap, long *num, bool *is_num)
{
	json_ws(j);
	*is_num = j->p < j->end && *j->p >= '0' && *j->p <= '9';
	if (!*is_num)
		return json_string(j, out, cap);
	*num = 0;
	for (int d = 0; j->p < j->end && *j->p >= '0' && *j->p <= '9'; d++, j->p++) {
		if (d == 9)
			return false;
		*num = *num * 10 + (*j->p - '0');
	}
	return true;
}

int bs_mender_version_check(const uint8_t *text, size_t len, struct bs_error *err)
{
	struct json j = {text, text + len};
	char key[MENDER_JSON_TOKEN_MAX], val[MENDER_JSON_TOKEN_MAX];
	bool format_ok = false, version_ok = false, first = true;
	long num = 0, version = -1;
	if (!json_char(&j, '{'))
		return bs_error_set(err, BS_ERR_INVALID, "version: not a JSON object");
	while (!json_char(&j, '}')) {
		bool is_num = false;
		if ((!first && !json_char(&j, ',')) || !json_string(&j, key, sizeof(key)) ||
		    !json_char(&j, ':') || !json_value(&j, val, sizeof(val), &num, &is_num))
			return bs_error_set(err, BS_ERR_INVALID,
					    "version: malformed JSON at byte %zu",
					    (size_t)(j.p - text));
		first = false;
		if (strcmp(key, "format") == 0)
			format_ok = !is_num && strcmp(val, MENDER_FORMAT) == 0;
		else if (strcmp(key, "version") == 0)
			version = is_num ? num : -1;
	}
	json_ws(&j);
	if (j.p != j.end)
		return bs_error_set(err, BS_ERR_INVALID, "version: data after the JSON object");
	version_ok = version == MENDER_FORMAT_VERSION;
	if (!format_ok)
		return bs_error_set(err, BS_ERR_INVALID, "version: format is not \"mender\"");
	if (!version_ok)
		return bs_error_set(err, BS_ERR_INVALID,
				    "version: artifact format version %ld, only 3 is signed", version);
	return 0;
}

/* ---- the manifest ---------------------------------------------------------------------- */

int bs_mender_manifest_parse(struct bs_mender_entry **out, size_t *n, char *text,
			     struct bs_error *err)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0, count = 0, line = 0;
	struct bs_mender_entry *e = NULL;
	int rc = 0;
	for (char *s = text, *nl; rc == 0 && *s != '\0'; s = nl + 1) {
		line++;
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s); /* last line without newline */
		bool last = *nl == '\0';
		*nl = '\0';
		if (count == BS_MENDER_MANIFEST_LINES_MAX) {
			rc = bs_error_set(err, BS_ERR_LIMIT, "manifest: more than %u lines",
					  BS_MENDER_MANIFEST_LINES_MAX);
			break;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			struct bs_mender_entry *ne = realloc(e, cap * sizeof(*e));
			if (ne == NULL) {
				rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
				break;
			}
			e = ne;
		}
		struct bs_mender_entry *cur = &e[count];
		bool ok = strlen(s) > 2 * BS_MENDER_DIGEST_LEN + 2 &&
			  s[2 * BS_MENDER_DIGEST_LEN] == ' ' && s[2 * BS_MENDER_DIGEST_LEN + 1] == ' ';
		for (size_t i = 0; ok && i < BS_MENDER_DIGEST_LEN; i++) {
			int hi = bs_hex_digit(s[2 * i]), lo = bs_hex_digit(s[2 * i + 1]);
			ok = hi >= 0 && lo >= 0;
			if (ok)
				cur->sha256[i] = (uint8_t)(hi << 4 | lo);
		}
		cur->name = s + 2 * BS_MENDER_DIGEST_LEN + 2;
		cur->seen = 0;
		for (const char *c = cur->name; ok && *c != '\0'; c++)
			ok = (unsigned char)*c > 0x20 && *c != 0x7f;
		if (!ok) {
			rc = bs_error_set(err, BS_ERR_INVALID,
					  "manifest: line %zu: not \"<sha256 hex>  <name>\"", line);
			break;
		}
		for (size_t i = 0; rc == 0 && i < count; i++)
			if (strcmp(e[i].name, cur->name) == 0)
				rc = bs_error_set(err, BS_ERR_INVALID,
						  "manifest: line %zu: \"%s\" listed twice", line,
						  cur->name);
		count++;
		if (last)
			break;
	}
	if (rc == 0 && count == 0)
		rc = bs_error_set(err, BS_ERR_INVALID, "manifest: empty");
	if (rc != 0) {
		free(e);
		return rc;
	}
	*out = e;
	*n = count;
	return 0;
}

/* ---- the signature --------------------------------------------------------------------- */

static bool is_p256(EVP_PKEY *pub)
{
	char group[32];
	size_t gl = 0;
	return EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
					      sizeof(group), &gl) == 1 &&
	       strcmp(group, SN_X9_62_prime256v1) == 0;
}

int bs_mender_sig(char **out, size_t *out_len, uint8_t *dgst, struct bs_key *key,
		  const uint8_t *manifest, size_t len, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	int type = bs_key_type(key);
	if (type != EVP_PKEY_RSA && !(type == EVP_PKEY_EC && is_p256(bs_key_public(key))))
		return bs_error_set(err, BS_ERR_KEY,
				    "key %s: Mender signs with RSA or ECDSA P-256 keys only",
				    bs_key_id(key));
	unsigned dl = 0;
	if (EVP_Digest(manifest, len, dgst, &dl, EVP_sha256(), NULL) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "SHA-256 of the manifest");
	const struct bs_sig_params p = {.md_nid = NID_sha256, .scheme = BS_SIG_DEFAULT,
					.ecdsa_raw = type == EVP_PKEY_EC};
	uint8_t *sig = NULL;
	size_t slen = 0;
	int rc = bs_key_sign(key, &p, dgst, BS_MENDER_DIGEST_LEN, &sig, &slen, err);
	if (rc != 0)
		return rc;
	if (type == EVP_PKEY_EC && slen != 2 * MENDER_P256_FIELD)
		rc = bs_error_set(err, BS_ERR_INTERNAL, "ECDSA signature of %zu bytes", slen);
	size_t b64 = 4 * ((slen + 2) / 3);
	char *text = rc == 0 ? malloc(b64 + 1) : NULL;
	if (rc == 0 && text == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0 && (size_t)EVP_EncodeBlock((unsigned char *)text, sig, (int)slen) != b64)
		rc = bs_error_set(err, BS_ERR_INTERNAL, "base64 of the signature");
	free(sig);
	if (rc != 0) {
		free(text);
		return rc;
	}
	*out = text;
	*out_len = b64;
	return 0;
}

/* ---- rewriting the archive ----------------------------------------------------------- */

struct rewrite {
	struct bs_tar *t;
	struct archive *w;
	bs_mender_write_fn write;
	void *wctx;
	int wrc;                 /* error of the write callback */
	struct bs_error werr;
	uint8_t *buf;
	struct bs_mender_entry *list;
	size_t nlist;
};

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	(void)a;
	struct rewrite *r = ctx;
	if (r->wrc != 0)
		return -1;
	r->wrc = r->write(r->wctx, buf, n, &r->werr);
	return r->wrc != 0 ? -1 : (la_ssize_t)n;
}

/* The error of a failed libarchive write: the callback's own when it failed. */
static int write_failed(struct rewrite *r, const char *what, struct bs_error *err)
{
	if (r->wrc != 0) {
		if (err != NULL)
			*err = r->werr;
		return r->wrc;
	}
	return bs_error_set(err, BS_ERR_IO, "writing %s: %s", what, archive_error_string(r->w));
}

static int put(struct rewrite *r, struct archive_entry *e, const void *data, size_t n,
	       struct bs_error *err)
{
	const char *name = archive_entry_pathname(e);
	if (archive_write_header(r->w, e) != ARCHIVE_OK)
		return write_failed(r, name, err);
	if (n > 0 && archive_write_data(r->w, data, n) != (la_ssize_t)n)
		return write_failed(r, name, err);
	return 0;
}

static struct bs_mender_entry *listed(struct rewrite *r, const char *path)
{
	for (size_t i = 0; i < r->nlist; i++)
		if (strcmp(r->list[i].name, path) == 0)
			return &r->list[i];
	return NULL;
}

static int check_sum(struct bs_mender_entry *le, const uint8_t *sum, const char *path,
		     struct bs_error *err)
{
	if (memcmp(le->sha256, sum, BS_MENDER_DIGEST_LEN) != 0)
		return bs_error_set(err, BS_ERR_INVALID,
				    "member \"%s\": SHA-256 differs from the manifest", path);
	le->seen = 1;
	return 0;
}

/* The next member, which must be `want` (a regular file), slurped. */
static int take(const struct bs_tar_member **m, uint8_t **data, size_t *len,
		struct rewrite *r, const char *want, size_t max, struct bs_error *err)
{
	int rc = bs_tar_next(m, r->t, err);
	if (rc != 0)
		return rc;
	if (*m == NULL || strcmp((*m)->path, want) != 0 || (*m)->type != BS_TAR_FILE)
		return bs_error_set(err, BS_ERR_INVALID,
				    "not a Mender artifact: member %llu is \"%s\", expected \"%s\"",
				    (unsigned long long)bs_tar_count(r->t),
				    *m != NULL ? (*m)->path : "(end)", want);
	return bs_tar_slurp(data, len, r->t, max, err);
}

/* version and manifest, then the new manifest.sig. */
static int head(uint8_t *sum_version, struct rewrite *r, char **manifest_copy, uint8_t *dgst,
		struct bs_key *key, struct bs_error *err)
{
	const struct bs_tar_member *m = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	unsigned dl = 0;
	int rc = take(&m, &data, &len, r, MENDER_VERSION_NAME, BS_MENDER_VERSION_MAX, err);
	if (rc == 0)
		rc = bs_mender_version_check(data, len, err);
	if (rc == 0 && EVP_Digest(data, len, sum_version, &dl, EVP_sha256(), NULL) != 1)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "SHA-256");
	if (rc == 0)
		rc = put(r, m->entry, data, len, err);
	free(data);
	data = NULL;
	if (rc == 0)
		rc = take(&m, &data, &len, r, MENDER_MANIFEST_NAME, BS_MENDER_MANIFEST_MAX, err);
	if (rc == 0 && memchr(data, '\0', len) != NULL)
		rc = bs_error_set(err, BS_ERR_INVALID, "manifest: contains a NUL byte");
	if (rc == 0 && (*manifest_copy = bs_strdup((const char *)data)) == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = bs_mender_manifest_parse(&r->list, &r->nlist, *manifest_copy, err);
	if (rc == 0)
		rc = put(r, m->entry, data, len, err);
	char *sig = NULL;
	size_t slen = 0;
	if (rc == 0)
		rc = bs_mender_sig(&sig, &slen, dgst, key, data, len, err);
	struct archive_entry *e = NULL;
	if (rc == 0 && (e = archive_entry_new()) == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		archive_entry_set_pathname(e, MENDER_SIG_NAME);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, MENDER_SIG_MODE);
		archive_entry_set_mtime(e, m->mtime, 0);
		archive_entry_set_size(e, (la_int64_t)slen);
		rc = put(r, e, sig, slen, err);
	}
	archive_entry_free(e);
	free(sig);
	free(data);
	return rc;
}

/* Copy the current member, checking its SHA-256 when the manifest lists it. */
static int copy(struct rewrite *r, const struct bs_tar_member *m, struct bs_error *err)
{
	struct bs_mender_entry *le = listed(r, m->path);
	EVP_MD_CTX *md = le != NULL ? EVP_MD_CTX_new() : NULL;
	if (le != NULL && (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)) {
		EVP_MD_CTX_free(md);
		return bs_error_ssl(err, BS_ERR_CRYPTO, "SHA-256");
	}
	int rc = put(r, m->entry, NULL, 0, err);
	for (size_t got = 1; rc == 0 && got > 0;) {
		rc = bs_tar_read(r->t, r->buf, MENDER_COPY_CHUNK, &got, err);
		if (rc == 0 && got > 0 && archive_write_data(r->w, r->buf, got) != (la_ssize_t)got)
			rc = write_failed(r, m->path, err);
		if (rc == 0 && md != NULL && EVP_DigestUpdate(md, r->buf, got) != 1)
			rc = bs_error_ssl(err, BS_ERR_CRYPTO, "SHA-256");
	}
	uint8_t sum[BS_MENDER_DIGEST_LEN];
	unsigned dl = 0;
	if (rc == 0 && md != NULL && EVP_DigestFinal_ex(md, sum, &dl) != 1)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "SHA-256");
	if (rc == 0 && md != NULL)
		rc = check_sum(le, sum, m->path, err);
	EVP_MD_CTX_free(md);
	return rc;
}

static int body(struct rewrite *r, struct bs_error *err)
{
	const struct bs_tar_member *m = NULL;
	int rc = 0;
	while (rc == 0 && (rc = bs_tar_next(&m, r->t, err)) == 0 && m != NULL) {
		if (m->type != BS_TAR_FILE)
			rc = bs_error_set(err, BS_ERR_INVALID,
					  "member \"%s\": a directory in a Mender artifact", m->path);
		else if (strcmp(m->path, MENDER_SIG_NAME) != 0) /* an old signature: dropped */
			rc = copy(r, m, err);
	}
	for (size_t i = 0; rc == 0 && i < r->nlist; i++)
		if (!r->list[i].seen && strncmp(r->list[i].name, MENDER_DATA_DIR,
						strlen(MENDER_DATA_DIR)) != 0)
			rc = bs_error_set(err, BS_ERR_INVALID,
					  "manifest lists \"%s\", the artifact has no such member",
					  r->list[i].name);
	return rc;
}

int bs_mender_resign(uint8_t *dgst, bs_tar_read_fn read, void *rctx,
		     const struct bs_tar_limits *limits, bs_mender_write_fn write, void *wctx,
		     struct bs_key *key, struct bs_error *err)
{
	struct rewrite r = {.write = write, .wctx = wctx};
	uint8_t dg[BS_MENDER_DIGEST_LEN], sum_version[BS_MENDER_DIGEST_LEN];
	char *manifest = NULL;
	int rc = bs_tar_open(&r.t, read, rctx, limits, err);
	if (rc == 0 && ((r.buf = malloc(MENDER_COPY_CHUNK)) == NULL ||
			(r.w = archive_write_new()) == NULL))
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0 && (archive_write_set_format_pax_restricted(r.w) != ARCHIVE_OK ||
			archive_write_add_filter_none(r.w) != ARCHIVE_OK ||
			archive_write_set_bytes_in_last_block(r.w, 1) != ARCHIVE_OK ||
			archive_write_open2(r.w, &r, NULL, write_cb, NULL, NULL) != ARCHIVE_OK))
		rc = write_failed(&r, "the artifact", err);
	if (rc == 0)
		rc = head(sum_version, &r, &manifest, dg, key, err);
	struct bs_mender_entry *lv = rc == 0 ? listed(&r, MENDER_VERSION_NAME) : NULL;
	if (lv != NULL)
		rc = check_sum(lv, sum_version, MENDER_VERSION_NAME, err);
	if (rc == 0)
		rc = body(&r, err);
	if (rc == 0 && archive_write_close(r.w) != ARCHIVE_OK)
		rc = write_failed(&r, "the end of the artifact", err);
	if (rc == 0 && dgst != NULL)
		memcpy(dgst, dg, sizeof(dg));
	if (rc != 0)
		r.wrc = rc; /* archive_write_free closes: nothing more reaches the output */
	if (r.w != NULL)
		archive_write_free(r.w);
	bs_tar_free(r.t);
	free(r.list);
	free(manifest);
	free(r.buf);
	return rc;
}
