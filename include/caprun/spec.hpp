// The Linux parts of the OCI runtime-spec config.json (1.0.0 to 1.3.x) as typed values.
// Field names follow the spec; optional fields are std::optional where "absent" differs
// from a default value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/json.hpp"

namespace caprun {

constexpr std::size_t kMaxConfigBytes = 16 * 1024 * 1024;

struct Root {
    std::string path;
    bool readonly = false;
};

struct IdMapping {
    std::uint32_t containerID = 0;
    std::uint32_t hostID = 0;
    std::uint32_t size = 0;
};

struct Mount {
    std::string destination;
    std::string type;  // may be empty (bind mounts)
    std::string source;
    std::vector<std::string> options;
    std::vector<IdMapping> uidMappings, gidMappings;  // an idmapped mount's mapping
    std::string jsonPath;  // "mounts[3]", for error messages of later stages
};

struct ConsoleSize {
    std::uint32_t height = 0;
    std::uint32_t width = 0;
};

struct User {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::optional<std::uint32_t> umask;
    std::vector<std::uint32_t> additionalGids;
    std::string username;  // Windows-only in the spec; kept for completeness
};

// The five requested sets exactly as written (names not yet classified).
struct Capabilities {
    std::vector<std::string> bounding;
    std::vector<std::string> effective;
    std::vector<std::string> inheritable;
    std::vector<std::string> permitted;
    std::vector<std::string> ambient;
};

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    std::uint64_t hard = 0;
    std::uint64_t soft = 0;
    std::string jsonPath;  // "process.rlimits[0]"
};

struct IoPriority {
    std::string ioClass;  // IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE
    std::int32_t priority = 0;
};

struct Scheduler {
    std::string policy;  // SCHED_OTHER, SCHED_FIFO, ...
    std::optional<std::int32_t> nice;
    std::optional<std::int32_t> priority;
    std::vector<std::string> flags;
    std::optional<std::uint64_t> runtime, deadline, period;
};

// process.execCPUAffinity: CPU lists ("0-3,7") as written; empty = not set.
struct ExecCpuAffinity {
    std::string initial;
    std::string final;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> consoleSize;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;  // absent object -> no capabilities at all
    std::vector<Rlimit> rlimits;
    bool noNewPrivileges = false;
    std::string apparmorProfile;
    std::optional<std::int32_t> oomScoreAdj;
    std::string selinuxLabel;
    std::optional<IoPriority> ioPriority;
    std::optional<Scheduler> scheduler;
    std::optional<ExecCpuAffinity> execCPUAffinity;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    // Unset (no "env" in config.json): the hook gets the runtime's own environment, as
    // with runc and crun; set, even to [], exactly these variables.
    std::optional<std::vector<std::string>> env;
    std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
    std::vector<Hook> prestart;  // deprecated but still used by callers
    std::vector<Hook> createRuntime;
    std::vector<Hook> createContainer;
    std::vector<Hook> startContainer;
    std::vector<Hook> poststart;
    std::vector<Hook> poststop;
};

struct Namespace {
    std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
    std::string path;  // empty: create a new one
};

struct TimeOffset {
    std::int64_t secs = 0;
    std::uint32_t nanosecs = 0;
};

struct Device {
    std::string path;
    std::string type;  // c, b, u, p
    std::int64_t major = 0;
    std::int64_t minor = 0;
    std::optional<std::uint32_t> fileMode;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> gid;
};

struct DeviceCgroupRule {
    bool allow = false;
    std::string type;  // a, c, b (empty = a)
    std::optional<std::int64_t> major;
    std::optional<std::int64_t> minor;
    std::string access;  // rwm
};

struct MemoryResources {
    std::optional<std::int64_t> limit, reservation, swap, kernel, kernelTCP;
    std::optional<std::uint64_t> swappiness;
    std::optional<bool> disableOOMKiller, useHierarchy, checkBeforeUpdate;
};

struct CpuResources {
    std::optional<std::uint64_t> shares;
    std::optional<std::int64_t> quota;
    std::optional<std::uint64_t> burst;
    std::optional<std::uint64_t> period;
    std::optional<std::int64_t> realtimeRuntime;
    std::optional<std::uint64_t> realtimePeriod;
    std::string cpus, mems;
    std::optional<std::int64_t> idle;
};

struct PidsResources {
    std::optional<std::int64_t> limit;
};

struct WeightDevice {
    std::int64_t major = 0, minor = 0;
    std::optional<std::uint16_t> weight, leafWeight;
};

struct ThrottleDevice {
    std::int64_t major = 0, minor = 0;
    std::uint64_t rate = 0;
};

struct BlockIoResources {
    std::optional<std::uint16_t> weight, leafWeight;
    std::vector<WeightDevice> weightDevice;
    std::vector<ThrottleDevice> throttleReadBpsDevice, throttleWriteBpsDevice,
        throttleReadIOPSDevice, throttleWriteIOPSDevice;
};

struct HugepageLimit {
    std::string pageSize;  // "2MB"
    std::uint64_t limit = 0;
};

// linux.resources.rdma.<device>: the rdma controller's limits for one HCA device.
struct RdmaLimit {
    std::optional<std::uint32_t> hcaHandles;
    std::optional<std::uint32_t> hcaObjects;
};

struct NetworkResources {
    std::optional<std::uint32_t> classID;
    std::vector<std::pair<std::string, std::uint32_t>> priorities;
};

struct Resources {
    std::vector<DeviceCgroupRule> devices;
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<PidsResources> pids;
    std::optional<BlockIoResources> blockIO;
    std::vector<HugepageLimit> hugepageLimits;
    std::optional<NetworkResources> network;
    std::map<std::string, RdmaLimit> rdma;       // device name -> limits
    std::map<std::string, std::string> unified;  // cgroup v2 key -> value
};

// One comparison on a syscall argument.
struct SeccompArg {
    std::uint32_t index = 0;
    std::uint64_t value = 0;
    std::uint64_t valueTwo = 0;
    std::string op;  // SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ
};

// dockerd-profile style gate on a rule (also allowed inside config.json rules).
struct SeccompFilter {
    std::vector<std::string> caps;
    std::vector<std::string> arches;
    std::string minKernel;  // "4.8"; empty = none
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;
    std::optional<std::uint32_t> errnoRet;
    std::vector<SeccompArg> args;
    std::optional<SeccompFilter> includes;
    std::optional<SeccompFilter> excludes;
    std::string comment;
    std::string jsonPath;  // "linux.seccomp.syscalls[4]"
};

struct Seccomp {
    std::string defaultAction;
    std::optional<std::uint32_t> defaultErrnoRet;
    std::vector<std::string> architectures;
    std::vector<std::string> flags;
    std::string listenerPath;
    std::string listenerMetadata;
    std::vector<SeccompSyscall> syscalls;
};

struct Personality {
    std::string domain;  // LINUX, LINUX32
    std::vector<std::string> flags;
};

struct MemoryPolicy {
    std::string mode;   // MPOL_*
    std::string nodes;  // "0-3,7"; empty = none
    std::vector<std::string> flags;
};

// linux.netDevices{<host name>}: a device of the runtime's network namespace moved into the
// container's; `name` is its name there (empty: the host name).
struct NetDevice {
    std::string name;
};

// linux.intelRdt: the resctrl group (class of service) the container joins.
struct IntelRdt {
    std::optional<std::string> closID;  // unset: a group named after the container
    std::string l3CacheSchema;
    std::string memBwSchema;
    std::string schemata;
    bool enableMonitoring = false;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uidMappings;
    std::vector<IdMapping> gidMappings;
    std::map<std::string, TimeOffset> timeOffsets;  // "boottime", "monotonic"
    std::vector<Device> devices;
    std::string cgroupsPath;
    std::optional<Resources> resources;
    std::string rootfsPropagation;
    std::optional<Seccomp> seccomp;
    std::map<std::string, std::string> sysctl;
    std::vector<std::string> maskedPaths;
    std::vector<std::string> readonlyPaths;
    std::string mountLabel;
    std::optional<Personality> personality;
    std::optional<MemoryPolicy> memoryPolicy;
    std::map<std::string, NetDevice> netDevices;
    std::optional<IntelRdt> intelRdt;
};

// A field present in config.json: its JSON path and the spec field it is ("mounts[2].type"
// is "mounts[].type"); spec_fields.hpp decides each.
struct PresentField {
    std::string path;
    std::string field;
};

struct Spec {
    std::string ociVersion;
    Root root;
    std::vector<Mount> mounts;
    std::optional<Process> process;  // required for create/run, optional for check
    std::string hostname;
    std::string domainname;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux;
    std::vector<PresentField> presentFields;  // every field the document sets
};

// Parses a complete config.json text. Errors name the JSON path:
// "config.json: process.capabilities.bounding[2]: expected a string, got a number".
Spec parseSpec(std::string_view text, const std::string& label = "config.json");

// Loads <bundle>/config.json with distinct errors for a missing bundle directory, a
// missing config.json, one over kMaxConfigBytes, and malformed JSON.
Spec loadBundleSpec(const std::string& bundleDir);

// Parsers for the pieces that callers pass on their own (exec --process, update
// --resources, seccomp profiles); `n` is positioned at the object, paths relative to it.
Process parseProcess(const json::Node& n);
Resources parseResources(const json::Node& n);
Seccomp parseSeccomp(const json::Node& n);
ExecCpuAffinity parseExecCpuAffinity(const json::Node& n);
MemoryPolicy parseMemoryPolicy(const json::Node& n);
std::map<std::string, NetDevice> parseNetDevices(const json::Node& n);
IntelRdt parseIntelRdt(const json::Node& n);

// The default config.json `caprun spec` writes (like runc's; rootless variant optional).
std::string defaultSpecJson(bool rootless);

}  // namespace caprun
