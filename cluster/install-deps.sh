#!/usr/bin/env bash
# Installs the Debian packages circuitsweep builds and tests with. Idempotent: installs only
# what is missing. Needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  pkg-config
  libzmq3-dev        # ZeroMQ (pkg-config libzmq)
  libopenblas-dev    # BLAS (pkg-config openblas)
  libhdf5-dev        # HDF5, serial (pkg-config hdf5)
  libsqlite3-dev     # GRDB's SQLite
  python3-h5py       # independent reader of our HDF5 files in tests
  python3-numpy
  iproute2           # network-namespace tests (ip, ss)
  procps
  util-linux         # unshare, setsid (cluster/ssh)
  slurm-wlm          # Slurm tests: slurmctld, slurmd, sbatch… (22.05, MULTIPLE_SLURMD)
  munge              # Slurm's authentication
  openssh-server     # SSH launcher tests: sshd in network namespaces
  openssh-client
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
