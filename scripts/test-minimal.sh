#!/usr/bin/env bash
# Builds caprun without any optional dependency — every feature option of meson_options.txt
# disabled (the eBPF tracer, the systemd cgroup driver, CRIU checkpoint) — as on a machine without
# libbpf/clang/bpftool, libsystemd or libprotobuf-c, in a copy of the tracked files under a temp dir. The build must have no warnings, its unit tests must pass,
# and what is missing must say so: `caprun features`, `trace --help`, `run --help`, `trace ID`
# (non-zero, with the static fallback) and, as root, `run --trace-eperm` (the container runs,
# the report says the tracer is not built). Exit status 0 when all of that holds.
#
#   scripts/test-minimal.sh                  build and test in a temp dir, removed after
#   scripts/test-minimal.sh --build-only DIR build in DIR (scripts/test.sh builds while the
#   scripts/test-minimal.sh --test-only DIR  integration suites run, then tests)
set -euo pipefail
cd "$(dirname "$0")/.."
extra_name=minimal
source scripts/extra-build-args.bash "$@"

fail() {
    echo "minimal: $*" >&2
    exit 1
}

if [ "$phase" != test ]; then
    mkdir -p "$work"
    git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work"
    cd "$work"
    # Every feature option, so that a new optional dependency is disabled here too.
    mapfile -t features < <(sed -n "s/^option('\([a-z_-]*\)', *type *: *'feature'.*/\1/p" meson_options.txt)
    for f in trace systemd criu; do
        printf '%s\n' "${features[@]}" | grep -qx "$f" || fail "meson_options.txt has no feature option $f"
    done
    args=()
    for f in "${features[@]}"; do args+=("-D$f=disabled"); done
    echo "meson setup ${args[*]}"
    # The project's default build type (release, -Os) less every optional feature.
    meson setup build "${args[@]}" >meson-setup.log 2>&1 ||
        { tail -30 meson-setup.log; fail "meson setup failed"; }
    ninja -C build >ninja.log 2>&1 || { tail -40 ninja.log; fail "the build failed"; }
    if grep -q "warning:" ninja.log; then
        grep -B2 -A4 "warning:" ninja.log | head -40 >&2
        fail "the build has warnings"
    fi
fi
[ "$phase" = build ] && exit 0
cd "$work"
caprun=$work/build/src/cli/caprun
if ldd "$caprun" | grep -E "libbpf|libsystemd|libprotobuf-c"; then
    fail "caprun links the optional libraries above"
fi
./build/tests/unit-tests --no-colors=true | tail -n 3

# features: the tracer is reported missing with the reason, systemd as off. (AppArmor and
# SELinux need no library: features reports them as the host runs them.)
features_json=$("$caprun" features)
jq -e '.annotations["run.caprun.trace-eperm"] | startswith("missing: this caprun was built without eBPF tracing")' \
    <<<"$features_json" >/dev/null || fail "features does not report the tracer missing: $features_json"
jq -e '.linux.cgroup.systemd == false' \
    <<<"$features_json" >/dev/null || fail "features reports systemd on: $features_json"

# --version's feature line shows what is left out, and features reports the same line.
version_features=$("$caprun" --version | tail -1)
[ "$version_features" = "-SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP -BPF -CRIU" ] ||
    fail "--version's features are not those of a build without systemd and the tracer: $version_features"
jq -e --arg line "$version_features" '.annotations["run.caprun.build-features"] == $line' \
    <<<"$features_json" >/dev/null || fail "features' run.caprun.build-features is not --version's: $features_json"
# checkpoint/restore without CRIU's RPC: features and checkpoint --help say so, and the
# command fails saying what is missing.
jq -e '.annotations["run.caprun.checkpoint"] | startswith("missing: this caprun was built without CRIU support")' \
    <<<"$features_json" >/dev/null || fail "features does not report checkpoint missing: $features_json"
help=$("$caprun" checkpoint --help)
grep -q "MISSING: this caprun was built without CRIU support" <<<"$help" ||
    fail "checkpoint --help does not say checkpoint is missing: $help"
set +e
out=$("$caprun" --root "$work/state" checkpoint some-id 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] && grep -q "checkpoint: this caprun was built without CRIU support" <<<"$out" ||
    fail "checkpoint without CRIU support did not fail saying so ($rc): $out"

help=$("$caprun" trace --help)
grep -q "eBPF tracer: MISSING — this caprun was built without eBPF tracing" <<<"$help" ||
    fail "trace --help does not say the tracer is missing: $help"
help=$("$caprun" run --help)
grep -q -- "--trace-eperm: eBPF tracer: MISSING" <<<"$help" ||
    fail "run --help does not say the tracer is missing: $help"

# trace of a container that does not exist: the missing tracer is said first, exit 1.
root=$work/state
set +e
out=$("$caprun" --root "$root" trace no-such-container 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "trace exited 0 without a tracer: $out"
grep -q "trace: this caprun was built without eBPF tracing" <<<"$out" ||
    fail "trace does not say the tracer is missing: $out"

# record refuses before anything exists: no container state, no output directory.
help=$("$caprun" record --help)
grep -q "eBPF recorder: MISSING — this caprun was built without eBPF tracing" <<<"$help" ||
    fail "record --help does not say the recorder is missing: $help"
set +e
out=$("$caprun" --root "$root" record --bundle "$work" --output "$work/recorded" some-id 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "record exited 0 without a tracer: $out"
grep -q "record: cannot record here: this caprun was built without eBPF tracing" <<<"$out" ||
    fail "record does not say the tracer is missing: $out"
[ ! -e "$work/recorded" ] && [ ! -e "$root/some-id" ] || fail "record left something behind"

echo "ok - --version (-SYSTEMD -BPF), features, trace --help, run --help, trace and record say the tracer is not built"

# With a real container (root, busybox): trace ID falls back to the plan, run --trace-eperm
# runs the container and says why there is no report.
if [ "$(id -u)" -ne 0 ] || [ ! -x /bin/busybox ]; then
    echo "minimal: not root or no busybox: the container checks are not run"
    exit 0
fi
bundle=$work/bundle
CAPRUN_PROBE=$work/build/integration/probe/caprun-probe "$work/scripts/make-rootfs.sh" "$bundle/rootfs" >/dev/null
"$caprun" spec --bundle "$bundle"
jq '.process.terminal = false | .process.args = ["/bin/sleep", "1000"]' "$bundle/config.json" >"$bundle/c.json"
mv "$bundle/c.json" "$bundle/config.json"
id=minimal-$$
cleanup() {
    "$caprun" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    "$caprun" --root "$root" delete --force "$id-run" >/dev/null 2>&1 || true
    rm -rf "$bundle" "$root"
    if $own_work; then rm -rf "$work"; fi
}
trap cleanup EXIT
"$caprun" --root "$root" run -d --bundle "$bundle" --seccomp-profile default "$id" </dev/null >/dev/null 2>&1
set +e
out=$("$caprun" --root "$root" trace "$id" 2>&1)
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "trace ID exited $rc, not 1: $out"
grep -q "trace: this caprun was built without eBPF tracing" <<<"$out" || fail "trace ID: $out"
grep -q "falling back to the static explanation" <<<"$out" || fail "trace ID has no fallback: $out"
grep -q "get_mempolicy: fails with EPERM" <<<"$out" || fail "trace ID's fallback lacks get_mempolicy: $out"
[ "$(grep -c "built without eBPF tracing" <<<"$out")" -eq 1 ] || fail "trace ID says it twice: $out"
"$caprun" --root "$root" delete --force "$id"

jq '.process.args = ["/bin/true"]' "$bundle/config.json" >"$bundle/c.json"
mv "$bundle/c.json" "$bundle/config.json"
set +e
out=$("$caprun" --root "$root" run --trace-eperm --bundle "$bundle" "$id-run" 2>&1 </dev/null)
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "run --trace-eperm exited $rc: $out"
grep -q "trace: this caprun was built without eBPF tracing" <<<"$out" || fail "run --trace-eperm: $out"
grep -q "falling back to the static explanation" <<<"$out" || fail "run --trace-eperm: $out"
echo "ok - without the tracer, trace ID falls back (exit 1) and run --trace-eperm says why"
