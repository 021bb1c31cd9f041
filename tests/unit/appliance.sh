#!/bin/bash
# appliance.sh - what a box installing tandem gets: every example config in
# etc/ passes both daemons' -t, and the systemd units pass
# `systemd-analyze verify` (no error and no warning). TAP.
set -u
: "${top_builddir:=.}" "${top_srcdir:=.}"
n=0; failed=0
ok()     { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; printf '# %s\n' "$@"; }

for conf in "$top_srcdir"/etc/*.conf; do
    name=${conf##*/}
    for daemon in tandem-proxy tandem-vrrp; do
        if out=$("$top_builddir/$daemon" -t -q -c "$conf" 2>&1); then
            ok "$daemon -t accepts etc/$name"
        else
            not_ok "$daemon -t accepts etc/$name" "$out"
        fi
    done
done

if command -v systemd-analyze >/dev/null 2>&1; then
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
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
