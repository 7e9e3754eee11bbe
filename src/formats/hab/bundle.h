/* What a signing server's key bundle (imx-cst-keys.tar.gz) may hold. A server signs with
 * CSF and IMG keys only; the SRK and CA private keys are the root of trust and stay with
 * the PKI folder (docs/pki.md). Pure functions over member names, for the PKI ceremony,
 * `bootsign pki bundle`, the compiler's refuse_root_keys rule and the server's bundle
 * check. */
#ifndef BS_HAB_BUNDLE_H
#define BS_HAB_BUNDLE_H

#include <stdbool.h>

/* A file base name CST gives a root-of-trust key or certificate: starts with "SRK" or
 * "CA" (case-insensitive), e.g. "SRK1_sha256_2048_65537_v3_ca_key.pem". */
bool bs_hab_name_is_root_key(const char *base);

/* A bundle member that is an SRK or CA private key file: a file under a "keys/" folder
 * (at any depth, "./" tolerated) whose base name bs_hab_name_is_root_key accepts.
 * "keys/SRK1_..._key.pem" -> true; "crts/SRK1_..._crt.pem", "keys/CSF1_1_..." -> false. */
bool bs_hab_bundle_member_is_root_key(const char *member_name);

/* A member a server bundle carries: crts/ (certificates, SRK table and fuse) and keys/
 * files that are not root keys (CSF/IMG keys and key_pass.txt). In token mode
 * (`token` true) no keys/ file at all. Directories are the caller's concern. */
bool bs_hab_bundle_member_wanted(const char *member_name, bool token);

#endif
