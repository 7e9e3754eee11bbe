/* RFC 7512 pkcs11: URIs: the client policy (bs_p11_uri_sanitize) and the helpers that
 * turn a URI into token match criteria and an object label/id/class (p11-kit parser). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"
#include "keys/pkcs11_int.h"

#define URI_MAX_ATTRS 32

/* Path attributes a client may use. slot-id is deliberately absent: p11-kit renumbers
 * slots, so tokens are named by label/serial. */
static const char *const g_path_ok[] = {
	"token", "manufacturer", "serial", "model", "object", "type", "id",
	"library-manufacturer", "library-description", "library-version",
	"slot-description", "slot-manufacturer",
};

/* Percent-decode s[0..n) and compare with lit; false on bad encoding. */
static bool decoded_equals(const char *s, size_t n, const char *lit)
{
	size_t k = 0, litlen = strlen(lit);
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return false;
			int h = bs_hex_digit((unsigned char)s[i + 1]);
			int l = bs_hex_digit((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = h * 16 + l;
			i += 2;
		}
		if (k >= litlen || lit[k] != c)
			return false;
		k++;
	}
	return k == litlen;
}

static bool name_in(const char *name, size_t n, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(list[i]) == n && strncasecmp(name, list[i], n) == 0)
			return true;
	return false;
}

struct elem {
	const char *s;
	size_t n;     /* whole "name=value" */
	size_t nlen;  /* name length */
};

static int split(struct elem *out, size_t *count, const char *s, size_t n, char sep,
		 struct bs_error *err)
{
	size_t i = 0;
	*count = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != sep)
			j++;
		if (j > i) {
			if (*count >= URI_MAX_ATTRS)
				return bs_error_set(err, BS_ERR_LIMIT,
						    "pkcs11 URI has more than %d attributes",
						    URI_MAX_ATTRS);
			const char *eq = memchr(s + i, '=', j - i);
			if (eq == NULL || eq == s + i)
				return bs_error_set(err, BS_ERR_INVALID,
						    "pkcs11 URI attribute %zu is not name=value",
						    *count + 1);
			out[*count].s = s + i;
			out[*count].n = j - i;
			out[*count].nlen = (size_t)(eq - (s + i));
			(*count)++;
		}
		i = j + 1;
	}
	return 0;
}

static bool is(const struct elem *e, const char *name)
{
	return e->nlen == strlen(name) && strncasecmp(e->s, name, e->nlen) == 0;
}

/* Check one attribute; *keep = false for the pin-value placeholder. */
static int check_elem(const struct elem *e, bool in_query, bool *keep, struct bs_error *err)
{
	char nm[40];
	*keep = true;
	if (is(e, "pin-value")) {
		const char *v = e->s + e->nlen + 1;
		if (!decoded_equals(v, e->n - e->nlen - 1, "password"))
			return bs_error_set(err, BS_ERR_POLICY,
					    "pkcs11 URI carries a PIN (pin-value): not accepted, "
					    "the server supplies the token PIN; use the placeholder "
					    "pin-value=password or omit it");
		*keep = false;
		return 0;
	}
	if (is(e, "pin-source"))
		return bs_error_set(err, BS_ERR_POLICY,
				    "pkcs11 URI attribute pin-source is not accepted: the server "
				    "supplies the token PIN");
	if (is(e, "module-name") || is(e, "module-path"))
		return bs_error_set(err, BS_ERR_POLICY,
				    "pkcs11 URI attribute %s is not accepted: the server chooses "
				    "the PKCS#11 module", is(e, "module-name") ? "module-name"
									 : "module-path");
	if (is(e, "slot-id"))
		return bs_error_set(err, BS_ERR_POLICY,
				    "pkcs11 URI attribute slot-id is not accepted: slot numbers "
				    "change; name the token with token= or serial=");
	if (!in_query && name_in(e->s, e->nlen, g_path_ok, BS_ARRAY_SIZE(g_path_ok)))
		return 0;
	/* the attribute's name only, never its value */
	bs_text_sanitize_n(nm, sizeof(nm), e->s, e->nlen < 32 ? e->nlen : 32);
	return bs_error_set(err, BS_ERR_POLICY, "pkcs11 URI attribute '%s' is not accepted", nm);
}

int bs_p11_uri_sanitize(char **out, const char *uri, struct bs_error *err)
{
	*out = NULL;
	if (uri == NULL || strncasecmp(uri, "pkcs11:", 7) != 0)
		return bs_error_set(err, BS_ERR_INVALID, "not a pkcs11: URI");
	size_t len = strlen(uri);
	if (len > BS_P11_URI_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "pkcs11 URI longer than %d bytes",
				    BS_P11_URI_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)uri[i] < 0x21 || (unsigned char)uri[i] > 0x7e)
			return bs_error_set(err, BS_ERR_INVALID,
					    "pkcs11 URI has a control, space or non-ASCII byte at "
					    "offset %zu", i);
	const char *path = uri + 7;
	const char *q = strchr(path, '?');
	size_t plen = q != NULL ? (size_t)(q - path) : strlen(path);
	struct elem pe[URI_MAX_ATTRS], qe[URI_MAX_ATTRS];
	size_t np = 0, nq = 0;
	int rc = split(pe, &np, path, plen, ';', err);
	if (rc == 0 && q != NULL)
		rc = split(qe, &nq, q + 1, strlen(q + 1), '&', err);
	if (rc != 0)
		return rc;
	bool keep_p[URI_MAX_ATTRS], keep_q[URI_MAX_ATTRS];
	for (size_t i = 0; i < np; i++) {
		if ((rc = check_elem(&pe[i], false, &keep_p[i], err)) != 0)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (pe[k].nlen == pe[i].nlen &&
			    strncasecmp(pe[k].s, pe[i].s, pe[i].nlen) == 0)
				return bs_error_set(err, BS_ERR_INVALID,
						    "pkcs11 URI repeats an attribute");
	}
	for (size_t i = 0; i < nq; i++)
		if ((rc = check_elem(&qe[i], true, &keep_q[i], err)) != 0)
			return rc;

	struct bs_buf b;
	bs_buf_init(&b, BS_P11_URI_MAX + 1);
	rc = bs_buf_append(&b, "pkcs11:", 7);
	bool first = true;
	for (size_t i = 0; i < np && rc == 0; i++) {
		if (!keep_p[i])
			continue;
		if (!first)
			rc = bs_buf_append_u8(&b, ';');
		if (rc == 0)
			rc = bs_buf_append(&b, pe[i].s, pe[i].n);
		first = false;
	}
	first = true;
	for (size_t i = 0; i < nq && rc == 0; i++) {
		if (!keep_q[i])
			continue;
		rc = bs_buf_append_u8(&b, first ? '?' : '&');
		if (rc == 0)
			rc = bs_buf_append(&b, qe[i].s, qe[i].n);
		first = false;
	}
	if (rc == 0)
		rc = bs_buf_append_u8(&b, '\0');
	if (rc != 0) {
		bs_buf_free(&b);
		return bs_error_set(err, rc, "pkcs11 URI: out of memory");
	}
	/* Must still parse as an RFC 7512 URI (percent-encoding, id bytes, type). */
	P11KitUri *pu = p11_kit_uri_new();
	int prc = pu != NULL ? p11_kit_uri_parse((const char *)b.data, P11_KIT_URI_FOR_ANY, pu)
			     : P11_KIT_URI_NO_MEMORY;
	bool unrec = prc == P11_KIT_URI_OK && p11_kit_uri_any_unrecognized(pu);
	p11_kit_uri_free(pu);
	if (unrec) {
		bs_buf_free(&b);
		return bs_error_set(err, BS_ERR_INVALID,
				    "pkcs11 URI has an unsupported attribute value (type= must be "
				    "cert, private, public, secret-key or data)");
	}
	if (prc != P11_KIT_URI_OK) {
		bs_buf_free(&b);
		return bs_error_set(err, BS_ERR_INVALID, "malformed pkcs11 URI: %s",
				    p11_kit_uri_message(prc));
	}
	size_t outlen;
	*out = (char *)bs_buf_steal(&b, &outlen);
	return 0;
}

int p11_uri_parse(P11KitUri **out, const char *uri, struct bs_error *err)
{
	*out = NULL;
	char *clean = NULL;
	int rc = bs_p11_uri_sanitize(&clean, uri, err);
	if (rc != 0)
		return rc;
	P11KitUri *u = p11_kit_uri_new();
	if (u == NULL) {
		free(clean);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	int prc = p11_kit_uri_parse(clean, P11_KIT_URI_FOR_ANY, u);
	free(clean);
	if (prc != P11_KIT_URI_OK) {
		p11_kit_uri_free(u);
		return bs_error_set(err, BS_ERR_INVALID, "malformed pkcs11 URI: %s",
				    p11_kit_uri_message(prc));
	}
	*out = u;
	return 0;
}

int p11_uri_object(P11KitUri *uri, char *label, size_t label_cap, uint8_t *id,
		   size_t *id_len, CK_OBJECT_CLASS *cls, bool *has_cls, struct bs_error *err)
{
	label[0] = '\0';
	*id_len = 0;
	*has_cls = false;
	CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri, CKA_LABEL);
	if (a != NULL && a->pValue != NULL) {
		if (a->ulValueLen >= label_cap)
			return bs_error_set(err, BS_ERR_LIMIT, "pkcs11 URI object= is too long");
		memcpy(label, a->pValue, a->ulValueLen);
		label[a->ulValueLen] = '\0';
		if (strlen(label) != a->ulValueLen)
			return bs_error_set(err, BS_ERR_INVALID, "pkcs11 URI object= contains NUL");
	}
	a = p11_kit_uri_get_attribute(uri, CKA_ID);
	if (a != NULL && a->pValue != NULL) {
		if (a->ulValueLen > BS_P11_ID_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "pkcs11 URI id= is too long");
		memcpy(id, a->pValue, a->ulValueLen);
		*id_len = a->ulValueLen;
	}
	a = p11_kit_uri_get_attribute(uri, CKA_CLASS);
	if (a != NULL && a->pValue != NULL && a->ulValueLen == sizeof(CK_OBJECT_CLASS)) {
		memcpy(cls, a->pValue, sizeof(*cls));
		*has_cls = true;
	}
	return 0;
}
