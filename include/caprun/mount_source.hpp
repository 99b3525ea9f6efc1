// Bind mount sources opened by the runtime for the init: the init asks over the sync socket
// for the source of mounts[i] and the runtime answers with an O_PATH fd opened in the
// container's mount namespace with the host's permissions.
#pragma once

#include <cstddef>

#include "caprun/rootfs.hpp"

namespace caprun {

// In the init: asks the runtime for the source of mounts[index]; returns the fd it passed.
int receiveMountSource(int sync, std::size_t index);

// In the runtime: answers one request for mount `m`'s source (see receiveMountSource).
void sendMountSource(int sync, int initPidfd, const PlannedMount& m);

}  // namespace caprun
