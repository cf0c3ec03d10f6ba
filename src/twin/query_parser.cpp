// The query language's lexer, recursive-descent parser and semantic checks. Recursion only
// follows parentheses and NOT, and both count against query_limits::max_depth, so no input
// can run the stack out; the text is at most max_text_bytes, so token and node counts are
// bounded too.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "core/json_input.h"
#include "core/text.h"
#include "model/dtmi.h"
#include "twin/detail/query_ast.h"

namespace doppel::twin::detail {

std::string at(text_pos p) { return std::to_string(p.line) + ":" + std::to_string(p.column) + ": "; }

namespace {

enum class tok : std::uint8_t {
  end,
  ident,
  string,
  number,
  star,
  comma,
  dot,
  lparen,
  rparen,
  lbracket,
  rbracket,
  minus,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
};

struct token {
  tok kind = tok::end;
  std::string_view text;  // as written (strings with their quotes)
  text_pos where;
  std::string str;     // string: the value without quotes and escapes
  nlohmann::json num;  // number
};

// Words with a meaning of their own: never collection aliases, never the first name of a path.
constexpr std::string_view k_reserved[] = {"SELECT",  "TOP",   "FROM", "DIGITALTWINS", "RELATIONSHIPS", "AS", "JOIN",
                                           "RELATED", "WHERE", "AND",  "OR",           "NOT",           "IN", "NIN",
                                           "GROUP",   "BY",    "TRUE", "FALSE",        "NULL"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool is_reserved(std::string_view word) {
  return std::any_of(std::begin(k_reserved), std::end(k_reserved),
                     [&](std::string_view k) { return iequals(k, word); });
}

class lexer {
 public:
  explicit lexer(std::string_view text) : text_(text) {}

  status run(std::vector<token>& out) {
    for (;;) {
      skip_space();
      token t;
      t.where = here_;
      std::size_t start = pos_;
      if (pos_ == text_.size()) {
        out.push_back(std::move(t));
        return status::ok();
      }
      char c = text_[pos_];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
        while (pos_ < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' || text_[pos_] == '$')) {
          advance();
        }
        t.kind = tok::ident;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        if (status s = number(t); !s) return s;
      } else if (c == '\'' || c == '"') {
        if (status s = string(t); !s) return s;
      } else {
        if (status s = punctuation(t); !s) return s;
      }
      t.text = text_.substr(start, pos_ - start);
      out.push_back(std::move(t));
    }
  }

 private:
  void advance() {
    unsigned char c = static_cast<unsigned char>(text_[pos_++]);
    if (c == '\n') {
      ++here_.line;
      here_.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++here_.column;  // continuation bytes belong to the character already counted
    }
  }
  bool at_digit() const { return pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])); }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\f' || text_[pos_] == '\v')) {
      advance();
    }
  }

  status number(token& t) {
    std::size_t start = pos_;
    bool integral = true;
    while (at_digit()) advance();
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(text_[pos_ + 1]))) {
      integral = false;
      advance();
      while (at_digit()) advance();
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      std::size_t save = pos_;
      text_pos save_pos = here_;
      advance();
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) advance();
      if (at_digit()) {
        integral = false;
        while (at_digit()) advance();
      } else {
        pos_ = save;
        here_ = save_pos;
      }
    }
    std::string_view digits = text_.substr(start, pos_ - start);
    if (integral) {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec == std::errc() && end == digits.data() + digits.size()) {
        t.num = v;
        t.kind = tok::number;
        return status::ok();
      }
    }
    double d = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      return status::invalid_argument(at(t.where) + "expected a number but found " + quote(digits) + " (out of range)");
    }
    t.num = d;
    t.kind = tok::number;
    return status::ok();
  }

  status string(token& t) {
    char q = text_[pos_];
    advance();
    for (;;) {
      if (pos_ == text_.size()) {
        return status::invalid_argument(at(t.where) + "expected a closing " + std::string(1, q) +
                                        " for this string but found the end of the query");
      }
      char c = text_[pos_];
      if (c == q) {
        advance();
        break;
      }
      if (c == '\\') {
        text_pos esc = here_;
        advance();
        if (pos_ == text_.size()) continue;  // reported as unterminated above
        char e = text_[pos_];
        switch (e) {
          case '\\':
          case '\'':
          case '"':
          case '/': t.str += e; break;
          case 'n': t.str += '\n'; break;
          case 't': t.str += '\t'; break;
          case 'r': t.str += '\r'; break;
          default:
            return status::invalid_argument(at(esc) + "expected an escape (\\\\, \\', \\\", \\n, \\t, \\r) but found " +
                                            quote(text_.substr(pos_ - 1, 2)));
        }
        advance();
        continue;
      }
      t.str += c;
      advance();
    }
    t.kind = tok::string;
    return status::ok();
  }

  status punctuation(token& t) {
    char c = text_[pos_];
    char n = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    auto one = [&](tok k) {
      t.kind = k;
      advance();
      return status::ok();
    };
    auto two = [&](tok k) {
      t.kind = k;
      advance();
      advance();
      return status::ok();
    };
    switch (c) {
      case '*': return one(tok::star);
      case ',': return one(tok::comma);
      case '.': return one(tok::dot);
      case '(': return one(tok::lparen);
      case ')': return one(tok::rparen);
      case '[': return one(tok::lbracket);
      case ']': return one(tok::rbracket);
      case '-': return one(tok::minus);
      case '=': return one(tok::eq);
      case '!':
        if (n == '=') return two(tok::ne);
        break;
      case '<':
        if (n == '=') return two(tok::le);
        if (n == '>') return two(tok::ne);
        return one(tok::lt);
      case '>':
        if (n == '=') return two(tok::ge);
        return one(tok::gt);
      default: break;
    }
    // Quote the whole character, not one byte of it.
    std::size_t len = 1;
    while (pos_ + len < text_.size() && (static_cast<unsigned char>(text_[pos_ + len]) & 0xC0) == 0x80) ++len;
    return status::invalid_argument(at(t.where) + "expected a name, value or operator but found " +
                                    quote(text_.substr(pos_, len)));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  text_pos here_;
};

struct function_info {
  std::string_view name;
  function fn;
};
constexpr function_info k_functions[] = {
    {"IS_OF_MODEL", function::is_of_model}, {"IS_DEFINED", function::is_defined},
    {"IS_NULL", function::is_null},         {"IS_BOOL", function::is_bool},
    {"IS_NUMBER", function::is_number},     {"IS_STRING", function::is_string},
    {"IS_OBJECT", function::is_object},     {"IS_PRIMITIVE", function::is_primitive},
    {"STARTSWITH", function::startswith},   {"ENDSWITH", function::endswith},
    {"CONTAINS", function::contains},
};

struct aggregate_info {
  std::string_view name;
  aggregate agg;
};
constexpr aggregate_info k_aggregates[] = {
    {"COUNT", aggregate::count}, {"SUM", aggregate::sum}, {"AVG", aggregate::avg},
    {"MIN", aggregate::min},     {"MAX", aggregate::max},
};

class parser {
 public:
  parser(std::string_view text, const query_limits& limits, std::vector<token> tokens)
      : limits_(limits), toks_(std::move(tokens)) {
    q_.text = std::string(text);
  }

  result<query_ast> run() {
    if (!parse()) return error_;
    if (!resolve()) return error_;
    return std::move(q_);
  }

 private:
  // ---- tokens ----
  const token& peek(std::size_t k = 0) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  const token& next() {
    const token& t = peek();
    if (i_ < toks_.size() - 1) ++i_;
    return t;
  }
  bool is_kw(const token& t, std::string_view kw) const { return t.kind == tok::ident && iequals(t.text, kw); }
  bool accept_kw(std::string_view kw) {
    if (!is_kw(peek(), kw)) return false;
    next();
    return true;
  }
  bool accept(tok k) {
    if (peek().kind != k) return false;
    next();
    return true;
  }
  bool expect_kw(std::string_view kw) { return accept_kw(kw) || fail(peek(), kw); }
  bool expect(tok k, std::string_view what) { return accept(k) || fail(peek(), what); }

  static std::string describe(const token& t) {
    if (t.kind == tok::end) return "the end of the query";
    return quote(t.text, 40);
  }
  bool fail(const token& t, std::string_view expected) {
    return fail_at(t.where, "expected " + std::string(expected) + " but found " + describe(t));
  }
  bool fail_at(text_pos where, const std::string& message) {
    if (error_.is_ok()) error_ = status::invalid_argument(at(where) + message);
    return false;
  }

  // ---- clauses ----
  bool parse() {
    if (!expect_kw("SELECT")) return false;
    if (!parse_select()) return false;
    if (!expect_kw("FROM")) return false;
    if (!parse_from()) return false;
    while (is_kw(peek(), "JOIN")) {
      if (!parse_join()) return false;
    }
    std::string_view after = "JOIN, WHERE, GROUP BY or the end of the query";
    if (accept_kw("WHERE")) {
      expr e;
      if (!parse_or(e, 0)) return false;
      q_.where = std::move(e);
      after = "AND, OR, a comparison, GROUP BY or the end of the query";
    }
    if (accept_kw("GROUP")) {
      if (!expect_kw("BY")) return false;
      do {
        path p;
        if (!parse_path(p)) return false;
        q_.group_by.push_back(std::move(p));
      } while (accept(tok::comma));
      after = "',' or the end of the query";
    }
    return peek().kind == tok::end || fail(peek(), after);
  }

  bool parse_select() {
    if (is_kw(peek(), "TOP")) {
      top_at_ = peek().where;
      next();
      if (!expect(tok::lparen, "'(' after TOP")) return false;
      const token& n = peek();
      if (n.kind != tok::number || !n.num.is_number_integer() || n.num.get<std::int64_t>() <= 0) {
        return fail(n, "a whole number of rows greater than 0");
      }
      q_.top = n.num.get<std::int64_t>();
      next();
      if (!expect(tok::rparen, "')'")) return false;
      if (is_kw(peek(), "FROM")) {  // SELECT TOP(5) FROM ...: whole documents, as with *
        q_.select_star = true;
        star_at_ = peek().where;
        return true;
      }
    }
    if (peek().kind == tok::star) {
      star_at_ = peek().where;
      next();
      q_.select_star = true;
      return true;
    }
    do {
      if (!parse_projection()) return false;
    } while (accept(tok::comma));
    return true;
  }

  bool parse_projection() {
    projection p;
    const token& t = peek();
    p.where = t.where;
    if (t.kind == tok::ident && peek(1).kind == tok::lparen) {
      auto it = std::find_if(std::begin(k_aggregates), std::end(k_aggregates),
                             [&](const aggregate_info& a) { return iequals(a.name, t.text); });
      if (it == std::end(k_aggregates)) return fail(t, "COUNT, SUM, AVG, MIN, MAX, a collection or a property path");
      p.agg = it->agg;
      p.name = std::string(it->name);
      next();
      next();
      if (p.agg != aggregate::count && !parse_path(p.ref)) return false;
      if (!expect(tok::rparen, p.agg == aggregate::count ? "')' (COUNT takes no argument)" : "')'")) return false;
    } else if (t.kind == tok::ident && !is_reserved(t.text)) {
      if (!parse_path(p.ref)) return false;
    } else {
      return fail(t, "*, a collection, a property path or an aggregate (COUNT, SUM, AVG, MIN, MAX)");
    }
    if (accept_kw("AS")) {
      if (peek().kind != tok::ident) return fail(peek(), "a column name after AS");
      p.name = std::string(next().text);
      named_.push_back(true);
    } else {
      named_.push_back(false);
    }
    q_.projections.push_back(std::move(p));
    return true;
  }

  bool parse_alias(std::string& alias, text_pos& where, bool required) {
    bool as = accept_kw("AS");
    const token& t = peek();
    if (t.kind == tok::ident && !is_reserved(t.text)) {
      if (t.text[0] == '$') return fail(t, "a collection name (names starting with $ are the system's)");
      alias = std::string(t.text);
      where = t.where;
      next();
      return true;
    }
    if (as || required) return fail(t, "a collection name");
    return true;
  }

  bool add_collection(collection c) {
    if (!c.alias.empty()) {
      for (const auto& other : q_.collections) {
        if (other.alias == c.alias) {
          return fail_at(c.where, "the name " + quote(c.alias) + " is already used for another collection (at " +
                                      std::to_string(other.where.line) + ":" + std::to_string(other.where.column) +
                                      "); give each collection its own name");
        }
      }
    }
    q_.collections.push_back(std::move(c));
    return true;
  }

  bool parse_from() {
    collection c;
    if (accept_kw("DIGITALTWINS")) {
      c.kind = collection_kind::twins;
    } else if (accept_kw("RELATIONSHIPS")) {
      c.kind = collection_kind::relationships;
    } else {
      return fail(peek(), "DIGITALTWINS or RELATIONSHIPS");
    }
    c.where = peek().where;
    if (!parse_alias(c.alias, c.where, false)) return false;
    return add_collection(std::move(c));
  }

  bool parse_join() {
    text_pos join_at = next().where;
    if (q_.joins.size() >= limits_.max_joins) {
      return fail_at(join_at, "a query may JOIN at most " + std::to_string(limits_.max_joins) +
                                  " times; this is JOIN number " + std::to_string(q_.joins.size() + 1));
    }
    if (q_.collections[0].kind != collection_kind::twins) {
      return fail_at(join_at, "JOIN follows relationships from twins: use FROM DIGITALTWINS <name>");
    }
    join_clause j;
    j.where = join_at;
    collection target;
    target.kind = collection_kind::twins;
    target.level = q_.joins.size() + 1;
    if (!parse_alias(target.alias, target.where, true)) return false;
    if (!expect_kw("RELATED")) return false;
    const token& src = peek();
    if (src.kind != tok::ident || is_reserved(src.text)) return fail(src, "the name of a twin collection");
    std::string source_alias(src.text);
    text_pos source_at = src.where;
    next();
    if (!expect(tok::dot, "'.' and a relationship name")) return false;
    if (peek().kind != tok::ident) return fail(peek(), "a relationship name");
    j.relationship = std::string(next().text);
    auto found = std::find_if(q_.collections.begin(), q_.collections.end(),
                              [&](const collection& c) { return !c.alias.empty() && c.alias == source_alias; });
    if (found == q_.collections.end()) {
      return fail_at(source_at,
                     "unknown collection " + quote(source_alias) + ": JOIN can follow " + known_twins() +
                         (q_.collections[0].alias.empty() ? " (name the FROM collection: FROM DIGITALTWINS T)" : ""));
    }
    if (found->kind != collection_kind::twins) {
      return fail_at(source_at, quote(source_alias) + " is a relationship collection; RELATED needs twins");
    }
    j.source = static_cast<std::size_t>(found - q_.collections.begin());
    collection relation;
    relation.kind = collection_kind::relationships;
    relation.level = target.level;
    relation.where = peek().where;
    if (!parse_alias(relation.alias, relation.where, false)) return false;
    if (!add_collection(std::move(target))) return false;
    j.target = q_.collections.size() - 1;
    if (!add_collection(std::move(relation))) return false;
    j.relation = q_.collections.size() - 1;
    q_.joins.push_back(std::move(j));
    return true;
  }

  std::string known_twins() const {
    std::string out;
    for (const auto& c : q_.collections) {
      if (c.kind == collection_kind::twins && !c.alias.empty()) out += (out.empty() ? "" : ", ") + c.alias;
    }
    return out.empty() ? "no named twin collection" : out;
  }

  // A dotted name as written; resolve() splits off the collection.
  bool parse_path(path& p) {
    const token& first = peek();
    if (first.kind != tok::ident || is_reserved(first.text)) return fail(first, "a property path");
    p.where = first.where;
    p.segments.emplace_back(first.text);
    next();
    while (peek().kind == tok::dot) {
      next();
      if (peek().kind != tok::ident) return fail(peek(), "a property name after '.'");
      p.segments.emplace_back(next().text);
    }
    for (const auto& s : p.segments) p.text += (p.text.empty() ? "" : ".") + s;
    return true;
  }

  // ---- WHERE ----
  bool deeper(std::size_t depth, const token& t) {
    if (depth + 1 > limits_.max_depth) {
      return fail_at(t.where, "the condition nests deeper than " + std::to_string(limits_.max_depth) +
                                  " levels of parentheses and NOT; simplify it");
    }
    return true;
  }

  bool parse_or(expr& out, std::size_t depth) {
    expr first;
    if (!parse_and(first, depth)) return false;
    if (!is_kw(peek(), "OR")) {
      out = std::move(first);
      return true;
    }
    out.type = expr::kind::or_;
    out.where = first.where;
    out.children.push_back(std::move(first));
    while (accept_kw("OR")) {
      expr e;
      if (!parse_and(e, depth)) return false;
      out.children.push_back(std::move(e));
    }
    return true;
  }

  bool parse_and(expr& out, std::size_t depth) {
    expr first;
    if (!parse_not(first, depth)) return false;
    if (!is_kw(peek(), "AND")) {
      out = std::move(first);
      return true;
    }
    out.type = expr::kind::and_;
    out.where = first.where;
    out.children.push_back(std::move(first));
    while (accept_kw("AND")) {
      expr e;
      if (!parse_not(e, depth)) return false;
      out.children.push_back(std::move(e));
    }
    return true;
  }

  bool parse_not(expr& out, std::size_t depth) {
    if (is_kw(peek(), "NOT")) {
      if (!deeper(depth, peek())) return false;
      out.type = expr::kind::not_;
      out.where = next().where;
      out.children.emplace_back();
      return parse_not(out.children.back(), depth + 1);
    }
    return parse_primary(out, depth);
  }

  bool parse_primary(expr& out, std::size_t depth) {
    const token& t = peek();
    if (t.kind == tok::lparen) {
      if (!deeper(depth, t)) return false;
      next();
      if (!parse_or(out, depth + 1)) return false;
      return expect(tok::rparen, "')', AND, OR or a comparison");
    }
    if (t.kind == tok::ident && peek(1).kind == tok::lparen && !is_reserved(t.text)) return parse_call(out);
    return parse_comparison(out);
  }

  bool parse_comparison(expr& out) {
    expr lhs;
    if (!parse_operand(lhs)) return false;
    const token& t = peek();
    cmp_op op{};
    bool is_cmp = true;
    switch (t.kind) {
      case tok::eq: op = cmp_op::eq; break;
      case tok::ne: op = cmp_op::ne; break;
      case tok::lt: op = cmp_op::lt; break;
      case tok::le: op = cmp_op::le; break;
      case tok::gt: op = cmp_op::gt; break;
      case tok::ge: op = cmp_op::ge; break;
      default: is_cmp = false;
    }
    if (is_cmp) {
      out.type = expr::kind::compare;
      out.op = op;
      out.where = t.where;
      next();
      expr rhs;
      if (!parse_operand(rhs)) return false;
      out.children.push_back(std::move(lhs));
      out.children.push_back(std::move(rhs));
      return true;
    }
    bool negated = false;
    if (is_kw(t, "NOT") && is_kw(peek(1), "IN")) {  // NOT IN: the same as NIN
      negated = true;
      next();
    } else if (is_kw(t, "NIN")) {
      negated = true;
    } else if (!is_kw(t, "IN")) {
      out = std::move(lhs);  // a value tested on its own: true only when it is the boolean true
      return true;
    }
    out.type = expr::kind::in;
    out.negated = negated;
    out.where = next().where;
    out.value = nlohmann::json::array();
    if (!expect(tok::lbracket, "'[' and a list of values")) return false;
    if (!accept(tok::rbracket)) {
      do {
        expr item;
        if (!parse_literal(item)) return false;
        out.value.push_back(std::move(item.value));
      } while (accept(tok::comma));
      if (!expect(tok::rbracket, "',' or ']'")) return false;
    }
    out.children.push_back(std::move(lhs));
    return true;
  }

  bool parse_literal(expr& out) {
    const token& t = peek();
    out.type = expr::kind::literal;
    out.where = t.where;
    if (t.kind == tok::string) {
      out.value = t.str;
    } else if (t.kind == tok::number) {
      out.value = t.num;
    } else if (t.kind == tok::minus && peek(1).kind == tok::number) {
      next();
      const nlohmann::json& n = peek().num;
      if (n.is_number_integer()) {
        out.value = -n.get<std::int64_t>();  // from_chars gave at most INT64_MAX, so this cannot overflow
      } else {
        out.value = -n.get<double>();
      }
    } else if (is_kw(t, "TRUE") || is_kw(t, "FALSE")) {
      out.value = is_kw(t, "TRUE");
    } else if (is_kw(t, "NULL")) {
      out.value = nullptr;
    } else {
      return fail(t, "a value (string, number, true, false or null)");
    }
    next();
    return true;
  }

  bool parse_operand(expr& out) {
    const token& t = peek();
    if (t.kind == tok::ident && !is_reserved(t.text)) {
      out.type = expr::kind::path;
      out.where = t.where;
      return parse_path(out.ref);
    }
    if (t.kind == tok::string || t.kind == tok::number || t.kind == tok::minus || is_kw(t, "TRUE") ||
        is_kw(t, "FALSE") || is_kw(t, "NULL")) {
      return parse_literal(out);
    }
    return fail(t, "a property path, a value, a function or '('");
  }

  bool parse_call(expr& out) {
    const token& name = peek();
    auto it = std::find_if(std::begin(k_functions), std::end(k_functions),
                           [&](const function_info& f) { return iequals(f.name, name.text); });
    if (it == std::end(k_functions)) {
      return fail(name,
                  "a function (IS_OF_MODEL, IS_DEFINED, IS_NULL, IS_BOOL, IS_NUMBER, IS_STRING, IS_OBJECT, "
                  "IS_PRIMITIVE, STARTSWITH, ENDSWITH, CONTAINS)");
    }
    out.type = expr::kind::call;
    out.fn = it->fn;
    out.where = name.where;
    next();
    next();  // '('
    switch (out.fn) {
      case function::is_of_model: {
        if (peek().kind == tok::ident) {
          const token& a = peek();
          if (is_reserved(a.text)) return fail(a, "a twin collection or a model id");
          out.ref.segments.emplace_back(a.text);
          out.ref.text = std::string(a.text);
          out.ref.where = a.where;
          next();
          if (!expect(tok::comma, "',' and a model id")) return false;
        }
        const token& m = peek();
        if (m.kind != tok::string) return fail(m, "a model id in quotes, e.g. 'dtmi:example:Pump;1'");
        if (std::string problem = model::dtmi_problem(m.str, model::dtdl_version::v3); !problem.empty()) {
          return fail_at(m.where, "expected a model id (DTMI) but found " + quote(m.str) + ": " + problem);
        }
        out.model = m.str;
        next();
        if (accept(tok::comma)) {
          if (!is_kw(peek(), "exact")) return fail(peek(), "exact");
          next();
          out.exact = true;
        }
        out.slot = q_.model_checks++;
        break;
      }
      case function::startswith:
      case function::endswith:
      case function::contains: {
        out.children.resize(2);
        if (!parse_operand(out.children[0])) return false;
        if (!expect(tok::comma, "',' and a second argument")) return false;
        if (!parse_operand(out.children[1])) return false;
        break;
      }
      default: {
        out.children.resize(1);
        out.children[0].type = expr::kind::path;
        out.children[0].where = peek().where;
        if (!parse_path(out.children[0].ref)) return false;
      }
    }
    return expect(tok::rparen, out.fn == function::is_of_model ? "')' or ', exact'" : "')'");
  }

  // ---- checks that need the whole query ----
  bool resolve_path(path& p) {
    const std::string& first = p.segments.front();
    for (std::size_t c = 0; c < q_.collections.size(); ++c) {
      if (!q_.collections[c].alias.empty() && q_.collections[c].alias == first) {
        p.collection = c;
        p.segments.erase(p.segments.begin());
        return true;
      }
    }
    if (q_.collections.size() == 1 && q_.collections[0].alias.empty()) {
      p.collection = 0;
      return true;
    }
    std::string names;
    for (const auto& c : q_.collections) {
      if (!c.alias.empty()) names += (names.empty() ? "" : ", ") + c.alias;
    }
    std::string hint = q_.collections.size() == 1 ? "; write " + q_.collections[0].alias + "." + p.text : "";
    return fail_at(p.where,
                   "unknown collection " + quote(first) + " in " + quote(p.text) + ": the query names " + names + hint);
  }

  // Depth is bounded by the parser's max_depth, so this recursion is too.
  bool resolve_expr(expr& e) {
    switch (e.type) {
      case expr::kind::path: return resolve_path(e.ref);
      case expr::kind::call:
        if (e.fn == function::is_of_model) {
          if (e.ref.segments.empty()) {
            bool single = q_.collections.size() == 1;
            if (!single) {
              return fail_at(e.where, "IS_OF_MODEL needs the twin collection when the query has JOINs: IS_OF_MODEL(" +
                                          q_.collections[0].alias + ", '" + e.model + "')");
            }
            e.ref.collection = 0;
          } else {
            auto found = std::find_if(q_.collections.begin(), q_.collections.end(),
                                      [&](const collection& c) { return !c.alias.empty() && c.alias == e.ref.text; });
            if (found == q_.collections.end()) {
              return fail_at(e.ref.where,
                             "unknown collection " + quote(e.ref.text) + ": IS_OF_MODEL can test " + known_twins());
            }
            e.ref.collection = static_cast<std::size_t>(found - q_.collections.begin());
            e.ref.segments.clear();
          }
          if (q_.collections[e.ref.collection].kind != collection_kind::twins) {
            return fail_at(e.where, "IS_OF_MODEL tests twins, and " +
                                        (e.ref.text.empty() ? std::string("the FROM collection") : quote(e.ref.text)) +
                                        " holds relationships");
          }
          return true;
        }
        [[fallthrough]];
      default:
        for (auto& c : e.children) {
          if (!resolve_expr(c)) return false;
        }
        return true;
    }
  }

  static bool same_path(const path& a, const path& b) {
    return a.collection == b.collection && a.segments == b.segments;
  }

  bool resolve() {
    if (q_.select_star && !q_.joins.empty()) {
      return fail_at(star_at_, "SELECT * cannot be used with JOIN: name what each row should hold, e.g. SELECT " +
                                   (q_.collections[0].alias.empty() ? std::string("T") : q_.collections[0].alias) +
                                   ", " + q_.collections[q_.joins[0].target].alias);
    }
    for (auto& p : q_.group_by) {
      if (!resolve_path(p)) return false;
      if (p.segments.empty()) return fail_at(p.where, "GROUP BY needs property paths, not a whole collection");
    }
    bool any_aggregate = false;
    for (std::size_t i = 0; i < q_.projections.size(); ++i) {
      projection& p = q_.projections[i];
      if (p.agg == aggregate::count) {
        any_aggregate = true;
        continue;
      }
      if (!resolve_path(p.ref)) return false;
      if (p.agg != aggregate::none) {
        any_aggregate = true;
        if (p.ref.segments.empty()) {
          return fail_at(p.ref.where, "expected a property path inside " + p.name + "() but found the collection " +
                                          quote(p.ref.text));
        }
        continue;
      }
      if (!named_[i]) {
        p.name = p.ref.segments.empty() ? q_.collections[p.ref.collection].alias : p.ref.segments.back();
      }
    }
    q_.aggregates = any_aggregate || !q_.group_by.empty();
    if (q_.aggregates) {
      if (q_.top) return fail_at(top_at_, "TOP cannot be combined with COUNT(), other aggregates or GROUP BY");
      if (q_.select_star) {
        return fail_at(star_at_, "SELECT * cannot be combined with GROUP BY; list the grouped paths and aggregates");
      }
      for (auto& p : q_.projections) {
        if (p.agg != aggregate::none) continue;
        auto g =
            std::find_if(q_.group_by.begin(), q_.group_by.end(), [&](const path& x) { return same_path(x, p.ref); });
        if (g == q_.group_by.end()) {
          return fail_at(p.where, quote(p.ref.text) + " is neither in GROUP BY nor inside an aggregate: with " +
                                      (q_.group_by.empty() ? std::string("COUNT(), SUM(), ... and no GROUP BY")
                                                           : std::string("GROUP BY")) +
                                      " each row is a group, so add it to GROUP BY or aggregate it");
        }
        p.group = static_cast<std::size_t>(g - q_.group_by.begin());
      }
    }
    for (std::size_t i = 0; i < q_.projections.size(); ++i) {
      for (std::size_t k = 0; k < i; ++k) {
        if (q_.projections[i].name == q_.projections[k].name) {
          return fail_at(q_.projections[i].where,
                         "two columns are named " + quote(q_.projections[i].name) + "; rename one with AS");
        }
      }
    }
    if (q_.where && !resolve_expr(*q_.where)) return false;
    return true;
  }

  const query_limits& limits_;
  std::vector<token> toks_;
  std::size_t i_ = 0;
  query_ast q_;
  std::vector<bool> named_;  // per projection: has AS
  text_pos top_at_, star_at_;
  status error_;
};

}  // namespace

result<query_ast> parse_query(std::string_view text, const query_limits& limits) {
  if (text.size() > limits.max_text_bytes) {
    return status::invalid_argument("the query is " + std::to_string(text.size()) + " bytes long; at most " +
                                    std::to_string(limits.max_text_bytes) + " are allowed");
  }
  if (std::size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    text_pos p;
    for (std::size_t i = 0; i < bad; ++i) {
      if (text[i] == '\n') {
        ++p.line;
        p.column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++p.column;
      }
    }
    return status::invalid_argument(at(p) + "the query is not valid UTF-8 here");
  }
  std::vector<token> tokens;
  if (status s = lexer(text).run(tokens); !s) return s;
  return parser(text, limits, std::move(tokens)).run();
}

}  // namespace doppel::twin::detail
