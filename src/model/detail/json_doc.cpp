#include "model/detail/json_doc.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "core/json_input.h"

namespace doppel::model::detail {

const jnode* jnode::find(std::string_view key) const {
  for (const auto& m : members) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

std::string_view kind_name(jnode::kind k) {
  switch (k) {
    case jnode::kind::null: return "null";
    case jnode::kind::boolean: return "boolean";
    case jnode::kind::integer: return "integer";
    case jnode::kind::number: return "number";
    case jnode::kind::string: return "string";
    case jnode::kind::array: return "array";
    case jnode::kind::object: return "object";
  }
  return "value";
}

static_assert(std::is_trivially_copyable_v<jnode> && std::is_trivially_destructible_v<jnode>,
              "nodes live in an arena that is released without running destructors");

namespace {

// A NUL-terminated input stream. RapidJSON copies streams that declare copyOptimization (as its
// own StringStream does) into locals while it reads a token, so their Tell() lags behind during
// handler calls; this one is read in place, so Tell() is exact when a handler runs.
struct tracked_stream {
  using Ch = char;
  const char* begin;
  const char* cur;

  Ch Peek() const { return *cur; }
  Ch Take() { return *cur++; }
  std::size_t Tell() const { return static_cast<std::size_t>(cur - begin); }
  Ch* PutBegin() { return nullptr; }
  void Put(Ch) {}
  void Flush() {}
  std::size_t PutEnd(Ch*) { return 0; }
};

// Maps byte offsets to line:column. Offsets only grow during a parse, so it walks forward.
// A leading byte order mark takes no column, as in the editors that hide it.
class position_tracker {
 public:
  explicit position_tracker(std::string_view text)
      : text_(text), bom_(doppel::utf8_bom_size(text)), line_start_(bom_) {}

  std::pair<std::uint32_t, std::uint32_t> at(std::size_t offset) {
    if (offset > text_.size()) offset = text_.size();
    if (offset < pos_) {  // only on error paths; restart
      pos_ = 0;
      line_ = 1;
      line_start_ = bom_;
    }
    // memchr hops from line to line: this runs for every value, also in unoptimised builds.
    while (pos_ < offset) {
      const void* nl = std::memchr(text_.data() + pos_, '\n', offset - pos_);
      if (!nl) {
        pos_ = offset;
        break;
      }
      pos_ = static_cast<std::size_t>(static_cast<const char*>(nl) - text_.data()) + 1;
      ++line_;
      line_start_ = pos_;
    }
    return {line_, static_cast<std::uint32_t>(offset > line_start_ ? offset - line_start_ + 1 : 1)};
  }

 private:
  std::string_view text_;
  std::size_t bom_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
  std::size_t line_start_;
};

// Builds the tree. RapidJSON reports each token after consuming it; the token's first byte
// is the first byte after the previous token that is not whitespace, ':' or ','.
class builder {
 public:
  builder(std::string_view text, const tracked_stream& stream, std::uint32_t max_depth,
          std::pmr::monotonic_buffer_resource& arena)
      : text_(text), stream_(stream), tracker_(text), max_depth_(max_depth), arena_(arena) {}

  bool Null() { return add_value(jnode::kind::null); }
  bool Bool(bool b) {
    jnode* n = add_value_node(jnode::kind::boolean);
    if (!n) return false;
    n->boolean = b;
    return true;
  }
  bool Int(int i) { return Int64(i); }
  bool Uint(unsigned u) { return Int64(u); }
  bool Int64(std::int64_t i) {
    jnode* n = add_value_node(jnode::kind::integer);
    if (!n) return false;
    n->integer = i;
    n->number = static_cast<double>(i);
    return true;
  }
  bool Uint64(std::uint64_t u) {
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return Int64(static_cast<std::int64_t>(u));
    return Double(static_cast<double>(u));
  }
  bool Double(double d) {
    jnode* n = add_value_node(jnode::kind::number);
    if (!n) return false;
    n->number = d;
    return true;
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
  bool String(const char* s, rapidjson::SizeType len, bool) {
    jnode* n = add_value_node(jnode::kind::string);
    if (!n) return false;
    n->text = store(std::string_view(s, len));
    return true;
  }
  bool StartObject() {
    jnode* n = add_value_node(jnode::kind::object);
    if (!n) return false;
    return push(n);
  }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    std::size_t start = token_start();
    last_end_ = stream_.Tell();
    frame& f = stack_.back();
    std::vector<jmember>& members = member_scratch_[stack_.size() - 1];
    std::string_view key(s, len);
    bool duplicate = false;
    if (members.size() < k_linear_key_search) {
      // Most objects are small: a scan is cheaper than hashing every key.
      for (const auto& m : members) duplicate = duplicate || m.key == key;
    } else {
      if (!f.keys) {
        f.keys = std::make_unique<std::unordered_set<std::string_view>>();
        for (const auto& m : members) f.keys->insert(m.key);
      }
      duplicate = !f.keys->insert(key).second;
    }
    if (duplicate) {
      auto [l, c] = tracker_.at(start);
      error_ = {"duplicate key " + std::string(key) + " in one object; each key may appear once", l, c};
      return false;
    }
    members.push_back(jmember{store(key), jnode{}});
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return pop(); }
  bool StartArray() {
    jnode* n = add_value_node(jnode::kind::array);
    if (!n) return false;
    return push(n);
  }
  bool EndArray(rapidjson::SizeType) { return pop(); }

  std::unique_ptr<jnode> take_root() { return std::move(root_); }
  const json_error& error() const { return error_; }
  position_tracker& tracker() { return tracker_; }

 private:
  static constexpr std::size_t k_linear_key_search = 16;

  struct frame {
    jnode* node;
    std::unique_ptr<std::unordered_set<std::string_view>> keys;  // for large objects only
  };

  std::size_t token_start() {
    std::size_t p = last_end_;
    while (p < text_.size()) {
      char c = text_[p];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == ',') {
        ++p;
      } else {
        break;
      }
    }
    return p;
  }

  bool add_value(jnode::kind k) { return add_value_node(k) != nullptr; }

  // Copies into the arena, which owns everything the tree points to.
  std::string_view store(std::string_view s) {
    if (s.empty()) return {};
    char* p = static_cast<char*>(arena_.allocate(s.size(), 1));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }
  template <class T>
  jlist<T> store(const std::vector<T>& list) {
    if (list.empty()) return {};
    T* p = static_cast<T*>(arena_.allocate(list.size() * sizeof(T), alignof(T)));
    std::uninitialized_copy(list.begin(), list.end(), p);
    return {p, list.size()};
  }

  jnode* add_value_node(jnode::kind k) {
    std::size_t start = token_start();
    // Whether the reader has consumed an opening bracket when it calls the handler depends on
    // its parsing mode; the bracket is one byte either way.
    last_end_ = (k == jnode::kind::object || k == jnode::kind::array) ? start + 1 : stream_.Tell();
    jnode* n;
    if (stack_.empty()) {
      root_ = std::make_unique<jnode>();
      n = root_.get();
    } else {
      std::size_t depth = stack_.size() - 1;
      if (stack_.back().node->type == jnode::kind::array) {
        n = &item_scratch_[depth].emplace_back();
      } else {
        n = &member_scratch_[depth].back().value;
      }
    }
    n->type = k;
    n->offset = static_cast<std::uint32_t>(start);
    n->end = static_cast<std::uint32_t>(last_end_);
    auto [l, c] = tracker_.at(start);
    n->line = l;
    n->column = c;
    return n;
  }

  bool push(jnode* n) {
    if (stack_.size() >= max_depth_) {
      error_ = {"JSON nested deeper than " + std::to_string(max_depth_) + " levels", n->line, n->column};
      return false;
    }
    stack_.push_back({n, nullptr});
    if (member_scratch_.size() < stack_.size()) {
      member_scratch_.resize(stack_.size());
      item_scratch_.resize(stack_.size());
    }
    return true;
  }

  bool pop() {
    // The closing bracket is the next token after the last value, consumed or not.
    last_end_ = token_start() + 1;
    jnode* node = stack_.back().node;
    node->end = static_cast<std::uint32_t>(last_end_);
    // Children were gathered in this depth's scratch list: one exact allocation, no regrowth.
    std::size_t depth = stack_.size() - 1;
    auto& members = member_scratch_[depth];
    auto& items = item_scratch_[depth];
    node->members = store(members);
    node->items = store(items);
    members.clear();
    items.clear();
    stack_.pop_back();
    return true;
  }

  std::string_view text_;
  const tracked_stream& stream_;
  position_tracker tracker_;
  std::uint32_t max_depth_;
  std::pmr::monotonic_buffer_resource& arena_;
  std::size_t last_end_ = doppel::utf8_bom_size(text_);  // the root starts after a byte order mark
  std::vector<frame> stack_;
  // Per nesting depth, the members or items of the object or array open at that depth. A node
  // being built lives in its parent's list, which does not grow until that node is complete.
  std::vector<std::vector<jmember>> member_scratch_;
  std::vector<std::vector<jnode>> item_scratch_;
  std::unique_ptr<jnode> root_;
  json_error error_;
};

}  // namespace

json_parse_result parse_json(std::string_view text, std::uint32_t max_depth) {
  // The stream reads up to a NUL byte; a copy guarantees one at the end, and an
  // embedded NUL is reported as trailing garbage at its position rather than silently ignored.
  json_parse_result out;
  if (std::size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    position_tracker tracker(text);
    auto [l, c] = tracker.at(bad);
    out.error = {"invalid JSON: the text is not valid UTF-8 at this byte", l, c};
    return out;
  }
  std::string buf(text);
  // Reading starts after a byte order mark (core/json_input.h); Tell() still counts from the
  // start of the file, so node offsets are offsets into `text`.
  tracked_stream stream{buf.c_str(), buf.c_str() + doppel::utf8_bom_size(text)};
  // Nodes and strings take a few times the size of the text; start with that much.
  out.arena = std::make_unique<std::pmr::monotonic_buffer_resource>(std::max<std::size_t>(4096, text.size() * 4));
  builder b(text, stream, max_depth, *out.arena);
  rapidjson::Reader reader;
  constexpr unsigned flags = rapidjson::kParseStopWhenDoneFlag;  // UTF-8 is checked above
  rapidjson::ParseResult ok = reader.Parse<flags>(stream, b);
  if (!ok) {
    if (!b.error().message.empty()) {
      out.error = b.error();
    } else {
      auto [l, c] = b.tracker().at(ok.Offset());
      out.error = {std::string("invalid JSON: ") + rapidjson::GetParseError_En(ok.Code()), l, c};
    }
    return out;
  }
  // kParseStopWhenDoneFlag stops after the root; anything but whitespace after it is an error.
  std::size_t p = stream.Tell();
  while (p < text.size() && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r')) ++p;
  if (p < text.size()) {
    auto [l, c] = b.tracker().at(p);
    out.error = {"unexpected content after the end of the JSON document", l, c};
    return out;
  }
  out.root = b.take_root();
  if (!out.root) out.error = {"empty document: expected a JSON object or array", 1, 1};
  return out;
}

}  // namespace doppel::model::detail
