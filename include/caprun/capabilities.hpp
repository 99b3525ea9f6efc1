// Capability names and bit sets. Names come from libcap's table; a set is a 64-bit mask
// with bit N for capability number N, as /proc/<pid>/status prints them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caprun {

using CapMask = std::uint64_t;

constexpr CapMask capBit(int cap) {
    return CapMask{1} << cap;
}

// All capabilities 0..lastCap.
constexpr CapMask capsUpTo(int lastCap) {
    return lastCap >= 63 ? ~CapMask{0} : (capBit(lastCap + 1) - 1);
}

// "CAP_SYS_ADMIN", "cap_sys_admin" and "sys_admin" (any case) -> 21. Numbers and anything
// libcap does not know are not names: nullopt.
std::optional<int> capabilityFromName(std::string_view name);

// 21 -> "CAP_SYS_ADMIN"; a number libcap has no name for -> "CAP_<n>".
std::string capabilityName(int cap);

// The canonical spelling of a name as capabilityFromName reads it ("sys_nice" ->
// "CAP_SYS_NICE"); a name libcap does not know is upper-cased with a CAP_ prefix
// ("bogus" -> "CAP_BOGUS"), so messages and keys spell it one way.
std::string canonicalCapabilityName(std::string_view name);

// The capability numbers in a mask, ascending.
std::vector<int> capsIn(CapMask mask);

// Names of the capabilities in a mask, ascending ("CAP_CHOWN", ...).
std::vector<std::string> capNames(CapMask mask);

// 16 hex digits, as in /proc/<pid>/status ("000001fffeffffff").
std::string capMaskHex(CapMask mask);

// Parses a /proc status hex mask; nullopt if it is not 1-16 hex digits.
std::optional<CapMask> parseCapMaskHex(std::string_view hex);

// The highest capability number libcap (and so caprun) has a name for.
int highestNamedCapability();

// The five sets of a process, in the order the kernel and this project list them.
enum class CapSetKind { Bounding, Effective, Inheritable, Permitted, Ambient };
constexpr CapSetKind kAllCapSets[] = {CapSetKind::Bounding, CapSetKind::Effective,
                                      CapSetKind::Inheritable, CapSetKind::Permitted,
                                      CapSetKind::Ambient};
const char* capSetName(CapSetKind kind);  // "bounding", ...

struct CapSets {
    CapMask bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
    CapMask& operator[](CapSetKind kind);
    CapMask operator[](CapSetKind kind) const;
    bool operator==(const CapSets&) const = default;
};

}  // namespace caprun
