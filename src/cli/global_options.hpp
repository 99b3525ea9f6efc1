// Command-line parsing shared by every subcommand: the global options callers pass before
// the subcommand (runc's and crun's, plus caprun's own), and a helper that parses one
// subcommand's options with the same error style.
#pragma once

#include <boost/program_options.hpp>

#include <optional>
#include <string>
#include <vector>

#include "caprun/error.hpp"
#include "caprun/rootless.hpp"
#include "caprun/runtime_context.hpp"

namespace caprun {

// A command line that was not understood. Exit status 1, message on stderr.
class UsageError : public Error {
  public:
    using Error::Error;
};

// The global options: what the library needs (RuntimeContext, passed on as it is) and what
// only the command line uses.
struct GlobalOptions : RuntimeContext {
    std::string rootless = "auto";          // true | false | auto
    std::string criu;                       // the CRIU binary; empty: `criu` on PATH
    std::optional<std::string> hostStatus;  // check only: a captured /proc/<pid>/status
    std::optional<int> hostCapLast;         // check only: cap_last_cap for --host-status
    std::string rootError;  // why there is no default state root (see applyRootless)
    bool help = false;
    bool version = false;

    std::vector<std::string> commandArgs;  // everything after the subcommand
};

// The candidate nearest to `typed` by edit distance (the first of equals), if it is near
// enough to be a typo of it (at most 2 edits, or a third of the length); else "". For
// "did you mean" in errors about an unknown command or option.
std::string nearestName(const std::string& typed, const std::vector<std::string>& candidates);

// "unknown option --bundel" made actionable: "; did you mean --bundle?" for the nearest long
// option of `desc` ("" when it has none).
std::string didYouMeanOption(const std::string& typed,
                             const boost::program_options::options_description& desc);

// Parses argv up to and including the subcommand name. Throws UsageError naming the
// option and the allowed values on a bad value, or what was not understood.
GlobalOptions parseGlobalOptions(const std::vector<std::string>& argv);

// Description of the global options, for --help.
const boost::program_options::options_description& globalOptionsDescription();

// Fills rootlessMode/rootlessReason of `g` from g.rootless and `facts`, and g.root when no
// --root was given (g.rootError when rootless without XDG_RUNTIME_DIR: commands that keep
// state report it, spec/check/features do not need a state root).
void applyRootless(GlobalOptions& g, bool rootGiven, const RootlessFacts& facts);

// Parses one subcommand's arguments against `desc` and `positional` (names in order; the
// last may repeat when `restName` is set, collecting the remainder, e.g. exec's command).
// Options may come before or after positionals unless a "--" ends them. Throws UsageError
// "<cmd>: unknown option --x" / "<cmd>: --opt: <why>".
struct CommandLine {
    boost::program_options::variables_map vm;
    std::vector<std::string> positionals;  // in order
};
CommandLine parseCommandLine(const std::string& cmd, const std::vector<std::string>& args,
                             const boost::program_options::options_description& desc,
                             bool stopAtFirstPositionalAfter = false,
                             std::size_t fixedPositionals = 0);

}  // namespace caprun
