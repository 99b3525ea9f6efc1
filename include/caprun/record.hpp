// `caprun record`: the BPF recorder of a workload's syscalls and capability checks (from the
// container process's execve on, every process and thread of the container's cgroup) and the
// files written from it (record_plan.hpp decides what they say).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "caprun/capabilities.hpp"
#include "caprun/record_plan.hpp"

namespace caprun {

// What stops `record` here, in words; empty when nothing does. Pure: `built` whether this
// caprun has the eBPF programs, `btf` whether /sys/kernel/btf/vmlinux exists, `effective`
// the runtime's effective capabilities (loading needs CAP_BPF and CAP_PERFMON, or
// CAP_SYS_ADMIN).
// Whether this caprun was built with the eBPF programs.
bool recordBuiltWithTracer();

std::string recordPrerequisitesMissing(bool built, bool btf, CapMask effective);

// The same, for this host and this process.
std::string recordPrerequisitesMissingHere();

// The output directory `dir` can be written when the workload ends: absolute, and either an
// empty directory or absent with a writable parent. Throws Error naming it otherwise.
void checkRecordOutput(const std::string& dir);

// The kernel functions whose capability checks are no-audit (CAP_OPT_NOAUDIT), and where
// their code lies: [lo, hi) per symbol (".cold" parts included), from /proc/kallsyms'
// text. Throws Error when the addresses are hidden (kptr_restrict) or a symbol is missing
// from every range (then the recorder could not leave those checks out).
struct AddressRange {
    std::uint64_t lo = 0, hi = 0;
};
std::vector<AddressRange> noauditCheckRanges(const std::string& kallsyms);
// security_vm_enough_memory_mm: cap_vm_enough_memory tail-calls cap_capable, so the check
// returns straight into the LSM hook's caller, which makes only no-audit checks.
inline constexpr const char* kNoauditCheckFunctions[] = {
    "ns_capable_noaudit", "has_ns_capability_noaudit", "has_capability_noaudit",
    "cap_vm_enough_memory", "security_vm_enough_memory_mm"};

// The loaded and attached recorder, filtered to the cgroup v2 directory `cgroupDir`. Throws
// Error saying why it cannot (built without libbpf, no BTF, not allowed to load BPF).
class RecordTracer {
  public:
    explicit RecordTracer(const std::string& cgroupDir);
    ~RecordTracer();
    RecordTracer(const RecordTracer&) = delete;
    RecordTracer& operator=(const RecordTracer&) = delete;
    // Everything recorded so far.
    Recording collect() const;
    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

// The annotation run.caprun.record=/abs/dir: under create/start (containerd's and podman's
// shims, a CRI pod) the container is recorded by a detached `caprun record --attach` that
// writes DIR when the container exits; under run, in-process as record does.
inline constexpr const char* kRecordAnnotation = "run.caprun.record";

// The annotation's directory (nullopt without it), checked as planning does: absolute, a
// directory that can be written, and a host where record can run. Throws Error naming the
// annotation otherwise.
std::optional<std::string> recordAnnotationDir(
    const std::map<std::string, std::string>& annotations);

// Writes capabilities.json, seccomp.json, securityContext.yaml, run-flags.txt, report.txt and
// recording.json (the events, for --merge) into `dir` (created if absent).
void writeRecordOutput(const std::string& dir, const Recording& r);

}  // namespace caprun
