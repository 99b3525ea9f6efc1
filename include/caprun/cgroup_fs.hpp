// Small file helpers shared by the cgroup sources: reading and writing cgroupfs files with
// the path and errno in every error, and path joining.
#pragma once

#include <string>
#include <vector>

namespace caprun::cgfs {

// The key/controller name of the unified (v2) directory in plans and state.json.
inline const std::string kUnified = "unified";

std::vector<std::string> split(const std::string& s, char sep);
// a + "/" + b without doubled or trailing slashes; b's leading slashes are dropped.
std::string joinPath(const std::string& a, const std::string& b);
bool fileExists(const std::string& p);
// Throws Error naming the path and the errno text.
std::string readFile(const std::string& path);
// Drops trailing newlines and spaces.
std::string trim(std::string s);
// Returns 0 or the errno of the failed open/write.
int writeFileErr(const std::string& path, const std::string& value);
// Throws Error "<what>: writing \"value\" to path: <errno text>".
void writeFile(const std::string& path, const std::string& value, const std::string& what);

}  // namespace caprun::cgfs
