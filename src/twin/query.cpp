// run_query: parse, decode the continuation token, evaluate one page. And the token format.
//
// A token is base64url (no padding) of {"v":1,"q":query text,"k":sort key,"n":rows so far}.
// It carries the whole query so a client can ask for the next page with the token alone (as
// ADT's clients do) and no server keeps cursor state: any node can serve any page. Tokens are
// not secret and not signed; a forged one can only ask for rows of its own query, which the
// caller could ask for anyway, and every limit still applies.
#include "twin/query.h"

#include <nlohmann/json.hpp>

#include <array>

#include "core/json_input.h"
#include "twin/detail/query_ast.h"
#include "twin/errors.h"

namespace doppel::twin {

namespace detail {

namespace {

constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += k_alphabet[(v >> s) & 63];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    unsigned v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    if (rest == 2) out += k_alphabet[(v >> 6) & 63];
  }
  return out;
}

bool unbase64url(std::string_view in, std::string& out) {
  static const std::array<int, 256> table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(k_alphabet[i])] = i;
    return t;
  }();
  if (in.size() % 4 == 1) return false;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return (acc & ((1u << bits) - 1)) == 0;  // unused trailing bits must be zero: one spelling per token
}

}  // namespace

std::string encode_token(const continuation& c) {
  nlohmann::json j = {{"v", 1}, {"q", c.query}, {"k", c.key}, {"n", c.returned}};
  return base64url(j.dump());
}

result<continuation> decode_token(std::string_view token, const query_limits& limits) {
  auto bad = [](const std::string& why) {
    return status::invalid_argument("the continuation token is malformed (" + why +
                                    "); pass the token of the previous page unchanged, or start again without one")
        .with_reason(errors::bad_request);
  };
  if (token.size() > limits.max_token_bytes)
    return bad("longer than " + std::to_string(limits.max_token_bytes) + " bytes");
  std::string text;
  if (!unbase64url(token, text)) return bad("not base64url");
  // A token comes from the client: the JSON input policy holds for it as for a body.
  auto parsed = parse_json(text);
  if (!parsed || !parsed->is_object()) return bad("not a token object");
  nlohmann::json& j = *parsed;
  auto v = j.find("v");
  auto q = j.find("q");
  auto k = j.find("k");
  auto n = j.find("n");
  if (v == j.end() || *v != 1) return bad("unknown version");
  if (q == j.end() || !q->is_string() || k == j.end() || !k->is_array() || n == j.end() || !n->is_number_unsigned()) {
    return bad("fields missing");
  }
  continuation c;
  c.query = q->get<std::string>();
  c.key = std::move(*k);
  c.returned = n->get<std::uint64_t>();
  return c;
}

}  // namespace detail

status check_query(std::string_view text, const query_limits& limits) {
  return detail::parse_query(text, limits).error();
}

result<nlohmann::json> run_query(std::string_view text, const query_source& source, const query_options& options) {
  if (options.page_size == 0 || options.page_size > options.limits.max_page_size) {
    return status::invalid_argument("the page size must be between 1 and " +
                                    std::to_string(options.limits.max_page_size) + ", not " +
                                    std::to_string(options.page_size));
  }
  std::optional<detail::continuation> resume;
  if (!options.continuation_token.empty()) {
    auto c = detail::decode_token(options.continuation_token, options.limits);
    if (!c) return c.error();
    if (!text.empty() && text != c->query) {
      return status::invalid_argument(
          "the continuation token belongs to another query; send the same query text with "
          "it, or the token alone");
    }
    resume = std::move(*c);
    text = resume->query;
  }
  auto q = detail::parse_query(text, options.limits);
  if (!q) return q.error();
  return detail::evaluate(*q, source, options, resume ? &*resume : nullptr);
}

}  // namespace doppel::twin
