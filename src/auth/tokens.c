/* Bearer tokens (tokens.h): salted hashes in a private file, constant-time checks. */
#include "auth/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/identity.h"
#include "core/limits.h"
#include "core/secret.h"
#include "core/text.h"
#include "core/util.h"

struct token_entry {
	char name[BS_AUTH_NAME_MAX];
	uint8_t salt[BS_AUTH_SALT_BYTES];
	uint8_t hash[32];
};

struct bs_tokens {
	struct token_entry *e;
	size_t n;
};

int bs_auth_check_name(const char *s, const char *what, struct bs_error *err)
{
	size_t n = strlen(s);
	if (n == 0 || n >= BS_AUTH_NAME_MAX || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n) {
		char shown[BS_AUTH_NAME_MAX + 8];
		bs_text_sanitize(shown, sizeof(shown), s);
		return bs_error_set(err, BS_ERR_INVALID,
				    "%s '%s': use 1 to %d of A-Z a-z 0-9 . _ -", what, shown,
				    BS_AUTH_NAME_MAX - 1);
	}
	return 0;
}

void bs_identity_principal(const struct bs_identity *id, char *out, size_t cap)
{
	switch (id->kind) {
	case BS_IDENT_TOKEN: snprintf(out, cap, "token:%s", id->name); break;
	case BS_IDENT_CERT: snprintf(out, cap, "cn:%s(sha256:%.16s)", id->name, id->fp); break;
	case BS_IDENT_PROXY: snprintf(out, cap, "proxy-cn:%s", id->name); break;
	default: snprintf(out, cap, "anonymous"); break;
	}
	bs_text_sanitize_inplace(out);
}

static int unhex(uint8_t *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = bs_hex_digit(hex[2 * i]), lo = bs_hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int token_hash(uint8_t out[32], const uint8_t *salt, const char *token)
{
	unsigned len = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(c, salt, BS_AUTH_SALT_BYTES) == 1 &&
		 EVP_DigestUpdate(c, token, strlen(token)) == 1 &&
		 EVP_DigestFinal_ex(c, out, &len) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

/* Parse the file text into t (entries appended). */
static int parse(struct bs_tokens *t, char *text, const char *path, struct bs_error *err)
{
	unsigned lineno = 0;
	char *save = NULL;
	for (char *line = text; line != NULL; line = save) {
		lineno++;
		save = strchr(line, '\n');
		if (save != NULL)
			*save++ = '\0';
		size_t l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		char name[BS_AUTH_NAME_MAX + 1], salt[2 * BS_AUTH_SALT_BYTES + 2], hash[66], extra[2];
		int f = sscanf(line, "%64s %33s %65s %1s", name, salt, hash, extra);
		struct token_entry e = {0};
		if (f != 3 || bs_auth_check_name(name, "token name", NULL) != 0 ||
		    unhex(e.salt, sizeof(e.salt), salt) != 0 || unhex(e.hash, sizeof(e.hash), hash) != 0)
			return bs_error_set(err, BS_ERR_SYNTAX,
					    "%s:%u: expected 'NAME SALT_HEX SHA256_HEX'", path, lineno);
		for (size_t i = 0; i < t->n; i++)
			if (strcmp(t->e[i].name, name) == 0)
				return bs_error_set(err, BS_ERR_SYNTAX, "%s:%u: token name '%s' "
						    "used twice", path, lineno, name);
		if (t->n >= BS_AUTH_TOKENS_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "%s: more than %d tokens", path,
					    BS_AUTH_TOKENS_MAX);
		struct token_entry *ne = realloc(t->e, (t->n + 1) * sizeof(*ne));
		if (ne == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		t->e = ne;
		snprintf(e.name, sizeof(e.name), "%s", name);
		t->e[t->n++] = e;
	}
	return 0;
}

int bs_tokens_load(struct bs_tokens **out, const char *path, struct bs_error *err)
{
	*out = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = bs_secret_read_all(&data, &len, path, "tokens", BS_AUTH_TOKENS_FILE_MAX, err);
	if (rc != 0)
		return rc;
	struct bs_tokens *t = calloc(1, sizeof(*t));
	if (t == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	else if (memchr(data, '\0', len) != NULL)
		rc = bs_error_set(err, BS_ERR_SYNTAX, "%s: NUL byte", path);
	else
		rc = parse(t, (char *)data, path, err);
	bs_free_secret(data, len + 1);
	if (rc != 0) {
		bs_tokens_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int bs_tokens_check(char *name, size_t cap, const struct bs_tokens *t, const char *token,
		    struct bs_error *err)
{
	name[0] = '\0';
	size_t found = SIZE_MAX;
	if (t != NULL && token != NULL && strlen(token) <= BS_AUTH_TOKEN_MAX) {
		/* every entry is hashed and compared: the time does not depend on which matched */
		for (size_t i = 0; i < t->n; i++) {
			uint8_t h[32];
			if (token_hash(h, t->e[i].salt, token) != 0)
				continue;
			if (CRYPTO_memcmp(h, t->e[i].hash, sizeof(h)) == 0)
				found = i;
			OPENSSL_cleanse(h, sizeof(h));
		}
	}
	if (found == SIZE_MAX)
		return bs_error_set(err, BS_ERR_AUTH, "unknown or revoked bearer token");
	snprintf(name, cap, "%s", t->e[found].name);
	return 0;
}

size_t bs_tokens_count(const struct bs_tokens *t)
{
	return t != NULL ? t->n : 0;
}

void bs_tokens_free(struct bs_tokens *t)
{
	if (t == NULL)
		return;
	bs_free_secret(t->e, t->n * sizeof(*t->e));
	free(t);
}

/* The current file (empty when missing), checked. */
static int load_or_empty(struct bs_tokens **out, const char *path, struct bs_error *err)
{
	int rc = bs_tokens_load(out, path, err);
	if (rc == BS_ERR_NOT_FOUND) {
		bs_error_clear(err);
		*out = calloc(1, sizeof(**out));
		rc = *out != NULL ? 0 : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	return rc;
}

static int write_all(const char *path, const struct bs_tokens *t, struct bs_error *err)
{
	size_t cap = 128 + t->n * (BS_AUTH_NAME_MAX + 2 * BS_AUTH_SALT_BYTES + 70);
	char *text = malloc(cap);
	if (text == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	size_t o = (size_t)snprintf(text, cap, "# bootsign bearer tokens: NAME SALT SHA256(SALT || "
				    "token); revoke by deleting a line, then SIGHUP the server\n");
	for (size_t i = 0; i < t->n; i++) {
		char salt[2 * BS_AUTH_SALT_BYTES + 1], hash[65];
		o += (size_t)snprintf(text + o, cap - o, "%s %s %s\n", t->e[i].name,
				      bs_hex(salt, t->e[i].salt, sizeof(t->e[i].salt)),
				      bs_hex(hash, t->e[i].hash, sizeof(t->e[i].hash)));
	}
	int rc = bs_write_file(path, text, o, 0600, false, err);
	free(text);
	return rc;
}

int bs_tokens_add(char **out, const char *path, const char *name, struct bs_error *err)
{
	*out = NULL;
	int rc = bs_auth_check_name(name, "token name", err);
	if (rc != 0)
		return rc;
	struct bs_tokens *t = NULL;
	rc = load_or_empty(&t, path, err);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].name, name) == 0) {
			bs_tokens_free(t);
			return bs_error_set(err, BS_ERR_INVALID, "%s already holds a token named "
					    "'%s' (revoke it first)", path, name);
		}
	struct token_entry *ne = realloc(t->e, (t->n + 1) * sizeof(*ne));
	if (ne == NULL) {
		bs_tokens_free(t);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	t->e = ne;
	struct token_entry *e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	uint8_t rnd[BS_AUTH_TOKEN_BYTES];
	char *token = malloc(4 + 2 * sizeof(rnd) + 1);
	if (token == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    RAND_bytes(e->salt, sizeof(e->salt)) != 1) {
		free(token);
		bs_tokens_free(t);
		return bs_error_ssl(err, BS_ERR_CRYPTO, "cannot generate a token");
	}
	memcpy(token, "bst_", 4);
	bs_hex(token + 4, rnd, sizeof(rnd));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (token_hash(e->hash, e->salt, token) != 0)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot hash the token");
	else
		rc = write_all(path, t, err);
	bs_tokens_free(t);
	if (rc != 0) {
		bs_free_secret_str(token);
		return rc;
	}
	*out = token;
	return 0;
}

int bs_tokens_revoke(const char *path, const char *name, struct bs_error *err)
{
	struct bs_tokens *t = NULL;
	int rc = bs_tokens_load(&t, path, err);
	if (rc != 0)
		return rc;
	size_t j = 0;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].name, name) != 0)
			t->e[j++] = t->e[i];
	if (j == t->n)
		rc = bs_error_set(err, BS_ERR_NOT_FOUND, "%s holds no token named '%s'", path, name);
	else {
		t->n = j;
		rc = write_all(path, t, err);
	}
	bs_tokens_free(t);
	return rc;
}
