# Shared by bench/startup.sh and bench/throughput.sh: the bundle they measure (runc's default
# spec, busybox rootfs, /bin/true, no terminal), the runtimes side by side, and printing a
# figure with its ratio and the target next to it. Sourced, not run.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caprun="${CAPRUN:-$here/build/src/cli/caprun}"
for tool in hyperfine jq crun runc /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (./scripts/setup.sh installs it)" >&2; exit 1; }
done
[ -x "$caprun" ] || { echo "bench: caprun is not built at $caprun" >&2; exit 1; }

work=$(mktemp -d /tmp/caprun-bench.XXXXXX)
bench_cleanup_hooks=()
bench_cleanup() {
    local h
    for h in "${bench_cleanup_hooks[@]}"; do eval "$h" || true; done
    rm -rf "$work"
}
trap bench_cleanup EXIT

# crun fails on this kernel's hybrid layout while hugetlb is bound to cgroup v2; mount it as
# a v1 hierarchy first (said, not hidden).
if ! grep -q ' /sys/fs/cgroup/hugetlb ' /proc/self/mountinfo && [ -d /sys/fs/cgroup/unified ]; then
    echo "note: mounting the hugetlb controller at /sys/fs/cgroup/hugetlb for crun" >&2
    mkdir -p /sys/fs/cgroup/hugetlb
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi

# make_bench_bundle DIR [JQ-FILTER]: a bundle running /bin/true, the filter applied to its
# config.json.
make_bench_bundle() {
    local dir="$1" filter="${2:-.}"
    CAPRUN="$caprun" "$here/scripts/make-bundle.sh" "$dir" >/dev/null
    jq ".process.terminal = false | .process.args = [\"/bin/true\"] | $filter" \
        "$dir/config.json" >"$dir/config.json.new"
    mv "$dir/config.json.new" "$dir/config.json"
}

# The OCI seccomp section equivalent to caprun's built-in profile for the bundle's bounding
# set on x86_64, for runtimes that take only plain OCI rules: the gates evaluated as dockerd
# does (includes: every cap and the arch; excludes: any cap or the arch drops the rule).
oci_default_seccomp() {
    local bundle="$1"
    jq --slurpfile cfg "$bundle/config.json" '
        ($cfg[0].process.capabilities.bounding // []) as $caps
        | def has_all($l): ($l // []) | all(. as $c | $caps | index($c));
          def has_any($l): ($l // []) | any(. as $c | $caps | index($c));
          def arch_ok($l): ($l == null) or ($l | index("amd64"));
        {defaultAction, defaultErrnoRet,
         architectures: ["SCMP_ARCH_X86_64"],
         syscalls: [.syscalls[]
            | select(has_all(.includes.caps) and arch_ok(.includes.arches))
            | select((has_any(.excludes.caps) or ((.excludes.arches // []) | index("amd64"))) | not)
            | del(.includes, .excludes, .comment)]}' "$here/profiles/default.json"
}

ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# verdict VALUE OP LIMIT: "met" or "NOT met"
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? (v <= l) : (v >= l); print ok ? "met" : "NOT met" }'; }

# figure LABEL VALUE OP TARGET: one line "label  value  (target OP TARGET: met)"
figure() { printf '%-52s %8s   (target %s %s: %s)\n' "$1" "$2" "$3" "$4" "$(verdict "$2" "$3" "$4")"; }

# hyperfine median (seconds) of command NAME in export FILE.
median_of() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median' "$1"; }

# peak_rss N CMD...: median over N runs of the largest resident set of the command's own
# process, as /usr/bin/time -v reports it (KiB).
peak_rss() {
    local n="$1" i out
    shift
    for ((i = 0; i < n; i++)); do
        out=$(/usr/bin/time -v "$@" 2>&1 >/dev/null) || { echo "bench: $* failed: $out" >&2; return 1; }
        sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' <<<"$out"
    done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
