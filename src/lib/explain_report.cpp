// `caprun explain` output: readable text, and JSON with the same content.
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "caprun/explain.hpp"

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

const char* fixKindName(CapFix::Kind k) {
    switch (k) {
        case CapFix::Kind::Container:
            return "container";
        case CapFix::Kind::HostLacks:
            return "host-lacks";
        case CapFix::Kind::RuntimeLacks:
            return "runtime-lacks";
        case CapFix::Kind::UserNamespace:
            return "user-namespace";
        case CapFix::Kind::NotKeptAfterExec:
            return "not-kept-after-exec";
        case CapFix::Kind::KernelLacks:
            return "kernel-lacks";
    }
    return "";
}

std::string header(const CapabilityPlan& plan) {
    return "Container: uid " + std::to_string(plan.uid) +
           (plan.noNewPrivileges ? ", no_new_privs" : "") +
           (plan.userNamespace ? ", own user namespace" : "") + "; capability policy " +
           capPolicyName(plan.policy.policy) + " (from " + plan.policy.source +
           "); host: " + plan.host.source + " (CapBnd=" + capMaskHex(plan.host.caps.bounding) + ")";
}

}  // namespace

std::string explainText(const std::vector<SyscallExplanation>& all, const CapabilityPlan& plan) {
    std::string t = header(plan) + "\n";
    for (const auto& n : plan.userNamespaceNotes) t += "note: " + n + "\n";
    for (const auto& e : all) {
        t += "\n" + e.syscall + "\n";
        if (!e.seccompFiltered) {
            t += "  seccomp: " + e.seccompSource + ": no filter, the kernel decides\n";
        } else {
            t += "  seccomp: " + e.seccompSource + "\n";
            t += "    " + e.seccompPhrase + " (decided by " + e.decidedBy + ")\n";
            for (const auto& r : e.rules) {
                t += std::string("    ") + (r.included ? "in   " : "out  ") + r.jsonPath;
                if (!r.condition.empty()) t += " (if " + r.condition + ")";
                t += ": " + r.reason + "\n";
            }
        }
        if (e.kernelChecks.empty()) {
            t += "  kernel: checks no capability for " + e.syscall + "\n";
        } else {
            t += "  kernel checks:\n";
            for (const auto& k : e.kernelChecks) {
                std::vector<std::string> names;
                for (const auto& c : k.anyOf) names.push_back(c.cap);
                t += "    " + join(names, " or ") +
                     (k.initialUserNs ? " (initial user namespace)" : " (owning user namespace)");
                if (!k.condition.empty()) t += " " + k.condition;
                t += k.satisfied ? ": held" : ": NOT held";
                std::vector<std::string> whys;
                for (const auto& c : k.anyOf)
                    whys.push_back(k.anyOf.size() > 1 ? c.cap + " " + c.why : c.why);
                t += " — " + join(whys, "; ");
                if (!k.note.empty()) t += " (" + k.note + ")";
                t += "\n";
            }
        }
        if (!e.kernelNote.empty()) t += "  note: " + e.kernelNote + "\n";
        t += "  result [" + e.cause + "]: " + e.outcome + "\n";
        for (const auto& f : e.fixes) {
            t += "  fix: " + std::string(f.kind == CapFix::Kind::Container ? "add " : "") + f.cap +
                 (f.conditional ? " (only for the arguments above)" : "") + "\n";
            for (const auto& b : f.because) t += "    because " + b + "\n";
            for (const auto& l : f.lines) t += "    " + l + "\n";
        }
        if (!e.otherFix.empty()) t += "  fix: " + e.otherFix + "\n";
        if (e.fixes.empty() && e.otherFix.empty()) t += "  fix: nothing to change\n";
    }
    return t;
}

std::string explainJson(const std::vector<SyscallExplanation>& all, const CapabilityPlan& plan) {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    auto str = [&](const std::string& s) {
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    };
    auto strs = [&](const std::vector<std::string>& v) {
        w.StartArray();
        for (const auto& s : v) str(s);
        w.EndArray();
    };
    w.StartObject();
    w.Key("container");
    w.StartObject();
    w.Key("uid");
    w.Uint(plan.uid);
    w.Key("noNewPrivileges");
    w.Bool(plan.noNewPrivileges);
    w.Key("userNamespace");
    w.Bool(plan.userNamespace);
    w.Key("policy");
    str(capPolicyName(plan.policy.policy));
    w.Key("policySource");
    str(plan.policy.source);
    w.Key("host");
    str(plan.host.source);
    w.Key("hostBounding");
    str(capMaskHex(plan.host.caps.bounding));
    w.Key("predictedEffective");
    str(capMaskHex(plan.predicted.effective));
    w.Key("userNamespaceNotes");
    strs(plan.userNamespaceNotes);
    w.EndObject();
    w.Key("syscalls");
    w.StartArray();
    for (const auto& e : all) {
        w.StartObject();
        w.Key("syscall");
        str(e.syscall);
        w.Key("seccomp");
        w.StartObject();
        w.Key("source");
        str(e.seccompSource);
        w.Key("filtered");
        w.Bool(e.seccompFiltered);
        w.Key("action");
        str(e.seccompKind);
        if (e.seccompErrno) {
            w.Key("errno");
            w.Uint(*e.seccompErrno);
        }
        w.Key("phrase");
        str(e.seccompPhrase);
        w.Key("decidedBy");
        str(e.decidedBy);
        w.Key("rules");
        w.StartArray();
        for (const auto& r : e.rules) {
            w.StartObject();
            w.Key("index");
            w.Uint64(r.index);
            w.Key("jsonPath");
            str(r.jsonPath);
            w.Key("included");
            w.Bool(r.included);
            w.Key("action");
            str(r.kind);
            if (!r.condition.empty()) {
                w.Key("condition");
                str(r.condition);
            }
            w.Key("reason");
            str(r.reason);
            w.Key("gates");
            w.StartArray();
            for (const auto& g : r.gates) {
                w.StartObject();
                w.Key("cap");
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
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        w.Key("kernelChecks");
        w.StartArray();
        for (const auto& k : e.kernelChecks) {
            w.StartObject();
            w.Key("anyOf");
            w.StartArray();
            for (const auto& c : k.anyOf) {
                w.StartObject();
                w.Key("cap");
                str(c.cap);
                w.Key("held");
                w.Bool(c.held);
                w.Key("hostOffers");
                w.Bool(c.hostOffers);
                w.Key("state");
                str(c.state);
                w.Key("why");
                str(c.why);
                w.EndObject();
            }
            w.EndArray();
            w.Key("condition");
            str(k.condition);
            w.Key("scope");
            str(k.initialUserNs ? "initial user namespace" : "owning user namespace");
            w.Key("errno");
            str(k.error == 13 ? "EACCES" : "EPERM");
            w.Key("satisfied");
            w.Bool(k.satisfied);
            if (!k.note.empty()) {
                w.Key("note");
                str(k.note);
            }
            w.EndObject();
        }
        w.EndArray();
        if (!e.kernelNote.empty()) {
            w.Key("note");
            str(e.kernelNote);
        }
        w.Key("cause");
        str(e.cause);
        w.Key("outcome");
        str(e.outcome);
        if (!e.kernelLacks.empty()) {
            w.Key("kernelLacks");
            str(e.kernelLacks);
        }
        w.Key("fixes");
        w.StartArray();
        for (const auto& f : e.fixes) {
            w.StartObject();
            w.Key("cap");
            str(f.cap);
            w.Key("kind");
            str(fixKindName(f.kind));
            w.Key("conditional");
            w.Bool(f.conditional);
            w.Key("because");
            strs(f.because);
            w.Key("configSets");
            strs(f.configSets);
            w.Key("lines");
            strs(f.lines);
            w.EndObject();
        }
        w.EndArray();
        if (!e.otherFix.empty()) {
            w.Key("otherFix");
            str(e.otherFix);
        }
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace caprun
