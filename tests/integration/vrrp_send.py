#!/usr/bin/env python3
"""vrrp_send.py - sends one hand-made VRRPv3 advert over IPv4 (raw socket,
IP_HDRINCL) for the tandem-vrrp bad-input tests: any source, TTL, version,
VRID, priority, and an optionally wrong checksum.

usage: vrrp_send.py SRC DST [--ttl N] [--vrid N] [--prio N] [--version N]
                    [--bad-checksum] [--vip ADDR ...] [--interval-cs N]
"""
import argparse
import socket
import struct


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--ttl", type=int, default=255)
    ap.add_argument("--vrid", type=int, default=51)
    ap.add_argument("--prio", type=int, default=200)
    ap.add_argument("--version", type=int, default=3)
    ap.add_argument("--interval-cs", type=int, default=10)
    ap.add_argument("--bad-checksum", action="store_true")
    ap.add_argument("--vip", nargs="*", default=["198.51.100.100"])
    a = ap.parse_args()
    addrs = b"".join(socket.inet_aton(v) for v in a.vip)
    hdr = struct.pack("!BBBBHH", (a.version << 4) | 1, a.vrid, a.prio, len(a.vip),
                      a.interval_cs & 0x0FFF, 0)
    msg = hdr + addrs
    pseudo = socket.inet_aton(a.src) + socket.inet_aton(a.dst) + struct.pack("!BBH", 0, 112, len(msg))
    c = csum(pseudo + msg)
    if a.bad_checksum:
        c ^= 0x5A5A
    msg = msg[:6] + struct.pack("!H", c) + msg[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(msg), 0, 0, a.ttl, 112, 0,
                     socket.inet_aton(a.src), socket.inet_aton(a.dst))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(ip + msg, (a.dst, 0))


if __name__ == "__main__":
    main()
