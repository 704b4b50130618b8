#!/usr/bin/env python3
"""A stand-in for `docker load`, for tests/relay_listener_test.py, that
also answers the probe's questions as a Docker with no images would.

Like Docker, it reads its whole input before it loads anything: an archive
that does not end (no end-of-archive blocks) loads nothing. Once it has the
end, it checks each layer and the config against the names manifest.json
gives them (their SHA-256) and prints the image ID as Docker does:
"Loaded image ID: sha256:<config digest>". Every byte it was fed is also
written, as it arrives, to a file in $FAKE_DOCKER_RECORD, so the test can
see what a relay handed to the runtime, even from a load it killed.
"""
import hashlib
import json
import os
import sys
import time

BLOCK = 512


def walk_tar(data):
    """The files of a tar archive, {name: bytes}, and whether it is whole
    (ends with its end-of-archive block)."""
    members, pos = {}, 0
    while pos + BLOCK <= len(data):
        header = data[pos:pos + BLOCK]
        if header == bytes(BLOCK):
            return members, True
        name = header[:100].rstrip(b"\0").decode()
        size = int(header[124:136].rstrip(b"\0 ") or b"0", 8)
        body = data[pos + BLOCK:pos + BLOCK + size]
        if len(body) < size:
            return members, False
        if header[156:157] != b"5":
            members[name] = body
        pos += BLOCK + (size + BLOCK - 1) // BLOCK * BLOCK
    return members, False


def load(data):
    """What `docker load` would print for this archive, or raise."""
    members, whole = walk_tar(data)
    if not whole:
        raise ValueError("unexpected EOF")
    out = []
    for image in json.loads(members["manifest.json"]):
        for layer in image["Layers"]:
            if hashlib.sha256(members[layer]).hexdigest() != layer.split("/")[0]:
                raise ValueError("layer %s does not match its digest" % layer)
        config = image["Config"]
        digest = hashlib.sha256(members[config]).hexdigest()
        if digest != config[:-len(".json")]:
            raise ValueError("config %s does not match its digest" % config)
        out.append("Loaded image ID: sha256:%s" % digest)
    return out


def answer_probe(argv):
    """`docker info`, `image ls` and `image inspect` of a classic-store
    Docker that holds nothing; None for anything else."""
    if argv[:1] == ["info"]:
        return 0, json.dumps({"ServerVersion": "20.10-fake", "DriverStatus": [["Backing Filesystem", "extfs"]],
                              "DockerRootDir": "/"})
    if argv[:2] == ["image", "ls"]:
        return 0, ""
    if argv[:2] == ["image", "inspect"]:
        print("Error: No such image: %s" % argv[-1], file=sys.stderr)
        return 1, ""
    return None


def main(argv):
    probe = answer_probe(argv)
    if probe:
        print(probe[1])
        return probe[0]
    if argv != ["load"]:
        print("fake docker: only load and the probe's questions are here, not %r" % argv, file=sys.stderr)
        return 1
    record = os.path.join(os.environ["FAKE_DOCKER_RECORD"], "load-%d-%d.tar" % (time.monotonic_ns(), os.getpid()))
    data = bytearray()
    with open(record, "wb") as f:
        while chunk := sys.stdin.buffer.read1(1 << 16):
            data += chunk
            f.write(chunk)
            f.flush()
    try:
        lines = load(bytes(data))
    except (ValueError, KeyError) as e:
        print("Error: %s" % e, file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
