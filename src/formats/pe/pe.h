/* PE/COFF images for UEFI Secure Boot: a parser for hostile input, the Authenticode image
 * digest, the PE checksum and the signed image (Authenticode PKCS#7 in the certificate
 * table).
 *
 * References (facts only): Microsoft "PE Format" (DOS header e_lfanew at 0x3C, "PE\0\0",
 * 20-byte COFF header, optional header PE32 0x10B / PE32+ 0x20B with CheckSum at +64,
 * SizeOfHeaders at +60, data directories at +96 / +112, 40-byte section headers) and
 * "Windows Authenticode Portable Executable Signature Format" (the digest covers the
 * headers without the CheckSum field and the certificate-table data directory entry, then
 * every section's raw data in file order, then the data after the last section up to the
 * certificate table; WIN_CERTIFICATE entries are 8-byte aligned, revision 0x0200, type
 * PKCS_SIGNED_DATA). UEFI firmware (EDK2) and sbsigntool compute the digest this way.
 *
 * Images are read through a reader (pread at an offset), so a large spooled upload is
 * never held in memory: only the headers are. */
#ifndef BS_FORMATS_PE_H
#define BS_FORMATS_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "core/error.h"
#include "crypto/key.h"

#define BS_PE_HEADERS_MAX (256u * 1024u)   /* SizeOfHeaders we accept (read into memory) */
#define BS_PE_SECTIONS_MAX 1024u           /* NumberOfSections */
#define BS_PE_DATA_DIRS_MAX 16u            /* NumberOfRvaAndSizes the format defines */
#define BS_PE_CERTS_MAX 64u                /* WIN_CERTIFICATE entries in an existing table */
#define BS_PE_IMAGE_MAX (UINT64_C(1) << 32) /* file offsets in a PE are 32-bit */
#define BS_PE_CERT_ALIGN 8u
#define BS_PE_WIN_CERT_REVISION 0x0200u
#define BS_PE_WIN_CERT_TYPE_PKCS 0x0002u
#define BS_PE_WIN_CERT_HDR 8u              /* dwLength, wRevision, wCertificateType */

/* Where the image bytes come from: exactly n bytes at off (BS_ERR_FORMAT or BS_ERR_IO
 * otherwise). */
struct bs_pe_reader {
	int (*pread)(void *ctx, void *buf, size_t n, uint64_t off, struct bs_error *err);
	void *ctx;
	uint64_t size;
};

/* Where the signed image goes: append bytes; overwrite bytes already written. */
struct bs_pe_writer {
	int (*write)(void *ctx, const void *data, size_t n, struct bs_error *err);
	int (*pwrite)(void *ctx, const void *data, size_t n, uint64_t off,
		      struct bs_error *err);
	void *ctx;
};

struct bs_pe_section {
	char name[9];       /* NUL-terminated, may be empty */
	uint32_t raw_off;   /* PointerToRawData */
	uint32_t raw_size;  /* SizeOfRawData (> 0: sections without file data are dropped) */
};

struct bs_pe_image {
	uint64_t file_size;
	bool pe32plus;            /* optional header magic 0x20B */
	uint16_t machine;         /* COFF Machine */
	uint32_t size_of_headers; /* SizeOfHeaders; the headers are in `headers` */
	uint32_t checksum_off;    /* file offset of CheckSum */
	uint32_t checksum;        /* its current value */
	uint32_t certdir_off;     /* file offset of the certificate-table directory entry */
	uint32_t cert_off;        /* existing certificate table (cert_size 0: none) */
	uint32_t cert_size;
	size_t ncerts;            /* WIN_CERTIFICATE entries in it */
	uint32_t sections_end;    /* end of the last section's raw data (>= SizeOfHeaders) */
	size_t nsections;         /* sections with raw data, sorted by raw_off */
	struct bs_pe_section *sections;
	uint8_t *headers;         /* the first size_of_headers bytes */
};

/* Parse and check an image: every offset and size is bounds-checked against the file
 * and the headers; the section table lies inside SizeOfHeaders; sections with data lie
 * after the headers, inside the file, and do not overlap; an existing certificate table
 * lies after the sections and ends the file, and its entries are well formed.
 * BS_ERR_FORMAT naming the field ("PE: e_lfanew 0x... is past the end of the file"),
 * BS_ERR_LIMIT for sizes over the maxima above. */
int bs_pe_parse(struct bs_pe_image **out, const struct bs_pe_reader *r,
		struct bs_error *err) BS_WUR;
void bs_pe_free(struct bs_pe_image *img);

/* Bytes of zero padding a signer appends before the certificate table (the unsigned image
 * is padded to 8 bytes; an image that already has a table keeps its layout). */
uint32_t bs_pe_pad_len(const struct bs_pe_image *img);

/* The Authenticode digest (md_nid: NID_sha256, ...) of the image as it will be signed,
 * i.e. including bs_pe_pad_len zero bytes at the end of the signed data. out must hold
 * EVP_MAX_MD_SIZE bytes. */
int bs_pe_digest(uint8_t *out, size_t *out_len, const struct bs_pe_image *img,
		 const struct bs_pe_reader *r, int md_nid, struct bs_error *err) BS_WUR;

/* Incremental PE checksum (the 16-bit one's-complement-style sum of the image loader,
 * CheckSumMappedFile): feed every byte of the file in order with the CheckSum field
 * zeroed, then bs_pe_csum_final adds the file length. */
struct bs_pe_csum {
	uint32_t sum;
	uint64_t len;
	int pending; /* a byte waiting for its high half, or -1 */
};
void bs_pe_csum_init(struct bs_pe_csum *c);
void bs_pe_csum_update(struct bs_pe_csum *c, const uint8_t *p, size_t n);
uint32_t bs_pe_csum_final(const struct bs_pe_csum *c);

/* The Authenticode SignedData (DER ContentInfo) for an image digest: eContent
 * SpcIndirectDataContent (SpcPeImageData + DigestInfo), signed attributes contentType
 * (SPC_INDIRECT_DATA), signingTime, SpcSpOpusInfo and messageDigest over the
 * SpcIndirectDataContent value, the signer certificate included; signed through the key
 * interface. signing_time 0 = now. */
int bs_pe_authenticode(uint8_t **out, size_t *out_len, struct bs_key *key, X509 *cert,
		       int md_nid, const uint8_t *digest, size_t dlen, time_t signing_time,
		       struct bs_error *err) BS_WUR;

/* Write the signed image: the input up to the end of its signed data, the padding, the
 * certificate table (existing entries kept, as sbsign does, and a new WIN_CERTIFICATE
 * holding `pkcs7`), with the certificate-table directory entry and the checksum updated. */
int bs_pe_write_signed(const struct bs_pe_writer *w, const struct bs_pe_image *img,
		       const struct bs_pe_reader *r, const uint8_t *pkcs7, size_t len,
		       struct bs_error *err) BS_WUR;

#endif
