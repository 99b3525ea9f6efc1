#include "caprun/cap_plan.hpp"
#include "caprun/cap_userns.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/seccomp_resolve.hpp"

namespace caprun {

namespace {

constexpr std::uint64_t kInfinity = ~std::uint64_t{0};

std::string joinStrings(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::string setList(const std::vector<CapSetKind>& sets) {
    std::vector<std::string> names;
    for (auto k : sets) names.emplace_back(capSetName(k));
    return joinStrings(names, ", ");
}

std::string limitText(std::uint64_t v) {
    return v == kInfinity ? "unlimited" : std::to_string(v);
}

std::optional<CapPolicy> parsePolicy(const std::string& v) {
    if (v == "strict") return CapPolicy::Strict;
    if (v == "lenient") return CapPolicy::Lenient;
    return std::nullopt;
}

struct SetVerdict {
    bool granted = true;
    CapDropKind kind = CapDropKind::InvalidName;
    std::string reason;
};

std::string hostLacksReason(const HostFacts& h) {
    return "not in the runtime's bounding set; the host does not offer it (CapBnd=" +
           capMaskHex(h.caps.bounding) + ")";
}

// Builds the drop list grouped by name, keeping the order names were first seen.
class DropCollector {
  public:
    void add(const std::string& name, std::optional<int> cap, CapSetKind set, CapDropKind kind,
             const std::string& reason) {
        auto it = std::find_if(drops_.begin(), drops_.end(),
                               [&](const CapDrop& d) { return d.name == name; });
        if (it == drops_.end()) {
            drops_.push_back(CapDrop{name, cap, {}});
            it = std::prev(drops_.end());
        }
        for (auto& part : it->parts) {
            if (part.reason == reason) {
                if (std::find(part.sets.begin(), part.sets.end(), set) == part.sets.end())
                    part.sets.push_back(set);
                return;
            }
        }
        it->parts.push_back(CapDrop::Part{{set}, kind, reason});
    }
    std::vector<CapDrop> take() { return std::move(drops_); }

  private:
    std::vector<CapDrop> drops_;
};

}  // namespace

const char* capPolicyName(CapPolicy p) {
    return p == CapPolicy::Strict ? "strict" : "lenient";
}

PolicyChoice resolvePolicy(const std::optional<std::string>& option,
                           const std::map<std::string, std::string>& annotations, const char* env) {
    if (option) {
        auto p = parsePolicy(*option);
        if (!p)
            throw Error("invalid value \"" + *option +
                        "\" for --cap-policy: expected one of strict, lenient");
        return {*p, "--cap-policy"};
    }
    if (auto it = annotations.find(kCapPolicyAnnotation); it != annotations.end()) {
        auto p = parsePolicy(it->second);
        if (!p)
            throw Error("config.json: annotations." + std::string(kCapPolicyAnnotation) +
                        ": invalid value \"" + it->second + "\": expected strict or lenient");
        return {*p, "annotation " + std::string(kCapPolicyAnnotation)};
    }
    if (env != nullptr && *env != '\0') {
        auto p = parsePolicy(env);
        if (!p)
            throw Error("environment variable " + std::string(kCapPolicyEnv) +
                        ": invalid value \"" + env + "\": expected strict or lenient");
        return {*p, "environment " + std::string(kCapPolicyEnv)};
    }
    return {CapPolicy::Lenient, "default"};
}

std::vector<CapSetKind> CapDrop::allSets() const {
    std::vector<CapSetKind> out;
    for (auto k : kAllCapSets)
        for (const auto& p : parts)
            if (std::find(p.sets.begin(), p.sets.end(), k) != p.sets.end()) {
                out.push_back(k);
                break;
            }
    return out;
}

std::string CapDrop::describe() const {
    std::vector<std::string> pieces;
    for (const auto& p : parts) {
        std::vector<CapSetKind> sorted;
        for (auto k : kAllCapSets)
            if (std::find(p.sets.begin(), p.sets.end(), k) != p.sets.end()) sorted.push_back(k);
        pieces.push_back(name + " (" + setList(sorted) + "): " + p.reason);
    }
    return joinStrings(pieces, "; ");
}

std::string RlimitDecision::describe() const {
    return jsonPath + " (" + type + "): soft " + limitText(requestedSoft) + ", hard " +
           limitText(requestedHard) + " requested, above the runtime's hard limit " +
           limitText(runtimeHard) +
           "; raising a hard limit needs CAP_SYS_RESOURCE, which the runtime does not hold";
}

std::string OomScoreDecision::describe() const {
    return "process.oomScoreAdj: " + std::to_string(requested) +
           (callersOwn ? " requested by the caller for the pod sandbox (" +
                             std::string(kCriContainerTypeAnnotation) +
                             "=sandbox), clamped under either cap policy"
                       : " requested") +
           ", below the runtime's own " + std::to_string(runtimeValue) +
           "; lowering it needs CAP_SYS_RESOURCE, which the runtime does not hold";
}

bool CapabilityPlan::hasShortfall() const {
    if (!dropped.empty() || boundingKept != 0) return true;
    for (const auto& r : rlimits)
        if (r.shortfall) return true;
    return oomScoreAdj && oomScoreAdj->shortfall;
}

bool CapabilityPlan::hasRefusableShortfall() const {
    if (oomScoreAdj && oomScoreAdj->shortfall && oomScoreAdj->callersOwn) {
        CapabilityPlan rest = *this;
        rest.oomScoreAdj.reset();
        return rest.hasShortfall();
    }
    return hasShortfall();
}

std::string CapabilityPlan::shortfallMessage(
    const std::function<std::string(const CapDrop&)>& extra) const {
    if (!hasShortfall()) return "";
    // Strict wording only when strict refuses: the caller's own clamp alone is a warning.
    const bool strict = refusesToStart();
    std::vector<std::string> items;
    for (const auto& d : dropped) {
        std::string item = (strict ? "" : "dropped ") + d.describe();
        if (extra) {
            std::string note = extra(d);
            if (!note.empty()) item += " (" + note + ")";
        }
        items.push_back(item);
    }
    if (boundingKept != 0) {
        std::string names;
        for (const auto& n : capNames(boundingKept)) names += (names.empty() ? "" : ", ") + n;
        items.push_back(std::string(strict ? "" : "kept ") +
                        "the bounding set cannot be reduced: the runtime lacks CAP_SETPCAP "
                        "(CapEff=" +
                        capMaskHex(host.caps.effective) + "), so " + names +
                        " would stay in it although not requested");
    }
    for (const auto& r : rlimits) {
        if (!r.shortfall) continue;
        items.push_back(strict ? r.describe()
                               : "clamped " + r.describe() + "; set to soft " + limitText(r.soft) +
                                     ", hard " + limitText(r.hard));
    }
    if (oomScoreAdj && oomScoreAdj->shortfall && !(strict && oomScoreAdj->callersOwn))
        items.push_back(strict ? oomScoreAdj->describe()
                               : "clamped " + oomScoreAdj->describe() + "; set to " +
                                     std::to_string(oomScoreAdj->value));
    const std::string policyText =
        std::string("cap policy ") + capPolicyName(policy.policy) + ", from " + policy.source;
    const std::string hostText = host.source == "this host" ? "" : " (" + host.source + ")";
    if (strict) {
        return "the host" + hostText + " cannot grant what config.json asks for (" + policyText +
               "): " + joinStrings(items, "; ") +
               ". To start without them (dropped, limits clamped), choose the lenient policy: "
               "--cap-policy=lenient, the annotation " +
               kCapPolicyAnnotation + "=lenient, or " + kCapPolicyEnv +
               "=lenient (the first of these that is set wins)";
    }
    return "the host" + hostText +
           " cannot grant everything config.json asks for; starting without it (" + policyText +
           "): " + joinStrings(items, "; ");
}

ExecutableInfo inspectExecutable(const Process& process, const std::string& rootfs) {
    ExecutableInfo info;
    if (process.args.empty()) {
        info.note = "no process.args";
        return info;
    }
    const std::string& arg0 = process.args[0];
    int root = ::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        info.note = "rootfs " + rootfs + " cannot be opened: " + errnoText(errno);
        return info;
    }
    std::vector<std::string> candidates;
    if (arg0.find('/') != std::string::npos) {
        candidates.push_back(arg0[0] == '/' ? arg0 : process.cwd + "/" + arg0);
    } else {
        std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (const auto& e : process.env)
            if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
        std::stringstream ss(path);
        std::string dir;
        while (std::getline(ss, dir, ':'))
            if (!dir.empty()) candidates.push_back(dir + "/" + arg0);
    }
    for (const auto& cand : candidates) {
        // RESOLVE_IN_ROOT: "..", absolute symlinks and all stay inside the rootfs.
        open_how how{};
        how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
        how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
        int fd = static_cast<int>(::syscall(SYS_openat2, root, cand.c_str(), &how, sizeof how));
        if (fd < 0) continue;
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
            ::close(fd);
            continue;
        }
        info.path = cand;
        info.setuidRoot = (st.st_mode & S_ISUID) != 0 && st.st_uid == 0;
        if (cap_t fc = cap_get_fd(fd); fc != nullptr) {
            FileCapabilities f;
            for (int i = 0; i <= CAP_LAST_CAP; ++i) {
                cap_flag_value_t v = CAP_CLEAR;
                auto cv = static_cast<cap_value_t>(i);
                if (cap_get_flag(fc, cv, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
                    f.permitted |= capBit(i);
                if (cap_get_flag(fc, cv, CAP_INHERITABLE, &v) == 0 && v == CAP_SET)
                    f.inheritable |= capBit(i);
                if (cap_get_flag(fc, cv, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
                    f.effective = true;
            }
            cap_free(fc);
            info.fileCaps = f;
        }
        ::close(fd);
        ::close(root);
        return info;
    }
    ::close(root);
    info.note = "\"" + arg0 + "\" not found as an executable file inside the rootfs";
    return info;
}

CapMask forcedCapsMissing(const CapSets& p, const ExecutableInfo& exe) {
    if (!exe.fileCaps || !exe.fileCaps->effective) return 0;
    const FileCapabilities& f = *exe.fileCaps;
    return f.permitted & ~((p.bounding & f.permitted) | (p.inheritable & f.inheritable));
}

// The steps of the kernel's cap_bprm_creds_from_file (security/commoncap.c), in its order.
CapSets predictAfterExec(const CapSets& p, std::uint32_t uid, bool noNewPrivileges,
                         const ExecutableInfo& exe, unsigned securebits, int capLastCap) {
    const CapMask all = capsUpTo(capLastCap);
    // bprm_fill_uid (fs/exec.c): under no_new_privs the set-user-ID bit changes nothing.
    const bool becomesRoot = exe.setuidRoot && !noNewPrivileges && uid != 0;
    const bool euidRoot = uid == 0 || becomesRoot;
    const bool hasFileCaps = exe.fileCaps.has_value();

    // get_file_caps: pP' = (bounding & fP) | (pI & fI), effective from the file's bit. (A
    // file whose forced capabilities do not fit fails execve: forcedCapsMissing.)
    CapMask permitted = 0;
    bool effective = false;
    if (hasFileCaps) {
        permitted =
            (p.bounding & exe.fileCaps->permitted) | (p.inheritable & exe.fileCaps->inheritable);
        effective = exe.fileCaps->effective;
    }
    // handle_privileged_root: uid 0 (unless SECBIT_NOROOT) gets bounding | inheritable and
    // effective, whatever the file says; except a set-user-ID-root file that also carries file
    // capabilities run by a non-root user, where the file's own sets count.
    if ((securebits & SECBIT_NOROOT) == 0 && euidRoot && !(hasFileCaps && becomesRoot)) {
        permitted = p.bounding | p.inheritable;
        effective = true;
    }
    // No new privileges: what execve would add beyond the old permitted set is cut off (the
    // kernel intersects only when something would be gained; intersecting always is the
    // same). File capabilities still count within the old permitted set.
    if (noNewPrivileges) permitted &= p.permitted;

    CapSets out;
    // File capabilities or a uid change clear ambient; what survives joins permitted.
    out.ambient = (hasFileCaps || becomesRoot) ? 0 : p.ambient;
    out.permitted = (permitted | out.ambient) & all;
    out.effective = effective ? out.permitted : out.ambient;
    out.inheritable = p.inheritable;
    out.bounding = p.bounding;
    return out;
}

CapabilityPlan planCapabilities(const Spec& spec, const HostFacts& host, const PolicyChoice& policy,
                                const ExecutableInfo& exe) {
    CapabilityPlan plan;
    plan.policy = policy;
    plan.host = host;
    plan.executable = exe;
    // Entering a user namespace (new, or joined with setns) the kernel gives the process the
    // full set of that namespace whatever the runtime holds (set_cred_user_ns): bounding,
    // permitted and effective all of 0..cap_last_cap, inheritable and ambient empty,
    // securebits cleared. That is what the executor starts from, so what the host lacks is
    // there too and must be dropped like anything else not requested. rlimits and
    // oom_score_adj are still checked against the initial namespace, so those decisions
    // below use the real `host`.
    HostFacts offer = host;
    if (spec.linux)
        for (const auto& ns : spec.linux->namespaces)
            if (ns.type == "user") {
                plan.userNamespace = true;
                const CapMask full = capsUpTo(host.capLastCap);
                offer.caps = CapSets{full, full, 0, full, 0};
                offer.securebits = 0;
            }
    plan.offered = offer.caps;
    plan.offeredSecurebits = offer.securebits;
    const HostFacts& h = offer;
    DropCollector drops;

    const Process* proc = spec.process ? &*spec.process : nullptr;
    if (proc) {
        plan.uid = proc->user.uid;
        plan.noNewPrivileges = proc->noNewPrivileges;
    }
    if (proc && proc->capabilities) {
        plan.capabilitiesObject = true;
        const Capabilities& c = *proc->capabilities;
        plan.requestedNames[CapSetKind::Bounding] = c.bounding;
        plan.requestedNames[CapSetKind::Effective] = c.effective;
        plan.requestedNames[CapSetKind::Inheritable] = c.inheritable;
        plan.requestedNames[CapSetKind::Permitted] = c.permitted;
        plan.requestedNames[CapSetKind::Ambient] = c.ambient;
    }

    // Classify names per set; valid known names go into `requested`.
    struct Entry {
        std::string name;
        int cap;
    };
    std::map<CapSetKind, std::vector<Entry>> valid;
    for (auto kind : kAllCapSets) {
        for (const auto& raw : plan.requestedNames[kind]) {
            auto cap = capabilityFromName(raw);
            if (!cap) {
                drops.add(raw, std::nullopt, kind, CapDropKind::InvalidName,
                          "not a capability name");
                continue;
            }
            std::string name = capabilityName(*cap);
            if (*cap > h.capLastCap) {
                drops.add(
                    name, cap, kind, CapDropKind::UnknownToKernel,
                    "unknown to this kernel (cap_last_cap=" + std::to_string(h.capLastCap) + ")");
                continue;
            }
            plan.requested[kind] |= capBit(*cap);
            valid[kind].push_back({name, *cap});
        }
    }

    // The rules of capset(2) and prctl(2), in the order the sets depend on each other.
    const bool hasSetpcap = (h.caps.effective & capBit(CAP_SETPCAP)) != 0;
    std::map<int, SetVerdict> permittedVerdict;
    auto judge = [&](CapSetKind kind, int cap) -> SetVerdict {
        const CapMask b = capBit(cap);
        const bool hostOffers = (h.caps.bounding & b) != 0;
        switch (kind) {
            case CapSetKind::Bounding:
                if (!hostOffers) return {false, CapDropKind::HostLacks, hostLacksReason(h)};
                return {};
            case CapSetKind::Permitted:
                if (h.caps.permitted & b) return {};
                if (!hostOffers) return {false, CapDropKind::HostLacks, hostLacksReason(h)};
                return {false, CapDropKind::NotInHostPermitted,
                        "not in the runtime's permitted set (CapPrm=" +
                            capMaskHex(h.caps.permitted) + ")"};
            case CapSetKind::Effective:
                if (plan.granted.permitted & b) return {};
                if (auto it = permittedVerdict.find(cap); it != permittedVerdict.end())
                    return it->second;  // same root cause as the permitted drop
                if (!hostOffers) return {false, CapDropKind::HostLacks, hostLacksReason(h)};
                return {false, CapDropKind::NotInPermitted,
                        "requested in effective but not in permitted (effective must be a "
                        "subset of permitted)"};
            case CapSetKind::Inheritable: {
                if (h.caps.inheritable & b) return {};
                if (!hostOffers) return {false, CapDropKind::HostLacks, hostLacksReason(h)};
                if (!(plan.granted.bounding & b))
                    return {false, CapDropKind::InheritableBlocked,
                            "requested in inheritable but not in bounding (the kernel keeps "
                            "inheritable within the bounding set)"};
                if (!hasSetpcap && !(h.caps.permitted & b))
                    return {false, CapDropKind::InheritableBlocked,
                            "not in the runtime's inheritable or permitted set and the runtime "
                            "lacks CAP_SETPCAP (CapInh=" +
                                capMaskHex(h.caps.inheritable) +
                                ", CapPrm=" + capMaskHex(h.caps.permitted) + ")"};
                return {};
            }
            case CapSetKind::Ambient: {
                if (h.securebits & SECBIT_NO_CAP_AMBIENT_RAISE)
                    return {false, CapDropKind::AmbientLocked,
                            "ambient capabilities cannot be raised on this host "
                            "(SECBIT_NO_CAP_AMBIENT_RAISE is set, securebits=0x" +
                                [&] {
                                    std::ostringstream s;
                                    s << std::hex << h.securebits;
                                    return s.str();
                                }() +
                                ")"};
                const bool inP = plan.granted.permitted & b, inI = plan.granted.inheritable & b;
                if (inP && inI) return {};
                if (!hostOffers) return {false, CapDropKind::HostLacks, hostLacksReason(h)};
                std::string missing = !inP && !inI ? "permitted and inheritable"
                                      : !inP       ? "permitted"
                                                   : "inheritable";
                return {false, CapDropKind::AmbientNeedsBoth,
                        "requested in ambient without " + missing +
                            " (an ambient capability must be granted in both permitted and "
                            "inheritable)"};
            }
        }
        return {};
    };
    const CapSetKind order[] = {CapSetKind::Bounding, CapSetKind::Permitted, CapSetKind::Effective,
                                CapSetKind::Inheritable, CapSetKind::Ambient};
    for (auto kind : order) {
        for (const auto& e : valid[kind]) {
            SetVerdict v = judge(kind, e.cap);
            if (v.granted) {
                plan.granted[kind] |= capBit(e.cap);
            } else {
                if (kind == CapSetKind::Permitted) permittedVerdict[e.cap] = v;
                drops.add(e.name, e.cap, kind, v.kind, v.reason);
            }
        }
    }
    plan.dropped = drops.take();
    // Report drops in the order config.json first names them (sets in spec order).
    std::map<std::string, std::size_t> firstSeen;
    for (auto kind : kAllCapSets)
        for (const auto& raw : plan.requestedNames[kind]) {
            auto cap = capabilityFromName(raw);
            firstSeen.emplace(cap ? capabilityName(*cap) : raw, firstSeen.size());
        }
    std::stable_sort(
        plan.dropped.begin(), plan.dropped.end(),
        [&](const CapDrop& a, const CapDrop& b) { return firstSeen[a.name] < firstSeen[b.name]; });
    if (!hasSetpcap) {
        plan.boundingKept = h.caps.bounding & ~plan.granted.bounding;
        if (policy.policy == CapPolicy::Lenient) plan.granted.bounding |= plan.boundingKept;
    }
    // Everything the init will hold in bounding that is not granted: the executor drops
    // exactly these (without CAP_SETPCAP, lenient keeps them all, so there are none).
    plan.boundingDrop = h.caps.bounding & ~plan.granted.bounding;

    // Limits that only CAP_SYS_RESOURCE can raise.
    const bool sysResource = (host.caps.effective & capBit(CAP_SYS_RESOURCE)) != 0;
    if (proc) {
        for (const auto& r : proc->rlimits) {
            RlimitDecision d;
            d.type = r.type;
            d.jsonPath = r.jsonPath;
            d.requestedSoft = d.soft = r.soft;
            d.requestedHard = d.hard = r.hard;
            auto it = h.rlimits.find(r.type);
            d.runtimeHard = it == h.rlimits.end() ? kInfinity : it->second.hard;
            if (!sysResource && r.hard > d.runtimeHard) {
                d.shortfall = true;
                if (policy.policy == CapPolicy::Lenient) {
                    d.hard = d.runtimeHard;
                    d.soft = std::min(r.soft, d.runtimeHard);
                }
            }
            plan.rlimits.push_back(d);
        }
        if (proc->oomScoreAdj) {
            OomScoreDecision o;
            o.requested = o.value = *proc->oomScoreAdj;
            o.runtimeValue = h.oomScoreAdj;
            if (!sysResource && o.requested < h.oomScoreAdj) {
                o.shortfall = true;
                auto type = spec.annotations.find(kCriContainerTypeAnnotation);
                o.callersOwn = type != spec.annotations.end() && type->second == "sandbox";
                if (policy.policy == CapPolicy::Lenient || o.callersOwn) o.value = h.oomScoreAdj;
            }
            plan.oomScoreAdj = o;
        }
    }

    // What the process will hold after execve, and where that surprises.
    plan.predicted = predictAfterExec(plan.granted, plan.uid, plan.noNewPrivileges, exe,
                                      h.securebits, h.capLastCap);
    auto names = [](CapMask m) { return joinStrings(capNames(m), ", "); };
    if (CapMask missing = forcedCapsMissing(plan.granted, exe))
        plan.predictionWarnings.push_back(
            "execve of " + exe.path +
            " fails with EPERM: its file capabilities have the effective "
            "bit and force " +
            names(missing) +
            ", which the bounding set does not hold (grant them in bounding, or remove them from "
            "the file's capabilities)");
    const bool rootRule = plan.uid == 0 && (h.securebits & SECBIT_NOROOT) == 0;
    if (rootRule) {
        CapMask extra = plan.predicted.effective & ~plan.granted.effective;
        if (extra)
            plan.predictionWarnings.push_back(
                "the process runs as uid 0, so after execve its effective and permitted sets "
                "become bounding ∪ inheritable" +
                std::string(plan.noNewPrivileges ? " (within permitted, under no_new_privs)" : "") +
                ": it also holds " + names(extra) + ", which effective did not ask for");
    } else if (proc) {
        CapMask lost =
            (plan.granted.effective | plan.granted.permitted) & ~plan.predicted.permitted;
        if (lost) {
            if (plan.predicted.permitted == 0)
                plan.predictionWarnings.push_back(
                    "uid " + std::to_string(plan.uid) +
                    " is not root and has no ambient capabilities" +
                    (exe.fileCaps ? std::string() : std::string(" or file capabilities")) +
                    ": after execve the process holds no capabilities (lost: " + names(lost) +
                    "; add them to ambient and inheritable to keep them)");
            else
                plan.predictionWarnings.push_back(
                    "uid " + std::to_string(plan.uid) + " is not root: after execve it loses " +
                    names(lost) + " (only ambient and file capabilities survive execve)");
        }
    }
    for (const auto& d : plan.dropped)
        for (const auto& part : d.parts)
            if (part.kind == CapDropKind::AmbientNeedsBoth &&
                !(plan.granted.inheritable & capBit(d.cap.value_or(0))))
                plan.predictionWarnings.push_back("ambient " + d.name +
                                                  " requested but inheritable lacks it: it "
                                                  "cannot be raised");
    if (exe.fileCaps && plan.noNewPrivileges) {
        // What the file would add without no_new_privs, and does not with it.
        const CapSets withoutNnp =
            predictAfterExec(plan.granted, plan.uid, false, exe, h.securebits, h.capLastCap);
        if (CapMask withheld = withoutNnp.permitted & ~plan.predicted.permitted)
            plan.predictionWarnings.push_back(
                "noNewPrivileges is set, so the file capabilities of " + exe.path +
                " cannot raise the permitted set: after execve it lacks " + names(withheld) +
                " (add them to permitted to keep them through the file capability)");
    }
    planUserNamespaceCaps(spec, host, plan);
    return plan;
}

CapabilityPlan planForContainer(const Spec& spec, const std::optional<std::string>& policyOption,
                                const std::string& rootfs, const HostFacts& host) {
    PolicyChoice policy = resolvePolicy(policyOption, spec.annotations, std::getenv(kCapPolicyEnv));
    ExecutableInfo exe;
    if (spec.process) exe = inspectExecutable(*spec.process, rootfs);
    return planCapabilities(spec, host, policy, exe);
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

}  // namespace caprun
