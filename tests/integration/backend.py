#!/usr/bin/env python3
"""Test backend for the tandem integration tests (python3 stdlib only).

Modes:
  http (default)  HTTP/1.1 server with keep-alive. Endpoints:
      GET /            200, "X-Backend: NAME", body NAME (so does any path
                       not listed below)
      /status/N        status N, body NAME (these four also after any prefix,
                       e.g. /slow/delay/3000)
      /delay/MS        waits MS milliseconds, then 200 NAME
      /headers         request headers and peer as JSON
      /echo            reads the body (content-length or chunked, streamed)
                       and answers {"bytes": n, "sha256": hex, "chunked": b}
      /big/N           N bytes of pattern(), chunked
      /bigcl/N         N bytes of pattern(), with Content-Length
      /conns           {"conns": accepted, "active": open, "requests": n}
                       (requests does not count /conns itself)
      /proxyinfo       the PROXY header parsed on this connection, as JSON
      /close           200 with "Connection: close", then closes
      /login           200 NAME with "Set-Cookie: JSESSIONID=NAME-N" (sticky app cookie)
      /nolength/N      N bytes with neither Content-Length nor chunked (ends at close)
      /bighdr/N        200 with a response header of N bytes
      /slowecho        like /echo, but waits 2 s before reading the body
      HEAD             as GET without the body; 204/304 have no body;
                       "Expect: 100-continue" is answered 100 before the body
      /health          the listener's health status (200 until changed), body NAME
      /sethealth/N     sets that status (health-check flapping); 200
      Upgrade: ...     101 Switching Protocols, then echoes raw bytes
  --tcp-echo      sends a banner line "NAME[ proxy=IP:PORT]\\n", echoes every
                  byte; on EOF from the client waits 200 ms, sends
                  "EOF NAME\\n" and closes (so half-close can be tested)
  --udp-echo      replies "NAME|PEER-IP:PORT|" + datagram

--listen [NAME@]ADDR:PORT may be repeated: one process then serves several
named backends, each with its own counters (NAME defaults to --name).
--proxy-protocol: every connection must start with a PROXY v1 or v2 header
(parsed and remembered; a connection without one is closed).
--delay-all MS: every HTTP response is delayed (a slow server).
--log FILE: one line per request head received ("METHOD TARGET").
--tls CERT KEY: serve HTTP over TLS with that certificate chain and key.
"""
import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import signal
import socket
import struct
import sys

PATTERN_BLOCK = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(65536))


def pattern(n):
    """Yields n bytes of the deterministic test pattern in 64 KiB blocks."""
    while n > 0:
        k = min(n, len(PATTERN_BLOCK))
        yield PATTERN_BLOCK[:k]
        n -= k


class Ctx:
    """One listener: its name and counters."""
    def __init__(self, name):
        self.name = name
        self.conns = 0
        self.active = 0
        self.requests = 0
        self.health = 200


ARGS = None
LOGF = None

REASONS = {100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
           204: "No Content", 301: "Moved Permanently", 302: "Found",
           304: "Not Modified", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 413: "Payload Too Large",
           500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


def parse_addr(s):
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    return host, int(port)


V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


async def read_proxy_header(reader):
    """Reads a PROXY v1/v2 header. Returns a dict or raises ValueError."""
    first = await reader.readexactly(5)
    if first == b"PROXY":
        line = first + await reader.readuntil(b"\r\n")
        if len(line) > 107:
            raise ValueError("v1 header too long")
        parts = line[:-2].decode("ascii").split(" ")
        if parts[1] == "UNKNOWN":
            return {"version": 1, "local": True}
        if len(parts) != 6 or parts[1] not in ("TCP4", "TCP6"):
            raise ValueError("bad v1 header")
        return {"version": 1, "local": False, "family": parts[1],
                "src": parts[2], "dst": parts[3],
                "src_port": int(parts[4]), "dst_port": int(parts[5])}
    rest = await reader.readexactly(len(V2_SIG) - 5)
    if first + rest != V2_SIG:
        raise ValueError("no PROXY header")
    ver_cmd, fam, length = struct.unpack("!BBH", await reader.readexactly(4))
    body = await reader.readexactly(length)
    if ver_cmd >> 4 != 2:
        raise ValueError("bad v2 version")
    if ver_cmd & 0xF == 0:
        return {"version": 2, "local": True}
    if fam >> 4 == 1:
        src, dst, sp, dp = struct.unpack("!4s4sHH", body[:12])
        return {"version": 2, "local": False, "family": "TCP4" if fam & 0xF == 1 else "UDP4",
                "src": str(ipaddress.IPv4Address(src)), "dst": str(ipaddress.IPv4Address(dst)),
                "src_port": sp, "dst_port": dp}
    if fam >> 4 == 2:
        src, dst, sp, dp = struct.unpack("!16s16sHH", body[:36])
        return {"version": 2, "local": False, "family": "TCP6" if fam & 0xF == 1 else "UDP6",
                "src": str(ipaddress.IPv6Address(src)), "dst": str(ipaddress.IPv6Address(dst)),
                "src_port": sp, "dst_port": dp}
    return {"version": 2, "local": True, "family": "UNSPEC"}


def log_err(ctx, msg):
    """A protocol problem seen by this backend (for test diagnostics)."""
    sys.stderr.write("backend %s: %s\n" % (ctx.name, msg))
    sys.stderr.flush()


def h_len(h):
    return getattr(h, "n", -1)


def response_head(ctx, status, headers, keep_alive=True):
    lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
    lines.append("X-Backend: %s" % ctx.name)
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def send_simple(ctx, writer, status, body, ctype="text/plain", keep_alive=True, extra=(),
                      head=False):
    """A whole response. 204 and 304 carry no body and no Content-Length;
    head=True (a HEAD request) sends the Content-Length but no body."""
    if isinstance(body, str):
        body = body.encode()
    if status in (204, 304):
        writer.write(response_head(ctx, status, list(extra), keep_alive))
    else:
        writer.write(response_head(ctx, status, [("Content-Type", ctype),
                                            ("Content-Length", str(len(body)))] + list(extra),
                                   keep_alive) + (b"" if head else body))
    await writer.drain()


async def read_body(reader, headers, sink, writer=None):
    """Reads a request body by its framing; calls sink(bytes) per piece.
    Answers "Expect: 100-continue" first when writer is given.
    Returns (n, chunked)."""
    te = headers.get("transfer-encoding", "").lower()
    n = 0
    if writer is not None and headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    if "chunked" in te:
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass          # trailers
                return n, True
            left = size
            while left:
                data = await reader.read(min(left, 262144))
                if not data:
                    raise ConnectionError("eof in chunk")
                sink(data)
                left -= len(data)
                n += len(data)
            if await reader.readexactly(2) != b"\r\n":
                raise ValueError("bad chunk end")
    cl = int(headers.get("content-length", "0") or 0)
    left = cl
    while left:
        data = await reader.read(min(left, 262144))
        if not data:
            raise ConnectionError("eof in body")
        sink(data)
        left -= len(data)
        n += len(data)
    return n, False


async def tunnel_echo(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def handle_http(ctx, reader, writer):
    ctx.conns += 1
    ctx.active += 1
    peer = writer.get_extra_info("peername")
    pinfo = None
    nreq = 0
    try:
        if ARGS.proxy_protocol:
            try:
                pinfo = await read_proxy_header(reader)
            except (ValueError, UnicodeDecodeError, asyncio.IncompleteReadError, IndexError) as e:
                log_err(ctx, "bad PROXY header: %r" % e)
                return
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except asyncio.LimitOverrunError:
                head = reader._buffer[:120] if hasattr(reader, "_buffer") else b"?"
                log_err(ctx, "peer %s:%d: no end of head in 64 kB (request %d on this "
                        "connection), starts with %r" % (peer[0], peer[1], nreq + 1, bytes(head)))
                await send_simple(ctx, writer, 400, "head too large", keep_alive=False)
                return
            nreq += 1
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ")
            except ValueError:
                log_err(ctx, "bad request line %r" % lines[0][:200])
                await send_simple(ctx, writer, 400, "bad request line", keep_alive=False)
                return
            hlist = []
            headers = {}
            for ln in lines[1:]:
                if not ln:
                    continue
                k, _, v = ln.partition(":")
                hlist.append([k, v.strip()])
                lk = k.lower()
                headers[lk] = headers[lk] + ", " + v.strip() if lk in headers else v.strip()
            path = target.split("?")[0]
            if path != "/conns":
                ctx.requests += 1
            if LOGF:
                LOGF.write("%s %s %s:%d#%d\n" % (method, target, peer[0], peer[1], nreq))
                LOGF.flush()
            conn_hdr = headers.get("connection", "").lower()
            keep = not ("close" in conn_hdr or version == "HTTP/1.0")
            if ARGS.delay_all:
                await asyncio.sleep(ARGS.delay_all / 1000.0)

            if "upgrade" in conn_hdr and "upgrade" in headers:
                writer.write(response_head(ctx, 101, [("Upgrade", headers["upgrade"]),
                                                 ("Connection", "Upgrade")]))
                await writer.drain()
                await tunnel_echo(reader, writer)
                return

            is_head = method == "HEAD"
            if path in ("/echo", "/slowecho") or method in ("POST", "PUT"):
                h = hashlib.sha256()
                if path == "/slowecho":
                    await asyncio.sleep(2)     # a server slow to read the body
                try:
                    n, chunked = await read_body(reader, headers, h.update, writer)
                except (ValueError, ConnectionError, asyncio.IncompleteReadError) as e:
                    log_err(ctx, "%s %s: body: %r after %d bytes" % (method, target, e, h_len(h)))
                    return
                if path in ("/echo", "/slowecho"):
                    await send_simple(ctx, writer, 200, json.dumps(
                        {"bytes": n, "sha256": h.hexdigest(), "chunked": chunked,
                         "backend": ctx.name}), "application/json", keep)
                    if not keep:
                        return
                    continue
            else:
                # GET and friends: drain a body if one was (oddly) sent.
                if "content-length" in headers or "transfer-encoding" in headers:
                    try:
                        await read_body(reader, headers, lambda b: None)
                    except (ValueError, ConnectionError, asyncio.IncompleteReadError):
                        return

            parts = path.split("/")
            if path == "/":
                await send_simple(ctx, writer, 200, ctx.name, keep_alive=keep, head=is_head)
            elif len(parts) >= 3 and parts[-2] == "status":
                st = int(parts[-1])
                await send_simple(ctx, writer, st, ctx.name, keep_alive=keep, head=is_head)
            elif len(parts) >= 3 and parts[-2] == "delay":
                await asyncio.sleep(int(parts[-1]) / 1000.0)
                await send_simple(ctx, writer, 200, ctx.name, keep_alive=keep)
            elif path == "/headers":
                await send_simple(ctx, writer, 200, json.dumps(
                    {"backend": ctx.name, "method": method, "target": target,
                     "version": version, "headers": hlist,
                     "peer": "%s:%d" % (peer[0], peer[1]), "proxy": pinfo}),
                    "application/json", keep)
            elif path == "/conns":
                await send_simple(ctx, writer, 200, json.dumps(
                    {"backend": ctx.name, "conns": ctx.conns, "active": ctx.active,
                     "requests": ctx.requests}), "application/json", keep)
            elif path == "/proxyinfo":
                await send_simple(ctx, writer, 200, json.dumps(pinfo), "application/json", keep)
            elif len(parts) >= 3 and parts[-2] == "big":
                n = int(parts[-1])
                writer.write(response_head(ctx, 200, [("Content-Type", "application/octet-stream"),
                                                 ("Transfer-Encoding", "chunked")], keep))
                for block in pattern(n):
                    writer.write(b"%x\r\n" % len(block) + block + b"\r\n")
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
            elif len(parts) >= 3 and parts[-2] == "bigcl":
                n = int(parts[-1])
                writer.write(response_head(ctx, 200, [("Content-Type", "application/octet-stream"),
                                                 ("Content-Length", str(n))], keep))
                for block in ([] if is_head else pattern(n)):
                    writer.write(block)
                    await writer.drain()
            elif path == "/health":
                await send_simple(ctx, writer, ctx.health, ctx.name, keep_alive=keep)
            elif len(parts) == 3 and parts[1] == "sethealth":
                ctx.health = int(parts[2])
                await send_simple(ctx, writer, 200, ctx.name, keep_alive=keep)
            elif len(parts) >= 3 and parts[-2] == "nolength":
                # no Content-Length, no chunked: the body ends when we close
                writer.write(response_head(ctx, 200, [("Content-Type", "application/octet-stream")],
                                           False))
                for block in pattern(int(parts[-1])):
                    writer.write(block)
                    await writer.drain()
                return
            elif len(parts) >= 3 and parts[-2] == "bighdr":
                await send_simple(ctx, writer, 200, ctx.name, keep_alive=keep,
                                  extra=[("X-Big", "b" * int(parts[-1]))])
            elif path == "/close":
                await send_simple(ctx, writer, 200, ctx.name, keep_alive=False)
                keep = False
            elif path == "/login":
                # an application session cookie (sticky app-cookie learning)
                await send_simple(ctx, writer, 200, ctx.name, keep_alive=keep, extra=[
                    ("Set-Cookie", "JSESSIONID=%s-%d; Path=/; HttpOnly"
                     % (ctx.name, ctx.requests))])
            else:
                # any other path: 200 with the backend's name (routing tests)
                await send_simple(ctx, writer, 200, ctx.name, keep_alive=keep)
            if not keep:
                return
    except (ConnectionError, asyncio.IncompleteReadError) as e:
        log_err(ctx, "connection: %r" % e)
    finally:
        ctx.active -= 1
        try:
            writer.close()
        except Exception:
            pass


async def handle_tcp_echo(ctx, reader, writer):
    ctx.conns += 1
    banner = ctx.name
    try:
        if ARGS.proxy_protocol:
            try:
                pinfo = await read_proxy_header(reader)
            except (ValueError, UnicodeDecodeError, asyncio.IncompleteReadError, IndexError) as e:
                log_err(ctx, "bad PROXY header: %r" % e)
                writer.close()
                return
            if pinfo.get("local"):
                banner += " proxy=local"
            else:
                src = pinfo["src"]
                if ":" in src:
                    src = "[%s]" % src
                banner += " proxy=%s:%d v%d" % (src, pinfo["src_port"], pinfo["version"])
        writer.write((banner + "\n").encode())
        await writer.drain()
        while True:
            data = await reader.read(262144)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(("EOF %s\n" % ctx.name).encode())
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


class UdpEcho(asyncio.DatagramProtocol):
    def __init__(self, ctx):
        self.ctx = ctx

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        host = addr[0]
        if ":" in host:
            host = "[%s]" % host
        self.transport.sendto(("%s|%s:%d|" % (self.ctx.name, host, addr[1])).encode() + data, addr)


async def main():
    global ARGS, LOGF
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="backend")
    ap.add_argument("--listen", required=True, action="append",
                    help="[NAME@]IP:PORT or [NAME@][IPv6]:PORT; repeat for several")
    ap.add_argument("--tcp-echo", action="store_true")
    ap.add_argument("--udp-echo", action="store_true")
    ap.add_argument("--proxy-protocol", "--proxy-protocol-log", dest="proxy_protocol",
                    action="store_true")
    ap.add_argument("--delay-all", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ARGS = ap.parse_args()
    sslctx = None
    if ARGS.tls:
        import ssl
        sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sslctx.load_cert_chain(ARGS.tls[0], ARGS.tls[1])
    if ARGS.log:
        LOGF = open(ARGS.log, "a")
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    closers = []
    for spec in ARGS.listen:
        name, _, addr = spec.rpartition("@")
        ctx = Ctx(name or ARGS.name)
        host, port = parse_addr(addr)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        if ARGS.udp_echo:
            transport, _ = await loop.create_datagram_endpoint(
                lambda ctx=ctx: UdpEcho(ctx), local_addr=(host, port), family=fam)
            closers.append(transport)
            continue
        handler = handle_tcp_echo if ARGS.tcp_echo else handle_http
        server = await asyncio.start_server(
            lambda r, w, ctx=ctx, h=handler: h(ctx, r, w), host, port, family=fam,
            reuse_address=True, limit=65536, backlog=1024, ssl=sslctx)
        closers.append(server)
    await stop
    for c in closers:
        c.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    sys.exit(0)
