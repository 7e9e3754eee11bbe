/* A tar archive (gzip'd or plain) from an untrusted client, read member by member.
 *
 * The archive is pulled through a read callback (a signer adapts bs_input_read), decoded
 * by libarchive, and never extracted: each member is handed to the caller with its name,
 * type, mode, mtime, size and the libarchive entry (so an archive writer can re-emit it
 * unchanged), and its data is read in chunks. Nothing is written anywhere.
 *
 * Refused with BS_ERR_INVALID naming the member: absolute names, ".." components, empty
 * names or names with control characters, symlinks, hard links, devices, fifos, sockets,
 * sparse members, a name seen twice (after dropping "./" and trailing '/': "./a" and "a"
 * are one name), and members outside the tree: a member below a name that is a file
 * ("x.ko/y") or a file that is the root itself. An archive with no member is
 * BS_ERR_INVALID too. Data that is not a tar (or not gzip'd tar) is BS_ERR_FORMAT.
 *
 * Bounded (BS_ERR_LIMIT, an HTTP 413): member count, name length, total unpacked size
 * (the tar stream after gunzip, headers included; declared member sizes are checked up
 * front) and compression ratio (unpacked / compressed bytes, checked once more than
 * ratio_floor bytes came out), so a gzip bomb stops early instead of filling memory or
 * disk. Memory use is fixed: one read buffer plus 24 bytes per member name seen. */
#ifndef BS_FORMATS_TAR_READ_H
#define BS_FORMATS_TAR_READ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"

struct archive_entry;
struct bs_tar;

/* The bounds, named once. */
#define BS_TAR_MEMBERS_MAX 65536u                 /* members (files + directories) */
#define BS_TAR_NAME_MAX 1024u                     /* bytes of one member name */
#define BS_TAR_UNPACKED_MAX (4ull << 30)          /* bytes of the unpacked tar stream */
#define BS_TAR_RATIO_MAX 100u                     /* unpacked bytes per compressed byte */
#define BS_TAR_RATIO_FLOOR (16ull << 20)          /* unpacked bytes before the ratio counts */
#define BS_TAR_CHUNK 65536u                       /* bytes pulled per read callback */

/* Limits for one archive; a field left 0 takes the BS_TAR_* default above. */
struct bs_tar_limits {
	uint64_t members;
	size_t name;
	uint64_t unpacked;
	uint64_t ratio;
	uint64_t ratio_floor;
};

/* Pull up to `cap` bytes of the archive into buf; *got = 0 at the end. 0 or a negative
 * BS_ERR_* (which bs_tar_next / bs_tar_read then return as is, message included). */
typedef int (*bs_tar_read_fn)(void *ctx, void *buf, size_t cap, size_t *got,
			      struct bs_error *err);

enum bs_tar_type { BS_TAR_FILE, BS_TAR_DIR };

/* One member, borrowed until the next bs_tar_next or bs_tar_free. */
struct bs_tar_member {
	const char *name;            /* exactly as stored in the archive ("./lib/x.ko") */
	const char *path;            /* normalised: no "./", no "//", no trailing '/';
					"" for the root directory entry "./" */
	enum bs_tar_type type;
	unsigned mode;               /* permission bits (07777) */
	time_t mtime;
	uint64_t size;               /* data bytes (0 for a directory) */
	struct archive_entry *entry; /* libarchive's entry, to re-emit the member unchanged */
};

/* Start reading. `limits` may be NULL (defaults). The callback and ctx must outlive the
 * reader. Nothing is read until the first bs_tar_next. */
int bs_tar_open(struct bs_tar **out, bs_tar_read_fn read, void *ctx,
		const struct bs_tar_limits *limits, struct bs_error *err) BS_WUR;

/* The next member (*out), or *out = NULL at the end of the archive. Unread data of the
 * previous member is skipped (and counted against the bounds). After an error the reader
 * only returns that error again. */
int bs_tar_next(const struct bs_tar_member **out, struct bs_tar *t,
		struct bs_error *err) BS_WUR;

/* Up to n bytes of the current member's data; *got = 0 at the end of the member. */
int bs_tar_read(struct bs_tar *t, void *buf, size_t n, size_t *got,
		struct bs_error *err) BS_WUR;

/* The rest of the current member's data in a malloc'd buffer (caller frees), at most max
 * bytes (BS_ERR_LIMIT naming the member otherwise, checked against the header first). */
int bs_tar_slurp(uint8_t **out, size_t *out_len, struct bs_tar *t, size_t max,
		 struct bs_error *err) BS_WUR;

/* Members returned so far. */
uint64_t bs_tar_count(const struct bs_tar *t);

/* NULL is a no-op. */
void bs_tar_free(struct bs_tar *t);

#endif
