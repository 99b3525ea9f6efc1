// Operations on an existing container, shared by the subcommands (state, kill, delete, ps,
// pause, resume, update, list) and by `run`, which deletes its container when it ends.
// Each takes the container's lock for its whole duration.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "caprun/cgroups.hpp"
#include "caprun/runtime_context.hpp"
#include "caprun/spec.hpp"
#include "caprun/state.hpp"

namespace caprun {

// "9", "KILL", "SIGKILL", "sigkill", "RTMIN+2" -> number. Throws Error naming the text.
int parseSignal(const std::string& text);

// The state JSON of one container (live status). Missing: "container <id> does not exist".
std::string containerStateJson(const RuntimeContext& g, const std::string& id);

// Sends `sig` to the init, or with `all` to every process in the container's cgroup.
// A stopped container: Error "cannot signal container <id>: container not running".
void killContainer(const RuntimeContext& g, const std::string& id, int sig, bool all);

// Deletes a stopped (or created) container: kills what is left in its cgroup, removes
// the cgroup, runs poststop hooks (failures logged), removes the state directory. A
// running or paused one fails unless `force` (then SIGKILL to all and wait).
// With `force`, a container that does not exist is not an error (runc's behaviour, which
// containerd relies on in cleanup).
void deleteContainer(const RuntimeContext& g, const std::string& id, bool force);

// `caprun cleanup`: removes the default caprun/ parent cgroups (below the caller's own cgroup
// in each hierarchy, where create puts containers without linux.cgroupsPath) that nothing
// uses; delete keeps them for the next container.
std::vector<SharedParentCleanup> removeIdleCgroupParents();

// Host pids of every process in the container (empty when stopped and gone).
std::vector<pid_t> containerPids(const RuntimeContext& g, const std::string& id);

// Freezer. pause needs a running container ("container not running" otherwise), resume a
// paused one ("container not paused").
void pauseContainer(const RuntimeContext& g, const std::string& id);
void resumeContainer(const RuntimeContext& g, const std::string& id);

// Applies LinuxResources to a running, created or paused container's cgroup.
void updateContainer(const RuntimeContext& g, const std::string& id, const Resources& r);

// All containers with their live status.
struct ListedContainer {
    ContainerState state;
    ContainerStatus status;
};
std::vector<ListedContainer> listContainers(const RuntimeContext& g);

}  // namespace caprun
