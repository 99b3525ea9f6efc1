#include "caprun/state.hpp"
#include "caprun/sys/atomic_write.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/log.hpp"

namespace caprun {

namespace {

constexpr int kStateVersion = 1;

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void writeString(Writer& w, const std::string& s) {
    w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

void writeStringMap(Writer& w, const std::map<std::string, std::string>& m) {
    w.StartObject();
    for (const auto& [k, v] : m) {
        writeString(w, k);
        writeString(w, v);
    }
    w.EndObject();
}

void writeStringArray(Writer& w, const std::vector<std::string>& v) {
    w.StartArray();
    for (const auto& s : v) writeString(w, s);
    w.EndArray();
}

std::string readWholeFile(const std::string& path, int& err) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        return {};
    }
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            err = errno;
            ::close(fd);
            return {};
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    err = 0;
    return out;
}

void removeTree(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) return;
        if (errno == ENOTDIR) {
            if (::unlink(path.c_str()) != 0 && errno != ENOENT) throwErrno("removing " + path);
            return;
        }
        throwErrno("opening " + path + " to remove it");
    }
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        std::string child = path + "/" + name;
        struct stat st {};
        if (::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            removeTree(child);
        else if (::unlink(child.c_str()) != 0 && errno != ENOENT) {
            // A network namespace pin (net_devices.hpp) whose state was lost: still mounted.
            if (errno == EBUSY && ::umount2(child.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0 &&
                ::unlink(child.c_str()) == 0)
                continue;
            int err = errno;
            ::closedir(d);
            throwSys("removing " + child, err);
        }
    }
    ::closedir(d);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) throwErrno("removing " + path);
}

void mkdirIfMissing(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return;
    if (errno == ENOENT) {
        auto slash = path.find_last_of('/');
        if (slash != std::string::npos && slash > 0) {
            mkdirIfMissing(path.substr(0, slash), mode);
            if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return;
        }
    }
    throwErrno("creating the state directory " + path);
}

int lockFile(const std::string& path, const std::string& id) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == ENOENT) throw Error("container " + id + " does not exist");
        throwErrno("opening the lock file " + path);
    }
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    while (::fcntl(fd, F_SETLKW, &fl) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        throwSys("locking " + path, err);
    }
    return fd;
}

}  // namespace

std::string statusName(ContainerStatus s) {
    switch (s) {
        case ContainerStatus::Creating:
            return "creating";
        case ContainerStatus::Created:
            return "created";
        case ContainerStatus::Running:
            return "running";
        case ContainerStatus::Paused:
            return "paused";
        case ContainerStatus::Stopped:
            return "stopped";
    }
    return "unknown";
}

ContainerStatus parseStatusName(const std::string& name) {
    for (auto s : {ContainerStatus::Creating, ContainerStatus::Created, ContainerStatus::Running,
                   ContainerStatus::Paused, ContainerStatus::Stopped})
        if (statusName(s) == name) return s;
    throw Error("unknown container status \"" + name + "\"");
}

std::string serializeState(const ContainerState& s) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("caprunStateVersion");
    w.Int(kStateVersion);
    w.Key("ociVersion");
    writeString(w, s.ociVersion);
    w.Key("id");
    writeString(w, s.id);
    w.Key("pid");
    w.Int(s.pid);
    w.Key("pidStartTime");
    w.Uint64(s.pidStartTime);
    w.Key("bundle");
    writeString(w, s.bundle);
    w.Key("rootfs");
    writeString(w, s.rootfs);
    w.Key("created");
    writeString(w, s.created);
    w.Key("owner");
    writeString(w, s.owner);
    w.Key("annotations");
    writeStringMap(w, s.annotations);
    w.Key("status");
    writeString(w, statusName(s.status));
    w.Key("cgroupPaths");
    writeStringMap(w, s.cgroupPaths);
    w.Key("cgroupCreatedParents");
    writeStringArray(w, s.cgroupCreatedParents);
    w.Key("systemdCgroup");
    w.Bool(s.systemdCgroup);
    if (s.systemdCgroup) {
        w.Key("systemdUnit");
        writeString(w, s.systemdUnit);
        w.Key("systemdUserBus");
        w.Bool(s.systemdUserBus);
    }
    w.Key("namespacePaths");
    writeStringMap(w, s.namespacePaths);
    if (!s.netDevices.empty()) {
        w.Key("netDevices");
        writeStringMap(w, s.netDevices);
        w.Key("netDevicesNamespace");
        writeString(w, s.netDevicesNamespace);
        w.Key("netDevicesNamespacePinned");
        w.Bool(s.netDevicesNamespacePinned);
    }
    if (!s.intelRdtGroup.empty()) {
        w.Key("intelRdtGroup");
        writeString(w, s.intelRdtGroup);
        w.Key("intelRdtGroupCreated");
        w.Bool(s.intelRdtGroupCreated);
        w.Key("intelRdtMonitorGroup");
        writeString(w, s.intelRdtMonitorGroup);
    }
    w.Key("ownPidNamespace");
    w.Bool(s.ownPidNamespace);
    w.Key("capPolicy");
    writeString(w, s.capPolicy);
    w.Key("sessionKeyring");
    writeString(w, s.sessionKeyring);
    if (s.seccompProfile) {
        w.Key("seccompProfile");
        writeString(w, *s.seccompProfile);
    }
    w.Key("terminal");
    w.Bool(s.terminal);
    w.Key("poststop");
    w.StartArray();
    for (const auto& h : s.poststop) {
        w.StartObject();
        w.Key("path");
        writeString(w, h.path);
        w.Key("args");
        writeStringArray(w, h.args);
        if (h.env) {
            w.Key("env");
            writeStringArray(w, *h.env);
        }
        if (h.timeout) {
            w.Key("timeout");
            w.Int(*h.timeout);
        }
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

ContainerState parseState(std::string_view text, const std::string& label) {
    auto doc = json::parse(text, label);
    auto root = json::Node::root(doc);
    if (!root.isObject()) root.fail("expected an object");
    auto version = root.require("caprunStateVersion").asInt32();
    if (version != kStateVersion)
        root.fail("state written by an incompatible caprun (state version " +
                  std::to_string(version) + ", this caprun reads " + std::to_string(kStateVersion) +
                  ")");
    ContainerState s;
    s.ociVersion = root.optString("ociVersion").value_or("");
    s.id = root.require("id").asString();
    s.pid = root.require("pid").asInt32();
    s.pidStartTime = root.optUint64("pidStartTime").value_or(0);
    s.bundle = root.optString("bundle").value_or("");
    s.rootfs = root.optString("rootfs").value_or("");
    s.created = root.optString("created").value_or("");
    s.owner = root.optString("owner").value_or("");
    if (auto a = root.get("annotations")) s.annotations = a->asStringMap();
    s.status = parseStatusName(root.require("status").asString());
    if (auto c = root.get("cgroupPaths")) s.cgroupPaths = c->asStringMap();
    if (auto c = root.get("cgroupCreatedParents")) s.cgroupCreatedParents = c->asStringArray();
    s.systemdCgroup = root.optBool("systemdCgroup").value_or(false);
    s.systemdUnit = root.optString("systemdUnit").value_or("");
    s.systemdUserBus = root.optBool("systemdUserBus").value_or(false);
    if (s.systemdCgroup && s.systemdUnit.empty())
        root.fail("systemdCgroup is true but systemdUnit is missing");
    if (auto n = root.get("namespacePaths")) s.namespacePaths = n->asStringMap();
    if (auto n = root.get("netDevices")) s.netDevices = n->asStringMap();
    s.netDevicesNamespace = root.optString("netDevicesNamespace").value_or("");
    s.netDevicesNamespacePinned = root.optBool("netDevicesNamespacePinned").value_or(false);
    s.intelRdtGroup = root.optString("intelRdtGroup").value_or("");
    s.intelRdtGroupCreated = root.optBool("intelRdtGroupCreated").value_or(false);
    s.intelRdtMonitorGroup = root.optString("intelRdtMonitorGroup").value_or("");
    if (!s.netDevices.empty() && s.netDevicesNamespace.empty())
        root.fail("netDevices is set but netDevicesNamespace is missing");
    s.ownPidNamespace = root.optBool("ownPidNamespace").value_or(true);
    s.capPolicy = root.optString("capPolicy").value_or("");
    s.sessionKeyring = root.optString("sessionKeyring").value_or("");
    s.seccompProfile = root.optString("seccompProfile");
    s.terminal = root.optBool("terminal").value_or(false);
    if (auto hooks = root.get("poststop")) {
        for (const auto& item : hooks->items()) {
            Hook h;
            h.path = item.require("path").asString();
            if (auto a = item.get("args")) h.args = a->asStringArray();
            if (auto e = item.get("env")) h.env = e->asStringArray();
            if (auto t = item.optInt32("timeout")) h.timeout = *t;
            s.poststop.push_back(std::move(h));
        }
    }
    return s;
}

std::optional<std::uint64_t> processStartTime(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    int err = 0;
    std::string stat = readWholeFile("/proc/" + std::to_string(pid) + "/stat", err);
    if (err != 0) return std::nullopt;
    // The command name (field 2) may contain spaces and parentheses: fields after it are
    // counted from the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream in(stat.substr(close + 1));
    std::string field;
    // Field 3 is the state; field 22 is starttime: 20 fields after ')'.
    for (int i = 3; i <= 22; ++i)
        if (!(in >> field)) return std::nullopt;
    try {
        return std::stoull(field);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool processAlive(pid_t pid, std::uint64_t startTime) {
    if (pid <= 0) return false;
    int err = 0;
    std::string stat = readWholeFile("/proc/" + std::to_string(pid) + "/stat", err);
    if (err != 0) return false;
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) return false;
    char state = stat[close + 2];
    if (state == 'Z' || state == 'X' || state == 'x') return false;
    if (startTime == 0) return true;
    auto st = processStartTime(pid);
    return st && *st == startTime;
}

ContainerStatus liveStatus(const ContainerState& s) {
    if (s.status == ContainerStatus::Stopped) return ContainerStatus::Stopped;
    if (s.pid <= 0)
        return s.status == ContainerStatus::Creating ? ContainerStatus::Creating
                                                     : ContainerStatus::Stopped;
    if (!processAlive(s.pid, s.pidStartTime)) return ContainerStatus::Stopped;
    return s.status;
}

std::string stateJson(const ContainerState& s, ContainerStatus status) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("ociVersion");
    writeString(w, s.ociVersion);
    w.Key("id");
    writeString(w, s.id);
    w.Key("status");
    writeString(w, statusName(status));
    // The spec requires pid while created or running; runc prints 0 once stopped.
    w.Key("pid");
    w.Int(status == ContainerStatus::Stopped ? 0 : s.pid);
    w.Key("bundle");
    writeString(w, s.bundle);
    w.Key("rootfs");
    writeString(w, s.rootfs);
    w.Key("created");
    writeString(w, s.created);
    w.Key("owner");
    writeString(w, s.owner);
    w.Key("annotations");
    writeStringMap(w, s.annotations);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

ContainerLock& ContainerLock::operator=(ContainerLock&& o) noexcept {
    if (this != &o) {
        release();
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

ContainerLock::~ContainerLock() {
    release();
}

void ContainerLock::release() {
    // Closing the fd drops the POSIX lock.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

StateStore::StateStore(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string StateStore::containerDir(const std::string& id) const {
    return root_ + "/" + id;
}
std::string StateStore::execFifoPath(const std::string& id) const {
    return containerDir(id) + "/exec.fifo";
}
std::string StateStore::statePath(const std::string& id) const {
    return containerDir(id) + "/state.json";
}

void StateStore::validateId(const std::string& id) {
    if (id.empty()) throw Error("container id must not be empty");
    if (id.size() > 1024) throw Error("container id is longer than 1024 characters");
    if (id == "." || id == ".." || id.find('/') != std::string::npos ||
        id.find('\0') != std::string::npos)
        throw Error("invalid container id \"" + id +
                    "\": it must not be \".\", \"..\" or contain '/'");
}

ContainerLock StateStore::createDir(const std::string& id) {
    validateId(id);
    mkdirIfMissing(root_, 0711);
    std::string dir = containerDir(id);
    if (::mkdir(dir.c_str(), 0711) != 0) {
        if (errno == EEXIST)
            throw Error("container " + id +
                        " already exists: choose another id, or remove it "
                        "with `caprun --root " +
                        root_ + " delete --force " + id + "`");
        throwErrno("creating the state directory " + dir);
    }
    try {
        return ContainerLock(lockFile(dir + "/lock", id));
    } catch (...) {
        ::rmdir(dir.c_str());
        throw;
    }
}

ContainerLock StateStore::lockContainer(const std::string& id) const {
    validateId(id);
    struct stat st {};
    if (::stat(containerDir(id).c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw Error("container " + id + " does not exist");
    return ContainerLock(lockFile(containerDir(id) + "/lock", id));
}

bool StateStore::exists(const std::string& id) const {
    struct stat st {};
    return ::stat(statePath(id).c_str(), &st) == 0;
}

ContainerState StateStore::load(const std::string& id) const {
    validateId(id);
    int err = 0;
    std::string path = statePath(id);
    std::string text = readWholeFile(path, err);
    if (err == ENOENT || err == ENOTDIR) throw Error("container " + id + " does not exist");
    if (err != 0) throwSys("reading the state of container " + id + " (" + path + ")", err);
    return parseState(text, path);
}

void StateStore::save(const ContainerState& s) const {
    validateId(s.id);
    std::string path = statePath(s.id);
    sys::writeFileAtomically(path, serializeState(s), 0600,
                             "writing the state of container " + s.id);
}

void StateStore::remove(const std::string& id) const {
    validateId(id);
    removeTree(containerDir(id));
}

std::vector<ContainerState> StateStore::list() const {
    std::vector<ContainerState> out;
    DIR* d = ::opendir(root_.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) return out;
        throwErrno("listing the state root " + root_);
    }
    std::vector<std::string> ids;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        ids.push_back(name);
    }
    ::closedir(d);
    std::sort(ids.begin(), ids.end());
    for (const auto& id : ids) {
        struct stat st {};
        if (::stat(statePath(id).c_str(), &st) != 0) continue;  // being created or not ours
        try {
            out.push_back(load(id));
        } catch (const Error& e) {
            log::warn(std::string("skipping container ") + id + ": " + e.what());
        }
    }
    return out;
}

std::string ownerName(uid_t uid) {
    struct passwd pw {};
    struct passwd* result = nullptr;
    char buf[4096];
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result != nullptr)
        return result->pw_name;
    return std::to_string(uid);
}

std::optional<std::string> capPolicyFor(const std::optional<std::string>& option,
                                        const ContainerState& st) {
    if (option) return option;
    if (!st.capPolicy.empty()) return st.capPolicy;
    return std::nullopt;
}

}  // namespace caprun
