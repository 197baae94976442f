#!/usr/bin/env bash
# Start or stop circuitsweep workers on the hosts of a host file, over SSH.
#
#   cluster/ssh/workers.sh start HOSTFILE tcp://COORDINATOR:PORT [worker options…]
#   cluster/ssh/workers.sh stop  HOSTFILE        # SIGTERM: finish or release, then exit
#   cluster/ssh/workers.sh status HOSTFILE
#
# HOSTFILE: one host per line, optionally followed by the number of workers to start there
# (default 1) and options for that host's workers only (split at spaces, no quoting), e.g.
# its own CURVE key; '#' starts a comment. Example:
#   gpu-node-1 2 --curve-name worker-001 --threads 8
#   user@10.0.0.7 1 --curve-name worker-002
# Environment: CIRCUITSWEEP (binary path on the hosts, default: circuitsweep on PATH),
# SSH_OPTS (extra ssh options, e.g. "-p 2222 -i KEY"), RUN_DIR (remote folder for logs and
# pid files, default: ~/.circuitsweep; may be shared between hosts, files are per host name).
# Workers survive the SSH session (setsid + nohup). Each is stopped by its own pid, on the
# host that started it, never by name. Exits non-zero if any host failed.
set -euo pipefail

cmd=${1:-}; hostfile=${2:-}
[[ -n "$cmd" && -f "$hostfile" ]] || { sed -n '2,19p' "$0"; exit 2; }
shift 2
bin=${CIRCUITSWEEP:-circuitsweep}
run_dir=${RUN_DIR:-'~/.circuitsweep'}
read -r -a ssh_opts <<< "${SSH_OPTS:-} -o BatchMode=yes -o ConnectTimeout=10"
# Evaluated on the remote host: its own pid file, so a shared RUN_DIR never mixes hosts' pids.
pids="$run_dir/workers.\$(hostname).pids"

# The host lines without comments and blank lines (and with a last line that lacks its newline).
hosts() { { cat "$hostfile"; echo; } | sed -e 's/#.*//' -e '/^[[:space:]]*$/d'; }

# Runs `ssh HOST COMMAND` in the background, prefixing its output with the host.
sessions=()
remote() {
  local host=$1; shift
  # shellcheck disable=SC2029  # expanded locally on purpose
  ssh "${ssh_opts[@]}" -n "$host" "$@" 2>&1 | sed "s/^/$host: /" &
  sessions+=($!)
}

case "$cmd" in
start)
  endpoint=${1:?coordinator endpoint, e.g. tcp://10.0.0.1:5555}; shift
  extra=$(printf ' %q' "$@")
  while read -r host count host_options; do
    count=${count:-1}
    read -r -a host_args <<< "${host_options:-}"
    host_extra=$([[ ${#host_args[@]} -eq 0 ]] || printf ' %q' "${host_args[@]}")
    for ((i = 0; i < count; i++)); do
      # Only the worker goes to the background (so \$! is its pid: setsid and nohup exec), with
      # every descriptor redirected, so the SSH session ends at once.
      remote "$host" "mkdir -p $run_dir && cd $run_dir && { \
        setsid nohup $bin worker --connect $(printf %q "$endpoint")$extra$host_extra \
          > worker-\$(hostname)-\$\$-$i.log 2>&1 < /dev/null & \
        echo \$! >> $pids; echo started \$!; }"
    done
  done < <(hosts)
  ;;
stop)
  while read -r host _; do
    remote "$host" "f=$pids; [ -f \$f ] || exit 0; \
      for p in \$(cat \$f); do kill -TERM \$p 2>/dev/null && echo stopping \$p; done; rm -f \$f"
  done < <(hosts)
  ;;
status)
  while read -r host _; do
    remote "$host" "f=$pids; [ -f \$f ] || { echo none; exit 0; }; \
      for p in \$(cat \$f); do if kill -0 \$p 2>/dev/null; then echo running \$p; else echo gone \$p; fi; done"
  done < <(hosts)
  ;;
*) sed -n '2,19p' "$0"; exit 2 ;;
esac
failed=0
for session in "${sessions[@]}"; do wait "$session" || failed=1; done
exit $failed
