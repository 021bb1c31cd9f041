#!/bin/bash
# pair_twenty.sh - the failover test bed, scenario 7: twenty failovers in a
# row. Each round kills the box that is MASTER (link down + SIGKILL of both
# daemons); the survivor must take the VIP and serve every sticky client
# made so far (200 bound at the start, 5 new ones each round) through the
# VIP; the killed box is revived, the sync link connects again and its
# table is resynced before the next round. Rounds 1-10: both boxes have
# preempt = false, so the master alternates (lbA, lbB, lbA, ...) and a
# revived box stays BACKUP. Rounds 11-20: lbA has preempt (the default):
# lbA is killed each round and takes the VIP back when it returns (a
# handover between two live boxes); after the resync every client reaches
# its server through it. The kernel's address events of both boxes (ip
# monitor) give the longest time the VIP was on two live boxes: never more
# than about one advert interval.
. "$(dirname "$0")/lib_pair.sh"
pair_need
t0=$(now_ms)
ROUNDS=${PAIR_ROUNDS:-20}
BUDGET_S=$(proxy_is_asan && echo 400 || echo 170)
pair_topo_up
pair_conf ap "preempt = false;"
vipmon_start
pair_up
ALL=$T_DIR/all.json

r=$(pcl login "$VIP" 80 --n 200 --map "$ALL")
t_is "$(j "$r" .ok)" 200 "200 clients bound through lbA at the start" "$r"
wait_sticky B "$ALL" 5 >/dev/null

master=A done_rounds=0 bad_takeover=0 bad_serve=0 bad_resync=0 bad_backup=0
mism=0 errs=0 maxtake=0 maxsync=0 maxback=0 takes="" preempt=false
_not_fault() { case $(vrrp_state "$1" web) in BACKUP|MASTER) return 0 ;; esac; return 1; }
PREEMPT_FROM=$(( ROUNDS / 2 + 1 ))
for round in $(seq "$ROUNDS"); do
    if [ "$round" = "$PREEMPT_FROM" ]; then
        pair_conf_box A ap ""      # read when lbA next starts: preempt (default)
        preempt=true
    fi
    if [ $(( ($(now_ms) - t0) / 1000 )) -ge "$BUDGET_S" ]; then
        t_diag "time budget of $BUDGET_S s used up after $done_rounds rounds"; break
    fi
    surv=${PAIR_PEER[$master]} ts=0 tw=0
    pair_kill "$master"
    took=$(wait_until 5 has_vip "$surv" "$VIP") || {
        bad_takeover=$((bad_takeover + 1)); t_diag "round $round: lb$surv did not take the VIP ($took ms)"; }
    takes="$takes $took"
    [ "$took" -gt "$maxtake" ] && maxtake=$took
    r=$(pcl check "$VIP" 80 --map "$ALL" --max-time 60)
    m=$(j "$r" .mismatch); e=$(j "$r" .errors); n=$(j "$r" .n)
    mism=$((mism + ${m:-999})); errs=$((errs + ${e:-999}))
    if [ "$(j "$r" .match)" != "$n" ]; then
        bad_serve=$((bad_serve + 1))
        t_diag "round $round (lb$master killed): $(j "$r" .match)/$n match, $m mismatch, $e errors: $(j "$r" '.mismatches | join("; ")')"
    fi
    r=$(pcl login "$VIP" 80 --n 5 --map "$ALL")
    [ "$(j "$r" .ok)" = 5 ] || { bad_serve=$((bad_serve + 1)); t_diag "round $round: logins through lb$surv: $r"; }
    pair_revive "$master" || t_bail "round $round: lb$master did not restart"
    ts=$(wait_sync "$master" 10) && wait_sync "$surv" 5 >/dev/null &&
        tw=$(wait_sticky "$master" "$ALL" 10) || {
        bad_resync=$((bad_resync + 1))
        t_diag "round $round: lb$master not resynced: $(sticky_cmp "$master" "$ALL") (present same missing); $(pctl "$master" peer show | head -4 | tr '\n' ' ')"; }
    [ $((ts + tw)) -gt "$maxsync" ] && maxsync=$((ts + tw))
    # The box is back when its agent has left FAULT (it tracks the proxy,
    # which says "syncing" until it has the peer's tables; polled every
    # track_proxy_interval, 1 s): only then can it take over again.
    tb=$(wait_until 5 _not_fault "$master") || t_diag "round $round: lb$master's agent still $(vrrp_state "$master" web)"
    [ "$tb" -gt "$maxback" ] && maxback=$tb
    if [ "$preempt" = true ] && [ "$master" = A ]; then
        # lbA returned with preempt: it takes the VIP back
        wait_until 5 has_vip A "$VIP" >/dev/null; wait_until 3 lacks_vip B "$VIP" >/dev/null
        [ "$(vip_holders "$VIP")" = A ] || {
            bad_backup=$((bad_backup + 1)); t_diag "round $round: VIP on '$(vip_holders "$VIP")' after lbA returned with preempt"; }
        r=$(pcl check "$VIP" 80 --map "$ALL" --max-time 60)
        [ "$(j "$r" .match)" = "$(j "$r" .n)" ] || {
            bad_serve=$((bad_serve + 1)); mism=$((mism + $(j "$r" .mismatch))); errs=$((errs + $(j "$r" .errors)))
            t_diag "round $round: through lbA after its return and resync: $(j "$r" .match)/$(j "$r" .n) match"; }
    else
        [ "$(vip_holders "$VIP")" = "$surv" ] || {
            bad_backup=$((bad_backup + 1)); t_diag "round $round: VIP on '$(vip_holders "$VIP")' after lb$master returned"; }
        master=$surv
    fi
    done_rounds=$round
done
t_diag "$done_rounds rounds, $(jq length "$ALL") sticky clients at the end; takeover ms:$takes"
t_diag "longest takeover $maxtake ms; longest revive -> synced+resynced $maxsync ms, then -> agent out of FAULT $maxback ms more"
t_is "$done_rounds" "$ROUNDS" "$ROUNDS failovers done (rounds 1-$((PREEMPT_FROM - 1)) alternate between the boxes, then lbA with preempt)"
t_is "$bad_takeover" 0 "every time, the survivor took the VIP within 5 s"
t_le "$maxtake" 1500 "longest takeover (kill -> VIP on the survivor)"
t_is "$mism/$errs" "0/0" "no sticky client reached another server or failed, over all rounds (mismatches/errors)"
t_is "$bad_serve" 0 "every round the survivor served every client made so far"
t_is "$bad_resync" 0 "every revived box reconnected and got the whole table back"
t_is "$bad_backup" 0 "a revived box without preempt stays BACKUP; lbA with preempt takes the VIP back"
read -r ovmax ovtotal ovn ovev <<<"$(vipmon_overlap "$VIP")"
t_diag "VIP on both live boxes: longest $ovmax ms, $ovn time(s), $ovtotal ms in all ($ovev address events of the VIP seen)"
t_ge "${ovev:-0}" "$ROUNDS" "the address watch saw the VIP come and go (so the overlap is measured)"
t_le "$ovmax" 300 "never two masters for longer than ~one advert interval (bound 300 ms)"
r=$(pcl check "$VIP" 80 --map "$ALL" --max-time 60)
t_is "$(j "$r" .match)/$(j "$r" .n)" "$(j "$r" .n)/$(j "$r" .n)" "at the end every client still reaches its server" "$r"
t_diag "runtime $(( ($(now_ms) - t0) / 1000 )) s"
pair_done
