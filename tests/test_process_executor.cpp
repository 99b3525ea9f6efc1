// The process executor's one order, recorded by a double of its kernel: no_new_privs set
// once, seccomp at the planned point and nowhere else, the credential steps in between.
#include <doctest/doctest.h>

#include <linux/capability.h>

#include "caprun/process_executor.hpp"
#include "recording_process_kernel.hpp"

using namespace caprun;
using caprun::testing::RecordingProcessKernel;

namespace {

constexpr CapMask bit(int c) {
    return CapMask{1} << c;
}

ProcessPlan basePlan(std::uint32_t uid) {
    ProcessPlan p;
    p.args = {"/bin/app"};
    p.env = {"PATH=/bin", "HOME=/root"};
    p.cwd = "/work";
    p.user.uid = p.user.gid = uid;
    const CapMask kill = bit(CAP_KILL);
    p.capabilities.granted.bounding = p.capabilities.granted.effective = kill;
    p.capabilities.granted.permitted = kill;
    p.capabilities.boundingDrop = bit(CAP_SYS_ADMIN);
    return p;
}

void withFilter(ProcessPlan& p, SeccompInstallPoint at, bool notify) {
    p.seccomp.compiled.enabled = true;
    p.seccomp.compiled.usesNotify = notify;
    p.seccompAt = at;
}

const std::vector<std::string> kRootCredentials = {
    "drop-bounding CAP_SYS_ADMIN",
    "keep-caps on",
    "setgroups",
    "setresgid 0",
    "setresuid 0",
    "keep-caps off",
    "capset e=0000000000000020 p=0000000000000020 i=0000000000000000",
    "ambient clear"};

std::vector<std::string> concat(std::initializer_list<std::vector<std::string>> parts) {
    std::vector<std::string> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

const std::vector<std::string> kSetup = {"mkdir-in-root /work", "early attrs"};
const std::vector<std::string> kTail = {"chdir /work", "find /bin/app"};
const std::vector<std::string> kExec = {"cloexec above 2", "on-exec attrs",
                                        "execve /resolved/bin/app PATH=/bin HOME=/root"};

// One call a line, so a failing check shows both sequences.
std::string lines(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& c : v) out += c + "\n";
    return out;
}

}  // namespace

TEST_CASE("process executor: root, no_new_privs off: seccomp before the capability drop") {
    ProcessPlan p = basePlan(0);
    withFilter(p, SeccompInstallPoint::BeforeCapabilityDrop, false);
    RecordingProcessKernel k;
    applyProcessPlan(p, k);
    CHECK(lines(k.calls) ==
          lines(concat({kSetup, {"seccomp"}, kRootCredentials, kTail, {"await start"}, kExec})));
}

TEST_CASE("process executor: no_new_privs on: set once, seccomp the last step before execve") {
    ProcessPlan p = basePlan(0);
    p.noNewPrivileges = true;
    withFilter(p, SeccompInstallPoint::BeforeExec, false);
    RecordingProcessKernel k;
    applyProcessPlan(p, k);
    CHECK(lines(k.calls) == lines(concat({kSetup,
                                          kRootCredentials,
                                          {"no_new_privs"},
                                          kTail,
                                          {"await start", "seccomp"},
                                          kExec})));
}

TEST_CASE("process executor: NOTIFY with no_new_privs: installed before the wait, fd handed off") {
    ProcessPlan p = basePlan(0);
    p.noNewPrivileges = true;
    withFilter(p, SeccompInstallPoint::AfterCredentials, true);
    RecordingProcessKernel k;
    k.listenerFd = 7;
    applyProcessPlan(p, k);
    CHECK(lines(k.calls) == lines(concat({kSetup,
                                          kRootCredentials,
                                          {"no_new_privs", "seccomp notify", "hand off listener 7"},
                                          kTail,
                                          {"await start"},
                                          kExec})));
}

TEST_CASE("process executor: NOTIFY without no_new_privs: before the drop, fd handed off") {
    ProcessPlan p = basePlan(0);
    withFilter(p, SeccompInstallPoint::BeforeCapabilityDrop, true);
    RecordingProcessKernel k;
    k.listenerFd = 9;
    applyProcessPlan(p, k);
    CHECK(lines(k.calls) == lines(concat({kSetup,
                                          {"seccomp notify", "hand off listener 9"},
                                          kRootCredentials,
                                          kTail,
                                          {"await start"},
                                          kExec})));
}

TEST_CASE("process executor: non-root with ambient, rlimits, keyring, hostname, no filter") {
    ProcessPlan p = basePlan(1000);
    p.user.additionalGids = {5};
    const CapMask nbs = bit(CAP_NET_BIND_SERVICE);
    p.capabilities.granted = CapSets{nbs, nbs, nbs, nbs, nbs};
    p.rlimits = {{7, "RLIMIT_NOFILE", 1024, 4096}};
    p.oomScoreAdj = 100;
    p.sessionKeyring = "caprun-c1";
    p.userNamespace = true;
    p.hostname = "box";
    p.umask = 022;
    p.preserveFds = 2;
    p.env = {"PATH=/bin"};  // no HOME: from the container's passwd
    RecordingProcessKernel k;
    k.passwd = "app:x:1000:1000::/home/app:/bin/sh\n";
    applyProcessPlan(p, k, 5);
    CHECK(lines(k.calls) == lines({
                                "read /etc/passwd",
                                "keyring caprun-c1 userns grant-search",
                                "sethostname box",
                                "terminal 5",
                                "oom_score_adj 100",
                                "setrlimit RLIMIT_NOFILE 1024 4096",
                                "mkdir-in-root /work",
                                "umask 18",
                                "early attrs",
                                "drop-bounding CAP_SYS_ADMIN",
                                "keep-caps on",
                                "setgroups 5",
                                "setresgid 1000",
                                "setresuid 1000",
                                "keep-caps off",
                                "capset e=0000000000000400 p=0000000000000400 i=0000000000000400",
                                "ambient clear",
                                "ambient raise CAP_NET_BIND_SERVICE",
                                "chdir /work",
                                "find /bin/app",
                                "await start",
                                "cloexec above 4",
                                "on-exec attrs",
                                "execve /resolved/bin/app PATH=/bin HOME=/home/app",
                            }));
}

TEST_CASE("process executor: exec joins the init's session keyring without changing it") {
    // Only the keyring's owner may set its permission (keyctl_setperm(3)); the init made it
    // and granted search already.
    for (ProcessRole role : {ProcessRole::Init, ProcessRole::Exec}) {
        ProcessPlan p = basePlan(0);
        p.role = role;
        p.sessionKeyring = "_ses.c1";
        p.userNamespace = true;
        RecordingProcessKernel k;
        applyProcessPlan(p, k);
        std::vector<std::string> keyring;
        for (const auto& c : k.calls)
            if (c.rfind("keyring ", 0) == 0) keyring.push_back(c);
        CHECK(keyring == std::vector<std::string>{role == ProcessRole::Init
                                                      ? "keyring _ses.c1 userns grant-search"
                                                      : "keyring _ses.c1 userns"});
    }
}

TEST_CASE("process executor: a file-capability executable gets the same steps, no raise") {
    // File capabilities act at execve (capabilities(7)): the executor grants the planned
    // sets and nothing more; with inheritable empty no ambient raise happens.
    ProcessPlan p = basePlan(1000);
    p.capabilities.executable.fileCaps = FileCapabilities{bit(CAP_NET_RAW), 0, true};
    RecordingProcessKernel k;
    applyProcessPlan(p, k);
    CHECK(std::find(k.calls.begin(), k.calls.end(), "ambient clear") != k.calls.end());
    CHECK(std::none_of(k.calls.begin(), k.calls.end(),
                       [](const std::string& c) { return c.rfind("ambient raise", 0) == 0; }));
    CHECK(std::none_of(k.calls.begin(), k.calls.end(),
                       [](const std::string& c) { return c.rfind("seccomp", 0) == 0; }));
}

TEST_CASE("process executor: a failing step stops everything after it") {
    ProcessPlan p = basePlan(0);
    withFilter(p, SeccompInstallPoint::BeforeExec, false);
    p.noNewPrivileges = true;
    RecordingProcessKernel k;
    k.failAt = "setresuid";
    CHECK_THROWS_WITH(applyProcessPlan(p, k), "setresuid 0: Operation not permitted");
    CHECK(k.calls.back() == "setresuid 0");
    CHECK(std::find(k.calls.begin(), k.calls.end(), "no_new_privs") == k.calls.end());
}
