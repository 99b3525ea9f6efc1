#include "caprun/cgroup_host.hpp"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "caprun/cgroup_fs.hpp"
#include "caprun/error.hpp"
#include "caprun/sys/mountinfo.hpp"
#include "caprun/systemd_bus.hpp"

namespace caprun {

using namespace cgfs;

namespace {

bool isV1MountOption(const std::string& o) {
    static const std::set<std::string> nonControllers = {
        "rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods"};
    return nonControllers.count(o) == 0 && o.rfind("release_agent=", 0) != 0;
}

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
    std::set<std::string> seenHierarchies;
    for (const auto& e : sys::parseMountInfo(mountinfo)) {
        if (e.fsType != "cgroup" && e.fsType != "cgroup2") continue;
        CgroupMount m;
        m.root = e.root;
        m.mountPoint = e.mountPoint;
        m.unified = e.fsType == "cgroup2";
        if (m.unified) {
            for (const auto& c : split(trim(unifiedControllers), ' '))
                if (!c.empty()) m.controllers.push_back(c);
        } else {
            for (const auto& o : split(e.superOptions, ','))
                if (isV1MountOption(o)) m.controllers.push_back(o);
        }
        // The same hierarchy can be mounted more than once; the first mount is used.
        std::string key = m.unified ? "cgroup2" : e.superOptions;
        if (!seenHierarchies.insert(key).second) continue;
        host.mounts.push_back(std::move(m));
    }
    bool v1 = false, v2 = false;
    for (const auto& m : host.mounts) (m.unified ? v2 : v1) = true;
    if (!v1 && !v2) throw Error("no cgroup hierarchy is mounted (looked in /proc/self/mountinfo)");
    host.layout = v1 && v2 ? CgroupLayout::Hybrid : (v2 ? CgroupLayout::V2 : CgroupLayout::V1);

    for (const auto& e : sys::parseProcCgroup(procSelfCgroup)) {
        if (e.controllers.empty())
            host.selfPaths[""] = e.path;
        else
            for (const auto& c : e.controllers) host.selfPaths[c] = e.path;
    }
    return host;
}

std::string hugepageSizeName(std::uint64_t kB) {
    if (kB >= (1u << 20)) return std::to_string(kB >> 20) + "GB";
    if (kB >= (1u << 10)) return std::to_string(kB >> 10) + "MB";
    return std::to_string(kB) + "KB";
}

std::vector<std::string> hugepageSizesFromEntries(const std::vector<std::string>& entries) {
    static const std::string prefix = "hugepages-", suffix = "kB";
    std::vector<std::uint64_t> kBs;
    for (const auto& e : entries) {
        if (e.size() <= prefix.size() + suffix.size() || e.rfind(prefix, 0) != 0 ||
            e.compare(e.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        std::string digits = e.substr(prefix.size(), e.size() - prefix.size() - suffix.size());
        if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
        kBs.push_back(std::stoull(digits));
    }
    std::sort(kBs.begin(), kBs.end());
    std::vector<std::string> out;
    for (auto kB : kBs) out.push_back(hugepageSizeName(kB));
    return out;
}

std::vector<std::string> readHugepageSizes(const std::string& dir) {
    std::vector<std::string> entries;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) return {};  // a kernel without huge pages
        throwErrno("listing the huge page sizes in " + dir);
    }
    while (dirent* e = ::readdir(d)) entries.emplace_back(e->d_name);
    ::closedir(d);
    return hugepageSizesFromEntries(entries);
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
    CgroupHost host = controllers.empty() ? first : parseCgroupHost(mountinfo, self, controllers);
    host.hugepageSizes = readHugepageSizes();
    return host;
}

CgroupManager selectCgroupManager(const RuntimeContext& g, const std::string& systemdRunDir) {
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

}  // namespace caprun
