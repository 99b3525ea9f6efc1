// Seccomp compilation: a resolved filter turned into classic BPF with libseccomp, and the
// plan of a container start, which loads a compiled filter from the cache under the state
// root (caprun/seccomp_cache.hpp) when it can, without parsing or resolving. Heavy: the
// runtime does this before clone; the container init only installs the bytes
// (caprun/seccomp_install.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_resolve.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// A filter ready to install: classic BPF instructions plus seccomp(2) flags.
struct CompiledSeccomp {
    bool enabled = false;
    std::vector<std::uint8_t> bpf;  // struct sock_filter[], 8 bytes each
    std::uint32_t flagBits = 0;     // SECCOMP_FILTER_FLAG_*
    bool usesNotify = false;
    std::string listenerPath;
    std::string listenerMetadata;
    bool fromCache = false;
    std::string cacheKey;  // hex; empty when not cached
};

// Compiles with libseccomp (seccomp_export_bpf through a memfd). Heavy: call before fork.
CompiledSeccomp compileSeccomp(const ResolvedSeccomp& r);

// Everything a container start needs from seccomp, computed in the runtime before clone.
struct SeccompPlan {
    SeccompSource source;
    CompiledSeccomp compiled;           // compiled.enabled == false: no filter
    std::vector<std::string> warnings;  // for the caller to log (unknown names, ignored flags)
    // As ResolvedSeccomp::deniedWithoutCap: for the lenient-drop warning of the planner.
    std::map<std::string, std::vector<std::string>> deniedWithoutCap;
    std::size_t ruleCount = 0;
    std::size_t includedRuleCount = 0;
};

// Select, resolve and compile; or, when the cache under `stateRoot` holds an entry for the
// same definition bytes (profile file, built-in profile, or config.json's linux.seccomp)
// and the same resolution inputs (granted bounding set, arch, kernel release, policy,
// versions), load it without parsing or resolving: the fast path of a container start.
// `stateRoot` empty: no cache. Throws like selectSeccomp and resolveSeccomp.
SeccompPlan planSeccomp(const Spec& spec, const std::optional<std::string>& profileOption,
                        const SeccompHost& host, const std::string& stateRoot);

}  // namespace caprun
