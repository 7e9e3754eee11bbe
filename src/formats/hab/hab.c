#include "formats/hab/hab.h"

#include <openssl/obj_mac.h>

int bs_hab_alg_to_nid(uint8_t alg)
{
	switch (alg) {
	case HAB_ALG_SHA1: return NID_sha1;
	case HAB_ALG_SHA256: return NID_sha256;
	case HAB_ALG_SHA384: return NID_sha384;
	case HAB_ALG_SHA512: return NID_sha512;
	default: return 0;
	}
}

uint8_t bs_hab_nid_to_alg(int nid)
{
	switch (nid) {
	case NID_sha1: return HAB_ALG_SHA1;
	case NID_sha256: return HAB_ALG_SHA256;
	case NID_sha384: return HAB_ALG_SHA384;
	case NID_sha512: return HAB_ALG_SHA512;
	default: return 0;
	}
}

const char *bs_hab_alg_name(uint8_t alg)
{
	switch (alg) {
	case HAB_ALG_ANY: return "any";
	case HAB_ALG_SHA1: return "sha1";
	case HAB_ALG_SHA256: return "sha256";
	case HAB_ALG_SHA384: return "sha384";
	case HAB_ALG_SHA512: return "sha512";
	case HAB_ALG_PKCS1: return "pkcs1";
	case HAB_ALG_RSA_PSS: return "rsa-pss";
	case HAB_ALG_ECDSA: return "ecdsa";
	default: return "unknown";
	}
}

const char *bs_hab_engine_name(uint8_t eng)
{
	switch (eng) {
	case HAB_ENG_ANY: return "ANY";
	case HAB_ENG_SCC: return "SCC";
	case HAB_ENG_RTIC: return "RTIC";
	case HAB_ENG_SAHARA: return "SAHARA";
	case HAB_ENG_CSU: return "CSU";
	case HAB_ENG_SRTC: return "SRTC";
	case HAB_ENG_DCP: return "DCP";
	case HAB_ENG_CAAM: return "CAAM";
	case HAB_ENG_SNVS: return "SNVS";
	case HAB_ENG_OCOTP: return "OCOTP";
	case HAB_ENG_DTCP: return "DTCP";
	case HAB_ENG_HDCP: return "HDCP";
	case HAB_ENG_ROM: return "ROM";
	case HAB_ENG_RTL: return "RTL";
	case HAB_ENG_SW: return "SW";
	default: return "unknown";
	}
}
