#include <doctest/doctest.h>

#include <map>
#include <string>

#include "caprun/error.hpp"
#include "caprun/update_flags.hpp"

using namespace caprun;

namespace {

Resources flagsOnly(const std::map<std::string, std::string>& f) {
    return resourcesFromUpdateFlags(Resources{}, f, false);
}

}  // namespace

TEST_CASE("update flags: memory sizes as runc reads them") {
    CHECK(parseMemorySize("memory", "512m") == 512LL << 20);
    CHECK(parseMemorySize("memory", "64M") == 64LL << 20);
    CHECK(parseMemorySize("memory", "1.5g") == 3LL << 29);
    CHECK(parseMemorySize("memory", "64KiB") == 64LL << 10);
    CHECK(parseMemorySize("memory", "2 GB") == 2LL << 30);
    CHECK(parseMemorySize("memory", "100b") == 100);
    CHECK(parseMemorySize("memory", "4096") == 4096);
    CHECK(parseMemorySize("memory", "1t") == 1LL << 40);
    CHECK(parseMemorySize("memory", "-1") == -1);
    for (const char* badText : {"", "m", "12x", "-2", "1..5m", "5mm", " 5m", "1e3", "9p9"}) {
        std::string want = std::string("update --memory: invalid value \"") + badText + "\"";
        CHECK_THROWS_WITH_AS(parseMemorySize("memory", badText), doctest::Contains(want.c_str()),
                             Error);
    }
    CHECK_THROWS_WITH_AS(parseMemorySize("memory-swap", "9000p"),
                         doctest::Contains("at most 2^63-1 bytes"), Error);
}

TEST_CASE("update flags: each flag sets its LinuxResources field") {
    Resources r = flagsOnly({{"memory", "64m"},
                             {"memory-reservation", "32m"},
                             {"memory-swap", "128m"},
                             {"cpu-shares", "512"},
                             {"cpu-quota", "-1"},
                             {"cpu-period", "100000"},
                             {"cpu-burst", "1000"},
                             {"cpu-rt-period", "1000000"},
                             {"cpu-rt-runtime", "1000"},
                             {"cpu-idle", "1"},
                             {"cpuset-cpus", "0-1"},
                             {"cpuset-mems", "0"},
                             {"pids-limit", "50"},
                             {"blkio-weight", "300"}});
    REQUIRE(r.memory);
    CHECK(*r.memory->limit == 64 << 20);
    CHECK(*r.memory->reservation == 32 << 20);
    CHECK(*r.memory->swap == 128 << 20);
    REQUIRE(r.cpu);
    CHECK(*r.cpu->shares == 512);
    CHECK(*r.cpu->quota == -1);
    CHECK(*r.cpu->period == 100000);
    CHECK(*r.cpu->burst == 1000);
    CHECK(*r.cpu->realtimePeriod == 1000000);
    CHECK(*r.cpu->realtimeRuntime == 1000);
    CHECK(*r.cpu->idle == 1);
    CHECK(r.cpu->cpus == "0-1");
    CHECK(r.cpu->mems == "0");
    REQUIRE(r.pids);
    CHECK(*r.pids->limit == 50);
    REQUIRE(r.blockIO);
    CHECK(*r.blockIO->weight == 300);
    CHECK(*flagsOnly({{"cpu-share", "2"}}).cpu->shares == 2);
    CHECK(*flagsOnly({{"pids-limit", "-1"}}).pids->limit == -1);

    // Only what a flag names is set.
    Resources mem = flagsOnly({{"memory", "1g"}});
    CHECK_FALSE(mem.cpu);
    CHECK_FALSE(mem.pids);
    CHECK_FALSE(mem.memory->swap);
    CHECK_FALSE(mem.memory->reservation);
    // runc: unlimited memory without a swap setting makes swap unlimited too.
    Resources unl = flagsOnly({{"memory", "-1"}});
    CHECK(*unl.memory->swap == -1);
    CHECK(*flagsOnly({{"memory", "-1"}, {"memory-swap", "0"}}).memory->swap == 0);
}

TEST_CASE("update flags: over --resources, flags win and the rest of the file stays") {
    Resources file;
    file.memory = MemoryResources{};
    file.memory->limit = 1 << 30;
    file.memory->reservation = 1 << 29;
    file.cpu = CpuResources{};
    file.cpu->shares = 100;
    file.pids = PidsResources{10};
    Resources r = resourcesFromUpdateFlags(file, {{"memory", "64m"}, {"pids-limit", "50"}}, false);
    CHECK(*r.memory->limit == 64 << 20);
    CHECK(*r.memory->reservation == 1 << 29);
    CHECK(*r.cpu->shares == 100);
    CHECK(*r.pids->limit == 50);
    // No flags: the file as it is.
    Resources same = resourcesFromUpdateFlags(file, {}, false);
    CHECK(*same.memory->limit == 1 << 30);
    CHECK(*same.pids->limit == 10);
}

TEST_CASE("update flags: bad values, values that change nothing, unknown flags, Intel RDT") {
    auto err = [](const std::map<std::string, std::string>& f, const std::string& text) {
        CHECK_THROWS_WITH_AS(flagsOnly(f), doctest::Contains(text.c_str()), Error);
    };
    err({{"cpu-shares", "-5"}}, "update --cpu-shares: invalid value \"-5\"");
    err({{"cpu-quota", "lots"}}, "update --cpu-quota: invalid value \"lots\"");
    err({{"cpu-period", "99999999999999999999999"}}, "update --cpu-period: invalid value");
    err({{"pids-limit", "0"}}, "update --pids-limit: invalid value \"0\"");
    err({{"pids-limit", "ten"}}, "update --pids-limit: invalid value \"ten\"");
    err({{"blkio-weight", "5"}}, "10 to 1000");
    err({{"blkio-weight", "0"}}, "10 to 1000");
    err({{"cpuset-cpus", ""}}, "update --cpuset-cpus: invalid value \"\"");
    err({{"cpu-share", "2"}, {"cpu-shares", "3"}}, "the same setting");
    err({{"kernel-memory", "1m"}}, "unknown resource flag --kernel-memory");
    err({{"l3-cache-schema", "L3:0=ff"}},
        "update --l3-cache-schema needs Intel RDT (resctrl), which this host does not have: "
        "/sys/fs/resctrl is not mounted");
    err({{"mem-bw-schema", "MB:0=70"}}, "update --mem-bw-schema needs Intel RDT");
    CHECK_THROWS_WITH_AS(resourcesFromUpdateFlags({}, {{"mem-bw-schema", "MB:0=70"}}, true),
                         doctest::Contains("caprun does not manage Intel RDT"), Error);
}
