// Container state on disk: one directory per container under the state root, holding
// state.json (written atomically), a lock file that serialises commands on the container,
// and the exec FIFO that `create` blocks the init on until `start`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/spec.hpp"

namespace caprun {

// Stored status. Paused is not in the runtime-spec's list but runc reports it and
// containerd and podman understand it.
enum class ContainerStatus { Creating, Created, Running, Paused, Stopped };

std::string statusName(ContainerStatus s);                 // "created"
ContainerStatus parseStatusName(const std::string& name);  // throws Error on an unknown name

// Everything later commands need about a container. Written by create, updated by start,
// pause/resume; read by every other command.
struct ContainerState {
    std::string ociVersion;  // of the config.json it was created from
    std::string id;
    pid_t pid = 0;                   // the container init on the host; 0 before it exists
    std::uint64_t pidStartTime = 0;  // /proc/<pid>/stat field 22, detects pid reuse
    std::string bundle;              // absolute
    std::string rootfs;              // absolute
    std::string created;             // RFC3339, UTC
    std::string owner;               // user name (or uid) of the creator
    std::map<std::string, std::string> annotations;
    ContainerStatus status = ContainerStatus::Creating;

    // cgroup directories in use: controller name -> absolute directory; the key
    // "unified" is the cgroup v2 directory (v2 and hybrid). Empty: no cgroup (disabled).
    std::map<std::string, std::string> cgroupPaths;
    std::vector<std::string> cgroupCreatedParents;  // removed on delete when empty
    // The systemd driver made the cgroup: the transient unit (caprun-t1.scope) delete stops
    // and update sets properties on, over the user bus (non-root) or the system bus.
    bool systemdCgroup = false;
    std::string systemdUnit;
    bool systemdUserBus = false;

    // Namespaces of the init that exec joins: type ("pid", "mount", ...) -> path
    // (/proc/<pid>/ns/<x> or the spec's path for a shared namespace).
    std::map<std::string, std::string> namespacePaths;
    // linux.netDevices that create moved in: host name -> name in the container. delete
    // moves them back out of netDevicesNamespace (create's pin in the state directory, or
    // the network namespace path the spec joined).
    std::map<std::string, std::string> netDevices;
    std::string netDevicesNamespace;
    bool netDevicesNamespacePinned = false;
    // linux.intelRdt: the resctrl group joined (removed by delete when create made it) and
    // the container's monitoring group in it.
    std::string intelRdtGroup;
    bool intelRdtGroupCreated = false;
    std::string intelRdtMonitorGroup;
    bool ownPidNamespace = true;  // false: sharing the host's or another pid namespace
    std::string capPolicy;        // "strict"|"lenient" as decided at create; exec reuses it
    bool terminal = false;        // the init has a pty
    std::string sessionKeyring;   // joined by the init and by exec; empty: --no-new-keyring
    std::optional<std::string> seccompProfile;  // create's --seccomp-profile; exec uses it too
    std::vector<Hook> poststop;                 // run by delete
};

// Serialisation of state.json (a private format of caprun, versioned by "caprunStateVersion").
std::string serializeState(const ContainerState& s);
ContainerState parseState(std::string_view text, const std::string& label);

// The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22), or
// nullopt when it does not exist. A zombie still has one; see processAlive.
std::optional<std::uint64_t> processStartTime(pid_t pid);

// True when `pid` exists, is not a zombie, and started at `startTime` (0: do not compare).
bool processAlive(pid_t pid, std::uint64_t startTime);

// The status a caller should see: stored status, except that a container whose init has
// died (or whose pid now belongs to another process) is Stopped.
ContainerStatus liveStatus(const ContainerState& s);

// The runtime-spec state JSON: {ociVersion,id,status,pid,bundle,rootfs,created,owner,
// annotations}; pid is omitted when stopped (as runc does, pid 0).
std::string stateJson(const ContainerState& s, ContainerStatus status);
inline std::string stateJson(const ContainerState& s) {
    return stateJson(s, liveStatus(s));
}

// Held lock on one container (POSIX record lock on <root>/<id>/lock, fd O_CLOEXEC).
// A POSIX lock (not flock) on purpose: it is not inherited by fork, so a container init
// forked while create holds the lock does not keep holding it while it waits for start.
class ContainerLock {
  public:
    ContainerLock() = default;
    explicit ContainerLock(int fd) : fd_(fd) {}
    ContainerLock(ContainerLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    ContainerLock& operator=(ContainerLock&& o) noexcept;
    ContainerLock(const ContainerLock&) = delete;
    ContainerLock& operator=(const ContainerLock&) = delete;
    ~ContainerLock();
    bool held() const { return fd_ >= 0; }
    void release();

  private:
    int fd_ = -1;
};

class StateStore {
  public:
    explicit StateStore(std::string root);
    const std::string& root() const { return root_; }

    std::string containerDir(const std::string& id) const;  // <root>/<id>
    std::string execFifoPath(const std::string& id) const;  // <root>/<id>/exec.fifo
    std::string statePath(const std::string& id) const;     // <root>/<id>/state.json

    // Throws Error when the id is not usable as a directory name (empty, '/', "..", NUL,
    // longer than 1024).
    static void validateId(const std::string& id);

    // Creates the root (mode 0711) if needed and <root>/<id> (0711), and returns the lock
    // on it, taken before anyone else can see the directory as a container. Throws
    // "container <id> already exists" when the directory is there.
    ContainerLock createDir(const std::string& id);

    // Waits for and takes the lock of an existing container. Throws "container <id> does
    // not exist" when there is no directory.
    ContainerLock lockContainer(const std::string& id) const;

    bool exists(const std::string& id) const;

    // Missing state.json -> Error "container <id> does not exist".
    ContainerState load(const std::string& id) const;

    // Writes state.json via a temporary file, fsync and rename.
    void save(const ContainerState& s) const;

    // Removes <root>/<id> and everything in it; absent is not an error.
    void remove(const std::string& id) const;

    // Every container with a readable state.json, sorted by id. Unreadable ones are
    // skipped with a warning.
    std::vector<ContainerState> list() const;

  private:
    std::string root_;
};

// The user name for `uid` (or its number when it has no name), for ContainerState::owner.
std::string ownerName(uid_t uid);

// The capability policy for a later process of `st` (exec, trace): the caller's --cap-policy
// when given, else the one the container was created with (nullopt: the usual defaults).
std::optional<std::string> capPolicyFor(const std::optional<std::string>& option,
                                        const ContainerState& st);

}  // namespace caprun
