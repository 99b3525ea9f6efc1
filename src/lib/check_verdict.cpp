#include "caprun/check_verdict.hpp"

#include <algorithm>

#include "caprun/check_report.hpp"

namespace caprun {

namespace {

const char* kGreen = "\033[32m";
const char* kYellow = "\033[33m";
const char* kRed = "\033[31m";
const char* kReset = "\033[0m";

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// A refusal may hold several lines (one per refused field): one entry each.
std::vector<std::string> splitLines(const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const auto& s : in) {
        std::size_t start = 0;
        while (start <= s.size()) {
            std::size_t nl = s.find('\n', start);
            std::string line = s.substr(start, nl == std::string::npos ? nl : nl - start);
            if (!line.empty()) out.push_back(line);
            if (nl == std::string::npos) break;
            start = nl + 1;
        }
    }
    return out;
}

std::string paint(bool colour, const char* code, const std::string& s) {
    return colour ? code + s + kReset : s;
}

std::string plural(std::size_t n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

const std::vector<std::string>& likelyHitSyscalls() {
    // Calls that widespread software makes in a container, each gated by docker's (and
    // caprun's built-in) default profile: sandboxes and init systems (mount, umount2,
    // unshare, setns, sethostname, chroot), debuggers and crash reporters (ptrace,
    // process_vm_readv), profilers and eBPF tools (perf_event_open, bpf), NUMA-aware
    // runtimes and databases (mbind, set_mempolicy), time daemons (clock_settime,
    // settimeofday), dmesg (syslog).
    static const std::vector<std::string> names = {
        "mount",  "umount2",       "unshare",          "setns",           "sethostname",
        "chroot", "ptrace",        "process_vm_readv", "perf_event_open", "bpf",
        "mbind",  "set_mempolicy", "clock_settime",    "settimeofday",    "syslog"};
    return names;
}

CheckVerdict makeCheckVerdict(const CapabilityPlan& plan, const ResolvedSeccomp& seccomp,
                              PolicyOutcome strict, PolicyOutcome lenient) {
    CheckVerdict v;
    v.inForce = plan.policy;
    strict.refusals = splitLines(strict.refusals);
    lenient.refusals = splitLines(lenient.refusals);
    v.strict = std::move(strict);
    v.lenient = std::move(lenient);
    CapMask granted = 0;
    for (auto k : kAllCapSets) granted |= plan.granted[k];
    v.granted = capNames(granted);
    v.dropped = plan.dropped;
    // A syscall counts when a capability that unlocks it was dropped (the workload asked for
    // it) or when it is likely hit; syscalls unlocked by the same capabilities share a gap,
    // and gaps with a dropped capability come first.
    std::vector<std::string> droppedNames;
    for (const auto& d : plan.dropped) droppedNames.push_back(d.name);
    std::vector<std::pair<std::string, std::vector<std::string>>> capsOf;  // syscall, caps
    for (const auto& [cap, names] : seccomp.deniedWithoutCap)
        for (const auto& n : names) {
            auto it = std::find_if(capsOf.begin(), capsOf.end(),
                                   [&](const auto& e) { return e.first == n; });
            if (it == capsOf.end()) it = capsOf.insert(capsOf.end(), {n, {}});
            it->second.push_back(cap);
        }
    std::vector<SeccompGap> gaps;
    for (const auto& entry : capsOf) {
        // Named, not a structured binding: clang 14 (the fuzz build) cannot capture those.
        const auto& syscall = entry.first;
        const auto& caps = entry.second;
        std::vector<std::string> dropped;
        for (const auto& c : caps)
            if (contains(droppedNames, c)) dropped.push_back(c);
        if (dropped.empty() && !contains(likelyHitSyscalls(), syscall)) continue;
        auto it =
            std::find_if(gaps.begin(), gaps.end(), [&](const auto& g) { return g.caps == caps; });
        if (it == gaps.end()) it = gaps.insert(gaps.end(), SeccompGap{caps, dropped, {}});
        it->syscalls.push_back(syscall);
    }
    std::stable_partition(gaps.begin(), gaps.end(), [](const auto& g) { return g.dropped(); });
    v.seccompGaps = std::move(gaps);
    for (const auto* o : {&v.strict, &v.lenient})
        for (const auto& r : o->refusals)
            if (!contains(v.refusals, r)) v.refusals.push_back(r);
    return v;
}

std::vector<std::string> verdictLines(const CheckVerdict& v, bool colour) {
    std::vector<std::string> lines;
    const std::string inForceNote =
        std::string(" (the policy in force, from ") + v.inForce.source + ")";
    auto startsLine = [&](const PolicyOutcome& o) {
        const bool inForce = o.policy == v.inForce.policy;
        std::string head = std::string("Starts under ") + capPolicyName(o.policy) + ": ";
        if (!o.starts())
            return head + paint(colour, kRed, "no") + ", " +
                   plural(o.refusals.size(), "refusal", "refusals") + " below" +
                   (inForce ? inForceNote : "");
        std::string tail;
        if (!v.dropped.empty())
            tail = ", without " +
                   plural(v.dropped.size(), "requested capability", "requested capabilities");
        return head + paint(colour, kGreen, "yes") + tail + (inForce ? inForceNote : "");
    };
    lines.push_back(startsLine(v.strict));
    lines.push_back(startsLine(v.lenient));
    lines.push_back(v.granted.empty() ? "Granted: no capabilities"
                                      : paint(colour, kGreen, "Granted:") + " " + join(v.granted));

    // Every refusal is shown; dropped capabilities and seccomp gaps share what is left, each
    // summing up the rest in its last line.
    const std::size_t fixed = lines.size();
    std::size_t room = kMaxVerdictLines - fixed;
    const std::size_t reserve = (v.dropped.empty() ? 0 : 1) + (v.seccompGaps.empty() ? 0 : 1);
    std::vector<std::string> refusalLines;
    for (const auto& r : v.refusals) {
        const bool inStrict = contains(v.strict.refusals, r);
        const bool inLenient = contains(v.lenient.refusals, r);
        std::string label = inStrict && inLenient ? "Refused:"
                            : inStrict            ? "Refused under strict:"
                                                  : "Refused under lenient:";
        refusalLines.push_back(paint(colour, kRed, label) + " " + r);
    }
    const std::size_t refusalRoom = room > reserve ? room - reserve : 1;
    if (refusalLines.size() > refusalRoom) {
        const std::size_t more = refusalLines.size() - (refusalRoom - 1);
        refusalLines.resize(refusalRoom - 1);
        refusalLines.push_back(paint(colour, kRed, "Refused:") + " " + std::to_string(more) +
                               " more (check --verbose lists them)");
    }
    room -= std::min(room, refusalLines.size());

    std::vector<std::string> dropLines;
    for (const auto& d : v.dropped)
        dropLines.push_back(paint(colour, kYellow, "Dropped:") + " " + d.describe());
    const std::size_t dropRoom =
        v.seccompGaps.empty() ? room : (room > 1 ? room - 1 : std::min<std::size_t>(room, 1));
    if (dropLines.size() > dropRoom && dropRoom > 0) {
        const std::size_t more = dropLines.size() - (dropRoom - 1);
        dropLines.resize(dropRoom - 1);
        dropLines.push_back(paint(colour, kYellow, "Dropped:") + " " + std::to_string(more) +
                            " more capabilities (see Capabilities below)");
    } else if (dropRoom == 0) {
        dropLines.clear();
    }
    room -= std::min(room, dropLines.size());

    std::vector<std::string> gapLines;
    for (const auto& g : v.seccompGaps) {
        // "without CAP_SYS_NICE (dropped)", "without CAP_BPF or CAP_SYS_ADMIN (not requested)"
        const bool mixed = g.dropped() && g.droppedCaps.size() != g.caps.size();
        std::vector<std::string> caps;
        for (const auto& c : g.caps)
            caps.push_back(
                mixed ? c + (contains(g.droppedCaps, c) ? " (dropped)" : " (not requested)") : c);
        gapLines.push_back(paint(colour, kYellow, "Seccomp denies") + " " + join(g.syscalls) +
                           " without " + join(caps, " or ") +
                           (mixed         ? ""
                            : g.dropped() ? " (dropped)"
                                          : " (not requested)"));
    }
    if (gapLines.size() > room && room > 0) {
        std::size_t more = gapLines.size() - (room - 1);
        gapLines.resize(room - 1);
        gapLines.push_back(paint(colour, kYellow, "Seccomp denies") + " also what " +
                           std::to_string(more) +
                           " other capabilities unlock (check --verbose lists it)");
    } else if (room == 0) {
        gapLines.clear();
    }

    lines.insert(lines.end(), dropLines.begin(), dropLines.end());
    lines.insert(lines.end(), gapLines.begin(), gapLines.end());
    lines.insert(lines.end(), refusalLines.begin(), refusalLines.end());
    return lines;
}

void addVerdict(CheckReport& report, const CheckVerdict& v) {
    auto& al = report.alloc();
    auto strings = [&](const std::vector<std::string>& list) {
        rapidjson::Value a(rapidjson::kArrayType);
        for (const auto& s : list) a.PushBack(jsonString(report, s), al);
        return a;
    };
    rapidjson::Value out(rapidjson::kObjectType);
    out.AddMember("policy", rapidjson::StringRef(capPolicyName(v.inForce.policy)), al);
    out.AddMember("policySource", jsonString(report, v.inForce.source), al);
    for (const auto* o : {&v.strict, &v.lenient}) {
        rapidjson::Value j(rapidjson::kObjectType);
        j.AddMember("starts", o->starts(), al);
        j.AddMember("refusals", strings(o->refusals), al);
        out.AddMember(rapidjson::StringRef(capPolicyName(o->policy)), j, al);
    }
    out.AddMember("granted", strings(v.granted), al);
    rapidjson::Value dropped(rapidjson::kArrayType);
    for (const auto& d : v.dropped)
        for (const auto& part : d.parts) {
            rapidjson::Value j(rapidjson::kObjectType);
            j.AddMember("cap", jsonString(report, d.name), al);
            std::vector<std::string> sets;
            for (auto k : kAllCapSets)
                if (std::find(part.sets.begin(), part.sets.end(), k) != part.sets.end())
                    sets.push_back(capSetName(k));
            j.AddMember("sets", strings(sets), al);
            j.AddMember("reason", jsonString(report, part.reason), al);
            dropped.PushBack(j, al);
        }
    out.AddMember("dropped", dropped, al);
    rapidjson::Value gaps(rapidjson::kArrayType);
    for (const auto& g : v.seccompGaps) {
        rapidjson::Value j(rapidjson::kObjectType);
        j.AddMember("caps", strings(g.caps), al);
        j.AddMember("dropped", strings(g.droppedCaps), al);
        j.AddMember("syscalls", strings(g.syscalls), al);
        gaps.PushBack(j, al);
    }
    out.AddMember("seccompGaps", gaps, al);
    report.set("verdict", std::move(out));
}

}  // namespace caprun
