// `caprun record`: what a recorded run's events say the workload needs — the capabilities
// the kernel checked and granted (no-audit checks are not recorded), the syscalls it made per
// architecture — and the files written from that: an OCI process.capabilities object, an OCI
// linux.seccomp profile, a Kubernetes securityContext, docker/podman flags and a report.
// Pure: events in, text out (unit-tested with synthetic events); the BPF side is record.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caprun/capabilities.hpp"

namespace caprun {

// The syscalls a workload made: `count` calls of number `nr` under architecture `arch`
// (libseccomp's SCMP_ARCH_* value).
struct RecordedSyscall {
    std::uint32_t arch = 0;
    long nr = 0;
    std::uint64_t count = 0;
};

// `count` capability checks of `cap` inside syscall `nr` (-1: outside any syscall).
struct RecordedCapCheck {
    int cap = 0;
    std::uint32_t arch = 0;
    long nr = -1;
    bool granted = false;
    // Granted to a process whose effective uid is not 0 and whose ambient set held it: the
    // program got it across its execve from ambient, so inheritable and ambient need it.
    bool viaAmbient = false;
    std::uint64_t count = 0;
};

struct Recording {
    std::vector<RecordedSyscall> syscalls;
    std::vector<RecordedCapCheck> capChecks;
};

// Several runs' recordings as one (`record --merge`): counts of equal entries are summed.
Recording mergeRecordings(const std::vector<Recording>& runs);

// recording.json, the events as recorded (for --merge), and back. Bad input names its path.
std::string recordingJson(const Recording& r);
Recording parseRecordingJson(const std::string& text, const std::string& label);

struct SyscallCount {
    std::string syscall;  // libseccomp's name, or "syscall <nr>"
    std::uint64_t count = 0;
};

struct RecordPlan {
    std::uint32_t nativeArch = 0;
    CapMask needed = 0;   // bounding, effective and permitted
    CapMask ambient = 0;  // inheritable and ambient: only what exec'd non-root programs used
    std::vector<std::uint32_t> arches;          // native first, then the others seen
    std::vector<std::string> workloadSyscalls;  // every name the workload called, sorted
    std::vector<std::string> initSyscalls;      // added for caprun's init, not in the above
    std::vector<std::string> allowed;           // both, sorted: the profile's allow rule
    std::vector<std::string> unnamed;           // numbers libseccomp has no name for
    std::map<int, std::vector<SyscallCount>> grantedIn;  // cap -> the syscalls that needed it
    std::map<int, std::vector<SyscallCount>> deniedIn;   // cap -> the syscalls it was denied in
};

// The syscalls caprun's init makes after it installed the filter (the filter may go in
// before the capability drop, see process_executor.cpp), up to and including its execve, and
// on its error path: the recorded profile allows them so the container still starts.
const std::vector<std::string>& initSyscallsAfterFilter();

// The errno the profile's default action returns: ENOSYS, on which glibc falls back to an
// older syscall where it has one (clone3 -> clone, statx -> fstatat, faccessat2 -> faccessat).
inline constexpr int kRecordedDefaultErrno = 38;

RecordPlan planRecording(const Recording& r, std::uint32_t nativeArch);

std::string recordedCapabilitiesJson(const RecordPlan& p);  // OCI process.capabilities
std::string recordedSeccompJson(const RecordPlan& p);       // OCI linux.seccomp
// `localhostProfile`: the path under the kubelet's seccomp directory.
std::string recordedSecurityContextYaml(const RecordPlan& p, const std::string& localhostProfile);
// `seccompPath`: where the profile is (absolute).
std::string recordedRunFlags(const RecordPlan& p, const std::string& seccompPath);
std::string recordedReportText(const RecordPlan& p);

// The marker the report and `explain` use for a syscall a recorded profile denies.
inline constexpr const char* kRecordedProfileMarker = "caprun record";

}  // namespace caprun
