// Shell completion, computed by caprun itself from the tables its parsers use, so bash, zsh
// and fish complete alike and never offer an option caprun does not take. The completion
// scripts (completions/) call `caprun __complete WORD... CURRENT`: the words typed after
// "caprun" and the (possibly empty) word being completed; caprun prints one candidate a
// line. No candidate means "complete a file name" to the scripts.
#pragma once

#include <string>
#include <vector>

#include "commands.hpp"

namespace caprun::cli {

// What the completion needs from outside: container ids under the state root the typed
// global options name (from `caprun list`'s code), capability and syscall names.
struct CompletionSources {
    std::vector<std::string> (*containerIds)(const std::vector<std::string>& globalWords);
    std::vector<std::string> (*capabilityNames)();
    std::vector<std::string> (*syscallNames)();
};

// Candidates for the last of `words` (the words after "caprun"), filtered by its prefix.
// For "--opt=partial" they are the values alone, as the shells replace what follows '='.
std::vector<std::string> completionCandidates(const std::vector<std::string>& words,
                                              const CompletionSources& sources);

// The sources of a real caprun: the state root, libcap's names, explain's syscall names.
CompletionSources liveCompletionSources();

// `caprun __complete WORD...`.
int printCompletions(const Args& words);

}  // namespace caprun::cli
