// caprun state: print the runtime-spec state of a container.
#include <iostream>

#include "caprun/lifecycle.hpp"
#include "commands.hpp"

namespace caprun::cli {

int cmdState(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("state");
    auto cl = parseCommandLine("state", args, desc);
    if (printHelpIfAsked(cl, "state ID", desc)) return 0;
    expectPositionals("state", cl, 1, 1, "container id");
    std::cout << containerStateJson(g, cl.positionals[0]) << "\n";
    return 0;
}

}  // namespace caprun::cli
