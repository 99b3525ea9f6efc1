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

bool isInitialUserNamespaceMap(std::string_view uidMap) {
    std::istringstream in{std::string(uidMap)};
    std::string line;
    int lines = 0;
    bool initial = false;
    while (std::getline(in, line)) {
        std::istringstream l(line);
        unsigned long long inside = 1, outside = 1, count = 0;
        if (!(l >> inside)) continue;  // blank line
        ++lines;
        if (l >> outside >> count) initial = inside == 0 && outside == 0 && count == 4294967295ULL;
    }
    return lines == 1 && initial;
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

}  // namespace caprun
