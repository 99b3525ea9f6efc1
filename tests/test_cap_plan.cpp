// The capability planner against synthetic hosts. Expected masks are built
// from capability numbers here, independently of the planner's code.
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "caprun/cap_plan.hpp"
#include "caprun/error.hpp"
#include "test_environment.hpp"

using namespace caprun;
namespace fs = std::filesystem;

namespace {

constexpr CapMask bit(int c) {
    return CapMask{1} << c;
}
constexpr CapMask all(int last) {
    return (CapMask{1} << (last + 1)) - 1;
}

HostFacts host(CapMask bnd, int capLast = 40, unsigned securebits = 0) {
    HostFacts h;
    h.caps.bounding = h.caps.permitted = h.caps.effective = bnd;
    h.capLastCap = capLast;
    h.securebits = securebits;
    h.kernelRelease = "6.1.0";
    h.rlimits["RLIMIT_NOFILE"] = {1024, 524288};
    h.oomScoreAdj = 0;
    return h;
}

const HostFacts kFull = host(all(40));
const HostFacts kThisMachine = host(all(40) & ~bit(CAP_SYS_RESOURCE));
const HostFacts kTalos =
    host(all(40) & ~bit(CAP_SYS_MODULE) & ~bit(CAP_SYS_BOOT), 40, SECBIT_NO_CAP_AMBIENT_RAISE);
const HostFacts kOldDind =
    host(all(40) & ~bit(CAP_BPF) & ~bit(CAP_PERFMON) & ~bit(CAP_CHECKPOINT_RESTORE));
const HostFacts kOldKernel = host(all(37), 37);
const HostFacts kNoSetpcap = host(all(40) & ~bit(CAP_SETPCAP));

struct Req {
    std::vector<std::string> b, e, i, p, a;
};

Spec spec(const Req& r, std::uint32_t uid = 0, bool nnp = false) {
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process p;
    p.args = {"/bin/sh"};
    p.user.uid = p.user.gid = uid;
    p.noNewPrivileges = nnp;
    p.capabilities = Capabilities{r.b, r.e, r.i, r.p, r.a};
    s.process = p;
    return s;
}

const PolicyChoice kStrict{CapPolicy::Strict, "--cap-policy"};
const PolicyChoice kLenient{CapPolicy::Lenient, "default"};

CapabilityPlan plan(const Spec& s, const HostFacts& h, const PolicyChoice& pol,
                    const ExecutableInfo& exe = {}) {
    return planCapabilities(s, h, pol, exe);
}

std::string hex(CapMask m) {
    return capMaskHex(m);
}

}  // namespace

TEST_CASE("names: CAP_X, cap_x and X in any case; typos and numbers are not names") {
    CHECK(capabilityFromName("CAP_SYS_ADMIN") == CAP_SYS_ADMIN);
    CHECK(capabilityFromName("cap_sys_admin") == CAP_SYS_ADMIN);
    CHECK(capabilityFromName("sys_admin") == CAP_SYS_ADMIN);
    CHECK(capabilityFromName("Cap_Net_Raw") == CAP_NET_RAW);
    CHECK(capabilityFromName("NET_RAW") == CAP_NET_RAW);
    CHECK_FALSE(capabilityFromName("CAP_SYS_ADMI").has_value());
    CHECK_FALSE(capabilityFromName("12").has_value());
    CHECK_FALSE(capabilityFromName("").has_value());
    CHECK_FALSE(capabilityFromName("CAP_SYS ADMIN").has_value());
    CHECK(capabilityName(CAP_BPF) == "CAP_BPF");
    // One spelling for messages and keys, also of names libcap does not know.
    CHECK(canonicalCapabilityName("sys_nice") == "CAP_SYS_NICE");
    CHECK(canonicalCapabilityName("Cap_Net_Raw") == "CAP_NET_RAW");
    CHECK(canonicalCapabilityName("bogus") == "CAP_BOGUS");
    CHECK(canonicalCapabilityName("cap_Bogus") == "CAP_BOGUS");
    CHECK(capMaskHex(all(40) & ~bit(CAP_SYS_RESOURCE)) == "000001fffeffffff");
    CHECK(parseCapMaskHex("000001fffeffffff") == (all(40) & ~bit(CAP_SYS_RESOURCE)));
    CHECK_FALSE(parseCapMaskHex("xyz").has_value());
}

TEST_CASE("policy: option > annotation > environment > lenient; invalid values name their source") {
    std::map<std::string, std::string> ann{{"run.caprun.cap-policy", "strict"}};
    CHECK(resolvePolicy(std::string("lenient"), ann, "strict").policy == CapPolicy::Lenient);
    CHECK(resolvePolicy(std::string("lenient"), ann, "strict").source == "--cap-policy");
    CHECK(resolvePolicy(std::nullopt, ann, "lenient").policy == CapPolicy::Strict);
    CHECK(resolvePolicy(std::nullopt, ann, "lenient").source == "annotation run.caprun.cap-policy");
    CHECK(resolvePolicy(std::nullopt, {}, "strict").source == "environment CAPRUN_CAP_POLICY");
    CHECK(resolvePolicy(std::nullopt, {}, nullptr).policy == CapPolicy::Lenient);
    CHECK(resolvePolicy(std::nullopt, {}, nullptr).source == "default");
    CHECK_THROWS_WITH(resolvePolicy(std::string("x"), {}, nullptr),
                      "invalid value \"x\" for --cap-policy: expected one of strict, lenient");
    CHECK_THROWS_WITH(resolvePolicy(std::nullopt, {{"run.caprun.cap-policy", "hard"}}, nullptr),
                      "config.json: annotations.run.caprun.cap-policy: invalid value \"hard\": "
                      "expected strict or lenient");
    CHECK_THROWS_WITH(resolvePolicy(std::nullopt, {}, "soft"),
                      "environment variable CAPRUN_CAP_POLICY: invalid value \"soft\": expected "
                      "strict or lenient");
}

TEST_CASE("hosts x policies, root: exact granted sets and drop reasons") {
    const std::vector<std::string> asked{"CAP_CHOWN",    "CAP_KILL",         "CAP_SYS_MODULE",
                                         "CAP_SYS_BOOT", "CAP_SYS_RESOURCE", "CAP_BPF"};
    const CapMask askedMask = bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_SYS_MODULE) |
                              bit(CAP_SYS_BOOT) | bit(CAP_SYS_RESOURCE) | bit(CAP_BPF);
    const Spec s = spec({asked, asked, {}, asked, {}});
    struct Row {
        const char* name;
        const HostFacts* host;
        CapMask granted;
        std::vector<std::string> drops;  // CapDrop::describe() per dropped name
    };
    const std::string bep = " (bounding, effective, permitted): ";
    const std::vector<Row> rows = {
        {"full host", &kFull, askedMask, {}},
        {"this machine",
         &kThisMachine,
         askedMask & ~bit(CAP_SYS_RESOURCE),
         {"CAP_SYS_RESOURCE" + bep +
          "not in the runtime's bounding set; the host does not offer it "
          "(CapBnd=000001fffeffffff)"}},
        {"talos",
         &kTalos,
         askedMask & ~bit(CAP_SYS_MODULE) & ~bit(CAP_SYS_BOOT),
         {"CAP_SYS_MODULE" + bep +
              "not in the runtime's bounding set; the host does not offer it (CapBnd=" +
              hex(kTalos.caps.bounding) + ")",
          "CAP_SYS_BOOT" + bep +
              "not in the runtime's bounding set; the host does not offer it (CapBnd=" +
              hex(kTalos.caps.bounding) + ")"}},
        {"old docker-in-docker",
         &kOldDind,
         askedMask & ~bit(CAP_BPF),
         {"CAP_BPF" + bep +
          "not in the runtime's bounding set; the host does not offer it "
          "(CapBnd=0000003fffffffff)"}},
        {"old kernel",
         &kOldKernel,
         askedMask & ~bit(CAP_BPF),
         {"CAP_BPF" + bep + "unknown to this kernel (cap_last_cap=37)"}},
    };
    for (const auto& row : rows) {
        for (const auto& pol : {kStrict, kLenient}) {
            CAPTURE(row.name);
            CAPTURE(capPolicyName(pol.policy));
            auto pl = plan(s, *row.host, pol);
            CHECK(pl.requested.bounding ==
                  (row.name == std::string("old kernel") ? askedMask & ~bit(CAP_BPF) : askedMask));
            CHECK(pl.granted.bounding == row.granted);
            CHECK(pl.granted.effective == row.granted);
            CHECK(pl.granted.permitted == row.granted);
            CHECK(pl.granted.inheritable == 0);
            CHECK(pl.granted.ambient == 0);
            REQUIRE(pl.dropped.size() == row.drops.size());
            for (std::size_t i = 0; i < row.drops.size(); ++i)
                CHECK(pl.dropped[i].describe() == row.drops[i]);
            CHECK(pl.refusesToStart() == (pol.policy == CapPolicy::Strict && !row.drops.empty()));
            // uid 0: after execve effective = permitted = bounding ∪ inheritable.
            CHECK(pl.predicted.effective == row.granted);
            CHECK(pl.predictionWarnings.empty());
        }
    }
}

TEST_CASE("strict error and lenient warning: exact text") {
    const Spec s = spec({{"CAP_KILL", "CAP_SYS_RESOURCE", "CAP_SYS_ADMI"},
                         {"CAP_KILL", "CAP_SYS_RESOURCE"},
                         {},
                         {"CAP_KILL", "CAP_SYS_RESOURCE"},
                         {}});
    auto strict = plan(s, kThisMachine, kStrict);
    CHECK(strict.refusesToStart());
    CHECK(strict.shortfallMessage() ==
          "the host cannot grant what config.json asks for (cap policy strict, from "
          "--cap-policy): CAP_SYS_RESOURCE (bounding, effective, permitted): not in the "
          "runtime's bounding set; the host does not offer it (CapBnd=000001fffeffffff); "
          "CAP_SYS_ADMI (bounding): not a capability name. To start without them (dropped, "
          "limits clamped), choose the lenient policy: --cap-policy=lenient, the annotation "
          "run.caprun.cap-policy=lenient, or CAPRUN_CAP_POLICY=lenient (the first of these that "
          "is set wins)");
    auto lenient = plan(s, kThisMachine, kLenient);
    CHECK_FALSE(lenient.refusesToStart());
    auto note = [](const CapDrop& d) {
        return d.name == "CAP_SYS_RESOURCE" ? std::string("seccomp keeps x denied") : std::string();
    };
    CHECK(lenient.shortfallMessage(note) ==
          "the host cannot grant everything config.json asks for; starting without it (cap "
          "policy lenient, from default): dropped CAP_SYS_RESOURCE (bounding, effective, "
          "permitted): not in the runtime's bounding set; the host does not offer it "
          "(CapBnd=000001fffeffffff) (seccomp keeps x denied); dropped CAP_SYS_ADMI (bounding): "
          "not a capability name");
    CHECK(plan(s, kFull, kStrict).dropped.size() == 1);  // the typo is never granted
}

TEST_CASE("non-root on Talos: ambient locked, SYS_MODULE not offered, nothing survives execve") {
    const std::vector<std::string> asked{"CAP_NET_BIND_SERVICE", "CAP_SYS_MODULE"};
    auto pl = plan(spec({asked, asked, asked, asked, asked}, 1000), kTalos, kLenient);
    const CapMask nbs = bit(CAP_NET_BIND_SERVICE);
    CHECK(pl.granted.bounding == nbs);
    CHECK(pl.granted.effective == nbs);
    CHECK(pl.granted.permitted == nbs);
    CHECK(pl.granted.inheritable == nbs);
    CHECK(pl.granted.ambient == 0);
    REQUIRE(pl.dropped.size() == 2);
    CHECK(pl.dropped[1].describe() ==
          "CAP_SYS_MODULE (bounding, effective, inheritable, permitted): not in the runtime's "
          "bounding set; the host does not offer it (CapBnd=" +
              hex(kTalos.caps.bounding) +
              "); CAP_SYS_MODULE (ambient): ambient capabilities cannot be raised on this host "
              "(SECBIT_NO_CAP_AMBIENT_RAISE is set, securebits=0x40)");
    CHECK(pl.dropped[0].describe() ==
          "CAP_NET_BIND_SERVICE (ambient): ambient capabilities cannot be raised on this host "
          "(SECBIT_NO_CAP_AMBIENT_RAISE is set, securebits=0x40)");
    CHECK(pl.predicted.permitted == 0);
    CHECK(pl.predicted.effective == 0);
    CHECK(pl.predicted.inheritable == nbs);
    REQUIRE(pl.predictionWarnings.size() == 1);
    CHECK(pl.predictionWarnings[0] ==
          "uid 1000 is not root and has no ambient capabilities or file capabilities: after "
          "execve the process holds no capabilities (lost: CAP_NET_BIND_SERVICE; add them to "
          "ambient and inheritable to keep them)");
    CHECK(plan(spec({asked, asked, asked, asked, asked}, 1000), kTalos, kStrict).refusesToStart());
}

TEST_CASE("non-root with ambient on a full host keeps exactly its ambient set") {
    const std::vector<std::string> nbs{"CAP_NET_BIND_SERVICE"};
    for (const HostFacts* h : {&kFull, &kThisMachine, &kOldDind}) {
        auto pl = plan(spec({nbs, nbs, nbs, nbs, nbs}, 1000), *h, kStrict);
        CHECK_FALSE(pl.refusesToStart());
        CHECK(pl.granted.ambient == bit(CAP_NET_BIND_SERVICE));
        CHECK(pl.predicted == CapSets{bit(CAP_NET_BIND_SERVICE), bit(CAP_NET_BIND_SERVICE),
                                      bit(CAP_NET_BIND_SERVICE), bit(CAP_NET_BIND_SERVICE),
                                      bit(CAP_NET_BIND_SERVICE)});
        CHECK(pl.predictionWarnings.empty());
    }
}

TEST_CASE("ambient requested without inheritable is dropped and predicted away") {
    const std::vector<std::string> nbs{"CAP_NET_BIND_SERVICE"};
    auto pl = plan(spec({nbs, nbs, {}, nbs, nbs}, 1000), kFull, kLenient);
    REQUIRE(pl.dropped.size() == 1);
    CHECK(pl.dropped[0].describe() ==
          "CAP_NET_BIND_SERVICE (ambient): requested in ambient without inheritable (an ambient "
          "capability must be granted in both permitted and inheritable)");
    CHECK(pl.predicted.permitted == 0);
    REQUIRE(pl.predictionWarnings.size() == 2);
    CHECK(pl.predictionWarnings[1] ==
          "ambient CAP_NET_BIND_SERVICE requested but inheritable lacks it: it cannot be raised");
}

TEST_CASE("effective without permitted, inheritable outside bounding") {
    auto pl =
        plan(spec({{"CAP_KILL"}, {"CAP_KILL", "CAP_CHOWN"}, {"CAP_NET_RAW"}, {"CAP_KILL"}, {}}),
             kFull, kLenient);
    CHECK(pl.granted.effective == bit(CAP_KILL));
    CHECK(pl.granted.inheritable == 0);
    REQUIRE(pl.dropped.size() == 2);
    CHECK(pl.dropped[0].describe() ==
          "CAP_CHOWN (effective): requested in effective but not in permitted (effective must "
          "be a subset of permitted)");
    CHECK(pl.dropped[1].describe() ==
          "CAP_NET_RAW (inheritable): requested in inheritable but not in bounding (the kernel "
          "keeps inheritable within the bounding set)");
}

TEST_CASE("uid 0 gains bounding in effective after execve, with a warning") {
    auto pl =
        plan(spec({{"CAP_KILL", "CAP_CHOWN"}, {"CAP_KILL"}, {}, {"CAP_KILL"}, {}}), kFull, kStrict);
    CHECK_FALSE(pl.refusesToStart());
    CHECK(pl.predicted.effective == (bit(CAP_KILL) | bit(CAP_CHOWN)));
    CHECK(pl.predicted.permitted == (bit(CAP_KILL) | bit(CAP_CHOWN)));
    REQUIRE(pl.predictionWarnings.size() == 1);
    CHECK(pl.predictionWarnings[0] ==
          "the process runs as uid 0, so after execve its effective and permitted sets become "
          "bounding ∪ inheritable: it also holds CAP_CHOWN, which effective did not ask for");
}

TEST_CASE("file capabilities: granted through bounding; under no_new_privs only within permitted") {
    ExecutableInfo exe;
    exe.path = "/bin/probe";
    exe.fileCaps = FileCapabilities{bit(CAP_NET_RAW), 0, true};
    const Req r{{"CAP_NET_RAW"}, {}, {}, {}, {}};
    auto pl = plan(spec(r, 1000), kFull, kStrict, exe);
    CHECK(pl.predicted.permitted == bit(CAP_NET_RAW));
    CHECK(pl.predicted.effective == bit(CAP_NET_RAW));
    CHECK(pl.predicted.ambient == 0);
    CHECK(pl.predictionWarnings.empty());
    // no_new_privs: the file cannot add what permitted (empty here) lacks.
    auto nnp = plan(spec(r, 1000, true), kFull, kStrict, exe);
    CHECK(nnp.predicted.permitted == 0);
    CHECK(nnp.predicted.effective == 0);
    REQUIRE(nnp.predictionWarnings.size() == 1);
    CHECK(nnp.predictionWarnings[0] ==
          "noNewPrivileges is set, so the file capabilities of /bin/probe cannot raise the "
          "permitted set: after execve it lacks CAP_NET_RAW (add them to permitted to keep them "
          "through the file capability)");
    // With CAP_NET_RAW in permitted the file's effective bit makes it effective again.
    auto kept =
        plan(spec({{"CAP_NET_RAW"}, {}, {}, {"CAP_NET_RAW"}, {}}, 1000, true), kFull, kStrict, exe);
    CHECK(kept.predicted.permitted == bit(CAP_NET_RAW));
    CHECK(kept.predicted.effective == bit(CAP_NET_RAW));
    CHECK(kept.predictionWarnings.empty());
    // Without the effective bit the capabilities are permitted but not effective.
    exe.fileCaps->effective = false;
    auto noEff = plan(spec(r, 1000), kFull, kStrict, exe);
    CHECK(noEff.predicted.permitted == bit(CAP_NET_RAW));
    CHECK(noEff.predicted.effective == 0);
}

TEST_CASE("file capabilities with the effective bit that the bounding set lacks: execve fails") {
    // The kernel's get_file_caps refuses a "capability-dumb" (+e) file whose forced
    // capabilities it cannot give, for root too (ping with cap_net_raw+ep under --cap-drop).
    ExecutableInfo exe;
    exe.path = "/bin/probe";
    exe.fileCaps = FileCapabilities{bit(CAP_NET_RAW) | bit(CAP_SYS_TIME), 0, true};
    for (std::uint32_t uid : {0U, 1000U}) {
        CAPTURE(uid);
        auto pl = plan(spec({{"CAP_NET_RAW"}, {"CAP_NET_RAW"}, {}, {"CAP_NET_RAW"}, {}}, uid),
                       kFull, kStrict, exe);
        REQUIRE_FALSE(pl.predictionWarnings.empty());
        CHECK(pl.predictionWarnings[0] ==
              "execve of /bin/probe fails with EPERM: its file capabilities have the effective "
              "bit and force CAP_SYS_TIME, which the bounding set does not hold (grant them in "
              "bounding, or remove them from the file's capabilities)");
    }
    CapSets before{bit(CAP_NET_RAW), 0, bit(CAP_SYS_TIME), 0, 0};
    CHECK(forcedCapsMissing(before, exe) == bit(CAP_SYS_TIME));
    // Reachable through inheritable & file-inheritable instead: no failure.
    exe.fileCaps->inheritable = bit(CAP_SYS_TIME);
    CHECK(forcedCapsMissing(before, exe) == 0);
    // Without the effective bit the file is capability-aware: it runs with what it gets.
    exe.fileCaps = FileCapabilities{bit(CAP_NET_RAW) | bit(CAP_SYS_TIME), 0, false};
    CHECK(forcedCapsMissing(before, exe) == 0);
    CHECK(forcedCapsMissing(before, ExecutableInfo{}) == 0);
}

TEST_CASE("predictAfterExec: no_new_privs x file capabilities (+e, +p, none) x root, non-root") {
    // Before execve: bounding {CHOWN, KILL, NET_RAW, SYS_TIME}, permitted = effective
    // {CHOWN, KILL, NET_RAW}, inheritable = ambient {KILL}. The file: cap_net_raw,cap_sys_time.
    // Expected sets worked out by hand from cap_bprm_creds_from_file:
    //   file caps: pP' = (bounding & fP) | (pI & fI); root instead: bounding | pI, effective
    //   no_new_privs: pP' &= pP;  file caps clear ambient;  pP' |= pA';  pE' = fE ? pP' : pA'.
    const CapMask B = bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_NET_RAW) | bit(CAP_SYS_TIME);
    const CapMask P = bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_NET_RAW);
    const CapMask K = bit(CAP_KILL);
    const CapSets before{B, P, K, P, K};
    const CapMask F = bit(CAP_NET_RAW) | bit(CAP_SYS_TIME);
    enum class File { Effective, PermittedOnly, None };
    struct Row {
        std::uint32_t uid;
        bool nnp;
        File file;
        CapMask permitted, effective, ambient;
    };
    const Row rows[] = {
        // non-root: the file's sets through bounding; no_new_privs keeps them within P.
        {1000, false, File::Effective, F, F, 0},
        {1000, false, File::PermittedOnly, F, 0, 0},
        {1000, true, File::Effective, bit(CAP_NET_RAW), bit(CAP_NET_RAW), 0},
        {1000, true, File::PermittedOnly, bit(CAP_NET_RAW), 0, 0},
        // non-root without file caps: only ambient survives, with or without no_new_privs.
        {1000, false, File::None, K, K, K},
        {1000, true, File::None, K, K, K},
        // root: bounding | inheritable whatever the file says; no_new_privs cuts it to P.
        {0, false, File::Effective, B, B, 0},
        {0, false, File::PermittedOnly, B, B, 0},
        {0, true, File::Effective, P, P, 0},
        {0, true, File::PermittedOnly, P, P, 0},
        {0, false, File::None, B, B, K},
        {0, true, File::None, P, P, K},
    };
    for (const Row& row : rows) {
        CAPTURE(row.uid);
        CAPTURE(row.nnp);
        CAPTURE(static_cast<int>(row.file));
        ExecutableInfo exe;
        exe.path = "/bin/probe";
        if (row.file != File::None)
            exe.fileCaps = FileCapabilities{F, 0, row.file == File::Effective};
        const CapSets after = predictAfterExec(before, row.uid, row.nnp, exe, 0, 40);
        CHECK(hex(after.permitted) == hex(row.permitted));
        CHECK(hex(after.effective) == hex(row.effective));
        CHECK(hex(after.ambient) == hex(row.ambient));
        CHECK(after.bounding == B);  // execve changes neither bounding nor inheritable
        CHECK(after.inheritable == K);
    }
}

TEST_CASE("predictAfterExec: set-user-ID root, file inheritable, SECBIT_NOROOT") {
    const CapMask B = bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_NET_RAW) | bit(CAP_SYS_TIME);
    const CapMask P = bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_NET_RAW);
    const CapMask K = bit(CAP_KILL);
    const CapSets before{B, P, K, P, K};
    ExecutableInfo suid;
    suid.setuidRoot = true;
    // Non-root running a set-user-ID-root file becomes euid 0: bounding | inheritable, and
    // the uid change clears ambient.
    CHECK(predictAfterExec(before, 1000, false, suid, 0, 40) == CapSets{B, B, K, B, 0});
    // no_new_privs: the set-user-ID bit does nothing, only ambient survives.
    CHECK(predictAfterExec(before, 1000, true, suid, 0, 40) == CapSets{B, K, K, K, K});
    // Set-user-ID root plus file capabilities, run by non-root: the file's own sets count.
    suid.fileCaps = FileCapabilities{bit(CAP_NET_RAW), 0, false};
    CHECK(predictAfterExec(before, 1000, false, suid, 0, 40) ==
          CapSets{B, 0, K, bit(CAP_NET_RAW), 0});
    // pI & fI: KILL comes through inheritable, also under no_new_privs (it is in P).
    ExecutableInfo inh;
    inh.fileCaps = FileCapabilities{0, K | bit(CAP_SYS_TIME), true};
    CHECK(predictAfterExec(before, 1000, true, inh, 0, 40) == CapSets{B, K, K, K, 0});
    // SECBIT_NOROOT: uid 0 is nobody special, only ambient survives.
    CHECK(predictAfterExec(before, 0, false, ExecutableInfo{}, SECBIT_NOROOT, 40) ==
          CapSets{B, K, K, K, K});
}

TEST_CASE("a runtime without CAP_SETPCAP cannot shrink the bounding set") {
    const Req r{{"CAP_KILL"}, {"CAP_KILL"}, {}, {"CAP_KILL"}, {}};
    auto strict = plan(spec(r), kNoSetpcap, kStrict);
    CHECK(strict.refusesToStart());
    CHECK(strict.boundingKept == (kNoSetpcap.caps.bounding & ~bit(CAP_KILL)));
    CHECK(strict.shortfallMessage().find("the bounding set cannot be reduced: the runtime lacks "
                                         "CAP_SETPCAP (CapEff=000001fffffffeff), so CAP_CHOWN, ") !=
          std::string::npos);
    auto lenient = plan(spec(r), kNoSetpcap, kLenient);
    CHECK_FALSE(lenient.refusesToStart());
    CHECK(lenient.granted.bounding == kNoSetpcap.caps.bounding);
    // Root then ends with the whole kept bounding set in effective, and check says so.
    CHECK(lenient.predicted.effective == kNoSetpcap.caps.bounding);
    CHECK(lenient.predictionWarnings.size() == 1);
}

TEST_CASE("typos, mixed case, duplicates, empty sets and an absent capabilities object") {
    auto pl =
        plan(spec({{"cap_net_raw", "NET_RAW", "Cap_Net_Raw", "CAP_NET_RAWW"}, {}, {}, {}, {}}),
             kFull, kLenient);
    CHECK(pl.granted.bounding == bit(CAP_NET_RAW));
    REQUIRE(pl.dropped.size() == 1);
    CHECK(pl.dropped[0].describe() == "CAP_NET_RAWW (bounding): not a capability name");
    auto empty = plan(spec({}), kFull, kStrict);
    CHECK_FALSE(empty.refusesToStart());
    CHECK(empty.granted == CapSets{});
    CHECK(empty.predicted == CapSets{});
    Spec absent = spec({});
    absent.process->capabilities.reset();
    auto none = plan(absent, kFull, kStrict);
    CHECK_FALSE(none.capabilitiesObject);
    CHECK(none.granted == CapSets{});
    CHECK(none.dropped.empty());
}

TEST_CASE("rlimits and oomScoreAdj that need CAP_SYS_RESOURCE") {
    Spec s = spec({});
    s.process->rlimits.push_back({"RLIMIT_NOFILE", 1048576, 1048576, "process.rlimits[0]"});
    s.process->oomScoreAdj = -500;
    auto strict = plan(s, kThisMachine, kStrict);
    CHECK(strict.refusesToStart());
    CHECK(strict.rlimits[0].describe() ==
          "process.rlimits[0] (RLIMIT_NOFILE): soft 1048576, hard 1048576 requested, above the "
          "runtime's hard limit 524288; raising a hard limit needs CAP_SYS_RESOURCE, which the "
          "runtime does not hold");
    CHECK(strict.oomScoreAdj->describe() ==
          "process.oomScoreAdj: -500 requested, below the runtime's own 0; lowering it needs "
          "CAP_SYS_RESOURCE, which the runtime does not hold");
    CHECK(strict.rlimits[0].hard == 1048576);  // strict changes nothing; it refuses
    auto lenient = plan(s, kThisMachine, kLenient);
    CHECK_FALSE(lenient.refusesToStart());
    CHECK(lenient.rlimits[0].hard == 524288);
    CHECK(lenient.rlimits[0].soft == 524288);
    CHECK(lenient.oomScoreAdj->value == 0);
    CHECK(lenient.shortfallMessage().find("clamped process.rlimits[0] (RLIMIT_NOFILE)") !=
          std::string::npos);
    CHECK(lenient.shortfallMessage().find("; set to soft 524288, hard 524288") !=
          std::string::npos);
    // A host that holds CAP_SYS_RESOURCE may raise them.
    auto full = plan(s, kFull, kStrict);
    CHECK_FALSE(full.refusesToStart());
    CHECK(full.rlimits[0].hard == 1048576);
    CHECK(full.oomScoreAdj->value == -500);
    // Within the runtime's hard limit no capability is needed.
    s.process->rlimits[0].hard = s.process->rlimits[0].soft = 4096;
    s.process->oomScoreAdj = 10;
    CHECK_FALSE(plan(s, kThisMachine, kStrict).refusesToStart());
}

TEST_CASE("host facts from a captured /proc/<pid>/status") {
    char dir[] = "/tmp/caprun-hf-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string path = std::string(dir) + "/status";
    {
        std::ofstream f(path);
        f << "Name:\tbash\nCapInh:\t0000000000000000\nCapPrm:\t0000003fffffffff\n"
             "CapEff:\t0000003fffffffff\nCapBnd:\t0000003fffffffff\nCapAmb:\t0000000000000000\n";
    }
    auto h = HostFacts::fromProcStatus(path, std::nullopt);
    CHECK(h.caps.bounding == all(37));
    CHECK(h.capLastCap == 37);
    CHECK(h.source == "host status file " + path);
    CHECK(HostFacts::fromProcStatus(path, 40).capLastCap == 40);
    {
        std::ofstream f(path);
        f << "CapInh:\t0\nCapPrm:\tzz\n";
    }
    CHECK_THROWS_WITH(
        HostFacts::fromProcStatus(path, std::nullopt),
        ("--host-status: " + path + " line 2: CapPrm is not a hex capability mask: \"zz\"")
            .c_str());
    {
        std::ofstream f(path);
        f << "CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t0\n";
    }
    CHECK_THROWS_WITH(
        HostFacts::fromProcStatus(path, std::nullopt),
        ("--host-status: " + path + " has no CapAmb line; give a copy of /proc/<pid>/status")
            .c_str());
    CHECK_THROWS_WITH(HostFacts::fromProcStatus(std::string(dir) + "/nope", std::nullopt),
                      ("--host-status: " + std::string(dir) + "/nope does not exist").c_str());
    fs::remove_all(dir);
}

namespace {

// The five sets of the calling process asked of the kernel directly, one bit per call.
CapSets capsBySyscalls(int capLastCap) {
    CapSets c;
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    REQUIRE(::syscall(SYS_capget, &hdr, data) == 0);
    c.effective = data[0].effective | (CapMask(data[1].effective) << 32);
    c.permitted = data[0].permitted | (CapMask(data[1].permitted) << 32);
    c.inheritable = data[0].inheritable | (CapMask(data[1].inheritable) << 32);
    for (int i = 0; i <= capLastCap; ++i) {
        if (::prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1) c.bounding |= capBit(i);
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1) c.ambient |= capBit(i);
    }
    return c;
}

bool sameSets(const CapSets& a, const CapSets& b) {
    return a.effective == b.effective && a.permitted == b.permitted &&
           a.inheritable == b.inheritable && a.bounding == b.bounding && a.ambient == b.ambient;
}

}  // namespace

TEST_CASE("host facts of this process: the five sets the kernel reports bit by bit") {
    HostFacts h = HostFacts::probe();
    CHECK(sameSets(h.caps, capsBySyscalls(h.capLastCap)));
}

// Uneven sets in a child (root only): a bounding bit dropped, one capability made
// inheritable and ambient, another dropped from effective.
TEST_CASE("host facts of a child with uneven sets: the five sets the kernel reports bit by bit" *
          doctest::skip(caprun_test::notRoot())) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        bool ok = ::prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE, 0, 0, 0) == 0;
        __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2]{};
        ok = ok && ::syscall(SYS_capget, &hdr, data) == 0;
        data[0].inheritable |= 1U << CAP_NET_RAW;
        data[0].effective &= ~(1U << CAP_CHOWN);
        ok = ok && ::syscall(SYS_capset, &hdr, data) == 0;
        ok = ok && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0) == 0;
        HostFacts c = HostFacts::probe();
        const bool shaped = !(c.caps.bounding & capBit(CAP_SYS_MODULE)) &&
                            (c.caps.ambient == capBit(CAP_NET_RAW)) &&
                            !(c.caps.effective & capBit(CAP_CHOWN)) &&
                            (c.caps.permitted & capBit(CAP_CHOWN));
        ::_exit(ok && shaped && sameSets(c.caps, capsBySyscalls(c.capLastCap)) ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the executable is found through PATH inside the rootfs, never outside it") {
    char dir[] = "/tmp/caprun-exe-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const fs::path root = dir;
    fs::create_directories(root / "usr/local/bin");
    fs::create_directories(root / "bin");
    { std::ofstream(root / "usr/local/bin/tool") << "#!/bin/sh\n"; }
    fs::permissions(root / "usr/local/bin/tool", fs::perms::owner_all);
    // Links that point out of the rootfs resolve inside it (RESOLVE_IN_ROOT).
    fs::create_symlink("/usr/bin/env", root / "bin/esc");
    fs::create_symlink("../../../../../../usr/bin/env", root / "bin/esc2");
    Process p;
    p.cwd = "/";
    p.env = {"PATH=/bin:/usr/local/bin"};
    p.args = {"tool"};
    auto found = inspectExecutable(p, root.string());
    CHECK(found.path == "/usr/local/bin/tool");
    CHECK_FALSE(found.fileCaps.has_value());
    for (const char* name : {"esc", "esc2", "/bin/esc", "env"}) {
        CAPTURE(name);
        p.args = {name};
        auto e = inspectExecutable(p, root.string());
        CHECK(e.path.empty());
        CHECK(e.note.find("not found as an executable file inside the rootfs") !=
              std::string::npos);
    }
    fs::remove_all(root);
}

TEST_CASE("hosts x policies, non-root with all five sets: exact granted sets and drops") {
    const std::vector<std::string> asked{"CAP_NET_BIND_SERVICE", "CAP_SYS_MODULE", "CAP_BPF",
                                         "CAP_SYS_RESOURCE"};
    const CapMask askedMask =
        bit(CAP_NET_BIND_SERVICE) | bit(CAP_SYS_MODULE) | bit(CAP_BPF) | bit(CAP_SYS_RESOURCE);
    const Spec s = spec({asked, asked, asked, asked, asked}, 1000);
    struct Row {
        const char* name;
        const HostFacts* host;
        CapMask grantedBEIP;  // bounding, effective, inheritable, permitted
        CapMask grantedAmbient;
        std::vector<std::string> droppedNames;
        bool boundingKept = false;
    };
    const std::vector<Row> rows = {
        {"full host", &kFull, askedMask, askedMask, {}},
        {"this machine",
         &kThisMachine,
         askedMask & ~bit(CAP_SYS_RESOURCE),
         askedMask & ~bit(CAP_SYS_RESOURCE),
         {"CAP_SYS_RESOURCE"}},
        {"talos",
         &kTalos,
         askedMask & ~bit(CAP_SYS_MODULE),
         0,
         {"CAP_NET_BIND_SERVICE", "CAP_SYS_MODULE", "CAP_BPF", "CAP_SYS_RESOURCE"}},
        {"old docker-in-docker",
         &kOldDind,
         askedMask & ~bit(CAP_BPF),
         askedMask & ~bit(CAP_BPF),
         {"CAP_BPF"}},
        {"old kernel",
         &kOldKernel,
         askedMask & ~bit(CAP_BPF),
         askedMask & ~bit(CAP_BPF),
         {"CAP_BPF"}},
        {"no CAP_SETPCAP", &kNoSetpcap, askedMask, askedMask, {}, true},
    };
    for (const auto& row : rows) {
        for (const auto& pol : {kStrict, kLenient}) {
            CAPTURE(row.name);
            CAPTURE(capPolicyName(pol.policy));
            auto pl = plan(s, *row.host, pol);
            const CapMask kept = row.boundingKept && pol.policy == CapPolicy::Lenient
                                     ? row.host->caps.bounding & ~askedMask
                                     : 0;
            CHECK(pl.granted.bounding == (row.grantedBEIP | kept));
            CHECK(pl.granted.effective == row.grantedBEIP);
            CHECK(pl.granted.inheritable == row.grantedBEIP);
            CHECK(pl.granted.permitted == row.grantedBEIP);
            CHECK(pl.granted.ambient == row.grantedAmbient);
            std::vector<std::string> names;
            for (const auto& d : pl.dropped) names.push_back(d.name);
            CHECK(names == row.droppedNames);
            const bool short_ = !row.droppedNames.empty() || row.boundingKept;
            CHECK(pl.refusesToStart() == (pol.policy == CapPolicy::Strict && short_));
            // A non-root process without file capabilities keeps exactly its ambient set.
            CHECK(pl.predicted.permitted == row.grantedAmbient);
            CHECK(pl.predicted.effective == row.grantedAmbient);
            CHECK(pl.predicted.ambient == row.grantedAmbient);
        }
    }
    // On this machine the one drop covers all five sets with one reason.
    auto pl = plan(s, kThisMachine, kStrict);
    CHECK(pl.dropped[0].describe() ==
          "CAP_SYS_RESOURCE (bounding, effective, inheritable, permitted, ambient): not in the "
          "runtime's bounding set; the host does not offer it (CapBnd=000001fffeffffff)");
}

TEST_CASE(
    "a user namespace: permitted and effective are full inside it, rlimits still need "
    "the host's CAP_SYS_RESOURCE") {
    // A rootless runtime: nothing in permitted/effective, full bounding.
    HostFacts rootless = host(all(40));
    rootless.caps.permitted = rootless.caps.effective = 0;
    const std::vector<std::string> asked = {"CAP_NET_ADMIN", "CAP_SYS_ADMIN"};
    const CapMask askedMask = bit(CAP_NET_ADMIN) | bit(CAP_SYS_ADMIN);
    Spec s = spec({asked, asked, {}, asked, {}});
    s.process->rlimits = {Rlimit{"RLIMIT_NOFILE", 1048576, 1048576, "process.rlimits[0]"}};

    // Without a user namespace the runtime cannot give what it does not hold.
    auto outside = plan(s, rootless, kLenient);
    CHECK_FALSE(outside.userNamespace);
    CHECK(outside.granted.permitted == 0);
    CHECK(outside.granted.effective == 0);
    // ...nor shrink the bounding set without CAP_SETPCAP (lenient keeps it whole).
    CHECK(outside.granted.bounding == all(40));
    CHECK(outside.boundingKept == (all(40) & ~askedMask));

    s.linux.emplace();
    s.linux->namespaces = {Namespace{"user", ""}};
    auto inside = plan(s, rootless, kStrict);
    CHECK(inside.userNamespace);
    CHECK(inside.granted == CapSets{askedMask, askedMask, 0, askedMask, 0});
    CHECK(inside.dropped.empty());
    // CAP_SYS_RESOURCE inside the namespace does not raise limits in the initial one.
    REQUIRE(inside.rlimits.size() == 1);
    CHECK(inside.rlimits[0].shortfall);
    CHECK(inside.refusesToStart());
}

TEST_CASE(
    "a new user namespace: the offer is the full set of it, and every bit not requested is "
    "dropped from bounding, also those the host lacks") {
    // runc's default capabilities on this machine (bounding lacks CAP_SYS_RESOURCE).
    const std::vector<std::string> runc = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE"};
    const CapMask req = bit(CAP_CHOWN) | bit(CAP_DAC_OVERRIDE) | bit(CAP_FSETID) | bit(CAP_FOWNER) |
                        bit(CAP_MKNOD) | bit(CAP_NET_RAW) | bit(CAP_SETGID) | bit(CAP_SETUID) |
                        bit(CAP_SETFCAP) | bit(CAP_SETPCAP) | bit(CAP_NET_BIND_SERVICE) |
                        bit(CAP_SYS_CHROOT) | bit(CAP_KILL) | bit(CAP_AUDIT_WRITE);
    Spec s = spec({runc, runc, {}, runc, {}});
    HostFacts h = kThisMachine;
    h.caps.inheritable = bit(CAP_SYS_ADMIN);  // not carried into the namespace
    h.securebits = SECBIT_NO_CAP_AMBIENT_RAISE;

    auto outside = plan(s, h, kStrict);
    CHECK_FALSE(outside.userNamespace);
    CHECK(outside.offered == h.caps);
    CHECK(hex(outside.boundingDrop) == hex(h.caps.bounding & ~req));
    CHECK((outside.boundingDrop & bit(CAP_SYS_RESOURCE)) == 0);  // the init does not hold it

    s.linux.emplace();
    s.linux->namespaces = {Namespace{"mount", ""}, Namespace{"user", ""}};
    auto inside = plan(s, h, kStrict);
    CHECK(inside.userNamespace);
    CHECK(inside.offered == CapSets{all(40), all(40), 0, all(40), 0});
    CHECK(inside.offeredSecurebits == 0);
    CHECK(inside.granted == CapSets{req, req, 0, req, 0});
    CHECK(inside.dropped.empty());
    CHECK(inside.boundingKept == 0);
    CHECK(hex(inside.boundingDrop) == hex(all(40) & ~req));
    CHECK((inside.boundingDrop & bit(CAP_SYS_RESOURCE)) != 0);
    // Root after execve holds bounding in permitted and effective: exactly the request.
    CHECK(inside.predicted == CapSets{req, req, 0, req, 0});
    CHECK_FALSE(inside.refusesToStart());

    // Joining a user namespace by path gives the same full set (userns_install).
    s.linux->namespaces = {Namespace{"mount", ""}, Namespace{"user", "/proc/1/ns/user"}};
    auto joined = plan(s, h, kStrict);
    CHECK(joined.userNamespace);
    CHECK(hex(joined.boundingDrop) == hex(all(40) & ~req));
}

TEST_CASE("a new user namespace: inheritable and ambient are granted from the namespace's set") {
    // The runtime holds nothing in inheritable and its securebits forbid ambient raising;
    // inside the namespace securebits are clear and permitted is full.
    HostFacts h = host(all(40), 40, SECBIT_NO_CAP_AMBIENT_RAISE);
    const std::vector<std::string> nbs = {"CAP_NET_BIND_SERVICE"};
    Spec s = spec({nbs, nbs, nbs, nbs, nbs}, 1000);
    auto outside = plan(s, h, kLenient);
    CHECK((outside.granted.ambient & bit(CAP_NET_BIND_SERVICE)) == 0);
    s.linux.emplace();
    s.linux->namespaces = {Namespace{"user", ""}};
    auto inside = plan(s, h, kStrict);
    const CapMask b = bit(CAP_NET_BIND_SERVICE);
    CHECK(inside.granted == CapSets{b, b, b, b, b});
    CHECK(inside.dropped.empty());
}
