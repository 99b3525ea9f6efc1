// caprun check: load and validate a bundle, and show what would run and why.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "caprun/cap_plan.hpp"
#include "caprun/cap_report.hpp"
#include "caprun/cgroup_placement.hpp"
#include "caprun/check_report.hpp"
#include "caprun/check_verdict.hpp"
#include "caprun/container_process.hpp"
#include "caprun/log.hpp"
#include "caprun/namespaces.hpp"
#include "caprun/process_plan.hpp"
#include "caprun/error.hpp"
#include "caprun/explain.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_resolve.hpp"
#include "caprun/spec.hpp"
#include "caprun/spec_fields.hpp"
#include "caprun/systemd_bus.hpp"
#include "caprun/systemd_cgroup.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

int cmdCheck(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("check");
    // clang-format off
    desc.add_options()
        ("bundle,b", po::value<std::string>()->default_value("."), "bundle directory holding config.json")
        ("format,f", po::value<std::string>()->default_value("text"), "output format: text or json")
        ("verbose", "text: every section in full (each field, mount, capability, seccomp rule, cgroup path) under the verdict")
        ("seccomp-profile", po::value<std::string>(), "seccomp profile: a JSON file (dockerd's format), \"default\" (built in) or \"unconfined\"; replaces config.json's linux.seccomp");
    // clang-format on
    auto cl = parseCommandLine("check", args, desc);
    if (printHelpIfAsked(cl,
                         "check [--bundle DIR] [--format text|json] [--verbose] [--seccomp-profile "
                         "PATH|default|unconfined]",
                         desc))
        return 0;
    expectPositionals("check", cl, 0, 0, "");
    const std::string format = cl.vm["format"].as<std::string>();
    if (format != "text" && format != "json")
        throw UsageError("invalid value \"" + format +
                         "\" for check --format: expected one of text, json");
    const std::string bundle = cl.vm["bundle"].as<std::string>();

    Spec spec = loadBundleSpec(bundle);
    if (!spec.process) throw Error("config.json: process: required to create a container");
    CheckReport report;
    addSpecSummary(report, spec, bundle);
    // The same sysctl decision as create: namespaces planned, joined paths checked.
    const NamespacePlan ns = planNamespaces(spec);
    const SysctlPlan sysctl =
        planSysctls(spec.linux ? spec.linux->sysctl : std::map<std::string, std::string>{}, ns,
                    probeSysctlHostFacts(ns));
    addSysctlSection(report, sysctl);
    const FieldPlan fields = planSpecFields(spec, PlatformFacts::probe());
    addFieldSection(report, fields);
    // The rootfs planner create uses: its refusal is printed with the rest, then fails check.
    std::string rootfsRefusal;
    try {
        addRootfsNotes(report, planRootfs(spec, absolutePath(bundle), false, ns.newUserNamespace(),
                                          ns.newCgroup, ns.has(NamespaceKind::Mount)));
    } catch (const Error& e) {
        rootfsRefusal = e.what();
        report.text += "Mounts:      ERROR: " + rootfsRefusal + "\n";
        report.brief += "Mounts:      ERROR: " + rootfsRefusal + "\n";
    }

    // Seccomp gates are evaluated against the bounding set the capability planner grants.
    std::optional<std::string> seccompProfile;
    if (cl.vm.count("seccomp-profile")) seccompProfile = cl.vm["seccomp-profile"].as<std::string>();
    const std::string rootfs = spec.root.path.empty() || spec.root.path.front() == '/'
                                   ? spec.root.path
                                   : bundle + "/" + spec.root.path;
    // The planner create uses, with the request create builds: check prints that plan.
    CreateOptions o;
    o.seccompProfile = seccompProfile;
    ProcessRequest request = initProcessRequest(g, o, rootfs, ns.newUserNamespace());
    request.seccompCacheRoot.clear();  // check compiles without writing the state root's cache
    // A refused field (an LSM label, a scheduler value) stops the process planner as it stops
    // create; the report then shows the refusal and the capabilities without a process plan.
    std::optional<ProcessPlan> plan;
    HostFacts host = hostFactsFor(g);
    host.joinedSetgroupsDenied = probeJoinedSetgroups(spec);
    if (!fields.refuses())
        plan = planProcess(spec, *spec.process, request, host, PlatformFacts::probe());
    const CapabilityPlan capPlan =
        plan ? plan->capabilities : planForContainer(spec, g.capPolicy, rootfs, host);
    const auto seccomp =
        resolveSeccomp(selectSeccomp(spec, seccompProfile), seccompHostFor(capPlan));
    const CapDropNote note = [&](const CapDrop& d) {
        return capDropNote(capPlan, seccomp.deniedWithoutCap, d);
    };
    addCapabilitySection(report, capPlan, note);
    addSeccompSection(report, seccomp);
    if (plan) addProcessSection(report, *plan);
    // The cgroupfs placement create makes, with the rootless decision (skipped without a
    // delegated cgroup); refused resources fail check as they fail create.
    std::string cgroupRefusal;
    const bool systemdDriver = g.systemdCgroup || g.cgroupManager == "systemd";
    if (!systemdDriver && spec.linux) {
        try {
            addCgroupSection(
                report, planCgroupPlacement(selectCgroupManager(g), g.rootlessMode, spec, "<id>",
                                            capPolicyName(capPlan.policy.policy)));
        } catch (const Error& e) {
            cgroupRefusal = e.what();
            report.text += "Cgroups:     ERROR: " + cgroupRefusal + "\n";
            report.brief += "Cgroups:     ERROR: " + cgroupRefusal + "\n";
            rapidjson::Value err(rapidjson::kObjectType);
            err.AddMember("error", jsonString(report, cgroupRefusal), report.alloc());
            report.set("cgroups", std::move(err));
        }
    }
    // The same planner create uses; shown whether or not systemd runs here.
    if (systemdDriver && spec.linux) {
        const Resources* res = spec.linux->resources ? &*spec.linux->resources : nullptr;
        addSystemdCgroupSection(
            report, planSystemdCgroup(spec.linux->cgroupsPath, "<id>", res, spec.linux->devices,
                                      detectSystemdHostFacts(g.rootlessMode)));
    }

    // The verdict: what create refuses under each policy, from the same planners. The
    // policy-independent refusals come first, in the order create meets them.
    std::vector<std::string> common;
    if (fields.refuses()) common.push_back(fields.refusalMessage());
    if (sysctl.refused()) common.push_back(sysctl.error());
    if (!rootfsRefusal.empty()) common.push_back(rootfsRefusal);
    auto outcomeFor = [&](CapPolicy policy) {
        PolicyOutcome out{policy, common};
        if (policy == capPlan.policy.policy) {
            if (plan && !plan->refusal.empty()) out.refusals.push_back(plan->refusal);
            if (!plan && capPlan.refusesToStart())
                out.refusals.push_back(capPlan.shortfallMessage(note));
            if (!cgroupRefusal.empty()) out.refusals.push_back(cgroupRefusal);
            return out;
        }
        const std::string name = capPolicyName(policy);
        try {
            if (!fields.refuses()) {
                ProcessRequest other = request;
                other.capPolicy = name;
                const ProcessPlan p =
                    planProcess(spec, *spec.process, other, host, PlatformFacts::probe());
                if (!p.refusal.empty()) out.refusals.push_back(p.refusal);
            } else if (CapabilityPlan c = planForContainer(spec, name, rootfs, host);
                       c.refusesToStart()) {
                out.refusals.push_back(c.shortfallMessage(note));
            }
        } catch (const Error& e) {
            out.refusals.push_back(e.what());
        }
        if (!systemdDriver && spec.linux) {
            try {
                planCgroupPlacement(selectCgroupManager(g), g.rootlessMode, spec, "<id>", name);
            } catch (const Error& e) {
                out.refusals.push_back(e.what());
            }
        }
        return out;
    };
    const CheckVerdict verdict = makeCheckVerdict(capPlan, seccomp, outcomeFor(CapPolicy::Strict),
                                                  outcomeFor(CapPolicy::Lenient));

    if (format == "json") {
        addVerdict(report, verdict);
        std::cout << renderJson(report);
    } else {
        // Colour only for a terminal, and never when NO_COLOR is set (no-color.org).
        const char* noColor = std::getenv("NO_COLOR");
        const bool colour = isatty(STDOUT_FILENO) == 1 && (noColor == nullptr || *noColor == '\0');
        for (const auto& line : verdictLines(verdict, colour)) std::cout << line << "\n";
        std::cout << "\n";
        if (cl.vm.count("verbose")) {
            std::cout << report.text;
        } else {
            std::cout << report.brief
                      << "(check --verbose: every field, mount, capability, seccomp rule and "
                         "cgroup; --format json: all of it as data)\n";
        }
    }
    // A refused field fails check as it fails create/run.
    if (fields.refuses()) throw Error(fields.refusalMessage());
    // check fails exactly as create/run would: a refused sysctl, strict policy's shortfall.
    if (sysctl.refused()) throw Error(sysctl.error());
    if (plan && !plan->refusal.empty()) throw Error(plan->refusal);
    if (!rootfsRefusal.empty()) throw Error(rootfsRefusal);
    if (!cgroupRefusal.empty()) throw Error(cgroupRefusal);
    return 0;
}

}  // namespace caprun::cli
