// Linux namespaces of a container: which to create (clone flags), which to join (setns on
// a path), the uid/gid maps and time offsets the parent writes for the child.
//
// Ordering, and why:
// - New namespaces are created by clone3() itself, so the container process is the direct
//   child of the runtime (no intermediate process) and is pid 1 of a new pid namespace.
// - A time namespace cannot be entered before its offsets are written, so the runtime
//   unshare()s CLONE_NEWTIME itself (that only affects its children), writes
//   /proc/self/timens_offsets, and the clone puts the child in it.
// - A cgroup namespace takes the process's cgroup at creation as its root, so the child
//   unshare()s it only after the parent has moved it into the container's cgroup.
// - Paths are joined before new namespaces are created, as runc does: the runtime
//   setns()es into the pid, network, ipc, uts, cgroup and time paths just before clone3
//   (the child is created in them; with a new user namespace the child could no longer
//   join namespaces the host's user namespace owns) and returns to its own right after,
//   so hooks and everything else it does stay on the host. The child joins the user
//   namespace path first and the mount namespace path, before it does anything else.
// - With a new user namespace the parent writes /proc/<child>/{uid,gid}_map while the
//   child waits on the sync socket.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "caprun/host_facts.hpp"
#include "caprun/namespace_kernel.hpp"
#include "caprun/spec.hpp"

namespace caprun {

enum class NamespaceKind { Pid, Mount, Network, Ipc, Uts, User, Cgroup, Time };

// "pid" -> NamespaceKind::Pid; throws Error naming the JSON path for an unknown type.
NamespaceKind namespaceKindFromName(const std::string& type, const std::string& jsonPath);
const char* namespaceName(NamespaceKind kind);      // spec spelling: "network"
const char* namespaceProcName(NamespaceKind kind);  // /proc/<pid>/ns entry: "net"
int namespaceCloneFlag(NamespaceKind kind);         // CLONE_NEWNET, ...

struct NamespaceJoin {
    NamespaceKind kind;
    std::string path;
};

// How the runtime writes a new user namespace's maps. With CAP_SETUID (CAP_SETGID) in its own
// namespace it writes any mapping itself. Without (rootless), the kernel lets it write only
// its own euid (egid) mapped once, and a gid map only after "deny" is written to setgroups;
// anything else goes through the setuid helpers newuidmap/newgidmap, which check the ranges
// of /etc/subuid and /etc/subgid. As runc does rootless.
struct IdMapWrite {
    bool uidHelper = false;      // newuidmap
    bool gidHelper = false;      // newgidmap
    bool setgroupsDeny = false;  // "deny" to /proc/<pid>/setgroups before gid_map
};

struct NamespacePlan {
    std::vector<NamespaceKind> create;  // in spec order
    std::vector<NamespaceJoin> join;    // user first, then spec order
    unsigned long long cloneFlags = 0;  // CLONE_NEW* for clone3: not time, not cgroup
    bool newTime = false;               // handled by the parent's unshare (see above)
    bool newCgroup = false;             // unshared by the child once in its cgroup
    // A new network namespace starts with lo down; runc brings it up. Never for a joined
    // network namespace or the host's.
    bool loopbackUp = false;
    std::vector<IdMapping> uidMappings, gidMappings;
    IdMapWrite idMapWrite;  // planIdMapWrite; the default writes both maps directly
    std::map<std::string, TimeOffset> timeOffsets;

    bool creates(NamespaceKind k) const;
    bool joins(NamespaceKind k) const;
    bool has(NamespaceKind k) const { return creates(k) || joins(k); }
    bool newUserNamespace() const { return creates(NamespaceKind::User); }
};

// Pure: validates and orders linux.namespaces. Errors (with the JSON path): unknown
// type, the same type twice, uid/gid mappings without a new user namespace (or a new user
// namespace without mappings), timeOffsets without a new time namespace.
NamespacePlan planNamespaces(const Spec& spec);

// Pure: how the maps are written by a runtime with `host`'s ids and capabilities.
IdMapWrite planIdMapWrite(const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids,
                          const HostFacts& host);

// "0 100000 65536\n..." as written to /proc/<pid>/uid_map.
std::string formatIdMap(const std::vector<IdMapping>& maps);
// "monotonic 5 0\nboottime 7 0\n" as written to /proc/<pid>/timens_offsets.
std::string formatTimeOffsets(const std::map<std::string, TimeOffset>& offsets);

// ---- executor ----
// Each step goes through a NamespaceKernel (namespace_kernel.hpp); the overloads without one
// use LinuxNamespaceKernel.

// An opened namespace path, kept open (O_CLOEXEC) until the child joins it.
struct OpenedNamespace {
    NamespaceKind kind;
    std::string path;
    int fd = -1;
};

// Opens every path of plan.join in the parent, before anything is created, so a bad path
// fails early: "joining the network namespace: opening /x: No such file or directory";
// "... /x is not a network namespace". Caller closes the fds (closeNamespaces).
std::vector<OpenedNamespace> openJoinedNamespaces(const NamespacePlan& plan);
std::vector<OpenedNamespace> openJoinedNamespaces(const NamespacePlan& plan,
                                                  NamespaceKernel& kernel);
void closeNamespaces(std::vector<OpenedNamespace>& opened);
void closeNamespaces(std::vector<OpenedNamespace>& opened, NamespaceKernel& kernel);

// Whether the parent joins this kind of namespace path before clone (all but user and
// mount, which the child joins).
bool joinedByParent(NamespaceKind kind);

// Parent, before clone: saves its own namespaces, setns()es into the joined paths that
// joinedByParent() says and unshares a new time namespace with its offsets. Returns what
// restoreParentNamespaces() needs to go back.
std::vector<OpenedNamespace> prepareParentNamespaces(const NamespacePlan& plan,
                                                     const std::vector<OpenedNamespace>& opened);
std::vector<OpenedNamespace> prepareParentNamespaces(const NamespacePlan& plan,
                                                     const std::vector<OpenedNamespace>& opened,
                                                     NamespaceKernel& kernel);

// Parent, right after clone: back into its own namespaces; closes `saved`.
void restoreParentNamespaces(std::vector<OpenedNamespace>& saved);
void restoreParentNamespaces(std::vector<OpenedNamespace>& saved, NamespaceKernel& kernel);

// unshare(CLONE_NEWTIME) and the plan's offsets: the caller's children are in the new time
// namespace (prepareParentNamespaces, and a rootless joiner).
void createTimeNamespace(const NamespacePlan& plan);
void createTimeNamespace(const NamespacePlan& plan, NamespaceKernel& kernel);

// Child: setns each opened namespace the parent did not join (user first, then mount).
void joinNamespaces(const std::vector<OpenedNamespace>& opened);
void joinNamespaces(const std::vector<OpenedNamespace>& opened, NamespaceKernel& kernel);

// A process that holds no capability over the opened namespaces (a rootless runtime
// joining its container's user namespace): setns each one in order, user first, so that
// the user namespace's capabilities allow the rest. Pid and time apply to its children.
void joinAllNamespaces(const std::vector<OpenedNamespace>& opened);
void joinAllNamespaces(const std::vector<OpenedNamespace>& opened, NamespaceKernel& kernel);

// Child, in its new network namespace (plan.loopbackUp): sets IFF_UP on "lo".
void bringUpLoopback(const NamespacePlan& plan);
void bringUpLoopback(const NamespacePlan& plan, NamespaceKernel& kernel);

// Child, once in its cgroup: unshare a new cgroup namespace.
void unshareCgroupNamespace(const NamespacePlan& plan);
void unshareCgroupNamespace(const NamespacePlan& plan, NamespaceKernel& kernel);

// Parent: writes gid_map and uid_map of `pid` (new user namespace only), as
// plan.idMapWrite says (setgroups "deny" first, or newgidmap/newuidmap).
void writeIdMaps(pid_t pid, const NamespacePlan& plan);
void writeIdMaps(pid_t pid, const NamespacePlan& plan, NamespaceKernel& kernel);

}  // namespace caprun
