/* Unit tests for src/auth/policy: syntax errors name file:line, first match wins, default
 * deny, client kinds, key globs, rate and usage limits, counters across a reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth/policy.h"
#include "core/limits.h"
#include "core/util.h"
#include "keys/keyring.h"

static struct bs_policy *parse(const char *text)
{
	struct bs_policy *p = NULL;
	struct bs_error err = {0};
	if (bs_policy_parse(&p, text, strlen(text), "pol", &err) != 0)
		fail_msg("%s", err.msg);
	return p;
}

static const struct bs_identity g_ci = {.kind = BS_IDENT_TOKEN, .name = "ci"};
static const struct bs_identity g_anon = {.kind = BS_IDENT_ANONYMOUS};

static void test_auth_policy__syntax_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"allow ci imx *\n", "pol:1: expected 'allow|deny CLIENT ENDPOINT SUBJECT KEY"},
		{"# c\npermit ci imx * *\n", "pol:2: expected 'allow|deny"},
		{"allow ci imx * * rate=5\n", "pol:1: rate: expected rate=N/min"},
		{"allow ci imx * * rate=0/min\n", "pol:1: rate"},
		{"allow ci imx * * max=x\n", "pol:1: max"},
		{"allow ci imx * * colour=red\n", "pol:1: unknown option 'colour=red'"},
		{"deny ci imx * * max=3\n", "pol:1: rate= and max= apply to allow rules"},
		{"allow sha256:abcd imx * *\n", "pol:1: sha256: expects the 64 hex digits"},
		{"allow cn: imx * *\n", "pol:1: empty cn:"},
		{"allow a/b imx * *\n", "pol:1: client (token name) 'a/b'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bs_policy *p = NULL;
		struct bs_error err = {0};
		assert_int_equal(bs_policy_parse(&p, cases[i].text, strlen(cases[i].text), "pol",
						 &err),
				 BS_ERR_SYNTAX);
		assert_null(p);
		if (strstr(err.msg, cases[i].msg) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
	}
}

static void test_auth_policy__first_match_and_default_deny(void **state)
{
	(void)state;
	struct bs_policy *p = parse("deny ci imx evk-* *\n"
				    "allow ci imx * imxsign/*\n"
				    "allow ci modules * *\n");
	struct bs_error err = {0};
	assert_int_equal(bs_policy_admit(p, &g_ci, "imx", "evk-1", 0, &err), BS_ERR_DENIED);
	assert_string_equal(err.msg, "access denied: the rule at pol:1 refuses client token:ci "
				     "on endpoint imx for 'evk-1'");
	assert_int_equal(bs_policy_admit(p, &g_ci, "imx", "imx8mp", 0, &err), 0);
	assert_int_equal(bs_policy_key(p, &g_ci, "imx", "imx8mp", "imxsign/a.tgz", &err), 0);
	assert_int_equal(bs_policy_key(p, &g_ci, "imx", "imx8mp", "other/k.pem", &err),
			 BS_ERR_DENIED);
	assert_string_equal(err.msg, "access denied: no policy rule allows client token:ci the "
				     "key 'other/k.pem' (endpoint imx, 'imx8mp'; default deny)");
	assert_int_equal(bs_policy_admit(p, &g_ci, "uefi", "x", 0, &err), BS_ERR_DENIED);
	assert_string_equal(err.msg, "access denied: no policy rule allows client token:ci on "
				     "endpoint uefi for 'x' (default deny)");
	/* other clients never match ci's rules, and the message names none of them */
	const struct bs_identity other = {.kind = BS_IDENT_TOKEN, .name = "other"};
	assert_int_equal(bs_policy_admit(p, &other, "imx", "evk-1", 0, &err), BS_ERR_DENIED);
	assert_null(strstr(err.msg, "pol:"));
	bs_policy_free(p);
}

static void test_auth_policy__endpoint_precheck(void **state)
{
	(void)state;
	struct bs_policy *p = parse("deny ci imx evk-* *\nallow ci imx * *\ndeny ci uefi * *\n"
				    "allow ci uefi * *\ndeny * fit * keys/*\nallow * fit * *\n");
	struct bs_error err = {0};
	assert_int_equal(bs_policy_endpoint(p, &g_ci, "imx", &err), 0);
	assert_int_equal(bs_policy_endpoint(p, &g_ci, "uefi", &err), BS_ERR_DENIED);
	assert_string_equal(err.msg, "access denied: the rule at pol:3 refuses client token:ci on "
				     "endpoint uefi");
	assert_int_equal(bs_policy_endpoint(p, &g_ci, "fit", &err), 0);
	assert_int_equal(bs_policy_endpoint(p, &g_ci, "modules", &err), BS_ERR_DENIED);
	assert_string_equal(err.msg, "access denied: no policy rule allows client token:ci on "
				     "endpoint modules (default deny)");
	assert_int_equal(bs_policy_endpoint(p, &g_anon, "fit", &err), BS_ERR_DENIED);
	bs_policy_free(p);
}

static void test_auth_policy__key_deny_rules_wait_for_the_key(void **state)
{
	(void)state;
	struct bs_policy *p = parse("deny * imx * keys/SRK*\nallow * imx * *\n");
	struct bs_error err = {0};
	assert_int_equal(bs_policy_admit(p, &g_ci, "imx", "m", 0, &err), 0);
	assert_int_equal(bs_policy_key(p, &g_ci, "imx", "m", "keys/CSF1_key.pem", &err), 0);
	assert_int_equal(bs_policy_key(p, &g_ci, "imx", "m", "keys/SRK1_key.pem", &err),
			 BS_ERR_DENIED);
	assert_string_equal(err.msg, "access denied: the rule at pol:1 refuses client token:ci "
				     "the key 'keys/SRK1_key.pem' (endpoint imx, 'm')");
	bs_policy_free(p);
}

/* The key filter the key process applies says what bs_policy_key says, for every key. */
static void test_auth_policy__key_filter_agrees_with_the_policy(void **state)
{
	(void)state;
	struct bs_policy *p = parse("deny ci imx evk-* *\n"
				    "deny * imx * imxsign/SRK*\n"
				    "allow ci imx * imxsign/*\n"
				    "allow ci imx imx8* pkcs11:*\n"
				    "deny other * * *\n"
				    "allow * modules * kmodsign/*\n");
	static const char *const subjects[] = {"imx8mp", "evk-1", "imx6"};
	static const char *const keys[] = {"imxsign/CSF1_key.pem", "imxsign/SRK1_key.pem",
					   "pkcs11:token=T;object=CSF1", "kmodsign/k.priv",
					   "other/x", ""};
	static const char *const endpoints[] = {"imx", "modules", "uefi"};
	const struct bs_identity other = {.kind = BS_IDENT_TOKEN, .name = "other"};
	const struct bs_identity *ids[] = {&g_ci, &other, &g_anon};
	char f[BS_KEY_FILTER_MAX];
	struct bs_error err = {0};
	for (size_t a = 0; a < 3; a++)
		for (size_t e = 0; e < 3; e++)
			for (size_t s = 0; s < 3; s++) {
				assert_int_equal(bs_policy_key_filter(p, ids[a], endpoints[e],
								      subjects[s], f, sizeof(f),
								      &err), 0);
				for (size_t k = 0; k < BS_ARRAY_SIZE(keys); k++) {
					err.msg[0] = '\0';
					bool want = bs_policy_key(p, ids[a], endpoints[e], subjects[s],
								  keys[k], &err) == 0;
					char why[BS_ERROR_MSG_MAX] = "";
					if (bs_key_filter_allows(f, keys[k], why, sizeof(why)) != want)
						fail_msg("filter '%s' vs policy on key '%s'", f, keys[k]);
					if (!want && strcmp(why, err.msg) != 0)
						fail_msg("filter says '%s', policy '%s'", why, err.msg);
				}
			}
	assert_int_equal(bs_policy_key_filter(p, &g_ci, "imx", "imx8mp", f, sizeof(f), &err), 0);
	assert_string_equal(f, "-imxsign/SRK*\taccess denied: the rule at pol:2 refuses client "
			       "token:ci the key '\t' (endpoint imx, 'imx8mp')\n"
			       "+imxsign/*\n+pkcs11:*\n"
			       "!access denied: no policy rule allows client token:ci the key '\t' "
			       "(endpoint imx, 'imx8mp'; default deny)\n");
	assert_int_equal(bs_policy_key_filter(p, &g_ci, "imx", "evk-1", f, sizeof(f), &err), 0);
	assert_non_null(strstr(f, "-*\t")); /* nothing after a catch-all */
	assert_null(strchr(f, '!'));
	/* too small a buffer: BS_ERR_LIMIT, nothing half-written */
	assert_int_equal(bs_policy_key_filter(p, &g_ci, "imx", "imx8mp", f, 20, &err),
			 BS_ERR_LIMIT);
	assert_string_equal(f, "");
	bs_policy_free(p);
	struct bs_policy *all = NULL;
	assert_int_equal(bs_policy_allow_all(&all, &err), 0);
	assert_int_equal(bs_policy_key_filter(all, &g_anon, "imx", "m", f, sizeof(f), &err), 0);
	assert_string_equal(f, "+*\n");
	bs_policy_free(all);
	/* malformed lines never allow; NULL allows everything (no policy: the CLI) */
	char why[BS_ERROR_MSG_MAX];
	assert_false(bs_key_filter_allows("*\n+\nx", "k", why, sizeof(why)));
	assert_string_equal(why, "access denied: key 'k' is outside what the policy allows this "
				 "request");
	assert_true(bs_key_filter_allows(NULL, "k", NULL, 0));
}

/* A revocation list: dozens of deny rules before the allow. Their key filter (deny lines
 * carry the refusal words) is well over 4 KiB and must still reach the key process: the
 * request signs with an allowed key and the revoked ones stay refused. */
static void test_auth_policy__key_filter_many_deny_rules(void **state)
{
	(void)state;
	char text[8192] = "";
	size_t o = 0;
	for (int i = 0; i < 60; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "deny * imx * imxsign/keys/REVOKED_%02d_*\n", i);
	snprintf(text + o, sizeof(text) - o, "allow * imx * *\n");
	struct bs_policy *p = parse(text);
	char *f = malloc(BS_KEY_FILTER_MAX);
	assert_non_null(f);
	struct bs_error err = {0};
	assert_int_equal(bs_policy_key_filter(p, &g_ci, "imx", "imx8mp", f, BS_KEY_FILTER_MAX,
					      &err), 0);
	assert_true(strlen(f) > 4096);
	char why[BS_ERROR_MSG_MAX] = "";
	assert_true(bs_key_filter_allows(f, "imxsign/keys/CSF1_key.pem", why, sizeof(why)));
	assert_false(bs_key_filter_allows(f, "imxsign/keys/REVOKED_59_key.pem", why,
					  sizeof(why)));
	assert_int_equal(bs_policy_key(p, &g_ci, "imx", "imx8mp",
				       "imxsign/keys/REVOKED_59_key.pem", &err), BS_ERR_DENIED);
	assert_string_equal(why, err.msg);
	free(f);
	bs_policy_free(p);
}

static void test_auth_policy__client_kinds(void **state)
{
	(void)state;
	char fp[65];
	memset(fp, 'a', 64);
	fp[64] = '\0';
	struct bs_identity cert = {.kind = BS_IDENT_CERT, .name = "builder"};
	memcpy(cert.fp, fp, 65);
	struct bs_identity proxy = {.kind = BS_IDENT_PROXY, .name = "builder"};
	char text[512];
	snprintf(text, sizeof(text), "allow sha256:%s a * *\nallow cn:builder b * *\n"
		 "allow anonymous c * *\nallow * d * *\n", "AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:"
		 "AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA");
	struct bs_policy *p = parse(text);
	assert_int_equal(bs_policy_admit(p, &cert, "a", "s", 0, NULL), 0);
	assert_int_equal(bs_policy_admit(p, &proxy, "a", "s", 0, NULL), BS_ERR_DENIED);
	assert_int_equal(bs_policy_admit(p, &cert, "b", "s", 0, NULL), 0);
	assert_int_equal(bs_policy_admit(p, &proxy, "b", "s", 0, NULL), 0);
	assert_int_equal(bs_policy_admit(p, &g_ci, "b", "s", 0, NULL), BS_ERR_DENIED);
	assert_int_equal(bs_policy_admit(p, &g_anon, "c", "s", 0, NULL), 0);
	assert_int_equal(bs_policy_admit(p, &g_ci, "c", "s", 0, NULL), BS_ERR_DENIED);
	assert_int_equal(bs_policy_admit(p, &g_ci, "d", "s", 0, NULL), 0);
	assert_int_equal(bs_policy_admit(p, &g_anon, "d", "s", 0, NULL), BS_ERR_DENIED);
	bs_policy_free(p);
}

/* digest-only=yes|no: a client may be forbidden digest-only signing (issue 13). */
static void test_auth_policy__digest_only(void **state)
{
	(void)state;
	struct bs_policy *p = parse("deny ci imx * * digest-only=yes\nallow ci imx * *\n"
				    "allow hasher imx * * digest-only=yes\n");
	struct bs_identity ci = {.kind = BS_IDENT_TOKEN, .name = "ci"};
	struct bs_identity hasher = {.kind = BS_IDENT_TOKEN, .name = "hasher"};
	struct bs_error err = {0};
	/* before the form is known, neither is refused at the endpoint */
	assert_int_equal(bs_policy_endpoint(p, &ci, "imx", &err), 0);
	assert_int_equal(bs_policy_endpoint(p, &hasher, "imx", &err), 0);
	assert_int_equal(bs_policy_admit(p, &ci, "imx", "m", 0, &err), 0);
	ci.digest_only = true;
	assert_int_equal(bs_policy_admit(p, &ci, "imx", "m", 0, &err), BS_ERR_DENIED);
	assert_non_null(strstr(err.msg, "pol:1"));
	assert_int_equal(bs_policy_admit(p, &hasher, "imx", "m", 0, &err), BS_ERR_DENIED);
	hasher.digest_only = true;
	assert_int_equal(bs_policy_admit(p, &hasher, "imx", "m", 0, &err), 0);
	assert_int_equal(bs_policy_key(p, &hasher, "imx", "m", "keys/CSF1_key.pem", &err), 0);
	hasher.digest_only = false;
	assert_int_equal(bs_policy_key(p, &hasher, "imx", "m", "keys/CSF1_key.pem", &err),
			 BS_ERR_DENIED);
	bs_policy_free(p);
}

static void test_auth_policy__rate_and_max(void **state)
{
	(void)state;
	struct bs_policy *p = parse("allow ci imx * * rate=2/min\nallow ci uefi * * max=2\n"
				    "allow ci fit * * digest-only=yes\n");
	struct bs_error err = {0};
	assert_int_equal(bs_policy_admit(p, &g_ci, "imx", "m", 1000, &err), 0);
	assert_int_equal(bs_policy_admit(p, &g_ci, "imx", "m", 1000, &err), 0);
	assert_int_equal(bs_policy_admit(p, &g_ci, "imx", "m", 1000, &err), BS_ERR_RATE);
	assert_string_equal(err.msg, "rate limit: the rule at pol:1 allows 2 requests per minute "
				     "for client token:ci");
	/* the budget is per client: the same name shares it, another client has its own */
	const struct bs_identity ci2 = {.kind = BS_IDENT_TOKEN, .name = "ci"};
	assert_int_equal(bs_policy_admit(p, &ci2, "imx", "m", 1000, &err), BS_ERR_RATE);
	struct bs_policy *o = parse("allow * imx * * rate=1/min\n");
	const struct bs_identity other = {.kind = BS_IDENT_TOKEN, .name = "other"};
	assert_int_equal(bs_policy_admit(o, &g_ci, "imx", "m", 1000, &err), 0);
	assert_int_equal(bs_policy_admit(o, &other, "imx", "m", 1000, &err), 0);
	assert_int_equal(bs_policy_admit(o, &other, "imx", "m", 1000, &err), BS_ERR_RATE);
	bs_policy_free(o);
	assert_int_equal(bs_policy_admit(p, &g_ci, "imx", "m", 1000 + 30000, &err), 0);
	assert_int_equal(bs_policy_admit(p, &g_ci, "imx", "m", 1000 + 30000, &err), BS_ERR_RATE);
	assert_int_equal(bs_policy_admit(p, &g_ci, "uefi", "m", 0, &err), 0);
	assert_int_equal(bs_policy_admit(p, &g_ci, "uefi", "m", 0, &err), 0);
	assert_int_equal(bs_policy_admit(p, &g_ci, "uefi", "m", 0, &err), BS_ERR_DENIED);
	assert_string_equal(err.msg, "usage limit: the rule at pol:2 allows 2 requests for client "
				     "token:ci");
	assert_int_equal(bs_policy_admit(p, &g_ci, "fit", "m", 0, &err), BS_ERR_DENIED);
	/* a reload keeps the counters of unchanged rules, and only those */
	struct bs_policy *q = parse("allow ci uefi * * max=2\nallow ci imx * * rate=3/min\n");
	bs_policy_carry_counters(q, p);
	assert_int_equal(bs_policy_admit(q, &g_ci, "uefi", "m", 0, &err), BS_ERR_DENIED);
	assert_int_equal(bs_policy_admit(q, &g_ci, "imx", "m", 31000, &err), 0);
	bs_policy_free(p);
	bs_policy_free(q);
}

static void test_auth_policy__allow_all_and_refs(void **state)
{
	(void)state;
	struct bs_policy *p = NULL;
	assert_int_equal(bs_policy_allow_all(&p, NULL), 0);
	assert_int_equal(bs_policy_admit(p, &g_anon, "imx", "m", 0, NULL), 0);
	assert_int_equal(bs_policy_key(p, &g_anon, "imx", "m", "k", NULL), 0);
	struct bs_policy *r = bs_policy_ref(p);
	bs_policy_free(p);
	assert_int_equal(bs_policy_rules(r), 0); /* still alive */
	bs_policy_free(r);
	bs_policy_free(NULL);
	assert_int_equal(bs_policy_load(&p, "/nonexistent/policy", NULL), BS_ERR_NOT_FOUND);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_policy__syntax_errors),
		cmocka_unit_test(test_auth_policy__first_match_and_default_deny),
		cmocka_unit_test(test_auth_policy__endpoint_precheck),
		cmocka_unit_test(test_auth_policy__key_deny_rules_wait_for_the_key),
		cmocka_unit_test(test_auth_policy__key_filter_agrees_with_the_policy),
		cmocka_unit_test(test_auth_policy__key_filter_many_deny_rules),
		cmocka_unit_test(test_auth_policy__client_kinds),
		cmocka_unit_test(test_auth_policy__digest_only),
		cmocka_unit_test(test_auth_policy__rate_and_max),
		cmocka_unit_test(test_auth_policy__allow_all_and_refs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
