#!/usr/bin/env python3
"""Reads a safetensors file with nothing but the Python standard library and
checks it, as an independent second reader of what minigrad writes.

    tools/check_safetensors.py FILE [checks...]

Prints every tensor's name, dtype and shape, validates the layout the way the
reference implementation does (header length, JSON, dtypes, shape x dtype size ==
end - begin, the byte ranges tiling the data section exactly), then runs the checks:

    --dtype NAME=F32             the tensor's dtype
    --shape NAME=2,3             its shape ("" for rank 0)
    --arange NAME                its values are 0, 1, 2, ... in row-major order
    --values NAME=1,-2.5,3       its values, row-major (bool as 0/1)
    --metadata KEY=VALUE         a "__metadata__" entry
    --count N                    the number of tensors

Exits 0 when all pass, 1 with a message on the first failure. When numpy is
importable the values are also decoded with numpy.frombuffer and compared with
the struct decoding.
"""

import argparse
import json
import struct
import sys

# safetensors dtype -> (struct format character, bytes per element)
DTYPES = {"F32": ("f", 4), "F64": ("d", 8), "I64": ("q", 8), "BOOL": ("?", 1)}
NUMPY_DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "BOOL": "?"}
MAX_HEADER = 100_000_000


class CheckError(Exception):
    pass


def no_duplicate_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise CheckError(f"duplicate key {key!r} in the header")
        seen[key] = value
    return seen


def read(path):
    """Returns (metadata, {name: (dtype, shape, values)}) in data order."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise CheckError(f"{len(data)} bytes: too short for the header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or n > len(data) - 8:
        raise CheckError(f"header length {n} is impossible for a {len(data)}-byte file")
    header_bytes = data[8 : 8 + n]
    if not header_bytes.startswith(b"{"):
        raise CheckError("the header does not start with '{'")
    header = json.loads(header_bytes.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    body = data[8 + n :]
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckError("__metadata__ must map strings to strings")

    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    covered = 0
    tensors = {}
    for name, info in entries:
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise CheckError(f"{name}: keys {sorted(info)}")
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            raise CheckError(f"{name}: dtype {dtype} is not one minigrad writes")
        fmt, size = DTYPES[dtype]
        count = 1
        for d in shape:
            count *= d
        if end - begin != count * size:
            raise CheckError(f"{name}: shape {shape} of {dtype} needs {count * size} bytes, "
                             f"data_offsets [{begin}, {end}) hold {end - begin}")
        if begin != covered:
            raise CheckError(f"{name}: starts at {begin}, the previous tensor ended at {covered}")
        covered = end
        raw = body[begin:end]
        values = list(struct.unpack(f"<{count}{fmt}", raw))
        try:
            import numpy  # optional: a third decoding of the same bytes

            decoded = numpy.frombuffer(raw, dtype=NUMPY_DTYPES[dtype]).reshape(shape)
            same = all(a == b or (a != a and b != b)  # NaN == NaN here
                       for a, b in zip(decoded.flatten().tolist(), values))
            if not same:
                raise CheckError(f"{name}: numpy and struct decode different values")
        except ImportError:
            pass
        tensors[name] = (dtype, shape, values)
    if covered != len(body):
        raise CheckError(f"the tensors cover {covered} of the {len(body)} data bytes")
    return metadata, tensors


def split_assignment(text, option):
    if "=" not in text:
        raise CheckError(f"{option} expects NAME=VALUE, got {text!r}")
    return text.split("=", 1)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--dtype", action="append", default=[])
    parser.add_argument("--shape", action="append", default=[])
    parser.add_argument("--arange", action="append", default=[])
    parser.add_argument("--values", action="append", default=[])
    parser.add_argument("--metadata", action="append", default=[])
    parser.add_argument("--count", type=int)
    args = parser.parse_args(argv)

    try:
        metadata, tensors = read(args.file)
        for name, (dtype, shape, values) in tensors.items():
            print(f"{name}: {dtype} {shape}")
        for key, value in metadata.items():
            print(f"__metadata__[{key!r}] = {value!r}")

        def tensor(name):
            if name not in tensors:
                raise CheckError(f"no tensor {name!r}; the file has {sorted(tensors)}")
            return tensors[name]

        if args.count is not None and len(tensors) != args.count:
            raise CheckError(f"{len(tensors)} tensors, expected {args.count}")
        for item in args.dtype:
            name, want = split_assignment(item, "--dtype")
            if tensor(name)[0] != want:
                raise CheckError(f"{name}: dtype {tensor(name)[0]}, expected {want}")
        for item in args.shape:
            name, want = split_assignment(item, "--shape")
            want_shape = [int(d) for d in want.split(",")] if want else []
            if tensor(name)[1] != want_shape:
                raise CheckError(f"{name}: shape {tensor(name)[1]}, expected {want_shape}")
        for name in args.arange:
            values = tensor(name)[2]
            if values != list(range(len(values))):
                raise CheckError(f"{name}: {values[:8]}... is not 0, 1, 2, ...")
        for item in args.values:
            name, want = split_assignment(item, "--values")
            want_values = [float(v) for v in want.split(",")] if want else []
            if [float(v) for v in tensor(name)[2]] != want_values:
                raise CheckError(f"{name}: values {tensor(name)[2]}, expected {want_values}")
        for item in args.metadata:
            key, want = split_assignment(item, "--metadata")
            if metadata.get(key) != want:
                raise CheckError(f"__metadata__[{key!r}] is {metadata.get(key)!r}, expected {want!r}")
    except (CheckError, ValueError, KeyError, TypeError, struct.error, OSError) as e:
        print(f"{args.file}: FAIL: {e}", file=sys.stderr)
        return 1
    print(f"{args.file}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
