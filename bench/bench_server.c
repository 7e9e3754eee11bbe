/* Load generator for `bootsign serve`: N client threads, each sending R requests to
 * POST /sign/imx with libcurl exactly as build recipes do (-F fields, file uploads).
 * Reports requests/s, p50/p99 latency, failures, and the server's peak RSS (VmHWM of
 * --server-pid). Optionally measures the raw RSA signing rate of --key (EVP, SHA-256
 * digest, PKCS#1 v1.5) on this core for comparison.
 *
 *   bench_server --url URL --csf F --artifact F [--machine M] [-c N] [-n R]
 *                [--server-pid PID] [--key PEM --pass P] [--label TEXT]
 *                [--backend pkcs11] [--raw-rate SIGS_PER_S]
 *                [--header 'Authorization: Bearer T'] [--cacert CA.pem]
 *
 * --backend adds -F backend=VALUE (pkcs11: the CSF names token objects). --raw-rate
 * gives a signing rate measured elsewhere (e.g. bench_token's raw C_Sign loop) to
 * compare with instead of --key.
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *url, *csf, *artifact, *machine, *key, *pass, *label, *backend;
	const char *header, *cacert; /* access control: a bearer token, the server's CA */
	int conc, reqs;
	double raw_rate;
	long server_pid;
};

struct worker {
	const struct opts *o;
	double *lat; /* ms */
	int n, failed;
	pthread_t th;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	*(size_t *)ud += sz * n;
	return sz * n;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	CURL *c = curl_easy_init();
	for (int i = 0; i < o->reqs; i++) {
		curl_mime *m = curl_mime_init(c);
		curl_mimepart *p;
		const char *fields[][2] = {{"machine", o->machine}, {"soctype", "mx8m"},
					   {"cstversion", "3.3.2"}};
		for (size_t f = 0; f < 3; f++) {
			p = curl_mime_addpart(m);
			curl_mime_name(p, fields[f][0]);
			curl_mime_data(p, fields[f][1], CURL_ZERO_TERMINATED);
		}
		if (o->backend != NULL) {
			p = curl_mime_addpart(m);
			curl_mime_name(p, "backend");
			curl_mime_data(p, o->backend, CURL_ZERO_TERMINATED);
		}
		p = curl_mime_addpart(m);
		curl_mime_name(p, "csf");
		curl_mime_filedata(p, o->csf);
		curl_mime_type(p, "text/plain");
		p = curl_mime_addpart(m);
		curl_mime_name(p, "artifact");
		curl_mime_filedata(p, o->artifact);
		size_t got = 0;
		curl_easy_setopt(c, CURLOPT_URL, o->url);
		curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
		struct curl_slist *hdrs = o->header != NULL ? curl_slist_append(NULL, o->header)
							    : NULL;
		if (hdrs != NULL)
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		if (o->cacert != NULL)
			curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
		/* build recipes use plain curl; avoid the 1 s Expect: 100-continue stall on
		 * large bodies only where curl itself would not wait */
		double t0 = now_ms();
		CURLcode rc = curl_easy_perform(c);
		double t1 = now_ms();
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (rc != CURLE_OK || code != 200 || got == 0)
			w->failed++;
		else
			w->lat[w->n++] = t1 - t0;
		curl_mime_free(m);
		curl_slist_free_all(hdrs);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static long vmhwm_kb(long pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* utime + stime of a process in seconds (-1 if unknown). */
static double cpu_s(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* comm may contain spaces */
	unsigned long ut = 0, st = 0;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* RSA PKCS#1 v1.5 signatures of a SHA-256 digest per second, for ~1.5 s. */
static double rsa_rate(const char *keyfile, const char *pass)
{
	FILE *f = fopen(keyfile, "r");
	if (f == NULL)
		return -1;
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, (void *)pass);
	fclose(f);
	if (k == NULL)
		return -1;
	uint8_t dgst[32] = {1}, sig[1024];
	int n = 0;
	double t0 = now_ms(), t;
	do {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
		size_t sl = sizeof(sig);
		EVP_PKEY_sign_init(ctx);
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
		EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
		EVP_PKEY_sign(ctx, sig, &sl, dgst, sizeof(dgst));
		EVP_PKEY_CTX_free(ctx);
		n++;
		t = now_ms();
	} while (t - t0 < 1500);
	EVP_PKEY_free(k);
	return n / ((t - t0) / 1e3);
}

int main(int argc, char **argv)
{
	struct opts o = {.machine = "bench", .conc = 1, .reqs = 100, .label = "",
			 .pass = ""};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--url")) o.url = v;
		else if (!strcmp(a, "--csf")) o.csf = v;
		else if (!strcmp(a, "--artifact")) o.artifact = v;
		else if (!strcmp(a, "--machine")) o.machine = v;
		else if (!strcmp(a, "-c")) o.conc = atoi(v);
		else if (!strcmp(a, "-n")) o.reqs = atoi(v);
		else if (!strcmp(a, "--server-pid")) o.server_pid = atol(v);
		else if (!strcmp(a, "--key")) o.key = v;
		else if (!strcmp(a, "--pass")) o.pass = v;
		else if (!strcmp(a, "--label")) o.label = v;
		else if (!strcmp(a, "--backend")) o.backend = v;
		else if (!strcmp(a, "--raw-rate")) o.raw_rate = atof(v);
		else if (!strcmp(a, "--header")) o.header = v;
		else if (!strcmp(a, "--cacert")) o.cacert = v;
		else {
			fprintf(stderr, "unknown option %s\n", a);
			return 2;
		}
	}
	if (o.url == NULL || o.csf == NULL || o.artifact == NULL || o.conc < 1 || o.reqs < 1) {
		fprintf(stderr, "usage: bench_server --url URL --csf F --artifact F [-c N] [-n R] "
				"[--server-pid PID] [--key PEM --pass P] [--label L] "
				"[--backend B] [--raw-rate R]\n");
		return 2;
	}
	double rate = o.key != NULL ? rsa_rate(o.key, o.pass) : o.raw_rate > 0 ? o.raw_rate : -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct worker *w = calloc((size_t)o.conc, sizeof(*w));
	for (int i = 0; i < o.conc; i++) {
		w[i].o = &o;
		w[i].lat = calloc((size_t)o.reqs, sizeof(double));
	}
	double c0 = o.server_pid ? cpu_s(o.server_pid) : -1;
	double t0 = now_ms();
	for (int i = 0; i < o.conc; i++)
		pthread_create(&w[i].th, NULL, run, &w[i]);
	for (int i = 0; i < o.conc; i++)
		pthread_join(w[i].th, NULL);
	double secs = (now_ms() - t0) / 1e3;
	double c1 = o.server_pid ? cpu_s(o.server_pid) : -1;
	int total = 0, failed = 0;
	double *all = calloc((size_t)o.conc * (size_t)o.reqs, sizeof(double));
	for (int i = 0; i < o.conc; i++) {
		memcpy(all + total, w[i].lat, (size_t)w[i].n * sizeof(double));
		total += w[i].n;
		failed += w[i].failed;
		free(w[i].lat);
	}
	qsort(all, (size_t)total, sizeof(double), cmp_d);
	double p50 = total ? all[total / 2] : 0, p99 = total ? all[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1] : 0;
	long hwm = o.server_pid ? vmhwm_kb(o.server_pid) : -1;
	printf("%-28s c=%-2d n=%-5d ok=%-5d failed=%-3d %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms",
	       o.label, o.conc, o.conc * o.reqs, total, failed, total / secs, p50, p99);
	if (hwm >= 0)
		printf("  server VmHWM %6.1f MiB", hwm / 1024.0);
	if (c0 >= 0 && c1 >= 0 && total > 0)
		printf("  server CPU %5.2f ms/req", (c1 - c0) * 1e3 / total);
	if (rate > 0)
		printf("  | raw %s sign %7.1f/s -> ceiling %6.1f req/s (2 sigs/req), %3.0f%%",
		       o.key != NULL ? "RSA" : "token", rate, rate / 2,
		       100.0 * (total / secs) / (rate / 2));
	printf("\n");
	free(all);
	free(w);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
