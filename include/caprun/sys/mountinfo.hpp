// The two /proc files that describe mounts and cgroup membership, parsed once for every
// user: /proc/<pid>/mountinfo (proc(5)) and /proc/<pid>/cgroup (cgroups(7)). The parsers
// are pure functions over the text; the readers only add reading the file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace caprun::sys {

// One line of mountinfo:
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
struct MountInfoEntry {
    int mountId = 0;
    int parentId = 0;
    std::string device;                       // "98:0"
    std::string root;                         // the mount's root in its filesystem, unescaped
    std::string mountPoint;                   // unescaped
    std::string mountOptions;                 // per-mount options: "rw,noatime"
    std::vector<std::string> optionalFields;  // "shared:1", "master:1", ... (may be none)
    std::string fsType;                       // "ext3", "cgroup2"
    std::string source;                       // unescaped; "none" and the like kept as is
    std::string superOptions;                 // per-superblock options: "rw,errors=continue"
};

// The kernel writes space, tab, newline and backslash in paths as \ooo (octal): "\040".
std::string unescapeMountInfoField(std::string_view field);

// Every well-formed line, in order; a line without the " - " separator after the six
// fixed fields, or without the three fields after it, is skipped.
std::vector<MountInfoEntry> parseMountInfo(std::string_view text);

// One line of /proc/<pid>/cgroup: "4:memory:/docker/abc", "0::/user.slice" (v2).
struct ProcCgroupEntry {
    std::string hierarchyId;               // "4"; "0" for the unified hierarchy
    std::string controllerList;            // "cpu,cpuacct", "name=systemd"; "" for v2
    std::vector<std::string> controllers;  // controllerList split at commas; empty for v2
    std::string path;                      // the rest of the line (may contain ':')
};

// Every line with two colons, in order.
std::vector<ProcCgroupEntry> parseProcCgroup(std::string_view text);

// Read and parse; throw caprun::Error "reading <path>: <errno text>".
std::vector<MountInfoEntry> readMountInfo(const std::string& path = "/proc/self/mountinfo");
std::vector<ProcCgroupEntry> readProcCgroup(const std::string& path = "/proc/self/cgroup");

}  // namespace caprun::sys
