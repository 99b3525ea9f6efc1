// Cgroups of a rootless container, as runc does rootless: used when the user can write where
// the container's cgroup would go (a delegated cgroup), skipped otherwise. Skipping is fine
// without resource limits; a limit that then cannot be applied is an error under the strict
// capability policy and a warning under lenient, like a capability the host cannot grant.
#pragma once

#include <map>
#include <string>

namespace caprun {

struct RootlessCgroupDecision {
    bool skip = false;
    std::string warning;  // lenient: the limits that are not applied
    std::string error;    // strict: why create stops
};

// Pure. `policy` is the resolved capability policy ("strict" | "lenient").
RootlessCgroupDecision decideRootlessCgroup(bool rootless, bool writable, bool hasLimits,
                                            const std::string& policy);

// Why a rootless container's cgroup gets no device rules, as runc and crun do in a user
// namespace: neither caprun nor a user's systemd can load an eBPF device filter without
// privilege in the initial user namespace, and a rootless container cannot create device
// nodes: it reaches only the host's nodes bound in, under the host's permissions.
std::string rootlessDevicesNote();

// Whether this process may create every directory of `paths` (controller -> directory):
// the nearest existing ancestor of each is writable (access W_OK).
bool cgroupPathsWritable(const std::map<std::string, std::string>& paths);

}  // namespace caprun
