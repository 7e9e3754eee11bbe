/* Planted violation for tests/deps (never linked): crypto includes and calls a key store
 * (crypto -> keys). */
#include "keys/store.h"

int bs_zz_planted(void);

int bs_zz_planted(void)
{
	struct bs_store *s = NULL;
	int rc = bs_store_open_dir(&s, "/", true, NULL);
	return rc;
}
