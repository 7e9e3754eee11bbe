/* keys/keyproc_msg.c (the message table) and the private-key member check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "testutil.h"
#include "core/limits.h"
#include "core/util.h"
#include "crypto/dercache.h"
#include "keys/keyproc.h"
#include "keys/keyring.h"
#include "keys/keyproc_client.h"
#include "keys/keyproc_msg.h"
#include "keys/keyproc_pubcache.h"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void encode(struct bs_kp_enc *e, uint16_t type, const char *s1, uint64_t v)
{
	bs_kp_enc_start(e, type, 77);
	if (s1 != NULL)
		bs_kp_put_str(e, s1);
	if (v != 0)
		bs_kp_put_u64(e, v);
	assert_int_equal(bs_kp_enc_end(e, NULL), 0);
}

/* ---- the client's multiplexing, against a fake key process on a socketpair ---- */

struct opener {
	struct bs_kpc *c;
	const char *subject;
	uint64_t lease;
	int rc;
};

static void *open_lease(void *arg)
{
	struct opener *o = arg;
	struct bs_error err = {0};
	o->rc = bs_kpc_lease_open(&o->lease, o->c, o->subject, NULL, &err);
	return NULL;
}

/* Read one request off the fake key process's end. */
static void fake_recv(int fd, struct bs_kp_msg *m, uint8_t *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap, 0);
	assert_true(n > 0);
	assert_int_equal(bs_kp_decode(m, buf, (size_t)n, NULL), 0);
}

static void fake_send(int fd, uint16_t type, uint32_t seq, uint64_t v)
{
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, type, seq);
	if (type == BS_KP_OK)
		bs_kp_put_u64(&e, v);
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	assert_int_equal(send(fd, e.buf, e.len, 0), (ssize_t)e.len);
	bs_kp_enc_free(&e);
}

/* Two threads wait at once; the replies come in the reverse order of the requests and
 * each thread gets its own (the lease id the fake derives from the subject). */
static void test_keyproc__replies_in_any_order(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct bs_kpc *c = NULL;
	assert_int_equal(bs_kpc_new(&c, sv[0], NULL), 0);
	struct opener a = {.c = c, .subject = "alpha"}, b = {.c = c, .subject = "beta"};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, open_lease, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, open_lease, &b), 0);
	uint8_t b1[256], b2[256];
	struct bs_kp_msg m1, m2;
	fake_recv(sv[1], &m1, b1, sizeof(b1));
	fake_recv(sv[1], &m2, b2, sizeof(b2)); /* both requests are out before any reply */
	char s1[16], s2[16];
	assert_int_equal(bs_kp_get_str(s1, sizeof(s1), &m1, 0, NULL), 0);
	assert_int_equal(bs_kp_get_str(s2, sizeof(s2), &m2, 0, NULL), 0);
	fake_send(sv[1], BS_KP_OK, 0xdead, 99); /* nobody's: dropped */
	fake_send(sv[1], BS_KP_OK, m2.seq, strlen(s2));
	fake_send(sv[1], BS_KP_OK, m1.seq, strlen(s1));
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_int_equal(a.lease, strlen("alpha"));
	assert_int_equal(b.lease, strlen("beta"));
	/* a close is not waited for: it returns with nobody answering */
	bs_kpc_lease_close(c, 7);
	struct bs_kp_msg mc;
	fake_recv(sv[1], &mc, b1, sizeof(b1));
	assert_int_equal(mc.type, BS_KP_LEASE_CLOSE);
	bs_kpc_free(c);
	close(sv[1]);
}

/* BS_KP_DIED fails every waiting call with BS_ERR_BUSY; later calls work again; a closed
 * socket fails waiting and later calls. */
static void test_keyproc__died_fails_every_waiter(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct bs_kpc *c = NULL;
	assert_int_equal(bs_kpc_new(&c, sv[0], NULL), 0);
	struct opener a = {.c = c, .subject = "a"}, b = {.c = c, .subject = "b"};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, open_lease, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, open_lease, &b), 0);
	uint8_t buf[256];
	struct bs_kp_msg m;
	fake_recv(sv[1], &m, buf, sizeof(buf));
	fake_recv(sv[1], &m, buf, sizeof(buf));
	fake_send(sv[1], BS_KP_DIED, 0, 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, BS_ERR_BUSY);
	assert_int_equal(b.rc, BS_ERR_BUSY);

	struct opener d = {.c = c, .subject = "again"};
	pthread_t td;
	assert_int_equal(pthread_create(&td, NULL, open_lease, &d), 0);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	fake_send(sv[1], BS_KP_OK, m.seq, 5);
	pthread_join(td, NULL);
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.lease, 5);

	struct opener g = {.c = c, .subject = "gone"};
	assert_int_equal(pthread_create(&td, NULL, open_lease, &g), 0);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	close(sv[1]);
	pthread_join(td, NULL);
	assert_int_equal(g.rc, BS_ERR_BUSY);
	uint64_t lease = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_kpc_lease_open(&lease, c, "later", NULL, &err), BS_ERR_BUSY);
	assert_non_null(strstr(err.msg, "gone"));
	bs_kpc_free(c);
}

/* A lease open or service key given up on (no answer in time: a slow token held the key
 * process) is closed when its answer comes after all: otherwise every such time-out leaks
 * a lease or key handle in the key process until its tables are full and every request is
 * a 503. An error answer opens nothing and is not closed. */
static void test_keyproc__late_answers_are_closed(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct bs_kpc *c = NULL;
	assert_int_equal(bs_kpc_new(&c, sv[0], NULL), 0);
	bs_kpc_set_timeout(c, 100);
	uint8_t buf[256];
	struct bs_kp_msg m;
	struct bs_error err = {0};
	uint64_t lease = 0;
	assert_int_equal(bs_kpc_lease_open(&lease, c, "slow", NULL, &err), BS_ERR_BUSY);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_LEASE_OPEN);
	uint32_t open_seq = m.seq;
	struct bs_key *k = NULL;
	assert_int_equal(bs_kpc_service_key(&k, c, "audit_key", &err), BS_ERR_BUSY);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_SERVICE_KEY);
	uint32_t key_seq = m.seq;
	assert_int_equal(bs_kpc_lease_open(&lease, c, "refused", NULL, &err), BS_ERR_BUSY);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	uint32_t err_seq = m.seq;
	/* the answers come late; the next call reads them */
	fake_send(sv[1], BS_KP_OK, open_seq, 0x100000007ull);
	fake_send(sv[1], BS_KP_OK, key_seq, 0x100000009ull);
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, BS_KP_ERR, err_seq);
	bs_kp_put_u64(&e, (uint64_t)(int64_t)BS_ERR_DENIED);
	bs_kp_put_str(&e, "no");
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	assert_int_equal(send(sv[1], e.buf, e.len, 0), (ssize_t)e.len);
	bs_kp_enc_free(&e);
	assert_false(bs_kpc_exists(c, 1, "x")); /* unanswered itself */
	bool lease_closed = false, key_freed = false;
	int others = 0;
	ssize_t n;
	while ((n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		assert_int_equal(bs_kp_decode(&m, buf, (size_t)n, NULL), 0);
		uint64_t id = 0;
		if (m.type == BS_KP_LEASE_CLOSE) {
			assert_int_equal(bs_kp_get_u64(&id, &m, 0, NULL), 0);
			assert_true(id == 0x100000007ull);
			lease_closed = true;
		} else if (m.type == BS_KP_KEY_FREE) {
			assert_int_equal(bs_kp_get_u64(&id, &m, 0, NULL), 0);
			assert_true(id == 0x100000009ull);
			key_freed = true;
		} else {
			assert_int_equal(m.type, BS_KP_EXISTS);
			others++;
		}
	}
	assert_true(lease_closed);
	assert_true(key_freed);
	assert_int_equal(others, 1);
	bs_kpc_free(c);
	close(sv[1]);
}

struct certer {
	struct bs_kpc *c;
	const char *name;
	X509 *out;
	int rc;
};

static void *get_bundle_cert(void *arg)
{
	struct certer *o = arg;
	struct bs_error err = {0};
	o->rc = bs_kpc_cert(&o->out, o->c, 1, 0x100000005ull, true, true, o->name, &err);
	return NULL;
}

/* The fake key process answers one BUNDLE_CERT with der if one comes within 2 s. */
static bool fake_answer_cert(int fd, const uint8_t *der, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 2000) != 1)
		return false;
	uint8_t buf[512];
	struct bs_kp_msg m;
	fake_recv(fd, &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_BUNDLE_CERT);
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, BS_KP_OK, m.seq);
	bs_kp_put(&e, der, len);
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	assert_int_equal(send(fd, e.buf, e.len, 0), (ssize_t)e.len);
	bs_kp_enc_free(&e);
	return true;
}

/* A bundle's own certificate is kept by the bundle version's serial; a certificate the
 * CSF names as a pkcs11: URI lives on the token, which can be re-provisioned while the
 * bundle file stays the same: it is asked for every time (kept, a new key on the token
 * signed under the old certificate and the image failed to boot). */
static void test_keyproc__token_certs_not_kept_by_bundle_serial(void **state)
{
	(void)state;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	unsigned char *der = NULL;
	int dl = i2d_X509(x, &der);
	assert_true(dl > 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct bs_kpc *c = NULL;
	assert_int_equal(bs_kpc_new(&c, sv[0], NULL), 0);
	static const char *const names[] = {"crts/CSF1_crt.pem",
					    "pkcs11:token=YubiHSM;object=CSF1;type=cert"};
	for (size_t i = 0; i < 2; i++) {
		for (int round = 0; round < 2; round++) {
			struct certer o = {.c = c, .name = names[i]};
			pthread_t t;
			assert_int_equal(pthread_create(&t, NULL, get_bundle_cert, &o), 0);
			bool asked = fake_answer_cert(sv[1], der, (size_t)dl);
			pthread_join(t, NULL);
			assert_int_equal(o.rc, 0);
			assert_non_null(o.out);
			X509_free(o.out);
			/* the first time always; again only for the token's certificate */
			if (asked != (round == 0 || i == 1))
				fail_msg("%s, round %d: asked %d", names[i], round, asked);
		}
	}
	bs_kpc_free(c);
	close(sv[1]);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* ---- a service key's stub after a key process restart ---- */

struct signer {
	struct bs_key *key;
	int rc;
};

static void *sign_once(void *arg)
{
	struct signer *s = arg;
	const struct bs_sig_params p = {.md_nid = NID_sha256};
	uint8_t dg[32] = {1}, *sig = NULL;
	size_t len = 0;
	struct bs_error err = {0};
	s->rc = bs_key_sign(s->key, &p, dg, sizeof(dg), &sig, &len, &err);
	free(sig);
	return NULL;
}

struct svc {
	struct bs_kpc *c;
	struct bs_key *key;
	int rc;
};

static void *svc_key(void *arg)
{
	struct svc *s = arg;
	struct bs_error err = {0};
	s->rc = bs_kpc_service_key(&s->key, s->c, "tls_key", &err);
	return NULL;
}

static void fake_err(int fd, uint32_t seq, int code)
{
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, BS_KP_ERR, seq);
	bs_kp_put_u64(&e, (uint64_t)(int64_t)code);
	bs_kp_put_str(&e, "the key process restarted");
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	assert_int_equal(send(fd, e.buf, e.len, 0), (ssize_t)e.len);
	bs_kp_enc_free(&e);
}

/* A SERVICE_KEY or SIGN answer: (handle, public key DER, id) or (signature). */
static void fake_ok(int fd, uint32_t seq, uint64_t handle, const uint8_t *der, size_t len)
{
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, BS_KP_OK, seq);
	if (handle != 0)
		bs_kp_put_u64(&e, handle);
	bs_kp_put(&e, der, len);
	if (handle != 0)
		bs_kp_put_str(&e, "tls_key");
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	assert_int_equal(send(fd, e.buf, e.len, 0), (ssize_t)e.len);
	bs_kp_enc_free(&e);
}

static uint64_t handle_of(const struct bs_kp_msg *m)
{
	uint64_t h = 0;
	assert_int_equal(bs_kp_get_u64(&h, m, 0, NULL), 0);
	return h;
}

/* Two TLS handshakes sign with the service key when the key process has restarted: the
 * first to hear "restarted" fetches the new handle and frees the dead one; the second
 * signs with that new handle, never fetching (and freeing) another. (A key process that
 * did not die, only answered BUSY, keeps its handles: no renewal without a DIED.) */
static void test_keyproc__service_key_renewed_once(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct bs_kpc *c = NULL;
	assert_int_equal(bs_kpc_new(&c, sv[0], NULL), 0);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	assert_true(n > 0);
	const uint64_t h1 = 1ull << 32 | 1, h2 = 2ull << 32 | 1;
	uint8_t buf[4096], sig[8] = {0x30, 6, 2, 1, 1, 2, 1, 1};
	struct bs_kp_msg m, ma, mb;
	struct signer a = {0}, b = {0};
	pthread_t ta, tb;
	struct bs_key *key = NULL;
	/* the stub: SERVICE_KEY answered with h1 */
	struct svc s = {.c = c};
	pthread_t ts;
	assert_int_equal(pthread_create(&ts, NULL, svc_key, &s), 0);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_SERVICE_KEY);
	fake_ok(sv[1], m.seq, h1, der, (size_t)n);
	pthread_join(ts, NULL);
	assert_int_equal(s.rc, 0);
	key = s.key;
	/* the key process dies (the supervisor's DIED, read by the next waiter: a CHECK, which
	 * fails with it) and a new one starts: h1 is stale now */
	fake_send(sv[1], BS_KP_DIED, 0, 0);
	struct bs_error cerr = {0};
	assert_int_equal(bs_kpc_check(c, &cerr), BS_ERR_BUSY);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_CHECK);
	/* two signers with h1 */
	a.key = b.key = key;
	assert_int_equal(pthread_create(&ta, NULL, sign_once, &a), 0);
	fake_recv(sv[1], &ma, buf, sizeof(buf));
	uint8_t bufb[4096];
	assert_int_equal(pthread_create(&tb, NULL, sign_once, &b), 0);
	fake_recv(sv[1], &mb, bufb, sizeof(bufb));
	assert_int_equal(ma.type, BS_KP_SIGN);
	assert_int_equal(mb.type, BS_KP_SIGN);
	assert_true(handle_of(&ma) == h1 && handle_of(&mb) == h1);
	/* A hears "restarted": fetches h2, frees h1, signs with h2 */
	fake_err(sv[1], ma.seq, BS_ERR_BUSY);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_SERVICE_KEY);
	fake_ok(sv[1], m.seq, h2, der, (size_t)n);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_KEY_FREE);
	assert_true(handle_of(&m) == h1);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_SIGN);
	assert_true(handle_of(&m) == h2);
	fake_ok(sv[1], m.seq, 0, sig, sizeof(sig));
	pthread_join(ta, NULL);
	assert_int_equal(a.rc, 0);
	/* B hears "restarted" too: signs with h2 at once */
	fake_err(sv[1], mb.seq, BS_ERR_BUSY);
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_SIGN);
	assert_true(handle_of(&m) == h2);
	fake_ok(sv[1], m.seq, 0, sig, sizeof(sig));
	pthread_join(tb, NULL);
	assert_int_equal(b.rc, 0);
	bs_key_free(key); /* frees h2 */
	fake_recv(sv[1], &m, buf, sizeof(buf));
	assert_int_equal(m.type, BS_KP_KEY_FREE);
	assert_true(handle_of(&m) == h2);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	bs_kpc_free(c);
	close(sv[1]);
}

static void *check_once(void *arg)
{
	struct opener *o = arg;
	struct bs_error err = {0};
	o->rc = bs_kpc_check(o->c, &err);
	return NULL;
}

/* A key process that does not read (stopped): closes never block the request thread that
 * frees its keys; what the full socket cannot take is kept (bounded) and sent, oldest
 * first, before the next message once the key process reads again. */
static void test_keyproc__closes_never_block(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct bs_kpc *c = NULL;
	assert_int_equal(bs_kpc_new(&c, sv[0], NULL), 0);
	uint64_t t0 = bs_now_ms();
	for (uint64_t i = 1; i <= 5000; i++)
		bs_kpc_lease_close(c, i); /* far more than the socket holds */
	assert_true(bs_now_ms() - t0 < 2000);
	uint8_t buf[256];
	struct bs_kp_msg m;
	uint64_t last = 0, got = 0, v = 0;
	for (;;) { /* what the socket took: in order */
		ssize_t n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		assert_int_equal(bs_kp_decode(&m, buf, (size_t)n, NULL), 0);
		assert_int_equal(m.type, BS_KP_LEASE_CLOSE);
		assert_int_equal(bs_kp_get_u64(&v, &m, 0, NULL), 0);
		assert_true(v > last);
		last = v;
		got++;
	}
	assert_true(got > 0 && got < 5000);
	/* the next request: the kept closes go first (the newest 256, oldest first), then it */
	struct opener o = {.c = c};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, check_once, &o), 0);
	uint64_t kept = 0;
	for (;;) {
		ssize_t n = recv(sv[1], buf, sizeof(buf), 0);
		assert_true(n > 0);
		assert_int_equal(bs_kp_decode(&m, buf, (size_t)n, NULL), 0);
		if (m.type == BS_KP_CHECK)
			break;
		assert_int_equal(m.type, BS_KP_LEASE_CLOSE);
		assert_int_equal(bs_kp_get_u64(&v, &m, 0, NULL), 0);
		assert_true(v > last);
		last = v;
		kept++;
	}
	assert_int_equal(kept, 256);
	assert_true(last == 5000);
	fake_send(sv[1], BS_KP_OK, m.seq, 0);
	pthread_join(t, NULL);
	assert_int_equal(o.rc, 0);
	bs_kpc_free(c);
	close(sv[1]);
}

/* The DER cache: one decode per distinct certificate, the same object back, refused
 * bytes NULL (trailing garbage too). */
static void test_keyproc__der_cache(void **state)
{
	(void)state;
	EVP_PKEY *k = EVP_RSA_gen(2048);
	assert_non_null(k);
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"dercache", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	assert_true(n > 0);
	unsigned long before = bs_dercache_decodes();
	X509 *c1 = bs_der_x509(der, (size_t)n), *c2 = bs_der_x509(der, (size_t)n);
	assert_non_null(c1);
	assert_ptr_equal(c1, c2);
	assert_int_equal(bs_dercache_decodes() - before, 1);
	assert_int_equal(X509_cmp(c1, x), 0);
	uint8_t *longer = malloc((size_t)n + 1);
	memcpy(longer, der, (size_t)n);
	longer[n] = 0;
	assert_null(bs_der_x509(longer, (size_t)n + 1));
	assert_null(bs_der_x509(der, (size_t)n - 1));
	assert_null(bs_der_pubkey(der, (size_t)n)); /* a certificate is not an SPKI */
	/* the public key by DER, and the key's own DER encoding (once) */
	struct bs_key *key = NULL;
	assert_true(EVP_PKEY_up_ref(k));
	assert_int_equal(bs_key_from_pkey(&key, k, "t", NULL), 0);
	size_t dl = 0, dl2 = 0;
	const uint8_t *d1 = bs_key_public_der(key, &dl), *d2 = bs_key_public_der(key, &dl2);
	assert_ptr_equal(d1, d2);
	unsigned char *spki = NULL;
	int sn = i2d_PUBKEY(k, &spki);
	assert_int_equal(dl, (size_t)sn);
	assert_memory_equal(d1, spki, dl);
	EVP_PKEY *p1 = bs_der_pubkey(d1, dl), *p2 = bs_der_pubkey(d1, dl);
	assert_non_null(p1);
	assert_ptr_equal(p1, p2);
	assert_int_equal(EVP_PKEY_eq(p1, k), 1);
	EVP_PKEY_free(p1);
	EVP_PKEY_free(p2);
	OPENSSL_free(spki);
	bs_key_free(key);
	free(longer);
	X509_free(c1);
	X509_free(c2);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* Public members kept by (serial, kind, name, max); serial 0 never kept; bounded. */
static void test_keyproc__pubcache(void **state)
{
	(void)state;
	struct bs_kp_pubcache *pc = bs_kp_pubcache_new();
	assert_non_null(pc);
	uint8_t *out = NULL;
	size_t len = 0;
	bs_kp_pubcache_put(pc, 0, 'r', "crts/SRK_table.bin", 100, (const uint8_t *)"t", 1);
	assert_false(bs_kp_pubcache_get(pc, 0, 'r', "crts/SRK_table.bin", 100, &out, &len));
	bs_kp_pubcache_put(pc, 5, 'r', "crts/SRK_table.bin", 100, (const uint8_t *)"table", 5);
	assert_true(bs_kp_pubcache_get(pc, 5, 'r', "crts/SRK_table.bin", 100, &out, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(out, "table\0", 6);
	free(out);
	/* another version, kind, limit or name is another item */
	assert_false(bs_kp_pubcache_get(pc, 6, 'r', "crts/SRK_table.bin", 100, &out, &len));
	assert_false(bs_kp_pubcache_get(pc, 5, 'c', "crts/SRK_table.bin", 100, &out, &len));
	assert_false(bs_kp_pubcache_get(pc, 5, 'r', "crts/SRK_table.bin", 99, &out, &len));
	assert_false(bs_kp_pubcache_get(pc, 5, 'r', "crts/SRK1_crt.pem", 100, &out, &len));
	/* bounded: after BS_KP_PUBCACHE_ENTRIES newer items the first is gone */
	for (unsigned i = 0; i < BS_KP_PUBCACHE_ENTRIES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "m%u", i);
		bs_kp_pubcache_put(pc, 7, 'r', name, 100, (const uint8_t *)name, strlen(name));
	}
	assert_false(bs_kp_pubcache_get(pc, 5, 'r', "crts/SRK_table.bin", 100, &out, &len));
	assert_true(bs_kp_pubcache_get(pc, 7, 'r', "m3", 100, &out, &len));
	assert_memory_equal(out, "m3", 2);
	free(out);
	/* too large to keep */
	uint8_t *big = calloc(1, BS_KP_PUBCACHE_ITEM_MAX + 1);
	bs_kp_pubcache_put(pc, 8, 'r', "big", 0, big, BS_KP_PUBCACHE_ITEM_MAX + 1);
	assert_false(bs_kp_pubcache_get(pc, 8, 'r', "big", 0, &out, &len));
	free(big);
	bs_kp_pubcache_free(pc);
}

/* The request's key filter (the policy decision) is applied by the key process itself:
 * with a remote keyring the server side does not check it, so a refusal here comes from
 * the key process, in the policy's own words. */
static void write_key(const char *path)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	assert_non_null(k);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(k);
}

static void test_keyproc__key_filter_in_the_key_process(void **state)
{
	(void)state;
	char *root = bs_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/m", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/m/kmodsign", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/m/kmodsign/a.pem", root);
	write_key(path);
	snprintf(path, sizeof(path), "%s/m/kmodsign/b.pem", root);
	write_key(path);
	const struct bs_keyring_opts o = {.root = root};
	int fd = -1;
	struct bs_keyring *kr = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_keyproc_start(&fd, &o, &err), 0);
	assert_int_equal(bs_keyring_new_remote(&kr, fd, &err), 0);
	struct bs_keyring_lease *l = NULL;
	assert_int_equal(bs_keyring_lease_filtered(&l, kr, "m", "+kmodsign/a*\n"
						   "!refused: '\t' is not for you\n", &err), 0);
	struct bs_key *k = NULL;
	assert_int_equal(bs_lease_key(&k, l, "kmodsign/a.pem", NULL, &err), 0);
	assert_non_null(k);
	bs_key_free(k);
	k = NULL;
	assert_int_equal(bs_lease_key(&k, l, "kmodsign/b.pem", NULL, &err), BS_ERR_DENIED);
	assert_null(k);
	assert_string_equal(err.msg, "refused: 'kmodsign/b.pem' is not for you");
	bs_keyring_release(l);
	/* a filter well over 4 KiB (a policy with dozens of deny rules) reaches the key
	 * process whole: its last lines still decide */
	char *big = malloc(BS_KEY_FILTER_MAX);
	assert_non_null(big);
	size_t bl = 0;
	for (int i = 0; i < 100; i++)
		bl += (size_t)snprintf(big + bl, BS_KEY_FILTER_MAX - bl, "-kmodsign/revoked%03d*\t"
				      "access denied: the rule at pol:%d refuses the key '\t'\n",
				      i, i + 1);
	snprintf(big + bl, BS_KEY_FILTER_MAX - bl, "-kmodsign/b*\tno: '\t'\n+kmodsign/a*\n");
	assert_true(strlen(big) > 4096);
	assert_int_equal(bs_keyring_lease_filtered(&l, kr, "m", big, &err), 0);
	free(big);
	assert_int_equal(bs_lease_key(&k, l, "kmodsign/a.pem", NULL, &err), 0);
	bs_key_free(k);
	k = NULL;
	assert_int_equal(bs_lease_key(&k, l, "kmodsign/b.pem", NULL, &err), BS_ERR_DENIED);
	assert_string_equal(err.msg, "no: 'kmodsign/b.pem'");
	bs_keyring_release(l);
	/* without a filter (the CLI's leases) both keys come */
	assert_int_equal(bs_keyring_lease(&l, kr, "m", &err), 0);
	assert_int_equal(bs_lease_key(&k, l, "kmodsign/b.pem", NULL, &err), 0);
	bs_key_free(k);
	bs_keyring_release(l);
	bs_keyring_free(kr);
	bs_tmpdir_free(root);
}

static void test_keyproc__round_trip(void **state)
{
	(void)state;
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, BS_KP_EXISTS, 9);
	bs_kp_put_u64(&e, 0x100000002ull);
	bs_kp_put_str(&e, "kmodsign/kernel-signkey.priv");
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	struct bs_kp_msg m;
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len, NULL), 0);
	assert_int_equal(m.type, BS_KP_EXISTS);
	assert_int_equal(m.seq, 9);
	uint64_t v = 0;
	char name[BS_PATH_MAX];
	assert_int_equal(bs_kp_get_u64(&v, &m, 0, NULL), 0);
	assert_true(v == 0x100000002ull);
	assert_int_equal(bs_kp_get_str(name, sizeof(name), &m, 1, NULL), 0);
	assert_string_equal(name, "kmodsign/kernel-signkey.priv");
	/* wrong shapes */
	assert_int_equal(bs_kp_get_u64(&v, &m, 1, NULL), BS_ERR_FORMAT);
	assert_int_equal(bs_kp_get_str(name, 4, &m, 1, NULL), BS_ERR_FORMAT);
	assert_int_equal(bs_kp_get_str(name, sizeof(name), &m, 2, NULL), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
}

static void test_keyproc__refuses_off_table(void **state)
{
	(void)state;
	struct bs_kp_enc e;
	struct bs_kp_msg m;
	struct bs_error err = {0};
	/* SERVICE_KEY takes exactly one field */
	encode(&e, BS_KP_SERVICE_KEY, "imx8mp", 5);
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len, &err), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
	/* a setting name over BS_NAME_MAX */
	char big[BS_NAME_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	encode(&e, BS_KP_SERVICE_KEY, big, 0);
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len, &err), BS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "too long"));
	/* truncated, trailing byte, unknown type */
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len - 1, NULL), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
	encode(&e, BS_KP_SERVICE_KEY, "imx8mp", 0);
	uint8_t buf[64];
	memcpy(buf, e.buf, e.len);
	buf[e.len] = 0;
	assert_int_equal(bs_kp_decode(&m, buf, e.len + 1, NULL), BS_ERR_FORMAT);
	buf[1] = 55;
	assert_int_equal(bs_kp_decode(&m, buf, e.len, NULL), BS_ERR_FORMAT);
	assert_int_equal(bs_kp_decode(&m, buf, 3, NULL), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
	/* a digest longer than any hash */
	uint8_t dg[BS_KEYPROC_DIGEST_MAX + 1] = {0};
	bs_kp_enc_start(&e, BS_KP_SIGN, 1);
	for (int i = 0; i < 5; i++)
		bs_kp_put_u64(&e, 1);
	bs_kp_put(&e, dg, sizeof(dg));
	assert_int_equal(bs_kp_enc_end(&e, NULL), 0);
	assert_int_equal(bs_kp_decode(&m, e.buf, e.len, NULL), BS_ERR_FORMAT);
	bs_kp_enc_free(&e);
}

static void test_keyproc__encoder_limits(void **state)
{
	(void)state;
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, BS_KP_OK, 1);
	for (int i = 0; i < BS_KEYPROC_FIELDS_MAX + 1; i++)
		bs_kp_put_u64(&e, 1);
	assert_int_equal(bs_kp_enc_end(&e, NULL), BS_ERR_LIMIT);
	bs_kp_enc_free(&e);
}

static void test_keyproc__secret_members(void **state)
{
	(void)state;
	static const uint8_t cert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
	static const uint8_t pem[] = "junk\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n";
	static const uint8_t enc[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n";
	assert_false(bs_keyproc_secret_member("crts/SRK1_crt.pem", cert, sizeof(cert) - 1));
	assert_true(bs_keyproc_secret_member("crts/innocent.pem", pem, sizeof(pem) - 1));
	assert_true(bs_keyproc_secret_member("x", enc, sizeof(enc) - 1));
	assert_true(bs_keyproc_secret_member("keys/key_pass.txt", cert, 4));
	/* a DER private key under any name */
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	unsigned char *der = NULL;
	int n = i2d_PrivateKey(k, &der);
	assert_true(n > 0);
	assert_true(bs_keyproc_secret_member("crts/table.bin", der, (size_t)n));
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyproc__round_trip),
		cmocka_unit_test(test_keyproc__replies_in_any_order),
		cmocka_unit_test(test_keyproc__died_fails_every_waiter),
		cmocka_unit_test(test_keyproc__late_answers_are_closed),
		cmocka_unit_test(test_keyproc__token_certs_not_kept_by_bundle_serial),
		cmocka_unit_test(test_keyproc__service_key_renewed_once),
		cmocka_unit_test(test_keyproc__closes_never_block),
		cmocka_unit_test(test_keyproc__der_cache),
		cmocka_unit_test(test_keyproc__pubcache),
		cmocka_unit_test(test_keyproc__key_filter_in_the_key_process),
		cmocka_unit_test(test_keyproc__refuses_off_table),
		cmocka_unit_test(test_keyproc__encoder_limits),
		cmocka_unit_test(test_keyproc__secret_members),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
