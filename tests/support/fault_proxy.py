#!/usr/bin/env python3
"""An HTTP proxy in front of the test S3 server that injects faults, to
check that publish retries. Prints "port N" once ready; stops when its
standard input closes. Counts what it did in the file given by --log.

usage: fault_proxy.py UPSTREAM_PORT [--error-every N] [--drop-every N]
                      [--conflict-once] [--delay-put SECONDS] --log FILE

--error-every N   answer every Nth PUT/POST with 500 InternalError
--drop-every N    close the connection of every Nth PUT/POST mid-request
--conflict-once   answer the first conditional PUT of installer_data.json
                  with 412 PreconditionFailed (another publisher won)
--delay-put S     hold each multipart part upload S seconds
"""
import argparse
import http.client
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
counts = {"writes": 0, "errors": 0, "drops": 0, "conflicts": 0, "forwarded": 0}


def record(key):
    with lock:
        counts[key] += 1
        with open(args.log, "w") as f:
            f.write(" ".join(f"{k}={v}" for k, v in sorted(counts.items())) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, code):
        msg = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(msg)))
        self.end_headers()
        self.wfile.write(msg)

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command in ("PUT", "POST"):
            with lock:
                counts["writes"] += 1
                n = counts["writes"]
            if args.drop_every and n % args.drop_every == 0:
                record("drops")
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if args.error_every and n % args.error_every == 0:
                record("errors")
                return self.reply(500, "InternalError")
            conditional = "If-Match" in self.headers or "If-None-Match" in self.headers
            if args.conflict_once and conditional and self.path.split("?")[0].endswith("/installer_data.json"):
                with lock:
                    first = counts["conflicts"] == 0
                if first:
                    record("conflicts")
                    return self.reply(412, "PreconditionFailed")
            if args.delay_put and "partNumber=" in self.path:
                time.sleep(args.delay_put)
        con = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items()}
        con.request(self.command, self.path, body=body, headers=headers)
        res = con.getresponse()
        data = res.read()
        record("forwarded")
        self.send_response(res.status)
        for k, v in res.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        # A HEAD answer carries the object's length, not the (empty) body's.
        length = res.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("upstream", type=int)
    p.add_argument("--error-every", type=int, default=0)
    p.add_argument("--drop-every", type=int, default=0)
    p.add_argument("--conflict-once", action="store_true")
    p.add_argument("--delay-put", type=float, default=0)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"port {server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
