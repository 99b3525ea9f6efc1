# Reading caprun's options from `--help` and from a man page, to compare the two
# (integration/install.bats for the build's pages, scripts/test-package.sh for the
# installed ones). A row is "SHORT LONG ARG": "-b --bundle arg", "- --pid-file arg",
# "-h --help -".

# "s|--long|arg" lines as rows.
rows() {
    awk -F'|' '{ print ($1 == "" ? "-" : "-" $1), $2, ($3 == "" ? "-" : $3) }'
}

# The commands `caprun --help` lists.
help_commands() {
    "$1" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# Option rows of `caprun --help` (global: no command) or `caprun CMD --help`.
help_option_rows() {
    local caprun="$1" cmd="${2:-}"
    { if [ -n "$cmd" ]; then "$caprun" "$cmd" --help; else "$caprun" --help; fi; } |
        sed -nE 's/^  (-([a-zA-Z]) \[ )?--([a-z0-9-]+)( \])?( (arg))?.*/\2|--\3|\6/p' | rows
}

# Option rows of a man page, as man renders it (so the page must be valid roff).
man_option_rows() {
    LC_ALL=C MANWIDTH=1000 man -l "$1" 2>/dev/null |
        sed -nE 's/^       (-([a-zA-Z]), )?--([a-z0-9-]+)( (arg))?.*/\2|--\3|\5/p' | rows
}

# Compares every command's page in DIR (caprun.8 for the global options) with --help;
# prints the differences and returns 1 when a page is missing or differs.
compare_man_pages() {
    local caprun="$1" dir="$2" cmd page bad=0 diffs
    for cmd in "" $(help_commands "$caprun"); do
        page="$dir/caprun${cmd:+-$cmd}.8"
        if [ ! -f "$page" ]; then
            echo "no man page $page for '${cmd:-caprun}'"
            bad=1
            continue
        fi
        diffs="$(diff <(help_option_rows "$caprun" "$cmd") <(man_option_rows "$page"))" || {
            echo "$page differs from ${cmd:-caprun} --help (< help, > man):"
            echo "$diffs"
            bad=1
        }
        [ -n "$(help_option_rows "$caprun" "$cmd")" ] || { echo "no options read for '$cmd'"; bad=1; }
    done
    return $bad
}
