// Plan, then apply: what applying LinuxResources means on one host, as the list of cgroup
// file writes (pure; tests check it without root). Cgroup::apply performs the writes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "caprun/cgroup_host.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// One file write of a plan: <dir of controller>/<file> = value.
struct CgroupWrite {
    std::string controller;  // v1 controller name, or "unified" for the v2 directory
    std::string file;        // "memory.limit_in_bytes", "memory.max", ...
    std::string value;
    bool optional = false;  // skipped with a warning when the file does not exist
                            // (blkio/hugetlb/kmem files that kernels drop or lack)
    std::string what;       // the spec field, for errors: "linux.resources.memory.limit"
};

// What applying LinuxResources means on one host: the writes in order, and the settings
// that have no file on this host (e.g. swappiness on v2), each said in words.
struct CgroupPlan {
    std::vector<CgroupWrite> writes;
    std::vector<std::string> notApplied;  // "linux.resources.memory.swappiness: ..."
};

// Pure: the plan that applies `r` on `host`. Each resource goes to the v1 controller when
// that controller is mounted as v1, else to the unified directory with v2 file names and
// value conversions (cpu.weight from shares, cpu.max from quota/period, memory.swap.max
// from swap-limit, io.weight / io.max, pids.max "max" for -1 ...). `unified` entries go to
// the unified directory as given. Devices are not included (see below). Throws Error for
// values the kernel cannot take (e.g. swap below limit) or for memory/cpu/pids/unified
// settings with no place to go (no such controller anywhere).
// An invalid hugepageLimits[].pageSize (not in host.hugepageSizes) is an Error naming the
// JSON path, the size and the host's sizes.
CgroupPlan planResourceWrites(const Resources& r, const CgroupHost& host);

// Pure: throws Error "<what>: \"3MB\" is not a huge page size of this host (it has 2MB,
// 1GB, ...)" unless pageSize is one of hostSizes.
void checkHugepageSize(const std::string& what, const std::string& pageSize,
                       const std::vector<std::string>& hostSizes);

// Realtime group scheduling on cgroup v1: the kernel refuses a cgroup more cpu.rt_runtime_us
// (as a share of its cpu.rt_period_us) than its parent has left over its other children, and
// a cgroup caprun creates starts with none. One cgroup on the way from the cpu hierarchy's
// root to the container's directory:
struct RtGroup {
    std::string dir;
    std::uint64_t periodUs = 0;  // cpu.rt_period_us
    std::int64_t runtimeUs = 0;  // cpu.rt_runtime_us; -1 is unlimited
    // (period, runtime) of its children other than the one on the way to the container.
    std::vector<std::pair<std::uint64_t, std::int64_t>> otherChildren;
};

struct RtBudgetWrite {
    std::string dir;
    std::int64_t runtimeUs = 0;
};

// Pure: what to write into the ancestors' cpu.rt_runtime_us, top first, so the container's
// directory can take runtimeUs per periodUs. `chain` runs from the hierarchy's root
// (chain[0], never written: its budget is the host's) to the container's parent. Ancestors
// that already have enough are left alone; the rest get just enough for their other
// children plus the container (the kernel's to_ratio arithmetic, rounded up). Throws Error,
// naming `what`, when the root cannot give that much (or a share above a whole period
// would be needed).
std::vector<RtBudgetWrite> planRtBudget(const std::vector<RtGroup>& chain, std::uint64_t periodUs,
                                        std::int64_t runtimeUs, const std::string& what);

// Pure: a realtime process.scheduler (SCHED_FIFO, SCHED_RR) in a cpu cgroup of the
// container's own (ownCpuCgroup) on a kernel with realtime group scheduling
// (rtGroupScheduling: the v1 cpu hierarchy has cpu.rt_runtime_us) can only run with a budget
// in that cgroup, which starts with none: without linux.resources.cpu.realtimeRuntime the
// refusal naming the field, else "".
std::string realtimeBudgetRefusal(const Spec& spec, bool ownCpuCgroup, bool rtGroupScheduling);

}  // namespace caprun
