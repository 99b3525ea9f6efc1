// What the host really offers the runtime, read once: the runtime's own capability sets,
// the kernel's highest capability, securebits, kernel release, and the limits that only
// CAP_SYS_RESOURCE can raise. Every decision is a pure function of this value and the spec,
// so tests (and `caprun check --host-status`) can plan for any host.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caprun/capabilities.hpp"
#include "caprun/spec.hpp"

namespace caprun {

struct RlimitValue {
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
};

struct HostFacts {
    CapSets caps;         // the runtime's own five sets
    int capLastCap = 40;  // /proc/sys/kernel/cap_last_cap
    unsigned securebits = 0;
    std::string kernelRelease;                   // uname -r
    std::map<std::string, RlimitValue> rlimits;  // "RLIMIT_NOFILE" -> the runtime's own
    int oomScoreAdj = 0;                         // the runtime's own
    std::uint32_t euid = 0, egid = 0;            // the runtime's own (id maps it may write)
    bool initialUserNamespace = true;            // /proc/self/uid_map (rootless.hpp)
    std::string source = "this host";            // or "host status file <path>"
    // Whether the user namespace config.json joins has setgroups denied (a rootless
    // container's, whose gid map was written without CAP_SETGID): probeJoinedSetgroups.
    std::optional<bool> joinedSetgroupsDenied;
    // Kernel facilities this kernel was built without (kernel_facilities.hpp: "modules", ...);
    // always this host's, also with a status file.
    std::vector<std::string> missingFacilities;

    // Reads everything from the running process.
    static HostFacts probe();

    // Capability sets from a captured /proc/<pid>/status (CapInh, CapPrm, CapEff, CapBnd,
    // CapAmb); cap_last_cap is the highest bit of CapBnd unless given. Securebits, kernel
    // release, rlimits and oom_score_adj are this host's (the status file has none of them).
    static HostFacts fromProcStatus(const std::string& path, std::optional<int> capLastCap);

    // The parsing half of fromProcStatus: sets caps and capLastCap of `h` from the text of a
    // status file (`path` names it in errors), leaving the other facts alone.
    static void readProcStatusCaps(HostFacts& h, std::string_view text, const std::string& path,
                                   std::optional<int> capLastCap);
};

// The setgroups state of the user namespace `spec` joins, from /proc/<pid>/setgroups when
// its path is /proc/<pid>/ns/user (how podman and runc name another container's); nullopt
// when it joins none or names it otherwise.
std::optional<bool> probeJoinedSetgroups(const Spec& spec);

// The rlimit names caprun knows, with their RLIMIT_* numbers.
const std::map<std::string, int>& rlimitNumbers();

}  // namespace caprun
