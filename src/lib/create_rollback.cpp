#include "caprun/create_rollback.hpp"

#include <exception>

#include "caprun/cgroup_kernel.hpp"
#include "caprun/container_process.hpp"
#include "caprun/log.hpp"
#include "caprun/net_device_kernel.hpp"
#include "caprun/systemd_bus.hpp"

namespace caprun {

namespace {

void warnCleanup(const std::string& what) {
    log::warn("cleaning up after a failed create: " + what);
}

}  // namespace

CreateRollback::~CreateRollback() {
    if (!armed) return;
    killAndReap(pid);
    LinuxNetDeviceKernel netKernel;
    for (const auto& w : detachContainerNetDevices(netDevices, netDevicesNs, netKernel))
        warnCleanup(w);
    LinuxCgroupKernel resctrl;
    for (const auto& w : leaveIntelRdt(intelRdt, resctrl)) warnCleanup(w);
    if (!systemdUnit.empty()) {
        try {
            stopSystemdUnit(systemdUnit, systemdUser);
        } catch (const std::exception& e) {
            warnCleanup(e.what());
        }
    }
    if (cgroupCreated) {
        try {
            cgroup.destroy();
        } catch (const std::exception& e) {
            warnCleanup(e.what());
        }
    }
    if (store) store->remove(id);
}

}  // namespace caprun
