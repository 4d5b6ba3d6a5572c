#!/usr/bin/python3
"""A TCP-only libtorrent seeder for interop tests.

Usage: seeder.py TORRENT DATA_DIR LISTEN_IP

Listens on LISTEN_IP only (pick a loopback address of its own: libtorrent
clients keep one peer per IP), with DHT, local peer discovery, UPnP, NAT-PMP
and uTP off. It checks the data against the torrent, announces to the
torrent's trackers, then prints "port N" and "ready" on stdout once it seeds.
It exits when stdin closes or on SIGTERM/SIGINT. Errors go to stderr with
exit code 1.
"""
import os
import signal
import sys
import threading
import time

import libtorrent as lt


def main():
    if len(sys.argv) != 4:
        print("usage: seeder.py TORRENT DATA_DIR LISTEN_IP", file=sys.stderr)
        return 2
    torrent, data_dir, ip = sys.argv[1:]

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
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
    })
    ses = lt.session(settings)

    ti = lt.torrent_info(torrent)
    params = lt.add_torrent_params()
    params.ti = ti
    params.save_path = data_dir
    h = ses.add_torrent(params)

    deadline = time.monotonic() + 60
    while not stop.is_set():
        st = h.status()
        for a in ses.pop_alerts():
            if a.category() & lt.alert.category_t.error_notification:
                print("seeder: %s" % a.message(), file=sys.stderr, flush=True)
        if st.errc.value() != 0:
            print("seeder: torrent error: %s" % st.errc.message(), file=sys.stderr)
            return 1
        checking = st.state in (lt.torrent_status.checking_files,
                                lt.torrent_status.checking_resume_data)
        if not checking and st.state != lt.torrent_status.seeding and st.progress < 1:
            print("seeder: data in %s does not match %s (progress %.3f)"
                  % (data_dir, torrent, st.progress), file=sys.stderr)
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
