/*
 * vault.h - credential encryption at rest: AES-256-GCM under a master key.
 *
 * A sealed value is text: "wpv1:<key version>:<base64(nonce ‖ ciphertext ‖ tag)>".
 * The key version lets the master key rotate: new values are sealed with
 * the current key, old ones still open with the previous keys listed in
 * the configuration.  The associated data binds a ciphertext to its owner
 * and purpose ("acct_…/credentials/<kind>"), so a sealed value copied to another
 * account's row does not open there.
 *
 * Key material lives only in wp_vault (mlock is not attempted); it is
 * wiped on wp_vault_free.  Plaintexts handed out are the caller's to
 * wipe and free with wp_vault_free_plain.
 */
#ifndef WP_VAULT_H
#define WP_VAULT_H

#include <json-c/json.h>
#include <stddef.h>

#include "err.h"

typedef struct wp_vault wp_vault;

/*
 * master_b64: the current key (base64 of 32 bytes), version key_version.
 * previous: optional object {"<version>": "<base64 key>", ...} (borrowed).
 * WP_ECONFIG when a key is missing or not 32 bytes, naming which.
 */
wp_status wp_vault_new(const char *master_b64, int key_version, json_object *previous, wp_vault **out, wp_err *err);
void wp_vault_free(wp_vault *v);

/* Seals len bytes; *out is a new NUL-terminated string the caller frees (free()). */
wp_status wp_vault_seal(wp_vault *v, const char *aad, const void *plain, size_t len, char **out, wp_err *err);

/* Opens a sealed string; *plain (NUL-terminated for convenience, *len bytes)
 * is freed by the caller with wp_vault_free_plain.  WP_ECRYPTO when the value
 * was tampered with, belongs to other associated data, or its key is unknown. */
wp_status wp_vault_open(wp_vault *v, const char *aad, const char *sealed, unsigned char **plain, size_t *len,
                        wp_err *err);
void wp_vault_free_plain(unsigned char *plain, size_t len);

/* The key version new values are sealed with. */
int wp_vault_key_version(const wp_vault *v);

/*
 * Capabilities (pass links): a MAC over `data` under a key derived from
 * the master key for `purpose` (HMAC-SHA256(master, "walletpass-mac/" purpose),
 * so a MAC for one purpose is useless for another).  *out receives the
 * base64url of HMAC-SHA256(derived key, data) cut to WP_VAULT_MAC_LEN
 * characters (192 bits), NUL-terminated; outlen must be > WP_VAULT_MAC_LEN.
 * Made with the current key version; wp_vault_mac_verify accepts a MAC made
 * with any configured version (so rotating the master key does not break
 * links already sent), comparing in constant time: WP_OK when it matches,
 * WP_ECRYPTO when not.
 */
#define WP_VAULT_MAC_LEN 32
wp_status wp_vault_mac(const wp_vault *v, const char *purpose, const char *data, char *out, size_t outlen);
wp_status wp_vault_mac_verify(const wp_vault *v, const char *purpose, const char *data, const char *mac);

/*
 * The MAC of data for purpose under every configured key version, current
 * first, into out[0..max-1]: a value looked up by its MAC (a stored
 * column) is found whichever key made the stored MAC.  Returns how many
 * were written (at most max; WP_VAULT_MAX_KEYS is always enough).
 */
#define WP_VAULT_MAX_KEYS 16
int wp_vault_mac_all(const wp_vault *v, const char *purpose, const char *data, char out[][WP_VAULT_MAC_LEN + 1],
                     int max);

/* Decodes standard base64 (with padding); *out freed by the caller.  Used for keys and credential uploads. */
wp_status wp_base64_decode(const char *in, unsigned char **out, size_t *len);
/* Encodes; *out freed by the caller. */
wp_status wp_base64_encode(const unsigned char *in, size_t len, char **out);

#endif
