// The cgroup executor's kernel calls, recorded by RecordingCgroupKernel. Expected calls
// follow the cgroup interfaces: a v1 limit lives in its controller's hierarchy
// (memory.limit_in_bytes), a v2 one in the unified directory (memory.max); the kernel keeps
// memory.memsw.limit_in_bytes >= memory.limit_in_bytes; a v2 directory only has a
// controller's files when every ancestor enabled it in cgroup.subtree_control; a new
// device filter is attached before the old one is detached.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <set>

#include "caprun/cgroups.hpp"
#include "caprun/error.hpp"
#include "caprun/update_flags.hpp"
#include "kernel_doubles.hpp"

using namespace caprun;
using caprun::testing::RecordingCgroupKernel;

namespace {

using Calls = std::vector<std::string>;

// What `caprun update` does on a cgroupfs-managed container (lifecycle.cpp): the update
// flags become Resources, the controllers are checked, then apply without device rules.
void update(const Cgroup& cg, const std::map<std::string, std::string>& flags) {
    Resources r = resourcesFromUpdateFlags({}, flags, false);
    cg.checkControllers(r);
    cg.apply(r, {}, !r.devices.empty());
}

const std::string kV1Mem = "/sys/fs/cgroup/memory/caprun/c1";
const std::string kV1Pids = "/sys/fs/cgroup/pids/caprun/c1";
const std::string kV2 = "/sys/fs/cgroup/caprun/c1";

void v1Container(RecordingCgroupKernel& k) {
    k.dirs = {kV1Mem, kV1Pids};
    for (const char* f :
         {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.usage_in_bytes"})
        k.files[kV1Mem + "/" + f] = "";
    k.files[kV1Pids + "/pids.max"] = "max";
}

std::map<std::string, std::string> v1Paths() {
    return {{"memory", kV1Mem}, {"pids", kV1Pids}};
}

void v2Container(RecordingCgroupKernel& k, const std::string& controllers) {
    k.dirs = {kV2};
    k.files = {{kV2 + "/cgroup.controllers", controllers},
               {kV2 + "/memory.max", "max"},
               {kV2 + "/pids.max", "max"}};
}

}  // namespace

TEST_CASE("cgroup executor: update --memory 256m --pids-limit 100 on cgroup v1") {
    RecordingCgroupKernel k;
    v1Container(k);
    update(Cgroup(v1Paths(), {}, k), {{"memory", "256m"}, {"pids-limit", "100"}});
    CHECK(k.only({"write", "mkdir", "rmdir", "bpf"}) ==
          Calls{
              R"(write /sys/fs/cgroup/memory/caprun/c1/memory.limit_in_bytes "268435456")",
              R"(write /sys/fs/cgroup/pids/caprun/c1/pids.max "100")",
          });
}

TEST_CASE("cgroup executor: update --memory 256m --pids-limit 100 on cgroup v2") {
    RecordingCgroupKernel k;
    v2Container(k, "cpu memory pids");
    update(Cgroup({{"unified", kV2}}, {}, k), {{"memory", "256m"}, {"pids-limit", "100"}});
    CHECK(k.only({"write", "mkdir", "rmdir", "bpf"}) ==
          Calls{
              R"(write /sys/fs/cgroup/caprun/c1/memory.max "268435456")",
              R"(write /sys/fs/cgroup/caprun/c1/pids.max "100")",
          });
}

TEST_CASE("cgroup executor: a v2 update needing a controller the cgroup lacks changes nothing") {
    RecordingCgroupKernel k;
    v2Container(k, "cpu memory");
    CHECK_THROWS_WITH(
        update(Cgroup({{"unified", kV2}}, {}, k), {{"memory", "256m"}, {"pids-limit", "100"}}),
        doctest::Contains("linux.resources.pids.limit needs the pids cgroup "
                          "controller"));
    CHECK(k.only({"write"}).empty());
}

TEST_CASE("cgroup executor: raising memory and memory+swap on v1 writes memsw first") {
    RecordingCgroupKernel k;
    v1Container(k);
    // The current memsw limit is below the new memory limit: the kernel says EINVAL.
    k.failOn("write " + kV1Mem + "/memory.limit_in_bytes", EINVAL);
    update(Cgroup(v1Paths(), {}, k), {{"memory", "1g"}, {"memory-swap", "2g"}});
    CHECK(k.only({"write"}) ==
          Calls{
              R"(write /sys/fs/cgroup/memory/caprun/c1/memory.limit_in_bytes "1073741824")",
              R"(write /sys/fs/cgroup/memory/caprun/c1/memory.memsw.limit_in_bytes "2147483648")",
              R"(write /sys/fs/cgroup/memory/caprun/c1/memory.limit_in_bytes "1073741824")",
              R"(write /sys/fs/cgroup/memory/caprun/c1/memory.memsw.limit_in_bytes "2147483648")",
          });
}

TEST_CASE("cgroup executor: a refused write names the setting, the file and the errno") {
    RecordingCgroupKernel k;
    v1Container(k);
    k.failOn("write " + kV1Pids + "/pids.max", EBUSY);
    CHECK_THROWS_WITH(update(Cgroup(v1Paths(), {}, k), {{"pids-limit", "100"}}),
                      "linux.resources.pids.limit: writing \"100\" to "
                      "/sys/fs/cgroup/pids/caprun/c1/pids.max: Device or resource busy");
}

TEST_CASE("cgroup executor: create on v2 delegates the controllers down, destroy removes") {
    RecordingCgroupKernel k;
    k.dirs = {"/sys/fs/cgroup"};
    k.files = {{"/sys/fs/cgroup/cgroup.controllers", "cpu memory pids"},
               {"/sys/fs/cgroup/cgroup.subtree_control", ""},
               {"/sys/fs/cgroup/cgroup.procs", ""}};
    k.newDirFiles = {{"cgroup.controllers", "cpu memory pids"},
                     {"cgroup.subtree_control", ""},
                     {"cgroup.procs", ""}};
    Cgroup cg({{"unified", kV2}}, {}, k);
    cg.create();
    CHECK(cg.createdParents() == std::vector<std::string>{"/sys/fs/cgroup/caprun"});
    Calls expected = {"flock /sys/fs/cgroup", "mkdir /sys/fs/cgroup/caprun",
                      "mkdir /sys/fs/cgroup/caprun/c1"};
    for (const char* parent : {"/sys/fs/cgroup", "/sys/fs/cgroup/caprun"})
        for (const char* c : {"+cpu", "+memory", "+pids"})
            expected.push_back("write " + std::string(parent) + "/cgroup.subtree_control \"" + c +
                               "\"");
    expected.push_back("unlock");
    CHECK(k.only({"flock", "unlock", "mkdir", "rmdir", "write"}) == expected);

    k.calls.clear();
    cg.destroy();
    // The container's directory, then (under the lock) the parent create made, now empty.
    CHECK(k.only({"flock", "unlock", "mkdir", "rmdir", "write"}) ==
          Calls{"rmdir /sys/fs/cgroup/caprun/c1", "flock /sys/fs/cgroup",
                "rmdir /sys/fs/cgroup/caprun", "unlock"});
}

TEST_CASE("cgroup executor: the default caprun/ parent stays after delete; cleanup removes it") {
    RecordingCgroupKernel k;
    k.dirs = {"/sys/fs/cgroup"};
    k.files = {{"/sys/fs/cgroup/cgroup.controllers", "memory pids"},
               {"/sys/fs/cgroup/cgroup.subtree_control", ""},
               {"/sys/fs/cgroup/cgroup.procs", "1"}};
    k.newDirFiles = {{"cgroup.controllers", "memory pids"},
                     {"cgroup.subtree_control", ""},
                     {"cgroup.procs", ""}};
    const CgroupHost host = parseCgroupHost(
        "30 1 0:26 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n", "0::/\n", "");
    const std::set<std::string> dirCalls = {"flock", "unlock", "mkdir", "rmdir"};

    Cgroup first = Cgroup::place(host, "", "c1", k);
    first.create();
    // Made here, but not recorded as this container's to remove.
    CHECK(first.createdParents().empty());
    Cgroup second = Cgroup::place(host, "", "c2", k);
    second.create();
    CHECK(k.only(dirCalls) == Calls{"flock /sys/fs/cgroup", "mkdir /sys/fs/cgroup/caprun",
                                    "mkdir /sys/fs/cgroup/caprun/c1", "unlock",
                                    "flock /sys/fs/cgroup", "mkdir /sys/fs/cgroup/caprun/c2",
                                    "unlock"});

    // While c2 is there, cleanup keeps the parent and says why.
    k.calls.clear();
    first.destroy();
    auto kept = Cgroup::place(host, "", "any", k).removeIdleSharedParents();
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].dir == "/sys/fs/cgroup/caprun");
    CHECK_FALSE(kept[0].removed);
    CHECK_FALSE(kept[0].failed);
    CHECK(kept[0].keptBecause == "in use by 1 cgroup below it");

    // A process of its own keeps it too.
    second.destroy();
    k.files["/sys/fs/cgroup/caprun/cgroup.procs"] = "4242\n";
    kept = Cgroup::place(host, "", "any", k).removeIdleSharedParents();
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].keptBecause == "processes are in it");
    // The last delete left the parent; cleanup removes it once nothing uses it.
    CHECK(k.dirs.count("/sys/fs/cgroup/caprun") == 1);
    k.files["/sys/fs/cgroup/caprun/cgroup.procs"] = "";
    k.calls.clear();
    auto removed = Cgroup::place(host, "", "any", k).removeIdleSharedParents();
    REQUIRE(removed.size() == 1);
    CHECK(removed[0].removed);
    CHECK(k.only(dirCalls) ==
          Calls{"flock /sys/fs/cgroup", "rmdir /sys/fs/cgroup/caprun", "unlock"});
    // Nothing left to clean: nothing listed.
    CHECK(Cgroup::place(host, "", "any", k).removeIdleSharedParents().empty());

    // A removal the kernel refuses is reported as a failure, not as in use.
    k.dirs.insert("/sys/fs/cgroup/caprun");
    k.failOn("rmdir /sys/fs/cgroup/caprun", EACCES);
    auto failed = Cgroup::place(host, "", "any", k).removeIdleSharedParents();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].failed);
    CHECK(failed[0].keptBecause == "removing cgroup /sys/fs/cgroup/caprun: Permission denied");
}

TEST_CASE("cgroup executor: a failed mkdir undoes the directories create made") {
    RecordingCgroupKernel k;
    k.dirs = {"/sys/fs/cgroup/memory"};
    k.failOn("mkdir /sys/fs/cgroup/memory/caprun/c1", EACCES);
    Cgroup cg({{"memory", "/sys/fs/cgroup/memory/caprun/c1"}}, {}, k);
    CHECK_THROWS_WITH(cg.create(),
                      "creating cgroup /sys/fs/cgroup/memory/caprun/c1: Permission denied");
    CHECK(k.only({"mkdir", "rmdir"}) == Calls{"mkdir /sys/fs/cgroup/memory/caprun",
                                              "mkdir /sys/fs/cgroup/memory/caprun/c1",
                                              "rmdir /sys/fs/cgroup/memory/caprun"});
}

TEST_CASE("cgroup executor: v2 device rules replace the attached filter without a gap") {
    RecordingCgroupKernel k;
    v2Container(k, "cpu memory pids");
    k.attachedFilters = {7};  // the filter create attached
    Resources r;
    DeviceCgroupRule denyAll;
    denyAll.allow = false;
    denyAll.access = "rwm";
    r.devices = {denyAll};
    Cgroup({{"unified", kV2}}, {}, k).apply(r);
    CHECK(
        k.only({"open", "bpf", "write"}) ==
        Calls{"open /sys/fs/cgroup/caprun/c1", "bpf BPF_PROG_QUERY",
              "bpf BPF_PROG_LOAD " +
                  std::to_string(deviceFilterProgram(effectiveDeviceRules(r.devices, {})).size()) +
                  " insns",
              "bpf BPF_PROG_ATTACH /sys/fs/cgroup/caprun/c1 BPF_F_ALLOW_MULTI",
              "bpf BPF_PROG_DETACH id 7"});
}

TEST_CASE("cgroup executor: kill --all when systemd removed the emptied scope meanwhile is done") {
    // cgroup.kill was there, then the cgroup went with its last process (a systemd scope
    // whose init exited): the write fails with ENOENT and nothing is left to kill.
    RecordingCgroupKernel k;
    k.files[kV2 + "/cgroup.kill"] = "";
    k.failOn("write " + kV2 + "/cgroup.kill", ENOENT);
    CHECK_NOTHROW(Cgroup({{"unified", kV2}}, {}, k).killAll(SIGKILL));
    // Caught while it is being removed: the directory is still listed, its files say ENODEV.
    RecordingCgroupKernel going;
    v2Container(going, "pids");
    going.files[kV2 + "/cgroup.kill"] = "";
    going.failOn("write " + kV2 + "/cgroup.kill", ENODEV);
    CHECK_NOTHROW(Cgroup({{"unified", kV2}}, {}, going).killAll(SIGKILL));
    // While the cgroup is still there, a failed write is an error naming the file.
    RecordingCgroupKernel k2;
    v2Container(k2, "pids");
    k2.files[kV2 + "/cgroup.kill"] = "";
    k2.failOn("write " + kV2 + "/cgroup.kill", ENOENT);
    CHECK_THROWS_WITH_AS(Cgroup({{"unified", kV2}}, {}, k2).killAll(SIGKILL),
                         doctest::Contains("killing every process of the container: writing "
                                           "\"1\" to /sys/fs/cgroup/caprun/c1/cgroup.kill"),
                         Error);
}

TEST_CASE("cgroup executor: enter after CLONE_INTO_CGROUP writes only the v1 hierarchies") {
    RecordingCgroupKernel k;
    const std::string unified = "/sys/fs/cgroup/unified/caprun/c1";
    k.dirs = {kV1Mem, kV1Pids, unified};
    for (const auto& d : k.dirs) k.files[d + "/cgroup.procs"] = "";
    Cgroup cg({{"memory", kV1Mem}, {"pids", kV1Pids}, {"unified", unified}}, {}, k);
    CHECK(cg.unifiedDir() == unified);
    cg.enter(42, true);
    CHECK(k.only({"write"}) == Calls{
                                   R"(write /sys/fs/cgroup/memory/caprun/c1/cgroup.procs "42")",
                                   R"(write /sys/fs/cgroup/pids/caprun/c1/cgroup.procs "42")",
                               });
    k.calls.clear();
    cg.enter(43);
    CHECK(k.only({"write"}) == Calls{
                                   R"(write /sys/fs/cgroup/memory/caprun/c1/cgroup.procs "43")",
                                   R"(write /sys/fs/cgroup/pids/caprun/c1/cgroup.procs "43")",
                                   R"(write /sys/fs/cgroup/unified/caprun/c1/cgroup.procs "43")",
                               });
    CHECK(Cgroup(v1Paths(), {}, k).unifiedDir().empty());
}
