#!/usr/bin/env python3
"""Build the boot test's initramfs: busybox, an /init script, and the kernel
modules it needs (with their dependencies, decompressed), as a deterministic
newc cpio archive (sorted entries, owner 0:0, fixed mtime and inode numbers).

Usage: initramfs.py OUT KERNEL_ROOT KVER BUSYBOX INIT [--add SRC:DEST]... MODULE...
--add puts the file SRC at DEST (e.g. a host tool and its libraries, for the
first-boot growth test); parent directories are created.

KERNEL_ROOT is an unpacked linux-image .deb. Modules that the kernel has built
in (modules.builtin) are skipped. Dependencies come from each module's
.modinfo "depends=" field, because the .deb ships no modules.dep (depmod runs
at install time). Soft dependencies are module aliases (crypto algorithms such
as "crypto-crc32c"); resolving them needs modules.alias, so they are ignored:
the test's filesystems use algorithms built into Debian's kernels.
"""

import lzma
import os
import subprocess
import sys
import zlib

MTIME = 0


def module_index(moddir):
    """Map module name (underscores) -> path, for .ko and compressed .ko.*."""
    index = {}
    for dirpath, dirnames, filenames in os.walk(os.path.join(moddir, "kernel")):
        dirnames.sort()
        for name in sorted(filenames):
            for ext in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
                if name.endswith(ext):
                    index[name[: -len(ext)].replace("-", "_")] = os.path.join(dirpath, name)
    return index


def builtin_names(moddir):
    names = set()
    path = os.path.join(moddir, "modules.builtin")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                base = os.path.basename(line.strip())
                if base.endswith(".ko"):
                    names.add(base[:-3].replace("-", "_"))
    return names


def read_module(path):
    """The module's ELF bytes: busybox insmod cannot read compressed modules."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return data


def depends(elf):
    for field in elf.split(b"\0"):
        if field.startswith(b"depends="):
            value = field[len(b"depends="):].decode()
            return [d.replace("-", "_") for d in value.split(",") if d]
    return []


def resolve(moddir, wanted):
    """Modules to load, dependencies first, each once."""
    index = module_index(moddir)
    builtin = builtin_names(moddir)
    order, seen = [], set()

    def visit(name, chain):
        name = name.replace("-", "_")
        if name in seen or name in builtin:
            return
        if name not in index:
            sys.exit(f"initramfs.py: module {name} (needed by {' -> '.join(chain) or 'the test'}) "
                     f"is neither built in nor under {moddir}/kernel")
        seen.add(name)
        elf = read_module(index[name])
        for dep in depends(elf):
            visit(dep, chain + [name])
        order.append((name, elf))

    for name in wanted:
        visit(name, [])
    return order


class Cpio:
    def __init__(self):
        self.entries = {}

    def add(self, path, mode, data=b"", rdev=(0, 0)):
        self.entries[path] = (mode, data, rdev)

    def bytes(self):
        out = bytearray()
        ino = 1
        for path in sorted(self.entries, key=lambda p: p.encode()):
            mode, data, (rmaj, rmin) = self.entries[path]
            out += self._header(ino, mode, 2 if mode & 0o040000 else 1, len(data), rmaj, rmin, path)
            out += data
            out += b"\0" * (-len(out) % 4)
            ino += 1
        out += self._header(0, 0, 1, 0, 0, 0, "TRAILER!!!")
        out += b"\0" * (-len(out) % 512)
        return bytes(out)

    @staticmethod
    def _header(ino, mode, nlink, size, rmaj, rmin, name):
        name_b = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, nlink, MTIME, size, 0, 0, rmaj, rmin, len(name_b), 0]
        head = b"070701" + b"".join(b"%08X" % v for v in fields) + name_b
        return head + b"\0" * (-len(head) % 4)


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    out, kroot, kver, busybox, init = sys.argv[1:6]
    moddir = os.path.join(kroot, "lib", "modules", kver)
    rest, adds = sys.argv[6:], []
    while rest and rest[0] == "--add":
        src, dest = rest[1].split(":", 1)
        adds.append((src, dest.lstrip("/")))
        rest = rest[2:]
    modules = resolve(moddir, rest)

    cpio = Cpio()
    for d in ("bin", "dev", "lib", "lib/modules", "proc", "root", "sys"):
        cpio.add(d, 0o040755)
    # The kernel opens /dev/console before /init runs.
    cpio.add("dev/console", 0o020600, rdev=(5, 1))
    with open(busybox, "rb") as f:
        cpio.add("bin/busybox", 0o100755, f.read())
    with open(init, "rb") as f:
        cpio.add("init", 0o100755, f.read())
    for name, elf in modules:
        cpio.add(f"lib/modules/{name}.ko", 0o100644, elf)
    cpio.add("lib/modules/load-order", 0o100644,
             "".join(f"{name}\n" for name, _ in modules).encode())
    for src, dest in adds:
        parts = dest.split("/")
        for i in range(1, len(parts)):
            cpio.add("/".join(parts[:i]), 0o040755)
        with open(src, "rb") as f:
            cpio.add(dest, 0o100755, f.read())

    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(cpio.bytes())
    os.replace(tmp, out)
    print(" ".join(name for name, _ in modules) or "(no modules needed)")


if __name__ == "__main__":
    main()
