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

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1..12). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

long long wpc_time_http_parse(const char *s)
{
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (!s) return -1;
    /* The exact form every client sends, "Sun, 06 Nov 1994 08:49:37 GMT", is read directly
     * (If-Modified-Since comes with every call of a device that holds its pass); anything
     * looser goes the general way below. */
    if (strlen(s) == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' && s[16] == ' ' &&
        s[19] == ':' && s[22] == ':' && s[25] == ' ' && memcmp(s + 26, "GMT", 3) == 0 && digits(s + 5, 2) &&
        digits(s + 12, 4) && digits(s + 17, 2) && digits(s + 20, 2) && digits(s + 23, 2)) {
        int m = -1;
        for (int i = 0; i < 12 && m < 0; i++)
            if (memcmp(s + 8, mons[i], 3) == 0) m = i;
        int d = num(s + 5, 2), h = num(s + 17, 2), mi = num(s + 20, 2), sec = num(s + 23, 2);
        if (m < 0) return -1;
        if (d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 59)
            return days_from_civil(num(s + 12, 4), m + 1, d) * 86400 + h * 3600 + mi * 60 + sec;
        /* out of range: timegm's normalising answer, as for any other form */
    }
    char wd[4], mon[4];
    int d, y, h, mi, sec;
    if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wd, &d, mon, &y, &h, &mi, &sec) != 7) return -1;
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
