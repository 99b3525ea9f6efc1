#!/usr/bin/env bash
# The Debian package and `meson install` (issue 33), from a copy of the tracked files in a
# temp dir owned by the unprivileged user nobody:
#   1. as nobody: `dpkg-buildpackage -us -uc -b` builds caprun_<version>_amd64.deb;
#   2. lintian reports no error, and no warning without an override;
#   3. the .deb: shlibs Depends, Recommends libsystemd0, no Provides/Conflicts/Replaces of
#      runc, and its files: the binary, every man page, the three completions;
#   4. as root: `dpkg -x` into a temp dir and the extracted caprun runs a container;
#   5. as nobody, with HOME in the temp dir: the package's build tree reconfigured with
#      --prefix=$HOME/.local (no recompilation: no source depends on the prefix) installs
#      the binary, the man pages (compared with --help) and the completions under it, bash's
#      in bash-completion's completionsdir relative to that prefix; `ninja uninstall`
#      removes every file it installed.
# One compilation in all (the package's). Prints "ok - ..." / "not ok - ..." per check.
#
#   scripts/test-package.sh                  all of it in a temp dir, removed after
#   scripts/test-package.sh --build-only DIR step 1 in DIR (scripts/test.sh builds while the
#   scripts/test-package.sh --test-only DIR  integration suites run), then the rest
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
[ "$(id -u)" -eq 0 ] || { echo "not ok - test-package.sh runs as root (dpkg -x, a container)"; exit 1; }
extra_name=package
source scripts/extra-build-args.bash "$@"
cid=""
cleanup() {
    [ -n "$cid" ] && "$work/x/usr/bin/caprun" --root "$work/state" delete --force "$cid" >/dev/null 2>&1
    if $own_work; then rm -rf "$work"; else rm -rf "$work/x" "$work/state" "$work/bundle" "$work/home/.local"; fi
}
trap cleanup EXIT
failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$work/home" "$@"; }

# 1. The package, built by nobody (Rules-Requires-Root: no).
if [ "$phase" != test ]; then
    mkdir -p "$work/src" "$work/home"
    # Tracked and new (not ignored) files: the work tree as it would be committed.
    git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/src"
    # dpkg-buildpackage writes the .deb beside the source tree.
    chown -R nobody:nogroup "$work"
    start=$(date +%s)
    if (cd "$work/src" && as_nobody dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
        echo "ok - dpkg-buildpackage -us -uc -b builds as a non-root user ($(( $(date +%s) - start )) s)" \
            >"$work/build.result"
    else
        tail -40 "$work/build.log"
        echo "not ok - dpkg-buildpackage failed" >"$work/build.result"
    fi
fi
[ "$phase" = build ] && exit 0
if [ ! -f "$work/build.result" ] || ! grep -q '^ok - ' "$work/build.result"; then
    tail -40 "$work/build.log" 2>/dev/null
    not_ok "dpkg-buildpackage failed (log: $work/build.log)"
    exit 1
fi
cat "$work/build.result"
version=$(dpkg-parsechangelog -l "$work/src/debian/changelog" -S Version)
deb="$work/caprun_${version}_amd64.deb"
[ -f "$deb" ] && ok "it made $(basename "$deb")" || { not_ok "no $deb: $(ls "$work")"; exit 1; }

# 2. lintian on the upload (the .changes: the package and its -dbgsym), as nobody (lintian
# advises against root): no error, and every warning overridden (what is left is below
# warning).
changes="$work/caprun_${version}_amd64.changes"
as_nobody lintian --fail-on error,warning --tag-display-limit 0 "$changes" >"$work/lintian.log" 2>&1 &&
    ok "lintian: no error and no warning without an override" ||
    { cat "$work/lintian.log"; not_ok "lintian"; }

# 3. The control fields and the files.
field() { dpkg-deb -f "$deb" "$1"; }
depends=$(field Depends)
for lib in libc6 libseccomp2 libcap2 libstdc++6; do
    grep -q "$lib" <<<"$depends" || not_ok "Depends lacks $lib (shlibs): $depends"
done
[ "$(field Recommends)" = libsystemd0 ] || not_ok "Recommends is '$(field Recommends)', not libsystemd0"
for f in Provides Conflicts Replaces Breaks; do
    grep -qw runc <<<"$(field "$f")" && not_ok "$f names runc: $(field "$f")"
done
ok "Depends from shlibs ($depends), Recommends libsystemd0, nothing claims runc"
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$work/contents"
want=(/usr/bin/caprun /usr/share/man/man8/caprun.8.gz /usr/share/bash-completion/completions/caprun
      /usr/share/zsh/vendor-completions/_caprun /usr/share/fish/vendor_completions.d/caprun.fish
      /usr/share/doc/caprun/callers.md.gz)
for cmd in $(PATH=/nonexistent "$src/build/src/cli/caprun" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'); do
    want+=("/usr/share/man/man8/caprun-$cmd.8.gz")
done
missing=""
for f in "${want[@]}"; do grep -qx "$f" "$work/contents" || missing+=" $f"; done
[ -z "$missing" ] && ok "the package holds caprun, ${#want[@]} files in all: man pages, completions, docs" ||
    not_ok "the package lacks:$missing"

# 4. dpkg -x, then the extracted caprun runs a container (a busybox + probe rootfs).
dpkg -x "$deb" "$work/x"
caprun="$work/x/usr/bin/caprun"
bundle="$work/bundle"
mkdir -p "$bundle"
CAPRUN_PROBE="$src/build/integration/probe/caprun-probe" ./scripts/make-rootfs.sh "$bundle/rootfs" >/dev/null
"$caprun" spec --bundle "$bundle"
jq '.process.terminal = false | .process.args = ["/bin/sh", "-c", "echo hello from the package; exit 3"]' \
    "$bundle/config.json" >"$bundle/c.json" && mv "$bundle/c.json" "$bundle/config.json"
cid=package-$$
# With CAPRUN_TEST_LOCK (the shared integration lock's path) the container runs holding it.
lock=()
[ -n "${CAPRUN_TEST_LOCK:-}" ] && lock=(flock "$CAPRUN_TEST_LOCK")
out=$("${lock[@]}" "$caprun" --root "$work/state" run --bundle "$bundle" "$cid" </dev/null 2>&1)
rc=$?
cid=""
[ "$rc" -eq 3 ] && [ "$out" = "hello from the package" ] &&
    ok "the extracted caprun runs a container (exit 3, its output)" ||
    not_ok "the extracted caprun: exit $rc, output: $out"
"$caprun" --version | grep -qx -- "+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +BPF +CRIU" &&
    ok "the package's caprun is built with systemd, the eBPF tracer and CRIU" ||
    not_ok "the package's caprun --version: $("$caprun" --version | tail -1)"

# 5. meson install as nobody into a --prefix in $HOME, then ninja uninstall.
obj="$work/src/obj-x86_64-linux-gnu"
prefix="$work/home/.local"
if as_nobody meson configure "$obj" -Dprefix="$prefix" >"$work/configure.log" 2>&1 &&
    as_nobody ninja -C "$obj" >"$work/ninja.log" 2>&1 &&
    as_nobody meson install -C "$obj" --no-rebuild >"$work/install.log" 2>&1; then
    ok "meson install as nobody with --prefix=\$HOME/.local"
else
    cat "$work/configure.log" "$work/ninja.log" "$work/install.log" | tail -30
    not_ok "meson install as nobody"
fi
grep -q "Compiling" "$work/ninja.log" && not_ok "changing the prefix recompiled: $(grep -c Compiling "$work/ninja.log") objects"
installed=$(cd "$prefix" && find . -type f | sed 's|^\.|'"$prefix"'|' | sort)
for f in bin/caprun share/man/man8/caprun.8 share/man/man8/caprun-explain.8 \
         share/bash-completion/completions/caprun share/zsh/vendor-completions/_caprun \
         share/fish/vendor_completions.d/caprun.fish; do
    grep -qx "$prefix/$f" <<<"$installed" || not_ok "not installed: $prefix/$f"
done
source "$src/integration/man_pages.bash"
diffs=$(compare_man_pages "$prefix/bin/caprun" "$prefix/share/man/man8") &&
    ok "every installed man page has the options of its command's --help" ||
    not_ok "installed man pages: $diffs"
# bash-completion finds the completion where its completionsdir is, relative to the prefix:
# with XDG_DATA_DIRS naming the prefix's share, as a user's profile does.
out=$(as_nobody env XDG_DATA_DIRS="$prefix/share" PATH="$prefix/bin:/usr/bin:/bin" bash -c '
    source /usr/share/bash-completion/bash_completion
    __load_completion caprun || exit 1
    COMP_WORDS=(caprun --cap-policy ""); COMP_CWORD=2; COMP_LINE="caprun --cap-policy "; COMP_POINT=${#COMP_LINE}
    _caprun; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "')
[ "$out" = "lenient strict " ] && ok "bash-completion loads the installed completion from the prefix" ||
    not_ok "bash completion from $prefix: '$out'"
if as_nobody ninja -C "$obj" uninstall >"$work/uninstall.log" 2>&1; then
    # meson also removes the directories it made, the prefix itself included.
    left=$([ ! -e "$prefix" ] || find "$prefix" -mindepth 1)
    [ -z "$left" ] && ok "ninja uninstall removes every installed file ($(wc -l <<<"$installed") files) and directory" ||
        not_ok "left after ninja uninstall: $left"
else
    tail -20 "$work/uninstall.log"
    not_ok "ninja uninstall"
fi
exit $failed
