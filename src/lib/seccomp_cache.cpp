// Compiled seccomp filter cache. See include/caprun/seccomp_cache.hpp.
#include "caprun/seccomp_cache.hpp"
#include "caprun/sys/atomic_write.hpp"
#include "caprun/sys/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "caprun/error.hpp"

namespace caprun {

namespace {

constexpr char kMagic[8] = {'C', 'A', 'P', 'R', 'U', 'N', 'S', 'C'};
constexpr std::uint32_t kFormatVersion = 2;
constexpr std::size_t kMaxBpfBytes = 4096 * 8;  // BPF_MAXINSNS sock_filter entries
constexpr std::size_t kMaxMetaBytes = 256 * 1024;

struct EntryHeader {
    char magic[8];
    std::uint32_t version;
    std::uint32_t metaBytes;
    std::uint32_t bpfBytes;
    std::uint32_t reserved;
    char key[32];
    std::uint64_t checksum;  // of meta then BPF
};
static_assert(sizeof(EntryHeader) == 64);

// Two independent 64-bit hashes over 8-byte words (multiply-xorshift with different
// constants), each finished with the splitmix64 mixer. Not cryptographic: the cache
// directory is private to the runtime's user (0700); the hash only has to separate
// different filters, and it runs on every container start, so it must be cheap.
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t wordHash(const void* data, std::size_t n, std::uint64_t seed, std::uint64_t mul) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t h = seed ^ n;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * mul;
        h ^= h >> 32;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, p + i, n - i);
    h = (h ^ tail) * mul;
    return mix(h);
}

std::uint64_t hashA(const void* data, std::size_t n) {
    return wordHash(data, n, 0xcbf29ce484222325ULL, 0x100000001b3ULL | 0x9e3779b97f4a7c00ULL);
}

std::uint64_t hashB(const void* data, std::size_t n) {
    return wordHash(data, n, 0x9e3779b97f4a7c15ULL, 0xff51afd7ed558ccdULL);
}

std::string hex64(std::uint64_t v) {
    static const char digits[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i) {
        s[static_cast<std::size_t>(i)] = digits[v & 0xf];
        v >>= 4;
    }
    return s;
}

bool validKey(const std::string& key) {
    return key.size() == 32 && key.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::string seccompCacheHash(std::string_view m) {
    return hex64(hashA(m.data(), m.size())) + hex64(hashB(m.data(), m.size()));
}

std::string seccompCacheDir(const std::string& stateRoot) {
    return stateRoot + "/seccomp-cache";
}

SeccompCache::SeccompCache(std::string dir, SeccompCacheLimits limits)
    : dir_(std::move(dir)), limits_(limits) {}

std::string SeccompCache::entryPath(const std::string& key) const {
    return dir_ + "/" + key + ".bpf";
}

std::optional<SeccompCacheEntry> SeccompCache::load(const std::string& key) const {
    if (!validKey(key)) return std::nullopt;
    UniqueFd f(open(entryPath(key).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
    if (f.fd < 0) return std::nullopt;
    struct stat st {};
    if (fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        st.st_size < static_cast<off_t>(sizeof(EntryHeader)) ||
        st.st_size > static_cast<off_t>(sizeof(EntryHeader) + kMaxMetaBytes + kMaxBpfBytes))
        return std::nullopt;
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < buf.size()) {
        ssize_t n = pread(f.fd, buf.data() + done, buf.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        done += static_cast<std::size_t>(n);
    }
    EntryHeader h{};
    std::memcpy(&h, buf.data(), sizeof(h));
    const std::size_t payload = buf.size() - sizeof(EntryHeader);
    if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0 || h.version != kFormatVersion ||
        std::memcmp(h.key, key.data(), sizeof(h.key)) != 0 || h.bpfBytes == 0 ||
        h.bpfBytes % 8 != 0 || h.bpfBytes > kMaxBpfBytes || h.metaBytes > kMaxMetaBytes ||
        static_cast<std::size_t>(h.metaBytes) + h.bpfBytes != payload)
        return std::nullopt;
    const std::uint8_t* p = buf.data() + sizeof(EntryHeader);
    if (h.checksum != hashA(p, payload)) return std::nullopt;
    // Mark as recently used for eviction; failure only makes eviction less precise.
    (void)futimens(f.fd, nullptr);
    SeccompCacheEntry e;
    e.meta.assign(reinterpret_cast<const char*>(p), h.metaBytes);
    e.bpf.assign(p + h.metaBytes, p + payload);
    return e;
}

bool SeccompCache::store(const std::string& key, const SeccompCacheEntry& entry,
                         std::string* why) const {
    const auto& bpf = entry.bpf;
    auto failed = [&](const std::string& what) {
        if (why) *why = what;
        return false;
    };
    if (!validKey(key)) return failed("invalid cache key \"" + key + "\"");
    if (bpf.empty() || bpf.size() % 8 != 0 || bpf.size() > kMaxBpfBytes)
        return failed("not a BPF program of 1 to 4096 instructions");
    if (entry.meta.size() > kMaxMetaBytes) return failed("metadata over 256 KiB");
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return failed("creating " + dir_ + ": " + ec.message());
    (void)chmod(dir_.c_str(), 0700);

    EntryHeader h{};
    std::memcpy(h.magic, kMagic, sizeof(kMagic));
    h.version = kFormatVersion;
    h.metaBytes = static_cast<std::uint32_t>(entry.meta.size());
    h.bpfBytes = static_cast<std::uint32_t>(bpf.size());
    std::memcpy(h.key, key.data(), sizeof(h.key));
    std::string payload = entry.meta;
    payload.append(reinterpret_cast<const char*>(bpf.data()), bpf.size());
    h.checksum = hashA(payload.data(), payload.size());
    std::string file(reinterpret_cast<const char*>(&h), sizeof(h));
    file += payload;
    try {
        sys::writeFileAtomically(entryPath(key), file, 0600, "storing a compiled filter");
    } catch (const Error& e) {
        return failed(e.what());
    }
    evict();
    return true;
}

void SeccompCache::evict() const {
    struct Entry {
        std::string path;
        std::size_t size;
        std::int64_t mtimeNs;
    };
    std::vector<Entry> entries;
    std::size_t total = 0;
    std::error_code ec;
    const auto now = std::time(nullptr);
    for (const auto& de : std::filesystem::directory_iterator(dir_, ec)) {
        std::string name = de.path().filename();
        struct stat st {};
        if (lstat(de.path().c_str(), &st) != 0) continue;
        // Temporary files of a store that died before its rename.
        if (name.rfind(".tmp-", 0) == 0) {
            if (now - st.st_mtime > 600) unlink(de.path().c_str());
            continue;
        }
        if (!S_ISREG(st.st_mode) || name.size() != 36 || name.substr(32) != ".bpf") continue;
        entries.push_back(
            {de.path(), static_cast<std::size_t>(st.st_size),
             static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
        total += static_cast<std::size_t>(st.st_size);
    }
    if (entries.size() <= limits_.maxEntries && total <= limits_.maxBytes) return;
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.mtimeNs < b.mtimeNs; });
    std::size_t count = entries.size();
    for (const auto& e : entries) {
        if (count <= limits_.maxEntries && total <= limits_.maxBytes) break;
        if (unlink(e.path.c_str()) == 0) {
            --count;
            total -= e.size;
        }
    }
}

}  // namespace caprun
