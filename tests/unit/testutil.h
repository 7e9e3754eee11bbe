/* Shared helpers for unit tests. */
#ifndef BS_TESTUTIL_H
#define BS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Path of a fixture under tests/fixtures (env BS_FIXTURES). Returns a static buffer
 * (one per call slot: up to 8 live results). */
const char *bs_fixture(const char *rel);
/* Read a whole fixture; aborts the test on failure. Caller frees. */
uint8_t *bs_fixture_read(const char *rel, size_t *len);
/* Create a fresh private temp directory (removed by bs_tmpdir_remove). Caller frees. */
char *bs_tmpdir(void);
void bs_tmpdir_remove(const char *dir);
/* Run a command (argv array, NULL-terminated) and return its exit status, -1 on error.
 * stdout goes to `out_path` if not NULL. */
int bs_run(const char *const *argv, const char *out_path);

#endif
