// caprun explain: why a syscall fails in a container (seccomp rule, kernel capability check)
// and the fix, from the same plans `check` makes.
#include <iostream>

#include "caprun/cap_plan.hpp"
#include "caprun/error.hpp"
#include "caprun/explain.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/spec.hpp"
#include "caprun/state.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

int cmdExplain(const GlobalOptions& gIn, const Args& args) {
    auto desc = commandOptions("explain");
    // clang-format off
    desc.add_options()
        ("bundle,b", po::value<std::string>(), "explain for this bundle (else the first argument is a created or running container's id)")
        ("format,f", po::value<std::string>()->default_value("text"), "output format: text or json")
        ("seccomp-profile", po::value<std::string>(), "with --bundle: the seccomp profile as for check (a JSON file, \"default\" or \"unconfined\")");
    // clang-format on
    auto cl = parseCommandLine("explain", args, desc);
    if (printHelpIfAsked(cl,
                         "explain --bundle DIR [--seccomp-profile P] [--format text|json] "
                         "SYSCALL...\n       caprun [global options] explain ID SYSCALL...\n\n"
                         "For each syscall: what the seccomp filter does with it and which rule "
                         "decides, the capabilities the kernel checks in it and whether the "
                         "container holds them after execve, and the fix in config.json, docker, "
                         "Kubernetes, podman and ctr terms. --host-status FILE (global) plans for "
                         "another host.",
                         desc))
        return 0;
    const std::string format = cl.vm["format"].as<std::string>();
    if (format != "text" && format != "json")
        throw UsageError("invalid value \"" + format +
                         "\" for explain --format: expected one of text, json");

    GlobalOptions g = gIn;
    std::string bundle, rootfs, policyNote;
    std::optional<std::string> seccompProfile;
    std::vector<std::string> syscalls = cl.positionals;
    if (cl.vm.count("bundle")) {
        expectPositionals("explain", cl, 1, cl.positionals.size(), "syscall name");
        bundle = cl.vm["bundle"].as<std::string>();
        if (cl.vm.count("seccomp-profile"))
            seccompProfile = cl.vm["seccomp-profile"].as<std::string>();
    } else {
        expectPositionals("explain", cl, 2, cl.positionals.size(), "container id and syscall name");
        if (cl.vm.count("seccomp-profile"))
            throw UsageError(
                "explain ID: --seccomp-profile is only for --bundle; a container keeps the "
                "profile it was created with");
        StateStore store(g.root);
        const ContainerState st = store.load(cl.positionals[0]);
        bundle = st.bundle;
        rootfs = st.rootfs;
        seccompProfile = st.seccompProfile;
        if (!g.capPolicy && !st.capPolicy.empty()) {
            g.capPolicy = st.capPolicy;
            policyNote = "container " + st.id + "'s create";
        }
        syscalls.erase(syscalls.begin());
    }
    validateSyscallNames(syscalls);

    Spec spec = loadBundleSpec(bundle);
    if (rootfs.empty())
        rootfs = spec.root.path.empty() || spec.root.path.front() == '/'
                     ? spec.root.path
                     : bundle + "/" + spec.root.path;
    CapabilityPlan plan = planForContainer(spec, g.capPolicy, rootfs, hostFactsFor(g));
    if (!policyNote.empty()) plan.policy.source = policyNote;
    const auto explained =
        explainSyscalls(spec, plan, selectSeccomp(spec, seccompProfile), syscalls);
    std::cout << (format == "json" ? explainJson(explained, plan) : explainText(explained, plan));
    return 0;
}

}  // namespace caprun::cli
