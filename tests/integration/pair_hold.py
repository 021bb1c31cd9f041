#!/usr/bin/env python3
"""pair_hold.py HOST PORT N SECONDS: opens N TCP connections to a tcp-echo
frontend, prints one JSON line with the server name each one's banner
gives ("" if the proxy closed it), then holds them open for SECONDS
(bounded) and closes them. For pair_conns.sh."""
import json, socket, sys, time

host, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
conns, names = [], []
for _ in range(n):
    s = socket.create_connection((host, port), timeout=3)
    try:
        banner = s.recv(200).decode(errors="replace").split()
        names.append(banner[0] if banner else "")
    except OSError:
        names.append("")
    conns.append(s)
print(json.dumps(names), flush=True)
time.sleep(min(secs, 30))
for s in conns:
    s.close()
