#!/usr/bin/env python3
"""Client for the two-box failover tests (tests/integration/pair_*.sh).
python3 stdlib only. Every subcommand prints one JSON object on stdout;
every loop is bounded in count and in time.

  login  HOST PORT --n N --map FILE   N requests to /login, each on a new
         connection; the backend answers Set-Cookie: JSESSIONID=NAME-N and
         X-Backend: NAME. The cookie -> server pairs are merged into FILE
         (a JSON object). Prints counts by server.
  check  HOST PORT --map FILE         one request per cookie in FILE with
         Cookie: JSESSIONID=VALUE; counts matches (X-Backend is the server
         recorded at login), mismatches and errors (after --tries attempts).
  stream HOST PORT --out FILE         a steady stream of new-connection GETs
         (one every --interval s, --timeout s each, for --duration s);
         writes [[t_start, t_end, ok], ...] to FILE (epoch seconds).
  gap    FILE --kill T                analysis of a stream around a kill at
         epoch T: last success before, first success after, the gap, the
         failed requests, the successes after the kill.
  udp    HOST PORT --ports A-B        one datagram per flow, each flow from
         its own fixed source port (so a later run is "the same flows");
         --map FILE records port -> server (or, with --check, compares).
  tcp    HOST PORT --srcs IP,IP...    one TCP connection per source address
         (a --tcp-echo backend sends its name as a banner); --map/--check
         as for udp, keyed by source address.
"""
import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time


def out(obj):
    print(json.dumps(obj, sort_keys=True))
    sys.stdout.flush()


def load_map(path):
    if path and os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path) as f:
            return json.load(f)
    return {}


def save_map(path, m):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(m, f)
    os.replace(tmp, path)


def cookie_of(set_cookie):
    """JSESSIONID value from a Set-Cookie header, or None."""
    if not set_cookie:
        return None
    first = set_cookie.split(";", 1)[0].strip()
    k, _, v = first.partition("=")
    return v if k == "JSESSIONID" and v else None


def one_get(host, port, path, timeout, headers=None, src=None):
    """(status, x-backend, set-cookie) of one GET on a new connection."""
    c = http.client.HTTPConnection(host, port, timeout=timeout,
                                   source_address=(src, 0) if src else None)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("X-Backend", "-"), r.getheader("Set-Cookie")
    finally:
        c.close()


def run_pool(items, nthreads, fn, deadline):
    """Calls fn(item) for every item from nthreads threads, until the
    deadline. Returns the number of items not done."""
    lock = threading.Lock()
    it = iter(items)
    left = {"n": len(items)}

    def worker():
        while time.time() < deadline:
            with lock:
                try:
                    item = next(it)
                except StopIteration:
                    return
            fn(item)
            with lock:
                left["n"] -= 1

    ths = [threading.Thread(target=worker) for _ in range(max(1, nthreads))]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    return left["n"]


# ---------------------------------------------------------------- login / check
def cmd_login(a):
    lock = threading.Lock()
    m = load_map(a.map)
    res = {"n": a.n, "ok": 0, "errors": 0, "no_cookie": 0, "duplicate": 0,
           "servers": {}, "error_kinds": {}}
    new = {}

    def one(_):
        try:
            st, be, sc = one_get(a.host, a.port, "/login", a.timeout, src=a.src)
        except Exception as e:  # noqa: BLE001 - every failure is counted
            with lock:
                res["errors"] += 1
                k = type(e).__name__
                res["error_kinds"][k] = res["error_kinds"].get(k, 0) + 1
            return
        ck = cookie_of(sc)
        with lock:
            if st != 200:
                res["errors"] += 1
                k = "status%d" % st
                res["error_kinds"][k] = res["error_kinds"].get(k, 0) + 1
            elif not ck:
                res["no_cookie"] += 1
            elif ck in new or ck in m:
                res["duplicate"] += 1
            else:
                new[ck] = be
                res["ok"] += 1
                res["servers"][be] = res["servers"].get(be, 0) + 1

    t0 = time.time()
    res["not_done"] = run_pool(range(a.n), a.c, one, t0 + a.max_time)
    res["elapsed"] = round(time.time() - t0, 3)
    m.update(new)
    if a.map:
        save_map(a.map, m)
    res["map_size"] = len(m)
    out(res)


def cmd_check(a):
    lock = threading.Lock()
    m = load_map(a.map)
    items = sorted(m.items())
    if a.only:
        items = [kv for kv in items if kv[1] == a.only]
    res = {"n": len(items), "match": 0, "mismatch": 0, "errors": 0, "retried": 0,
           "mismatches": [], "error_kinds": {}, "got": {}}

    def one(kv):
        ck, want = kv
        last = None
        for attempt in range(a.tries):
            try:
                st, be, _ = one_get(a.host, a.port, a.path, a.timeout,
                                    headers={"Cookie": "JSESSIONID=" + ck}, src=a.src)
                if st == 200:
                    with lock:
                        if attempt:
                            res["retried"] += 1
                        res["got"][be] = res["got"].get(be, 0) + 1
                        if be == want:
                            res["match"] += 1
                        else:
                            res["mismatch"] += 1
                            if len(res["mismatches"]) < 8:
                                res["mismatches"].append("%s: want %s got %s" % (ck, want, be))
                    return
                last = "status%d" % st
            except Exception as e:  # noqa: BLE001
                last = type(e).__name__
            time.sleep(0.05)
        with lock:
            res["errors"] += 1
            res["error_kinds"][last] = res["error_kinds"].get(last, 0) + 1

    t0 = time.time()
    res["not_done"] = run_pool(items, a.c, one, t0 + a.max_time)
    res["elapsed"] = round(time.time() - t0, 3)
    out(res)


# ---------------------------------------------------------------- stream / gap
def cmd_stream(a):
    ev = []
    t_end = time.time() + a.duration
    n = 0
    while time.time() < t_end and n < a.max_requests:
        n += 1
        t = time.time()
        try:
            st, _, _ = one_get(a.host, a.port, a.path, a.timeout)
            ok = st == 200
        except Exception:  # noqa: BLE001
            ok = False
        ev.append([t, time.time(), ok])
        time.sleep(max(0.0, a.interval - (time.time() - t)))
    with open(a.out, "w") as f:
        json.dump(ev, f)
    out({"requests": len(ev), "ok": sum(1 for e in ev if e[2])})


def cmd_gap(a):
    with open(a.file) as f:
        ev = json.load(f)
    kill = a.kill
    before = [e for e in ev if e[2] and e[1] <= kill]
    after = [e for e in ev if e[2] and e[0] >= kill]
    res = {"requests": len(ev), "failed": sum(1 for e in ev if not e[2]),
           "ok_before": len(before), "ok_after": len(after),
           "failed_after_first_success": 0}
    if before and after:
        res["gap_ms"] = round((after[0][0] - before[-1][1]) * 1000)
        res["first_ok_after_kill_ms"] = round((after[0][0] - kill) * 1000)
        res["failed_after_first_success"] = sum(1 for e in ev if not e[2] and e[0] > after[0][0])
    else:
        res["gap_ms"] = None
        res["first_ok_after_kill_ms"] = None
    # the failed requests as windows (start ms relative to the kill)
    res["failed_at_ms"] = [round((e[0] - kill) * 1000) for e in ev if not e[2]][:40]
    out(res)


# ---------------------------------------------------------------- udp / tcp
def report(a, res, got, ref):
    """Prints res with how many clients each server got; with --check, how
    many kept the server of the saved map; else saves got as the map."""
    res["servers"] = {}
    for v in got.values():
        res["servers"][v] = res["servers"].get(v, 0) + 1
    if a.check:
        mm = ["%s: want %s got %s" % (k, ref.get(k), v) for k, v in sorted(got.items())
              if ref.get(k) != v]
        res["match"] = len(got) - len(mm)
        res["mismatch"] = len(mm)
        res["mismatches"] = mm[:8]
    elif a.map:
        save_map(a.map, got)
    out(res)


def cmd_udp(a):
    lo, _, hi = a.ports.partition("-")
    ports = list(range(int(lo), int(hi or lo) + 1))
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    ref = load_map(a.map) if a.check else {}
    got = {}
    errors = {}
    seen = {}
    t_end = time.time() + a.max_time
    for p in ports:
        if time.time() > t_end:
            break
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        u.bind((a.src or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), p))
        u.settimeout(a.timeout)
        name = None
        for attempt in range(a.tries):
            msg = ("port%d-try%d" % (p, attempt)).encode()
            try:
                u.sendto(msg, (a.host, a.port))
                while True:   # skip late answers to an earlier try
                    data, _ = u.recvfrom(65536)
                    nm, sn, payload = data.split(b"|", 2)
                    if payload == msg:
                        name = nm.decode()
                        seen[str(p)] = sn.decode()
                        break
                break
            except (socket.timeout, ValueError):
                continue
        u.close()
        if name is None:
            errors[str(p)] = "timeout"
        else:
            got[str(p)] = name
    report(a, {"flows": len(ports), "answered": len(got), "errors": len(errors)}, got, ref)


def cmd_tcp(a):
    srcs = a.srcs.split(",")
    ref = load_map(a.map) if a.check else {}
    got = {}
    errors = {}
    t_end = time.time() + a.max_time
    for s in srcs:
        if time.time() > t_end:
            break
        name = None
        for _ in range(a.tries):
            try:
                c = socket.create_connection((a.host, a.port), timeout=a.timeout,
                                             source_address=(s, 0))
                f = c.makefile("rb")
                line = f.readline(4096).decode().strip()
                c.close()
                if line:
                    name = line.split()[0]
                    break
            except OSError as e:
                errors[s] = type(e).__name__
            time.sleep(0.05)
        if name:
            got[s] = name
            errors.pop(s, None)
    report(a, {"clients": len(srcs), "answered": len(got), "errors": len(errors)}, got, ref)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("host")
        p.add_argument("port", type=int)
        p.add_argument("--timeout", type=float, default=2.0)
        p.add_argument("--src")
        p.add_argument("--max-time", type=float, default=60.0)
        return p

    p = common(sub.add_parser("login"))
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--c", type=int, default=8)
    p.add_argument("--map", required=True)
    p.set_defaults(fn=cmd_login)

    p = common(sub.add_parser("check"))
    p.add_argument("--map", required=True)
    p.add_argument("--c", type=int, default=8)
    p.add_argument("--tries", type=int, default=2)
    p.add_argument("--path", default="/")
    p.add_argument("--only", help="only the cookies recorded on this server")
    p.set_defaults(fn=cmd_check)

    p = common(sub.add_parser("stream"))
    p.add_argument("--out", required=True)
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--max-requests", type=int, default=5000)
    p.add_argument("--path", default="/")
    p.set_defaults(fn=cmd_stream, timeout=0.25)

    p = sub.add_parser("gap")
    p.add_argument("file")
    p.add_argument("--kill", type=float, required=True)
    p.set_defaults(fn=cmd_gap)

    p = common(sub.add_parser("udp"))
    p.add_argument("--ports", required=True, help="A-B, source ports of the flows")
    p.add_argument("--map")
    p.add_argument("--check", action="store_true")
    p.add_argument("--tries", type=int, default=3)
    p.set_defaults(fn=cmd_udp)

    p = common(sub.add_parser("tcp"))
    p.add_argument("--srcs", required=True)
    p.add_argument("--map")
    p.add_argument("--check", action="store_true")
    p.add_argument("--tries", type=int, default=3)
    p.set_defaults(fn=cmd_tcp)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
