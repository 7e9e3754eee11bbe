/* Fault-injecting PKCS#11 module for tests: forwards every call to SoftHSM2 (or
 * $P11SHIM_TARGET) and, as told by the control file $P11SHIM_CTL (re-read on each call),
 * injects faults. Control file lines, key=value:
 *   epoch=N          a new value applies the one-shot settings below (once per epoch)
 *   fail_session=N   the next N session calls return CKR_SESSION_HANDLE_INVALID
 *   close_all=1      at the epoch change, really close every session of the token
 *   removed=1        device removed: real sessions closed at the epoch change, then every
 *                    call fails (CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT) until 0
 *   sleep_sign_ms=N  C_Sign sleeps N ms first (a slow or stuck token)
 *   reset_counts=1   at the epoch change, zero the counters
 * Counters go to $P11SHIM_COUNT (rewritten after each counted call), one line:
 *   login=L open=O close=C close_all=A sign=S sessinfo=I */
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TARGET "/usr/lib/softhsm/libsofthsm2.so"

static CK_FUNCTION_LIST *g_real;
static CK_FUNCTION_LIST g_list;
static void *g_dl;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
/* Injected session loss happens between calls (like a token reclaiming idle sessions),
 * never in the middle of one: forwarded calls hold this for reading. */
static pthread_rwlock_t g_calls = PTHREAD_RWLOCK_INITIALIZER;

static long g_epoch = -1;
static long g_fail_session;
static int g_removed;
static long g_sleep_sign_ms;
static unsigned long g_login, g_open, g_close, g_close_all, g_sign, g_sessinfo;

static void close_everything(void)
{
	CK_SLOT_ID ids[32];
	CK_ULONG n = 32;
	pthread_rwlock_wrlock(&g_calls);
	if (g_real->C_GetSlotList(CK_FALSE, ids, &n) == CKR_OK)
		for (CK_ULONG i = 0; i < n; i++)
			(void)g_real->C_CloseAllSessions(ids[i]);
	pthread_rwlock_unlock(&g_calls);
}

#define FWD(call)                                                                          \
	do {                                                                               \
		pthread_rwlock_rdlock(&g_calls);                                           \
		CK_RV fwd_rv = (call);                                                     \
		pthread_rwlock_unlock(&g_calls);                                           \
		return fwd_rv;                                                             \
	} while (0)
/* The injected fault for `kind` (counting the call in *counter unless NULL), else the real
 * call. */
#define FAULT_FWD(kind, counter, call)                                                     \
	do {                                                                               \
		CK_RV fault_rv = fault(kind, counter);                                     \
		if (fault_rv != CKR_OK)                                                    \
			return fault_rv;                                                   \
		FWD(call);                                                                 \
	} while (0)

/* Re-read the control file; called with g_lock held. */
static void read_ctl(void)
{
	const char *path = getenv("P11SHIM_CTL");
	if (path == NULL)
		return;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	long epoch = 0, fail = 0, removed = 0, sleep_ms = 0, close_all = 0, reset = 0;
	char line[128];
	while (fgets(line, sizeof(line), f) != NULL) {
		long v;
		if (sscanf(line, "epoch=%ld", &v) == 1)
			epoch = v;
		else if (sscanf(line, "fail_session=%ld", &v) == 1)
			fail = v;
		else if (sscanf(line, "removed=%ld", &v) == 1)
			removed = v;
		else if (sscanf(line, "sleep_sign_ms=%ld", &v) == 1)
			sleep_ms = v;
		else if (sscanf(line, "close_all=%ld", &v) == 1)
			close_all = v;
		else if (sscanf(line, "reset_counts=%ld", &v) == 1)
			reset = v;
	}
	fclose(f);
	g_sleep_sign_ms = sleep_ms;
	if (epoch != g_epoch) {
		g_epoch = epoch;
		g_fail_session = fail;
		if (reset)
			g_login = g_open = g_close = g_close_all = g_sign = g_sessinfo = 0;
		if ((close_all || (removed && !g_removed)) && g_real != NULL)
			close_everything();
	}
	g_removed = (int)removed;
}

static void write_counts(void)
{
	const char *path = getenv("P11SHIM_COUNT");
	if (path == NULL)
		return;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return;
	fprintf(f, "login=%lu open=%lu close=%lu close_all=%lu sign=%lu sessinfo=%lu\n", g_login,
		g_open, g_close, g_close_all, g_sign, g_sessinfo);
	fclose(f);
	rename(tmp, path);
}

enum kind { K_NONE, K_TOKEN, K_SESSION };

/* Fault to inject for a call of this kind (CKR_OK = forward). */
static CK_RV fault(enum kind k, unsigned long *counter)
{
	CK_RV rv = CKR_OK;
	pthread_mutex_lock(&g_lock);
	read_ctl();
	if (counter != NULL) {
		(*counter)++;
		write_counts();
	}
	if (g_removed && k == K_TOKEN)
		rv = CKR_TOKEN_NOT_PRESENT;
	else if (g_removed && k == K_SESSION)
		rv = CKR_DEVICE_REMOVED;
	else if (k == K_SESSION && g_fail_session > 0) {
		g_fail_session--;
		rv = CKR_SESSION_HANDLE_INVALID;
	}
	pthread_mutex_unlock(&g_lock);
	return rv;
}

static CK_RV shim_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	FAULT_FWD(K_TOKEN, NULL, g_real->C_GetTokenInfo(slot, info));
}

static CK_RV shim_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify,
			      CK_SESSION_HANDLE *s)
{
	FAULT_FWD(K_TOKEN, &g_open, g_real->C_OpenSession(slot, flags, app, notify, s));
}

static CK_RV shim_CloseSession(CK_SESSION_HANDLE s)
{
	(void)fault(K_NONE, &g_close);
	FWD(g_real->C_CloseSession(s));
}

static CK_RV shim_CloseAllSessions(CK_SLOT_ID slot)
{
	(void)fault(K_NONE, &g_close_all);
	FWD(g_real->C_CloseAllSessions(slot));
}

static CK_RV shim_GetSessionInfo(CK_SESSION_HANDLE s, CK_SESSION_INFO *info)
{
	FAULT_FWD(K_SESSION, &g_sessinfo, g_real->C_GetSessionInfo(s, info));
}

static CK_RV shim_Login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR *pin, CK_ULONG len)
{
	FAULT_FWD(K_SESSION, &g_login, g_real->C_Login(s, u, pin, len));
}

static CK_RV shim_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n)
{
	FAULT_FWD(K_SESSION, NULL, g_real->C_FindObjectsInit(s, t, n));
}

static CK_RV shim_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t,
				    CK_ULONG n)
{
	FAULT_FWD(K_SESSION, NULL, g_real->C_GetAttributeValue(s, o, t, n));
}

static CK_RV shim_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k)
{
	FAULT_FWD(K_SESSION, NULL, g_real->C_SignInit(s, m, k));
}

static CK_RV shim_Sign(CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG dl, CK_BYTE *sig,
		       CK_ULONG *sl)
{
	CK_RV rv = fault(K_SESSION, &g_sign);
	pthread_mutex_lock(&g_lock);
	long ms = g_sleep_sign_ms;
	pthread_mutex_unlock(&g_lock);
	if (ms > 0) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (rv != CKR_OK)
		return rv;
	FWD(g_real->C_Sign(s, d, dl, sig, sl));
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out);

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out)
{
	pthread_mutex_lock(&g_lock);
	if (g_real == NULL) {
		const char *target = getenv("P11SHIM_TARGET");
		g_dl = dlopen(target != NULL ? target : DEFAULT_TARGET, RTLD_NOW | RTLD_LOCAL);
		CK_C_GetFunctionList gfl =
			g_dl != NULL ? (CK_C_GetFunctionList)dlsym(g_dl, "C_GetFunctionList") : NULL;
		if (gfl == NULL || gfl(&g_real) != CKR_OK) {
			pthread_mutex_unlock(&g_lock);
			return CKR_GENERAL_ERROR;
		}
		g_list = *g_real;
		g_list.C_GetFunctionList = C_GetFunctionList;
		g_list.C_GetTokenInfo = shim_GetTokenInfo;
		g_list.C_OpenSession = shim_OpenSession;
		g_list.C_CloseSession = shim_CloseSession;
		g_list.C_CloseAllSessions = shim_CloseAllSessions;
		g_list.C_GetSessionInfo = shim_GetSessionInfo;
		g_list.C_Login = shim_Login;
		g_list.C_FindObjectsInit = shim_FindObjectsInit;
		g_list.C_GetAttributeValue = shim_GetAttributeValue;
		g_list.C_SignInit = shim_SignInit;
		g_list.C_Sign = shim_Sign;
	}
	pthread_mutex_unlock(&g_lock);
	*out = &g_list;
	return CKR_OK;
}
