/*
 * trace_export.c: the exporter's thread (trace_export.h). The queue takes
 * no lock from a worker: a span is counted in (`queued`, an atomic add
 * that also says when the queue is full) and pushed onto a list (an
 * atomic compare-and-swap, through the span's `next`); the thread takes
 * the whole list at once (an atomic exchange) and puts it in order in a
 * list of its own, from which it takes its batches. The mutex is only for
 * the thread's sleep: a worker takes it to wake the thread, when its span
 * is the first of an empty queue or fills a batch. Only the thread calls
 * libcurl.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/cluster/failover_exec.h"
#include "halyard/core/clock.h"
#include "halyard/core/log.h"
#include "halyard/core/oprun.h"
#include "halyard/core/text.h"
#include "halyard/core/textbuf.h"
#include "halyard/trace/trace_export.h"

#define BODY_LIMIT (64u << 20) /* a batch's body at most */

struct trace_exporter {
    struct trace_export_conf conf; /* its strings are the exporter's copies */
    char *strs[4];
    pthread_t thread;
    pthread_mutex_t mu; /* the thread's sleep, and `stopping` */
    pthread_cond_t cv;
    struct trace_span *inbox;       /* pushed by the workers, newest first (__atomic) */
    uint32_t queued;                /* spans in inbox and fifo (__atomic) */
    struct trace_span *fifo, *tail; /* the thread's: taken from inbox, oldest first */
    bool stopping;
    struct trace_export_stats st; /* written under mu or with __atomic */
};

static void count(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static struct trace_exporter *global_ex;

struct trace_exporter *trace_export_global(void)
{
    return __atomic_load_n(&global_ex, __ATOMIC_ACQUIRE);
}

/* A failover's, a switchover's... span (failover_exec.h), into the queue. */
static bool procedures_on;

void trace_export_procedures(bool on)
{
    __atomic_store_n(&procedures_on, on, __ATOMIC_RELEASE);
}

static void proc_span(const struct audit_procedure *p, int64_t start_ns, int64_t end_ns)
{
    if (!__atomic_load_n(&procedures_on, __ATOMIC_ACQUIRE))
        return; /* tracing off: nothing posted, as for statements */
    struct trace_exporter *ex = trace_export_global();
    struct trace_span *sp = ex != NULL ? trace_proc_span(p, start_ns, end_ns) : NULL;
    if (sp != NULL)
        (void)trace_export_submit(ex, sp);
}

/* A reload's, a backup run's... span (core/oprun.h), the same way. */
static void op_span(const struct oprun *r)
{
    if (!__atomic_load_n(&procedures_on, __ATOMIC_ACQUIRE))
        return;
    struct trace_exporter *ex = trace_export_global();
    struct trace_span *sp = ex != NULL ? trace_op_span(r) : NULL;
    if (sp != NULL)
        (void)trace_export_submit(ex, sp);
}

void trace_export_set_global(struct trace_exporter *ex)
{
    __atomic_store_n(&global_ex, ex, __ATOMIC_RELEASE);
    failover_exec_set_span_fn(ex != NULL ? proc_span : NULL);
    oprun_set_fn(ex != NULL ? op_span : NULL);
}

static uint32_t queued(struct trace_exporter *ex)
{
    return __atomic_load_n(&ex->queued, __ATOMIC_ACQUIRE);
}

bool trace_export_submit(struct trace_exporter *ex, struct trace_span *sp)
{
    /* no span comes after trace_export_stop (main stops the workers first) */
    uint32_t n = __atomic_add_fetch(&ex->queued, 1, __ATOMIC_ACQ_REL);
    if (n > ex->conf.queue_size) {
        __atomic_sub_fetch(&ex->queued, 1, __ATOMIC_RELEASE);
        count(&ex->st.dropped_full, 1);
        trace_span_destroy(sp);
        return false;
    }
    struct trace_span *top = __atomic_load_n(&ex->inbox, __ATOMIC_RELAXED);
    do
        sp->next = top;
    while (!__atomic_compare_exchange_n(&ex->inbox, &top, sp, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
    count(&ex->st.queued, 1);
    if (n == 1 || n == ex->conf.batch) { /* the first: the flush timer */
        pthread_mutex_lock(&ex->mu);     /* the thread tests `queued` under it, then sleeps */
        pthread_cond_signal(&ex->cv);
        pthread_mutex_unlock(&ex->mu);
    }
    return true;
}

void trace_export_stats(const struct trace_exporter *ex, struct trace_export_stats *out)
{
    const uint64_t *src = (const uint64_t *)&ex->st;
    uint64_t *dst = (uint64_t *)out;
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* One POST of `body`: true on a 2xx. */
static bool post(struct trace_exporter *ex, CURL *h, struct curl_slist *hdrs, const char *body,
                 size_t len)
{
    curl_easy_setopt(h, CURLOPT_URL, ex->conf.endpoint);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ex->conf.timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)ex->conf.timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, ex->conf.tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, ex->conf.tls_verify ? 2L : 0L);
    if (ex->conf.ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, ex->conf.ca_file);
    count(&ex->st.requests, 1);
    long code = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK && code >= 200 && code < 300)
        return true;
    count(&ex->st.failures, 1);
    hy_log_debug("trace: export to %s failed: %s (HTTP %ld)", ex->conf.endpoint,
                 curl_easy_strerror(rc), code);
    return false;
}

/* What the workers pushed, oldest first, after the thread's fifo. */
static void inbox_drain(struct trace_exporter *ex)
{
    struct trace_span *sp = __atomic_exchange_n(&ex->inbox, NULL, __ATOMIC_ACQUIRE), *rev = NULL;
    if (sp == NULL)
        return;
    struct trace_span *last = sp; /* the newest: the last in order */
    while (sp != NULL) {
        struct trace_span *next = sp->next;
        sp->next = rev;
        rev = sp;
        sp = next;
    }
    if (ex->tail != NULL)
        ex->tail->next = rev;
    else
        ex->fifo = rev;
    ex->tail = last;
}

/* Wait (up to flush_ms) for a batch, then take up to `batch` spans;
 * 0 with the exporter stopping and nothing left. (A span counted in
 * `queued` may not be pushed yet: it comes with a next take.) */
static size_t take(struct trace_exporter *ex, struct trace_span **out)
{
    pthread_mutex_lock(&ex->mu);
    while (queued(ex) == 0 && !ex->stopping) /* idle: no wake-ups */
        pthread_cond_wait(&ex->cv, &ex->mu);
    if (queued(ex) < ex->conf.batch && !ex->stopping) {
        struct timespec until = hy_deadline_ms(ex->conf.flush_ms);
        while (queued(ex) < ex->conf.batch && !ex->stopping)
            if (pthread_cond_timedwait(&ex->cv, &ex->mu, &until) != 0)
                break;
    }
    pthread_mutex_unlock(&ex->mu);
    inbox_drain(ex);
    size_t n = 0;
    for (; n < ex->conf.batch && ex->fifo != NULL; n++) {
        out[n] = ex->fifo;
        ex->fifo = ex->fifo->next;
        out[n]->next = NULL;
    }
    if (ex->fifo == NULL)
        ex->tail = NULL;
    __atomic_sub_fetch(&ex->queued, (uint32_t)n, __ATOMIC_RELEASE);
    return n;
}

static bool stopping(struct trace_exporter *ex)
{
    pthread_mutex_lock(&ex->mu);
    bool s = ex->stopping;
    pthread_mutex_unlock(&ex->mu);
    return s;
}

/* Sleep ms, or less when the exporter stops. */
static void backoff(struct trace_exporter *ex, uint32_t ms)
{
    struct timespec until = hy_deadline_ms(ms);
    pthread_mutex_lock(&ex->mu);
    while (!ex->stopping)
        if (pthread_cond_timedwait(&ex->cv, &ex->mu, &until) != 0)
            break;
    pthread_mutex_unlock(&ex->mu);
}

static struct curl_slist *headers_of(const char *lines, bool protobuf)
{
    struct curl_slist *l = curl_slist_append(NULL, protobuf ? "Content-Type: application/x-protobuf"
                                                            : "Content-Type: application/json");
    for (const char *p = lines; p != NULL && *p != '\0' && l != NULL;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        char *one = hy_dupz(p, n);
        if (one != NULL && n > 0) {
            struct curl_slist *next = curl_slist_append(l, one);
            if (next != NULL)
                l = next;
        }
        free(one);
        p = nl != NULL ? nl + 1 : p + n;
    }
    return l;
}

static void *export_main(void *arg)
{
    struct trace_exporter *ex = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = headers_of(ex->conf.headers, ex->conf.protobuf);
    struct trace_span **batch = calloc(ex->conf.batch, sizeof(*batch));
    struct textbuf body;
    textbuf_init(&body, BODY_LIMIT);
    for (;;) {
        size_t n = batch != NULL ? take(ex, batch) : 0;
        if (n == 0 && (batch == NULL || stopping(ex)))
            break;
        if (n == 0)
            continue;
        textbuf_reset(&body);
        size_t at = 0;
        if (ex->conf.protobuf)
            at = trace_encode_pb(&body, ex->conf.service, batch, n);
        else
            trace_encode(&body, ex->conf.service, batch, n);
        bool ok = false;
        if (h != NULL && !body.overflow) {
            uint32_t wait = ex->conf.backoff_ms;
            const char *p = body.data + at;
            size_t len = body.len - at;
            ok = post(ex, h, hdrs, p, len);
            for (uint32_t r = 0; !ok && r < ex->conf.retries && !stopping(ex); r++) {
                backoff(ex, wait);
                wait = wait * 2;
                ok = !stopping(ex) && post(ex, h, hdrs, p, len);
            }
        }
        count(ok ? &ex->st.exported : &ex->st.dropped_failed, n);
        for (size_t i = 0; i < n; i++)
            trace_span_destroy(batch[i]);
    }
    textbuf_free(&body);
    free(batch);
    curl_slist_free_all(hdrs);
    if (h != NULL)
        curl_easy_cleanup(h);
    return NULL;
}

static void conf_free(struct trace_exporter *ex)
{
    for (size_t i = 0; i < 4; i++)
        free(ex->strs[i]);
    pthread_mutex_destroy(&ex->mu);
    pthread_cond_destroy(&ex->cv);
    free(ex);
}

static const char *keep_str(struct trace_exporter *ex, size_t i, const char *s)
{
    if (s == NULL)
        return NULL;
    ex->strs[i] = strdup(s);
    return ex->strs[i];
}

hy_status_t trace_export_start(const struct trace_export_conf *conf, struct trace_exporter **out)
{
    *out = NULL;
    struct trace_exporter *ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        return HY_NOMEM;
    pthread_mutex_init(&ex->mu, NULL);
    pthread_cond_init(&ex->cv, NULL);
    ex->conf = *conf;
    if (ex->conf.queue_size == 0)
        ex->conf.queue_size = 1;
    if (ex->conf.batch == 0 || ex->conf.batch > ex->conf.queue_size)
        ex->conf.batch = ex->conf.queue_size;
    ex->conf.endpoint = keep_str(ex, 0, conf->endpoint);
    ex->conf.headers = keep_str(ex, 1, conf->headers);
    ex->conf.ca_file = keep_str(ex, 2, conf->ca_file);
    ex->conf.service = keep_str(ex, 3, conf->service != NULL ? conf->service : "halyard");
    if (ex->conf.endpoint == NULL || ex->conf.service == NULL) {
        conf_free(ex);
        return HY_NOMEM;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        pthread_create(&ex->thread, NULL, export_main, ex) != 0) {
        hy_log_error("trace: the exporter's thread could not start");
        conf_free(ex);
        return HY_ERROR;
    }
    *out = ex;
    return HY_OK;
}

void trace_export_stop(struct trace_exporter *ex)
{
    if (ex == NULL)
        return;
    pthread_mutex_lock(&ex->mu);
    ex->stopping = true;
    pthread_cond_broadcast(&ex->cv);
    pthread_mutex_unlock(&ex->mu);
    pthread_join(ex->thread, NULL);
    inbox_drain(ex); /* none: the thread took all it could */
    while (ex->fifo != NULL) {
        struct trace_span *next = ex->fifo->next;
        trace_span_destroy(ex->fifo);
        ex->fifo = next;
    }
    conf_free(ex);
}
