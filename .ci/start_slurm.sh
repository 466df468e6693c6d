#!/usr/bin/env bash
# Start a single-node SLURM cluster on localhost for tests/test_slurm.py (Debian, as root).
#
# Installs slurm-wlm and munge with apt if they are missing, writes /etc/slurm/slurm.conf for
# one node "localhost" (127.0.0.1) with this machine's CPUs and memory, and starts munged,
# slurmctld and slurmd directly (there is no systemd in CI).  Idempotent: daemons already up
# are left running.  Exits non-zero, with the reason, if the cluster could not be started;
# .ci/run then goes on and the SLURM tests skip.
#
# Pitfalls this handles (each one stopped a daemon or left the node down when we tried):
# - no systemd: the daemons are started by hand, in the background;
# - munged needs /run/munge owned by munge, and a key in /etc/munge/munge.key;
# - the hostname is not "localhost": slurmd -N localhost with NodeAddr=127.0.0.1;
# - no cgroups in a container: proctrack/linuxproc, task/none, no cgroup.conf;
# - no mailer: MailProg=/bin/true.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by kubo_sot .ci/start_slurm.sh"
LOG=/var/log/slurm
SPOOL=/var/spool/slurm-kubo-sot

say() { echo "start_slurm: $*"; }
fail() { echo "start_slurm: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (installs packages, starts daemons)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v munged >/dev/null || ! command -v sinfo >/dev/null; then
    command -v apt-get >/dev/null || fail "slurm-wlm/munge missing and no apt-get to install them"
    say "installing slurm-wlm and munge with apt"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq slurm-wlm munge >/tmp/start_slurm_apt.log 2>&1; then
        # a fresh machine has no package lists yet
        apt-get update -qq >>/tmp/start_slurm_apt.log 2>&1 || true
        apt-get install -y -qq slurm-wlm munge >>/tmp/start_slurm_apt.log 2>&1 \
            || fail "apt-get install slurm-wlm munge failed (see /tmp/start_slurm_apt.log)"
    fi
fi

# --- munge ------------------------------------------------------------------------------
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge /etc/munge /var/lib/munge /var/log/munge
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        fi
    fi
    chown munge:munge /run/munge /etc/munge /etc/munge/munge.key /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    chmod 0700 /etc/munge
    chmod 0400 /etc/munge/munge.key
    rm -f /run/munge/munge.socket.2.lock  # from a munged killed without cleaning up
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n | unmunge >/dev/null 2>&1 || fail "munged does not answer (see /var/log/munge)"
    say "munged started"
fi

# --- slurm.conf -------------------------------------------------------------------------
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    fail "$CONF exists and was not written by this script: not touching it"
fi
CPUS=$(nproc)
# a tenth below the total, so that slurmd never finds less memory than configured
MEM=$(free -m | awk '/^Mem:/ {print int($2 * 0.9)}')
mkdir -p /etc/slurm "$LOG" "$SPOOL/ctld" "$SPOOL/d"
NEW=$(mktemp)
cat >"$NEW" <<EOF
$MARK
ClusterName=kubo-sot-ci
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MailProg=/bin/true
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
# cancelled jobs are gone within seconds (the replacement test scancels one)
KillWait=5
MinJobAge=10
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
changed=0
if ! cmp -s "$NEW" "$CONF" 2>/dev/null; then
    mv "$NEW" "$CONF"
    chmod 0644 "$CONF"
    changed=1
else
    rm -f "$NEW"
fi

running() {  # running PIDFILE NAME: the daemon of that pid file is alive
    [ -s "$1" ] && [ "$(cat /proc/"$(cat "$1")"/comm 2>/dev/null)" = "$2" ]
}

if [ "$changed" = 1 ]; then  # a new configuration: restart what runs with the old one
    for d in slurmd slurmctld; do
        if running /run/$d.pid $d; then kill "$(cat /run/$d.pid)"; sleep 1; fi
    done
fi
if ! running /run/slurmctld.pid slurmctld; then
    /usr/sbin/slurmctld -i || fail "slurmctld did not start (see $LOG/slurmctld.log)"
    say "slurmctld started"
fi
if ! running /run/slurmd.pid slurmd; then
    /usr/sbin/slurmd -N localhost || fail "slurmd did not start (see $LOG/slurmd.log)"
    say "slurmd started"
fi

# --- wait for the node ------------------------------------------------------------------
state=""
for _ in $(seq 60); do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
    case "$state" in
        idle*|mixed*|allocated*|completing*) break ;;
        down*|drain*) scontrol update NodeName=localhost State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
done
case "$state" in
    idle*|mixed*|allocated*|completing*)
        say "single-node SLURM up: node localhost, $CPUS CPUs, $MEM MB, state $state" ;;
    *) fail "node localhost is '${state:-not answering}' (see $LOG/slurmctld.log, $LOG/slurmd.log)" ;;
esac
