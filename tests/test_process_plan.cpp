// The one planner of a container process: create, run, exec and check all call planProcess,
// and check prints the very plan create hands to the executor.
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "caprun/check_report.hpp"
#include "caprun/container.hpp"
#include "caprun/process_plan.hpp"

using namespace caprun;
namespace fs = std::filesystem;

namespace {

constexpr CapMask bit(int c) {
    return CapMask{1} << c;
}
constexpr CapMask all(int last) {
    return (CapMask{1} << (last + 1)) - 1;
}

// A host like this VM: everything but CAP_SYS_RESOURCE.
HostFacts poorHost() {
    HostFacts h;
    h.caps.bounding = h.caps.permitted = h.caps.effective = all(40) & ~bit(CAP_SYS_RESOURCE);
    h.capLastCap = 40;
    h.kernelRelease = "6.1.0";
    h.rlimits["RLIMIT_NOFILE"] = {1024, 524288};
    return h;
}

const std::vector<std::string> kRuncDefault = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

Spec specFor(bool userNamespace, std::uint32_t uid, bool askSysResource) {
    std::vector<std::string> caps = kRuncDefault;
    if (askSysResource) caps.push_back("CAP_SYS_RESOURCE");
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process p;
    p.args = {"/bin/sh"};
    p.user.uid = p.user.gid = uid;
    p.capabilities = Capabilities{caps, caps, {}, caps, {}};
    s.process = p;
    s.linux.emplace();
    s.linux->namespaces = {{"pid", ""}, {"mount", ""}, {"uts", ""}};
    if (userNamespace) {
        s.linux->namespaces.push_back({"user", ""});
        s.linux->uidMappings = s.linux->gidMappings = {IdMapping{0, 100000, 65536}};
    }
    s.hostname = "box";
    return s;
}

rapidjson::Document parsed(const std::string& json) {
    rapidjson::Document d;
    d.Parse(json.c_str());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

}  // namespace

TEST_CASE("check prints the plan create uses: policy x root/non-root x user namespace") {
    ::unsetenv(kCapPolicyEnv);
    const std::string rootfs = "/nonexistent-caprun-rootfs";
    for (const char* policy : {"strict", "lenient"})
        for (std::uint32_t uid : {0u, 1000u})
            for (bool userns : {false, true}) {
                const std::string policyName = policy;
                CAPTURE(policyName);
                CAPTURE(uid);
                CAPTURE(userns);
                const Spec spec = specFor(userns, uid, true);
                RuntimeContext g;
                g.capPolicy = policy;
                CreateOptions o;
                o.id = "c1";
                // What create plans (container.cpp's prepare) ...
                const ProcessPlan created =
                    planProcess(spec, *spec.process, initProcessRequest(g, o, rootfs, userns),
                                poorHost(), PlatformFacts{});
                // ... and what check prints for it.
                CheckReport report;
                addProcessSection(report, created);
                const auto shown = parsed(renderJson(report));
                const auto expected = parsed(processPlanJson(created));
                REQUIRE(shown.HasMember("processPlan"));
                CHECK((shown["processPlan"] == expected));

                // The decisions themselves, from the capability rules:
                const bool sysResource =
                    (created.capabilities.granted.bounding & bit(CAP_SYS_RESOURCE)) != 0;
                if (userns) {
                    // Inside a new user namespace the full set is on offer: nothing is short,
                    // and everything not requested leaves the bounding set.
                    CHECK(created.refusal.empty());
                    CHECK(sysResource);
                    CHECK(created.capabilities.boundingDrop ==
                          (all(40) & ~created.capabilities.granted.bounding));
                } else if (std::string(policy) == "strict") {
                    CHECK(created.refusal.find("CAP_SYS_RESOURCE") != std::string::npos);
                    CHECK_FALSE(shown["processPlan"]["mayStart"].GetBool());
                } else {
                    CHECK(created.refusal.empty());
                    CHECK_FALSE(sysResource);
                    REQUIRE_FALSE(created.warnings.empty());
                    CHECK(created.warnings[0].find("CAP_SYS_RESOURCE") != std::string::npos);
                }
                CHECK(created.policy == policy);
                CHECK(created.user.uid == uid);
                CHECK(created.hostname == std::optional<std::string>("box"));
                CHECK(created.sessionKeyring ==
                      "_ses.c1");  // runc's name for a container's keyring
                CHECK(created.userNamespace == userns);
            }
}

TEST_CASE("planProcess for exec: its own process, the spec's user namespace, no hostname") {
    ::unsetenv(kCapPolicyEnv);
    const Spec spec = specFor(true, 0, false);
    Process other = *spec.process;
    other.args = {"/bin/true"};
    other.capabilities->bounding = {"CAP_KILL"};
    ProcessRequest r;
    r.role = ProcessRole::Exec;
    r.userNamespace = true;
    const ProcessPlan exec = planProcess(spec, other, r, poorHost(), PlatformFacts{});
    CHECK(exec.capabilities.userNamespace);
    CHECK(exec.capabilities.granted.bounding == bit(CAP_KILL));
    CHECK(exec.args == std::vector<std::string>{"/bin/true"});
    CHECK_FALSE(exec.hostname);
}

TEST_CASE("planProcess: the seccomp install point follows no_new_privs and NOTIFY") {
    ::unsetenv(kCapPolicyEnv);
    Spec spec = specFor(false, 0, false);
    ProcessRequest r;
    r.capPolicy = "lenient";
    CHECK(planProcess(spec, *spec.process, r, poorHost(), PlatformFacts{}).seccompAt ==
          SeccompInstallPoint::None);
    Seccomp filter;
    filter.defaultAction = "SCMP_ACT_ALLOW";
    SeccompSyscall rule;
    rule.names = {"getpid"};
    rule.action = "SCMP_ACT_ERRNO";
    filter.syscalls = {rule};
    spec.linux->seccomp = filter;
    CHECK(planProcess(spec, *spec.process, r, poorHost(), PlatformFacts{}).seccompAt ==
          SeccompInstallPoint::BeforeCapabilityDrop);
    spec.process->noNewPrivileges = true;
    CHECK(planProcess(spec, *spec.process, r, poorHost(), PlatformFacts{}).seccompAt ==
          SeccompInstallPoint::BeforeExec);
    spec.linux->seccomp->syscalls[0].action = "SCMP_ACT_NOTIFY";
    spec.linux->seccomp->listenerPath = "/run/agent.sock";
    const ProcessPlan notify = planProcess(spec, *spec.process, r, poorHost(), PlatformFacts{});
    CHECK(notify.seccompAt == SeccompInstallPoint::AfterCredentials);
    CHECK(notify.seccomp.compiled.usesNotify);
}
