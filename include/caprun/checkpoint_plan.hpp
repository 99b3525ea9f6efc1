// Checkpoint and restore with CRIU: what caprun asks CRIU for, decided from the container's
// state, its spec and the caller's options (runc's flags) before anything is dumped or made.
// Plain data: unit tests assert on it; checkpoint.hpp's executor sends it to `criu swrk`.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caprun/spec.hpp"
#include "caprun/state.hpp"

namespace caprun {

// runc's checkpoint flags.
struct CheckpointOptions {
    std::string id;
    std::string imagePath;  // empty: ./checkpoint (runc's default)
    std::string workPath;   // empty: the image path
    bool leaveRunning = false;
    bool tcpEstablished = false;
    bool extUnixSk = false;
    bool shellJob = false;
    bool fileLocks = false;
    bool preDump = false;
    std::string parentPath;            // relative to the image path, as CRIU takes it
    std::string manageCgroupsMode;     // empty: soft
    std::vector<std::string> emptyNs;  // "network"
    bool autoDedup = false;
};

// runc's restore flags.
struct RestoreOptions {
    std::string id;
    std::string imagePath;
    std::string workPath;
    std::string bundle = ".";
    bool detach = false;
    std::string pidFile;
    std::string consoleSocket;
    bool noPivot = false;
    bool noSubreaper = false;
    bool tcpEstablished = false;
    bool fileLocks = false;
    std::string lsmProfile;
    std::string lsmMountContext;
    std::vector<std::string> emptyNs;
    std::string manageCgroupsMode;
};

enum class CriuRequestType { Dump, PreDump, Restore };
// The numbers are CRIU's criu_cg_mode.
enum class CriuCgroupMode { Ignore = 0, None = 1, Props = 2, Soft = 3, Full = 4, Strict = 5 };

// runc's --manage-cgroups-mode spelling ("soft", "full", "strict", "ignore", "none",
// "props"); empty is soft. Throws Error naming the option and the accepted values.
CriuCgroupMode parseCriuCgroupMode(const std::string& text);

// One of the init's stdio fds as /proc/<pid>/fd and fdinfo show it.
struct StdioFact {
    std::string link;  // "pipe:[123]", "/dev/null", "socket:[9]"
    int mntId = -1;    // fdinfo mnt_id
    ino_t inode = 0;   // of the open file
};

// What the host offers, probed by the executor before planning.
struct CriuFacts {
    // checkpoint: the init's fds 0, 1, 2.
    std::vector<StdioFact> stdio;
    bool rootless = false;         // the runtime's rootless mode
    std::optional<bool> memTrack;  // CRIU's FEATURE_CHECK mem_track (asked for pre-dump)
    // Inode of each joined namespace file by its spec path (dump marks them external).
    std::map<std::string, ino_t> namespaceInodes;
};

struct CriuRequest {
    CriuRequestType type = CriuRequestType::Dump;
    pid_t pid = 0;          // dump: the container init
    std::string imagesDir;  // absolute
    std::string workDir;    // absolute; dump.log / restore.log go here
    std::string logFile;    // dump.log | restore.log
    std::string root;       // the container's rootfs
    bool leaveRunning = false;
    bool tcpEstablished = false;
    bool extUnixSk = false;
    bool shellJob = false;
    bool fileLocks = false;
    bool autoDedup = false;
    bool trackMem = false;  // pre-dump
    std::string parentImage;
    CriuCgroupMode cgroupMode = CriuCgroupMode::Soft;
    std::string freezeCgroup;         // dump: the container's freezer directory
    bool restoreIntoSibling = false;  // restore: the tree becomes caprun's child (rst_sibling)
    bool orphanPtsMaster = false;     // a terminal container: CRIU hands the pty master back
    std::vector<std::pair<std::string, std::string>> extMounts;  // key -> value
    // dump: "net[<ino>]:<key>", and "file[<mnt>:<ino>]" for a stdio file outside the
    // container (the caller's /dev/null), which restore binds to its own fd again.
    std::vector<std::string> external;
    // dump: runc's descriptors.json entries (a stdio file outside: its CRIU key).
    std::vector<std::string> descriptors;
    // restore: the key CRIU looks up -> the namespace file caprun opens and passes.
    std::vector<std::pair<std::string, std::string>> inheritNamespaces;
    // restore: the init's stdio pipes as descriptors.json names them -> caprun's fd 0..2,
    // which CRIU inherits (runc's binding of the caller's pipes).
    std::vector<std::pair<std::string, int>> inheritStdio;
    // restore: CRIU's cg_root, filled by the executor once CRIU is in the cgroup.
    std::vector<std::pair<std::string, std::string>> cgroupRoots;
    unsigned emptyNs = 0;  // CLONE_NEWNET when the network namespace is left empty
    std::string lsmProfile;
    std::string lsmMountContext;
};

// Absolute image/work directories: the image path defaults to <cwd>/checkpoint, the work
// path to the image path (runc's defaults).
std::string checkpointImageDir(const std::string& imagePath, const std::string& cwd);

// Throws Error (nothing dumped yet) for what CRIU cannot do here: rootless, a container not
// running, pre-dump without soft-dirty memory tracking, an unknown --empty-ns or cgroup mode.
// `live` is the container's live status.
CriuRequest planCheckpoint(const CheckpointOptions& o, const ContainerState& st,
                           ContainerStatus live, const Spec& spec, const CriuFacts& facts,
                           const std::string& cwd);

// The restore of `o.imagePath` into the bundle's spec; `rootfs` is the bundle's resolved
// root.path. Throws Error for rootless and bad options before anything exists.
// `descriptors` is the image's descriptors.json.
CriuRequest planRestore(const RestoreOptions& o, const Spec& spec, const std::string& rootfs,
                        const std::vector<std::string>& descriptors, const CriuFacts& facts,
                        const std::string& cwd);

// A cgroup mount without the container's own cgroup namespace (or in a user namespace) binds
// the container's directory of each hierarchy from the host (rootfs.cpp): external mounts
// like bind mounts, keyed <destination>/<hierarchy> (the destination itself on a pure v2
// host). Dump: key -> key; restore: key -> the restored container's directory.
std::vector<std::pair<std::string, std::string>> cgroupExternalMounts(
    const Spec& spec, const std::map<std::string, std::string>& cgroupPaths, bool pureV2,
    bool restore);

// CRIU's cg_root entries from /proc/<pid>/cgroup of the CRIU process caprun has placed in the
// container's cgroup: controller list ("cpu,cpuacct", "name=systemd", "" for v2) -> path.
std::vector<std::pair<std::string, std::string>> criuCgroupRoots(const std::string& procCgroup);

// runc's descriptors.json: the init's fds 0, 1 and 2 as /proc/<pid>/fd links read them.
std::string descriptorsJson(const std::vector<std::string>& links);

}  // namespace caprun
