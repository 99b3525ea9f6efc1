#!/usr/bin/env bats
# docs/callers.md's snippets without a daemon: every one is used by a test, containerd reads
# the CRI runtime handler as a runc v2 handler running caprun, and the Kubernetes objects
# name each other (the pod the RuntimeClass, the RuntimeClass the handler, the pod's
# annotation one the handler lets through). containerd.bats, docker.bats, podman.bats and
# kubernetes.bats run the callers with them.

load common

bats_require_minimum_version 1.5.0

DOC="$BATS_TEST_DIRNAME/../../docs/callers.md"

setup() { TMP="$(mktemp -d /tmp/caprun-callers-doc.XXXXXX)"; }
teardown() { rm -rf "$TMP"; }

# A YAML snippet's field, by a Python expression on the parsed document `d`.
yaml_field() {
    doc_snippet "$1" | python3 -c 'import sys, yaml; d = yaml.safe_load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}

@test "callers.md: every snippet is read by a test" {
    run -0 grep -oE '^<!-- snippet: [^ ]+ -->$' "$DOC"
    [ "${#lines[@]}" -ge 5 ]
    local name
    for name in $(sed -nE 's/^<!-- snippet: ([^ ]+) -->$/\1/p' "$DOC"); do
        run -0 doc_snippet "$name"
        grep -rqF --include="*.bats" --include="*.bash" -- " $name" "$BATS_TEST_DIRNAME/.." ||
            { echo "no test reads snippet $name" >&2; false; }
    done
}

@test "callers.md: containerd reads the CRI handler as runc v2 running caprun, passing run.caprun.* annotations" {
    command -v containerd >/dev/null || skip "containerd not installed (apt install containerd)"
    doc_snippet containerd/config.toml >"$TMP/config.toml"
    run -0 containerd --config "$TMP/config.toml" config dump
    local table
    table="$(awk '/containerd.runtimes.caprun\]/ { on = 1 } on && /^ *$/ { n++ } on && n < 3 { print }' <<<"$output")"
    grep -qx ' *runtime_type = "io.containerd.runc.v2"' <<<"$table"
    grep -qx ' *BinaryName = "/usr/bin/caprun"' <<<"$table"
    grep -qx ' *pod_annotations = \["run.caprun.\*"\]' <<<"$table"
    grep -qx ' *container_annotations = \["run.caprun.\*"\]' <<<"$table"
}

@test "callers.md: the pod names the RuntimeClass, the RuntimeClass the handler, and its annotation is caprun's" {
    local handler class
    handler="$(doc_snippet containerd/config.toml | sed -nE 's/^\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.([a-z-]+)\]$/\1/p')"
    [ "$handler" = caprun ]
    run -0 yaml_field kubernetes/runtimeclass.yaml 'd["handler"]'
    [ "$output" = "$handler" ]
    run -0 yaml_field kubernetes/runtimeclass.yaml 'd["apiVersion"] + " " + d["kind"]'
    [ "$output" = "node.k8s.io/v1 RuntimeClass" ]
    class="$(yaml_field kubernetes/runtimeclass.yaml 'd["metadata"]["name"]')"
    run -0 yaml_field kubernetes/pod.yaml 'd["spec"]["runtimeClassName"]'
    [ "$output" = "$class" ]
    # The policy annotation: one caprun reads, with a value it accepts.
    run -0 yaml_field kubernetes/pod.yaml '" ".join(k + "=" + v for k, v in d["metadata"]["annotations"].items())'
    [ "$output" = "run.caprun.cap-policy=strict" ]
    run -0 "$CAPRUN" features
    [ "$(jq -r '.annotations["run.caprun.cap-policy.values"]' <<<"$output")" = "strict,lenient" ]
}
