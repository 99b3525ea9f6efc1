// caprun list: the containers under the state root.
#include <cstdio>
#include <iostream>

#include "caprun/lifecycle.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

int cmdList(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("list");
    desc.add_options()("format,f", po::value<std::string>()->default_value("table"),
                       "table or json (an array of state objects)")("quiet,q",
                                                                    "print only the container ids");
    auto cl = parseCommandLine("list", args, desc);
    if (printHelpIfAsked(cl, "list [--format table|json] [--quiet]", desc)) return 0;
    expectPositionals("list", cl, 0, 0, "");
    std::string format = cl.vm["format"].as<std::string>();
    if (format != "table" && format != "json")
        throw UsageError("list: --format: \"" + format + "\" is not table or json");
    auto all = listContainers(g);
    if (cl.vm.count("quiet")) {
        for (const auto& c : all) std::cout << c.state.id << "\n";
        return 0;
    }
    if (format == "json") {
        std::string out = "[";
        for (std::size_t i = 0; i < all.size(); ++i)
            out += (i ? "," : "") + stateJson(all[i].state, all[i].status);
        std::cout << out << "]\n";
        return 0;
    }
    std::printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
                "OWNER");
    for (const auto& c : all)
        std::printf("%-20s %-8d %-10s %-40s %-32s %s\n", c.state.id.c_str(),
                    c.status == ContainerStatus::Stopped ? 0 : c.state.pid,
                    statusName(c.status).c_str(), c.state.bundle.c_str(), c.state.created.c_str(),
                    c.state.owner.c_str());
    return 0;
}

}  // namespace caprun::cli
