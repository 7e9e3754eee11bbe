/* HAB4 PKI ceremony (see pki.h and docs/pki.md).
 *
 * The tree is built in a private sibling directory ("<out>.tmpXXXXXX", 0700) and renamed
 * into place only when everything succeeded; on any failure the sibling is removed, so a
 * half-made PKI never appears under the requested name. */
#include "formats/hab/pki.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/x509.h"
#include "formats/ahab/sign.h"
#include "formats/ahab/srk.h"
#include "formats/hab/srk.h"
#include "crypto/key.h"
#include "formats/hab/pki_int.h"

struct pki_node {
	char base[BS_PKI_NAME_MAX]; /* e.g. "SRK1_sha256_2048_65537_v3_ca" */
	uint8_t id;              /* token object id */
	X509 *cert;
	struct bs_key *key;
};

struct pki {
	const struct bs_pki_opts *o;
	char *tmp;                /* the sibling directory being built */
	char *pass;               /* file mode: key passphrase */
	const struct bs_keygen *tok; /* token mode */
	struct pki_node ca, srk[4], csf[4], img[4], sgk[4];
};

static const struct {
	const char *token_name; /* bs_p11_generate keytype */
	const char *tag;        /* CST file-name component */
	const char *alg;        /* "RSA" or "EC" */
	unsigned bits;
	const char *curve;
} keytypes[] = {
	[BS_PKI_RSA2048] = { "rsa2048", "2048_65537", "RSA", 2048, NULL },
	[BS_PKI_RSA3072] = { "rsa3072", "3072_65537", "RSA", 3072, NULL },
	[BS_PKI_RSA4096] = { "rsa4096", "4096_65537", "RSA", 4096, NULL },
	[BS_PKI_P256] = { "p256", "prime256v1", "EC", 256, "P-256" },
	[BS_PKI_P384] = { "p384", "secp384r1", "EC", 384, "P-384" },
	[BS_PKI_P521] = { "p521", "secp521r1", "EC", 521, "P-521" },
};

const char *bs_pki_keytype_name(enum bs_pki_keytype t)
{
	if ((unsigned)t >= BS_ARRAY_SIZE(keytypes))
		return NULL;
	return keytypes[t].token_name;
}

int bs_pki_keytype_parse(enum bs_pki_keytype *out, const char *name)
{
	for (size_t i = 0; name != NULL && i < BS_ARRAY_SIZE(keytypes); i++) {
		if (strcmp(keytypes[i].token_name, name) == 0) {
			*out = (enum bs_pki_keytype)i;
			return 0;
		}
	}
	return BS_ERR_INVALID;
}

static void progress(struct pki *p, const char *name)
{
	if (p->o->progress == NULL)
		return;
	char line[160];
	snprintf(line, sizeof(line), "generating %s (%s)", name,
		 keytypes[p->o->keytype].token_name);
	p->o->progress(p->o->progress_ctx, line);
}

static int path_in(char *out, size_t cap, const char *dir, const char *rel,
		   struct bs_error *err)
{
	int n = snprintf(out, cap, "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= cap)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: path too long", dir);
	return 0;
}

static int write_in(struct pki *p, const char *rel, const void *data, size_t len,
		    unsigned mode, struct bs_error *err)
{
	char path[BS_PATH_MAX];
	int rc = path_in(path, sizeof(path), p->tmp, rel, err);
	if (rc != 0)
		return rc;
	return bs_write_file(path, data, len, mode, true, err);
}

/* Write the contents of a memory BIO to tmp/rel. */
static int write_bio(struct pki *p, const char *rel, BIO *bio, unsigned mode,
		     struct bs_error *err)
{
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "%s: encoding failed", rel);
	return write_in(p, rel, data, (size_t)len, mode, err);
}

/* Encode obj as PEM and DER with `enc`, then write <stem>.pem and <stem>.der. */
static int save_pem_der(struct pki *p, const char *stem, unsigned mode,
			int (*enc)(BIO *pem, BIO *der, void *obj, const char *pass), void *obj,
			const struct pki_node *n, const char *what, struct bs_error *err)
{
	char rel[BS_PATH_MAX];
	int rc = 0;
	BIO *pem = BIO_new(BIO_s_mem());
	BIO *der = BIO_new(BIO_s_mem());
	if (pem == NULL || der == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!enc(pem, der, obj, p->pass)) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "%s: %s", n->base, what);
		goto out;
	}
	snprintf(rel, sizeof(rel), "%s.pem", stem);
	if ((rc = write_bio(p, rel, pem, mode, err)) != 0)
		goto out;
	snprintf(rel, sizeof(rel), "%s.der", stem);
	rc = write_bio(p, rel, der, mode, err);
out:
	BIO_free(pem);
	BIO_free(der);
	return rc;
}

static int enc_cert(BIO *pem, BIO *der, void *obj, const char *pass)
{
	(void)pass;
	return PEM_write_bio_X509(pem, obj) && i2d_X509_bio(der, obj);
}

/* PKCS#8 encrypted with PBES2/AES-256-CBC. */
static int enc_key(BIO *pem, BIO *der, void *obj, const char *pass)
{
	int plen = (int)strlen(pass);
	return PEM_write_bio_PKCS8PrivateKey(pem, obj, EVP_aes_256_cbc(), pass, plen, NULL,
					     NULL) &&
	       i2d_PKCS8PrivateKey_bio(der, obj, EVP_aes_256_cbc(), pass, plen, NULL, NULL);
}

/* crts/<base>_crt.pem and .der. */
static int save_cert(struct pki *p, const struct pki_node *n, struct bs_error *err)
{
	char stem[BS_PATH_MAX];
	snprintf(stem, sizeof(stem), "crts/%s_crt", n->base);
	return save_pem_der(p, stem, 0644, enc_cert, n->cert, n, "encoding the certificate", err);
}

/* keys/<base>_key.pem and .der, encrypted with the PKI passphrase. */
static int save_key(struct pki *p, const struct pki_node *n, EVP_PKEY *priv,
		    struct bs_error *err)
{
	char stem[BS_PATH_MAX];
	snprintf(stem, sizeof(stem), "keys/%s_key", n->base);
	return save_pem_der(p, stem, 0600, enc_key, priv, n, "encrypting the key", err);
}

static int gen_file_key(struct pki *p, struct pki_node *n, EVP_PKEY **priv_out,
			struct bs_error *err)
{
	const struct bs_pki_opts *o = p->o;
	EVP_PKEY *priv = keytypes[o->keytype].curve != NULL
		? EVP_PKEY_Q_keygen(NULL, NULL, "EC", keytypes[o->keytype].curve)
		: EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)keytypes[o->keytype].bits);
	if (priv == NULL)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "%s: key generation", n->base);
	if (!EVP_PKEY_up_ref(priv)) {
		EVP_PKEY_free(priv);
		return bs_error_ssl(err, BS_ERR_CRYPTO, "%s: key reference", n->base);
	}
	int rc = bs_key_from_pkey(&n->key, priv, n->base, err);
	if (rc != 0) {
		EVP_PKEY_free(priv);
		return rc;
	}
	*priv_out = priv;
	return 0;
}

/* Generate n's key, issue its certificate (signed by `issuer`, or self-signed) and write
 * the files. */
static int make_node(struct pki *p, struct pki_node *n, const struct pki_node *issuer,
		     bool ca, struct bs_error *err)
{
	progress(p, n->base);
	EVP_PKEY *priv = NULL;
	int rc;
	if (p->tok != NULL)
		rc = p->tok->generate(p->tok->ctx, keytypes[p->o->keytype].token_name, n->base,
					   &n->id, 1, &n->key, err);
	else
		rc = gen_file_key(p, n, &priv, err);
	if (rc != 0)
		goto out;
	struct bs_x509_params xp = {
		.cn = n->base,
		.subject = bs_key_public(n->key),
		.issuer = issuer != NULL ? issuer->cert : NULL,
		.ca = ca,
		.days = p->o->validity_days,
		.md_nid = NID_sha256,
	};
	rc = bs_x509_issue(&n->cert, &xp, issuer != NULL ? issuer->key : n->key, err);
	if (rc != 0)
		goto out;
	if ((rc = save_cert(p, n, err)) != 0)
		goto out;
	if (p->tok != NULL)
		rc = p->tok->write_cert(p->tok->ctx, n->cert, n->base, &n->id, 1, err);
	else
		rc = save_key(p, n, priv, err);
out:
	EVP_PKEY_free(priv);
	return rc;
}

static void srk_list_name(char *out, size_t cap, unsigned nsrk, const char *what)
{
	size_t off = (size_t)snprintf(out, cap, "crts/SRK");
	for (unsigned i = 1; i <= nsrk && off < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "_%u", i);
	if (off < cap)
		snprintf(out + off, cap - off, "_%s.bin", what);
}

static int make_table(struct pki *p, struct bs_error *err)
{
	X509 *certs[4];
	for (unsigned i = 0; i < p->o->nsrk; i++)
		certs[i] = p->srk[i].cert;
	uint8_t *table = NULL;
	size_t table_len = 0;
	uint8_t fuse[64];
	size_t fuse_len = 0;
	struct bs_srk_build_opts so = { .md_nid = NID_sha256 };
	int rc = bs_srk_table_build(&table, &table_len, fuse, &fuse_len, certs, p->o->nsrk,
				    &so, err);
	if (rc != 0)
		return bs_error_prefix(err, "SRK table");
	char rel[64];
	srk_list_name(rel, sizeof(rel), p->o->nsrk, "table");
	rc = write_in(p, rel, table, table_len, 0644, err);
	free(table);
	if (rc != 0)
		return rc;
	/* srktool -f 1 (its default): the raw digest bytes. */
	srk_list_name(rel, sizeof(rel), p->o->nsrk, "fuse");
	return write_in(p, rel, fuse, fuse_len, 0644, err);
}

/* AHAB: one digest over the whole table, SHA-512 (8QXP/8QM) and SHA-256 (8ULP/9x). */
static int make_ahab_table(struct pki *p, struct bs_error *err)
{
	X509 *certs[4];
	for (unsigned i = 0; i < 4; i++)
		certs[i] = p->srk[i].cert;
	uint8_t *table = NULL;
	size_t table_len = 0;
	int rc = bs_ahab_srk_table_build(&table, &table_len, certs, 4, BS_AHAB_HASH_SHA256, err);
	if (rc != 0)
		return bs_error_prefix(err, "AHAB SRK table");
	static const struct {
		const char *name;
		int md_nid;
	} fuses[] = {{"crts/SRK_1_2_3_4_fuse.bin", NID_sha512},
		     {"crts/SRK_1_2_3_4_fuse_sha256.bin", NID_sha256}};
	rc = write_in(p, "crts/SRK_1_2_3_4_table.bin", table, table_len, 0644, err);
	/* --sgk: each SRK signs its SGK's AHAB certificate once, here (permissions 0x01,
	 * sign containers), so a signing server needs only the SGK key. */
	for (unsigned i = 0; rc == 0 && p->o->sgk && i < 4; i++) {
		uint8_t *sig = NULL;
		size_t sig_len = 0;
		char rel[BS_PKI_NAME_MAX + 32];
		rc = bs_ahab_cert_signature_with(&sig, &sig_len, table, table_len, i,
						 p->srk[i].cert, p->srk[i].key, p->sgk[i].cert,
						 BS_AHAB_PERM_SIGN, err);
		snprintf(rel, sizeof(rel), "crts/%s_cert_sig.bin", p->sgk[i].base);
		if (rc == 0)
			rc = write_in(p, rel, sig, sig_len, 0644, err);
		free(sig);
	}
	for (size_t i = 0; rc == 0 && i < BS_ARRAY_SIZE(fuses); i++) {
		uint8_t fuse[64];
		size_t fuse_len = 0;
		rc = bs_ahab_srk_fuse(fuse, &fuse_len, table, table_len, fuses[i].md_nid, err);
		if (rc == 0)
			rc = write_in(p, fuses[i].name, fuse, fuse_len, 0644, err);
	}
	free(table);
	return rc;
}

static int make_pass(struct pki *p, struct bs_error *err)
{
	if (p->o->passphrase != NULL) {
		size_t l = strlen(p->o->passphrase);
		if (l < 4 || l > BS_PASSPHRASE_MAX || strpbrk(p->o->passphrase, "\r\n") != NULL)
			return bs_error_set(err, BS_ERR_INVALID, "passphrase must be 4..%d "
					    "characters on one line", BS_PASSPHRASE_MAX);
		p->pass = bs_strdup(p->o->passphrase);
	} else {
		uint8_t rnd[24];
		p->pass = malloc(2 * sizeof(rnd) + 1);
		if (p->pass != NULL) {
			if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
				OPENSSL_cleanse(rnd, sizeof(rnd));
				return bs_error_ssl(err, BS_ERR_CRYPTO, "passphrase: RAND_bytes");
			}
			bs_hex(p->pass, rnd, sizeof(rnd));
			OPENSSL_cleanse(rnd, sizeof(rnd));
		}
	}
	if (p->pass == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	/* CST reads the first line of keys/key_pass.txt. */
	size_t l = strlen(p->pass);
	char *line = malloc(l + 2);
	if (line == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	memcpy(line, p->pass, l);
	line[l] = '\n';
	line[l + 1] = '\0';
	int rc = write_in(p, "keys/key_pass.txt", line, l + 1, 0600, err);
	bs_free_secret(line, l + 2);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 ? -1 : 0;
}

static void rm_tree(const char *dir)
{
	if (dir != NULL)
		(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The requested directory must not exist, or be an empty directory (*empty = true). */
static int check_outdir(const char *out, bool *empty, struct bs_error *err)
{
	*empty = false;
	struct stat st;
	if (lstat(out, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return bs_error_set(err, BS_ERR_IO, "%s: %s", out, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return bs_error_set(err, BS_ERR_IO, "%s: exists and is not a directory", out);
	DIR *d = opendir(out);
	if (d == NULL)
		return bs_error_set(err, BS_ERR_IO, "%s: %s", out, strerror(errno));
	struct dirent *de;
	bool found = false;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			found = true;
	closedir(d);
	if (found)
		return bs_error_set(err, BS_ERR_IO, "%s: exists and is not empty", out);
	*empty = true;
	return 0;
}

static int validate(const struct bs_pki_opts *o, struct bs_pki_opts *v, struct bs_error *err)
{
	if (o == NULL || o->outdir == NULL || o->outdir[0] == '\0')
		return bs_error_set(err, BS_ERR_INVALID, "pki: no output directory");
	*v = *o;
	if ((unsigned)o->keytype >= BS_ARRAY_SIZE(keytypes))
		return bs_error_set(err, BS_ERR_INVALID, "pki: unknown key type %d", o->keytype);
	if (v->nsrk == 0)
		v->nsrk = 4;
	if (v->nsrk > 4)
		return bs_error_set(err, BS_ERR_INVALID, "pki: %u SRKs (1..4 allowed)", v->nsrk);
	if (v->validity_days == 0)
		v->validity_days = 3650;
	if (v->validity_days > 36500)
		return bs_error_set(err, BS_ERR_INVALID, "pki: validity %u days (1..36500)",
				    v->validity_days);
	if (v->ahab && v->nsrk != 4)
		return bs_error_set(err, BS_ERR_INVALID, "pki: an AHAB SRK table holds exactly 4 "
				    "SRKs, not %u", v->nsrk);
	if (v->sgk && !v->ahab)
		return bs_error_set(err, BS_ERR_INVALID, "pki: signing keys (SGK) are AHAB's; "
				    "HAB4 makes CSF and IMG keys");
	if (v->keygen != NULL && v->passphrase != NULL)
		return bs_error_set(err, BS_ERR_INVALID, "pki: a passphrase makes no sense for "
				    "token keys");
	return 0;
}

static void set_names(struct pki *p)
{
	const char *tag = keytypes[p->o->keytype].tag;
	snprintf(p->ca.base, BS_PKI_NAME_MAX, "CA1_sha256_%s_v3_ca", tag);
	p->ca.id = 0x10;
	for (unsigned i = 0; i < p->o->nsrk; i++) {
		snprintf(p->srk[i].base, BS_PKI_NAME_MAX, "SRK%u_sha256_%s_v3_ca", i + 1, tag);
		snprintf(p->csf[i].base, BS_PKI_NAME_MAX, "CSF%u_1_sha256_%s_v3_usr", i + 1, tag);
		snprintf(p->img[i].base, BS_PKI_NAME_MAX, "IMG%u_1_sha256_%s_v3_usr", i + 1, tag);
		p->srk[i].id = (uint8_t)(0x20 + i + 1);
		p->csf[i].id = (uint8_t)(0x30 + i + 1);
		p->img[i].id = (uint8_t)(0x40 + i + 1);
		snprintf(p->sgk[i].base, BS_PKI_NAME_MAX, "SGK%u_1_sha256_%s_v3_usr", i + 1, tag);
		p->sgk[i].id = (uint8_t)(0x50 + i + 1);
	}
}

static void free_node(struct pki_node *n)
{
	X509_free(n->cert);
	bs_key_free(n->key);
	n->cert = NULL;
	n->key = NULL;
}

static int build(struct pki *p, struct bs_error *err)
{
	char path[BS_PATH_MAX];
	int rc;
	if ((rc = path_in(path, sizeof(path), p->tmp, "crts", err)) != 0)
		return rc;
	if (mkdir(path, 0755) != 0)
		return bs_error_set(err, BS_ERR_IO, "%s: %s", path, strerror(errno));
	if (p->tok == NULL) {
		if ((rc = path_in(path, sizeof(path), p->tmp, "keys", err)) != 0)
			return rc;
		if (mkdir(path, 0700) != 0)
			return bs_error_set(err, BS_ERR_IO, "%s: %s", path, strerror(errno));
		if ((rc = make_pass(p, err)) != 0)
			return rc;
	}
	if ((rc = make_node(p, &p->ca, NULL, true, err)) != 0)
		return rc;
	for (unsigned i = 0; i < p->o->nsrk; i++) {
		if ((rc = make_node(p, &p->srk[i], &p->ca, true, err)) != 0)
			return rc;
		if (p->o->ahab) {
			if (p->o->sgk && (rc = make_node(p, &p->sgk[i], &p->srk[i], false, err)) != 0)
				return rc;
			continue;
		}
		if ((rc = make_node(p, &p->csf[i], &p->srk[i], false, err)) != 0 ||
		    (rc = make_node(p, &p->img[i], &p->srk[i], false, err)) != 0)
			return rc;
	}
	if ((rc = p->o->ahab ? make_ahab_table(p, err) : make_table(p, err)) != 0)
		return rc;
	if (p->o->write_tgz) {
		uint8_t *tgz = NULL;
		size_t tgz_len = 0;
		if ((rc = bs_pki_pack_bundle(&tgz, &tgz_len, p->tmp, NULL, err)) != 0)
			return rc;
		/* 0600: the bundle holds the encrypted CSF/IMG keys and their passphrase. */
		rc = write_in(p, "imx-cst-keys.tar.gz", tgz, tgz_len, 0600, err);
		free(tgz);
	}
	return rc;
}

int bs_pki_create(const struct bs_pki_opts *opts, struct bs_error *err)
{
	struct bs_pki_opts o;
	int rc = validate(opts, &o, err);
	if (rc != 0)
		return rc;
	struct pki p = { .o = &o };
	set_names(&p);

	char out[BS_PATH_MAX];
	size_t ol = strlen(o.outdir);
	while (ol > 1 && o.outdir[ol - 1] == '/')
		ol--;
	if (ol + 16 > sizeof(out))
		return bs_error_set(err, BS_ERR_LIMIT, "pki: output path too long");
	memcpy(out, o.outdir, ol);
	out[ol] = '\0';
	bool empty = false;
	if ((rc = check_outdir(out, &empty, err)) != 0)
		return rc;

	p.tmp = malloc(ol + 16);
	if (p.tmp == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	snprintf(p.tmp, ol + 16, "%s.tmpXXXXXX", out);
	if (mkdtemp(p.tmp) == NULL) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: cannot create a working directory: %s",
				  out, strerror(errno));
		free(p.tmp);
		return rc;
	}
	p.tok = o.keygen;
	if ((rc = build(&p, err)) != 0)
		goto fail;
	if (empty && rmdir(out) != 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", out, strerror(errno));
		goto fail;
	}
	if (rename(p.tmp, out) != 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", out, strerror(errno));
		if (empty)
			(void)mkdir(out, 0700);
		goto fail;
	}
	bs_log(BS_LOG_INFO, NULL, "pki: created %s (%s %s, %u SRKs, %s)", out,
	       o.ahab ? "AHAB" : "HAB4", keytypes[o.keytype].token_name, o.nsrk, p.tok != NULL ? "token keys" : "file keys");
	goto out;
fail:
	rm_tree(p.tmp);
out:
	free_node(&p.ca);
	for (unsigned i = 0; i < 4; i++) {
		free_node(&p.srk[i]);
		free_node(&p.csf[i]);
		free_node(&p.img[i]);
		free_node(&p.sgk[i]);
	}
	bs_free_secret_str(p.pass);
	free(p.tmp);
	return rc;
}
