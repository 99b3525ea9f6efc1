// Mount attributes beyond mount(2)'s flags: the recursive r* options (rro, rnosuid,
// rnoexec, ratime, ...) applied with mount_setattr(AT_RECURSIVE) to a bind and everything
// below it, the flag words mount(8) knows that the old flag table lacked (nosymfollow,
// lazytime, iversion, silent), and tmpcopyup (a tmpfs over a directory starts with that
// directory's contents, as podman --tmpfs expects).
#pragma once

#include <cstdint>
#include <string>

namespace caprun {

// mount_setattr's attr_set / attr_clr (MOUNT_ATTR_*), for a whole mount tree.
struct RecursiveMountAttrs {
    std::uint64_t set = 0;
    std::uint64_t clear = 0;
    bool any() const { return set != 0 || clear != 0; }
};

// The recursive options by name, in the order features lists them.
const char* const* recursiveMountOptionNames();  // null-terminated

// When `option` is a recursive option, adds it to `attrs` and returns true.
bool addRecursiveMountOption(const std::string& option, RecursiveMountAttrs& attrs);

// When `option` is one of the extra flag words (nosymfollow, symfollow, lazytime,
// nolazytime, iversion, noiversion, silent, loud), sets or clears its MS_* bit in
// `flags` and returns true.
bool addExtraMountFlag(const std::string& option, unsigned long& flags);

// mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE): `fd` is the root of the mount.
// Throws Error "<what>: ..." with the errno text (ENOSYS: the kernel is older than 5.12).
void applyRecursiveMountAttrs(int fd, const RecursiveMountAttrs& attrs, const std::string& what);

// Copies the tree below the directory `fromFd` into the directory `toFd` (files, dirs,
// symlinks, fifos and device nodes; modes, owners and timestamps kept). Never follows a
// symlink. Throws Error naming the entry.
void copyTree(int fromFd, int toFd, const std::string& what);

}  // namespace caprun
