// What `caprun check` prints: a readable text and the same data as one JSON object. Each
// concern (spec summary, capability plan, seccomp filter) adds its own section, in full
// (`text`, check --verbose) and in brief (`brief`, the default under the verdict block of
// check_verdict.hpp).
#pragma once

#include <rapidjson/document.h>

#include <string>

#include "caprun/rootfs.hpp"
#include "caprun/seccomp_resolve.hpp"
#include "caprun/spec.hpp"
#include "caprun/sysctl.hpp"

namespace caprun {

struct CheckReport {
    CheckReport() { json.SetObject(); }
    rapidjson::Document json;  // top-level object; sections add members
    std::string text;          // human-readable, sections appended in order
    std::string brief;         // the same sections in a few lines each (no per-item lists)
    rapidjson::Document::AllocatorType& alloc() { return json.GetAllocator(); }
    // Adds (or replaces) a top-level member.
    void set(const std::string& key, rapidjson::Value value);
};

// Bundle, process, user, namespaces, mounts and the capabilities as requested.
void addSpecSummary(CheckReport& report, const Spec& spec, const std::string& bundle);

// linux.sysctl as planSysctls decided it: each key accepted (and in which namespace) or
// refused (and why); "error" when create would refuse the config.
void addSysctlSection(CheckReport& report, const SysctlPlan& plan);

// What the rootfs plan changed so that a mount can be made (a new user namespace): one
// "Mount note:" line each and the "mountNotes" member.
void addRootfsNotes(CheckReport& report, const RootfsPlan& plan);

// The seccomp filter as resolved: its text and the "seccomp" member (renderSeccompText and
// renderSeccompJson of caprun/seccomp_report.hpp).
void addSeccompSection(CheckReport& report, const ResolvedSeccomp& r);

// The JSON object, pretty-printed, with a trailing newline.
std::string renderJson(const CheckReport& report);

// A rapidjson string value copied into the report's allocator.
rapidjson::Value jsonString(CheckReport& report, const std::string& s);

}  // namespace caprun
