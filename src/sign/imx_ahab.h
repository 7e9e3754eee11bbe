/* /sign/imx for i.MX AHAB parts (8QXP, 8QM, 8ULP, 91, 93, 95): called from imx.c. */
#ifndef BS_SIGN_IMX_AHAB_H
#define BS_SIGN_IMX_AHAB_H

#include <stdbool.h>

#include "core/error.h"
#include "sign/job.h"

/* Is this request AHAB's (a CSF with [Header] Target = AHAB)? A HAB4 CSF with an AHAB
 * soctype stays with imx.c, whose SoC check answers it. */
bool bs_imx_ahab_wants(const struct bs_job *job);

/* Sign it: the soctype must be an AHAB part (formats/hab/soc.h; otherwise a 400); the Authenticate Data File names the artifact; keys from the machine's CST
 * bundle or pkcs11: URIs (backend=pkcs11). Answers the whole signed image through the
 * job's file sink (the artifact copied, the new container written over it). */
int bs_imx_ahab_sign(struct bs_job *job, const char *csfname, struct bs_error *err) BS_WUR;

#endif
