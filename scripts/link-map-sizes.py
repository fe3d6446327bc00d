#!/usr/bin/env python3
# Who brought what into a linked image: the bytes of a GNU ld link map (-Wl,-Map=...) summed per
# input archive (or object file) and per kind of output section (text: code and constants in
# flash; data: initialised RAM, also stored in flash; bss: zeroed RAM).
#
# Merged string sections (.rodata.*.str1.*) are listed with their size before merging, at
# overlapping addresses: overlapping bytes count once, for the first contributor listed there, so
# the sums add up to the image.
#
# Usage: scripts/link-map-sizes.py MAP [--markdown]
# Prints one line per contributor, largest text first: "<contributor> <text> <data> <bss>", or a
# markdown table with --markdown. Contributors: libtether_core.a ..., libmps2_cjson.a (cJSON),
# libc_nano.a, libstdc++_nano.a, libgcc.a, the firmware's own objects, "(fill)" for alignment padding.
import os
import re
import sys

# Output sections by kind (arm-none-eabi, examples/bare-metal/board/mps2_an386.ld and the usual names).
KIND = {
    ".isr_vector": "text", ".text": "text", ".rodata": "text", ".ARM.exidx": "text", ".ARM.extab": "text",
    ".init_array": "text", ".fini_array": "text", ".preinit_array": "text", ".eh_frame": "text",
    ".data": "data", ".bss": "bss", ".noinit": "bss",
}

INPUT = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
NAME_ONLY = re.compile(r"^ (\S+)$")
OUTPUT = re.compile(r"^(\.\S+)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+))?")
FILL = re.compile(r"^ \*fill\*\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)")


def contributor(path):
    # "/x/y/libtether_core.a(agent.cpp.obj)" -> libtether_core.a; a plain object -> its file name.
    m = re.match(r"^(.*?)\((.*)\)$", path)
    return os.path.basename(m.group(1)) if m else os.path.basename(path)


def parse(lines):
    sums = {}
    kind = None
    in_map = False
    pending = None  # a long input section name, its address and size on the next line
    end = 0  # end of what the output section holds so far
    for line in lines:
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        m = OUTPUT.match(line)
        if m:
            kind = KIND.get(m.group(1))
            pending = None
            end = 0
            continue
        if kind is None:
            continue
        f = FILL.match(line)
        if f:
            start, size = int(f.group(1), 16), int(f.group(2), 16)
            sums.setdefault("(fill)", {"text": 0, "data": 0, "bss": 0})[kind] += max(0, start + size - max(start, end))
            end = max(end, start + size)
            continue
        n = NAME_ONLY.match(line)
        if n and not line.startswith(" *"):
            pending = n.group(1)
            continue
        i = INPUT.match(line)
        if i and (i.group(1) or pending) and not (i.group(1) or "").startswith("*"):
            start, size = int(i.group(2), 16), int(i.group(3), 16)
            new = max(0, start + size - max(start, end))
            if new:
                who = contributor(i.group(4).strip())
                sums.setdefault(who, {"text": 0, "data": 0, "bss": 0})[kind] += new
            end = max(end, start + size)
        pending = None
    return sums


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit("usage: link-map-sizes.py MAP [--markdown]")
    with open(args[0]) as f:
        sums = parse(f)
    rows = sorted(sums.items(), key=lambda kv: (-kv[1]["text"], kv[0]))
    if "--markdown" in sys.argv:
        print("| linked from | text | data | bss |")
        print("|---|---:|---:|---:|")
        for who, s in rows:
            print(f"| {who} | {s['text']} | {s['data']} | {s['bss']} |")
        total = {k: sum(s[k] for s in sums.values()) for k in ("text", "data", "bss")}
        print(f"| **total** | **{total['text']}** | **{total['data']}** | **{total['bss']}** |")
    else:
        for who, s in rows:
            print(who, s["text"], s["data"], s["bss"])


if __name__ == "__main__":
    main()
