#include "caprun/rootless.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "caprun/error.hpp"

namespace caprun {

RootlessFacts RootlessFacts::probe() {
    RootlessFacts f;
    f.euid = ::geteuid();
    std::ifstream in("/proc/self/uid_map");
    std::stringstream ss;
    ss << in.rdbuf();
    f.uidMap = ss.str();
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0')
        f.xdgRuntimeDir = x;
    return f;
}

std::vector<IdMapping> parseIdMapText(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::vector<IdMapping> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream l(line);
        std::uint64_t inside = 0, outside = 0, count = 0;
        if (l >> inside >> outside >> count)
            out.push_back({static_cast<std::uint32_t>(inside), static_cast<std::uint32_t>(outside),
                           static_cast<std::uint32_t>(count)});
    }
    return out;
}

bool isInitialUserNamespaceMap(std::string_view uidMap) {
    const auto m = parseIdMapText(uidMap);
    return m.size() == 1 && m[0].containerID == 0 && m[0].hostID == 0 && m[0].size == 4294967295U;
}

RootlessDecision decideRootless(const std::string& option, const RootlessFacts& facts) {
    if (option == "true") return {true, "--rootless true"};
    if (option == "false") return {false, "--rootless false"};
    if (facts.euid != 0) return {true, "euid " + std::to_string(facts.euid) + " is not 0"};
    // An unreadable uid_map (no /proc) says nothing: taken as the initial namespace, as runc
    // does.
    if (!facts.uidMap.empty() && !isInitialUserNamespaceMap(facts.uidMap))
        return {true, "running in a user namespace that is not the initial one"};
    return {false, "euid 0 in the initial user namespace"};
}

std::string defaultStateRootFor(const RootlessDecision& d, const RootlessFacts& facts) {
    if (!d.rootless) return "/run/caprun";
    if (!facts.xdgRuntimeDir)
        throw Error("rootless (" + d.reason +
                    "): XDG_RUNTIME_DIR is not set, so there is no default state directory; "
                    "set XDG_RUNTIME_DIR or pass --root");
    return *facts.xdgRuntimeDir + "/caprun";
}

std::string rootlessSetupRefusal(unsigned euid, bool userNamespace) {
    if (euid == 0 || userNamespace) return "";
    return "running as uid " + std::to_string(euid) +
           " (not root) needs a user namespace in config.json, and this bundle has none: run "
           "caprun as root, or make a rootless bundle with `caprun spec --rootless`";
}

}  // namespace caprun
