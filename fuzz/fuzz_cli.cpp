// libFuzzer target: caprun's command line, parsed as main() and the subcommands parse it
// but without running anything. The input is argv with NUL-separated arguments: global
// options, then the subcommand's own options through parseCommandLine (create's and run's
// full option set from cmd_create.cpp, the --help-only set for the others), then the
// container id check every command makes. Bad input must end in caprun::Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "caprun/error.hpp"
#include "global_options.hpp"
#include "caprun/state.hpp"
#include "commands.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> argv{"caprun"};
    std::string cur;
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            argv.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(data[i]));
        }
    }
    if (!cur.empty()) argv.push_back(cur);
    try {
        caprun::GlobalOptions g = caprun::parseGlobalOptions(argv);
        if (g.command.empty()) return 0;
        auto desc = caprun::cli::commandOptions(g.command);
        bool create = g.command == "create" || g.command == "run";
        if (create) caprun::cli::addCreateOptions(desc);
        auto cl = caprun::parseCommandLine(g.command, g.commandArgs, desc);
        if (create) {
            caprun::CreateOptions o = caprun::cli::createOptionsFrom(g, g.command, cl);
            caprun::StateStore::validateId(o.id);
        } else if (!cl.positionals.empty()) {
            caprun::StateStore::validateId(cl.positionals[0]);
        }
    } catch (const caprun::Error&) {
    }
    return 0;
}
