#!/usr/bin/env python3
"""A hostile peer on a treesync relay's data port (docs/protocol.md, "Between relays").

Anyone on a node's network can reach the port a relay listens on. Each attack
here runs on its own connection and checks what the relay must do with it:
close it without ever sending `accept`, within a bounded time. Used as a
module by tests/relay_listener_test.py (which also knows the edge key and
plays the source) and as a program by tests/e2e/hostile_peer.sh, run inside
the lab on a host that is not the attacked node's parent:

    hostile_peer.py HOST PORT [--flood N] [--slowloris N]

It prints one line per attack and exits 0 only if the relay refused them all.
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


def accept_mac(key, receiver_nonce, sender_nonce, offset):
    text = "treesync edge accept\n%s\n%s\n%d" % (receiver_nonce, sender_nonce, offset)
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def nonce():
    return os.urandom(16).hex()


class Refusal(AssertionError):
    pass


class Conn:
    """One connection to the relay, reading its frames as they come."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
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
# took to close it. `key` is the edge key where the caller knows it (to make
# a genuine answer for replay), else None.

def _simple(payload, read_challenge=True):
    def attack(host, port, key=None):
        c = Conn(host, port)
        try:
            if read_challenge:
                c.challenge()
            c.send(payload)
            return c.wait_closed(2.0)
        finally:
            c.close()
    return attack


def wrong_mac(host, port, key=None):
    c = Conn(host, port)
    try:
        r, s = c.challenge(), nonce()
        c.send(message({"type": "answer", "nonce": s, "mac": answer_mac("not the edge key", r, s)}))
        return c.wait_closed(2.0)
    finally:
        c.close()


def replay(host, port, key=None):
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
        return c.wait_closed(2.0)
    finally:
        c.close()


BODY = b'{"type":"answer","nonce":"00","mac":"00"}'
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


def run_attacks(host, port, key=None, log=print):
    for name, attack in ATTACKS:
        seconds = attack(host, port, key)
        log("%s: closed without accept after %.2f s" % (name, seconds))


def open_quiet(host, port, n):
    """n connections that send nothing (non-blocking connects), FLOOD_RATE a
    second. Faster than the relay's accept queue (16) drains, Linux drops
    the handshake's last ACK (syncookies) and the client believes in a
    connection the relay never saw and so cannot close: that would test the
    kernel, not the relay."""
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        socks.append(s)
        if i % FLOOD_BURST == FLOOD_BURST - 1:
            time.sleep(FLOOD_BURST / FLOOD_RATE)
    return socks


def wait_all_closed(socks, within, on_tick=None):
    """Waits until the relay closed every socket; returns the seconds each
    took (from now). Raises on data other than a challenge, or on a socket
    still open after `within` seconds."""
    start = time.monotonic()
    closed_at = {}
    seen = {s: b"" for s in socks}
    while len(closed_at) < len(socks):
        left = start + within - time.monotonic()
        if left <= 0:
            raise Refusal("%d of %d connections still open after %.1f s" %
                          (len(socks) - len(closed_at), len(socks), within))
        if on_tick:
            on_tick()
        open_socks = [s for s in socks if s not in closed_at]
        r, _, _ = select.select(open_socks, [], [], min(left, 0.2))
        for s in r:
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                seen[s] += chunk
                if b'"accept"' in seen[s]:
                    raise Refusal("the relay accepted a silent connection")
            else:
                closed_at[s] = time.monotonic() - start
    for s in socks:
        s.close()
    return sorted(closed_at.values())


def flood(host, port, n, on_tick=None):
    """n connections that connect and say nothing. Returns the seconds each
    took to be closed, sorted."""
    return wait_all_closed(open_quiet(host, port, n), HANDSHAKE_S + 2.5, on_tick)


def slowloris(host, port, n, interval=0.5, on_tick=None):
    """n connections, each trickling a frame one byte every `interval` s.
    Returns the seconds each lasted, sorted."""
    conns = []
    for _ in range(n):
        c = Conn(host, port)
        c.pending = frame(b"M", b'{"type":"answer","nonce":"' + b"0" * 32 + b'","mac":"' + b"0" * 64 + b'"}')
        c.next_at = c.started
        conns.append(c)
    lasted = {}
    try:
        while len(lasted) < n:
            now = time.monotonic()
            for c in conns:
                if c in lasted:
                    continue
                if now - c.started > HANDSHAKE_S + 2.5:
                    raise Refusal("a trickling connection was still open after %.1f s" % (now - c.started))
                if now >= c.next_at and c.pending:
                    c.send(c.pending[:1])
                    c.pending = c.pending[1:]
                    c.next_at = now + interval
            open_conns = [c for c in conns if c not in lasted]
            r, _, _ = select.select([c.sock for c in open_conns], [], [], 0.05)
            for c in open_conns:
                if c.sock in r and not c._fill(0):
                    if c.eof:
                        lasted[c] = time.monotonic() - c.started
                elif c.sock in r:
                    while c._take_frame() is not None:  # the challenge, nothing else
                        pass
            if on_tick:
                on_tick()
    finally:
        for c in conns:
            c.close()
    return sorted(lasted.values())


def summary(times):
    return "min %.2f s, max %.2f s" % (times[0], times[-1])


def main(argv):
    import argparse

    p = argparse.ArgumentParser(description="attack a treesync relay's data port")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--flood", type=int, default=100)
    p.add_argument("--slowloris", type=int, default=MAX_PENDING + 2)
    a = p.parse_args(argv)
    try:
        run_attacks(a.host, a.port, log=lambda line: print("ok - " + line))
        times = slowloris(a.host, a.port, a.slowloris)
        print("ok - %d trickling connections closed (%s)" % (len(times), summary(times)))
        times = flood(a.host, a.port, a.flood)
        print("ok - %d silent connections closed (%s)" % (len(times), summary(times)))
    except (Refusal, OSError) as e:
        print("FAIL: %s" % e)
        return 1
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
