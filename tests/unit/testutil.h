/* Shared helpers for unit tests. */
#ifndef BS_TESTUTIL_H
#define BS_TESTUTIL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>

#include "core/error.h"
#include "crypto/key.h"

#define BS_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* Path of a fixture under tests/fixtures (env BS_FIXTURES). Returns a static buffer
 * (one per call slot: up to 8 live results). */
const char *bs_fixture(const char *rel);
/* Read a whole fixture; aborts the test on failure. Caller frees. */
uint8_t *bs_fixture_read(const char *rel, size_t *len);
/* Create a fresh private temp directory (removed by bs_tmpdir_remove). Caller frees. */
char *bs_tmpdir(void);
void bs_tmpdir_remove(const char *dir);
/* bs_tmpdir_remove, then free the name; NULL is a no-op. */
void bs_tmpdir_free(char *dir);
/* Run a command (argv array, NULL-terminated) and return its exit status, -1 on error.
 * stdout goes to `out_path` if not NULL. */
int bs_test_run(const char *const *argv, const char *out_path);
/* bs_test_run with stdout to /dev/null; fails the test unless the command exits 0. */
void bs_test_run_ok(const char *const *argv);
/* A Blocks data source (struct bs_data_source.open) rooted at the directory `ctx`. */
int bs_test_dir_open(void *ctx, const char *name, FILE **out, uint64_t *size,
		     struct bs_error *err);
/* A growable byte buffer for tests (archives written to memory): d is malloc'd. */
struct bs_test_membuf {
	uint8_t *d;
	size_t n, cap, pos;
};
/* Append n bytes; 0, or -1 when out of memory. */
int bs_test_membuf_put(struct bs_test_membuf *m, const void *buf, size_t n);

/* Write a whole file (created or truncated); fails the test on any error. */
void bs_write(const char *path, const void *data, size_t len);

/* A PEM certificate read with OpenSSL; fails the test unless there is one. */
X509 *bs_read_pem_cert(const char *path);
/* A PEM private key read with OpenSSL (pass may be NULL); NULL if it does not decode.
 * Fails the test if the file cannot be opened. */
EVP_PKEY *bs_read_pem_key(const char *path, const char *pass);

/* Sign SHA-256("msg") with key (scheme) and verify the signature with OpenSSL under pub
 * (PSS: salt length = digest length). Returns 0, the signing error, or -1000 when the
 * signature does not verify. */
int bs_sign_verify(struct bs_key *key, EVP_PKEY *pub, enum bs_sig_scheme scheme,
		   struct bs_error *e);

/* signingTime of the first SignerInfo of a DER CMS, read with OpenSSL's CMS parser
 * (independent of our own); 0 if there is none. Fails the test if it does not parse. */
time_t bs_cms_signing_time(const uint8_t *der, size_t len);

/* `openssl pkeyutl -verify` of sig over `in` under pub, with extra -pkeyopt values (a
 * NULL-terminated list, may be NULL) and -rawin when `rawin` (Ed25519 messages). Files go
 * to dir (pub.pem, in.bin, sig.bin). Returns the tool's exit status (0 = verified). */
int bs_pkeyutl_verify(const char *dir, EVP_PKEY *pub, const char *const *pkeyopts, bool rawin,
		      const uint8_t *in, size_t in_len, const uint8_t *sig, size_t sig_len);

/* A private SoftHSM2 token labelled `label` (user PIN `pin`, SO PIN 12345678): config
 * dir/softhsm2.conf, exported as SOFTHSM2_CONF, token files under dir/tokens.
 * Returns 0 or -1. */
int bs_softhsm_init(const char *dir, const char *label, const char *pin);
/* dir/name.key from `openssl genpkey -algorithm alg -pkeyopt opt` and a self-signed
 * dir/name.crt (CN=name); the key, and the certificate when with_cert, are written to the
 * SoftHSM2 token with label `name` (pkcs11-tool). Returns 0 or -1. */
int bs_softhsm_add_key(const char *dir, const char *name, const char *alg, const char *opt,
		       const char *pin, bool with_cert);

/* tests/shim (libp11shim): its control and count files are dir/shim.ctl and
 * dir/shim.count (exported as P11SHIM_CTL, P11SHIM_COUNT). */
void bs_shim_env(const char *dir);
/* Write `text` to the shim's control file with a fresh epoch line. */
void bs_shim_ctl(const char *text);
/* A counter ("login", "sign", ...) from the shim's count file; 0 if there is none. */
unsigned long bs_shim_count(const char *key);
/* Remove the count file (counters restart from 0 once reset_counts is in effect). */
void bs_shim_count_remove(void);

#endif
