// Which cgroup v2 controllers a container's resources need, and the check that the host
// offers them where the container's cgroup goes. On a pure v2 host a resource whose
// controller is missing (not in the parent's cgroup.controllers) would otherwise fail late
// with "no such file" or, under systemd, be accepted and do nothing.
#pragma once

#include <string>
#include <vector>

#include "caprun/cgroup_kernel.hpp"
#include "caprun/spec.hpp"

namespace caprun {

struct ControllerNeed {
    std::string controller;  // "memory"
    std::string what;        // "linux.resources.memory.limit"
};

// Pure: the v2 controllers `r` needs, in spec order (devices need none: eBPF).
std::vector<ControllerNeed> requiredV2Controllers(const Resources& r);

// Pure: throws Error naming the first needed controller missing from `available` (the
// words of a cgroup.controllers file, read from `source`).
void checkV2Controllers(const Resources& r, const std::vector<std::string>& available,
                        const std::string& source);

// The cgroup.controllers file of `dir` or of its nearest existing ancestor (a directory the
// container's cgroup will be created below), and its words.
struct AvailableControllers {
    std::string file;
    std::vector<std::string> controllers;
};
AvailableControllers availableControllers(const std::string& dir);
AvailableControllers availableControllers(const std::string& dir, CgroupKernel& kernel);

}  // namespace caprun
