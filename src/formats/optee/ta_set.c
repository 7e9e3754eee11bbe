/* OP-TEE: pairing TA images with their version files (see ta_set.h). Sorting keeps the
 * work O(n log n) in the member count, whatever names an archive holds. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/util.h"
#include "formats/optee/ta_set.h"

#define SHOW_MAX 128 /* bytes of a member name shown in a message */

struct entry {
	const char *name;
	size_t dirlen; /* bytes up to and including the last '/' */
	size_t idx;
	enum bs_optee_role role;
	const uint8_t *uuid;
	char out[BS_OPTEE_UUID_TEXT_LEN + sizeof(BS_OPTEE_TA_SUFFIX)]; /* image: <uuid>.ta */
};

static int fail(struct bs_error *err, const char *field, const char *name, const char *why)
{
	char show[SHOW_MAX];
	return bs_error_set(err, BS_ERR_INVALID, "%s: member \"%s\": %s", field,
			    bs_text_sanitize(show, sizeof(show), name), why);
}

static size_t dir_len(const char *name)
{
	const char *s = strrchr(name, '/');
	return s ? (size_t)(s - name) + 1 : 0;
}

/* Role of a name by suffix; *stem_len = bytes of the base name before the suffix. */
static enum bs_optee_role role_of(const char *base, size_t *stem_len)
{
	size_t n = strlen(base);
	size_t li = strlen(BS_OPTEE_IMG_SUFFIX), lv = strlen(BS_OPTEE_VERSION_SUFFIX);
	if (n >= li && strcmp(base + n - li, BS_OPTEE_IMG_SUFFIX) == 0) {
		*stem_len = n - li;
		return BS_OPTEE_IMAGE;
	}
	if (n >= lv && strcmp(base + n - lv, BS_OPTEE_VERSION_SUFFIX) == 0) {
		*stem_len = n - lv;
		return BS_OPTEE_VERSION;
	}
	return BS_OPTEE_OTHER;
}

/* Same directory, then UUID, then images before version files. */
static int cmp_pair(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	if (x->dirlen != y->dirlen)
		return x->dirlen < y->dirlen ? -1 : 1;
	int c = memcmp(x->name, y->name, x->dirlen);
	if (c == 0)
		c = memcmp(x->uuid, y->uuid, BS_OPTEE_UUID_LEN);
	if (c == 0 && x->role != y->role)
		c = x->role == BS_OPTEE_IMAGE ? -1 : 1;
	return c;
}

/* The output name of an entry: dir + (image ? <uuid>.ta : its own base name). */
static int cmp_out(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	if (x->dirlen != y->dirlen)
		return x->dirlen < y->dirlen ? -1 : 1;
	int c = memcmp(x->name, y->name, x->dirlen);
	if (c != 0)
		return c;
	const char *bx = x->role == BS_OPTEE_IMAGE ? x->out : x->name + x->dirlen;
	const char *by = y->role == BS_OPTEE_IMAGE ? y->out : y->name + y->dirlen;
	return strcmp(bx, by);
}

static int classify(struct bs_optee_member *out, struct entry *e, const char *const *names,
		    size_t n, const char *field, size_t *nimg, struct bs_error *err)
{
	for (size_t i = 0; i < n; i++) {
		out[i].role = BS_OPTEE_OTHER;
		out[i].pair = BS_OPTEE_NO_PAIR;
		e[i].name = names[i];
		e[i].dirlen = dir_len(names[i]);
		e[i].idx = i;
		e[i].uuid = out[i].uuid;
		size_t stem = 0;
		enum bs_optee_role r = role_of(names[i] + e[i].dirlen, &stem);
		e[i].role = r;
		if (r == BS_OPTEE_OTHER)
			continue;
		if (bs_optee_uuid_parse(out[i].uuid, names[i] + e[i].dirlen, stem) != 0)
			return fail(err, field, names[i], r == BS_OPTEE_IMAGE
				    ? "TA file name is not <uuid>" BS_OPTEE_IMG_SUFFIX
				    : "version file name is not <uuid>" BS_OPTEE_VERSION_SUFFIX);
		out[i].role = r;
		if (r == BS_OPTEE_IMAGE) {
			char u[BS_OPTEE_UUID_TEXT_LEN + 1];
			snprintf(e[i].out, sizeof(e[i].out), "%s%s",
				 bs_optee_uuid_text(u, out[i].uuid), BS_OPTEE_TA_SUFFIX);
			(*nimg)++;
		}
	}
	return 0;
}

static int pair_up(struct bs_optee_member *out, struct entry **v, size_t m, const char *field,
		   struct bs_error *err)
{
	qsort(v, m, sizeof(*v), cmp_pair);
	for (size_t k = 0; k < m; k++) {
		bool same = k > 0 && v[k - 1]->dirlen == v[k]->dirlen &&
			    memcmp(v[k - 1]->name, v[k]->name, v[k]->dirlen) == 0 &&
			    memcmp(v[k - 1]->uuid, v[k]->uuid, BS_OPTEE_UUID_LEN) == 0;
		if (same && v[k - 1]->role == v[k]->role)
			return fail(err, field, v[k]->name, v[k]->role == BS_OPTEE_IMAGE
				    ? "a second TA image with this UUID in this directory"
				    : "a second version file for this TA");
		if (v[k]->role == BS_OPTEE_VERSION) {
			if (!same)
				return fail(err, field, v[k]->name, "version file without its TA "
					    "image <uuid>" BS_OPTEE_IMG_SUFFIX);
			out[v[k]->idx].pair = v[k - 1]->idx;
			out[v[k - 1]->idx].pair = v[k]->idx;
		}
	}
	return 0;
}

int bs_optee_plan(struct bs_optee_member *out, const char *const *names, size_t n,
		  const char *field, struct bs_error *err)
{
	struct entry *e = calloc(n ? n : 1, sizeof(*e));
	struct entry **v = calloc(n ? n : 1, sizeof(*v));
	int rc = 0;
	if (e == NULL || v == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	size_t nimg = 0;
	rc = classify(out, e, names, n, field, &nimg, err);
	if (rc != 0)
		goto out;
	if (nimg == 0) {
		rc = bs_error_set(err, BS_ERR_INVALID, "%s: no TA image (<uuid>%s) in the "
				  "archive", field, BS_OPTEE_IMG_SUFFIX);
		goto out;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].role != BS_OPTEE_OTHER)
			v[m++] = &e[i];
	rc = pair_up(out, v, m, field, err);
	if (rc != 0)
		goto out;
	/* output names: images as <uuid>.ta, others as they are; versions are dropped */
	m = 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].role != BS_OPTEE_VERSION)
			v[m++] = &e[i];
	qsort(v, m, sizeof(*v), cmp_out);
	for (size_t k = 1; k < m; k++) {
		if (cmp_out(&v[k - 1], &v[k]) != 0)
			continue;
		const struct entry *img = v[k]->role == BS_OPTEE_IMAGE ? v[k] : v[k - 1];
		rc = fail(err, field, img->name, "its signed TA name is already taken by "
			  "another member");
		goto out;
	}
out:
	if (rc != 0)
		memset(out, 0, n * sizeof(*out));
	free(e);
	free(v);
	return rc;
}

int bs_optee_ta_name(char *out, size_t cap, const char *name,
		     const uint8_t uuid[BS_OPTEE_UUID_LEN], struct bs_error *err)
{
	size_t d = dir_len(name);
	char u[BS_OPTEE_UUID_TEXT_LEN + 1];
	int w = snprintf(out, cap, "%.*s%s%s", (int)d, name, bs_optee_uuid_text(u, uuid),
			 BS_OPTEE_TA_SUFFIX);
	if (w < 0 || (size_t)w >= cap)
		return bs_error_set(err, BS_ERR_LIMIT, "TA name for a member is too long");
	return 0;
}
