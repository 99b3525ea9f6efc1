// libFuzzer target: the parser behind `caprun check --host-status FILE` (a captured
// /proc/<pid>/status), with and without --host-cap-last. HostFacts::fromProcStatus reads the
// file and probes this host's other facts once; the fuzzer calls its parsing half directly.
// Bad input must end in caprun::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "caprun/error.hpp"
#include "caprun/host_facts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    for (std::optional<int> last : {std::optional<int>(), std::optional<int>(40)}) {
        caprun::HostFacts h;
        try {
            caprun::HostFacts::readProcStatusCaps(h, text, "status", last);
        } catch (const caprun::Error&) {
        }
    }
    return 0;
}
