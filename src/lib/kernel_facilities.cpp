#include "caprun/kernel_facilities.hpp"

#include <algorithm>

namespace caprun {

const std::vector<KernelFacility>& kernelFacilities() {
    // Witnesses: files the kernel creates only when the facility is built (CONFIG_MODULES,
    // CONFIG_KEXEC_CORE, CONFIG_BPF_SYSCALL, CONFIG_PERF_EVENTS, CONFIG_SWAP,
    // CONFIG_BSD_PROCESS_ACCT).
    static const std::vector<KernelFacility> table = {
        {"modules",
         "loadable module support",
         "/proc/modules",
         {"init_module", "finit_module", "delete_module"}},
        {"kexec", "kexec", "/sys/kernel/kexec_loaded", {"kexec_load", "kexec_file_load"}},
        {"bpf", "the bpf() syscall", "/proc/sys/kernel/unprivileged_bpf_disabled", {"bpf"}},
        {"perf", "perf events", "/proc/sys/kernel/perf_event_paranoid", {"perf_event_open"}},
        {"swap", "swap support", "/proc/swaps", {"swapon", "swapoff"}},
        {"acct", "process accounting", "/proc/sys/kernel/acct", {"acct"}},
    };
    return table;
}

std::vector<std::string> probeMissingFacilities(
    const std::function<bool(const std::string&)>& exists) {
    std::vector<std::string> out;
    for (const auto& f : kernelFacilities())
        if (!exists(f.witness)) out.push_back(f.name);
    return out;
}

std::optional<std::string> missingFacilityNote(const std::vector<std::string>& missing,
                                               const std::string& syscall) {
    for (const auto& f : kernelFacilities()) {
        if (std::find(missing.begin(), missing.end(), f.name) == missing.end()) continue;
        if (std::find(f.syscalls.begin(), f.syscalls.end(), syscall) == f.syscalls.end()) continue;
        return "this kernel has no " + f.description + " (no " + f.witness + "): " + syscall +
               " cannot succeed whatever the capabilities (the kernel answers ENOSYS where the "
               "seccomp filter lets it through)";
    }
    return std::nullopt;
}

}  // namespace caprun
