#include "caprun/namespaces.hpp"

#include <linux/capability.h>
#include <sched.h>

#include <algorithm>
#include <set>

#include "caprun/error.hpp"
#include "caprun/log.hpp"

namespace caprun {

namespace {

struct KindInfo {
    NamespaceKind kind;
    const char* name;
    const char* procName;
    int flag;
};

constexpr KindInfo kKinds[] = {
    {NamespaceKind::Pid, "pid", "pid", CLONE_NEWPID},
    {NamespaceKind::Mount, "mount", "mnt", CLONE_NEWNS},
    {NamespaceKind::Network, "network", "net", CLONE_NEWNET},
    {NamespaceKind::Ipc, "ipc", "ipc", CLONE_NEWIPC},
    {NamespaceKind::Uts, "uts", "uts", CLONE_NEWUTS},
    {NamespaceKind::User, "user", "user", CLONE_NEWUSER},
    {NamespaceKind::Cgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
    {NamespaceKind::Time, "time", "time", CLONE_NEWTIME},
};

const KindInfo& info(NamespaceKind k) {
    for (const auto& i : kKinds)
        if (i.kind == k) return i;
    throw Error("internal error: unknown namespace kind");
}

}  // namespace

NamespaceKind namespaceKindFromName(const std::string& type, const std::string& jsonPath) {
    for (const auto& i : kKinds)
        if (type == i.name) return i.kind;
    throw Error("config.json: " + jsonPath + ".type: unknown namespace type \"" + type +
                "\" (expected pid, network, mount, ipc, uts, user, cgroup or time)");
}

const char* namespaceName(NamespaceKind kind) {
    return info(kind).name;
}
const char* namespaceProcName(NamespaceKind kind) {
    return info(kind).procName;
}
int namespaceCloneFlag(NamespaceKind kind) {
    return info(kind).flag;
}

bool NamespacePlan::creates(NamespaceKind k) const {
    return std::find(create.begin(), create.end(), k) != create.end();
}

bool NamespacePlan::joins(NamespaceKind k) const {
    return std::any_of(join.begin(), join.end(), [k](const auto& j) { return j.kind == k; });
}

NamespacePlan planNamespaces(const Spec& spec) {
    NamespacePlan plan;
    if (!spec.linux) return plan;
    const Linux& lx = *spec.linux;
    std::set<NamespaceKind> seen;
    std::vector<NamespaceJoin> joins;
    for (std::size_t i = 0; i < lx.namespaces.size(); ++i) {
        const auto& ns = lx.namespaces[i];
        std::string jp = "linux.namespaces[" + std::to_string(i) + "]";
        NamespaceKind k = namespaceKindFromName(ns.type, jp);
        if (!seen.insert(k).second)
            throw Error("config.json: " + jp + ": the " + ns.type +
                        " namespace is listed more than once");
        if (ns.path.empty()) {
            plan.create.push_back(k);
            if (k == NamespaceKind::Network) plan.loopbackUp = true;
            if (k == NamespaceKind::Time)
                plan.newTime = true;
            else if (k == NamespaceKind::Cgroup)
                plan.newCgroup = true;
            else
                plan.cloneFlags |= static_cast<unsigned long long>(info(k).flag);
        } else {
            if (ns.path.front() != '/')
                throw Error("config.json: " + jp + ".path: \"" + ns.path +
                            "\" is not an absolute path");
            joins.push_back({k, ns.path});
        }
    }
    // The user namespace is joined first: the others are usually owned by it.
    std::stable_partition(joins.begin(), joins.end(),
                          [](const auto& j) { return j.kind == NamespaceKind::User; });
    plan.join = std::move(joins);

    plan.uidMappings = lx.uidMappings;
    plan.gidMappings = lx.gidMappings;
    bool hasMaps = !lx.uidMappings.empty() || !lx.gidMappings.empty();
    if (hasMaps && !plan.newUserNamespace())
        throw Error(
            "config.json: linux.uidMappings/gidMappings are set but no new user "
            "namespace is requested in linux.namespaces");
    if (plan.newUserNamespace() && (lx.uidMappings.empty() || lx.gidMappings.empty()))
        throw Error(
            "config.json: a new user namespace needs both linux.uidMappings and "
            "linux.gidMappings");
    plan.timeOffsets = lx.timeOffsets;
    if (!lx.timeOffsets.empty() && !plan.newTime)
        throw Error(
            "config.json: linux.timeOffsets is set but no new time namespace is "
            "requested in linux.namespaces");
    for (const auto& [clock, off] : lx.timeOffsets) {
        if (clock != "monotonic" && clock != "boottime")
            throw Error("config.json: linux.timeOffsets." + clock +
                        ": unknown clock (expected monotonic or boottime)");
        (void)off;
    }
    return plan;
}

std::string formatIdMap(const std::vector<IdMapping>& maps) {
    std::string out;
    for (const auto& m : maps)
        out += std::to_string(m.containerID) + " " + std::to_string(m.hostID) + " " +
               std::to_string(m.size) + "\n";
    return out;
}

std::string formatTimeOffsets(const std::map<std::string, TimeOffset>& offsets) {
    std::string out;
    for (const auto& [clock, off] : offsets)
        out += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
    return out;
}

std::vector<OpenedNamespace> openJoinedNamespaces(const NamespacePlan& plan) {
    LinuxNamespaceKernel k;
    return openJoinedNamespaces(plan, k);
}

std::vector<OpenedNamespace> openJoinedNamespaces(const NamespacePlan& plan, NamespaceKernel& k) {
    std::vector<OpenedNamespace> opened;
    try {
        for (const auto& j : plan.join) {
            std::string what = std::string("joining the ") + namespaceName(j.kind) + " namespace";
            int fd = k.openNamespace(j.path, what + ": opening " + j.path);
            opened.push_back({j.kind, j.path, fd});
            int type = k.namespaceType(fd);
            if (type < 0)
                throw Error(what + ": " + j.path + " is not a namespace file (" + errnoText(-type) +
                            ")");
            if (type != info(j.kind).flag)
                throw Error(what + ": " + j.path + " is not a " + namespaceName(j.kind) +
                            " namespace");
        }
    } catch (...) {
        closeNamespaces(opened, k);
        throw;
    }
    return opened;
}

void closeNamespaces(std::vector<OpenedNamespace>& opened) {
    LinuxNamespaceKernel k;
    closeNamespaces(opened, k);
}

void closeNamespaces(std::vector<OpenedNamespace>& opened, NamespaceKernel& k) {
    for (auto& o : opened)
        if (o.fd >= 0) k.close(o.fd);
    opened.clear();
}

namespace {
void enterNamespace(const OpenedNamespace& o, NamespaceKernel& k) {
    k.setns(o.fd, info(o.kind).flag,
            std::string("joining the ") + namespaceName(o.kind) + " namespace " + o.path);
}
}  // namespace

bool joinedByParent(NamespaceKind kind) {
    return kind != NamespaceKind::User && kind != NamespaceKind::Mount;
}

std::vector<OpenedNamespace> prepareParentNamespaces(const NamespacePlan& plan,
                                                     const std::vector<OpenedNamespace>& opened) {
    LinuxNamespaceKernel k;
    return prepareParentNamespaces(plan, opened, k);
}

std::vector<OpenedNamespace> prepareParentNamespaces(const NamespacePlan& plan,
                                                     const std::vector<OpenedNamespace>& opened,
                                                     NamespaceKernel& k) {
    std::vector<OpenedNamespace> saved;
    // Pid and time: setns/unshare change only what children get; the runtime's own (active)
    // namespace is where it returns.
    auto save = [&saved, &k](NamespaceKind kind) {
        std::string path = std::string("/proc/self/ns/") + namespaceProcName(kind);
        int fd = k.openNamespace(path, "opening the runtime's own namespace " + path);
        saved.push_back({kind, path, fd});
    };
    try {
        for (const auto& o : opened) {
            if (!joinedByParent(o.kind)) continue;
            save(o.kind);
            enterNamespace(o, k);
        }
        if (plan.newTime) {
            save(NamespaceKind::Time);
            createTimeNamespace(plan, k);
        }
    } catch (...) {
        try {
            restoreParentNamespaces(saved, k);
        } catch (const Error& e) {
            log::error(e.what());  // the first failure is the one reported
        }
        throw;
    }
    return saved;
}

void createTimeNamespace(const NamespacePlan& plan) {
    LinuxNamespaceKernel k;
    createTimeNamespace(plan, k);
}

void createTimeNamespace(const NamespacePlan& plan, NamespaceKernel& k) {
    k.unshare(CLONE_NEWTIME, "creating a time namespace");
    if (!plan.timeOffsets.empty())
        k.writeProcFile("/proc/self/timens_offsets", formatTimeOffsets(plan.timeOffsets),
                        "setting the time namespace offsets");
}

void restoreParentNamespaces(std::vector<OpenedNamespace>& saved) {
    LinuxNamespaceKernel k;
    restoreParentNamespaces(saved, k);
}

void restoreParentNamespaces(std::vector<OpenedNamespace>& saved, NamespaceKernel& k) {
    std::string failed;
    for (auto& s : saved) {
        try {
            k.setns(s.fd, info(s.kind).flag, s.path);  // the error reads "<path>: <errno text>"
        } catch (const Error& e) {
            failed += (failed.empty() ? "" : ", ") + std::string(e.what());
        }
    }
    closeNamespaces(saved, k);
    // The runtime would go on (hooks, cgroups) inside the container's namespaces.
    if (!failed.empty()) throw Error("returning to the runtime's own namespaces: " + failed);
}

void joinNamespaces(const std::vector<OpenedNamespace>& opened) {
    LinuxNamespaceKernel k;
    joinNamespaces(opened, k);
}

void joinNamespaces(const std::vector<OpenedNamespace>& opened, NamespaceKernel& k) {
    for (const auto& o : opened) {
        if (!joinedByParent(o.kind)) enterNamespace(o, k);
    }
}

void joinAllNamespaces(const std::vector<OpenedNamespace>& opened) {
    LinuxNamespaceKernel k;
    joinAllNamespaces(opened, k);
}

void joinAllNamespaces(const std::vector<OpenedNamespace>& opened, NamespaceKernel& k) {
    auto user = std::find_if(opened.begin(), opened.end(),
                             [](const auto& o) { return o.kind == NamespaceKind::User; });
    if (user != opened.end()) enterNamespace(*user, k);
    for (const auto& o : opened)
        if (o.kind != NamespaceKind::User && o.kind != NamespaceKind::Mount) enterNamespace(o, k);
    for (const auto& o : opened)
        if (o.kind == NamespaceKind::Mount) enterNamespace(o, k);
}

void bringUpLoopback(const NamespacePlan& plan) {
    LinuxNamespaceKernel k;
    bringUpLoopback(plan, k);
}

void bringUpLoopback(const NamespacePlan& plan, NamespaceKernel& k) {
    if (plan.loopbackUp) k.bringUpInterface("lo");
}

void unshareCgroupNamespace(const NamespacePlan& plan) {
    LinuxNamespaceKernel k;
    unshareCgroupNamespace(plan, k);
}

void unshareCgroupNamespace(const NamespacePlan& plan, NamespaceKernel& k) {
    if (plan.newCgroup) k.unshare(CLONE_NEWCGROUP, "creating the cgroup namespace");
}

void writeIdMaps(pid_t pid, const NamespacePlan& plan) {
    LinuxNamespaceKernel k;
    writeIdMaps(pid, plan, k);
}

namespace {

bool onlyOwnId(const std::vector<IdMapping>& maps, std::uint32_t own) {
    return maps.size() == 1 && maps[0].size == 1 && maps[0].hostID == own;
}

std::vector<std::string> helperArgs(const std::vector<IdMapping>& maps) {
    std::vector<std::string> a;
    for (const auto& m : maps)
        for (std::uint32_t v : {m.containerID, m.hostID, m.size}) a.push_back(std::to_string(v));
    return a;
}

}  // namespace

IdMapWrite planIdMapWrite(const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids,
                          const HostFacts& host) {
    IdMapWrite w;
    const bool setuid = (host.caps.effective & capBit(CAP_SETUID)) != 0;
    const bool setgid = (host.caps.effective & capBit(CAP_SETGID)) != 0;
    w.uidHelper = !setuid && !onlyOwnId(uids, host.euid);
    w.gidHelper = !setgid && !onlyOwnId(gids, host.egid);
    w.setgroupsDeny = !setgid && !w.gidHelper;
    return w;
}

void writeIdMaps(pid_t pid, const NamespacePlan& plan, NamespaceKernel& k) {
    if (!plan.newUserNamespace()) return;
    std::string base = "/proc/" + std::to_string(pid) + "/";
    const IdMapWrite& w = plan.idMapWrite;
    if (w.setgroupsDeny)
        k.writeProcFile(base + "setgroups", "deny",
                        "denying setgroups (the kernel's condition for an unprivileged gid_map)");
    if (w.gidHelper)
        k.runIdMapHelper("newgidmap", pid, helperArgs(plan.gidMappings),
                         "writing the gid mappings");
    else
        k.writeProcFile(base + "gid_map", formatIdMap(plan.gidMappings),
                        "writing the gid mappings");
    if (w.uidHelper)
        k.runIdMapHelper("newuidmap", pid, helperArgs(plan.uidMappings),
                         "writing the uid mappings");
    else
        k.writeProcFile(base + "uid_map", formatIdMap(plan.uidMappings),
                        "writing the uid mappings");
}

}  // namespace caprun
