# bash completion for caprun. The candidates come from caprun itself (`caprun __complete`,
# src/cli/complete.hpp): commands, options, option values, container ids, syscall and
# capability names. When it has none, a file name is completed.
_caprun() {
    local cur prev words cword
    _init_completion -n = || return
    local IFS=$'\n' candidates
    candidates=$("${words[0]}" __complete "${words[@]:1:cword}" 2>/dev/null)
    if [[ -z $candidates ]]; then
        _filedir
        return
    fi
    # For --opt=value caprun gives the values alone: bash replaces what follows the '='.
    COMPREPLY=($(compgen -W "$candidates" -- "${cur#--*=}"))
}
complete -F _caprun caprun
