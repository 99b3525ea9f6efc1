// The compiled-filter cache: planSeccomp's key changes with everything that shapes the BPF,
// entries round-trip, corrupt/foreign/truncated entries are ignored, eviction bounds the
// directory.
#include <doctest/doctest.h>

#include <sys/capability.h>
#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "caprun/seccomp_cache.hpp"
#include "caprun/seccomp_compile.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_resolve.hpp"
#include "caprun/error.hpp"
#include "caprun/spec.hpp"

using namespace caprun;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "caprun-sccache-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

ResolvedSeccomp resolveText(const std::string& text, std::uint64_t mask = 0,
                            const std::string& kernel = "6.1.0") {
    SelectedSeccomp s;
    s.source.kind = SeccompSource::Kind::ProfileFile;
    s.source.path = "p.json";
    s.filter = parseSeccompProfile(text, "p.json");
    SeccompHost h;
    h.grantedBounding = mask;
    h.kernelRelease = kernel;
    return resolveSeccomp(s, h);
}

ResolvedSeccomp defaultProfile(std::uint64_t mask, const std::string& kernel = "6.1.0") {
    Spec spec;
    SeccompHost h;
    h.grantedBounding = mask;
    h.kernelRelease = kernel;
    return resolveSeccomp(selectSeccomp(spec, std::string("default")), h);
}

const char* kBase = R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
  {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
  {"names":["getpriority"],"action":"SCMP_ACT_ERRNO","errnoRet":5,
   "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]})";

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    auto pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    s.replace(pos, from.size(), to);
    return s;
}

}  // namespace

TEST_CASE("planSeccomp misses the cache when anything that shapes the filter changes") {
    TempDir tmp;
    Spec spec;
    SeccompHost host;
    host.kernelRelease = "6.1.0";
    const std::string path = tmp.path + "/p.json";
    auto plan = [&](const std::string& text, const SeccompHost& h) {
        {
            std::ofstream out(path, std::ios::trunc);
            out << text;
        }
        return planSeccomp(spec, path, h, tmp.path);
    };
    const SeccompPlan base = plan(kBase, host);
    CHECK(base.compiled.cacheKey.size() == 32);
    CHECK(!base.compiled.fromCache);
    const SeccompPlan again = plan(kBase, host);
    CHECK(again.compiled.fromCache);  // deterministic
    CHECK(again.compiled.cacheKey == base.compiled.cacheKey);

    const std::vector<std::pair<std::string, std::string>> edits = {
        {R"(["read","write"])", R"(["read","write","close"])"},
        {R"("errnoRet":5)", R"("errnoRet":6)"},
        {R"("value":1,)", R"("value":2,)"},
        {R"("index":0)", R"("index":1)"},
        {"SCMP_CMP_EQ", "SCMP_CMP_NE"},
        {R"("defaultAction":"SCMP_ACT_ERRNO")", R"("defaultAction":"SCMP_ACT_KILL_PROCESS")"},
        {R"("defaultAction":"SCMP_ACT_ERRNO")",
         R"("defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"])"},
        {R"("defaultAction":"SCMP_ACT_ERRNO")",
         R"("defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_LOG"])"},
    };
    for (const auto& [from, to] : edits) {
        CAPTURE(to);
        SeccompPlan edited = plan(replaced(kBase, from, to), host);
        CHECK(!edited.compiled.fromCache);
        CHECK(edited.compiled.cacheKey != base.compiled.cacheKey);
    }
    SeccompHost newer = host;
    newer.kernelRelease = "6.2.0";
    CHECK(plan(kBase, newer).compiled.cacheKey != base.compiled.cacheKey);
    SeccompHost otherArch = host;
    otherArch.nativeArch = SCMP_ARCH_AARCH64;
    CHECK(plan(kBase, otherArch).compiled.cacheKey != base.compiled.cacheKey);
}

TEST_CASE("cache entries round-trip; corrupt, truncated and foreign entries are ignored") {
    TempDir tmp;
    SeccompCache cache(tmp.path + "/seccomp-cache");
    ResolvedSeccomp r = resolveText(kBase);
    CompiledSeccomp c = compileSeccomp(r);
    std::string key = seccompCacheHash("filter one");
    CHECK(key.size() == 32);
    CHECK(seccompCacheHash("filter one") == key);
    CHECK(seccompCacheHash("filter two") != key);
    CHECK(!cache.load(key));
    std::string why;
    REQUIRE(cache.store(key, {c.bpf, "{\"m\":1}"}, &why));
    CHECK(why.empty());
    auto loaded = cache.load(key);
    REQUIRE(loaded);
    CHECK(loaded->bpf == c.bpf);
    CHECK(loaded->meta == "{\"m\":1}");
    struct stat st {};
    REQUIRE(stat(cache.dir().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    for (const auto& e : fs::directory_iterator(cache.dir()))  // no temp files left behind
        CHECK(e.path().filename().string().rfind(".tmp-", 0) != 0);

    const std::string path = cache.entryPath(key);
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto rewrite = [&](const std::string& content) {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << content;
    };
    SUBCASE("a flipped payload byte") {
        std::string bad = bytes;
        bad[bad.size() - 3] ^= 0x40;
        rewrite(bad);
        CHECK(!cache.load(key));
    }
    SUBCASE("truncated") {
        rewrite(bytes.substr(0, bytes.size() - 8));
        CHECK(!cache.load(key));
    }
    SUBCASE("not an entry at all") {
        rewrite("{\"hello\": true}");
        CHECK(!cache.load(key));
    }
    SUBCASE("another key's entry under this name") {
        ResolvedSeccomp other = resolveText(replaced(kBase, "\"errnoRet\":5", "\"errnoRet\":9"));
        std::string otherKey = seccompCacheHash("filter two");
        REQUIRE(cache.store(otherKey, {compileSeccomp(other).bpf, ""}));
        fs::rename(cache.entryPath(otherKey), path);
        CHECK(!cache.load(key));
    }
    // A rebuilt entry replaces the bad one.
    REQUIRE(cache.store(key, {c.bpf, ""}));
    CHECK(cache.load(key)->bpf == c.bpf);
}

TEST_CASE("planSeccomp rebuilds a corrupt cache entry") {
    TempDir tmp;
    Spec spec;
    SeccompHost host;
    host.kernelRelease = "6.1.0";
    host.grantedBounding = 1ULL << CAP_SYS_NICE;
    SeccompPlan first = planSeccomp(spec, std::string("default"), host, tmp.path);
    CHECK(!first.compiled.fromCache);
    const std::string entry =
        SeccompCache(seccompCacheDir(tmp.path)).entryPath(first.compiled.cacheKey);
    CHECK(fs::exists(entry));
    SeccompPlan second = planSeccomp(spec, std::string("default"), host, tmp.path);
    CHECK(second.compiled.fromCache);
    CHECK(second.compiled.bpf == first.compiled.bpf);
    CHECK(second.compiled.flagBits == first.compiled.flagBits);
    CHECK(second.compiled.cacheKey == first.compiled.cacheKey);
    {
        std::ofstream out(entry, std::ios::binary | std::ios::trunc);
        out << "garbage";
    }
    SeccompPlan third = planSeccomp(spec, std::string("default"), host, tmp.path);
    CHECK(!third.compiled.fromCache);
    CHECK(third.compiled.bpf == first.compiled.bpf);
    CHECK(third.deniedWithoutCap == first.deniedWithoutCap);
    CHECK(planSeccomp(spec, std::string("default"), host, tmp.path).compiled.fromCache);
}

TEST_CASE("the cache is bounded: oldest entries are evicted") {
    TempDir tmp;
    SeccompCacheLimits limits;
    limits.maxEntries = 3;
    SeccompCache cache(tmp.path + "/c", limits);
    std::vector<std::string> keys;
    std::vector<std::uint8_t> bpf(16, 0x06);  // size only matters here
    for (int i = 0; i < 5; ++i) {
        std::string key = std::string(31, 'a') + static_cast<char>('0' + i);
        REQUIRE(cache.store(key, {bpf, ""}));
        // Distinct ages without sleeping: set each entry's mtime explicitly.
        struct timespec times[2] = {{1000 + i, 0}, {1000 + i, 0}};
        REQUIRE(utimensat(AT_FDCWD, cache.entryPath(key).c_str(), times, 0) == 0);
        keys.push_back(key);
    }
    int present = 0;
    for (const auto& k : keys) present += cache.load(k) ? 1 : 0;
    CHECK(present == 3);
    CHECK(!cache.load(keys[0]));
    CHECK(!cache.load(keys[1]));
    CHECK(cache.load(keys[4]));

    SeccompCacheLimits small;
    small.maxBytes = 200;  // two entries of 64 + 64 bytes do not fit
    SeccompCache tiny(tmp.path + "/t", small);
    std::vector<std::uint8_t> big(64, 0x06);
    REQUIRE(tiny.store(std::string(32, 'b'), {big, ""}));
    REQUIRE(tiny.store(std::string(32, 'c'), {big, ""}));
    int left = 0;
    for (const auto& e : fs::directory_iterator(tiny.dir())) left += e.is_regular_file() ? 1 : 0;
    CHECK(left == 1);
    CHECK(!tiny.store("not-a-key", {big, ""}));
    CHECK(!tiny.store(std::string(32, 'd'), {std::vector<std::uint8_t>(7, 0), ""}));
}

TEST_CASE("planSeccomp: the fast path loads without parsing, keyed by definition and host") {
    TempDir tmp;
    Spec spec;
    SeccompHost host;
    host.kernelRelease = "6.1.0";
    host.capDropReasons[CAP_SYS_NICE] = "not in host bounding set";
    SeccompPlan first = planSeccomp(spec, std::string("default"), host, tmp.path);
    CHECK(first.compiled.enabled);
    CHECK(!first.compiled.fromCache);
    CHECK(first.source.kind == SeccompSource::Kind::BuiltinDefault);
    CHECK(first.deniedWithoutCap.count("CAP_SYS_NICE") == 1);
    SeccompPlan second = planSeccomp(spec, std::string("default"), host, tmp.path);
    CHECK(second.compiled.fromCache);
    CHECK(second.compiled.bpf == first.compiled.bpf);
    CHECK(second.compiled.flagBits == first.compiled.flagBits);
    CHECK(second.deniedWithoutCap == first.deniedWithoutCap);
    CHECK(second.ruleCount == first.ruleCount);
    CHECK(second.includedRuleCount == first.includedRuleCount);
    // Same filter as the resolved path would compile.
    CHECK(second.compiled.bpf == compileSeccomp(defaultProfile(0)).bpf);

    // Anything that changes the resolution misses the cache.
    SeccompHost nice = host;
    nice.grantedBounding = 1ULL << CAP_SYS_NICE;
    SeccompPlan withNice = planSeccomp(spec, std::string("default"), nice, tmp.path);
    CHECK(!withNice.compiled.fromCache);
    CHECK(withNice.compiled.bpf != first.compiled.bpf);
    CHECK(withNice.deniedWithoutCap.count("CAP_SYS_NICE") == 0);
    SeccompHost newer = host;
    newer.kernelRelease = "6.2.0";
    CHECK(!planSeccomp(spec, std::string("default"), newer, tmp.path).compiled.fromCache);

    // A profile file: its bytes are the key; editing it misses.
    std::string path = tmp.path + "/p.json";
    auto writeProfile = [&](const std::string& text) {
        std::ofstream out(path, std::ios::trunc);
        out << text;
    };
    writeProfile(kBase);
    CHECK(!planSeccomp(spec, path, host, tmp.path).compiled.fromCache);
    CHECK(planSeccomp(spec, path, host, tmp.path).compiled.fromCache);
    writeProfile(replaced(kBase, "\"errnoRet\":5", "\"errnoRet\":6"));
    CHECK(!planSeccomp(spec, path, host, tmp.path).compiled.fromCache);

    // Warnings survive a hit; strict policy is part of the key (it must still fail).
    writeProfile(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read","no_such_call"],"action":"SCMP_ACT_ALLOW"}]})");
    SeccompPlan lenient = planSeccomp(spec, path, host, tmp.path);
    REQUIRE(lenient.warnings.size() == 1);
    SeccompPlan again = planSeccomp(spec, path, host, tmp.path);
    CHECK(again.compiled.fromCache);
    CHECK(again.warnings == lenient.warnings);
    SeccompHost strict = host;
    strict.strictUnknownSyscalls = true;
    CHECK_THROWS_AS(planSeccomp(spec, path, strict, tmp.path), Error);

    // config.json's filter, and a NOTIFY listener carried by a cached entry.
    Spec withConfig = parseSpec(R"({"ociVersion":"1.1.0","root":{"path":"rootfs"},
      "linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock",
        "listenerMetadata":"m","syscalls":[{"names":["mkdirat"],"action":"SCMP_ACT_NOTIFY"}]}}})");
    SeccompPlan cfg = planSeccomp(withConfig, std::nullopt, host, tmp.path);
    CHECK(!cfg.compiled.fromCache);
    SeccompPlan cfgAgain = planSeccomp(withConfig, std::nullopt, host, tmp.path);
    CHECK(cfgAgain.compiled.fromCache);
    CHECK(cfgAgain.compiled.usesNotify);
    CHECK(cfgAgain.compiled.listenerPath == "/run/agent.sock");
    CHECK(cfgAgain.compiled.listenerMetadata == "m");
    CHECK(cfgAgain.compiled.flagBits == cfg.compiled.flagBits);
    withConfig.linux->seccomp->syscalls[0].names = {"mknodat"};
    CHECK(!planSeccomp(withConfig, std::nullopt, host, tmp.path).compiled.fromCache);

    // No filter at all.
    CHECK(!planSeccomp(spec, std::string("unconfined"), host, tmp.path).compiled.enabled);
    CHECK(!planSeccomp(spec, std::nullopt, host, tmp.path).compiled.enabled);
}
