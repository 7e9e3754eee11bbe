/* The signer table as the server shows it (catalog.h). */
#include "http/catalog.h"

#include <stdio.h>

#include "core/limits.h"
#include "sign/signer.h"

/* "/sign/imx, /sign/modules, ..." */
void bs_http_endpoint_list(char *out, size_t cap)
{
	size_t n = 0, o = 0;
	const struct bs_signer *const *all = bs_signers(&n);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, cap - o, "%s/sign/%s", i ? ", " : "", all[i]->name);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}

/* s as a JSON string body: quotes, backslashes and control bytes escaped. */
static int json_str(struct bs_buf *b, const char *s)
{
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); rc == 0 && *p;
	     p++) {
		if (*p == '"' || *p == '\\')
			rc = bs_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			rc = bs_buf_printf(b, "\\u%04x", *p);
		else
			rc = bs_buf_append_u8(b, *p);
	}
	return rc;
}

/* ,"key":"value" (or without the comma) */
static int json_kv(struct bs_buf *b, bool comma, const char *key, const char *value)
{
	int rc = bs_buf_printf(b, "%s\"%s\":\"", comma ? "," : "", key);
	if (rc == 0)
		rc = json_str(b, value);
	return rc != 0 ? rc : bs_buf_append_u8(b, '"');
}

static int field_json(struct bs_buf *b, const struct bs_field_spec *fs, bool comma)
{
	int rc = bs_buf_printf(b, "%s{", comma ? "," : "");
	if (rc == 0)
		rc = json_kv(b, false, "name", fs->name);
	if (rc == 0)
		rc = bs_buf_printf(b, ",\"required\":%s,\"file\":%s",
				   fs->required ? "true" : "false",
				   fs->store == BS_FIELD_SPOOL ? "true" : "false");
	if (rc == 0 && fs->default_value != NULL)
		rc = json_kv(b, true, "default", fs->default_value);
	for (size_t c = 0; rc == 0 && fs->choices != NULL && fs->choices[c]; c++) {
		rc = bs_buf_printf(b, "%s\"", c ? "," : ",\"choices\":[");
		if (rc == 0)
			rc = json_str(b, fs->choices[c]);
		if (rc == 0)
			rc = bs_buf_append_u8(b, '"');
	}
	if (rc == 0 && fs->choices != NULL && fs->choices[0] != NULL)
		rc = bs_buf_append_u8(b, ']');
	if (rc == 0 && fs->help != NULL)
		rc = json_kv(b, true, "help", fs->help);
	return rc != 0 ? rc : bs_buf_append_u8(b, '}');
}

int bs_http_signers_json(struct bs_buf *out, size_t *n)
{
	bs_buf_init(out, BS_HTTP_SIGNERS_JSON_MAX);
	const struct bs_signer *const *all = bs_signers(n);
	int rc = bs_buf_printf(out, "{\"signers\":[");
	for (size_t i = 0; rc == 0 && i < *n; i++) {
		const struct bs_signer *s = all[i];
		char endpoint[BS_NAME_MAX + 8];
		snprintf(endpoint, sizeof(endpoint), "/sign/%s", s->name);
		rc = bs_buf_printf(out, "%s{", i ? "," : "");
		if (rc == 0)
			rc = json_kv(out, false, "name", s->name);
		if (rc == 0)
			rc = json_kv(out, true, "endpoint", endpoint);
		if (rc == 0)
			rc = json_kv(out, true, "summary", s->summary);
		if (rc == 0)
			rc = json_kv(out, true, "subject", s->subject_field);
		if (rc == 0)
			rc = bs_buf_printf(out, ",\"fields\":[");
		for (size_t f = 0; rc == 0 && f < s->nfields; f++)
			rc = field_json(out, &s->fields[f], f > 0);
		if (rc == 0)
			rc = bs_buf_printf(out, "]}");
	}
	if (rc == 0)
		rc = bs_buf_printf(out, "]}\n");
	if (rc != 0)
		bs_buf_free(out);
	return rc;
}
