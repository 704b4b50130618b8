#!/usr/bin/env python3
"""A layer as Docker's classic store keeps it, for tests/docker_store_test.cpp.

    tar_split_fixture.py DIR

writes DIR/layer.tar (made by Python's tarfile, PAX format as Go's
archive/tar writes for long names: directories, files of 0, 1024 and
300 KiB bytes, a symlink, a hardlink, a whiteout, a name longer than
ustar's 100 bytes, a name that is not UTF-8, and tarfile's padding of the
archive to a whole 10 KiB record), DIR/diff/ (its files, as overlay2 holds
an applied layer) and DIR/tar-split.json.gz, written the way tar-split's
disassembler does (github.com/vbatts/tar-split, tar/asm/disassemble.go and
tar/storage/packer.go): one JSON object a line, a segment ("type": 2) for
the raw bytes between file contents (headers, padding, the end blocks), a
file entry ("type": 1) for every member, with its size (0 for all but
regular files), the CRC-64 (ISO) of its content, and "name_raw" in base64
where the name is not UTF-8.
"""
import base64
import gzip
import io
import json
import os
import random
import sys
import tarfile


def crc64_iso(data):
    """Go's hash/crc64 with crc64.ISO, as its 8 big-endian bytes."""
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0xD800000000000000 if crc & 1 else crc >> 1
        table.append(crc)
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return (crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def main(out):
    rng = random.Random(7)
    long_dir = "deep/" + "d" * 120
    files = [
        ("etc/hosts", b"127.0.0.1 localhost\n"),
        ("etc/empty", b""),
        ("usr/bin/tool", bytes(rng.getrandbits(8) for _ in range(1024))),
        ("data/big.bin", bytes(rng.getrandbits(8) for _ in range(300 * 1024))),
        (long_dir + "/file.txt", b"a name longer than 100 bytes\n"),
        ("caf\udce9.txt", b"a name that is not UTF-8\n"),
    ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tar:
        for d in ["etc", "usr", "usr/bin", "data", "deep", long_dir]:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1700000000
            tar.addfile(info)
        for name, body in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(body), 0o644, 1700000000
            tar.addfile(info, io.BytesIO(body))
        for name, kind, target in [("etc/link", tarfile.SYMTYPE, "hosts"),
                                   ("etc/hosts.hard", tarfile.LNKTYPE, "etc/hosts"),
                                   ("etc/.wh.gone", tarfile.CHRTYPE, "")]:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime = kind, target, 1700000000
            tar.addfile(info)
    data = buf.getvalue()
    with open(os.path.join(out, "layer.tar"), "wb") as f:
        f.write(data)

    # The files, as the layer's diff/ holds them (the whiteout, a 0/0
    # character device there, has no content to read and is left out).
    diff = os.fsencode(os.path.join(out, "diff"))
    for name, body in files:
        path = os.path.join(diff, os.fsencode(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)
    os.symlink(b"hosts", os.path.join(diff, b"etc/link"))
    os.link(os.path.join(diff, b"etc/hosts"), os.path.join(diff, b"etc/hosts.hard"))

    entries, pos = [], 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r", encoding="utf-8", errors="surrogateescape") as tar:
        for m in tar.getmembers():
            entries.append({"type": 2, "payload": data[pos:m.offset_data]})
            size = m.size if m.isreg() else 0
            content = data[m.offset_data:m.offset_data + size]
            entry = {"type": 1, "size": size, "payload": crc64_iso(content) if size else None}
            raw = os.fsencode(m.name)
            try:
                entry["name"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                entry["name_raw"] = raw
            entries.append(entry)
            pos = m.offset_data + size
    entries.append({"type": 2, "payload": data[pos:]})

    with gzip.open(os.path.join(out, "tar-split.json.gz"), "wt") as f:
        for position, e in enumerate(entries):
            line = {"type": e["type"]}
            if "name" in e:
                line["name"] = e["name"]
            if "name_raw" in e:
                line["name_raw"] = base64.b64encode(e["name_raw"]).decode()
            if e.get("size"):
                line["size"] = e["size"]
            line["payload"] = base64.b64encode(e["payload"]).decode() if e["payload"] is not None else None
            line["position"] = position
            f.write(json.dumps(line, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
