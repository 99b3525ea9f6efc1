// caprun's man pages, written in roff from the tables --help prints (the command table,
// the global options and each command's options as its parser declares them), so a page
// cannot say something --help does not. The build runs `caprun __man [COMMAND]` to make
// caprun.8 and caprun-COMMAND.8 (doc/meson.build).
#pragma once

#include <string>
#include <vector>

#include "commands.hpp"

namespace caprun::cli {

// Text made safe for roff: backslashes, hyphens (as \-, the minus options are spelled
// with) and a leading '.' or '\''.
std::string roffEscape(const std::string& text);

// caprun.8: the commands and the global options.
std::string caprunManPage(const std::vector<CommandEntry>& commands,
                          const std::vector<OptionHelp>& globalOptions);

// caprun-<name>.8 from the command's --help.
std::string commandManPage(const CommandEntry& command, const CommandHelp& help);

// `caprun __man [COMMAND]`: prints the page; exit status 1 for an unknown command.
int printManPage(const Args& args);

}  // namespace caprun::cli
