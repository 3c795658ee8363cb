/*
 * framing.h - what is wrong with a request's framing and header block, and
 * the JSON answer for requests CivetWeb refuses before any route sees them.
 *
 * CivetWeb 1.15 parses the request line and headers itself and is lenient:
 * it accepts bare-LF line ends, drops the spaces between a header name and
 * its colon, stops reading headers at a folded (obs-fold) line, and takes
 * Content-Length and Transfer-Encoding combinations that are ambiguous
 * about where a request ends.  Behind a proxy that reads them differently,
 * each is a way to smuggle a request.  wp_framing_problem() finds them in
 * the parsed request: CivetWeb parses in place, replacing only the
 * delimiters (spaces, ':', CR, LF) with NUL bytes, so the distances between
 * the parsed fields still show which delimiters were there.
 *
 * Nothing here allocates or keeps state; everything is borrowed.
 */
#ifndef WP_FRAMING_H
#define WP_FRAMING_H

#include <civetweb.h>

/*
 * Checks a request CivetWeb parsed, before routing.  Returns NULL when the
 * request is well framed, else a message for a 400 answer (a static string
 * or one written into buf); *param names the header at fault, or NULL.
 * Must run before anything changes ri (the checks read CivetWeb's buffer).
 */
const char *wp_framing_problem(const struct mg_request_info *ri, char *buf, size_t len, const char **param);

/*
 * The answer to a request CivetWeb refused while reading or parsing it
 * (its http_error callback with `civet_msg`): writes the API's JSON error
 * with Request-Id request_id and "Connection: close" to conn.  The status
 * may differ from CivetWeb's (400 for its 411, 431 for its 413).  header_timeout_s goes into the message for a
 * header block that did not arrive in time.  Returns the status sent.
 */
int wp_framing_reply(struct mg_connection *conn, int status, const char *civet_msg, const char *request_id,
                     int header_timeout_s);

#endif
