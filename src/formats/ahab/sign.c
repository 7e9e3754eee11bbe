/* AHAB signing (see sign.h). Layout of the new signature block as CST writes it: SRK
 * table at 0x10, signature after it, certificate after the signature, each part 8-byte
 * aligned with zero padding (AHAB.md §4). */
#include "formats/ahab/sign.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ahab/srk.h"

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

/* Prefix err with the CSF position of a file argument; returns rc. */
static int at(int rc, struct bs_error *err, const struct bs_ahab_csf *csf,
	      const struct bs_ahab_csf_file *f)
{
	bs_error_prefix(err, "%s:%u:%u", csf->filename, f->line, f->col);
	return rc;
}

static int sign_bytes(uint8_t *sig_out, size_t sig_len, uint8_t *digest, size_t *digest_len,
		      struct bs_key *key, const struct bs_ahab_srk *rec, const uint8_t *msg,
		      size_t len, struct bs_error *err)
{
	struct bs_sig_params sp;
	bs_ahab_srk_sig_params(rec, &sp);
	unsigned dl = 0;
	if (EVP_Digest(msg, len, digest, &dl, EVP_get_digestbynid(sp.md_nid), NULL) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "digest");
	*digest_len = dl;
	uint8_t *sig = NULL;
	size_t n = 0;
	int rc = bs_key_sign(key, &sp, digest, dl, &sig, &n, err);
	if (rc != 0) {
		bs_error_prefix(err, "signing with %s", bs_key_id(key));
		return rc;
	}
	if (n != sig_len) {
		free(sig);
		return bs_error_set(err, BS_ERR_KEY, "key %s made a %zu-byte signature, the SRK "
				    "record needs %zu", bs_key_id(key), n, sig_len);
	}
	/* a token or key that signs wrongly must not produce an image */
	rc = bs_sig_verify(rec->pub, &sp, digest, dl, sig, n, err);
	if (rc == 0)
		memcpy(sig_out, sig, n);
	else
		bs_error_prefix(err, "signature by %s does not verify with the SRK record's key",
				bs_key_id(key));
	free(sig);
	return rc;
}

static void put_sig_header(uint8_t *p, size_t sig_len)
{
	p[0] = 0;
	bs_buf_put_le16(p + 1, (uint16_t)(BS_AHAB_SIG_HDR_LEN + sig_len));
	p[3] = BS_AHAB_TAG_SIGNATURE;
	memset(p + 4, 0, 4);
}

/* Table entry `idx` must hold the certificate's key (compare the key material of the
 * records; the algorithm byte may say PSS for an rsaEncryption certificate). */
static int check_source(const struct bs_ahab_csf *csf, const struct bs_ahab_srk_table *t,
			X509 *cert, struct bs_error *err)
{
	const struct bs_ahab_srk *e = &t->e[csf->source_index];
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc = bs_ahab_srk_record_cert(&rec, &len, cert, e->hash, err);
	if (rc != 0)
		return at(rc, err, csf, &csf->source);
	bool rsa_pair = (rec[3] == BS_AHAB_ALG_RSA || rec[3] == BS_AHAB_ALG_RSA_PSS) &&
			(e->alg == BS_AHAB_ALG_RSA || e->alg == BS_AHAB_ALG_RSA_PSS);
	bool same = len == e->rec_len && (rec[3] == e->alg || rsa_pair) &&
		    rec[5] == e->size_code &&
		    memcmp(rec + BS_AHAB_SRK_REC_HDR - 4, e->rec + BS_AHAB_SRK_REC_HDR - 4,
			   len - (BS_AHAB_SRK_REC_HDR - 4)) == 0;
	free(rec);
	if (!same) {
		for (size_t i = 0; i < t->n; i++)
			if (i != csf->source_index && EVP_PKEY_eq(t->e[i].pub,
								  X509_get0_pubkey(cert)) == 1)
				return bs_error_set(err, BS_ERR_SEMANTIC,
						    "%s:%u:%u: Source certificate holds SRK table "
						    "entry %zu, but Source Index = %u",
						    csf->filename, csf->source.line,
						    csf->source.col, i, csf->source_index);
		return bs_error_set(err, BS_ERR_SEMANTIC,
				    "%s:%u:%u: Source certificate's key is not SRK table entry %u "
				    "(Source Index) of %s", csf->filename, csf->source.line,
				    csf->source.col, csf->source_index, csf->srk_table.name);
	}
	return 0;
}

struct parts {
	struct bs_ahab_srk_table *table;
	X509 *srk_cert, *sgk_cert;
	struct bs_key *srk_key, *sgk_key;
	uint8_t *sgk_rec;
	size_t sgk_rec_len;
	struct bs_ahab_srk sgk; /* parsed sgk_rec */
	uint8_t *cert_sig;      /* pre-made certificate signature (CSF Signature) */
	size_t cert_sig_len;
};

static void parts_free(struct parts *p)
{
	bs_ahab_srk_table_free(p->table);
	X509_free(p->srk_cert);
	X509_free(p->sgk_cert);
	bs_key_free(p->srk_key);
	bs_key_free(p->sgk_key);
	bs_ahab_srk_clear(&p->sgk);
	free(p->sgk_rec);
	free(p->cert_sig);
}

/* The SRK table and the certificates: everything needed to check the request before a
 * private key is touched. */
static int load_public(struct parts *p, const struct bs_ahab_csf *csf,
		       const struct bs_key_source *keys, struct bs_error *err)
{
	uint8_t *tbl = NULL;
	size_t tlen = 0;
	int rc = keys->read(keys->ctx, csf->srk_table.name, BS_AHAB_SRK_TABLE_MAX, &tbl, &tlen,
			    err);
	if (rc == 0)
		rc = bs_ahab_srk_table_parse(&p->table, tbl, tlen, false, err);
	free(tbl);
	if (rc == 0 && p->table->n != BS_AHAB_SRK_RECORDS)
		rc = bs_error_set(err, BS_ERR_FORMAT, "%zu records; AHAB needs 4", p->table->n);
	if (rc != 0) {
		bs_error_prefix(err, "SRK table %s", csf->srk_table.name);
		return at(rc, err, csf, &csf->srk_table);
	}
	if ((rc = keys->load_cert(keys->ctx, csf->source.name, &p->srk_cert, err)) != 0)
		return at(rc, err, csf, &csf->source);
	if ((rc = check_source(csf, p->table, p->srk_cert, err)) != 0)
		return rc;
	if (!csf->has_cert)
		return 0;
	const struct bs_ahab_srk *srk = &p->table->e[csf->source_index];
	size_t used = 0;
	if ((rc = keys->load_cert(keys->ctx, csf->cert.name, &p->sgk_cert, err)) != 0 ||
	    (rc = bs_ahab_srk_record_cert(&p->sgk_rec, &p->sgk_rec_len, p->sgk_cert, srk->hash,
					  err)) != 0)
		return at(rc, err, csf, &csf->cert);
	if (p->sgk_rec[3] == BS_AHAB_ALG_RSA && srk->alg == BS_AHAB_ALG_RSA_PSS)
		p->sgk_rec[3] = BS_AHAB_ALG_RSA_PSS; /* sign with the table's RSA flavour */
	if ((rc = bs_ahab_srk_record_parse(&p->sgk, p->sgk_rec, p->sgk_rec_len, &used, err)) != 0)
		return at(rc, err, csf, &csf->cert);
	if (p->sgk.alg != srk->alg || p->sgk.size_code != srk->size_code)
		return bs_error_set(err, BS_ERR_SEMANTIC,
				    "%s:%u:%u: certificate key type/size differs from the SRK's "
				    "(the enclave expects the same algorithm and size)",
				    csf->filename, csf->cert.line, csf->cert.col);
	if (csf->cert_sig.name == NULL)
		return 0;
	rc = keys->read(keys->ctx, csf->cert_sig.name, BS_AHAB_SIG_FILE_MAX, &p->cert_sig,
			&p->cert_sig_len, err);
	if (rc == 0 && p->cert_sig_len != srk->sig_len)
		rc = bs_error_set(err, BS_ERR_SEMANTIC, "certificate signature %s is %zu bytes, "
				  "SRK %u signs with %zu", csf->cert_sig.name, p->cert_sig_len,
				  csf->source_index, srk->sig_len);
	return rc != 0 ? at(rc, err, csf, &csf->cert_sig) : 0;
}

/* The private keys: the SRK's (certificate signature, or the container without one) and
 * the certificate's. */
static int load_private(struct parts *p, const struct bs_ahab_csf *csf,
			const struct bs_key_source *keys, bool refuse_root_keys,
			struct bs_error *err)
{
	int rc;
	bool need_srk = !csf->has_cert || p->cert_sig == NULL;
	if (need_srk && refuse_root_keys && strncmp(csf->source.name, "pkcs11:", 7) != 0)
		return at(bs_error_set(err, BS_ERR_POLICY,
				       "this server never loads SRK private keys from files: sign "
				       "with a certificate ([Install Certificate]) and its "
				       "pre-made Signature (bootsign hab sign --ahab-cert-signature "
				       "where the SRK key lives), or with token keys"),
			  err, csf, &csf->source);
	if (need_srk &&
	    (rc = keys->load_key(keys->ctx, csf->source.name, p->srk_cert, &p->srk_key, err)) != 0)
		return at(rc, err, csf, &csf->source);
	if (csf->has_cert &&
	    (rc = keys->load_key(keys->ctx, csf->cert.name, p->sgk_cert, &p->sgk_key, err)) != 0)
		return at(rc, err, csf, &csf->cert);
	return 0;
}

/* The NXP-format certificate: header, key record, padding, SRK signature. */
static int build_cert(uint8_t *out, size_t cert_len, struct parts *p,
		      const struct bs_ahab_csf *csf, struct bs_ahab_patch *res,
		      struct bs_error *err)
{
	const struct bs_ahab_srk *srk = &p->table->e[csf->source_index];
	size_t sig_off = ALIGN8(BS_AHAB_CERT_HDR_LEN + p->sgk_rec_len);
	out[0] = 0;
	bs_buf_put_le16(out + 1, (uint16_t)cert_len);
	out[3] = BS_AHAB_TAG_CERT;
	bs_buf_put_le16(out + 4, (uint16_t)sig_off);
	out[6] = (uint8_t)~csf->permissions;
	out[7] = csf->permissions;
	memcpy(out + BS_AHAB_CERT_HDR_LEN, p->sgk_rec, p->sgk_rec_len);
	put_sig_header(out + sig_off, srk->sig_len);
	if (p->cert_sig != NULL) {
		struct bs_sig_params sp;
		bs_ahab_srk_sig_params(srk, &sp);
		unsigned dl = 0;
		if (EVP_Digest(out, sig_off, res->cert_digest, &dl, EVP_get_digestbynid(sp.md_nid),
			       NULL) != 1)
			return bs_error_ssl(err, BS_ERR_CRYPTO, "digest");
		res->cert_digest_len = dl;
		if (bs_sig_verify(srk->pub, &sp, res->cert_digest, dl, p->cert_sig,
				  p->cert_sig_len, NULL) != 0)
			return bs_error_set(err, BS_ERR_VERIFY,
					    "%s:%u:%u: certificate signature %s does not verify with "
					    "SRK table entry %u over this certificate (permissions "
					    "0x%02x)", csf->filename, csf->cert_sig.line,
					    csf->cert_sig.col, csf->cert_sig.name, csf->source_index,
					    csf->permissions);
		memcpy(out + sig_off + BS_AHAB_SIG_HDR_LEN, p->cert_sig, p->cert_sig_len);
		return 0;
	}
	int rc = sign_bytes(out + sig_off + BS_AHAB_SIG_HDR_LEN, srk->sig_len, res->cert_digest,
			    &res->cert_digest_len, p->srk_key, srk, out, sig_off, err);
	return rc != 0 ? bs_error_prefix(err, "certificate") : 0;
}

static int read_container(struct bs_ahab_container *c, uint8_t **hdr,
			  const struct bs_ahab_csf *csf, const struct bs_ahab_reader *image,
			  struct bs_error *err)
{
	uint32_t first = csf->offsets[0], span = csf->offsets[1] - csf->offsets[0];
	uint8_t h[BS_AHAB_HDR_LEN];
	int rc = image->pread(image->ctx, h, sizeof(h), first, err);
	if (rc == 0 && h[3] != BS_AHAB_TAG_CONTAINER)
		rc = bs_error_set(err, BS_ERR_FORMAT, "no container header (tag 0x%02x, expected "
				  "0x87)", h[3]);
	if (rc == 0 && bs_get_le16(h + 12) != span)
		return bs_error_set(err, BS_ERR_SEMANTIC,
				    "%s:%u:%u: Offsets are not consistent: the signature block of "
				    "the container at 0x%x is at 0x%x (+0x%x), not 0x%x",
				    csf->filename, csf->offsets_line, csf->offsets_col, first,
				    first + bs_get_le16(h + 12), bs_get_le16(h + 12),
				    csf->offsets[1]);
	if (rc == 0 && (*hdr = malloc(span)) == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = image->pread(image->ctx, *hdr, span, first, err);
	if (rc == 0)
		rc = bs_ahab_container_parse(c, *hdr, span, err);
	if (rc != 0) {
		bs_error_prefix(err, "%s: container at 0x%x", csf->data.name, first);
		return at(rc, err, csf, &csf->data);
	}
	return 0;
}

static int check_images(const struct bs_ahab_container *c, size_t new_len,
			const struct bs_ahab_csf *csf, const struct bs_ahab_reader *image,
			struct bs_error *err)
{
	uint64_t first = csf->offsets[0];
	for (unsigned i = 0; i < c->nr_images; i++)
		if (c->img[i].offset < new_len)
			return bs_error_set(err, BS_ERR_SEMANTIC,
					    "%s:%u:%u: the signed container (0x%zx bytes from 0x%llx) "
					    "would overwrite image %u at 0x%llx; leave more room "
					    "before the first image (mkimage/SPSDK layout)",
					    csf->filename, csf->offsets_line, csf->offsets_col, new_len,
					    (unsigned long long)first, i,
					    (unsigned long long)(first + c->img[i].offset));
	int rc = bs_ahab_images_check(c, first, image->size, new_len, err);
	if (rc == 0)
		rc = bs_ahab_images_hash_check(c, first, image, err);
	if (rc != 0) {
		bs_error_prefix(err, "%s: refusing to sign", csf->data.name);
		return at(rc, err, csf, &csf->data);
	}
	return 0;
}

int bs_ahab_sign(struct bs_ahab_patch *out, const struct bs_ahab_csf *csf,
		 const struct bs_key_source *keys, const struct bs_ahab_reader *image,
		 const struct bs_ahab_sign_opts *opts, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	if (csf == NULL || keys == NULL || image == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "bs_ahab_sign: missing argument");
	struct parts p;
	memset(&p, 0, sizeof(p));
	struct bs_ahab_container c;
	uint8_t *hdr = NULL, *buf = NULL;
	int rc = load_public(&p, csf, keys, err);
	if (rc == 0)
		rc = read_container(&c, &hdr, csf, image, err);
	if (rc != 0)
		goto fail;
	const struct bs_ahab_srk *srk = &p.table->e[csf->source_index];
	const struct bs_ahab_srk *signer = csf->has_cert ? &p.sgk : srk;
	size_t tbl = ALIGN8(p.table->len), sig = ALIGN8(BS_AHAB_SIG_HDR_LEN + signer->sig_len);
	size_t cert_body = ALIGN8(BS_AHAB_CERT_HDR_LEN + p.sgk_rec_len);
	size_t cert_len = csf->has_cert ? cert_body + BS_AHAB_SIG_HDR_LEN + srk->sig_len : 0;
	size_t sb_len = BS_AHAB_HDR_LEN + tbl + sig + ALIGN8(cert_len);
	size_t new_len = c.sigblk_offset + sb_len;
	if (new_len > BS_AHAB_CONTAINER_MAX) {
		rc = bs_error_set(err, BS_ERR_LIMIT, "signed container would be 0x%zx bytes, "
				  "more than a container can hold", new_len);
		goto fail;
	}
	if ((rc = check_images(&c, new_len, csf, image, err)) != 0 ||
	    (rc = load_private(&p, csf, keys, opts != NULL && opts->refuse_root_keys, err)) != 0)
		goto fail;
	if ((buf = calloc(1, new_len)) == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	memcpy(buf, hdr, c.sigblk_offset);
	bs_buf_put_le16(buf + 1, (uint16_t)new_len);
	uint32_t flags = (c.flags & 0xFFFF0000u) | csf->source_set |
			 ((uint32_t)csf->source_index << 4) | ((uint32_t)csf->revocations << 8);
	bs_buf_put_le32(buf + 4, flags);
	uint8_t *sb = buf + c.sigblk_offset;
	size_t sig_off = BS_AHAB_HDR_LEN + tbl, cert_off = csf->has_cert ? sig_off + sig : 0;
	sb[0] = 0;
	bs_buf_put_le16(sb + 1, (uint16_t)sb_len);
	sb[3] = BS_AHAB_TAG_SIGBLK;
	bs_buf_put_le16(sb + 4, (uint16_t)cert_off);
	bs_buf_put_le16(sb + 6, BS_AHAB_HDR_LEN);
	bs_buf_put_le16(sb + 8, (uint16_t)sig_off);
	memcpy(sb + BS_AHAB_HDR_LEN, p.table->data, p.table->len);
	if (csf->has_cert && (rc = build_cert(sb + cert_off, cert_len, &p, csf, out, err)) != 0)
		goto fail;
	put_sig_header(sb + sig_off, signer->sig_len);
	rc = sign_bytes(sb + sig_off + BS_AHAB_SIG_HDR_LEN, signer->sig_len, out->digest,
			&out->digest_len, csf->has_cert ? p.sgk_key : p.srk_key, signer, buf,
			c.sigblk_offset + sig_off, err);
	if (rc != 0) {
		bs_error_prefix(err, "container signature");
		goto fail;
	}
	out->md_nid = bs_ahab_hash_nid(srk->hash);
	out->data = buf;
	out->len = new_len;
	out->offset = csf->offsets[0];
	free(hdr);
	parts_free(&p);
	return 0;
fail:
	free(buf);
	free(hdr);
	parts_free(&p);
	memset(out, 0, sizeof(*out));
	return rc;
}

void bs_ahab_patch_free(struct bs_ahab_patch *p)
{
	if (p == NULL)
		return;
	free(p->data);
	memset(p, 0, sizeof(*p));
}

int bs_ahab_cert_signature(uint8_t **out, size_t *out_len, const struct bs_ahab_csf *csf,
			   const struct bs_key_source *keys, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (csf == NULL || keys == NULL || !csf->has_cert)
		return bs_error_set(err, BS_ERR_INVALID, "a certificate signature needs a CSF "
				    "with [Install Certificate]");
	struct parts p;
	memset(&p, 0, sizeof(p));
	struct bs_ahab_patch res;
	memset(&res, 0, sizeof(res));
	struct bs_ahab_csf only = *csf;
	only.cert_sig.name = NULL; /* make it, do not read it */
	uint8_t *cert = NULL;
	int rc = load_public(&p, &only, keys, err);
	if (rc == 0)
		rc = keys->load_key(keys->ctx, csf->source.name, p.srk_cert, &p.srk_key, err);
	if (rc != 0)
		goto out;
	const struct bs_ahab_srk *srk = &p.table->e[csf->source_index];
	size_t body = ALIGN8(BS_AHAB_CERT_HDR_LEN + p.sgk_rec_len);
	size_t cert_len = body + BS_AHAB_SIG_HDR_LEN + srk->sig_len;
	if ((cert = calloc(1, cert_len)) == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = build_cert(cert, cert_len, &p, &only, &res, err)) != 0)
		goto out;
	if ((*out = malloc(srk->sig_len)) == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, cert + body + BS_AHAB_SIG_HDR_LEN, srk->sig_len);
	*out_len = srk->sig_len;
out:
	free(cert);
	parts_free(&p);
	return rc;
}

/* A key source over the objects bs_ahab_cert_signature_with was given. */
struct held {
	const uint8_t *table;
	size_t table_len;
	X509 *srk_cert, *cert;
	struct bs_key *srk_key;
};

static int held_read(void *ctx, const char *name, size_t max, uint8_t **out, size_t *out_len,
		     struct bs_error *err)
{
	const struct held *h = ctx;
	if (h->table_len > max || (*out = malloc(h->table_len)) == NULL)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: %zu bytes", name, h->table_len);
	memcpy(*out, h->table, h->table_len);
	*out_len = h->table_len;
	return 0;
}

static int held_cert(void *ctx, const char *name, X509 **out, struct bs_error *err)
{
	const struct held *h = ctx;
	X509 *x = strcmp(name, "srk") == 0 ? h->srk_cert : h->cert;
	if (x == NULL || X509_up_ref(x) != 1)
		return bs_error_set(err, BS_ERR_INVALID, "%s: no certificate", name);
	*out = x;
	return 0;
}

static int held_key(void *ctx, const char *name, X509 *cert, struct bs_key **out,
		    struct bs_error *err)
{
	const struct held *h = ctx;
	if (strcmp(name, "srk") != 0 || h->srk_key == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "%s: no private key here", name);
	*out = bs_key_ref(h->srk_key);
	return 0;
}

int bs_ahab_cert_signature_with(uint8_t **out, size_t *out_len, const uint8_t *table,
				size_t table_len, unsigned srk_index, X509 *srk_cert,
				struct bs_key *srk_key, X509 *cert, uint8_t permissions,
				struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (srk_index >= BS_AHAB_SRK_RECORDS)
		return bs_error_set(err, BS_ERR_INVALID, "SRK index %u", srk_index);
	struct held h = {.table = table, .table_len = table_len, .srk_cert = srk_cert,
			 .cert = cert, .srk_key = srk_key};
	struct bs_key_source ks = {.read = held_read, .load_cert = held_cert,
				   .load_key = held_key, .ctx = &h};
	struct bs_ahab_csf csf;
	memset(&csf, 0, sizeof(csf));
	csf.filename = (char *)"pki";
	csf.srk_table.name = (char *)"table";
	csf.source.name = (char *)"srk";
	csf.source_index = (uint8_t)srk_index;
	csf.source_set = BS_AHAB_SRK_SET_OEM;
	csf.has_cert = true;
	csf.cert.name = (char *)"cert";
	csf.permissions = permissions;
	return bs_ahab_cert_signature(out, out_len, &csf, &ks, err);
}
