/* Key stores (store.h): directory (confined or CST-style unconfined) and tar.gz bundle
 * (store_tgz.c), plus CST's certificate -> private key lookup and pkcs11: dispatch.
 *
 * Confinement of a directory store: the name is normalised (no absolute path, no ".."),
 * joined to the root, resolved with realpath(3) (which follows every symlink, in the file
 * and in intermediate directories) and the result must lie under the root's own realpath.
 * The resolved path is then opened with O_NOFOLLOW, and the path the kernel reports for
 * the open descriptor (/proc/self/fd) is checked against the root again, so renaming
 * directories between the two steps cannot smuggle in a file from outside. */
#include "keys/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/util.h"
#include "crypto/x509.h"
#include "keys/store_int.h"

#define PKCS11_PREFIX "pkcs11:"
#define PASS_FILE "key_pass.txt"

struct bs_store {
	bool is_bundle;
	bool confined;
	char *root;       /* directory stores: realpath of the root (confined) or as given */
	struct bs_bundle *bundle;
	const char **names;     /* member names, built on first bs_store_members */
	const struct bs_uri_loader *loader;
	void *loader_ctx;
	/* Bundles are immutable once read, so decoded private keys are kept for the life of
	 * the store: a server that reuses a store signs without decrypting keys again.
	 * Certificates are kept the same way (callers must not modify them). */
	struct {
		char *key_name;
		struct bs_key *key;
		X509 *checked; /* the certificate the key was last matched against */
	} memo[BS_STORE_MEMO_MAX];
	size_t nmemo;
	struct {
		char *name;
		X509 *cert;
	} certs[BS_STORE_MEMO_MAX];
	size_t ncerts;
};

static bool is_uri(const char *name)
{
	return name != NULL && strncmp(name, PKCS11_PREFIX, strlen(PKCS11_PREFIX)) == 0;
}

int bs_store_open_dir(struct bs_store **out, const char *root, bool confined,
		      struct bs_error *err)
{
	*out = NULL;
	if (root == NULL || root[0] == '\0')
		root = ".";
	struct bs_store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	s->confined = confined;
	if (confined) {
		s->root = realpath(root, NULL);
		if (s->root == NULL) {
			int e = errno;
			free(s);
			return bs_error_set(err, e == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_IO,
					    "key store %s: %s", root, strerror(e));
		}
		struct stat st;
		if (stat(s->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
			free(s->root);
			free(s);
			return bs_error_set(err, BS_ERR_IO, "key store %s: not a directory", root);
		}
	} else {
		s->root = bs_strdup(root);
		if (s->root == NULL) {
			free(s);
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		}
	}
	*out = s;
	return 0;
}

int bs_store_open_tgz(struct bs_store **out, const uint8_t *data, size_t len,
		      struct bs_error *err)
{
	*out = NULL;
	struct bs_store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	s->is_bundle = true;
	s->confined = true;
	int rc = bs_bundle_parse(&s->bundle, data, len, err);
	if (rc != 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int bs_store_open_tgz_file(struct bs_store **out, const char *path, struct bs_error *err)
{
	*out = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = bs_read_file(&data, &len, path, BS_STORE_BUNDLE_MAX, err);
	if (rc != 0)
		return rc;
	rc = bs_store_open_tgz(out, data, len, err);
	if (rc != 0)
		bs_error_prefix(err, "%s", path);
	bs_free_secret(data, len);
	return rc;
}

void bs_store_set_uri_loader(struct bs_store *s, const struct bs_uri_loader *loader,
			     void *ctx)
{
	if (s == NULL)
		return;
	s->loader = loader;
	s->loader_ctx = ctx;
}

void bs_store_free(struct bs_store *s)
{
	if (s == NULL)
		return;
	bs_bundle_free(s->bundle);
	free(s->names);
	for (size_t i = 0; i < s->nmemo; i++) {
		bs_key_free(s->memo[i].key);
		X509_free(s->memo[i].checked);
		free(s->memo[i].key_name);
	}
	for (size_t i = 0; i < s->ncerts; i++) {
		X509_free(s->certs[i].cert);
		free(s->certs[i].name);
	}
	free(s->root);
	free(s);
}

/* Confined directory store: the real path of `name`, checked to lie inside the root. */
static int confined_path(char **out, const struct bs_store *s, const char *name,
			 struct bs_error *err)
{
	*out = NULL;
	char *norm = NULL;
	int rc = bs_store_norm_name(&norm, name, err);
	if (rc != 0)
		return rc;
	size_t rl = strlen(s->root), nl = strlen(norm);
	char *joined = malloc(rl + nl + 2);
	if (joined == NULL) {
		free(norm);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	memcpy(joined, s->root, rl);
	joined[rl] = '/';
	memcpy(joined + rl + 1, norm, nl + 1);
	free(norm);
	char *real = realpath(joined, NULL);
	if (real == NULL) {
		int e = errno;
		free(joined);
		if (e == ENOENT || e == ENOTDIR)
			return bs_error_set(err, BS_ERR_NOT_FOUND, "%s: not found in key store",
					    name);
		if (e == ELOOP)
			return bs_error_set(err, BS_ERR_PATH, "%s: too many symlinks", name);
		return bs_error_set(err, BS_ERR_IO, "%s: %s", name, strerror(e));
	}
	free(joined);
	bool inside = strcmp(s->root, "/") == 0 ||
		      (strncmp(real, s->root, rl) == 0 && real[rl] == '/');
	if (!inside) {
		free(real);
		return bs_error_set(err, BS_ERR_PATH, "%s: resolves outside the key store "
				    "(symlink)", name);
	}
	*out = real;
	return 0;
}

/* Unconfined (CST mode): absolute names as given, relative ones under root. */
static int unconfined_path(char **out, const struct bs_store *s, const char *name,
			   struct bs_error *err)
{
	*out = NULL;
	if (name == NULL || name[0] == '\0')
		return bs_error_set(err, BS_ERR_INVALID, "empty file name");
	if (name[0] == '/' || strcmp(s->root, ".") == 0) {
		*out = bs_strdup(name);
	} else {
		size_t rl = strlen(s->root), nl = strlen(name);
		*out = malloc(rl + nl + 2);
		if (*out != NULL) {
			memcpy(*out, s->root, rl);
			(*out)[rl] = '/';
			memcpy(*out + rl + 1, name, nl + 1);
		}
	}
	return *out ? 0 : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
}

/* Closes the realpath/open race: where did the descriptor we hold really end up? Uses
 * /proc/self/fd; without /proc the realpath check stands alone. */
static bool fd_inside_root(int fd, const char *root)
{
	char link[64], real[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, real, sizeof(real) - 1);
	if (n < 0)
		return errno == ENOENT; /* no /proc */
	real[n] = '\0';
	size_t rl = strlen(root);
	return strcmp(root, "/") == 0 || (strncmp(real, root, rl) == 0 && real[rl] == '/');
}

static int read_fd_all(int fd, const char *name, size_t max, uint8_t **out, size_t *out_len,
		       struct bs_error *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return bs_error_set(err, BS_ERR_IO, "%s: not a regular file", name);
	if ((uint64_t)st.st_size > max)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: %lld bytes, limit is %zu", name,
				    (long long)st.st_size, max);
	size_t size = (size_t)st.st_size, got = 0;
	uint8_t *data = malloc(size + 1);
	if (data == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			bs_free_secret(data, size + 1);
			return bs_error_set(err, BS_ERR_IO, "%s: read failed", name);
		}
		got += (size_t)n;
	}
	data[size] = '\0';
	*out = data;
	*out_len = size;
	return 0;
}

int bs_store_read(struct bs_store *s, const char *name, size_t max, uint8_t **out,
		  size_t *out_len, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (s == NULL || name == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "no store or name");
	if (max == 0 || max > BS_STORE_FILE_MAX)
		max = BS_STORE_FILE_MAX;
	if (is_uri(name))
		return bs_error_set(err, BS_ERR_INVALID, "%s: a pkcs11: URI is not a file",
				    name);
	int rc;
	if (s->is_bundle) {
		char *norm = NULL;
		rc = bs_store_norm_name(&norm, name, err);
		if (rc != 0)
			return rc;
		const uint8_t *d;
		size_t l;
		rc = bs_bundle_lookup(s->bundle, norm, &d, &l, err);
		free(norm);
		if (rc != 0)
			return rc;
		if (l > max)
			return bs_error_set(err, BS_ERR_LIMIT, "%s: %zu bytes, limit is %zu", name,
					    l, max);
		uint8_t *c = malloc(l + 1);
		if (c == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		if (l > 0)
			memcpy(c, d, l);
		c[l] = '\0';
		*out = c;
		*out_len = l;
		return 0;
	}
	char *path = NULL;
	rc = s->confined ? confined_path(&path, s, name, err) :
			   unconfined_path(&path, s, name, err);
	if (rc != 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (s->confined ? O_NOFOLLOW : 0));
	if (fd < 0) {
		int e = errno;
		free(path);
		if (e == ENOENT || e == ENOTDIR)
			return bs_error_set(err, BS_ERR_NOT_FOUND, "%s: not found", name);
		if (e == ELOOP)
			return bs_error_set(err, BS_ERR_PATH, "%s: symlink changed under us", name);
		return bs_error_set(err, BS_ERR_IO, "%s: %s", name, strerror(e));
	}
	free(path);
	if (s->confined && !fd_inside_root(fd, s->root)) {
		close(fd);
		return bs_error_set(err, BS_ERR_PATH, "%s: resolves outside the key store "
				    "(changed while opening)", name);
	}
	rc = read_fd_all(fd, name, max, out, out_len, err);
	close(fd);
	return rc;
}

bool bs_store_exists(struct bs_store *s, const char *name)
{
	if (s == NULL || name == NULL || is_uri(name))
		return false;
	if (s->is_bundle) {
		char *norm = NULL;
		if (bs_store_norm_name(&norm, name, NULL) != 0)
			return false;
		const uint8_t *d;
		size_t l;
		bool ok = bs_bundle_lookup(s->bundle, norm, &d, &l, NULL) == 0;
		free(norm);
		return ok;
	}
	char *path = NULL;
	int rc = s->confined ? confined_path(&path, s, name, NULL) :
			       unconfined_path(&path, s, name, NULL);
	if (rc != 0)
		return false;
	struct stat st;
	bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return ok;
}

/* PEM when the bytes are PEM text (a .priv, .x509 or .crt can be either). */
static bool looks_pem(const uint8_t *data, size_t len)
{
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
			   data[i] == '\n'))
		i++;
	return len - i >= 10 && memcmp(data + i, "-----BEGIN", 10) == 0;
}

int bs_store_load_cert(struct bs_store *s, const char *name, X509 **out,
		       struct bs_error *err)
{
	*out = NULL;
	if (s == NULL || name == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "no store or certificate name");
	if (is_uri(name)) {
		if (s->loader == NULL || s->loader->load_cert == NULL)
			return bs_error_set(err, BS_ERR_UNSUPPORTED, "%s: no PKCS#11 backend "
					    "configured", "pkcs11: certificate");
		return s->loader->load_cert(s->loader_ctx, name, out, err);
	}
	for (size_t i = 0; i < s->ncerts; i++) {
		if (strcmp(s->certs[i].name, name) == 0) {
			X509_up_ref(s->certs[i].cert);
			*out = s->certs[i].cert;
			return 0;
		}
	}
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = bs_store_read(s, name, BS_STORE_FILE_MAX, &data, &len, err);
	if (rc != 0)
		return rc;
	rc = bs_x509_from_bytes(out, data, len, bs_ends_with_ci(name, ".pem") ||
				looks_pem(data, len), name, err);
	free(data);
	if (rc != 0)
		return rc;
	X509 *x = *out;
	if (s->is_bundle && s->ncerts < BS_STORE_MEMO_MAX) {
		char *memo_name = bs_strdup(name);
		if (memo_name != NULL) {
			X509_up_ref(x);
			s->certs[s->ncerts].name = memo_name;
			s->certs[s->ncerts].cert = x;
			s->ncerts++;
		}
	}
	return 0;
}

int bs_store_key_name_for_cert(char **out, const char *cert_name, struct bs_error *err)
{
	*out = NULL;
	if (cert_name == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "no certificate name");
	size_t len = strlen(cert_name);
	if (len < 7)
		return bs_error_set(err, BS_ERR_INVALID, "%s: too short for CST key naming "
				    "(expected ..._crt.pem or ..._crt.der)", cert_name);
	char *k = bs_strdup(cert_name);
	if (k == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	memcpy(k + len - 7, "key", 3);
	char *c = strstr(k, "crts");
	if (c != NULL)
		memcpy(c, "keys", 4);
	*out = k;
	return 0;
}

/* First line of key_pass.txt in the key's directory. *out = NULL if the file is absent.
 * *pass_name is always set (for messages). */
static int read_passphrase(char **out, char **pass_name, struct bs_store *s,
			   const char *key_name, struct bs_error *err)
{
	*out = NULL;
	*pass_name = NULL;
	const char *slash = strrchr(key_name, '/');
	size_t dl = slash ? (size_t)(slash - key_name) + 1 : 0;
	char *pn = malloc(dl + sizeof(PASS_FILE));
	if (pn == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	memcpy(pn, key_name, dl);
	memcpy(pn + dl, PASS_FILE, sizeof(PASS_FILE));
	*pass_name = pn;
	uint8_t *data = NULL;
	size_t len = 0;
	struct bs_error e2 = {0};
	int rc = bs_store_read(s, pn, BS_PASSPHRASE_MAX, &data, &len, &e2);
	if (rc == BS_ERR_NOT_FOUND)
		return 0;
	if (rc != 0) {
		if (err != NULL)
			*err = e2;
		return rc;
	}
	size_t n = 0;
	while (n < len && data[n] != '\n' && data[n] != '\r')
		n++;
	char *p = malloc(n + 1);
	if (p == NULL) {
		bs_free_secret(data, len);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	memcpy(p, data, n);
	p[n] = '\0';
	bs_free_secret(data, len);
	*out = p;
	return 0;
}

static bool looks_encrypted(const uint8_t *data, size_t len, bool pem)
{
	if (pem) {
		static const char pkcs8_enc[] = "-----BEGIN ENCRYPTED " "PRIVATE KEY-----";
		return memmem(data, len, pkcs8_enc, sizeof(pkcs8_enc) - 1) != NULL ||
		       memmem(data, len, "Proc-Type: 4,ENCRYPTED", 22) != NULL;
	}
	const unsigned char *p = data;
	X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
	bool enc = sig != NULL && p == data + len;
	X509_SIG_free(sig);
	ERR_clear_error();
	return enc;
}

static int decode_key(EVP_PKEY **out, const uint8_t *data, size_t len, bool pem,
		      const char *pass)
{
	*out = NULL;
	OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(out, pem ? "PEM" : "DER", NULL,
							       NULL, EVP_PKEY_KEYPAIR, NULL,
							       NULL);
	if (dctx == NULL)
		return -1;
	int ok = 1;
	if (pass != NULL)
		ok = OSSL_DECODER_CTX_set_passphrase(dctx, (const unsigned char *)pass,
						     strlen(pass));
	const unsigned char *p = data;
	size_t l = len;
	if (ok)
		ok = OSSL_DECODER_from_data(dctx, &p, &l);
	OSSL_DECODER_CTX_free(dctx);
	if (!ok || *out == NULL) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Load private key file key_name; cert_name (for messages) is the certificate it belongs
 * to, or NULL when the key was named directly. */
static int load_named_key(struct bs_store *s, const char *key_name, const char *cert_name,
			  X509 *cert, struct bs_key **out, struct bs_error *err)
{
	char *pass = NULL, *pass_name = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	EVP_PKEY *pkey = NULL;
	int rc = 0;
	if (cert_name == NULL)
		cert_name = "given";
	for (size_t i = 0; i < s->nmemo; i++) {
		if (strcmp(s->memo[i].key_name, key_name) != 0)
			continue;
		struct bs_key *k = s->memo[i].key;
		if (cert != NULL && (s->memo[i].checked == NULL ||
				     X509_cmp(cert, s->memo[i].checked) != 0)) {
			EVP_PKEY *cpub = X509_get0_pubkey(cert);
			if (cpub == NULL || EVP_PKEY_eq(bs_key_public(k), cpub) != 1) {
				ERR_clear_error();
				rc = bs_error_set(err, BS_ERR_KEY, "key %s does not match "
						  "certificate %s", key_name, cert_name);
				goto out;
			}
			X509_up_ref(cert);
			X509_free(s->memo[i].checked);
			s->memo[i].checked = cert;
		}
		*out = bs_key_ref(k);
		goto out;
	}
	rc = bs_store_read(s, key_name, BS_STORE_FILE_MAX, &data, &len, err);
	if (rc == BS_ERR_NOT_FOUND && strcmp(cert_name, "given") != 0) {
		rc = bs_error_set(err, BS_ERR_NOT_FOUND, "private key %s for certificate %s "
				  "not found", key_name, cert_name);
		goto out;
	}
	if (rc != 0)
		goto out;
	rc = read_passphrase(&pass, &pass_name, s, key_name, err);
	if (rc != 0)
		goto out;
	bool pem = bs_ends_with_ci(key_name, ".pem") || looks_pem(data, len);
	bool enc = looks_encrypted(data, len, pem);
	if (enc && pass == NULL) {
		rc = bs_error_set(err, BS_ERR_KEY, "key %s is encrypted but %s is missing",
				  key_name, pass_name);
		goto out;
	}
	if (decode_key(&pkey, data, len, pem, enc ? pass : NULL) != 0) {
		if (enc)
			rc = bs_error_ssl(err, BS_ERR_KEY, "wrong passphrase in %s for %s",
					  pass_name, key_name);
		else
			rc = bs_error_ssl(err, BS_ERR_KEY, "%s: not a %s private key", key_name,
					  pem ? "PEM" : "DER");
		goto out;
	}
	EVP_PKEY *cpub = cert ? X509_get0_pubkey(cert) : NULL;
	if (cert != NULL && (cpub == NULL || EVP_PKEY_eq(pkey, cpub) != 1)) {
		ERR_clear_error();
		rc = bs_error_set(err, BS_ERR_KEY, "key %s does not match certificate %s",
				  key_name, cert_name);
		goto out;
	}
	rc = bs_key_from_pkey(out, pkey, key_name, err);
	pkey = NULL;
	if (rc == 0 && s->is_bundle && s->nmemo < BS_STORE_MEMO_MAX) {
		char *memo_name = bs_strdup(key_name);
		if (memo_name != NULL) {
			s->memo[s->nmemo].key_name = memo_name;
			s->memo[s->nmemo].key = bs_key_ref(*out);
			s->memo[s->nmemo].checked = cert != NULL && X509_up_ref(cert) ? cert : NULL;
			s->nmemo++;
		}
	}
out:
	EVP_PKEY_free(pkey);
	bs_free_secret(data, len);
	bs_free_secret_str(pass);
	free(pass_name);
	return rc;
}

static int load_file_key(struct bs_store *s, const char *cert_name, X509 *cert,
			 struct bs_key **out, struct bs_error *err)
{
	char *key_name = NULL;
	int rc = bs_store_key_name_for_cert(&key_name, cert_name, err);
	if (rc != 0)
		return rc;
	rc = load_named_key(s, key_name, cert_name, cert, out, err);
	free(key_name);
	return rc;
}

int bs_store_load_key_file(struct bs_store *s, const char *key_name, X509 *cert,
			   struct bs_key **out, struct bs_error *err)
{
	*out = NULL;
	if (s == NULL || key_name == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "no store or key name");
	if (is_uri(key_name))
		return bs_store_load_key(s, key_name, cert, out, err);
	return load_named_key(s, key_name, NULL, cert, out, err);
}

int bs_store_load_key(struct bs_store *s, const char *cert_name, X509 *cert,
		      struct bs_key **out, struct bs_error *err)
{
	*out = NULL;
	if (s == NULL || cert_name == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "no store or certificate name");
	if (is_uri(cert_name)) {
		if (s->loader == NULL || s->loader->load_key == NULL)
			return bs_error_set(err, BS_ERR_UNSUPPORTED, "%s: no PKCS#11 backend "
					    "configured", "pkcs11: key");
		return s->loader->load_key(s->loader_ctx, cert_name, cert, out, err);
	}
	return load_file_key(s, cert_name, cert, out, err);
}

static int src_read(void *ctx, const char *name, size_t max, uint8_t **out, size_t *out_len,
		    struct bs_error *err)
{
	return bs_store_read(ctx, name, max, out, out_len, err);
}

static int src_load_cert(void *ctx, const char *name, X509 **out, struct bs_error *err)
{
	return bs_store_load_cert(ctx, name, out, err);
}

static int src_load_key(void *ctx, const char *cert_name, X509 *cert, struct bs_key **out,
			struct bs_error *err)
{
	return bs_store_load_key(ctx, cert_name, cert, out, err);
}

struct bs_key_source bs_store_key_source(struct bs_store *s)
{
	return (struct bs_key_source){.read = src_read, .load_cert = src_load_cert,
				      .load_key = src_load_key, .ctx = s};
}

const char *const *bs_store_members(struct bs_store *s, size_t *n)
{
	*n = 0;
	if (s == NULL || !s->is_bundle)
		return NULL;
	size_t count = bs_bundle_count(s->bundle);
	if (s->names == NULL) {
		s->names = calloc(count + 1, sizeof(*s->names));
		if (s->names == NULL)
			return NULL;
		for (size_t i = 0; i < count; i++)
			s->names[i] = bs_bundle_name(s->bundle, i);
	}
	*n = count;
	return s->names;
}
