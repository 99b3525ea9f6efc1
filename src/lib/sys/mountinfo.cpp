#include "caprun/sys/mountinfo.hpp"
#include "caprun/sys/read_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "caprun/error.hpp"

namespace caprun::sys {

namespace {

bool isOctal(char c) {
    return c >= '0' && c <= '7';
}

std::vector<std::string_view> splitOn(std::string_view s, char sep, bool dropEmpty) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i < s.size() && s[i] != sep) continue;
        if (i > start || !dropEmpty) out.push_back(s.substr(start, i - start));
        start = i + 1;
    }
    return out;
}

bool toInt(std::string_view s, int& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

std::string readWhole(const std::string& path) {
    return readFile(path);
}

}  // namespace

std::string unescapeMountInfoField(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && isOctal(field[i + 1]) &&
            isOctal(field[i + 2]) && isOctal(field[i + 3])) {
            out += static_cast<char>(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) |
                                     (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

std::vector<MountInfoEntry> parseMountInfo(std::string_view text) {
    std::vector<MountInfoEntry> out;
    for (std::string_view line : splitOn(text, '\n', true)) {
        auto f = splitOn(line, ' ', true);
        // Six fixed fields, optional fields, "-", then type, source and super options.
        std::size_t dash = 6;
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (dash >= f.size() || f.size() - dash < 4) continue;
        MountInfoEntry e;
        if (!toInt(f[0], e.mountId) || !toInt(f[1], e.parentId)) continue;
        e.device = f[2];
        e.root = unescapeMountInfoField(f[3]);
        e.mountPoint = unescapeMountInfoField(f[4]);
        e.mountOptions = f[5];
        for (std::size_t i = 6; i < dash; ++i) e.optionalFields.emplace_back(f[i]);
        e.fsType = f[dash + 1];
        e.source = unescapeMountInfoField(f[dash + 2]);
        e.superOptions = f[dash + 3];
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<ProcCgroupEntry> parseProcCgroup(std::string_view text) {
    std::vector<ProcCgroupEntry> out;
    for (std::string_view line : splitOn(text, '\n', true)) {
        auto c1 = line.find(':');
        if (c1 == std::string_view::npos) continue;
        auto c2 = line.find(':', c1 + 1);
        if (c2 == std::string_view::npos) continue;
        ProcCgroupEntry e;
        e.hierarchyId = line.substr(0, c1);
        e.controllerList = line.substr(c1 + 1, c2 - c1 - 1);
        if (!e.controllerList.empty())
            for (auto c : splitOn(e.controllerList, ',', false)) e.controllers.emplace_back(c);
        e.path = line.substr(c2 + 1);
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<MountInfoEntry> readMountInfo(const std::string& path) {
    return parseMountInfo(readWhole(path));
}

std::vector<ProcCgroupEntry> readProcCgroup(const std::string& path) {
    return parseProcCgroup(readWhole(path));
}

}  // namespace caprun::sys
