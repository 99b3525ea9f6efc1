// Seccomp verdicts and `check` rendering. See include/caprun/seccomp_report.hpp.
#include "caprun/seccomp_report.hpp"

#include <seccomp.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>

#include "caprun/seccomp_names.hpp"

namespace caprun {

namespace {

std::string defaultActionText(const ResolvedSeccomp& r) {
    std::string t = r.defaultAction;
    if ((r.defaultActionValue & 0xffff0000U) == SCMP_ACT_ERRNO(0) ||
        (r.defaultActionValue & 0xffff0000U) == SCMP_ACT_TRACE(0))
        t += " (" + seccompErrnoName(r.defaultActionValue & 0xffff) + ")";
    return t;
}

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

SeccompVerdict seccompVerdictFor(const ResolvedSeccomp& r, const std::string& syscall) {
    SeccompVerdict v;
    auto setAction = [&](std::uint32_t value) {
        v.actionValue = value;
        v.kind = seccompActionKind(value);
        v.phrase = seccompActionPhrase(value);
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
                                     seccompActionPhrase(rule.actionValue)});
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

std::string renderSeccompBrief(const ResolvedSeccomp& r) {
    std::string out = "seccomp: " + r.source.describe() + "\n";
    if (!r.enabled) return out + "  no filter is installed\n";
    std::size_t in = r.includedRuleCount(), gatedOut = 0;
    for (const auto& rule : r.rules)
        if (rule.gated() && !rule.included) ++gatedOut;
    out += "  " + std::to_string(r.rules.size()) + " rules: " + std::to_string(in) +
           " in the filter, " + std::to_string(r.rules.size() - in) + " left out (" +
           std::to_string(gatedOut) + " for a capability not granted); default action " +
           defaultActionText(r) + "\n";
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

}  // namespace caprun
