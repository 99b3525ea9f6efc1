// Rootless mode, decided as runc decides it: the runtime is rootless when its euid is not 0
// or when it runs in a user namespace that is not the initial one (podman rootless runs the
// runtime as uid 0 of the user's namespace, where /run is not its to write). `--rootless
// true|false` overrides. The decision is a pure function of RootlessFacts, read once.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caprun/spec.hpp"

namespace caprun {

struct RootlessFacts {
    uid_t euid = 0;
    std::string uidMap;                        // text of /proc/self/uid_map
    std::optional<std::string> xdgRuntimeDir;  // $XDG_RUNTIME_DIR when set and not empty

    static RootlessFacts probe();
};

// The lines of a /proc/<pid>/uid_map or gid_map text ("inside outside count", any spacing);
// blank or malformed lines are left out.
std::vector<IdMapping> parseIdMapText(std::string_view text);

// Whether `uidMap` (the text of /proc/self/uid_map) is the initial user namespace's: the one
// line "0 0 4294967295" (any spacing).
bool isInitialUserNamespaceMap(std::string_view uidMap);

struct RootlessDecision {
    bool rootless = false;
    std::string reason;  // "--rootless true", "euid 1000", "in a user namespace", ...
};

// `option` is --rootless's value: "true", "false" or "auto" (validated by the caller).
RootlessDecision decideRootless(const std::string& option, const RootlessFacts& facts);

// The state root when --root is not given: /run/caprun, or $XDG_RUNTIME_DIR/caprun when
// rootless. Throws Error when rootless and XDG_RUNTIME_DIR is unset.
std::string defaultStateRootFor(const RootlessDecision& d, const RootlessFacts& facts);

// create/run as a user that is not root need a user namespace (new or joined) in
// config.json, as runc requires: without one every namespace and mount fails with EPERM
// deep in the setup. The refusal says what to do; "" when `euid` is 0 or there is one.
std::string rootlessSetupRefusal(unsigned euid, bool userNamespace);

}  // namespace caprun
