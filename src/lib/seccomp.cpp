// Seccomp filter: selection, gate resolution, validation, libseccomp compilation, install,
// and the NOTIFY listener hand-off. See include/caprun/seccomp.hpp.
#include "caprun/seccomp.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "caprun/cap_plan.hpp"
#include "caprun/check_report.hpp"
#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/seccomp_cache.hpp"
#include "caprun_config.h"
#include "profiles/caprun_default_seccomp_profile.h"

namespace caprun {

namespace {

// --- small helpers -------------------------------------------------------------------

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string joinNames(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::string errnoName(std::uint32_t e) {
    const char* n = e < 4096 ? strerrorname_np(static_cast<int>(e)) : nullptr;
    return n ? std::string(n) : std::to_string(e);
}

// --- architectures -------------------------------------------------------------------

struct ArchInfo {
    const char* token;       // "SCMP_ARCH_X86_64"
    std::uint32_t value;     // libseccomp/audit arch value
    const char* aliases[3];  // names dockerd profiles use in includes.arches (Go's GOARCH)
};

constexpr ArchInfo kArches[] = {
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

const ArchInfo* archByToken(const std::string& token) {
    for (const auto& a : kArches)
        if (token == a.token) return &a;
    return nullptr;
}

const ArchInfo* archByValue(std::uint32_t value) {
    for (const auto& a : kArches)
        if (a.value == value) return &a;
    return nullptr;
}

std::uint32_t effectiveNative(std::uint32_t native) {
    return native != 0 ? native : seccomp_arch_native();
}

std::string archToken(std::uint32_t value) {
    const ArchInfo* a = archByValue(value);
    return a ? a->token : "arch 0x" + std::to_string(value);
}

// Does a name from includes/excludes.arches ("amd64", "x86_64", "SCMP_ARCH_X86_64") denote
// the native architecture?
bool archNameMatches(const std::string& name, std::uint32_t native) {
    const ArchInfo* a = archByValue(native);
    if (!a) return false;
    std::string n = lower(name);
    if (n == lower(a->token)) return true;
    for (const char* alias : a->aliases)
        if (alias && n == alias) return true;
    return false;
}

std::string nativeArchShortName(std::uint32_t native) {
    const ArchInfo* a = archByValue(native);
    return a ? a->aliases[0] : "unknown";
}

// --- actions, ops, flags -------------------------------------------------------------

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

// Resolves an action plus optional errnoRet to libseccomp's value. `where` is the JSON path
// used in errors, `errnoKey` the key name ("errnoRet" / "defaultErrnoRet").
std::uint32_t actionValue(const std::string& label, const std::string& where,
                          const std::string& action, const std::optional<std::uint32_t>& errnoRet,
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

bool actionIsAllowLike(std::uint32_t v) {
    return v == SCMP_ACT_ALLOW || v == SCMP_ACT_LOG;
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

const OpInfo* opByName(const std::string& name) {
    for (const auto& o : kOps)
        if (name == o.name) return &o;
    return nullptr;
}

struct FlagInfo {
    const char* name;
    std::uint32_t bit;
};

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

constexpr FlagInfo kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

// --- capabilities --------------------------------------------------------------------

// Canonical "CAP_SYS_NICE" and its number, or nullopt for a name libcap does not know.
std::optional<std::pair<std::string, int>> capByName(const std::string& raw) {
    std::string n = lower(raw);
    if (n.rfind("cap_", 0) != 0) n = "cap_" + n;
    if (n.size() <= 4 || n.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
        return std::nullopt;
    cap_value_t v = 0;
    if (cap_from_name(n.c_str(), &v) != 0) return std::nullopt;
    return std::make_pair(upper(n), static_cast<int>(v));
}

std::string canonicalCapName(const std::string& raw) {
    auto c = capByName(raw);
    if (c) return c->first;
    std::string n = upper(raw);
    return n.rfind("CAP_", 0) == 0 ? n : "CAP_" + n;
}

// --- kernel versions -----------------------------------------------------------------

// "6.1.0-18-amd64" -> {6, 1}; nullopt when it does not start with "X.Y".
std::optional<std::pair<int, int>> parseKernelVersion(const std::string& s) {
    int major = 0, minor = 0;
    std::size_t i = 0;
    auto number = [&](int& out) {
        std::size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            if (i - start > 6) return false;
            out = out * 10 + (s[i] - '0');
            ++i;
        }
        return i > start;
    };
    if (!number(major)) return std::nullopt;
    if (i >= s.size() || s[i] != '.') return std::nullopt;
    ++i;
    if (!number(minor)) return std::nullopt;
    return std::make_pair(major, minor);
}

std::string runningKernelRelease() {
    struct utsname u {};
    if (uname(&u) != 0) throwErrno("reading the kernel release (uname)");
    return u.release;
}

}  // namespace

// --- selection -----------------------------------------------------------------------

std::string SeccompSource::describe() const {
    switch (kind) {
        case Kind::None:
            return via.empty() ? "none (no linux.seccomp in config.json)"
                               : "none (unconfined, from " + via + ")";
        case Kind::ConfigJson:
            return "config.json linux.seccomp";
        case Kind::ProfileFile:
            return "profile " + path + " (from " + via + ")";
        case Kind::BuiltinDefault:
            return "built-in default profile (from " + via + ")";
    }
    return "";
}

std::string SeccompSource::label() const {
    switch (kind) {
        case Kind::ConfigJson:
            return "config.json";
        case Kind::ProfileFile:
            return path;
        case Kind::BuiltinDefault:
            return "built-in default seccomp profile";
        case Kind::None:
            break;
    }
    return "seccomp";
}

std::string_view builtinDefaultProfileJson() {
    return std::string_view(kCaprunDefaultSeccompProfile, sizeof(kCaprunDefaultSeccompProfile));
}

Seccomp parseSeccompProfile(std::string_view text, const std::string& label,
                            std::uint32_t nativeArch) {
    json::Document doc = json::parse(text, label);
    json::Node top = json::Node::root(doc);
    if (!top.isObject())
        throw Error(label + ": expected a JSON object at the top level, got " +
                    json::typeName(top.raw()));
    Seccomp s = parseSeccomp(top);
    // dockerd's archMap: the entry for the native architecture names it and the
    // architectures the kernel can also run natively (x86 and x32 on x86_64).
    if (auto archMap = top.get("archMap"); archMap && s.architectures.empty()) {
        std::uint32_t native = effectiveNative(nativeArch);
        for (const auto& entry : archMap->items()) {
            std::string arch = entry.require("architecture").asString();
            if (!archByToken(arch))
                entry.require("architecture").fail("unknown architecture \"" + arch + "\"");
            std::vector<std::string> subs;
            if (auto sub = entry.get("subArchitectures")) subs = sub->asStringArray();
            if (archByToken(arch)->value != native) continue;
            s.architectures.push_back(arch);
            for (const auto& a : subs) s.architectures.push_back(a);
        }
    }
    return s;
}

namespace {

// The chosen filter before parsing: profile bytes, or config.json's parsed filter.
struct Definition {
    SeccompSource source;
    std::string jsonPrefix;
    std::string profileText;  // built-in or file profile
    const Seccomp* configFilter = nullptr;
};

std::string readProfileFile(const std::string& path, const std::string& via) {
    constexpr std::size_t kMaxProfileBytes = 4 * 1024 * 1024;
    auto fail = [&](const std::string& why) {
        throw Error("loading the seccomp profile from " + via + ": " + path + ": " + why);
    };
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) fail(errnoText(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        fail("not a regular file");
    }
    if (static_cast<std::size_t>(st.st_size) > kMaxProfileBytes) {
        close(fd);
        fail("larger than 4 MiB");
    }
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = read(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            fail(errnoText(err));
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    close(fd);
    text.resize(done);
    return text;
}

Definition chooseDefinition(const Spec& spec, const std::optional<std::string>& profileOption) {
    Definition d;
    std::optional<std::string> value;
    if (profileOption) {
        value = profileOption;
        d.source.via = "--seccomp-profile";
    } else if (auto it = spec.annotations.find(kSeccompProfileAnnotation);
               it != spec.annotations.end()) {
        value = it->second;
        d.source.via = std::string("annotation ") + kSeccompProfileAnnotation;
    }
    if (value) {
        if (value->empty())
            throw Error(d.source.via +
                        ": empty value; give a profile path, \"default\" or \"unconfined\"");
        if (*value == "default") {
            d.source.kind = SeccompSource::Kind::BuiltinDefault;
            d.profileText = std::string(builtinDefaultProfileJson());
        } else if (*value == "unconfined") {
            d.source.kind = SeccompSource::Kind::None;
        } else {
            d.source.kind = SeccompSource::Kind::ProfileFile;
            d.source.path = *value;
            d.profileText = readProfileFile(*value, d.source.via);
        }
        return d;
    }
    if (spec.linux && spec.linux->seccomp) {
        d.source.kind = SeccompSource::Kind::ConfigJson;
        d.source.via = "config.json linux.seccomp";
        d.jsonPrefix = "linux.seccomp.";
        d.configFilter = &*spec.linux->seccomp;
    }
    return d;
}

SelectedSeccomp parseDefinition(const Definition& d, std::uint32_t nativeArch) {
    SelectedSeccomp sel;
    sel.source = d.source;
    sel.jsonPrefix = d.jsonPrefix;
    if (d.configFilter)
        sel.filter = *d.configFilter;
    else if (d.source.kind != SeccompSource::Kind::None)
        sel.filter = parseSeccompProfile(d.profileText, d.source.label(), nativeArch);
    return sel;
}

// A canonical text of config.json's filter, for the fast cache key (paths included: they
// appear in cached warnings).
std::string definitionText(const Seccomp& f) {
    std::string t;
    t.reserve(8192);
    auto list = [&](const char* key, const std::vector<std::string>& v) {
        t += key;
        for (const auto& x : v) {
            t += ' ';
            t += json::quote(x);
        }
        t += "\n";
    };
    t += "default " + f.defaultAction + " " +
         (f.defaultErrnoRet ? std::to_string(*f.defaultErrnoRet) : "-") + "\n";
    list("arches", f.architectures);
    list("flags", f.flags);
    t += "listener " + json::quote(f.listenerPath) + " " + json::quote(f.listenerMetadata) + "\n";
    for (const auto& s : f.syscalls) {
        t += "rule " + s.jsonPath + " " + s.action + " " +
             (s.errnoRet ? std::to_string(*s.errnoRet) : "-") + "\n";
        list(" names", s.names);
        for (const auto& a : s.args)
            t += std::string(" arg ") + std::to_string(a.index) + " " + a.op + " " +
                 std::to_string(a.value) + " " + std::to_string(a.valueTwo) + "\n";
        for (const auto* gate : {&s.includes, &s.excludes}) {
            if (!*gate) {
                t += " gate -\n";
                continue;
            }
            list(" gate caps", (*gate)->caps);
            list(" arches", (*gate)->arches);
            t += " minKernel ";
            t += json::quote((*gate)->minKernel);
            t += '\n';
        }
    }
    return t;
}

}  // namespace

SelectedSeccomp selectSeccomp(const Spec& spec, const std::optional<std::string>& profileOption,
                              std::uint32_t nativeArch) {
    return parseDefinition(chooseDefinition(spec, profileOption), nativeArch);
}

// --- resolution ----------------------------------------------------------------------

std::size_t ResolvedSeccomp::includedRuleCount() const {
    return static_cast<std::size_t>(
        std::count_if(rules.begin(), rules.end(), [](const auto& r) { return r.included; }));
}

namespace {

std::string actionPhrase(std::uint32_t value) {
    if (value == SCMP_ACT_ALLOW) return "allowed";
    if (value == SCMP_ACT_LOG) return "allowed and logged";
    if (value == SCMP_ACT_KILL_PROCESS) return "kills the process";
    if (value == SCMP_ACT_KILL_THREAD) return "kills the thread";
    if (value == SCMP_ACT_TRAP) return "raises SIGSYS";
    if (value == SCMP_ACT_NOTIFY) return "goes to the seccomp agent";
    if ((value & 0xffff0000U) == SCMP_ACT_ERRNO(0))
        return "fails with " + errnoName(value & 0xffff);
    if ((value & 0xffff0000U) == SCMP_ACT_TRACE(0))
        return "goes to the tracer (data " + std::to_string(value & 0xffff) + ")";
    return "action 0x" + std::to_string(value);
}

std::string capVerdict(const ResolvedSeccompRule::CapGate& g) {
    return g.granted ? "granted" : "not granted (" + g.why + ")";
}

}  // namespace

ResolvedSeccomp resolveSeccomp(const SelectedSeccomp& selected, const SeccompHost& host) {
    ResolvedSeccomp r;
    r.source = selected.source;
    r.nativeArch = effectiveNative(host.nativeArch);
    r.kernelRelease = host.kernelRelease.empty() ? runningKernelRelease() : host.kernelRelease;
    if (!selected.filter) return r;
    const Seccomp& f = *selected.filter;
    const std::string label = selected.source.label();
    const std::string& pre = selected.jsonPrefix;
    const bool builtin = selected.source.kind == SeccompSource::Kind::BuiltinDefault;
    r.enabled = true;

    auto fail = [&](const std::string& path, const std::string& what) -> void {
        throw Error(label + ": " + path + ": " + what);
    };

    // Default action.
    r.defaultAction = f.defaultAction;
    r.defaultErrnoRet = f.defaultErrnoRet;
    if (f.defaultAction == "SCMP_ACT_NOTIFY")
        fail(pre + "defaultAction",
             "SCMP_ACT_NOTIFY cannot be the default action: every syscall, including those the "
             "runtime makes before execve, would wait for the seccomp agent");
    r.defaultActionValue = actionValue(label, pre + "defaultAction", f.defaultAction,
                                       f.defaultErrnoRet, "defaultErrnoRet", "the default action");

    // Architectures: native always, plus the listed ones.
    r.architectures.push_back(archToken(r.nativeArch));
    for (std::size_t i = 0; i < f.architectures.size(); ++i) {
        const std::string& a = f.architectures[i];
        const ArchInfo* info = archByToken(a);
        if (!info) {
            std::vector<std::string> known;
            for (const auto& k : kArches) known.emplace_back(k.token);
            fail(pre + "architectures[" + std::to_string(i) + "]",
                 "unknown architecture \"" + a + "\"; expected one of " + joinNames(known));
        }
        if (std::find(r.architectures.begin(), r.architectures.end(), a) == r.architectures.end())
            r.architectures.push_back(a);
    }

    // Flags.
    for (std::size_t i = 0; i < f.flags.size(); ++i) {
        const FlagInfo* found = nullptr;
        for (const auto& k : kFlags)
            if (f.flags[i] == k.name) found = &k;
        if (!found) {
            std::vector<std::string> known;
            for (const auto& k : kFlags) known.emplace_back(k.name);
            fail(
                pre + "flags[" + std::to_string(i) + "]",
                "unknown seccomp flag \"" + f.flags[i] + "\"; expected one of " + joinNames(known));
        }
        r.flags.push_back(f.flags[i]);
        r.flagBits |= found->bit;
    }
    r.listenerPath = f.listenerPath;
    r.listenerMetadata = f.listenerMetadata;

    auto kernel = parseKernelVersion(r.kernelRelease);
    auto kernelAtLeast = [&](const std::string& path, const std::string& min) {
        auto want = parseKernelVersion(min);
        if (!want || want->first > 9999)
            fail(path, "minKernel \"" + min + "\" is not of the form X.Y");
        if (!kernel) return true;  // unparsable release: do not guess, keep the rule
        return *kernel >= *want;
    };

    auto capGate = [&](const std::string& raw, bool required) {
        ResolvedSeccompRule::CapGate g;
        g.required = required;
        auto c = capByName(raw);
        if (!c) {
            g.cap = canonicalCapName(raw);
            g.granted = false;
            g.why = "not a capability this system knows";
            return g;
        }
        g.cap = c->first;
        g.granted = c->second < 64 && (host.grantedBounding >> c->second) & 1U;
        if (g.granted) {
            g.why = "granted";
        } else if (auto it = host.capDropReasons.find(c->second); it != host.capDropReasons.end()) {
            g.why = "dropped: " + it->second;
        } else {
            g.why = "not requested";
        }
        return g;
    };

    std::vector<std::pair<std::string, std::string>> unknownNames;  // name, rule path
    for (const auto& s : f.syscalls) {
        ResolvedSeccompRule rule;
        rule.jsonPath = s.jsonPath.empty() ? pre + "syscalls" : s.jsonPath;
        rule.names = s.names;
        rule.action = s.action;
        rule.errnoRet = s.errnoRet;
        rule.args = s.args;
        rule.comment = s.comment;
        const std::string ruleDesc = "rule " + rule.jsonPath + " (" + joinNames(s.names) + ")";
        rule.actionValue = actionValue(label, rule.jsonPath + ".action", s.action, s.errnoRet,
                                       "errnoRet", ruleDesc);
        if (rule.actionValue == SCMP_ACT_NOTIFY) {
            for (const auto& n : s.names)
                if (n == "write")
                    fail(rule.jsonPath + ".names",
                         "SCMP_ACT_NOTIFY on write is refused: the runtime and the seccomp agent "
                         "protocol need write to work without an agent");
            if (f.listenerPath.empty())
                fail(rule.jsonPath + ".action",
                     "SCMP_ACT_NOTIFY needs " + pre +
                         "listenerPath (the unix socket of the seccomp agent)");
        }
        for (std::size_t i = 0; i < s.args.size(); ++i) {
            const auto& a = s.args[i];
            const std::string ap = rule.jsonPath + ".args[" + std::to_string(i) + "]";
            if (a.index > 5)
                fail(ap + ".index", "argument index " + std::to_string(a.index) +
                                        " is out of range; syscalls have arguments 0 to 5");
            if (!opByName(a.op)) {
                std::vector<std::string> known;
                for (const auto& o : kOps) known.emplace_back(o.name);
                fail(ap + ".op",
                     "unknown comparison \"" + a.op + "\"; expected one of " + joinNames(known));
            }
        }

        // Gates. Every one is evaluated so `check` can show all of them.
        std::string outReason;
        const std::string phrase = actionPhrase(rule.actionValue);
        if (s.includes) {
            const auto& inc = *s.includes;
            if (!inc.arches.empty() &&
                std::none_of(inc.arches.begin(), inc.arches.end(),
                             [&](const auto& a) { return archNameMatches(a, r.nativeArch); }))
                outReason = "only on " + joinNames(inc.arches) + " (this is " +
                            nativeArchShortName(r.nativeArch) + ")";
            if (!inc.minKernel.empty() &&
                !kernelAtLeast(rule.jsonPath + ".includes.minKernel", inc.minKernel) &&
                outReason.empty())
                outReason = "only on kernel " + inc.minKernel + " or later (running " +
                            r.kernelRelease + ")";
            for (const auto& c : inc.caps) rule.capGates.push_back(capGate(c, true));
        }
        if (s.excludes) {
            const auto& exc = *s.excludes;
            for (const auto& a : exc.arches)
                if (archNameMatches(a, r.nativeArch) && outReason.empty())
                    outReason =
                        "not on " + a + " (this is " + nativeArchShortName(r.nativeArch) + ")";
            if (!exc.minKernel.empty() &&
                kernelAtLeast(rule.jsonPath + ".excludes.minKernel", exc.minKernel) &&
                outReason.empty())
                outReason =
                    "only before kernel " + exc.minKernel + " (running " + r.kernelRelease + ")";
            for (const auto& c : exc.caps) rule.capGates.push_back(capGate(c, false));
        }

        std::vector<std::string> reqCaps, exclCaps;
        std::vector<const ResolvedSeccompRule::CapGate*> missing, present;
        for (const auto& g : rule.capGates) {
            (g.required ? reqCaps : exclCaps).push_back(g.cap);
            if (g.required && !g.granted) missing.push_back(&g);
            if (!g.required && g.granted) present.push_back(&g);
        }
        std::string capReason;
        if (!reqCaps.empty()) {
            capReason = phrase + " only with " + joinNames(reqCaps, " + ") + " — ";
            if (missing.empty()) {
                capReason += "granted";
            } else if (missing.size() == 1 && reqCaps.size() == 1) {
                capReason += capVerdict(*missing[0]);
            } else {
                std::vector<std::string> parts;
                for (const auto* g : missing) parts.push_back(g->cap + " " + capVerdict(*g));
                capReason += joinNames(parts, "; ");
            }
        }
        if (!exclCaps.empty()) {
            std::string part = phrase + " without " + joinNames(exclCaps, " or ") + " — ";
            if (present.empty()) {
                std::vector<std::string> whys;
                for (const auto& g : rule.capGates)
                    if (!g.required)
                        whys.push_back(exclCaps.size() == 1 ? capVerdict(g)
                                                            : g.cap + " " + capVerdict(g));
                part += joinNames(whys, "; ");
            } else {
                std::vector<std::string> names;
                for (const auto* g : present) names.push_back(g->cap);
                part += joinNames(names) + " granted";
            }
            capReason = capReason.empty() ? part : capReason + "; " + part;
        }

        if (outReason.empty() && (!missing.empty() || !present.empty())) outReason = capReason;
        if (outReason.empty() && rule.actionValue == r.defaultActionValue)
            outReason = "same action as the default (" + phrase + "), nothing to add";
        rule.included = outReason.empty();
        rule.reason = rule.included ? (capReason.empty() ? phrase : capReason) : outReason;

        if (rule.included) {
            for (const auto& n : s.names) {
                if (seccomp_syscall_resolve_name(n.c_str()) == __NR_SCMP_ERROR) {
                    rule.unknownNames.push_back(n);
                    unknownNames.emplace_back(n, rule.jsonPath);
                }
            }
            if (rule.actionValue == SCMP_ACT_NOTIFY) r.usesNotify = true;
        }
        r.rules.push_back(std::move(rule));
    }

    if (!unknownNames.empty()) {
        const auto* v = seccomp_version();
        std::string lib = "libseccomp " + std::to_string(v->major) + "." +
                          std::to_string(v->minor) + "." + std::to_string(v->micro);
        std::vector<std::string> parts;
        for (const auto& [n, p] : unknownNames) parts.push_back(n + " (" + p + ")");
        // The built-in profile lists syscalls of newer kernels on purpose; those are quietly
        // skipped. A user's filter naming an unknown syscall is a mistake worth reporting.
        if (!builtin) {
            if (host.strictUnknownSyscalls)
                throw Error(label + ": syscall names unknown to " + lib + ": " + joinNames(parts) +
                            " (strict capability policy; use --cap-policy lenient to skip them)");
            r.warnings.push_back("seccomp: skipping syscall names unknown to " + lib + ": " +
                                 joinNames(parts));
        }
    }

    if ((r.flagBits & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) && !r.usesNotify) {
        // The kernel rejects this flag without a listener; without NOTIFY rules it means nothing.
        r.flagBits &= ~static_cast<std::uint32_t>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
        r.warnings.push_back(
            "seccomp: ignoring SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: no rule uses "
            "SCMP_ACT_NOTIFY");
    }

    // Syscalls that stay denied because a capability is missing: named by an excluded
    // includes.caps rule and not allowed outright by any included rule.
    if (!actionIsAllowLike(r.defaultActionValue)) {
        std::set<std::string> allowedOutright;
        for (const auto& rule : r.rules)
            if (rule.included && actionIsAllowLike(rule.actionValue) && rule.args.empty())
                allowedOutright.insert(rule.names.begin(), rule.names.end());
        for (const auto& rule : r.rules) {
            if (rule.included || !actionIsAllowLike(rule.actionValue)) continue;
            for (const auto& g : rule.capGates) {
                if (!g.required || g.granted) continue;
                auto& list = r.deniedWithoutCap[g.cap];
                for (const auto& n : rule.names)
                    if (!allowedOutright.count(n) &&
                        std::find(list.begin(), list.end(), n) == list.end())
                        list.push_back(n);
            }
        }
        for (auto it = r.deniedWithoutCap.begin(); it != r.deniedWithoutCap.end();)
            it = it->second.empty() ? r.deniedWithoutCap.erase(it) : std::next(it);
    }
    return r;
}

std::vector<std::string> syscallsDeniedWithout(const ResolvedSeccomp& r, const std::string& cap) {
    auto it = r.deniedWithoutCap.find(canonicalCapName(cap));
    return it == r.deniedWithoutCap.end() ? std::vector<std::string>{} : it->second;
}

SeccompHost seccompHostFor(const CapabilityPlan& plan) {
    SeccompHost h;
    h.grantedBounding = plan.granted.bounding;
    h.kernelRelease = plan.host.kernelRelease;
    h.strictUnknownSyscalls = plan.policy.policy == CapPolicy::Strict;
    for (const auto& d : plan.dropped) {
        if (!d.cap) continue;
        for (const auto& part : d.parts) {
            if (std::find(part.sets.begin(), part.sets.end(), CapSetKind::Bounding) ==
                part.sets.end())
                continue;
            h.capDropReasons[*d.cap] =
                part.kind == CapDropKind::HostLacks ? "not in host bounding set" : part.reason;
        }
    }
    return h;
}

std::string seccompDropNote(const std::map<std::string, std::vector<std::string>>& deniedWithoutCap,
                            const CapDrop& drop) {
    auto it = deniedWithoutCap.find(canonicalCapName(drop.name));
    if (it == deniedWithoutCap.end() || it->second.empty()) return "";
    return "seccomp keeps " + joinNames(it->second) + " denied without it";
}

// --- rendering -----------------------------------------------------------------------

namespace {

std::string defaultActionText(const ResolvedSeccomp& r) {
    std::string t = r.defaultAction;
    if ((r.defaultActionValue & 0xffff0000U) == SCMP_ACT_ERRNO(0) ||
        (r.defaultActionValue & 0xffff0000U) == SCMP_ACT_TRACE(0))
        t += " (" + errnoName(r.defaultActionValue & 0xffff) + ")";
    return t;
}

}  // namespace

namespace {

// "arg0 & 0x7e020000 == 0", "arg0 != 40": a rule's argument conditions, readable.
std::string argsText(const std::vector<SeccompArg>& args) {
    auto hex = [](std::uint64_t v) {
        char buf[24];
        std::snprintf(buf, sizeof(buf), v > 9 ? "0x%llx" : "%llu",
                      static_cast<unsigned long long>(v));
        return std::string(buf);
    };
    bool repeated = false;
    for (std::size_t i = 0; i < args.size(); ++i)
        for (std::size_t j = i + 1; j < args.size(); ++j)
            if (args[i].index == args[j].index) repeated = true;
    std::vector<std::string> parts;
    for (const auto& a : args) {
        std::string arg = "arg" + std::to_string(a.index);
        std::string op = a.op.size() > 9 ? a.op.substr(9) : a.op;  // strip "SCMP_CMP_"
        if (op == "MASKED_EQ") {
            parts.push_back(arg + " & " + hex(a.value) + " == " + hex(a.valueTwo));
            continue;
        }
        const char* sym = op == "NE"   ? "!="
                          : op == "LT" ? "<"
                          : op == "LE" ? "<="
                          : op == "EQ" ? "=="
                          : op == "GE" ? ">="
                                       : ">";
        parts.push_back(arg + " " + sym + " " + hex(a.value));
    }
    // Several conditions on one argument: any of them (see compileSeccomp).
    return joinNames(parts, repeated ? " or " : " and ");
}

std::string ruleSubject(const ResolvedSeccompRule& rule) {
    std::string s = joinNames(rule.names);
    if (!rule.args.empty()) s += " (if " + argsText(rule.args) + ")";
    return s;
}

}  // namespace

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

std::string seccompActionPhrase(std::uint32_t v) {
    return actionPhrase(v);
}

SeccompVerdict seccompVerdictFor(const ResolvedSeccomp& r, const std::string& syscall) {
    SeccompVerdict v;
    auto setAction = [&](std::uint32_t value) {
        v.actionValue = value;
        v.kind = seccompActionKind(value);
        v.phrase = actionPhrase(value);
        const std::string k = v.kind;
        if (k == "errno" || k == "trace") v.errnoValue = value & 0xffff;
    };
    if (!r.enabled) {
        setAction(SCMP_ACT_ALLOW);
        return v;
    }
    v.filtered = true;
    for (std::size_t i = 0; i < r.rules.size(); ++i) {
        const auto& rule = r.rules[i];
        if (std::find(rule.names.begin(), rule.names.end(), syscall) == rule.names.end()) continue;
        if (!rule.included) {
            v.leftOut.push_back(i);
            continue;
        }
        if (std::find(rule.unknownNames.begin(), rule.unknownNames.end(), syscall) !=
            rule.unknownNames.end()) {
            v.unknownToLibseccomp = true;
            continue;
        }
        if (rule.args.empty()) {
            if (!v.rule) v.rule = i;  // the first one added wins in libseccomp
        } else {
            v.conditional.push_back({i, argsText(rule.args), seccompActionKind(rule.actionValue),
                                     actionPhrase(rule.actionValue)});
        }
    }
    if (v.rule) {
        v.conditional.clear();
        setAction(r.rules[*v.rule].actionValue);
        v.decidedBy = r.rules[*v.rule].jsonPath;
    } else {
        setAction(r.defaultActionValue);
        v.decidedBy = r.source.kind == SeccompSource::Kind::ConfigJson
                          ? "linux.seccomp.defaultAction"
                          : "defaultAction";
    }
    return v;
}

std::string renderSeccompText(const ResolvedSeccomp& r) {
    std::string out = "seccomp: " + r.source.describe() + "\n";
    if (!r.enabled) {
        out += "  no filter is installed\n";
        return out;
    }
    out += "  default action: " + defaultActionText(r) + "\n";
    out += "  architectures: " + joinNames(r.architectures) + "\n";
    out += "  flags: " + (r.flags.empty() ? std::string("none") : joinNames(r.flags)) + "\n";
    if (!r.listenerPath.empty()) out += "  listener: " + r.listenerPath + "\n";
    std::size_t in = r.includedRuleCount();
    out += "  rules: " + std::to_string(r.rules.size()) + " (" + std::to_string(in) +
           " in the filter, " + std::to_string(r.rules.size() - in) + " left out)\n";
    bool anyGated = false, anyOtherOut = false;
    for (const auto& rule : r.rules) {
        if (rule.gated())
            anyGated = true;
        else if (!rule.included)
            anyOtherOut = true;
    }
    if (anyGated) {
        out += "  capability-gated rules:\n";
        for (const auto& rule : r.rules)
            if (rule.gated())
                out += std::string("    ") + (rule.included ? "in   " : "out  ") +
                       ruleSubject(rule) + ": " + rule.reason + "\n";
    }
    if (anyOtherOut) {
        out += "  other rules left out:\n";
        for (const auto& rule : r.rules)
            if (!rule.gated() && !rule.included)
                out += "    out  " + ruleSubject(rule) + ": " + rule.reason + "\n";
    }
    if (!r.deniedWithoutCap.empty()) {
        out += "  denied because a capability is not granted:\n";
        for (const auto& [cap, names] : r.deniedWithoutCap)
            out += "    " + cap + ": " + joinNames(names) + "\n";
    }
    for (const auto& w : r.warnings) out += "  warning: " + w + "\n";
    return out;
}

std::string renderSeccompJson(const ResolvedSeccomp& r) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&](const std::string& s) {
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    };
    auto strArray = [&](const std::vector<std::string>& v) {
        w.StartArray();
        for (const auto& s : v) str(s);
        w.EndArray();
    };
    w.StartObject();
    w.Key("source");
    w.StartObject();
    w.Key("kind");
    switch (r.source.kind) {
        case SeccompSource::Kind::None:
            str("none");
            break;
        case SeccompSource::Kind::ConfigJson:
            str("config.json");
            break;
        case SeccompSource::Kind::ProfileFile:
            str("profile");
            break;
        case SeccompSource::Kind::BuiltinDefault:
            str("default");
            break;
    }
    if (!r.source.path.empty()) {
        w.Key("path");
        str(r.source.path);
    }
    if (!r.source.via.empty()) {
        w.Key("via");
        str(r.source.via);
    }
    w.EndObject();
    w.Key("enabled");
    w.Bool(r.enabled);
    if (r.enabled) {
        w.Key("defaultAction");
        str(r.defaultAction);
        if (r.defaultErrnoRet) {
            w.Key("defaultErrnoRet");
            w.Uint(*r.defaultErrnoRet);
        }
        w.Key("architectures");
        strArray(r.architectures);
        w.Key("flags");
        strArray(r.flags);
        if (!r.listenerPath.empty()) {
            w.Key("listenerPath");
            str(r.listenerPath);
        }
        w.Key("ruleCount");
        w.Uint64(r.rules.size());
        w.Key("includedRuleCount");
        w.Uint64(r.includedRuleCount());
        w.Key("rules");
        w.StartArray();
        for (const auto& rule : r.rules) {
            w.StartObject();
            w.Key("jsonPath");
            str(rule.jsonPath);
            w.Key("names");
            strArray(rule.names);
            w.Key("action");
            str(rule.action);
            if (rule.errnoRet) {
                w.Key("errnoRet");
                w.Uint(*rule.errnoRet);
            }
            if (!rule.args.empty()) {
                w.Key("args");
                w.StartArray();
                for (const auto& a : rule.args) {
                    w.StartObject();
                    w.Key("index");
                    w.Uint(a.index);
                    w.Key("value");
                    w.Uint64(a.value);
                    w.Key("valueTwo");
                    w.Uint64(a.valueTwo);
                    w.Key("op");
                    str(a.op);
                    w.EndObject();
                }
                w.EndArray();
            }
            w.Key("included");
            w.Bool(rule.included);
            w.Key("reason");
            str(rule.reason);
            if (rule.gated()) {
                w.Key("capabilities");
                w.StartArray();
                for (const auto& g : rule.capGates) {
                    w.StartObject();
                    w.Key("name");
                    str(g.cap);
                    w.Key("gate");
                    str(g.required ? "includes" : "excludes");
                    w.Key("granted");
                    w.Bool(g.granted);
                    w.Key("why");
                    str(g.why);
                    w.EndObject();
                }
                w.EndArray();
            }
            if (!rule.unknownNames.empty()) {
                w.Key("unknownSyscalls");
                strArray(rule.unknownNames);
            }
            w.EndObject();
        }
        w.EndArray();
        w.Key("deniedWithoutCapability");
        w.StartObject();
        for (const auto& [cap, names] : r.deniedWithoutCap) {
            w.Key(cap.c_str());
            strArray(names);
        }
        w.EndObject();
    }
    w.Key("warnings");
    strArray(r.warnings);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

void addSeccompSection(CheckReport& report, const ResolvedSeccomp& r) {
    rapidjson::Document d;
    const std::string js = renderSeccompJson(r);
    d.Parse(js.c_str(), js.size());
    report.set("seccomp", rapidjson::Value(d, report.alloc()));
    report.text += renderSeccompText(r);
}

// --- compilation ---------------------------------------------------------------------

namespace {

struct FilterCtx {
    scmp_filter_ctx ctx;
    explicit FilterCtx(std::uint32_t def) : ctx(seccomp_init(def)) {
        if (!ctx) throw Error("seccomp: libseccomp could not create a filter (seccomp_init)");
    }
    ~FilterCtx() { seccomp_release(ctx); }
    FilterCtx(const FilterCtx&) = delete;
    FilterCtx& operator=(const FilterCtx&) = delete;
};

struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

scmp_arg_cmp toCmp(const SeccompArg& a) {
    scmp_arg_cmp c{};
    c.arg = a.index;
    c.op = opByName(a.op)->op;
    c.datum_a = a.value;
    c.datum_b = a.valueTwo;
    return c;
}

}  // namespace

CompiledSeccomp compileSeccomp(const ResolvedSeccomp& r) {
    CompiledSeccomp c;
    c.listenerPath = r.listenerPath;
    c.listenerMetadata = r.listenerMetadata;
    c.usesNotify = r.usesNotify;
    if (!r.enabled) return c;
    c.enabled = true;
    c.flagBits = r.flagBits;
    if (r.usesNotify) {
        c.flagBits |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC and NEW_LISTENER together are only accepted with TSYNC_ESRCH (kernel 5.7).
        if (c.flagBits & SECCOMP_FILTER_FLAG_TSYNC) c.flagBits |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }

    FilterCtx f(r.defaultActionValue);
    const std::string label = r.source.label();
    std::uint32_t native = seccomp_arch_native();
    for (const auto& a : r.architectures) {
        const ArchInfo* info = archByToken(a);
        if (!info || info->value == native) continue;
        int rc = seccomp_arch_add(f.ctx, info->value);
        if (rc < 0 && rc != -EEXIST)
            throwSys("seccomp: adding architecture " + a + " to the filter", -rc);
    }
    // A binary tree of syscall numbers keeps the per-syscall cost low for large profiles.
    seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

    for (const auto& rule : r.rules) {
        if (!rule.included) continue;
        std::vector<scmp_arg_cmp> cmps;
        for (const auto& a : rule.args) cmps.push_back(toCmp(a));
        // libseccomp refuses two comparisons on the same argument in one rule; like runc,
        // such a rule becomes one rule per comparison (any of them matching applies it).
        bool repeated = false;
        for (std::size_t i = 0; i < cmps.size(); ++i)
            for (std::size_t j = i + 1; j < cmps.size(); ++j)
                if (cmps[i].arg == cmps[j].arg) repeated = true;
        for (const auto& name : rule.names) {
            if (std::find(rule.unknownNames.begin(), rule.unknownNames.end(), name) !=
                rule.unknownNames.end())
                continue;
            int nr = seccomp_syscall_resolve_name(name.c_str());
            auto add = [&](unsigned count, const scmp_arg_cmp* arr) {
                int rc = seccomp_rule_add_array(f.ctx, rule.actionValue, nr, count, arr);
                if (rc < 0)
                    throw Error(label + ": " + rule.jsonPath + ": adding the rule for " + name +
                                " to the filter failed: " + errnoText(-rc));
            };
            if (cmps.empty()) {
                add(0, nullptr);
            } else if (!repeated) {
                add(static_cast<unsigned>(cmps.size()), cmps.data());
            } else {
                for (const auto& cmp : cmps) add(1, &cmp);
            }
        }
    }

    Fd mem(memfd_create("caprun-seccomp-bpf", MFD_CLOEXEC));
    if (mem.fd < 0) throwErrno("seccomp: creating a memfd for the compiled filter");
    int rc = seccomp_export_bpf(f.ctx, mem.fd);
    if (rc < 0) throwSys("seccomp: exporting the compiled filter (seccomp_export_bpf)", -rc);
    off_t size = lseek(mem.fd, 0, SEEK_END);
    if (size < 0) throwErrno("seccomp: sizing the compiled filter");
    c.bpf.resize(static_cast<std::size_t>(size));
    std::size_t done = 0;
    while (done < c.bpf.size()) {
        ssize_t n =
            pread(mem.fd, c.bpf.data() + done, c.bpf.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throwErrno("seccomp: reading back the compiled filter");
        done += static_cast<std::size_t>(n);
    }
    if (c.bpf.empty() || c.bpf.size() % sizeof(sock_filter) != 0 ||
        c.bpf.size() / sizeof(sock_filter) > BPF_MAXINSNS)
        throw Error("seccomp: the compiled filter has " + std::to_string(c.bpf.size()) +
                    " bytes; the kernel accepts 1 to " + std::to_string(BPF_MAXINSNS) +
                    " instructions of " + std::to_string(sizeof(sock_filter)) + " bytes");
    return c;
}

CompiledSeccomp prepareSeccomp(const ResolvedSeccomp& r, const std::string& stateRoot) {
    if (!r.enabled || stateRoot.empty()) return compileSeccomp(r);
    SeccompCache cache(seccompCacheDir(stateRoot));
    const std::string key = seccompCacheKey(r);
    if (auto entry = cache.load(key)) {
        CompiledSeccomp c;
        c.enabled = true;
        c.bpf = std::move(entry->bpf);
        c.flagBits = r.flagBits;
        c.usesNotify = r.usesNotify;
        if (r.usesNotify) {
            c.flagBits |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
            if (c.flagBits & SECCOMP_FILTER_FLAG_TSYNC)
                c.flagBits |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
        c.listenerPath = r.listenerPath;
        c.listenerMetadata = r.listenerMetadata;
        c.fromCache = true;
        c.cacheKey = key;
        return c;
    }
    CompiledSeccomp c = compileSeccomp(r);
    c.cacheKey = key;
    cache.store(key, {c.bpf, ""});  // best effort: a read-only state root must not fail a start
    return c;
}

namespace {

// The facts a fast-path cache entry carries besides the BPF.
std::string planMeta(const SeccompPlan& p) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&](const std::string& s) {
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("flagBits");
    w.Uint(p.compiled.flagBits);
    w.Key("usesNotify");
    w.Bool(p.compiled.usesNotify);
    w.Key("listenerPath");
    str(p.compiled.listenerPath);
    w.Key("listenerMetadata");
    str(p.compiled.listenerMetadata);
    w.Key("ruleCount");
    w.Uint64(p.ruleCount);
    w.Key("includedRuleCount");
    w.Uint64(p.includedRuleCount);
    w.Key("warnings");
    w.StartArray();
    for (const auto& x : p.warnings) str(x);
    w.EndArray();
    w.Key("deniedWithoutCap");
    w.StartObject();
    for (const auto& [cap, names] : p.deniedWithoutCap) {
        w.Key(cap.c_str());
        w.StartArray();
        for (const auto& n : names) str(n);
        w.EndArray();
    }
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

// Fills `p` from a cache entry's meta; false when it is not what planMeta writes.
bool applyPlanMeta(const std::string& meta, SeccompPlan& p) {
    rapidjson::Document d;
    if (d.Parse(meta.c_str(), meta.size()).HasParseError() || !d.IsObject()) return false;
    auto has = [&](const char* k, rapidjson::Type t) {
        return d.HasMember(k) && d[k].GetType() == t;
    };
    if (!d.HasMember("flagBits") || !d["flagBits"].IsUint() || !d.HasMember("usesNotify") ||
        !d["usesNotify"].IsBool() || !has("listenerPath", rapidjson::kStringType) ||
        !has("listenerMetadata", rapidjson::kStringType) ||
        !has("warnings", rapidjson::kArrayType) ||
        !has("deniedWithoutCap", rapidjson::kObjectType) || !d.HasMember("ruleCount") ||
        !d["ruleCount"].IsUint64() || !d.HasMember("includedRuleCount") ||
        !d["includedRuleCount"].IsUint64())
        return false;
    p.compiled.flagBits = d["flagBits"].GetUint();
    p.compiled.usesNotify = d["usesNotify"].GetBool();
    p.compiled.listenerPath = d["listenerPath"].GetString();
    p.compiled.listenerMetadata = d["listenerMetadata"].GetString();
    p.ruleCount = d["ruleCount"].GetUint64();
    p.includedRuleCount = d["includedRuleCount"].GetUint64();
    for (const auto& x : d["warnings"].GetArray()) {
        if (!x.IsString()) return false;
        p.warnings.emplace_back(x.GetString());
    }
    for (const auto& m : d["deniedWithoutCap"].GetObject()) {
        if (!m.value.IsArray()) return false;
        auto& list = p.deniedWithoutCap[m.name.GetString()];
        for (const auto& n : m.value.GetArray()) {
            if (!n.IsString()) return false;
            list.emplace_back(n.GetString());
        }
    }
    return true;
}

}  // namespace

SeccompPlan planSeccomp(const Spec& spec, const std::optional<std::string>& profileOption,
                        const SeccompHost& host, const std::string& stateRoot) {
    Definition def = chooseDefinition(spec, profileOption);
    SeccompPlan plan;
    plan.source = def.source;
    if (def.source.kind == SeccompSource::Kind::None) return plan;

    const std::uint32_t native = effectiveNative(host.nativeArch);
    SeccompHost h = host;
    h.nativeArch = native;
    if (h.kernelRelease.empty()) h.kernelRelease = runningKernelRelease();

    std::string key;
    std::optional<SeccompCache> cache;
    if (!stateRoot.empty()) {
        const auto* v = seccomp_version();
        std::string material = "caprun-seccomp-plan/1\ncaprun " CAPRUN_VERSION "\nlibseccomp ";
        material += std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                    std::to_string(v->micro) + "\nkernel " + h.kernelRelease + "\nnative " +
                    std::to_string(native) + "\ngranted " + std::to_string(h.grantedBounding) +
                    "\nstrict " + (h.strictUnknownSyscalls ? "1" : "0") + "\nlabel " +
                    def.source.label() + "\n";
        material += def.configFilter ? definitionText(*def.configFilter) : def.profileText;
        key = seccompCacheHash(material);
        cache.emplace(seccompCacheDir(stateRoot));
        if (auto entry = cache->load(key); entry && applyPlanMeta(entry->meta, plan)) {
            plan.compiled.enabled = true;
            plan.compiled.bpf = std::move(entry->bpf);
            plan.compiled.fromCache = true;
            plan.compiled.cacheKey = key;
            return plan;
        }
        plan = SeccompPlan{};  // a half-applied bad entry leaves nothing behind
        plan.source = def.source;
    }

    ResolvedSeccomp r = resolveSeccomp(parseDefinition(def, native), h);
    plan.compiled = compileSeccomp(r);
    plan.warnings = r.warnings;
    plan.deniedWithoutCap = r.deniedWithoutCap;
    plan.ruleCount = r.rules.size();
    plan.includedRuleCount = r.includedRuleCount();
    if (cache) {
        plan.compiled.cacheKey = key;
        cache->store(key, {plan.compiled.bpf, planMeta(plan)});  // best effort
    }
    return plan;
}

// --- install -------------------------------------------------------------------------

int installSeccomp(const CompiledSeccomp& c) {
    if (!c.enabled) return -1;
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(c.bpf.size() / sizeof(sock_filter));
    prog.filter = reinterpret_cast<sock_filter*>(const_cast<std::uint8_t*>(c.bpf.data()));
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c.flagBits, &prog);
    if (rc < 0) {
        int err = errno;
        std::string flags;
        for (const auto& k : kFlags)
            if (c.flagBits & k.bit) flags += std::string(flags.empty() ? "" : "|") + k.name;
        if (c.flagBits & SECCOMP_FILTER_FLAG_NEW_LISTENER)
            flags += std::string(flags.empty() ? "" : "|") + "SECCOMP_FILTER_FLAG_NEW_LISTENER";
        if (c.flagBits & SECCOMP_FILTER_FLAG_TSYNC_ESRCH)
            flags += std::string(flags.empty() ? "" : "|") + "SECCOMP_FILTER_FLAG_TSYNC_ESRCH";
        std::string hint;
        if (err == EACCES)
            hint = " (loading a filter needs CAP_SYS_ADMIN or no_new_privs)";
        else if (err == EINVAL)
            hint = " (this kernel may not support one of the flags)";
        throw Error("installing the seccomp filter (" + std::to_string(prog.len) +
                    " instructions, flags " + (flags.empty() ? "none" : flags) +
                    "): " + errnoText(err) + hint);
    }
    if (c.flagBits & SECCOMP_FILTER_FLAG_NEW_LISTENER) return static_cast<int>(rc);
    if (rc > 0 && (c.flagBits & SECCOMP_FILTER_FLAG_TSYNC))
        throw Error("installing the seccomp filter: thread " + std::to_string(rc) +
                    " could not be synchronised (SECCOMP_FILTER_FLAG_TSYNC)");
    return -1;
}

// --- NOTIFY listener -----------------------------------------------------------------

std::string seccompListenerMessage(int pid, const std::string& metadata,
                                   const std::string& stateJson) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("ociVersion");
    w.String(CAPRUN_SPEC_VERSION);
    w.Key("fds");
    w.StartArray();
    w.String("seccompFd");
    w.EndArray();
    w.Key("pid");
    w.Int(pid);
    w.Key("metadata");
    w.String(metadata.c_str(), static_cast<rapidjson::SizeType>(metadata.size()));
    w.Key("state");
    w.RawValue(stateJson.c_str(), stateJson.size(), rapidjson::kObjectType);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

void sendSeccompListener(const std::string& listenerPath, int listenerFd,
                         const std::string& message) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (listenerPath.size() >= sizeof(addr.sun_path))
        throw Error("seccomp listenerPath " + listenerPath + ": longer than a unix socket path (" +
                    std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
    std::memcpy(addr.sun_path, listenerPath.c_str(), listenerPath.size());
    Fd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock.fd < 0) throwErrno("creating a socket for the seccomp agent");
    while (connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (errno == EINTR) continue;
        throwErrno("connecting to the seccomp agent at listenerPath " + listenerPath);
    }
    iovec iov{};
    iov.iov_base = const_cast<char*>(message.data());
    iov.iov_len = message.size();
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &listenerFd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(sock.fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno("sending the seccomp listener fd to " + listenerPath);
    // The fd went with the first bytes; the rest of a long state follows on the stream.
    std::size_t done = static_cast<std::size_t>(n);
    while (done < message.size()) {
        n = send(sock.fd, message.data() + done, message.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throwErrno("sending the container state to the seccomp agent at " + listenerPath);
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace caprun
