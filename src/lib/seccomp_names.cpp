// libseccomp's names and values. See include/caprun/seccomp_names.hpp.
#include "caprun/seccomp_names.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include "caprun/error.hpp"

namespace caprun {

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

constexpr SeccompArch kArches[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86, {"x86", "386", "i386"}},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64, {"x86_64", "amd64", nullptr}},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32, {"x32", nullptr, nullptr}},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM, {"arm", nullptr, nullptr}},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64, {"aarch64", "arm64", nullptr}},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS, {"mips", nullptr, nullptr}},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64, {"mips64", nullptr, nullptr}},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32, {"mips64n32", nullptr, nullptr}},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL, {"mipsel", "mipsle", nullptr}},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64, {"mipsel64", "mips64le", nullptr}},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32, {"mipsel64n32", "mips64n32le", nullptr}},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC, {"ppc", nullptr, nullptr}},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64, {"ppc64", nullptr, nullptr}},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE, {"ppc64le", nullptr, nullptr}},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390, {"s390", nullptr, nullptr}},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X, {"s390x", nullptr, nullptr}},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC, {"parisc", nullptr, nullptr}},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64, {"parisc64", nullptr, nullptr}},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64, {"riscv64", nullptr, nullptr}},
};

const SeccompArch* archByValue(std::uint32_t value) {
    for (const auto& a : kArches)
        if (a.value == value) return &a;
    return nullptr;
}

struct ActionInfo {
    const char* name;
    std::uint32_t base;
    bool takesErrno;  // SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry 16 bits of data
};

constexpr ActionInfo kActions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
};

const ActionInfo* actionByName(const std::string& name) {
    for (const auto& a : kActions)
        if (name == a.name) return &a;
    return nullptr;
}

std::string actionNames() {
    std::vector<std::string> v;
    for (const auto& a : kActions) v.emplace_back(a.name);
    return joinNames(v);
}

struct OpInfo {
    const char* name;
    scmp_compare op;
};

constexpr OpInfo kOps[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

struct FlagInfo {
    const char* name;
    std::uint32_t bit;
};

constexpr FlagInfo kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", kSeccompFlagWaitKillableRecv},
};

}  // namespace

// --- architectures ---

const SeccompArch* seccompArchByToken(const std::string& token) {
    for (const auto& a : kArches)
        if (token == a.token) return &a;
    return nullptr;
}

std::uint32_t seccompNativeArch(std::uint32_t native) {
    return native != 0 ? native : seccomp_arch_native();
}

std::string seccompArchToken(std::uint32_t value) {
    const SeccompArch* a = archByValue(value);
    return a ? a->token : "arch 0x" + std::to_string(value);
}

bool seccompArchNameMatches(const std::string& name, std::uint32_t native) {
    const SeccompArch* a = archByValue(native);
    if (!a) return false;
    std::string n = lower(name);
    if (n == lower(a->token)) return true;
    for (const char* alias : a->aliases)
        if (alias && n == alias) return true;
    return false;
}

std::string seccompArchShortName(std::uint32_t native) {
    const SeccompArch* a = archByValue(native);
    return a ? a->aliases[0] : "unknown";
}

std::string seccompArchTokenList() {
    std::vector<std::string> known;
    for (const auto& k : kArches) known.emplace_back(k.token);
    return joinNames(known);
}

// --- actions ---

std::uint32_t seccompActionValue(const std::string& label, const std::string& where,
                                 const std::string& action,
                                 const std::optional<std::uint32_t>& errnoRet,
                                 const std::string& errnoKey, const std::string& ruleDesc) {
    const ActionInfo* a = actionByName(action);
    if (!a)
        throw Error(label + ": " + where + ": unknown seccomp action \"" + action +
                    "\"; expected one of " + actionNames());
    if (!a->takesErrno) {
        if (errnoRet)
            throw Error(label + ": " + where + ": " + errnoKey + " " + std::to_string(*errnoRet) +
                        " is set on " + ruleDesc + " whose action " + action +
                        " takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)");
        return a->base;
    }
    std::uint32_t data = errnoRet.value_or(EPERM);
    if (data > 0xffff)
        throw Error(label + ": " + where + ": " + errnoKey + " " + std::to_string(data) +
                    " does not fit in 16 bits");
    return a->base | data;
}

bool seccompActionAllows(std::uint32_t v) {
    return v == SCMP_ACT_ALLOW || v == SCMP_ACT_LOG;
}

std::string seccompActionKind(std::uint32_t v) {
    if (v == SCMP_ACT_ALLOW) return "allow";
    if (v == SCMP_ACT_LOG) return "log";
    if (v == SCMP_ACT_KILL_PROCESS || v == SCMP_ACT_KILL_THREAD) return "kill";
    if (v == SCMP_ACT_TRAP) return "trap";
    if (v == SCMP_ACT_NOTIFY) return "notify";
    if ((v & 0xffff0000U) == SCMP_ACT_ERRNO(0)) return "errno";
    if ((v & 0xffff0000U) == SCMP_ACT_TRACE(0)) return "trace";
    return "unknown";
}

std::string seccompActionPhrase(std::uint32_t value) {
    if (value == SCMP_ACT_ALLOW) return "allowed";
    if (value == SCMP_ACT_LOG) return "allowed and logged";
    if (value == SCMP_ACT_KILL_PROCESS) return "kills the process";
    if (value == SCMP_ACT_KILL_THREAD) return "kills the thread";
    if (value == SCMP_ACT_TRAP) return "raises SIGSYS";
    if (value == SCMP_ACT_NOTIFY) return "goes to the seccomp agent";
    if ((value & 0xffff0000U) == SCMP_ACT_ERRNO(0))
        return "fails with " + seccompErrnoName(value & 0xffff);
    if ((value & 0xffff0000U) == SCMP_ACT_TRACE(0))
        return "goes to the tracer (data " + std::to_string(value & 0xffff) + ")";
    return "action 0x" + std::to_string(value);
}

std::string seccompErrnoName(std::uint32_t e) {
    const char* n = e < 4096 ? strerrorname_np(static_cast<int>(e)) : nullptr;
    return n ? std::string(n) : std::to_string(e);
}

// --- argument comparisons ---

std::optional<int> seccompCompareOp(const std::string& name) {
    for (const auto& o : kOps)
        if (name == o.name) return static_cast<int>(o.op);
    return std::nullopt;
}

std::string seccompCompareNameList() {
    std::vector<std::string> known;
    for (const auto& o : kOps) known.emplace_back(o.name);
    return joinNames(known);
}

// --- filter flags ---

std::optional<std::uint32_t> seccompFilterFlagBit(const std::string& name) {
    for (const auto& k : kFlags)
        if (name == k.name) return k.bit;
    return std::nullopt;
}

std::string seccompFilterFlagNameList() {
    std::vector<std::string> known;
    for (const auto& k : kFlags) known.emplace_back(k.name);
    return joinNames(known);
}

std::string seccompFilterFlagsText(std::uint32_t bits) {
    std::string flags;
    for (const auto& k : kFlags)
        if (bits & k.bit) flags += std::string(flags.empty() ? "" : "|") + k.name;
    if (bits & SECCOMP_FILTER_FLAG_NEW_LISTENER)
        flags += std::string(flags.empty() ? "" : "|") + "SECCOMP_FILTER_FLAG_NEW_LISTENER";
    if (bits & kSeccompFlagTsyncEsrch)
        flags += std::string(flags.empty() ? "" : "|") + "SECCOMP_FILTER_FLAG_TSYNC_ESRCH";
    return flags;
}

std::string joinNames(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

}  // namespace caprun
