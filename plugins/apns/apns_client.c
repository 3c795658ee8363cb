/*
 * apns_client.c - HTTP/2 pushes to APNs over kept, multiplexed connections
 * (apns_client.h).
 */
#include "apns_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include "wpc_hex.h"

/* Pushes in flight at once on the connection: APNs allows about 1000 streams
 * per connection (500 leaves room for its load-dependent limit); a bounded
 * window bounds memory and measures each transfer's timeout from its start. */
#define WINDOW 500

/* Rounds of one batch: pushes that got no answer because the connection went
 * away under them (GOAWAY, reset, refused) go out again at once on the next
 * connection instead of waiting for the apns.push retry job. */
#define ROUNDS 3

typedef struct conn {
    char hash[65];
    CURLM *multi;
    pthread_mutex_t mu;     /* one batch at a time on this connection */
    time_t last_used;       /* guarded by conns_mu */
} conn;

static apns_conf cfg;
static conn *conns;
static pthread_mutex_t conns_mu = PTHREAD_MUTEX_INITIALIZER;
static int batches_in_flight; /* guarded by conns_mu; at most cfg.max_concurrency */

void apns_client_init(const apns_conf *conf)
{
    cfg = *conf;
    if (cfg.max_connections < 1) cfg.max_connections = 1;
    if (cfg.max_concurrency < 1) cfg.max_concurrency = 1;
    conns = calloc((size_t)cfg.max_connections, sizeof *conns);
    for (int i = 0; conns && i < cfg.max_connections; i++) pthread_mutex_init(&conns[i].mu, NULL);
}

void apns_client_shutdown(void)
{
    for (int i = 0; conns && i < cfg.max_connections; i++) {
        if (conns[i].multi) curl_multi_cleanup(conns[i].multi);
        pthread_mutex_destroy(&conns[i].mu);
    }
    free(conns);
    conns = NULL;
}

static void pem_hash(const char *cert, const char *key, char out[65])
{
    unsigned char md[32] = {0};
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
        EVP_DigestUpdate(c, cert, strlen(cert) + 1);
        EVP_DigestUpdate(c, key, strlen(key));
        EVP_DigestFinal_ex(c, md, NULL);
    }
    EVP_MD_CTX_free(c);
    wpc_hex(md, 32, out);
}

/*
 * The connection of this certificate, locked, counted in batches_in_flight; a
 * new one replaces the least recently used idle one when all slots are taken.
 * NULL when the batch must wait: this certificate's connection is busy with
 * another batch, max_concurrency batches are in flight, or every connection
 * slot is busy.  Nothing here waits: with APNs slow or hanging, a waiting
 * batch would hold a job worker that other work needs.
 */
static conn *conn_acquire(const char *hash)
{
    if (!conns) return NULL;
    pthread_mutex_lock(&conns_mu);
    if (batches_in_flight >= cfg.max_concurrency) {
        pthread_mutex_unlock(&conns_mu);
        return NULL;
    }
    conn *hit = NULL, *victim = NULL;
    for (int i = 0; i < cfg.max_connections; i++) {
        if (conns[i].multi && strcmp(conns[i].hash, hash) == 0) hit = &conns[i];
        else if (!victim || !conns[i].multi || (victim->multi && conns[i].last_used < victim->last_used))
            victim = &conns[i];
    }
    conn *got = NULL;
    if (hit) {
        /* conns_mu is held, so the slot cannot be replaced under us (replacing needs conns_mu too) */
        if (pthread_mutex_trylock(&hit->mu) == 0) {
            hit->last_used = time(NULL);
            got = hit;
        }
    } else if (victim && pthread_mutex_trylock(&victim->mu) == 0) {
        if (victim->multi) curl_multi_cleanup(victim->multi);
        victim->multi = curl_multi_init();
        if (victim->multi) {
            curl_multi_setopt(victim->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
            curl_multi_setopt(victim->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
            /* curl's own cap is 100 streams per connection; without this the rest of
             * the window waits in curl's pending queue with its timeout running.
             * curl still honours a lower SETTINGS_MAX_CONCURRENT_STREAMS from APNs. */
            curl_multi_setopt(victim->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)WINDOW);
            snprintf(victim->hash, sizeof victim->hash, "%s", hash);
            victim->last_used = time(NULL);
            got = victim;
        } else {
            victim->hash[0] = '\0';
            pthread_mutex_unlock(&victim->mu);
        }
    }
    if (got) batches_in_flight++;
    pthread_mutex_unlock(&conns_mu);
    return got;
}

typedef struct xfer {
    CURL *e;
    struct curl_slist *hdrs;
    char body[512];
    size_t blen;
    apns_result *res;
    CURLcode rc;
    char errbuf[CURL_ERROR_SIZE];
} xfer;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm, room = sizeof x->body - 1 - x->blen;
    memcpy(x->body + x->blen, p, n < room ? n : room);
    x->blen += n < room ? n : room;
    x->body[x->blen] = '\0';
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (n > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        /* not documented for APNs; honoured when a server sends it (seconds only) */
        char v[16];
        size_t k = 0;
        for (size_t i = 12; i < n && k + 1 < sizeof v; i++)
            if (p[i] != ' ') v[k++] = p[i];
        v[k] = '\0';
        long secs = strtol(v, NULL, 10);
        x->res->retry_after_s = secs > 0 ? secs : 0;
    }
    if (n > 8 && strncasecmp(p, "apns-id:", 8) == 0) {
        size_t i = 8;
        while (i < n && p[i] == ' ') i++;
        size_t k = 0;
        while (i < n && p[i] != '\r' && p[i] != '\n' && k + 1 < sizeof x->res->apns_id) x->res->apns_id[k++] = p[i++];
        x->res->apns_id[k] = '\0';
    }
    return n;
}

/* What every push of a batch shares. */
typedef struct hdrs {
    const char *payload;
    char topic[320], type[48], prio[32], exp[48];
    struct curl_blob cert, key;
} hdrs;


/* Creates and adds the transfer of one token; 1 when added. */
static int xfer_start(conn *c, xfer *x, apns_result *res, const char *token, const hdrs *h)
{
    x->res = res;
    memset(x->res, 0, sizeof *x->res);
    x->blen = 0;
    x->body[0] = x->errbuf[0] = '\0';
    x->rc = CURLE_OK;
    x->e = curl_easy_init();
    if (!x->e) {
        snprintf(x->res->reason, sizeof x->res->reason, "out of memory");
        return 0;
    }
    char *esc = curl_easy_escape(x->e, token, 0);
    char url[4700];
    snprintf(url, sizeof url, "https://%s:%d/3/device/%s", cfg.host, cfg.port, esc ? esc : "");
    curl_free(esc);
    x->hdrs = curl_slist_append(x->hdrs, h->topic);
    x->hdrs = curl_slist_append(x->hdrs, h->type);
    x->hdrs = curl_slist_append(x->hdrs, h->prio);
    x->hdrs = curl_slist_append(x->hdrs, h->exp);
    x->hdrs = curl_slist_append(x->hdrs, "content-type: application/json");
    curl_easy_setopt(x->e, CURLOPT_URL, url);
    curl_easy_setopt(x->e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(x->e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(x->e, CURLOPT_POSTFIELDS, h->payload);
    curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE, (long)strlen(h->payload));
    curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(x->e, CURLOPT_SSLCERT_BLOB, &h->cert);
    curl_easy_setopt(x->e, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(x->e, CURLOPT_SSLKEY_BLOB, &h->key);
    curl_easy_setopt(x->e, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(x->e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cfg.ca_file[0]) curl_easy_setopt(x->e, CURLOPT_CAINFO, cfg.ca_file);
    curl_easy_setopt(x->e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->e, CURLOPT_TIMEOUT_MS, cfg.timeout_ms);
    curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(c->multi, x->e) != CURLM_OK) {
        snprintf(x->res->reason, sizeof x->res->reason, "the transfer could not be started");
        return 0;
    }
    return 1;
}

/* Frees the transfer's handle and headers (the result stays). */
static void xfer_end(conn *c, xfer *x)
{
    if (x->e) {
        curl_multi_remove_handle(c->multi, x->e); /* a no-op when not added */
        curl_easy_cleanup(x->e);
    }
    curl_slist_free_all(x->hdrs);
    x->e = NULL;
    x->hdrs = NULL;
}

/* The transfer's result into its apns_result. */
static void xfer_result(xfer *x)
{
    if (x->rc != CURLE_OK) {
        x->res->status = 0;
        snprintf(x->res->reason, sizeof x->res->reason, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->rc));
        return;
    }
    long code = 0;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
    x->res->status = (int)code;
    json_object *b = x->blen ? json_tokener_parse(x->body) : NULL, *v;
    if (b && json_object_object_get_ex(b, "reason", &v))
        snprintf(x->res->reason, sizeof x->res->reason, "%s", json_object_get_string(v));
    if (b && json_object_object_get_ex(b, "timestamp", &v)) x->res->timestamp_ms = json_object_get_int64(v);
    json_object_put(b);
}

/* 1 when the push most likely never reached APNs's processing because the
 * connection failed under it: worth sending again at once. */
static int xfer_lost(const xfer *x)
{
    switch (x->rc) {
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:      /* also a stream refused by GOAWAY, after curl's own retries */
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

/* One round: the transfers idx[0..m) through the sliding window. */
static void run_round(conn *c, xfer *xs, apns_result *results, const char *const *tokens, const size_t *idx, size_t m,
                      const hdrs *h)
{
    size_t next = 0, active = 0;
    while (next < m && active < WINDOW) {
        size_t k = idx[next++];
        if (xfer_start(c, &xs[k], &results[k], tokens[k], h)) active++;
        else xfer_end(c, &xs[k]);
    }
    int running = 1;
    while (running || active > 0) {
        if (curl_multi_perform(c->multi, &running) != CURLM_OK) break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(c->multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (!x) continue;
            x->rc = msg->data.result;
            xfer_result(x);
            xfer_end(c, x); /* msg is invalid from here */
            active--;
            /* the window slides: one finished, the next starts */
            while (next < m && active < WINDOW) {
                size_t k = idx[next++];
                if (xfer_start(c, &xs[k], &results[k], tokens[k], h)) active++;
                else xfer_end(c, &xs[k]);
            }
        }
        /* every message was read: transfers still active are running or were just added */
        if (running && curl_multi_poll(c->multi, NULL, 0, 1000, NULL) != CURLM_OK) break;
    }
    for (size_t i = 0; i < next; i++) xfer_end(c, &xs[idx[i]]); /* after a multi error */
}

wp_status apns_send(const char *cert_pem, const char *key_pem, const char *topic, const char *const *tokens, size_t n,
                    apns_result *results, char *msg, size_t msglen)
{
    if (n == 0) return WP_OK;
    if (!conns) {
        snprintf(msg, msglen, "out of memory (the connection table)");
        return WP_ENOMEM;
    }
    char hash[65];
    pem_hash(cert_pem, key_pem, hash);
    conn *c = conn_acquire(hash);
    if (!c) {
        snprintf(msg, msglen, "busy: this certificate's connection or every APNs slot is in use (max_concurrency %d)",
                 cfg.max_concurrency);
        return WP_ELIMIT;
    }
    xfer *xs = calloc(n, sizeof *xs);
    size_t *idx = calloc(n, sizeof *idx);
    if (!xs || !idx) {
        free(xs);
        free(idx);
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_lock(&conns_mu);
        batches_in_flight--;
        pthread_mutex_unlock(&conns_mu);
        snprintf(msg, msglen, "out of memory");
        return WP_ENOMEM;
    }
    int background = strcmp(cfg.push_type, "alert") != 0;
    hdrs h;
    h.payload = background ? "{}" : "{\"aps\":{\"alert\":{}}}";
    snprintf(h.topic, sizeof h.topic, "apns-topic: %s", topic);
    snprintf(h.type, sizeof h.type, "apns-push-type: %s", background ? "background" : "alert");
    snprintf(h.prio, sizeof h.prio, "apns-priority: %d", background ? 5 : 10);
    snprintf(h.exp, sizeof h.exp, "apns-expiration: %lld",
             cfg.expiration_s > 0 ? (long long)time(NULL) + cfg.expiration_s : 0LL);
    h.cert = (struct curl_blob){(void *)cert_pem, strlen(cert_pem), CURL_BLOB_COPY};
    h.key = (struct curl_blob){(void *)key_pem, strlen(key_pem), CURL_BLOB_COPY};
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t m = n;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    for (int round = 0; round < ROUNDS && m > 0; round++) {
        run_round(c, xs, results, tokens, idx, m, &h);
        size_t again = 0;
        for (size_t i = 0; i < m; i++)
            if (xfer_lost(&xs[idx[i]])) idx[again++] = idx[i];
        m = again;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L >= cfg.timeout_ms) break;
    }
    free(idx);
    free(xs);
    pthread_mutex_unlock(&c->mu);
    /* last_used belongs to conns_mu (conn_acquire reads it for every slot); taken
     * after c->mu is released, since conn_acquire holds conns_mu while it tries c->mu. */
    pthread_mutex_lock(&conns_mu);
    c->last_used = time(NULL);
    batches_in_flight--;
    pthread_mutex_unlock(&conns_mu);
    return WP_OK;
}
