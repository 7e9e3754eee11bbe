/* Offline AHAB verifier and dump (see verify.h). */
#include "formats/ahab/verify.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "formats/ahab/srk.h"


struct ctr {
	uint64_t base;
	struct bs_ahab_container c;
	uint8_t *buf; /* [base, base + c.length) */
	struct bs_ahab_sigblk sb;
	const uint8_t *sbp;
	size_t sb_avail;
};

static int fail(struct bs_error *err, int code, const struct ctr *t, const char *check,
		const char *fmt, ...) BS_PRINTF(5, 6);
static int fail(struct bs_error *err, int code, const struct ctr *t, const char *check,
		const char *fmt, ...)
{
	char what[BS_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return bs_error_set(err, code, "container at 0x%llx: %s: %s",
			    (unsigned long long)t->base, check, what);
}

/* Prefix err with "container at 0x..: <check>" and return rc (err may be NULL). */
static int prefixed(int rc, struct bs_error *err, const char *check, uint64_t base)
{
	bs_error_prefix(err, "container at 0x%llx: %s", (unsigned long long)base, check);
	return rc;
}

static void note(FILE *f, const struct ctr *t, const char *fmt, ...) BS_PRINTF(3, 4);
static void note(FILE *f, const struct ctr *t, const char *fmt, ...)
{
	if (f == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(f, "container 0x%llx: ", (unsigned long long)t->base);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	va_end(ap);
}

static bool probe(const struct bs_ahab_reader *r, uint64_t base)
{
	uint8_t h[4];
	if (r->size < BS_AHAB_HDR_LEN || base > r->size - BS_AHAB_HDR_LEN ||
	    r->pread(r->ctx, h, sizeof(h), base, NULL) != 0)
		return false;
	return h[3] == BS_AHAB_TAG_CONTAINER && (h[0] == 0 || h[0] == 2);
}

/* Read and parse the header, the image array and the signature block header. */
static int load(struct ctr *t, const struct bs_ahab_reader *r, uint64_t base,
		struct bs_error *err)
{
	memset(t, 0, sizeof(*t));
	t->base = base;
	uint8_t h[BS_AHAB_HDR_LEN];
	if (base > r->size || r->size - base < BS_AHAB_HDR_LEN)
		return fail(err, BS_ERR_FORMAT, t, "structure", "no container header inside the "
			    "0x%llx-byte image", (unsigned long long)r->size);
	int rc = r->pread(r->ctx, h, sizeof(h), base, err);
	if (rc != 0)
		return rc;
	size_t len = bs_get_le16(h + 1);
	if (len < BS_AHAB_HDR_LEN || len > r->size - base)
		return fail(err, BS_ERR_FORMAT, t, "structure",
			    "length 0x%zx does not fit the image (0x%llx bytes from here)", len,
			    (unsigned long long)(r->size - base));
	if ((t->buf = malloc(len)) == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if ((rc = r->pread(r->ctx, t->buf, len, base, err)) != 0)
		return rc;
	if ((rc = bs_ahab_container_parse(&t->c, t->buf, len, err)) != 0)
		return prefixed(rc, err, "structure", base);
	t->sbp = t->buf + t->c.sigblk_offset;
	t->sb_avail = len - t->c.sigblk_offset;
	if ((rc = bs_ahab_sigblk_parse(&t->sb, t->sbp, t->sb_avail, err)) != 0)
		return prefixed(rc, err, "signature block", base);
	if (t->c.sigblk_offset + (size_t)t->sb.length != t->c.length)
		return fail(err, BS_ERR_FORMAT, t, "structure",
			    "length 0x%x is not signature block offset 0x%x + its length 0x%x",
			    t->c.length, t->c.sigblk_offset, t->sb.length);
	return 0;
}

static int verify_sig(EVP_PKEY *pub, const struct bs_ahab_srk *rec, const uint8_t *msg,
		      size_t len, const uint8_t *sig, size_t siglen, int *salt_out,
		      struct bs_error *err)
{
	struct bs_sig_params sp;
	bs_ahab_srk_sig_params(rec, &sp);
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	if (EVP_Digest(msg, len, d, &dl, EVP_get_digestbynid(sp.md_nid), NULL) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "digest");
	if (sp.scheme != BS_SIG_RSA_PSS)
		return bs_sig_verify(pub, &sp, d, dl, sig, siglen, err);
	/* PSS: SPSDK uses salt = digest length, CST OpenSSL's default (maximum) */
	int em = (EVP_PKEY_get_bits(pub) - 1 + 7) / 8;
	int salts[3] = {(int)dl, em - (int)dl - 2, 0};
	for (size_t i = 0; i < 3; i++) {
		sp.pss_saltlen = salts[i];
		if (salts[i] >= 0 && salts[i] <= BS_PSS_SALT_MAX &&
		    bs_sig_verify(pub, &sp, d, dl, sig, siglen, NULL) == 0) {
			*salt_out = salts[i];
			return 0;
		}
	}
	return bs_error_set(err, BS_ERR_VERIFY, "RSA-PSS signature does not verify (salt "
			    "lengths %d, %d, 0 tried)", salts[0], salts[1]);
}

/* The signature structure at p (avail bytes): D8 header and the raw signature. */
static int sig_struct(const uint8_t **sig, const uint8_t *p, size_t avail, size_t want,
		      const struct ctr *t, const char *check, struct bs_error *err)
{
	if (avail < BS_AHAB_SIG_HDR_LEN || p[0] != 0 || p[3] != BS_AHAB_TAG_SIGNATURE ||
	    bs_get_le32(p + 4) != 0)
		return fail(err, BS_ERR_FORMAT, t, check,
			    "signature structure: expected 00 .. .. D8 with reserved word 0");
	size_t len = bs_get_le16(p + 1);
	if (len != BS_AHAB_SIG_HDR_LEN + want || len > avail)
		return fail(err, BS_ERR_FORMAT, t, check,
			    "signature structure of 0x%zx bytes (0x%zx available); the key needs "
			    "8 + %zu", len, avail, want);
	*sig = p + BS_AHAB_SIG_HDR_LEN;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* The certificate: returns its key record parsed into *sgk. */
static int check_cert(struct bs_ahab_srk *sgk, const struct ctr *t,
		      const struct bs_ahab_srk *srk, FILE *rep, struct bs_error *err)
{
	const uint8_t *p = t->sbp + t->sb.cert_offset;
	size_t avail = t->sb.length - t->sb.cert_offset;
	if (avail < BS_AHAB_CERT_HDR_LEN || p[0] != 0 || p[3] != BS_AHAB_TAG_CERT)
		return fail(err, BS_ERR_FORMAT, t, "certificate", "expected version 0, tag 0xAF");
	size_t len = bs_get_le16(p + 1), sig_off = bs_get_le16(p + 4);
	uint8_t perm_inv = p[6], perm = p[7];
	if (len > avail || sig_off % 8 != 0 || sig_off < BS_AHAB_CERT_HDR_LEN + BS_AHAB_SRK_REC_HDR ||
	    sig_off >= len)
		return fail(err, BS_ERR_FORMAT, t, "certificate",
			    "length 0x%zx / signature offset 0x%zx do not fit 0x%zx bytes", len,
			    sig_off, avail);
	if ((perm ^ perm_inv) != 0xFF)
		return fail(err, BS_ERR_VERIFY, t, "certificate",
			    "inverted permissions 0x%02x do not match permissions 0x%02x", perm_inv,
			    perm);
	if (!(perm & BS_AHAB_PERM_SIGN))
		return fail(err, BS_ERR_VERIFY, t, "certificate",
			    "permissions 0x%02x lack 0x01 (sign containers)", perm);
	size_t used = 0;
	int rc = bs_ahab_srk_record_parse(sgk, p + BS_AHAB_CERT_HDR_LEN,
					  sig_off - BS_AHAB_CERT_HDR_LEN, &used, err);
	if (rc != 0)
		return prefixed(rc, err, "certificate", t->base);
	if (!all_zero(p + BS_AHAB_CERT_HDR_LEN + used, sig_off - BS_AHAB_CERT_HDR_LEN - used))
		return fail(err, BS_ERR_FORMAT, t, "certificate", "padding after the key is not zero");
	if (sgk->alg != srk->alg || sgk->size_code != srk->size_code || sgk->hash != srk->hash)
		return fail(err, BS_ERR_VERIFY, t, "certificate",
			    "key type/size/hash differs from the SRK's");
	const uint8_t *sig = NULL;
	if ((rc = sig_struct(&sig, p + sig_off, len - sig_off, srk->sig_len, t, "certificate",
			     err)) != 0)
		return rc;
	if (len != sig_off + BS_AHAB_SIG_HDR_LEN + srk->sig_len)
		return fail(err, BS_ERR_FORMAT, t, "certificate", "length 0x%zx has extra bytes",
			    len);
	int salt = -1;
	if (verify_sig(srk->pub, srk, p, sig_off, sig, srk->sig_len, &salt, err) != 0)
		return fail(err, BS_ERR_VERIFY, t, "certificate",
			    "signature by the selected SRK does not verify");
	note(rep, t, "certificate: permissions 0x%02x, signed by the SRK: ok", perm);
	return 0;
}

static int check_table(struct bs_ahab_srk_table **tbl, const struct ctr *t,
		       const struct bs_ahab_verify_opts *o, struct bs_error *err)
{
	const struct bs_ahab_sigblk *sb = &t->sb;
	if (sb->srk_offset != BS_AHAB_HDR_LEN || sb->sig_offset <= sb->srk_offset ||
	    (sb->cert_offset != 0 && sb->cert_offset < sb->sig_offset))
		return fail(err, BS_ERR_FORMAT, t, "signature block",
			    "SRK table at 0x%x, signature at 0x%x, certificate at 0x%x: expected "
			    "0x10, then the signature, then the certificate", sb->srk_offset,
			    sb->sig_offset, sb->cert_offset);
	size_t room = sb->sig_offset - sb->srk_offset;
	int rc = bs_ahab_srk_table_parse(tbl, t->sbp + sb->srk_offset, room, true, err);
	if (rc != 0)
		return prefixed(rc, err, "SRK table", t->base);
	if ((*tbl)->n != BS_AHAB_SRK_RECORDS)
		return fail(err, BS_ERR_FORMAT, t, "SRK table", "%zu records; expected 4",
			    (*tbl)->n);
	if (!all_zero(t->sbp + sb->srk_offset + (*tbl)->len, room - (*tbl)->len))
		return fail(err, BS_ERR_FORMAT, t, "SRK table", "padding before the signature is "
			    "not zero");
	if (BS_AHAB_FLAG_SRK_SET(t->c.flags) != BS_AHAB_SRK_SET_OEM) {
		note(o->report, t, "SRK hash: NXP SRK set, not compared with the OEM fuses");
		return 0;
	}
	uint8_t h[BS_AHAB_HASH_MAX];
	size_t hl = 0;
	int md = o->fuse_len == 64 ? NID_sha512 : NID_sha256;
	if ((rc = bs_ahab_srk_fuse(h, &hl, (*tbl)->data, (*tbl)->len, md, err)) != 0)
		return rc;
	if (o->fuse == NULL || hl != o->fuse_len || memcmp(h, o->fuse, hl) != 0) {
		char hex[2 * BS_AHAB_HASH_MAX + 1];
		return fail(err, BS_ERR_VERIFY, t, "SRK hash",
			    "%s of the SRK table is %s, the fuse value differs", OBJ_nid2sn(md),
			    bs_hex(hex, h, hl));
	}
	note(o->report, t, "SRK hash: %s of the SRK table matches the fuses", OBJ_nid2sn(md));
	return 0;
}

static int verify_one(struct ctr *t, const struct bs_ahab_reader *r,
		      const struct bs_ahab_verify_opts *o, struct bs_error *err)
{
	struct bs_ahab_srk_table *tbl = NULL;
	struct bs_ahab_srk sgk;
	memset(&sgk, 0, sizeof(sgk));
	FILE *rep = o->report;
	uint32_t set = BS_AHAB_FLAG_SRK_SET(t->c.flags), idx = BS_AHAB_FLAG_SRK_IDX(t->c.flags);
	int rc;
	note(rep, t, "structure: %u image(s), length 0x%x, fuse version %u, sw version %u: ok",
	     t->c.nr_images, t->c.length, t->c.fuse_version, t->c.sw_version);
	if (set == BS_AHAB_SRK_SET_NONE || t->sb.sig_offset == 0) {
		rc = fail(err, BS_ERR_VERIFY, t, "signature",
			  "container is not signed (SRK set none / no signature)");
		goto out;
	}
	if (set != BS_AHAB_SRK_SET_OEM && set != BS_AHAB_SRK_SET_NXP) {
		rc = fail(err, BS_ERR_FORMAT, t, "SRK selection", "SRK set %u is reserved", set);
		goto out;
	}
	if ((rc = check_table(&tbl, t, o, err)) != 0)
		goto out;
	const struct bs_ahab_srk *srk = &tbl->e[idx];
	if (set == BS_AHAB_SRK_SET_OEM && (o->revoked >> idx) & 1) {
		rc = fail(err, BS_ERR_VERIFY, t, "SRK selection",
			  "SRK %u is revoked in the fuses (mask 0x%x)", idx, o->revoked);
		goto out;
	}
	note(rep, t, "SRK selection: %s set, SRK %u%s: ok",
	     set == BS_AHAB_SRK_SET_OEM ? "OEM" : "NXP", idx,
	     (BS_AHAB_FLAG_REVOKE(t->c.flags) >> idx) & 1 ? " (warning: the container asks to "
							     "revoke the SRK that signed it)" : "");
	const struct bs_ahab_srk *signer = srk;
	if (t->sb.cert_offset != 0) {
		if ((rc = check_cert(&sgk, t, srk, rep, err)) != 0)
			goto out;
		signer = &sgk;
	}
	const uint8_t *sig = NULL;
	size_t signed_len = t->c.sigblk_offset + (size_t)t->sb.sig_offset;
	size_t sig_end = t->sb.cert_offset ? t->sb.cert_offset : t->sb.length;
	if ((rc = sig_struct(&sig, t->sbp + t->sb.sig_offset, sig_end - t->sb.sig_offset,
			     signer->sig_len, t, "signature", err)) != 0)
		goto out;
	int salt = -1;
	if (verify_sig(signer->pub, signer, t->buf, signed_len, sig, signer->sig_len, &salt,
		       NULL) != 0) {
		rc = fail(err, BS_ERR_VERIFY, t, "signature",
			  "container signature (%s) over bytes 0x0-0x%zx does not verify with the "
			  "%s key", bs_ahab_hash_name(signer->hash), signed_len,
			  t->sb.cert_offset ? "certificate" : "SRK");
		goto out;
	}
	note(rep, t, "signature: %s over 0x%zx bytes by the %s key%s: ok",
	     bs_ahab_hash_name(signer->hash), signed_len,
	     t->sb.cert_offset ? "certificate" : "SRK", salt >= 0 ? " (RSA-PSS)" : "");
	if ((rc = bs_ahab_images_check(&t->c, t->base, r->size, t->c.length, err)) != 0) {
		prefixed(rc, err, "structure", t->base);
		goto out;
	}
	if ((rc = bs_ahab_images_hash_check(&t->c, t->base, r, err)) != 0) {
		prefixed(rc, err, "image hash", t->base);
		goto out;
	}
	if (set == BS_AHAB_SRK_SET_OEM && t->c.fuse_version < o->min_fuse_version) {
		rc = fail(err, BS_ERR_VERIFY, t, "anti-rollback",
			  "fuse version %u is below the fused version %u", t->c.fuse_version,
			  o->min_fuse_version);
		goto out;
	}
	for (unsigned i = 0; i < t->c.nr_images; i++)
		note(rep, t, "image hash: image %u (0x%x bytes at 0x%llx, %s): ok", i,
		     t->c.img[i].size, (unsigned long long)(t->base + t->c.img[i].offset),
		     bs_ahab_hash_name(BS_AHAB_IMG_HASH(t->c.img[i].flags)));
out:
	bs_ahab_srk_clear(&sgk);
	bs_ahab_srk_table_free(tbl);
	return rc;
}

int bs_ahab_verify(const struct bs_ahab_reader *image, const struct bs_ahab_verify_opts *o,
		   struct bs_error *err)
{
	if (image == NULL || o == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "bs_ahab_verify: missing argument");
	if (o->fuse == NULL || (o->fuse_len != 32 && o->fuse_len != 64))
		return bs_error_set(err, BS_ERR_INVALID,
				    "SRK fuse value must be 32 (SHA-256) or 64 (SHA-512) bytes");
	size_t n = 0, oem = 0;
	uint64_t base = o->has_offset ? o->offset : 0;
	while (n < BS_AHAB_CONTAINERS_MAX) {
		if (n > 0 && !probe(image, base))
			break;
		struct ctr t;
		int rc = load(&t, image, base, err);
		if (rc == 0)
			rc = verify_one(&t, image, o, err);
		if (BS_AHAB_FLAG_SRK_SET(t.c.flags) == BS_AHAB_SRK_SET_OEM)
			oem++;
		free(t.buf);
		if (rc != 0)
			return rc;
		n++;
		if (o->has_offset)
			break;
		base += BS_AHAB_CONTAINER_STEP;
	}
	if (oem == 0)
		return bs_error_set(err, BS_ERR_VERIFY,
				    "SRK hash: no OEM-signed container found, nothing was checked "
				    "against the fuses");
	return 0;
}

static void dump_one(FILE *f, const struct ctr *t)
{
	const struct bs_ahab_container *c = &t->c;
	fprintf(f, "container at 0x%llx: version %u, length 0x%x, flags 0x%08x (SRK set %u, "
		"SRK %u, revoke mask 0x%x), sw version %u, fuse version %u, %u image(s)\n",
		(unsigned long long)t->base, c->version, c->length, c->flags,
		BS_AHAB_FLAG_SRK_SET(c->flags), BS_AHAB_FLAG_SRK_IDX(c->flags),
		BS_AHAB_FLAG_REVOKE(c->flags), c->sw_version, c->fuse_version, c->nr_images);
	for (unsigned i = 0; i < c->nr_images; i++) {
		const struct bs_ahab_image *im = &c->img[i];
		char hex[2 * BS_AHAB_HASH_MAX + 1];
		int nid = bs_ahab_hash_nid(BS_AHAB_IMG_HASH(im->flags));
		size_t hl = (size_t)EVP_MD_get_size(EVP_get_digestbynid(nid));
		fprintf(f, "  image %u: offset 0x%x size 0x%x load 0x%llx entry 0x%llx flags "
			"0x%08x (type %u, core %u, %s%s) meta 0x%08x\n    hash %s\n", i,
			im->offset, im->size, (unsigned long long)im->load_address,
			(unsigned long long)im->entry_point, im->flags, BS_AHAB_IMG_TYPE(im->flags),
			BS_AHAB_IMG_CORE(im->flags), bs_ahab_hash_name(BS_AHAB_IMG_HASH(im->flags)),
			BS_AHAB_IMG_ENCRYPTED(im->flags) ? ", encrypted" : "", im->meta,
			bs_hex(hex, im->hash, hl));
	}
	const struct bs_ahab_sigblk *sb = &t->sb;
	fprintf(f, "  signature block at +0x%x: length 0x%x, SRK table +0x%x, signature +0x%x, "
		"certificate +0x%x, blob +0x%x, key id 0x%x\n", c->sigblk_offset, sb->length,
		sb->srk_offset, sb->sig_offset, sb->cert_offset, sb->blob_offset, sb->key_id);
	if (sb->srk_offset == 0 || sb->sig_offset <= sb->srk_offset)
		return;
	struct bs_ahab_srk_table *tbl = NULL;
	if (bs_ahab_srk_table_parse(&tbl, t->sbp + sb->srk_offset,
				    sb->sig_offset - sb->srk_offset, true, NULL) != 0) {
		fprintf(f, "  SRK table: malformed\n");
		return;
	}
	uint8_t h[BS_AHAB_HASH_MAX];
	size_t hl = 0;
	char hex[2 * BS_AHAB_HASH_MAX + 1];
	fprintf(f, "  SRK table: %zu bytes, %zu records\n", tbl->len, tbl->n);
	for (size_t i = 0; i < tbl->n; i++) {
		char d[64];
		fprintf(f, "    SRK%zu: %s\n", i, bs_ahab_srk_desc(&tbl->e[i], d, sizeof(d)));
	}
	if (bs_ahab_srk_fuse(h, &hl, tbl->data, tbl->len, NID_sha256, NULL) == 0)
		fprintf(f, "    SRK hash sha256 (8ULP/91/93/95A0): %s\n", bs_hex(hex, h, hl));
	if (bs_ahab_srk_fuse(h, &hl, tbl->data, tbl->len, NID_sha512, NULL) == 0)
		fprintf(f, "    SRK hash sha512 (8QXP/8QM/8DXL): %s\n", bs_hex(hex, h, hl));
	bs_ahab_srk_table_free(tbl);
	if (sb->cert_offset != 0) {
		const uint8_t *p = t->sbp + sb->cert_offset;
		fprintf(f, "  certificate: length 0x%x, signature offset 0x%x, permissions 0x%02x "
			"(inverted 0x%02x)\n", bs_get_le16(p + 1), bs_get_le16(p + 4), p[7], p[6]);
	}
	const uint8_t *s = t->sbp + sb->sig_offset;
	fprintf(f, "  signature: %u bytes\n", bs_get_le16(s + 1) >= BS_AHAB_SIG_HDR_LEN
						       ? bs_get_le16(s + 1) - BS_AHAB_SIG_HDR_LEN : 0);
}

int bs_ahab_dump(FILE *out, const struct bs_ahab_reader *image, bool has_offset,
		 uint64_t offset, struct bs_error *err)
{
	uint64_t base = has_offset ? offset : 0;
	for (size_t n = 0; n < BS_AHAB_CONTAINERS_MAX; n++) {
		if (n > 0 && !probe(image, base))
			break;
		struct ctr t;
		int rc = load(&t, image, base, err);
		if (rc == 0)
			dump_one(out, &t);
		free(t.buf);
		if (rc != 0)
			return rc;
		if (has_offset)
			break;
		base += BS_AHAB_CONTAINER_STEP;
	}
	return 0;
}
