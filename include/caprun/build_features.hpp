// What this caprun was built with, as crun's `--version` lists it ("+SYSTEMD +SECCOMP ...
// -CRIU"): the optional parts of the build (meson feature options) and the fixed ones, so a
// user or a bug report can tell at a glance which build it is. `caprun features` reports
// the same list (annotation run.caprun.build-features) next to the fields it decides.
#pragma once

#include <string>
#include <vector>

namespace caprun {

struct BuildFeature {
    std::string name;  // "SYSTEMD"
    bool built;
};

// In crun's order: SYSTEMD (the sd-bus cgroup driver), SELINUX and APPARMOR (process labels,
// written by caprun itself), CAP, SECCOMP, BPF (the eBPF tracer of `caprun trace`), CRIU
// (checkpoint/restore: never, caprun has none).
std::vector<BuildFeature> buildFeatures();

// "+SYSTEMD +SELINUX ... -CRIU".
std::string buildFeaturesLine();

}  // namespace caprun
