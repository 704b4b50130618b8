#!/usr/bin/env python3
"""A hostile peer on a treesync relay's data port (docs/protocol.md, "Between relays").

Anyone on a node's network can reach the port a relay listens on. Each attack
here runs on its own connection and checks what the relay must do with it:
close it without ever sending `accept`, within a bounded time. Used as a
module by tests/relay_listener_test.py (which also knows the edge key and
plays the source) and as a program by tests/e2e/hostile_peer.sh, run inside
the lab on a host that is not the attacked node's parent:

    hostile_peer.py HOST PORT [--slowloris N] [--flood N] [--patience S] [--hold S]

It prints one line per attack, then opens the trickling and silent
connections all at once and watches them past the handshake's 5 s (then
prints "holding ...", and keeps them --hold s more, so the test can look at
the relay from its side), and exits 0 only if no connection ever got an
`accept` and each attack was closed within --patience s.
"""
import hashlib
import hmac
import json
import os
import select
import socket
import struct
import sys
import time

HANDSHAKE_S = 5.0  # relay/listener.h: kHandshakeMs
MAX_PENDING = 8  # relay/listener.h: kMaxPending
MAX_HANDSHAKE_FRAME = 4096  # src/wire/protocol.h: kMaxHandshakeFrame
FLOOD_RATE, FLOOD_BURST = 800, 8  # connections a second, in bursts of

connections = 0  # opened so far: each one the relay must refuse


def frame(kind, body):
    return kind + struct.pack(">I", len(body)) + body


def message(obj):
    return frame(b"M", json.dumps(obj).encode())


def data_frame(offset, payload, xxh3=0):
    return b"D" + struct.pack(">IQQ", 16 + len(payload), offset, xxh3) + payload


# src/wire/edge_auth.cpp
def answer_mac(key, receiver_nonce, sender_nonce):
    text = "treesync edge answer\n" + receiver_nonce + "\n" + sender_nonce
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def nonce():
    return os.urandom(16).hex()


class Refusal(AssertionError):
    pass


class Conn:
    """One connection to the relay, reading its frames as they come."""

    def __init__(self, host, port, timeout=5.0):
        global connections
        self.sock = socket.create_connection((host, port), timeout=timeout)
        connections += 1
        self.started = time.monotonic()
        self.buf = b""
        self.eof = False

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:  # the relay already closed it
            return False

    def _fill(self, timeout):
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return False
        try:
            chunk = self.sock.recv(65536)
        except OSError:  # reset: closed too
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _take_frame(self):
        if len(self.buf) < 5:
            return None
        length = struct.unpack(">I", self.buf[1:5])[0]
        if len(self.buf) < 5 + length:
            return None
        kind, body, self.buf = self.buf[:1], self.buf[5:5 + length], self.buf[5 + length:]
        if kind != b"M":
            raise Refusal("the relay sent a %r frame on an unauthenticated connection" % kind)
        return json.loads(body)

    def read_message(self, timeout=5.0):
        """The next message, or None at EOF or after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            m = self._take_frame()
            if m is not None:
                return m
            if self.eof or not self._fill(deadline - time.monotonic()):
                if self.eof or time.monotonic() >= deadline:
                    return None

    def challenge(self):
        m = self.read_message()
        if not m or m.get("type") != "challenge" or len(m.get("nonce", "")) != 32:
            raise Refusal("the relay did not open with a challenge: %r" % (m,))
        return m["nonce"]

    def wait_closed(self, within):
        """Seconds until the relay closed the connection; raises if it sent
        an accept, or kept it open past `within` seconds from the connect."""
        deadline = self.started + within
        while not self.eof:
            m = self._take_frame()
            if m is not None:
                if m.get("type") == "accept":
                    raise Refusal("the relay accepted a peer without the key: %r" % m)
                continue
            if not self._fill(deadline - time.monotonic()) and not self.eof and time.monotonic() >= deadline:
                raise Refusal("the connection was still open after %.1f s" % within)
        seconds = time.monotonic() - self.started
        while (m := self._take_frame()) is not None:
            if m.get("type") == "accept":
                raise Refusal("the relay accepted a peer without the key: %r" % m)
        return seconds

    def close(self):
        self.sock.close()


# --- Attacks, each on its own connection; each returns how long the relay
# took to close it, and fails if that took over `patience` seconds. `key`
# is the edge key where the caller knows it (to make a genuine answer for
# the replay), else None.

def _simple(payload, read_challenge=True):
    def attack(host, port, key, patience):
        c = Conn(host, port)
        try:
            if read_challenge:
                c.challenge()
            c.send(payload)
            return c.wait_closed(patience)
        finally:
            c.close()
    return attack


def wrong_mac(host, port, key, patience):
    c = Conn(host, port)
    try:
        r, s = c.challenge(), nonce()
        c.send(message({"type": "answer", "nonce": s, "mac": answer_mac("not the edge key", r, s)}))
        return c.wait_closed(patience)
    finally:
        c.close()


def replay(host, port, key, patience):
    """An answer made for an earlier connection's challenge, sent in reply to
    a new one. With the key, that answer was genuine (as if recorded off the
    wire from the real parent); without it, the best an outsider can do."""
    first = Conn(host, port)
    try:
        r1 = first.challenge()
    finally:
        first.close()
    s1 = nonce()
    recorded = {"type": "answer", "nonce": s1, "mac": answer_mac(key or "a guess", r1, s1)}
    c = Conn(host, port)
    try:
        r2 = c.challenge()
        if r2 == r1:
            raise Refusal("the relay reused its challenge nonce %s" % r1)
        c.send(message(recorded))
        return c.wait_closed(patience)
    finally:
        c.close()


ATTACKS = [
    ("unknown frame kind", _simple(b"X\x00\x00\x00\x00", read_challenge=False)),
    ("frame length over the limit", _simple(b"M" + struct.pack(">I", MAX_HANDSHAKE_FRAME + 1))),
    ("frame length of 4 GiB", _simple(b"M\xff\xff\xff\xff")),
    ("body that is not JSON", _simple(frame(b"M", b"{not json"))),
    ("body that is not UTF-8", _simple(frame(b"M", b'{"type":"\xff\xfe"}'))),
    ("JSON nested 4000 deep", _simple(frame(b"M", b"[" * 4000))),
    ("old-style hello with token 5", _simple(message({"type": "hello", "token": 5}))),
    ("answer with fields of the wrong type", _simple(message({"type": "answer", "nonce": 5, "mac": None}))),
    ("answer with a wrong mac", wrong_mac),
    ("replayed answer to an earlier challenge", replay),
    ("data frames before authenticating", _simple(data_frame(0, b"\0" * 1024) * 3)),
    ("data frame before even reading the challenge", _simple(data_frame(0, b"x" * 100), read_challenge=False)),
]


def run_attacks(host, port, key=None, patience=2.0, log=print):
    for name, attack in ATTACKS:
        seconds = attack(host, port, key, patience)
        log("%s: closed without accept after %.2f s" % (name, seconds))


# --- A crowd: many connections at once, some trickling, some silent.

TRICKLE = frame(b"M", b'{"type":"answer","nonce":"' + b"0" * 32 + b'","mac":"' + b"0" * 64 + b'"}')


class _Member:
    def __init__(self, host, port, trickles):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex((host, port))
        self.opened = time.monotonic()
        self.pending = TRICKLE if trickles else b""
        self.next_at = self.opened
        self.seen = b""
        self.touched = False  # the relay sent something, or closed it
        self.lasted = None  # seconds from open to close


class Crowd:
    """`trickle` connections that each send a frame one byte every
    `interval` s, and `silent` ones that send nothing, opened FLOOD_RATE a
    second. Faster than the relay's accept queue (16) drains, Linux drops
    the handshake's last ACK (syncookies) and the client believes in a
    connection the relay never saw and so cannot close: that would test the
    kernel, not the relay."""

    def __init__(self, host, port, trickle=0, silent=0, interval=0.5, on_tick=None):
        global connections
        self.interval, self.on_tick, self.members = interval, on_tick, []
        for i in range(trickle + silent):
            self.members.append(_Member(host, port, trickles=i < trickle))
            connections += 1
            if i % FLOOD_BURST == FLOOD_BURST - 1:
                self.watch(FLOOD_BURST / FLOOD_RATE)
        self.last_opened = time.monotonic()

    def open_members(self):
        return [m for m in self.members if m.lasted is None]

    def watch(self, seconds):
        """Trickles and reads for `seconds`; raises on an accept."""
        end = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            for m in self.open_members():
                if m.pending and now >= m.next_at:
                    try:
                        m.sock.send(m.pending[:1])
                        m.pending = m.pending[1:]
                    except (BlockingIOError, OSError):  # not connected yet, or closed: reading tells
                        pass
                    m.next_at = now + self.interval
            if self.on_tick:
                self.on_tick()
            left = end - time.monotonic()
            if left <= 0:
                return
            socks = {m.sock: m for m in self.open_members()}
            r, _, _ = select.select(list(socks), [], [], min(left, 0.05))
            for s in r:
                m = socks[s]
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionRefusedError:  # nobody listens: the relay is gone
                    chunk, m.touched = b"", False
                except OSError:  # reset: the relay closed it with our bytes unread
                    chunk, m.touched = b"", True
                else:
                    m.touched = True
                if chunk:
                    m.seen += chunk
                    if b'"accept"' in m.seen:
                        raise Refusal("the relay accepted a connection without the key")
                else:
                    m.lasted = time.monotonic() - m.opened

    def wait_closed(self, within):
        """Watches until the relay closed every connection; raises if one is
        still open `within` s after the last was opened."""
        while self.open_members():
            left = self.last_opened + within - time.monotonic()
            if left <= 0:
                raise Refusal("%d of %d connections still open after %.1f s" %
                              (len(self.open_members()), len(self.members), within))
            self.watch(min(left, 0.2))
        return sorted(m.lasted for m in self.members)

    def close(self):
        for m in self.members:
            m.sock.close()


def crowd_lifetimes(host, port, trickle=0, silent=0, on_tick=None):
    """A Crowd, watched until the relay closed every connection (each within
    the handshake's time and a little); the seconds each lasted, sorted."""
    c = Crowd(host, port, trickle=trickle, silent=silent, on_tick=on_tick)
    try:
        return c.wait_closed(HANDSHAKE_S + 2.5)
    finally:
        c.close()


def summary(times):
    return "min %.2f s, max %.2f s" % (times[0], times[-1])


def main(argv):
    import argparse

    p = argparse.ArgumentParser(description="attack a treesync relay's data port")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--flood", type=int, default=100, help="silent connections")
    p.add_argument("--slowloris", type=int, default=MAX_PENDING + 2, help="trickling connections")
    p.add_argument("--patience", type=float, default=2.0,
                   help="seconds the relay may take to close a connection it refuses at once: on a "
                        "saturated link its FIN may be lost and sent again")
    p.add_argument("--hold", type=float, default=0.0,
                   help="after the handshake's time, keep the crowd open this long more (printing "
                        "'holding' first), for a look at the relay from its side")
    a = p.parse_args(argv)
    crowd = None
    try:
        run_attacks(a.host, a.port, patience=a.patience, log=lambda line: print("ok - " + line, flush=True))
        crowd = Crowd(a.host, a.port, trickle=a.slowloris, silent=a.flood)
        crowd.watch(crowd.last_opened + HANDSHAKE_S + 1.0 - time.monotonic())
        print("holding %d connections (%d trickling), %d still open from here, %.1f s after the last opened" %
              (len(crowd.members), a.slowloris, len(crowd.open_members()), time.monotonic() - crowd.last_opened),
              flush=True)
        crowd.watch(a.hold)
        touched = sum(m.touched for m in crowd.members)
        print("ok - no accept on any of %d trickling and %d silent connections; the relay answered or closed %d" %
              (a.slowloris, a.flood, touched))
        print("%d connections in all, %d of them seen by the relay for sure" %
              (connections, touched + len(ATTACKS) + 1))
    except (Refusal, OSError) as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if crowd:
            crowd.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
