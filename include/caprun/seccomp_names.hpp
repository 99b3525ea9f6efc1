// libseccomp's vocabulary as filters write it: architectures (SCMP_ARCH_*), actions
// (SCMP_ACT_*), argument comparisons (SCMP_CMP_*) and seccomp(2) filter flags
// (SECCOMP_FILTER_FLAG_*), with their numeric values and readable phrases.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace caprun {

// Filter flags that older kernel headers (linux/seccomp.h) do not define.
inline constexpr std::uint32_t kSeccompFlagTsyncEsrch = 1U << 4;
inline constexpr std::uint32_t kSeccompFlagWaitKillableRecv = 1U << 5;

// --- architectures ---

struct SeccompArch {
    const char* token;       // "SCMP_ARCH_X86_64"
    std::uint32_t value;     // libseccomp/audit arch value
    const char* aliases[3];  // names dockerd profiles use in includes.arches (Go's GOARCH)
};

const SeccompArch* seccompArchByToken(const std::string& token);

// `native` itself, or seccomp_arch_native() for 0.
std::uint32_t seccompNativeArch(std::uint32_t native);

// "SCMP_ARCH_X86_64"; "arch 0x..." for a value not in the table.
std::string seccompArchToken(std::uint32_t value);

// Does a name from includes/excludes.arches ("amd64", "x86_64", "SCMP_ARCH_X86_64") denote
// the architecture `native`?
bool seccompArchNameMatches(const std::string& name, std::uint32_t native);

// "x86_64" for SCMP_ARCH_X86_64; "unknown" for a value not in the table.
std::string seccompArchShortName(std::uint32_t native);

// Every token, comma separated, for errors.
std::string seccompArchTokenList();

// --- actions ---

// Resolves an action plus optional errnoRet to libseccomp's value. Errors read
// "<label>: <where>: ..."; `errnoKey` is the key name ("errnoRet" / "defaultErrnoRet") and
// `ruleDesc` what carries it ("the default action", "rule syscalls[3] (mbind)").
std::uint32_t seccompActionValue(const std::string& label, const std::string& where,
                                 const std::string& action,
                                 const std::optional<std::uint32_t>& errnoRet,
                                 const std::string& errnoKey, const std::string& ruleDesc);

// SCMP_ACT_ALLOW or SCMP_ACT_LOG: the syscall runs.
bool seccompActionAllows(std::uint32_t actionValue);

// "allow", "errno", "kill", "trap", "notify", "trace", "log" for a libseccomp action value.
std::string seccompActionKind(std::uint32_t actionValue);

// "allowed", "fails with EPERM", "kills the process", ... for a libseccomp action value.
std::string seccompActionPhrase(std::uint32_t actionValue);

// "EPERM" for 1; the number when it has no name.
std::string seccompErrnoName(std::uint32_t err);

// --- argument comparisons ---

// libseccomp's scmp_compare value of "SCMP_CMP_EQ", ...; nullopt for an unknown name.
std::optional<int> seccompCompareOp(const std::string& name);

// Every comparison name, comma separated, for errors.
std::string seccompCompareNameList();

// --- filter flags ---

// The SECCOMP_FILTER_FLAG_* bit a filter may list in `flags`; nullopt for an unknown name.
std::optional<std::uint32_t> seccompFilterFlagBit(const std::string& name);

// Every flag name a filter may list, comma separated, for errors.
std::string seccompFilterFlagNameList();

// "SECCOMP_FILTER_FLAG_TSYNC|SECCOMP_FILTER_FLAG_NEW_LISTENER" for the bits passed to
// seccomp(2); empty for none.
std::string seccompFilterFlagsText(std::uint32_t bits);

// "a, b, c" (or with `sep`), for names in messages and reports.
std::string joinNames(const std::vector<std::string>& v, const char* sep = ", ");

}  // namespace caprun
