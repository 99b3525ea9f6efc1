// caprun checkpoint / restore: runc's commands over CRIU (checkpoint_plan.hpp decides,
// criu_swrk.hpp talks to CRIU). A build without CRIU support has the same entry points,
// which throw saying so.
#pragma once

#include <string>

#include "caprun/checkpoint_plan.hpp"
#include "caprun/runtime_context.hpp"

namespace caprun {

// Why this build cannot checkpoint ("" when it can).
std::string checkpointMissingReason();

// Dumps the container into the image directory (descriptors.json with it, dump.log in the
// work directory). Unless --leave-running or --pre-dump the container is stopped and deleted,
// as runc does, so that its id can be restored. `criuPath`: --criu, empty for `criu` on PATH.
void checkpointContainer(const RuntimeContext& g, const std::string& criuPath,
                         const CheckpointOptions& o);

// Restores a checkpoint as container o.id from the bundle's config.json: its own cgroup and
// state, restore.log in the work directory. Detached returns 0 once it runs; in the
// foreground waits for it (signals forwarded), deletes it and returns its exit status.
int restoreContainer(const RuntimeContext& g, const std::string& criuPath, const RestoreOptions& o);

}  // namespace caprun
