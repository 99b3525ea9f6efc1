#include "complete.hpp"

#include <sys/capability.h>

#include <iostream>
#include <optional>

#include "caprun/capabilities.hpp"
#include "caprun/explain.hpp"
#include "caprun/lifecycle.hpp"

namespace caprun::cli {

namespace {

bool startsWith(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

const OptionHelp* findOption(const std::vector<OptionHelp>& options, const std::string& token) {
    for (const auto& o : options)
        if (token == "--" + o.longName || (!o.shortName.empty() && token == "-" + o.shortName))
            return &o;
    return nullptr;
}

// The values an option takes where they are a fixed set or names caprun knows; empty for
// a file or free text. The sets are the ones the parsers check (global_options.cpp's
// checkChoice calls, the commands' --format checks); integration/completion.bats runs
// caprun with each to keep them so.
std::vector<std::string> optionValues(const std::string& command, const std::string& option,
                                      const CompletionSources& sources) {
    if (command.empty()) {
        if (option == "cap-policy") return {"strict", "lenient"};
        if (option == "log-format") return {"text", "json"};
        if (option == "rootless") return {"true", "false", "auto"};
        if (option == "cgroup-manager") return {"cgroupfs", "systemd", "disabled"};
        return {};
    }
    if (option == "format") {
        if (command == "list" || command == "ps") return {"table", "json"};
        if (command == "check" || command == "explain" || command == "trace")
            return {"text", "json"};
    }
    if (option == "seccomp-profile") return {"default", "unconfined"};
    if (command == "exec" && option == "cap") return sources.capabilityNames();
    return {};
}

std::vector<std::string> optionNames(const std::vector<OptionHelp>& options,
                                     const std::string& current) {
    std::vector<std::string> out;
    for (const auto& o : options) {
        out.push_back("--" + o.longName);
        // A lone "-" offers the short forms too; "--..." only the long ones.
        if (!o.shortName.empty() && !startsWith(current, "--")) out.push_back("-" + o.shortName);
    }
    return out;
}

// The commands whose first positional is an existing container's id.
bool takesContainerId(const std::string& command) {
    for (const char* c : {"start", "state", "kill", "delete", "ps", "pause", "resume", "update",
                          "exec", "trace", "explain"})
        if (command == c) return true;
    return false;
}

std::vector<std::string> filtered(const std::vector<std::string>& candidates,
                                  const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& c : candidates)
        if (startsWith(c, prefix)) out.push_back(c);
    return out;
}

std::vector<std::string> candidatesFor(const std::vector<std::string>& words,
                                       const CompletionSources& sources) {
    const std::string current = words.back();
    const std::size_t last = words.size() - 1;
    const auto globals = optionsHelp(globalOptionsDescription());

    // "--opt=partial": the option's values.
    auto valuesAfterEquals = [&](const std::string& command,
                                 const std::vector<OptionHelp>& options) {
        const std::string name = current.substr(0, current.find('='));
        const OptionHelp* o = findOption(options, name);
        if (o == nullptr || !o->takesValue()) return std::vector<std::string>{};
        return filtered(optionValues(command, o->longName, sources),
                        current.substr(current.find('=') + 1));
    };

    // The global options, up to the command.
    std::size_t i = 0;
    std::vector<std::string> globalWords;
    while (i < last) {
        const std::string& a = words[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a.size() < 2 || a[0] != '-') break;
        globalWords.push_back(a);
        const OptionHelp* o = findOption(globals, a);
        if (o != nullptr && o->takesValue() && a.find('=') == std::string::npos) {
            if (i + 1 == last) return filtered(optionValues("", o->longName, sources), current);
            globalWords.push_back(words[i + 1]);
            i += 2;
            continue;
        }
        ++i;
    }
    if (i == last) {
        if (startsWith(current, "--") && current.find('=') != std::string::npos)
            return valuesAfterEquals("", globals);
        if (startsWith(current, "-")) return filtered(optionNames(globals, current), current);
        std::vector<std::string> names;
        for (const auto& c : commandTable()) names.push_back(c.name);
        return filtered(names, current);
    }

    const std::string command = words[i];
    const CommandEntry* entry = nullptr;
    for (const auto& c : commandTable())
        if (command == c.name) entry = &c;
    if (entry == nullptr) return {};
    const CommandHelp help = describeCommand(*entry);

    std::vector<std::string> positionals;
    bool optionsEnded = false, bundleGiven = false;
    for (std::size_t j = i + 1; j < last; ++j) {
        const std::string& a = words[j];
        // exec's options end at its command (ID COMMAND ARG...).
        if (command == "exec" && positionals.size() >= 1) optionsEnded = true;
        if (optionsEnded || a.size() < 2 || a[0] != '-') {
            positionals.push_back(a);
            continue;
        }
        if (a == "--") {
            optionsEnded = true;
            continue;
        }
        const OptionHelp* o = findOption(help.options, a.substr(0, a.find('=')));
        if (o != nullptr && o->longName == "bundle") bundleGiven = true;
        if (o != nullptr && o->takesValue() && a.find('=') == std::string::npos) {
            if (j + 1 == last)
                return filtered(optionValues(command, o->longName, sources), current);
            ++j;
        }
    }
    if (command == "exec" && positionals.size() >= 1) optionsEnded = true;
    if (!optionsEnded && startsWith(current, "-")) {
        if (startsWith(current, "--") && current.find('=') != std::string::npos)
            return valuesAfterEquals(command, help.options);
        return filtered(optionNames(help.options, current), current);
    }
    // explain: ID SYSCALL... or --bundle DIR SYSCALL...
    if (command == "explain" && (bundleGiven || !positionals.empty()))
        return filtered(sources.syscallNames(), current);
    if (takesContainerId(command) && positionals.empty())
        return filtered(sources.containerIds(globalWords), current);
    return {};
}

std::vector<std::string> liveContainerIds(const std::vector<std::string>& globalWords) {
    std::vector<std::string> argv{"caprun"};
    argv.insert(argv.end(), globalWords.begin(), globalWords.end());
    std::vector<std::string> out;
    try {
        for (const auto& c : listContainers(parseGlobalOptions(argv))) out.push_back(c.state.id);
    } catch (const std::exception&) {
        // No readable state root (or a half-typed option): nothing to offer.
    }
    return out;
}

std::vector<std::string> liveCapabilityNames() {
    CapMask all = 0;
    for (int c = 0; c <= CAP_LAST_CAP; ++c) all |= CapMask{1} << c;
    return capNames(all);
}

std::vector<std::string> liveSyscallNames() {
    return knownSyscallNames();
}

}  // namespace

std::vector<std::string> completionCandidates(const std::vector<std::string>& words,
                                              const CompletionSources& sources) {
    if (words.empty()) return completionCandidates({""}, sources);
    return candidatesFor(words, sources);
}

CompletionSources liveCompletionSources() {
    return {liveContainerIds, liveCapabilityNames, liveSyscallNames};
}

int printCompletions(const Args& words) {
    try {
        for (const auto& c : completionCandidates(words, liveCompletionSources()))
            std::cout << c << "\n";
    } catch (const std::exception&) {
        // A completion never prints an error into the user's command line.
    }
    return 0;
}

}  // namespace caprun::cli
