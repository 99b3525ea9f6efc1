#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "caprun/cgroup_controllers.hpp"
#include "caprun/cgroups.hpp"
#include "caprun/error.hpp"
#include "caprun/systemd_bus.hpp"
#include "test_environment.hpp"

namespace fs = std::filesystem;
using namespace caprun;

namespace {

// /proc/self/mountinfo and /proc/self/cgroup of the development machine (systemd-style
// hybrid: every v1 controller on its own, plus cgroup2 at /sys/fs/cgroup/unified).
const char* kHybridMountinfo =
    "24 1 0:22 / / rw,relatime - overlay overlay rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/c059\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

// A Debian 12 / Fedora style pure v2 host.
const char* kV2Mountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
const char* kV2Self = "0::/user.slice/user-1000.slice/session-2.scope\n";

// An older v1 host with cpu and cpuacct co-mounted, the same hierarchy bound twice, and a
// mount point with a space.
const char* kV1Mountinfo =
    "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
    "32 25 0:27 / /mnt/other\\040memory rw,nosuid - cgroup cgroup rw,memory\n"
    "33 25 0:28 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices,release_agent=/x\n"
    "34 25 0:29 / /sys/fs/cgroup/hugetlb rw - cgroup cgroup rw,hugetlb\n";
const char* kV1Self = "3:devices:/\n2:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n";

// The hosts offer 2 MB and 1 GB huge pages (as x86-64 kernels do).
CgroupHost withHugepages(CgroupHost h) {
    h.hugepageSizes = {"2MB", "1GB"};
    return h;
}
CgroupHost hybrid() {
    return withHugepages(parseCgroupHost(kHybridMountinfo, kHybridSelf, "hugetlb\n"));
}
CgroupHost v2() {
    return withHugepages(
        parseCgroupHost(kV2Mountinfo, kV2Self, "cpuset cpu io memory hugetlb pids rdma misc\n"));
}
CgroupHost v1() {
    return withHugepages(parseCgroupHost(kV1Mountinfo, kV1Self, ""));
}

std::optional<CgroupWrite> find(const CgroupPlan& p, const std::string& file) {
    for (const auto& w : p.writes)
        if (w.file == file) return w;
    return std::nullopt;
}

std::size_t indexOf(const CgroupPlan& p, const std::string& file) {
    for (std::size_t i = 0; i < p.writes.size(); ++i)
        if (p.writes[i].file == file) return i;
    return p.writes.size();
}

DeviceCgroupRule rule(bool allow, std::string type, std::optional<std::int64_t> major,
                      std::optional<std::int64_t> minor, std::string access) {
    DeviceCgroupRule r;
    r.allow = allow;
    r.type = std::move(type);
    r.major = major;
    r.minor = minor;
    r.access = std::move(access);
    return r;
}

// A tiny interpreter for the instructions a device filter may use, so tests check what
// the program decides rather than how it is spelled.
int runFilter(const std::vector<bpf_insn>& prog, std::uint32_t type, std::uint32_t access,
              std::uint32_t major, std::uint32_t minor) {
    std::uint32_t ctx[3] = {(access << 16) | type, major, minor};
    std::uint64_t r[11] = {};
    std::size_t pc = 0;
    for (int steps = 0; steps < 10000; ++steps) {
        REQUIRE(pc < prog.size());
        const bpf_insn& i = prog[pc];
        std::uint8_t cls = BPF_CLASS(i.code);
        if (cls == BPF_LDX) {
            REQUIRE(i.code == (BPF_LDX | BPF_MEM | BPF_W));
            REQUIRE(i.src_reg == BPF_REG_1);
            REQUIRE(i.off % 4 == 0);
            REQUIRE(i.off / 4 < 3);
            r[i.dst_reg] = ctx[i.off / 4];
            ++pc;
        } else if (cls == BPF_ALU) {
            std::uint32_t src = BPF_SRC(i.code) == BPF_X ? static_cast<std::uint32_t>(r[i.src_reg])
                                                         : static_cast<std::uint32_t>(i.imm);
            std::uint32_t dst = static_cast<std::uint32_t>(r[i.dst_reg]);
            switch (BPF_OP(i.code)) {
                case BPF_AND:
                    dst &= src;
                    break;
                case BPF_RSH:
                    dst >>= src;
                    break;
                case BPF_MOV:
                    dst = src;
                    break;
                default:
                    FAIL("unexpected ALU op");
                    break;
            }
            r[i.dst_reg] = dst;
            ++pc;
        } else if (cls == BPF_JMP) {
            if (BPF_OP(i.code) == BPF_EXIT) return static_cast<int>(r[0]);
            std::uint64_t src =
                BPF_SRC(i.code) == BPF_X ? r[i.src_reg] : static_cast<std::uint32_t>(i.imm);
            REQUIRE((BPF_OP(i.code) == BPF_JNE || BPF_OP(i.code) == BPF_JEQ));
            bool taken = BPF_OP(i.code) == BPF_JNE ? r[i.dst_reg] != src : r[i.dst_reg] == src;
            REQUIRE(i.off >= 0);  // the verifier rejects back edges
            pc += 1 + (taken ? static_cast<std::size_t>(i.off) : 0);
        } else {
            FAIL("unexpected instruction class");
        }
    }
    FAIL("program does not terminate");
    return -1;
}

constexpr std::uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
constexpr std::uint32_t R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

}  // namespace

TEST_CASE("layout: this machine's hybrid layout") {
    CgroupHost h = hybrid();
    CHECK(h.layout == CgroupLayout::Hybrid);
    CHECK(layoutName(h.layout) == "hybrid");
    REQUIRE(h.v1Mount("memory") != nullptr);
    CHECK(h.v1Mount("memory")->mountPoint == "/sys/fs/cgroup/memory");
    CHECK(h.v1Mount("name=systemd") != nullptr);
    CHECK(h.v1Mount("hugetlb") == nullptr);
    REQUIRE(h.unifiedMount() != nullptr);
    CHECK(h.unifiedMount()->mountPoint == "/sys/fs/cgroup/unified");
    CHECK(h.unifiedMount()->controllers == std::vector<std::string>{"hugetlb"});
    CHECK(h.selfPaths.at("memory") == "/process_api/c059");
    CHECK(h.selfPaths.at("") == "/");
    CHECK(h.mounts.size() == 10);
}

TEST_CASE("layout: pure v2, v1 with co-mounted controllers, none") {
    CgroupHost a = v2();
    CHECK(a.layout == CgroupLayout::V2);
    REQUIRE(a.unifiedMount() != nullptr);
    CHECK(a.unifiedMount()->mountPoint == "/sys/fs/cgroup");
    CHECK(a.unifiedMount()->controllers.size() == 8);

    CgroupHost b = v1();
    CHECK(b.layout == CgroupLayout::V1);
    REQUIRE(b.v1Mount("cpuacct") != nullptr);
    CHECK(b.v1Mount("cpu") == b.v1Mount("cpuacct"));
    CHECK(b.v1Mount("cpu")->mountPoint == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(b.v1Mount("memory")->mountPoint == "/sys/fs/cgroup/memory");  // first mount wins
    CHECK(b.v1Mount("devices")->controllers == std::vector<std::string>{"devices"});
    CHECK(b.mounts.size() == 4);
    CHECK(b.selfPaths.at("cpuacct") == "/docker/abc");

    CHECK_THROWS_WITH_AS(parseCgroupHost("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "", ""),
                         doctest::Contains("no cgroup hierarchy"), Error);
}

TEST_CASE("placement: absolute, relative and default cgroupsPath") {
    Cgroup abs = Cgroup::place(hybrid(), "/caprun-test/c1", "c1");
    CHECK(abs.paths().at("memory") == "/sys/fs/cgroup/memory/caprun-test/c1");
    CHECK(abs.paths().at("name=systemd") == "/sys/fs/cgroup/systemd/caprun-test/c1");
    CHECK(abs.paths().at("unified") == "/sys/fs/cgroup/unified/caprun-test/c1");
    CHECK(abs.paths().size() == 10);

    Cgroup rel = Cgroup::place(hybrid(), "pods/c1", "c1");
    CHECK(rel.paths().at("memory") == "/sys/fs/cgroup/memory/process_api/c059/pods/c1");
    CHECK(rel.paths().at("cpu") == "/sys/fs/cgroup/cpu/pods/c1");

    Cgroup def = Cgroup::place(v2(), "", "web");
    REQUIRE(def.paths().size() == 1);
    CHECK(def.paths().at("unified") ==
          "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/caprun/web");

    Cgroup co = Cgroup::place(v1(), "/k8s/p", "p");
    CHECK(co.paths().at("cpu,cpuacct") == "/sys/fs/cgroup/cpu,cpuacct/k8s/p");

    CHECK_THROWS_WITH_AS(Cgroup::place(hybrid(), "/a/../../etc", "x"), doctest::Contains(".."),
                         Error);
    CHECK_THROWS_WITH_AS(Cgroup::place(hybrid(), "system.slice:caprun:x", "x"),
                         doctest::Contains("systemd"), Error);
}

TEST_CASE("systemd cgroup manager without systemd is an error, not a fallback") {
    RuntimeContext g;
    CHECK(selectCgroupManager(g, "/nonexistent") == CgroupManager::Cgroupfs);
    g.cgroupManager = "disabled";
    CHECK(selectCgroupManager(g, "/nonexistent") == CgroupManager::Disabled);
    g.cgroupManager = "";
    g.systemdCgroup = true;
    // A build without libsystemd says so first (scripts/test-fallback.sh builds one).
    const char* why = systemdDriverBuilt() ? "systemd is not running" : "built without libsystemd";
    CHECK_THROWS_WITH_AS(selectCgroupManager(g, "/nonexistent/run/systemd/system"),
                         doctest::Contains(why), Error);
    g.systemdCgroup = false;
    g.cgroupManager = "systemd";
    CHECK_THROWS_WITH_AS(selectCgroupManager(g, "/nonexistent/run/systemd/system"),
                         doctest::Contains("--cgroup-manager systemd"), Error);
    // With a running systemd (its run directory exists) the driver is selected.
    if (systemdDriverBuilt())
        CHECK(selectCgroupManager(g, CAPRUN_SOURCE_DIR) == CgroupManager::Systemd);
    else
        CHECK_THROWS_WITH_AS(selectCgroupManager(g, CAPRUN_SOURCE_DIR),
                             doctest::Contains("built without libsystemd"), Error);
}

TEST_CASE("resources on v1: file names, values and order") {
    Resources r;
    r.memory = MemoryResources{};
    r.memory->limit = 64 << 20;
    r.memory->swap = 128 << 20;
    r.memory->reservation = 32 << 20;
    r.cpu = CpuResources{};
    r.cpu->shares = 512;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0-1";
    r.pids = PidsResources{-1};
    r.hugepageLimits = {{"2MB", 4 << 20}};
    r.blockIO = BlockIoResources{};
    r.blockIO->weight = 500;
    r.blockIO->throttleReadBpsDevice = {{8, 0, 1048576}};
    CgroupPlan p = planResourceWrites(r, hybrid());

    CHECK(find(p, "memory.limit_in_bytes")->value == "67108864");
    CHECK(find(p, "memory.limit_in_bytes")->controller == "memory");
    CHECK(find(p, "memory.memsw.limit_in_bytes")->value == "134217728");
    CHECK(find(p, "memory.soft_limit_in_bytes")->value == "33554432");
    CHECK(find(p, "cpu.shares")->value == "512");
    CHECK(indexOf(p, "cpu.cfs_period_us") < indexOf(p, "cpu.cfs_quota_us"));
    CHECK(find(p, "cpu.cfs_quota_us")->value == "50000");
    CHECK(find(p, "cpuset.cpus")->controller == "cpuset");
    CHECK(find(p, "pids.max")->value == "max");
    // hugetlb is not a v1 hierarchy here but the unified one offers it.
    CHECK(find(p, "hugetlb.2MB.max")->controller == "unified");
    CHECK(find(p, "hugetlb.2MB.max")->value == "4194304");
    CHECK(find(p, "blkio.weight")->optional);
    CHECK(find(p, "blkio.throttle.read_bps_device")->value == "8:0 1048576");
    CHECK(p.notApplied.empty());

    // v1() has no cpuset: cpus set there is an error naming the field and the controller.
    CHECK_THROWS_WITH_AS(planResourceWrites(r, v1()), doctest::Contains("cpu.cpus/mems"), Error);
    r.cpu->cpus.clear();
    r.pids.reset();
    CgroupPlan old = planResourceWrites(r, v1());
    CHECK(find(old, "hugetlb.2MB.limit_in_bytes")->controller == "hugetlb");
    CHECK(find(old, "cpu.shares")->controller == "cpu");
    // v1() has no pids controller at all.
    Resources onlyPids;
    onlyPids.pids = PidsResources{100};
    CHECK_THROWS_WITH_AS(planResourceWrites(onlyPids, v1()), doctest::Contains("pids"), Error);
    Resources zeroPids;
    zeroPids.pids = PidsResources{0};  // 0 means "not set", as in runc
    CHECK(planResourceWrites(zeroPids, v1()).writes.empty());
}

TEST_CASE("resources on v2: converted values") {
    Resources r;
    r.memory = MemoryResources{};
    r.memory->limit = 100 << 20;
    r.memory->swap = 300 << 20;
    r.memory->swappiness = 10;
    r.cpu = CpuResources{};
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.pids = PidsResources{64};
    r.blockIO = BlockIoResources{};
    r.blockIO->weight = 10;
    r.blockIO->throttleWriteIOPSDevice = {{8, 16, 300}};
    r.unified = {{"memory.high", "90000000"}};
    CgroupPlan p = planResourceWrites(r, v2());
    CHECK(find(p, "memory.max")->value == "104857600");
    CHECK(find(p, "memory.swap.max")->value == "209715200");  // swap alone: 300M - 100M
    CHECK(find(p, "cpu.weight")->value == "39");              // 1 + (1022 * 9999) / 262142
    CHECK(find(p, "cpu.max")->value == "50000 100000");
    CHECK(find(p, "pids.max")->value == "64");
    CHECK(find(p, "io.weight")->value == "default 1");
    CHECK(find(p, "io.max")->value == "8:16 wiops=300");
    CHECK(find(p, "memory.high")->value == "90000000");
    for (const auto& w : p.writes) CHECK(w.controller == "unified");
    REQUIRE(p.notApplied.size() == 1);
    CHECK(p.notApplied[0].find("swappiness") != std::string::npos);

    Resources unlimited;
    unlimited.memory = MemoryResources{};
    unlimited.memory->limit = -1;
    unlimited.cpu = CpuResources{};
    unlimited.cpu->period = 250000;
    CgroupPlan u = planResourceWrites(unlimited, v2());
    CHECK(find(u, "memory.max")->value == "max");
    REQUIRE(find(u, "memory.swap.max"));
    CHECK(find(u, "memory.swap.max")->value == "max");  // runc: unlimited memory -> swap too
    CHECK(find(u, "cpu.max")->value == "max 250000");

    Resources bad;
    bad.memory = MemoryResources{};
    bad.memory->limit = 200;
    bad.memory->swap = 100;
    CHECK_THROWS_WITH_AS(planResourceWrites(bad, v2()), doctest::Contains("must be at least"),
                         Error);
    bad.memory->limit.reset();
    CHECK_THROWS_WITH_AS(planResourceWrites(bad, v2()), doctest::Contains("needs a memory limit"),
                         Error);

    Resources v2only;
    v2only.unified = {{"memory.high", "1"}};
    CHECK_THROWS_WITH_AS(planResourceWrites(v2only, v1()), doctest::Contains("no cgroup v2"),
                         Error);
    v2only.unified = {{"../escape", "1"}};
    CHECK_THROWS_AS(planResourceWrites(v2only, v2()), Error);
}

TEST_CASE("hugetlb: page sizes from /sys/kernel/mm/hugepages; a size the host lacks is an error") {
    CHECK(hugepageSizeName(64) == "64KB");
    CHECK(hugepageSizeName(2048) == "2MB");
    CHECK(hugepageSizeName(32768) == "32MB");
    CHECK(hugepageSizeName(1048576) == "1GB");
    CHECK(hugepageSizesFromEntries(
              {"hugepages-1048576kB", ".", "..", "hugepages-2048kB", "hugepages-xkB", "other"}) ==
          std::vector<std::string>{"2MB", "1GB"});
    CHECK(hugepageSizesFromEntries({"hugepages-2048kB"}) == std::vector<std::string>{"2MB"});
    CHECK(hugepageSizesFromEntries({"hugepages-1048576kB"}) == std::vector<std::string>{"1GB"});
    CHECK(hugepageSizesFromEntries({".", ".."}).empty());

    Resources r;
    r.hugepageLimits = {{"2MB", 4 << 20}, {"3MB", 4 << 20}};
    for (const auto& host : {hybrid(), v1(), v2()})
        CHECK_THROWS_WITH_AS(planResourceWrites(r, host),
                             "linux.resources.hugepageLimits[1].pageSize: \"3MB\" is not a huge "
                             "page size of this host (it has 2MB, 1GB, from "
                             "/sys/kernel/mm/hugepages)",
                             Error);
    CgroupHost none = hybrid();
    none.hugepageSizes.clear();
    r.hugepageLimits = {{"2MB", 4 << 20}};
    CHECK_THROWS_WITH_AS(planResourceWrites(r, none), doctest::Contains("(it has none"), Error);
    CHECK_NOTHROW(checkHugepageSize("x", "1GB", {"2MB", "1GB"}));
    CHECK_THROWS_WITH_AS(checkHugepageSize("x", "2mb", {"2MB"}),
                         doctest::Contains("\"2mb\" is not a huge page size"), Error);
}

TEST_CASE("realtime policy: refused without a budget where realtime group scheduling needs one") {
    Spec s;
    s.process = Process{};
    s.process->scheduler = Scheduler{};
    s.process->scheduler->policy = "SCHED_FIFO";
    s.process->scheduler->priority = 1;
    s.linux = Linux{};
    const std::string why = realtimeBudgetRefusal(s, true, true);
    CHECK(why ==
          "config.json: process.scheduler: SCHED_FIFO needs a realtime budget in the "
          "container's cpu cgroup: this kernel has realtime group scheduling, where a new cpu "
          "cgroup starts with cpu.rt_runtime_us 0 and the kernel refuses every realtime policy "
          "in it; set linux.resources.cpu.realtimeRuntime (microseconds per "
          "linux.resources.cpu.realtimePeriod, e.g. 10000 per 1000000)");
    // No cgroup of its own, or a kernel without RT group scheduling: the policy just applies.
    CHECK(realtimeBudgetRefusal(s, false, true).empty());
    CHECK(realtimeBudgetRefusal(s, true, false).empty());
    // A budget of 0 is none.
    s.linux->resources = Resources{};
    s.linux->resources->cpu = CpuResources{};
    s.linux->resources->cpu->realtimeRuntime = 0;
    CHECK(realtimeBudgetRefusal(s, true, true) == why);
    s.linux->resources->cpu->realtimeRuntime = 10000;
    CHECK(realtimeBudgetRefusal(s, true, true).empty());
    // Not a realtime policy.
    s.linux->resources.reset();
    s.process->scheduler->policy = "SCHED_BATCH";
    CHECK(realtimeBudgetRefusal(s, true, true).empty());
    s.process->scheduler->policy = "SCHED_RR";
    CHECK(realtimeBudgetRefusal(s, true, true).find("SCHED_RR needs a realtime budget") !=
          std::string::npos);
}

TEST_CASE("realtime budget: ancestors get what the container needs, top first") {
    const std::string what = "linux.resources.cpu.realtimeRuntime";
    // Root as on this machine (kernel.sched_rt_runtime_us 950000), another cgroup holding
    // 100000; the two parents caprun just made start with none.
    std::vector<RtGroup> chain = {
        {"/sys/fs/cgroup/cpu", 1000000, 950000, {{1000000, 0}, {1000000, 100000}}},
        {"/sys/fs/cgroup/cpu/t", 1000000, 0, {}},
        {"/sys/fs/cgroup/cpu/t/a", 1000000, 0, {}}};
    auto w = planRtBudget(chain, 1000000, 1000, what);
    REQUIRE(w.size() == 2);
    CHECK(w[0].dir == "/sys/fs/cgroup/cpu/t");
    CHECK(w[0].runtimeUs == 1000);
    CHECK(w[1].dir == "/sys/fs/cgroup/cpu/t/a");
    CHECK(w[1].runtimeUs == 1000);

    // A parent shared with a sibling that has 2000 per 500000 (4000 per 1000000): the parent
    // needs both; its own parent already has plenty and is left alone.
    chain[1].runtimeUs = 500000;
    chain[2].otherChildren = {{500000, 2000}};
    w = planRtBudget(chain, 1000000, 1000, what);
    REQUIRE(w.size() == 1);
    CHECK(w[0].dir == "/sys/fs/cgroup/cpu/t/a");
    CHECK(w[0].runtimeUs == 5000);
    // A parent on another period gets the same share of its own period.
    chain[2].periodUs = 100000;
    chain[2].otherChildren.clear();
    w = planRtBudget(chain, 1000000, 1000, what);
    REQUIRE(w.size() == 1);
    CHECK(w[0].runtimeUs == 100);

    // Already enough everywhere: nothing to write.
    chain[2].runtimeUs = 500;
    CHECK(planRtBudget(chain, 1000000, 1000, what).empty());
}

TEST_CASE("realtime budget: more than the host's root has, or than a period, is an error") {
    const std::string what = "linux.resources.cpu.realtimeRuntime";
    std::vector<RtGroup> chain = {{"/sys/fs/cgroup/cpu", 1000000, 950000, {{1000000, 949500}}},
                                  {"/sys/fs/cgroup/cpu/t", 1000000, 0, {}}};
    CHECK_THROWS_WITH_AS(
        planRtBudget(chain, 1000000, 1000, what),
        "linux.resources.cpu.realtimeRuntime: the host's cpu cgroup /sys/fs/cgroup/cpu has a "
        "realtime budget of 950000 us per 1000000 us (cpu.rt_runtime_us, cpu.rt_period_us), of "
        "which about 949500 us is given to its other child cgroups: not enough for 1000 us per "
        "1000000 us more",
        Error);
    chain[0].otherChildren.clear();
    CHECK_THROWS_WITH_AS(planRtBudget(chain, 1000000, -1, what), doctest::Contains("unlimited"),
                         Error);
    CHECK_THROWS_WITH_AS(planRtBudget(chain, 1000, 2000, what),
                         doctest::Contains("2000 us is more than the period (1000 us)"), Error);
    CHECK(planRtBudget(chain, 1000000, 950000, what).size() == 1);
    CHECK_THROWS_AS(planRtBudget(chain, 1000000, 950001, what), Error);
}

TEST_CASE("device rules become v1 devices.allow/deny lines") {
    std::vector<DeviceCgroupRule> rules = {
        rule(false, "", std::nullopt, std::nullopt, "rwm"),  // docker's "deny all"
        rule(true, "c", 1, 5, "rwm"),
        rule(true, "c", std::nullopt, std::nullopt, "m"),
        rule(false, "b", 8, -1, "w"),
    };
    auto lines = v1DeviceLines(rules);
    using P = std::pair<std::string, std::string>;
    CHECK(lines == std::vector<P>{{"devices.deny", "a"},
                                  {"devices.deny", "a"},
                                  {"devices.allow", "c 1:5 rwm"},
                                  {"devices.allow", "c *:* m"},
                                  {"devices.deny", "b 8:* w"}});
    CHECK_THROWS_WITH_AS(v1DeviceLines({rule(true, "c", 1, 3, "rwx")}), doctest::Contains("rwx"),
                         Error);
    CHECK_THROWS_WITH_AS(v1DeviceLines({rule(true, "p", 1, 3, "r")}), doctest::Contains("\"p\""),
                         Error);

    auto eff = effectiveDeviceRules({}, {Device{"/dev/fuse", "c", 10, 229, {}, {}, {}},
                                         Device{"/dev/fifo", "p", 0, 0, {}, {}, {}}});
    REQUIRE(eff.size() == 1 + defaultDeviceRules().size());
    CHECK(eff[0].major == 10);
    CHECK(eff[0].minor == 229);
    bool hasNull = std::any_of(eff.begin(), eff.end(), [](const DeviceCgroupRule& d) {
        return d.allow && d.type == "c" && d.major == 1 && d.minor == 3;
    });
    CHECK(hasNull);
}

TEST_CASE("the v2 device filter program decides like the v1 list") {
    std::vector<DeviceCgroupRule> rules = {
        rule(false, "a", std::nullopt, std::nullopt, "rwm"),
        rule(true, "c", 1, 3, "rwm"),                      // /dev/null
        rule(true, "c", std::nullopt, std::nullopt, "m"),  // mknod any char device
        rule(false, "c", 1, 3, "w"),                       // ... but no writes to /dev/null
        rule(true, "b", 8, std::nullopt, "r"),             // read any sd* disk
    };
    auto prog = deviceFilterProgram(rules);
    // Shape: the 6-instruction prologue, one block per rule, and "deny" at the end.
    REQUIRE(prog.size() > 8);
    CHECK(prog[0].code == (BPF_LDX | BPF_MEM | BPF_W));
    CHECK(prog[prog.size() - 2].code == (BPF_ALU | BPF_MOV | BPF_K));
    CHECK(prog[prog.size() - 2].imm == 0);  // the deny-all block comes last
    CHECK(prog.back().code == (BPF_JMP | BPF_EXIT));
    int exits = 0;
    for (std::size_t i = 0; i < prog.size(); ++i) {
        if (prog[i].code == (BPF_JMP | BPF_EXIT)) ++exits;
        if (BPF_CLASS(prog[i].code) == BPF_JMP && BPF_OP(prog[i].code) != BPF_EXIT)
            CHECK(i + 1 + static_cast<std::size_t>(prog[i].off) < prog.size());
    }
    // One per rule except the first (deny all, which matches everything, so the rules
    // before it — none here — and the final default cannot be reached and are left out).
    CHECK(exits == 5);

    CHECK(runFilter(prog, C, R, 1, 3) == 1);
    CHECK(runFilter(prog, C, R | W, 1, 3) == 0);  // the later deny w wins
    CHECK(runFilter(prog, C, W, 1, 3) == 0);
    CHECK(runFilter(prog, C, M, 1, 3) == 1);
    CHECK(runFilter(prog, C, M, 5, 0) == 1);
    CHECK(runFilter(prog, C, R, 5, 0) == 0);
    CHECK(runFilter(prog, B, R, 8, 16) == 1);
    CHECK(runFilter(prog, B, R | W, 8, 16) == 0);
    CHECK(runFilter(prog, B, R, 9, 0) == 0);

    // No rules: deny everything; "allow all": allow everything.
    auto none = deviceFilterProgram({});
    CHECK(none.size() == 8);
    CHECK(runFilter(none, C, R, 1, 3) == 0);
    auto all = deviceFilterProgram({rule(true, "a", std::nullopt, std::nullopt, "rwm")});
    CHECK(all.size() == 8);  // prologue + "allow"; no unreachable default after it
    CHECK(runFilter(all, B, R | W | M, 253, 7) == 1);
    // Rules before a catch-all are dead code and are not emitted.
    auto shadowed = deviceFilterProgram(
        {rule(true, "c", 1, 3, "rwm"), rule(false, "a", std::nullopt, std::nullopt, "rwm")});
    CHECK(shadowed.size() == 8);
    CHECK(runFilter(shadowed, C, R, 1, 3) == 0);
}

// A real cgroup v2 directory, when running as root on a host with a writable unified
// hierarchy (this machine's /sys/fs/cgroup/unified): the eBPF device filter is accepted by
// the kernel's verifier and enforced, and cgroup.freeze pauses. Skipped otherwise.
namespace {
bool writableUnifiedHierarchy() {
    if (::geteuid() != 0) return false;
    CgroupHost host = detectCgroupHost();
    const CgroupMount* u = host.unifiedMount();
    return u != nullptr && ::access((u->mountPoint + "/cgroup.procs").c_str(), W_OK) == 0;
}
}  // namespace

TEST_CASE("cgroup v2 for real: eBPF device filter, freezer, pids, kill, destroy" *
          doctest::skip(!writableUnifiedHierarchy())) {
    CgroupHost host = detectCgroupHost();
    const CgroupMount* u = host.unifiedMount();
    REQUIRE(u != nullptr);
    std::string dir = u->mountPoint + "/caprun-unit-" + std::to_string(::getpid());
    Cgroup cg(std::map<std::string, std::string>{{"unified", dir}});
    cg.create();
    struct Cleanup {
        Cgroup& cg;
        ~Cleanup() {
            try {
                cg.thaw();
                cg.killAll(SIGKILL);
                cg.destroy();
            } catch (...) {
            }
        }
    } cleanup{cg};
    Resources r;
    r.devices = {rule(false, "a", std::nullopt, std::nullopt, "rwm")};
    cg.apply(r);  // + the default devices (null, zero, ...) — but not kmsg (1:11)

    int toChild[2], fromChild[2];
    REQUIRE(::pipe(toChild) == 0);
    REQUIRE(::pipe(fromChild) == 0);
    pid_t child = ::fork();
    if (child == 0) {
        char c;
        if (::read(toChild[0], &c, 1) != 1) ::_exit(2);
        int okNull = ::open("/dev/null", O_RDONLY) >= 0;
        int kmsg = ::open("/dev/kmsg", O_RDONLY);
        char report[2] = {static_cast<char>('0' + okNull),
                          static_cast<char>(kmsg < 0 && errno == EPERM ? 'D' : 'A')};
        [[maybe_unused]] auto n = ::write(fromChild[1], report, 2);
        for (;;) ::pause();
    }
    cg.enter(child);
    CHECK(cg.pids() == std::vector<pid_t>{child});
    [[maybe_unused]] auto n = ::write(toChild[1], "g", 1);
    char report[2] = {};
    REQUIRE(::read(fromChild[0], report, 2) == 2);
    CHECK(report[0] == '1');  // /dev/null allowed
    CHECK(report[1] == 'D');  // /dev/kmsg denied by the filter

    // Applying again (as update does) swaps the attached filter without an error.
    cg.apply(r);

    cg.freeze();
    CHECK(cg.frozen());
    cg.thaw();
    CHECK_FALSE(cg.frozen());

    cg.killAll(SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    cg.destroy();
    CHECK_FALSE(fs::exists(dir));
}

TEST_CASE(
    "cgroup create/destroy: the parents create made go again, unless another cgroup uses them") {
    fs::path base = fs::temp_directory_path() / ("caprun-cg-parents-" + std::to_string(::getpid()));
    fs::create_directories(base);
    std::string b = (base / "b").string();
    Cgroup cg(
        std::map<std::string, std::string>{{"memory", b + "/c/leaf"}, {"pids", b + "/d/leaf"}});
    cg.create();
    CHECK(cg.createdParents() == std::vector<std::string>{b, b + "/c", b + "/d"});
    CHECK(fs::is_directory(b + "/c/leaf"));
    CHECK(fs::is_directory(b + "/d/leaf"));

    // As state.json keeps it: another container's cgroup appears below b meanwhile.
    Cgroup fromState(cg.paths(), cg.createdParents());
    fs::create_directory(b + "/other");
    fromState.destroy();
    CHECK_FALSE(fs::exists(b + "/c"));
    CHECK_FALSE(fs::exists(b + "/d"));
    CHECK(fs::exists(b + "/other"));  // b stays: it is in use

    fs::remove(b + "/other");
    fromState.destroy();  // the leaves are gone already: not an error
    CHECK_FALSE(fs::exists(b));
    CHECK(fs::exists(base));  // it existed before create
    fs::remove(base);
}

TEST_CASE("blockIO.weight 0 is not set (runc): nothing written on v2 or v1") {
    Resources r;
    r.blockIO = BlockIoResources{};
    r.blockIO->weight = 0;
    r.blockIO->leafWeight = 0;
    CHECK_FALSE(find(planResourceWrites(r, v2()), "io.weight"));
    CHECK_FALSE(find(planResourceWrites(r, hybrid()), "blkio.weight"));
    CHECK_FALSE(find(planResourceWrites(r, hybrid()), "blkio.leaf_weight"));
    r.blockIO->weight = 500;
    auto w = find(planResourceWrites(r, v2()), "io.weight");
    REQUIRE(w);
    CHECK(w->value == "default 4950");
}

TEST_CASE("rdma: rdma.max per device where the host has the controller, an error where not") {
    Resources r;
    r.rdma["mlx5_1"] = RdmaLimit{3, 4};
    r.rdma["mlx4_0"] = RdmaLimit{std::nullopt, 10};
    r.rdma["none"] = RdmaLimit{};  // nothing asked: nothing written
    CgroupPlan p = planResourceWrites(r, v2());
    std::vector<std::string> values;
    for (const auto& w : p.writes) {
        CHECK(w.file == "rdma.max");
        CHECK(w.controller == "unified");
        values.push_back(w.value);
    }
    CHECK(values ==
          std::vector<std::string>{"mlx4_0 hca_object=10", "mlx5_1 hca_handle=3 hca_object=4"});
    CHECK(requiredV2Controllers(r).size() == 2);
    CHECK_THROWS_WITH(planResourceWrites(r, hybrid()),
                      "linux.resources.rdma.mlx4_0 is set but this host has no rdma cgroup "
                      "controller (neither a v1 hierarchy nor in the unified hierarchy's "
                      "cgroup.controllers)");
}
