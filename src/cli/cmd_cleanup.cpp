// caprun cleanup: remove the shared caprun/ parent cgroups that delete keeps for the next
// container, where nothing uses them any more.
#include <iostream>

#include "caprun/lifecycle.hpp"
#include "commands.hpp"

namespace caprun::cli {

int cmdCleanup(const GlobalOptions& g, const Args& args) {
    (void)g;  // the parents are below caprun's own cgroup, not in a state root
    auto desc = commandOptions("cleanup");
    auto cl = parseCommandLine("cleanup", args, desc);
    if (printHelpIfAsked(cl, "cleanup", desc)) {
        std::cout
            << "\nRemoves the caprun/ parent cgroup in each hierarchy (below the cgroup\n"
               "caprun runs in; containers without linux.cgroupsPath go there) when no\n"
               "cgroup and no process uses it. delete keeps it for the next container.\n"
               "Prints each parent removed or kept; exit status 1 when removing one failed.\n";
        return 0;
    }
    expectPositionals("cleanup", cl, 0, 0, "");
    int status = 0;
    for (const auto& c : removeIdleCgroupParents()) {
        if (c.removed) {
            std::cout << "removed " << c.dir << "\n";
        } else {
            std::cout << "kept " << c.dir << ": " << c.keptBecause << "\n";
            if (c.failed) status = 1;
        }
    }
    return status;
}

}  // namespace caprun::cli
