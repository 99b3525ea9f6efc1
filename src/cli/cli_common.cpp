// Helpers every subcommand uses to parse its own options; apart from main.cpp so that the
// fuzz target for the command line (fuzz/fuzz_cli.cpp) parses exactly what caprun parses.
#include <iostream>

#include "caprun/host_facts.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace {
CommandHelpCapture* gCapture = nullptr;
}

CommandHelpCapture::CommandHelpCapture() {
    gCapture = this;
}

CommandHelpCapture::~CommandHelpCapture() {
    gCapture = nullptr;
}

std::vector<OptionHelp> optionsHelp(const boost::program_options::options_description& desc) {
    namespace style = boost::program_options::command_line_style;
    std::vector<OptionHelp> out;
    for (const auto& o : desc.options()) {
        OptionHelp h;
        h.longName = o->long_name();
        // "-b" when the option has a short name, else the long one again.
        const std::string shortForm = o->canonical_display_name(style::allow_dash_for_short);
        if (shortForm.size() == 2 && shortForm[0] == '-') h.shortName = shortForm.substr(1);
        h.parameter = o->format_parameter();
        h.description = o->description();
        out.push_back(std::move(h));
    }
    return out;
}

CommandHelp describeCommand(const CommandEntry& c) {
    CommandHelpCapture capture;
    c.fn(GlobalOptions{}, {"--help"});
    return capture.help;
}

boost::program_options::options_description commandOptions(const std::string& cmd) {
    boost::program_options::options_description d("Options of caprun " + cmd, 110, 55);
    d.add_options()("help,h", "show this help");
    return d;
}

bool printHelpIfAsked(const CommandLine& cl, const std::string& usage,
                      const boost::program_options::options_description& desc) {
    if (cl.vm.count("help") == 0) return false;
    if (gCapture != nullptr) {
        gCapture->help = CommandHelp{usage, optionsHelp(desc)};
        return true;
    }
    std::cout << "Usage: caprun [global options] " << usage << "\n\n" << desc << "\n";
    return true;
}

void expectPositionals(const std::string& cmd, const CommandLine& cl, std::size_t min,
                       std::size_t max, const std::string& what) {
    if (cl.positionals.size() < min)
        throw UsageError(cmd + ": missing " + what + " (see caprun " + cmd + " --help)");
    if (cl.positionals.size() > max)
        throw UsageError(cmd + ": unexpected argument \"" + cl.positionals[max] +
                         "\" (see caprun " + cmd + " --help)");
}

void refuseHostStatusOutsideCheck(const GlobalOptions& g, const std::string& cmd) {
    if (g.hostStatus || g.hostCapLast)
        throw UsageError(cmd +
                         ": --host-status and --host-cap-last are only for `caprun check`: they "
                         "plan for another host, and " +
                         cmd + " runs the container on this one");
}

HostFacts hostFactsFor(const GlobalOptions& g) {
    if (g.hostStatus) return HostFacts::fromProcStatus(*g.hostStatus, g.hostCapLast);
    return HostFacts::probe();
}

}  // namespace caprun::cli
