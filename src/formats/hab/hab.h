/* HAB4 constants shared by the CSF parser, compiler, SRK tooling and verifier.
 * Values from the HAB4 format reference (docs/HAB4 notes); all structures big-endian. */
#ifndef BS_HAB_HAB_H
#define BS_HAB_HAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h" /* HAB_CSF_CMDS_MAX, HAB_SRK_RECORDS_MAX */

/* Structure tags */
#define HAB_TAG_IVT 0xD1
#define HAB_TAG_DCD 0xD2
#define HAB_TAG_CSF 0xD4
#define HAB_TAG_CRT 0xD7
#define HAB_TAG_SIG 0xD8
#define HAB_TAG_EVT 0xDB
#define HAB_TAG_MAC 0xAC
#define HAB_TAG_KEY_RSA 0xE1 /* SRK table record holding a public key (RSA or EC) */
#define HAB_TAG_KEY_HASH 0xEE /* SRK table hash-only record */

/* Command tags */
#define HAB_CMD_SET 0xB1
#define HAB_CMD_INS_KEY 0xBE
#define HAB_CMD_AUT_DAT 0xCA
#define HAB_CMD_WRT_DAT 0xCC
#define HAB_CMD_CHK_DAT 0xCF
#define HAB_CMD_NOP 0xC0
#define HAB_CMD_INIT 0xB4
#define HAB_CMD_UNLK 0xB2

/* Protocols */
#define HAB_PCL_SRK 0x03
#define HAB_PCL_X509 0x09
#define HAB_PCL_CMS 0xC5
#define HAB_PCL_BLOB 0xBB
#define HAB_PCL_AEAD 0xA3

/* Hash algorithms */
#define HAB_ALG_ANY 0x00
#define HAB_ALG_SHA1 0x11
#define HAB_ALG_SHA256 0x17
#define HAB_ALG_SHA384 0x18
#define HAB_ALG_SHA512 0x1B
/* Signature algorithms (SRK records) */
#define HAB_ALG_PKCS1 0x21
#define HAB_ALG_RSA_PSS 0x22
#define HAB_ALG_ECDSA 0x27

/* Engines */
#define HAB_ENG_ANY 0x00
#define HAB_ENG_SCC 0x03
#define HAB_ENG_RTIC 0x05
#define HAB_ENG_SAHARA 0x06
#define HAB_ENG_CSU 0x0A
#define HAB_ENG_SRTC 0x0C
#define HAB_ENG_DCP 0x1B
#define HAB_ENG_CAAM 0x1D
#define HAB_ENG_SNVS 0x1E
#define HAB_ENG_OCOTP 0x21
#define HAB_ENG_DTCP 0x22
#define HAB_ENG_HDCP 0x24
#define HAB_ENG_ROM 0x36
#define HAB_ENG_RTL 0x77
#define HAB_ENG_SW 0xFF

/* Install Key flags */
#define HAB_CMD_INS_KEY_ABS 0x01
#define HAB_CMD_INS_KEY_CSF 0x02
#define HAB_CMD_INS_KEY_HSH 0x80

/* Unlock/Init features */
#define HAB_CAAM_MID 0x01
#define HAB_CAAM_RNG 0x02
#define HAB_CAAM_MFG 0x04
#define HAB_SNVS_LP_SWR 0x01
#define HAB_SNVS_ZMK_WRITE 0x02
#define HAB_OCOTP_FIELD_RETURN 0x01
#define HAB_OCOTP_SRK_REVOKE 0x02
#define HAB_OCOTP_SCS 0x04
#define HAB_OCOTP_JTAG 0x08

/* Key slots */
#define HAB_SLOT_SRK 0
#define HAB_SLOT_CSFK 1
#define HAB_SLOT_SRK_NXP 5
#define HAB_SLOT_CSFK_NXP 6
#define HAB_KEY_SLOTS 8

/* Map a HAB hash alg code to an OpenSSL NID (0 if unknown) and back. */
int bs_hab_alg_to_nid(uint8_t alg);
uint8_t bs_hab_nid_to_alg(int nid);
/* Human names for dumps ("sha256", "CAAM", ...); never NULL. */
const char *bs_hab_alg_name(uint8_t alg);
const char *bs_hab_engine_name(uint8_t eng);

#endif
