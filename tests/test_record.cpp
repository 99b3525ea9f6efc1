// caprun record's decisions over synthetic events (no BPF needed): which capabilities the
// profile keeps (granted checks; ambient only for exec'd non-root programs), which syscalls
// it allows (per architecture, plus caprun's init), the files' text, merging, and what makes
// record refuse to start.
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <seccomp.h>

#include <algorithm>

#include "caprun/cap_plan.hpp"
#include "caprun/error.hpp"
#include "caprun/explain.hpp"
#include "caprun/record.hpp"
#include "caprun/record_plan.hpp"
#include "caprun/seccomp_profile.hpp"

using namespace caprun;

namespace {

const std::uint32_t kX86_64 = SCMP_ARCH_X86_64;

long nrOf(const char* name, std::uint32_t arch = kX86_64) {
    return seccomp_syscall_resolve_name_arch(arch, name);
}

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

Recording probeRecording() {
    Recording r;
    r.syscalls = {{kX86_64, nrOf("mknodat"), 1},
                  {kX86_64, nrOf("chroot"), 2},
                  {kX86_64, nrOf("write"), 5},
                  {kX86_64, nrOf("reboot"), 1}};
    r.capChecks = {
        {CAP_MKNOD, kX86_64, nrOf("mknodat"), true, false, 1},
        {CAP_SYS_CHROOT, kX86_64, nrOf("chroot"), true, false, 2},
        {CAP_SYS_BOOT, kX86_64, nrOf("reboot"), false, false, 1},
    };
    return r;
}

}  // namespace

TEST_CASE("record: the granted checks are the capabilities, the denied ones only reported") {
    const RecordPlan p = planRecording(probeRecording(), kX86_64);
    CHECK(p.needed == (capBit(CAP_MKNOD) | capBit(CAP_SYS_CHROOT)));
    CHECK(p.ambient == 0);
    const std::string caps = recordedCapabilitiesJson(p);
    CHECK(caps.find("\"CAP_MKNOD\"") != std::string::npos);
    CHECK(caps.find("CAP_SYS_BOOT") == std::string::npos);
    CHECK(caps.find("inheritable") == std::string::npos);
    CHECK(caps.find("ambient") == std::string::npos);
    const std::string report = recordedReportText(p);
    CHECK(report.find("CAP_SYS_CHROOT\n    chroot: 2 checks") != std::string::npos);
    CHECK(report.find("CAP_MKNOD\n    mknodat: 1 check\n") != std::string::npos);
    CHECK(report.find("the workload tried CAP_SYS_BOOT in reboot (1x) and did not have it; add "
                      "it if that failure mattered") != std::string::npos);
}

TEST_CASE("record: ambient and inheritable only for a non-root exec'd program that used them") {
    Recording r;
    r.capChecks = {{CAP_NET_RAW, kX86_64, nrOf("socket"), true, true, 1},
                   {CAP_CHOWN, kX86_64, nrOf("fchownat"), true, false, 1}};
    const RecordPlan p = planRecording(r, kX86_64);
    CHECK(p.needed == (capBit(CAP_NET_RAW) | capBit(CAP_CHOWN)));
    CHECK(p.ambient == capBit(CAP_NET_RAW));
    const std::string caps = recordedCapabilitiesJson(p);
    CHECK(caps.find("\"inheritable\": [\n        \"CAP_NET_RAW\"\n    ]") != std::string::npos);
    CHECK(caps.find("\"ambient\": [\n        \"CAP_NET_RAW\"\n    ]") != std::string::npos);
}

TEST_CASE(
    "record: the profile denies with ENOSYS and allows the workload's and the init's "
    "syscalls") {
    const RecordPlan p = planRecording(probeRecording(), kX86_64);
    CHECK(has(p.workloadSyscalls, "mknodat"));
    CHECK(has(p.allowed, "chroot"));
    CHECK(has(p.allowed, "execve"));  // the init's own exec, after the filter is in
    CHECK(has(p.allowed, "capset"));
    CHECK_FALSE(has(p.initSyscalls, "write"));  // the workload's already
    CHECK_FALSE(has(p.allowed, "mount"));
    const std::string text = recordedSeccompJson(p);
    // The file as config.json, --seccomp-profile and docker read it.
    const Seccomp s = parseSeccompProfile(text, "seccomp.json", kX86_64);
    CHECK(s.defaultAction == "SCMP_ACT_ERRNO");
    REQUIRE(s.defaultErrnoRet.has_value());
    CHECK(*s.defaultErrnoRet == 38u);
    CHECK(s.architectures == std::vector<std::string>{"SCMP_ARCH_X86_64"});
    REQUIRE(s.syscalls.size() == 1);
    CHECK(s.syscalls[0].action == "SCMP_ACT_ALLOW");
    CHECK(s.syscalls[0].names == p.allowed);
}

TEST_CASE("record: a compat syscall is named for its own architecture and listed") {
    Recording r;
    // i386's 5 is open; x86_64's 5 is fstat.
    r.syscalls = {{SCMP_ARCH_X86, 5, 3}, {kX86_64, nrOf("read"), 1}};
    const RecordPlan p = planRecording(r, kX86_64);
    CHECK(p.arches == std::vector<std::uint32_t>{kX86_64, SCMP_ARCH_X86});
    CHECK(has(p.workloadSyscalls, "open"));
    CHECK_FALSE(has(p.workloadSyscalls, "fstat"));
    CHECK(recordedSeccompJson(p).find("\"SCMP_ARCH_X86\"") != std::string::npos);
}

TEST_CASE("record: an unknown number is reported, never allowed by number") {
    Recording r;
    r.syscalls = {{kX86_64, 4000, 1}};
    const RecordPlan p = planRecording(r, kX86_64);
    CHECK(p.unnamed == std::vector<std::string>{"syscall 4000 (SCMP_ARCH_X86_64)"});
    CHECK(recordedReportText(p).find("no name for (not in the profile): syscall 4000") !=
          std::string::npos);
}

TEST_CASE("record: securityContext and run flags name the capabilities without CAP_") {
    const RecordPlan p = planRecording(probeRecording(), kX86_64);
    const std::string y = recordedSecurityContextYaml(p, "probe/seccomp.json");
    CHECK(y.find("    drop: [ALL]\n    add: [SYS_CHROOT, MKNOD]\n") != std::string::npos);
    CHECK(y.find("    type: Localhost\n    localhostProfile: probe/seccomp.json\n") !=
          std::string::npos);
    CHECK(recordedRunFlags(p, "/r/seccomp.json") ==
          "--cap-drop=ALL --cap-add=SYS_CHROOT --cap-add=MKNOD --security-opt "
          "seccomp=/r/seccomp.json\n");
}

TEST_CASE("record --merge: recording.json round-trips and counts add up") {
    const Recording a = probeRecording();
    Recording b;
    b.syscalls = {{kX86_64, nrOf("chroot"), 3}, {kX86_64, nrOf("socket"), 1}};
    b.capChecks = {{CAP_NET_RAW, kX86_64, nrOf("socket"), true, false, 1}};
    const Recording back = parseRecordingJson(recordingJson(a), "recording.json");
    const Recording m = mergeRecordings({back, b});
    const RecordPlan p = planRecording(m, kX86_64);
    CHECK(p.needed == (capBit(CAP_MKNOD) | capBit(CAP_SYS_CHROOT) | capBit(CAP_NET_RAW)));
    auto chroot = std::find_if(m.syscalls.begin(), m.syscalls.end(),
                               [](const RecordedSyscall& s) { return s.nr == nrOf("chroot"); });
    REQUIRE(chroot != m.syscalls.end());
    CHECK(chroot->count == 5);
    CHECK_THROWS_WITH(
        parseRecordingJson(
            R"({"syscalls":[{"arch":"SCMP_ARCH_NOPE","nr":1,"count":1}],"capabilityChecks":[]})",
            "r.json"),
        doctest::Contains("r.json: syscalls[0].arch: unknown architecture"));
}

TEST_CASE("record refuses without the tracer, BTF or CAP_BPF/CAP_PERFMON, naming it") {
    const CapMask bpfPerfmon = capBit(CAP_BPF) | capBit(CAP_PERFMON);
    CHECK(recordPrerequisitesMissing(true, true, bpfPerfmon).empty());
    CHECK(recordPrerequisitesMissing(true, true, capBit(CAP_SYS_ADMIN)).empty());
    CHECK(recordPrerequisitesMissing(false, true, ~CapMask{0}).find("built without eBPF") !=
          std::string::npos);
    CHECK(recordPrerequisitesMissing(true, false, bpfPerfmon).find("/sys/kernel/btf/vmlinux") !=
          std::string::npos);
    const std::string noBpf = recordPrerequisitesMissing(true, true, capBit(CAP_PERFMON));
    CHECK(noBpf.find("this process lacks CAP_BPF") != std::string::npos);
    CHECK(noBpf.find("CAP_PERFMON") == noBpf.find("CAP_PERFMON (or"));
    CHECK(recordPrerequisitesMissing(true, true, 0).find("lacks CAP_BPF and CAP_PERFMON") !=
          std::string::npos);
}

TEST_CASE("record: the code of the no-audit check functions from /proc/kallsyms") {
    const std::string ks =
        "ffffffff81000000 T ns_capable\n"
        "ffffffff81000100 T ns_capable_noaudit\n"
        "ffffffff81000180 T has_ns_capability_noaudit\n"
        "ffffffff81000200 t helper\n"
        "ffffffff81000300 T has_capability_noaudit\n"
        "ffffffff81000340 D some_data\n"
        "ffffffff81000400 T cap_vm_enough_memory\n"
        "ffffffff81000480 T cap_mmap_addr\n"
        "ffffffff81000500 T security_vm_enough_memory_mm\n"
        "ffffffff81000580 T security_mmap_addr\n"
        "ffffffff81900000 t ns_capable_noaudit.cold\n"
        "ffffffff81900040 t other.cold\n";
    const auto r = noauditCheckRanges(ks);
    REQUIRE(r.size() == 6);
    auto covers = [&](std::uint64_t a) {
        return std::any_of(r.begin(), r.end(),
                           [&](const AddressRange& x) { return a >= x.lo && a < x.hi; });
    };
    CHECK(covers(0xffffffff81000110));
    CHECK(covers(0xffffffff81000310));  // data symbols do not end functions
    CHECK(covers(0xffffffff81000440));
    CHECK(covers(0xffffffff81000510));
    CHECK_FALSE(covers(0xffffffff81000590));
    CHECK(covers(0xffffffff81900010));
    CHECK_FALSE(covers(0xffffffff81000010));  // ns_capable audits
    CHECK_FALSE(covers(0xffffffff81000210));
    CHECK_FALSE(covers(0xffffffff81000490));
    CHECK_THROWS_WITH(noauditCheckRanges("0000000000000000 T ns_capable_noaudit\n"),
                      doctest::Contains("kptr_restrict"));
    CHECK_THROWS_WITH(noauditCheckRanges("ffffffff81000100 T ns_capable_noaudit\n"),
                      doctest::Contains("no function has_ns_capability_noaudit"));
}

TEST_CASE("record --output: absolute, and a directory that can be written") {
    CHECK_THROWS_WITH(checkRecordOutput("rel/dir"), doctest::Contains("not an absolute path"));
    CHECK_THROWS_WITH(checkRecordOutput("/proc/self/status"),
                      doctest::Contains("exists and is not a directory"));
    CHECK_THROWS_WITH(checkRecordOutput("/nonexistent-caprun/x"),
                      doctest::Contains("its parent directory /nonexistent-caprun does not exist"));
    CHECK_NOTHROW(checkRecordOutput("/tmp/caprun-record-unit-absent"));
}

TEST_CASE("explain: a syscall the recorded profile denies is \"not in the recorded profile\"") {
    const RecordPlan rp = planRecording(probeRecording(), seccomp_arch_native());
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process proc;
    proc.args = {"/bin/probe"};
    const std::vector<std::string> caps = capNames(rp.needed);
    proc.capabilities = Capabilities{caps, caps, {}, caps, {}};
    s.process = proc;
    s.linux = Linux{};
    s.linux->seccomp = parseSeccompProfile(recordedSeccompJson(rp), "seccomp.json");
    HostFacts h;
    h.caps.bounding = h.caps.permitted = h.caps.effective = (CapMask{1} << 41) - 1;
    h.capLastCap = 40;
    h.kernelRelease = "6.1.0";
    const CapabilityPlan plan = planCapabilities(s, h, PolicyChoice{}, {});
    const auto e =
        explainSyscalls(s, plan, selectSeccomp(s, std::nullopt), {"settimeofday", "chroot"});
    REQUIRE(e.size() == 2);
    CHECK(e[0].outcome.find("fails with ENOSYS: not in the recorded profile") == 0);
    CHECK(e[0].otherFix.find("caprun record --merge") != std::string::npos);
    CHECK(e[1].outcome.find("not in the recorded profile") == std::string::npos);
}

TEST_CASE("the annotation run.caprun.record: absolute, writable, or planning fails naming it") {
    CHECK_FALSE(recordAnnotationDir({{"other", "x"}}).has_value());
    CHECK_THROWS_WITH(recordAnnotationDir({{kRecordAnnotation, "rel/dir"}}),
                      "config.json: annotations[\"run.caprun.record\"]: \"rel/dir\" is not an "
                      "absolute path");
    CHECK_THROWS_WITH(recordAnnotationDir({{kRecordAnnotation, "/proc/self/status"}}),
                      "config.json: annotations[\"run.caprun.record\"]: \"/proc/self/status\": "
                      "exists and is not a directory");
    CHECK_THROWS_WITH(recordAnnotationDir({{kRecordAnnotation, "/nonexistent-caprun/x"}}),
                      doctest::Contains("\"/nonexistent-caprun/x\": its parent directory "
                                        "/nonexistent-caprun does not exist"));
}
