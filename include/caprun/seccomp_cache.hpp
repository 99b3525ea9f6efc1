// A cache of compiled seccomp filters under the state root, so the second container with
// the same filter skips parsing, resolving and libseccomp compilation (planSeccomp in
// caprun/seccomp_compile.hpp keys it by the filter's definition bytes plus every input of
// its resolution).
//
// An entry stores its full key and a checksum of its payload, so a corrupt, truncated or
// foreign file is ignored (and replaced on the next store). Stores are atomic (temp file + rename);
// the directory is bounded in entries and bytes, oldest entries evicted first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caprun {

struct SeccompCacheLimits {
    std::size_t maxEntries = 64;
    std::size_t maxBytes = 4 * 1024 * 1024;
};

// 128-bit hash of key material as 32 hex digits: an entry's key.
std::string seccompCacheHash(std::string_view material);

// What an entry holds: the BPF program and a small text of facts about it (JSON written by
// the seccomp module: flags, listener, warnings) so a hit needs no re-resolution.
struct SeccompCacheEntry {
    std::vector<std::uint8_t> bpf;
    std::string meta;
};

class SeccompCache {
  public:
    // `dir` is created (0700) on the first store.
    explicit SeccompCache(std::string dir, SeccompCacheLimits limits = {});

    // The entry stored for `key`, or nullopt when absent, corrupt or foreign.
    std::optional<SeccompCacheEntry> load(const std::string& key) const;

    // Stores atomically, then evicts the oldest entries beyond the limits. Failures to write
    // are reported as false (a cache must not fail a container start); `why` says what.
    bool store(const std::string& key, const SeccompCacheEntry& entry,
               std::string* why = nullptr) const;

    const std::string& dir() const { return dir_; }
    std::string entryPath(const std::string& key) const;

  private:
    void evict() const;
    std::string dir_;
    SeccompCacheLimits limits_;
};

// <stateRoot>/seccomp-cache
std::string seccompCacheDir(const std::string& stateRoot);

}  // namespace caprun
