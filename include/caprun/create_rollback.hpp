// What a failing create has made so far, undone in reverse when it is destroyed armed, so
// the host is as if create never ran: the init killed, network devices moved back, the
// resctrl group left, the systemd unit stopped, the cgroup and the state directory removed.
// create disarms it once the container exists.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "caprun/cgroups.hpp"
#include "caprun/intel_rdt.hpp"
#include "caprun/net_devices.hpp"
#include "caprun/state.hpp"

namespace caprun {

struct CreateRollback {
    bool armed = true;
    pid_t pid = 0;
    Cgroup cgroup;
    bool cgroupCreated = false;
    std::string systemdUnit;  // started by create: stopped again
    bool systemdUser = false;
    StateStore* store = nullptr;
    std::string id;
    std::map<std::string, std::string> netDevices;  // moved in: moved back out
    NetDevicesNamespace netDevicesNs;
    IntelRdtGroup intelRdt;

    CreateRollback() = default;
    CreateRollback(const CreateRollback&) = delete;
    CreateRollback& operator=(const CreateRollback&) = delete;
    // Never throws: what cannot be undone is logged as a warning.
    ~CreateRollback();
};

}  // namespace caprun
