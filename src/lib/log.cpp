#include "caprun/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include "caprun/error.hpp"
#include "caprun/json.hpp"

namespace caprun::log {

namespace {

enum class LineStyle { Stderr, FileText, FileJson };

// Writes each message with one write(2) on an fd we own: O_APPEND keeps concurrent
// writers' lines whole, and O_CLOEXEC keeps the log fd out of the container.
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    FdSink(int fd, LineStyle style, bool ownsFd) : fd_(fd), style_(style), ownsFd_(ownsFd) {}
    ~FdSink() override {
        if (ownsFd_) ::close(fd_);
    }

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::string text(msg.payload.data(), msg.payload.size());
        std::string level(spdlog::level::to_string_view(msg.level).data(),
                          spdlog::level::to_string_view(msg.level).size());
        if (level == "warning") level = "warn";
        std::string line;
        switch (style_) {
            case LineStyle::Stderr:
                line = msg.level >= spdlog::level::err ? "caprun: " + text
                                                       : "caprun: " + level + ": " + text;
                break;
            case LineStyle::FileText:
                line = nowRfc3339() + " " + level + " " + text;
                break;
            case LineStyle::FileJson:
                line = formatJsonLine(level, text, nowRfc3339());
                break;
        }
        line += '\n';
        const char* p = line.data();
        std::size_t left = line.size();
        while (left > 0) {
            ssize_t n = ::write(fd_, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // nowhere left to report a logging failure
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    }
    void flush_() override {}

  private:
    int fd_;
    LineStyle style_;
    bool ownsFd_;
};

std::shared_ptr<spdlog::logger>& logger() {
    static std::shared_ptr<spdlog::logger> l = [] {
        auto sink = std::make_shared<FdSink>(STDERR_FILENO, LineStyle::Stderr, false);
        sink->set_level(spdlog::level::warn);
        auto lg = std::make_shared<spdlog::logger>("caprun", sink);
        lg->set_level(spdlog::level::warn);
        return lg;
    }();
    return l;
}

}  // namespace

std::string formatJsonLine(const std::string& level, const std::string& msg,
                           const std::string& rfc3339Time) {
    return "{\"level\":" + json::quote(level) + ",\"msg\":" + json::quote(msg) +
           ",\"time\":" + json::quote(rfc3339Time) + "}";
}

std::string nowRfc3339() {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now - secs).count();
    std::time_t t = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(nanos));
    return buf;
}

void init(const RuntimeContext& opts) {
    std::vector<spdlog::sink_ptr> sinks;
    auto stderrSink = std::make_shared<FdSink>(STDERR_FILENO, LineStyle::Stderr, false);
    if (!opts.logFile.empty()) {
        int fd = ::open(opts.logFile.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) throwErrno("opening log file " + opts.logFile);
        auto fileSink = std::make_shared<FdSink>(
            fd, opts.logFormat == LogFormat::Json ? LineStyle::FileJson : LineStyle::FileText,
            true);
        fileSink->set_level(opts.debug ? spdlog::level::debug : spdlog::level::info);
        sinks.push_back(fileSink);
        // With a log file, stderr carries only errors: warnings belong in the file.
        stderrSink->set_level(spdlog::level::err);
    } else {
        stderrSink->set_level(opts.debug ? spdlog::level::debug : spdlog::level::warn);
    }
    sinks.push_back(stderrSink);
    auto lg = std::make_shared<spdlog::logger>("caprun", sinks.begin(), sinks.end());
    lg->set_level(spdlog::level::debug);
    logger() = lg;
}

void debug(const std::string& msg) {
    logger()->debug("{}", msg);
}
void info(const std::string& msg) {
    logger()->info("{}", msg);
}
void warn(const std::string& msg) {
    logger()->warn("{}", msg);
}
void error(const std::string& msg) {
    logger()->error("{}", msg);
}

}  // namespace caprun::log
