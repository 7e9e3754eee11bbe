#include "cli/protect.h"

#include <stdio.h>

#include "core/log.h"
#include "core/secmem.h"

int bs_cli_protect_secrets(const char *cmd)
{
	struct bs_error err = {0};
	if (bs_secmem_protect_process(&err) != 0) {
		fprintf(stderr, "bootsign %s: %s\n", cmd, err.msg);
		return 1;
	}
	if (!bs_secmem_locked())
		bs_log(BS_LOG_WARN, NULL, "secure memory: the secure heap is not locked in memory "
		       "(RLIMIT_MEMLOCK?): secrets may reach swap; core dumps are off");
	return 0;
}
