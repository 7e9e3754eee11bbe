/* Key isolation (key_isolation = yes): the process that parses requests never holds a
 * private key or the token PIN.
 *
 * bs_keyproc_start forks a supervisor before the server listens. The supervisor forks the
 * key process, which opens the real keyring (key store, bundles, token, PIN) and answers
 * the fixed message table of keys/keyproc_msg.h on a SOCK_SEQPACKET socketpair with
 * BS_KEYPROC_WORKERS threads (requests from many server threads at once, matched to
 * their replies by sequence number). Both are non-dumpable, RLIMIT_CORE 0, PR_SET_NO_NEW_PRIVS, hold no
 * network socket and die with the server. When the key process dies, the supervisor
 * tells the server (BS_KP_DIED: the request waiting gets BS_ERR_BUSY, a 503) and starts a
 * new one; leases and key handles of the dead one answer BS_ERR_BUSY too.
 *
 * The server side is a keyring in remote mode (bs_keyring_new_remote, keys/keyring.h):
 * its keys are struct bs_key stubs whose sign op sends BS_KP_SIGN; bundle members that
 * are private keys (by name or content) are never sent. */
#ifndef BS_KEYS_KEYPROC_H
#define BS_KEYS_KEYPROC_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"
#include "keys/keyring.h"

/* Fork the supervisor and key process serving a keyring opened with o; *out_fd is the
 * server's end of the socket. Call before any thread is started. */
int bs_keyproc_start(int *out_fd, const struct bs_keyring_opts *o, struct bs_error *err) BS_WUR;

/* Bundle members never sent to the parsing side: key_pass.txt, anything that decodes as
 * (or contains the PEM armour of) a private key. */
bool bs_keyproc_secret_member(const char *name, const uint8_t *data, size_t len);

#endif
