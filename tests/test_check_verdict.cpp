// check's verdict block, built from real plans: the capability planner on a synthetic host
// that lacks CAP_SYS_NICE and the built-in profile resolved against what it grants.
#include <doctest/doctest.h>

#include <linux/capability.h>

#include <algorithm>

#include "caprun/cap_plan.hpp"
#include "caprun/check_report.hpp"
#include "caprun/check_verdict.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_resolve.hpp"

using namespace caprun;

namespace {

HostFacts hostWithout(int missing) {
    HostFacts h;
    const CapMask all = (CapMask{1} << 41) - 1;
    h.caps.bounding = h.caps.permitted = h.caps.effective = all & ~(CapMask{1} << missing);
    h.capLastCap = 40;
    h.kernelRelease = "6.1.0";
    h.rlimits["RLIMIT_NOFILE"] = {1024, 524288};
    h.oomScoreAdj = 0;
    return h;
}

// runc's default capabilities and CAP_SYS_NICE, in bounding, effective and permitted.
Spec niceSpec() {
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process p;
    p.args = {"/bin/sh"};
    const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                                           "CAP_SYS_NICE"};
    p.capabilities = Capabilities{caps, caps, {}, caps, {}};
    s.process = p;
    return s;
}

struct Planned {
    CapabilityPlan lenient, strict;
    ResolvedSeccomp seccomp;
};

Planned planNice() {
    const Spec s = niceSpec();
    const HostFacts h = hostWithout(CAP_SYS_NICE);
    Planned p{planCapabilities(s, h, {CapPolicy::Lenient, "default"}, {}),
              planCapabilities(s, h, {CapPolicy::Strict, "--cap-policy"}, {}),
              {}};
    p.seccomp = resolveSeccomp(selectSeccomp(s, std::string("default")), seccompHostFor(p.lenient));
    return p;
}

bool hasLine(const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

bool anyLineStarts(const std::vector<std::string>& lines, const std::string& prefix) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

}  // namespace

TEST_CASE("verdict: a host without CAP_SYS_NICE, lenient in force") {
    Planned p = planNice();
    REQUIRE(p.strict.refusesToStart());
    REQUIRE_FALSE(p.lenient.refusesToStart());
    const std::string strictRefusal = p.strict.shortfallMessage();
    const CheckVerdict v = makeCheckVerdict(
        p.lenient, p.seccomp, {CapPolicy::Strict, {strictRefusal}}, {CapPolicy::Lenient, {}});
    CHECK(v.granted ==
          std::vector<std::string>{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"});
    REQUIRE(v.dropped.size() == 1);
    CHECK(v.dropped[0].name == "CAP_SYS_NICE");
    REQUIRE_FALSE(v.seccompGaps.empty());
    CHECK(v.seccompGaps[0].caps == std::vector<std::string>{"CAP_SYS_NICE"});
    CHECK(v.seccompGaps[0].dropped());
    CHECK(v.refusals == std::vector<std::string>{strictRefusal});

    const auto lines = verdictLines(v, false);
    CHECK(lines.size() <= kMaxVerdictLines);
    CHECK(lines.at(0) == "Starts under strict: no, 1 refusal below");
    CHECK(lines.at(1) ==
          "Starts under lenient: yes, without 1 requested capability (the policy in force, from "
          "default)");
    CHECK(lines.at(2) == "Granted: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE");
    CHECK(anyLineStarts(lines, "Dropped: CAP_SYS_NICE (bounding, effective, permitted): "));
    // The built-in profile gates the NUMA calls on CAP_SYS_NICE (profiles/default.json).
    CHECK(hasLine(lines,
                  "Seccomp denies get_mempolicy, mbind, set_mempolicy, set_mempolicy_home_node, "
                  "migrate_pages, move_pages without CAP_SYS_NICE (dropped)"));
    // Not requested: only the likely hit syscalls are named; either capability unlocks bpf.
    CHECK(anyLineStarts(lines, "Seccomp denies mount, umount2, unshare, setns"));
    CHECK(hasLine(lines, "Seccomp denies bpf without CAP_BPF or CAP_SYS_ADMIN (not requested)"));
    CHECK(hasLine(lines, "Refused under strict: " + strictRefusal));
    for (const auto& l : lines) CHECK(l.find('\033') == std::string::npos);
}

TEST_CASE("verdict: strict in force names the policy and colours on request") {
    Planned p = planNice();
    const CheckVerdict v =
        makeCheckVerdict(p.strict, p.seccomp, {CapPolicy::Strict, {p.strict.shortfallMessage()}},
                         {CapPolicy::Lenient, {}});
    const auto plain = verdictLines(v, false);
    CHECK(plain.at(0) ==
          "Starts under strict: no, 1 refusal below (the policy in force, from --cap-policy)");
    CHECK(plain.at(1) == "Starts under lenient: yes, without 1 requested capability");
    const auto coloured = verdictLines(v, true);
    REQUIRE(coloured.size() == plain.size());
    CHECK(coloured.at(0).find("\033[31mno\033[0m") != std::string::npos);
    CHECK(coloured.at(1).find("\033[32myes\033[0m") != std::string::npos);
    CHECK(coloured.at(2).rfind("\033[32mGranted:\033[0m ", 0) == 0);
    CHECK(anyLineStarts(coloured, "\033[33mDropped:\033[0m CAP_SYS_NICE"));
    CHECK(anyLineStarts(coloured, "\033[31mRefused under strict:\033[0m the host"));
}

TEST_CASE("verdict: every refusal fits; a policy-independent one is refused under both") {
    Planned p = planNice();
    const std::string field = "config.json: process.apparmorProfile: AppArmor is not enabled";
    const std::string sysctl = "config.json: linux.sysctl.kernel.x: refused";
    const CheckVerdict v = makeCheckVerdict(
        p.lenient, p.seccomp, {CapPolicy::Strict, {field + "\n" + sysctl, "strict only"}},
        {CapPolicy::Lenient, {field + "\n" + sysctl}});
    CHECK(v.refusals == std::vector<std::string>{field, sysctl, "strict only"});
    const auto lines = verdictLines(v, false);
    CHECK(lines.size() <= kMaxVerdictLines);
    CHECK(lines.at(0) == "Starts under strict: no, 3 refusals below");
    CHECK(lines.at(1).rfind("Starts under lenient: no, 2 refusals below", 0) == 0);
    CHECK(hasLine(lines, "Refused: " + field));
    CHECK(hasLine(lines, "Refused: " + sysctl));
    CHECK(hasLine(lines, "Refused under strict: strict only"));
}

TEST_CASE("verdict: many drops and gaps are summed up within twelve lines") {
    // A host with almost nothing: everything docker asks for is dropped.
    HostFacts h = hostWithout(CAP_SYS_NICE);
    h.caps.bounding = h.caps.permitted = h.caps.effective = CapMask{1} << CAP_KILL;
    Spec s = niceSpec();
    const std::vector<std::string> docker = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE",  "CAP_SYS_NICE"};
    s.process->capabilities = Capabilities{docker, docker, {}, docker, {}};
    const CapabilityPlan plan = planCapabilities(s, h, {CapPolicy::Lenient, "default"}, {});
    const ResolvedSeccomp seccomp =
        resolveSeccomp(selectSeccomp(s, std::string("default")), seccompHostFor(plan));
    std::vector<std::string> refusals;
    for (int i = 0; i < 4; ++i) refusals.push_back("refusal " + std::to_string(i));
    const CheckVerdict v =
        makeCheckVerdict(plan, seccomp, {CapPolicy::Strict, refusals}, {CapPolicy::Lenient, {}});
    REQUIRE(v.dropped.size() == docker.size() - 1);
    const auto lines = verdictLines(v, false);
    CHECK(lines.size() == kMaxVerdictLines);
    for (const auto& r : refusals) CHECK(hasLine(lines, "Refused under strict: " + r));
    CHECK(anyLineStarts(lines, "Dropped: CAP_CHOWN "));
    CHECK(anyLineStarts(lines, "Dropped: 11 more capabilities"));
    CHECK(anyLineStarts(lines, "Seccomp "));
}

TEST_CASE("verdict: the JSON member holds the same data") {
    Planned p = planNice();
    const CheckVerdict v =
        makeCheckVerdict(p.lenient, p.seccomp, {CapPolicy::Strict, {p.strict.shortfallMessage()}},
                         {CapPolicy::Lenient, {}});
    CheckReport r;
    addVerdict(r, v);
    const auto& j = r.json["verdict"];
    CHECK(std::string(j["policy"].GetString()) == "lenient");
    CHECK_FALSE(j["strict"]["starts"].GetBool());
    CHECK(std::string(j["strict"]["refusals"][0].GetString()) == p.strict.shortfallMessage());
    CHECK(j["lenient"]["starts"].GetBool());
    CHECK(j["lenient"]["refusals"].Size() == 0);
    CHECK(j["granted"].Size() == 3);
    REQUIRE(j["dropped"].Size() == 1);
    CHECK(std::string(j["dropped"][0]["cap"].GetString()) == "CAP_SYS_NICE");
    CHECK(j["dropped"][0]["sets"].Size() == 3);
    CHECK(std::string(j["seccompGaps"][0]["dropped"][0].GetString()) == "CAP_SYS_NICE");
    CHECK(j["seccompGaps"].Size() == v.seccompGaps.size());
}
