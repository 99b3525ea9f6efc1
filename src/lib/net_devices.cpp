#include "caprun/net_devices.hpp"

#include <linux/rtnetlink.h>

#include <cctype>
#include <map>

#include "caprun/error.hpp"
#include "caprun/json.hpp"

namespace caprun {

std::map<std::string, NetDevice> parseNetDevices(const json::Node& n) {
    std::map<std::string, NetDevice> out;
    for (const auto& [hostName, v] : n.members()) {
        NetDevice d;
        d.name = v.optString("name").value_or("");
        out[hostName] = d;
    }
    return out;
}

std::string interfaceNameProblem(const std::string& name) {
    constexpr std::size_t kIfNameMax = 15;  // IFNAMSIZ - 1
    if (name.empty()) return "an interface name cannot be empty";
    if (name.size() > kIfNameMax)
        return "\"" + name + "\" is longer than the kernel's " + std::to_string(kIfNameMax) +
               " characters for an interface name";
    if (name == "." || name == "..") return "\"" + name + "\" cannot name an interface";
    for (char c : name)
        if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)))
            return "\"" + name + "\" has a '/', ':' or white space, which an interface name cannot";
    return {};
}

NetDevicePlan planNetDevices(const Spec& spec) {
    NetDevicePlan plan;
    if (!spec.linux || spec.linux->netDevices.empty()) return plan;
    bool ownNetwork = false;
    for (const auto& ns : spec.linux->namespaces)
        if (ns.type == "network") {
            ownNetwork = true;
            plan.joinedPath = ns.path;
        }
    if (!ownNetwork) {
        plan.refusal =
            "the container shares the runtime's network namespace "
            "(linux.namespaces has no \"network\" entry), so there is nowhere to move the "
            "devices to";
        return plan;
    }
    std::map<std::string, std::string> byContainerName;
    for (const auto& [hostName, dev] : spec.linux->netDevices) {
        NetDeviceMove m{hostName, dev.name.empty() ? hostName : dev.name,
                        "linux.netDevices." + hostName};
        if (std::string why = interfaceNameProblem(hostName); !why.empty()) {
            plan.refusal = hostName + ": " + why;
            return plan;
        }
        if (std::string why = interfaceNameProblem(m.containerName); !why.empty()) {
            plan.refusal = hostName + ".name: " + why;
            return plan;
        }
        auto [it, fresh] = byContainerName.emplace(m.containerName, hostName);
        if (!fresh) {
            plan.refusal = "both " + it->second + " and " + hostName + " would be called " +
                           m.containerName + " in the container";
            return plan;
        }
        plan.moves.push_back(std::move(m));
    }
    return plan;
}

namespace {

// Only permanent addresses of global scope move with a device, as the runtime-spec says:
// the others are the namespace's own (link-local, autoconfigured, with a lifetime).
std::vector<LinkAddress> addressesThatMove(NetDeviceKernel& k, int sock, int index) {
    std::vector<LinkAddress> out;
    for (auto& a : k.linkAddresses(sock, index))
        if ((a.flags & IFA_F_PERMANENT) && a.scope == RT_SCOPE_UNIVERSE) out.push_back(a);
    return out;
}

struct Sockets {
    NetDeviceKernel& k;
    int runtime = -1, container = -1;
    ~Sockets() {
        if (runtime >= 0) k.closeFd(runtime);
        if (container >= 0) k.closeFd(container);
    }
};

// One device from the namespace of `from` into `toNsFd` (whose socket is `to`), renamed,
// with its addresses; `up` is its state afterwards. `moved` is set once the device has
// left `from`, so a caller undoing a failure knows whether there is anything to undo.
void moveDevice(NetDeviceKernel& k, int from, const std::string& fromName, int to, int toNsFd,
                const std::string& toName, bool up, const std::string& what,
                bool* moved = nullptr) {
    int index = k.linkIndex(from, fromName);
    if (index == 0) throw Error(what + ": there is no network device " + fromName);
    if (k.linkIndex(to, toName) != 0)
        throw Error(what + ": a network device called " + toName + " already exists there");
    // Read before setting down: a link going down loses its IPv6 addresses (unless the
    // keep_addr_on_down sysctl says otherwise).
    std::vector<LinkAddress> addrs = addressesThatMove(k, from, index);
    k.setLinkUp(from, index, false);
    k.moveLink(from, index, toNsFd, toName);
    if (moved) *moved = true;
    int there = k.linkIndex(to, toName);
    if (there == 0) throw Error(what + ": " + toName + " is not there after the move");
    for (const auto& a : addrs) {
        try {
            k.addAddress(to, there, a);
        } catch (const Error& e) {
            throw Error(what + ": restoring the address " + a.text() + ": " + e.what());
        }
    }
    if (up) k.setLinkUp(to, there, true);
}

}  // namespace

void attachNetDevices(const std::vector<NetDeviceMove>& moves, int containerNsFd,
                      NetDeviceKernel& k) {
    if (moves.empty()) return;
    Sockets s{k};
    s.runtime = k.routeSocket(-1);
    s.container = k.routeSocket(containerNsFd);
    int runtimeNs = k.openNamespace("/proc/thread-self/ns/net");
    std::size_t done = 0;  // devices that have left the runtime's namespace
    try {
        for (const NetDeviceMove& m : moves) {
            bool moved = false;
            try {
                moveDevice(k, s.runtime, m.hostName, s.container, containerNsFd, m.containerName,
                           true,
                           m.jsonPath + ": moving " + m.hostName +
                               " into the container's network namespace as " + m.containerName,
                           &moved);
            } catch (...) {
                if (moved) ++done;
                throw;
            }
            ++done;
        }
    } catch (...) {
        // What was moved goes back, so a failed create leaves the host's devices as they were.
        for (std::size_t i = done; i-- > 0;) {
            const NetDeviceMove& m = moves[i];
            try {
                moveDevice(k, s.container, m.containerName, s.runtime, runtimeNs, m.hostName, false,
                           m.jsonPath);
            } catch (const Error&) {
            }
        }
        k.closeFd(runtimeNs);
        throw;
    }
    k.closeFd(runtimeNs);
}

std::vector<std::string> detachNetDevices(const std::vector<NetDeviceMove>& moves,
                                          int containerNsFd, NetDeviceKernel& k) {
    std::vector<std::string> warnings;
    if (moves.empty()) return warnings;
    Sockets s{k};
    s.runtime = k.routeSocket(-1);
    s.container = k.routeSocket(containerNsFd);
    int runtimeNs = k.openNamespace("/proc/thread-self/ns/net");
    for (auto it = moves.rbegin(); it != moves.rend(); ++it) {
        // Set down before it goes back (the runtime-spec's rule), so it cannot clash with
        // the host's addresses in between.
        try {
            moveDevice(k, s.container, it->containerName, s.runtime, runtimeNs, it->hostName, false,
                       it->jsonPath + ": moving " + it->containerName +
                           " back to the runtime's network namespace as " + it->hostName);
        } catch (const Error& e) {
            warnings.push_back(e.what());
        }
    }
    k.closeFd(runtimeNs);
    return warnings;
}

}  // namespace caprun

namespace caprun {

namespace {

std::vector<NetDeviceMove> movesOf(const std::map<std::string, std::string>& moved) {
    std::vector<NetDeviceMove> out;
    for (const auto& [host, inContainer] : moved)
        out.push_back({host, inContainer, "linux.netDevices." + host});
    return out;
}

}  // namespace

NetDevicesNamespace attachContainerNetDevices(const NetDevicePlan& plan, pid_t initPid,
                                              const std::string& pinPath, NetDeviceKernel& k) {
    NetDevicesNamespace ns;
    if (plan.moves.empty()) return ns;
    if (!plan.joinedPath.empty()) {
        ns.path = plan.joinedPath;  // whoever made it keeps it alive
    } else {
        k.pinNamespace("/proc/" + std::to_string(initPid) + "/ns/net", pinPath);
        ns = {pinPath, true};
    }
    try {
        int fd = k.openNamespace(ns.path);
        try {
            attachNetDevices(plan.moves, fd, k);
        } catch (...) {
            k.closeFd(fd);
            throw;
        }
        k.closeFd(fd);
    } catch (...) {
        if (ns.pinned) k.unpinNamespace(pinPath);
        throw;
    }
    return ns;
}

std::vector<std::string> detachContainerNetDevices(const std::map<std::string, std::string>& moved,
                                                   const NetDevicesNamespace& ns,
                                                   NetDeviceKernel& k) {
    std::vector<std::string> warnings;
    if (ns.path.empty()) return warnings;
    try {
        int fd = k.openNamespace(ns.path);
        try {
            warnings = detachNetDevices(movesOf(moved), fd, k);
        } catch (const Error& e) {
            warnings.push_back(e.what());
        }
        k.closeFd(fd);
    } catch (const Error& e) {
        warnings.push_back("moving the network devices back: " + std::string(e.what()));
    }
    if (ns.pinned) {
        try {
            k.unpinNamespace(ns.path);
        } catch (const Error& e) {
            warnings.push_back(e.what());
        }
    }
    return warnings;
}

}  // namespace caprun
