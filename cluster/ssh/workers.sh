#!/usr/bin/env bash
# Start or stop circuitsweep workers on the hosts of a host file, over SSH.
#
#   cluster/ssh/workers.sh start HOSTFILE tcp://COORDINATOR:PORT [worker options…]
#   cluster/ssh/workers.sh stop  HOSTFILE        # SIGTERM: finish or release, then exit
#   cluster/ssh/workers.sh status HOSTFILE
#
# HOSTFILE: one host per line, optionally followed by the number of workers to start there
# (default 1); '#' starts a comment. Example:
#   gpu-node-1 2
#   user@10.0.0.7
# Environment: CIRCUITSWEEP (binary path on the hosts, default: circuitsweep on PATH),
# SSH_OPTS (extra ssh options), RUN_DIR (remote folder for logs and pid files,
# default: ~/.circuitsweep). Workers survive the SSH session (setsid + nohup). Each is
# stopped by its own pid, never by name.
set -euo pipefail

cmd=${1:-}; hostfile=${2:-}
[[ -n "$cmd" && -f "$hostfile" ]] || { sed -n '2,16p' "$0"; exit 2; }
shift 2
bin=${CIRCUITSWEEP:-circuitsweep}
run_dir=${RUN_DIR:-'~/.circuitsweep'}
read -r -a ssh_opts <<< "${SSH_OPTS:-} -o BatchMode=yes -o ConnectTimeout=10"

hosts() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$hostfile"; }

case "$cmd" in
start)
  endpoint=${1:?coordinator endpoint, e.g. tcp://10.0.0.1:5555}; shift
  extra=$(printf ' %q' "$@")
  while read -r host count _; do
    count=${count:-1}
    for ((i = 0; i < count; i++)); do
      # shellcheck disable=SC2029  # expanded locally on purpose
      ssh "${ssh_opts[@]}" -n "$host" "mkdir -p $run_dir && cd $run_dir && \
        setsid nohup $bin worker --connect $(printf %q "$endpoint")$extra > worker-\$\$-$i.log 2>&1 < /dev/null & \
        echo \$! >> $run_dir/workers.pids; echo started \$!" | sed "s/^/$host: /" &
    done
  done < <(hosts)
  wait
  ;;
stop)
  while read -r host _; do
    ssh "${ssh_opts[@]}" -n "$host" "f=$run_dir/workers.pids; [ -f \$f ] || exit 0; \
      for p in \$(cat \$f); do kill -TERM \$p 2>/dev/null && echo stopping \$p; done; rm -f \$f" | sed "s/^/$host: /" &
  done < <(hosts)
  wait
  ;;
status)
  while read -r host _; do
    ssh "${ssh_opts[@]}" -n "$host" "f=$run_dir/workers.pids; [ -f \$f ] || { echo none; exit 0; }; \
      for p in \$(cat \$f); do if kill -0 \$p 2>/dev/null; then echo running \$p; else echo gone \$p; fi; done" | sed "s/^/$host: /" &
  done < <(hosts)
  wait
  ;;
*) sed -n '2,16p' "$0"; exit 2 ;;
esac
