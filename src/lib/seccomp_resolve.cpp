// Seccomp gate resolution and validation. See include/caprun/seccomp_resolve.hpp.
#include "caprun/seccomp_resolve.hpp"

#include <seccomp.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "caprun/capabilities.hpp"
#include "caprun/error.hpp"
#include "caprun/seccomp_names.hpp"

namespace caprun {

namespace {

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

std::string capVerdict(const ResolvedSeccompRule::CapGate& g) {
    return g.granted ? "granted" : "not granted (" + g.why + ")";
}

}  // namespace

std::string seccompKernelRelease(const SeccompHost& host) {
    if (!host.kernelRelease.empty()) return host.kernelRelease;
    struct utsname u {};
    if (uname(&u) != 0) throwErrno("reading the kernel release (uname)");
    return u.release;
}

std::size_t ResolvedSeccomp::includedRuleCount() const {
    return static_cast<std::size_t>(
        std::count_if(rules.begin(), rules.end(), [](const auto& r) { return r.included; }));
}

ResolvedSeccomp resolveSeccomp(const SelectedSeccomp& selected, const SeccompHost& host) {
    ResolvedSeccomp r;
    r.source = selected.source;
    r.nativeArch = seccompNativeArch(host.nativeArch);
    r.kernelRelease = seccompKernelRelease(host);
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
    r.defaultActionValue =
        seccompActionValue(label, pre + "defaultAction", f.defaultAction, f.defaultErrnoRet,
                           "defaultErrnoRet", "the default action");

    // Architectures: native always, plus the listed ones.
    r.architectures.push_back(seccompArchToken(r.nativeArch));
    for (std::size_t i = 0; i < f.architectures.size(); ++i) {
        const std::string& a = f.architectures[i];
        if (!seccompArchByToken(a))
            fail(pre + "architectures[" + std::to_string(i) + "]",
                 "unknown architecture \"" + a + "\"; expected one of " + seccompArchTokenList());
        if (std::find(r.architectures.begin(), r.architectures.end(), a) == r.architectures.end())
            r.architectures.push_back(a);
    }

    // Flags.
    for (std::size_t i = 0; i < f.flags.size(); ++i) {
        auto bit = seccompFilterFlagBit(f.flags[i]);
        if (!bit) {
            const std::string why = "unknown seccomp flag \"" + f.flags[i] +
                                    "\"; expected one of " + seccompFilterFlagNameList();
            fail(pre + "flags[" + std::to_string(i) + "]", why);
        }
        r.flags.push_back(f.flags[i]);
        r.flagBits |= *bit;
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
        auto c = capabilityFromName(raw);
        g.cap = c ? capabilityName(*c) : canonicalCapabilityName(raw);
        if (!c) {
            g.granted = false;
            g.why = "not a capability this system knows";
            return g;
        }
        g.granted = *c < 64 && (host.grantedBounding >> *c) & 1U;
        if (g.granted) {
            g.why = "granted";
        } else if (auto it = host.capDropReasons.find(*c); it != host.capDropReasons.end()) {
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
        rule.actionValue = seccompActionValue(label, rule.jsonPath + ".action", s.action,
                                              s.errnoRet, "errnoRet", ruleDesc);
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
            if (!seccompCompareOp(a.op))
                fail(ap + ".op", "unknown comparison \"" + a.op + "\"; expected one of " +
                                     seccompCompareNameList());
        }

        // Gates. Every one is evaluated so `check` can show all of them.
        std::string outReason;
        const std::string phrase = seccompActionPhrase(rule.actionValue);
        if (s.includes) {
            const auto& inc = *s.includes;
            if (!inc.arches.empty() &&
                std::none_of(inc.arches.begin(), inc.arches.end(), [&](const auto& a) {
                    return seccompArchNameMatches(a, r.nativeArch);
                }))
                outReason = "only on " + joinNames(inc.arches) + " (this is " +
                            seccompArchShortName(r.nativeArch) + ")";
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
                if (seccompArchNameMatches(a, r.nativeArch) && outReason.empty())
                    outReason =
                        "not on " + a + " (this is " + seccompArchShortName(r.nativeArch) + ")";
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

    if ((r.flagBits & kSeccompFlagWaitKillableRecv) && !r.usesNotify) {
        // The kernel rejects this flag without a listener; without NOTIFY rules it means nothing.
        r.flagBits &= ~kSeccompFlagWaitKillableRecv;
        r.warnings.push_back(
            "seccomp: ignoring SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: no rule uses "
            "SCMP_ACT_NOTIFY");
    }

    // Syscalls that stay denied because a capability is missing: named by an excluded
    // includes.caps rule and not allowed outright by any included rule.
    if (!seccompActionAllows(r.defaultActionValue)) {
        std::set<std::string> allowedOutright;
        for (const auto& rule : r.rules)
            if (rule.included && seccompActionAllows(rule.actionValue) && rule.args.empty())
                allowedOutright.insert(rule.names.begin(), rule.names.end());
        for (const auto& rule : r.rules) {
            if (rule.included || !seccompActionAllows(rule.actionValue)) continue;
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
    auto it = r.deniedWithoutCap.find(canonicalCapabilityName(cap));
    return it == r.deniedWithoutCap.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace caprun
