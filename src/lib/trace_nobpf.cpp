// `caprun trace` in a build without libbpf, clang or bpftool: the feature is missing and
// every use says so.
#include "caprun/error.hpp"
#include "caprun/trace.hpp"

namespace caprun {

namespace {
const char* kMissing =
    "this caprun was built without eBPF tracing (meson found no libbpf, clang or bpftool, or "
    "the build host has no /sys/kernel/btf/vmlinux); rebuild with libbpf-dev, clang and bpftool "
    "installed, or use `caprun explain`";
}

bool traceBuilt() {
    return false;
}

bool traceAvailable(std::string* why) {
    if (why) *why = kMissing;
    return false;
}

struct EpermTracer::Impl {};

EpermTracer::EpermTracer(const std::string&) {
    throw Error(std::string("trace: ") + kMissing);
}

EpermTracer::~EpermTracer() = default;

int EpermTracer::poll(int, const std::function<void(const TraceEvent&)>&) {
    return 0;
}

void EpermTracer::wake() {}

}  // namespace caprun
