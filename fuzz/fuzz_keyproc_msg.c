/* Fuzz target: the key process's message decoder (keys/keyproc_msg.h). Whatever it
 * accepts has fields inside the input that re-encode to the same bytes; the accessors
 * and the private-key member check never read outside them; pool records parse only
 * within bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "keys/keyproc.h"
#include "keys/keyproc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_kp_msg m;
	if (bs_kp_decode(&m, data, size, NULL) != 0)
		return 0;
	struct bs_kp_enc e;
	bs_kp_enc_start(&e, m.type, m.seq);
	for (size_t i = 0; i < m.nf; i++) {
		if (m.f[i].p < data || m.f[i].p + m.f[i].len > data + size)
			abort();
		bs_kp_put(&e, m.f[i].p, m.f[i].len);
		uint64_t v = 0;
		char name[BS_PATH_MAX];
		if (bs_kp_get_u64(&v, &m, i, NULL) != 0 && m.f[i].len == 8)
			abort();
		if (bs_kp_get_str(name, sizeof(name), &m, i, NULL) == 0)
			(void)bs_keyproc_secret_member(name, m.f[i].p, m.f[i].len);
		/* POOL_STATS reply records: parsed only as whole records, label NUL-bounded */
		for (size_t r = 0; m.f[i].len % BS_KP_POOL_RECORD == 0 &&
				   r < m.f[i].len / BS_KP_POOL_RECORD; r++) {
			struct bs_pool_stats ps;
			if (bs_kp_pool_parse(&ps, m.f[i].p + r * BS_KP_POOL_RECORD) &&
			    (strnlen(ps.token, sizeof(ps.token)) == sizeof(ps.token) ||
			     ps.in_use > ps.sessions))
				abort();
		}
	}
	if (bs_kp_enc_end(&e, NULL) != 0 || e.len != size || memcmp(e.buf, data, size) != 0)
		abort();
	bs_kp_enc_free(&e);
	return 0;
}
