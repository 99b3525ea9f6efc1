// linux.sysctl: which keys the container may set, and writing them through its own procfs.
//
// /proc/sys is mostly global: only the keys of a namespace the container has its own
// instance of are safe to write, the rest would change the host. Accepted:
// - net.* with a network namespace of its own: a new one, or a joined path that is not the
//   runtime's own network namespace (as runc does: "host" is the runtime's current one);
// - fs.mqueue.*, kernel.msgmax/msgmnb/msgmni, kernel.sem, kernel.shmall/shmmax/shmmni,
//   kernel.shm_rmid_forced with an ipc namespace of its own (new, or joined and not the
//   runtime's own: the same rule as for net.*).
// Refused: kernel.hostname and kernel.domainname (config.json's hostname/domainname set
// them), and every other key (not namespaced: it would be written into the host).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/namespaces.hpp"

namespace caprun {

// For a joined namespace path: is it the runtime's own namespace (st_dev/st_ino of the
// path equal to /proc/self/ns/<x>)? Unset when it could not be checked (`error` says why).
struct JoinedNamespaceFact {
    std::string path;
    bool isRuntimes = false;
    std::string error;  // non-empty: stat failed
};

// What the planner needs to know about this host: the joined network and ipc paths.
struct SysctlHostFacts {
    std::optional<JoinedNamespaceFact> network, ipc;
};

// Stats the joined network/ipc paths of `ns` against the runtime's own namespaces. Never
// throws: a failure is recorded in the fact.
SysctlHostFacts probeSysctlHostFacts(const NamespacePlan& ns);

struct SysctlDecision {
    std::string key, value;
    std::string jsonPath;                // linux.sysctl["net.ipv4.ip_forward"]
    std::optional<NamespaceKind> needs;  // the namespace the key belongs to, if any
    bool allowed = false;
    std::string reason;  // why it is accepted or refused (a sentence fragment)
};

struct SysctlPlan {
    std::vector<SysctlDecision> decisions;  // in key order
    bool refused() const;
    // "config.json: linux.sysctl["x"]: <reason>; ..." naming every refused key; empty if none.
    std::string error() const;
    // The accepted keys, as the init writes them.
    std::map<std::string, std::string> accepted() const;
};

// Pure: one decision per key of `sysctl`.
SysctlPlan planSysctls(const std::map<std::string, std::string>& sysctl, const NamespacePlan& ns,
                       const SysctlHostFacts& facts);

// "net.ipv4.ip_forward" -> "net/ipv4/ip_forward"; throws Error naming the JSON path for a key
// that is not a sysctl name (empty, a '/', an empty or "." / ".." component).
std::string sysctlRelativePath(const std::string& key);

// ---- executor (in the init, after the root switch, before /proc/sys is made read-only) ----

// Opens the container's /proc (no symlink followed), checks it is procfs (fstatfs
// PROC_SUPER_MAGIC), opens sys beneath it on the same mount and writes each key relative
// to that fd (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV), so nothing
// in the rootfs can redirect a write. Errors name the key.
void applySysctls(const std::map<std::string, std::string>& sysctl);

}  // namespace caprun
