/*
 * wpc_time.h - the times plugins read and write: ISO 8601 times as the API
 * carries them ("2025-06-01T12:00:00.123Z", or with an offset), and HTTP
 * dates (RFC 9110 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") for
 * Last-Modified / If-Modified-Since.  Times are Unix seconds (UTC).
 */
#ifndef WPC_TIME_H
#define WPC_TIME_H

#include <stddef.h>

/*
 * "YYYY-MM-DDTHH:MM[:SS[.fraction]]" and a zone: Z, ±HH, ±HH:MM or ±HHMM
 * ('t', 'z' and a space for T are taken too).  The fraction is dropped.
 * -1 when s is NULL or not such a time (a time without a zone is ambiguous).
 */
long long wpc_time_iso_parse(const char *s);

/* Now, in the API's form: "2025-06-01T12:00:00.123Z" (milliseconds, UTC). */
#define WPC_TIME_ISO_LEN 32
void wpc_time_iso_now(char out[WPC_TIME_ISO_LEN]);

/* t as an HTTP date into out (30 bytes are enough). */
void wpc_time_http_format(long long t, char *out, size_t len);

/* An HTTP date (IMF-fixdate only: what every client sends today) -> Unix seconds; -1 when s is NULL or not one. */
long long wpc_time_http_parse(const char *s);

#endif
