/* Dropping root in the process that parses requests (see core/privdrop.h). */
#include "core/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PRIVDROP_PWBUF (64u << 10) /* getpwnam_r's buffer */
#define PRIVDROP_CAP_LAST 63      /* capability numbers are below 64 (two 32-bit words) */

struct caps {
	struct __user_cap_data_struct d[2];
};

static int caps_get(struct caps *out)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	memset(out, 0, sizeof(*out));
	return (int)syscall(SYS_capget, &h, out->d);
}

static int caps_set(const struct caps *c)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	return (int)syscall(SYS_capset, &h, c->d);
}

int bs_privdrop_prepare(struct bs_privdrop *out, const char *user, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	bool root = geteuid() == 0;
	if (user == NULL) {
		out->root_without_user = root;
		return 0;
	}
	size_t n = strlen(user);
	if (n == 0 || n > BS_PRIVDROP_NAME_MAX)
		return bs_error_set(err, BS_ERR_CONFIG, "user = %.64s: not a user name", user);
	memcpy(out->name, user, n + 1);
	out->set = true;
	char *buf = malloc(PRIVDROP_PWBUF);
	if (buf == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	struct passwd pw, *found = NULL;
	int rc = getpwnam_r(user, &pw, buf, PRIVDROP_PWBUF, &found);
	if (rc != 0 || found == NULL) {
		free(buf);
		return bs_error_set(err, BS_ERR_CONFIG, "user = %s: no such user%s%s", user,
				    rc != 0 ? ": " : "", rc != 0 ? strerror(rc) : "");
	}
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	int ng = BS_PRIVDROP_GROUPS_MAX;
	rc = getgrouplist(user, pw.pw_gid, out->groups, &ng);
	free(buf);
	if (rc < 0)
		return bs_error_set(err, BS_ERR_CONFIG, "user = %s: in more than %u groups", user,
				    BS_PRIVDROP_GROUPS_MAX);
	out->ngroups = (size_t)ng;
	if (out->uid == geteuid()) {
		out->root_without_user = root; /* user = root */
		return 0;
	}
	if (!root)
		return bs_error_set(err, BS_ERR_CONFIG, "user = %s: bootsign serve runs as uid %lu, "
				    "not root, so it cannot become %s (start it as root, or as %s, "
				    "or remove the user setting)", user, (unsigned long)geteuid(),
				    user, user);
	out->active = true;
	return 0;
}

int bs_privdrop_limit(const struct bs_privdrop *pd, struct bs_error *err)
{
	if (!pd->set)
		return 0;
	if (pd->active) {
		for (int cap = 0; cap <= PRIVDROP_CAP_LAST; cap++) {
			if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
				break; /* beyond the kernel's last capability */
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
				return bs_error_set(err, BS_ERR_IO, "user = %s: dropping capability "
						    "%d from the bounding set: %s", pd->name,
						    cap, strerror(errno));
		}
		(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		struct caps c;
		if (caps_get(&c) != 0)
			return bs_error_set(err, BS_ERR_IO, "user = %s: capget: %s", pd->name,
					    strerror(errno));
		c.d[0].inheritable = c.d[1].inheritable = 0;
		if (caps_set(&c) != 0)
			return bs_error_set(err, BS_ERR_IO, "user = %s: capset: %s", pd->name,
					    strerror(errno));
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return bs_error_set(err, BS_ERR_IO, "user = %s: PR_SET_NO_NEW_PRIVS: %s",
				    pd->name, strerror(errno));
	return 0;
}

int bs_privdrop_give(const struct bs_privdrop *pd, const char *path, struct bs_error *err)
{
	if (pd->active && chown(path, pd->uid, pd->gid) != 0)
		return bs_error_set(err, BS_ERR_IO, "user = %s: cannot give %s to it: %s",
				    pd->name, path, strerror(errno));
	return 0;
}

int bs_privdrop_switch(const struct bs_privdrop *pd, struct bs_error *err)
{
	if (!pd->active)
		return 0;
	/* groups first: once the uid is not 0 they can no longer be changed */
	if (setgroups(pd->ngroups, pd->groups) != 0)
		return bs_error_set(err, BS_ERR_IO, "user = %s: setgroups: %s", pd->name,
				    strerror(errno));
	if (setresgid(pd->gid, pd->gid, pd->gid) != 0)
		return bs_error_set(err, BS_ERR_IO, "user = %s: setresgid(%lu): %s", pd->name,
				    (unsigned long)pd->gid, strerror(errno));
	if (setresuid(pd->uid, pd->uid, pd->uid) != 0)
		return bs_error_set(err, BS_ERR_IO, "user = %s: setresuid(%lu): %s", pd->name,
				    (unsigned long)pd->uid, strerror(errno));
	struct caps none;
	memset(&none, 0, sizeof(none));
	if (caps_set(&none) != 0)
		return bs_error_set(err, BS_ERR_IO, "user = %s: capset: %s", pd->name,
				    strerror(errno));
	/* openssh's check: the switch must not be undoable */
	struct caps now;
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != pd->uid || geteuid() != pd->uid ||
	    getgid() != pd->gid || caps_get(&now) != 0 || now.d[0].effective != 0 ||
	    now.d[1].effective != 0 || now.d[0].permitted != 0 || now.d[1].permitted != 0)
		return bs_error_set(err, BS_ERR_IO, "user = %s: the switch did not drop root",
				    pd->name);
	return 0;
}
