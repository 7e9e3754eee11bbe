/* Placing i.MX CSF blobs (see imx_plan.h). */
#include "client/imx_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/outfile.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/util.h"
#include "formats/hab/csf.h"
#include "formats/hab/hab.h"
#include "formats/hab/verify.h"

#define PLAN_CHUNK (1u << 20) /* bytes read at a time (IVT scan, hashing, copying) */
#define IVT_LEN 32u

static int pread_all(int fd, void *buf, size_t n, uint64_t off, const char *path,
		     struct bs_error *err)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return bs_error_set(err, BS_ERR_IO, "%s: cannot read %zu bytes at 0x%" PRIx64,
					    path, n, off);
		done += (size_t)r;
	}
	return 0;
}

static bool names_image(const char *image_name, const char *name)
{
	if (strncmp(name, "./", 2) == 0)
		name += 2;
	return strcmp(name, image_name) == 0;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Blocks name the image and lie inside it. */
static int check_blocks(const struct bs_imx_plan *p, const struct bs_imx_slot *s,
			struct bs_error *err)
{
	const struct bs_csf *csf = s->csf;
	for (size_t i = 0; i < csf->ncmds; i++) {
		const struct bs_csf_cmd *c = &csf->cmds[i];
		for (size_t b = 0; b < c->nblocks; b++) {
			const struct bs_csf_block *blk = &c->blocks[b];
			if (!names_image(p->image_name, blk->file))
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: Blocks name '%s', not the image '%s'",
						    s->csf_path, blk->line, blk->col, blk->file,
						    p->image_name);
			if ((uint64_t)blk->offset + blk->length > p->image_size)
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s:%u:%u: block 0x%x+0x%x lies outside '%s' "
						    "(0x%" PRIx64 " bytes)", s->csf_path, blk->line,
						    blk->col, blk->offset, blk->length, p->image_name,
						    p->image_size);
		}
	}
	return 0;
}

/* The IVT inside block `blk` whose self pointer is its load address; 1 when found. */
static int scan_block(uint64_t *ivt_off, int fd, const struct bs_imx_plan *p,
		      const struct bs_csf_block *blk, uint8_t *buf, struct bs_error *err)
{
	if (blk->length < IVT_LEN)
		return 0;
	uint64_t start = ((uint64_t)blk->offset + 3) & ~3ull;
	uint64_t end = (uint64_t)blk->offset + blk->length - IVT_LEN; /* last IVT start */
	for (uint64_t base = start; base <= end; base += PLAN_CHUNK - IVT_LEN) {
		uint64_t want = end + IVT_LEN - base;
		size_t n = want < PLAN_CHUNK ? (size_t)want : PLAN_CHUNK;
		int rc = pread_all(fd, buf, n, base, p->image, err);
		if (rc != 0)
			return rc;
		for (size_t i = 0; i + IVT_LEN <= n; i += 4) {
			const uint8_t *v = buf + i;
			if (v[0] != HAB_TAG_IVT || v[1] != 0 || v[2] != IVT_LEN || (v[3] & 0xf0) != 0x40)
				continue;
			uint64_t off = base + i;
			uint32_t self = bs_get_le32(v + 20);
			if (self == blk->addr + (off - blk->offset) && bs_get_le32(v + 24) != 0) {
				*ivt_off = off;
				return 1;
			}
		}
		if (n < PLAN_CHUNK)
			break;
	}
	return 0;
}

static int find_ivt(struct bs_imx_plan *p, struct bs_imx_slot *s, int fd, uint8_t *buf,
		    struct bs_error *err)
{
	const struct bs_csf *csf = s->csf;
	for (size_t i = 0; i < csf->ncmds; i++) {
		const struct bs_csf_cmd *c = &csf->cmds[i];
		if (c->kind != BS_CSF_AUTH_DATA)
			continue;
		for (size_t b = 0; b < c->nblocks; b++) {
			int rc = scan_block(&s->ivt_off, fd, p, &c->blocks[b], buf, err);
			if (rc < 0)
				return rc;
			if (rc == 0)
				continue;
			uint8_t v[IVT_LEN];
			rc = pread_all(fd, v, sizeof(v), s->ivt_off, p->image, err);
			if (rc != 0)
				return rc;
			uint32_t self = bs_get_le32(v + 20), csfp = bs_get_le32(v + 24);
			if ((uint64_t)csfp + s->ivt_off < self)
				return bs_error_set(err, BS_ERR_FORMAT,
						    "%s: IVT at 0x%" PRIx64 ": CSF pointer 0x%08x lies "
						    "before the start of the image", s->csf_path,
						    s->ivt_off, csfp);
			s->csf_off = s->ivt_off + csfp - self;
			return 0;
		}
	}
	return bs_error_set(err, BS_ERR_FORMAT,
			    "%s: no IVT inside its signed blocks has a self pointer matching the "
			    "block's load address (is this the image the CSF was written for?)",
			    s->csf_path);
}

static void lower(struct bs_imx_slot *s, uint64_t end, const char *what)
{
	if (end > s->csf_off && end - s->csf_off < s->space) {
		s->space = end - s->csf_off;
		snprintf(s->limit, sizeof(s->limit), "%s at 0x%" PRIx64, what, end);
	}
}

/* The space of slot s: nothing signed may start inside it or contain it. */
static int find_space(struct bs_imx_plan *p, struct bs_imx_slot *s, int fd,
		      struct bs_error *err)
{
	s->space = UINT64_MAX;
	snprintf(s->limit, sizeof(s->limit), "the end of the image");
	for (size_t k = 0; k < p->n; k++) {
		const struct bs_csf *csf = p->slot[k].csf;
		for (size_t i = 0; i < csf->ncmds; i++)
			for (size_t b = 0; b < csf->cmds[i].nblocks; b++) {
				const struct bs_csf_block *blk = &csf->cmds[i].blocks[b];
				uint64_t lo = blk->offset, hi = lo + blk->length;
				if (lo <= s->csf_off && s->csf_off < hi)
					return bs_error_set(err, BS_ERR_FORMAT,
							    "%s: the IVT's CSF pointer (file offset "
							    "0x%" PRIx64 ") lies inside data signed by "
							    "%s:%u", s->csf_path, s->csf_off,
							    p->slot[k].csf_path, blk->line);
				lower(s, lo, "the signed block");
			}
		if (&p->slot[k] != s && p->slot[k].ivt_off == s->ivt_off)
			return bs_error_set(err, BS_ERR_INVALID, "%s and %s sign the same IVT "
					    "(0x%" PRIx64 ")", p->slot[k].csf_path, s->csf_path,
					    s->ivt_off);
		lower(s, p->slot[k].ivt_off, "the IVT");
	}
	/* The ROM loads only the boot data image [start, start + length). */
	uint8_t v[IVT_LEN], bd[8];
	int rc = pread_all(fd, v, sizeof(v), s->ivt_off, p->image, err);
	if (rc != 0)
		return rc;
	uint64_t self = bs_get_le32(v + 20), bdp = bs_get_le32(v + 16);
	uint64_t base = self - s->ivt_off; /* load address of file offset 0 */
	if (bdp != 0 && bdp >= base && bdp - base + sizeof(bd) <= p->image_size) {
		rc = pread_all(fd, bd, sizeof(bd), bdp - base, p->image, err);
		if (rc != 0)
			return rc;
		uint64_t end = (uint64_t)bs_get_le32(bd) + bs_get_le32(bd + 4);
		if (end >= base)
			lower(s, end - base, "the end of the boot data image");
	}
	return 0;
}

int bs_imx_plan_new(struct bs_imx_plan **out, const char *image, const char *const *csfs,
		    size_t ncsfs, struct bs_error *err)
{
	*out = NULL;
	if (ncsfs == 0 || ncsfs > BS_CLIENT_CSFS_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "give 1..%d --csf files",
				    BS_CLIENT_CSFS_MAX);
	struct bs_imx_plan *p = calloc(1, sizeof(*p));
	uint8_t *buf = malloc(PLAN_CHUNK);
	int fd = -1, rc = 0;
	if (p == NULL || buf == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	p->image = bs_strdup(image);
	p->image_name = bs_strdup(base_of(image));
	fd = open(image, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = bs_error_set(err, fd < 0 && errno == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_IO,
				  "%s: cannot open the image (%s)", image,
				  fd < 0 ? strerror(errno) : "not a regular file");
		goto out;
	}
	p->image_size = (uint64_t)st.st_size;
	for (size_t i = 0; rc == 0 && i < ncsfs; i++) {
		struct bs_imx_slot *s = &p->slot[p->n++];
		uint8_t *text = NULL;
		s->csf_path = bs_strdup(csfs[i]);
		rc = bs_read_file(&text, &s->csf_len, csfs[i], BS_CSF_TEXT_MAX, err);
		s->csf_text = (char *)text;
		if (rc == 0)
			rc = bs_csf_parse(&s->csf, s->csf_text, s->csf_len, csfs[i], NULL, err);
		if (rc == 0)
			rc = check_blocks(p, s, err);
		if (rc == 0)
			rc = find_ivt(p, s, fd, buf, err);
	}
	for (size_t i = 0; rc == 0 && i < p->n; i++)
		rc = find_space(p, &p->slot[i], fd, err);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	if (rc != 0) {
		bs_imx_plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

static int hash_cmd(EVP_MD_CTX *m, const EVP_MD *md, int fd, const struct bs_imx_plan *p,
		    const struct bs_csf_cmd *c, uint8_t *buf, uint8_t *d, unsigned *dl,
		    uint64_t *total, struct bs_error *err)
{
	*total = 0;
	if (EVP_DigestInit_ex(m, md, NULL) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "digest init");
	for (size_t b = 0; b < c->nblocks; b++) {
		uint64_t off = c->blocks[b].offset, left = c->blocks[b].length;
		*total += left;
		while (left > 0) {
			size_t n = left < PLAN_CHUNK ? (size_t)left : PLAN_CHUNK;
			int rc = pread_all(fd, buf, n, off, p->image, err);
			if (rc != 0)
				return rc;
			if (EVP_DigestUpdate(m, buf, n) != 1)
				return bs_error_ssl(err, BS_ERR_CRYPTO, "digest update");
			off += n;
			left -= n;
		}
	}
	if (EVP_DigestFinal_ex(m, d, dl) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "digest final");
	return 0;
}

static int slot_digests(const struct bs_imx_plan *p, struct bs_imx_slot *s, int fd,
			uint8_t *buf, EVP_MD_CTX *m, struct bs_error *err)
{
	const struct bs_csf *csf = s->csf;
	int nid = bs_hab_alg_to_nid(csf->cmds[0].hash_alg);
	const EVP_MD *md = nid ? EVP_get_digestbynid(nid) : NULL;
	if (md == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "%s: Header hash algorithm 0x%02x",
				    s->csf_path, csf->cmds[0].hash_alg);
	char text[BS_CLIENT_DIGESTS_TEXT_MAX];
	size_t at = (size_t)snprintf(text, sizeof(text), "artifact %s %" PRIu64 "\n",
				     p->image_name, p->image_size);
	for (size_t i = 0; i < csf->ncmds && at < sizeof(text); i++) {
		const struct bs_csf_cmd *c = &csf->cmds[i];
		if (c->kind != BS_CSF_AUTH_DATA)
			continue;
		uint8_t d[EVP_MAX_MD_SIZE];
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		unsigned dl = 0;
		uint64_t total = 0;
		int rc = hash_cmd(m, md, fd, p, c, buf, d, &dl, &total, err);
		if (rc != 0)
			return rc;
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%u %s:%s %" PRIu64 "\n",
				       c->line, OBJ_nid2ln(nid), bs_hex(hex, d, dl), total);
	}
	if (at >= sizeof(text))
		return bs_error_set(err, BS_ERR_LIMIT, "%s: digests exceed %u bytes", s->csf_path,
				    BS_CLIENT_DIGESTS_TEXT_MAX);
	s->digests = bs_strdup(text);
	return s->digests ? 0 : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
}

int bs_imx_plan_digests(struct bs_imx_plan *p, struct bs_error *err)
{
	uint8_t *buf = malloc(PLAN_CHUNK);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int fd = open(p->image, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (buf == NULL || m == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	else if (fd < 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", p->image, strerror(errno));
	for (size_t i = 0; rc == 0 && i < p->n; i++)
		rc = slot_digests(p, &p->slot[i], fd, buf, m, err);
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(m);
	free(buf);
	return rc;
}

int bs_imx_plan_check_fit(const struct bs_imx_plan *p, size_t i, size_t len,
			  struct bs_error *err)
{
	const struct bs_imx_slot *s = &p->slot[i];
	if ((uint64_t)len <= s->space)
		return 0;
	return bs_error_set(err, BS_ERR_LIMIT,
			    "%s: the signed CSF (%zu bytes) does not fit at file offset 0x%" PRIx64
			    ": only %" PRIu64 " bytes before %s", s->csf_path, len, s->csf_off,
			    s->space, s->limit);
}

static int copy_fd(int to, int from, const char *path, struct bs_error *err)
{
	uint8_t *buf = malloc(PLAN_CHUNK);
	if (buf == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = 0;
	for (;;) {
		ssize_t r = read(from, buf, PLAN_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = bs_error_set(err, BS_ERR_IO, "%s: read failed: %s", path, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (write(to, buf, (size_t)r) != r) {
			rc = bs_error_set(err, BS_ERR_IO, "writing the output failed: %s",
					  strerror(errno));
			break;
		}
	}
	free(buf);
	return rc;
}

static int verify_all(const struct bs_imx_plan *p, const char *tmp, const char *fuse_path,
		      struct bs_error *err)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	uint8_t fuse[64];
	size_t fuse_len = 0;
	int rc = bs_read_file(&raw, &raw_len, fuse_path, BS_CERT_FILE_MAX, err);
	if (rc == 0)
		rc = bs_hab_fuse_load(fuse, &fuse_len, raw, raw_len, err);
	free(raw);
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		struct bs_hab_verify_opts o = {
			.fuse = fuse, .fuse_len = fuse_len,
			.has_ivt_offset = true, .ivt_offset = p->slot[i].ivt_off,
		};
		rc = bs_hab_verify_image(tmp, &o, err);
		if (rc != 0)
			bs_error_prefix(err, "verify (--fuse) of the IVT at 0x%" PRIx64 " (%s)",
					p->slot[i].ivt_off, p->slot[i].csf_path);
	}
	return rc;
}

int bs_imx_plan_write(const struct bs_imx_plan *p, const uint8_t *const *blobs,
		      const size_t *lens, const char *out_path, const char *fuse_path,
		      struct bs_error *err)
{
	struct stat in_st, out_st;
	if (stat(p->image, &in_st) == 0 && stat(out_path, &out_st) == 0 &&
	    in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino)
		return bs_error_set(err, BS_ERR_INVALID,
				    "-o %s is the input image: the input is never modified", out_path);
	for (size_t i = 0; i < p->n; i++) {
		int rc = bs_imx_plan_check_fit(p, i, lens[i], err);
		if (rc != 0)
			return rc;
	}
	struct bs_outfile of;
	int in = -1, rc = bs_outfile_open(&of, out_path, err);
	if (rc != 0)
		return rc;
	in = open(p->image, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", p->image, strerror(errno));
	if (rc == 0)
		rc = copy_fd(fileno(of.fp), in, p->image, err);
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		ssize_t w = pwrite(fileno(of.fp), blobs[i], lens[i], (off_t)p->slot[i].csf_off);
		if (w < 0 || (size_t)w != lens[i])
			rc = bs_error_set(err, BS_ERR_IO, "writing the output failed: %s",
					  strerror(errno));
	}
	if (rc == 0 && fsync(fileno(of.fp)) != 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", of.tmp, strerror(errno));
	if (rc == 0 && fuse_path != NULL)
		rc = verify_all(p, of.tmp, fuse_path, err);
	if (rc == 0)
		rc = bs_outfile_commit(&of, err);
	if (in >= 0)
		close(in);
	bs_outfile_abort(&of);
	return rc;
}

void bs_imx_plan_free(struct bs_imx_plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		bs_csf_free(p->slot[i].csf);
		free(p->slot[i].csf_path);
		free(p->slot[i].csf_text);
		free(p->slot[i].digests);
	}
	free(p->image);
	free(p->image_name);
	free(p);
}
