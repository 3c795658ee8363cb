/* static.c - see static.h. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MAX_FILE_BYTES (8u << 20)

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || strchr(dot, '/')) return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return NULL;
}

int wp_static_name_ok(const char *rel)
{
    if (!*rel || *rel == '/') return 0;
    int seg_start = 1;
    for (const char *p = rel; *p; p++) {
        char c = *p;
        if (c == '/') {
            if (seg_start) return 0;
            seg_start = 1;
            continue;
        }
        if (seg_start && c == '.') return 0;
        seg_start = 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return !seg_start;
}

static void not_found(wp_req *req, const char *rel)
{
    wp_resp_error(req, 404, "invalid_request_error", "route_not_found", NULL, "no dashboard file %s", rel);
}

/* Opens root/rel, following no symbolic link on the way; -1 when it cannot. */
static int open_beneath(const char *root, const char *rel)
{
    int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    char part[1024];
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof part) {
            close(dir);
            return -1;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        int fd = openat(dir, part, (slash ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        close(dir);
        if (fd < 0 || !slash) return fd;
        dir = fd;
        p = slash + 1;
    }
}

void wp_static_serve(wp_req *req, const char *root, const char *rel)
{
    if (!*rel) rel = "index.html";
    const char *type = type_of(rel);
    if (!wp_static_name_ok(rel) || !type || !root) {
        not_found(req, rel);
        return;
    }
    int fd = open_beneath(root, rel);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE_BYTES) {
        if (fd >= 0) close(fd);
        not_found(req, rel);
        return;
    }
    char etag[64], lm[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + (unsigned long long)st.st_mtim.tv_nsec);
    struct tm tm;
    gmtime_r(&st.st_mtim.tv_sec, &tm);
    strftime(lm, sizeof lm, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    wp_resp_header(req, "Content-Security-Policy", WP_STATIC_CSP);
    wp_resp_header(req, "X-Content-Type-Options", "nosniff");
    wp_resp_header(req, "X-Frame-Options", "DENY");
    wp_resp_header(req, "Referrer-Policy", "same-origin");
    wp_resp_header(req, "Cross-Origin-Opener-Policy", "same-origin");
    /* revalidated at each use: a new version of the dashboard shows at the next load */
    wp_resp_header(req, "Cache-Control", "no-cache");
    wp_resp_header(req, "ETag", etag);
    wp_resp_header(req, "Last-Modified", lm);
    const char *inm = wp_req_header(req, "If-None-Match");
    if (inm && strstr(inm, etag)) {
        close(fd);
        wp_resp_raw(req, 304, NULL, "", 0);
        return;
    }
    size_t len = (size_t)st.st_size, got = 0;
    char *buf = malloc(len ? len : 1);
    while (buf && got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != len) {
        free(buf);
        wp_log_warn("dashboard file %s/%s could not be read whole", root, rel);
        wp_resp_error(req, 500, "api_error", "internal_error", NULL, "the dashboard file %s could not be read", rel);
        return;
    }
    wp_resp_raw(req, 200, type, buf, len);
    free(buf);
}
