// `caprun explain`: the seccomp verdict, the kernel's capability checks and the fix for each
// syscall, over the same plans `check` prints. See include/caprun/explain.hpp.
#include "caprun/explain.hpp"
#include "caprun/kernel_facilities.hpp"
#include "caprun/record_plan.hpp"

#include <seccomp.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "caprun/error.hpp"
#include "caprun/seccomp_names.hpp"
#include "caprun/seccomp_report.hpp"
#include "caprun/syscall_caps.hpp"

namespace caprun {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// "CAP_SYS_NICE" -> "SYS_NICE", as docker, podman and Kubernetes spell it.
std::string shortCap(const std::string& cap) {
    return cap.rfind("CAP_", 0) == 0 ? cap.substr(4) : cap;
}

std::string lowerCase(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

const std::vector<std::string>& syscallNameTable() {
    static const std::vector<std::string> names = [] {
        std::set<std::string> s;
        for (int nr = 0; nr < 1024; ++nr) {
            char* n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
            if (n) {
                s.insert(n);
                std::free(n);
            }
        }
        for (const auto& e : allSyscallCapFacts()) s.insert(e.name);
        return std::vector<std::string>(s.begin(), s.end());
    }();
    return names;
}

std::size_t editDistance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min(
                {prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

CapStanding standing(const CapabilityPlan& plan, int cap) {
    CapStanding s;
    s.number = cap;
    s.cap = capabilityName(cap);
    const CapMask bit = capBit(cap);
    s.hostOffers = (plan.host.caps.bounding & bit) != 0;
    s.held = (plan.predicted.effective & bit) != 0;
    const CapDrop* drop = nullptr;
    for (const auto& d : plan.dropped)
        if (d.cap && *d.cap == cap) drop = &d;
    if (s.held) {
        s.state = "held";
        s.why = (plan.requested.effective & bit) ? "held after execve"
                                                 : "held after execve (gained at execve)";
    } else if (drop) {
        s.state = "dropped";
        s.why = "dropped by the " + std::string(capPolicyName(plan.policy.policy)) +
                " policy: " + drop->describe();
    } else if (!s.hostOffers) {
        s.state = "host lacks it";
        s.why = "not requested, and the host does not offer it (CapBnd=" +
                capMaskHex(plan.host.caps.bounding) + ")";
    } else if ((plan.granted.bounding | plan.granted.permitted) & bit) {
        s.state = "lost at execve";
        s.why = "granted, but not held after execve by uid " + std::to_string(plan.uid) +
                ((plan.granted.ambient & bit) ? "" : " (not in ambient, no file capability)");
    } else {
        s.state = "not requested";
        s.why = "not requested in config.json";
    }
    return s;
}

bool allowLike(const std::string& kind) {
    return kind == "allow" || kind == "log";
}

// Re-plans with `cap` added to `sets` of process.capabilities: the planner decides whether
// that grants it and keeps it after execve.
CapabilityPlan replanWith(const Spec& spec, const CapabilityPlan& plan, const std::string& cap,
                          const std::vector<std::string>& sets) {
    Spec s = spec;
    if (!s.process) s.process = Process{};
    if (!s.process->capabilities) s.process->capabilities = Capabilities{};
    Capabilities& c = *s.process->capabilities;
    const std::pair<const char*, std::vector<std::string>*> all[] = {
        {"bounding", &c.bounding},
        {"effective", &c.effective},
        {"inheritable", &c.inheritable},
        {"permitted", &c.permitted},
        {"ambient", &c.ambient}};
    for (const auto& [name, list] : all)
        if (contains(sets, name) && !contains(*list, cap)) list->push_back(cap);
    return planCapabilities(s, plan.host, plan.policy, plan.executable);
}

std::vector<std::string> callerLines(const std::string& cap, const std::vector<std::string>& sets) {
    const std::string sc = shortCap(cap);
    return {
        "config.json: add \"" + cap + "\" to process.capabilities." + join(sets, ", ."),
        "docker run --cap-add " + sc + " ...",
        "Kubernetes: securityContext.capabilities.add: [\"" + sc + "\"]",
        "podman run --cap-add " + sc + " ...",
        "ctr run --cap-add " + cap + " ...",
    };
}

void fillFix(CapFix& f, const Spec& spec, const CapabilityPlan& plan, bool needsExec,
             bool initialScope) {
    const int cap = *capabilityFromName(f.cap);
    const CapMask bit = capBit(cap);
    const HostFacts& h = plan.host;
    const bool strict = plan.policy.policy == CapPolicy::Strict;
    const std::string policyLine =
        strict ? "asking for it anyway stops create/run: the capability policy is strict (from " +
                     plan.policy.source + ")"
               : "asking for it anyway only adds a warning: the lenient policy (from " +
                     plan.policy.source + ") drops it";
    if (!(h.caps.bounding & bit)) {
        f.kind = CapFix::Kind::HostLacks;
        f.lines = {
            "no container setting can help: this runtime runs without " + f.cap +
                " in its bounding set (CapBnd=" + capMaskHex(h.caps.bounding) + ", " + h.source +
                ") — inside another container or on a host that removes it",
            "the host must offer " + f.cap +
                " to the runtime: whatever starts caprun (or the daemon calling it) must keep it "
                "in its bounding set",
            // In the words of what usually wraps the runtime: the outer container, pod or unit.
            "docker: the outer container that runs caprun (docker-in-docker) needs --cap-add " +
                shortCap(f.cap),
            "Kubernetes: the pod that runs caprun (a DinD or kind node) needs "
            "securityContext.capabilities.add: [\"" +
                shortCap(f.cap) + "\"]",
            "podman: the outer container that runs caprun needs --cap-add " + shortCap(f.cap),
            "a host service (containerd, dockerd, kubelet): its systemd unit's "
            "CapabilityBoundingSet= must include " +
                f.cap + "; on Talos, the machine configuration",
            policyLine};
        return;
    }
    if (!(h.caps.permitted & bit) && !plan.userNamespace) {
        f.kind = CapFix::Kind::RuntimeLacks;
        f.lines = {"no container setting can help: the runtime has " + f.cap +
                       " in its bounding set but not in its permitted set (CapPrm=" +
                       capMaskHex(h.caps.permitted) + ")",
                   "run caprun (and the daemon that calls it) with " + f.cap +
                       " permitted, e.g. as root without a capability-dropping wrapper",
                   policyLine};
        return;
    }
    if (initialScope && plan.userNamespace) {
        f.kind = CapFix::Kind::UserNamespace;
        f.lines = {"the kernel checks " + f.cap +
                       " against the initial user namespace: holding it inside the container's "
                       "own user namespace never counts",
                   "only a container without a user namespace can do this: remove {\"type\": "
                   "\"user\"} from linux.namespaces (Kubernetes: hostUsers: true; podman: "
                   "--userns=host), then add " +
                       f.cap + " to it"};
        return;
    }
    // Try the sets Docker fills (bounding, effective, permitted), then ambient too (a non-root
    // process keeps capabilities across execve only through ambient or a file capability).
    const std::vector<std::vector<std::string>> tries = {
        {"bounding", "effective", "permitted"},
        {"bounding", "effective", "inheritable", "permitted", "ambient"}};
    for (std::size_t i = 0; i < tries.size(); ++i) {
        CapabilityPlan p = replanWith(spec, plan, f.cap, tries[i]);
        const bool ok =
            needsExec ? (p.predicted.effective & bit) != 0 : (p.granted.bounding & bit) != 0;
        if (!ok) continue;
        f.kind = CapFix::Kind::Container;
        f.configSets = tries[i];
        f.lines = callerLines(f.cap, f.configSets);
        if (needsExec && plan.uid != 0 && i == 0 && plan.executable.fileCaps)
            f.lines.push_back("uid " + std::to_string(plan.uid) + " keeps it after execve " +
                              "through the file capability of " + plan.executable.path);
        if (i == 1) {
            const std::string exe =
                plan.executable.path.empty() ? std::string("the program") : plan.executable.path;
            f.lines.push_back(
                "uid " + std::to_string(plan.uid) +
                " is not root: it keeps the capability after execve only through the ambient set "
                "(config.json above) or a file capability. Docker, podman and Kubernetes put "
                "--cap-add in no ambient set, so for them give " +
                exe + " the file capability in the image (setcap " + lowerCase(f.cap) + "+ep " +
                exe + ") or run the process as root");
        }
        return;
    }
    f.kind = CapFix::Kind::NotKeptAfterExec;
    std::string why;
    if (plan.host.securebits & (1U << 6))
        why = "ambient raise is locked (SECBIT_NO_CAP_AMBIENT_RAISE)";
    if (plan.noNewPrivileges) why += std::string(why.empty() ? "" : "; ") + "no_new_privs is set";
    f.lines = {"no setting of the five capability sets keeps " + f.cap + " after execve for uid " +
                   std::to_string(plan.uid) + (why.empty() ? "" : " (" + why + ")"),
               "run the process as root (process.user.uid 0; Kubernetes runAsUser: 0)"};
}

CapFix& fixFor(std::vector<CapFix>& fixes, const std::string& cap) {
    for (auto& f : fixes)
        if (f.cap == cap) return f;
    fixes.push_back(CapFix{});
    fixes.back().cap = cap;
    fixes.back().conditional = true;
    return fixes.back();
}

ExplainedRule explainedRule(const ResolvedSeccomp& r, std::size_t i, const std::string& condition) {
    const auto& rule = r.rules[i];
    ExplainedRule e;
    e.index = i;
    e.jsonPath = rule.jsonPath;
    e.included = rule.included;
    e.kind = seccompActionKind(rule.actionValue);
    e.condition = condition;
    e.reason = rule.reason;
    e.gates = rule.capGates;
    return e;
}

// A profile `caprun record` wrote: its allow rule carries record's comment.
bool isRecordedProfile(const SelectedSeccomp& selected) {
    if (!selected.filter) return false;
    for (const auto& r : selected.filter->syscalls)
        if (r.comment.rfind(kRecordedProfileMarker, 0) == 0) return true;
    return false;
}

SyscallExplanation explainOne(const Spec& spec, const CapabilityPlan& plan,
                              const SelectedSeccomp& selected, const SeccompHost& host,
                              const ResolvedSeccomp& r, const std::string& name) {
    SyscallExplanation e;
    e.syscall = name;
    e.seccompSource = r.source.describe();
    const SeccompVerdict v = seccompVerdictFor(r, name);
    e.seccompFiltered = v.filtered;
    e.seccompKind = v.kind;
    e.seccompErrno = v.errnoValue;
    e.seccompPhrase = v.phrase;
    e.conditional = v.conditional;
    if (v.filtered) e.decidedBy = v.decidedBy;
    if (v.rule) e.rules.push_back(explainedRule(r, *v.rule, ""));
    for (const auto& c : v.conditional) e.rules.push_back(explainedRule(r, c.rule, c.condition));
    for (auto i : v.leftOut) e.rules.push_back(explainedRule(r, i, ""));

    const bool seccompDenies = v.filtered && !allowLike(v.kind) && v.conditional.empty();
    bool conditionalAllow = false;
    for (const auto& c : v.conditional) conditionalAllow |= allowLike(c.kind);

    // Which gated rule would let it through, and with which capabilities: re-resolve the
    // same filter with them granted.
    std::vector<CapFix> fixes;
    bool gateFixFound = false;
    if (v.filtered && (!allowLike(v.kind) || !v.conditional.empty())) {
        for (auto i : v.leftOut) {
            const auto& rule = r.rules[i];
            if (!allowLike(seccompActionKind(rule.actionValue))) continue;
            std::vector<const ResolvedSeccompRule::CapGate*> missing;
            bool blockedByExclude = false;
            for (const auto& g : rule.capGates) {
                if (g.required && !g.granted) missing.push_back(&g);
                if (!g.required && g.granted) blockedByExclude = true;
            }
            if (missing.empty() || blockedByExclude) continue;
            SeccompHost h2 = host;
            bool known = true;
            for (const auto* g : missing) {
                auto n = capabilityFromName(g->cap);
                if (!n)
                    known = false;
                else
                    h2.grantedBounding |= capBit(*n);
            }
            if (!known) continue;
            SeccompVerdict v2;
            try {
                v2 = seccompVerdictFor(resolveSeccomp(selected, h2), name);
            } catch (const Error&) {
                continue;
            }
            if (!allowLike(v2.kind) && v2.conditional.empty()) continue;
            for (const auto* g : missing) {
                CapFix& f = fixFor(fixes, g->cap);
                f.conditional = false;
                f.because.push_back("seccomp rule " + rule.jsonPath + " allows " + name +
                                    " only with " + g->cap + " (" + g->why + ")");
            }
            gateFixFound = true;
            break;
        }
    }

    // The kernel's checks.
    std::vector<std::string> failing, failingConditional;
    std::set<std::string> initialScopeCaps;
    if (const SyscallCapFacts* facts = syscallCapFacts(name)) {
        e.kernelNote = facts->note;
        for (const auto& c : facts->checks) {
            ExplainedCapCheck k;
            k.condition = c.condition;
            k.initialUserNs = c.scope == CapScope::InitialUserNs;
            k.error = c.error;
            bool held = false;
            for (int cap : c.anyOf) {
                k.anyOf.push_back(standing(plan, cap));
                held |= k.anyOf.back().held;
            }
            k.satisfied = held && !(k.initialUserNs && plan.userNamespace);
            if (held && !k.satisfied)
                k.note =
                    "held only inside the container's user namespace, which this check "
                    "does not accept";
            if (!k.satisfied) {
                // Prefer an alternative the host offers (CAP_PERFMON over CAP_SYS_ADMIN).
                int pick = c.anyOf.front();
                for (int cap : c.anyOf)
                    if (plan.host.caps.bounding & capBit(cap)) {
                        pick = cap;
                        break;
                    }
                const std::string capName = capabilityName(pick);
                CapFix& f = fixFor(fixes, capName);
                if (c.condition.empty()) f.conditional = false;
                f.because.push_back("the kernel checks " + describeCapCheck(c));
                if (k.initialUserNs) initialScopeCaps.insert(capName);
                (c.condition.empty() ? failing : failingConditional)
                    .push_back(capCheckNames(c) + (c.condition.empty() ? "" : " " + c.condition));
            }
            e.kernelChecks.push_back(std::move(k));
        }
    }
    for (auto& f : fixes) {
        bool kernelReason = false;
        for (const auto& b : f.because) kernelReason |= b.rfind("the kernel", 0) == 0;
        fillFix(f, spec, plan, kernelReason, initialScopeCaps.count(f.cap) > 0);
    }
    e.fixes = std::move(fixes);

    // The verdict in one sentence.
    const std::string errnoText = e.kernelChecks.empty()
                                      ? "EPERM"
                                      : (e.kernelChecks.front().error == 13 ? "EACCES" : "EPERM");
    std::string kernelPart;
    if (!failing.empty())
        kernelPart = "fails with " + errnoText + ": the kernel checks " + join(failing, "; ") +
                     ", which the container does not hold after execve";
    else if (!failingConditional.empty())
        kernelPart = "fails with EPERM/EACCES when the kernel checks " +
                     join(failingConditional, "; ") + " (the container does not hold it)";
    if (seccompDenies) {
        e.cause = v.kind == "notify" ? "seccomp agent" : v.kind == "trace" ? "tracer" : "seccomp";
        e.outcome = v.phrase + ": the seccomp filter's " + v.decidedBy +
                    " decides before the kernel checks anything";
        if (!v.rule && isRecordedProfile(selected)) {
            e.outcome = v.phrase + ": not in the recorded profile (" + e.seccompSource +
                        "): the run caprun record watched never made it";
            e.otherFix =
                "record a run that makes it, and merge it into this profile (caprun record "
                "--merge --output DIR DIR1 DIR2), or allow it in the profile by hand";
        } else if (!gateFixFound && (v.kind == "errno" || v.kind == "kill" || v.kind == "trap"))
            e.otherFix =
                "no capability changes the filter's decision: only another seccomp profile can "
                "(caprun --seccomp-profile FILE or the annotation run.caprun.seccomp-profile, "
                "docker/podman --security-opt seccomp=FILE, Kubernetes "
                "securityContext.seccompProfile)";
    } else if (!v.conditional.empty()) {
        e.cause = "seccomp (depending on arguments)";
        std::vector<std::string> parts;
        for (const auto& c : v.conditional) parts.push_back("if " + c.condition + ": " + c.phrase);
        e.outcome = join(parts, "; ") + "; otherwise " + v.phrase + " (" + v.decidedBy + ")";
        if (conditionalAllow && !kernelPart.empty())
            e.outcome += "; where allowed, it " + kernelPart;
    } else if (!failing.empty()) {
        e.cause = "capability";
        e.outcome = kernelPart;
    } else if (!failingConditional.empty()) {
        e.cause = "capability (depending on arguments)";
        e.outcome = kernelPart;
    } else {
        e.cause = "none";
        e.outcome = e.kernelChecks.empty()
                        ? std::string(
                              "allowed; the kernel checks no capability for it, so an "
                              "EPERM/EACCES comes from something else (an LSM, file "
                              "permissions, a read-only mount)")
                        : std::string(
                              "allowed; the container holds every capability the kernel "
                              "checks for it");
    }
    // Said first: whatever the filter and the capabilities, the call cannot succeed here.
    if (auto lacks = missingFacilityNote(plan.host.missingFacilities, name)) {
        e.kernelLacks = *lacks;
        e.cause = "kernel lacks it";
        e.outcome = *lacks + "; as configured, " + e.outcome;
        // What the host lacks stays said; nothing to add to the container is offered.
        std::erase_if(e.fixes, [](const CapFix& f) {
            return f.kind != CapFix::Kind::HostLacks && f.kind != CapFix::Kind::RuntimeLacks;
        });
        e.otherFix = "none in the container: only a kernel built with it (or another host) can";
    }
    return e;
}

}  // namespace

const std::vector<std::string>& knownSyscallNames() {
    return syscallNameTable();
}

std::vector<std::string> nearestSyscallNames(const std::string& name, std::size_t n) {
    std::vector<std::pair<std::size_t, std::string>> scored;
    for (const auto& k : knownSyscallNames()) scored.emplace_back(editDistance(name, k), k);
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (std::size_t i = 0; i < scored.size() && out.size() < n; ++i)
        out.push_back(scored[i].second);
    return out;
}

void validateSyscallNames(const std::vector<std::string>& names) {
    std::vector<std::string> bad;
    const auto& known = knownSyscallNames();
    for (const auto& n : names)
        if (!std::binary_search(known.begin(), known.end(), n))
            bad.push_back("\"" + n + "\" (nearest: " + join(nearestSyscallNames(n)) + ")");
    if (bad.empty()) return;
    throw Error("explain: unknown syscall name" + std::string(bad.size() > 1 ? "s " : " ") +
                join(bad, "; ") + " — names are libseccomp's, as in a seccomp profile");
}

std::vector<SyscallExplanation> explainSyscalls(const Spec& spec, const CapabilityPlan& plan,
                                                const SelectedSeccomp& seccomp,
                                                const std::vector<std::string>& names) {
    validateSyscallNames(names);
    const SeccompHost host = seccompHostFor(plan);
    const ResolvedSeccomp r = resolveSeccomp(seccomp, host);
    std::vector<SyscallExplanation> out;
    for (const auto& n : names) out.push_back(explainOne(spec, plan, seccomp, host, r, n));
    return out;
}

std::vector<CapFix> fixesForDeniedCaps(const Spec& spec, const CapabilityPlan& plan,
                                       const std::string& syscall,
                                       const std::vector<std::string>& caps,
                                       const std::string& because) {
    std::vector<CapFix> out;
    if (auto lacks = missingFacilityNote(plan.host.missingFacilities, syscall)) {
        CapFix f;
        f.kind = CapFix::Kind::KernelLacks;
        f.because = {because};
        f.lines = {*lacks};
        out.push_back(std::move(f));
        return out;
    }
    const SyscallCapFacts* facts = syscallCapFacts(syscall);
    for (const auto& cap : caps) {
        auto n = capabilityFromName(cap);
        if (!n) continue;
        bool initial = false;
        if (facts)
            for (const auto& c : facts->checks)
                if (c.scope == CapScope::InitialUserNs &&
                    std::find(c.anyOf.begin(), c.anyOf.end(), *n) != c.anyOf.end())
                    initial = true;
        CapFix f;
        f.cap = capabilityName(*n);
        f.because = {because};
        fillFix(f, spec, plan, true, initial);
        out.push_back(std::move(f));
    }
    return out;
}

std::string capDropNote(const CapabilityPlan& plan,
                        const std::map<std::string, std::vector<std::string>>& deniedWithoutCap,
                        const CapDrop& drop) {
    std::vector<std::string> parts;
    const bool hostLacks = std::any_of(drop.parts.begin(), drop.parts.end(), [](const auto& p) {
        return p.kind == CapDropKind::HostLacks;
    });
    if (hostLacks)
        parts.push_back("this runtime runs without " + drop.name +
                        " in its bounding set — inside another container or on a host that "
                        "removes it");
    std::vector<std::string> seccompDenied;
    if (auto it = deniedWithoutCap.find(drop.name); it != deniedWithoutCap.end())
        seccompDenied = it->second;
    if (!seccompDenied.empty())
        parts.push_back("seccomp keeps " + join(seccompDenied) + " denied without it");
    if (drop.cap && !(plan.predicted.effective & capBit(*drop.cap))) {
        std::vector<std::string> always, sometimes;
        for (const auto& e : allSyscallCapFacts()) {
            if (contains(seccompDenied, e.name)) continue;
            bool a = false, s = false;
            for (const auto& c : e.checks) {
                if (std::find(c.anyOf.begin(), c.anyOf.end(), *drop.cap) == c.anyOf.end()) continue;
                bool alt = false;  // another capability of the check is held
                for (int o : c.anyOf)
                    if (o != *drop.cap && (plan.predicted.effective & capBit(o))) alt = true;
                if (alt) continue;
                (c.condition.empty() ? a : s) = true;
            }
            if (a)
                always.push_back(e.name);
            else if (s)
                sometimes.push_back(e.name);
        }
        auto capped = [](std::vector<std::string> v) {
            constexpr std::size_t kMax = 8;
            if (v.size() <= kMax) return join(v);
            std::size_t more = v.size() - kMax;
            v.resize(kMax);
            return join(v) + " and " + std::to_string(more) + " more";
        };
        std::string k;
        if (!always.empty()) k = "the kernel refuses " + capped(always) + " without it";
        if (!sometimes.empty())
            k += std::string(k.empty() ? "" : ", and ") + "depending on their arguments " +
                 capped(sometimes);
        if (!k.empty()) parts.push_back(k + " (caprun explain SYSCALL says more)");
    }
    return join(parts, "; ");
}

}  // namespace caprun
