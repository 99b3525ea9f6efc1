// Hostile sizes: inputs an untrusted bundle or caller can hand caprun that are far larger or
// deeper than any real one. Each is handled or refused with an error that says why; none
// may crash the runtime or overflow its stack. The inputs are generated here.
#include <doctest/doctest.h>

#include <seccomp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>

#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_resolve.hpp"
#include "caprun/spec.hpp"

namespace fs = std::filesystem;
using namespace caprun;

namespace {

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

// The smallest config parseSpec accepts, with `extra` spliced into "process".
std::string configWith(const std::string& top, const std::string& process = "") {
    return R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},)" + top +
           R"("process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["/bin/true"])" + process + "}}";
}

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/caprun-hostile.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { fs::remove_all(path); }
};

// Peak resident memory of this process so far, in KiB.
long peakRssKiB() {
    struct rusage ru {};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

}  // namespace

TEST_CASE("hostile sizes: a 100 MB config.json is refused before it is read") {
    TempDir d;
    fs::create_directory(d.path / "rootfs");
    {
        std::ofstream f(d.path / "config.json");
        f << configWith("");
    }
    // Sparse: the size is what matters, the bytes cost nothing.
    fs::resize_file(d.path / "config.json", 100u * 1024 * 1024);
    long before = peakRssKiB();
    std::string err = errorOf([&] { loadBundleSpec(d.path.string()); });
    CHECK(err.find("config.json: ") == 0);
    CHECK(err.find("is 104857600 bytes, over the limit of " + std::to_string(kMaxConfigBytes) +
                   " bytes") != std::string::npos);
    // Refused from fstat's size: nothing near the file's size was allocated.
    CHECK(peakRssKiB() - before < 16 * 1024);
}

TEST_CASE("hostile sizes: JSON nested 10^5 deep is refused, not a stack overflow") {
    const std::size_t depth = 100000;
    SUBCASE("arrays at the top") {
        std::string text(depth, '[');
        text += std::string(depth, ']');
        CHECK(errorOf([&] { json::parse(text, "x.json"); }) ==
              "x.json: JSON nested deeper than " + std::to_string(json::kMaxNesting) +
                  " levels at line 1, column " + std::to_string(json::kMaxNesting + 1));
    }
    SUBCASE("objects inside an annotation of config.json") {
        std::string deep;
        for (std::size_t i = 0; i < depth; ++i) deep += "{\"a\":";
        deep += "1" + std::string(depth, '}');
        std::string err =
            errorOf([&] { parseSpec(configWith("\"annotations\":{\"x\":" + deep + "},")); });
        CHECK(err.find("config.json: JSON nested deeper than ") == 0);
    }
    SUBCASE("4 * 10^6 deep, under the config size limit: overflowed the recursive parser") {
        std::string text(4000000, '[');
        text += std::string(4000000, ']');
        REQUIRE(text.size() < kMaxConfigBytes);
        CHECK(errorOf([&] { parseSpec(text); }).find("config.json: JSON nested deeper than ") == 0);
    }
    SUBCASE("unterminated, as a truncated file would be") {
        std::string text(depth, '[');
        CHECK(errorOf([&] { json::parse(text, "x.json"); }).find("nested deeper than") !=
              std::string::npos);
    }
    SUBCASE("brackets inside strings do not count, the nesting limit itself parses") {
        std::string s = "[\"" + std::string(depth, '[') + "\\\"" + std::string(depth, '{') + "\"]";
        CHECK(json::parse(s, "x.json").doc->IsArray());
        std::string ok(json::kMaxNesting, '[');
        ok += std::string(json::kMaxNesting, ']');
        CHECK(json::parse(ok, "x.json").doc->IsArray());
        std::string over(json::kMaxNesting + 1, '[');
        over += std::string(json::kMaxNesting + 1, ']');
        CHECK(errorOf([&] { json::parse(over, "x.json"); }).find("nested deeper than") !=
              std::string::npos);
    }
}

TEST_CASE("hostile sizes: 10^5 mounts and 10^5 env vars parse within the config limit") {
    const std::size_t n = 100000;
    std::string mounts = "\"mounts\":[";
    for (std::size_t i = 0; i < n; ++i) {
        if (i) mounts += ',';
        mounts +=
            R"({"destination":"/m)" + std::to_string(i) + R"(","type":"tmpfs","source":"tmpfs"})";
    }
    mounts += "],";
    std::string env = ",\"env\":[";
    for (std::size_t i = 0; i < n; ++i) {
        if (i) env += ',';
        env += "\"V" + std::to_string(i) + "=x\"";
    }
    env += "]";
    std::string text = configWith(mounts, env);
    REQUIRE(text.size() < kMaxConfigBytes);
    Spec spec = parseSpec(text);
    REQUIRE(spec.mounts.size() == n);
    CHECK(spec.mounts[n - 1].destination == "/m" + std::to_string(n - 1));
    CHECK(spec.mounts[n - 1].jsonPath == "mounts[" + std::to_string(n - 1) + "]");
    REQUIRE(spec.process.has_value());
    CHECK(spec.process->env.size() == n);
    CHECK(spec.process->env.back() == "V" + std::to_string(n - 1) + "=x");
}

TEST_CASE("hostile sizes: a seccomp profile with 10^5 rules") {
    const std::size_t n = 100000;
    std::string text =
        R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[)";
    for (std::size_t i = 0; i < n; ++i) {
        if (i) text += ',';
        // Distinct rules for one syscall: same name, a different argument each time.
        text +=
            R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":)" +
            std::to_string(i) + R"(,"op":"SCMP_CMP_EQ"}]})";
    }
    text += "]}";
    SUBCASE("as a --seccomp-profile file it is over the size limit") {
        TempDir d;
        std::ofstream(d.path / "p.json") << text;
        Spec spec;
        std::string err =
            errorOf([&] { selectSeccomp(spec, (d.path / "p.json").string(), SCMP_ARCH_X86_64); });
        CHECK(err.find("loading the seccomp profile from --seccomp-profile: ") == 0);
        CHECK(err.find("larger than 4 MiB") != std::string::npos);
    }
    SUBCASE("parsed from memory, as config.json's linux.seccomp is, it resolves") {
        Seccomp s = parseSeccompProfile(text, "p.json", SCMP_ARCH_X86_64);
        CHECK(s.syscalls.size() == n);
        SelectedSeccomp sel;
        sel.source.kind = SeccompSource::Kind::ProfileFile;
        sel.source.path = "p.json";
        sel.filter = s;
        SeccompHost host;
        host.kernelRelease = "6.1.0";
        ResolvedSeccomp r = resolveSeccomp(sel, host);
        CHECK(r.includedRuleCount() == n);
    }
}
