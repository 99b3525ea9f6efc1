#include "caprun/check_report.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <sstream>

#include "caprun/seccomp_report.hpp"

namespace caprun {

namespace {

rapidjson::Value stringArray(CheckReport& r, const std::vector<std::string>& v) {
    rapidjson::Value a(rapidjson::kArrayType);
    for (const auto& s : v) a.PushBack(jsonString(r, s), r.alloc());
    return a;
}

std::string joinWords(const std::vector<std::string>& v, const std::string& sep = " ") {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

// The spec summary in four lines: bundle and root, process, namespaces, mount points.
std::string specSummaryBrief(const Spec& spec, const std::string& bundle) {
    std::string t = "Bundle:      " + bundle + " (ociVersion " + spec.ociVersion + "), root " +
                    spec.root.path + (spec.root.readonly ? " (read-only)" : "") + "\n";
    if (spec.process) {
        const Process& p = *spec.process;
        t += "Process:     " + joinWords(p.args) + " in " + p.cwd + " as uid " +
             std::to_string(p.user.uid) + " gid " + std::to_string(p.user.gid) +
             (p.terminal ? ", terminal" : "") + (p.noNewPrivileges ? ", no_new_privs" : "") + "\n";
    } else {
        t += "Process:     (none: config.json has no process; create/run need one)\n";
    }
    std::vector<std::string> created, joined;
    if (spec.linux)
        for (const auto& ns : spec.linux->namespaces)
            (ns.path.empty() ? created : joined)
                .push_back(ns.path.empty() ? ns.type : ns.type + " " + ns.path);
    t += "Namespaces:  ";
    if (created.empty() && joined.empty()) t += "(none: everything shared with the host)";
    if (!created.empty()) t += "new " + joinWords(created, ", ");
    if (!joined.empty())
        t += std::string(created.empty() ? "" : "; ") + "joined " + joinWords(joined, ", ");
    t += "\n";
    std::vector<std::string> dests;
    for (const auto& m : spec.mounts) dests.push_back(m.destination);
    t += "Mounts:      " + std::to_string(spec.mounts.size()) +
         (dests.empty() ? "" : ": " + joinWords(dests)) + "\n";
    return t;
}

}  // namespace

void CheckReport::set(const std::string& key, rapidjson::Value value) {
    auto it = json.FindMember(key.c_str());
    if (it != json.MemberEnd()) {
        it->value = std::move(value);
        return;
    }
    json.AddMember(rapidjson::Value(key.c_str(), alloc()), std::move(value), alloc());
}

rapidjson::Value jsonString(CheckReport& report, const std::string& s) {
    return rapidjson::Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), report.alloc());
}

void addSpecSummary(CheckReport& r, const Spec& spec, const std::string& bundle) {
    std::ostringstream t;
    r.set("bundle", jsonString(r, bundle));
    r.set("ociVersion", jsonString(r, spec.ociVersion));
    t << "Bundle:      " << bundle << " (ociVersion " << spec.ociVersion << ")\n";
    t << "Root:        " << spec.root.path << (spec.root.readonly ? " (read-only)" : "") << "\n";
    rapidjson::Value root(rapidjson::kObjectType);
    root.AddMember("path", jsonString(r, spec.root.path), r.alloc());
    root.AddMember("readonly", spec.root.readonly, r.alloc());
    r.set("root", std::move(root));

    if (spec.process) {
        const Process& p = *spec.process;
        t << "Process:     " << joinWords(p.args) << "\n";
        t << "  cwd:       " << p.cwd << "\n";
        t << "  user:      uid=" << p.user.uid << " gid=" << p.user.gid;
        if (!p.user.additionalGids.empty()) {
            t << " groups=";
            for (std::size_t i = 0; i < p.user.additionalGids.size(); ++i)
                t << (i ? "," : "") << p.user.additionalGids[i];
        }
        if (p.user.umask) t << " umask=0" << std::oct << *p.user.umask << std::dec;
        t << "\n";
        t << "  terminal:  " << (p.terminal ? "yes" : "no") << "\n";
        t << "  noNewPrivileges: " << (p.noNewPrivileges ? "yes" : "no") << "\n";
        t << "  env:       " << p.env.size() << " variables\n";

        rapidjson::Value proc(rapidjson::kObjectType);
        proc.AddMember("args", stringArray(r, p.args), r.alloc());
        proc.AddMember("cwd", jsonString(r, p.cwd), r.alloc());
        proc.AddMember("env", stringArray(r, p.env), r.alloc());
        proc.AddMember("terminal", p.terminal, r.alloc());
        proc.AddMember("noNewPrivileges", p.noNewPrivileges, r.alloc());
        rapidjson::Value user(rapidjson::kObjectType);
        user.AddMember("uid", p.user.uid, r.alloc());
        user.AddMember("gid", p.user.gid, r.alloc());
        rapidjson::Value gids(rapidjson::kArrayType);
        for (auto gid : p.user.additionalGids) gids.PushBack(gid, r.alloc());
        user.AddMember("additionalGids", gids, r.alloc());
        if (p.user.umask) user.AddMember("umask", *p.user.umask, r.alloc());
        proc.AddMember("user", user, r.alloc());
        r.set("process", std::move(proc));

        t << "Capabilities as requested:\n";
        rapidjson::Value caps(rapidjson::kObjectType);
        if (!p.capabilities) {
            t << "  (no capabilities object: the process gets no capabilities)\n";
        } else {
            const Capabilities& c = *p.capabilities;
            const std::pair<const char*, const std::vector<std::string>*> sets[] = {
                {"bounding", &c.bounding},
                {"effective", &c.effective},
                {"inheritable", &c.inheritable},
                {"permitted", &c.permitted},
                {"ambient", &c.ambient}};
            for (const auto& [name, list] : sets) {
                std::string label = std::string(name) + ":";
                label.resize(13, ' ');
                t << "  " << label << (list->empty() ? "(none)" : joinWords(*list)) << "\n";
                caps.AddMember(rapidjson::StringRef(name), stringArray(r, *list), r.alloc());
            }
        }
        r.set("requestedCapabilities", std::move(caps));
    } else {
        t << "Process:     (none: config.json has no process; create/run need one)\n";
    }

    rapidjson::Value nss(rapidjson::kArrayType);
    t << "Namespaces:  ";
    if (!spec.linux || spec.linux->namespaces.empty()) {
        t << "(none: everything shared with the host)\n";
    } else {
        std::vector<std::string> words;
        for (const auto& ns : spec.linux->namespaces) {
            words.push_back(ns.path.empty() ? ns.type + " (new)"
                                            : ns.type + " (join " + ns.path + ")");
            rapidjson::Value o(rapidjson::kObjectType);
            o.AddMember("type", jsonString(r, ns.type), r.alloc());
            if (!ns.path.empty()) o.AddMember("path", jsonString(r, ns.path), r.alloc());
            nss.PushBack(o, r.alloc());
        }
        t << joinWords(words, ", ") << "\n";
    }
    r.set("namespaces", std::move(nss));

    rapidjson::Value mounts(rapidjson::kArrayType);
    t << "Mounts:      " << spec.mounts.size() << "\n";
    for (const auto& m : spec.mounts) {
        t << "  " << m.destination << "  " << (m.type.empty() ? "bind" : m.type) << " from "
          << (m.source.empty() ? "(none)" : m.source);
        if (!m.options.empty()) t << "  [" << joinWords(m.options, ",") << "]";
        t << "\n";
        rapidjson::Value o(rapidjson::kObjectType);
        o.AddMember("destination", jsonString(r, m.destination), r.alloc());
        o.AddMember("type", jsonString(r, m.type), r.alloc());
        o.AddMember("source", jsonString(r, m.source), r.alloc());
        o.AddMember("options", stringArray(r, m.options), r.alloc());
        mounts.PushBack(o, r.alloc());
    }
    r.set("mounts", std::move(mounts));
    r.text += t.str();
    r.brief += specSummaryBrief(spec, bundle);
}

void addSysctlSection(CheckReport& r, const SysctlPlan& plan) {
    std::ostringstream t;
    rapidjson::Value entries(rapidjson::kArrayType);
    t << "Sysctls:     ";
    if (plan.decisions.empty()) t << "(none)";
    t << "\n";
    for (const auto& d : plan.decisions) {
        t << "  " << d.key << " = " << d.value << "  " << (d.allowed ? "accepted: " : "REFUSED: ")
          << d.reason << "\n";
        rapidjson::Value o(rapidjson::kObjectType);
        o.AddMember("key", jsonString(r, d.key), r.alloc());
        o.AddMember("value", jsonString(r, d.value), r.alloc());
        o.AddMember("jsonPath", jsonString(r, d.jsonPath), r.alloc());
        if (d.needs)
            o.AddMember("namespace", rapidjson::StringRef(namespaceName(*d.needs)), r.alloc());
        else
            o.AddMember("namespace", rapidjson::Value(rapidjson::kNullType), r.alloc());
        o.AddMember("allowed", d.allowed, r.alloc());
        o.AddMember("reason", jsonString(r, d.reason), r.alloc());
        entries.PushBack(o, r.alloc());
    }
    rapidjson::Value section(rapidjson::kObjectType);
    section.AddMember("entries", entries, r.alloc());
    if (plan.refused()) {
        t << "ERROR: " << plan.error() << "\n";
        section.AddMember("error", jsonString(r, plan.error()), r.alloc());
    }
    r.set("sysctl", std::move(section));
    r.text += t.str();
    // Brief: nothing without sysctls; else the counts and each refusal.
    if (!plan.decisions.empty()) {
        std::size_t accepted = 0;
        std::string refused;
        for (const auto& d : plan.decisions) {
            if (d.allowed)
                ++accepted;
            else
                refused += "  " + d.key + " = " + d.value + "  REFUSED: " + d.reason + "\n";
        }
        r.brief += "Sysctls:     " + std::to_string(accepted) + " accepted, " +
                   std::to_string(plan.decisions.size() - accepted) + " refused\n" + refused;
    }
}

void addRootfsNotes(CheckReport& r, const RootfsPlan& plan) {
    rapidjson::Value notes(rapidjson::kArrayType);
    for (const auto& n : plan.notes) {
        r.text += "Mount note:  " + n + "\n";
        r.brief += "Mount note:  " + n + "\n";
        notes.PushBack(jsonString(r, n), r.alloc());
    }
    r.set("mountNotes", std::move(notes));
}

void addSeccompSection(CheckReport& report, const ResolvedSeccomp& r) {
    rapidjson::Document d;
    const std::string js = renderSeccompJson(r);
    d.Parse(js.c_str(), js.size());
    report.set("seccomp", rapidjson::Value(d, report.alloc()));
    report.text += renderSeccompText(r);
    report.brief += renderSeccompBrief(r);
}

std::string renderJson(const CheckReport& report) {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    report.json.Accept(w);
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace caprun
