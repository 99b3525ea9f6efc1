// Reading a whole (small, usually procfs/cgroupfs) file.
#pragma once

#include <string>

namespace caprun::sys {

// The content of `path` into `out`; 0, or the errno of the failed open/read.
int readFileInto(const std::string& path, std::string& out);

// The content of `path`; throws caprun::Error "reading <path>: <errno text>".
std::string readFile(const std::string& path);

}  // namespace caprun::sys
