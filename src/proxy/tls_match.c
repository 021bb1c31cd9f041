/* tls_match.c - SNI name matching, ALPN choice and the ticket key ring:
 * the parts of TLS termination that are plain logic (tls_match.h). */
#include "config.h"
#include "tls_match.h"

#include <string.h>

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static int equal_nocase(const char *pat, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pat[i] != lower(s[i]))
            return 0;
    return pat[n] == '\0';
}

int tls_name_match(const char *pattern, const char *host)
{
    size_t hl = strlen(host);
    if (pattern[0] != '*')
        return equal_nocase(pattern, host, hl);
    /* "*.example.com": one non-empty label, then ".example.com". */
    const char *dot = strchr(host, '.');
    if (!dot || dot == host)
        return 0;
    return equal_nocase(pattern + 1, dot, hl - (size_t)(dot - host));
}

int tls_sni_lookup(const struct tls_sni_entry *v, unsigned n, const char *host)
{
    if (!host || !host[0] || strlen(host) > TLS_NAME_MAX)
        return -1;
    for (unsigned i = 0; i < n; i++)
        if (v[i].name[0] != '*' && tls_name_match(v[i].name, host))
            return (int)v[i].cert;
    for (unsigned i = 0; i < n; i++)
        if (v[i].name[0] == '*' && tls_name_match(v[i].name, host))
            return (int)v[i].cert;
    return -1;
}

/* Finds id (length idlen) in a wire-format list; returns its offset or -1. */
static long alpn_find(const unsigned char *list, size_t len, const unsigned char *id,
                      size_t idlen)
{
    size_t off = 0;
    while (off < len) {
        size_t l = list[off];
        if (l == 0 || off + 1 + l > len)
            return -1;
        if (l == idlen && memcmp(list + off + 1, id, l) == 0)
            return (long)off;
        off += 1 + l;
    }
    return -1;
}

int tls_alpn_pick(const unsigned char *ours, size_t ourslen, const unsigned char *client,
                  size_t clientlen, const unsigned char **out, unsigned char *outlen)
{
    size_t off = 0;
    while (off < ourslen) {
        size_t l = ours[off];
        if (l == 0 || off + 1 + l > ourslen)
            return 0;
        long at = alpn_find(client, clientlen, ours + off + 1, l);
        if (at >= 0) {
            *out = client + at + 1;
            *outlen = (unsigned char)l;
            return 1;
        }
        off += 1 + l;
    }
    return 0;
}

int tls_ticket_rotate_due(const struct tls_ticket_ring *r, uint64_t now_ms, uint64_t period_ms)
{
    if (!r->have_cur)
        return 1;
    return now_ms >= r->rotated_ms && now_ms - r->rotated_ms >= period_ms;
}

void tls_ticket_rotate(struct tls_ticket_ring *r, const struct tls_ticket_key *fresh,
                       uint64_t now_ms, uint64_t period_ms)
{
    r->have_prev = 0;
    if (r->have_cur && now_ms >= r->rotated_ms && now_ms - r->rotated_ms < 2 * period_ms) {
        r->prev = r->cur;
        r->have_prev = 1;
    }
    r->cur = *fresh;
    r->have_cur = 1;
    r->rotated_ms = now_ms;
}

int tls_ticket_find(const struct tls_ticket_ring *r, const unsigned char name[16],
                    const struct tls_ticket_key **key)
{
    if (r->have_cur && memcmp(r->cur.name, name, 16) == 0) {
        *key = &r->cur;
        return 1;
    }
    if (r->have_prev && memcmp(r->prev.name, name, 16) == 0) {
        *key = &r->prev;
        return 2;
    }
    return 0;
}
