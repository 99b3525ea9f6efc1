# Sourced by test-fallback.sh and test-minimal.sh with their arguments: sets phase (all,
# build or test) and work, the build's directory: the one --build-only/--test-only names,
# or a temp dir removed at exit (own_work=true). $extra_name names the temp dir.
phase=all work="" own_work=false
case "${1:-}" in
    --build-only) phase=build work="${2:?--build-only needs a directory}" ;;
    --test-only) phase=test work="${2:?--test-only needs a directory}" ;;
    "") ;;
    *) echo "$(basename "$0"): unknown argument $1" >&2; exit 2 ;;
esac
if [ -z "$work" ]; then
    work=$(mktemp -d "/tmp/caprun-$extra_name.XXXXXX")
    own_work=true
    trap 'rm -rf "$work"' EXIT
fi
