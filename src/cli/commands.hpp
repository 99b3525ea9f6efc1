// Subcommand entry points. Each parses its own options (after the subcommand name) and
// calls the core library; the return value is the process exit status.
#pragma once

#include <string>
#include <vector>

#include "caprun/container.hpp"
#include "caprun/host_facts.hpp"
#include "global_options.hpp"

namespace caprun::cli {

using Args = std::vector<std::string>;

// One option as --help shows it: what man pages and shell completion are made from.
struct OptionHelp {
    std::string longName;   // "bundle"
    std::string shortName;  // "b", or ""
    std::string parameter;  // "arg (=text)" as --help prints it, "" for a flag
    std::string description;
    bool takesValue() const { return !parameter.empty(); }
};
std::vector<OptionHelp> optionsHelp(const boost::program_options::options_description& desc);

// A subcommand's --help as data: its usage text (what follows "caprun [global options] ")
// and options.
struct CommandHelp {
    std::string usage;
    std::vector<OptionHelp> options;
};

// While a CommandHelpCapture lives, printHelpIfAsked records the usage and options it would
// print in `help` instead of printing them: running a command with "--help" then describes
// it from the very tables its parser uses.
class CommandHelpCapture {
  public:
    CommandHelpCapture();
    ~CommandHelpCapture();
    CommandHelpCapture(const CommandHelpCapture&) = delete;
    CommandHelpCapture& operator=(const CommandHelpCapture&) = delete;
    CommandHelp help;
};

using CommandFn = int (*)(const GlobalOptions&, const Args&);

// A subcommand with its one-line meaning.
struct CommandEntry {
    const char* name;
    const char* summary;
    CommandFn fn;
};

// Every subcommand, in the order --help lists them (main.cpp).
const std::vector<CommandEntry>& commandTable();

// Runs the command with "--help" under a CommandHelpCapture.
CommandHelp describeCommand(const CommandEntry& c);

// A subcommand's option description with --help already in it.
boost::program_options::options_description commandOptions(const std::string& cmd);

// Prints "Usage: caprun [global options] <usage>" and the options when --help was given.
bool printHelpIfAsked(const CommandLine& cl, const std::string& usage,
                      const boost::program_options::options_description& desc);

// Throws UsageError unless min <= positionals <= max; `what` names the missing ones.
void expectPositionals(const std::string& cmd, const CommandLine& cl, std::size_t min,
                       std::size_t max, const std::string& what);

// run/create/exec refuse --host-status / --host-cap-last: they only make sense for check.
void refuseHostStatusOutsideCheck(const GlobalOptions& g, const std::string& cmd);

// The host to plan for: this one, or for check/explain the one described by --host-status.
HostFacts hostFactsFor(const GlobalOptions& g);

int cmdSpec(const GlobalOptions& g, const Args& args);
int cmdCheck(const GlobalOptions& g, const Args& args);
int cmdExplain(const GlobalOptions& g, const Args& args);
int cmdTrace(const GlobalOptions& g, const Args& args);
int cmdRecord(const GlobalOptions& g, const Args& args);

// create and run share their options (bundle, pid-file, console-socket, ...).
void addCreateOptions(boost::program_options::options_description& desc);
CreateOptions createOptionsFrom(const GlobalOptions& g, const std::string& cmd,
                                const CommandLine& cl);
int cmdCreate(const GlobalOptions& g, const Args& args);
int cmdStart(const GlobalOptions& g, const Args& args);
int cmdRun(const GlobalOptions& g, const Args& args);
int cmdExec(const GlobalOptions& g, const Args& args);

// Lifecycle of existing containers (cmd_state.cpp, cmd_kill.cpp, ... cmd_features.cpp).
int cmdState(const GlobalOptions& g, const Args& args);
int cmdKill(const GlobalOptions& g, const Args& args);
int cmdDelete(const GlobalOptions& g, const Args& args);
int cmdPs(const GlobalOptions& g, const Args& args);
int cmdPause(const GlobalOptions& g, const Args& args);
int cmdResume(const GlobalOptions& g, const Args& args);
int cmdUpdate(const GlobalOptions& g, const Args& args);
int cmdList(const GlobalOptions& g, const Args& args);
int cmdFeatures(const GlobalOptions& g, const Args& args);
int cmdCleanup(const GlobalOptions& g, const Args& args);

// CRIU checkpoint and restore (cmd_checkpoint.cpp).
int cmdCheckpoint(const GlobalOptions& g, const Args& args);
int cmdRestore(const GlobalOptions& g, const Args& args);

}  // namespace caprun::cli
