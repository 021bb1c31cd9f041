#!/bin/sh
# Installs every Debian package tandem needs to build, test, benchmark and
# run its demo. Idempotent; run as root.
set -e
PKGS="build-essential autoconf automake libtool pkg-config
      libevent-dev libssl-dev libconfig-dev libnl-3-dev libnl-route-3-dev
      libxxhash-dev uthash-dev libcunit1-dev libsystemd-dev
      clang libclang-rt-14-dev
      iproute2 nftables curl wrk socat jq python3 openssl procps psmisc
      chromium python3-prometheus-client
      haproxy nginx-light libnginx-mod-stream
      tshark keepalived iputils-ping systemd"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    # tshark (VRRP decoding in the tests) must not ask about dumpcap setuid
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
