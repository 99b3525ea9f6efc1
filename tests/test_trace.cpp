// Attribution of traced EPERM/EACCES failures (no BPF needed): a denied capability check in
// the same syscall is the capability; else an errno rule of the container's filter with the
// same errno is seccomp; else something else. Once per (syscall, cause).
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <sys/syscall.h>

#include "caprun/trace.hpp"
#include "caprun/trace_monitor.hpp"

using namespace caprun;

namespace {

HostFacts fullHost() {
    HostFacts h;
    h.caps.bounding = h.caps.permitted = h.caps.effective = (CapMask{1} << 41) - 1;
    h.capLastCap = 40;
    h.kernelRelease = "6.1.0";
    return h;
}

Spec rootSpec() {
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process p;
    p.args = {"/bin/sh"};
    std::vector<std::string> caps = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
    p.capabilities = Capabilities{caps, caps, {}, caps, {}};
    s.process = p;
    return s;
}

EpermReport report(const std::optional<std::string>& profile) {
    Spec s = rootSpec();
    CapabilityPlan p = planCapabilities(s, fullHost(), PolicyChoice{}, {});
    SelectedSeccomp sel = selectSeccomp(s, profile);
    return EpermReport(s, p, sel);
}

TraceEvent event(long nr, int err, CapMask denied, bool sawEnter = true) {
    TraceEvent e;
    e.pid = 4242;
    e.tid = 4242;
    e.comm = "probe";
    e.syscallNr = nr;
    e.error = err;
    e.deniedCaps = denied;
    e.sawEnter = sawEnter;
    return e;
}

}  // namespace

TEST_CASE("a denied capability check inside the failing syscall is the cause") {
    EpermReport r = report(std::nullopt);
    const TraceFinding* f = r.add(event(SYS_settimeofday, 1, CapMask{1} << CAP_SYS_TIME));
    REQUIRE(f);
    CHECK(f->syscall == "settimeofday");
    CHECK(f->cause == "capability");
    CHECK(f->caps == std::vector<std::string>{"CAP_SYS_TIME"});
    CHECK(f->pid == 4242);
    CHECK(f->comm == "probe");
    REQUIRE(f->fixes.size() == 1);
    CHECK(f->fixes[0].cap == "CAP_SYS_TIME");
    CHECK(f->fixes[0].kind == CapFix::Kind::Container);
    std::string text = traceFindingText(*f);
    CHECK(text.find("pid 4242 (probe): settimeofday failed with EPERM — capability") !=
          std::string::npos);
    CHECK(text.find("docker run --cap-add SYS_TIME") != std::string::npos);
    // Once per (syscall, cause): the second one only counts.
    CHECK(r.add(event(SYS_settimeofday, 1, CapMask{1} << CAP_SYS_TIME)) == nullptr);
    REQUIRE(r.findings().size() == 1);
    CHECK(r.findings()[0].count == 2);
}

TEST_CASE("no capability check, an errno rule of the filter with that errno: seccomp") {
    EpermReport r = report(std::string("default"));
    const TraceFinding* f = r.add(event(SYS_get_mempolicy, 1, 0, false));
    REQUIRE(f);
    CHECK(f->cause == "seccomp");
    CHECK(f->rule == "defaultAction");
    REQUIRE(!f->fixes.empty());
    CHECK(f->fixes[0].cap == "CAP_SYS_NICE");
    // The same syscall failing with another errno than the filter's is not the filter.
    const TraceFinding* other = r.add(event(SYS_get_mempolicy, 13, 0));
    REQUIRE(other);
    CHECK(other->cause == "something else");
}

TEST_CASE("no capability check and a filter that allows it: something else") {
    EpermReport r = report(std::nullopt);
    const TraceFinding* f = r.add(event(SYS_openat, 13, 0));
    REQUIRE(f);
    CHECK(f->cause == "something else");
    CHECK(f->detail.find("file permissions") != std::string::npos);
    CHECK(f->fixes.empty());
    CHECK(r.summaryText().find("openat failed with EACCES") != std::string::npos);
    CHECK(r.summaryJson().find("\"cause\":\"something else\"") != std::string::npos);
}

TEST_CASE("the annotation is true or false, anything else is an error") {
    CHECK(traceEpermAnnotated({{"run.caprun.trace-eperm", "true"}}));
    CHECK(!traceEpermAnnotated({{"run.caprun.trace-eperm", "false"}}));
    CHECK(!traceEpermAnnotated({}));
    CHECK_THROWS(traceEpermAnnotated({{"run.caprun.trace-eperm", "yes"}}));
}

TEST_CASE("the detached tracer's command line: the same state root, log and policy as create") {
    RuntimeContext g;
    g.root = "/run/caprun";
    CHECK(traceMonitorArgs(g, "caprun", "c1") ==
          std::vector<std::string>{"caprun", "--root", "/run/caprun", "trace", "c1",
                                   "--report-on-exit", "--ready-fd", "3"});
    g.logFile = "/b/log.json";
    g.logFormat = LogFormat::Json;
    g.debug = true;
    g.capPolicy = "strict";
    CHECK(traceMonitorArgs(g, "caprun", "c1") ==
          std::vector<std::string>{"caprun", "--root", "/run/caprun", "--log", "/b/log.json",
                                   "--log-format", "json", "--debug", "--cap-policy", "strict",
                                   "trace", "c1", "--report-on-exit", "--ready-fd", "3"});
}
