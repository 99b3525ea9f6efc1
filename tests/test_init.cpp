// What the container side is given before clone: the process plan create and exec build
// (planProcess) and the HOME default from the container's /etc/passwd.
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "caprun/cap_plan.hpp"
#include "caprun/init.hpp"

using namespace caprun;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/caprun-init-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

// runc's default capabilities, in a new user namespace mapped 0 -> 100000.
Spec userNamespaceSpec() {
    const std::vector<std::string> caps = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE"};
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process p;
    p.args = {"/bin/sh"};
    p.capabilities = Capabilities{caps, caps, {}, caps, {}};
    s.process = p;
    s.linux.emplace();
    s.linux->namespaces = {{"pid", ""}, {"mount", ""}, {"user", ""}};
    s.linux->uidMappings = s.linux->gidMappings = {IdMapping{0, 100000, 65536}};
    return s;
}

void checkSamePlan(const CapabilityPlan& a, const CapabilityPlan& b) {
    CHECK(a.userNamespace == b.userNamespace);
    CHECK(a.offered == b.offered);
    CHECK(a.requested == b.requested);
    CHECK(a.granted == b.granted);
    CHECK(capMaskHex(a.boundingDrop) == capMaskHex(b.boundingDrop));
    CHECK(a.predicted == b.predicted);
    CHECK(a.dropped.size() == b.dropped.size());
}

}  // namespace

TEST_CASE("planProcess plans capabilities from the whole spec, as check does (user namespace)") {
    ::unsetenv(kCapPolicyEnv);
    TempDir state;
    GlobalOptions g;
    g.command = "create";
    const Spec spec = userNamespaceSpec();
    const std::string rootfs = state.path + "/no-rootfs";
    ProcessPlan created = planProcess(g, spec, *spec.process, std::nullopt, state.path, rootfs);
    REQUIRE(created.capabilities);
    const CapabilityPlan checked = planForContainer(spec, g, rootfs, HostFacts::probe());
    CHECK(checked.userNamespace);
    checkSamePlan(*created.capabilities, checked);
    // Inside the user namespace the init starts from the full set: everything not
    // requested is dropped from bounding, CAP_SYS_RESOURCE included whatever the host has.
    const int last = HostFacts::probe().capLastCap;
    CHECK(created.capabilities->offered.bounding == capsUpTo(last));
    CHECK((created.capabilities->boundingDrop & (CapMask{1} << CAP_SYS_RESOURCE)) != 0);
    CHECK(created.capabilities->boundingDrop ==
          (capsUpTo(last) & ~created.capabilities->granted.bounding));

    // exec: its own process in place of spec.process, linux (the user namespace) kept.
    Process other = *spec.process;
    other.args = {"/bin/true"};
    other.capabilities->bounding = {"CAP_KILL"};
    ProcessPlan exec = planProcess(g, spec, other, std::nullopt, state.path, rootfs);
    Spec execView = spec;
    execView.process = other;
    checkSamePlan(*exec.capabilities, planForContainer(execView, g, rootfs, HostFacts::probe()));
    CHECK(exec.capabilities->userNamespace);
    CHECK(exec.capabilities->granted.bounding == (CapMask{1} << CAP_KILL));
}

TEST_CASE("HOME: the uid's home in passwd, / when there is no entry") {
    const std::string passwd =
        "root:x:0:0:root:/root:/bin/sh\n"
        "# a comment line\n"
        "\n"
        "broken line without fields\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "nohome:x:7:7:gecos::/bin/sh\n"
        "twice:x:1000:1000::/home/first:/bin/sh\n"
        "twice2:x:1000:1000::/home/second:/bin/sh\n"
        "big:x:4294967295:1::/home/big:/bin/sh\n"
        "notnum:x:12a:1::/home/notnum:/bin/sh\n"
        "short:x:42:42:/home/short\n"
        "last:x:65534:65534:nobody:/nonexistent";  // no final newline
    CHECK(homeFromPasswd(passwd, 0) == "/root");
    CHECK(homeFromPasswd(passwd, 1) == "/usr/sbin");
    CHECK(homeFromPasswd(passwd, 1000) == "/home/first");  // the first entry wins
    CHECK(homeFromPasswd(passwd, 4294967295U) == "/home/big");
    CHECK(homeFromPasswd(passwd, 65534) == "/nonexistent");
    CHECK(homeFromPasswd(passwd, 7) == "/");   // empty home field
    CHECK(homeFromPasswd(passwd, 12) == "/");  // "12a" is not uid 12
    CHECK(homeFromPasswd(passwd, 42) == "/");  // too few fields
    CHECK(homeFromPasswd(passwd, 5) == "/");   // no entry
    CHECK(homeFromPasswd("", 0) == "/");
}
