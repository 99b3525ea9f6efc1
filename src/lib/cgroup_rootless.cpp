#include "caprun/cgroup_rootless.hpp"

#include <unistd.h>

namespace caprun {

RootlessCgroupDecision decideRootlessCgroup(bool rootless, bool writable, bool hasLimits,
                                            const std::string& policy) {
    RootlessCgroupDecision d;
    if (!rootless || writable) return d;
    d.skip = true;
    if (!hasLimits) return d;
    const std::string what =
        "rootless: this user has no writable (delegated) cgroup, so linux.resources cannot be "
        "applied";
    if (policy == "strict")
        d.error = what +
                  " (cap policy strict; delegate a cgroup to the user, or use "
                  "--cap-policy lenient to run without the limits)";
    else
        d.warning = what + "; running without them (cap policy lenient)";
    return d;
}

std::string rootlessDevicesNote() {
    return "no device filter rootless (bpf(2) needs privilege in the initial user "
           "namespace); the container cannot create device nodes and reaches only the host's "
           "nodes bound in, under the host's permissions";
}

bool cgroupPathsWritable(const std::map<std::string, std::string>& paths) {
    for (const auto& [controller, dir] : paths) {
        std::string p = dir;
        while (!p.empty() && ::access(p.c_str(), F_OK) != 0) {
            auto slash = p.rfind('/');
            p = slash == std::string::npos || slash == 0 ? "/" : p.substr(0, slash);
            if (p == "/") break;
        }
        if (::access(p.c_str(), W_OK) != 0) return false;
    }
    return true;
}

}  // namespace caprun
