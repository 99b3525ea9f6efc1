#include "caprun/cap_report.hpp"

#include "caprun/check_report.hpp"

#include <algorithm>
#include <iomanip>
#include <set>
#include <sstream>

namespace caprun {

namespace {

using Alloc = rapidjson::Document::AllocatorType;

rapidjson::Value str(Alloc& a, const std::string& s) {
    return rapidjson::Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
}

rapidjson::Value setsObject(Alloc& al, const CapSets& s) {
    rapidjson::Value o(rapidjson::kObjectType);
    for (auto k : kAllCapSets) {
        rapidjson::Value a(rapidjson::kArrayType);
        for (const auto& n : capNames(s[k])) a.PushBack(str(al, n), al);
        o.AddMember(rapidjson::StringRef(capSetName(k)), a, al);
    }
    return o;
}

// Prediction warnings, with the lenient shortfall warning first.
std::vector<std::string> allWarnings(const CapabilityPlan& plan, const CapDropNote& extra) {
    std::vector<std::string> warnings = plan.predictionWarnings;
    const std::string shortfall = plan.shortfallMessage(extra);
    if (!shortfall.empty() && !plan.refusesToStart()) warnings.insert(warnings.begin(), shortfall);
    return warnings;
}

// "B E . P ." — which of the five sets hold the capability.
std::string letters(const CapSets& s, int cap) {
    static const char* kLetters[] = {"B", "E", "I", "P", "A"};
    std::string out;
    int i = 0;
    for (auto k : kAllCapSets) {
        if (!out.empty()) out += ' ';
        out += (s[k] & capBit(cap)) ? kLetters[i] : ".";
        ++i;
    }
    return out;
}

}  // namespace

std::string capabilityPlanText(const CapabilityPlan& plan, const CapDropNote& extra) {
    const HostFacts& h = plan.host;
    std::ostringstream t;
    t << "\nCapability policy: " << capPolicyName(plan.policy.policy) << " (from "
      << plan.policy.source << ")\n";
    t << "Host (" << h.source << "): CapBnd=" << capMaskHex(h.caps.bounding)
      << " CapPrm=" << capMaskHex(h.caps.permitted) << " CapEff=" << capMaskHex(h.caps.effective)
      << " CapInh=" << capMaskHex(h.caps.inheritable) << " CapAmb=" << capMaskHex(h.caps.ambient)
      << " cap_last_cap=" << h.capLastCap << " securebits=0x" << std::hex << h.securebits
      << std::dec << "\n";
    if (plan.userNamespace)
        t << "User namespace: entering it the init holds the full set of that namespace "
             "(bounding, permitted, effective; inheritable and ambient empty, securebits 0), "
             "including what the host lacks; what is not granted is dropped\n";
    for (const auto& n : plan.userNamespaceNotes) t << "Note: " << n << "\n";
    t << "Offered to the init: CapBnd=" << capMaskHex(plan.offered.bounding)
      << " CapPrm=" << capMaskHex(plan.offered.permitted)
      << " CapEff=" << capMaskHex(plan.offered.effective)
      << " CapInh=" << capMaskHex(plan.offered.inheritable)
      << " CapAmb=" << capMaskHex(plan.offered.ambient) << "\n";
    std::string dropNames;
    for (const auto& n : capNames(plan.boundingDrop))
        dropNames += (dropNames.empty() ? "" : ", ") + n;
    t << "Dropped from bounding: " << (dropNames.empty() ? "(nothing)" : dropNames) << "\n";
    if (!plan.capabilitiesObject) {
        t << "Capabilities: none requested (no process.capabilities)\n";
    }
    // One row per capability that appears anywhere: requested, granted, predicted.
    CapMask any = 0;
    for (auto k : kAllCapSets) any |= plan.requested[k] | plan.predicted[k];
    std::map<std::string, const CapDrop*> dropByName;
    for (const auto& d : plan.dropped) dropByName[d.name] = &d;
    if (any != 0 || !plan.dropped.empty()) {
        t << "Capabilities (B=bounding E=effective I=inheritable P=permitted A=ambient):\n";
        t << "  " << std::left << std::setw(26) << "CAPABILITY" << std::setw(12) << "REQUESTED"
          << std::setw(12) << "GRANTED" << std::setw(12) << "AFTER EXEC"
          << "NOTE\n";
        for (int cap : capsIn(any)) {
            std::string name = capabilityName(cap);
            std::string note;
            if (auto it = dropByName.find(name); it != dropByName.end()) {
                note = "dropped " + it->second->describe().substr(name.size() + 1);
                if (extra) {
                    std::string x = extra(*it->second);
                    if (!x.empty()) note += " (" + x + ")";
                }
            } else if ((plan.predicted.effective & capBit(cap)) &&
                       !(plan.requested.effective & capBit(cap))) {
                note = "gained at execve";
            } else if ((plan.granted.effective & capBit(cap)) &&
                       !(plan.predicted.effective & capBit(cap))) {
                note = "lost at execve";
            }
            t << "  " << std::setw(26) << name << std::setw(12) << letters(plan.requested, cap)
              << std::setw(12) << letters(plan.granted, cap) << std::setw(12)
              << letters(plan.predicted, cap) << note << "\n";
        }
        // Names that are not capabilities (or unknown to this kernel) have no row above.
        for (const auto& d : plan.dropped)
            if (!d.cap || *d.cap > h.capLastCap)
                t << "  " << std::setw(26) << d.name << "dropped "
                  << d.describe().substr(d.name.size() + 1) << "\n";
    }
    t << "Executable: ";
    if (plan.executable.path.empty()) {
        t << "(not inspected: " << plan.executable.note << ")\n";
    } else {
        t << plan.executable.path;
        if (plan.executable.fileCaps)
            t << " (file capabilities: " <<
                [&] {
                    std::string s;
                    for (const auto& n : capNames(plan.executable.fileCaps->permitted))
                        s += (s.empty() ? "" : ",") + n;
                    return s;
                }()
              << (plan.executable.fileCaps->effective ? "+ep" : "+p") << ")";
        else
            t << " (no file capabilities)";
        if (plan.executable.setuidRoot) t << " (setuid root)";
        t << "\n";
    }
    t << "User: uid " << plan.uid << (plan.noNewPrivileges ? ", no_new_privs" : "") << "\n";
    for (const auto& rl : plan.rlimits) {
        t << "Limit " << rl.type << ": soft " << rl.soft << ", hard " << rl.hard;
        if (rl.shortfall)
            t << (plan.policy.policy == CapPolicy::Strict ? "  REFUSED: " : "  clamped: ")
              << rl.describe();
        t << "\n";
    }
    if (plan.oomScoreAdj) {
        t << "oom_score_adj: " << plan.oomScoreAdj->value;
        if (plan.oomScoreAdj->shortfall)
            t << (plan.policy.policy == CapPolicy::Strict && !plan.oomScoreAdj->callersOwn
                      ? "  REFUSED: "
                      : "  clamped: ")
              << plan.oomScoreAdj->describe();
        t << "\n";
    }
    if (plan.refusesToStart()) t << "ERROR: " << plan.shortfallMessage(extra) << "\n";
    for (const auto& w : allWarnings(plan, extra)) t << "warning: " << w << "\n";
    return t.str();
}

rapidjson::Value capabilityPlanJson(const CapabilityPlan& plan, Alloc& al,
                                    const CapDropNote& extra) {
    const HostFacts& h = plan.host;
    rapidjson::Value out(rapidjson::kObjectType);
    auto set = [&](const char* key, rapidjson::Value v) {
        out.AddMember(rapidjson::StringRef(key), v, al);
    };
    set("policy", str(al, capPolicyName(plan.policy.policy)));
    set("policySource", str(al, plan.policy.source));
    rapidjson::Value host(rapidjson::kObjectType);
    for (auto k : kAllCapSets)
        host.AddMember(rapidjson::StringRef(capSetName(k)), str(al, capMaskHex(h.caps[k])), al);
    host.AddMember("capLastCap", h.capLastCap, al);
    host.AddMember("securebits", h.securebits, al);
    host.AddMember("kernelRelease", str(al, h.kernelRelease), al);
    host.AddMember("source", str(al, h.source), al);
    host.AddMember("userNamespace", plan.userNamespace, al);
    set("host", std::move(host));
    rapidjson::Value unNotes(rapidjson::kArrayType);
    for (const auto& n : plan.userNamespaceNotes) unNotes.PushBack(str(al, n), al);
    set("userNamespaceNotes", std::move(unNotes));
    rapidjson::Value offered(rapidjson::kObjectType);
    for (auto k : kAllCapSets)
        offered.AddMember(rapidjson::StringRef(capSetName(k)), str(al, capMaskHex(plan.offered[k])),
                          al);
    set("offered", std::move(offered));
    rapidjson::Value drop(rapidjson::kArrayType);
    for (const auto& n : capNames(plan.boundingDrop)) drop.PushBack(str(al, n), al);
    set("boundingDrop", std::move(drop));
    set("requested", setsObject(al, plan.requested));
    set("granted", setsObject(al, plan.granted));
    rapidjson::Value dropped(rapidjson::kArrayType);
    for (const auto& d : plan.dropped) {
        for (const auto& part : d.parts) {
            rapidjson::Value o(rapidjson::kObjectType);
            o.AddMember("cap", str(al, d.name), al);
            rapidjson::Value sets(rapidjson::kArrayType);
            for (auto k : kAllCapSets)
                for (auto s : part.sets)
                    if (s == k) sets.PushBack(rapidjson::StringRef(capSetName(k)), al);
            o.AddMember("sets", sets, al);
            o.AddMember("reason", str(al, part.reason), al);
            if (extra) {
                std::string x = extra(d);
                if (!x.empty()) o.AddMember("note", str(al, x), al);
            }
            dropped.PushBack(o, al);
        }
    }
    set("dropped", std::move(dropped));
    rapidjson::Value predicted = setsObject(al, plan.predicted);
    rapidjson::Value masks(rapidjson::kObjectType);
    for (auto k : kAllCapSets)
        masks.AddMember(rapidjson::StringRef(capSetName(k)), str(al, capMaskHex(plan.predicted[k])),
                        al);
    predicted.AddMember("masks", masks, al);
    set("predicted", std::move(predicted));
    rapidjson::Value ws(rapidjson::kArrayType);
    for (const auto& w : allWarnings(plan, extra)) ws.PushBack(str(al, w), al);
    set("warnings", std::move(ws));
    if (plan.refusesToStart()) set("error", str(al, plan.shortfallMessage(extra)));
    rapidjson::Value rls(rapidjson::kArrayType);
    for (const auto& rl : plan.rlimits) {
        rapidjson::Value o(rapidjson::kObjectType);
        o.AddMember("type", str(al, rl.type), al);
        o.AddMember("requestedSoft", rl.requestedSoft, al);
        o.AddMember("requestedHard", rl.requestedHard, al);
        o.AddMember("soft", rl.soft, al);
        o.AddMember("hard", rl.hard, al);
        o.AddMember("runtimeHard", rl.runtimeHard, al);
        o.AddMember("shortfall", rl.shortfall, al);
        rls.PushBack(o, al);
    }
    set("rlimits", std::move(rls));
    if (plan.oomScoreAdj) {
        rapidjson::Value o(rapidjson::kObjectType);
        o.AddMember("requested", plan.oomScoreAdj->requested, al);
        o.AddMember("value", plan.oomScoreAdj->value, al);
        o.AddMember("runtimeValue", plan.oomScoreAdj->runtimeValue, al);
        o.AddMember("shortfall", plan.oomScoreAdj->shortfall, al);
        o.AddMember("callersOwn", plan.oomScoreAdj->callersOwn, al);
        set("oomScoreAdj", std::move(o));
    }
    rapidjson::Value exe(rapidjson::kObjectType);
    exe.AddMember("path", str(al, plan.executable.path), al);
    if (!plan.executable.note.empty()) exe.AddMember("note", str(al, plan.executable.note), al);
    if (plan.executable.fileCaps) {
        rapidjson::Value fc(rapidjson::kObjectType);
        fc.AddMember("permitted", str(al, capMaskHex(plan.executable.fileCaps->permitted)), al);
        fc.AddMember("inheritable", str(al, capMaskHex(plan.executable.fileCaps->inheritable)), al);
        fc.AddMember("effective", plan.executable.fileCaps->effective, al);
        exe.AddMember("fileCapabilities", fc, al);
    }
    exe.AddMember("setuidRoot", plan.executable.setuidRoot, al);
    set("executable", std::move(exe));
    return out;
}

std::string capabilityPlanBrief(const CapabilityPlan& plan) {
    const HostFacts& h = plan.host;
    std::ostringstream t;
    t << "Capability policy: " << capPolicyName(plan.policy.policy) << " (from "
      << plan.policy.source << "); host (" << h.source << ") CapBnd=" << capMaskHex(h.caps.bounding)
      << " CapEff=" << capMaskHex(h.caps.effective)
      << (plan.userNamespace ? "; user namespace" : "") << "\n";
    // Capabilities with the same sets requested, granted and after exec share one line.
    CapMask any = 0;
    for (auto k : kAllCapSets) any |= plan.requested[k] | plan.predicted[k];
    std::vector<std::pair<std::string, std::vector<std::string>>> rows;
    for (int cap : capsIn(any)) {
        const std::string key = letters(plan.requested, cap) + " > " + letters(plan.granted, cap) +
                                " > " + letters(plan.predicted, cap);
        auto it =
            std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.first == key; });
        if (it == rows.end()) it = rows.insert(rows.end(), {key, {}});
        it->second.push_back(capabilityName(cap));
    }
    if (!plan.capabilitiesObject) t << "Capabilities: none requested (no process.capabilities)\n";
    if (!rows.empty()) {
        t << "Capabilities (requested > granted > after exec, in B E I P A):\n";
        for (const auto& [key, names] : rows) {
            t << "  " << key << "  ";
            for (std::size_t i = 0; i < names.size(); ++i) t << (i ? " " : "") << names[i];
            t << "\n";
        }
    }
    if (plan.executable.path.empty())
        t << "Executable: (not inspected: " << plan.executable.note << ")\n";
    for (const auto& rl : plan.rlimits)
        if (rl.shortfall)
            t << "Limit " << rl.type << ": soft " << rl.soft << ", hard " << rl.hard
              << (plan.policy.policy == CapPolicy::Strict ? "  REFUSED" : "  clamped") << "\n";
    if (plan.oomScoreAdj && plan.oomScoreAdj->shortfall)
        t << "oom_score_adj: " << plan.oomScoreAdj->value
          << (plan.policy.policy == CapPolicy::Strict ? "  REFUSED" : "  clamped") << "\n";
    for (const auto& w : plan.predictionWarnings) t << "warning: " << w << "\n";
    return t.str();
}

void addCapabilitySection(CheckReport& report, const CapabilityPlan& plan,
                          const CapDropNote& note) {
    report.text += capabilityPlanText(plan, note);
    report.brief += capabilityPlanBrief(plan);
    report.set("capabilities", capabilityPlanJson(plan, report.alloc(), note));
}

}  // namespace caprun
