#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "global_options.hpp"
#include "caprun/log.hpp"

TEST_CASE("log: a JSON line has level, msg and time, escaped") {
    CHECK(caprun::log::formatJsonLine("error", "bad \"x\"\n", "2026-01-02T03:04:05.000000006Z") ==
          R"({"level":"error","msg":"bad \"x\"\n","time":"2026-01-02T03:04:05.000000006Z"})");
}

TEST_CASE("log: time is RFC3339 in UTC") {
    std::regex rfc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");
    CHECK(std::regex_match(caprun::log::nowRfc3339(), rfc));
}

TEST_CASE("log: --log FILE --log-format json appends one object per line") {
    char tmpl[] = "/tmp/caprun-log-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    caprun::GlobalOptions g;
    g.logFile = tmpl;
    g.logFormat = caprun::LogFormat::Json;
    caprun::log::init(g);
    caprun::log::warn("dropped CAP_SYS_RESOURCE {not a format}");
    caprun::log::debug("not shown without --debug");
    caprun::log::info("info line");
    std::ifstream in(tmpl);
    std::string l1, l2, l3;
    std::getline(in, l1);
    std::getline(in, l2);
    CHECK_FALSE(std::getline(in, l3));
    std::regex line1(
        R"(\{"level":"warn","msg":"dropped CAP_SYS_RESOURCE \{not a format\}","time":"[0-9T:.Z-]+"\})");
    CHECK(std::regex_match(l1, line1));
    CHECK(l2.find(R"("level":"info","msg":"info line")") != std::string::npos);
    ::unlink(tmpl);
    caprun::log::init(caprun::GlobalOptions{});  // back to stderr for other tests
}
