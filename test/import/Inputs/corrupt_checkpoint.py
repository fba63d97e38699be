#!/usr/bin/env python3
"""Copies a checkpoint folder written by llm-checkpoint and breaks it.

    corrupt_checkpoint.py CASE SRC DST

Single-file cases edit SRC/model.safetensors; index cases edit a sharded
checkpoint (model.safetensors.index.json + model-0000K-of-0000N files).
Headers are rewritten unpadded, which the format allows; the data section
is kept byte for byte.
"""
import json
import os
import shutil
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def write(path, header_bytes, data, length=None):
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes) if length is None
                            else length))
        f.write(header_bytes + data)


def tensors(header):
    """Tensor entries sorted by their first byte."""
    return sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                  key=lambda kv: kv[1]["data_offsets"][0])


def main():
    case, src, dst = sys.argv[1:4]
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    single = os.path.join(dst, "model.safetensors")
    index = os.path.join(dst, "model.safetensors.index.json")

    if case.startswith("index-"):
        with open(index) as f:
            idx = json.load(f)
        files = sorted(set(idx["weight_map"].values()))
        if case == "index-missing-file":
            os.remove(os.path.join(dst, files[-1]))
        elif case == "index-wrong-file":
            # The last tensor of the last shard, mapped to the first shard.
            name = sorted(n for n, f in idx["weight_map"].items()
                          if f == files[-1])[-1]
            idx["weight_map"][name] = files[0]
        elif case == "index-outside":
            name = sorted(idx["weight_map"])[0]
            idx["weight_map"][name] = "../" + idx["weight_map"][name]
        else:
            sys.exit("unknown case " + case)
        with open(index, "w") as f:
            json.dump(idx, f, indent=2)
        return

    header, data = read(single)
    text = json.dumps(header).encode()
    entries = tensors(header)
    if case == "header-past-eof":
        write(single, text, data, length=8 + len(text) + len(data) + 1000)
    elif case == "header-huge":
        write(single, text, data, length=1 << 40)
    elif case == "header-not-json":
        write(single, b"!" + text[1:], data)
    elif case == "offsets-outside":
        name, entry = entries[-1]
        begin, end = entry["data_offsets"]
        entry["data_offsets"] = [begin + 64, end + 64]
        write(single, json.dumps(header).encode(), data)
    elif case == "offsets-overlap":
        (_, first), (name, second) = entries[0], entries[1]
        size = second["data_offsets"][1] - second["data_offsets"][0]
        start = first["data_offsets"][0]
        second["data_offsets"] = [start, start + size]
        write(single, json.dumps(header).encode(), data)
    elif case == "offsets-gap":
        # 64 unused bytes before the last tensor, its offsets moved past them.
        name, entry = entries[-1]
        begin, end = entry["data_offsets"]
        entry["data_offsets"] = [begin + 64, end + 64]
        write(single, json.dumps(header).encode(),
              data[:begin] + bytes(64) + data[begin:])
    elif case == "trailing-bytes":
        write(single, text, data + bytes(64))
    elif case == "dtype-unknown":
        entries[0][1]["dtype"] = "C64"
        write(single, json.dumps(header).encode(), data)
    elif case == "dtype-int":
        # Same element size as BF16, so the file itself stays valid.
        for _, entry in entries:
            if entry["dtype"] == "BF16":
                entry["dtype"] = "I16"
                break
        write(single, json.dumps(header).encode(), data)
    elif case == "duplicate-name":
        name, entry = entries[0]
        dup = json.dumps({name: entry})[1:-1].encode()
        write(single, b"{" + dup + b"," + text[1:], data)
    elif case == "duplicate-across-files":
        shutil.copy(single, os.path.join(dst, "model-extra.safetensors"))
    else:
        sys.exit("unknown case " + case)


if __name__ == "__main__":
    main()
