#include "caprun/cgroup_host.hpp"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <sstream>

#include "caprun/cgroup_fs.hpp"
#include "caprun/error.hpp"
#include "caprun/systemd_bus.hpp"

namespace caprun {

using namespace cgfs;

namespace {

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
