/*
 * idempotency.h - the Idempotency-Key header on POST requests (docs/api.md).
 *
 * The same key with the same body within 24 hours answers the first
 * response again, byte for byte; with another body, 409.  Keys are scoped
 * to the API key, method and path.  The record is written before the
 * handler runs (status 0, "in progress"), so two concurrent requests with
 * one key cannot both act: the second gets 409.  A 5xx answer releases
 * the key so the client may retry; an in-progress record older than
 * WP_IDEM_ABANDON_S (its process died) may be taken over.
 */
#ifndef WP_IDEMPOTENCY_H
#define WP_IDEMPOTENCY_H

#include "http.h"

#define WP_IDEM_ABANDON_S 120

/* Before the handler.  Returns 1 to run the handler, 0 when a response was sent. */
int wp_idem_before(wp_req *req);
/* After the handler: stores the captured response, or releases the key on 5xx. */
void wp_idem_after(wp_req *req);

#endif
