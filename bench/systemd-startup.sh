#!/usr/bin/env bash
# Start-up cost of the systemd cgroup driver: `run` of /bin/true (runc's default spec,
# busybox rootfs, as bench/startup.sh) with the cgroupfs manager and with --systemd-cgroup,
# caprun and runc side by side, inside a real systemd (the nspawn systemd host of
# integration/systemd_host.bash, pure cgroup v2), from a transient service of that systemd
# as a caller would run them. Prints medians; asserts nothing. Root, after scripts/setup.sh.
#
#   RUNS=40 bench/systemd-startup.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/integration/lib.bash"
source "$here/integration/systemd_host.bash"
runs="${RUNS:-40}"
for tool in hyperfine jq runc systemd-nspawn; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (./scripts/setup.sh installs it)" >&2; exit 1; }
done
[ -x "$CAPRUN" ] || { echo "bench: caprun is not built at $CAPRUN" >&2; exit 1; }

work=$(mktemp -d /tmp/caprun-sdbench.XXXXXX)
# The helpers are written for bats (no errexit): the teardown runs without it.
# A failure before the teardown is the exit status, not the teardown's.
trap 'rc=$?; set +e; systemd_host_teardown "/bench\$|(caprun|runc)-bench" || rc=${rc/#0/1}; rm -rf "$work"; exit $rc' EXIT
CAPRUN="$CAPRUN" "$here/scripts/make-bundle.sh" "$work/bundle" >/dev/null
jq '.process.terminal = false | .process.args = ["/bin/true"]' "$work/bundle/config.json" \
    >"$work/config.json" && mv "$work/config.json" "$work/bundle/config.json"
systemd_host_boot "$work"

# An empty cgroupsPath: cgroupfs makes /sys/fs/cgroup/bench, the systemd driver
# system.slice/<runtime>-bench.scope.
b="$work/bundle"
inside hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/run.json" \
    -n caprun-cgroupfs "$CAPRUN --root $work/s1 run --bundle $b bench" \
    -n caprun-systemd "$CAPRUN --systemd-cgroup --root $work/s2 run --bundle $b bench" \
    -n runc-cgroupfs "runc --root $work/s3 run --bundle $b bench" \
    -n runc-systemd "runc --systemd-cgroup --root $work/s4 run --bundle $b bench" \
    >"$work/hyperfine.log" || { cat "$work/hyperfine.log" >&2; exit 1; }

m() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$work/run.json"; }
echo "== run of /bin/true in the systemd host, median of $runs (ms)"
for n in caprun-cgroupfs caprun-systemd runc-cgroupfs runc-systemd; do
    printf '  %-16s %8.2f\n' "$n" "$(m "$n")"
done
printf '%-44s %8.2f ms\n' "cost of the systemd driver (caprun)" "$(awk -v a="$(m caprun-systemd)" -v b="$(m caprun-cgroupfs)" 'BEGIN { print a - b }')"
printf '%-44s %8.2f ms\n' "cost of the systemd driver (runc)" "$(awk -v a="$(m runc-systemd)" -v b="$(m runc-cgroupfs)" 'BEGIN { print a - b }')"
