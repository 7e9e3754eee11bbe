/* The signed image (pe.h): the input's signed data, its padding, the certificate table
 * with one more WIN_CERTIFICATE, the directory entry and the checksum patched. Streams:
 * only the headers and one chunk are in memory; the checksum is summed while writing
 * (with the CheckSum field zero) and patched at the end. */
#include "formats/pe/pe.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#define COPY_CHUNK (64u * 1024u)

struct out {
	const struct bs_pe_writer *w;
	struct bs_pe_csum csum;
};

static int emit(struct out *o, const void *data, size_t n, struct bs_error *err)
{
	if (n == 0)
		return 0;
	bs_pe_csum_update(&o->csum, data, n);
	return o->w->write(o->w->ctx, data, n, err);
}

static int emit_zeros(struct out *o, size_t n, struct bs_error *err)
{
	static const uint8_t zeros[BS_PE_CERT_ALIGN];
	return emit(o, zeros, n, err);
}

static int copy_range(struct out *o, const struct bs_pe_reader *r, uint64_t off,
		      uint64_t len, struct bs_error *err)
{
	uint8_t *chunk = malloc(COPY_CHUNK);
	if (chunk == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "PE: out of memory");
	int rc = 0;
	while (rc == 0 && len > 0) {
		size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		rc = r->pread(r->ctx, chunk, n, off, err);
		if (rc == 0)
			rc = emit(o, chunk, n, err);
		off += n;
		len -= n;
	}
	free(chunk);
	return rc;
}

static size_t align8(size_t n)
{
	return (n + BS_PE_CERT_ALIGN - 1) / BS_PE_CERT_ALIGN * BS_PE_CERT_ALIGN;
}

int bs_pe_write_signed(const struct bs_pe_writer *w, const struct bs_pe_image *img,
		       const struct bs_pe_reader *r, const uint8_t *pkcs7, size_t len,
		       struct bs_error *err)
{
	uint64_t data_end = img->cert_size ? img->cert_off : img->file_size;
	uint64_t table_off = data_end + bs_pe_pad_len(img);
	uint64_t old_table = align8(img->cert_size);
	uint64_t entry = (uint64_t)BS_PE_WIN_CERT_HDR + len;
	uint64_t table = old_table + align8(entry);
	if (len > UINT32_MAX || table_off + table >= BS_PE_IMAGE_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "PE: signed image would be over 4 GiB");
	uint8_t *hdr = malloc(img->size_of_headers);
	if (hdr == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "PE: out of memory");
	memcpy(hdr, img->headers, img->size_of_headers);
	bs_buf_put_le32(hdr + img->checksum_off, 0);
	bs_buf_put_le32(hdr + img->certdir_off, (uint32_t)table_off);
	bs_buf_put_le32(hdr + img->certdir_off + 4, (uint32_t)table);

	struct out o = {.w = w};
	bs_pe_csum_init(&o.csum);
	uint8_t wc[BS_PE_WIN_CERT_HDR];
	bs_buf_put_le32(wc, (uint32_t)entry);
	bs_buf_put_le16(wc + 4, BS_PE_WIN_CERT_REVISION);
	bs_buf_put_le16(wc + 6, BS_PE_WIN_CERT_TYPE_PKCS);
	int rc = emit(&o, hdr, img->size_of_headers, err);
	if (rc == 0)
		rc = copy_range(&o, r, img->size_of_headers, data_end - img->size_of_headers,
				err);
	if (rc == 0)
		rc = emit_zeros(&o, bs_pe_pad_len(img), err);
	if (rc == 0)
		rc = copy_range(&o, r, img->cert_off, img->cert_size, err);
	if (rc == 0)
		rc = emit_zeros(&o, old_table - img->cert_size, err);
	if (rc == 0)
		rc = emit(&o, wc, sizeof(wc), err);
	if (rc == 0)
		rc = emit(&o, pkcs7, len, err);
	if (rc == 0)
		rc = emit_zeros(&o, align8(entry) - entry, err);
	if (rc == 0) {
		uint8_t cs[4];
		bs_buf_put_le32(cs, bs_pe_csum_final(&o.csum));
		rc = w->pwrite(w->ctx, cs, sizeof(cs), img->checksum_off, err);
	}
	free(hdr);
	return rc;
}
