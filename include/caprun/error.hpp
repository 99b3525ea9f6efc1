// Errors that carry their context: what was being done, on what, and why.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace caprun {

// Every failure a user sees is an Error whose what() reads as a complete sentence
// fragment: "<doing what> <on what>: <why>". One from a failed system call also keeps the
// errno, so a caller can tell EPERM from ENOENT without parsing the text.
class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& message, int err = 0)
        : std::runtime_error(message), errno_(err) {}
    // The errno of the failed call; 0 when the error did not come from one.
    int errnoValue() const { return errno_; }

  private:
    int errno_;
};

// The text of an errno value ("Operation not permitted").
std::string errnoText(int err);

// Error for a failed system call: "<context>: <strerror(err)>".
[[noreturn]] void throwSys(std::string_view context, int err);

// Same, taking errno.
[[noreturn]] void throwErrno(std::string_view context);

}  // namespace caprun
