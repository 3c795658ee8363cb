/*
 * notify.h - tells the service manager how `serve` is doing: systemd's
 * readiness protocol (sd_notify), written by hand so that the gateway needs no
 * libsystemd.  A datagram of "KEY=value" lines goes to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" for an abstract socket); without
 * the variable nothing is sent.  packaging/systemd/walletpass.service runs the
 * gateway as Type=notify.
 */
#ifndef WP_NOTIFY_H
#define WP_NOTIFY_H

#include <stdbool.h>

/* Sends `state` ("READY=1\nSTATUS=..."); true when sent, false when there is no manager to tell or the
 * send failed (logged: the service keeps running either way). */
bool wp_notify(const char *state);

/* "RELOADING=1" with the MONOTONIC_USEC systemd asks for, then READY=1 when done (wp_notify). */
bool wp_notify_reloading(void);

#endif
