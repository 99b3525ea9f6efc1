// Process attributes the kernel keeps per task and execve inherits: process.ioPriority
// (ioprio_set), process.scheduler (sched_setattr), process.execCPUAffinity
// (sched_setaffinity), linux.personality (personality) and linux.memoryPolicy
// (set_mempolicy), plus the LSM labels (lsm.hpp). Planned from the spec before anything
// exists (a value the kernel cannot take is refused there, naming its JSON path), applied
// by the process itself: scheduling before it gives up its credentials, personality and
// the LSM right before execve.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "caprun/lsm.hpp"
#include "caprun/platform_facts.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// "0-3,7" -> {0,1,2,3,7}. Throws Error "<what>: ..." for a malformed list.
std::vector<unsigned> parseIdList(const std::string& list, const std::string& what);

// The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0 fields).
struct SchedAttr {
    std::uint32_t policy = 0;
    std::uint64_t flags = 0;
    std::int32_t nice = 0;
    std::uint32_t priority = 0;
    std::uint64_t runtime = 0, deadline = 0, period = 0;
};

struct MemPolicyCall {
    int mode = 0;  // MPOL_* | MPOL_F_*
    std::vector<unsigned long> nodemask;
    unsigned long maxnode = 0;
};

struct ProcessAttrPlan {
    std::optional<int> ioprio;  // IOPRIO_PRIO_VALUE(class, level)
    std::optional<SchedAttr> sched;
    std::optional<MemPolicyCall> memPolicy;
    std::vector<unsigned> affinityInitial;  // exec only: set by the runtime on the child
    std::vector<unsigned> affinityFinal;    // exec only: set by the child in the cgroup
    std::optional<unsigned long> personality;
    LsmPlan lsm;
};

// "" when the value can be applied, else why not (for the field table and the planner).
std::string ioPriorityRefusal(const IoPriority& io);
std::string schedulerRefusal(const Scheduler& s);
std::string personalityRefusal(const Personality& p);
std::string memoryPolicyRefusal(const MemoryPolicy& m);
std::string execCpuAffinityRefusal(const ExecCpuAffinity& a);

// `where` prefixes the process fields' errors ("config.json: process."); `isInit`: the
// container's init, for which execCPUAffinity does not apply (runtime-spec).
ProcessAttrPlan planProcessAttrs(const Spec& spec, const Process& process,
                                 const PlatformFacts& facts, const std::string& where, bool isInit);

// The syscalls, a seam for tests. Each returns 0, or -1 with errno set.
struct ProcessAttrOps {
    std::function<int(int)> ioprioSet;
    std::function<int(const SchedAttr&)> schedSetattr;
    std::function<int(const MemPolicyCall&)> setMempolicy;
    std::function<int(pid_t, const std::vector<unsigned>&)> setAffinity;
    std::function<int(unsigned long)> personality;
    LsmOps lsm;
};
ProcessAttrOps systemProcessAttrOps();

// Before the credential switch: I/O priority, scheduler, memory policy, final affinity.
void applyEarlyProcessAttrs(const ProcessAttrPlan& plan, const ProcessAttrOps& ops);
// Right before execve: personality, then the LSM exec labels.
void applyOnExecProcessAttrs(const ProcessAttrPlan& plan, const ProcessAttrOps& ops);

}  // namespace caprun
