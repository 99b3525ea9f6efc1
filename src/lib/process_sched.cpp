#include "caprun/process_sched.hpp"

#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "caprun/error.hpp"
#include "caprun/json.hpp"

namespace caprun {

namespace {

constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;

const std::map<std::string, int>& ioClasses() {
    static const std::map<std::string, int> m = {
        {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};
    return m;
}

const std::map<std::string, std::uint32_t>& schedPolicies() {
    static const std::map<std::string, std::uint32_t> m = {
        {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},      {"SCHED_BATCH", 3},
        {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}};
    return m;
}

const std::map<std::string, std::uint64_t>& schedFlags() {
    static const std::map<std::string, std::uint64_t> m = {
        {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
        {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
        {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
        {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};
    return m;
}

const std::map<std::string, int>& memModes() {
    static const std::map<std::string, int> m = {{"MPOL_DEFAULT", 0},
                                                 {"MPOL_PREFERRED", 1},
                                                 {"MPOL_BIND", 2},
                                                 {"MPOL_INTERLEAVE", 3},
                                                 {"MPOL_LOCAL", 4},
                                                 {"MPOL_PREFERRED_MANY", 5},
                                                 {"MPOL_WEIGHTED_INTERLEAVE", 6}};
    return m;
}

const std::map<std::string, int>& memFlags() {
    static const std::map<std::string, int> m = {{"MPOL_F_NUMA_BALANCING", 1 << 13},
                                                 {"MPOL_F_RELATIVE_NODES", 1 << 14},
                                                 {"MPOL_F_STATIC_NODES", 1 << 15}};
    return m;
}

template <typename M>
std::string keys(const M& m) {
    std::string out;
    for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k;
    return out;
}

bool isRealtime(const std::string& policy) {
    return policy == "SCHED_FIFO" || policy == "SCHED_RR";
}

// "<what>: " prefixes a refusal; none is "".
void refuseIf(const std::string& why, const std::string& what) {
    if (!why.empty()) throw Error(what + ": " + why);
}

}  // namespace

std::vector<unsigned> parseIdList(const std::string& list, const std::string& what) {
    std::vector<unsigned> out;
    std::size_t pos = 0;
    auto number = [&](std::size_t& i) -> unsigned {
        std::size_t start = i;
        while (i < list.size() && list[i] >= '0' && list[i] <= '9') ++i;
        if (i == start || i - start > 6)
            throw Error(what + ": \"" + list + "\" is not a list like \"0-3,7\"");
        return static_cast<unsigned>(std::stoul(list.substr(start, i - start)));
    };
    while (pos < list.size()) {
        unsigned a = number(pos), b = a;
        if (pos < list.size() && list[pos] == '-') {
            ++pos;
            b = number(pos);
            if (b < a)
                throw Error(what + ": range " + std::to_string(a) + "-" + std::to_string(b) +
                            " is reversed");
        }
        for (unsigned x = a; x <= b; ++x) out.push_back(x);
        if (pos < list.size()) {
            if (list[pos] != ',')
                throw Error(what + ": \"" + list + "\" is not a list like \"0-3,7\"");
            ++pos;
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string ioPriorityRefusal(const IoPriority& io) {
    if (!ioClasses().count(io.ioClass))
        return "class \"" + io.ioClass + "\" is not one of " + keys(ioClasses());
    if (io.priority < 0 || io.priority > 7)
        return "priority " + std::to_string(io.priority) + " is outside 0 (highest) to 7 (lowest)";
    return "";
}

std::string schedulerRefusal(const Scheduler& s) {
    auto p = schedPolicies().find(s.policy);
    if (p == schedPolicies().end())
        return "policy \"" + s.policy + "\" is not one of " + keys(schedPolicies());
    if (s.policy == "SCHED_ISO") return "SCHED_ISO is not implemented by the Linux kernel";
    for (const auto& f : s.flags) {
        if (!schedFlags().count(f)) return "flag \"" + f + "\" is not one of " + keys(schedFlags());
        if (f == "SCHED_FLAG_UTIL_CLAMP_MIN" || f == "SCHED_FLAG_UTIL_CLAMP_MAX")
            return "flag " + f +
                   " needs a utilization clamp value, which the spec has no field for";
    }
    if (s.nice && (*s.nice < -20 || *s.nice > 19))
        return "nice " + std::to_string(*s.nice) + " is outside -20 to 19";
    if (isRealtime(s.policy)) {
        if (!s.priority || *s.priority < 1 || *s.priority > 99)
            return s.policy + " needs a priority from 1 to 99";
    } else if (s.priority && *s.priority != 0) {
        return s.policy + " takes no priority (only SCHED_FIFO and SCHED_RR do), got " +
               std::to_string(*s.priority);
    }
    if (s.policy == "SCHED_DEADLINE") {
        if (!s.runtime || !s.deadline)
            return "SCHED_DEADLINE needs runtime and deadline (and optionally period), in ns";
        std::uint64_t period = s.period.value_or(*s.deadline);
        if (*s.runtime > *s.deadline || *s.deadline > period)
            return "SCHED_DEADLINE needs runtime <= deadline <= period";
    } else if (s.runtime || s.deadline || s.period) {
        return "runtime, deadline and period apply to SCHED_DEADLINE only";
    }
    return "";
}

std::string personalityRefusal(const Personality& p) {
    if (p.domain != "LINUX" && p.domain != "LINUX32")
        return "domain \"" + p.domain + "\" is not LINUX or LINUX32";
    if (!p.flags.empty())
        return "flag \"" + p.flags.front() +
               "\" is not supported (runtime-spec 1.3 defines no personality flags)";
    return "";
}

std::string memoryPolicyRefusal(const MemoryPolicy& m) {
    if (!memModes().count(m.mode))
        return "mode \"" + m.mode + "\" is not one of " + keys(memModes());
    std::vector<unsigned> nodes;
    try {
        nodes = parseIdList(m.nodes, "nodes");
    } catch (const Error& e) {
        return e.what();
    }
    bool noNodes = m.mode == "MPOL_DEFAULT" || m.mode == "MPOL_LOCAL";
    if (noNodes && !nodes.empty()) return m.mode + " takes no nodes, got \"" + m.nodes + "\"";
    if (!noNodes && m.mode != "MPOL_PREFERRED" && nodes.empty())
        return m.mode + " needs at least one node in \"nodes\"";
    bool statik = false, relative = false;
    for (const auto& f : m.flags) {
        if (!memFlags().count(f)) return "flag \"" + f + "\" is not one of " + keys(memFlags());
        statik |= f == "MPOL_F_STATIC_NODES";
        relative |= f == "MPOL_F_RELATIVE_NODES";
    }
    if (statik && relative)
        return "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other";
    return "";
}

std::string execCpuAffinityRefusal(const ExecCpuAffinity& a) {
    try {
        parseIdList(a.initial, "initial");
        parseIdList(a.final, "final");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

ProcessAttrPlan planProcessAttrs(const Spec& spec, const Process& process,
                                 const PlatformFacts& facts, const std::string& where,
                                 bool isInit) {
    ProcessAttrPlan plan;
    if (const auto& io = process.ioPriority) {
        refuseIf(ioPriorityRefusal(*io), where + "ioPriority");
        plan.ioprio = (ioClasses().at(io->ioClass) << kIoprioClassShift) | io->priority;
    }
    if (const auto& s = process.scheduler) {
        refuseIf(schedulerRefusal(*s), where + "scheduler");
        SchedAttr a;
        a.policy = schedPolicies().at(s->policy);
        for (const auto& f : s->flags) a.flags |= schedFlags().at(f);
        a.nice = s->nice.value_or(0);
        a.priority = static_cast<std::uint32_t>(s->priority.value_or(0));
        a.runtime = s->runtime.value_or(0);
        a.deadline = s->deadline.value_or(0);
        a.period = s->period.value_or(0);
        plan.sched = a;
    }
    if (const auto& a = process.execCPUAffinity; a && !isInit) {
        refuseIf(execCpuAffinityRefusal(*a), where + "execCPUAffinity");
        plan.affinityInitial = parseIdList(a->initial, "initial");
        plan.affinityFinal = parseIdList(a->final, "final");
    }
    if (spec.linux) {
        if (const auto& p = spec.linux->personality) {
            refuseIf(personalityRefusal(*p), "config.json: linux.personality");
            plan.personality = p->domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
        }
        if (const auto& m = spec.linux->memoryPolicy) {
            refuseIf(memoryPolicyRefusal(*m), "config.json: linux.memoryPolicy");
            MemPolicyCall c;
            c.mode = memModes().at(m->mode);
            for (const auto& f : m->flags) c.mode |= memFlags().at(f);
            auto nodes = parseIdList(m->nodes, "nodes");
            if (!nodes.empty()) {
                constexpr unsigned kBits = 8 * sizeof(unsigned long);
                c.nodemask.assign(nodes.back() / kBits + 1, 0);
                for (unsigned n : nodes) c.nodemask[n / kBits] |= 1UL << (n % kBits);
                // The kernel reads maxnode - 1 bits.
                c.maxnode = c.nodemask.size() * kBits + 1;
            }
            plan.memPolicy = c;
        }
    }
    plan.lsm = planLsm(process, facts, where);
    return plan;
}

ProcessAttrOps systemProcessAttrOps() {
    ProcessAttrOps ops;
    ops.ioprioSet = [](int value) {
        return static_cast<int>(::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, value));
    };
    ops.schedSetattr = [](const SchedAttr& a) {
        struct {
            std::uint32_t size, policy;
            std::uint64_t flags;
            std::int32_t nice;
            std::uint32_t priority;
            std::uint64_t runtime, deadline, period;
        } k{48, a.policy, a.flags, a.nice, a.priority, a.runtime, a.deadline, a.period};
        return static_cast<int>(::syscall(SYS_sched_setattr, 0, &k, 0U));
    };
    ops.setMempolicy = [](const MemPolicyCall& c) {
        return static_cast<int>(::syscall(SYS_set_mempolicy, c.mode,
                                          c.nodemask.empty() ? nullptr : c.nodemask.data(),
                                          c.maxnode));
    };
    ops.setAffinity = [](pid_t pid, const std::vector<unsigned>& cpus) {
        std::size_t count = cpus.back() + 1;
        cpu_set_t* set = CPU_ALLOC(count);
        if (!set) return -1;
        std::size_t size = CPU_ALLOC_SIZE(count);
        CPU_ZERO_S(size, set);
        for (unsigned c : cpus) CPU_SET_S(c, size, set);
        int r = ::sched_setaffinity(pid, size, set);
        int err = errno;
        CPU_FREE(set);
        errno = err;
        return r;
    };
    ops.personality = [](unsigned long p) { return ::personality(p) < 0 ? -1 : 0; };
    ops.lsm = systemLsmOps();
    return ops;
}

void applyEarlyProcessAttrs(const ProcessAttrPlan& plan, const ProcessAttrOps& ops) {
    if (plan.ioprio && ops.ioprioSet(*plan.ioprio) != 0)
        throwErrno("setting process.ioPriority (ioprio_set)");
    if (plan.sched && ops.schedSetattr(*plan.sched) != 0)
        throwErrno("setting process.scheduler (sched_setattr)");
    if (plan.memPolicy && ops.setMempolicy(*plan.memPolicy) != 0)
        throwErrno("setting linux.memoryPolicy (set_mempolicy)");
    if (!plan.affinityFinal.empty() && ops.setAffinity(0, plan.affinityFinal) != 0)
        throwErrno("setting process.execCPUAffinity.final (sched_setaffinity)");
}

void applyOnExecProcessAttrs(const ProcessAttrPlan& plan, const ProcessAttrOps& ops) {
    if (plan.personality && ops.personality(*plan.personality) != 0)
        throwErrno("setting linux.personality (personality)");
    applyLsm(plan.lsm, ops.lsm);
}

}  // namespace caprun

namespace caprun {

// The runtime-spec 1.2/1.3 additions to process and linux (spec.cpp calls these).
ExecCpuAffinity parseExecCpuAffinity(const json::Node& n) {
    ExecCpuAffinity a;
    a.initial = n.optString("initial").value_or("");
    a.final = n.optString("final").value_or("");
    return a;
}

MemoryPolicy parseMemoryPolicy(const json::Node& n) {
    MemoryPolicy m;
    m.mode = n.require("mode").asString();
    m.nodes = n.optString("nodes").value_or("");
    if (auto f = n.get("flags")) m.flags = f->asStringArray();
    return m;
}

}  // namespace caprun
