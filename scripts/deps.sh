#!/usr/bin/env bash
# Install the Debian bookworm packages bootsign needs, only when some are missing.
# Usage: scripts/deps.sh [build|test]   (test adds the oracles and tools the suite uses)
set -euo pipefail
mode=${1:-build}
pkgs=(build-essential cmake pkg-config libssl-dev libmicrohttpd-dev libarchive-dev
      libp11-dev libp11-kit-dev p11-kit libfdt-dev openssl ca-certificates libgnutls28-dev
      libcurl4-openssl-dev libsystemd-dev  # bootsign client (libcurl); sd_notify
      libseccomp-dev)  # the key process's seccomp filter
if [ "$mode" = test ]; then
  pkgs+=(libcmocka-dev clang libclang-rt-14-dev curl softhsm2 opensc imx-code-signing-tool
         procps util-linux python3 time xxd linux-kbuild-6.1
         sbsigntool osslsigncode systemd-boot-efi u-boot-tools device-tree-compiler)
  pkgs+=(swupdate cpio)  # SWUpdate e2e oracle (swupdate -c on a .swu)
  pkgs+=(mender-artifact)  # Mender e2e oracle (mender-artifact write/validate)
  # the Debian package (tests/pkg/test_deb.sh): build, lint, unit checks
  pkgs+=(debhelper dpkg-dev fakeroot help2man lintian systemd)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
