#include "caprun/capabilities.hpp"

#include <sys/capability.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace caprun {

std::optional<int> capabilityFromName(std::string_view name) {
    std::string lower;
    lower.reserve(name.size() + 4);
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.empty() ||
        std::all_of(lower.begin(), lower.end(), [](char c) { return std::isdigit(c) != 0; }))
        return std::nullopt;  // libcap takes numbers; a config must name capabilities
    if (lower.rfind("cap_", 0) != 0) lower = "cap_" + lower;
    if (lower.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos)
        return std::nullopt;
    cap_value_t v = 0;
    if (cap_from_name(lower.c_str(), &v) != 0) return std::nullopt;
    if (lower.rfind("cap_", 0) == 0 &&
        std::all_of(lower.begin() + 4, lower.end(), [](char c) { return std::isdigit(c) != 0; }))
        return std::nullopt;  // "cap_12" is libcap's spelling of a bare number
    return static_cast<int>(v);
}

std::string capabilityName(int cap) {
    if (cap >= 0 && cap <= CAP_LAST_CAP) {
        char* n = cap_to_name(static_cast<cap_value_t>(cap));
        if (n != nullptr) {
            std::string s(n);
            cap_free(n);
            if (s.rfind("cap_", 0) == 0) {
                for (auto& c : s)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                return s;
            }
        }
    }
    return "CAP_" + std::to_string(cap);
}

std::string canonicalCapabilityName(std::string_view name) {
    if (auto cap = capabilityFromName(name)) return capabilityName(*cap);
    std::string upper;
    upper.reserve(name.size() + 4);
    for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return upper.rfind("CAP_", 0) == 0 ? upper : "CAP_" + upper;
}

std::vector<int> capsIn(CapMask mask) {
    std::vector<int> out;
    for (int i = 0; i < 64; ++i)
        if (mask & capBit(i)) out.push_back(i);
    return out;
}

std::vector<std::string> capNames(CapMask mask) {
    std::vector<std::string> out;
    for (int c : capsIn(mask)) out.push_back(capabilityName(c));
    return out;
}

std::string capMaskHex(CapMask mask) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(mask));
    return buf;
}

std::optional<CapMask> parseCapMaskHex(std::string_view hex) {
    if (hex.empty() || hex.size() > 16) return std::nullopt;
    CapMask v = 0;
    for (char c : hex) {
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return std::nullopt;
        v = (v << 4) | static_cast<CapMask>(d);
    }
    return v;
}

int highestNamedCapability() {
    return CAP_LAST_CAP;
}

const char* capSetName(CapSetKind kind) {
    switch (kind) {
        case CapSetKind::Bounding:
            return "bounding";
        case CapSetKind::Effective:
            return "effective";
        case CapSetKind::Inheritable:
            return "inheritable";
        case CapSetKind::Permitted:
            return "permitted";
        case CapSetKind::Ambient:
            return "ambient";
    }
    return "?";
}

CapMask& CapSets::operator[](CapSetKind kind) {
    switch (kind) {
        case CapSetKind::Bounding:
            return bounding;
        case CapSetKind::Effective:
            return effective;
        case CapSetKind::Inheritable:
            return inheritable;
        case CapSetKind::Permitted:
            return permitted;
        case CapSetKind::Ambient:
            break;
    }
    return ambient;
}

CapMask CapSets::operator[](CapSetKind kind) const {
    return const_cast<CapSets&>(*this)[kind];
}

}  // namespace caprun
