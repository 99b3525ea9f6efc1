#include "caprun/process_plan.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "caprun/cap_report.hpp"
#include "caprun/explain.hpp"
#include "caprun/seccomp_resolve.hpp"
#include "caprun/error.hpp"
#include "caprun/log.hpp"
#include "caprun/namespaces.hpp"

namespace caprun {

std::string seccompInstallPointName(SeccompInstallPoint p) {
    switch (p) {
        case SeccompInstallPoint::None:
            return "none";
        case SeccompInstallPoint::BeforeCapabilityDrop:
            return "before-capability-drop";
        case SeccompInstallPoint::AfterCredentials:
            return "after-credentials";
        case SeccompInstallPoint::BeforeExec:
            return "before-exec";
    }
    return "none";
}

int rlimitResource(const std::string& name, const std::string& jsonPath) {
    auto it = rlimitNumbers().find(name);
    if (it != rlimitNumbers().end()) return it->second;
    throw Error("config.json: " + jsonPath + ".type: unknown rlimit \"" + name + "\"");
}

ProcessPlan planProcess(const Spec& spec, const Process& process, const ProcessRequest& request,
                        const HostFacts& host, const PlatformFacts& platform) {
    const bool isInit = request.role == ProcessRole::Init;
    ProcessPlan plan;
    plan.role = request.role;
    plan.args = process.args;
    plan.env = process.env;
    plan.cwd = process.cwd.empty() ? "/" : process.cwd;
    if (plan.cwd.front() != '/')
        throw Error("config.json: process.cwd: \"" + plan.cwd + "\" is not an absolute path");

    // The capability plan from the whole spec (linux decides the user namespace) with this
    // process in it: exec brings its own.
    Spec view = spec;
    view.process = process;
    plan.capabilities = planForContainer(view, request.capPolicy, request.rootfs, host);
    const CapabilityPlan& cap = plan.capabilities;
    plan.policy = capPolicyName(cap.policy.policy);

    // Seccomp gates follow the granted bounding set, so a dropped capability also keeps the
    // syscalls it would unlock denied; the drop message says which.
    plan.seccomp =
        planSeccomp(spec, request.seccompProfile, seccompHostFor(cap), request.seccompCacheRoot);
    const CapDropNote note = [&](const CapDrop& d) {
        return capDropNote(cap, plan.seccomp.deniedWithoutCap, d);
    };
    if (cap.refusesToStart())
        plan.refusal = cap.shortfallMessage(note);
    else if (std::string w = cap.shortfallMessage(note); !w.empty())
        plan.warnings.push_back(w);
    plan.warnings.insert(plan.warnings.end(), plan.seccomp.warnings.begin(),
                         plan.seccomp.warnings.end());
    plan.notes = cap.predictionWarnings;

    for (const auto& r : cap.rlimits)
        plan.rlimits.push_back({rlimitResource(r.type, r.jsonPath), r.type,
                                static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)});
    if (cap.oomScoreAdj) plan.oomScoreAdj = cap.oomScoreAdj->value;
    plan.user = process.user;
    plan.umask = process.user.umask;
    plan.noNewPrivileges = process.noNewPrivileges;
    plan.preserveFds = request.preserveFds;
    plan.sessionKeyring = request.sessionKeyring;
    plan.userNamespace = request.userNamespace;
    plan.attrs = planProcessAttrs(spec, process, platform,
                                  isInit ? "config.json: process." : "exec: process.", isInit);
    if (isInit && spec.linux && planNamespaces(spec).creates(NamespaceKind::Uts)) {
        if (!spec.hostname.empty()) plan.hostname = spec.hostname;
        if (!spec.domainname.empty()) plan.domainname = spec.domainname;
    }

    if (!plan.seccomp.compiled.enabled)
        plan.seccompAt = SeccompInstallPoint::None;
    else if (!plan.noNewPrivileges)
        plan.seccompAt = SeccompInstallPoint::BeforeCapabilityDrop;
    else if (plan.seccomp.compiled.usesNotify)
        plan.seccompAt = SeccompInstallPoint::AfterCredentials;
    else
        plan.seccompAt = SeccompInstallPoint::BeforeExec;
    return plan;
}

void requireStartable(const ProcessPlan& plan) {
    if (!plan.refusal.empty()) throw Error(plan.refusal);
    for (const auto& w : plan.warnings) log::warn(w);
    for (const auto& n : plan.notes) log::info(n);
}

namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void names(Writer& w, const char* key, CapMask mask) {
    w.Key(key);
    w.StartArray();
    for (const auto& n : capNames(mask)) w.String(n.c_str());
    w.EndArray();
}

void strings(Writer& w, const char* key, const std::vector<std::string>& v) {
    w.Key(key);
    w.StartArray();
    for (const auto& s : v) w.String(s.c_str());
    w.EndArray();
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

}  // namespace

std::string processPlanJson(const ProcessPlan& p) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.SetIndent(' ', 2);
    w.StartObject();
    w.Key("role");
    w.String(p.role == ProcessRole::Init ? "init" : "exec");
    w.Key("policy");
    w.String(p.policy.c_str());
    w.Key("mayStart");
    w.Bool(p.refusal.empty());
    if (!p.refusal.empty()) {
        w.Key("refusal");
        w.String(p.refusal.c_str());
    }
    strings(w, "args", p.args);
    w.Key("cwd");
    w.String(p.cwd.c_str());
    w.Key("user");
    w.StartObject();
    w.Key("uid");
    w.Uint(p.user.uid);
    w.Key("gid");
    w.Uint(p.user.gid);
    w.Key("additionalGids");
    w.StartArray();
    for (auto g : p.user.additionalGids) w.Uint(g);
    w.EndArray();
    if (p.umask) {
        w.Key("umask");
        w.Uint(*p.umask);
    }
    w.EndObject();
    w.Key("capabilities");
    w.StartObject();
    const CapSets& g = p.capabilities.granted;
    names(w, "boundingDrop", p.capabilities.boundingDrop);
    names(w, "bounding", g.bounding);
    names(w, "effective", g.effective);
    names(w, "permitted", g.permitted);
    names(w, "inheritable", g.inheritable);
    names(w, "ambient", g.ambient);
    w.EndObject();
    w.Key("rlimits");
    w.StartArray();
    for (const auto& r : p.rlimits) {
        w.StartObject();
        w.Key("type");
        w.String(r.type.c_str());
        w.Key("soft");
        w.Uint64(r.soft);
        w.Key("hard");
        w.Uint64(r.hard);
        w.EndObject();
    }
    w.EndArray();
    if (p.oomScoreAdj) {
        w.Key("oomScoreAdj");
        w.Int(*p.oomScoreAdj);
    }
    w.Key("noNewPrivileges");
    w.Bool(p.noNewPrivileges);
    if (p.hostname) {
        w.Key("hostname");
        w.String(p.hostname->c_str());
    }
    if (p.domainname) {
        w.Key("domainname");
        w.String(p.domainname->c_str());
    }
    w.Key("sessionKeyring");
    w.String(p.sessionKeyring.c_str());
    w.Key("preserveFds");
    w.Uint(p.preserveFds);
    w.Key("seccomp");
    w.StartObject();
    w.Key("installAt");
    w.String(seccompInstallPointName(p.seccompAt).c_str());
    if (p.seccomp.compiled.enabled) {
        w.Key("source");
        w.String(p.seccomp.source.describe().c_str());
        w.Key("instructions");
        w.Uint64(p.seccomp.compiled.bpf.size() / 8);
        w.Key("flags");
        w.Uint(p.seccomp.compiled.flagBits);
        w.Key("notify");
        w.Bool(p.seccomp.compiled.usesNotify);
    }
    w.EndObject();
    strings(w, "warnings", p.warnings);
    strings(w, "notes", p.notes);
    w.EndObject();
    return buf.GetString();
}

std::string processPlanText(const ProcessPlan& p) {
    std::string t = "process plan (" + std::string(p.role == ProcessRole::Init ? "init" : "exec") +
                    ", " + p.policy +
                    " policy): " + (p.refusal.empty() ? "may start" : "refused: " + p.refusal) +
                    "\n";
    t += "  runs: " + joined(p.args) + " in " + p.cwd + " as uid " + std::to_string(p.user.uid) +
         " gid " + std::to_string(p.user.gid) + "\n";
    t += "  bounding drop: " + capMaskHex(p.capabilities.boundingDrop) + "\n";
    t += "  no_new_privs: " + std::string(p.noNewPrivileges ? "yes" : "no") +
         "; seccomp installed: " + seccompInstallPointName(p.seccompAt) + "\n";
    for (const auto& r : p.rlimits)
        t += "  " + r.type + ": soft " + std::to_string(r.soft) + " hard " +
             std::to_string(r.hard) + "\n";
    if (p.oomScoreAdj) t += "  oom_score_adj: " + std::to_string(*p.oomScoreAdj) + "\n";
    if (!p.sessionKeyring.empty()) t += "  session keyring: " + p.sessionKeyring + "\n";
    return t;
}

void addProcessSection(CheckReport& report, const ProcessPlan& plan) {
    rapidjson::Document doc(&report.alloc());
    doc.Parse(processPlanJson(plan).c_str());
    rapidjson::Value value(rapidjson::kObjectType);
    value.CopyFrom(doc, report.alloc());
    report.set("processPlan", std::move(value));
    report.text += processPlanText(plan);
    // Brief: whether it may start (the refusal itself is in the verdict) and where seccomp goes.
    report.brief += "process plan (" +
                    std::string(plan.role == ProcessRole::Init ? "init" : "exec") + ", " +
                    plan.policy + " policy): " + (plan.refusal.empty() ? "may start" : "refused") +
                    "; no_new_privs " + (plan.noNewPrivileges ? "yes" : "no") +
                    "; seccomp installed " + seccompInstallPointName(plan.seccompAt) + "\n";
}

}  // namespace caprun
