/*
 * utf8.h - UTF-8 checks for text that reaches JSON responses and the
 * database: decoded paths, query parameters, access-log fields.
 *
 * PostgreSQL refuses a text value that is not valid UTF-8 and json-c
 * writes such bytes through unchanged, so percent-decoded input is checked
 * (or scrubbed) before either sees it.  Nothing here allocates.
 */
#ifndef WP_UTF8_H
#define WP_UTF8_H

#include <stddef.h>

/* Length (1..4) of the valid UTF-8 sequence at s (n bytes available), or 0
 * when invalid: overlong forms, surrogates and code points past U+10FFFF. */
int wp_utf8_seq_len(const unsigned char *s, size_t n);

/* 1 when the n bytes at s are valid UTF-8 (NUL bytes included as such). */
int wp_utf8_valid(const char *s, size_t n);

/* Replaces every byte that is not part of a valid sequence in the
 * NUL-terminated string s by '?', in place (the length never changes). */
void wp_utf8_scrub(char *s);

/*
 * For a string that snprintf cut to fit a buffer of `cap` bytes (it returned
 * cap or more): shortens it to end on a character boundary and appends an
 * ellipsis (U+2026) so the cut shows, all within cap.  A string shorter than
 * cap - 1 is left as it is.  Invalid bytes count as one character each,
 * except in the last three, where they may be the start of a cut character.
 */
void wp_utf8_cut(char *s, size_t cap);

#endif
