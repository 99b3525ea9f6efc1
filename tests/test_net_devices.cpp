// linux.netDevices: the pure plan, and the executor against a recording double that keeps
// a small model of the namespaces' links (a move drops the link's addresses, as the
// kernel does; a move onto a taken name fails with EEXIST).
#include <doctest/doctest.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "caprun/error.hpp"
#include "caprun/net_devices.hpp"
#include "caprun/spec.hpp"
#include "kernel_doubles.hpp"

using namespace caprun;

namespace {

struct Link {
    int index = 0;
    bool up = false;
    std::vector<LinkAddress> addresses;
};

LinkAddress ipv6(unsigned scope, std::uint32_t flags) {
    LinkAddress a;
    a.family = AF_INET6;
    a.prefixLength = 64;
    a.scope = scope;
    a.flags = flags;
    a.address = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    return a;
}

LinkAddress ipv4(std::uint8_t last, unsigned prefix, unsigned scope, std::uint32_t flags) {
    LinkAddress a;
    a.family = AF_INET;
    a.prefixLength = prefix;
    a.scope = scope;
    a.flags = flags;
    a.local = a.address = {192, 0, 2, last};
    return a;
}

class RecordingNetDeviceKernel final : public NetDeviceKernel, public testing::Recorder {
  public:
    // namespace name -> link name -> link
    std::map<std::string, std::map<std::string, Link>> namespaces{{"host", {}}, {"ctr", {}}};
    std::map<std::string, std::string> paths{{"/proc/thread-self/ns/net", "host"},
                                             {"/proc/42/ns/net", "ctr"}};
    std::map<std::string, std::string> pins;  // pin path -> namespace

    void addLink(const std::string& ns, const std::string& name, std::vector<LinkAddress> a) {
        namespaces[ns][name] = Link{nextIndex_++, true, std::move(a)};
    }
    std::size_t openFds() const { return fds_.size(); }

    int openNamespace(const std::string& path) override {
        recordOrThrow("openNamespace " + path, "opening the network namespace " + path);
        auto it = paths.find(path);
        if (it == paths.end()) throwSys("opening the network namespace " + path, ENOENT);
        return newFd(it->second);
    }
    int routeSocket(int nsFd) override {
        std::string ns = nsFd < 0 ? "host" : fds_.at(nsFd);
        recordOrThrow("routeSocket " + ns, "opening a route netlink socket");
        return newFd(ns);
    }
    void closeFd(int fd) override {
        record("closeFd " + fds_.at(fd));
        fds_.erase(fd);
    }
    int linkIndex(int sock, const std::string& name) override {
        const std::string& ns = fds_.at(sock);
        recordOrThrow("linkIndex " + ns + " " + name, "looking up " + name);
        auto it = namespaces[ns].find(name);
        return it == namespaces[ns].end() ? 0 : it->second.index;
    }
    std::vector<LinkAddress> linkAddresses(int sock, int index) override {
        const std::string& ns = fds_.at(sock);
        recordOrThrow("linkAddresses " + ns + " " + nameOf(ns, index), "listing addresses");
        return byIndex(ns, index).addresses;
    }
    void setLinkUp(int sock, int index, bool up) override {
        const std::string& ns = fds_.at(sock);
        recordOrThrow("setLinkUp " + ns + " " + nameOf(ns, index) + (up ? " up" : " down"),
                      "setting a link up or down");
        Link& l = byIndex(ns, index);
        l.up = up;
        // A link going down loses its IPv6 addresses (keep_addr_on_down=0, the default).
        if (!up)
            std::erase_if(l.addresses, [](const LinkAddress& a) { return a.family == AF_INET6; });
    }
    void moveLink(int sock, int index, int targetNsFd, const std::string& newName) override {
        const std::string& ns = fds_.at(sock);
        const std::string& to = fds_.at(targetNsFd);
        std::string name = nameOf(ns, index);
        recordOrThrow("moveLink " + ns + " " + name + " -> " + to + " " + newName, "moving");
        if (namespaces[to].count(newName)) throwSys("moving " + name, EEXIST);
        Link l = namespaces[ns][name];
        namespaces[ns].erase(name);
        l.addresses.clear();
        namespaces[to][newName] = l;
    }
    void addAddress(int sock, int index, const LinkAddress& a) override {
        const std::string& ns = fds_.at(sock);
        recordOrThrow("addAddress " + ns + " " + nameOf(ns, index) + " " + a.text(),
                      "adding the address " + a.text());
        byIndex(ns, index).addresses.push_back(a);
    }
    void pinNamespace(const std::string& nsPath, const std::string& pinPath) override {
        recordOrThrow("pinNamespace " + nsPath + " " + pinPath, "pinning");
        pins[pinPath] = paths.at(nsPath);
        paths[pinPath] = paths.at(nsPath);
    }
    void unpinNamespace(const std::string& pinPath) override {
        recordOrThrow("unpinNamespace " + pinPath, "unpinning");
        pins.erase(pinPath);
        paths.erase(pinPath);
    }

  private:
    int newFd(const std::string& ns) {
        fds_[nextFd_] = ns;
        return nextFd_++;
    }
    std::string nameOf(const std::string& ns, int index) {
        for (const auto& [name, l] : namespaces[ns])
            if (l.index == index) return name;
        FAIL("no link #" << index << " in " << ns);
        return {};
    }
    Link& byIndex(const std::string& ns, int index) { return namespaces[ns][nameOf(ns, index)]; }

    std::map<int, std::string> fds_;
    int nextFd_ = 10;
    int nextIndex_ = 3;
};

Spec specWith(const std::string& namespaces, const std::string& devices) {
    return parseSpec(R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},
        "process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},
        "linux":{"namespaces":[)" +
                     namespaces + R"(],"netDevices":)" + devices + "}}");
}

std::vector<std::string> addressTexts(const Link& l) {
    std::vector<std::string> out;
    for (const auto& a : l.addresses) out.push_back(a.text());
    return out;
}

// dummy0 with permanent global addresses (they move), a link-scope one and a dynamic global
// one (both stay behind, as the runtime-spec says).
void hostWithDummy(RecordingNetDeviceKernel& k) {
    k.addLink(
        "host", "dummy0",
        {ipv4(10, 24, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT), ipv6(RT_SCOPE_UNIVERSE, IFA_F_PERMANENT),
         ipv4(11, 16, RT_SCOPE_LINK, IFA_F_PERMANENT), ipv4(12, 24, RT_SCOPE_UNIVERSE, 0)});
}

}  // namespace

TEST_CASE("netDevices plan: names, the namespace they go to, and what is refused") {
    NetDevicePlan p =
        planNetDevices(specWith(R"({"type":"network"})", R"({"dummy0":{"name":"eth7"},"d1":{}})"));
    CHECK(p.refusal.empty());
    REQUIRE(p.moves.size() == 2);
    CHECK(p.moves[0].hostName == "d1");
    CHECK(p.moves[0].containerName == "d1");  // no name: keeps its own
    CHECK(p.moves[1].containerName == "eth7");
    CHECK(p.moves[1].jsonPath == "linux.netDevices.dummy0");
    CHECK(p.joinedPath.empty());

    CHECK(
        planNetDevices(specWith(R"({"type":"network","path":"/run/netns/x"})", R"({"dummy0":{}})"))
            .joinedPath == "/run/netns/x");
    CHECK(planNetDevices(specWith(R"({"type":"mount"})", R"({"dummy0":{}})")).refusal ==
          "the container shares the runtime's network namespace (linux.namespaces has no "
          "\"network\" entry), so there is nowhere to move the devices to");
    CHECK(
        planNetDevices(specWith(R"({"type":"network"})", R"({"d0":{"name":"a-very-long-name0"}})"))
            .refusal ==
        "d0.name: \"a-very-long-name0\" is longer than the kernel's 15 "
        "characters for an interface name");
    CHECK(planNetDevices(specWith(R"({"type":"network"})", R"({"d0":{"name":"a/b"}})")).refusal ==
          "d0.name: \"a/b\" has a '/', ':' or white space, which an interface name cannot");
    CHECK(planNetDevices(specWith(R"({"type":"network"})", R"({"..":{}})")).refusal ==
          "..: \"..\" cannot name an interface");
    CHECK(planNetDevices(
              specWith(R"({"type":"network"})", R"({"d0":{"name":"eth0"},"d1":{"name":"eth0"}})"))
              .refusal == "both d0 and d1 would be called eth0 in the container");
}

TEST_CASE(
    "netDevices attach: down, moved and renamed in one step, permanent global addresses "
    "re-added, up") {
    RecordingNetDeviceKernel k;
    hostWithDummy(k);
    NetDevicePlan plan =
        planNetDevices(specWith(R"({"type":"network"})", R"({"dummy0":{"name":"eth7"}})"));
    NetDevicesNamespace ns = attachContainerNetDevices(plan, 42, "/state/c1/netns", k);
    CHECK(ns.path == "/state/c1/netns");
    CHECK(ns.pinned);
    CHECK(k.pins.at("/state/c1/netns") == "ctr");
    CHECK(k.namespaces["host"].count("dummy0") == 0);
    REQUIRE(k.namespaces["ctr"].count("eth7") == 1);
    const Link& moved = k.namespaces["ctr"]["eth7"];
    CHECK(moved.up);
    CHECK(addressTexts(moved) == std::vector<std::string>{"192.0.2.10/24", "2001:db8::10/64"});
    CHECK(k.only({"pinNamespace", "setLinkUp", "moveLink", "addAddress"}) ==
          std::vector<std::string>{"pinNamespace /proc/42/ns/net /state/c1/netns",
                                   "setLinkUp host dummy0 down", "moveLink host dummy0 -> ctr eth7",
                                   "addAddress ctr eth7 192.0.2.10/24",
                                   "addAddress ctr eth7 2001:db8::10/64", "setLinkUp ctr eth7 up"});
    CHECK(k.openFds() == 0);

    // delete: down, back under its host name, with the address; the pin goes.
    std::vector<std::string> warnings = detachContainerNetDevices({{"dummy0", "eth7"}}, ns, k);
    CHECK(warnings.empty());
    REQUIRE(k.namespaces["host"].count("dummy0") == 1);
    CHECK_FALSE(k.namespaces["host"]["dummy0"].up);
    CHECK(addressTexts(k.namespaces["host"]["dummy0"]) ==
          std::vector<std::string>{"192.0.2.10/24", "2001:db8::10/64"});
    CHECK(k.namespaces["ctr"].empty());
    CHECK(k.pins.empty());
    CHECK(k.openFds() == 0);
}

TEST_CASE("netDevices attach: a failure on the second device moves the first back and unpins") {
    RecordingNetDeviceKernel k;
    hostWithDummy(k);
    NetDevicePlan plan = planNetDevices(
        specWith(R"({"type":"network"})", R"({"dummy0":{"name":"eth7"},"missing0":{}})"));
    REQUIRE(plan.moves.size() == 2);
    CHECK_THROWS_WITH(attachContainerNetDevices(plan, 42, "/state/c1/netns", k),
                      "linux.netDevices.missing0: moving missing0 into the container's network "
                      "namespace as missing0: there is no network device missing0");
    REQUIRE(k.namespaces["host"].count("dummy0") == 1);
    CHECK(addressTexts(k.namespaces["host"]["dummy0"]) ==
          std::vector<std::string>{"192.0.2.10/24", "2001:db8::10/64"});
    CHECK(k.namespaces["ctr"].empty());
    CHECK(k.pins.empty());
    CHECK(k.openFds() == 0);
}

TEST_CASE("netDevices attach: a clashing name or a failed address is an error naming the device") {
    SUBCASE("the container already has the name") {
        RecordingNetDeviceKernel k;
        hostWithDummy(k);
        k.addLink("ctr", "eth7", {});
        NetDevicePlan plan =
            planNetDevices(specWith(R"({"type":"network"})", R"({"dummy0":{"name":"eth7"}})"));
        CHECK_THROWS_WITH(attachContainerNetDevices(plan, 42, "/state/c1/netns", k),
                          "linux.netDevices.dummy0: moving dummy0 into the container's network "
                          "namespace as eth7: a network device called eth7 already exists there");
        CHECK(k.namespaces["host"].count("dummy0") == 1);
        CHECK(k.only({"moveLink"}).empty());
        CHECK(k.pins.empty());
    }
    SUBCASE("the address cannot be added in the container") {
        RecordingNetDeviceKernel k;
        hostWithDummy(k);
        k.failOn("addAddress ctr", EADDRNOTAVAIL);
        NetDevicePlan plan =
            planNetDevices(specWith(R"({"type":"network"})", R"({"dummy0":{"name":"eth7"}})"));
        try {
            attachContainerNetDevices(plan, 42, "/state/c1/netns", k);
            FAIL("attach did not fail");
        } catch (const Error& e) {
            std::string what = e.what();
            CHECK(what.rfind("linux.netDevices.dummy0: moving dummy0 into the container's "
                             "network namespace as eth7: restoring the address 192.0.2.10/24: ",
                             0) == 0);
        }
        // Rolled back: the device is home again (its address could not go with it).
        CHECK(k.namespaces["host"].count("dummy0") == 1);
        CHECK(k.namespaces["ctr"].empty());
        CHECK(k.pins.empty());
        CHECK(k.openFds() == 0);
    }
}

TEST_CASE("netDevices: a joined namespace is not pinned; a vanished device is a warning") {
    RecordingNetDeviceKernel k;
    hostWithDummy(k);
    k.paths["/run/netns/x"] = "ctr";
    NetDevicePlan plan =
        planNetDevices(specWith(R"({"type":"network","path":"/run/netns/x"})", R"({"dummy0":{}})"));
    NetDevicesNamespace ns = attachContainerNetDevices(plan, 42, "/state/c1/netns", k);
    CHECK(ns.path == "/run/netns/x");
    CHECK_FALSE(ns.pinned);
    CHECK(k.only({"pinNamespace"}).empty());
    CHECK(k.namespaces["ctr"].count("dummy0") == 1);

    k.namespaces["ctr"].erase("dummy0");  // the container deleted it
    std::vector<std::string> warnings = detachContainerNetDevices({{"dummy0", "dummy0"}}, ns, k);
    CHECK(warnings == std::vector<std::string>{
                          "linux.netDevices.dummy0: moving dummy0 back to the runtime's network "
                          "namespace as dummy0: there is no network device dummy0"});
    CHECK(k.only({"unpinNamespace"}).empty());
    CHECK(k.openFds() == 0);
}
