/* Signing a FIT the way mkimage -F does (see fit.h): one pass over the blob with room to
 * grow, then the sizes mkimage would have ended with. mkimage retries from the packed FIT
 * with 1 KiB more room each time a write does not fit (the control DTB keeps what earlier
 * tries wrote and grows by the same step every try), so its output sizes follow from the
 * most bytes each blob ever used. */
#include <libfdt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/fit/fit_int.h"

struct signer {
	struct bs_fit_fdt fit, dtb;
	bool have_dtb;
	const struct bs_fit_opts *o;
	const struct bs_fit_keys *keys;
	uint32_t timestamp;
	char (*paths)[BS_FIT_PATH_MAX]; /* hashed nodes of one configuration signature */
	size_t npaths;
	size_t nsigs;
};

/* A string property (NUL-terminated), or NULL. */
static const char *str_prop(const void *fdt, int node, const char *name)
{
	int len = 0;
	const char *p = fdt_getprop(fdt, node, name, &len);
	return p != NULL && len > 0 && p[len - 1] == '\0' ? p : NULL;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int path_of(char *out, const void *fdt, int node, struct bs_error *err)
{
	int rc = fdt_get_path(fdt, node, out, BS_FIT_PATH_MAX);
	if (rc != 0)
		return bs_error_set(err, BS_ERR_LIMIT, "FIT: node path longer than %d bytes: %s",
				    BS_FIT_PATH_MAX - 1, fdt_strerror(rc));
	return 0;
}

bool bs_fit_key_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	bool ok = n > 0 && n <= BS_FIT_NAME_MAX && strstr(name, "..") == NULL;
	for (size_t i = 0; ok && i < n; i++)
		ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		     (name[i] >= '0' && name[i] <= '9') || strchr("._+-", name[i]) != NULL;
	return ok;
}

static int check_hint(const char *hint, const char *where, struct bs_error *err)
{
	if (!bs_fit_key_name_ok(hint))
		return bs_error_set(err, BS_ERR_INVALID,
				    "FIT: %s: key-name-hint %s%.64s%s is missing or not a key name "
				    "([A-Za-z0-9._+-], at most %d bytes)", where, hint ? "'" : "",
				    hint ? hint : "absent", hint ? "'" : "", BS_FIT_NAME_MAX);
	return 0;
}

/* One signature node's algorithm, key and signing parameters. */
struct sig {
	char algo[BS_FIT_ALGO_MAX]; /* copied: FIT writes move the property */
	struct bs_fit_sigalg alg;
	char hint[BS_FIT_NAME_MAX + 1];
	struct bs_key *key;
	struct bs_sig_params p;
};

static int key_matches(const struct sig *s, const char *where, struct bs_error *err)
{
	EVP_PKEY *pub = bs_key_public(s->key);
	int type = EVP_PKEY_get_base_id(pub);
	unsigned bits = (unsigned)EVP_PKEY_get_bits(pub);
	bool rsa = s->alg.crypto == BS_FIT_RSA;
	if ((rsa ? type == EVP_PKEY_RSA : type == EVP_PKEY_EC) && bits == s->alg.bits)
		return 0;
	return bs_error_set(err, BS_ERR_INVALID, "FIT: %s: key '%s' is %s-%u, algo '%s' needs %s-%u",
			    where, s->hint, type == EVP_PKEY_RSA ? "RSA" : type == EVP_PKEY_EC ? "EC"
			    : "other", bits, s->algo, rsa ? "RSA" : "EC", s->alg.bits);
}

static int sig_setup(struct sig *s, struct signer *g, int node, const char *where,
		     struct bs_error *err)
{
	const void *fit = g->fit.fdt;
	const char *algo = g->o->algo ? g->o->algo : str_prop(fit, node, "algo");
	if (algo == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "FIT: %s: no algo", where);
	int rc = bs_fit_sigalg_parse(&s->alg, algo, err);
	if (rc != 0)
		return bs_error_prefix(err, "FIT: %s", where);
	const char *padding = str_prop(fit, node, "padding");
	bool pss = padding != NULL && strcmp(padding, "pss") == 0;
	if ((padding != NULL && !pss && strcmp(padding, "pkcs-1.5") != 0) ||
	    (pss && s->alg.crypto != BS_FIT_RSA))
		return bs_error_set(err, BS_ERR_INVALID,
				    "FIT: %s: padding '%.32s' is not one U-Boot knows for %s", where,
				    padding, s->algo);
	snprintf(s->algo, sizeof(s->algo), "%s", algo);
	const char *hint = str_prop(fit, node, "key-name-hint");
	if ((rc = check_hint(hint, where, err)) != 0)
		return rc;
	snprintf(s->hint, sizeof(s->hint), "%s", hint);
	if ((rc = g->keys->get(g->keys->ctx, s->hint, &s->key, err)) != 0)
		return rc;
	if ((rc = key_matches(s, where, err)) != 0)
		return rc;
	s->p.md_nid = s->alg.md_nid;
	s->p.scheme = pss ? BS_SIG_RSA_PSS : BS_SIG_DEFAULT;
	/* OpenSSL's default PSS salt when signing (mkimage sets none): the largest one. */
	s->p.pss_saltlen = pss ? (int)((s->alg.bits - 1 + 7) / 8 - s->alg.dlen - 2) : 0;
	s->p.ecdsa_raw = s->alg.crypto == BS_FIT_ECDSA;
	return 0;
}

/* Write value and signer data as mkimage's fit_image_write_sig does, in its order. */
static int write_sig(struct signer *g, int node, const uint8_t *v, size_t vlen,
		     const char *hashed, size_t hashed_len, uint32_t strings_before,
		     struct bs_error *err)
{
	struct bs_fit_fdt *f = &g->fit;
	int rc = bs_fit_setprop(f, node, "value", v, vlen, err);
	if (rc == 0)
		rc = bs_fit_setprop_str(f, node, "signer-name", "mkimage", err);
	if (rc == 0)
		rc = bs_fit_setprop_str(f, node, "signer-version", BS_FIT_SIGNER_VERSION, err);
	if (rc == 0 && g->o->comment != NULL)
		rc = bs_fit_setprop_str(f, node, "comment", g->o->comment, err);
	if (rc == 0)
		rc = bs_fit_setprop_u32(f, node, "timestamp", g->timestamp, err);
	if (rc == 0 && hashed != NULL) {
		rc = bs_fit_setprop(f, node, "hashed-nodes", hashed, hashed_len, err);
		fdt32_t strdata[2] = {0, cpu_to_fdt32(strings_before)};
		if (rc == 0)
			rc = bs_fit_setprop(f, node, "hashed-strings", strdata, sizeof(strdata), err);
	}
	if (rc == 0 && g->o->algo != NULL)
		rc = bs_fit_setprop_str(f, node, "algo", g->o->algo, err);
	return rc;
}

/* Sign digest d for the node at `node` and write everything (FIT and DTB). */
static int finish_sig(struct signer *g, struct sig *s, int node, const char *where,
		      const uint8_t *d, const char *hashed, size_t hashed_len,
		      uint32_t strings_before, const char *required, struct bs_error *err)
{
	uint8_t *v = NULL;
	size_t vlen = 0;
	int rc = 0;
	if (g->keys->note != NULL)
		rc = g->keys->note(g->keys->ctx, where, s->alg.md_nid, d, s->alg.dlen, err);
	if (rc == 0)
		rc = bs_key_sign(s->key, &s->p, d, s->alg.dlen, &v, &vlen, err);
	if (rc != 0) {
		bs_error_prefix(err, "FIT: %s: signing with key '%s'", where, s->hint);
		goto out;
	}
	rc = write_sig(g, node, v, vlen, hashed, hashed_len, strings_before, err);
	if (rc == 0 && g->have_dtb)
		rc = bs_fit_add_pubkey(&g->dtb, bs_key_public(s->key), s->hint, s->algo,
				       g->o->require ? required : NULL, err);
out:
	free(v);
	return rc;
}

static int count_sig(struct signer *g, struct bs_error *err)
{
	if (++g->nsigs > BS_FIT_SIGS_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "FIT: more than %d signature nodes",
				    BS_FIT_SIGS_MAX);
	return 0;
}

static int image_sig(struct signer *g, int image, int node, const char *where,
		     struct bs_error *err)
{
	struct sig s = {0};
	uint8_t d[BS_FIT_DIGEST_MAX];
	int len = 0, rc = count_sig(g, err);
	if (rc == 0)
		rc = sig_setup(&s, g, node, where, err);
	const void *data = rc == 0 ? fdt_getprop(g->fit.fdt, image, "data", &len) : NULL;
	if (rc == 0 && (data == NULL ||
			EVP_Digest(data, (size_t)len, d, NULL, EVP_get_digestbynid(s.alg.md_nid),
				   NULL) != 1))
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "FIT: %s: digest", where);
	if (rc == 0)
		rc = finish_sig(g, &s, node, where, d, NULL, 0, 0, "image", err);
	bs_key_free(s.key);
	return rc;
}

static int image_hash(struct signer *g, int image, int node, const char *where,
		      struct bs_error *err)
{
	const char *algo = str_prop(g->fit.fdt, node, "algo");
	uint8_t d[BS_FIT_DIGEST_MAX];
	size_t dlen = 0;
	int nid = 0, len = 0;
	if (algo == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "FIT: %s: no algo", where);
	const void *data = fdt_getprop(g->fit.fdt, image, "data", &len);
	int rc = bs_fit_image_hash(d, &dlen, &nid, algo, data, (size_t)len, err);
	if (rc != 0)
		return bs_error_prefix(err, "FIT: %s", where);
	if (nid != NID_undef && g->keys->note != NULL &&
	    (rc = g->keys->note(g->keys->ctx, where, nid, d, dlen, err)) != 0)
		return rc;
	return bs_fit_setprop(&g->fit, node, "value", d, dlen, err);
}

static int do_images(struct signer *g, struct bs_error *err)
{
	void *fit = g->fit.fdt;
	char where[BS_FIT_PATH_MAX];
	int images = fdt_path_offset(fit, "/images"), rc = 0;
	for (int img = fdt_first_subnode(fit, images); rc == 0 && img >= 0;
	     img = fdt_next_subnode(fit, img)) {
		if (fdt_getprop(fit, img, "data", NULL) == NULL)
			return bs_error_set(err, BS_ERR_INVALID,
					    "FIT: image '%.64s' has no data (data-position "
					    "images cannot be signed)", fdt_get_name(fit, img, NULL));
		if (fdt_subnode_offset(fit, img, "cipher") >= 0)
			return bs_error_set(err, BS_ERR_UNSUPPORTED,
					    "FIT: image '%.64s' is to be encrypted (cipher node): "
					    "not supported", fdt_get_name(fit, img, NULL));
		for (int sub = fdt_first_subnode(fit, img); rc == 0 && sub >= 0;
		     sub = fdt_next_subnode(fit, sub)) {
			const char *name = fdt_get_name(fit, sub, NULL);
			bool hash = has_prefix(name, "hash"), sig = has_prefix(name, "signature");
			if ((hash || sig) && (rc = path_of(where, fit, sub, err)) != 0)
				break;
			if (hash)
				rc = image_hash(g, img, sub, where, err);
			else if (sig)
				rc = image_sig(g, img, sub, where, err);
		}
	}
	return rc;
}

static int add_path(struct signer *g, const char *path, struct bs_error *err)
{
	if (g->npaths == BS_FIT_HASHED_NODES_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "FIT: a configuration signature would "
				    "hash more than %d nodes", BS_FIT_HASHED_NODES_MAX);
	snprintf(g->paths[g->npaths++], BS_FIT_PATH_MAX, "%s", path);
	return 0;
}

/* The image with its hash nodes (and cipher node), as mkimage's fit_config_add_hash. */
static int add_image(struct signer *g, int img, const char *where, struct bs_error *err)
{
	char p[BS_FIT_PATH_MAX];
	int rc = path_of(p, g->fit.fdt, img, err), hashes = 0;
	if (rc == 0)
		rc = add_path(g, p, err);
	for (int sub = fdt_first_subnode(g->fit.fdt, img); rc == 0 && sub >= 0;
	     sub = fdt_next_subnode(g->fit.fdt, sub)) {
		if (!has_prefix(fdt_get_name(g->fit.fdt, sub, NULL), "hash"))
			continue;
		hashes++;
		if ((rc = path_of(p, g->fit.fdt, sub, err)) == 0)
			rc = add_path(g, p, err);
	}
	if (rc == 0 && hashes == 0)
		rc = bs_error_set(err, BS_ERR_INVALID, "FIT: %s: image '%.64s' has no hash node, "
				  "so the configuration cannot protect it", where,
				  fdt_get_name(g->fit.fdt, img, NULL));
	return rc;
}

/* hashed-nodes of a configuration signature: /, the configuration, its images. */
static int conf_nodes(struct signer *g, int conf, int node, const char *where,
		      struct bs_error *err)
{
	static const char defaults[] = "kernel\0fdt";
	const void *fit = g->fit.fdt;
	char p[BS_FIT_PATH_MAX];
	int len = 0, rc, images = fdt_path_offset(fit, "/images"), found = 0;
	g->npaths = 0;
	const char *list = fdt_getprop(fit, node, "sign-images", &len);
	bool allow_missing = list == NULL;
	if (list == NULL) {
		list = defaults;
		len = sizeof(defaults);
	} else if (len > 0 && list[len - 1] != '\0') {
		return bs_error_set(err, BS_ERR_FORMAT, "FIT: %s: sign-images is not a string list",
				    where);
	}
	snprintf(p, sizeof(p), "/configurations/%s", fdt_get_name(fit, conf, NULL));
	if ((rc = add_path(g, "/", err)) != 0 || (rc = add_path(g, p, err)) != 0 || len == 0)
		return rc;
	for (const char *kind = list; rc == 0 && kind < list + len; kind += strlen(kind) + 1) {
		int n = fdt_stringlist_count(fit, conf, kind);
		for (int i = 0; rc == 0 && i < n; i++) {
			const char *uname = fdt_stringlist_get(fit, conf, kind, i, NULL);
			int img = uname ? fdt_subnode_offset(fit, images, uname) : -1;
			if (img < 0 && allow_missing)
				continue;
			if (img < 0)
				return bs_error_set(err, BS_ERR_INVALID, "FIT: %s: image '%.64s' "
						    "(%s) not found", where, uname ? uname : "?", kind);
			rc = add_image(g, img, where, err);
			found++;
		}
	}
	if (rc == 0 && found == 0)
		rc = bs_error_set(err, BS_ERR_INVALID, "FIT: %s: no images to sign", where);
	return rc;
}

static int conf_sig(struct signer *g, int conf, int node, const char *where,
		    struct bs_error *err)
{
	struct bs_fit_region r[BS_FIT_REGIONS_MAX];
	char hashed[BS_FIT_HASHED_NODES_MAX * BS_FIT_PATH_MAX];
	uint8_t d[BS_FIT_DIGEST_MAX];
	size_t nr = 0, hl = 0;
	struct sig s = {0};
	const void *fit = g->fit.fdt;
	uint32_t strings = fdt_size_dt_strings(fit);
	int rc = count_sig(g, err);
	if (rc == 0)
		rc = conf_nodes(g, conf, node, where, err);
	const char *ptrs[BS_FIT_HASHED_NODES_MAX];
	for (size_t i = 0; rc == 0 && i < g->npaths; i++) {
		ptrs[i] = g->paths[i];
		size_t l = strlen(g->paths[i]) + 1;
		memcpy(hashed + hl, g->paths[i], l);
		hl += l;
	}
	if (rc == 0)
		rc = bs_fit_find_regions(r, BS_FIT_REGIONS_MAX, &nr, fit, ptrs, g->npaths, strings,
					 err);
	/* U-Boot's verifier allows 20 + 7 per hashed node, less the string block's one. */
	if (rc == 0 && nr >= 19 + 7 * g->npaths)
		rc = bs_error_set(err, BS_ERR_LIMIT, "FIT: %s: %zu regions, more than U-Boot's "
				  "verifier accepts", where, nr);
	if (rc == 0)
		rc = sig_setup(&s, g, node, where, err);
	if (rc == 0) {
		EVP_MD_CTX *mc = EVP_MD_CTX_new();
		bool ok = mc && EVP_DigestInit_ex(mc, EVP_get_digestbynid(s.alg.md_nid), NULL);
		for (size_t i = 0; ok && i < nr; i++)
			ok = EVP_DigestUpdate(mc, (const uint8_t *)fit + r[i].off, r[i].len);
		ok = ok && EVP_DigestFinal_ex(mc, d, NULL);
		EVP_MD_CTX_free(mc);
		if (!ok)
			rc = bs_error_ssl(err, BS_ERR_CRYPTO, "FIT: %s: digest", where);
	}
	if (rc == 0)
		rc = finish_sig(g, &s, node, where, d, hashed, hl, strings, "conf", err);
	bs_key_free(s.key);
	return rc;
}

static int do_configs(struct signer *g, struct bs_error *err)
{
	void *fit = g->fit.fdt;
	char where[BS_FIT_PATH_MAX];
	int confs = fdt_path_offset(fit, "/configurations"), rc = 0;
	if (confs < 0)
		return bs_error_set(err, BS_ERR_FORMAT, "FIT: no /configurations node");
	for (int conf = fdt_first_subnode(fit, confs); rc == 0 && conf >= 0;
	     conf = fdt_next_subnode(fit, conf))
		for (int sub = fdt_first_subnode(fit, conf); rc == 0 && sub >= 0;
		     sub = fdt_next_subnode(fit, sub))
			if (has_prefix(fdt_get_name(fit, sub, NULL), "signature") &&
			    (rc = path_of(where, fit, sub, err)) == 0)
				rc = conf_sig(g, conf, sub, where, err);
	return rc;
}

void bs_fit_blob_free(struct bs_fit_blob *b)
{
	if (b == NULL)
		return;
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Room for the control DTB while signing; more than this is refused (LIMIT). */
#define FIT_DTB_WORK BS_FIT_GROW_MAX

static int dtb_open(struct bs_fit_blob *b, struct bs_error *err)
{
	int rc = bs_fit_check_dtb(b->data, b->len, err);
	if (rc != 0)
		return rc;
	size_t need = b->len + FIT_DTB_WORK;
	if (b->cap < need) {
		uint8_t *p = realloc(b->data, need);
		if (p == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "DTB: out of memory");
		b->data = p;
		b->cap = need;
	}
	memset(b->data + b->len, 0, b->cap - b->len);
	rc = fdt_open_into(b->data, b->data, (int)need);
	if (rc != 0)
		return bs_error_set(err, BS_ERR_FORMAT, "DTB: %s", fdt_strerror(rc));
	return 0;
}

/* The first try of mkimage's loop on which both blobs had room (see the file comment). */
static int pick_size(size_t *step, size_t fit_high, size_t packed, bool dtb, size_t dtb_high,
		     size_t dtb_total0, size_t dtb_len0, struct bs_error *err)
{
	size_t tries = BS_FIT_GROW_MAX / BS_FIT_GROW_STEP;
	for (size_t j = 0; j < tries; j++) {
		size_t dtb_cap = j == 0 ? dtb_total0 : dtb_len0 + BS_FIT_GROW_STEP * j * (j + 1) / 2;
		if (fit_high <= packed + BS_FIT_GROW_STEP * j && (!dtb || dtb_high <= dtb_cap)) {
			*step = j;
			return 0;
		}
	}
	return bs_error_set(err, BS_ERR_LIMIT, "FIT: signing needs more than %u bytes of room "
			    "(mkimage gives up there too)", BS_FIT_GROW_MAX - BS_FIT_GROW_STEP);
}

int bs_fit_sign(struct bs_fit_blob *fit, struct bs_fit_blob *dtb, const struct bs_fit_opts *o,
		const struct bs_fit_keys *keys, struct bs_error *err)
{
	struct signer g = {.o = o, .keys = keys, .have_dtb = dtb != NULL};
	struct fdt_header dtb_hdr0;
	size_t dtb_len0 = 0, packed = 0, step = 0;
	int rc = 0;
	if (o->comment != NULL && strlen(o->comment) > BS_FIT_COMMENT_MAX)
		rc = bs_error_set(err, BS_ERR_LIMIT, "comment longer than %d bytes",
				  BS_FIT_COMMENT_MAX);
	if (rc == 0 && o->algo != NULL)
		rc = bs_fit_sigalg_parse(&(struct bs_fit_sigalg){0}, o->algo, err);
	if (rc == 0)
		rc = bs_fit_prepare(fit, err);
	if (rc == 0 && dtb != NULL) {
		dtb_len0 = dtb->len;
		if (dtb->len >= sizeof(dtb_hdr0))
			memcpy(&dtb_hdr0, dtb->data, sizeof(dtb_hdr0));
		rc = dtb_open(dtb, err);
	}
	g.paths = rc == 0 ? calloc(BS_FIT_HASHED_NODES_MAX, BS_FIT_PATH_MAX) : NULL;
	if (rc == 0 && g.paths == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "FIT: out of memory");
	if (rc != 0)
		goto out;

	/* The packed FIT, zeros after it (mkimage extends its file), room to grow. */
	packed = fit->len;
	memset(fit->data + packed, 0, fit->cap - packed);
	if ((rc = fdt_open_into(fit->data, fit->data, (int)(packed + BS_FIT_GROW_MAX))) != 0) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "FIT: %s", fdt_strerror(rc));
		goto out;
	}
	g.fit = (struct bs_fit_fdt){.fdt = fit->data, .high = packed, .what = "FIT"};
	if (dtb != NULL)
		g.dtb = (struct bs_fit_fdt){.fdt = dtb->data, .high = bs_fit_used(dtb->data),
					    .what = "DTB"};
	time_t now = o->timestamp != 0 ? o->timestamp : time(NULL);
	g.timestamp = (uint32_t)now;
	rc = do_images(&g, err);
	if (rc == 0)
		rc = do_configs(&g, err);
	if (rc == 0)
		rc = pick_size(&step, g.fit.high, packed, dtb != NULL, g.dtb.high,
			       dtb ? fdt32_to_cpu(dtb_hdr0.totalsize) : 0, dtb_len0, err);
	if (rc != 0)
		goto out;
	fit->len = packed + BS_FIT_GROW_STEP * step;
	fdt_set_totalsize(fit->data, (uint32_t)fit->len);
	if (dtb != NULL && step == 0) {
		/* mkimage wrote into the DTB as it was: its header stays */
		fdt_set_totalsize(dtb->data, fdt32_to_cpu(dtb_hdr0.totalsize));
		fdt_set_last_comp_version(dtb->data, fdt32_to_cpu(dtb_hdr0.last_comp_version));
		dtb->len = dtb_len0;
	} else if (dtb != NULL) {
		dtb->len = dtb_len0 + BS_FIT_GROW_STEP * step * (step + 1) / 2;
		fdt_set_totalsize(dtb->data, (uint32_t)dtb->len);
	}
out:
	free(g.paths);
	if (rc != 0) {
		bs_fit_blob_free(fit);
		bs_fit_blob_free(dtb);
	}
	return rc;
}
