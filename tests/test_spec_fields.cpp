#include <doctest/doctest.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "caprun/check_report.hpp"
#include "caprun/container.hpp"
#include "caprun/error.hpp"
#include "caprun/lsm.hpp"
#include "caprun/process_sched.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/spec.hpp"
#include "caprun/spec_fields.hpp"

using namespace caprun;

namespace {

std::string config(const std::string& processExtra, const std::string& top = "",
                   const std::string& linuxExtra = "") {
    return R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},)" + top +
           R"("process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/")" + processExtra +
           R"(},"linux":{"namespaces":[{"type":"mount"}])" + linuxExtra + "}}";
}

const FieldDecision* find(const FieldPlan& p, const std::string& path) {
    for (const auto& d : p.fields)
        if (d.path == path) return &d;
    return nullptr;
}

PlatformFacts noLsm() {
    return PlatformFacts{};
}

PlatformFacts apparmorHost() {
    PlatformFacts f;
    f.apparmorEnabled = true;
    return f;
}

}  // namespace

TEST_CASE("every config field of runtime-spec 1.3's schema has a decision in the table") {
    std::ifstream in(std::string(CAPRUN_SOURCE_DIR) + "/tests/data/runtime-spec-1.3.0-fields.txt");
    REQUIRE(in);
    std::vector<std::string> missing;
    int count = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        ++count;
        if (!findFieldRule(line)) missing.push_back(line);
    }
    CHECK(count > 200);
    std::string list;
    for (const auto& m : missing) list += m + "\n";
    CHECK_MESSAGE(missing.empty(), "fields without a decision:\n" << list);
}

TEST_CASE("every table entry but the extensions is a spec field (no typo hides a field)") {
    std::ifstream in(std::string(CAPRUN_SOURCE_DIR) + "/tests/data/runtime-spec-1.3.0-fields.txt");
    std::set<std::string> spec;
    for (std::string line; std::getline(in, line);) spec.insert(line);
    for (const auto& r : specFieldRules()) CHECK_MESSAGE(spec.count(r.field), r.field);
}

TEST_CASE("present fields are listed at the table's granularity") {
    Spec s = parseSpec(config(R"(,"rlimits":[{"type":"RLIMIT_NOFILE","hard":5,"soft":5}])",
                              R"("mounts":[{"destination":"/a","type":"tmpfs","source":"t"},
                                  {"destination":"/b","source":"/x","options":["bind"]}],
                                 "x-vendor":{"a":1},"annotations":{"k":"v","l":"w"},)",
                              R"(,"sysctl":{"net.ipv4.ip_forward":"1"})"));
    std::vector<std::string> paths;
    for (const auto& f : s.presentFields) paths.push_back(f.path);
    auto has = [&](const std::string& p) {
        return std::find(paths.begin(), paths.end(), p) != paths.end();
    };
    CHECK(has("mounts[0].type"));
    CHECK(has("mounts[1].options"));
    CHECK(has("process.rlimits"));  // a whole entry: its members are not listed
    CHECK_FALSE(has("process.rlimits[0].type"));
    CHECK(has("annotations"));
    CHECK_FALSE(has("annotations.k"));
    CHECK(has("linux.sysctl"));
    CHECK(has("x-vendor"));
    CHECK(has("process.user.uid"));

    FieldPlan plan = planSpecFields(s, noLsm());
    CHECK_FALSE(plan.refuses());
    REQUIRE(find(plan, "x-vendor"));
    CHECK(find(plan, "x-vendor")->verdict == Verdict::Ignored);
    CHECK(find(plan, "mounts[1].options")->field == "mounts[].options");
}

TEST_CASE("process.apparmorProfile: refused without AppArmor, else applied") {
    Spec s = parseSpec(config(R"(,"apparmorProfile":"docker-default")"));
    FieldPlan off = planSpecFields(s, noLsm());
    CHECK(off.refuses());
    CHECK(off.refusalMessage() ==
          "config.json: process.apparmorProfile: AppArmor is not enabled on this host (no "
          "/sys/module/apparmor/parameters/enabled)");
    FieldPlan on = planSpecFields(s, apparmorHost());
    CHECK_FALSE(on.refuses());
    CHECK(find(on, "process.apparmorProfile")->verdict == Verdict::Applied);

    CHECK_THROWS_WITH(planLsm(*s.process, noLsm(), "config.json: process."),
                      "config.json: process.apparmorProfile: AppArmor is not enabled on this "
                      "host (no /sys/module/apparmor/parameters/enabled)");
    CHECK(planLsm(*s.process, apparmorHost(), "").apparmorProfile == "docker-default");
    // An empty profile is no profile: nothing to refuse.
    Spec none = parseSpec(config(R"(,"apparmorProfile":"")"));
    CHECK_FALSE(planSpecFields(none, noLsm()).refuses());
}

TEST_CASE("SELinux labels: refused without SELinux; mountLabel goes on tmpfs/devpts/mqueue") {
    Spec s = parseSpec(config(R"(,"selinuxLabel":"system_u:system_r:container_t:s0")", "",
                              R"(,"mountLabel":"system_u:object_r:container_file_t:s0")"));
    FieldPlan off = planSpecFields(s, noLsm());
    CHECK(off.refusalMessage() ==
          "config.json: process.selinuxLabel: SELinux is not enabled on this host (no selinuxfs "
          "at /sys/fs/selinux)\n"
          "config.json: linux.mountLabel: SELinux is not enabled on this host (no selinuxfs at "
          "/sys/fs/selinux)");
    PlatformFacts se;
    se.selinuxEnabled = true;
    CHECK_FALSE(planSpecFields(s, se).refuses());
    CHECK(planLsm(*s.process, se, "").execLabel == "system_u:system_r:container_t:s0");

    RootfsPlan r;
    PlannedMount tmp;
    tmp.type = "tmpfs";
    tmp.options.data = "mode=755";
    PlannedMount bind;
    bind.kind = MountKind::Bind;
    bind.type = "tmpfs";
    r.mounts = {tmp, bind};
    CHECK_THROWS_WITH(planMountLabel("x", noLsm(), r),
                      "config.json: linux.mountLabel: SELinux is not enabled on this host (no "
                      "selinuxfs at /sys/fs/selinux)");
    planMountLabel("lbl", se, r);
    CHECK(r.mounts[0].options.data == "mode=755,context=\"lbl\"");
    CHECK(r.mounts[1].options.data.empty());
}

TEST_CASE("ociVersion: newer than 1.3 refused naming both, 1.0.x and 1.3.x accepted") {
    CHECK(ociVersionRefusal("1.0.0").empty());
    CHECK(ociVersionRefusal("1.0.2-dev").empty());
    CHECK(ociVersionRefusal("1.3.0").empty());
    CHECK(ociVersionRefusal("1.3.1+dev").empty());
    CHECK(ociVersionRefusal("1.4.0") ==
          "the config is for runtime-spec 1.4.0, newer than 1.3.0, the highest version caprun "
          "implements");
    CHECK_THROWS_WITH(parseSpec(R"({"ociVersion":"1.4.0","root":{"path":"r"}})"),
                      "config.json: ociVersion: the config is for runtime-spec 1.4.0, newer than "
                      "1.3.0, the highest version caprun implements");
    CHECK(ociVersionRefusal("x").find("is not a runtime-spec version") != std::string::npos);
}

TEST_CASE("intelRdt and rdma are refused with the host's reason; netDevices without a netns") {
    // (rdma is applied where the host has the controller)
    Spec s = parseSpec(config("", "",
                              R"(,"intelRdt":{"closID":"g"},"netDevices":{"eth1":{"name":"e"}},
                                 "resources":{"rdma":{"mlx5_1":{"hcaHandles":3}}})"));
    FieldPlan plan = planSpecFields(s, noLsm());
    CHECK(find(plan, "linux.intelRdt")->why ==
          "Intel RDT is not available on this host (no resctrl at /sys/fs/resctrl)");
    CHECK(find(plan, "linux.resources.rdma")->why ==
          "this host has no rdma cgroup controller (not in /proc/cgroups)");
    CHECK(find(plan, "linux.netDevices")->verdict == Verdict::Refused);
    CHECK(plan.refusalMessage().find(
              "config.json: linux.netDevices: the container shares the runtime's network "
              "namespace") != std::string::npos);
    Spec withNetns = parseSpec(R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},
        "process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},
        "linux":{"namespaces":[{"type":"network"}],"netDevices":{"eth1":{"name":"e"}}}})");
    FieldPlan p3 = planSpecFields(withNetns, noLsm());
    const FieldDecision* nd = find(p3, "linux.netDevices");
    CHECK(nd->verdict == Verdict::Applied);
    CHECK(nd->why.rfind("eth1 as e moved into the container's network namespace", 0) == 0);
    PlatformFacts rich;
    rich.resctrlMounted = rich.rdmaController = true;
    FieldPlan p2 = planSpecFields(s, rich);
    CHECK(find(p2, "linux.intelRdt")->why ==
          "the container joins the resctrl group /sys/fs/resctrl/g (configured beforehand: it "
          "must exist)");
    CHECK(find(p2, "linux.resources.rdma")->verdict == Verdict::Applied);
    CHECK(s.linux->resources->rdma.at("mlx5_1").hcaHandles == 3u);
    CHECK_FALSE(s.linux->resources->rdma.at("mlx5_1").hcaObjects);
}

TEST_CASE("check's field section: one line per field, array elements grouped") {
    Spec s = parseSpec(config(R"(,"apparmorProfile":"p")",
                              R"("mounts":[{"destination":"/a","type":"tmpfs","source":"t"},
                                  {"destination":"/b","type":"tmpfs","source":"t"}],)"));
    CheckReport r;
    addFieldSection(r, planSpecFields(s, noLsm()));
    CHECK(r.text.find("  applied  mounts[*].type (2): ") != std::string::npos);
    CHECK(r.text.find("  refused  process.apparmorProfile: AppArmor is not enabled") !=
          std::string::npos);
    REQUIRE(r.json.HasMember("fields"));
    bool seen = false;
    for (const auto& f : r.json["fields"].GetArray())
        if (std::string(f["path"].GetString()) == "mounts[1].type") seen = true;
    CHECK(seen);
}

TEST_CASE("process attributes: planned values, refusals naming the field") {
    Spec s = parseSpec(config(
        R"(,"ioPriority":{"class":"IOPRIO_CLASS_BE","priority":4},
           "scheduler":{"policy":"SCHED_BATCH","nice":5,"flags":["SCHED_FLAG_RESET_ON_FORK"]},
           "execCPUAffinity":{"initial":"0","final":"0-1"})",
        "",
        R"(,"personality":{"domain":"LINUX32"},"memoryPolicy":{"mode":"MPOL_BIND","nodes":"0,65"})"));
    ProcessAttrPlan p = planProcessAttrs(s, *s.process, noLsm(), "config.json: process.", false);
    CHECK(*p.ioprio == ((2 << 13) | 4));
    CHECK(p.sched->policy == 3);
    CHECK(p.sched->nice == 5);
    CHECK(p.sched->flags == 1);
    CHECK(*p.personality == 0x0008);
    CHECK(p.memPolicy->mode == 2);
    REQUIRE(p.memPolicy->nodemask.size() == 2);
    CHECK(p.memPolicy->nodemask[0] == 1);
    CHECK(p.memPolicy->nodemask[1] == 2);
    CHECK(p.memPolicy->maxnode == 129);
    CHECK(p.affinityInitial == std::vector<unsigned>{0});
    CHECK(p.affinityFinal == std::vector<unsigned>{0, 1});
    // The init: execCPUAffinity does not apply (runtime-spec).
    CHECK(planProcessAttrs(s, *s.process, noLsm(), "", true).affinityFinal.empty());

    Spec bad =
        parseSpec(config(R"(,"scheduler":{"policy":"SCHED_FIFO"})", "",
                         R"(,"personality":{"domain":"LINUX","flags":["ADDR_NO_RANDOMIZE"]})"));
    FieldPlan fp = planSpecFields(bad, noLsm());
    CHECK(fp.refusalMessage() ==
          "config.json: process.scheduler: SCHED_FIFO needs a priority from 1 to 99\n"
          "config.json: linux.personality: flag \"ADDR_NO_RANDOMIZE\" is not supported "
          "(runtime-spec 1.3 defines no personality flags)");
    CHECK_THROWS_WITH(planProcessAttrs(bad, *bad.process, noLsm(), "config.json: process.", true),
                      "config.json: process.scheduler: SCHED_FIFO needs a priority from 1 to 99");
    CHECK(memoryPolicyRefusal({"MPOL_LOCAL", "1", {}}) == "MPOL_LOCAL takes no nodes, got \"1\"");
    CHECK(ioPriorityRefusal({"IOPRIO_CLASS_BE", 9}) ==
          "priority 9 is outside 0 (highest) to 7 (lowest)");
    CHECK_THROWS_WITH(parseIdList("1-x", "final"), "final: \"1-x\" is not a list like \"0-3,7\"");
}

TEST_CASE(
    "process attribute executor: early ones before credentials, personality and LSM on exec") {
    ProcessAttrPlan p;
    p.ioprio = 42;
    p.sched = SchedAttr{};
    p.sched->policy = 5;
    p.memPolicy = MemPolicyCall{4, {}, 0};
    p.affinityFinal = {1};
    p.personality = 8;
    p.lsm.apparmorProfile = "prof";
    std::vector<std::string> calls;
    ProcessAttrOps ops;
    ops.ioprioSet = [&](int v) {
        calls.push_back("ioprio " + std::to_string(v));
        return 0;
    };
    ops.schedSetattr = [&](const SchedAttr& a) {
        calls.push_back("sched " + std::to_string(a.policy));
        return 0;
    };
    ops.setMempolicy = [&](const MemPolicyCall& c) {
        calls.push_back("mempolicy " + std::to_string(c.mode));
        return 0;
    };
    ops.setAffinity = [&](pid_t pid, const std::vector<unsigned>& cpus) {
        calls.push_back("affinity " + std::to_string(pid) + " " + std::to_string(cpus[0]));
        return 0;
    };
    ops.personality = [&](unsigned long v) {
        calls.push_back("personality " + std::to_string(v));
        return 0;
    };
    ops.lsm.writeAttr = [&](const std::string& rel, const std::string& v, const std::string&) {
        calls.push_back(rel + " " + v);
        return true;
    };
    applyEarlyProcessAttrs(p, ops);
    CHECK(calls == std::vector<std::string>{"ioprio 42", "sched 5", "mempolicy 4", "affinity 0 1"});
    calls.clear();
    applyOnExecProcessAttrs(p, ops);
    CHECK(calls ==
          std::vector<std::string>{"personality 8", "thread-self/attr/apparmor/exec exec prof"});
    ops.schedSetattr = [](const SchedAttr&) {
        errno = EPERM;
        return -1;
    };
    CHECK_THROWS_WITH(
        applyEarlyProcessAttrs(p, ops),
        doctest::Contains("setting process.scheduler (sched_setattr): Operation not permitted"));
}

TEST_CASE("exec --cap adds to bounding, effective and permitted only (CVE-2022-29162)") {
    Spec s = parseSpec(
        config(R"(,"capabilities":{"bounding":["CAP_KILL"],"inheritable":["CAP_KILL"]})"));
    ExecOptions o;
    o.args = {"true"};
    o.capAdd = {"CAP_NET_ADMIN"};
    Process p = execProcessSpec(o, s);
    auto has = [](const std::vector<std::string>& v, const char* c) {
        return std::find(v.begin(), v.end(), c) != v.end();
    };
    CHECK(has(p.capabilities->bounding, "CAP_NET_ADMIN"));
    CHECK(has(p.capabilities->effective, "CAP_NET_ADMIN"));
    CHECK(has(p.capabilities->permitted, "CAP_NET_ADMIN"));
    CHECK_FALSE(has(p.capabilities->inheritable, "CAP_NET_ADMIN"));
    CHECK_FALSE(has(p.capabilities->ambient, "CAP_NET_ADMIN"));
    CHECK(p.capabilities->inheritable == std::vector<std::string>{"CAP_KILL"});

    o.apparmorProfile = "prof";
    o.processLabel = "lbl";
    Process q = execProcessSpec(o, s);
    CHECK(q.apparmorProfile == "prof");
    CHECK(q.selinuxLabel == "lbl");
}

TEST_CASE("recursive mount options become mount_setattr attributes") {
    MountOptions o = parseMountOptions({"rbind", "rro", "rnosuid", "rnoexec", "rnoatime"});
    CHECK(o.recursiveAttrs.set == (0x1 | 0x2 | 0x8 | 0x10));
    CHECK(o.recursiveAttrs.clear == 0x70);  // the atime field is replaced
    CHECK(o.data.empty());
    MountOptions back = parseMountOptions({"rro", "rrw", "rstrictatime", "ratime"});
    CHECK(back.recursiveAttrs.set == 0);
    CHECK(back.recursiveAttrs.clear == (0x1 | 0x70));
    MountOptions flags = parseMountOptions({"nosymfollow", "lazytime"});
    CHECK((flags.flags & 256) != 0);
    CHECK((flags.flags & (1 << 25)) != 0);
    // Every name features lists is one the planner takes.
    for (const char* const* n = recursiveMountOptionNames(); *n; ++n) {
        RecursiveMountAttrs a;
        CHECK_MESSAGE(addRecursiveMountOption(*n, a), *n);
    }
}

TEST_CASE("a bind's filesystem data runs with a note and a warning, in check and the planner") {
    // runc and crun pass it to mount(2), which ignores data for a bind.
    Spec s = parseSpec(config("", R"("mounts":[{"destination":"/d","source":"/etc",
                                   "options":["rbind","ro","mode=755","size=1k"]},
                                  {"destination":"/t","type":"tmpfs","source":"t",
                                   "options":["tmpcopyup","size=1m"]}],)"));
    FieldPlan plan = planSpecFields(s, noLsm());
    CHECK(find(plan, "mounts[0].options")->verdict == Verdict::Applied);
    CHECK(find(plan, "mounts[0].options")->why ==
          "mount(2) flags; \"mode=755,size=1k\" has no effect: the kernel ignores filesystem "
          "data for a bind mount (runc and crun ignore it too)");
    CHECK(find(plan, "mounts[1].options")->verdict == Verdict::Applied);
    RootfsPlan rootfs = planRootfs(s, "/b", false, false, false);
    const std::string note =
        "mounts[0].options: \"mode=755,size=1k\" has no effect: the kernel ignores filesystem "
        "data for a bind mount (runc and crun ignore it too)";
    CHECK(rootfs.warnings == std::vector<std::string>{note});
    CHECK(rootfs.notes == std::vector<std::string>{note});
    REQUIRE(rootfs.mounts.size() == 2);
    CHECK(rootfs.mounts[0].kind == MountKind::Bind);
    CHECK(rootfs.mounts[0].options.data.empty());
    CHECK((rootfs.mounts[0].options.flags & MS_RDONLY) != 0);
}

TEST_CASE("idmapped mounts: the mapping comes from the mount or the user namespace") {
    const std::string map = R"([{"containerID":0,"hostID":1000,"size":1}])";
    auto mounts = [&](const std::string& opts, const std::string& extra) {
        return R"("mounts":[{"destination":"/m","source":"/tmp","options":)" + opts + extra + "}],";
    };
    // Mappings without the option.
    Spec noOpt = parseSpec(config("", mounts(R"(["rbind"])", R"(,"uidMappings":)" + map)));
    CHECK(
        planSpecFields(noOpt, noLsm()).refusalMessage() ==
        "config.json: mounts[0].options: uidMappings/gidMappings need the idmap or ridmap option");
    // The option with only one of the two.
    Spec half = parseSpec(config("", mounts(R"(["rbind","idmap"])", R"(,"uidMappings":)" + map)));
    CHECK_THROWS_WITH(planRootfs(half, "/b", false, false, false),
                      "config.json: mounts[0]: an idmapped mount needs both uidMappings and "
                      "gidMappings (or neither)");
    // Neither mappings nor a user namespace.
    Spec none = parseSpec(config("", mounts(R"(["rbind","idmap"])", "")));
    CHECK(planSpecFields(none, noLsm()).refuses());
    // Not a bind.
    Spec tmpfs = parseSpec(config("", R"("mounts":[{"destination":"/m","type":"tmpfs","source":"t",
        "options":["idmap"],"uidMappings":)" +
                                          map + R"(,"gidMappings":)" + map + "}],"));
    CHECK(planSpecFields(tmpfs, noLsm()).refusalMessage() ==
          "config.json: mounts[0].options: idmap and ridmap apply to bind mounts only");
    // The mount's own mapping.
    Spec own =
        parseSpec(config("", mounts(R"(["rbind","ridmap"])",
                                    R"(,"uidMappings":)" + map + R"(,"gidMappings":)" + map)));
    FieldPlan ok = planSpecFields(own, noLsm());
    CHECK_FALSE(ok.refuses());
    CHECK(find(ok, "mounts[0].uidMappings")->verdict == Verdict::Applied);
    RootfsPlan r = planRootfs(own, "/b", false, false, false);
    CHECK(r.mounts[0].options.ridmap);
    CHECK(r.mounts[0].uidMappings.at(0).hostID == 1000);
    // The container's user namespace mapping.
    Spec userns =
        parseSpec(config("", mounts(R"(["bind","idmap"])", ""),
                         R"(,"uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
                                      "gidMappings":[{"containerID":0,"hostID":100000,"size":65536}])"));
    userns.linux->namespaces.push_back({"user", ""});
    CHECK_FALSE(planSpecFields(userns, noLsm()).refuses());
    RootfsPlan u = planRootfs(userns, "/b", false, true, false);
    CHECK(u.mounts[0].gidMappings.at(0).hostID == 100000);
}
