/* Readable listing of a binary CSF blob or of a signed image (IVT, boot data, DCD, CSF
 * commands and their certificates, SRK tables and CMS signatures). Never verifies. */
#include <inttypes.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/util.h"
#include "crypto/cms.h"
#include "formats/hab/csf_walk.h"
#include "formats/hab/hab.h"
#include "formats/hab/image.h"
#include "formats/hab/srk.h"
#include "formats/hab/verify.h"

struct dump {
	FILE *out;
	struct bs_hab_image img;
	bool is_image;
	int rc; /* first error seen (the listing continues where it can) */
	uint64_t refs[BS_HAB_DUMP_BLOBS_MAX];
	size_t nrefs;
};

static void note_err(struct dump *d, const struct bs_error *e)
{
	fprintf(d->out, "        error: %s\n", e->msg);
	if (d->rc == 0)
		d->rc = e->code ? e->code : BS_ERR_FORMAT;
}

static void print_name(FILE *out, const char *label, const X509_NAME *name)
{
	char buf[512];
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return;
	X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
	int n = BIO_read(b, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	fprintf(out, "%s%s\n", label, buf);
	BIO_free(b);
}

static void print_time(FILE *out, const char *label, const ASN1_TIME *t)
{
	struct tm tm;
	if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1)
		fprintf(out, "%s%04d-%02d-%02d %02d:%02d:%02dZ\n", label, tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void dump_cert(struct dump *d, const uint8_t *blob, size_t blen)
{
	const unsigned char *p = blob + 4;
	X509 *x = d2i_X509(NULL, &p, (long)(blen - 4));
	if (x == NULL) {
		struct bs_error e;
		bs_error_ssl(&e, BS_ERR_FORMAT, "certificate blob is not DER X.509");
		note_err(d, &e);
		return;
	}
	fprintf(d->out, "        certificate (%zu bytes DER%s)\n", blen - 4,
		p != blob + blen ? ", trailing bytes" : "");
	print_name(d->out, "          subject: ", X509_get_subject_name(x));
	print_name(d->out, "          issuer:  ", X509_get_issuer_name(x));
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	fprintf(d->out, "          serial:  %s\n", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	print_time(d->out, "          not before: ", X509_get0_notBefore(x));
	print_time(d->out, "          not after:  ", X509_get0_notAfter(x));
	EVP_PKEY *pk = X509_get0_pubkey(x);
	if (pk != NULL)
		fprintf(d->out, "          key: %s %d bits%s\n", OBJ_nid2sn(EVP_PKEY_get_base_id(pk)),
			EVP_PKEY_get_bits(pk), X509_check_ca(x) == 1 ? ", CA" : "");
	X509_free(x);
	ERR_clear_error();
}

static void dump_srk(struct dump *d, const uint8_t *blob, size_t blen, uint8_t alg)
{
	struct bs_srk_table *t = NULL;
	struct bs_error e;
	if (bs_srk_table_parse(&t, blob, blen, &e) != 0) {
		note_err(d, &e);
		return;
	}
	fprintf(d->out, "        SRK table (%zu bytes, %zu records)\n", blen, t->n);
	for (size_t i = 0; i < t->n; i++) {
		const struct bs_srk_entry *r = &t->e[i];
		if (r->tag == HAB_TAG_KEY_HASH) {
			char hex[129];
			fprintf(d->out, "          [%zu] EE hash-only, %s %s\n", i,
				bs_hab_alg_name(r->hash_alg),
				bs_hex(hex, r->digest, r->digest_len > 64 ? 64 : r->digest_len));
			continue;
		}
		fprintf(d->out, "          [%zu] E1 %s %d bits, %s, %s, %zu bytes\n", i,
			r->pub ? OBJ_nid2sn(EVP_PKEY_get_base_id(r->pub)) : "?",
			r->pub ? EVP_PKEY_get_bits(r->pub) : 0, bs_hab_alg_name(r->sig_alg),
			r->ca ? "CA" : "non-CA", r->rec_len);
	}
	int nid = bs_hab_alg_to_nid(alg ? alg : HAB_ALG_SHA256);
	uint8_t fuse[64];
	size_t flen = sizeof(fuse);
	if (bs_srk_table_fuse(t, nid, fuse, &flen, &e) != 0) {
		note_err(d, &e);
	} else {
		char hex[129];
		fprintf(d->out, "          fuse hash (%s): %s\n", OBJ_nid2sn(nid),
			bs_hex(hex, fuse, flen));
		fprintf(d->out, "          fuse words:");
		for (size_t i = 0; i < flen / 4; i++)
			fprintf(d->out, " 0x%08" PRIx32, bs_srk_fuse_word(fuse, i));
		fprintf(d->out, "\n");
	}
	bs_srk_table_free(t);
}

static void dump_sig(struct dump *d, const uint8_t *blob, size_t blen)
{
	struct bs_cms_info info;
	struct bs_error e;
	memset(&info, 0, sizeof(info));
	if (bs_cms_inspect(blob + 4, blen - 4, &info, &e) != 0) {
		note_err(d, &e);
		return;
	}
	fprintf(d->out, "        CMS signature (%zu bytes): digest %s, %zu signer(s), "
		"%zu certificate(s)\n", blen - 4,
		info.md_nid ? OBJ_nid2sn(info.md_nid) : "unknown", info.n_signers, info.n_certs);
	fprintf(d->out, "          signer issuer: %s\n", info.issuer);
	fprintf(d->out, "          signer serial: %s\n", info.serial);
	if (info.has_signing_time) {
		struct tm tm;
		char ts[40] = "?";
		if (gmtime_r(&info.signing_time, &tm) != NULL)
			strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%SZ", &tm);
		fprintf(d->out, "          signing time: %s\n", ts);
	}
	if (!info.has_signed_attrs)
		fprintf(d->out, "          (no signed attributes)\n");
}

static void dump_mac(struct dump *d, const uint8_t *blob, size_t blen)
{
	if (blen < 8 || blen != 8u + blob[5] + blob[7]) {
		struct bs_error e;
		bs_error_set(&e, BS_ERR_FORMAT, "MAC blob length %zu inconsistent", blen);
		note_err(d, &e);
		return;
	}
	char hex[2 * 255 + 1];
	fprintf(d->out, "        MAC blob: nonce %u bytes %s\n", blob[5],
		bs_hex(hex, blob + 8, blob[5]));
	fprintf(d->out, "                  MAC %u bytes %s\n", blob[7],
		bs_hex(hex, blob + 8 + blob[5], blob[7]));
}

/* Read and decode the blob at CSF offset `field` (or absolute address). */
static void dump_blob(struct dump *d, uint32_t field, bool abs, uint8_t tag, int kind,
		      uint8_t alg)
{
	uint64_t off;
	struct bs_error e;
	if (abs) {
		if (!d->is_image || !bs_hab_image_map(&d->img, field, 4, &off)) {
			fprintf(d->out, "        (absolute address, not inside this file)\n");
			return;
		}
	} else {
		off = d->img.csf_off + field;
	}
	if (d->nrefs < BS_HAB_DUMP_BLOBS_MAX)
		d->refs[d->nrefs++] = off;
	uint8_t *blob = NULL;
	size_t blen;
	if (bs_hab_image_blob(&d->img, off, tag, &blob, &blen, "blob", &e) != 0) {
		note_err(d, &e);
		return;
	}
	if (kind == 's')
		dump_srk(d, blob, blen, alg);
	else if (tag == HAB_TAG_CRT)
		dump_cert(d, blob, blen);
	else if (tag == HAB_TAG_SIG)
		dump_sig(d, blob, blen);
	else
		dump_mac(d, blob, blen);
	free(blob);
}

static void dump_ins_key(struct dump *d, const struct bs_hab_cmd *c)
{
	bool abs = c->par & HAB_CMD_INS_KEY_ABS;
	const char *role = c->pcl == HAB_PCL_SRK ? "SRK"
			   : c->pcl == HAB_PCL_BLOB ? "secret key"
			   : (c->par & HAB_CMD_INS_KEY_CSF) ? "CSFK" : "public key";
	fprintf(d->out, "      %s: flags 0x%02x, protocol %s, alg %s, source %u, target %u, "
		"%s 0x%08" PRIx32 "\n", role, c->par, bs_hab_pcl_name(c->pcl),
		bs_hab_alg_name(c->alg), c->src, c->tgt, abs ? "address" : "data @", c->key_off);
	if (c->cert_hash != NULL) {
		char hex[129];
		fprintf(d->out, "      certificate hash: %s\n",
			bs_hex(hex, c->cert_hash, c->cert_hash_len));
	}
	if (c->pcl == HAB_PCL_SRK)
		dump_blob(d, c->key_off, abs, HAB_TAG_CRT, 's', c->alg);
	else if (c->pcl == HAB_PCL_X509)
		dump_blob(d, c->key_off, abs, HAB_TAG_CRT, 'c', 0);
}

static void dump_cmd(struct dump *d, const struct bs_hab_cmd *c)
{
	fprintf(d->out, "  [%zu] 0x%04zx %s (%02X %04X %02X)\n", c->index, c->off,
		bs_hab_cmd_name(c->tag), c->tag, c->len, c->par);
	switch (c->tag) {
	case HAB_CMD_INS_KEY:
		dump_ins_key(d, c);
		break;
	case HAB_CMD_AUT_DAT:
		fprintf(d->out, "      key %u, protocol %s, engine %s cfg 0x%02x, flags 0x%02x, "
			"%s 0x%08" PRIx32 ", %zu block(s)\n", c->key, bs_hab_pcl_name(c->pcl),
			bs_hab_engine_name(c->eng), c->cfg, c->par,
			(c->par & 1) ? "address" : "data @", c->sig_off, c->nblocks);
		for (size_t i = 0; i < c->nblocks; i++) {
			uint32_t a, l;
			bs_hab_cmd_block(c, i, &a, &l);
			fprintf(d->out, "      block %zu: address 0x%08" PRIx32 " length 0x%" PRIx32
				"\n", i, a, l);
		}
		dump_blob(d, c->sig_off, c->par & 1,
			  c->pcl == HAB_PCL_AEAD ? HAB_TAG_MAC : HAB_TAG_SIG, 0, 0);
		break;
	case HAB_CMD_SET:
		fprintf(d->out, "      item %u%s: alg %s, engine %s, cfg 0x%02x\n", c->par,
			c->par == 3 ? " (engine)" : "", bs_hab_alg_name(c->alg),
			bs_hab_engine_name(c->eng), c->cfg);
		break;
	case HAB_CMD_UNLK:
	case HAB_CMD_INIT:
		fprintf(d->out, "      engine %s", bs_hab_engine_name(c->eng));
		if (c->has_features)
			fprintf(d->out, ", features 0x%08" PRIx32, c->features);
		if (c->uid_len) {
			char hex[2 * 32 + 1];
			size_t n = c->uid_len > 32 ? 32 : c->uid_len;
			fprintf(d->out, ", UID %s%s (%zu bytes)", bs_hex(hex, c->uid, n),
				n < c->uid_len ? "..." : "", c->uid_len);
		}
		fprintf(d->out, "\n");
		break;
	case HAB_CMD_CHK_DAT:
		fprintf(d->out, "      address 0x%08" PRIx32 " mask 0x%08" PRIx32, c->addr,
			c->mask);
		if (c->has_count)
			fprintf(d->out, " count %" PRIu32, c->count);
		fprintf(d->out, "\n");
		break;
	default:
		break;
	}
}

/* Blobs after the command region, in file order, noting the unreferenced ones (the
 * NOCAK certificate, for example). Stops at the first thing that is not a blob. */
static void dump_blob_list(struct dump *d, uint16_t cmd_len)
{
	uint64_t off = d->img.csf_off + cmd_len;
	fprintf(d->out, "Blobs:\n");
	for (size_t n = 0; n < BS_HAB_DUMP_BLOBS_MAX && off + 4 <= d->img.size; n++) {
		uint8_t h[5];
		struct bs_error e;
		size_t hl = d->img.size - off >= 5 ? 5 : 4;
		if (bs_hab_image_read(&d->img, h, hl, off, "blob", &e) != 0)
			break;
		uint16_t len = bs_get_be16(h + 1);
		if ((h[0] != HAB_TAG_CRT && h[0] != HAB_TAG_SIG && h[0] != HAB_TAG_MAC) ||
		    (h[3] & 0xF0) != 0x40 || len <= 4 || len > d->img.size - off)
			break;
		bool ref = false;
		for (size_t i = 0; i < d->nrefs; i++)
			ref = ref || d->refs[i] == off;
		const char *kind = h[0] == HAB_TAG_SIG ? "signature"
				   : h[0] == HAB_TAG_MAC ? "MAC"
				   : (hl == 5 && h[4] == 0x30) ? "certificate" : "SRK table";
		fprintf(d->out, "  CSF+0x%04" PRIx64 " %02X len 0x%04x ver 0x%02x %s%s\n",
			off - d->img.csf_off, h[0], len, h[3], kind,
			ref ? "" : " (not referenced by any command)");
		if (!ref && h[0] == HAB_TAG_CRT && hl == 5 && h[4] == 0x30)
			dump_blob(d, (uint32_t)(off - d->img.csf_off), false, HAB_TAG_CRT, 'c', 0);
		off += ((uint64_t)len + 3) & ~(uint64_t)3;
	}
}

static void dump_ivt(struct dump *d)
{
	const struct bs_hab_image *m = &d->img;
	const struct bs_hab_ivt *v = &m->ivt;
	fprintf(d->out, "IVT at file offset 0x%" PRIx64 ": version 0x%02x\n", v->off, v->version);
	fprintf(d->out, "  entry      0x%08" PRIx32 "\n  dcd        0x%08" PRIx32
		"\n  boot data  0x%08" PRIx32 "\n  self       0x%08" PRIx32
		"\n  csf        0x%08" PRIx32 "\n  reserved   0x%08" PRIx32 " 0x%08" PRIx32 "\n",
		v->entry, v->dcd, v->boot_data, v->self, v->csf, v->res1, v->res2);
	fprintf(d->out, "  load address of file offset 0: 0x%08" PRIx64 "\n", m->base);
	if (v->boot_data == 0)
		fprintf(d->out, "Boot data: none (boot_data = 0: the CSF's blocks give the "
			"extent)\n");
	else
		fprintf(d->out, "Boot data: start 0x%08" PRIx32 ", length 0x%" PRIx32
			", plugin %" PRIu32 "\n", m->bd_start, m->bd_length, m->bd_plugin);
	if (v->dcd != 0)
		fprintf(d->out, "DCD: 0x%x bytes at 0x%08" PRIx32 "\n", m->dcd_len, v->dcd);
}

static int dump_csf(struct dump *d, struct bs_error *err)
{
	uint8_t *csf = NULL;
	uint64_t avail = d->img.size > d->img.csf_off ? d->img.size - d->img.csf_off : 0;
	size_t have = avail > 0xFFFF ? 0xFFFF : (size_t)avail;
	uint8_t h[4];
	uint16_t cmd_len;
	uint8_t ver;
	int rc = bs_hab_image_read(&d->img, h, sizeof(h), d->img.csf_off, "CSF: header", err);
	if (rc == 0)
		rc = bs_hab_csf_header(h, have, 0xFFFF, &cmd_len, &ver, err);
	if (rc != 0)
		return rc;
	if ((csf = malloc(cmd_len)) == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if ((rc = bs_hab_image_read(&d->img, csf, cmd_len, d->img.csf_off, "CSF", err)) != 0)
		goto out;
	fprintf(d->out, "CSF at file offset 0x%" PRIx64 ": version %u.%u, command region 0x%x "
		"bytes%s\n", d->img.csf_off, ver >> 4, ver & 15, cmd_len,
		cmd_len > HAB_CSF_CMDS_MAX ? " (longer than CST's 768-byte limit)" : "");
	size_t pos = 4;
	struct bs_hab_cmd c;
	for (size_t i = 1; pos < cmd_len; i++) {
		if ((rc = bs_hab_csf_next(&c, csf, cmd_len, &pos, i, err)) != 0) {
			fprintf(d->out, "  error: %s\n", err->msg);
			goto out;
		}
		dump_cmd(d, &c);
	}
	dump_blob_list(d, cmd_len);
out:
	free(csf);
	return rc;
}

/* One IVT and its CSF; an unsigned IVT (csf 0, or an empty CSF area) is listed as such. */
static int dump_one_ivt(struct dump *d, uint64_t off, struct bs_error *err)
{
	int rc = bs_hab_image_load_ivt(&d->img, true, off, err);
	if (rc != 0 && d->img.ivt.off == off && d->img.ivt.self != 0 && d->img.ivt.csf == 0) {
		dump_ivt(d);
		fprintf(d->out, "  not signed: the IVT's csf pointer is 0\n");
		bs_error_clear(err);
		return 0;
	}
	if (rc != 0)
		return rc;
	dump_ivt(d);
	uint8_t h[4];
	if (bs_hab_image_read(&d->img, h, sizeof(h), d->img.csf_off, "CSF: header", err) == 0 &&
	    (h[0] | h[1] | h[2] | h[3]) == 0) {
		fprintf(d->out, "  not signed: the CSF area at file offset 0x%" PRIx64
			" is empty\n", d->img.csf_off);
		return 0;
	}
	d->nrefs = 0;
	return dump_csf(d, err);
}

/* Every IVT of an image (or the one asked for); the first error is returned, the listing
 * goes on with the next IVT. */
static int dump_image(struct dump *d, bool has_ivt_offset, uint64_t ivt_offset,
		      struct bs_error *err)
{
	uint64_t offs[BS_HAB_IVTS_MAX];
	size_t n = 1;
	offs[0] = ivt_offset;
	int rc = has_ivt_offset ? 0
				: bs_hab_image_scan_ivts(&d->img, offs, BS_HAB_IVTS_MAX, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct bs_error e = {0};
		if (i > 0)
			fputc('\n', d->out);
		int r = dump_one_ivt(d, offs[i], &e);
		if (r != 0 && n > 1)
			fprintf(d->out, "  error: %s\n", e.msg);
		if (r != 0 && rc == 0) {
			*err = e;
			rc = r;
		}
	}
	return rc;
}

int bs_hab_dump(FILE *out, const char *path, bool is_image, bool has_ivt_offset,
		uint64_t ivt_offset, struct bs_error *err)
{
	struct bs_error local;
	if (err == NULL)
		err = &local;
	bs_error_clear(err);
	struct dump *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	d->out = out;
	d->is_image = is_image;
	d->img.fd = -1;
	int rc = bs_hab_image_open(&d->img, path, err);
	if (rc == 0 && is_image) {
		rc = dump_image(d, has_ivt_offset, ivt_offset, err);
	} else if (rc == 0) {
		rc = dump_csf(d, err);
		uint64_t ivt;
		size_t n = 0;
		/* A signed image given as a CSF blob: say what to do. */
		if (rc != 0 && bs_hab_image_scan_ivts(&d->img, &ivt, 1, &n, NULL) != BS_ERR_FORMAT &&
		    n == 1) {
			char why[BS_ERROR_MSG_MAX];
			memcpy(why, err->msg, sizeof(why));
			(void)bs_error_set(err, rc, "%s is not a CSF blob: it is an image with an IVT "
					   "at 0x%" PRIx64 "; use --image (%s)", path, ivt, why);
		}
	}
	if (rc == 0 && d->rc != 0)
		rc = bs_error_set(err, d->rc, "some blobs could not be decoded (see listing)");
	bs_hab_image_close(&d->img);
	free(d);
	return rc;
}
