// The pure half of rootfs.hpp: the rootfs plan from the spec (mounts, devices, what a
// container without a mount namespace of its own may not ask for).
#include <sys/mount.h>

#include <sstream>

#include "caprun/error.hpp"
#include "caprun/idmap.hpp"
#include "caprun/rootfs.hpp"

namespace caprun {

std::vector<PlannedDevice> defaultDevices() {
    return {
        {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
        {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
        {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
    };
}

namespace {

bool gidMapped(const Spec& spec, std::uint64_t gid) {
    for (const auto& m : spec.linux->gidMappings)
        if (gid >= m.containerID && gid - m.containerID < m.size) return true;
    return false;
}

bool ownNetworkNamespace(const Spec& spec) {
    for (const auto& ns : spec.linux->namespaces)
        if (ns.type == "network" && ns.path.empty()) return true;
    return false;
}

// Mounts the kernel refuses in a new user namespace are made the way runc makes them
// rootless; each change is a note that check prints.
void adaptToUserNamespace(const Spec& spec, PlannedMount& pm, std::vector<std::string>& notes) {
    if (!spec.linux) return;
    if (pm.type == "devpts") {
        // devpts refuses (EINVAL) a gid= that the user namespace does not map.
        std::vector<std::string> kept;
        std::stringstream in(pm.options.data);
        std::string word;
        while (std::getline(in, word, ',')) {
            if (word.rfind("gid=", 0) == 0) {
                std::uint64_t gid = 0;
                bool number = word.size() > 4 && word.size() <= 14 &&
                              word.find_first_not_of("0123456789", 4) == std::string::npos;
                if (number) gid = std::stoull(word.substr(4));
                if (number && !gidMapped(spec, gid)) {
                    notes.push_back(pm.jsonPath + ": " + word +
                                    " left out: the container's user namespace does not map "
                                    "that group, and devpts refuses a gid it cannot map; a "
                                    "pty gets the group of the process that opens it");
                    continue;
                }
            }
            kept.push_back(word);
        }
        std::string data;
        for (const auto& w : kept) data += (data.empty() ? "" : ",") + w;
        pm.options.data = data;
    } else if (pm.kind == MountKind::Sysfs && !ownNetworkNamespace(spec)) {
        // sysfs can only be mounted by the user namespace that owns the network namespace.
        pm.kind = MountKind::Bind;
        pm.type = "bind";
        pm.source = "/sys";
        pm.options.bind = pm.options.recursive = true;
        pm.options.flags |= MS_RDONLY;
        pm.options.data.clear();
        notes.push_back(pm.jsonPath +
                        ": sysfs needs a network namespace of the container's own inside a "
                        "new user namespace; the host's /sys is bound read-only instead");
    }
}

}  // namespace

RootfsPlan planRootfs(const Spec& spec, const std::string& bundle, bool noPivot,
                      bool newUserNamespace, bool newCgroupNamespace, bool ownMountNamespace) {
    RootfsPlan plan;
    if (spec.root.path.empty()) throw Error("config.json: root.path is missing or empty");
    plan.ownMountNamespace = ownMountNamespace;
    plan.sourcesFromRuntime = newUserNamespace;
    if (spec.process && !spec.process->cwd.empty()) plan.cwd = spec.process->cwd;
    if (spec.process && spec.process->terminal) {
        plan.consoleOnDev = ownMountNamespace;
        if (!ownMountNamespace)
            plan.notes.push_back(
                "process.terminal: /dev/console is not bound to the pty: the container shares "
                "the runtime's mount namespace, where the bind would outlive it");
    }
    if (!ownMountNamespace) {
        // These would be applied to mounts the host shares; runc refuses the first two too.
        const std::string why =
            " needs a mount namespace of the container's own (add {\"type\": \"mount\"} to "
            "linux.namespaces)";
        if (spec.root.readonly) throw Error("config.json: root.readonly" + why);
        if (spec.linux && !spec.linux->maskedPaths.empty())
            throw Error("config.json: linux.maskedPaths" + why);
        if (spec.linux && !spec.linux->readonlyPaths.empty())
            throw Error("config.json: linux.readonlyPaths" + why);
        if (spec.linux && !spec.linux->rootfsPropagation.empty())
            throw Error("config.json: linux.rootfsPropagation" + why);
    }
    plan.rootfs = spec.root.path.front() == '/' ? spec.root.path : bundle + "/" + spec.root.path;
    plan.readonly = spec.root.readonly;
    plan.noPivot = noPivot;
    plan.inUserNamespace = newUserNamespace;
    if (newUserNamespace) plan.deviceBindFlags = MS_NOSUID | MS_NOEXEC;
    plan.newCgroupNamespace = newCgroupNamespace;
    plan.rootPropagation = MS_SLAVE | MS_REC;
    if (spec.linux && !spec.linux->rootfsPropagation.empty()) {
        unsigned long p =
            propagationFlags(spec.linux->rootfsPropagation, "config.json: linux.rootfsPropagation");
        // pivot_root refuses a shared parent, and an unbindable rootfs cannot be bound on
        // itself: both start from rslave and get their propagation after the pivot.
        if (!(p & (MS_SHARED | MS_UNBINDABLE))) plan.rootPropagation = p;
        plan.finalPropagation = p;
    }
    for (const auto& m : spec.mounts) {
        PlannedMount pm;
        pm.jsonPath = m.jsonPath;
        if (m.destination.empty() || m.destination.front() != '/')
            throw Error("config.json: " + m.jsonPath + ".destination: \"" + m.destination +
                        "\" is not an absolute path");
        pm.destination = m.destination;
        pm.type = m.type;
        pm.options = parseMountOptions(m.options);
        if (pm.options.bind || m.type == "bind") {
            pm.kind = MountKind::Bind;
            pm.options.bind = true;
            // The kernel ignores data for a bind (runc and crun pass it and it has no
            // effect): run it, but say so rather than drop it silently.
            if (!pm.options.data.empty()) {
                plan.warnings.push_back(m.jsonPath + ".options: \"" + pm.options.data +
                                        "\" has no effect: the kernel ignores filesystem data "
                                        "for a bind mount (runc and crun ignore it too)");
                plan.notes.push_back(plan.warnings.back());
                pm.options.data.clear();
            }
            if (pm.options.tmpcopyup)
                throw Error("config.json: " + m.jsonPath +
                            ".options: tmpcopyup applies to tmpfs mounts, not to a bind");
            if (m.source.empty())
                throw Error("config.json: " + m.jsonPath + ".source: a bind mount needs a source");
            pm.source = m.source.front() == '/' ? m.source : bundle + "/" + m.source;
        } else {
            pm.source = m.source;
            if (m.type == "proc")
                pm.kind = MountKind::Proc;
            else if (m.type == "sysfs")
                pm.kind = MountKind::Sysfs;
            else if (m.type == "cgroup" || m.type == "cgroup2")
                pm.kind = MountKind::Cgroup;
            else if (m.type.empty())
                throw Error("config.json: " + m.jsonPath +
                            ".type: missing (only bind mounts may omit it)");
        }
        planIdmap(spec, m, newUserNamespace, pm);
        if (newUserNamespace) adaptToUserNamespace(spec, pm, plan.notes);
        plan.mounts.push_back(std::move(pm));
    }
    plan.devices = defaultDevices();
    if (spec.linux) {
        for (std::size_t i = 0; i < spec.linux->devices.size(); ++i) {
            const auto& d = spec.linux->devices[i];
            std::string jp = "config.json: linux.devices[" + std::to_string(i) + "]";
            PlannedDevice pd;
            pd.path = cleanAbsolutePath(d.path, jp + ".path");
            if (pd.path == "/") throw Error(jp + ".path: \"" + d.path + "\" names no file");
            if (d.type == "c" || d.type == "u")
                pd.type = 'c';
            else if (d.type == "b")
                pd.type = 'b';
            else if (d.type == "p")
                pd.type = 'p';
            else
                throw Error(jp + ".type: \"" + d.type + "\" is not one of c, b, u, p");
            pd.major = d.major;
            pd.minor = d.minor;
            pd.fileMode = d.fileMode.value_or(0666);
            pd.uid = d.uid.value_or(0);
            pd.gid = d.gid.value_or(0);
            bool replaced = false;
            for (auto& existing : plan.devices)
                if (existing.path == pd.path) {
                    existing = pd;
                    replaced = true;
                }
            if (!replaced) plan.devices.push_back(pd);
        }
        plan.maskedPaths = spec.linux->maskedPaths;
        plan.readonlyPaths = spec.linux->readonlyPaths;
    }
    plan.devSymlinks = {{"/dev/fd", "/proc/self/fd"},
                        {"/dev/stdin", "/proc/self/fd/0"},
                        {"/dev/stdout", "/proc/self/fd/1"},
                        {"/dev/stderr", "/proc/self/fd/2"},
                        {"/dev/ptmx", "pts/ptmx"}};
    return plan;
}

std::string cleanAbsolutePath(const std::string& path, const std::string& jsonPath) {
    if (path.empty() || path.front() != '/')
        throw Error(jsonPath + ": \"" + path + "\" is not an absolute path");
    std::vector<std::string> parts;
    std::stringstream in(path);
    std::string c;
    while (std::getline(in, c, '/')) {
        if (c.empty() || c == ".") continue;
        if (c == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(c);
    }
    std::string out;
    for (const auto& c : parts) out += "/" + c;
    return out.empty() ? "/" : out;
}

}  // namespace caprun
