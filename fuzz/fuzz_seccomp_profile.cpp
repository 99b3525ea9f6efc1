// libFuzzer target: a dockerd-style seccomp profile (--seccomp-profile FILE), parsed for
// x86_64 as on this host. Bad input must end in caprun::Error.
#include <seccomp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "caprun/error.hpp"
#include "caprun/seccomp_profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        (void)caprun::parseSeccompProfile(text, "profile.json", SCMP_ARCH_X86_64);
    } catch (const caprun::Error&) {
    }
    return 0;
}
