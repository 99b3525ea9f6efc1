// The annotation run.caprun.report and what caprun reports for a pod's containers: the
// lines for the container's stderr, and the pod sandbox's oom score (containerd's -998) as
// the caller's, clamped under either policy. Expected text is written out here.
#include <doctest/doctest.h>

#include <linux/capability.h>

#include "caprun/cap_plan.hpp"
#include "caprun/container_report.hpp"
#include "caprun/error.hpp"

using namespace caprun;

namespace {

HostFacts noSysResource() {
    HostFacts h;
    const CapMask all = (CapMask{1} << 41) - 1;
    h.caps.bounding = h.caps.permitted = h.caps.effective =
        all & ~(CapMask{1} << CAP_SYS_RESOURCE) & ~(CapMask{1} << CAP_SYS_MODULE);
    h.capLastCap = 40;
    h.kernelRelease = "6.1.0";
    h.oomScoreAdj = 0;
    return h;
}

Spec podSpec(bool sandbox, int oom) {
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process p;
    p.args = {"/pause"};
    p.oomScoreAdj = oom;
    s.process = p;
    s.linux.emplace();
    if (sandbox) s.annotations[kCriContainerTypeAnnotation] = "sandbox";
    return s;
}

CapabilityPlan planWith(const Spec& s, CapPolicy policy) {
    return planCapabilities(s, noSysResource(), {policy, "annotation run.caprun.cap-policy"},
                            ExecutableInfo{});
}

}  // namespace

TEST_CASE("run.caprun.report: log by default, container, anything else refused by name") {
    CHECK(reportTarget({}, false) == ReportTarget::Log);
    CHECK(reportTarget({{"run.caprun.report", "log"}}, true) == ReportTarget::Log);
    CHECK(reportTarget({{"run.caprun.report", "container"}}, false) == ReportTarget::Container);
    CHECK_THROWS_WITH_AS(reportTarget({{"run.caprun.report", "stderr"}}, false),
                         "annotation run.caprun.report: invalid value \"stderr\": expected log "
                         "or container",
                         Error);
    // A terminal is no stream: refused rather than the lines lost.
    CHECK_THROWS_WITH_AS(reportTarget({{"run.caprun.report", "container"}}, true),
                         doctest::Contains("run.caprun.report=container: process.terminal is true"),
                         Error);
}

TEST_CASE("report lines: one per dropped capability, prefixed, with the policy and why") {
    Spec s = podSpec(false, 0);
    s.process->oomScoreAdj.reset();
    Capabilities caps;
    caps.bounding = caps.effective = caps.permitted = {"CAP_CHOWN", "CAP_SYS_MODULE"};
    s.process->capabilities = caps;
    auto lines = containerReportLines(planWith(s, CapPolicy::Lenient));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("caprun: dropped CAP_SYS_MODULE (bounding, effective, permitted): ", 0) ==
          0);
    CHECK(lines[0].find("(cap policy lenient, from annotation run.caprun.cap-policy)") !=
          std::string::npos);
    // Strict refuses: create fails with the error, nothing is reported as dropped.
    CHECK(containerReportLines(planWith(s, CapPolicy::Strict)).empty());
    // Nothing dropped, nothing written.
    caps.bounding = caps.effective = caps.permitted = {"CAP_CHOWN"};
    s.process->capabilities = caps;
    CHECK(containerReportLines(planWith(s, CapPolicy::Lenient)).empty());
}

TEST_CASE("the pod sandbox's oom score is the caller's: clamped under strict too") {
    auto sandbox = planWith(podSpec(true, -998), CapPolicy::Strict);
    CHECK_FALSE(sandbox.refusesToStart());
    REQUIRE(sandbox.oomScoreAdj);
    CHECK(sandbox.oomScoreAdj->callersOwn);
    CHECK(sandbox.oomScoreAdj->value == 0);
    CHECK(sandbox.shortfallMessage().find(
              "clamped process.oomScoreAdj: -998 requested by the caller for the pod sandbox "
              "(io.kubernetes.cri.container-type=sandbox), clamped under either cap policy, "
              "below the runtime's own 0") != std::string::npos);
    // The same score asked for a pod's own container is the pod's: strict refuses it.
    auto container = planWith(podSpec(false, -998), CapPolicy::Strict);
    CHECK(container.refusesToStart());
    CHECK_FALSE(container.oomScoreAdj->callersOwn);
    CHECK(container.oomScoreAdj->value == -998);
    // A sandbox that also asks for a capability the node lacks (a privileged pod) is
    // refused under strict for that, and the error does not blame the oom score.
    Spec priv = podSpec(true, -998);
    Capabilities caps;
    caps.bounding = caps.effective = caps.permitted = {"CAP_SYS_MODULE"};
    priv.process->capabilities = caps;
    auto refused = planWith(priv, CapPolicy::Strict);
    CHECK(refused.refusesToStart());
    CHECK(refused.shortfallMessage().find("CAP_SYS_MODULE") != std::string::npos);
    CHECK(refused.shortfallMessage().find("oomScoreAdj") == std::string::npos);
    // Lenient clamps the sandbox's as before.
    CHECK(planWith(podSpec(true, -998), CapPolicy::Lenient).oomScoreAdj->value == 0);
}
