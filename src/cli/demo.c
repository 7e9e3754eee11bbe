/* The demo key store of `bootsign serve` (cli/demo.h). */
#include "cli/demo.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "formats/hab/pki.h"
#include "formats/hab/srk.h"
#include "keys/store.h"

#define DEMO_IMAGE_SIZE 0x2000u
#define DEMO_LOAD_ADDR 0x87800000u
#define DEMO_KEY_BITS 2048
#define DEMO_CERT_DAYS 3650

static int mkdir_p(const char *path, unsigned mode, struct bs_error *err)
{
	char tmp[2200];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return bs_error_set(err, BS_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return bs_error_set(err, BS_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

/* First crts/<prefix>*_crt.pem of the PKI. */
static int find_cert(char *out, size_t cap, const char *pki, const char *prefix,
		     struct bs_error *err)
{
	char dir[2200];
	snprintf(dir, sizeof(dir), "%s/crts", pki);
	DIR *d = opendir(dir);
	if (d == NULL)
		return bs_error_set(err, BS_ERR_IO, "%s: %s", dir, strerror(errno));
	struct dirent *e;
	int rc = bs_error_set(err, BS_ERR_NOT_FOUND, "%s: no %s certificate", dir, prefix);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    bs_ends_with_ci(e->d_name, "_crt.pem")) {
			snprintf(out, cap, "crts/%s", e->d_name);
			rc = 0;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* An 8 KiB image with an IVT at offset 0, loaded at DEMO_LOAD_ADDR, CSF right after. */
static int write_demo_image(const char *path, struct bs_error *err)
{
	uint8_t *img = calloc(1, DEMO_IMAGE_SIZE);
	if (img == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	const uint32_t ivt[8] = {0x412000D1u, DEMO_LOAD_ADDR + 0x100, 0, 0, DEMO_LOAD_ADDR + 0x20,
				 DEMO_LOAD_ADDR, DEMO_LOAD_ADDR + DEMO_IMAGE_SIZE, 0};
	for (size_t i = 0; i < 8; i++)
		for (size_t b = 0; b < 4; b++)
			img[4 * i + b] = (uint8_t)(ivt[i] >> (8 * b));
	/* boot data: start, length (image + 8 KiB CSF area), plugin */
	const uint32_t boot[3] = {DEMO_LOAD_ADDR, DEMO_IMAGE_SIZE + 0x2000, 0};
	for (size_t i = 0; i < 3; i++)
		for (size_t b = 0; b < 4; b++)
			img[0x20 + 4 * i + b] = (uint8_t)(boot[i] >> (8 * b));
	for (size_t i = 0x100; i < DEMO_IMAGE_SIZE; i++)
		img[i] = (uint8_t)(i * 7 + 3);
	int rc = bs_write_file(path, img, DEMO_IMAGE_SIZE, 0644, false, err);
	free(img);
	return rc;
}

static int write_demo_csf(const char *path, const char *pki, struct bs_error *err)
{
	char csfk[512], imgk[512], text[2048];
	int rc = find_cert(csfk, sizeof(csfk), pki, "CSF1_", err);
	if (rc == 0)
		rc = find_cert(imgk, sizeof(imgk), pki, "IMG1_", err);
	if (rc != 0)
		return rc;
	int n = snprintf(text, sizeof(text),
			 "[Header]\n    Version = 4.1\n    Hash Algorithm = sha256\n"
			 "    Engine = ANY\n    Engine Configuration = 0\n"
			 "    Certificate Format = X509\n    Signature Format = CMS\n\n"
			 "[Install SRK]\n    File = \"crts/SRK_1_2_3_4_table.bin\"\n"
			 "    Source index = 0\n\n"
			 "[Install CSFK]\n    File = \"%s\"\n\n[Authenticate CSF]\n\n"
			 "[Install Key]\n    Verification index = 0\n    Target index = 2\n"
			 "    File = \"%s\"\n\n"
			 "[Authenticate Data]\n    Verification index = 2\n"
			 "    Blocks = 0x%08x 0x0 0x%x \"demo-image.bin\"\n",
			 csfk, imgk, DEMO_LOAD_ADDR, DEMO_IMAGE_SIZE);
	return bs_write_file(path, text, (size_t)n, 0644, false, err);
}

/* Key files of the other formats, as digsigserver's key store lays them out under
 * <keyroot>/<machine or distro>/: one RSA key (and certificate where the format needs
 * one) each. */
static const struct demo_key {
	const char *key;
	const char *cert; /* or NULL */
	const char *cn;
} g_demo_keys[] = {
	{"kmodsign/kernel-signkey.priv", "kmodsign/kernel-signkey.x509", "demo kernel modules"},
	{"swupdate/rsa-private.key", NULL, "demo swupdate rsa"},
	{"swupdate/cms-private.key", "swupdate/cms.cert", "demo swupdate cms"},
	{"opteesign/optee-signing-key.pem", NULL, "demo op-tee"},
	{"uefisign/db.key", "uefisign/db.crt", "demo uefi db"},
	{"fitimagesign/dev.key", "fitimagesign/dev.crt", "demo fit dev"},
	{"mender/private.key", NULL, "demo mender"},
};

static int pem_to_file(const char *path, unsigned mode, EVP_PKEY *key, X509 *cert,
		       struct bs_error *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int ok = key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
			     : PEM_write_bio_X509(b, cert);
	char *data = NULL;
	long len = BIO_get_mem_data(b, &data);
	int rc = ok && len > 0 ? bs_write_file(path, data, (size_t)len, mode, true, err)
			       : bs_error_ssl(err, BS_ERR_CRYPTO, "%s: cannot encode", path);
	if (len > 0)
		OPENSSL_cleanse(data, (size_t)len);
	BIO_free(b);
	return rc;
}

static int demo_key(const char *dir, const struct demo_key *k, struct bs_error *err)
{
	char kp[2400], cp[2400];
	snprintf(kp, sizeof(kp), "%s/%s", dir, k->key);
	snprintf(cp, sizeof(cp), "%s/%s", dir, k->cert != NULL ? k->cert : "");
	if (access(kp, F_OK) == 0)
		return 0;
	char sub[2400];
	snprintf(sub, sizeof(sub), "%s", kp);
	*strrchr(sub, '/') = '\0';
	int rc = mkdir_p(sub, 0700, err);
	if (rc != 0)
		return rc;
	EVP_PKEY *pkey = EVP_RSA_gen(DEMO_KEY_BITS);
	if (pkey == NULL)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "generating a demo key");
	X509 *cert = NULL;
	struct bs_key *signer = NULL;
	if (k->cert != NULL) {
		EVP_PKEY_up_ref(pkey);
		if ((rc = bs_key_from_pkey(&signer, pkey, k->key, err)) == 0) {
			const struct bs_x509_params xp = {.cn = k->cn, .subject = pkey,
							  .days = DEMO_CERT_DAYS};
			rc = bs_x509_issue(&cert, &xp, signer, err);
		}
		if (rc == 0)
			rc = pem_to_file(cp, 0644, NULL, cert, err);
	}
	if (rc == 0)
		rc = pem_to_file(kp, 0600, pkey, NULL, err);
	bs_key_free(signer);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Keys for every format under <keys>/demo/ (only the missing ones are made). */
static int demo_format_keys(const char *keys, struct bs_error *err)
{
	char dir[2300];
	snprintf(dir, sizeof(dir), "%s/demo", keys);
	for (size_t i = 0; i < BS_ARRAY_SIZE(g_demo_keys); i++) {
		int rc = demo_key(dir, &g_demo_keys[i], err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int demo_setup(struct bs_config *cfg, struct demo *demo, struct bs_error *err)
{
	char *state = NULL;
	int rc;
	if (cfg->state_dir != NULL)
		state = strdup(cfg->state_dir);
	else if ((rc = bs_config_default_state_dir(&state, err)) != 0)
		return rc;
	if (state == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	snprintf(demo->dir, sizeof(demo->dir), "%s", state);
	free(state);
	char pki[2200], keys[2200], bundle_dir[2300], bundle[2400], tgz[2300], fuse[2300];
	snprintf(pki, sizeof(pki), "%s/pki", demo->dir);
	snprintf(keys, sizeof(keys), "%s/keys", demo->dir);
	snprintf(bundle_dir, sizeof(bundle_dir), "%s/demo/imxsign", keys);
	snprintf(bundle, sizeof(bundle), "%s/imx-cst-keys.tar.gz", bundle_dir);
	snprintf(tgz, sizeof(tgz), "%s/imx-cst-keys.tar.gz", pki);
	snprintf(fuse, sizeof(fuse), "%s/crts/SRK_1_2_3_4_fuse.bin", pki);
	snprintf(demo->csf, sizeof(demo->csf), "%s/demo.csf", demo->dir);
	snprintf(demo->image, sizeof(demo->image), "%s/demo-image.bin", demo->dir);
	if ((rc = mkdir_p(demo->dir, 0700, err)) != 0)
		return rc;
	if (access(bundle, F_OK) != 0) {
		if (access(pki, F_OK) == 0)
			return bs_error_set(err, BS_ERR_CONFIG,
					    "%s exists but the demo key store is incomplete; remove "
					    "it and start again", pki);
		bs_log(BS_LOG_INFO, NULL, "creating a demo HAB4 PKI (RSA-2048) in %s", pki);
		struct bs_pki_opts o = {.outdir = pki, .keytype = BS_PKI_RSA2048, .nsrk = 4,
					.validity_days = 3650, .write_tgz = true};
		uint8_t *data = NULL;
		size_t len = 0;
		if ((rc = bs_pki_create(&o, err)) != 0 ||
		    (rc = mkdir_p(bundle_dir, 0700, err)) != 0 ||
		    (rc = write_demo_image(demo->image, err)) != 0 ||
		    (rc = write_demo_csf(demo->csf, pki, err)) != 0 ||
		    (rc = bs_read_file(&data, &len, tgz, BS_STORE_BUNDLE_MAX, err)) != 0)
			return rc;
		rc = bs_write_file(bundle, data, len, 0600, true, err);
		bs_free_secret(data, len);
		if (rc != 0)
			return rc;
	}
	if ((rc = demo_format_keys(keys, err)) != 0)
		return rc;
	uint8_t *f = NULL;
	size_t flen = 0;
	if ((rc = bs_read_file(&f, &flen, fuse, BS_SRK_DIGEST_MAX, err)) != 0)
		return rc;
	bs_hex(demo->fuse_hex, f, flen);
	snprintf(demo->fuse_path, sizeof(demo->fuse_path), "%s", fuse);
	size_t off = 0;
	for (size_t i = 0; i + 4 <= flen && off < sizeof(demo->fuse_words); i += 4)
		off += (size_t)snprintf(demo->fuse_words + off, sizeof(demo->fuse_words) - off,
					"%s0x%08x", i ? " " : "", bs_srk_fuse_word(f, i / 4));
	free(f);
	free(cfg->keyfile_root);
	cfg->keyfile_root = strdup(keys);
	if (cfg->keyfile_root == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	return 0;
}

void demo_banner(const struct demo *demo, const char *address, unsigned port,
		 const char *self)
{
	printf("bootsign demo: state directory (STATE) %s, key store $STATE/keys (machine and "
	       "distro 'demo')\n"
	       "  SRK fuse hash (SHA-256): %s\n"
	       "  fuse words (SRK_HASH[0..7]): %s\n"
	       "  sign the sample image:\n"
	       "    curl --fail-with-body -X POST -F machine=demo -F soctype=mx8m "
	       "-F cstversion=3.3.2 -F \"csf=@%s;type=text/plain\" -F \"artifact=@%s\" "
	       "--output csf.bin http://%s:%u/sign/imx\n"
	       "  then place csf.bin at offset 0x%x of the image (the IVT's CSF pointer) and\n"
	       "  check the result the way the boot ROM would:\n"
	       "    cp %s signed.bin && dd if=csf.bin of=signed.bin bs=1 seek=%u "
	       "conv=notrunc status=none\n"
	       "    %s hab verify --fuse %s signed.bin\n"
	       "  the store also holds keys for the other endpoints (curl http://%s:%u/signers\n"
	       "  lists them with their fields; README.md has a curl line for each).\n",
	       demo->dir, demo->fuse_hex, demo->fuse_words, demo->csf, demo->image, address,
	       port, DEMO_IMAGE_SIZE, demo->image, DEMO_IMAGE_SIZE, self, demo->fuse_path,
	       address, port);
	fflush(stdout);
}

int demo_setup_apart(struct bs_config *cfg, struct demo *demo, struct bs_error *err)
{
	int fds[2];
	if (pipe(fds) != 0)
		return bs_error_set(err, BS_ERR_IO, "demo key store: pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return bs_error_set(err, BS_ERR_IO, "demo key store: fork: %s", strerror(errno));
	}
	if (pid == 0) { /* makes the keys, then exits with them */
		close(fds[0]);
		struct demo d;
		struct bs_error e = {0};
		int rc = demo_setup(cfg, &d, &e);
		if (rc != 0)
			(void)!write(fds[1], e.msg, strlen(e.msg));
		_exit(rc != 0 ? 1 : 0);
	}
	close(fds[1]);
	char msg[BS_ERROR_MSG_MAX] = "";
	size_t n = 0;
	ssize_t r;
	while (n + 1 < sizeof(msg) &&
	       ((r = read(fds[0], msg + n, sizeof(msg) - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	msg[n] = '\0';
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return bs_error_set(err, BS_ERR_CONFIG, "%s", msg[0] ? msg : "demo key store: "
				    "the process making it failed");
	return demo_setup(cfg, demo, err); /* all there now: reads the public parts only */
}
