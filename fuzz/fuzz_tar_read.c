/* Fuzz target: the hostile-input tar reader (src/formats/tar/tar_read.c). The input is
 * fed in small uneven chunks through the read callback; every accepted member must have
 * a confined, normalised name and exactly its declared number of data bytes. Limits are
 * small so the bounds are reached. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/tar/tar_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *d;
	size_t n, off;
};

static int src_read(void *ctx, void *buf, size_t cap, size_t *got, struct bs_error *err)
{
	struct src *s = ctx;
	size_t k = s->n - s->off;
	size_t step = 1 + (s->off * 31 + 7) % 4093;
	if (k > step)
		k = step;
	if (k > cap)
		k = cap;
	memcpy(buf, s->d + s->off, k);
	s->off += k;
	*got = k;
	return 0;
}

/* Does the normalised path have an empty, "." or ".." component? */
static int bad_path(const char *p)
{
	if (p[0] == '\0')
		return 0; /* the root directory entry */
	for (;;) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
		if (s == NULL)
			return 0;
		p = s + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = {.d = data, .n = size};
	const struct bs_tar_limits lim = {.members = 64, .name = 256, .unpacked = 8u << 20,
					  .ratio = 50, .ratio_floor = 1u << 20};
	struct bs_tar *t = NULL;
	if (bs_tar_open(&t, src_read, &s, &lim, NULL) != 0)
		abort();
	for (unsigned i = 0;; i++) {
		const struct bs_tar_member *m = NULL;
		if (bs_tar_next(&m, t, NULL) != 0 || m == NULL)
			break;
		if (m->name[0] == '/' || bad_path(m->path) || strlen(m->name) > 256 ||
		    (m->type == BS_TAR_FILE && m->path[0] == '\0') ||
		    (m->type != BS_TAR_FILE && m->type != BS_TAR_DIR) || m->entry == NULL)
			abort();
		if (m->type == BS_TAR_DIR)
			continue;
		if (i % 2 == 0) {
			uint8_t *d = NULL;
			size_t len = 0;
			if (bs_tar_slurp(&d, &len, t, 1u << 20, NULL) == 0) {
				if (len != m->size)
					abort();
				free(d);
			}
		} else if (i % 4 == 1) {
			uint8_t buf[513];
			size_t got = 0, total = 0;
			int rc;
			while ((rc = bs_tar_read(t, buf, sizeof(buf), &got, NULL)) == 0 && got > 0)
				total += got;
			if (rc == 0 && total != m->size)
				abort();
		} /* else: left unread, skipped by the next bs_tar_next */
	}
	bs_tar_free(t);
	return 0;
}
