/* Every fixed maximum of bootsign, named once (as curl keeps its DYN_* list).
 *
 * A bound on untrusted or operator input lives here with a note on what it bounds; code
 * uses the name, never a bare 512 or 4096. Defaults the configuration may change stay in
 * core/config.h; sizes that a format defines exactly (an IVT is 32 bytes) stay with the
 * format. Not yet here: the maxima of src/sign/ and src/http/server.c (see the lead). */
#ifndef BS_CORE_LIMITS_H
#define BS_CORE_LIMITS_H

/* ---- core ---- */
#define BS_ERROR_MSG_MAX 512                /* one error message, NUL included */
#define BS_LOG_LINE_MAX 2048                /* one formatted log message before the prefix */
#define BS_LOG_SECRETS_MAX 8                /* strings registered for log redaction */
#define BS_SECRET_FILE_MAX 4096u            /* a PIN / passphrase file (first line used) */
#define BS_PASSPHRASE_MAX 1024              /* a key passphrase (PKI ceremony, key stores) */
#define BS_PROMPT_MAX 256                   /* a PIN or passphrase typed on the terminal */
#define BS_PATH_MAX 4096u                   /* a path we build (PATH_MAX on Linux) */
#define BS_NUMBER_SHOWN_MAX 32              /* a rejected number quoted in a message */
#define BS_RUN_ARGS_MAX 256                 /* argv entries of an external tool */
#define BS_RUN_TAIL_MAX 4096u               /* stderr bytes of a failed tool kept */
#define BS_RUN_TERM_GRACE_MS 1000u          /* SIGTERM -> SIGKILL grace of a timed-out tool */
#define BS_SECMEM_HEAP (4u << 20)           /* locked, undumped heap for PINs, passphrases,
					     * key file bytes and private key numbers (a
					     * power of 2; a 4096-bit RSA key takes ~4 KiB) */

/* ---- server configuration (core/config.c): file and accepted ranges ---- */
#define BS_CONFIG_LINE_MAX 1024             /* one line of the server configuration */
#define BS_CONFIG_FILE_MAX (64u * 1024)     /* the whole server configuration file */
#define BS_CONFIG_WHERE_MAX 300             /* "file:line" naming a configuration setting */
#define BS_CONFIG_REQUEST_MIN 1024u         /* max_request_size may not be set lower */
#define BS_CONFIG_SPOOL_MEM_LIMIT (1ull << 32) /* spool_memory_max / _total: at most 4G */
#define BS_CONFIG_THREADS_MAX 256u          /* threads (event loops) */
#define BS_CONFIG_CONNECTIONS_MAX 65536u    /* connection_limit */
#define BS_CONFIG_CONN_TIMEOUT_MAX 86400u   /* connection_timeout, seconds (a day) */
#define BS_CONFIG_SIGN_TIMEOUT_MAX 86400u   /* sign_timeout, seconds (a day) */
#define BS_CONFIG_KEY_CACHE_MAX 4096u       /* key_cache_size, machines kept open */
#define BS_CONFIG_P11_TIMEOUT_MIN_MS 100u   /* pkcs11_timeout_ms range */
#define BS_CONFIG_P11_TIMEOUT_MAX_MS 3600000u

/* ---- crypto ---- */
#define BS_CMS_MAX (1u << 24)               /* any single encoded CMS (certificates, content) */
#define BS_CMS_VERIFY_MAX (1u << 20)        /* a CMS signature handed to the verifier */
#define BS_CMS_ATTR_MAX (64u << 10)         /* one extra signed attribute */
#define BS_CMS_EXTRA_ATTRS_MAX 16           /* extra signed attributes a signer may add */
#define BS_CMS_ATTRS_MAX (4 + BS_CMS_EXTRA_ATTRS_MAX) /* ours (4) + the extra ones */
#define BS_CMS_CERTS_MAX 16                 /* certificates in a CMS: signer + chain */
#define BS_DER_PART_MAX 4096                /* one algorithm identifier, attribute value, sid */
#define BS_DER_LEN_MAX 0xFFFFFFu            /* content length the DER writer encodes (3 octets) */
#define BS_PSS_SALT_MAX 512                 /* RSA-PSS salt, bytes (the real bound: key size) */
#define BS_EC_FIELD_MAX 66                  /* largest ECDSA field, bytes (P-521) */
#define BS_X509_CN_MAX 64                   /* a certificate common name (X.520 ub-common-name) */

/* ---- HAB4 (formats/hab) ---- */
#define HAB_CSF_CMDS_MAX 768                /* CST's command buffer */
#define HAB_SRK_RECORDS_MAX 4               /* SRK table records (fuses hold one hash of 4) */
#define BS_HAB_IVT_SCAN_MAX (64ull << 20)   /* bytes scanned for an IVT without --ivt-offset */
#define BS_HAB_AUTH_RANGES_MAX 1024         /* authenticated ranges a verified image may have */
/* Bytes hashed over all Authenticate Data commands: HAB addresses are 32-bit, so more
 * than 4 GiB can only come from blocks repeated to make verification slow. */
#define BS_HAB_HASH_TOTAL_MAX (1ull << 32)
#define BS_HAB_AUTH_BLOCKS_MAX 256          /* blocks of one Authenticate Data command */
#define BS_HAB_DUMP_BLOBS_MAX 64            /* signature blobs `hab dump` cross-references */
#define BS_CSF_TEXT_MAX (64u * 1024)        /* CSF source size */
#define BS_CSF_CMDS_MAX 64                  /* sections */
#define BS_CSF_BLOCKS_MAX 64                /* blocks per Blocks list */
#define BS_CSF_STRING_MAX 1024              /* a quoted file name or URI */
#define BS_CSF_WARNINGS_MAX 16              /* warnings kept per CSF (more are dropped) */
#define BS_CSF_NAME_MAX 64                  /* a section or argument name */
#define BS_CSF_VALUE_TOKENS_MAX 1024        /* per argument; 64 blocks need ~320 */
#define BS_CSF_ARGS_MAX 64                  /* per section */
#define BS_CSF_SRK_TABLE_MAX 8192u          /* 4 x RSA-4096 records need 2116 bytes */
#define BS_CSF_RECORD_MAX 0xFFFFu           /* header length field is 16 bits */
#define BS_CSF_OUT_MAX (1u << 20)           /* whole binary CSF */
#define BS_CSF_BLOBS_MAX (BS_CSF_CMDS_MAX + 1) /* signature blobs of one CSF */
#define BS_SRK_TABLE_MAX 0xFFFF             /* an SRK table (its length field is 16 bits) */
#define BS_SRK_DIGEST_MAX 64                /* an SRK hash (SHA-512 at most) */
#define BS_PKI_NAME_MAX 96                  /* "SRK1_sha256_2048_65537_v3_ca" and the like */
#define BS_PKI_TGZ_MAX (64u << 20)          /* PKI bundle: compressed output and total input */
#define BS_PKI_TGZ_FILE_MAX (1u << 20)      /* one file put into the PKI bundle */
#define BS_PKI_TGZ_ENTRIES_MAX 4096         /* files and directories in the PKI bundle */
#define BS_PKI_TGZ_DEPTH_MAX 8              /* directory depth walked into the PKI bundle */
#define BS_FUSE_FILE_MAX 4096u              /* an SRK fuse file (binary or text) */
#define BS_CERT_FILE_MAX (1u << 20)         /* a certificate file read by the CLI */
#define BS_KEY_FILE_MAX (1u << 20)          /* a private key file read by the CLI */
#define BS_CLI_FIELDS_MAX 32                /* --field / --file options of `bootsign sign` */
#define BS_CLI_FIELD_FILE_MAX (1u << 20)    /* --field name=@file */

/* ---- AHAB (formats/ahab) ---- */
#define BS_AHAB_IMAGES_MAX 8                /* images per container (SECO/ELE OEM limit) */
#define BS_AHAB_CONTAINERS_MAX 8            /* containers of a set the verifier walks */
#define BS_AHAB_SRK_TABLE_MAX 4096          /* an AHAB SRK table: 4 x RSA-4096 = 2104 bytes */
#define BS_AHAB_CSF_VALUE_TOKENS_MAX 8      /* tokens of one AHAB CSF value (Offsets: 3) */
#define BS_AHAB_SIG_FILE_MAX 1024           /* a pre-made certificate signature (RSA-4096: 512) */
#define BS_CLI_ARGS_MAX 64                  /* argv entries `srk -a` rewrites (-a N) */

/* ---- U-Boot FIT (formats/fit, sign/fitimage) ---- */
#define BS_FIT_SIZE_MAX (1024u * 1024 * 1024) /* a FIT, held in memory while it is signed */
#define BS_FIT_DTB_MAX (4u * 1024 * 1024)   /* a U-Boot control DTB (real ones: < 256 KiB) */
#define BS_FIT_NAME_MAX 64                  /* a key-name-hint / keyname (a DTB node name) */
#define BS_FIT_SIGS_MAX 64                  /* signature nodes in one FIT */
#define BS_FIT_ALGO_MAX 32                  /* "sha512,ecdsa384" and the like */
#define BS_FIT_COMMENT_MAX 256              /* the comment written into signature nodes */
#define BS_FIT_KEYNAME_MAX 512              /* keyname field: a key name or pkcs11: URI */
#define BS_FIT_OFFSET_FIELD_MAX 20          /* external_data_offset: "0x" + 16 hex digits */
#define BS_FIT_BOOL_FIELD_MAX 8             /* mark_required: "false" and friends */

/* ---- keys: stores and PKCS#11 ---- */
#define BS_NAME_MAX 64                      /* a machine / distro name (key bundle subject) */
#define BS_TOKCACHE_MAX 32                  /* token objects (keys, certificates) kept open */
#define BS_STORE_FILE_MAX (1u << 20)        /* any single file in a store */
#define BS_STORE_BUNDLE_MAX (64u << 20)     /* a whole tar.gz, uncompressed */
#define BS_STORE_ENTRIES_MAX 4096           /* members of a key bundle */
#define BS_STORE_NAME_MAX 4096              /* a member name (with link target) in a bundle */
#define BS_STORE_MEMO_MAX 16                /* keys and certificates a store keeps decoded */
#define BS_P11_URI_MAX 1024                 /* a pkcs11: URI */
#define BS_P11_POOL_MAX 16                  /* sessions per token (pkcs11_pool_size) */
#define BS_P11_TOKENS_MAX 8                 /* distinct token descriptions per handle */
#define BS_P11_SLOTS_MAX 64                 /* slots looked at when finding a token */
#define BS_P11_LABEL_MAX 128                /* an object label (CKA_LABEL) */
#define BS_P11_ID_MAX 64                    /* an object id (CKA_ID), bytes */
#define BS_P11_SIG_MAX 1024                 /* raw token signature: RSA up to 8192 bits */
#define BS_P11_TBS_MAX 128                  /* DigestInfo of SHA-512 is 83 bytes */
#define BS_P11_CERT_MAX (64u << 10)         /* a certificate object's value */
#define BS_P11_FIND_MAX 2                   /* matches fetched: one is right, two ambiguous */
#define BS_P11_LIST_MAX 1024                /* objects `hsm list` shows */
#define BS_P11_TMPL_MAX 24                  /* attributes of one object template */

/* ---- sign: the signer table and the signing job ---- */
#define BS_FORM_FIELDS_MAX 16               /* fields a signer declares */
#define BS_FIELD_TEXT_MAX 256               /* default bound of a small text field */
#define BS_JOB_KEYS_MAX 16                  /* distinct key ids recorded per job */
#define BS_JOB_KEY_ID_MAX 160               /* bytes of one key id */
#define BS_JOB_DIGESTS_MAX 65536            /* digests recorded per job (one per module) */
#define BS_JOB_DIGEST_MAX 64                /* bytes of one digest (SHA-512) */
#define BS_JOB_WHAT_MAX 128                 /* bytes naming what a digest covers */
#define BS_JOB_PRINCIPAL_MAX 128            /* who asked */
#define BS_JOB_TIMEOUT_DEFAULT_MS 600000u   /* a job's deadline (digsigserver's timeout) */
#define BS_SOURCE_DATE_EPOCH_MAX ((1ull << 40) - 1) /* SOURCE_DATE_EPOCH accepted */
#define BS_SINK_MEMORY_MAX (64u << 20)      /* an answer held in memory */
#define BS_SINK_NAME_MAX 64                 /* Content-Disposition file name */
#define BS_COPY_CHUNK 65536                 /* bytes per read when copying an input */
#define BS_TGZ_LEVEL_DEFAULT 1              /* gzip level of tar.gz answers */

/* ---- auth: clients, policy, audit ---- */
#define BS_AUTH_NAME_MAX 64                 /* a token name or certificate CN */
#define BS_AUTH_TOKENS_MAX 4096             /* tokens in a tokens file */
#define BS_AUTH_TOKENS_FILE_MAX (1u << 20)  /* bytes of a tokens file */
#define BS_AUTH_TOKEN_BYTES 32              /* random bytes of a new bearer token */
#define BS_AUTH_TOKEN_MAX 256               /* bytes of a presented bearer token */
#define BS_AUTH_SALT_BYTES 16               /* salt of a stored token hash */
#define BS_POLICY_FILE_MAX (1u << 20)       /* bytes of a policy file */
#define BS_POLICY_RULES_MAX 4096            /* rules in a policy file */
#define BS_POLICY_LINE_MAX 1024             /* bytes of one policy line */
#define BS_POLICY_PATTERN_MAX 256           /* bytes of one CLIENT/ENDPOINT/SUBJECT/KEY */
#define BS_POLICY_CLIENTS_MAX 1024          /* clients counted per rule (rate, max) */
#define BS_AUDIT_LINE_MAX (64u << 20)       /* bytes of one audit record */
#define BS_AUDIT_FIELD_MAX 512              /* bytes of one text field of a record */
#define BS_AUDIT_SEAL_EVERY 16              /* records between two seals */
#define BS_AUDIT_SIG_MAX 1024               /* bytes of a seal signature */
#define BS_SERVICE_KEY_FILE_MAX (64u << 10) /* bytes of a server key PEM file (audit_key) */

/* ---- key process (keys/keyproc*.c) ---- */
#define BS_DERCACHE_ENTRIES 32            /* decoded certificates / public keys kept (each kind) */
#define BS_KEYPROC_MSG_MAX (4u << 20)       /* bytes of one message on the key socket */
#define BS_KEYPROC_FIELDS_MAX 8             /* fields of one message */
#define BS_KEYPROC_DER_MAX (64u << 10)      /* a certificate or public key (DER) */
#define BS_KEYPROC_DIGEST_MAX 64            /* a digest to sign (SHA-512) */
#define BS_KEYPROC_SIG_MAX 1024             /* a signature */
#define BS_KEYPROC_ERRMSG_MAX 1024          /* an error message in a reply (>= BS_ERROR_MSG_MAX) */
#define BS_KEYPROC_MEMBERS_MAX (256u << 10) /* the member names of a bundle, bytes */
#define BS_KEYPROC_LEASES_MAX 1024          /* open leases in the key process */
#define BS_KEYPROC_KEYS_MAX 4096            /* open key handles in the key process */
#define BS_KP_PUBCACHE_ENTRIES 64          /* public bundle members the server side keeps */
#define BS_KP_PUBCACHE_ITEM_MAX (64u << 10) /* bytes of one kept member */
#define BS_KEY_FILTER_MAX (64u << 10)      /* a request's key filter (policy decision), bytes */
#define BS_KEYPROC_HANDSHAKE_MS 5000      /* a TLS handshake's signature by the key process */
#define BS_KEYPROC_WORKERS 8               /* threads answering in the key process */
#define BS_KEYPROC_TIMEOUT_MS 120000        /* one answer from the key process */
#define BS_KEYPROC_PROBE_MS 2000           /* its answer to /healthz and /metrics */

/* ---- http ---- */
#define BS_HTTP_CONN_MEMORY (128u * 1024)   /* per-connection read buffer */
#define BS_HTTP_SPARE_CONNECTIONS 16        /* accepted beyond connection_limit, only to
					     * be answered 503 and to serve /healthz */
#define BS_HTTP_REQID_LEN 16                /* hex characters of a request id */
#define BS_HTTP_LOG_DIGESTS 4               /* digests on a request log line */
#define BS_HTTP_DRAIN_MAX (64ull << 20)     /* chunked bytes read past the limit to answer 413 */
#define BS_HTTP_SIGNERS_JSON_MAX (1u << 20) /* GET /signers answer */
#define BS_HTTP_LOG_KEYS_MAX 512            /* key ids on a request log line, bytes */
#define BS_MP_FILENAME_MAX 255              /* an uploaded file's name (multipart) */
#define BS_MP_CTYPE_MAX 128                 /* a multipart part's Content-Type */

#endif
