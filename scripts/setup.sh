#!/usr/bin/env bash
# Installs what caprun needs to build and test (Debian 12, as root) and builds it in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build dependencies, then what the tests drive: peers to compare with and callers.
build_pkgs=(g++ clang-format meson ninja-build pkg-config cmake git libseccomp-dev gperf libcap-dev rapidjson-dev
            libspdlog-dev libboost-program-options-dev doctest-dev python3
            libsystemd-dev
            # gperf: the libseccomp wrap generates its syscall table (scripts/test-fallback.sh)
            # caprun trace (eBPF, optional); clang with libFuzzer's runtime for scripts/fuzz.sh
            libbpf-dev bpftool clang llvm libclang-rt-14-dev
            # lld 16 links caprun with its start-up functions together (src/cli/meson.build)
            lld-16
            # caprun checkpoint/restore (optional): CRIU's RPC compiled by protoc-c
            libprotobuf-c-dev protobuf-c-compiler)
test_pkgs=(busybox-static bats libcap2-bin jq strace runc crun hyperfine iproute2 uidmap
           containerd docker.io podman systemd-container
           # the Debian package (scripts/test-package.sh): its build, lintian, and
           # bash-completion's .pc file for where the bash completion goes
           debhelper lintian bash-completion
           # the completion and man page tests (integration/install.bats), callers_doc.bats
           zsh fish man-db python3-yaml
           # the bridge + host-local CNI plugins of a pod's network (callers/kubernetes.bats)
           containernetworking-plugins
           # ../shared/bin/criu's run-time libraries, and iptables for its network lock
           libbsd0 libbpf1 libgnutls30 libnftables1 libprotobuf-c1 libnl-3-200 libnet1 libuuid1 iptables)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f build/build.ninja ]; then
    meson setup --reconfigure build >/dev/null
else
    meson setup build >/dev/null
fi
ninja -C build >/dev/null
echo "built: $(./build/src/cli/caprun --version | head -1)"
