/* A server-side artifact named by a file:// URI, confined to a root, replaced atomically
 * (see artifact_file.h). */
#include "sign/artifact_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/text.h"
#include "core/util.h"

#define FILE_SCHEME "file://"
#define TMP_RANDOM_BYTES 8
#define TMP_NAME_MAX 64
#define SHOWN_MAX 160 /* bytes of a URI quoted in a message */

struct bs_artifact_file {
	int dirfd;              /* the directory holding the file */
	int fd;                 /* the original, read-only */
	int tmpfd;              /* the new contents; -1 until the first write */
	struct stat st;         /* of the original */
	char name[BS_PATH_MAX]; /* last component */
	char rel[BS_PATH_MAX];  /* path below the root */
	char tmp[TMP_NAME_MAX];
	bool committed;
};

/* Split an absolute path into components (in place), dropping "" and ".". */
static int split(char **comp, size_t *n, char *path, const char *field, struct bs_error *err)
{
	*n = 0;
	for (char *save = NULL, *c = strtok_r(path, "/", &save); c != NULL;
	     c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0)
			return bs_error_set(err, BS_ERR_PATH,
					    "%s: \"..\" is refused (it could leave %s)", field,
					    BS_ARTIFACT_ROOT_SETTING);
		if (*n == BS_ARTIFACT_DEPTH_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "%s: more than %d path components",
					    field, BS_ARTIFACT_DEPTH_MAX);
		comp[(*n)++] = c;
	}
	return 0;
}

/* The path of a file:// URI, percent-decoded, into out (BS_PATH_MAX bytes). */
static int uri_path(char *out, const char *uri, const char *field, struct bs_error *err)
{
	char shown[SHOWN_MAX];
	bs_text_sanitize(shown, sizeof(shown), uri);
	const char *colon = strstr(uri, "://");
	if (strncmp(uri, FILE_SCHEME, strlen(FILE_SCHEME)) != 0)
		return bs_error_set(err, colon != NULL ? BS_ERR_UNSUPPORTED : BS_ERR_INVALID,
				    "%s: \"%s\": only file:// URIs inside %s are served", field,
				    shown, BS_ARTIFACT_ROOT_SETTING);
	const char *p = uri + strlen(FILE_SCHEME);
	if (strncmp(p, "localhost/", 10) == 0)
		p += 9;
	if (*p != '/')
		return bs_error_set(err, BS_ERR_INVALID,
				    "%s: \"%s\": not a local absolute path (file:///path)", field,
				    shown);
	size_t n = 0;
	for (; *p != '\0'; p++) {
		int c = (unsigned char)*p;
		if (c == '%') {
			int hi = bs_hex_digit(p[1]), lo = hi >= 0 ? bs_hex_digit(p[2]) : -1;
			if (lo < 0)
				return bs_error_set(err, BS_ERR_INVALID,
						    "%s: \"%s\": bad %%-escape", field, shown);
			c = hi << 4 | lo;
			p += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return bs_error_set(err, BS_ERR_INVALID,
					    "%s: \"%s\": control character in the path", field, shown);
		if (n + 1 >= BS_PATH_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "%s: path too long", field);
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/* comp[0..*n) must start with the components of root; they are removed. */
static bool strip_root(char **comp, size_t *n, const char *root)
{
	char copy[BS_PATH_MAX];
	char *rc[BS_ARTIFACT_DEPTH_MAX];
	size_t rn = 0;
	snprintf(copy, sizeof(copy), "%s", root);
	if (split(rc, &rn, copy, "root", NULL) != 0 || rn >= *n)
		return false;
	for (size_t i = 0; i < rn; i++)
		if (strcmp(rc[i], comp[i]) != 0)
			return false;
	memmove(comp, comp + rn, (*n - rn) * sizeof(*comp));
	*n -= rn;
	return true;
}

/* Open comp[0..n) below dirfd (consumed) without following any symlink. */
static int walk(struct bs_artifact_file *af, int dirfd, char **comp, size_t n,
		const char *field, struct bs_error *err)
{
	size_t used = 0;
	af->rel[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		bool last = i + 1 == n;
		used += (size_t)snprintf(af->rel + used, sizeof(af->rel) - used, "%s%s",
					 i ? "/" : "", comp[i]);
		struct stat ls;
		/* never open a FIFO or device (opening one can block a server thread for good,
		 * or act on hardware): look first, and open without blocking anyway (races) */
		if (last && fstatat(dirfd, comp[i], &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISREG(ls.st_mode) && !S_ISLNK(ls.st_mode)) {
			close(dirfd);
			return bs_error_set(err, BS_ERR_PATH, "%s: \"%s\" is not a regular file",
					    field, af->rel);
		}
		int fd = openat(dirfd, comp[i],
				O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
					(last ? O_NONBLOCK : O_DIRECTORY));
		if (fd < 0 && fstatat(dirfd, comp[i], &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(ls.st_mode)) {
			close(dirfd);
			return bs_error_set(err, BS_ERR_PATH,
					    "%s: \"%s\" is a symlink; links are not followed "
					    "(they could leave %s)", field, af->rel,
					    BS_ARTIFACT_ROOT_SETTING);
		}
		if (fd < 0) {
			int e = errno;
			close(dirfd);
			return bs_error_set(err, e == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_PATH,
					    "%s: \"%s\" below %s: %s", field, af->rel,
					    BS_ARTIFACT_ROOT_SETTING, strerror(e));
		}
		if (last) {
			af->dirfd = dirfd;
			af->fd = fd;
			snprintf(af->name, sizeof(af->name), "%s", comp[i]);
			break;
		}
		close(dirfd);
		dirfd = fd;
	}
	if (fstat(af->fd, &af->st) != 0 || !S_ISREG(af->st.st_mode))
		return bs_error_set(err, BS_ERR_PATH, "%s: \"%s\" is not a regular file", field,
				    af->rel);
	return 0;
}

int bs_artifact_file_open(struct bs_artifact_file **out, const char *root, const char *uri,
			  const char *field, struct bs_error *err)
{
	*out = NULL;
	if (root == NULL || root[0] != '/')
		return bs_error_set(err, BS_ERR_POLICY,
				    "%s: refused: the server has no %s configured (the directory "
				    "file:// artifact URIs may name files in)", field,
				    BS_ARTIFACT_ROOT_SETTING);
	char *path = malloc(BS_PATH_MAX);
	struct bs_artifact_file *af = calloc(1, sizeof(*af));
	char *comp[BS_ARTIFACT_DEPTH_MAX];
	size_t n = 0;
	if (af != NULL)
		af->dirfd = af->fd = af->tmpfd = -1;
	int rc = path != NULL && af != NULL ? 0 : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = uri_path(path, uri, field, err);
	if (rc == 0)
		rc = split(comp, &n, path, field, err);
	char *real = rc == 0 ? realpath(root, NULL) : NULL;
	if (rc == 0 && real == NULL)
		rc = bs_error_set(err, BS_ERR_CONFIG, "%s %s: %s", BS_ARTIFACT_ROOT_SETTING, root,
				  strerror(errno));
	if (rc == 0 && !strip_root(comp, &n, root) && !strip_root(comp, &n, real)) {
		char shown[SHOWN_MAX];
		rc = bs_error_set(err, BS_ERR_PATH, "%s: \"%s\" is outside %s (%s)", field,
				  bs_text_sanitize(shown, sizeof(shown), uri),
				  BS_ARTIFACT_ROOT_SETTING, root);
	}
	int dirfd = rc == 0 ? open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (rc == 0 && dirfd < 0)
		rc = bs_error_set(err, BS_ERR_CONFIG, "%s %s: %s", BS_ARTIFACT_ROOT_SETTING, root,
				  strerror(errno));
	if (rc == 0)
		rc = walk(af, dirfd, comp, n, field, err);
	free(real);
	free(path);
	if (rc != 0) {
		bs_artifact_file_free(af);
		return rc;
	}
	*out = af;
	return 0;
}

int bs_artifact_file_fd(const struct bs_artifact_file *af)
{
	return af->fd;
}

const char *bs_artifact_file_name(const struct bs_artifact_file *af)
{
	return af->rel;
}

static int make_tmp(struct bs_artifact_file *af, struct bs_error *err)
{
	uint8_t rnd[TMP_RANDOM_BYTES];
	char hex[2 * TMP_RANDOM_BYTES + 1];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "RAND_bytes");
	snprintf(af->tmp, sizeof(af->tmp), ".bootsign-%s.tmp", bs_hex(hex, rnd, sizeof(rnd)));
	af->tmpfd = openat(af->dirfd, af->tmp,
			   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (af->tmpfd < 0)
		return bs_error_set(err, BS_ERR_IO, "creating a file beside %s: %s", af->rel,
				    strerror(errno));
	return 0;
}

int bs_artifact_file_write(struct bs_artifact_file *af, const void *buf, size_t n,
			   struct bs_error *err)
{
	int rc = af->tmpfd < 0 ? make_tmp(af, err) : 0;
	for (const uint8_t *p = buf; rc == 0 && n > 0;) {
		ssize_t w = write(af->tmpfd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return bs_error_set(err, BS_ERR_IO, "writing the new %s: %s", af->rel,
					    w < 0 ? strerror(errno) : "no progress");
		p += w;
		n -= (size_t)w;
	}
	return rc;
}

int bs_artifact_file_commit(struct bs_artifact_file *af, struct bs_error *err)
{
	struct stat now;
	if (af->tmpfd < 0)
		return bs_error_set(err, BS_ERR_INTERNAL, "nothing written for %s", af->rel);
	if (fchmod(af->tmpfd, af->st.st_mode & 07777) != 0 || fsync(af->tmpfd) != 0)
		return bs_error_set(err, BS_ERR_IO, "syncing the new %s: %s", af->rel,
				    strerror(errno));
	if (fstatat(af->dirfd, af->name, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
	    now.st_ino != af->st.st_ino || now.st_dev != af->st.st_dev)
		return bs_error_set(err, BS_ERR_BUSY, "%s was replaced while it was being signed "
				    "(another request signing it?); try again", af->rel);
	if (renameat(af->dirfd, af->tmp, af->dirfd, af->name) != 0)
		return bs_error_set(err, BS_ERR_IO, "replacing %s: %s", af->rel, strerror(errno));
	af->committed = true;
	if (fsync(af->dirfd) != 0)
		return bs_error_set(err, BS_ERR_IO, "syncing the directory of %s: %s", af->rel,
				    strerror(errno));
	return 0;
}

void bs_artifact_file_free(struct bs_artifact_file *af)
{
	if (af == NULL)
		return;
	if (af->tmpfd >= 0) {
		close(af->tmpfd);
		if (!af->committed)
			(void)unlinkat(af->dirfd, af->tmp, 0);
	}
	if (af->fd >= 0)
		close(af->fd);
	if (af->dirfd >= 0)
		close(af->dirfd);
	free(af);
}
