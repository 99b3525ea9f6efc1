#include "caprun/cgroup_plan.hpp"

#include <algorithm>

#include "caprun/cgroup_fs.hpp"
#include "caprun/error.hpp"

namespace caprun {

using namespace cgfs;

namespace {

struct Planner {
    const CgroupHost& host;
    CgroupPlan plan;

    // Where `controller` lives: its v1 hierarchy, else the unified one when it offers it.
    // Returns "" when neither.
    std::string placeOf(const std::string& controller) const {
        if (host.hasV1(controller)) return controller;
        if (const auto* u = host.unifiedMount())
            if (std::find(u->controllers.begin(), u->controllers.end(), controller) !=
                u->controllers.end())
                return kUnified;
        return "";
    }
    // On a pure v2 host the unified directory is the only place; controllers missing from
    // cgroup.controllers there make the write fail with a clear error instead.
    std::string placeOrUnified(const std::string& controller) const {
        std::string p = placeOf(controller);
        if (p.empty() && host.layout == CgroupLayout::V2) return kUnified;
        return p;
    }
    void add(const std::string& place, std::string file, std::string value, std::string what,
             bool optional = false) {
        plan.writes.push_back(
            {place, std::move(file), std::move(value), optional, std::move(what)});
    }
    void notApplied(const std::string& what, const std::string& why) {
        plan.notApplied.push_back(what + ": " + why);
    }
    [[noreturn]] void noPlace(const std::string& what, const std::string& controller) const {
        throw Error(what + " is set but this host has no " + controller +
                    " cgroup controller (neither a v1 hierarchy nor in the unified "
                    "hierarchy's cgroup.controllers)");
    }
};

std::string num(std::int64_t v) {
    return std::to_string(v);
}
std::string unum(std::uint64_t v) {
    return std::to_string(v);
}

// runc's conversion of cpu.shares [2, 262144] to cpu.weight [1, 10000].
std::uint64_t sharesToWeight(std::uint64_t shares) {
    if (shares == 0) return 0;
    if (shares < 2) shares = 2;
    if (shares > 262144) shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

// blkio.weight [10, 1000] to io.weight [1, 10000].
std::uint64_t blkioToIoWeight(std::uint64_t w) {
    if (w == 0) return 0;
    return 1 + ((w - 10) * 9999) / 990;
}

void planMemory(Planner& p, const MemoryResources& m) {
    const std::string base = "linux.resources.memory";
    std::string place = p.placeOrUnified("memory");
    bool any = m.limit || m.reservation || m.swap || m.kernel || m.kernelTCP || m.swappiness ||
               m.disableOOMKiller.value_or(false) || m.useHierarchy;
    if (!any) return;
    if (place.empty()) p.noPlace(base, "memory");
    if (place != kUnified) {
        // Memory before memory+swap: the kernel refuses memsw below the memory limit. When
        // lowering both, the caller's order (limit first) works; when raising, swap must go
        // first. runc handles this by trying both orders; so do we via the writer (below).
        if (m.limit) p.add(place, "memory.limit_in_bytes", num(*m.limit), base + ".limit");
        if (m.swap) p.add(place, "memory.memsw.limit_in_bytes", num(*m.swap), base + ".swap", true);
        if (m.reservation)
            p.add(place, "memory.soft_limit_in_bytes", num(*m.reservation), base + ".reservation");
        if (m.kernel)
            p.add(place, "memory.kmem.limit_in_bytes", num(*m.kernel), base + ".kernel", true);
        if (m.kernelTCP)
            p.add(place, "memory.kmem.tcp.limit_in_bytes", num(*m.kernelTCP), base + ".kernelTCP",
                  true);
        if (m.swappiness) {
            if (*m.swappiness > 100)
                throw Error(base + ".swappiness: " + unum(*m.swappiness) +
                            " is out of range (0 to 100)");
            p.add(place, "memory.swappiness", unum(*m.swappiness), base + ".swappiness");
        }
        if (m.disableOOMKiller.value_or(false))
            p.add(place, "memory.oom_control", "1", base + ".disableOOMKiller");
        if (m.useHierarchy)
            p.add(place, "memory.use_hierarchy", *m.useHierarchy ? "1" : "0",
                  base + ".useHierarchy", true);
        return;
    }
    std::int64_t limit = m.limit.value_or(0);
    if (m.limit) p.add(place, "memory.max", limit < 0 ? "max" : num(limit), base + ".limit");
    if (m.reservation)
        p.add(place, "memory.low", *m.reservation < 0 ? "max" : num(*m.reservation),
              base + ".reservation");
    if (m.swap) {
        // v1 counts memory+swap; v2's memory.swap.max counts swap alone (runc's rule).
        std::int64_t swap = *m.swap;
        std::string value;
        if (limit == -1 && swap == 0)
            value = "max";
        else if (swap == -1)
            value = "max";
        else if (swap == 0)
            value = "";
        else if (limit == 0 || limit == -1)
            throw Error(base + ".swap: a swap limit needs a memory limit (" + base + ".limit)");
        else if (swap < limit)
            throw Error(base + ".swap (" + num(swap) + ") must be at least " + base + ".limit (" +
                        num(limit) + "): it is the limit of memory plus swap");
        else
            value = num(swap - limit);
        if (!value.empty()) p.add(place, "memory.swap.max", value, base + ".swap", true);
    } else if (limit == -1) {
        // runc: unlimited memory without a swap setting makes swap unlimited too.
        p.add(place, "memory.swap.max", "max", base + ".limit", true);
    }
    if (m.kernel || m.kernelTCP)
        p.notApplied(base + ".kernel/kernelTCP",
                     "kernel memory limits do not exist on cgroup v2 (deprecated in the spec)");
    if (m.swappiness) p.notApplied(base + ".swappiness", "cgroup v2 has no per-cgroup swappiness");
    if (m.disableOOMKiller.value_or(false))
        p.notApplied(base + ".disableOOMKiller", "cgroup v2 cannot disable the OOM killer");
    if (m.useHierarchy) p.notApplied(base + ".useHierarchy", "cgroup v2 is always hierarchical");
}

void planCpu(Planner& p, const CpuResources& c) {
    const std::string base = "linux.resources.cpu";
    bool cpuAny = c.shares || c.quota || c.period || c.burst || c.realtimeRuntime ||
                  c.realtimePeriod || c.idle;
    if (cpuAny) {
        std::string place = p.placeOrUnified("cpu");
        if (place.empty()) p.noPlace(base, "cpu");
        if (place != kUnified) {
            if (c.shares) p.add(place, "cpu.shares", unum(*c.shares), base + ".shares");
            // Period first: a quota is checked against the current period.
            if (c.period) p.add(place, "cpu.cfs_period_us", unum(*c.period), base + ".period");
            if (c.quota) p.add(place, "cpu.cfs_quota_us", num(*c.quota), base + ".quota");
            if (c.burst) p.add(place, "cpu.cfs_burst_us", unum(*c.burst), base + ".burst", true);
            // Not optional: without CONFIG_RT_GROUP_SCHED these files are missing and the
            // setting cannot be applied (apply() says so).
            if (c.realtimePeriod)
                p.add(place, "cpu.rt_period_us", unum(*c.realtimePeriod), base + ".realtimePeriod");
            if (c.realtimeRuntime)
                p.add(place, "cpu.rt_runtime_us", num(*c.realtimeRuntime),
                      base + ".realtimeRuntime");
            if (c.idle) p.add(place, "cpu.idle", num(*c.idle), base + ".idle", true);
        } else {
            if (c.shares && *c.shares != 0)
                p.add(place, "cpu.weight", unum(sharesToWeight(*c.shares)), base + ".shares");
            if (c.quota || c.period) {
                std::string quota =
                    (!c.quota || *c.quota <= 0) ? std::string("max") : num(*c.quota);
                std::uint64_t period = c.period.value_or(100000);
                p.add(place, "cpu.max", quota + " " + unum(period), base + ".quota/period");
            }
            if (c.burst) p.add(place, "cpu.max.burst", unum(*c.burst), base + ".burst", true);
            if (c.idle) p.add(place, "cpu.idle", num(*c.idle), base + ".idle", true);
            if (c.realtimeRuntime || c.realtimePeriod)
                p.notApplied(base + ".realtimeRuntime/realtimePeriod",
                             "cgroup v2 has no realtime group scheduling files");
        }
    }
    if (!c.cpus.empty() || !c.mems.empty()) {
        std::string place = p.placeOrUnified("cpuset");
        if (place.empty()) p.noPlace(base + ".cpus/mems", "cpuset");
        if (!c.cpus.empty()) p.add(place, "cpuset.cpus", c.cpus, base + ".cpus");
        if (!c.mems.empty()) p.add(place, "cpuset.mems", c.mems, base + ".mems");
    }
}

void planBlockIo(Planner& p, const BlockIoResources& b) {
    const std::string base = "linux.resources.blockIO";
    std::string place = p.placeOf("blkio");
    if (place.empty()) place = p.placeOf("io");
    if (place.empty() && p.host.layout == CgroupLayout::V2) place = kUnified;
    // A weight of 0 is "not set" (runc; dockerd always sends weight 0).
    std::optional<std::uint16_t> weight, leafWeight;
    if (b.weight && *b.weight != 0) weight = b.weight;
    if (b.leafWeight && *b.leafWeight != 0) leafWeight = b.leafWeight;
    bool any = weight || leafWeight || !b.weightDevice.empty() ||
               !b.throttleReadBpsDevice.empty() || !b.throttleWriteBpsDevice.empty() ||
               !b.throttleReadIOPSDevice.empty() || !b.throttleWriteIOPSDevice.empty();
    if (!any) return;
    if (place.empty()) {
        p.notApplied(base, "this host has no blkio (v1) or io (v2) controller");
        return;
    }
    auto dev = [](std::int64_t maj, std::int64_t min) { return num(maj) + ":" + num(min); };
    if (place != kUnified) {
        if (weight) p.add(place, "blkio.weight", unum(*weight), base + ".weight", true);
        if (leafWeight)
            p.add(place, "blkio.leaf_weight", unum(*leafWeight), base + ".leafWeight", true);
        for (std::size_t i = 0; i < b.weightDevice.size(); ++i) {
            const auto& w = b.weightDevice[i];
            std::string what = base + ".weightDevice[" + std::to_string(i) + "]";
            if (w.weight)
                p.add(place, "blkio.weight_device", dev(w.major, w.minor) + " " + unum(*w.weight),
                      what, true);
            if (w.leafWeight)
                p.add(place, "blkio.leaf_weight_device",
                      dev(w.major, w.minor) + " " + unum(*w.leafWeight), what, true);
        }
        auto throttle = [&](const std::vector<ThrottleDevice>& list, const std::string& file,
                            const std::string& field) {
            for (std::size_t i = 0; i < list.size(); ++i)
                p.add(place, file, dev(list[i].major, list[i].minor) + " " + unum(list[i].rate),
                      base + "." + field + "[" + std::to_string(i) + "]", true);
        };
        throttle(b.throttleReadBpsDevice, "blkio.throttle.read_bps_device",
                 "throttleReadBpsDevice");
        throttle(b.throttleWriteBpsDevice, "blkio.throttle.write_bps_device",
                 "throttleWriteBpsDevice");
        throttle(b.throttleReadIOPSDevice, "blkio.throttle.read_iops_device",
                 "throttleReadIOPSDevice");
        throttle(b.throttleWriteIOPSDevice, "blkio.throttle.write_iops_device",
                 "throttleWriteIOPSDevice");
        return;
    }
    if (weight)
        p.add(place, "io.weight", "default " + unum(blkioToIoWeight(*weight)), base + ".weight",
              true);
    if (leafWeight) p.notApplied(base + ".leafWeight", "cgroup v2 has no leaf weight");
    for (std::size_t i = 0; i < b.weightDevice.size(); ++i) {
        const auto& w = b.weightDevice[i];
        if (w.weight)
            p.add(place, "io.weight",
                  dev(w.major, w.minor) + " " + unum(blkioToIoWeight(*w.weight)),
                  base + ".weightDevice[" + std::to_string(i) + "]", true);
    }
    auto throttle = [&](const std::vector<ThrottleDevice>& list, const std::string& key,
                        const std::string& field) {
        for (std::size_t i = 0; i < list.size(); ++i)
            p.add(place, "io.max",
                  dev(list[i].major, list[i].minor) + " " + key + "=" + unum(list[i].rate),
                  base + "." + field + "[" + std::to_string(i) + "]", true);
    };
    throttle(b.throttleReadBpsDevice, "rbps", "throttleReadBpsDevice");
    throttle(b.throttleWriteBpsDevice, "wbps", "throttleWriteBpsDevice");
    throttle(b.throttleReadIOPSDevice, "riops", "throttleReadIOPSDevice");
    throttle(b.throttleWriteIOPSDevice, "wiops", "throttleWriteIOPSDevice");
}

}  // namespace

void checkHugepageSize(const std::string& what, const std::string& pageSize,
                       const std::vector<std::string>& hostSizes) {
    if (std::find(hostSizes.begin(), hostSizes.end(), pageSize) != hostSizes.end()) return;
    std::string sizes;
    for (const auto& s : hostSizes) sizes += (sizes.empty() ? "" : ", ") + s;
    throw Error(what + ": \"" + pageSize + "\" is not a huge page size of this host (" +
                (sizes.empty() ? std::string("it has none") : "it has " + sizes) +
                ", from /sys/kernel/mm/hugepages)");
}

CgroupPlan planResourceWrites(const Resources& r, const CgroupHost& host) {
    Planner p{host, {}};
    if (r.memory) planMemory(p, *r.memory);
    if (r.cpu) planCpu(p, *r.cpu);
    if (r.pids && r.pids->limit && *r.pids->limit != 0) {
        std::string place = p.placeOrUnified("pids");
        if (place.empty()) p.noPlace("linux.resources.pids", "pids");
        // runc: a negative limit means unlimited, 0 means "not set".
        p.add(place, "pids.max", *r.pids->limit < 0 ? "max" : num(*r.pids->limit),
              "linux.resources.pids.limit");
    }
    if (!r.hugepageLimits.empty()) {
        std::string place = p.placeOf("hugetlb");
        if (place.empty() && host.layout == CgroupLayout::V2) place = kUnified;
        for (std::size_t i = 0; i < r.hugepageLimits.size(); ++i) {
            const auto& h = r.hugepageLimits[i];
            std::string what = "linux.resources.hugepageLimits[" + std::to_string(i) + "]";
            checkHugepageSize(what + ".pageSize", h.pageSize, host.hugepageSizes);
            if (place.empty()) {
                p.notApplied(what, "this host has no hugetlb controller");
                continue;
            }
            p.add(place, "hugetlb." + h.pageSize + (place == kUnified ? ".max" : ".limit_in_bytes"),
                  unum(h.limit), what, true);
        }
    }
    if (r.blockIO) planBlockIo(p, *r.blockIO);
    for (const auto& [device, limit] : r.rdma) {
        // The same file and format on v1 and v2 ("<device> hca_handle=N hca_object=M"); an
        // absent limit is left as the kernel has it, as runc does.
        const std::string what = "linux.resources.rdma." + device;
        if (!limit.hcaHandles && !limit.hcaObjects) continue;
        std::string place = p.placeOrUnified("rdma");
        if (place.empty()) p.noPlace(what, "rdma");
        std::string value = device;
        if (limit.hcaHandles) value += " hca_handle=" + unum(*limit.hcaHandles);
        if (limit.hcaObjects) value += " hca_object=" + unum(*limit.hcaObjects);
        p.add(place, "rdma.max", value, what);
    }
    if (r.network) {
        const std::string base = "linux.resources.network";
        if (r.network->classID) {
            std::string place = p.host.hasV1("net_cls") ? "net_cls" : "";
            if (place.empty())
                p.notApplied(base + ".classID", "this host has no net_cls (v1) controller");
            else
                p.add(place, "net_cls.classid", unum(*r.network->classID), base + ".classID");
        }
        if (!r.network->priorities.empty()) {
            std::string place = p.host.hasV1("net_prio") ? "net_prio" : "";
            for (std::size_t i = 0; i < r.network->priorities.size(); ++i) {
                const auto& [iface, prio] = r.network->priorities[i];
                std::string what = base + ".priorities[" + std::to_string(i) + "]";
                if (place.empty())
                    p.notApplied(what, "this host has no net_prio (v1) controller");
                else
                    p.add(place, "net_prio.ifpriomap", iface + " " + unum(prio), what);
            }
        }
    }
    if (!r.unified.empty()) {
        if (host.unifiedMount() == nullptr)
            throw Error(
                "linux.resources.unified is set but this host has no cgroup v2 "
                "(unified) hierarchy");
        for (const auto& [key, value] : r.unified) {
            if (key.find('/') != std::string::npos || key == "." || key == "..")
                throw Error("linux.resources.unified: \"" + key + "\" is not a cgroup file name");
            p.add(kUnified, key, value, "linux.resources.unified[\"" + key + "\"]");
        }
    }
    return p.plan;
}

// ---- realtime budget of the ancestors --------------------------------------------------

namespace {

// The kernel's share of a period (kernel/sched/rt.c to_ratio, on nanoseconds, 1 << 20 = all).
__extension__ typedef unsigned __int128 U128;  // products of ns values and 1 << 20
constexpr std::uint64_t kBwShift = 20;
constexpr std::uint64_t kWhole = 1ull << kBwShift;

std::uint64_t toRatio(std::uint64_t periodUs, std::int64_t runtimeUs) {
    if (runtimeUs < 0) return kWhole;
    if (periodUs == 0) return 0;
    auto rt = static_cast<U128>(runtimeUs) * 1000;
    return static_cast<std::uint64_t>((rt << kBwShift) / (static_cast<U128>(periodUs) * 1000));
}

// A share as microseconds of `periodUs`, rounded up (to_ratio rounded it down).
std::string share(std::uint64_t ratio, std::uint64_t periodUs) {
    auto us = (static_cast<U128>(ratio) * periodUs + kWhole - 1) >> kBwShift;
    return std::to_string(static_cast<std::uint64_t>(us)) + " us";
}

}  // namespace

std::vector<RtBudgetWrite> planRtBudget(const std::vector<RtGroup>& chain, std::uint64_t periodUs,
                                        std::int64_t runtimeUs, const std::string& what) {
    if (chain.empty())
        throw Error(what + ": no cpu cgroup above the container's to take realtime budget from");
    if (runtimeUs >= 0 && static_cast<std::uint64_t>(runtimeUs) > periodUs)
        throw Error(what + ": " + std::to_string(runtimeUs) + " us is more than the period (" +
                    std::to_string(periodUs) + " us)");
    // Bottom up: each ancestor needs its other children's shares plus what the next one down
    // ends up with (after rounding up to whole microseconds).
    std::uint64_t need = toRatio(periodUs, runtimeUs);
    std::vector<RtBudgetWrite> writes;
    for (std::size_t i = chain.size(); i-- > 0;) {
        const RtGroup& g = chain[i];
        std::uint64_t others = 0;
        for (const auto& [p, r] : g.otherChildren) others += toRatio(p, r);
        std::uint64_t required = others + need;
        std::uint64_t have = toRatio(g.periodUs, g.runtimeUs);
        if (required <= have) {
            need = have;
            continue;
        }
        if (i == 0 || required > kWhole) {
            std::string runtime =
                g.runtimeUs < 0 ? "unlimited" : std::to_string(g.runtimeUs) + " us";
            throw Error(
                what + ": " + (i == 0 ? "the host's cpu cgroup " : "the cpu cgroup ") + g.dir +
                " has a realtime budget of " + runtime + " per " + std::to_string(g.periodUs) +
                " us (cpu.rt_runtime_us, cpu.rt_period_us)" + ", of which about " +
                share(others, g.periodUs) +
                " is given to its other child cgroups: not enough for " +
                (runtimeUs < 0 ? std::string("unlimited") : std::to_string(runtimeUs) + " us") +
                " per " + std::to_string(periodUs) + " us more");
        }
        // Smallest whole number of microseconds whose share is at least `required`.
        auto periodNs = static_cast<U128>(g.periodUs) * 1000;
        auto ns = (static_cast<U128>(required) * periodNs + kWhole - 1) >> kBwShift;
        auto us = static_cast<std::int64_t>((ns + 999) / 1000);
        writes.push_back({g.dir, us});
        need = toRatio(g.periodUs, us);
    }
    std::reverse(writes.begin(), writes.end());
    return writes;
}

std::string realtimeBudgetRefusal(const Spec& spec, bool ownCpuCgroup, bool rtGroupScheduling) {
    if (!ownCpuCgroup || !rtGroupScheduling || !spec.process || !spec.process->scheduler) return "";
    const std::string& policy = spec.process->scheduler->policy;
    if (policy != "SCHED_FIFO" && policy != "SCHED_RR") return "";
    const Resources* r = spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
    if (r && r->cpu && r->cpu->realtimeRuntime && *r->cpu->realtimeRuntime != 0) return "";
    return "config.json: process.scheduler: " + policy +
           " needs a realtime budget in the container's cpu cgroup: this kernel has realtime "
           "group scheduling, where a new cpu cgroup starts with cpu.rt_runtime_us 0 and the "
           "kernel refuses every realtime policy in it; set "
           "linux.resources.cpu.realtimeRuntime (microseconds per "
           "linux.resources.cpu.realtimePeriod, e.g. 10000 per 1000000)";
}

}  // namespace caprun
