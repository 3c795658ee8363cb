/*
 * pass_schema.h - validation of the unified pass body (docs/api.md "Passes").
 *
 * Platform-free: these are the rules of our own contract.  Platform plugins
 * add theirs through the pass.validate filter.  Every error names the field
 * in docs/api.md notation ("primary_fields[2].key").
 */
#ifndef WP_PASS_SCHEMA_H
#define WP_PASS_SCHEMA_H

#include <json-c/json.h>
#include <stddef.h>

#include "err.h"

typedef enum {
    WP_PASS_CREATE,     /* a complete pass (template already merged): required fields apply */
    WP_PASS_UPDATE,     /* a partial update: null unsets an optional field, read-only fields refused */
    WP_PASS_TEMPLATE    /* a template body: nothing required, no serial_number */
} wp_pass_mode;

typedef struct wp_pass_limits {
    size_t max_string;      /* any text field */
    size_t max_image;       /* decoded bytes of a base64 image */
    size_t max_metadata;    /* serialized bytes of metadata */
} wp_pass_limits;

/* Checks `body` (borrowed) for `mode`.  WP_OK, or WP_EINVAL with err->param set. */
wp_status wp_pass_validate(json_object *body, wp_pass_mode mode, const wp_pass_limits *lim, wp_err *err);

/* 1 when pass_type is one of the unified types (generic, loyalty, coupon, event), else 0.
 * What a type is called on a wallet platform is the platform plugin's to say. */
int wp_pass_type_known(const char *pass_type);

/* 1 when name is a field of the unified body (any pass type), else 0: the pass
 * resource flattens these next to its fixed keys, so nothing else may take them. */
int wp_pass_field_known(const char *name);

#endif
