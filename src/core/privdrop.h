/* Dropping root in the process that parses requests (`user = NAME`, bootsign serve).
 *
 * bs_privdrop_prepare resolves the setting at start-up (user, primary group and
 * supplementary groups looked up once). When the process runs as root and `user` names
 * another user, the drop is "active":
 *  - bs_privdrop_limit, called before the process starts any thread, empties the
 *    capability bounding and inheritable sets, clears the ambient set and sets
 *    PR_SET_NO_NEW_PRIVS; all of these are per thread, so threads started later
 *    inherit them. Effective capabilities stay (binding a port, reading root's files);
 *  - bs_privdrop_switch, called once the port is bound and the files are open, sets the
 *    groups, gid and uid (glibc applies them to every thread, and the kernel then clears
 *    every thread's permitted and effective capabilities), clears the capability sets
 *    of this thread, and checks that uid 0 cannot be regained.
 * Not root: `user` naming another user is BS_ERR_CONFIG; naming itself only sets
 * PR_SET_NO_NEW_PRIVS. Without `user` nothing changes (`root_without_user` tells the
 * caller to warn). Messages name the setting ("user = NAME: ..."). */
#ifndef BS_CORE_PRIVDROP_H
#define BS_CORE_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

#define BS_PRIVDROP_GROUPS_MAX 64 /* supplementary groups of `user` */
#define BS_PRIVDROP_NAME_MAX 64

struct bs_privdrop {
	bool set;               /* `user` given */
	bool active;            /* root, and `user` is not root: switch */
	bool root_without_user; /* root, and no `user` (or `user = root`) */
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[BS_PRIVDROP_GROUPS_MAX];
	char name[BS_PRIVDROP_NAME_MAX + 1];
};

/* user: the setting, NULL = not set. BS_ERR_CONFIG: no such user, more than
 * BS_PRIVDROP_GROUPS_MAX groups, or not root and another user. */
int bs_privdrop_prepare(struct bs_privdrop *out, const char *user, struct bs_error *err) BS_WUR;
/* Before any thread (see above). No-op unless set. BS_ERR_IO if prctl/capset fail. */
int bs_privdrop_limit(const struct bs_privdrop *pd, struct bs_error *err) BS_WUR;
/* Give a directory this process made (its spool) to the user. No-op unless active. */
int bs_privdrop_give(const struct bs_privdrop *pd, const char *path, struct bs_error *err) BS_WUR;
/* Become the user (see above). No-op unless active. BS_ERR_IO when a call fails or
 * root could be regained. */
int bs_privdrop_switch(const struct bs_privdrop *pd, struct bs_error *err) BS_WUR;

#endif
