#!/usr/bin/env python3
"""Rewrites a `docker save` archive of one image as an OCI-layout archive
with uncompressed layers, written by hand so that its manifest digest is the
same wherever it is loaded.

    oci_archive.py SAVE.tar [--omit N]... [--name REF] [-o OUT]
    oci_archive.py SAVE.tar --describe

Members, in this order: oci-layout, index.json (one manifest descriptor; a
name annotation only with --name), manifest.json (Docker's, RepoTags null),
blobs/sha256/<manifest>, blobs/sha256/<config>, then each layer as
blobs/sha256/<diff ID> (media type ...layer.v1.tar, digest = diff ID, size =
uncompressed size). --omit N leaves out the N-th layer's blob (0 = bottom;
repeatable): the manifest still names it. --describe prints the manifest
digest, the config digest and each layer's diff ID and size.

SAVE.tar may be either layout Docker writes (layer.tar folders, or Docker
25+'s blobs/sha256); its layers must be uncompressed (each file's SHA-256 is
its diff ID), as a classic store saves them.
"""
import argparse
import hashlib
import io
import json
import posixpath
import sys
import tarfile


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def sha256_of(f):
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("save")
    ap.add_argument("--omit", type=int, action="append", default=[], metavar="N")
    ap.add_argument("--name", help="add io.containerd.image.name and org.opencontainers.image.ref.name")
    ap.add_argument("-o", "--output", help="default: stdout")
    ap.add_argument("--describe", action="store_true")
    a = ap.parse_args()

    src = tarfile.open(a.save)
    saved = json.load(src.extractfile("manifest.json"))
    if len(saved) != 1:
        sys.exit(f"oci_archive: {a.save} holds {len(saved)} images, want 1")
    config = src.extractfile(saved[0]["Config"]).read()
    cfg_hex = hashlib.sha256(config).hexdigest()
    diff_ids = json.loads(config)["rootfs"]["diff_ids"]
    layers = []  # (member, diff ID hex, size)
    for i, path in enumerate(saved[0]["Layers"]):
        m = src.getmember(path)
        while m.issym() or m.islnk():  # Docker links a layer it already wrote
            m = src.getmember(m.linkname if m.islnk() else
                              posixpath.normpath(posixpath.join(posixpath.dirname(m.name), m.linkname)))
        hex_ = sha256_of(src.extractfile(m))
        if "sha256:" + hex_ != diff_ids[i]:
            sys.exit(f"oci_archive: layer {i} ({path}) is not uncompressed: sha256 {hex_}, diff ID {diff_ids[i]}")
        layers.append((m, hex_, m.size))
    for n in a.omit:
        if not 0 <= n < len(layers):
            sys.exit(f"oci_archive: --omit {n}: the image has {len(layers)} layers")

    manifest = compact({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + cfg_hex, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + h, "size": size} for _, h, size in layers],
    })
    man_hex = hashlib.sha256(manifest).hexdigest()
    if a.describe:
        print(f"manifest sha256:{man_hex} {len(manifest)}")
        print(f"config sha256:{cfg_hex} {len(config)}")
        for i, (_, h, size) in enumerate(layers):
            print(f"layer{i} sha256:{h} {size}")
        return
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + man_hex, "size": len(manifest)}
    if a.name:
        desc["annotations"] = {"io.containerd.image.name": a.name,
                               "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[-1]}
    index = compact({"schemaVersion": 2,
                     "mediaType": "application/vnd.oci.image.index.v1+json",
                     "manifests": [desc]})
    docker_manifest = compact([{"Config": "blobs/sha256/" + cfg_hex, "RepoTags": None,
                                "Layers": ["blobs/sha256/" + h for _, h, _ in layers]}])

    out = open(a.output, "wb") if a.output else sys.stdout.buffer
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        def add(name, data=None, member=None):
            ti = tarfile.TarInfo(name)
            ti.size = len(data) if member is None else member.size
            ti.mode = 0o644
            tar.addfile(ti, io.BytesIO(data) if member is None else src.extractfile(member))
        add("oci-layout", compact({"imageLayoutVersion": "1.0.0"}))
        add("index.json", index)
        add("manifest.json", docker_manifest)
        add("blobs/sha256/" + man_hex, manifest)
        add("blobs/sha256/" + cfg_hex, config)
        for i, (m, h, _) in enumerate(layers):
            if i not in a.omit:
                add("blobs/sha256/" + h, member=m)
    out.flush()


if __name__ == "__main__":
    main()
