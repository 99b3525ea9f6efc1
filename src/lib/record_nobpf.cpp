// `caprun record` in a build without libbpf, clang or bpftool: it refuses, saying so.
#include "caprun/error.hpp"
#include "caprun/record.hpp"

namespace caprun {

bool recordBuiltWithTracer() {
    return false;
}

struct RecordTracer::Impl {};

RecordTracer::RecordTracer(const std::string&) {
    throw Error("record: " + recordPrerequisitesMissing(false, true, ~CapMask{0}));
}

RecordTracer::~RecordTracer() = default;

Recording RecordTracer::collect() const {
    return {};
}

}  // namespace caprun
