#!/usr/bin/env bash
# Parallel throughput: N containers (default 50) each created, started, waited for and
# deleted, P at a time (default 8), with caprun, crun and runc side by side on the same
# bundle. Prints containers per second and the ratio to crun with the target; asserts
# nothing. Run as root after ./scripts/setup.sh.
#
#   N=50 P=8 ROUNDS=3 bench/throughput.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n="${N:-50}" p="${P:-8}" rounds="${ROUNDS:-3}"

bundle="$work/bundle"
make_bench_bundle "$bundle"

# One container's whole life with runtime $1 and id $2, as a caller drives it.
cat >"$work/one.sh" <<'EOF'
#!/usr/bin/env bash
set -e
rt="$1" root="$2" bundle="$3" id="$4"
"$rt" --root "$root" create --bundle "$bundle" "$id" </dev/null >/dev/null
pid=$("$rt" --root "$root" state "$id" | jq -r .pid)
"$rt" --root "$root" start "$id"
# Waited for as a caller would without being its parent: until it is gone or a zombie.
while st=$(cat "/proc/$pid/stat" 2>/dev/null) && [ "$(cut -d' ' -f1 <<<"${st##*) }")" != Z ]; do
    sleep 0.001
done
"$rt" --root "$root" delete "$id"
EOF
chmod +x "$work/one.sh"

# rate RUNTIME: containers per second over one round of n containers, p in parallel.
rate() {
    local rt="$1" root="$work/state-$(basename "$1")-$RANDOM" start end
    start=$(date +%s%N)
    seq 1 "$n" | xargs -P "$p" -I{} "$work/one.sh" "$rt" "$root" "$bundle" "tp{}"
    end=$(date +%s%N)
    [ -z "$(ls -A "$root" 2>/dev/null | grep -v seccomp-cache)" ] ||
        { echo "bench: $rt left containers in $root" >&2; return 1; }
    awk -v n="$n" -v ns="$((end - start))" 'BEGIN { printf "%.1f", n / (ns / 1e9) }'
}

declare -A best
for rt in "$caprun" crun runc; do best[$(basename "$rt")]=0; done
# Rounds interleave the runtimes so slow drift of the machine hits each alike; the best
# round of each is compared.
for ((r = 1; r <= rounds; r++)); do
    for rt in "$caprun" crun runc; do
        name=$(basename "$rt")
        v=$(rate "$rt")
        echo "round $r: $name $v containers/s"
        best[$name]=$(awk -v a="${best[$name]}" -v b="$v" 'BEGIN { print (b > a) ? b : a }')
    done
done
echo
echo "== $n containers, create+start+wait+delete, $p in parallel (best of $rounds rounds)"
printf '  caprun %s/s  crun %s/s  runc %s/s\n' "${best[caprun]}" "${best[crun]}" "${best[runc]}"
figure "caprun/crun containers per second" "$(ratio "${best[caprun]}" "${best[crun]}")" ">=" 1.0
