/* The tokens a server may use (issue 14: the server owns its tokens). A client's
 * pkcs11: URI only selects among them; it never makes the server open, log in to or keep
 * a pool for another token. */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "keys/pkcs11_int.h"

#define SLOTS_MAX 64

int p11_allowed_parse(struct bs_p11 *p, const char *list, struct bs_error *err)
{
	p->nallowed = 0;
	if (list == NULL)
		return 0;
	const char *s = list;
	while (*s != '\0') {
		while (*s == ' ' || *s == ',')
			s++;
		if (*s == '\0')
			break;
		size_t n = strcspn(s, ",");
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (p->nallowed >= BS_P11_TOKENS_MAX)
			return bs_error_set(err, BS_ERR_CONFIG, "pkcs11_tokens: more than %d tokens",
					    BS_P11_TOKENS_MAX);
		struct p11_allowed *a = &p->allowed[p->nallowed];
		memset(a, 0, sizeof(*a));
		bool serial = n > 7 && strncmp(s, "serial=", 7) == 0;
		const char *v = serial ? s + 7 : s;
		size_t vl = serial ? n - 7 : n;
		char *dst = serial ? a->serial : a->label;
		size_t cap = serial ? sizeof(a->serial) : sizeof(a->label);
		if (vl == 0 || vl >= cap)
			return bs_error_set(err, BS_ERR_CONFIG, "pkcs11_tokens: '%.*s' is not a "
					    "token label (1 to 32 bytes) or serial=<1 to 16 bytes>",
					    (int)(n > 64 ? 64 : n), s);
		memcpy(dst, v, vl);
		dst[vl] = '\0';
		p->nallowed++;
		s += strcspn(s, ",");
	}
	if (p->nallowed == 0)
		return bs_error_set(err, BS_ERR_CONFIG, "pkcs11_tokens: empty list");
	return 0;
}

bool p11_allowed_match(const struct bs_p11 *p, const CK_TOKEN_INFO *ti)
{
	char label[33], serial[17];
	p11_blank_to_str(label, sizeof(label), ti->label, sizeof(ti->label));
	p11_blank_to_str(serial, sizeof(serial), ti->serialNumber, sizeof(ti->serialNumber));
	for (size_t i = 0; i < p->nallowed; i++) {
		const struct p11_allowed *a = &p->allowed[i];
		if (a->serial[0] != '\0' ? strcmp(a->serial, serial) == 0 :
					   strcmp(a->label, label) == 0)
			return true;
	}
	return false;
}

static void allowed_list(const struct bs_p11 *p, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < p->nallowed; i++) {
		const struct p11_allowed *a = &p->allowed[i];
		int w = snprintf(out + o, cap - o, "%s%s%s'", i ? ", " : "",
				 a->serial[0] ? "serial '" : "'",
				 a->serial[0] ? a->serial : a->label);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}

/* What the client asked for, for messages: its token label, else its serial. */
static void wanted(P11KitUri *uri, char *out, size_t cap)
{
	CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(uri);
	p11_blank_to_str(out, cap, ti->label, sizeof(ti->label));
	if (out[0] == '\0')
		p11_blank_to_str(out, cap, ti->serialNumber, sizeof(ti->serialNumber));
	if (out[0] == '\0')
		snprintf(out, cap, "(any)");
}

/* Does the URI name one of the listed tokens by its label or serial? */
static bool names_listed(const struct bs_p11 *p, P11KitUri *uri)
{
	CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(uri);
	char label[33], serial[17];
	p11_blank_to_str(label, sizeof(label), ti->label, sizeof(ti->label));
	p11_blank_to_str(serial, sizeof(serial), ti->serialNumber, sizeof(ti->serialNumber));
	for (size_t i = 0; i < p->nallowed; i++) {
		const struct p11_allowed *a = &p->allowed[i];
		if ((a->serial[0] && strcmp(a->serial, serial) == 0) ||
		    (a->label[0] && strcmp(a->label, label) == 0))
			return true;
	}
	return false;
}

/* One pass over the module's tokens: matches of the URI that are listed (*n, the last in
 * *out) and that are not (*foreign). */
static CK_RV scan(struct bs_p11 *p, P11KitUri *uri, CK_TOKEN_INFO *out, size_t *n,
		  size_t *foreign)
{
	CK_SLOT_ID ids[SLOTS_MAX];
	CK_ULONG count = SLOTS_MAX;
	*n = *foreign = 0;
	CK_RV rv = p->f->C_GetSlotList(CK_TRUE, ids, &count);
	if (rv != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < count; i++) {
		CK_TOKEN_INFO ti;
		if (p->f->C_GetTokenInfo(ids[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED) || !p11_kit_uri_match_token_info(uri, &ti))
			continue;
		if (!p11_allowed_match(p, &ti)) {
			(*foreign)++;
			continue;
		}
		(*n)++;
		*out = ti;
	}
	return CKR_OK;
}

int p11_allowed_select(struct bs_p11 *p, P11KitUri *uri, CK_TOKEN_INFO *out,
		       struct bs_error *err)
{
	size_t n = 0, foreign = 0;
	CK_RV rv = scan(p, uri, out, &n, &foreign);
	if (rv == CKR_OK && n == 0 && foreign == 0 && p11_rescan(p))
		rv = scan(p, uri, out, &n, &foreign); /* a token plugged in after start-up */
	if (rv != CKR_OK)
		return bs_error_set(err, BS_ERR_TOKEN, "pkcs11: listing tokens failed: %s",
				    p11_rv_name(rv));
	char want[40], list[200];
	wanted(uri, want, sizeof(want));
	allowed_list(p, list, sizeof(list));
	if (n == 1)
		return 0;
	if (n > 1)
		return bs_error_set(err, BS_ERR_INVALID, "pkcs11 URI token '%s' matches %zu of the "
				    "server's tokens (%s): name one with token= or serial=", want, n,
				    list);
	if (foreign > 0)
		return bs_error_set(err, BS_ERR_POLICY, "token '%s' is not a token this server "
				    "signs with (%s)", want, list);
	if (names_listed(p, uri)) /* the server's own token is missing: its fault */
		return bs_error_set(err, BS_ERR_TOKEN, "token '%s' not present (CKR_TOKEN_NOT_PRESENT: "
				    "unplugged or removed?)", want);
	return bs_error_set(err, BS_ERR_NOT_FOUND, "token '%s' not present: the PKCS#11 module "
			    "has no token with that label (this server signs with %s)", want,
			    list);
}
