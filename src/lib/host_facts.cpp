#include "caprun/host_facts.hpp"
#include "caprun/kernel_facilities.hpp"

#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/rootless.hpp"

namespace caprun {

namespace {

std::optional<std::string> readFirstLine(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
}

int highestBit(CapMask m) {
    for (int i = 63; i >= 0; --i)
        if (m & capBit(i)) return i;
    return -1;
}

// Facts other than the capability sets, from the running process.
void probeNonCapFacts(HostFacts& h) {
    h.euid = ::geteuid();
    h.egid = ::getegid();
    if (std::string m = RootlessFacts::probe().uidMap; !m.empty())
        h.initialUserNamespace = isInitialUserNamespaceMap(m);
    if (int sb = ::prctl(PR_GET_SECUREBITS, 0, 0, 0, 0); sb >= 0)
        h.securebits = static_cast<unsigned>(sb);
    utsname u{};
    if (::uname(&u) == 0) h.kernelRelease = u.release;
    for (const auto& [name, num] : rlimitNumbers()) {
        rlimit rl{};
        if (::getrlimit(num, &rl) == 0) h.rlimits[name] = {rl.rlim_cur, rl.rlim_max};
    }
    if (auto l = readFirstLine("/proc/self/oom_score_adj")) h.oomScoreAdj = std::stoi(*l);
    h.missingFacilities = probeMissingFacilities(
        [](const std::string& path) { return ::access(path.c_str(), F_OK) == 0; });
}

}  // namespace

const std::map<std::string, int>& rlimitNumbers() {
    static const std::map<std::string, int> m = {{"RLIMIT_AS", RLIMIT_AS},
                                                 {"RLIMIT_CORE", RLIMIT_CORE},
                                                 {"RLIMIT_CPU", RLIMIT_CPU},
                                                 {"RLIMIT_DATA", RLIMIT_DATA},
                                                 {"RLIMIT_FSIZE", RLIMIT_FSIZE},
                                                 {"RLIMIT_LOCKS", RLIMIT_LOCKS},
                                                 {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
                                                 {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
                                                 {"RLIMIT_NICE", RLIMIT_NICE},
                                                 {"RLIMIT_NOFILE", RLIMIT_NOFILE},
                                                 {"RLIMIT_NPROC", RLIMIT_NPROC},
                                                 {"RLIMIT_RSS", RLIMIT_RSS},
                                                 {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
                                                 {"RLIMIT_RTTIME", RLIMIT_RTTIME},
                                                 {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
                                                 {"RLIMIT_STACK", RLIMIT_STACK}};
    return m;
}

namespace {

// The five sets from the kernel one call per bit: capget through libcap for the classic
// three, prctl for bounding and ambient. Where /proc/self/status cannot be read.
void probeCapsBySyscalls(HostFacts& h) {
    cap_t c = cap_get_proc();
    if (c == nullptr) throwErrno("reading the runtime's capabilities (capget)");
    for (int i = 0; i <= h.capLastCap && i < 64; ++i) {
        cap_flag_value_t v = CAP_CLEAR;
        auto cv = static_cast<cap_value_t>(i);
        if (cap_get_flag(c, cv, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
            h.caps.effective |= capBit(i);
        if (cap_get_flag(c, cv, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
            h.caps.permitted |= capBit(i);
        if (cap_get_flag(c, cv, CAP_INHERITABLE, &v) == 0 && v == CAP_SET)
            h.caps.inheritable |= capBit(i);
        if (::prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1) h.caps.bounding |= capBit(i);
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1)
            h.caps.ambient |= capBit(i);
    }
    cap_free(c);
}

}  // namespace

HostFacts HostFacts::probe() {
    HostFacts h;
    if (auto l = readFirstLine("/proc/sys/kernel/cap_last_cap")) h.capLastCap = std::stoi(*l);
    // The kernel prints all five sets in /proc/self/status: one read instead of 2 prctl calls
    // per capability, which were most of check's system calls.
    std::ifstream in("/proc/self/status");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool fromStatus = false;
    if (in && !text.empty()) {
        try {
            readProcStatusCaps(h, text, "/proc/self/status", h.capLastCap);
            fromStatus = true;
        } catch (const Error&) {
            h.caps = {};  // a kernel without CapAmb: ask the kernel bit by bit
        }
    }
    if (!fromStatus) probeCapsBySyscalls(h);
    probeNonCapFacts(h);
    return h;
}

HostFacts HostFacts::fromProcStatus(const std::string& path, std::optional<int> capLastCap) {
    std::ifstream in(path);
    if (!in) {
        int err = errno;
        if (err == ENOENT) throw Error("--host-status: " + path + " does not exist");
        throwSys("--host-status: reading " + path, err);
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throwSys("--host-status: reading " + path, errno);
    HostFacts h;
    probeNonCapFacts(h);
    h.source = "host status file " + path;
    readProcStatusCaps(h, text, path, capLastCap);
    return h;
}

void HostFacts::readProcStatusCaps(HostFacts& h, std::string_view text, const std::string& path,
                                   std::optional<int> capLastCap) {
    std::istringstream in{std::string(text)};
    const std::pair<const char*, CapSetKind> fields[] = {{"CapInh", CapSetKind::Inheritable},
                                                         {"CapPrm", CapSetKind::Permitted},
                                                         {"CapEff", CapSetKind::Effective},
                                                         {"CapBnd", CapSetKind::Bounding},
                                                         {"CapAmb", CapSetKind::Ambient}};
    bool seen[5] = {};
    std::string line;
    int lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        for (std::size_t i = 0; i < 5; ++i) {
            if (key != fields[i].first) continue;
            std::istringstream vs(line.substr(colon + 1));
            std::string hex;
            vs >> hex;
            auto mask = parseCapMaskHex(hex);
            if (!mask)
                throw Error("--host-status: " + path + " line " + std::to_string(lineNo) + ": " +
                            key + " is not a hex capability mask: \"" + hex + "\"");
            h.caps[fields[i].second] = *mask;
            seen[i] = true;
        }
    }
    for (std::size_t i = 0; i < 5; ++i)
        if (!seen[i])
            throw Error("--host-status: " + path + " has no " + fields[i].first +
                        " line; give a copy of /proc/<pid>/status");
    if (capLastCap) {
        h.capLastCap = *capLastCap;
    } else {
        h.capLastCap = highestBit(h.caps.bounding);
        if (h.capLastCap < 0)
            throw Error("--host-status: " + path +
                        " has an empty CapBnd, so cap_last_cap cannot be inferred; give "
                        "--host-cap-last N");
    }
}

std::optional<bool> probeJoinedSetgroups(const Spec& spec) {
    if (!spec.linux) return std::nullopt;
    for (const auto& ns : spec.linux->namespaces) {
        if (ns.type != "user" || ns.path.empty()) continue;
        const std::string prefix = "/proc/", suffix = "/ns/user";
        const std::string& p = ns.path;
        if (p.size() <= prefix.size() + suffix.size() || p.compare(0, prefix.size(), prefix) != 0 ||
            p.compare(p.size() - suffix.size(), suffix.size(), suffix) != 0)
            return std::nullopt;
        std::string pid = p.substr(prefix.size(), p.size() - prefix.size() - suffix.size());
        if (pid.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
        auto line = readFirstLine(prefix + pid + "/setgroups");
        if (!line) return std::nullopt;
        return *line == "deny";
    }
    return std::nullopt;
}

}  // namespace caprun
