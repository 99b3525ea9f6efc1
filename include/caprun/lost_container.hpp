// delete --force of a container whose state.json cannot be read (truncated, garbage,
// missing) must never drop its handle on a live process. create keeps a second, tiny record
// next to it, the container's handle (<dir>/handle); the search for the container's processes
// uses it and what needs no record at all: the cgroup create gives a container by default, the
// default systemd scope, and the exec FIFO a created init holds open. Everything found is
// killed, and the state goes only when nothing is left.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caprun/cgroup_host.hpp"
#include "caprun/cgroup_kernel.hpp"
#include "caprun/state.hpp"

namespace caprun {

// What create records in <dir>/handle, one "key value" a line, so that a damaged line loses
// only itself.
struct ContainerHandle {
    pid_t pid = 0;
    std::uint64_t pidStartTime = 0;
    std::map<std::string, std::string> cgroupPaths;  // as ContainerState::cgroupPaths
    std::string systemdUnit;
    bool systemdUserBus = false;
};

ContainerHandle handleOf(const ContainerState& s);
std::string serializeHandle(const ContainerHandle& h);
// Lines it does not understand are skipped; nullopt when nothing usable is left.
std::optional<ContainerHandle> parseHandle(std::string_view text);

// Where a container whose state.json is unreadable may still have processes.
struct LostContainerSearch {
    std::string id;
    std::vector<std::map<std::string, std::string>> cgroups;  // each one Cgroup's paths
    std::vector<std::pair<pid_t, std::uint64_t>> pids;        // recorded init: pid, start time
    std::string execFifo;                                     // a created init holds it open
    std::string systemdUnit;                                  // from the handle
    bool systemdUserBus = false;
};

// Pure: the handle's cgroup and init when there is a handle; the cgroup create gives a
// container without linux.cgroupsPath (caprun/<id> below the caller's cgroup) and the default
// systemd scope's cgroup (/system.slice/caprun-<id>.scope); the exec FIFO. No path twice.
LostContainerSearch planLostContainerSearch(const std::string& id,
                                            const std::optional<ContainerHandle>& handle,
                                            const CgroupHost& host, const std::string& execFifo);

// The /proc side of the search, behind a seam so that a unit test can play the processes.
class ProcessTable {
  public:
    virtual ~ProcessTable() = default;
    // processAlive: exists, is not a zombie, and started at startTime (0: any).
    virtual bool alive(pid_t pid, std::uint64_t startTime) = 0;
    // The processes with a descriptor open on `path` (/proc/<pid>/fd links).
    virtual std::vector<pid_t> holdersOf(const std::string& path) = 0;
    // Between two looks while the kernel finishes the kills (10 ms).
    virtual void pause() = 0;
};

class LinuxProcessTable final : public ProcessTable {
  public:
    bool alive(pid_t pid, std::uint64_t startTime) override;
    std::vector<pid_t> holdersOf(const std::string& path) override;
    void pause() override;
};

struct LostContainerOutcome {
    std::vector<std::string> killed;        // "pid 42", for the log
    std::vector<std::string> stillRunning;  // "pid 42 (cgroup 0::/caprun/c1)"
    std::vector<std::string> warnings;      // a kill, thaw or rmdir that failed
    bool clean() const { return stillRunning.empty(); }
};

// Kills everything the search finds (each existing cgroup's processes, the recorded init when
// it is still the same process, the FIFO's holders) with SIGKILL, thaws every freezer those
// processes are in (thawFreezersOf), waits up to ~10 s for them to be gone and lists what is
// not. Removes the cgroups only when nothing is left.
LostContainerOutcome killLostContainer(const LostContainerSearch& s, const CgroupHost& host,
                                       CgroupKernel& k, ProcessTable& procs);

}  // namespace caprun
