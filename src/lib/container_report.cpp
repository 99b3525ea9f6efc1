// The annotation run.caprun.report (caprun/container_report.hpp).
#include "caprun/container_report.hpp"

#include <unistd.h>

#include <cerrno>

#include "caprun/error.hpp"

namespace caprun {

ReportTarget reportTarget(const std::map<std::string, std::string>& annotations, bool terminal) {
    auto it = annotations.find(kReportAnnotation);
    if (it == annotations.end() || it->second == "log") return ReportTarget::Log;
    if (it->second != "container")
        throw Error(std::string("annotation ") + kReportAnnotation + ": invalid value \"" +
                    it->second + "\": expected log or container");
    if (terminal)
        throw Error(std::string("annotation ") + kReportAnnotation +
                    "=container: process.terminal is true, and caprun writes its report to the "
                    "container's stderr stream, which a terminal does not give it (use " +
                    kReportAnnotation + "=log)");
    return ReportTarget::Container;
}

std::vector<std::string> containerReportLines(const CapabilityPlan& plan) {
    std::vector<std::string> lines;
    if (plan.refusesToStart()) return lines;  // create fails with the error instead
    const std::string why = std::string(" (cap policy ") + capPolicyName(plan.policy.policy) +
                            ", from " + plan.policy.source + ")";
    for (const auto& d : plan.dropped) lines.push_back("caprun: dropped " + d.describe() + why);
    for (const auto& r : plan.rlimits)
        if (r.shortfall) lines.push_back("caprun: clamped " + r.describe() + why);
    if (plan.oomScoreAdj && plan.oomScoreAdj->shortfall)
        lines.push_back("caprun: clamped " + plan.oomScoreAdj->describe() + "; set to " +
                        std::to_string(plan.oomScoreAdj->value) + why);
    return lines;
}

bool writeReport(int fd, const std::string& text) {
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace caprun
