#!/usr/bin/env python3
"""Test client for the tandem integration tests (python3 stdlib only).

Every subcommand prints one JSON object on stdout; the shell tests read it
with `jq`. All loops are bounded in count and in time.

  load    HOST PORT   many GETs (keep-alive or not, concurrent), counts by
                      X-Backend and status; --at N:CMD runs a shell command
                      after N completed requests (kill a server, SIGHUP...)
  raw     HOST PORT   sends bytes (python escapes), reads until close/timeout
  pipeline HOST PORT  several requests in one write, parses responses in order
  proxy   HOST PORT   PROXY v1/v2 header then a request, reads the response
  ws      HOST PORT   Upgrade: websocket, then echoes bytes through the tunnel
  tcp     HOST PORT   banner, N bytes echoed, half-close, trailer
  udp     HOST PORT   datagrams from one or more source ports
  upload  HOST PORT   streams N pattern bytes as a POST body (CL or chunked)
  download HOST PORT  GETs a body and hashes it (pattern check)
"""
import argparse
import hashlib
import http.client
import ipaddress
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend import pattern  # noqa: E402


def out(obj):
    print(json.dumps(obj))
    sys.stdout.flush()


def unescape(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(host, port, src=None, timeout=5.0):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    return s


def read_response(f):
    """Reads one HTTP/1.1 response from a buffered reader. Returns
    (status, headers dict lowercased, body bytes) or None on EOF."""
    line = f.readline(65537)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    status = int(parts[1])
    headers = {}
    while True:
        h = f.readline(65537)
        if not h:
            raise ConnectionError("eof in head")
        h = h.decode("latin-1").rstrip("\r\n")
        if not h:
            break
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    if status in (101, 204, 304) or 100 <= status < 200:
        return status, headers, body
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                break
            body += f.read(size)
            f.read(2)
    elif "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    else:
        body = f.read()
    return status, headers, body


# ---------------------------------------------------------------- load
def cmd_load(a):
    lock = threading.Lock()
    res = {"ok": 0, "fail": 0, "status": {}, "backends": {}, "errors": {}, "seq": [],
           "fail_after_at": 0, "elapsed": 0.0, "conns": 0}
    counter = {"next": 0, "done": 0}
    at = []
    for spec in a.at or []:
        n, _, cmd = spec.partition(":")
        at.append([int(n), cmd, False])
    deadline = time.time() + a.max_time
    headers = {}
    for h in a.header or []:
        k, _, v = h.partition(":")
        headers[k.strip()] = v.strip()
    if a.host_header:
        headers["Host"] = a.host_header
    srcs = a.src.split(",") if a.src else [None]
    fired = {"any": False}

    def record(ok, backend, status, err):
        with lock:
            counter["done"] += 1
            if ok:
                res["ok"] += 1
                res["backends"][backend] = res["backends"].get(backend, 0) + 1
            else:
                res["fail"] += 1
                if fired["any"]:
                    res["fail_after_at"] += 1
                res["errors"][err] = res["errors"].get(err, 0) + 1
            res["status"][str(status)] = res["status"].get(str(status), 0) + 1
            if a.seq:
                res["seq"].append(backend if ok else "!" + err)
            for item in at:
                if not item[2] and counter["done"] >= item[0]:
                    item[2] = True
                    fired["any"] = True
                    subprocess.run(item[1], shell=True, timeout=30)

    def worker(idx):
        conn = None
        src = srcs[idx % len(srcs)]
        while True:
            with lock:
                if counter["next"] >= a.n or time.time() > deadline:
                    break
                counter["next"] += 1
            if conn is None:
                with lock:
                    res["conns"] += 1
                conn = http.client.HTTPConnection(a.host, a.port, timeout=a.timeout,
                                                  source_address=(src, 0) if src else None)
            try:
                conn.request(a.method, a.path, headers=headers)
                r = conn.getresponse()
                body = r.read()
                backend = r.getheader("X-Backend", "-")
                ok = r.status == a.expect
                record(ok, backend, r.status, "" if ok else "status%d" % r.status)
                if not a.keepalive or r.will_close:
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - every failure is counted
                record(False, "-", 0, type(e).__name__)
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None
            if a.pause:
                time.sleep(a.pause)
        if conn is not None:
            conn.close()

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res["elapsed"] = round(time.time() - t0, 3)
    res["total"] = res["ok"] + res["fail"]
    out(res)


# ---------------------------------------------------------------- raw
def cmd_raw(a):
    t0 = time.time()
    res = {"connected": False, "status": 0, "closed": False, "response": "", "elapsed": 0.0}
    try:
        s = connect(a.host, a.port, a.src, a.timeout)
    except OSError as e:
        res["error"] = type(e).__name__
        out(res)
        return
    res["connected"] = True
    data = unescape(a.data) if a.data is not None else b""
    if a.repeat_header:
        # name:size - one header with a value of size bytes (431 tests)
        name, _, size = a.repeat_header.partition(":")
        data = data.replace(b"\r\n\r\n", ("\r\n%s: %s\r\n\r\n" % (name, "a" * int(size))).encode(), 1)
    if a.long_target:
        data = data.replace(b"/LONG", b"/" + b"a" * a.long_target, 1)
    buf = b""
    try:
        try:
            if a.slow:
                # send byte by byte with a.slow seconds between bytes
                for i in range(len(data)):
                    s.sendall(data[i:i + 1])
                    time.sleep(a.slow)
            else:
                s.sendall(data)
            if a.shut:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            # the peer answered and closed before we were done sending:
            # read what it said
            res["send_error"] = type(e).__name__
        end = time.time() + a.timeout
        while time.time() < end:
            s.settimeout(max(0.05, end - time.time()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                res["closed"] = True
                break
            buf += chunk
            if a.first and b"\r\n\r\n" in buf:
                break
    except ConnectionResetError:
        res["closed"] = True
        res["reset"] = True
    except OSError as e:
        res["error"] = type(e).__name__
        res["closed"] = True
    res["elapsed"] = round(time.time() - t0, 3)
    text = buf.decode("latin-1")
    res["response"] = text[:2000]
    res["responses"] = text.count("HTTP/1.1 ") + text.count("HTTP/1.0 ")
    if text.startswith("HTTP/"):
        try:
            res["status"] = int(text.split(" ", 2)[1])
        except (IndexError, ValueError):
            pass
    for line in text.split("\r\n"):
        if line.lower().startswith("x-backend:"):
            res["backend"] = line.split(":", 1)[1].strip()
            break
    s.close()
    out(res)


# ---------------------------------------------------------------- pipeline
def cmd_pipeline(a):
    s = connect(a.host, a.port, None, a.timeout)
    reqs = b"".join(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % p).encode() for p in a.paths)
    s.sendall(reqs)
    f = s.makefile("rb")
    got = []
    try:
        for _ in a.paths:
            r = read_response(f)
            if r is None:
                break
            got.append({"status": r[0], "backend": r[1].get("x-backend", "-"),
                        "body": r[2].decode("latin-1")[:200]})
    except (OSError, ValueError) as e:
        got.append({"error": type(e).__name__})
    out({"responses": got})


# ---------------------------------------------------------------- proxy
def proxy_header(version, src, sport, dst, dport, cmd="proxy"):
    fam6 = ":" in src
    if version == 1:
        if cmd == "local":
            return b"PROXY UNKNOWN\r\n"
        return ("PROXY %s %s %s %d %d\r\n" % ("TCP6" if fam6 else "TCP4", src, dst,
                                               sport, dport)).encode()
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    if cmd == "local":
        return sig + struct.pack("!BBH", 0x20, 0x00, 0)
    if fam6:
        body = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
                + struct.pack("!HH", sport, dport))
        return sig + struct.pack("!BBH", 0x21, 0x21, len(body)) + body
    body = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
            + struct.pack("!HH", sport, dport))
    return sig + struct.pack("!BBH", 0x21, 0x11, len(body)) + body


def cmd_proxy(a):
    res = {"status": 0}
    try:
        s = connect(a.host, a.port, None, a.timeout)
    except OSError as e:
        out({"status": 0, "error": type(e).__name__})
        return
    if a.garbage:
        hdr = unescape(a.garbage)
    elif a.version == 0:
        hdr = b""
    else:
        hdr = proxy_header(a.version, a.src_ip, a.src_port, a.dst_ip, a.dst_port, a.cmd)
    req = ("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % a.path).encode()
    try:
        s.sendall(hdr + req)
        f = s.makefile("rb")
        r = read_response(f)
        if r is None:
            res["closed"] = True
        else:
            res["status"] = r[0]
            res["backend"] = r[1].get("x-backend", "-")
            try:
                res["body"] = json.loads(r[2])
            except ValueError:
                res["body"] = r[2].decode("latin-1")[:500]
    except (OSError, ValueError) as e:
        res["error"] = type(e).__name__
        res["closed"] = True
    out(res)


# ---------------------------------------------------------------- ws
def cmd_ws(a):
    res = {"status": 0, "echo_ok": False}
    s = connect(a.host, a.port, None, a.timeout)
    s.sendall(("GET /chat HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
              .encode())
    f = s.makefile("rb")
    r = read_response(f)
    if r is None:
        out(res)
        return
    res["status"] = r[0]
    res["backend"] = r[1].get("x-backend", "-")
    res["upgrade"] = r[1].get("upgrade", "")
    if r[0] != 101:
        out(res)
        return
    ok = True
    total = 0
    for i in range(a.rounds):
        msg = ("message %d " % i).encode() * (1 + i * 50)
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = f.read1(65536)
            if not chunk:
                break
            got += chunk
        ok = ok and got == msg
        total += len(got)
        if a.idle:
            time.sleep(a.idle)
    res["echo_ok"] = ok
    res["bytes"] = total
    if a.hold:
        print(json.dumps(res))
        sys.stdout.flush()
        time.sleep(a.hold)
        s.sendall(b"still there")
        got = b""
        while len(got) < 11:
            chunk = f.read1(64)
            if not chunk:
                break
            got += chunk
        res["after_hold_ok"] = got == b"still there"
    s.close()
    out(res)


# ---------------------------------------------------------------- tcp
def cmd_tcp(a):
    res = {}
    t0 = time.time()
    s = connect(a.host, a.port, a.src, a.timeout)
    f = s.makefile("rb")
    res["banner"] = f.readline().decode().strip()
    sent_hash = hashlib.sha256()
    recv_hash = hashlib.sha256()
    received = [0]
    trailer = [b""]
    expect = a.bytes

    def reader():
        while received[0] < expect:
            chunk = f.read1(262144)
            if not chunk:
                return
            take = min(len(chunk), expect - received[0])
            recv_hash.update(chunk[:take])
            received[0] += take
            if take < len(chunk):
                trailer[0] += chunk[take:]
        while True:
            chunk = f.read1(65536)
            if not chunk:
                break
            trailer[0] += chunk

    th = threading.Thread(target=reader)
    th.start()
    for block in pattern(a.bytes):
        s.sendall(block)
        sent_hash.update(block)
    if a.halfclose:
        s.shutdown(socket.SHUT_WR)
    th.join(a.timeout)
    res["sent"] = a.bytes
    res["received"] = received[0]
    res["intact"] = received[0] == a.bytes and sent_hash.digest() == recv_hash.digest()
    res["trailer"] = trailer[0].decode("latin-1").strip()
    res["elapsed"] = round(time.time() - t0, 3)
    s.close()
    out(res)


# ---------------------------------------------------------------- udp
def cmd_udp(a):
    socks = []
    for _ in range(a.flows):
        u = socket.socket(family(a.host), socket.SOCK_DGRAM)
        u.settimeout(a.timeout)
        u.bind((a.src or ("::" if ":" in a.host else "0.0.0.0"), 0))
        socks.append(u)
    flows = []
    for i, u in enumerate(socks):
        replies = []
        for j in range(a.count):
            msg = ("flow%d-msg%d" % (i, j)).encode()
            u.sendto(msg, (a.host, a.port))
            try:
                data, _ = u.recvfrom(65536)
                name, seen, payload = data.split(b"|", 2)
                replies.append({"backend": name.decode(), "seen": seen.decode(),
                                "echo_ok": payload == msg})
            except (socket.timeout, ValueError):
                replies.append({"backend": "-", "seen": "-", "echo_ok": False})
            if a.gap:
                time.sleep(a.gap)
            if a.sleep_before_last and j == a.count - 2:
                time.sleep(a.sleep_before_last)
        flows.append({"local": u.getsockname()[1], "replies": replies})
    for u in socks:
        u.close()
    out({"flows": flows})


# ---------------------------------------------------------------- upload / download
def cmd_upload(a):
    res = {}
    t0 = time.time()
    s = connect(a.host, a.port, None, a.timeout)
    h = hashlib.sha256()
    if a.chunked:
        s.sendall(("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n").encode())
        for block in pattern(a.bytes):
            h.update(block)
            s.sendall(b"%x\r\n" % len(block) + block + b"\r\n")
        s.sendall(b"0\r\n\r\n")
    else:
        s.sendall(("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
                   "Connection: close\r\n\r\n" % (a.path, a.bytes)).encode())
        sent = 0
        for block in pattern(a.bytes):
            h.update(block)
            s.sendall(block)
            sent += len(block)
            if a.abort_after and sent >= a.abort_after:
                s.close()
                out({"sent": sent, "aborted": True})
                return
    f = s.makefile("rb")
    r = read_response(f)
    res["status"] = r[0] if r else 0
    try:
        body = json.loads(r[2]) if r else {}
    except ValueError:
        body = {}
    res["backend_bytes"] = body.get("bytes", -1)
    res["backend_chunked"] = body.get("chunked")
    res["intact"] = body.get("sha256") == h.hexdigest() and body.get("bytes") == a.bytes
    res["elapsed"] = round(time.time() - t0, 3)
    out(res)


def cmd_download(a):
    t0 = time.time()
    s = connect(a.host, a.port, None, a.timeout)
    s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % a.path).encode())
    if a.stall:
        time.sleep(a.stall)      # a slow reader: the proxy must not buffer it all
    f = s.makefile("rb")
    line = f.readline()
    status = int(line.split(b" ")[1])
    headers = {}
    while True:
        hl = f.readline().decode("latin-1").rstrip("\r\n")
        if not hl:
            break
        k, _, v = hl.partition(":")
        headers[k.strip().lower()] = v.strip()
    h = hashlib.sha256()
    n = 0
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                break
            left = size
            while left:
                d = f.read(min(left, 262144))
                if not d:
                    raise ConnectionError("eof")
                h.update(d)
                n += len(d)
                left -= len(d)
            f.read(2)
            if a.abort_after and n >= a.abort_after:
                s.close()
                out({"status": status, "bytes": n, "aborted": True})
                return
    else:
        while True:
            d = f.read1(262144)
            if not d:
                break
            h.update(d)
            n += len(d)
            if a.abort_after and n >= a.abort_after:
                s.close()
                out({"status": status, "bytes": n, "aborted": True})
                return
    exp = hashlib.sha256()
    for block in pattern(a.bytes):
        exp.update(block)
    out({"status": status, "bytes": n, "intact": n == a.bytes and h.digest() == exp.digest(),
         "chunked": "chunked" in headers.get("transfer-encoding", ""),
         "elapsed": round(time.time() - t0, 3)})


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("host")
        p.add_argument("port", type=int)
        p.add_argument("--timeout", type=float, default=5.0)
        p.add_argument("--src")
        return p

    p = common(sub.add_parser("load"))
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--c", type=int, default=1)
    p.add_argument("--path", default="/")
    p.add_argument("--method", default="GET")
    p.add_argument("--keepalive", action="store_true")
    p.add_argument("--header", action="append")
    p.add_argument("--host-header")
    p.add_argument("--expect", type=int, default=200)
    p.add_argument("--max-time", type=float, default=20.0)
    p.add_argument("--pause", type=float, default=0.0)
    p.add_argument("--seq", action="store_true")
    p.add_argument("--at", action="append")
    p.set_defaults(fn=cmd_load)

    p = common(sub.add_parser("raw"))
    p.add_argument("--data")
    p.add_argument("--repeat-header")
    p.add_argument("--long-target", type=int, default=0)
    p.add_argument("--slow", type=float, default=0.0)
    p.add_argument("--shut", action="store_true")
    p.add_argument("--first", action="store_true", help="stop after the first response head")
    p.set_defaults(fn=cmd_raw)

    p = common(sub.add_parser("pipeline"))
    p.add_argument("paths", nargs="+")
    p.set_defaults(fn=cmd_pipeline)

    p = common(sub.add_parser("proxy"))
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--cmd", default="proxy")
    p.add_argument("--src-ip", default="198.51.100.200")
    p.add_argument("--src-port", type=int, default=40000)
    p.add_argument("--dst-ip", default="198.51.100.10")
    p.add_argument("--dst-port", type=int, default=80)
    p.add_argument("--path", default="/headers")
    p.add_argument("--garbage")
    p.set_defaults(fn=cmd_proxy)

    p = common(sub.add_parser("ws"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--idle", type=float, default=0.0)
    p.add_argument("--hold", type=float, default=0.0,
                   help="print the result, keep the tunnel open S seconds, echo once more")
    p.set_defaults(fn=cmd_ws)

    p = common(sub.add_parser("tcp"))
    p.add_argument("--bytes", type=int, default=1000)
    p.add_argument("--halfclose", action="store_true")
    p.set_defaults(fn=cmd_tcp)

    p = common(sub.add_parser("udp"))
    p.add_argument("--flows", type=int, default=1)
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--gap", type=float, default=0.0)
    p.add_argument("--sleep-before-last", type=float, default=0.0)
    p.set_defaults(fn=cmd_udp)

    p = common(sub.add_parser("upload"))
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--chunked", action="store_true")
    p.add_argument("--path", default="/echo")
    p.add_argument("--abort-after", type=int, default=0, help="close after sending this much")
    p.set_defaults(fn=cmd_upload)

    p = common(sub.add_parser("download"))
    p.add_argument("--path", required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--stall", type=float, default=0.0, help="wait S seconds before reading")
    p.add_argument("--abort-after", type=int, default=0, help="close after reading this much")
    p.set_defaults(fn=cmd_download)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
