#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "caprun/cgroup_controllers.hpp"
#include "caprun/error.hpp"
#include "caprun/systemd_cgroup.hpp"

using namespace caprun;

namespace {

const std::uint64_t kInf = std::numeric_limits<std::uint64_t>::max();

const SystemdProperty* prop(const SystemdCgroupPlan& p, const std::string& name) {
    for (const auto& x : p.properties)
        if (x.name == name) return &x;
    return nullptr;
}

std::string text(const SystemdCgroupPlan& p, const std::string& name) {
    const auto* x = prop(p, name);
    return x ? systemdPropertyText(*x) : "(absent)";
}

const char* kProcDevices =
    "Character devices:\n  1 mem\n  4 /dev/vc/0\n  5 /dev/tty\n136 pts\n226 drm\n\n"
    "Block devices:\n  7 loop\n  8 sd\n";

SystemdHostFacts facts() {
    SystemdHostFacts f;
    f.procDevices = kProcDevices;
    return f;
}

}  // namespace

TEST_CASE("systemd cgroupsPath: slice:prefix:name, the default, and refusals") {
    auto p = parseSystemdCgroupPath("system.slice:docker:abc", "id", false);
    CHECK(p.slice == "system.slice");
    CHECK(p.prefix == "docker");
    CHECK(p.name == "abc");
    CHECK(systemdUnitName(p) == "docker-abc.scope");

    // Empty: runc's default (its own prefix, the id as name), user.slice when rootless.
    auto d = parseSystemdCgroupPath("", "c1", false);
    CHECK(systemdUnitName(d) == "caprun-c1.scope");
    CHECK(d.slice == "system.slice");
    CHECK(parseSystemdCgroupPath("", "c1", true).slice == "user.slice");
    CHECK(parseSystemdCgroupPath(":crio:x", "c1", false).slice == "system.slice");

    // A name ending in .slice is a slice unit of its own (kubelet's pod slices).
    auto s = parseSystemdCgroupPath("kubepods.slice:x:kubepods-besteffort.slice", "c1", false);
    CHECK(systemdUnitName(s) == "kubepods-besteffort.slice");

    CHECK_THROWS_WITH_AS(parseSystemdCgroupPath("/docker/abc", "c1", false),
                         doctest::Contains("slice:prefix:name"), Error);
    CHECK_THROWS_WITH_AS(parseSystemdCgroupPath("a.slice:b", "c1", false),
                         doctest::Contains("slice:prefix:name"), Error);
    CHECK_THROWS_WITH_AS(parseSystemdCgroupPath("system.slice:x:a/b", "c1", false),
                         doctest::Contains("does not allow"), Error);
    CHECK_THROWS_WITH_AS(parseSystemdCgroupPath("system:x:a", "c1", false),
                         doctest::Contains("invalid slice name \"system\""), Error);
    CHECK_THROWS_WITH_AS(parseSystemdCgroupPath("system.slice:x:", "c1", false),
                         doctest::Contains("name part is empty"), Error);
}

TEST_CASE("slices expand as systemd lays them out") {
    CHECK(expandSlice("system.slice") == "/system.slice");
    CHECK(expandSlice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice");
    CHECK(expandSlice("kubepods-burstable-pod1.slice") ==
          "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice");
    CHECK(expandSlice("-.slice") == "/");
    for (const char* bad : {"", "x", ".slice", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice"})
        CHECK_THROWS_AS(expandSlice(bad), Error);
}

TEST_CASE("runc's conversions: shares to CPUWeight, quota to CPUQuotaPerSecUSec, cpu lists") {
    CHECK(cpuSharesToWeight(2) == 1);
    CHECK(cpuSharesToWeight(1024) == 39);
    CHECK(cpuSharesToWeight(262144) == 10000);
    CHECK(cpuQuotaPerSecUSec(50000, 100000) == 500000);
    CHECK(cpuQuotaPerSecUSec(33333, 100000) == 340000);  // 333330 rounded up to 10 ms
    CHECK(cpuQuotaPerSecUSec(25000, 0) == 250000);       // default period 100 ms
    CHECK(cpuQuotaPerSecUSec(-1, 100000) == kInf);
    CHECK(cpuListToMask("0-3,5", "x") == std::vector<std::uint8_t>{0x2f});
    CHECK(cpuListToMask("9", "x") == std::vector<std::uint8_t>{0x00, 0x02});
    CHECK(systemdPropertyText({"AllowedCPUs", cpuListToMask("0-3,5,8-9", "x"), ""}) ==
          "AllowedCPUs=0-3,5,8-9");
    CHECK_THROWS_WITH_AS(cpuListToMask("3-1", "linux.resources.cpu.cpus"),
                         doctest::Contains("linux.resources.cpu.cpus"), Error);
    CHECK_THROWS_AS(cpuListToMask("a", "x"), Error);
}

TEST_CASE("create plan: the unit, its slice, caprun's properties and the resource ones") {
    Resources r;
    r.memory = MemoryResources{};
    r.memory->limit = 1 << 20;
    r.memory->swap = 3 << 20;  // memory+swap: 2 MiB of swap on v2
    r.memory->reservation = 1 << 19;
    r.memory->swappiness = 10;
    r.cpu = CpuResources{};
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->burst = 1000;
    r.cpu->cpus = "0-1";
    r.pids = PidsResources{-1};
    r.blockIO = BlockIoResources{};
    r.blockIO->weight = 500;
    r.unified["memory.high"] = "4194304";
    auto p = planSystemdCgroup("system.slice:caprun:t1", "t1", &r, {}, facts());
    CHECK(p.unit == "caprun-t1.scope");
    CHECK(p.slice == "system.slice");
    CHECK(p.cgroupPath == "/system.slice/caprun-t1.scope");
    CHECK_FALSE(p.sliceUnit);
    CHECK(text(p, "Slice") == "Slice=system.slice");
    CHECK(text(p, "Delegate") == "Delegate=yes");
    CHECK(text(p, "DefaultDependencies") == "DefaultDependencies=no");
    CHECK(text(p, "Description") == "Description=caprun container t1");
    CHECK(text(p, "MemoryMax") == "MemoryMax=1048576");
    CHECK(text(p, "MemoryLow") == "MemoryLow=524288");
    CHECK(text(p, "MemorySwapMax") == "MemorySwapMax=2097152");
    CHECK(text(p, "CPUWeight") == "CPUWeight=39");
    CHECK(text(p, "CPUQuotaPeriodUSec") == "CPUQuotaPeriodUSec=100000");
    CHECK(text(p, "CPUQuotaPerSecUSec") == "CPUQuotaPerSecUSec=500000");
    CHECK(text(p, "AllowedCPUs") == "AllowedCPUs=0-1");
    CHECK(text(p, "TasksMax") == "TasksMax=infinity");
    CHECK(text(p, "IOWeight") == "IOWeight=4950");
    CHECK(systemdSignature(prop(p, "AllowedCPUs")->value) == "ay");
    CHECK(systemdSignature(prop(p, "MemoryMax")->value) == "t");
    CHECK(prop(p, "PIDs") == nullptr);  // added by the executor once the init exists

    // What has no property stays for the files; what became a property does not.
    REQUIRE(p.files.memory);
    CHECK_FALSE(p.files.memory->limit);
    CHECK_FALSE(p.files.memory->swap);
    CHECK(p.files.memory->swappiness == 10u);
    REQUIRE(p.files.cpu);
    CHECK(p.files.cpu->burst == 1000u);
    CHECK_FALSE(p.files.cpu->shares);
    CHECK(p.files.cpu->cpus.empty());
    CHECK_FALSE(p.files.pids);
    CHECK(p.files.unified.at("memory.high") == "4194304");

    // No resources: still a delegated scope, nothing limited.
    auto bare = planSystemdCgroup("", "c2", nullptr, {}, facts());
    CHECK(bare.unit == "caprun-c2.scope");
    CHECK(prop(bare, "MemoryMax") == nullptr);
    CHECK(text(bare, "Delegate") == "Delegate=yes");
}

TEST_CASE("create plan: memory values as runc converts them, refusals in planning") {
    Resources r;
    r.memory = MemoryResources{};
    r.memory->limit = -1;
    auto p = planSystemdCgroup("", "c", &r, {}, facts());
    CHECK(text(p, "MemoryMax") == "MemoryMax=infinity");
    CHECK(text(p, "MemorySwapMax") == "MemorySwapMax=infinity");  // unlimited memory: swap too

    r.memory->limit = 2 << 20;
    r.memory->swap = 1 << 20;
    CHECK_THROWS_WITH_AS(planSystemdCgroup("", "c", &r, {}, facts()),
                         doctest::Contains("must be at least"), Error);
    r.memory->limit.reset();
    CHECK_THROWS_WITH_AS(planSystemdCgroup("", "c", &r, {}, facts()),
                         doctest::Contains("needs a memory limit"), Error);
}

TEST_CASE("devices: systemd's allow list is a superset, named as systemd wants them") {
    auto p = planSystemdCgroup("", "c", nullptr, {}, facts());
    CHECK(text(p, "DevicePolicy") == "DevicePolicy=strict");
    std::string allow = text(p, "DeviceAllow");
    CHECK(allow.find("/dev/char/1:3 rwm") != std::string::npos);
    CHECK(allow.find("char-pts rwm") != std::string::npos);  // 136:* by its /proc/devices name
    CHECK(systemdSignature(prop(p, "DeviceAllow")->value) == "a(ss)");

    Resources r;
    DeviceCgroupRule all;
    all.allow = true;
    r.devices = {all};
    auto open = planSystemdCgroup("", "c", &r, {}, facts());
    CHECK(text(open, "DevicePolicy") == "DevicePolicy=auto");
    CHECK(prop(open, "DeviceAllow") == nullptr);

    // A major /proc/devices does not name: systemd gets the whole class, caprun's filter
    // still limits it.
    DeviceCgroupRule odd;
    odd.allow = true;
    odd.type = "c";
    odd.major = 250;
    odd.access = "r";
    r.devices = {odd};
    auto wide = planSystemdCgroup("", "c", &r, {}, facts());
    CHECK(text(wide, "DeviceAllow").find("char-* r") != std::string::npos);
    CHECK_FALSE(wide.notes.empty());
    // linux.devices are allowed by their numbers.
    Device sda;
    sda.type = "b";
    sda.major = 8;
    sda.minor = 0;
    auto withDev = planSystemdCgroup("", "c", nullptr, {sda}, facts());
    CHECK(text(withDev, "DeviceAllow").find("/dev/block/8:0 rwm") != std::string::npos);
}

TEST_CASE("update plan: only the properties asked for, devices only when given") {
    Resources r;
    r.pids = PidsResources{50};
    r.cpu = CpuResources{};
    r.cpu->idle = 1;
    auto p = planSystemdUpdate("caprun-t1.scope", r, {}, facts());
    REQUIRE(p.properties.size() == 1);
    CHECK(text(p, "TasksMax") == "TasksMax=50");
    CHECK(p.files.cpu->idle == 1);
}

TEST_CASE("the unit's cgroup directories from /proc/<pid>/cgroup") {
    CgroupHost v2 =
        parseCgroupHost("26 22 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
                        "0::/\n", "cpu memory pids\n");
    auto plan = planSystemdCgroup("system.slice:caprun:t1", "t1", nullptr, {}, facts());
    auto w = systemdCgroupPaths(v2, "0::/system.slice/caprun-t1.scope\n", plan);
    CHECK(w.joined.at("unified") == "/sys/fs/cgroup/system.slice/caprun-t1.scope");
    CHECK(w.missing.empty());
    CHECK_THROWS_WITH_AS(systemdCgroupPaths(v2, "0::/user.slice\n", plan),
                         doctest::Contains("not in it"), Error);

    // Hybrid: systemd manages name=systemd and the unified one here; the other v1
    // hierarchies get the same path, created by caprun (as runc joins them).
    CgroupHost hybrid = parseCgroupHost(
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
        "0::/\n", "");
    auto h = systemdCgroupPaths(hybrid,
                                "4:memory:/\n1:name=systemd:/system.slice/caprun-t1.scope\n0::/"
                                "system.slice/caprun-t1.scope\n",
                                plan);
    CHECK(h.joined.at("name=systemd") == "/sys/fs/cgroup/systemd/system.slice/caprun-t1.scope");
    CHECK(h.joined.at("unified") == "/sys/fs/cgroup/unified/system.slice/caprun-t1.scope");
    CHECK(h.missing.at("memory") == "/sys/fs/cgroup/memory/system.slice/caprun-t1.scope");
}

TEST_CASE("pure v2: a resource whose controller is not available is refused by name") {
    Resources r;
    r.memory = MemoryResources{};
    r.memory->limit = 1 << 20;
    CHECK_THROWS_WITH_AS(checkV2Controllers(r, {"hugetlb"}, "/sys/fs/cgroup/cgroup.controllers"),
                         doctest::Contains("linux.resources.memory.limit needs the memory cgroup "
                                           "controller"),
                         Error);
    CHECK_THROWS_WITH_AS(checkV2Controllers(r, {}, "/x/cgroup.controllers"),
                         doctest::Contains("/x/cgroup.controllers: no controllers"), Error);
    CHECK_NOTHROW(checkV2Controllers(r, {"memory"}, "f"));
    Resources u;
    u.unified["pids.max"] = "10";
    u.unified["cgroup.max.depth"] = "2";
    auto needs = requiredV2Controllers(u);
    REQUIRE(needs.size() == 1);
    CHECK(needs[0].controller == "pids");
    CHECK(requiredV2Controllers(Resources{}).empty());
}

TEST_CASE("blockIO.weight 0 is not set (dockerd sends it always): no IOWeight, no io controller") {
    Resources r;
    r.blockIO = BlockIoResources{};
    r.blockIO->weight = 0;
    auto p = planSystemdCgroup("system.slice:docker:abc", "abc", &r, {}, facts());
    CHECK(prop(p, "IOWeight") == nullptr);
    CHECK(requiredV2Controllers(p.files).empty());
    CHECK(requiredV2Controllers(r).empty());
    CHECK_NOTHROW(checkV2Controllers(r, {"hugetlb"}, "f"));
    r.blockIO->weight = 10;
    REQUIRE(requiredV2Controllers(r).size() == 1);
    CHECK(requiredV2Controllers(r)[0].controller == "io");
}

TEST_CASE("a user's manager: found through the uid map, its cgroup systemd's fixed layout") {
    CHECK(userManagerCgroup("         0          0 4294967295\n", 1000) ==
          "/user.slice/user-1000.slice/user@1000.service");
    // podman rootless: the runtime is uid 0 of the user's namespace, which maps to 1000.
    const char* podman = "         0       1000          1\n         1     100000      65536\n";
    CHECK(userManagerCgroup(podman, 0) == "/user.slice/user-1000.slice/user@1000.service");
    CHECK(userManagerCgroup(podman, 5) == "/user.slice/user-100004.slice/user@100004.service");
    CHECK_THROWS_WITH_AS(userManagerCgroup(podman, 70000),
                         doctest::Contains("uid 70000 is not mapped"), Error);
}

TEST_CASE("rootless create plan: below the user's manager, user.slice, no device policy") {
    SystemdHostFacts f = facts();
    f.rootless = true;
    f.managerCgroup = "/user.slice/user-1000.slice/user@1000.service";
    Device sda;
    sda.path = "/dev/sda";
    sda.type = "b";
    sda.major = 8;
    sda.minor = 0;
    auto p = planSystemdCgroup("", "c1", nullptr, {sda}, f);
    CHECK(p.userManager);
    CHECK(p.unit == "caprun-c1.scope");
    CHECK(p.slice == "user.slice");
    CHECK(p.cgroupPath ==
          "/user.slice/user-1000.slice/user@1000.service/user.slice/caprun-c1.scope");
    CHECK(prop(p, "DevicePolicy") == nullptr);
    CHECK(prop(p, "DeviceAllow") == nullptr);
    REQUIRE_FALSE(p.notes.empty());
    CHECK(p.notes.back().find("no device filter rootless") != std::string::npos);
    // As root the same spec gets the device policy.
    auto root = planSystemdCgroup("", "c1", nullptr, {sda}, facts());
    CHECK_FALSE(root.userManager);
    CHECK(text(root, "DevicePolicy") == "DevicePolicy=strict");

    // update: device rules are refused before any property is set.
    Resources r;
    r.pids = PidsResources{5};
    DeviceCgroupRule deny;
    deny.allow = false;
    r.devices.push_back(deny);
    CHECK_THROWS_WITH_AS(planSystemdUpdate("caprun-c1.scope", r, {}, f),
                         doctest::Contains("linux.resources.devices: no device filter rootless"),
                         Error);
    r.devices.clear();
    CHECK(text(planSystemdUpdate("caprun-c1.scope", r, {}, f), "TasksMax") == "TasksMax=5");
}
