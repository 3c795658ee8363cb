/* timefmt.c - see timefmt.h. */
#include "timefmt.h"

#include <string.h>

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int wp_iso8601_valid(const char *s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec = 0;
    if (!s || strlen(s) < 10) return 0;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d)) return 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap)) return 0;
    if (s[10] == '\0') return 1;
    s += 10;
    if (*s != 'T' && *s != 't') return 0;
    s++;
    if (!digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &mi) || h > 23 || mi > 59) return 0;
    s += 5;
    if (*s == ':') {
        if (!digits(s + 1, 2, &sec) || sec > 60) return 0;
        s += 3;
        if (*s == '.') {
            s++;
            int n = 0;
            while (*s >= '0' && *s <= '9') s++, n++;
            if (n == 0 || n > 9) return 0;
        }
    }
    if ((*s == 'Z' || *s == 'z') && s[1] == '\0') return 1;
    if (*s == '+' || *s == '-') {
        int zh, zm;
        return digits(s + 1, 2, &zh) && s[3] == ':' && digits(s + 4, 2, &zm) && s[6] == '\0' && zh <= 23 && zm <= 59;
    }
    return 0;
}
