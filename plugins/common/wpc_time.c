/* wpc_time.c - see wpc_time.h. */
#include "wpc_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

long long wpc_time_iso_parse(const char *s)
{
    int y, mo, d, h, mi, sec = 0, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 || n == 0) return -1;
    const char *p = s + n;
    if (*p == ':') {
        if (!digits(p + 1, 2)) return -1;
        sec = (p[1] - '0') * 10 + (p[2] - '0');
        p += 3;
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9'; p++) {}
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
    long long t = (long long)timegm(&tm);
    if (*p == 'Z' || *p == 'z') return t;
    if (*p != '+' && *p != '-') return -1;
    if (!digits(p + 1, 2)) return -1;
    int zh = (p[1] - '0') * 10 + (p[2] - '0'), zm = 0;
    const char *m = p[3] == ':' ? p + 4 : p + 3;
    if (digits(m, 2)) zm = (m[0] - '0') * 10 + (m[1] - '0');
    long long off = zh * 3600LL + zm * 60LL;
    return *p == '+' ? t - off : t + off;
}

void wpc_time_iso_now(char out[WPC_TIME_ISO_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, WPC_TIME_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, WPC_TIME_ISO_LEN - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

void wpc_time_http_format(long long t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

long long wpc_time_http_parse(const char *s)
{
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char wd[4], mon[4];
    int d, y, h, mi, sec;
    if (!s || sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wd, &d, mon, &y, &h, &mi, &sec) != 7) return -1;
    (void)wd;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_mon = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, mons[i]) == 0) tm.tm_mon = i;
    if (tm.tm_mon < 0) return -1;
    tm.tm_year = y - 1900, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
    return (long long)timegm(&tm);
}
