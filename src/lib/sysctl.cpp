#include "caprun/sysctl.hpp"
#include "caprun/sys/procfs.hpp"
#include "caprun/sys/unique_fd.hpp"

#include <sys/stat.h>

#include <set>

#include "caprun/error.hpp"

namespace caprun {

namespace {

const std::set<std::string>& ipcKeys() {
    static const std::set<std::string> keys = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    return keys;
}

std::string jsonPathOf(const std::string& key) {
    return "linux.sysctl[\"" + key + "\"]";
}

std::optional<JoinedNamespaceFact> probeJoined(const NamespacePlan& ns, NamespaceKind kind) {
    for (const auto& j : ns.join) {
        if (j.kind != kind) continue;
        JoinedNamespaceFact f;
        f.path = j.path;
        const std::string self = std::string("/proc/self/ns/") + namespaceProcName(kind);
        struct stat mine {
        }, theirs{};
        if (::stat(self.c_str(), &mine) != 0)
            f.error = "stat " + self + ": " + errnoText(errno);
        else if (::stat(j.path.c_str(), &theirs) != 0)
            f.error = "stat " + j.path + ": " + errnoText(errno);
        else
            f.isRuntimes = mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
        return f;
    }
    return std::nullopt;
}

// Accepts the key when the container has its own namespace of `kind`.
void judgeNamespaced(SysctlDecision& d, NamespaceKind kind, const NamespacePlan& ns,
                     const std::optional<JoinedNamespaceFact>& joined, const std::string& family) {
    const std::string name = namespaceName(kind);
    d.needs = kind;
    if (ns.creates(kind)) {
        d.allowed = true;
        d.reason = "written in the container's new " + name + " namespace";
        return;
    }
    if (ns.joins(kind) && joined) {
        if (!joined->error.empty()) {
            d.reason = "needs a " + name + " namespace of the container's own; cannot tell " +
                       "whether the joined one (" + joined->path +
                       ") is the runtime's: " + joined->error;
        } else if (joined->isRuntimes) {
            d.reason = "needs a " + name + " namespace of the container's own; the joined one (" +
                       joined->path + ") is the runtime's own, so it would be written into the " +
                       "host's";
        } else {
            d.allowed = true;
            d.reason = "written in the joined " + name + " namespace " + joined->path;
        }
        return;
    }
    d.reason = family + " needs a " + name +
               " namespace of the container's own (add {\"type\": \"" + name +
               "\"} to linux.namespaces); without one it would be written into the host's";
}

}  // namespace

SysctlHostFacts probeSysctlHostFacts(const NamespacePlan& ns) {
    SysctlHostFacts f;
    f.network = probeJoined(ns, NamespaceKind::Network);
    f.ipc = probeJoined(ns, NamespaceKind::Ipc);
    return f;
}

std::string sysctlRelativePath(const std::string& key) {
    auto bad = [&](const std::string& why) {
        return Error("config.json: " + jsonPathOf(key) + ": not a sysctl name (" + why + ")");
    };
    if (key.empty()) throw bad("empty");
    if (key.find('/') != std::string::npos) throw bad("contains '/'");
    std::string out;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = key.find('.', start);
        std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
        if (part.empty()) throw bad("an empty component");
        if (part == "..") throw bad("a \"..\" component");
        if (!out.empty()) out += '/';
        out += part;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return out;
}

SysctlPlan planSysctls(const std::map<std::string, std::string>& sysctl, const NamespacePlan& ns,
                       const SysctlHostFacts& facts) {
    SysctlPlan plan;
    for (const auto& [key, value] : sysctl) {
        SysctlDecision d;
        d.key = key;
        d.value = value;
        d.jsonPath = jsonPathOf(key);
        bool validName = true;
        try {
            sysctlRelativePath(key);
        } catch (const Error&) {
            validName = false;
        }
        if (!validName) {
            d.reason = "not a sysctl name";
        } else if (key.rfind("net.", 0) == 0) {
            judgeNamespaced(d, NamespaceKind::Network, ns, facts.network, "a net.* sysctl");
        } else if (key.rfind("fs.mqueue.", 0) == 0 || ipcKeys().count(key)) {
            judgeNamespaced(d, NamespaceKind::Ipc, ns, facts.ipc, key);
        } else if (key == "kernel.hostname" || key == "kernel.domainname") {
            const std::string field = key == "kernel.hostname" ? "hostname" : "domainname";
            d.reason = "not accepted: set config.json's \"" + field + "\" field instead";
        } else {
            d.reason =
                "not namespaced: it is a host-wide setting, writing it would change the host "
                "(accepted are net.* with a network namespace and fs.mqueue.*, kernel.msgmax, "
                "kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, "
                "kernel.shmmni, kernel.shm_rmid_forced with an ipc namespace)";
        }
        plan.decisions.push_back(std::move(d));
    }
    return plan;
}

bool SysctlPlan::refused() const {
    for (const auto& d : decisions)
        if (!d.allowed) return true;
    return false;
}

std::string SysctlPlan::error() const {
    std::string out;
    for (const auto& d : decisions) {
        if (d.allowed) continue;
        out += (out.empty() ? "config.json: " : "; ") + d.jsonPath + ": " + d.reason;
    }
    return out;
}

std::map<std::string, std::string> SysctlPlan::accepted() const {
    std::map<std::string, std::string> out;
    for (const auto& d : decisions)
        if (d.allowed) out[d.key] = d.value;
    return out;
}

void applySysctls(const std::map<std::string, std::string>& sysctl) {
    if (sysctl.empty()) return;
    UniqueFd proc(sys::openContainerProcfs("linux.sysctl"));
    for (const auto& [key, value] : sysctl)
        sys::writeOnProcfs(proc.fd, "sys/" + sysctlRelativePath(key), value,
                           "setting sysctl " + key);
}

}  // namespace caprun
