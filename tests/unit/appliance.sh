#!/bin/bash
# appliance.sh - what a box installing tandem gets: every example config in
# etc/ passes both daemons' -t, and the systemd units pass
# `systemd-analyze verify` (no error and no warning). TAP.
set -u
: "${top_builddir:=.}" "${top_srcdir:=.}"
n=0; failed=0
ok()     { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; printf '# %s\n' "$@"; }

# The examples name /etc/tandem/sync.key, made by etc/make-keys.sh on a real
# box: make the keys in a scratch directory and check copies pointing there.
keys=$(mktemp -d)
trap 'rm -rf "$keys"' EXIT
sh "$top_srcdir/etc/make-keys.sh" "$keys" >/dev/null 2>&1 ||
    not_ok "etc/make-keys.sh makes the keys" "it failed in $keys"
for conf in "$top_srcdir"/etc/*.conf; do
    name=${conf##*/}
    sed "s|/etc/tandem/|$keys/|g" "$conf" > "$keys/$name"
    for daemon in tandem-proxy tandem-vrrp; do
        if out=$("$top_builddir/$daemon" -t -q -c "$keys/$name" 2>&1); then
            ok "$daemon -t accepts etc/$name (with the keys of make-keys.sh)"
        else
            not_ok "$daemon -t accepts etc/$name (with the keys of make-keys.sh)" "$out"
        fi
    done
done
# Without the key, -t says which file is missing, at the sync section's line.
out=$("$top_builddir/tandem-proxy" -t -c "$top_srcdir/etc/tandem-a.conf" 2>&1)
case $out in
*"tandem-a.conf:"*"sync: psk_file /etc/tandem/sync.key: No such file or directory"*)
    ok "tandem-proxy -t names a missing sync key" ;;
*)  [ -e /etc/tandem/sync.key ] && ok "tandem-proxy -t checks the sync key (this box has /etc/tandem/sync.key)" ||
        not_ok "tandem-proxy -t names a missing sync key" "$out" ;;
esac

if command -v systemd-analyze >/dev/null 2>&1; then
    dir=$(mktemp -d)
    trap 'rm -rf "$dir" "$keys"' EXIT
    for unit in tandem-proxy tandem-vrrp; do
        # The units as installed, pointing at the binaries just built.
        sed -e "s|@sbindir@|$(cd "$top_builddir" && pwd)|g" -e "s|@sysconfdir@|/etc|g" \
            "$top_srcdir/systemd/$unit.service.in" > "$dir/$unit.service"
        out=$(systemd-analyze verify --man=no "$dir/$unit.service" 2>&1)
        rc=$?
        if [ $rc = 0 ] && [ -z "$out" ]; then
            ok "systemd-analyze verify $unit.service"
        else
            not_ok "systemd-analyze verify $unit.service" "exit $rc" "$out"
        fi
    done
else
    not_ok "systemd-analyze is installed (Debian package systemd)"
fi
echo "1..$n"
exit $failed
