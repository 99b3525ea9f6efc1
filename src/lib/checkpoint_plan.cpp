#include "caprun/checkpoint_plan.hpp"

#include <sched.h>

#include <algorithm>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/json.hpp"

namespace caprun {

namespace {

bool isBindMount(const Mount& m) {
    if (m.type == "bind") return true;
    return std::any_of(m.options.begin(), m.options.end(),
                       [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

bool hasUserNamespace(const Spec& spec) {
    return std::any_of(spec.linux->namespaces.begin(), spec.linux->namespaces.end(),
                       [](const Namespace& n) { return n.type == "user"; });
}

unsigned emptyNsFlags(const std::vector<std::string>& names, const std::string& cmd) {
    unsigned flags = 0;
    for (const auto& n : names) {
        if (n != "network")
            throw Error(cmd + ": --empty-ns " + n +
                        ": only \"network\" can be left empty (as runc accepts)");
        flags |= CLONE_NEWNET;
    }
    return flags;
}

std::string joinPath(const std::string& dir, const std::string& p) {
    if (!p.empty() && p.front() == '/') return p;
    if (dir.empty() || dir.back() == '/') return dir + p;
    return dir + "/" + p;
}

// The key CRIU matches a joined namespace under: runc's names, so images are interchangeable.
std::optional<std::string> externalKey(const std::string& type) {
    if (type == "network") return std::string("extRootNetNS");
    if (type == "pid") return std::string("extRootPidNS");
    return std::nullopt;
}

const char* criuNsName(const std::string& type) {
    return type == "network" ? "net" : "pid";
}

void refuseRootless(const CriuFacts& facts, const std::string& cmd) {
    if (facts.rootless)
        throw Error(cmd +
                    ": not supported in rootless mode: CRIU needs CAP_SYS_ADMIN and "
                    "CAP_CHECKPOINT_RESTORE in the initial user namespace to dump and restore "
                    "another process tree");
}

// The external mounts common to dump and restore: a bind mount's source is outside the
// rootfs, and inside a user namespace the devices and masked files are binds of host nodes.
void addExternalMounts(CriuRequest& r, const Spec& spec, bool restore) {
    for (const auto& m : spec.mounts)
        if (isBindMount(m))
            r.extMounts.emplace_back(m.destination, restore ? m.source : m.destination);
    if (!hasUserNamespace(spec)) return;
    for (const auto& d : spec.linux->devices) r.extMounts.emplace_back(d.path, d.path);
}

}  // namespace

CriuCgroupMode parseCriuCgroupMode(const std::string& text) {
    if (text.empty() || text == "soft") return CriuCgroupMode::Soft;
    if (text == "full") return CriuCgroupMode::Full;
    if (text == "strict") return CriuCgroupMode::Strict;
    if (text == "ignore") return CriuCgroupMode::Ignore;
    if (text == "none") return CriuCgroupMode::None;
    if (text == "props") return CriuCgroupMode::Props;
    throw Error("--manage-cgroups-mode " + text +
                ": invalid value (soft, full, strict, ignore, none or props)");
}

std::string checkpointImageDir(const std::string& imagePath, const std::string& cwd) {
    return joinPath(cwd, imagePath.empty() ? std::string("checkpoint") : imagePath);
}

CriuRequest planCheckpoint(const CheckpointOptions& o, const ContainerState& st,
                           ContainerStatus live, const Spec& spec, const CriuFacts& facts,
                           const std::string& cwd) {
    refuseRootless(facts, "checkpoint");
    if (live != ContainerStatus::Running && live != ContainerStatus::Paused)
        throw Error("checkpoint: container " + st.id + " is " + statusName(live) +
                    ": only a running or paused container can be checkpointed");
    if (!spec.linux) throw Error("checkpoint: " + st.bundle + "/config.json: linux: missing");
    CriuRequest r;
    r.type = o.preDump ? CriuRequestType::PreDump : CriuRequestType::Dump;
    if (o.preDump && !facts.memTrack.value_or(false))
        throw Error(
            "checkpoint --pre-dump: CRIU reports no memory change tracking on this kernel "
            "(soft-dirty bits, CONFIG_MEM_SOFT_DIRTY; `criu check --feature mem_dirty_track`): "
            "a pre-dump could not be followed by an incremental dump");
    r.pid = st.pid;
    r.imagesDir = checkpointImageDir(o.imagePath, cwd);
    r.workDir = o.workPath.empty() ? r.imagesDir : joinPath(cwd, o.workPath);
    r.logFile = "dump.log";
    r.root = st.rootfs;
    r.leaveRunning = o.leaveRunning || o.preDump;  // a pre-dump never stops the container
    r.tcpEstablished = o.tcpEstablished;
    r.extUnixSk = o.extUnixSk;
    r.shellJob = o.shellJob;
    r.fileLocks = o.fileLocks;
    r.autoDedup = o.autoDedup;
    r.trackMem = o.preDump;
    r.parentImage = o.parentPath;
    r.cgroupMode = parseCriuCgroupMode(o.manageCgroupsMode);
    r.emptyNs = emptyNsFlags(o.emptyNs, "checkpoint");
    r.orphanPtsMaster = st.terminal;
    // The v1 freezer when the host has one, else the unified directory (CRIU freezes both).
    if (auto f = st.cgroupPaths.find("freezer"); f != st.cgroupPaths.end())
        r.freezeCgroup = f->second;
    else if (auto u = st.cgroupPaths.find("unified"); u != st.cgroupPaths.end())
        r.freezeCgroup = u->second;
    addExternalMounts(r, spec, false);
    if (hasUserNamespace(spec))
        for (const auto& p : spec.linux->maskedPaths) r.extMounts.emplace_back(p, p);
    // A pipe or socket is restored by its name (runc's descriptors.json); a path is a file of
    // the caller's (a terminal, /dev/null) on a mount the container does not have: external,
    // under CRIU's key for it, so restore can hand over its own fd in its place.
    for (const auto& f : facts.stdio) {
        if (f.link.empty() || f.link.front() != '/') {
            r.descriptors.push_back(f.link);
            continue;
        }
        std::ostringstream key;
        key << "file[" << std::hex << f.mntId << ":" << f.inode << "]";
        r.external.push_back(key.str());
        r.descriptors.push_back(key.str());
    }
    for (const auto& n : spec.linux->namespaces) {
        if (n.path.empty()) continue;
        auto key = externalKey(n.type);
        if (!key)
            throw Error("checkpoint: linux.namespaces: the " + n.type + " namespace is joined (" +
                        n.path +
                        "): CRIU can leave only a joined network or pid namespace outside the "
                        "image, and would restore this one as a new, different namespace");
        auto ino = facts.namespaceInodes.find(n.path);
        if (ino == facts.namespaceInodes.end())
            throw Error("checkpoint: linux.namespaces: cannot find the " + n.type + " namespace " +
                        n.path);
        r.external.push_back(std::string(criuNsName(n.type)) + "[" + std::to_string(ino->second) +
                             "]:" + *key);
    }
    return r;
}

CriuRequest planRestore(const RestoreOptions& o, const Spec& spec, const std::string& rootfs,
                        const std::vector<std::string>& descriptors, const CriuFacts& facts,
                        const std::string& cwd) {
    refuseRootless(facts, "restore");
    if (!spec.linux) throw Error("restore: config.json: linux: required to restore a container");
    if (!spec.process)
        throw Error("restore: config.json: process: required to restore a container");
    if (o.noPivot)
        throw Error(
            "restore --no-pivot: CRIU always pivot_root()s into the restored root, so a rootfs "
            "that cannot be pivoted (a ramdisk) cannot be restored");
    if (spec.process->terminal && o.consoleSocket.empty() && o.detach)
        throw Error("restore: process.terminal is true: --console-socket is required");
    CriuRequest r;
    r.type = CriuRequestType::Restore;
    r.imagesDir = checkpointImageDir(o.imagePath, cwd);
    r.workDir = o.workPath.empty() ? r.imagesDir : joinPath(cwd, o.workPath);
    r.logFile = "restore.log";
    r.root = rootfs;
    r.tcpEstablished = o.tcpEstablished;
    r.fileLocks = o.fileLocks;
    r.cgroupMode = parseCriuCgroupMode(o.manageCgroupsMode);
    r.emptyNs = emptyNsFlags(o.emptyNs, "restore");
    r.restoreIntoSibling = true;
    r.orphanPtsMaster = spec.process->terminal;
    r.lsmProfile = o.lsmProfile;
    r.lsmMountContext = o.lsmMountContext;
    addExternalMounts(r, spec, true);
    if (hasUserNamespace(spec))
        for (const auto& p : spec.linux->maskedPaths) r.extMounts.emplace_back(p, "/dev/null");
    for (const auto& n : spec.linux->namespaces) {
        if (n.path.empty()) continue;
        auto key = externalKey(n.type);
        if (!key)
            throw Error("restore: linux.namespaces: the " + n.type + " namespace is joined (" +
                        n.path + "): CRIU can restore only into a joined network or pid namespace");
        r.inheritNamespaces.emplace_back(*key, n.path);
    }
    for (std::size_t i = 0; i < descriptors.size() && i < 3; ++i)
        if (descriptors[i].rfind("pipe:", 0) == 0 || descriptors[i].rfind("file[", 0) == 0) {
            // One fd per key: the init's fds that shared a file share caprun's first one.
            bool seen = std::any_of(r.inheritStdio.begin(), r.inheritStdio.end(),
                                    [&](const auto& e) { return e.first == descriptors[i]; });
            if (!seen) r.inheritStdio.emplace_back(descriptors[i], static_cast<int>(i));
        }
    return r;
}

std::vector<std::pair<std::string, std::string>> cgroupExternalMounts(
    const Spec& spec, const std::map<std::string, std::string>& cgroupPaths, bool pureV2,
    bool restore) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!spec.linux) return out;
    bool ownCgroupNs = false, userNs = false;
    for (const auto& n : spec.linux->namespaces) {
        if (n.type == "cgroup" && n.path.empty()) ownCgroupNs = true;
        if (n.type == "user") userNs = true;
    }
    if (ownCgroupNs && !userNs) return out;  // a fresh cgroup mount: CRIU's own
    auto m = std::find_if(spec.mounts.begin(), spec.mounts.end(), [](const Mount& mnt) {
        return mnt.type == "cgroup" || mnt.type == "cgroup2";
    });
    if (m == spec.mounts.end()) return out;
    const std::string root = "/sys/fs/cgroup/";
    for (const auto& [controller, dir] : cgroupPaths) {
        if (dir.rfind(root, 0) != 0) continue;
        std::string key = m->destination;
        if (!pureV2) {
            auto slash = dir.find('/', root.size());
            key += "/" + dir.substr(root.size(), slash == std::string::npos ? std::string::npos
                                                                            : slash - root.size());
        }
        bool seen =
            std::any_of(out.begin(), out.end(), [&](const auto& e) { return e.first == key; });
        if (!seen) out.emplace_back(key, restore ? dir : key);
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> criuCgroupRoots(const std::string& procCgroup) {
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(procCgroup);
    std::string line;
    while (std::getline(in, line)) {
        auto a = line.find(':');
        auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        // runc's form: one entry per controller of a co-mounted v1 hierarchy.
        std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        std::size_t start = 0;
        do {
            auto comma = controllers.find(',', start);
            out.emplace_back(controllers.substr(start, comma - start), path);
            start = comma == std::string::npos ? comma : comma + 1;
        } while (start != std::string::npos);
    }
    return out;
}

std::string descriptorsJson(const std::vector<std::string>& links) {
    std::string out = "[";
    for (std::size_t i = 0; i < links.size(); ++i) {
        if (i) out += ",";
        out += json::quote(links[i]);
    }
    return out + "]";
}

}  // namespace caprun
