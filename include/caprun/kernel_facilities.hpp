// Kernel facilities a kernel can be built without (loadable modules, kexec, ...): there the
// syscalls that use them fail with ENOSYS whatever the capabilities, so explain and trace say
// that first instead of suggesting a capability that cannot help. caprun tells one is absent
// by a file the kernel only has with it (no /proc/modules: no loadable modules).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace caprun {

struct KernelFacility {
    std::string name;                   // "modules"
    std::string description;            // "loadable module support"
    std::string witness;                // "/proc/modules": present exactly when it is built in
    std::vector<std::string> syscalls;  // the calls that need it
};

// Every facility caprun can tell about.
const std::vector<KernelFacility>& kernelFacilities();

// The facilities whose witness `exists` says is absent (HostFacts::missingFacilities).
std::vector<std::string> probeMissingFacilities(
    const std::function<bool(const std::string&)>& exists);

// Pure: when `syscall` needs a facility among `missing`, the sentence explain and trace put
// first ("this kernel has no loadable module support (no /proc/modules): delete_module cannot
// succeed whatever the capabilities ..."); nullopt otherwise.
std::optional<std::string> missingFacilityNote(const std::vector<std::string>& missing,
                                               const std::string& syscall);

}  // namespace caprun
