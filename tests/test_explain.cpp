// `caprun explain` over synthetic plans: the five stories of "why EPERM?" (a module removal
// without CAP_SYS_MODULE, get_mempolicy under the built-in profile without CAP_SYS_NICE, an
// iptables change without CAP_NET_ADMIN, setting the clock as root and as non-root with and
// without a file capability, a host that lacks a capability under both policies).
// Expected rule indexes are looked up in profiles/default.json here, not taken from the code.
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "caprun/cap_plan.hpp"
#include "caprun/error.hpp"
#include "caprun/explain.hpp"
#include "caprun/kernel_facilities.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_resolve.hpp"

using namespace caprun;

namespace {

constexpr CapMask bit(int c) {
    return CapMask{1} << c;
}
constexpr CapMask all40 = (CapMask{1} << 41) - 1;

HostFacts host(CapMask bnd) {
    HostFacts h;
    h.caps.bounding = h.caps.permitted = h.caps.effective = bnd;
    h.capLastCap = 40;
    h.kernelRelease = "6.1.0";
    h.rlimits["RLIMIT_NOFILE"] = {1024, 524288};
    return h;
}

// Docker's default capability list, as a Docker-made config.json carries it.
const std::vector<std::string> kDockerCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

Spec spec(std::vector<std::string> caps, std::uint32_t uid = 0) {
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process p;
    p.args = {"/bin/sh"};
    p.user.uid = p.user.gid = uid;
    p.capabilities = Capabilities{caps, caps, {}, caps, {}};
    s.process = p;
    return s;
}

const PolicyChoice kLenient{CapPolicy::Lenient, "default"};
const PolicyChoice kStrict{CapPolicy::Strict, "--cap-policy"};

SelectedSeccomp noSeccomp(const Spec& s) {
    return selectSeccomp(s, std::nullopt);
}
SelectedSeccomp builtin(const Spec& s) {
    return selectSeccomp(s, std::string("default"));
}

SyscallExplanation explain1(const Spec& s, const CapabilityPlan& p, const SelectedSeccomp& sel,
                            const std::string& name) {
    auto v = explainSyscalls(s, p, sel, {name});
    REQUIRE(v.size() == 1);
    return v[0];
}

// The index of the built-in profile's rule that names `syscall` and gates it on `cap`.
std::size_t profileRuleIndex(const std::string& syscall, const std::string& cap) {
    std::ifstream in(std::string(CAPRUN_SOURCE_DIR) + "/profiles/default.json");
    std::stringstream ss;
    ss << in.rdbuf();
    rapidjson::Document d;
    d.Parse(ss.str().c_str());
    REQUIRE(d.IsObject());
    const auto& rules = d["syscalls"];
    for (rapidjson::SizeType i = 0; i < rules.Size(); ++i) {
        bool names = false, gated = false;
        for (const auto& n : rules[i]["names"].GetArray()) names |= syscall == n.GetString();
        if (rules[i].HasMember("includes") && rules[i]["includes"].HasMember("caps"))
            for (const auto& c : rules[i]["includes"]["caps"].GetArray())
                gated |= cap == c.GetString();
        if (names && gated) return i;
    }
    FAIL("no rule for " << syscall);
    return 0;
}

bool anyLine(const CapFix& f, const std::string& needle) {
    return std::any_of(f.lines.begin(), f.lines.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

void noPrivileged(const std::vector<SyscallExplanation>& v, const CapabilityPlan& p) {
    CHECK(explainText(v, p).find("privileged") == std::string::npos);
    CHECK(explainJson(v, p).find("privileged") == std::string::npos);
}

}  // namespace

TEST_CASE("story 1: delete_module without CAP_SYS_MODULE") {
    Spec s = spec(kDockerCaps);
    CapabilityPlan p = planCapabilities(s, host(all40), kLenient, {});
    SUBCASE("no seccomp filter: the kernel's check") {
        auto e = explain1(s, p, noSeccomp(s), "delete_module");
        CHECK(!e.seccompFiltered);
        CHECK(e.cause == "capability");
        REQUIRE(e.kernelChecks.size() == 1);
        CHECK(e.kernelChecks[0].anyOf[0].cap == "CAP_SYS_MODULE");
        CHECK(e.kernelChecks[0].initialUserNs);
        CHECK(!e.kernelChecks[0].satisfied);
        CHECK(e.kernelChecks[0].anyOf[0].state == "not requested");
        REQUIRE(e.fixes.size() == 1);
        const CapFix& f = e.fixes[0];
        CHECK(f.cap == "CAP_SYS_MODULE");
        CHECK(f.kind == CapFix::Kind::Container);
        CHECK(f.configSets == std::vector<std::string>{"bounding", "effective", "permitted"});
        CHECK(anyLine(f, "docker run --cap-add SYS_MODULE"));
        CHECK(anyLine(f, "securityContext.capabilities.add: [\"SYS_MODULE\"]"));
        CHECK(anyLine(f, "podman run --cap-add SYS_MODULE"));
        CHECK(anyLine(f, "ctr run --cap-add CAP_SYS_MODULE"));
        noPrivileged({e}, p);
    }
    SUBCASE("built-in profile: seccomp decides first, the gated rule names the capability") {
        auto e = explain1(s, p, builtin(s), "delete_module");
        CHECK(e.seccompFiltered);
        CHECK(e.cause == "seccomp");
        CHECK(e.seccompKind == "errno");
        CHECK(e.seccompErrno == 1u);
        CHECK(e.decidedBy == "defaultAction");
        const std::size_t idx = profileRuleIndex("delete_module", "CAP_SYS_MODULE");
        auto rule = std::find_if(e.rules.begin(), e.rules.end(),
                                 [&](const ExplainedRule& r) { return r.index == idx; });
        REQUIRE(rule != e.rules.end());
        CHECK(!rule->included);
        CHECK(rule->jsonPath == "syscalls[" + std::to_string(idx) + "]");
        REQUIRE(rule->gates.size() == 1);
        CHECK(rule->gates[0].why == "not requested");
        REQUIRE(e.fixes.size() == 1);
        CHECK(e.fixes[0].cap == "CAP_SYS_MODULE");
        CHECK(e.fixes[0].because.size() == 2);  // the seccomp gate and the kernel check
        CHECK(e.otherFix.empty());
    }
}

TEST_CASE("delete_module on a kernel without loadable modules: said first, no capability offered") {
    Spec s = spec(kDockerCaps);
    HostFacts noModules = host(all40);
    noModules.missingFacilities = {"modules"};
    CapabilityPlan p = planCapabilities(s, noModules, kLenient, {});
    const std::string lacks =
        "this kernel has no loadable module support (no /proc/modules): delete_module cannot "
        "succeed whatever the capabilities (the kernel answers ENOSYS where the seccomp filter "
        "lets it through)";
    for (const auto& sel : {noSeccomp(s), builtin(s)}) {
        auto e = explain1(s, p, sel, "delete_module");
        CHECK(e.cause == "kernel lacks it");
        CHECK(e.kernelLacks == lacks);
        CHECK(e.outcome.rfind(lacks + "; as configured, ", 0) == 0);
        CHECK(e.fixes.empty());
        const std::string text = explainText({e}, p);
        CHECK(text.find("--cap-add") == std::string::npos);
        CHECK(text.find("result [kernel lacks it]: " + lacks) != std::string::npos);
        CHECK(explainJson({e}, p).find("\"kernelLacks\"") != std::string::npos);
    }
    // The same host with modules: the capability again (story 1).
    CapabilityPlan withModules = planCapabilities(s, host(all40), kLenient, {});
    auto e = explain1(s, withModules, noSeccomp(s), "delete_module");
    CHECK(e.cause == "capability");
    CHECK(e.kernelLacks.empty());
    REQUIRE(e.fixes.size() == 1);
    CHECK(e.fixes[0].cap == "CAP_SYS_MODULE");
    // Another facility's syscall is not affected by the missing modules.
    CHECK(explain1(s, p, noSeccomp(s), "reboot").kernelLacks.empty());
    // The trace's fix for a denied capability in it says the same.
    auto fixes = fixesForDeniedCaps(s, p, "delete_module", {"CAP_SYS_MODULE"}, "traced");
    REQUIRE(fixes.size() == 1);
    CHECK(fixes[0].kind == CapFix::Kind::KernelLacks);
    CHECK(fixes[0].lines == std::vector<std::string>{lacks});
}

TEST_CASE("kernel facilities: absent exactly when their witness file is") {
    auto missing = probeMissingFacilities([](const std::string& path) {
        return path != "/proc/modules" && path != "/sys/kernel/kexec_loaded";
    });
    CHECK(missing == std::vector<std::string>{"modules", "kexec"});
    CHECK(probeMissingFacilities([](const std::string&) { return true; }).empty());
    CHECK(missingFacilityNote({"kexec"}, "kexec_file_load").has_value());
    CHECK_FALSE(missingFacilityNote({"kexec"}, "delete_module").has_value());
    CHECK_FALSE(missingFacilityNote({}, "delete_module").has_value());
}

TEST_CASE("story 2: get_mempolicy under the built-in profile without CAP_SYS_NICE") {
    Spec s = spec(kDockerCaps);
    CapabilityPlan p = planCapabilities(s, host(all40), kLenient, {});
    auto e = explain1(s, p, builtin(s), "get_mempolicy");
    CHECK(e.cause == "seccomp");
    CHECK(e.seccompPhrase == "fails with EPERM");
    CHECK(e.kernelChecks.empty());  // the kernel itself checks nothing
    CHECK(e.kernelNote.find("CAP_SYS_NICE") != std::string::npos);
    REQUIRE(e.fixes.size() == 1);
    CHECK(e.fixes[0].cap == "CAP_SYS_NICE");
    CHECK(e.fixes[0].because[0].find(
              "syscalls[" + std::to_string(profileRuleIndex("get_mempolicy", "CAP_SYS_NICE")) +
              "]") != std::string::npos);
    CHECK(anyLine(e.fixes[0], "docker run --cap-add SYS_NICE"));

    // With CAP_SYS_NICE granted the filter allows it and nothing is left to fix.
    auto caps = kDockerCaps;
    caps.push_back("CAP_SYS_NICE");
    Spec s2 = spec(caps);
    CapabilityPlan p2 = planCapabilities(s2, host(all40), kLenient, {});
    auto ok = explain1(s2, p2, builtin(s2), "get_mempolicy");
    CHECK(ok.seccompKind == "allow");
    CHECK(ok.cause == "none");
    CHECK(ok.fixes.empty());
    CHECK(explainText({ok}, p2).find("fix: nothing to change") != std::string::npos);
}

TEST_CASE("story 3: an iptables change without CAP_NET_ADMIN") {
    Spec s = spec(kDockerCaps);
    CapabilityPlan p = planCapabilities(s, host(all40), kLenient, {});
    auto v = explainSyscalls(s, p, noSeccomp(s), {"setsockopt", "sendmsg"});
    for (const auto& e : v) {
        CHECK_MESSAGE(e.cause == "capability (depending on arguments)", e.syscall);
        auto f = std::find_if(e.fixes.begin(), e.fixes.end(),
                              [](const CapFix& x) { return x.cap == "CAP_NET_ADMIN"; });
        REQUIRE(f != e.fixes.end());
        CHECK(f->conditional);
        CHECK(anyLine(*f, "docker run --cap-add NET_ADMIN"));
    }
    // IP_TRANSPARENT accepts CAP_NET_RAW, which Docker's list holds: that check passes.
    const auto& checks = v[0].kernelChecks;
    auto transparent = std::find_if(checks.begin(), checks.end(), [](const ExplainedCapCheck& k) {
        return k.condition.find("IP_TRANSPARENT") != std::string::npos;
    });
    REQUIRE(transparent != checks.end());
    CHECK(transparent->satisfied);
    noPrivileged(v, p);
}

TEST_CASE("story 4: setting the clock as root, and as non-root with and without a file cap") {
    SUBCASE("root: bounding, effective, permitted") {
        Spec s = spec(kDockerCaps);
        CapabilityPlan p = planCapabilities(s, host(all40), kLenient, {});
        auto e = explain1(s, p, builtin(s), "settimeofday");
        REQUIRE(e.fixes.size() == 1);
        CHECK(e.fixes[0].cap == "CAP_SYS_TIME");
        CHECK(e.fixes[0].configSets ==
              std::vector<std::string>{"bounding", "effective", "permitted"});
    }
    SUBCASE("non-root without a file capability: ambient, and setcap for docker/k8s") {
        Spec s = spec(kDockerCaps, 1000);
        ExecutableInfo exe;
        exe.path = "/bin/date";
        CapabilityPlan p = planCapabilities(s, host(all40), kLenient, exe);
        auto e = explain1(s, p, noSeccomp(s), "clock_settime");
        CHECK(e.cause == "capability");
        REQUIRE(e.fixes.size() == 1);
        const CapFix& f = e.fixes[0];
        CHECK(std::find(f.configSets.begin(), f.configSets.end(), "ambient") != f.configSets.end());
        CHECK(std::find(f.configSets.begin(), f.configSets.end(), "inheritable") !=
              f.configSets.end());
        CHECK(anyLine(f, "setcap cap_sys_time+ep /bin/date"));
        // Already granted in the bounding set (Docker's --cap-add) but lost at execve.
        auto caps = kDockerCaps;
        caps.push_back("CAP_SYS_TIME");
        Spec s2 = spec(caps, 1000);
        CapabilityPlan p2 = planCapabilities(s2, host(all40), kLenient, exe);
        auto e2 = explain1(s2, p2, noSeccomp(s2), "clock_settime");
        CHECK(e2.kernelChecks[0].anyOf[0].state == "lost at execve");
        CHECK(e2.cause == "capability");
    }
    SUBCASE("non-root with cap_sys_time+ep on the executable: the bounding set suffices") {
        Spec s = spec(kDockerCaps, 1000);
        ExecutableInfo exe;
        exe.path = "/bin/date";
        exe.fileCaps = FileCapabilities{bit(CAP_SYS_TIME), 0, true};
        CapabilityPlan p = planCapabilities(s, host(all40), kLenient, exe);
        auto e = explain1(s, p, noSeccomp(s), "settimeofday");
        REQUIRE(e.fixes.size() == 1);
        CHECK(e.fixes[0].configSets ==
              std::vector<std::string>{"bounding", "effective", "permitted"});
        CHECK(anyLine(e.fixes[0], "through the file capability of /bin/date"));
        // And once it is in the bounding set, the file capability makes it held.
        auto caps = kDockerCaps;
        caps.push_back("CAP_SYS_TIME");
        Spec s2 = spec(caps, 1000);
        CapabilityPlan p2 = planCapabilities(s2, host(all40), kLenient, exe);
        auto e2 = explain1(s2, p2, noSeccomp(s2), "settimeofday");
        CHECK(e2.kernelChecks[0].satisfied);
        CHECK(e2.cause == "none");
    }
}

TEST_CASE("story 5: a host that lacks the capability, under both policies") {
    auto caps = kDockerCaps;
    caps.push_back("CAP_SYS_MODULE");
    Spec s = spec(caps);
    const HostFacts poor = host(all40 & ~bit(CAP_SYS_MODULE));
    for (const auto& pol : {kLenient, kStrict}) {
        CAPTURE(capPolicyName(pol.policy));
        CapabilityPlan p = planCapabilities(s, poor, pol, {});
        auto e = explain1(s, p, builtin(s), "delete_module");
        REQUIRE(e.fixes.size() == 1);
        const CapFix& f = e.fixes[0];
        CHECK(f.kind == CapFix::Kind::HostLacks);
        CHECK(anyLine(f, "no container setting can help"));
        CHECK(anyLine(f, "this runtime runs without CAP_SYS_MODULE in its bounding set"));
        CHECK(anyLine(f, pol.policy == CapPolicy::Strict ? "strict" : "lenient"));
        // Not the container's own --cap-add (it already asks): the wrapper's, in each caller's
        // words.
        CHECK(!anyLine(f, "docker run --cap-add"));
        CHECK(anyLine(f,
                      "docker: the outer container that runs caprun (docker-in-docker) needs "
                      "--cap-add SYS_MODULE"));
        CHECK(anyLine(f,
                      "Kubernetes: the pod that runs caprun (a DinD or kind node) needs "
                      "securityContext.capabilities.add: [\"SYS_MODULE\"]"));
        CHECK(
            anyLine(f, "podman: the outer container that runs caprun needs --cap-add SYS_MODULE"));
        CHECK(anyLine(f, "CapabilityBoundingSet= must include CAP_SYS_MODULE"));
        CHECK(e.kernelChecks[0].anyOf[0].state == "dropped");
        CHECK(!e.kernelChecks[0].anyOf[0].hostOffers);
        noPrivileged({e}, p);
    }
}

TEST_CASE("a seccomp rule without a capability gate: only another profile helps") {
    Spec s = spec(kDockerCaps);
    s.linux = Linux{};
    Seccomp f;
    f.defaultAction = "SCMP_ACT_ALLOW";
    SeccompSyscall deny;
    deny.names = {"chroot"};
    deny.action = "SCMP_ACT_ERRNO";
    deny.errnoRet = 13;
    deny.jsonPath = "linux.seccomp.syscalls[0]";
    f.syscalls.push_back(deny);
    s.linux->seccomp = f;
    CapabilityPlan p = planCapabilities(s, host(all40), kLenient, {});
    auto e = explain1(s, p, noSeccomp(s), "chroot");
    CHECK(e.cause == "seccomp");
    CHECK(e.seccompErrno == 13u);
    CHECK(e.decidedBy == "linux.seccomp.syscalls[0]");
    CHECK(e.fixes.empty());  // CAP_SYS_CHROOT is held
    CHECK(e.otherFix.find("--seccomp-profile") != std::string::npos);
}

TEST_CASE("unknown syscall names are errors naming the nearest known names") {
    try {
        validateSyscallNames({"get_mempolcy", "delete_module"});
        FAIL("no error");
    } catch (const Error& err) {
        std::string m = err.what();
        CHECK(m.find("\"get_mempolcy\"") != std::string::npos);
        CHECK(m.find("get_mempolicy") != std::string::npos);
        CHECK(m.find("\"delete_module\"") == std::string::npos);
    }
    CHECK(nearestSyscallNames("setimeofday", 1) == std::vector<std::string>{"settimeofday"});
}

TEST_CASE("JSON carries the same content as the text") {
    Spec s = spec(kDockerCaps);
    CapabilityPlan p = planCapabilities(s, host(all40), kLenient, {});
    auto v = explainSyscalls(s, p, builtin(s), {"get_mempolicy", "reboot"});
    rapidjson::Document d;
    std::string js = explainJson(v, p);
    REQUIRE(!d.Parse(js.c_str()).HasParseError());
    REQUIRE(d["syscalls"].Size() == 2);
    const auto& g = d["syscalls"][0];
    CHECK(std::string(g["syscall"].GetString()) == "get_mempolicy");
    CHECK(std::string(g["cause"].GetString()) == "seccomp");
    CHECK(std::string(g["seccomp"]["action"].GetString()) == "errno");
    CHECK(g["seccomp"]["errno"].GetUint() == 1);
    CHECK(std::string(g["fixes"][0]["cap"].GetString()) == "CAP_SYS_NICE");
    CHECK(std::string(g["fixes"][0]["kind"].GetString()) == "container");
    const auto& r = d["syscalls"][1];
    CHECK(std::string(r["kernelChecks"][0]["anyOf"][0]["cap"].GetString()) == "CAP_SYS_BOOT");
    std::string text = explainText(v, p);
    for (const auto& fix : v[1].fixes)
        for (const auto& l : fix.lines) CHECK(text.find(l) != std::string::npos);
}

TEST_CASE("the drop warning lists the syscalls that will fail and says when it is the host") {
    auto caps = kDockerCaps;
    caps.push_back("CAP_SYS_MODULE");
    caps.push_back("CAP_SYS_NICE");
    Spec s = spec(caps);
    const HostFacts poor = host(all40 & ~bit(CAP_SYS_MODULE) & ~bit(CAP_SYS_NICE));
    CapabilityPlan p = planCapabilities(s, poor, kLenient, {});
    REQUIRE(p.dropped.size() == 2);
    SUBCASE("built-in profile: seccomp's list, then the kernel's for what seccomp lets through") {
        ResolvedSeccomp r = resolveSeccomp(builtin(s), seccompHostFor(p));
        std::string w = p.shortfallMessage(
            [&](const CapDrop& d) { return capDropNote(p, r.deniedWithoutCap, d); });
        CHECK(w.find("this runtime runs without CAP_SYS_MODULE in its bounding set — inside "
                     "another container or on a host that removes it") != std::string::npos);
        CHECK(w.find("seccomp keeps init_module, finit_module, delete_module denied without it") !=
              std::string::npos);
        CHECK(w.find("seccomp keeps get_mempolicy") != std::string::npos);
        // setpriority reaches the kernel (the profile allows it) and fails there when lowering
        // the nice value.
        CHECK(w.find("depending on their arguments") != std::string::npos);
        CHECK(w.find("setpriority") != std::string::npos);
    }
    SUBCASE("no filter: the kernel refuses the module syscalls") {
        std::map<std::string, std::vector<std::string>> none;
        const CapDrop& module = p.dropped[0].name == "CAP_SYS_MODULE" ? p.dropped[0] : p.dropped[1];
        std::string n = capDropNote(p, none, module);
        CHECK(n.find("the kernel refuses") != std::string::npos);
        for (const char* sc : {"delete_module", "finit_module", "init_module"})
            CHECK(n.find(sc) != std::string::npos);
        CHECK(n.find("seccomp") == std::string::npos);
    }
}
