// Attribution of traced EPERM/EACCES failures and their report. See include/caprun/trace.hpp.
#include "caprun/trace.hpp"
#include "caprun/kernel_facilities.hpp"

#include <seccomp.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "caprun/seccomp_report.hpp"

namespace caprun {

namespace {

std::string syscallName(long nr) {
    if (nr >= 0) {
        if (char* n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, static_cast<int>(nr))) {
            std::string s = n;
            std::free(n);
            return s;
        }
    }
    return "syscall " + std::to_string(nr);
}

std::string errName(int e) {
    const char* n = strerrorname_np(e);
    return n ? n : std::to_string(e);
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

}  // namespace

EpermReport::EpermReport(Spec spec, CapabilityPlan plan, SelectedSeccomp seccomp)
    : spec_(std::move(spec)), plan_(std::move(plan)), selected_(std::move(seccomp)) {
    resolved_ = resolveSeccomp(selected_, seccompHostFor(plan_));
}

TraceFinding EpermReport::attribute(const TraceEvent& e) const {
    TraceFinding f;
    f.syscall = syscallName(e.syscallNr);
    f.comm = e.comm;
    f.pid = e.pid;
    f.error = e.error;
    if (e.deniedCaps != 0) {
        f.cause = "capability";
        f.caps = capNames(e.deniedCaps);
        f.detail = "the kernel checked " + join(f.caps, " and ") +
                   " inside this syscall and denied it; the container does not hold it";
        f.fixes =
            fixesForDeniedCaps(spec_, plan_, f.syscall, f.caps,
                               "the kernel denied " + join(f.caps, " and ") + " in " + f.syscall);
        return f;
    }
    // No capability check failed: is it the filter? An errno rule (or the default action)
    // with this errno for this syscall.
    const SeccompVerdict v = seccompVerdictFor(resolved_, f.syscall);
    bool seccomp = false;
    if (v.filtered) {
        if (v.kind == "errno" && v.errnoValue && static_cast<int>(*v.errnoValue) == e.error) {
            seccomp = true;
            f.rule = v.decidedBy;
        }
        for (const auto& c : v.conditional) {
            const auto& rule = resolved_.rules[c.rule];
            if (c.kind == "errno" && static_cast<int>(rule.actionValue & 0xffff) == e.error &&
                f.rule.empty()) {
                seccomp = true;
                f.rule = rule.jsonPath + " (if " + c.condition + ")";
            }
        }
    }
    if (seccomp) {
        f.cause = "seccomp";
        f.detail = "the seccomp filter's " + f.rule + " returns " + errName(e.error) + " for it" +
                   (e.sawEnter ? "" : " (the syscall never reached the kernel)");
        if (f.syscall.rfind("syscall ", 0) != 0) {
            auto ex = explainSyscalls(spec_, plan_, selected_, {f.syscall});
            for (auto& fix : ex[0].fixes) {
                bool gate = false;
                for (const auto& b : fix.because) gate |= b.rfind("seccomp rule", 0) == 0;
                if (gate) f.fixes.push_back(std::move(fix));
            }
            f.otherFix = ex[0].otherFix;
        }
        return f;
    }
    f.cause = "something else";
    f.detail =
        "no capability check failed inside it and the seccomp filter allows it: an LSM "
        "(AppArmor, SELinux), file permissions or a read-only mount";
    return f;
}

const TraceFinding* EpermReport::add(const TraceEvent& e) {
    TraceFinding f = attribute(e);
    // Said first: no setting of the container can make the call work on this kernel.
    if (auto lacks = missingFacilityNote(plan_.host.missingFacilities, f.syscall)) {
        f.detail = *lacks + "; " + f.detail;
        std::erase_if(f.fixes, [](const CapFix& x) { return x.kind != CapFix::Kind::KernelLacks; });
    }
    for (auto& old : findings_)
        if (old.syscall == f.syscall && old.cause == f.cause && old.caps == f.caps) {
            ++old.count;
            return nullptr;
        }
    findings_.push_back(std::move(f));
    return &findings_.back();
}

std::string traceFindingText(const TraceFinding& f) {
    std::string t = "pid " + std::to_string(f.pid) + " (" + f.comm + "): " + f.syscall +
                    " failed with " + errName(f.error) + " — " + f.cause + ": " + f.detail;
    if (f.count > 1) t += " [" + std::to_string(f.count) + " times]";
    for (const auto& fix : f.fixes) {
        t += "\n    fix: " + std::string(fix.kind == CapFix::Kind::Container ? "add " : "") +
             fix.cap;
        for (const auto& l : fix.lines) t += "\n      " + l;
    }
    if (!f.otherFix.empty()) t += "\n    fix: " + f.otherFix;
    return t;
}

std::string traceFindingJson(const TraceFinding& f) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&](const std::string& s) {
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("syscall");
    str(f.syscall);
    w.Key("cause");
    str(f.cause);
    w.Key("pid");
    w.Uint(f.pid);
    w.Key("comm");
    str(f.comm);
    w.Key("errno");
    str(errName(f.error));
    w.Key("count");
    w.Uint64(f.count);
    w.Key("caps");
    w.StartArray();
    for (const auto& c : f.caps) str(c);
    w.EndArray();
    if (!f.rule.empty()) {
        w.Key("rule");
        str(f.rule);
    }
    w.Key("detail");
    str(f.detail);
    w.Key("fixes");
    w.StartArray();
    for (const auto& fix : f.fixes) {
        w.StartObject();
        w.Key("cap");
        str(fix.cap);
        w.Key("lines");
        w.StartArray();
        for (const auto& l : fix.lines) str(l);
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    if (!f.otherFix.empty()) {
        w.Key("otherFix");
        str(f.otherFix);
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

std::string EpermReport::summaryText() const {
    if (findings_.empty())
        return "trace-eperm: no syscall of the container failed with EPERM or EACCES";
    std::string t = "trace-eperm: " + std::to_string(findings_.size()) +
                    " failing syscall(s) of the container:";
    for (const auto& f : findings_) t += "\n  " + traceFindingText(f);
    return t;
}

std::string EpermReport::summaryJson() const {
    std::string t = "[";
    for (std::size_t i = 0; i < findings_.size(); ++i)
        t += (i ? "," : "") + traceFindingJson(findings_[i]);
    return t + "]";
}

}  // namespace caprun
