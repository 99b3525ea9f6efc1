// Reading JSON documents with errors that name the JSON path of the offending value
// ("config.json: process.capabilities.bounding[2]: expected a string, got a number").
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caprun::json {

// A parsed document that owns its memory. `label` (e.g. "config.json") prefixes errors.
struct Document {
    std::string label;
    std::shared_ptr<rapidjson::Document> doc;
};

// Arrays and objects nested deeper than this are refused (no OCI document needs more than
// a handful of levels; deeper ones would only exhaust the stack of recursive walkers).
constexpr std::size_t kMaxNesting = 256;

// Parses `text`; malformed JSON throws Error "<label>: invalid JSON at line L, column C: <why>";
// nesting deeper than kMaxNesting throws "<label>: JSON nested deeper than N levels at ...".
Document parse(std::string_view text, std::string label);

// Reads and parses a file of at most `maxBytes`. Distinct errors for a missing file, an
// unreadable one, an oversized one and malformed JSON.
Document parseFile(const std::string& path, std::string label, std::size_t maxBytes);

// A value inside a Document together with its JSON path.
class Node {
  public:
    Node(const rapidjson::Value& value, std::string path, const std::string& label)
        : value_(&value), path_(std::move(path)), label_(&label) {}
    static Node root(const Document& d) { return Node(*d.doc, "", d.label); }

    const std::string& path() const { return path_; }
    const rapidjson::Value& raw() const { return *value_; }

    bool isNull() const { return value_->IsNull(); }
    bool isObject() const { return value_->IsObject(); }
    bool isArray() const { return value_->IsArray(); }
    bool isString() const { return value_->IsString(); }

    // Member access on an object node (throws if this is not an object).
    // get(): absent or null -> nullopt. require(): absent or null -> "<path>: required".
    std::optional<Node> get(std::string_view key) const;
    Node require(std::string_view key) const;

    // Typed reads; a wrong type throws "<path>: expected <what>, got <type>".
    std::string asString() const;
    bool asBool() const;
    std::int64_t asInt64() const;
    std::uint64_t asUint64() const;
    std::int32_t asInt32() const;
    std::uint32_t asUint32() const;
    double asDouble() const;

    std::vector<Node> items() const;                            // array elements, paths "<path>[i]"
    std::vector<std::pair<std::string, Node>> members() const;  // object members
    std::vector<std::string> asStringArray() const;
    std::map<std::string, std::string> asStringMap() const;

    // Convenience: optional typed members.
    std::optional<std::string> optString(std::string_view key) const;
    std::optional<bool> optBool(std::string_view key) const;
    std::optional<std::int64_t> optInt64(std::string_view key) const;
    std::optional<std::uint64_t> optUint64(std::string_view key) const;
    std::optional<std::uint32_t> optUint32(std::string_view key) const;
    std::optional<std::int32_t> optInt32(std::string_view key) const;

    // Throws Error "<label>: <path>: <what>".
    [[noreturn]] void fail(std::string_view what) const;

  private:
    void expectObject() const;
    const rapidjson::Value* value_;
    std::string path_;
    const std::string* label_;
};

// "a number", "a string", ... for error messages.
std::string typeName(const rapidjson::Value& v);

// Serialises a value compactly (for echoing annotations and for tests).
std::string toString(const rapidjson::Value& v);

// Escapes a string as a JSON string literal including the quotes.
std::string quote(std::string_view s);

}  // namespace caprun::json
