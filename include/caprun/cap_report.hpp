// How `caprun check` shows a CapabilityPlan: a table per capability (requested in which
// sets, granted in which, why each drop, predicted after exec) and the same data as JSON
// (keys policy, policySource, host, requested, granted, dropped, predicted, warnings,
// rlimits, oomScoreAdj).
#pragma once

#include <rapidjson/document.h>

#include <functional>
#include <string>

#include "caprun/cap_plan.hpp"

namespace caprun {

struct CheckReport;

// A per-capability note for a dropped capability (e.g. the syscalls seccomp keeps denied
// because of the drop); empty for none.
using CapDropNote = std::function<std::string(const CapDrop&)>;

// The JSON object of the plan, allocated in `alloc`.
rapidjson::Value capabilityPlanJson(const CapabilityPlan& plan,
                                    rapidjson::Document::AllocatorType& alloc,
                                    const CapDropNote& note = nullptr);

// The human-readable section: header lines, the table, rlimit/oom decisions, warnings.
std::string capabilityPlanText(const CapabilityPlan& plan, const CapDropNote& note = nullptr);

// The brief section (check without --verbose): policy and host in one line, capabilities
// grouped by the sets they are requested in, granted in and hold after exec, shortfalls.
std::string capabilityPlanBrief(const CapabilityPlan& plan);

// Appends the text and sets the "capabilities" member of the report.
void addCapabilitySection(CheckReport& report, const CapabilityPlan& plan,
                          const CapDropNote& note = nullptr);

}  // namespace caprun
