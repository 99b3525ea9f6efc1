#include "caprun/cgroups.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include "caprun/error.hpp"
#include "caprun/log.hpp"
#include "caprun/systemd_bus.hpp"

namespace caprun {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

std::string joinPath(const std::string& a, const std::string& b) {
    if (b.empty()) return a;
    if (a.empty()) return b;
    std::string out = a;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    std::size_t i = 0;
    while (i < b.size() && b[i] == '/') ++i;
    if (i == b.size()) return out;
    if (out != "/") out += '/';
    return out + b.substr(i);
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountField(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7') {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool isV1MountOption(const std::string& o) {
    static const std::set<std::string> nonControllers = {
        "rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods"};
    return nonControllers.count(o) == 0 && o.rfind("release_agent=", 0) != 0;
}

bool fileExists(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0;
}

std::string readFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throwErrno("reading " + path);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            throwSys("reading " + path, err);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// Returns 0 or the errno of the failed open/write.
int writeFileErr(const std::string& path, const std::string& value) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t n;
    do {
        n = ::write(fd, value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : 0;
    ::close(fd);
    return err;
}

void writeFile(const std::string& path, const std::string& value, const std::string& what) {
    if (int err = writeFileErr(path, value); err != 0)
        throwSys(
            (what.empty() ? std::string() : what + ": ") + "writing \"" + value + "\" to " + path,
            err);
}

const std::string kUnified = "unified";

}  // namespace

std::string layoutName(CgroupLayout l) {
    switch (l) {
        case CgroupLayout::V1:
            return "v1";
        case CgroupLayout::V2:
            return "v2";
        case CgroupLayout::Hybrid:
            return "hybrid";
    }
    return "unknown";
}

const CgroupMount* CgroupHost::v1Mount(const std::string& controller) const {
    for (const auto& m : mounts)
        if (!m.unified && std::find(m.controllers.begin(), m.controllers.end(), controller) !=
                              m.controllers.end())
            return &m;
    return nullptr;
}

const CgroupMount* CgroupHost::unifiedMount() const {
    for (const auto& m : mounts)
        if (m.unified) return &m;
    return nullptr;
}

CgroupHost parseCgroupHost(const std::string& mountinfo, const std::string& procSelfCgroup,
                           const std::string& unifiedControllers) {
    CgroupHost host;
    std::istringstream lines(mountinfo);
    std::string line;
    std::set<std::string> seenHierarchies;
    while (std::getline(lines, line)) {
        std::istringstream in(line);
        std::vector<std::string> f;
        std::string tok;
        while (in >> tok) f.push_back(tok);
        auto dash = std::find(f.begin(), f.end(), "-");
        if (f.size() < 7 || dash == f.end() || std::distance(dash, f.end()) < 4) continue;
        const std::string& fstype = *(dash + 1);
        const std::string& superOpts = *(dash + 3);
        if (fstype != "cgroup" && fstype != "cgroup2") continue;
        CgroupMount m;
        m.root = unescapeMountField(f[3]);
        m.mountPoint = unescapeMountField(f[4]);
        m.unified = fstype == "cgroup2";
        if (m.unified) {
            for (const auto& c : split(trim(unifiedControllers), ' '))
                if (!c.empty()) m.controllers.push_back(c);
        } else {
            for (const auto& o : split(superOpts, ','))
                if (isV1MountOption(o)) m.controllers.push_back(o);
        }
        // The same hierarchy can be mounted more than once; the first mount is used.
        std::string key = m.unified ? "cgroup2" : superOpts;
        if (!seenHierarchies.insert(key).second) continue;
        host.mounts.push_back(std::move(m));
    }
    bool v1 = false, v2 = false;
    for (const auto& m : host.mounts) (m.unified ? v2 : v1) = true;
    if (!v1 && !v2) throw Error("no cgroup hierarchy is mounted (looked in /proc/self/mountinfo)");
    host.layout = v1 && v2 ? CgroupLayout::Hybrid : (v2 ? CgroupLayout::V2 : CgroupLayout::V1);

    std::istringstream cg(procSelfCgroup);
    while (std::getline(cg, line)) {
        auto c1 = line.find(':');
        auto c2 = line.find(':', c1 == std::string::npos ? 0 : c1 + 1);
        if (c1 == std::string::npos || c2 == std::string::npos) continue;
        std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
        std::string path = line.substr(c2 + 1);
        if (controllers.empty())
            host.selfPaths[""] = path;
        else
            for (const auto& c : split(controllers, ',')) host.selfPaths[c] = path;
    }
    return host;
}

CgroupHost detectCgroupHost() {
    std::string mountinfo = readFile("/proc/self/mountinfo");
    std::string self = readFile("/proc/self/cgroup");
    // The unified mount point is only known after parsing; parse twice (cheap).
    CgroupHost first = parseCgroupHost(mountinfo, self, "");
    std::string controllers;
    if (const auto* u = first.unifiedMount()) {
        try {
            controllers = readFile(u->mountPoint + "/cgroup.controllers");
        } catch (const Error&) {
            controllers.clear();
        }
    }
    return controllers.empty() ? first : parseCgroupHost(mountinfo, self, controllers);
}

CgroupManager selectCgroupManager(const GlobalOptions& g, const std::string& systemdRunDir) {
    if (g.cgroupManager == "disabled") return CgroupManager::Disabled;
    bool systemd = g.systemdCgroup || g.cgroupManager == "systemd";
    if (!systemd) return CgroupManager::Cgroupfs;
    std::string flag =
        g.cgroupManager == "systemd" ? "--cgroup-manager systemd" : "--systemd-cgroup";
    if (!systemdDriverBuilt())
        throw Error(flag +
                    ": caprun was built without libsystemd, so it has no systemd cgroup "
                    "driver; rebuild with libsystemd-dev installed, or run without " +
                    flag + " to use the cgroupfs manager (in containerd: SystemdCgroup = false)");
    if (!fileExists(systemdRunDir))
        throw Error(flag + ": systemd is not running on this host (" + systemdRunDir +
                    " does not exist), so there is no systemd to create the container's "
                    "cgroup; run without " +
                    flag + " to use the cgroupfs manager");
    return CgroupManager::Systemd;
}

// ---- resources -> writes ---------------------------------------------------------------

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
            if (c.realtimePeriod)
                p.add(place, "cpu.rt_period_us", unum(*c.realtimePeriod), base + ".realtimePeriod",
                      true);
            if (c.realtimeRuntime)
                p.add(place, "cpu.rt_runtime_us", num(*c.realtimeRuntime),
                      base + ".realtimeRuntime", true);
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
    bool any = b.weight || b.leafWeight || !b.weightDevice.empty() ||
               !b.throttleReadBpsDevice.empty() || !b.throttleWriteBpsDevice.empty() ||
               !b.throttleReadIOPSDevice.empty() || !b.throttleWriteIOPSDevice.empty();
    if (!any) return;
    if (place.empty()) {
        p.notApplied(base, "this host has no blkio (v1) or io (v2) controller");
        return;
    }
    auto dev = [](std::int64_t maj, std::int64_t min) { return num(maj) + ":" + num(min); };
    if (place != kUnified) {
        if (b.weight) p.add(place, "blkio.weight", unum(*b.weight), base + ".weight", true);
        if (b.leafWeight)
            p.add(place, "blkio.leaf_weight", unum(*b.leafWeight), base + ".leafWeight", true);
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
    if (b.weight)
        p.add(place, "io.weight", "default " + unum(blkioToIoWeight(*b.weight)), base + ".weight",
              true);
    if (b.leafWeight) p.notApplied(base + ".leafWeight", "cgroup v2 has no leaf weight");
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
            if (place.empty()) {
                p.notApplied(what, "this host has no hugetlb controller");
                continue;
            }
            p.add(place, "hugetlb." + h.pageSize + (place == kUnified ? ".max" : ".limit_in_bytes"),
                  unum(h.limit), what, true);
        }
    }
    if (r.blockIO) planBlockIo(p, *r.blockIO);
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

// ---- devices ------------------------------------------------------------------------------

std::vector<DeviceCgroupRule> defaultDeviceRules() {
    auto c = [](std::int64_t maj, std::optional<std::int64_t> min) {
        DeviceCgroupRule r;
        r.allow = true;
        r.type = "c";
        r.major = maj;
        r.minor = min;
        r.access = "rwm";
        return r;
    };
    // null, zero, full, random, urandom, tty, console, ptmx, pts/*: what runc allows.
    return {c(1, 3), c(1, 5), c(1, 7),
            c(1, 8), c(1, 9), c(5, 0),
            c(5, 1), c(5, 2), c(136, std::nullopt)};
}

std::vector<DeviceCgroupRule> effectiveDeviceRules(const std::vector<DeviceCgroupRule>& specRules,
                                                   const std::vector<Device>& linuxDevices) {
    std::vector<DeviceCgroupRule> out = specRules;
    for (const auto& d : linuxDevices) {
        if (d.type == "p") continue;  // FIFOs are not device-cgroup controlled
        DeviceCgroupRule r;
        r.allow = true;
        r.type = d.type == "b" ? "b" : "c";
        r.major = d.major;
        r.minor = d.minor;
        r.access = "rwm";
        out.push_back(r);
    }
    for (auto& r : defaultDeviceRules()) out.push_back(r);
    return out;
}

namespace {

void validateRule(const DeviceCgroupRule& r, std::size_t i) {
    std::string what = "device cgroup rule " + std::to_string(i);
    if (!r.type.empty() && r.type != "a" && r.type != "c" && r.type != "b")
        throw Error(what + ": type \"" + r.type + "\" is not a, c or b");
    for (char ch : r.access)
        if (ch != 'r' && ch != 'w' && ch != 'm')
            throw Error(what + ": access \"" + r.access + "\" may only contain r, w and m");
    if ((r.major && *r.major < -1) || (r.minor && *r.minor < -1))
        throw Error(what + ": negative device number");
}

std::string access(const DeviceCgroupRule& r) {
    return r.access.empty() ? "rwm" : r.access;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> v1DeviceLines(
    const std::vector<DeviceCgroupRule>& rules) {
    // Start from deny-all (the v1 list inherits the parent's otherwise), then each rule in
    // order; a later rule overrides an earlier one as in the kernel.
    std::vector<std::pair<std::string, std::string>> out = {{"devices.deny", "a"}};
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        validateRule(r, i);
        std::string file = r.allow ? "devices.allow" : "devices.deny";
        std::string type = r.type.empty() ? "a" : r.type;
        auto n = [](const std::optional<std::int64_t>& v) {
            return (!v || *v == -1) ? std::string("*") : std::to_string(*v);
        };
        bool all = type == "a" && n(r.major) == "*" && n(r.minor) == "*" && access(r) == "rwm";
        if (all) {
            out.emplace_back(file, "a");
            continue;
        }
        out.emplace_back(file, type + " " + n(r.major) + ":" + n(r.minor) + " " + access(r));
    }
    return out;
}

namespace {

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
              std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

}  // namespace

std::vector<bpf_insn> deviceFilterProgram(const std::vector<DeviceCgroupRule>& rules) {
    // Context: struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } with
    // access_type = (access << 16) | type. Registers: R2 type, R3 access, R4 major, R5 minor.
    std::vector<bpf_insn> prog = {
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0),
        insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF),
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0),
        insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0),
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0),
    };
    // The last matching rule decides (like the v1 list), so blocks go from last to first
    // and the first block that matches returns.
    for (std::size_t k = rules.size(); k-- > 0;) {
        const auto& r = rules[k];
        validateRule(r, k);
        std::vector<bpf_insn> checks;  // each a conditional jump to the end of this block
        std::vector<std::size_t> jumps;
        std::string type = r.type.empty() ? "a" : r.type;
        if (type != "a") {
            jumps.push_back(checks.size());
            checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                                  type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
        }
        std::int32_t mask = 0;
        for (char ch : access(r))
            mask |= ch == 'r' ? BPF_DEVCG_ACC_READ
                              : (ch == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD);
        const std::int32_t allAccess =
            BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
        if (mask != allAccess) {
            checks.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
            checks.push_back(insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, mask));
            jumps.push_back(checks.size());
            if (r.allow)
                // Allow only when every requested access is allowed by this rule.
                checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
            else
                // Deny when any requested access is denied by this rule.
                checks.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 0, 0));
        }
        if (r.major && *r.major != -1) {
            jumps.push_back(checks.size());
            checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0,
                                  static_cast<std::int32_t>(*r.major)));
        }
        if (r.minor && *r.minor != -1) {
            jumps.push_back(checks.size());
            checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0,
                                  static_cast<std::int32_t>(*r.minor)));
        }
        checks.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r.allow ? 1 : 0));
        checks.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        for (std::size_t j : jumps)
            checks[j].off = static_cast<std::int16_t>(checks.size() - j - 1);
        prog.insert(prog.end(), checks.begin(), checks.end());
        // A rule matching everything decides for all earlier rules: the verifier rejects
        // the unreachable code that would follow it.
        if (jumps.empty()) return prog;
    }
    prog.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
    prog.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return prog;
}

// ---- the executor --------------------------------------------------------------------------

namespace {

long bpfCall(int cmd, bpf_attr* attr) {
    return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

// Loads the device program and attaches it to `dir`, replacing the programs caprun
// attached before (update) only after the new one is in place, so there is no window
// without a filter.
void attachDeviceFilter(const std::string& dir, const std::vector<bpf_insn>& prog) {
    int cgFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgFd < 0) throwErrno("opening cgroup " + dir + " to attach the device filter");
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closeCg{cgFd};

    std::vector<std::uint32_t> old(64);
    bpf_attr q{};
    q.query.target_fd = static_cast<std::uint32_t>(cgFd);
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = reinterpret_cast<std::uint64_t>(old.data());
    q.query.prog_cnt = static_cast<std::uint32_t>(old.size());
    if (bpfCall(BPF_PROG_QUERY, &q) == 0)
        old.resize(q.query.prog_cnt);
    else
        old.clear();

    char logBuf[4096] = {};
    bpf_attr load{};
    static const char license[] = "Apache";
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = reinterpret_cast<std::uint64_t>(prog.data());
    load.insn_cnt = static_cast<std::uint32_t>(prog.size());
    load.license = reinterpret_cast<std::uint64_t>(license);
    load.log_buf = reinterpret_cast<std::uint64_t>(logBuf);
    load.log_size = sizeof logBuf;
    load.log_level = 1;
    int progFd = static_cast<int>(bpfCall(BPF_PROG_LOAD, &load));
    if (progFd < 0) {
        int err = errno;
        throwSys("loading the cgroup v2 device filter (BPF_PROG_LOAD, " +
                     std::to_string(prog.size()) +
                     " instructions; verifier: " + trim(std::string(logBuf)) + ")",
                 err);
    }
    Closer closeProg{progFd};
    bpf_attr at{};
    at.target_fd = static_cast<std::uint32_t>(cgFd);
    at.attach_bpf_fd = static_cast<std::uint32_t>(progFd);
    at.attach_type = BPF_CGROUP_DEVICE;
    at.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpfCall(BPF_PROG_ATTACH, &at) != 0)
        throwErrno("attaching the device filter to " + dir + " (BPF_PROG_ATTACH)");
    for (std::uint32_t id : old) {
        bpf_attr g{};
        g.prog_id = id;
        int oldFd = static_cast<int>(bpfCall(BPF_PROG_GET_FD_BY_ID, &g));
        if (oldFd < 0) continue;
        Closer closeOld{oldFd};
        bpf_attr d{};
        d.target_fd = static_cast<std::uint32_t>(cgFd);
        d.attach_bpf_fd = static_cast<std::uint32_t>(oldFd);
        d.attach_type = BPF_CGROUP_DEVICE;
        if (bpfCall(BPF_PROG_DETACH, &d) != 0)
            log::warn("could not detach the previous device filter (id " + std::to_string(id) +
                      ") from " + dir + ": " + errnoText(errno));
    }
}

std::vector<std::string> controllersOfKey(const std::string& key) {
    return split(key, ',');
}

// Reads the pids of `dir` and all cgroups below it.
void collectPids(const std::string& dir, std::vector<pid_t>& out) {
    std::string text;
    try {
        text = readFile(dir + "/cgroup.procs");
    } catch (const Error&) {
        if (!fileExists(dir)) return;
        throw;
    }
    std::istringstream in(text);
    long pid;
    while (in >> pid) out.push_back(static_cast<pid_t>(pid));
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || e->d_type != DT_DIR) continue;
        collectPids(dir + "/" + name, out);
    }
    ::closedir(d);
}

// The child cgroups of dir; nullopt when dir does not exist.
std::optional<std::vector<std::string>> childCgroups(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) return std::nullopt;
        throwErrno("opening cgroup " + dir + " to remove it");
    }
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != ".." && e->d_type == DT_DIR) children.push_back(name);
    }
    ::closedir(d);
    return children;
}

void removeCgroupDir(const std::string& dir) {
    auto children = childCgroups(dir);
    if (!children) return;
    for (const auto& c : *children) removeCgroupDir(dir + "/" + c);
    // Tasks that were just killed may still be listed for a moment; retry EBUSY.
    for (int attempt = 0;; ++attempt) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
        if (errno != EBUSY || attempt >= 500) throwErrno("removing cgroup " + dir);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

Cgroup Cgroup::place(const CgroupHost& host, const std::string& cgroupsPath,
                     const std::string& id) {
    std::string path = cgroupsPath.empty() ? "caprun/" + id : cgroupsPath;
    if (path.find("..") != std::string::npos)
        throw Error("linux.cgroupsPath \"" + path + "\" must not contain \"..\"");
    if (path.find(':') != std::string::npos && path[0] != '/')
        throw Error("linux.cgroupsPath \"" + path +
                    "\" is in systemd's slice:prefix:name form, which needs the systemd cgroup "
                    "manager (--systemd-cgroup); the cgroupfs manager takes absolute or "
                    "relative directories");
    std::map<std::string, std::string> paths;
    for (const auto& m : host.mounts) {
        std::string selfKey = m.unified ? "" : (m.controllers.empty() ? "" : m.controllers[0]);
        std::string inHierarchy;
        if (path[0] == '/') {
            inHierarchy = path;
        } else {
            auto it = host.selfPaths.find(selfKey);
            inHierarchy = joinPath(it == host.selfPaths.end() ? "/" : it->second, path);
        }
        // The mount shows the hierarchy from m.root; paths are below that.
        std::string rel = inHierarchy;
        if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
        std::string key;
        if (m.unified) {
            key = kUnified;
        } else {
            for (const auto& c : m.controllers) key += (key.empty() ? "" : ",") + c;
        }
        paths[key] = joinPath(m.mountPoint, rel);
    }
    return Cgroup(std::move(paths));
}

namespace {

// Creates `dir` and its missing parents; returns the ones it created, top first.
std::vector<std::string> mkdirs(const std::string& dir) {
    std::vector<std::string> missing;
    std::string cur = dir;
    while (!cur.empty() && cur != "/" && !fileExists(cur)) {
        missing.push_back(cur);
        cur = cur.substr(0, cur.find_last_of('/'));
    }
    std::reverse(missing.begin(), missing.end());
    std::vector<std::string> created;
    for (const auto& d : missing) {
        if (::mkdir(d.c_str(), 0755) == 0) {
            created.push_back(d);
        } else if (errno != EEXIST) {  // EEXIST: another container made it meanwhile, not ours
            int err = errno;
            for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
            throwSys("creating cgroup " + d, err);
        }
    }
    return created;
}

}  // namespace

void Cgroup::create() {
    std::vector<std::string> created;
    try {
        for (const auto& [key, dir] : paths_) {
            auto made = mkdirs(dir);
            created.insert(created.end(), made.begin(), made.end());
            auto ctl = controllersOfKey(key);
            if (std::find(ctl.begin(), ctl.end(), "cpuset") != ctl.end()) {
                // A new v1 cpuset starts with empty cpus and mems and cannot take tasks:
                // copy them down from the parent, as runc does.
                for (const auto& d : made) {
                    std::string parent = d.substr(0, d.find_last_of('/'));
                    for (const char* f : {"cpuset.cpus", "cpuset.mems"})
                        if (trim(readFile(d + "/" + f)).empty())
                            writeFile(d + "/" + f, trim(readFile(parent + "/" + f)), "");
                }
            }
            // On a pure v2 host, delegate the parents' controllers down to the new
            // directories so the container's directory gets memory, cpu, ... files. On a
            // hybrid host the resources live in the v1 hierarchies (as runc does): enabling
            // a controller in the unified root would pin it there, and an administrator could
            // no longer move it to v1 (crun needs hugetlb moved on these machines). Best
            // effort: a parent with processes in it cannot delegate (EBUSY); the later write
            // of a resource file then says which file is missing.
            if (key == kUnified && paths_.size() == 1) {
                for (const auto& d : made) {
                    std::string parent = d.substr(0, d.find_last_of('/'));
                    std::string avail;
                    try {
                        avail = trim(readFile(parent + "/cgroup.controllers"));
                    } catch (const Error&) {
                        continue;
                    }
                    for (const auto& c : split(avail, ' ')) {
                        if (c.empty()) continue;
                        if (int err = writeFileErr(parent + "/cgroup.subtree_control", "+" + c))
                            log::debug("cannot enable " + c + " in " + parent +
                                       "/cgroup.subtree_control: " + errnoText(err));
                    }
                }
            }
        }
    } catch (...) {
        for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
        throw;
    }
    createdParents_.clear();
    for (const auto& d : created) {
        bool leaf = false;
        for (const auto& [key, dir] : paths_) leaf = leaf || d == dir;
        if (!leaf) createdParents_.push_back(d);
    }
}

void Cgroup::enter(pid_t pid) const {
    for (const auto& [key, dir] : paths_)
        writeFile(dir + "/cgroup.procs", std::to_string(pid),
                  "moving pid " + std::to_string(pid) + " into its cgroup");
}

void Cgroup::apply(const Resources& r, const std::vector<Device>& linuxDevices,
                   bool applyDevices) const {
    // Rebuild the host view from our own directories: which controllers are v1 hierarchies
    // and which the unified directory offers.
    CgroupHost host;
    bool v1 = false;
    for (const auto& [key, dir] : paths_) {
        CgroupMount m;
        m.mountPoint = dir;
        m.root = "/";
        if (key == kUnified) {
            m.unified = true;
            try {
                for (const auto& c : split(trim(readFile(dir + "/cgroup.controllers")), ' '))
                    if (!c.empty()) m.controllers.push_back(c);
            } catch (const Error&) {
            }
        } else {
            v1 = true;
            m.controllers = controllersOfKey(key);
        }
        host.mounts.push_back(std::move(m));
    }
    if (host.mounts.empty()) return;
    bool v2 = host.unifiedMount() != nullptr;
    host.layout = v1 && v2 ? CgroupLayout::Hybrid : (v2 ? CgroupLayout::V2 : CgroupLayout::V1);

    auto dirOf = [&](const std::string& controller) -> std::string {
        if (controller == kUnified) return paths_.at(kUnified);
        for (const auto& [key, dir] : paths_) {
            auto c = controllersOfKey(key);
            if (std::find(c.begin(), c.end(), controller) != c.end()) return dir;
        }
        throw Error("no cgroup directory for controller " + controller);
    };

    if (r.memory && r.memory->checkBeforeUpdate.value_or(false) && r.memory->limit &&
        *r.memory->limit > 0) {
        // Refuse to set a limit below what the container already uses.
        std::string dir = dirOf(host.hasV1("memory") ? "memory" : kUnified);
        std::string usageFile = host.hasV1("memory") ? "memory.usage_in_bytes" : "memory.current";
        auto usage = std::stoll(trim(readFile(dir + "/" + usageFile)));
        if (usage > *r.memory->limit)
            throw Error("linux.resources.memory.limit (" + std::to_string(*r.memory->limit) +
                        ") is below the container's current memory usage (" +
                        std::to_string(usage) + ") and checkBeforeUpdate is set");
    }

    CgroupPlan plan = planResourceWrites(r, host);
    for (const auto& n : plan.notApplied) log::warn("not applied on this host: " + n);
    for (std::size_t i = 0; i < plan.writes.size(); ++i) {
        const auto& w = plan.writes[i];
        std::string path = dirOf(w.controller) + "/" + w.file;
        if (w.optional && !fileExists(path)) {
            log::warn(w.what + ": not applied, " + path + " does not exist on this host");
            continue;
        }
        int err = writeFileErr(path, w.value);
        if (err == EINVAL && w.file == "memory.limit_in_bytes" && i + 1 < plan.writes.size() &&
            plan.writes[i + 1].file == "memory.memsw.limit_in_bytes") {
            // Raising both: memory+swap must go up first (the kernel keeps memsw >= memory).
            const auto& sw = plan.writes[i + 1];
            std::string swPath = dirOf(sw.controller) + "/" + sw.file;
            if (fileExists(swPath)) writeFile(swPath, sw.value, sw.what);
            err = writeFileErr(path, w.value);
        }
        if (err != 0) throwSys(w.what + ": writing \"" + w.value + "\" to " + path, err);
    }

    if (!applyDevices) return;
    auto rules = effectiveDeviceRules(r.devices, linuxDevices);
    if (host.hasV1("devices")) {
        std::string dir = dirOf("devices");
        for (const auto& [file, line] : v1DeviceLines(rules))
            writeFile(dir + "/" + file, line, "device cgroup rule");
    } else if (v2) {
        attachDeviceFilter(paths_.at(kUnified), deviceFilterProgram(rules));
    }
}

namespace {

std::string freezerDir(const std::map<std::string, std::string>& paths) {
    for (const auto& [key, dir] : paths) {
        auto c = controllersOfKey(key);
        if (std::find(c.begin(), c.end(), "freezer") != c.end()) return dir;
    }
    return "";
}

}  // namespace

void Cgroup::freeze() const {
    std::string v1 = freezerDir(paths_);
    if (!v1.empty()) {
        // FREEZING can take a while when tasks are busy in the kernel; rewrite until FROZEN.
        for (int attempt = 0; attempt < 1000; ++attempt) {
            writeFile(v1 + "/freezer.state", "FROZEN", "pausing");
            if (trim(readFile(v1 + "/freezer.state")) == "FROZEN") return;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        writeFile(v1 + "/freezer.state", "THAWED", "undoing a pause that did not complete");
        throw Error("pausing: " + v1 + "/freezer.state did not reach FROZEN");
    }
    auto it = paths_.find(kUnified);
    if (it == paths_.end() || !fileExists(it->second + "/cgroup.freeze"))
        throw Error(
            "pausing needs the freezer: this container's cgroup has neither a v1 "
            "freezer nor cgroup.freeze (cgroup v2)");
    writeFile(it->second + "/cgroup.freeze", "1", "pausing");
    for (int attempt = 0; attempt < 2000; ++attempt) {
        if (readFile(it->second + "/cgroup.events").find("frozen 1") != std::string::npos) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    writeFile(it->second + "/cgroup.freeze", "0", "undoing a pause that did not complete");
    throw Error("pausing: " + it->second + "/cgroup.events never reported frozen 1");
}

void Cgroup::thaw() const {
    std::string v1 = freezerDir(paths_);
    if (!v1.empty()) {
        writeFile(v1 + "/freezer.state", "THAWED", "resuming");
        return;
    }
    auto it = paths_.find(kUnified);
    if (it == paths_.end() || !fileExists(it->second + "/cgroup.freeze"))
        throw Error(
            "resuming needs the freezer: this container's cgroup has neither a v1 "
            "freezer nor cgroup.freeze (cgroup v2)");
    writeFile(it->second + "/cgroup.freeze", "0", "resuming");
}

bool Cgroup::frozen() const {
    std::string v1 = freezerDir(paths_);
    if (!v1.empty()) return trim(readFile(v1 + "/freezer.state")) != "THAWED";
    auto it = paths_.find(kUnified);
    if (it == paths_.end() || !fileExists(it->second + "/cgroup.freeze")) return false;
    return trim(readFile(it->second + "/cgroup.freeze")) == "1";
}

std::vector<pid_t> Cgroup::pids() const {
    // The unified hierarchy tracks every process; on v1 pick a hierarchy every container
    // uses.
    std::string dir;
    if (auto it = paths_.find(kUnified); it != paths_.end()) dir = it->second;
    for (const char* pref : {"pids", "freezer", "memory", "devices"}) {
        if (!dir.empty()) break;
        for (const auto& [key, d] : paths_) {
            auto c = controllersOfKey(key);
            if (std::find(c.begin(), c.end(), pref) != c.end()) dir = d;
        }
    }
    if (dir.empty() && !paths_.empty()) dir = paths_.begin()->second;
    std::vector<pid_t> out;
    if (!dir.empty()) collectPids(dir, out);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void Cgroup::killAll(int sig) const {
    // cgroup v2's cgroup.kill (Linux 5.14+) kills the whole subtree at once, processes forked
    // meanwhile and frozen ones included; the unified hierarchy holds every process, hybrid too.
    if (sig == SIGKILL) {
        auto it = paths_.find(kUnified);
        if (it != paths_.end() && fileExists(it->second + "/cgroup.kill")) {
            writeFile(it->second + "/cgroup.kill", "1", "killing every process of the container");
            return;
        }
    }
    for (pid_t pid : pids())
        if (::kill(pid, sig) != 0 && errno != ESRCH)
            throwErrno("sending signal " + std::to_string(sig) + " to pid " + std::to_string(pid));
}

void Cgroup::destroy() const {
    for (const auto& [key, dir] : paths_) removeCgroupDir(dir);
    // Deepest first. A parent with a child cgroup or a process of its own is in use by
    // someone else and stays; otherwise it is removed like the container's own directory
    // (the kernel reports EBUSY until the child just removed has gone offline).
    for (auto it = createdParents_.rbegin(); it != createdParents_.rend(); ++it) {
        try {
            auto children = childCgroups(*it);
            if (!children || !children->empty()) continue;
            if (fileExists(*it + "/cgroup.procs") && !trim(readFile(*it + "/cgroup.procs")).empty())
                continue;
            removeCgroupDir(*it);
        } catch (const Error& e) {
            log::warn(std::string("leaving the cgroup create made: ") + e.what());
        }
    }
}

}  // namespace caprun
