// A JSON tree that remembers where each value starts in its source text (line and column),
// so that DTDL errors can point at the exact place in the model file.
//
// No Debian JSON library keeps source positions in its DOM, so this thin tree is built from
// RapidJSON's SAX reader (the parsing itself, escapes, numbers and UTF-8 validation are
// RapidJSON's). Used only by the DTDL front end; not thread-safe, but trees are immutable once built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>

namespace doppel::model::detail {

// A read-only run of nodes or members, stored in the document's arena.
template <class T>
class jlist {
 public:
  jlist() = default;
  jlist(const T* data, std::size_t size) : data_(data), size_(size) {}
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  const T& back() const { return data_[size_ - 1]; }

 private:
  const T* data_ = nullptr;
  std::size_t size_ = 0;
};

struct jmember;

// One JSON value. Strings and children live in the arena of the parse result that made the
// node, so nodes are plain values: cheap to build, nothing to free one by one.
struct jnode {
  enum class kind : std::uint8_t { null, boolean, integer, number, string, array, object };

  kind type = kind::null;
  bool boolean = false;
  bool negative_zero = false;
  std::int64_t integer = 0;  // for kind::integer (fits int64)
  double number = 0;         // for kind::number, and kind::integer as a double
  std::string_view text;     // for kind::string
  jlist<jnode> items;        // for kind::array
  jlist<jmember> members;    // for kind::object, in source order
  std::uint32_t line = 0;    // 1-based position of the first character of the value
  std::uint32_t column = 0;  // 1-based, counted in bytes
  std::uint32_t offset = 0;  // byte offset of the first character
  std::uint32_t end = 0;     // byte offset just past the value

  bool is_object() const { return type == kind::object; }
  bool is_array() const { return type == kind::array; }
  bool is_string() const { return type == kind::string; }
  bool is_integer() const { return type == kind::integer; }

  // The member named `key`, or nullptr.
  const jnode* find(std::string_view key) const;
};

struct jmember {
  std::string_view key;
  jnode value;
};

struct json_error {
  std::string message;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

struct json_parse_result {
  std::unique_ptr<std::pmr::monotonic_buffer_resource> arena;  // what `root` points into
  std::unique_ptr<jnode> root;                                 // null when error is set
  json_error error;
};

// Parses one JSON text. Rejects invalid UTF-8, duplicate keys within one object, nesting deeper
// than max_depth, and trailing content; the error says what and where.
json_parse_result parse_json(std::string_view text, std::uint32_t max_depth = 64);

// "object", "array", "string", ... for messages.
std::string_view kind_name(jnode::kind k);

}  // namespace doppel::model::detail
