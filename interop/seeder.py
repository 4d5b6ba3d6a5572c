#!/usr/bin/python3
"""A TCP-only libtorrent seeder for interop tests.

Usage: seeder.py TORRENT DATA_DIR LISTEN_IP [partial]

Listens on LISTEN_IP only (pick a loopback address of its own: libtorrent
clients keep one peer per IP), with DHT, local peer discovery, UPnP, NAT-PMP
and uTP off. It checks the data against the torrent, announces to the
torrent's trackers, then prints "port N" and "ready" on stdout once it seeds.
It exits when stdin closes or on SIGTERM/SIGINT. Errors go to stderr with
exit code 1.

With "partial", DATA_DIR may hold only some of the data: the seeder serves
the pieces that pass their check, downloads nothing (every file has
priority 0), and prints "pieces HAVE/TOTAL" before "ready".
"""
import os
import signal
import sys
import threading
import time

import libtorrent as lt


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[4:] not in ([], ["partial"]):
        print("usage: seeder.py TORRENT DATA_DIR LISTEN_IP [partial]", file=sys.stderr)
        return 2
    torrent, data_dir, ip = sys.argv[1:4]
    partial = len(sys.argv) == 5

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
        # A seed in a test waits for peers to come to it. If it also dialled
        # peers it learns of (PEX), two libtorrents told of each other would
        # connect both ways at once and drop both connections as duplicates.
        "seeding_outgoing_connections": False,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
    })
    ses = lt.session(settings)

    ti = lt.torrent_info(torrent)
    params = lt.add_torrent_params()
    params.ti = ti
    params.save_path = data_dir
    if partial:
        params.file_priorities = [0] * ti.num_files()
    h = ses.add_torrent(params)

    # Wait for libtorrent to finish checking the data (torrent_checked_alert).
    deadline = time.monotonic() + 60
    checked = False
    while not stop.is_set() and not checked:
        for a in ses.pop_alerts():
            if isinstance(a, lt.torrent_checked_alert):
                checked = True
            elif a.category() & lt.alert.category_t.error_notification:
                print("seeder: %s" % a.message(), file=sys.stderr, flush=True)
        st = h.status()
        if st.errc.value() != 0:
            print("seeder: torrent error: %s" % st.errc.message(), file=sys.stderr)
            return 1
        if time.monotonic() > deadline:
            print("seeder: data not checked after 60s (state %s)" % st.state, file=sys.stderr)
            return 1
        if not checked:
            time.sleep(0.02)
    if stop.is_set():
        return 0

    st = h.status()
    have = st.num_pieces
    if not partial and have != ti.num_pieces():
        print("seeder: data in %s does not match %s: %d of %d pieces pass their check"
              % (data_dir, torrent, have, ti.num_pieces()), file=sys.stderr)
        return 1
    while ses.listen_port() == 0 and not stop.wait(0.02):
        pass
    if stop.is_set():
        return 0

    if partial:
        print("pieces %d/%d" % (have, ti.num_pieces()), flush=True)
    h.force_reannounce()
    print("port %d" % ses.listen_port(), flush=True)
    print("ready", flush=True)

    while not stop.wait(0.2):
        for a in ses.pop_alerts():
            print("seeder: %s" % a.message(), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: skip interpreter shutdown, which can trip over the stdin
    # thread, and skip libtorrent's goodbye announces to a tracker that may
    # already be gone.
    os._exit(code)
