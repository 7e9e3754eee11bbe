/* Digest-only requests on /sign/imx (see imx_digest.h for the `digests` field). */
#include "sign/imx_digest.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/util.h"
#include "formats/hab/hab.h"
#include "sign/job.h"

#define DIGEST_LINE_MAX 256  /* one line of the field */
#define DIGEST_NAME_MAX 128  /* the declared artifact file name */

struct entry {
	unsigned line;   /* CSF line of the [Authenticate Data] */
	int md_nid;
	uint8_t d[EVP_MAX_MD_SIZE];
	size_t dlen;
	uint64_t total;  /* sum of its block lengths */
	bool used;
};

struct bs_imx_digests {
	char name[DIGEST_NAME_MAX];
	uint64_t size;
	struct entry e[BS_CSF_CMDS_MAX];
	size_t n;
};

static bool names_file(const char *declared, const char *name)
{
	if (strncmp(name, "./", 2) == 0)
		name += 2;
	return strcmp(name, declared) == 0;
}

/* "<alg>:<hex>" -> nid, bytes. */
static int parse_digest(struct entry *e, char *tok, unsigned lineno, struct bs_error *err)
{
	char *colon = strchr(tok, ':');
	const EVP_MD *md = NULL;
	if (colon != NULL) {
		*colon = '\0';
		md = EVP_get_digestbyname(tok);
	}
	if (md == NULL)
		return bs_error_set(err, BS_ERR_INVALID,
				    "digests line %u: expected <alg>:<hex> (sha256:...)", lineno);
	const char *hex = colon + 1;
	size_t want = (size_t)EVP_MD_get_size(md);
	if (strlen(hex) != 2 * want)
		return bs_error_set(err, BS_ERR_INVALID,
				    "digests line %u: a %s digest has %zu hex digits", lineno, tok,
				    2 * want);
	for (size_t i = 0; i < want; i++) {
		int hi = bs_hex_digit(hex[2 * i]), lo = bs_hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return bs_error_set(err, BS_ERR_INVALID,
					    "digests line %u: '%c%c' is not hex", lineno,
					    hex[2 * i], hex[2 * i + 1]);
		e->d[i] = (uint8_t)(hi << 4 | lo);
	}
	e->dlen = want;
	e->md_nid = EVP_MD_get_type(md);
	return 0;
}

static int parse_line(struct bs_imx_digests *d, char *line, unsigned lineno,
		      struct bs_error *err)
{
	char *save = NULL;
	char *t[4] = {NULL};
	size_t nt = 0;
	for (char *tok = strtok_r(line, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (nt == BS_ARRAY_SIZE(t))
			return bs_error_set(err, BS_ERR_INVALID, "digests line %u: too many words",
					    lineno);
		t[nt++] = tok;
	}
	if (nt == 0)
		return 0;
	if (lineno == 1) {
		if (nt != 3 || strcmp(t[0], "artifact") != 0 || strlen(t[1]) >= sizeof(d->name))
			return bs_error_set(err, BS_ERR_INVALID,
					    "digests line 1: expected 'artifact <file name> <size>'");
		snprintf(d->name, sizeof(d->name), "%s", t[1]);
		return bs_parse_u64(&d->size, t[2], 10, 0, UINT64_MAX, "digests: artifact size",
				    err);
	}
	if (nt != 3)
		return bs_error_set(err, BS_ERR_INVALID,
				    "digests line %u: expected '<csf line> <alg>:<hex> <length>'",
				    lineno);
	if (d->n >= BS_ARRAY_SIZE(d->e))
		return bs_error_set(err, BS_ERR_LIMIT, "digests: more than %zu lines",
				    BS_ARRAY_SIZE(d->e));
	struct entry *e = &d->e[d->n];
	int rc = bs_parse_uint(&e->line, t[0], 10, 1, UINT32_MAX, "digests: csf line", err);
	if (rc == 0)
		rc = parse_digest(e, t[1], lineno, err);
	if (rc == 0)
		rc = bs_parse_u64(&e->total, t[2], 10, 0, UINT64_MAX, "digests: length", err);
	if (rc == 0)
		d->n++;
	return rc;
}

static int parse(struct bs_imx_digests *d, const char *text, struct bs_error *err)
{
	unsigned lineno = 0;
	const char *p = text;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char buf[DIGEST_LINE_MAX];
		lineno++;
		if (len >= sizeof(buf))
			return bs_error_set(err, BS_ERR_LIMIT, "digests line %u: longer than %u bytes",
					    lineno, DIGEST_LINE_MAX - 1);
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[len - 1] = '\0';
		int rc = parse_line(d, buf, lineno, err);
		if (rc != 0)
			return rc;
		p += len + (nl ? 1 : 0);
	}
	if (d->name[0] == '\0')
		return bs_error_set(err, BS_ERR_INVALID,
				    "digests: first line must be 'artifact <file name> <size>'");
	return 0;
}

/* The CSF against the declaration: what check_blocks does for an upload, plus one digest
 * line per [Authenticate Data] with the right algorithm and length. */
static int check(struct bs_imx_digests *d, const struct bs_csf *csf, const char *csfname,
		 struct bs_error *err)
{
	int nid = csf->ncmds > 0 ? bs_hab_alg_to_nid(csf->cmds[0].hash_alg) : 0;
	for (size_t i = 0; i < csf->ncmds; i++) {
		const struct bs_csf_cmd *c = &csf->cmds[i];
		uint64_t total = 0;
		for (size_t b = 0; b < c->nblocks; b++) {
			const struct bs_csf_block *blk = &c->blocks[b];
			if (!names_file(d->name, blk->file))
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: Blocks name '%s' but the declared "
						    "artifact is '%s'", csfname, blk->line, blk->col,
						    blk->file, d->name);
			if ((uint64_t)blk->offset + blk->length > d->size)
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: block 0x%x+0x%x lies outside the "
						    "artifact '%s' (%llu bytes)", csfname, blk->line,
						    blk->col, blk->offset, blk->length, d->name,
						    (unsigned long long)d->size);
			total += blk->length;
		}
		if (c->kind != BS_CSF_AUTH_DATA)
			continue;
		struct entry *e = NULL;
		size_t matches = 0;
		for (size_t k = 0; k < d->n; k++)
			if (d->e[k].line == c->line && matches++ == 0)
				e = &d->e[k];
		if (matches != 1)
			return bs_error_set(err, BS_ERR_INVALID,
					    "%s:%u:%u: [Authenticate Data] has %s line in digests",
					    csfname, c->line, c->col, e ? "more than one" : "no");
		e->used = true;
		if (e->md_nid != nid)
			return bs_error_set(err, BS_ERR_INVALID,
					    "digests: line for %s:%u uses %s, the CSF Header says %s",
					    csfname, c->line, OBJ_nid2ln(e->md_nid),
					    nid ? OBJ_nid2ln(nid) : "?");
		if (e->total != total)
			return bs_error_set(err, BS_ERR_INVALID,
					    "digests: line for %s:%u declares %llu bytes, its Blocks "
					    "cover %llu", csfname, c->line,
					    (unsigned long long)e->total, (unsigned long long)total);
	}
	for (size_t k = 0; k < d->n; k++)
		if (!d->e[k].used)
			return bs_error_set(err, BS_ERR_INVALID,
					    "digests: %s has no [Authenticate Data] at line %u",
					    csfname, d->e[k].line);
	return 0;
}

int bs_imx_digests_new(struct bs_imx_digests **out, struct bs_job *job,
		       const struct bs_csf *csf, const char *csfname, struct bs_error *err)
{
	*out = NULL;
	struct bs_input *in = bs_job_input(job, "artifact");
	bool art = in != NULL;
	if (art && bs_input_size(in) == 0)
		return bs_error_set(err, BS_ERR_INVALID, "artifact: empty");
	const char *text = bs_job_has(job, "digests") ? bs_job_value(job, "digests") : NULL;
	if (!art && text == NULL)
		return bs_error_set(err, BS_ERR_INVALID,
				    "missing field 'artifact' (or 'digests' for digest-only signing)");
	if (art && text != NULL)
		return bs_error_set(err, BS_ERR_INVALID,
				    "send either the artifact or its digests (digest-only), not both");
	if (text == NULL)
		return 0;
	struct bs_imx_digests *d = NULL;
	int rc = bs_imx_digests_parse(&d, text, csf, csfname, err);
	if (rc != 0)
		return rc;
	bs_job_log(job, "digest-only: artifact '%s' (%llu bytes), %zu digests", d->name,
		   (unsigned long long)d->size, d->n);
	*out = d;
	return 0;
}

int bs_imx_digests_parse(struct bs_imx_digests **out, const char *text,
			 const struct bs_csf *csf, const char *csfname, struct bs_error *err)
{
	*out = NULL;
	if (strlen(text) > BS_IMX_DIGESTS_TEXT_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "digests: longer than %u bytes",
				    BS_IMX_DIGESTS_TEXT_MAX);
	struct bs_imx_digests *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = parse(d, text, err);
	if (rc == 0)
		rc = check(d, csf, csfname, err);
	if (rc != 0) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static int refuse_open(void *ctx, const char *name, FILE **out, uint64_t *size,
		       struct bs_error *err)
{
	return bs_error_set(err, BS_ERR_INTERNAL, "digest-only: no artifact bytes to read");
}

static int give_digest(void *ctx, const struct bs_csf_cmd *cmd, int md_nid, uint8_t *out,
		       size_t *out_len, struct bs_error *err)
{
	const struct bs_imx_digests *d = ctx;
	for (size_t k = 0; k < d->n; k++) {
		if (d->e[k].line != cmd->line)
			continue;
		if (d->e[k].md_nid != md_nid)
			break;
		memcpy(out, d->e[k].d, d->e[k].dlen);
		*out_len = d->e[k].dlen;
		return 0;
	}
	return bs_error_set(err, BS_ERR_INVALID, "digests: no matching digest");
}

struct bs_data_source bs_imx_digests_source(struct bs_imx_digests *d)
{
	return (struct bs_data_source){.open = refuse_open, .ctx = d, .digest = give_digest};
}

void bs_imx_digests_free(struct bs_imx_digests *d)
{
	free(d);
}
