// `caprun trace` and `run --trace-eperm`: the syscalls of a container's processes that fail
// with EPERM/EACCES, each attributed to its cause — a capability the kernel checked and
// denied inside that syscall (from the kernel's own cap_capable tracepoint), the container's
// seccomp filter (an errno rule of the plan matching the errno), or something else (an LSM,
// file permissions, a read-only mount) — with the fix as `caprun explain` gives it.
//
// EpermReport is pure (events in, findings out; unit-tested without BPF). EpermTracer loads
// the eBPF program (libbpf; only when built with it) filtered to the container's cgroup.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caprun/cap_plan.hpp"
#include "caprun/explain.hpp"
#include "caprun/runtime_context.hpp"
#include "caprun/seccomp_resolve.hpp"
#include "caprun/spec.hpp"

namespace caprun {

inline constexpr const char* kTraceEpermAnnotation = "run.caprun.trace-eperm";

// One failing syscall as the BPF program reports it.
struct TraceEvent {
    std::uint32_t pid = 0, tid = 0;  // host ids
    std::string comm;
    long syscallNr = -1;
    int error = 0;           // EPERM or EACCES
    CapMask deniedCaps = 0;  // capability checks that failed inside this syscall
    bool sawEnter = true;    // false: it never reached sys_enter (seccomp refused it)
};

struct TraceFinding {
    std::string syscall;  // libseccomp's name, or "syscall <nr>"
    std::string cause;    // "capability", "seccomp", "something else"
    std::string comm;     // of the first occurrence
    std::uint32_t pid = 0;
    int error = 0;
    std::size_t count = 1;
    std::vector<std::string> caps;  // cause capability: the denied checks
    std::string rule;               // cause seccomp: the deciding rule
    std::string detail;             // one sentence
    std::vector<CapFix> fixes;
    std::string otherFix;
};

class EpermReport {
  public:
    EpermReport(Spec spec, CapabilityPlan plan, SelectedSeccomp seccomp);
    // The new finding when (syscall, cause) is seen for the first time, else nullptr (the
    // existing finding's count goes up).
    const TraceFinding* add(const TraceEvent& e);
    const std::vector<TraceFinding>& findings() const { return findings_; }
    std::string summaryText() const;
    std::string summaryJson() const;

  private:
    TraceFinding attribute(const TraceEvent& e) const;
    Spec spec_;
    CapabilityPlan plan_;
    SelectedSeccomp selected_;
    ResolvedSeccomp resolved_;
    std::vector<TraceFinding> findings_;
};

// "pid 42 (probe): delete_module failed with EPERM — capability CAP_SYS_MODULE ...; fix: ..."
std::string traceFindingText(const TraceFinding& f);
std::string traceFindingJson(const TraceFinding& f);  // one line

// Whether this build has the eBPF tracer; `why` says what is missing when not.
bool traceAvailable(std::string* why);

// Whether the tracer was compiled in at all (traceAvailable also needs the running kernel's
// BTF): what `caprun --version` reports as +BPF.
bool traceBuilt();

// The loaded and attached BPF program, filtered to the cgroup v2 directory `cgroupDir` (and
// its descendants). The constructor throws Error saying exactly why it cannot (built
// without libbpf, no BTF, not allowed to load BPF, lockdown, no cgroup v2 directory).
class EpermTracer {
  public:
    explicit EpermTracer(const std::string& cgroupDir);
    ~EpermTracer();
    EpermTracer(const EpermTracer&) = delete;
    EpermTracer& operator=(const EpermTracer&) = delete;
    // Waits up to `timeoutMs` (-1: until events or wake()) for events and hands each to
    // `onEvent`; returns how many.
    int poll(int timeoutMs, const std::function<void(const TraceEvent&)>& onEvent);
    // Ends a poll() waiting in another thread now, rather than at its timeout (an eventfd in
    // the same epoll set as the ring buffer): run's poller stops without a 100 ms tick.
    void wake();

    struct Impl;  // libbpf's objects; opaque here

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace caprun

namespace caprun {

struct ContainerState;

// The report for a container as it was created: its bundle's spec, the capability plan
// (with the policy create decided) and its seccomp filter.
EpermReport reportForContainer(const RuntimeContext& g, const ContainerState& st);

// What can still be said without the tracer: for each syscall the container's plan keeps
// denied (seccomp gates, dropped capabilities), explain's outcome and first fix.
std::string staticFallback(const Spec& spec, const CapabilityPlan& plan,
                           const SelectedSeccomp& seccomp);

// `run --trace-eperm` / the annotation: traces from before the container's process starts
// until finish(), in a thread of the runtime. Never throws from start: when the program
// cannot load it logs why and the static fallback, and finish() does nothing.
class EpermRunTrace {
  public:
    static std::unique_ptr<EpermRunTrace> start(const RuntimeContext& g, const ContainerState& st);
    ~EpermRunTrace();
    // Stops, drains the ring buffer and prints the summary to stderr (and the --log).
    void finish();
    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

// Whether the container asked for it: the annotation run.caprun.trace-eperm=true.
bool traceEpermAnnotated(const std::map<std::string, std::string>& annotations);

}  // namespace caprun
