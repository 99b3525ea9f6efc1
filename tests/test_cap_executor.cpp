// The executor's exact call sequence, recorded by a double of the kernel interface.
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "caprun/cap_executor.hpp"
#include "caprun/error.hpp"
#include "recording_process_kernel.hpp"
#include "test_environment.hpp"

using namespace caprun;

namespace {

using RecordingKernel = testing::RecordingProcessKernel;

constexpr CapMask bit(int c) {
    return CapMask{1} << c;
}

}  // namespace

TEST_CASE("executor: root plan: bounding drop, then the switch to uid 0 keeping the sets") {
    CapabilityPlan plan;
    plan.granted.bounding = plan.granted.effective = plan.granted.permitted = bit(CAP_KILL);
    User user;  // uid 0, gid 0
    RecordingKernel k;
    plan.boundingDrop = bit(CAP_CHOWN) | bit(CAP_SYS_ADMIN);
    applyCapabilityPlan(plan, user, k);
    CHECK(k.calls == std::vector<std::string>{
                         "drop-bounding CAP_CHOWN",
                         "drop-bounding CAP_SYS_ADMIN",
                         "keep-caps on",
                         "setgroups",
                         "setresgid 0",
                         "setresuid 0",
                         "keep-caps off",
                         "capset e=0000000000000020 p=0000000000000020 i=0000000000000000",
                         "ambient clear",
                     });
}

TEST_CASE("executor: non-root plan: groups, gid, uid, then capset and ambient") {
    CapabilityPlan plan;
    plan.noNewPrivileges = true;
    const CapMask nbs = bit(CAP_NET_BIND_SERVICE);
    plan.granted = CapSets{nbs, nbs, nbs, nbs, nbs};
    User user;
    user.uid = 1000;
    user.gid = 1000;
    user.additionalGids = {5, 10};
    RecordingKernel k;
    plan.boundingDrop = bit(CAP_SYS_ADMIN);
    applyCapabilityPlan(plan, user, k);
    CHECK(k.calls == std::vector<std::string>{
                         "drop-bounding CAP_SYS_ADMIN",
                         "keep-caps on",
                         "setgroups 5 10",
                         "setresgid 1000",
                         "setresuid 1000",
                         "keep-caps off",
                         "capset e=0000000000000400 p=0000000000000400 i=0000000000000400",
                         "ambient clear",
                         "ambient raise CAP_NET_BIND_SERVICE",
                     });
}

TEST_CASE("executor: a failing step stops the sequence and names the step and capability") {
    CapabilityPlan plan;
    RecordingKernel k;
    k.failAt = "drop-bounding CAP_SYS_MODULE";
    plan.boundingDrop = bit(CAP_SYS_MODULE) | bit(CAP_SYS_TIME);
    CHECK_THROWS_WITH(applyCapabilityPlan(plan, User{}, k),
                      "drop-bounding CAP_SYS_MODULE: Operation not permitted");
    CHECK(k.calls.size() == 1);
}

TEST_CASE("executor: in a new user namespace it drops what the host lacks too") {
    // The host's bounding set lacks CAP_SYS_RESOURCE and CAP_SYS_MODULE; the kernel gives
    // the init of a new user namespace the full set anyway, so both must be dropped.
    HostFacts host;
    host.capLastCap = 40;
    host.caps.bounding = host.caps.permitted = host.caps.effective =
        capsUpTo(40) & ~bit(CAP_SYS_RESOURCE) & ~bit(CAP_SYS_MODULE);
    Spec s;
    Process p;
    p.args = {"/bin/sh"};
    p.capabilities = Capabilities{{"CAP_KILL"}, {"CAP_KILL"}, {}, {"CAP_KILL"}, {}};
    s.process = p;
    s.linux.emplace();
    s.linux->namespaces = {{"user", ""}};
    CapabilityPlan plan = planCapabilities(s, host, {CapPolicy::Strict, "--cap-policy"}, {});
    RecordingKernel k;
    applyCapabilityPlan(plan, User{}, k);
    std::vector<std::string> drops;
    for (const auto& c : k.calls)
        if (c.rfind("drop-bounding ", 0) == 0) drops.push_back(c.substr(14));
    std::vector<std::string> expected;
    for (int cap = 0; cap <= 40; ++cap)
        if (cap != CAP_KILL) expected.push_back(capabilityName(cap));
    CHECK(drops == expected);
    CHECK(std::find(drops.begin(), drops.end(), "CAP_SYS_RESOURCE") != drops.end());
    CHECK(std::find(drops.begin(), drops.end(), "CAP_SYS_MODULE") != drops.end());

    // Without the user namespace only what the init holds (the host's set) is dropped.
    s.linux->namespaces.clear();
    CapabilityPlan outside = planCapabilities(s, host, {CapPolicy::Strict, "--cap-policy"}, {});
    RecordingKernel k2;
    applyCapabilityPlan(outside, User{}, k2);
    for (const auto& c : k2.calls) {
        CHECK(c != "drop-bounding CAP_SYS_RESOURCE");
        CHECK(c != "drop-bounding CAP_SYS_MODULE");
    }
}

TEST_CASE("executor: the real kernel's errors name the step and the capability") {
    LinuxCapabilityKernel k;
    // Raising an ambient capability that is not permitted and inheritable always fails.
    CHECK_THROWS_WITH(k.raiseAmbient(CAP_MAC_ADMIN),
                      "raising CAP_MAC_ADMIN in the ambient set (PR_CAP_AMBIENT_RAISE): Operation "
                      "not permitted");
}

// The kernel checks CAP_SETPCAP before the capability's number: without it every drop is EPERM.
TEST_CASE("executor: a bounding drop of an unknown capability names it and the errno" *
          doctest::skip(caprun_test::lacksEffective(CAP_SETPCAP))) {
    LinuxCapabilityKernel k;
    CHECK_THROWS_WITH(k.dropBounding(200),
                      "dropping CAP_200 from the bounding set (PR_CAPBSET_DROP): Invalid argument");
}

// In a child that gives up CAP_SETPCAP first when it has it, so that this runs for anyone.
TEST_CASE("executor: a bounding drop without CAP_SETPCAP is refused, naming the capability") {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2]{};
        if (::syscall(SYS_capget, &hdr, data) != 0) ::_exit(2);
        data[0].effective &= ~(1U << CAP_SETPCAP);
        if (::syscall(SYS_capset, &hdr, data) != 0) ::_exit(3);
        try {
            LinuxCapabilityKernel().dropBounding(CAP_SYS_MODULE);
        } catch (const caprun::Error& e) {
            ::_exit(std::string(e.what()) ==
                            "dropping CAP_SYS_MODULE from the bounding set "
                            "(PR_CAPBSET_DROP): Operation not permitted"
                        ? 0
                        : 4);
        }
        ::_exit(5);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
