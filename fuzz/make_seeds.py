#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/).

The seeds are small on purpose: libFuzzer mutates them, and a seed only has to
reach the interesting code, not cover it. Regenerate with
    python3 fuzz/make_seeds.py
(the output is deterministic; the files are checked in).

The files named regress-* in fuzz/corpus/views/ are not made here: they are inputs
that once found a bug (see docs/RELIABILITY.md) and stay in the corpus so that every
run, and the quick replay `fuzz/run_fuzzers.sh 0`, tries them again.
"""
import json
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes), in data order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def write(folder, name, data):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def main():
    # ---- the checkpoint loader: valid files of every kind, and a few broken ones
    write("safetensors", "empty.st", safetensors([]))
    write("safetensors", "f32_2x3.st", safetensors([("w", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6))]))
    write("safetensors", "model.st", safetensors(
        [("fc.weight", "F32", [2, 2], f32(0.5, -1, 2, 3)), ("fc.bias", "F32", [2], f32(0, 1)),
         ("step", "I64", [], struct.pack("<q", 7)), ("mask", "BOOL", [3], b"\x00\x01\x01"),
         ("scale", "F64", [1], struct.pack("<d", 0.25))],
        metadata={"format": "minigrad", "model": "TwoLayer"}))
    write("safetensors", "zero_size.st", safetensors(
        [("e", "F32", [0, 4], b""), ("r", "F32", [], f32(3.5)), ("z", "I64", [2, 0, 3], b"")]))
    write("safetensors", "escapes.st", safetensors(
        [("a\\\"b/\u00e9\U0001F600", "F32", [1], f32(1))], metadata={"k\n": "v\t\u0001"}))
    write("safetensors", "unpadded.st", safetensors([("x", "F32", [1], f32(2))], pad=False))
    good = safetensors([("w", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6))])
    write("safetensors", "bad_truncated.st", good[:-5])
    write("safetensors", "bad_length.st", struct.pack("<Q", 1 << 40) + good[8:])
    write("safetensors", "bad_overlap.st",
          struct.pack("<Q", 84) + b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
          b'"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}' + b" " * 0 + b"\0" * 6)
    write("safetensors", "bad_dtype.st", safetensors([("h", "F16", [2], b"\0\0\0\0")]))

    # ---- the view and model targets read their choices from raw bytes
    rng = random.Random(20240611)
    for target in ("views", "model"):
        for i, n in enumerate((16, 48, 96, 160, 256)):
            write(target, "seed%d" % i, bytes(rng.randrange(256) for _ in range(n)))


if __name__ == "__main__":
    main()
