// delete --force of a container whose state.json is lost (lost_container.hpp) and the thawing
// of every freezer a process is in (cgroup_freezers.hpp), on the recording cgroup kernel and a
// played process table.
#include <doctest/doctest.h>

#include <csignal>
#include <map>
#include <set>

#include "caprun/cgroup_freezers.hpp"
#include "caprun/lost_container.hpp"
#include "kernel_doubles.hpp"

using namespace caprun;
using caprun::testing::RecordingCgroupKernel;

namespace {

using Paths = std::map<std::string, std::string>;
using Calls = std::vector<std::string>;

const char* kV2Mountinfo = "30 1 0:26 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n";

// Processes that die when SIGKILL reaches them: by kill(2), or by cgroup.kill on a directory
// the double's cgroup.procs lists them in. `unkillable` ones never do.
struct PlayedProcesses : ProcessTable {
    RecordingCgroupKernel& k;
    std::map<pid_t, std::uint64_t> started;  // pid -> start time
    std::set<pid_t> unkillable;
    std::map<std::string, std::vector<pid_t>> holders;
    int pauses = 0;
    explicit PlayedProcesses(RecordingCgroupKernel& kernel) : k(kernel) {}

    bool killed(pid_t pid) const {
        if (unkillable.count(pid)) return false;
        for (const auto& c : k.calls) {
            if (c == "kill " + std::to_string(pid) + " 9") return true;
            auto at = c.find("/cgroup.kill ");
            if (c.rfind("write ", 0) != 0 || at == std::string::npos) continue;
            std::string dir = c.substr(6, at - 6);
            auto procs = k.files.find(dir + "/cgroup.procs");
            if (procs != k.files.end() &&
                ("\n" + procs->second).find("\n" + std::to_string(pid) + "\n") != std::string::npos)
                return true;
        }
        return false;
    }
    bool alive(pid_t pid, std::uint64_t start) override {
        auto it = started.find(pid);
        if (it == started.end() || killed(pid)) return false;
        return start == 0 || it->second == start;
    }
    std::vector<pid_t> holdersOf(const std::string& path) override { return holders[path]; }
    void pause() override { ++pauses; }
};

// A v2 host with the container's cgroup at `dir` holding `procs`.
void v2Cgroup(RecordingCgroupKernel& k, const std::string& dir, const std::string& procs) {
    k.dirs.insert("/sys/fs/cgroup");
    k.dirs.insert(dir);
    k.files[dir + "/cgroup.procs"] = procs;
    k.files[dir + "/cgroup.kill"] = "";
}

}  // namespace

TEST_CASE("the container's handle: written by create, read back, damage loses only its line") {
    ContainerHandle h{42, 777, {{"unified", "/sys/fs/cgroup/caprun/c1"}}, "caprun-c1.scope", true};
    std::string text = serializeHandle(h);
    CHECK(
        text ==
        "pid 42\nstart 777\ncgroup unified /sys/fs/cgroup/caprun/c1\nunit user caprun-c1.scope\n");
    auto back = parseHandle(text);
    REQUIRE(back);
    CHECK(back->pid == 42);
    CHECK(back->pidStartTime == 777);
    CHECK(back->cgroupPaths == Paths{{"unified", "/sys/fs/cgroup/caprun/c1"}});
    CHECK(back->systemdUnit == "caprun-c1.scope");
    CHECK(back->systemdUserBus);
    // A torn write: the pid line survives.
    auto torn = parseHandle("pid 42\nstart 7x7\ncgroup unif");
    REQUIRE(torn);
    CHECK(torn->pid == 42);
    CHECK(torn->pidStartTime == 0);
    CHECK(torn->cgroupPaths.empty());
    CHECK_FALSE(parseHandle(""));
    CHECK_FALSE(parseHandle("\x01garbage{\"\n"));
}

TEST_CASE(
    "lost container: the search uses the handle, the default cgroup and systemd scope, the FIFO") {
    const CgroupHost host = parseCgroupHost(kV2Mountinfo, "0::/\n", "");
    ContainerHandle h{42, 777, {{"unified", "/sys/fs/cgroup/docker/c1"}}, "", false};
    LostContainerSearch s = planLostContainerSearch("c1", h, host, "/run/caprun/c1/exec.fifo");
    CHECK(s.cgroups ==
          std::vector<Paths>{{{"unified", "/sys/fs/cgroup/docker/c1"}},
                             {{"unified", "/sys/fs/cgroup/caprun/c1"}},
                             {{"unified", "/sys/fs/cgroup/system.slice/caprun-c1.scope"}}});
    CHECK(s.pids == std::vector<std::pair<pid_t, std::uint64_t>>{{42, 777}});
    CHECK(s.execFifo == "/run/caprun/c1/exec.fifo");
    // Without a handle; and the default cgroup named once when the handle names it too.
    LostContainerSearch bare = planLostContainerSearch("c1", std::nullopt, host, "/f");
    CHECK(bare.cgroups.size() == 2);
    CHECK(bare.pids.empty());
    ContainerHandle same{42, 777, {{"unified", "/sys/fs/cgroup/caprun/c1"}}, "", false};
    CHECK(planLostContainerSearch("c1", same, host, "/f").cgroups.size() == 2);
}

TEST_CASE("lost container: everything found is killed, then the cgroup goes") {
    RecordingCgroupKernel k;
    v2Cgroup(k, "/sys/fs/cgroup/caprun/c1", "42\n43\n");
    PlayedProcesses procs(k);
    procs.started = {{42, 777}, {43, 800}, {50, 900}};
    // A created init the handle does not name, in the cgroup a linux.cgroupsPath gave it.
    procs.holders["/run/caprun/c1/exec.fifo"] = {50};
    v2Cgroup(k, "/sys/fs/cgroup/kubepods/c1", "50\n");
    k.files["/proc/50/cgroup"] = "0::/kubepods/c1\n";
    const CgroupHost host = parseCgroupHost(kV2Mountinfo, "0::/\n", "");
    LostContainerSearch s = planLostContainerSearch("c1", ContainerHandle{42, 777, {}, "", false},
                                                    host, "/run/caprun/c1/exec.fifo");
    LostContainerOutcome out = killLostContainer(s, host, k, procs);
    CHECK(out.clean());
    CHECK(out.killed == std::vector<std::string>{"pid 42", "pid 43", "pid 50"});
    CHECK(k.only({"write", "kill", "rmdir"}) ==
          Calls{R"(write /sys/fs/cgroup/caprun/c1/cgroup.kill "1")",
                R"(write /sys/fs/cgroup/kubepods/c1/cgroup.kill "1")", "kill 42 9", "kill 43 9",
                "kill 50 9", "rmdir /sys/fs/cgroup/caprun/c1", "rmdir /sys/fs/cgroup/kubepods/c1"});
    CHECK_FALSE(procs.alive(50, 0));
}

TEST_CASE("lost container: a reused pid is not the recorded init and is left alone") {
    RecordingCgroupKernel k;
    k.dirs.insert("/sys/fs/cgroup");
    PlayedProcesses procs(k);
    procs.started = {{42, 999}};  // pid 42 now belongs to another process
    const CgroupHost host = parseCgroupHost(kV2Mountinfo, "0::/\n", "");
    LostContainerSearch s =
        planLostContainerSearch("c1", ContainerHandle{42, 777, {}, "", false}, host, "");
    LostContainerOutcome out = killLostContainer(s, host, k, procs);
    CHECK(out.clean());
    CHECK(out.killed.empty());
    CHECK(k.only({"kill", "write"}).empty());
}

TEST_CASE(
    "lost container: what survives SIGKILL is named, with its cgroups, and nothing is removed") {
    RecordingCgroupKernel k;
    v2Cgroup(k, "/sys/fs/cgroup/caprun/c1", "42\n");
    k.files["/proc/42/cgroup"] = "0::/caprun/c1\n";
    PlayedProcesses procs(k);
    procs.started = {{42, 777}};
    procs.unkillable = {42};
    const CgroupHost host = parseCgroupHost(kV2Mountinfo, "0::/\n", "");
    LostContainerSearch s = planLostContainerSearch("c1", std::nullopt, host, "");
    LostContainerOutcome out = killLostContainer(s, host, k, procs);
    CHECK_FALSE(out.clean());
    CHECK(out.stillRunning == std::vector<std::string>{"pid 42 (cgroups 0::/caprun/c1)"});
    CHECK(k.only({"rmdir"}).empty());
    CHECK(procs.pauses > 0);
}

TEST_CASE(
    "freezers: a process frozen in a freezer that is not its container's is thawed, v1 and v2") {
    const CgroupHost hybrid = parseCgroupHost(
        "30 1 0:26 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
        "31 1 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
        "6:freezer:/\n0::/\n", "");
    const std::string procCgroup = "6:freezer:/elsewhere/ice\n5:pids:/caprun/c1\n0::/caprun/c1\n";
    CHECK(freezerDirsOf(procCgroup, hybrid) ==
          std::vector<FreezerDir>{{"/sys/fs/cgroup/freezer/elsewhere/ice", false},
                                  {"/sys/fs/cgroup/freezer/elsewhere", false},
                                  {"/sys/fs/cgroup/freezer", false},
                                  {"/sys/fs/cgroup/unified/caprun/c1", true},
                                  {"/sys/fs/cgroup/unified/caprun", true},
                                  {"/sys/fs/cgroup/unified", true}});

    RecordingCgroupKernel k;
    k.files = {{"/proc/42/cgroup", procCgroup},
               {"/sys/fs/cgroup/freezer/elsewhere/ice/freezer.self_freezing", "1\n"},
               {"/sys/fs/cgroup/freezer/elsewhere/ice/freezer.state", "FROZEN\n"},
               {"/sys/fs/cgroup/freezer/elsewhere/freezer.self_freezing", "0\n"},
               {"/sys/fs/cgroup/freezer/elsewhere/freezer.state", "THAWED\n"},
               {"/sys/fs/cgroup/unified/caprun/c1/cgroup.freeze", "0\n"},
               {"/sys/fs/cgroup/unified/caprun/cgroup.freeze", "1\n"}};
    CHECK(thawFreezersOf(42, hybrid, k) ==
          std::vector<std::string>{"/sys/fs/cgroup/freezer/elsewhere/ice/freezer.state",
                                   "/sys/fs/cgroup/unified/caprun/cgroup.freeze"});
    CHECK(k.only({"write"}) ==
          Calls{R"(write /sys/fs/cgroup/freezer/elsewhere/ice/freezer.state "THAWED")",
                R"(write /sys/fs/cgroup/unified/caprun/cgroup.freeze "0")"});
    // Gone already: nothing to thaw.
    CHECK(thawFreezersOf(43, hybrid, k).empty());
}
