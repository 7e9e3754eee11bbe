/* Planted violation for tests/deps (never linked): zz_a.c -> zz_b.c -> zz_c.c -> zz_a.c. */
int bs_zz_a(int n);
int bs_zz_b(int n);

int bs_zz_a(int n)
{
	return n > 0 ? bs_zz_b(n - 1) : 0;
}
