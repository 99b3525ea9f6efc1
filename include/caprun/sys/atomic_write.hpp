// Replacing a file so that a reader sees the old content or the new, never half of it: a
// temporary file in the same directory (".tmp-XXXXXX", O_CLOEXEC, `mode`), written whole,
// renamed over `path` (not fsync'd: see the source). A failed write leaves no temporary file
// behind.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace caprun::sys {

// Throws caprun::Error "<what>: creating|writing|renaming <file>: <errno text>".
void writeFileAtomically(const std::string& path, std::string_view content, mode_t mode,
                         const std::string& what);

}  // namespace caprun::sys
