/* PE/COFF parser for untrusted images (pe.h). Only the headers are read into memory (at
 * most BS_PE_HEADERS_MAX bytes); every offset is checked in 64-bit arithmetic before it is
 * used, and every error names the field. */
#include "formats/pe/pe.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#define DOS_HDR_SIZE 64u
#define DOS_LFANEW 0x3Cu
#define COFF_HDR_SIZE 20u      /* after the 4-byte "PE\0\0" */
#define OPT_MAGIC_PE32 0x10Bu
#define OPT_MAGIC_PE32P 0x20Bu
#define OPT_SIZE_OF_HEADERS 60u
#define OPT_CHECKSUM 64u
#define OPT_NDIRS_PE32 92u     /* NumberOfRvaAndSizes */
#define OPT_NDIRS_PE32P 108u
#define DATA_DIR_SIZE 8u
#define DIR_CERT_TABLE 4u      /* IMAGE_DIRECTORY_ENTRY_SECURITY */
#define SECTION_HDR_SIZE 40u
#define SEC_SIZE_OF_RAW 16u
#define SEC_PTR_TO_RAW 20u

static int fmt(struct bs_error *err, const char *what, uint64_t v, const char *why)
{
	return bs_error_set(err, BS_ERR_FORMAT, "PE: %s 0x%llx %s", what,
			    (unsigned long long)v, why);
}

/* The headers in memory: DOS header, PE signature, COFF header, optional header. */
static int parse_headers(struct bs_pe_image *img, const uint8_t *h, size_t hlen,
			 uint32_t *sec_off, uint16_t *nsec, struct bs_error *err)
{
	if (hlen < DOS_HDR_SIZE)
		return fmt(err, "file size", img->file_size, "is too small for a DOS header");
	if (h[0] != 'M' || h[1] != 'Z')
		return bs_error_set(err, BS_ERR_FORMAT,
				    "PE: not a PE image: DOS header e_magic is not \"MZ\"");
	uint64_t pe = bs_get_le32(h + DOS_LFANEW);
	if (pe < DOS_HDR_SIZE || pe % 4 != 0)
		return fmt(err, "e_lfanew", pe, "is inside the DOS header or unaligned");
	if (pe + 4 + COFF_HDR_SIZE > img->file_size)
		return fmt(err, "e_lfanew", pe, "is past the end of the file");
	if (pe + 4 + COFF_HDR_SIZE + 2 > hlen)
		return fmt(err, "e_lfanew", pe, "is past the headers we read");
	if (memcmp(h + pe, "PE\0\0", 4) != 0)
		return fmt(err, "PE signature at", pe, "is not \"PE\\0\\0\"");
	const uint8_t *coff = h + pe + 4;
	img->machine = bs_get_le16(coff);
	*nsec = bs_get_le16(coff + 2);
	uint64_t optsize = bs_get_le16(coff + 16);
	uint64_t opt = pe + 4 + COFF_HDR_SIZE;
	if (opt + optsize > hlen)
		return fmt(err, "SizeOfOptionalHeader", optsize, "runs past the file");
	if (optsize < 2)
		return fmt(err, "SizeOfOptionalHeader", optsize,
			   "is too small for an optional header");
	uint16_t magic = bs_get_le16(h + opt);
	uint64_t ndirs_off;
	if (magic == OPT_MAGIC_PE32)
		ndirs_off = OPT_NDIRS_PE32;
	else if (magic == OPT_MAGIC_PE32P)
		ndirs_off = OPT_NDIRS_PE32P;
	else
		return fmt(err, "optional header Magic", magic, "is neither PE32 nor PE32+");
	img->pe32plus = magic == OPT_MAGIC_PE32P;
	if (optsize < ndirs_off + 4)
		return fmt(err, "SizeOfOptionalHeader", optsize,
			   "does not reach NumberOfRvaAndSizes");
	uint64_t ndirs = bs_get_le32(h + opt + ndirs_off);
	if (ndirs <= DIR_CERT_TABLE)
		return fmt(err, "NumberOfRvaAndSizes", ndirs,
			   "has no certificate table directory (needs at least 5)");
	if (ndirs > BS_PE_DATA_DIRS_MAX)
		return fmt(err, "NumberOfRvaAndSizes", ndirs, "is more than 16");
	uint64_t dirs = ndirs_off + 4;
	if (dirs + ndirs * DATA_DIR_SIZE > optsize)
		return fmt(err, "SizeOfOptionalHeader", optsize,
			   "is too small for its data directories");
	img->size_of_headers = bs_get_le32(h + opt + OPT_SIZE_OF_HEADERS);
	img->checksum_off = (uint32_t)(opt + OPT_CHECKSUM);
	img->checksum = bs_get_le32(h + img->checksum_off);
	img->certdir_off = (uint32_t)(opt + dirs + DIR_CERT_TABLE * DATA_DIR_SIZE);
	img->cert_off = bs_get_le32(h + img->certdir_off);
	img->cert_size = bs_get_le32(h + img->certdir_off + 4);
	*sec_off = (uint32_t)(opt + optsize);
	return 0;
}

static int cmp_section(const void *a, const void *b)
{
	const struct bs_pe_section *x = a, *y = b;
	return x->raw_off < y->raw_off ? -1 : x->raw_off > y->raw_off ? 1 : 0;
}

/* Section table -> sections with raw data, sorted, inside [SizeOfHeaders, limit). */
static int parse_sections(struct bs_pe_image *img, uint32_t sec_off, uint16_t nsec,
			  uint64_t limit, struct bs_error *err)
{
	if (nsec > BS_PE_SECTIONS_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "PE: NumberOfSections %u is more than %u",
				    nsec, BS_PE_SECTIONS_MAX);
	if ((uint64_t)sec_off + (uint64_t)nsec * SECTION_HDR_SIZE > img->size_of_headers)
		return fmt(err, "section table end",
			   (uint64_t)sec_off + (uint64_t)nsec * SECTION_HDR_SIZE,
			   "is past SizeOfHeaders");
	img->sections = calloc(nsec ? nsec : 1, sizeof(*img->sections));
	if (img->sections == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "PE: out of memory");
	for (uint16_t i = 0; i < nsec; i++) {
		const uint8_t *s = img->headers + sec_off + (size_t)i * SECTION_HDR_SIZE;
		struct bs_pe_section *d = &img->sections[img->nsections];
		for (size_t k = 0; k < 8; k++) {
			unsigned char c = s[k];
			d->name[k] = (char)(c >= 0x20 && c < 0x7F ? c : c == 0 ? 0 : '?');
		}
		d->name[8] = 0;
		d->raw_size = bs_get_le32(s + SEC_SIZE_OF_RAW);
		d->raw_off = bs_get_le32(s + SEC_PTR_TO_RAW);
		if (d->raw_size == 0)
			continue;
		uint64_t end = (uint64_t)d->raw_off + d->raw_size;
		if (d->raw_off < img->size_of_headers)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "PE: section %u \"%s\" PointerToRawData 0x%x is inside "
					    "the headers", i, d->name, d->raw_off);
		if (end > limit)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "PE: section %u \"%s\" raw data 0x%x+0x%x runs past the "
					    "end of the image data (0x%llx)", i, d->name, d->raw_off,
					    d->raw_size, (unsigned long long)limit);
		img->nsections++;
	}
	qsort(img->sections, img->nsections, sizeof(*img->sections), cmp_section);
	uint64_t end = img->size_of_headers;
	for (size_t i = 0; i < img->nsections; i++) {
		const struct bs_pe_section *s = &img->sections[i];
		if (s->raw_off < end)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "PE: section \"%s\" raw data at 0x%x overlaps the "
					    "section before it", s->name, s->raw_off);
		end = (uint64_t)s->raw_off + s->raw_size;
	}
	img->sections_end = (uint32_t)end;
	return 0;
}

/* An existing certificate table: after the sections, ending the file, entries well formed. */
static int parse_cert_table(struct bs_pe_image *img, const struct bs_pe_reader *r,
			    struct bs_error *err)
{
	uint64_t off = img->cert_off, end = off + img->cert_size;
	if (end != img->file_size)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "PE: certificate table 0x%llx+0x%x does not end the file "
				    "(size 0x%llx)", (unsigned long long)off, img->cert_size,
				    (unsigned long long)img->file_size);
	if (off < img->sections_end)
		return fmt(err, "certificate table offset", off,
			   "is inside the headers or sections");
	if (off % BS_PE_CERT_ALIGN != 0)
		return fmt(err, "certificate table offset", off, "is not 8-byte aligned");
	while (off < end) {
		uint8_t h[BS_PE_WIN_CERT_HDR];
		if (img->ncerts == BS_PE_CERTS_MAX)
			return bs_error_set(err, BS_ERR_LIMIT,
					    "PE: more than %u WIN_CERTIFICATE entries",
					    BS_PE_CERTS_MAX);
		if (end - off < sizeof(h))
			return fmt(err, "WIN_CERTIFICATE at", off, "is truncated");
		int rc = r->pread(r->ctx, h, sizeof(h), off, err);
		if (rc != 0)
			return rc;
		uint64_t len = bs_get_le32(h);
		if (len < sizeof(h) || len > end - off)
			return fmt(err, "WIN_CERTIFICATE dwLength", len,
				   "does not fit the certificate table");
		if (bs_get_le16(h + 4) != BS_PE_WIN_CERT_REVISION)
			return fmt(err, "WIN_CERTIFICATE wRevision", bs_get_le16(h + 4),
				   "is not 0x0200");
		img->ncerts++;
		off += (len + BS_PE_CERT_ALIGN - 1) / BS_PE_CERT_ALIGN * BS_PE_CERT_ALIGN;
	}
	return 0;
}

int bs_pe_parse(struct bs_pe_image **out, const struct bs_pe_reader *r, struct bs_error *err)
{
	*out = NULL;
	if (r->size >= BS_PE_IMAGE_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "PE: image of %llu bytes is over 4 GiB",
				    (unsigned long long)r->size);
	struct bs_pe_image *img = calloc(1, sizeof(*img));
	if (img == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "PE: out of memory");
	img->file_size = r->size;
	size_t hlen = r->size < BS_PE_HEADERS_MAX ? (size_t)r->size : BS_PE_HEADERS_MAX;
	uint32_t sec_off = 0;
	uint16_t nsec = 0;
	int rc = BS_ERR_NOMEM;
	img->headers = malloc(hlen ? hlen : 1);
	if (img->headers == NULL) {
		bs_error_set(err, rc, "PE: out of memory");
		goto fail;
	}
	rc = r->pread(r->ctx, img->headers, hlen, 0, err);
	if (rc == 0)
		rc = parse_headers(img, img->headers, hlen, &sec_off, &nsec, err);
	if (rc != 0)
		goto fail;
	if (img->size_of_headers > hlen) {
		rc = img->size_of_headers > BS_PE_HEADERS_MAX && img->file_size > BS_PE_HEADERS_MAX
			     ? bs_error_set(err, BS_ERR_LIMIT,
					    "PE: SizeOfHeaders 0x%x is more than 0x%x",
					    img->size_of_headers, BS_PE_HEADERS_MAX)
			     : fmt(err, "SizeOfHeaders", img->size_of_headers,
				   "is past the end of the file");
		goto fail;
	}
	if (img->size_of_headers < (uint64_t)img->certdir_off + DATA_DIR_SIZE) {
		rc = fmt(err, "SizeOfHeaders", img->size_of_headers,
			 "ends before the optional header");
		goto fail;
	}
	uint64_t limit = img->cert_size ? img->cert_off : img->file_size;
	if (img->cert_size != 0 && img->cert_off < img->size_of_headers) {
		rc = fmt(err, "certificate table offset", limit, "is inside the headers");
		goto fail;
	}
	if (limit > img->file_size) {
		rc = fmt(err, "certificate table offset", limit, "is past the end of the file");
		goto fail;
	}
	rc = parse_sections(img, sec_off, nsec, limit, err);
	if (rc == 0 && img->cert_size != 0)
		rc = parse_cert_table(img, r, err);
	if (rc != 0)
		goto fail;
	*out = img;
	return 0;
fail:
	bs_pe_free(img);
	return rc;
}

void bs_pe_free(struct bs_pe_image *img)
{
	if (img == NULL)
		return;
	free(img->sections);
	free(img->headers);
	free(img);
}
