/* Digest-only requests on /sign/imx: the client hashes the [Authenticate Data] blocks
 * itself and sends, instead of the artifact, a `digests` field (docs/server.md):
 *
 *   artifact <file name> <size in bytes>
 *   <CSF line of an [Authenticate Data]> sha256:<hex> <total length of its blocks>
 *   ...                                     (one line per [Authenticate Data])
 *
 * The CSF is checked as for a full upload, with the declared artifact in place of the
 * bytes: Blocks must name <file name>, every block must lie inside <size>, every
 * [Authenticate Data] must have exactly one line whose length is the sum of its blocks
 * and whose algorithm is the CSF's Header hash algorithm. The digests are then signed
 * unchanged (the job records them as for a full upload). */
#ifndef BS_SIGN_IMX_DIGEST_H
#define BS_SIGN_IMX_DIGEST_H

#include "core/error.h"
#include "formats/hab/csf.h"
#include "formats/hab/csf_sign.h"

struct bs_job;
struct bs_imx_digests;

#define BS_IMX_DIGESTS_TEXT_MAX 4096u /* the `digests` field */

/* The field spec line for the signer's table. */
#define BS_IMX_DIGESTS_FIELD                                                               \
	{.name = "digests", .store = BS_FIELD_MEM, .max = BS_IMX_DIGESTS_TEXT_MAX,         \
	 .check = BS_CHECK_TEXT, .help = "digest-only: artifact name/size + one digest "  \
					 "per [Authenticate Data] (instead of artifact)"}

/* *out = NULL (and 0) when the job carries an artifact and no `digests`; the parsed and
 * checked digests otherwise. Exactly one of artifact / digests: BS_ERR_INVALID else. */
int bs_imx_digests_new(struct bs_imx_digests **out, struct bs_job *job,
		       const struct bs_csf *csf, const char *csfname,
		       struct bs_error *err) BS_WUR;
/* The `digests` text checked against the parsed CSF (what bs_imx_digests_new does after
 * reading the field). BS_ERR_INVALID / BS_ERR_LIMIT naming the line; *out NULL then. */
int bs_imx_digests_parse(struct bs_imx_digests **out, const char *text,
			 const struct bs_csf *csf, const char *csfname,
			 struct bs_error *err) BS_WUR;
/* A data source giving the sent digests (its `open` refuses). Valid while d lives. */
struct bs_data_source bs_imx_digests_source(struct bs_imx_digests *d);
void bs_imx_digests_free(struct bs_imx_digests *d);

#endif
