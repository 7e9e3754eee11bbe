/* Helpers shared by `bootsign srk` (HAB4, cmd_srk.c) and its AHAB mode (cmd_srk_ahab.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd_srk.h"
#include "core/limits.h"
#include "core/util.h"
#include "crypto/x509.h"
#include "formats/hab/srk.h"


int bs_srk_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bootsign srk: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

int bs_srk_check_outputs(int *format, const char *format_arg, const char *table,
			 const char *efuses)
{
	if (format_arg != NULL) {
		if (strcmp(format_arg, "0") != 0 && strcmp(format_arg, "1") != 0)
			return bs_srk_fail(2, "unsupported fuse format '%s' for -f (0 or 1)",
					   format_arg);
		*format = format_arg[0] - '0';
	}
	if (strcmp(table, efuses) == 0)
		return bs_srk_fail(2, "-t and -e name the same file %s", table);
	return 0;
}

X509 *bs_srk_load_cert(const char *path, int *code)
{
	uint8_t *data = NULL;
	size_t len = 0;
	struct bs_error err = {0};
	*code = 1;
	if (bs_read_file(&data, &len, path, BS_CERT_FILE_MAX, &err) != 0) {
		*code = bs_srk_fail(2, "cannot read certificate %s", err.msg);
		return NULL;
	}
	X509 *x = NULL;
	bool pem = memmem(data, len, "-----BEGIN", 10) != NULL;
	if (bs_x509_from_bytes(&x, data, len, pem, path, NULL) != 0)
		bs_srk_fail(1, "%s: not a PEM or DER X.509 certificate", path);
	free(data);
	return x;
}

int bs_srk_write_outputs(const char *table_path, const uint8_t *table, size_t table_len,
			 const char *fuse_path, const uint8_t *fuse_file, size_t fuse_file_len)
{
	struct bs_error err = {0};
	if (bs_write_file(table_path, table, table_len, 0644, false, &err) != 0)
		return bs_srk_fail(1, "%s", err.msg);
	if (bs_write_file(fuse_path, fuse_file, fuse_file_len, 0644, false, &err) != 0) {
		unlink(table_path);
		return bs_srk_fail(1, "%s (removed %s)", err.msg, table_path);
	}
	return 0;
}

void bs_srk_print_words(const uint8_t *fuse, size_t fuse_len)
{
	for (size_t i = 0; i < fuse_len / 4; i++)
		printf("SRKH[%zu] = 0x%08X\n", i, bs_srk_fuse_word(fuse, i));
}

int bs_srk_read_fuse(uint8_t *fuse, size_t *fuse_len, int *format, const char *path,
		     const size_t *digest_lens, size_t n, struct bs_error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = bs_read_file(&data, &len, path, BS_FUSE_FILE_MAX, err);
	if (rc != 0)
		return rc;
	*format = -1;
	for (size_t i = 0; i < n && *format < 0; i++) {
		if (len == digest_lens[i]) {
			memcpy(fuse, data, len);
			*fuse_len = len;
			*format = 1;
		} else if (len == 4 * digest_lens[i]) {
			*format = 0;
			for (size_t j = 0; j < len / 4; j++) {
				if (data[4 * j] != 0 || data[4 * j + 1] != 0 || data[4 * j + 2] != 0)
					*format = -2;
				fuse[j] = data[4 * j + 3];
			}
			*fuse_len = len / 4;
		}
	}
	free(data);
	if (*format >= 0)
		return 0;
	char sizes[64];
	size_t o = 0;
	for (size_t i = 0; i < n && o < sizeof(sizes); i++)
		o += (size_t)snprintf(sizes + o, sizeof(sizes) - o, "%s%zu", i ? " or " : "",
				      digest_lens[i]);
	return bs_error_set(err, BS_ERR_FORMAT, "%s: not an SRK fuse file (%zu bytes; expected "
			    "%s raw bytes, or four times that in format 0)", path, len, sizes);
}
