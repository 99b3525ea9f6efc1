// checkpoint and restore in a build without CRIU support (meson -Dcriu=disabled, or no
// libprotobuf-c): the commands exist and say what is missing.
#include "caprun/checkpoint.hpp"

#include "caprun/error.hpp"

namespace caprun {

std::string checkpointMissingReason() {
    return "this caprun was built without CRIU support (meson -Dcriu=disabled or no "
           "libprotobuf-c/protoc-c): checkpoint and restore are missing";
}

void checkpointContainer(const RuntimeContext&, const std::string&, const CheckpointOptions&) {
    throw Error("checkpoint: " + checkpointMissingReason());
}

int restoreContainer(const RuntimeContext&, const std::string&, const RestoreOptions&) {
    throw Error("restore: " + checkpointMissingReason());
}

}  // namespace caprun
