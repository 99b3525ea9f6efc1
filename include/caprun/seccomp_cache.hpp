// A cache of compiled seccomp filters under the state root, so the second container with
// the same resolved filter skips libseccomp compilation.
//
// Entries are keyed by a hash of everything that shapes the BPF (resolved rules,
// architectures, flags, libseccomp and caprun versions, kernel release). An entry stores
// its full key hash and a checksum of its payload, so a corrupt, truncated or foreign
// file is ignored (and replaced on the next store). Stores are atomic (temp file + rename);
// the directory is bounded in entries and bytes, oldest entries evicted first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace caprun {

struct ResolvedSeccomp;

struct SeccompCacheLimits {
    std::size_t maxEntries = 64;
    std::size_t maxBytes = 4 * 1024 * 1024;
};

// The canonical text of everything that shapes the compiled filter (for hashing; exposed
// for tests). Includes libseccomp's runtime version and caprun's version.
std::string seccompCacheKeyMaterial(const ResolvedSeccomp& r);

// 128-bit hash of the key material as 32 hex digits.
std::string seccompCacheKey(const ResolvedSeccomp& r);

class SeccompCache {
  public:
    // `dir` is created (0700) on the first store.
    explicit SeccompCache(std::string dir, SeccompCacheLimits limits = {});

    // The BPF bytes stored for `key`, or nullopt when absent, corrupt or foreign.
    std::optional<std::vector<std::uint8_t>> load(const std::string& key) const;

    // Stores atomically, then evicts the oldest entries beyond the limits. Failures to write
    // are reported as false (a cache must not fail a container start); `why` says what.
    bool store(const std::string& key, const std::vector<std::uint8_t>& bpf,
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
