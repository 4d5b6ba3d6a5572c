#!/usr/bin/python3
"""A TCP-only libtorrent seeder for the streaming benchmark.

Usage: seeder.py TORRENT DATA_DIR LISTEN_IP RATE_LIMIT

Adapted from interop/seeder.py. Listens on LISTEN_IP only (each seeder needs
a loopback address of its own: libtorrent clients keep one peer per IP), with
DHT, local peer discovery, UPnP, NAT-PMP and uTP off and libtorrent's
high_performance_seed settings. The torrent is added in seed mode (the data
is known to be good, so it is not hashed at start-up). RATE_LIMIT is an
upload limit in bytes per second (0: none); it applies to loopback peers too.
Prints "port N" and "ready" on stdout once it seeds, and exits when stdin
closes or on SIGTERM/SIGINT.
"""
import os
import signal
import sys
import threading
import time

import libtorrent as lt


def main():
    if len(sys.argv) != 5:
        print("usage: seeder.py TORRENT DATA_DIR LISTEN_IP RATE_LIMIT", file=sys.stderr)
        return 2
    torrent, data_dir, ip, rate = sys.argv[1:]
    rate = int(rate)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin():
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    settings = lt.high_performance_seed()
    settings.update({
        "listen_interfaces": "%s:0" % ip,
        "outgoing_interfaces": ip,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_tcp": True,
        "enable_incoming_tcp": True,
        "allow_multiple_connections_per_ip": True,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "upload_rate_limit": rate,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
    })
    ses = lt.session(settings)
    if rate > 0:
        # Loopback peers fall in libtorrent's local peer class, which the
        # global rate limit does not cover. Put every address in the global
        # class so that the limit holds on loopback as well.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)

    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = data_dir
    params.flags |= lt.torrent_flags.seed_mode
    h = ses.add_torrent(params)
    if rate > 0:
        h.set_upload_limit(rate)

    deadline = time.monotonic() + 60
    while not stop.is_set():
        st = h.status()
        for a in ses.pop_alerts():
            if a.category() & lt.alert.category_t.error_notification:
                print("seeder: %s" % a.message(), file=sys.stderr, flush=True)
        if st.errc.value() != 0:
            print("seeder: torrent error: %s" % st.errc.message(), file=sys.stderr)
            return 1
        if st.is_seeding and ses.listen_port() != 0:
            break
        if time.monotonic() > deadline:
            print("seeder: not seeding after 60s (state %s)" % st.state, file=sys.stderr)
            return 1
        time.sleep(0.02)
    if stop.is_set():
        return 0

    h.force_reannounce()
    print("port %d" % ses.listen_port(), flush=True)
    print("ready", flush=True)

    while not stop.wait(0.2):
        for a in ses.pop_alerts():
            if a.category() & lt.alert.category_t.error_notification:
                print("seeder: %s" % a.message(), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: skip interpreter shutdown, which can trip over the stdin
    # thread, and libtorrent's goodbye announces.
    os._exit(code)
