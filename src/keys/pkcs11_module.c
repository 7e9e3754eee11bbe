/* PKCS#11 module loading (p11-kit; its own proxy by dlopen) and CK_RV names/classes. */
#include <dlfcn.h>
#include <p11-kit/p11-kit.h>
#include <string.h>

#include "core/util.h"
#include "keys/pkcs11_int.h"



struct rv_name {
	CK_RV rv;
	const char *name;
};

static const struct rv_name g_rv_names[] = {
	{CKR_OK, "CKR_OK"},
	{CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
	{CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
	{CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
	{CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
	{CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
	{CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
	{CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
	{CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
	{CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
	{CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
	{CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
	{CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
	{CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
	{CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
	{CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
	{CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
	{CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
	{CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
	{CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
	{CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
	{CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
	{CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
	{CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
	{CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
	{CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
	{CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
	{CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
	{CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
	{CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
	{CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
	{CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
	{CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
	{CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
	{CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
	{CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
	{CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
	{CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
	{P11_RV_AMBIGUOUS, "several tokens match the URI"},
};

const char *p11_rv_name(CK_RV rv)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(g_rv_names); i++)
		if (g_rv_names[i].rv == rv)
			return g_rv_names[i].name;
	return "CKR_(other)";
}

bool p11_rv_recoverable(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	       rv == CKR_DEVICE_REMOVED || rv == CKR_USER_NOT_LOGGED_IN ||
	       rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_ERROR;
}

bool p11_rv_pin_error(CK_RV rv)
{
	return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE;
}

/* p11-kit refuses to load its own proxy as a module; the proxy is loaded with dlopen and
 * initialised once per process (reference counted, since C_Initialize is per process). */
static pthread_mutex_t g_proxy_lock = PTHREAD_MUTEX_INITIALIZER;
static void *g_proxy_dl;
static CK_FUNCTION_LIST *g_proxy_f;
static unsigned g_proxy_refs;

static bool is_proxy(const char *module)
{
	const char *base = strrchr(module, '/');
	base = base != NULL ? base + 1 : module;
	return strcmp(base, "p11-kit-proxy.so") == 0;
}

static int proxy_load(struct bs_p11 *p, struct bs_error *err)
{
	int rc = 0;
	pthread_mutex_lock(&g_proxy_lock);
	if (g_proxy_refs == 0) {
		void *dl = dlopen(p->module, RTLD_NOW | RTLD_LOCAL);
		CK_C_GetFunctionList gfl =
			dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
		CK_FUNCTION_LIST *f = NULL;
		CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
		CK_RV rv = CKR_GENERAL_ERROR;
		if (gfl == NULL || gfl(&f) != CKR_OK || f == NULL ||
		    ((rv = f->C_Initialize(&args)) != CKR_OK &&
		     rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			if (dl != NULL)
				dlclose(dl);
			rc = bs_error_set(err, BS_ERR_CONFIG, "cannot load PKCS#11 module %s (%s)",
					  p->module, f == NULL ? "no C_GetFunctionList"
							       : p11_rv_name(rv));
			goto out;
		}
		g_proxy_dl = dl;
		g_proxy_f = f;
	}
	g_proxy_refs++;
	p->f = g_proxy_f;
out:
	pthread_mutex_unlock(&g_proxy_lock);
	return rc;
}

int p11_module_load(struct bs_p11 *p, struct bs_error *err)
{
	if (is_proxy(p->module))
		return proxy_load(p, err);
	p->f = p11_kit_module_load(p->module, P11_KIT_MODULE_CRITICAL);
	if (p->f == NULL)
		return bs_error_set(err, BS_ERR_CONFIG, "cannot load PKCS#11 module %s: %s",
				    p->module, p11_kit_message() ? p11_kit_message() : "");
	CK_RV rv = p11_kit_module_initialize(p->f);
	if (rv != CKR_OK) {
		p11_kit_module_release(p->f);
		p->f = NULL;
		return bs_error_set(err, BS_ERR_TOKEN, "cannot initialise PKCS#11 module %s: %s",
				    p->module, p11_rv_name(rv));
	}
	return 0;
}

CK_RV p11_module_reinit(struct bs_p11 *p)
{
	if (is_proxy(p->module))
		return CKR_FUNCTION_NOT_SUPPORTED;
	(void)p11_kit_module_finalize(p->f);
	return p11_kit_module_initialize(p->f);
}

void p11_module_unload(struct bs_p11 *p)
{
	if (!is_proxy(p->module)) {
		(void)p11_kit_module_finalize(p->f);
		p11_kit_module_release(p->f);
		return;
	}
	pthread_mutex_lock(&g_proxy_lock);
	if (--g_proxy_refs == 0) {
		(void)g_proxy_f->C_Finalize(NULL);
		dlclose(g_proxy_dl);
		g_proxy_f = NULL;
		g_proxy_dl = NULL;
	}
	pthread_mutex_unlock(&g_proxy_lock);
}

