#include "man_page.hpp"

#include <cctype>
#include <iostream>
#include <sstream>

#include "caprun_config.h"

namespace caprun::cli {

namespace {

// The header every page shares. No date: the pages are built, and a build of the same
// source makes the same pages.
std::string header(const std::string& name) {
    std::string upper;
    for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return ".TH " + upper + " 8 \"\" \"caprun " CAPRUN_VERSION "\" \"System Administration\"\n";
}

// ".TP" entries: "\fB\-b\fR, \fB\-\-bundle\fR \fIarg\fR" and the description.
std::string optionsSection(const std::vector<OptionHelp>& options) {
    std::string out;
    for (const auto& o : options) {
        out += ".TP\n";
        if (!o.shortName.empty()) out += "\\fB\\-" + roffEscape(o.shortName) + "\\fR, ";
        out += "\\fB\\-\\-" + roffEscape(o.longName) + "\\fR";
        if (o.takesValue()) out += " \\fI" + roffEscape(o.parameter) + "\\fR";
        out += "\n" + roffEscape(o.description) + "\n";
    }
    return out;
}

// Lines of text, each escaped; an empty line becomes a paragraph break.
std::string paragraphs(const std::string& text) {
    std::string out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out += line.empty() ? ".PP\n" : roffEscape(line) + "\n";
    return out;
}

}  // namespace

std::string roffEscape(const std::string& text) {
    std::string out;
    bool lineStart = true;
    for (char c : text) {
        if (lineStart && (c == '.' || c == '\'')) out += "\\&";
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
        lineStart = c == '\n';
    }
    return out;
}

std::string caprunManPage(const std::vector<CommandEntry>& commands,
                          const std::vector<OptionHelp>& globalOptions) {
    std::string out = header("caprun");
    out += ".SH NAME\ncaprun \\- an OCI container runtime that applies Linux capabilities right\n";
    out +=
        ".SH SYNOPSIS\n.B caprun\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIcommand "
        "options\\fR] [\\fIarguments\\fR]\n";
    out +=
        ".SH DESCRIPTION\n"
        "caprun runs containers from OCI runtime-spec bundles, as runc and crun do, for "
        "containerd, dockerd, podman and Kubernetes. It intersects each requested capability "
        "set with what the host offers under a strict or lenient policy "
        "(\\fB\\-\\-cap\\-policy\\fR), builds the seccomp filter from the capabilities "
        "granted, and explains every decision (\\fBcaprun check\\fR, \\fBcaprun "
        "explain\\fR).\n";
    out += ".SH COMMANDS\n";
    for (const auto& c : commands)
        out += ".TP\n\\fB" + roffEscape(c.name) + "\\fR\n" + roffEscape(c.summary) +
               " (\\fBcaprun\\-" + roffEscape(c.name) + "\\fR(8))\n";
    out += ".SH GLOBAL OPTIONS\nThey come before the command.\n";
    out += optionsSection(globalOptions);
    out += ".SH SEE ALSO\n";
    for (std::size_t i = 0; i < commands.size(); ++i)
        out += std::string(i ? ",\n" : "") + "\\fBcaprun\\-" + roffEscape(commands[i].name) +
               "\\fR(8)";
    out += ",\n\\fBrunc\\fR(8)\n";
    return out;
}

std::string commandManPage(const CommandEntry& command, const CommandHelp& help) {
    const std::string page = std::string("caprun-") + command.name;
    std::string out = header(page);
    out += ".SH NAME\n" + roffEscape(page) + " \\- " + roffEscape(command.summary) + "\n";
    // The usage is "SYNOPSIS[\n       caprun ... SYNOPSIS2][\n\nDESCRIPTION]".
    const auto blank = help.usage.find("\n\n");
    const std::string synopsis = help.usage.substr(0, blank);
    const std::string more = blank == std::string::npos ? "" : help.usage.substr(blank + 2);
    out += ".SH SYNOPSIS\n.nf\n";
    std::istringstream in(synopsis);
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
        const auto start = line.find_first_not_of(' ');
        line = start == std::string::npos ? "" : line.substr(start);
        out += (first ? "caprun [global options] " : "") + roffEscape(line) + "\n";
        first = false;
    }
    std::string sentence = command.summary;
    sentence[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(sentence[0])));
    out += ".fi\n.SH DESCRIPTION\n" + roffEscape(sentence) + ".\n";
    if (!more.empty()) out += ".PP\n" + paragraphs(more);
    out += ".SH OPTIONS\n" + optionsSection(help.options);
    out += ".SH SEE ALSO\n\\fBcaprun\\fR(8) for the global options\n";
    return out;
}

int printManPage(const Args& args) {
    const auto& commands = commandTable();
    if (args.empty()) {
        std::cout << caprunManPage(commands, optionsHelp(globalOptionsDescription()));
        return 0;
    }
    for (const auto& c : commands)
        if (args.size() == 1 && args[0] == c.name) {
            std::cout << commandManPage(c, describeCommand(c));
            return 0;
        }
    std::cerr << "caprun __man: expected no argument or one command name\n";
    return 1;
}

}  // namespace caprun::cli
