# fish completion for caprun. The candidates come from caprun itself (`caprun __complete`,
# src/cli/complete.hpp); when it has none, a file name is completed.
function __caprun_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l candidates ($tokens[1] __complete $tokens[2..-1] "$current" 2>/dev/null)
    if test (count $candidates) -eq 0
        __fish_complete_path "$current"
        return
    end
    # For --opt=value caprun gives the values alone; fish completes the whole word.
    set -l prefix (string match -r -- '^--[^=]*=' "$current")
    for c in $candidates
        echo "$prefix$c"
    end
end
complete -c caprun -f -a '(__caprun_complete)'
