/* Planted violation for tests/deps (never linked): zz_ping.c and zz_pong.c call each other. */
int bs_zz_ping(int n);
int bs_zz_pong(int n);

int bs_zz_ping(int n)
{
	return n > 0 ? bs_zz_pong(n - 1) : 0;
}
