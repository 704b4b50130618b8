#!/usr/bin/env python3
"""relay_listener: the real treesync-relay against hostile peers on its data port.

No root, no lab, no Docker: the test starts `treesync-relay serve` itself and
plays the source over its stdin and stdout (hello, receive, expect_parent),
puts a fake `docker load` (fake_docker.py) first in the relay's PATH, plays
every attacker of hostile_peer.py against the port the relay listens on
(127.0.0.1), watching the relay's memory and threads while it is flooded,
and then lets the real parent (relay_peer: wire::Sender with the edge key)
stream an image of one config and one layer.

    relay_listener_test.py RELAY RELAY_PEER

Checks: every attack is closed without an `accept`, a trickle within the
handshake's 5 s; the relay stays small under a flood; it reports `refused`
with a count and logs every refused connection; after all of it the real
parent's stream completes (`received`, then `loaded` with the config's
digest); closing the relay's stdin while a peer is still trickling ends the
relay with status 0 within 1.5 s and removes its run directory. And a parent
holding the right key but sending a layer whose bytes are not its digest's
gets `bad_part`, no `loaded`, and the runtime never sees a whole archive;
after expect_parent only the new key is accepted, and the right bytes load.

Striped (4 stripes, one of them empty): `receive` with 0 or 17 parents or
one key for two stripes, `expect_parent` out of range or with another
stripe's key, and `forward` with a bad child are refused whole (no child of
it is dialled); a chunk past its stripe's end gets the parents given up on,
not the node failed; a peer with stripe 1's key sending stripe 0's bytes
feeds stripe 1 only, and the layer fails its digest: every stripe's key is
refused, each stripe resumes where the layer starts in it, and three such
copies from a relay (replaced by the source before the load found out) do
not fail the node; honest parents then load. With a two-unit window per
stripe and no parent on stripe 0, stripe 1's key reconnecting 30 times
leaves no thread or descriptor behind.

The port a relay lends its own binary on (share_relay): a minted token gets
the whole binary once, a replay, another secret's token, garbage, a line
too long or with more after it get nothing; a trickled line is cut off; a
flood of 300 idle connections adds no thread and holds at most 16, a real
fetch still gets through, and every refusal is reported.
"""
import hashlib
import hmac
import io
import json
import os
import random
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import fake_docker  # noqa: E402
import hostile_peer as hp  # noqa: E402

RELAY, PEER = (os.path.abspath(p) for p in sys.argv[1:3])
CHECKS = 0


class Failed(Exception):
    pass


def ok(what):
    global CHECKS
    CHECKS += 1
    print("ok - " + what, flush=True)


def check(cond, what):
    if not cond:
        raise Failed(what)
    ok(what)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- The image: one layer (a tar of 2.5 MB of seeded random bytes, so its
# stream spans three 1 MiB chunks) and its config.

def make_image():
    content = random.Random(2026).randbytes(2_500_000)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo("app/data.bin")
        info.size, info.mtime = len(content), 1700000000
        t.addfile(info, io.BytesIO(content))
    layer = buf.getvalue()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}}).encode()
    return config, layer


CONFIG, LAYER = make_image()
CONFIG_ID, LAYER_ID = sha256(CONFIG), sha256(LAYER)
STREAM = CONFIG + LAYER
# Same length, other bytes, in the second chunk: every chunk's XXH3 is right
# (the sender hashes what it sends), only the layer's SHA-256 is not.
_bad = bytearray(LAYER)
_bad[1_500_000:1_500_100] = bytes(b ^ 0xA5 for b in _bad[1_500_000:1_500_100])
BAD_STREAM = CONFIG + bytes(_bad)


def receive_request(key):
    parts = [{"kind": "config", "digest": CONFIG_ID, "codec": "none", "size": len(CONFIG), "raw": len(CONFIG)},
             {"kind": "layer", "digest": LAYER_ID, "codec": "none", "size": len(LAYER), "raw": len(LAYER)}]
    return {"type": "receive", "parts": parts, "load": [0, 1],
            "images": [{"config": CONFIG_ID, "layers": [LAYER_ID], "config_size": len(CONFIG),
                        "layer_sizes": [len(LAYER)]}], "listen": "127.0.0.1",
            "parents": [{"key": key, "source": True}], "window": 0}


def relay_hash():
    """The relay's own XXH3-128, from its refusal to run under a wrong one."""
    r = subprocess.run([RELAY, "serve", "--hash", "0" * 32], capture_output=True, text=True, timeout=10)
    m = re.search(r"binary hash ([0-9a-f]{32}) does not match", r.stderr)
    if r.returncode != 3 or not m:
        raise Failed("the relay did not refuse a wrong hash as expected: %d %r" % (r.returncode, r.stderr))
    return m.group(1)


class Relay:
    """A treesync-relay we are the source of: messages in on its stdin, out on its stdout."""

    def __init__(self, work, hash_hex):
        self.work = work
        self.stderr_path = os.path.join(work, "relay.stderr")
        env = dict(os.environ, PATH=os.path.join(work, "bin") + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                   FAKE_DOCKER_RECORD=os.path.join(work, "record"))
        self.proc = subprocess.Popen([RELAY, "serve", "--hash", hash_hex, "--spool-dir", os.path.join(work, "spool")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.stderr_path, "ab"), env=env, cwd=work)
        self.messages = []
        self.cv = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.peak = {"VmRSS": 0, "VmSize": 0, "Threads": 0, "fds": 0}

    def _read(self):
        out, buf = self.proc.stdout, b""
        while chunk := out.read1(65536):
            buf += chunk
            while len(buf) >= 5 and len(buf) >= 5 + struct.unpack(">I", buf[1:5])[0]:
                n = 5 + struct.unpack(">I", buf[1:5])[0]
                kind, body, buf = buf[:1], buf[5:n], buf[n:]
                msg = json.loads(body) if kind == b"M" else {"type": "DATA FRAME ON STDOUT"}
                with self.cv:
                    self.messages.append(msg)
                    self.cv.notify_all()

    def send(self, msg):
        self.proc.stdin.write(hp.message(msg))
        self.proc.stdin.flush()

    def of_type(self, kind):
        with self.cv:
            return [m for m in self.messages if m.get("type") == kind]

    def wait_for(self, kind, timeout):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for m in self.messages:
                    if m.get("type") == kind:
                        return m
                    if m.get("type") == "error":
                        raise Failed("the relay sent an error while we waited for '%s': %r" % (kind, m))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failed("no '%s' from the relay within %.0f s" % (kind, timeout))
                self.cv.wait(left)

    def take_error(self, timeout=5):
        """The first error the relay sent, taken off the list (so later waits go on)."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i, m in enumerate(self.messages):
                    if m.get("type") == "error":
                        return self.messages.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failed("no error from the relay within %.0f s" % timeout)
                self.cv.wait(left)

    def take(self, kind, timeout):
        """As wait_for, and takes the message off the list (a later receive sends another)."""
        m = self.wait_for(kind, timeout)
        with self.cv:
            self.messages.remove(m)
        return m

    def sample(self):
        """Its size now, folded into the peaks."""
        status = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmSize", "Threads"):
                    status[key] = int(value.split()[0])
        status["fds"] = len(os.listdir("/proc/%d/fd" % self.proc.pid))
        for k, v in status.items():
            self.peak[k] = max(self.peak[k], v)
        return status

    def refusals_logged(self):
        """(lines about refusals in its log, the latest count they give)."""
        lines, count = 0, 0
        with open(self.stderr_path) as f:
            for line in f:
                m = re.search(r"refused (\d+) connection\(s\)", line)
                if m:
                    lines, count = lines + 1, int(m.group(1))
        return lines, count

    def close(self, within):
        """Closes its stdin; returns (exit status, seconds it took)."""
        start = time.monotonic()
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            raise Failed("the relay was still running %.1f s after its stdin closed" % within)
        return rc, time.monotonic() - start

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start(work, hash_hex, key):
    relay = Relay(work, hash_hex)
    hello = relay.wait_for("hello", 10)
    check(hello["pid"] == relay.proc.pid, "the relay said hello with its pid")
    # The probe opens the node's runtime, as treesync's first request does.
    relay.send({"type": "probe", "images": [CONFIG_ID], "layers": True, "runtime": "docker", "socket": "", "ns": "", "sudo": ""})
    probed = relay.wait_for("probed", 10)
    check(probed["runtime"] == "docker" and not probed["images"][CONFIG_ID]["present"],
          "the probe found the stand-in Docker, without the image")
    relay.send(receive_request(key))
    port = relay.wait_for("listening", 10)["port"]
    check(port > 0, "the relay listens on 127.0.0.1:%d" % port)
    return relay, port


def peer(port, key, stream_path):
    return subprocess.run([PEER, "127.0.0.1", str(port), key, stream_path], capture_output=True, text=True,
                          timeout=30)


def records(work):
    d = os.path.join(work, "record")
    out = []
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            out.append(f.read())
    return out


def no_run_dirs(work):
    return [n for n in os.listdir(os.path.join(work, "spool")) if n.startswith("run-")] == []


class Trickler(threading.Thread):
    """A peer that has read its challenge and sends one byte every 0.5 s."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.conn = hp.Conn("127.0.0.1", port)
        self.conn.challenge()
        self.closed_at = None
        self.stop = False

    def run(self):
        pending = hp.message({"type": "answer", "nonce": "0" * 32, "mac": "0" * 64})
        while not self.stop and pending:
            self.conn.send(pending[:1])
            pending = pending[1:]
            if self.conn._fill(0.5) is False and self.conn.eof:
                self.closed_at = time.monotonic()
                return

    def still_open(self):
        return self.closed_at is None and not self.conn.eof


def parent_sends_garbage(port, key):
    """A parent with the key that then sends a malformed frame: the relay
    drops that connection (it once kept a pointer to the freed socket and
    shut down whatever held its descriptor next), takes the next parent,
    and the real one after that still loads (checked by the caller)."""
    for attempt in (1, 2):
        c = hp.Conn("127.0.0.1", port)
        try:
            r, s = c.challenge(), hp.nonce()
            c.send(hp.message({"type": "answer", "nonce": s, "mac": hp.answer_mac(key, r, s)}))
            accept = c.read_message()
            check(accept and accept.get("type") == "accept", "parent %d with the key was accepted" % attempt)
            c.send(b"Z\x00\x00\x00\x00")
            c.wait_closed(2.0)
            ok("parent %d's malformed frame closed its connection" % attempt)
        finally:
            c.close()
        time.sleep(1.5)  # the listener reaps the connection meanwhile
    return 2  # connections that proved the key: not refusals


def attacks_then_parent(work, hash_hex):
    print("# every attacker on its own connection, then the real parent", flush=True)
    key = os.urandom(32).hex()
    relay, port = start(work, hash_hex, key)
    try:
        hp.run_attacks("127.0.0.1", port, key, log=ok)
        authenticated = parent_sends_garbage(port, key)

        n = hp.MAX_PENDING + 2
        times = hp.crowd_lifetimes("127.0.0.1", port, trickle=n, on_tick=relay.sample)
        print("  %d trickling connections closed after %s" % (n, ", ".join("%.2f" % t for t in times)))
        check(times[-1] < hp.HANDSHAKE_S + 1.0, "every trickling connection was closed within about 5 s (%s)" %
              hp.summary(times))
        check(sum(t < 1.0 for t in times) >= n - hp.MAX_PENDING,
              "those past %d in the handshake were closed at once" % hp.MAX_PENDING)

        after_slowloris = dict(relay.peak)
        times = hp.crowd_lifetimes("127.0.0.1", port, silent=300, on_tick=relay.sample)
        print("  300 silent connections (in %.1f s) closed after %s; peaks: VmRSS %d kB, VmSize %d kB "
              "(%d kB with 10 connections), Threads %d, fds %d" %
              (300 / hp.FLOOD_RATE, hp.summary(times), relay.peak["VmRSS"], relay.peak["VmSize"],
               after_slowloris["VmSize"], relay.peak["Threads"], relay.peak["fds"]), flush=True)
        check(times[-1] < hp.HANDSHAKE_S + 1.5, "all 300 were closed, none later than the handshake's 5 s")
        attacked = hp.connections - authenticated
        check(relay.peak["VmRSS"] < 64 * 1024, "the relay's RSS stayed under 64 MB (%d kB)" % relay.peak["VmRSS"])
        check(relay.peak["Threads"] < 40, "it ran fewer than 40 threads (%d)" % relay.peak["Threads"])
        check(relay.peak["fds"] < 64, "it held fewer than 64 descriptors (%d)" % relay.peak["fds"])
        # Address space follows threads (an 8 MiB stack each; the relay caps
        # glibc's malloc arenas at 2), not connections: a connection evicted
        # from the handshake may hold its thread a moment longer. The second
        # arena (64 MiB reserved) comes whenever two threads first contend in
        # malloc, before the slowloris sample or during the flood (1 run in 6
        # on a loaded machine): allow it once.
        extra_threads = max(0, relay.peak["Threads"] - after_slowloris["Threads"])
        check(relay.peak["VmSize"] <= after_slowloris["VmSize"] + (extra_threads + 2) * 8 * 1024 + 64 * 1024,
              "300 connections cost no more address space than their few extra threads (%d kB)" % relay.peak["VmSize"])
        check(relay.peak["VmSize"] < 512 * 1024, "under 512 MiB of address space (%d kB)" % relay.peak["VmSize"])

        deadline = time.monotonic() + 3  # one report a second at most, and the tail within two
        while relay.of_type("refused")[-1:] and relay.of_type("refused")[-1]["count"] < attacked and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        refused = relay.of_type("refused")
        logged = relay.refusals_logged()
        check(refused and all(r["peer"] == "127.0.0.1" and r["count"] >= 1 and r["reason"] for r in refused),
              "the relay reported %d refused event(s), each with peer, reason and count" % len(refused))
        check(len(refused) < 30, "rate-limited: %d events for %d refusals" % (len(refused), attacked))
        check(logged[1] == attacked, "its log counts every refused connection (%d of %d)" % (logged[1], attacked))
        check(logged[0] < 30, "in a few lines, rate-limited like the events (%d)" % logged[0])
        check(refused[-1]["count"] == attacked, "within 2 s of the last, a report counts them all (%d of %d)" %
              (refused[-1]["count"], attacked))

        path = os.path.join(work, "stream.bin")
        with open(path, "wb") as f:
            f.write(STREAM)
        started = time.monotonic()
        r = peer(port, key, path)
        check(r.returncode == 0, "the real parent streamed with the edge key and the relay proved it too: %s" %
              (r.stdout.strip() or r.stderr.strip()))
        got = relay.wait_for("received", 10)
        check(got["bytes"] == len(STREAM), "received: %d bytes" % got["bytes"])
        loaded = relay.wait_for("loaded", 20)
        print("  the stream took %.2f s to load" % (time.monotonic() - started))
        check(loaded["ids"] == [CONFIG_ID], "loaded: the config's digest %s" % CONFIG_ID[:19])
        check(not relay.of_type("bad_part") and not relay.of_type("corrupt"), "no bad_part and no corrupt chunk")
        fed = records(work)
        members, whole = fake_docker.walk_tar(fed[0]) if len(fed) == 1 else ({}, False)
        check(whole and members.get(CONFIG_ID[7:] + ".json") == CONFIG and
              members.get(LAYER_ID[7:] + "/layer.tar") == LAYER,
              "docker load was run once and fed a whole archive with the config and the layer")

        trickler = Trickler(port)
        trickler.start()
        time.sleep(1.5)
        check(trickler.still_open(), "a peer is still trickling its answer when the source hangs up")
        rc, seconds = relay.close(1.5)
        check(rc == 0, "the relay exited with status 0 after its stdin closed (%.2f s)" % seconds)
        trickler.join(2)
        check(trickler.conn.eof, "the trickling connection was closed with it")
        trickler.stop = True
        trickler.conn.close()
        check(no_run_dirs(work), "its run directory is gone")
    finally:
        relay.kill()


def bad_part_then_new_parent(work, hash_hex):
    print("# the right key with the wrong bytes: bad_part, nothing loaded; then a new parent", flush=True)
    shutil.rmtree(os.path.join(work, "record"))
    os.mkdir(os.path.join(work, "record"))
    key, new_key = os.urandom(32).hex(), os.urandom(32).hex()
    relay, port = start(work, hash_hex, key)
    try:
        bad_path, good_path = os.path.join(work, "bad.bin"), os.path.join(work, "stream.bin")
        with open(bad_path, "wb") as f:
            f.write(BAD_STREAM)
        peer(port, key, bad_path)  # it may well think it succeeded: the check is the relay's
        bad = relay.wait_for("bad_part", 10)
        check(bad["part"] == LAYER_ID and bad["offset"] == len(CONFIG) and bad["peer"] == "127.0.0.1",
              "bad_part names the layer and resumes at its start (byte %d)" % bad["offset"])
        time.sleep(1.0)
        check(not relay.of_type("loaded"), "no loaded")
        fed = records(work)
        check(fed and not any(fake_docker.walk_tar(r)[1] for r in fed),
              "docker load never got a whole archive (%d run(s), none with an end)" % len(fed))

        relay.send({"type": "expect_parent", "stripe": 0, "key": new_key, "source": True})
        check(relay.wait_for("parent_expected", 5)["key"] == new_key, "parent_expected for the new key")
        c = hp.Conn("127.0.0.1", port)
        try:
            r, s = c.challenge(), hp.nonce()
            c.send(hp.message({"type": "answer", "nonce": s, "mac": hp.answer_mac(key, r, s)}))
            c.wait_closed(2.0)
        finally:
            c.close()
        ok("the old parent's key is refused now")
        r = peer(port, new_key, good_path)
        check(r.returncode == 0, "the new parent streamed the rest: %s" % (r.stdout.strip() or r.stderr.strip()))
        loaded = relay.wait_for("loaded", 20)
        check(loaded["ids"] == [CONFIG_ID], "loaded: the config's digest")
        whole = [r for r in records(work) if fake_docker.walk_tar(r)[1]]
        check(len(whole) == 1 and fake_docker.load(whole[0]) == ["Loaded image ID: " + CONFIG_ID],
              "exactly one load got a whole archive, and it holds the right bytes")
        rc, seconds = relay.close(1.5)
        check(rc == 0, "the relay exited with status 0 (%.2f s)" % seconds)
        check(no_run_dirs(work), "its run directory is gone")
    finally:
        relay.kill()


# --- Striped streams (docs/protocol.md, "Stripes"): the key a peer proves
# picks its stripe; every stripe is a stream of its own.

UNIT = 1 << 20  # src/wire/protocol.h: kChunkSize, the stripe unit


def stripes_of(stream, k):
    """Each stripe's stream: unit u of the whole belongs to stripe u mod k."""
    units = [stream[i:i + UNIT] for i in range(0, len(stream), UNIT)]
    return [b"".join(units[s::k]) for s in range(k)]


def striped_request(config, layer, keys, window=0):
    req = receive_request("")
    cid, lid = sha256(config), sha256(layer)
    req["parts"] = [{"kind": "config", "digest": cid, "codec": "none", "size": len(config), "raw": len(config)},
                    {"kind": "layer", "digest": lid, "codec": "none", "size": len(layer), "raw": len(layer)}]
    req["images"] = [{"config": cid, "layers": [lid], "config_size": len(config), "layer_sizes": [len(layer)]}]
    req["parents"] = [{"key": k, "source": True} for k in keys]
    req["window"] = window
    return req


def handshake(port, key):
    """A raw parent: proves `key`; returns (connection, the accept) or (connection, None) if refused."""
    c = hp.Conn("127.0.0.1", port)
    r, n = c.challenge(), hp.nonce()
    c.send(hp.message({"type": "answer", "nonce": n, "mac": hp.answer_mac(key, r, n)}))
    m = c.read_message(3.0)
    return c, (m if m and m.get("type") == "accept" else None)


def refused_key(port, key):
    c, accept = handshake(port, key)
    try:
        return accept is None and c.wait_closed(2.0) is not None
    finally:
        c.close()


def write_file(work, name, data):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def fresh_records(work):
    shutil.rmtree(os.path.join(work, "record"))
    os.mkdir(os.path.join(work, "record"))


def striped_control_messages(relay, work):
    """Malformed control messages about stripes are refused whole, and the relay goes on."""
    for n in (0, 17):
        relay.send(striped_request(CONFIG, LAYER, [os.urandom(32).hex() for _ in range(n)]))
        e = relay.take_error()
        check(e["step"] == "receive" and "1 to 16 stripe parents" in e["message"],
              "receive with %d parents: refused (%s)" % (n, e["message"]))
    same = os.urandom(32).hex()
    relay.send(striped_request(CONFIG, LAYER, [same, os.urandom(32).hex(), same]))
    e = relay.take_error()
    check("same edge key" in e["message"], "receive with one key for stripes 0 and 2: refused (%s)" % e["message"])


def striped_liars(work, hash_hex):
    print("# striped: control messages out of range, a zero-size stripe, a chunk past its stripe's end, "
          "stripe 1's key with stripe 0's bytes; then honest parents load", flush=True)
    fresh_records(work)
    keys = [os.urandom(32).hex() for _ in range(4)]
    relay, port = start(work, hash_hex, keys[0])
    try:
        relay.take("listening", 5)
        striped_control_messages(relay, work)
        # Three units: stripes 0 and 1 a unit each, stripe 2 the tail, stripe 3 nothing.
        stripes = stripes_of(STREAM, 4)
        check([len(x) for x in stripes] == [UNIT, UNIT, len(STREAM) - 2 * UNIT, 0],
              "4 stripes of %s bytes" % [len(x) for x in stripes])
        relay.send(striped_request(CONFIG, LAYER, keys))
        port = relay.take("listening", 5)["port"]

        for bad in (4, -1):
            relay.send({"type": "expect_parent", "stripe": bad, "key": os.urandom(32).hex(), "source": True})
            e = relay.take_error()
            check("no stripe %d" % bad in e["message"], "expect_parent for stripe %d: refused" % bad)
        relay.send({"type": "expect_parent", "stripe": 1, "key": keys[0], "source": True})
        e = relay.take_error()
        check("same edge key" in e["message"], "expect_parent giving stripe 1 stripe 0's key: refused")
        check(not refused_key(port, keys[1]), "stripe 1's own key still works after that")

        # A child that would listen here must never be dialled: the request is refused whole.
        watcher = socket.socket()
        watcher.bind(("127.0.0.1", 0))
        watcher.listen(4)
        watcher.settimeout(1.5)
        good = {"name": "c0", "address": "127.0.0.1", "port": watcher.getsockname()[1], "stripe": 0,
                "parts": [0, 1], "key": os.urandom(32).hex()}
        for wrong, what, why in (({"stripe": 4}, "a child on stripe 4", "no stripe 4"),
                                 ({"parts": [1]}, "a thinned child on a striped stream", "children whole")):
            relay.send({"type": "forward", "children": [good, dict(good, name="c1", **wrong)], "limit": 0, "pace": True})
            e = relay.take_error()
            check(e["step"] == "forward" and why in e["message"], "forward with %s: refused (%s)" % (what, e["message"]))
        try:
            watcher.accept()[0].close()
            dialled = True
        except socket.timeout:
            dialled = False
        watcher.close()
        check(not dialled and not relay.of_type("forwarding"), "and no child of a refused forward was dialled")

        r = peer(port, keys[3], write_file(work, "empty.bin", b""))
        check(r.returncode == 0, "stripe 3 has no bytes: its parent is accepted at 0 and done (%s)" %
              (r.stdout.strip() or r.stderr.strip()))

        # Stripe 2's parent sends a unit past the stripe's end: asked again,
        # then given up on; the node is not failed for it.
        r = peer(port, keys[2], write_file(work, "long.bin", stripes[2] + b"\0" * UNIT))
        bad = relay.take("bad_part", 10)
        check(bad["part"] == "" and not relay.of_type("error"),
              "a chunk past stripe 2's end: bad_part (the parents given up on), no error (%r)" % bad)
        check(refused_key(port, keys[0]) and refused_key(port, keys[2]), "every stripe's key is refused now")

        # Stripe 1's key with stripe 0's bytes: they land in stripe 1, and
        # the layer fails its digest. Nothing is loaded. The lying relay is
        # replaced by the source before the load finds out: the bad copy is
        # still the relay's, and three of them do not fail the node.
        for round in (1, 2, 3):
            lies = [os.urandom(32).hex() for _ in range(4)]
            for sn, k in enumerate(lies):
                relay.send({"type": "expect_parent", "stripe": sn, "key": k, "source": sn != 1})
                relay.take("parent_expected", 5)
            if round == 1:
                c, accept = handshake(port, lies[2])
                c.close()
                check(accept and accept["offset"] == 0,
                      "stripe 2 resumes at 0: nothing of the long chunk stayed (%r)" % accept)
            r = peer(port, lies[1], write_file(work, "s1.bin", stripes[0]))
            relay.send({"type": "expect_parent", "stripe": 1, "key": os.urandom(32).hex(), "source": True})
            relay.take("parent_expected", 5)
            for sn in (0, 3, 2):  # stripe 2 completes the stream: the load then finds the lie
                peer(port, lies[sn], write_file(work, "s%d.bin" % sn, stripes[sn]))
            bad = relay.take("bad_part", 15)
            check(bad["part"] == LAYER_ID and bad["offset"] == len(CONFIG),
                  "round %d: stripe 0's bytes under stripe 1's key: the layer fails its SHA-256, bad_part at byte %d" %
                  (round, bad["offset"]))
            check(not relay.of_type("loaded") and not any(fake_docker.walk_tar(r)[1] for r in records(work)),
                  "nothing loaded, and docker load never got a whole archive")
            check(all(refused_key(port, k) for k in lies), "every stripe's parent was dropped: all four keys refused")
        check(not relay.of_type("error"), "three bad copies from a relay did not fail the node")

        honest = [os.urandom(32).hex() for _ in range(4)]
        for sn, k in enumerate(honest):
            relay.send({"type": "expect_parent", "stripe": sn, "key": k, "source": True})
            relay.take("parent_expected", 5)
        offsets = []
        for sn in range(3):
            c, accept = handshake(port, honest[sn])
            offsets.append(accept and accept["offset"])
            c.close()
        check(offsets == [len(CONFIG), 0, 0],
              "each stripe resumes where the bad layer starts in it, stripe 1's lie forgotten: %s" % offsets)
        for sn in range(4):
            r = peer(port, honest[sn], write_file(work, "s%d.bin" % sn, stripes[sn]))
            check(r.returncode == 0, "stripe %d's honest parent streamed it (%s)" % (sn, r.stdout.strip() or r.stderr.strip()))
        loaded = relay.take("loaded", 20)
        check(loaded["ids"] == [CONFIG_ID], "loaded: the config's digest")
        whole = [x for x in records(work) if fake_docker.walk_tar(x)[1]]
        check(len(whole) == 1 and fake_docker.load(whole[0]) == ["Loaded image ID: " + CONFIG_ID],
              "exactly one load got a whole archive, and it holds the right bytes")
        check(not relay.of_type("error"), "no error all along")
        rc, seconds = relay.close(1.5)
        check(rc == 0, "the relay exited with status 0 (%.2f s)" % seconds)
        check(no_run_dirs(work), "its run directory and every stripe's spool are gone")
    finally:
        relay.kill()


def striped_window_reconnects(work, hash_hex):
    print("# striped, small window: stripe 0 has no parent yet, stripe 1 fills its window; "
          "its key reconnects 30 times", flush=True)
    fresh_records(work)
    content = random.Random(12).randbytes(6 * UNIT)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(content)]}}).encode()
    stripes = stripes_of(config + content, 2)
    keys = [os.urandom(32).hex() for _ in range(2)]
    relay, port = start(work, hash_hex, keys[0])
    try:
        relay.take("listening", 5)
        relay.send(striped_request(config, content, keys, window=1))  # each stripe's share: two units
        port = relay.take("listening", 5)["port"]
        filler = subprocess.Popen([PEER, "127.0.0.1", str(port), keys[1], write_file(work, "s1.bin", stripes[1])],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            progress = relay.of_type("progress")
            if progress and progress[-1]["stripes"] == [0, 2 * UNIT]:
                break
            time.sleep(0.2)
        check(progress and progress[-1]["stripes"] == [0, 2 * UNIT],
              "stripe 1 holds its window (2 units) and waits for the load, which waits for stripe 0")
        time.sleep(1.5)
        before = relay.sample()
        conns = []
        for _ in range(30):
            c, accept = handshake(port, keys[1])
            conns.append(c)
            if not accept:
                raise Failed("stripe 1's key was refused on a reconnect")
        time.sleep(3.0)  # a replaced parent notices within a second of waiting for room
        after = relay.sample()
        print("  threads %d -> %d, descriptors %d -> %d" % (before["Threads"], after["Threads"], before["fds"], after["fds"]))
        check(after["Threads"] <= before["Threads"] + 1 and after["fds"] <= before["fds"] + 1,
              "30 reconnects on a full stripe left no thread or descriptor behind")
        for c in conns:
            c.close()
        filler.kill()
        filler.wait()
        # Stripe 1's last parent sent nothing: an honest one takes over where the spool ends.
        procs = [subprocess.Popen([PEER, "127.0.0.1", str(port), keys[sn], write_file(work, "s%d.bin" % sn, stripes[sn])],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for sn in range(2)]
        for p in procs:
            p.wait(20)
        loaded = relay.take("loaded", 20)
        check(loaded["ids"] == [sha256(config)], "then both stripes came, through two-unit windows, and it loaded")
        rc, seconds = relay.close(1.5)
        check(rc == 0 and no_run_dirs(work), "the relay exited with status 0 and left nothing behind")
    finally:
        relay.kill()


def share_token(secret, nonce):
    mac = hmac.new(secret.encode(), ("treesync relay share\n" + nonce).encode(), hashlib.sha256).hexdigest()
    return ("%s %s\n" % (nonce, mac)).encode()


def fetch(port, line, chunks=None):
    """Sends `line` (in `chunks`, if given) to the relay's share port; returns all it sent back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        for part in (chunks or [line]):
            c.sendall(part)
        got = b""
        while True:
            try:
                data = c.recv(1 << 16)
            except ConnectionResetError:
                return got
            if not data:
                return got
            got += data


def share_port_attacks(work, hash_hex):
    """The port a relay lends its binary on (share_relay) against strangers."""
    relay = Relay(work, hash_hex)
    try:
        relay.wait_for("hello", 10)
        relay.send({"type": "share_relay", "listen": "127.0.0.1", "secret": "ab" * 8})
        check("too short" in relay.take_error()["message"], "share_relay with a short secret is refused")
        secret = os.urandom(32).hex()
        relay.send({"type": "share_relay", "listen": "127.0.0.1", "secret": secret})
        port = relay.take("sharing", 10)["port"]
        with open(RELAY, "rb") as f:
            binary = f.read()
        good = share_token(secret, os.urandom(16).hex())
        check(fetch(port, good) == binary, "a token minted from the secret gets the relay's whole binary")
        check(fetch(port, good) == b"", "the same token again (a replay) gets nothing")
        wrong = share_token(os.urandom(32).hex(), os.urandom(16).hex())
        check(fetch(port, wrong) == b"", "a token from another secret gets nothing")
        for name, line in (("garbage", os.urandom(300)), ("an empty line", b"\n"),
                           ("uppercase hex", good.upper()), ("a token and more", good + b"x"),
                           ("a token without its newline, then EOF", good[:-1])):
            check(fetch(port, line) == b"", "%s gets nothing" % name)
        start = time.monotonic()
        trickle = [good[i:i + 1] for i in range(10)]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            closed = False
            for b in trickle:
                try:
                    c.sendall(b)
                    time.sleep(0.7)
                except OSError:
                    closed = True
                    break
            c.settimeout(10)
            try:
                closed = closed or c.recv(10) == b""
            except OSError:
                closed = True
        check(closed and time.monotonic() - start < 9, "a trickled line is cut off within the line's 5 s")
        before = relay.sample()
        flood = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(300)]
        time.sleep(0.5)
        during = relay.sample()
        check(during["Threads"] == before["Threads"] and during["fds"] <= before["fds"] + 20,
              "300 idle connections: no new thread, at most 16 of them held (threads %d -> %d, fds %d -> %d)"
              % (before["Threads"], during["Threads"], before["fds"], during["fds"]))
        check(fetch(port, share_token(secret, os.urandom(16).hex())) == binary,
              "while they wait, a real fetch still gets the binary")
        for c in flood:
            c.close()
        deadline = time.monotonic() + 5
        while relay.sample()["fds"] > before["fds"] and time.monotonic() < deadline:
            time.sleep(0.2)
        check(relay.sample()["fds"] <= before["fds"], "and once they leave, no descriptor stays behind")
        time.sleep(1.2)  # refusals are reported at most once a second
        refused = relay.of_type("refused")
        check(refused and refused[-1]["count"] >= 8 and any("relay share:" in r["reason"] for r in refused),
              "the relay reports the refusals (%d so far) as 'relay share: ...'" % (refused[-1]["count"] if refused else 0))
        rc, _ = relay.close(1.5)
        check(rc == 0, "the relay exits 0 when its stdin closes while lending")
    finally:
        relay.kill()


def main():
    work = tempfile.mkdtemp(prefix="relay-listener-")
    try:
        for d in ("bin", "spool", "record"):
            os.mkdir(os.path.join(work, d))
        docker = os.path.join(work, "bin", "docker")
        with open(docker, "w") as f:
            f.write('#!/bin/sh\nexec python3 %s "$@"\n' % os.path.join(HERE, "fake_docker.py"))
        os.chmod(docker, 0o755)
        hash_hex = relay_hash()
        started = time.monotonic()
        attacks_then_parent(work, hash_hex)
        bad_part_then_new_parent(work, hash_hex)
        striped_liars(work, hash_hex)
        striped_window_reconnects(work, hash_hex)
        share_port_attacks(work, hash_hex)
        print("%d passed, 0 failed (%.1f s)" % (CHECKS, time.monotonic() - started))
        return 0
    except (Failed, hp.Refusal, OSError, subprocess.TimeoutExpired) as e:
        print("FAIL: %s" % e, flush=True)
        log = os.path.join(work, "relay.stderr")
        if os.path.exists(log):
            with open(log) as f:
                lines = f.readlines()
            print("relay's stderr (last 20 lines):\n" + "".join(lines[-20:]))
        print("%d passed, 1 failed" % CHECKS)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
