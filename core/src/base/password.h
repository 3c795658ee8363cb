/*
 * password.h - dashboard passwords: scrypt (OpenSSL's EVP_PBE_scrypt) with a
 * random salt per password.
 *
 * A stored hash is text in the PHC string format,
 *   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt, base64>$<hash, base64>
 * so the cost can be raised later without invalidating what is stored: the
 * parameters of each hash travel with it (wp_password_verify says when a
 * hash is weaker than the current setting, to hash it again at the next login).
 *
 * A hash takes 128 * r * N bytes of memory (32 MiB at the default ln=15,
 * r=8) and a fraction of a second, so at most WP_PASSWORD_CONCURRENCY run at
 * once in a process; more callers wait their turn (a flood of logins then
 * queues instead of exhausting memory).
 */
#ifndef WP_PASSWORD_H
#define WP_PASSWORD_H

#include <stddef.h>

#include "err.h"

#define WP_PASSWORD_HASH_MAX 160  /* a stored hash, NUL included */
#define WP_PASSWORD_MAX_BYTES 1024 /* longer passwords are refused, never cut */
#define WP_PASSWORD_CONCURRENCY 2

/* The cost: N = 2^log2_n (10..20), r = 8, p = 3 (OWASP's 32 MiB setting at 15). */
typedef struct wp_password_cost {
    int log2_n;
} wp_password_cost;

#define WP_PASSWORD_DEFAULT_LOG2_N 15

/* Hashes password (NUL-terminated, at most WP_PASSWORD_MAX_BYTES) into out (WP_PASSWORD_HASH_MAX bytes). */
wp_status wp_password_hash(const char *password, wp_password_cost cost, char *out, size_t outlen, wp_err *err);

/*
 * Checks password against a stored hash in constant time.  *match is 1 or 0;
 * *weaker (may be NULL) is 1 when the stored hash's cost is below `cost`.
 * WP_EINVAL for a stored value that is not a hash of this format.
 */
wp_status wp_password_verify(const char *password, const char *stored, wp_password_cost cost, int *match, int *weaker,
                             wp_err *err);

/*
 * The work of a verification without a stored hash: for a login whose email
 * names nobody, so that its answer takes as long as a wrong password's.
 */
void wp_password_burn(const char *password, wp_password_cost cost);

#endif
