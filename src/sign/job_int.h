/* Internals shared by job.c (job, inputs, keys, record) and sink.c (outputs). */
#ifndef BS_SIGN_JOB_INT_H
#define BS_SIGN_JOB_INT_H

#include "sign/job.h"

enum bs_sink_kind { BS_SINK_MEMORY, BS_SINK_FILE, BS_SINK_TGZ, BS_SINK_TEXT };

/* Create the sink of kind k for job (one per job); sink.c. */
int bs_sink_new(struct bs_sink **out, enum bs_sink_kind k, const char *scratch,
		const char *content_type, const char *filename, struct bs_error *err) BS_WUR;
/* A tgz sink with gzip level 0 (stored) .. 9; bs_sink_new uses libarchive's default. */
int bs_sink_new_tgz(struct bs_sink **out, const char *scratch, const char *filename, int level,
		    struct bs_error *err) BS_WUR;
/* Finish writing (tgz trailer, flush); after this the output can be taken. */
int bs_sink_close(struct bs_sink *s, struct bs_error *err) BS_WUR;
/* Hand the finished output over (memory: borrowed data; file: a dup'd, rewound fd). */
int bs_sink_output(struct bs_sink *s, struct bs_job_output *out, struct bs_error *err) BS_WUR;
void bs_sink_free(struct bs_sink *s);

/* Scratch directory of the job (created on first call). */
int bs_job_scratch_dir(struct bs_job *job, const char **out, struct bs_error *err) BS_WUR;
/* Attach the sink as the job's one output. */
int bs_job_set_sink(struct bs_job *job, struct bs_sink *s, struct bs_error *err) BS_WUR;

#endif
