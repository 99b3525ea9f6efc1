#include "caprun/json.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cerrno>
#include <limits>

#include "caprun/error.hpp"

namespace caprun::json {

namespace {

// Line and column (1-based) of a byte offset, for parse errors.
std::pair<std::size_t, std::size_t> lineColumn(std::string_view text, std::size_t offset) {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return {line, col};
}

std::string childPath(const std::string& parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return parent + "." + std::string(key);
}

// Offset of the first bracket that opens level kMaxNesting + 1, or npos. Brackets inside
// strings do not count; malformed text is left for the parser to report.
std::size_t tooDeepAt(std::string_view text) {
    std::size_t depth = 0;
    bool inString = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxNesting) return i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return std::string_view::npos;
}

}  // namespace

std::string typeName(const rapidjson::Value& v) {
    switch (v.GetType()) {
        case rapidjson::kNullType:
            return "null";
        case rapidjson::kFalseType:
        case rapidjson::kTrueType:
            return "a boolean";
        case rapidjson::kObjectType:
            return "an object";
        case rapidjson::kArrayType:
            return "an array";
        case rapidjson::kStringType:
            return "a string";
        case rapidjson::kNumberType:
            return "a number";
    }
    return "a value";
}

Document parse(std::string_view text, std::string label) {
    // RapidJSON's default parser recurses once per level, and so do the walkers over a
    // parsed value: a hostile config nested 10^5 deep would overflow the stack. Refuse
    // deep nesting up front and parse iteratively.
    if (std::size_t at = tooDeepAt(text); at != std::string_view::npos) {
        auto [line, col] = lineColumn(text, at);
        throw Error(label + ": JSON nested deeper than " + std::to_string(kMaxNesting) +
                    " levels at line " + std::to_string(line) + ", column " + std::to_string(col));
    }
    auto doc = std::make_shared<rapidjson::Document>();
    doc->Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
    if (doc->HasParseError()) {
        auto [line, col] = lineColumn(text, doc->GetErrorOffset());
        throw Error(label + ": invalid JSON at line " + std::to_string(line) + ", column " +
                    std::to_string(col) + ": " + rapidjson::GetParseError_En(doc->GetParseError()));
    }
    return Document{std::move(label), std::move(doc)};
}

Document parseFile(const std::string& path, std::string label, std::size_t maxBytes) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT) throw Error(label + ": " + path + " does not exist");
        throwSys("reading " + label + " (" + path + ")", err);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        throwSys("reading " + label + " (" + path + ")", err);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(label + ": " + path + " is not a regular file");
    }
    if (static_cast<std::uint64_t>(st.st_size) > maxBytes) {
        ::close(fd);
        throw Error(label + ": " + path + " is " + std::to_string(st.st_size) +
                    " bytes, over the limit of " + std::to_string(maxBytes) + " bytes");
    }
    std::string text;
    text.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    // The file may have grown since fstat: after its size, read on in small chunks up to
    // the limit (a large zero-filled buffer would cost a page fault per 4 KiB on every run).
    char more[4096];
    while (true) {
        const bool sized = got < text.size();
        ssize_t n = sized ? ::read(fd, text.data() + got, text.size() - got)
                          : ::read(fd, more, sizeof more);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            throwSys("reading " + label + " (" + path + ")", err);
        }
        if (n == 0) break;
        if (!sized) {
            if (text.size() > maxBytes) break;
            text.append(more, static_cast<std::size_t>(n));
        }
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    text.resize(got);
    if (got > maxBytes) {
        throw Error(label + ": " + path + " is over the limit of " + std::to_string(maxBytes) +
                    " bytes");
    }
    return parse(text, std::move(label));
}

void Node::fail(std::string_view what) const {
    std::string msg = *label_ + ": ";
    msg += path_.empty() ? std::string("(top level)") : path_;
    msg += ": ";
    msg += what;
    throw Error(msg);
}

void Node::expectObject() const {
    if (!value_->IsObject()) fail("expected an object, got " + typeName(*value_));
}

std::optional<Node> Node::get(std::string_view key) const {
    expectObject();
    auto it = value_->FindMember(
        rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size())));
    if (it == value_->MemberEnd() || it->value.IsNull()) return std::nullopt;
    return Node(it->value, childPath(path_, key), *label_);
}

Node Node::require(std::string_view key) const {
    auto n = get(key);
    if (!n) throw Error(*label_ + ": " + childPath(path_, key) + ": required");
    return *n;
}

std::string Node::asString() const {
    if (!value_->IsString()) fail("expected a string, got " + typeName(*value_));
    return std::string(value_->GetString(), value_->GetStringLength());
}

bool Node::asBool() const {
    if (!value_->IsBool()) fail("expected a boolean, got " + typeName(*value_));
    return value_->GetBool();
}

std::int64_t Node::asInt64() const {
    if (!value_->IsNumber()) fail("expected an integer, got " + typeName(*value_));
    if (value_->IsInt64()) return value_->GetInt64();
    if (value_->IsUint64()) fail("expected an integer, got a number out of range");
    fail("expected an integer, got a fractional number");
}

std::uint64_t Node::asUint64() const {
    if (!value_->IsNumber()) fail("expected an unsigned integer, got " + typeName(*value_));
    if (value_->IsUint64()) return value_->GetUint64();
    if (value_->IsInt64()) fail("expected an unsigned integer, got a negative number");
    fail("expected an unsigned integer, got a fractional number");
}

std::int32_t Node::asInt32() const {
    std::int64_t v = asInt64();
    if (v < std::numeric_limits<std::int32_t>::min() ||
        v > std::numeric_limits<std::int32_t>::max())
        fail("expected a 32-bit integer, got " + std::to_string(v));
    return static_cast<std::int32_t>(v);
}

std::uint32_t Node::asUint32() const {
    std::uint64_t v = asUint64();
    if (v > std::numeric_limits<std::uint32_t>::max())
        fail("expected a 32-bit unsigned integer, got " + std::to_string(v));
    return static_cast<std::uint32_t>(v);
}

double Node::asDouble() const {
    if (!value_->IsNumber()) fail("expected a number, got " + typeName(*value_));
    return value_->GetDouble();
}

std::vector<Node> Node::items() const {
    if (!value_->IsArray()) fail("expected an array, got " + typeName(*value_));
    std::vector<Node> out;
    out.reserve(value_->Size());
    for (rapidjson::SizeType i = 0; i < value_->Size(); ++i)
        out.emplace_back((*value_)[i], path_ + "[" + std::to_string(i) + "]", *label_);
    return out;
}

std::vector<std::pair<std::string, Node>> Node::members() const {
    expectObject();
    std::vector<std::pair<std::string, Node>> out;
    for (auto it = value_->MemberBegin(); it != value_->MemberEnd(); ++it) {
        std::string key(it->name.GetString(), it->name.GetStringLength());
        out.emplace_back(key, Node(it->value, childPath(path_, key), *label_));
    }
    return out;
}

std::vector<std::string> Node::asStringArray() const {
    std::vector<std::string> out;
    for (const auto& item : items()) out.push_back(item.asString());
    return out;
}

std::map<std::string, std::string> Node::asStringMap() const {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : members()) out[k] = v.asString();
    return out;
}

std::optional<std::string> Node::optString(std::string_view key) const {
    if (auto n = get(key)) return n->asString();
    return std::nullopt;
}
std::optional<bool> Node::optBool(std::string_view key) const {
    if (auto n = get(key)) return n->asBool();
    return std::nullopt;
}
std::optional<std::int64_t> Node::optInt64(std::string_view key) const {
    if (auto n = get(key)) return n->asInt64();
    return std::nullopt;
}
std::optional<std::uint64_t> Node::optUint64(std::string_view key) const {
    if (auto n = get(key)) return n->asUint64();
    return std::nullopt;
}
std::optional<std::uint32_t> Node::optUint32(std::string_view key) const {
    if (auto n = get(key)) return n->asUint32();
    return std::nullopt;
}
std::optional<std::int32_t> Node::optInt32(std::string_view key) const {
    if (auto n = get(key)) return n->asInt32();
    return std::nullopt;
}

std::string toString(const rapidjson::Value& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

std::string quote(std::string_view s) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace caprun::json
