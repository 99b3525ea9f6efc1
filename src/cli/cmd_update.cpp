// caprun update: apply new LinuxResources to a container's cgroup, from a JSON document (as
// containerd/podman/CRI-O pass them) and/or runc's per-resource flags.
#include <sys/stat.h>

#include <iostream>
#include <iterator>
#include <map>

#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/lifecycle.hpp"
#include "caprun/spec.hpp"
#include "caprun/update_flags.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

namespace {

Resources readResources(const std::string& from) {
    json::Document doc;
    if (from == "-") {
        std::string text((std::istreambuf_iterator<char>(std::cin)),
                         std::istreambuf_iterator<char>());
        doc = json::parse(text, "update --resources (stdin)");
    } else {
        doc = json::parseFile(from, from, kMaxConfigBytes);
    }
    auto root = json::Node::root(doc);
    if (!root.isObject()) root.fail("expected a LinuxResources object");
    return parseResources(root);
}

}  // namespace

int cmdUpdate(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("update");
    // clang-format off
    desc.add_options()
        ("resources,r", po::value<std::string>(), "runtime-spec LinuxResources JSON: a file, or - for stdin; the flags below are applied over it (runc ignores them with -r)")
        ("memory", po::value<std::string>(), "memory limit in bytes; units k, m, g, t, p (512m), -1 unlimited")
        ("memory-reservation", po::value<std::string>(), "memory soft limit (same format as --memory)")
        ("memory-swap", po::value<std::string>(), "memory plus swap limit (same format; -1 unlimited)")
        ("cpu-share", po::value<std::string>(), "CPU shares (relative weight)")
        ("cpu-shares", po::value<std::string>(), "the same as --cpu-share")
        ("cpu-quota", po::value<std::string>(), "CFS quota in microseconds per period (-1 unlimited)")
        ("cpu-period", po::value<std::string>(), "CFS period in microseconds")
        ("cpu-burst", po::value<std::string>(), "CFS burst in microseconds")
        ("cpu-rt-period", po::value<std::string>(), "realtime period in microseconds (cgroup v1)")
        ("cpu-rt-runtime", po::value<std::string>(), "realtime runtime in microseconds per period (cgroup v1)")
        ("cpu-idle", po::value<std::string>(), "1: SCHED_IDLE for the cgroup, 0: normal")
        ("cpuset-cpus", po::value<std::string>(), "CPUs to use (0-2,4)")
        ("cpuset-mems", po::value<std::string>(), "memory nodes to use (0-1)")
        ("pids-limit", po::value<std::string>(), "maximum number of processes (-1 unlimited)")
        ("blkio-weight", po::value<std::string>(), "block IO weight, 10 to 1000")
        ("l3-cache-schema", po::value<std::string>(), "Intel RDT/CAT L3 cache schema (needs resctrl; caprun does not manage it: an error)")
        ("mem-bw-schema", po::value<std::string>(), "Intel RDT/MBA memory bandwidth schema (likewise an error)");
    // clang-format on
    auto cl = parseCommandLine("update", args, desc);
    if (printHelpIfAsked(cl, "update [--resources FILE|-] [resource flags] ID", desc)) return 0;
    expectPositionals("update", cl, 1, 1, "container id");
    std::map<std::string, std::string> flags;
    for (const auto& name : updateFlagNames())
        if (cl.vm.count(name)) flags[name] = cl.vm[name].as<std::string>();
    if (cl.vm.count("resources") == 0 && flags.empty())
        throw UsageError("update: give --resources FILE|- and/or resource flags such as --memory");
    Resources base;
    if (cl.vm.count("resources")) base = readResources(cl.vm["resources"].as<std::string>());
    struct stat st {};
    bool resctrl = ::stat("/sys/fs/resctrl/schemata", &st) == 0;
    updateContainer(g, cl.positionals[0], resourcesFromUpdateFlags(base, flags, resctrl));
    return 0;
}

}  // namespace caprun::cli
