// linux.intelRdt: the runtime-spec's rules as a plan, and the executor against the
// recording cgroup kernel standing in for a resctrl filesystem.
#include <doctest/doctest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "caprun/error.hpp"
#include "caprun/intel_rdt.hpp"
#include "caprun/spec.hpp"
#include "kernel_doubles.hpp"

using namespace caprun;

namespace {

Spec withRdt(const std::string& rdt) {
    return parseSpec(R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},
        "process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},
        "linux":{"intelRdt":)" +
                     rdt + "}}");
}

// A resctrl root as the kernel shows it: new groups come with schemata and tasks.
testing::RecordingCgroupKernel resctrl() {
    testing::RecordingCgroupKernel k;
    k.dirs = {"/r", "/r/info", "/r/mon_groups"};
    k.files["/r/info/last_cmd_status"] = "ok\n";
    k.newDirFiles = {
        {"schemata", "    L3:0=7ff;1=7ff\n    MB:0=100;1=100\n"}, {"tasks", ""}, {"cpus", "ff\n"}};
    return k;
}

}  // namespace

TEST_CASE("intelRdt plan: the group, the schemata written and in what order, the refusals") {
    IntelRdtPlan p = planIntelRdt(withRdt(R"({"l3CacheSchema":"L3:0=7f0;1=1f\nMB:0=50",
                                              "memBwSchema":"MB:0=20;1=70",
                                              "schemata":"L2:0=f"})"),
                                  "c1", true);
    CHECK(p.refusal.empty());
    CHECK(p.group == "c1");
    CHECK(p.containerGroup);
    // l3's own MB: line gives way to memBwSchema's; schemata comes last.
    CHECK(p.schemataWrites == std::vector<std::string>{"L3:0=7f0;1=1f\nMB:0=20;1=70", "L2:0=f"});
    CHECK(p.expectedLines.empty());  // the container's own group is set, never compared

    IntelRdtPlan c =
        planIntelRdt(withRdt(R"({"closID":"gold","l3CacheSchema":"L3:0=7f0"})"), "c1", true);
    CHECK(c.group == "gold");
    CHECK_FALSE(c.preConfigured);
    CHECK(c.expectedLines == std::vector<std::string>{"L3:0=7f0"});
    CHECK(planIntelRdt(withRdt(R"({"closID":"gold"})"), "c1", true).preConfigured);
    CHECK(planIntelRdt(withRdt(R"({"closID":"gold","enableMonitoring":true})"), "c1", true)
              .monitoring);

    CHECK(planIntelRdt(withRdt(R"({"closID":"gold"})"), "c1", false).refusal ==
          "Intel RDT is not available on this host (no resctrl at /sys/fs/resctrl)");
    CHECK(planIntelRdt(withRdt(R"({"closID":"../x"})"), "c1", true).refusal ==
          "closID: \"../x\" cannot name a resctrl group");
    CHECK(planIntelRdt(withRdt(R"({"closID":"info"})"), "c1", true).refusal ==
          "closID: \"info\" cannot name a resctrl group");
    CHECK(planIntelRdt(withRdt(R"({"memBwSchema":"L3:0=1"})"), "c1", true).refusal ==
          "memBwSchema: \"L3:0=1\" must be one line starting with MB: (the runtime-spec's rule)");
    CHECK_FALSE(planIntelRdt(parseSpec(R"({"ociVersion":"1.3.0","root":{"path":"r"}})"), "c1", true)
                    .wanted);
}

TEST_CASE("intelRdt join: the container's own group is made, written, joined; delete removes it") {
    auto k = resctrl();
    IntelRdtPlan p = planIntelRdt(
        withRdt(R"({"l3CacheSchema":"L3:0=7f0","schemata":"MB:0=30","enableMonitoring":true})"),
        "c1", true);
    IntelRdtGroup g = joinIntelRdt(p, "c1", 4242, k, "/r");
    CHECK(g.dir == "/r/c1");
    CHECK(g.created);
    CHECK(g.monitorDir == "/r/c1/mon_groups/c1");
    CHECK(k.only({"mkdir", "write"}) ==
          std::vector<std::string>{"mkdir /r/c1", "write /r/c1/schemata \"L3:0=7f0\"",
                                   "write /r/c1/schemata \"MB:0=30\"", "write /r/c1/tasks \"4242\"",
                                   "mkdir /r/c1/mon_groups/c1",
                                   "write /r/c1/mon_groups/c1/tasks \"4242\""});
    CHECK(leaveIntelRdt(g, k).empty());
    CHECK(k.only({"rmdir"}) ==
          std::vector<std::string>{"rmdir /r/c1/mon_groups/c1", "rmdir /r/c1"});
}

TEST_CASE("intelRdt join: a closID group that exists is compared, not written, and not removed") {
    auto k = resctrl();
    k.dirs.insert("/r/gold");
    k.files["/r/gold/schemata"] = "    L3:0=07f0;1=7ff\n    MB:0=100;1=100\n";
    k.files["/r/gold/tasks"] = "";
    IntelRdtPlan same =
        planIntelRdt(withRdt(R"({"closID":"gold","l3CacheSchema":"L3:0=7F0"})"), "c1", true);
    IntelRdtGroup g = joinIntelRdt(same, "c1", 7, k, "/r");
    CHECK_FALSE(g.created);
    CHECK(k.only({"mkdir", "write"}) == std::vector<std::string>{"write /r/gold/tasks \"7\""});
    CHECK(leaveIntelRdt(g, k).empty());
    CHECK(k.only({"rmdir"}).empty());

    IntelRdtPlan other =
        planIntelRdt(withRdt(R"({"closID":"gold","memBwSchema":"MB:0=20"})"), "c1", true);
    CHECK_THROWS_WITH(joinIntelRdt(other, "c1", 7, k, "/r"),
                      "linux.intelRdt: the existing resctrl group /r/gold has schemata "
                      "\"L3:0=07f0;1=7ff\nMB:0=100;1=100\", not \"MB:0=20\" as the config asks");
}

TEST_CASE("intelRdt join: a missing pre-configured group, a refused schemata, rolled back") {
    SUBCASE("closID alone names a group that must exist") {
        auto k = resctrl();
        CHECK_THROWS_WITH(
            joinIntelRdt(planIntelRdt(withRdt(R"({"closID":"gold"})"), "c1", true), "c1", 7, k,
                         "/r"),
            "linux.intelRdt.closID: the resctrl group /r/gold does not exist (a closID without "
            "schemata names a group configured beforehand)");
        CHECK(k.only({"mkdir"}).empty());
    }
    SUBCASE("the kernel refuses the schemata: its reason, and the new group removed") {
        auto k = resctrl();
        k.failOn("write /r/gold/schemata", EINVAL);
        k.files["/r/info/last_cmd_status"] = "Unknown or unsupported resource name 'L9'\n";
        IntelRdtPlan p =
            planIntelRdt(withRdt(R"({"closID":"gold","schemata":"L9:0=1"})"), "c1", true);
        CHECK_THROWS_WITH(joinIntelRdt(p, "c1", 7, k, "/r"),
                          "linux.intelRdt: writing \"L9:0=1\" to /r/gold/schemata: Invalid "
                          "argument (Unknown or unsupported resource name 'L9')");
        CHECK(k.dirs.count("/r/gold") == 0);
    }
    SUBCASE("no monitoring group possible: the group made for it goes too") {
        auto k = resctrl();
        k.failOn("mkdir /r/c1/mon_groups/c1", ENOSPC);
        IntelRdtPlan p = planIntelRdt(withRdt(R"({"enableMonitoring":true})"), "c1", true);
        CHECK_THROWS_WITH(joinIntelRdt(p, "c1", 7, k, "/r"),
                          "linux.intelRdt.enableMonitoring: creating the monitoring group "
                          "/r/c1/mon_groups/c1: No space left on device");
        CHECK(k.dirs.count("/r/c1") == 0);
    }
}
