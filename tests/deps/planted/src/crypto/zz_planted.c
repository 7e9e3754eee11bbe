/* Planted violation for tests/deps (never linked): crypto uses a key store (crypto -> keys). */
struct bs_store;
int bs_store_open_dir(struct bs_store **out, const char *root, _Bool confined, void *err);
int bs_zz_planted(void);

int bs_zz_planted(void)
{
	struct bs_store *s = 0;
	return bs_store_open_dir(&s, "/", 1, 0);
}
