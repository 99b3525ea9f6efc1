#!/usr/bin/env bash
# make-image-archive.sh NAME:TAG ROOTFS OUT.tar [ENTRYPOINT...]: a one-layer image of the
# directory ROOTFS as a docker-archive tarball (`docker save`'s layout), for
# `ctr images import` on a machine that pulls nothing. The layer keeps xattrs, so a file
# capability (security.capability) set in ROOTFS reaches the container. Used by the
# Kubernetes tests (integration/callers/kubernetes.bats) and bench/pod-startup.sh.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 NAME:TAG ROOTFS OUT.tar [ENTRYPOINT...]" >&2; exit 2; }
name="$1" rootfs="$2" out="$3"
shift 3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Owners numeric and the mtime fixed, so the same tree gives the same layer digest.
tar --create --file "$work/layer.tar" --directory "$rootfs" --numeric-owner \
    --xattrs --xattrs-include='security.capability' --mtime='2026-01-01 00:00:00' --sort=name .
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
entry="$(jq -cn '$ARGS.positional' --args -- "$@")"
jq -cn --arg diff "$diff_id" --argjson entry "$entry" '{
    architecture: "amd64", os: "linux", created: "2026-01-01T00:00:00Z",
    config: {Entrypoint: $entry, Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], WorkingDir: "/"},
    rootfs: {type: "layers", diff_ids: [$diff]}
}' >"$work/config.json"
config_sha="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
mkdir "$work/out"
mv "$work/config.json" "$work/out/$config_sha.json"
mkdir "$work/out/layer"
mv "$work/layer.tar" "$work/out/layer/layer.tar"
jq -cn --arg cfg "$config_sha.json" --arg name "$name" \
    '[{Config: $cfg, RepoTags: [$name], Layers: ["layer/layer.tar"]}]' >"$work/out/manifest.json"
tar --create --file "$out" --directory "$work/out" .
