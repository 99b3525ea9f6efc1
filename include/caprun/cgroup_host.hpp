// The host's cgroup layout (v1, v2 or hybrid): which hierarchies are mounted where, the
// runtime's own cgroup in each, and which cgroup manager drives this invocation.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caprun/runtime_context.hpp"

namespace caprun {

enum class CgroupLayout {
    V1,      // only cgroup v1 hierarchies
    V2,      // only the unified hierarchy
    Hybrid,  // v1 controllers plus a cgroup2 mount (systemd's "hybrid"; these machines)
};
std::string layoutName(CgroupLayout l);

// One mounted cgroup hierarchy, from /proc/self/mountinfo.
struct CgroupMount {
    std::string mountPoint;                // /sys/fs/cgroup/memory
    std::string root;                      // the mount's root inside the hierarchy ("/")
    bool unified = false;                  // cgroup2
    std::vector<std::string> controllers;  // v1: from super options ("cpu","cpuacct",
                                           // "name=systemd"); v2: cgroup.controllers
};

// The host's cgroup facts, gathered once; tests build them from fake files.
struct CgroupHost {
    CgroupLayout layout = CgroupLayout::V2;
    std::vector<CgroupMount> mounts;
    // The runtime's own cgroup per hierarchy, from /proc/self/cgroup: v1 controller name
    // (each of a comma list) -> path; "" -> the v2 path.
    std::map<std::string, std::string> selfPaths;
    // The huge page sizes the kernel offers, spelled as hugetlb's cgroup files and
    // hugepageLimits[].pageSize spell them ("2MB", "1GB"); from /sys/kernel/mm/hugepages.
    std::vector<std::string> hugepageSizes;

    const CgroupMount* v1Mount(const std::string& controller) const;  // nullptr if absent
    const CgroupMount* unifiedMount() const;                          // nullptr if absent
    bool hasV1(const std::string& controller) const { return v1Mount(controller) != nullptr; }
};

// Pure: builds CgroupHost from the text of /proc/self/mountinfo and /proc/self/cgroup;
// `readControllers(mountPoint)` returns the content of <mountPoint>/cgroup.controllers.
// Throws Error when no cgroup hierarchy is mounted at all.
CgroupHost parseCgroupHost(const std::string& mountinfo, const std::string& procSelfCgroup,
                           const std::string& unifiedControllers);

// Pure: the hugetlb name of a huge page size given in kB ("2MB" for 2048, "1GB" for
// 1048576, "64KB" for 64), formatted as the kernel names the hugetlb.<size>.* files.
std::string hugepageSizeName(std::uint64_t kB);

// Pure: the sizes (hugepageSizeName) of the hugepages-<N>kB entries among `entries` (the
// names in /sys/kernel/mm/hugepages), in ascending order; other names are skipped.
std::vector<std::string> hugepageSizesFromEntries(const std::vector<std::string>& entries);

// The sizes in /sys/kernel/mm/hugepages (empty when the kernel has no huge pages).
std::vector<std::string> readHugepageSizes(const std::string& dir = "/sys/kernel/mm/hugepages");

// Reads the real files of this process (mountinfo, cgroup, the huge page sizes).
CgroupHost detectCgroupHost();

// Which manager drives cgroups for this invocation.
enum class CgroupManager { Cgroupfs, Systemd, Disabled };

// From --systemd-cgroup / --cgroup-manager. systemd requires a running systemd
// (`systemdRunDir`, normally /run/systemd/system, exists): without one this throws an
// Error saying so instead of silently using cgroupfs; so is a caprun built without
// libsystemd (systemd_bus.hpp).
CgroupManager selectCgroupManager(const RuntimeContext& g,
                                  const std::string& systemdRunDir = "/run/systemd/system");

}  // namespace caprun
