// linux.netDevices: network devices of the runtime's network namespace that the container
// gets. create moves each into the container's network namespace under its new name,
// keeping its permanent global addresses, and sets it up; delete sets it down and moves it
// back under its host name with those addresses. The container's network namespace is
// pinned (bind-mounted in the state directory) so that it outlives the container's
// processes until delete: without the pin a virtual device would be destroyed with the
// namespace and a physical one would come back under the container's name.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "caprun/net_device_kernel.hpp"
#include "caprun/spec.hpp"

namespace caprun {

struct NetDeviceMove {
    std::string hostName;       // in the runtime's network namespace (the JSON key)
    std::string containerName;  // in the container's
    std::string jsonPath;       // linux.netDevices.<hostName>
};

struct NetDevicePlan {
    std::vector<NetDeviceMove> moves;
    std::string joinedPath;  // the spec's network namespace path; empty: a new one
    std::string
        refusal;  // non-empty: why the config cannot be applied (relative to linux.netDevices)
};

// Pure: validates linux.netDevices against the spec's namespaces. Refused: no network
// namespace of the container's own (the device would stay where it is), an invalid or
// over-long interface name, two devices given the same name in the container.
NetDevicePlan planNetDevices(const Spec& spec);

// Why `name` cannot name a network interface (empty when it can): the kernel's
// dev_valid_name() rules.
std::string interfaceNameProblem(const std::string& name);

// ---- executor ----

// Moves every device into the namespace `containerNsFd`. On a failure it moves back what
// it had moved and throws, naming the device and the step.
void attachNetDevices(const std::vector<NetDeviceMove>& moves, int containerNsFd,
                      NetDeviceKernel& k);

// Moves every device back from `containerNsFd` into the caller's namespace. A device that
// is no longer there is reported in the returned warnings, not an error: delete goes on.
std::vector<std::string> detachNetDevices(const std::vector<NetDeviceMove>& moves,
                                          int containerNsFd, NetDeviceKernel& k);

}  // namespace caprun

namespace caprun {

// Where delete finds a container's devices: the namespace file and whether create pinned it.
struct NetDevicesNamespace {
    std::string path;
    bool pinned = false;
};

// create: the namespace the devices go to — the one the spec joins, or the init's new one,
// pinned at `pinPath` first — then attachNetDevices. On failure nothing stays pinned or
// moved.
NetDevicesNamespace attachContainerNetDevices(const NetDevicePlan& plan, pid_t initPid,
                                              const std::string& pinPath, NetDeviceKernel& k);

// delete (and a failed create): moves the devices (host name -> container name) back and
// removes the pin; returns what could not be moved back.
std::vector<std::string> detachContainerNetDevices(const std::map<std::string, std::string>& moved,
                                                   const NetDevicesNamespace& ns,
                                                   NetDeviceKernel& k);

}  // namespace caprun
