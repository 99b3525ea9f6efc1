// Subcommand entry points. Each parses its own options (after the subcommand name) and
// calls the core library; the return value is the process exit status.
#pragma once

#include <string>
#include <vector>

#include "caprun/global_options.hpp"

namespace caprun::cli {

using Args = std::vector<std::string>;

int cmdSpec(const GlobalOptions& g, const Args& args);
int cmdCheck(const GlobalOptions& g, const Args& args);

}  // namespace caprun::cli
