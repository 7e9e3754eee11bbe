/* Server key bundle membership rules (see bundle.h). */
#include "formats/hab/bundle.h"

#include <string.h>
#include <strings.h>

bool bs_hab_name_is_root_key(const char *base)
{
	if (base == NULL)
		return false;
	return strncasecmp(base, "SRK", 3) == 0 || strncasecmp(base, "CA", 2) == 0;
}

/* The base name if some folder component of `name` is `dir`, else NULL. */
static const char *base_under(const char *name, const char *dir)
{
	const char *base = strrchr(name, '/');
	if (base == NULL || base[1] == '\0')
		return NULL;
	size_t dl = strlen(dir);
	for (const char *p = name; p < base; p++) {
		bool starts = p == name || p[-1] == '/';
		if (starts && strncmp(p, dir, dl) == 0 && p[dl] == '/')
			return base + 1;
	}
	return NULL;
}

bool bs_hab_bundle_member_is_root_key(const char *member_name)
{
	if (member_name == NULL)
		return false;
	const char *base = base_under(member_name, "keys");
	return base != NULL && bs_hab_name_is_root_key(base);
}

bool bs_hab_bundle_member_wanted(const char *member_name, bool token)
{
	if (member_name == NULL)
		return false;
	if (base_under(member_name, "crts") != NULL)
		return true;
	const char *base = base_under(member_name, "keys");
	if (base == NULL)
		return false;
	return !token && !bs_hab_name_is_root_key(base);
}
