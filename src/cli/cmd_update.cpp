// caprun update: apply new LinuxResources (JSON, as containerd/podman/CRI-O pass them) to a
// container's cgroup.
#include <iostream>
#include <iterator>

#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/lifecycle.hpp"
#include "caprun/spec.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

int cmdUpdate(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("update");
    desc.add_options()("resources,r", po::value<std::string>(),
                       "runtime-spec LinuxResources JSON: a file, or - for stdin (required; "
                       "caprun has no per-resource flags such as runc's --memory)");
    auto cl = parseCommandLine("update", args, desc);
    if (printHelpIfAsked(cl, "update --resources FILE|- ID", desc)) return 0;
    expectPositionals("update", cl, 1, 1, "container id");
    if (cl.vm.count("resources") == 0) throw UsageError("update: --resources FILE|- is required");
    std::string from = cl.vm["resources"].as<std::string>();
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
    updateContainer(g, cl.positionals[0], parseResources(root));
    return 0;
}

}  // namespace caprun::cli
