#include "caprun/systemd_bus.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "caprun/error.hpp"
#include "caprun/log.hpp"

#ifdef CAPRUN_HAVE_LIBSYSTEMD
#include "caprun/sd_bus_library.hpp"

#include <chrono>
#include <cstring>
#include <map>
#endif

namespace caprun {

namespace {

std::string readText(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throwErrno("reading " + path);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    int err = n < 0 ? errno : 0;
    ::close(fd);
    if (err != 0) throwSys("reading " + path, err);
    return out;
}

}  // namespace

SystemdHostFacts detectSystemdHostFacts(bool rootless) {
    SystemdHostFacts f;
    f.rootless = rootless;
    if (rootless) f.managerCgroup = userManagerCgroup(readText("/proc/self/uid_map"), ::geteuid());
    try {
        f.procDevices = readText("/proc/devices");
    } catch (const Error& e) {
        log::debug(e.what());
    }
    return f;
}

Cgroup joinSystemdUnitCgroup(const CgroupHost& host, const SystemdCgroupPlan& plan, pid_t pid) {
    std::string self = readText("/proc/" + std::to_string(pid) + "/cgroup");
    SystemdCgroupPaths where = systemdCgroupPaths(host, self, plan);
    std::map<std::string, std::string> all = where.joined;
    std::vector<std::string> createdParents;
    if (!where.missing.empty()) {
        Cgroup extra(where.missing);
        extra.create();
        try {
            extra.enter(pid);
        } catch (...) {
            extra.destroy();
            throw;
        }
        createdParents = extra.createdParents();
        all.insert(where.missing.begin(), where.missing.end());
    }
    return Cgroup(std::move(all), std::move(createdParents));
}

#ifndef CAPRUN_HAVE_LIBSYSTEMD

namespace {
[[noreturn]] void notBuilt(const std::string& doing) {
    throw Error(doing +
                ": caprun was built without libsystemd, so it has no systemd cgroup driver "
                "(install libsystemd-dev and rebuild, or run without --systemd-cgroup to use "
                "the cgroupfs manager)");
}
}  // namespace

bool systemdDriverBuilt() {
    return false;
}
void startSystemdUnit(const SystemdCgroupPlan& plan, pid_t, bool) {
    notBuilt("starting unit " + plan.unit);
}
void stopSystemdUnit(const std::string& unit, bool) {
    notBuilt("stopping unit " + unit);
}
void setSystemdUnitProperties(const std::string& unit, const std::vector<SystemdProperty>&, bool) {
    notBuilt("setting properties of unit " + unit);
}
void attachToSystemdUnit(const std::string& unit, pid_t, bool) {
    notBuilt("moving a process into unit " + unit);
}

#else

namespace {

const char* kService = "org.freedesktop.systemd1";
const char* kPath = "/org/freedesktop/systemd1";
const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr auto kJobTimeout = std::chrono::seconds(30);  // runc waits as long

// Loaded by the first Bus (which names what it was doing if that fails).
const SdBusLibrary& sd() {
    return sdBusLibrary("using sd-bus");
}

std::string errText(int r, const sd_bus_error& e) {
    if (e.message != nullptr && *e.message) return e.message;
    if (e.name != nullptr && *e.name) return e.name;
    return std::strerror(-r);
}

class Bus {
  public:
    Bus(bool user, const std::string& doing) {
        sdBusLibrary(doing);
        int r;
        if (user) {
            r = sd().open_user(&bus_);
            if (r < 0)
                throw Error(doing +
                            ": connecting to the user's D-Bus session bus: " + std::strerror(-r) +
                            " (is XDG_RUNTIME_DIR set and systemd --user running?)");
        } else {
            r = sd().open_system(&bus_);
            if (r < 0) {
                // No dbus-daemon (yet): systemd's own socket, root only.
                int systemErr = r;
                bus_ = nullptr;
                direct_ = true;
                r = sd().bus_new(&bus_);
                if (r >= 0) r = sd().set_address(bus_, "unix:path=/run/systemd/private");
                if (r >= 0) r = sd().start(bus_);
                if (r < 0)
                    throw Error(doing + ": connecting to systemd: the system bus: " +
                                std::strerror(-systemErr) +
                                "; /run/systemd/private: " + std::strerror(-r));
            }
        }
    }
    ~Bus() {
        if (bus_ != nullptr) sd().flush_close_unref(bus_);
    }
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;
    sd_bus* get() const { return bus_; }
    bool direct() const { return direct_; }

  private:
    sd_bus* bus_ = nullptr;
    bool direct_ = false;
};

struct Message {
    sd_bus_message* m = nullptr;
    ~Message() {
        if (m != nullptr) sd().message_unref(m);
    }
};
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() {
        if (e.name != nullptr) sd().error_free(&e);
    }
};
struct Slot {
    sd_bus_slot* s = nullptr;
    ~Slot() {
        if (s != nullptr) sd().slot_unref(s);
    }
};

void check(int r, const std::string& doing) {
    if (r < 0) throw Error(doing + ": building the D-Bus message: " + std::strerror(-r));
}

void appendValue(sd_bus_message* m, const SystemdValue& v, const std::string& doing) {
    int r = 0;
    if (const auto* b = std::get_if<bool>(&v)) {
        r = sd().message_append(m, "b", static_cast<int>(*b));
    } else if (const auto* t = std::get_if<std::uint64_t>(&v)) {
        r = sd().message_append(m, "t", *t);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
        r = sd().message_append(m, "s", s->c_str());
    } else if (const auto* as = std::get_if<std::vector<std::string> >(&v)) {
        check(sd().message_open_container(m, 'a', "s"), doing);
        for (const auto& x : *as) check(sd().message_append(m, "s", x.c_str()), doing);
        r = sd().message_close_container(m);
    } else if (const auto* au = std::get_if<std::vector<std::uint32_t> >(&v)) {
        r = sd().message_append_array(m, 'u', au->data(), au->size() * sizeof(std::uint32_t));
    } else if (const auto* ay = std::get_if<std::vector<std::uint8_t> >(&v)) {
        r = sd().message_append_array(m, 'y', ay->data(), ay->size());
    } else if (const auto* d = std::get_if<DeviceAllowList>(&v)) {
        check(sd().message_open_container(m, 'a', "(ss)"), doing);
        for (const auto& [path, acc] : *d)
            check(sd().message_append(m, "(ss)", path.c_str(), acc.c_str()), doing);
        r = sd().message_close_container(m);
    }
    check(r, doing);
}

void appendProperties(sd_bus_message* m, const std::vector<SystemdProperty>& props,
                      const std::string& doing) {
    check(sd().message_open_container(m, 'a', "(sv)"), doing);
    for (const auto& p : props) {
        check(sd().message_open_container(m, 'r', "sv"), doing);
        check(sd().message_append(m, "s", p.name.c_str()), doing);
        std::string sig = systemdSignature(p.value);
        check(sd().message_open_container(m, 'v', sig.c_str()), doing);
        appendValue(m, p.value, doing);
        check(sd().message_close_container(m), doing);
        check(sd().message_close_container(m), doing);
    }
    check(sd().message_close_container(m), doing);
}

// Collects JobRemoved signals (job object path -> result) from before the call that queues
// the job, so a fast job is not missed.
struct JobWatch {
    std::map<std::string, std::string> removed;
    Slot slot;

    JobWatch(Bus& bus, const std::string& doing) {
        // On the private socket there is no bus daemon and no sender name to match.
        int r = sd().match_signal(bus.get(), &slot.s, bus.direct() ? nullptr : kService, kPath,
                                  kManager, "JobRemoved", &JobWatch::onSignal, this);
        if (r < 0) throw Error(doing + ": watching systemd's jobs: " + std::strerror(-r));
        // systemd only emits job signals to subscribed clients.
        BusError err;
        r = sd().call_method(bus.get(), kService, kPath, kManager, "Subscribe", &err.e, nullptr,
                             "");
        if (r < 0 && !sd().error_has_name(&err.e, "org.freedesktop.systemd1.AlreadySubscribed"))
            throw Error(doing + ": subscribing to systemd's job signals: " + errText(r, err.e));
    }
    static int onSignal(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<JobWatch*>(userdata);
        std::uint32_t id = 0;
        const char* path = nullptr;
        const char* unit = nullptr;
        const char* result = nullptr;
        if (sd().message_read(m, "uoss", &id, &path, &unit, &result) >= 0)
            self->removed[path] = result;
        return 0;
    }
    // Waits for the job at `job`; returns its result ("done", "failed", "canceled", ...).
    std::string wait(Bus& bus, const std::string& job, const std::string& doing) {
        auto deadline = std::chrono::steady_clock::now() + kJobTimeout;
        for (;;) {
            auto it = removed.find(job);
            if (it != removed.end()) return it->second;
            int r = sd().process(bus.get(), nullptr);
            if (r < 0)
                throw Error(doing + ": waiting for systemd's job " + job + ": " +
                            std::strerror(-r));
            if (r > 0) continue;
            auto left = deadline - std::chrono::steady_clock::now();
            if (left <= std::chrono::seconds(0))
                throw Error(doing + ": systemd's job " + job + " did not finish within " +
                            std::to_string(kJobTimeout.count()) + " s");
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
            r = sd().wait(bus.get(), static_cast<std::uint64_t>(us));
            if (r < 0 && r != -EINTR)
                throw Error(doing + ": waiting for systemd's job " + job + ": " +
                            std::strerror(-r));
        }
    }
};

// Calls a Manager method that returns a job path and waits for the job. Returns the job's
// result; throws with systemd's error text when the call itself fails.
std::string callJob(Bus& bus, Message& call, const std::string& doing, BusError& err, int& rc) {
    JobWatch watch(bus, doing);
    Message reply;
    rc = sd().call(bus.get(), call.m, 0, &err.e, &reply.m);
    if (rc < 0) return "";
    const char* job = nullptr;
    int r = sd().message_read(reply.m, "o", &job);
    if (r < 0) throw Error(doing + ": reading systemd's reply: " + std::strerror(-r));
    return watch.wait(bus, job, doing);
}

void resetFailed(Bus& bus, const std::string& unit) {
    BusError err;
    int r = sd().call_method(bus.get(), kService, kPath, kManager, "ResetFailedUnit", &err.e,
                             nullptr, "s", unit.c_str());
    if (r < 0) log::debug("ResetFailedUnit " + unit + ": " + errText(r, err.e));
}

void stopOn(Bus& bus, const std::string& unit) {
    std::string doing = "stopping unit " + unit;
    Message call;
    check(sd().message_new_method_call(bus.get(), &call.m, kService, kPath, kManager, "StopUnit"),
          doing);
    check(sd().message_append(call.m, "ss", unit.c_str(), "replace"), doing);
    BusError err;
    int rc = 0;
    std::string result = callJob(bus, call, doing, err, rc);
    if (rc < 0) {
        if (sd().error_has_name(&err.e, "org.freedesktop.systemd1.NoSuchUnit")) return;
        throw Error(doing + ": " + errText(rc, err.e));
    }
    resetFailed(bus, unit);
    if (result != "done")
        throw Error(doing + ": the stop job finished with result \"" + result + "\"");
}

}  // namespace

bool systemdDriverBuilt() {
    return true;
}

void startSystemdUnit(const SystemdCgroupPlan& plan, pid_t pid, bool user) {
    std::string doing = "starting unit " + plan.unit + " in " + plan.slice;
    Bus bus(user, doing);
    Message call;
    check(sd().message_new_method_call(bus.get(), &call.m, kService, kPath, kManager,
                                       "StartTransientUnit"),
          doing);
    // "fail": an existing unit of that name is an error, never replaced.
    check(sd().message_append(call.m, "ss", plan.unit.c_str(), "fail"), doing);
    std::vector<SystemdProperty> props = plan.properties;
    if (!plan.sliceUnit)
        props.push_back({"PIDs", std::vector<std::uint32_t>{static_cast<std::uint32_t>(pid)}, ""});
    appendProperties(call.m, props, doing);
    check(sd().message_append(call.m, "a(sa(sv))", 0), doing);  // no auxiliary units
    BusError err;
    int rc = 0;
    std::string result = callJob(bus, call, doing, err, rc);
    if (rc < 0) throw Error(doing + ": " + errText(rc, err.e));
    if (result != "done") {
        // The unit may be loaded in a failed state: take it away again.
        try {
            stopOn(bus, plan.unit);
        } catch (const Error& e) {
            log::warn(std::string("cleaning up after a failed start: ") + e.what());
        }
        resetFailed(bus, plan.unit);
        throw Error(doing + ": the start job finished with result \"" + result +
                    "\" (see journalctl -u " + plan.unit + ")");
    }
}

void stopSystemdUnit(const std::string& unit, bool user) {
    Bus bus(user, "stopping unit " + unit);
    stopOn(bus, unit);
}

void setSystemdUnitProperties(const std::string& unit, const std::vector<SystemdProperty>& props,
                              bool user) {
    std::string doing = "setting properties of unit " + unit;
    if (props.empty()) return;
    Bus bus(user, doing);
    Message call;
    check(sd().message_new_method_call(bus.get(), &call.m, kService, kPath, kManager,
                                       "SetUnitProperties"),
          doing);
    check(sd().message_append(call.m, "sb", unit.c_str(), 1), doing);
    appendProperties(call.m, props, doing);
    BusError err;
    Message reply;
    int rc = sd().call(bus.get(), call.m, 0, &err.e, &reply.m);
    if (rc < 0) throw Error(doing + ": " + errText(rc, err.e));
}

void attachToSystemdUnit(const std::string& unit, pid_t pid, bool user) {
    std::string doing = "moving pid " + std::to_string(pid) + " into unit " + unit;
    Bus bus(user, doing);
    Message call;
    check(sd().message_new_method_call(bus.get(), &call.m, kService, kPath, kManager,
                                       "AttachProcessesToUnit"),
          doing);
    check(sd().message_append(call.m, "ss", unit.c_str(), ""), doing);
    const std::uint32_t pids[] = {static_cast<std::uint32_t>(pid)};
    check(sd().message_append_array(call.m, 'u', pids, sizeof pids), doing);
    BusError err;
    Message reply;
    int rc = sd().call(bus.get(), call.m, 0, &err.e, &reply.m);
    if (rc < 0) throw Error(doing + ": " + errText(rc, err.e));
}

#endif

}  // namespace caprun
