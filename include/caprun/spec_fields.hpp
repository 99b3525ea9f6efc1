// Nothing silently ignored: every config field of runtime-spec 1.3 (config.md and
// config-linux.md) has an entry in one table saying whether caprun applies it, refuses it
// or ignores it (fields of other platforms, unknown properties, as the spec requires), and
// why. A planning step lists every field present in a parsed config with its decision;
// a refused one fails create/run (and check) before anything exists, naming the JSON path.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "caprun/platform_facts.hpp"
#include "caprun/spec.hpp"

namespace caprun {

enum class Verdict { Applied, Refused, Ignored };

const char* verdictName(Verdict v);  // "applied", "refused", "ignored"

struct FieldDecision {
    std::string path;   // concrete: "mounts[2].options"
    std::string field;  // the table's key: "mounts[].options"
    Verdict verdict = Verdict::Applied;
    std::string why;
};

using FieldDecider = FieldDecision (*)(const Spec&, const PlatformFacts&, const PresentField&);

struct FieldRule {
    const char* field;  // "[]" marks an array element, "{}" a map value
    Verdict verdict;    // when `decide` is null
    const char* why;
    // Decided as one value: its members are not listed one by one (they still have
    // entries, so the table covers the whole schema).
    bool whole = false;
    FieldDecider decide = nullptr;  // depends on the host or the value
};

// The table, in schema order.
const std::vector<FieldRule>& specFieldRules();
const FieldRule* findFieldRule(const std::string& field);

// Every field present in a config document, at the table's granularity: members of a
// `whole` entry and of plain maps (annotations, sysctl) are not listed; a member the table
// does not know is listed with its own path.
std::vector<PresentField> listPresentFields(const rapidjson::Value& top);

struct FieldPlan {
    std::vector<FieldDecision> fields;
    bool refuses() const;
    // "config.json: process.apparmorProfile: AppArmor is not enabled ...", one line each.
    std::string refusalMessage() const;
};

FieldPlan planSpecFields(const Spec& spec, const PlatformFacts& facts);

// The highest runtime-spec version caprun implements, and the refusal of a newer config
// ("" when `version` is fine).
std::string ociVersionRefusal(const std::string& version);

}  // namespace caprun

namespace caprun {

struct CheckReport;

// check's "fields" section (text and JSON).
void addFieldSection(CheckReport& report, const FieldPlan& plan);

}  // namespace caprun
