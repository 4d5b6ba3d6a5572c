#!/usr/bin/python3
"""A TCP-only libtorrent leecher for interop tests.

Usage: leecher.py TORRENT SAVE_DIR LISTEN_IP TIMEOUT_SECONDS

Downloads the torrent into SAVE_DIR as a peer on LISTEN_IP only (DHT, local
peer discovery, UPnP, NAT-PMP and uTP off), finding peers through the
torrent's trackers. libtorrent checks every piece's SHA-1 as it arrives.
Prints "complete" and exits 0 once it has every piece; exits 1 with a
message on stderr on error or timeout, and 0 at once when stdin closes or
on SIGTERM/SIGINT.
"""
import os
import signal
import sys
import threading
import time

import libtorrent as lt


def main():
    if len(sys.argv) != 5:
        print("usage: leecher.py TORRENT SAVE_DIR LISTEN_IP TIMEOUT_SECONDS", file=sys.stderr)
        return 2
    torrent, save_dir, ip, timeout = sys.argv[1:]

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

    ses = lt.session({
        "listen_interfaces": "%s:0" % ip,
        "outgoing_interfaces": ip,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.peer_notification
        | lt.alert.category_t.tracker_notification,
    })
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = save_dir
    h = ses.add_torrent(params)

    deadline = time.monotonic() + float(timeout)
    while not stop.wait(0.05):
        for a in ses.pop_alerts():
            print("leecher: %s" % a.message(), file=sys.stderr, flush=True)
        st = h.status()
        if st.errc.value() != 0:
            print("leecher: torrent error: %s" % st.errc.message(), file=sys.stderr)
            return 1
        if st.is_seeding:
            print("complete", flush=True)
            return 0
        if time.monotonic() > deadline:
            print("leecher: incomplete after %ss: %d of %d pieces, %d peers"
                  % (timeout, st.num_pieces, params.ti.num_pieces(), st.num_peers), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # see seeder.py
