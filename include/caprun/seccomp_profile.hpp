// Where a container's seccomp filter comes from and how it is read: --seccomp-profile, the
// run.caprun.seccomp-profile annotation or config.json's linux.seccomp; dockerd-style profile
// files and the built-in default profile parsed into a Seccomp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "caprun/spec.hpp"

namespace caprun {

// The annotation that selects a profile per container (a path, or "default").
inline constexpr const char* kSeccompProfileAnnotation = "run.caprun.seccomp-profile";

// Where the filter of a container comes from. A profile (option or annotation) replaces
// config.json's linux.seccomp entirely.
struct SeccompSource {
    enum class Kind { None, ConfigJson, ProfileFile, BuiltinDefault };
    Kind kind = Kind::None;
    std::string path;              // ProfileFile: the file
    std::string via;               // "--seccomp-profile", "annotation run.caprun.seccomp-profile",
                                   // "config.json linux.seccomp"
    std::string describe() const;  // "built-in default profile (from --seccomp-profile)"
    std::string label() const;     // error prefix: "config.json", the profile path, ...
};

// The chosen filter, parsed (profiles: dockerd's format, archMap resolved for `nativeArch`).
struct SelectedSeccomp {
    SeccompSource source;
    std::optional<Seccomp> filter;  // nullopt: no seccomp at all
    std::string jsonPrefix;         // "linux.seccomp." for config.json, "" for profiles
};

// First match wins: `profileOption` (--seccomp-profile PATH|default|unconfined), the
// annotation, config.json's linux.seccomp. "unconfined" installs no filter at all.
// Errors name the file and JSON path.
// `nativeArch` is a libseccomp SCMP_ARCH_* token (0 = seccomp_arch_native()).
SelectedSeccomp selectSeccomp(const Spec& spec, const std::optional<std::string>& profileOption,
                              std::uint32_t nativeArch = 0);

// Parses a dockerd-style profile text (defaultAction, defaultErrnoRet, architectures or
// archMap, syscalls with includes/excludes). `label` prefixes errors ("profile.json").
Seccomp parseSeccompProfile(std::string_view text, const std::string& label,
                            std::uint32_t nativeArch = 0);

// The built-in default profile (profiles/default.json, compiled into the binary).
std::string_view builtinDefaultProfileJson();

// selectSeccomp in two steps, for a caller that can skip parsing (planSeccomp's cache):
// the chosen filter before parsing, as profile bytes or config.json's parsed filter.
struct SeccompDefinition {
    SeccompSource source;
    std::string jsonPrefix;
    std::string profileText;                // built-in or file profile
    const Seccomp* configFilter = nullptr;  // config.json: points into the Spec
};

// Chooses as selectSeccomp does and reads a profile file; does not parse it.
SeccompDefinition chooseSeccompDefinition(const Spec& spec,
                                          const std::optional<std::string>& profileOption);

// Parses the chosen definition (selectSeccomp = parse(choose(...))).
SelectedSeccomp parseSeccompDefinition(const SeccompDefinition& d, std::uint32_t nativeArch);

}  // namespace caprun
