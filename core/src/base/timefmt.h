/* timefmt.h - ISO 8601 / RFC 3339 timestamps as the API accepts and prints them. */
#ifndef WP_TIMEFMT_H
#define WP_TIMEFMT_H

/*
 * True for "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff…]]" followed by "Z" or
 * "±HH:MM" (a time needs a zone, so no timestamp is ambiguous).  Checks
 * field ranges and days per month, leap years included.
 */
int wp_iso8601_valid(const char *s);

#endif
