#!/usr/bin/env python3
"""Install an OS entry over HTTP the way the Asahi installer does: read the
list, resolve a relative "package" as $REPO_BASE/os/<name>
(src/osinstall.py), open it with urlcache.URLCache and zipfile, and unpack
it as installer_check.py does.

With NIT_ASAHI_INSTALLER_SRC set to an asahi-installer checkout, its own
src/urlcache.py is used; otherwise FaithfulURLCache, written from its
documented behaviour (its source cannot be shipped here). The output says
which one ran.

usage: installer_download.py REPO_BASE LIST_URL INDEX DEST ROOT_SHA256
"""
import json
import os
import sys
import urllib.request
from http.client import HTTPConnection, HTTPSConnection
from urllib import parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import installer_check  # noqa: E402


class FaithfulURLCache:
    """What the installer's URLCache does on the wire: HEAD for the length,
    following Location on HEAD only (and then using the new URL's path, query
    dropped); GET with "Range: bytes=a-b" in 1 MiB blocks with read-ahead,
    without looking at the status or ETag; on the last retry the path gets a
    "?<random>" query. A file object for zipfile."""

    BLOCK = 1 << 20
    READAHEAD = 8

    def __init__(self, url):
        self.url = parse.urlparse(url)
        self.con = None
        self.cache = {}
        self.p = 0
        self.requests = 0
        self.size = self.get_size()

    def get_con(self):
        if self.con is None:
            cls = HTTPSConnection if self.url.scheme == "https" else HTTPConnection
            self.con = cls(self.url.hostname, self.url.port, timeout=30)
        return self.con

    def get_size(self):
        for _ in range(10):
            con = self.get_con()
            con.request("HEAD", self.url.path, headers={"Connection": "keep-alive"})
            res = con.getresponse()
            res.read()
            loc = res.getheader("Location")
            if loc is not None:
                self.url = parse.urlparse(loc)
                self.con = None
                continue
            return int(res.getheader("Content-length"))
        raise Exception("Maximum number of redirects reached")

    def get_partial(self, off, size, bypass_cache=False):
        path = self.url.path + (f"?{os.urandom(4).hex()}" if bypass_cache else "")
        con = self.get_con()
        con.request("GET", path, headers={"Connection": "keep-alive",
                                          "Range": f"bytes={off}-{off + size - 1}"})
        d = con.getresponse().read()
        self.requests += 1
        if not d:
            raise Exception(f"Server returned no data for range {off}-{off + size - 1}")
        return d

    def get_block(self, blk):
        if blk not in self.cache:
            off = blk * self.BLOCK
            size = min(off + self.READAHEAD * self.BLOCK, self.size) - off
            for retry in range(3):
                try:
                    data = self.get_partial(off, size, bypass_cache=(retry == 2))
                    break
                except Exception:
                    self.con = None
                    if retry == 2:
                        raise
            for i in range(0, len(data), self.BLOCK):
                self.cache[blk + i // self.BLOCK] = data[i:i + self.BLOCK]
        return self.cache[blk]

    def seekable(self):
        return True

    def seek(self, offset, whence=os.SEEK_SET):
        self.p = {os.SEEK_SET: 0, os.SEEK_CUR: self.p, os.SEEK_END: self.size}[whence] + offset

    def tell(self):
        return self.p

    def read(self, count=None):
        if count is None or count < 0:
            count = self.size - self.p
        count = min(count, self.size - self.p)
        if count <= 0:
            return b""
        first, last = self.p // self.BLOCK, (self.p + count - 1) // self.BLOCK
        d = b"".join(self.get_block(b) for b in range(first, last + 1))
        d = d[self.p - first * self.BLOCK:][:count]
        assert len(d) == count
        self.p += count
        return d


def main():
    repo_base, list_url, index, dest, root_sha = sys.argv[1:6]
    src = os.environ.get("NIT_ASAHI_INSTALLER_SRC")
    if src:
        sys.path.insert(0, os.path.join(src, "src"))
        import urlcache
        cache_class = urlcache.URLCache
        print(f"installer_download: the installer's own {src}/src/urlcache.py")
    else:
        cache_class = FaithfulURLCache
        print("installer_download: FaithfulURLCache (set NIT_ASAHI_INSTALLER_SRC to an "
              "asahi-installer checkout to run its own urlcache.py)")
    with urllib.request.urlopen(list_url) as r:
        data = json.load(r)
    package = data["os_list"][int(index)]["package"]
    if not package.startswith("http"):
        package = repo_base + "/os/" + package
    cache = cache_class(package)
    installer_check.install(cache, dest, root_sha)
    print(f"installer_download: installed {package} ({cache.size} bytes)")


if __name__ == "__main__":
    main()
