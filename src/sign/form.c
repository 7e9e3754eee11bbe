/* Helpers shared by every signer: form access, name checks. */
#include <stdlib.h>
#include <string.h>

#include "sign/signer.h"

const struct bs_form_field *bs_form_get(const struct bs_form *form, const char *name)
{
	for (size_t i = 0; i < form->n; i++)
		if (strcmp(form->f[i].spec->name, name) == 0)
			return &form->f[i];
	return NULL;
}

const char *bs_form_value(const struct bs_form *form, const char *name)
{
	const struct bs_form_field *f = bs_form_get(form, name);
	return f == NULL ? NULL : f->value;
}

int bs_sign_check_name(const char *field, const char *value, struct bs_error *err)
{
	size_t n = strlen(value);
	if (n == 0 || n > BS_NAME_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "%s: must be 1 to %d characters", field,
				    BS_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = value[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return bs_error_set(err, BS_ERR_INVALID,
					    "%s: invalid character at position %zu (allowed: "
					    "A-Z a-z 0-9 . _ -)", field, i + 1);
	}
	if (strstr(value, "..") != NULL || strcmp(value, ".") == 0)
		return bs_error_set(err, BS_ERR_INVALID, "%s: '.' and '..' are not allowed", field);
	return 0;
}
