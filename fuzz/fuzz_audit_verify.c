/* Fuzz target: the audit log verifier (a log is input an attacker may have edited). It
 * must return 0 or BS_ERR_VERIFY with a message, never crash; an intact log that it
 * accepts counts no more records than lines. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > (1u << 20))
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (f == NULL)
		return 0;
	struct bs_audit_summary s;
	struct bs_error err = {0};
	int rc = bs_audit_verify(&s, f, "fuzz", NULL, &err);
	fclose(f);
	size_t lines = 0;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (rc == 0 && s.records + s.seals > lines)
		abort();
	if (rc != 0 && (rc != BS_ERR_VERIFY || err.msg[0] == '\0'))
		abort();
	char v[64];
	(void)bs_audit_field(v, sizeof(v), (const char *)data, "seq");
	return 0;
}
