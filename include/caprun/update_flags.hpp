// `caprun update`'s per-resource flags (runc's names and value formats: --memory 512m,
// --cpu-quota 50000, -1 for unlimited, ...) turned into the LinuxResources they set. Pure:
// the CLI only collects the flags' texts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caprun/spec.hpp"

namespace caprun {

// The flags, without "--", in the order --help lists them.
const std::vector<std::string>& updateFlagNames();

// Pure: a memory size as runc reads it (docker's units.RAMInBytes): a number with an
// optional fraction, an optional space, and an optional binary unit k/m/g/t/p (any case,
// optionally followed by "i" and/or "b": "512m", "1.5G", "64KiB", "100b"). "-1" is -1
// (unlimited). Throws Error naming `flag` for anything else or a size above 2^63-1.
std::int64_t parseMemorySize(const std::string& flag, const std::string& text);

// Pure: `base` (the --resources document, or empty) with every flag in `flags` (name ->
// text) set over it, so flags win over the file's values. As in runc: a memory limit of -1
// without a swap setting (flag or file) also makes swap unlimited; --cpu-share and
// --cpu-shares are the same setting. --l3-cache-schema / --mem-bw-schema need Intel RDT:
// without resctrl (`hostHasResctrl` false: /sys/fs/resctrl is not mounted) they are an
// Error saying so, and with it an Error too, since caprun does not manage resctrl groups.
// A bad value, an unknown flag or a value that would change nothing (--pids-limit 0,
// --blkio-weight 0, which runc skips) is an Error naming the flag.
Resources resourcesFromUpdateFlags(Resources base, const std::map<std::string, std::string>& flags,
                                   bool hostHasResctrl);

}  // namespace caprun
