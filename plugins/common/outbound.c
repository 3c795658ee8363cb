/* outbound.c - the delivery schedule and one HTTP attempt (see outbound.h). */
#include "outbound.h"

#include <stdio.h>
#include <string.h>

#include "wpc_fetch.h"

const int outbound_schedule_s[OUTBOUND_ATTEMPTS] = {0, 5, 30, 300, 1800};

void outbound_send(const char *url, const char *pin, const char *const *headers, const char *body, size_t body_len,
                   const outbound_opts *o, outbound_result *res)
{
    memset(res, 0, sizeof *res);
    wpc_fetch_req rq = {.method = "POST", .url = url, .pin = pin, .headers = headers, .body = body,
                        .body_len = body_len, .allow_http = o->allow_http != 0,
                        .connect_timeout_ms = o->connect_timeout_ms, .timeout_ms = o->timeout_ms,
                        .max_bytes = o->max_response_bytes, .keep = OUTBOUND_EXCERPT,
                        .user_agent = o->user_agent ? o->user_agent : "WalletPass/1.0"};
    wpc_fetch_res fr;
    wpc_fetch(&rq, &fr);
    res->status_code = (int)fr.status;
    res->latency_ms = fr.latency_ms;
    res->retry_after_s = fr.retry_after_s;
    if (fr.body) memcpy(res->excerpt, fr.body, fr.len < OUTBOUND_EXCERPT ? fr.len : OUTBOUND_EXCERPT);
    if (fr.oom && !fr.status) {
        snprintf(res->error, sizeof res->error, "%s", fr.error);
    } else if (fr.too_big) {
        /* The status line arrived: it decides; the oversized body is just not read. */
        if (!fr.status)
            snprintf(res->error, sizeof res->error, "response larger than %zu bytes", o->max_response_bytes);
    } else if (fr.failed) {
        res->status_code = 0;
        snprintf(res->error, sizeof res->error, "%s", fr.error);
    }
    wpc_fetch_done(&fr);
}
