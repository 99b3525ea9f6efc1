#include "caprun/build_features.hpp"

#include "caprun/checkpoint.hpp"
#include "caprun/systemd_bus.hpp"
#include "caprun/trace.hpp"

namespace caprun {

std::vector<BuildFeature> buildFeatures() {
    return {
        {"SYSTEMD", systemdDriverBuilt()},
        // lsm.cpp writes the attr files itself: no library to leave out.
        {"SELINUX", true},
        {"APPARMOR", true},
        // libcap and libseccomp are required dependencies.
        {"CAP", true},
        {"SECCOMP", true},
        {"BPF", traceBuilt()},
        {"CRIU", checkpointMissingReason().empty()},
    };
}

std::string buildFeaturesLine() {
    std::string line;
    for (const auto& f : buildFeatures()) {
        if (!line.empty()) line += ' ';
        line += (f.built ? '+' : '-') + f.name;
    }
    return line;
}

}  // namespace caprun
