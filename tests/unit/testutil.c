#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/util.h"

const char *bs_fixture(const char *rel)
{
	static char slots[8][4096];
	static int next;
	const char *root = getenv("BS_FIXTURES");
	if (root == NULL)
		root = "tests/fixtures";
	char *p = slots[next++ % 8];
	snprintf(p, 4096, "%s/%s", root, rel);
	return p;
}

uint8_t *bs_fixture_read(const char *rel, size_t *len)
{
	uint8_t *data = NULL;
	struct bs_error err = {0};
	if (bs_read_file(&data, len, bs_fixture(rel), 256u << 20, &err) != 0) {
		fprintf(stderr, "fixture %s: %s\n", rel, err.msg);
		abort();
	}
	return data;
}

char *bs_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/bs-test-XXXXXX", base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	if (d == NULL)
		abort();
	return strdup(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

void bs_tmpdir_remove(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int bs_run(const char *const *argv, const char *out_path)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out_path != NULL) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0)
				_exit(127);
			dup2(fd, 1);
			close(fd);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
