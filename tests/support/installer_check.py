#!/usr/bin/env python3
"""Read an Asahi installer package the way the installer does (Python's
zipfile, members in archive order, directories created only from directory
entries), unpack esp/ into DEST and stream root.img, comparing its SHA-256;
then copy firmware into DEST/vendorfw with shutil.copytree, as the installer
does for a partition with "copy_firmware" (it fails if vendorfw exists).

usage: installer_check.py PKG.zip DEST ROOT_SHA256
Exit status 0 only if everything the installer would do succeeds.
install() takes a file object too (installer_download.py passes its URL cache).
"""
import hashlib
import os
import shutil
import sys
import zipfile

READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def fail(msg):
    print(f"installer_check: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    install(*sys.argv[1:4])


def install(pkg, dest, root_sha):
    if os.path.exists(dest):
        fail(f"{dest} exists")
    seen_root = False
    with zipfile.ZipFile(pkg) as z:
        for info in z.infolist():
            name = info.filename
            if info.compress_type not in READABLE:
                fail(f"{name}: compression method {info.compress_type} is not readable")
            if name.startswith("/") or name.startswith("./") or ".." in name.split("/"):
                fail(f"{name}: unsafe name")
            if name == "root.img":
                if root_sha == "-":
                    seen_root = True
                    continue
                h = hashlib.sha256()
                size = 0
                with z.open(info) as f:
                    while True:
                        block = f.read(1 << 20)
                        if not block:
                            break
                        h.update(block)
                        size += len(block)
                if size % 4096:
                    fail(f"root.img is {size} bytes, not a multiple of 4096")
                if h.hexdigest() != root_sha:
                    fail(f"root.img SHA-256 {h.hexdigest()} != {root_sha}")
                seen_root = True
                continue
            if not name.startswith("esp/"):
                fail(f"unexpected member {name}")
            target = os.path.join(dest, name[len("esp/"):])
            if info.is_dir():
                # The installer creates a directory only when it meets its entry.
                os.mkdir(target.rstrip("/"))
            else:
                if not os.path.isdir(os.path.dirname(target)):
                    fail(f"{name}: its directory has no entry before it")
                with z.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    if not seen_root:
        fail("no root.img member")
    firmware = dest + ".firmware"
    os.makedirs(firmware)
    with open(os.path.join(firmware, "all_firmware.tar.gz"), "wb") as f:
        f.write(b"firmware")
    try:
        shutil.copytree(firmware, os.path.join(dest, "vendorfw"))
    except FileExistsError:
        fail("the package has esp/vendorfw: the installer's copy of the Mac's firmware fails")
    finally:
        shutil.rmtree(firmware)


if __name__ == "__main__":
    main()
