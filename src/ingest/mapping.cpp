#include "ingest/mapping.h"

#include <algorithm>

#include "core/json_input.h"
#include "ingest/line_protocol.h"

namespace doppel::ingest {

namespace {

// One level of a topic template: a literal, a capture ({name}), '+' or '#'.
struct level {
  enum kind { literal, capture, plus, hash } k = literal;
  std::string text;  // the literal, or the capture's name
};

// One piece of the twin template: literal text or the index of a capture.
struct piece {
  std::string text;
  int capture = -1;
};

std::vector<std::string_view> split_levels(std::string_view topic) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0;;) {
    auto slash = topic.find('/', at);
    out.push_back(topic.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at));
    if (slash == std::string_view::npos) return out;
    at = slash + 1;
  }
}

}  // namespace

struct mapper::compiled {
  mapping_rule rule;
  std::vector<level> levels;
  std::vector<piece> twin;
};

mapper::mapper() = default;
mapper::~mapper() = default;
mapper::mapper(mapper&&) noexcept = default;
mapper& mapper::operator=(mapper&&) noexcept = default;

result<mapper> mapper::compile(std::vector<mapping_rule> rules) {
  if (rules.empty()) rules.emplace_back();
  mapper m;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    std::string where = "topics[" + std::to_string(i) + "]";
    compiled c;
    c.rule = std::move(rules[i]);
    const mapping_rule& r = c.rule;
    if (r.topic.empty()) return status::invalid_argument(where + ".topic: must not be empty");
    std::string filter;
    auto parts = split_levels(r.topic);
    for (std::size_t k = 0; k < parts.size(); ++k) {
      std::string_view p = parts[k];
      level l;
      if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
        l.k = level::capture;
        l.text = std::string(p.substr(1, p.size() - 2));
        if (l.text.empty() || l.text.find_first_of("{}+#") != std::string::npos) {
          return status::invalid_argument(where + ".topic: \"" + std::string(p) +
                                          "\" is not a capture; write {name} for a whole topic level");
        }
        for (const level& other : c.levels) {
          if (other.k == level::capture && other.text == l.text) {
            return status::invalid_argument(where + ".topic: {" + l.text + "} appears twice");
          }
        }
        filter += '+';
      } else if (p == "+") {
        l.k = level::plus;
        filter += '+';
      } else if (p == "#") {
        if (k + 1 != parts.size()) return status::invalid_argument(where + ".topic: '#' must be the last level");
        l.k = level::hash;
        filter += '#';
      } else if (p.find_first_of("{}+#") != std::string_view::npos) {
        return status::invalid_argument(where + ".topic: level \"" + std::string(p) +
                                        "\" mixes text with {, }, + or #; a capture takes a whole level");
      } else {
        l.text = std::string(p);
        filter += p;
      }
      if (k + 1 != parts.size()) filter += '/';
      c.levels.push_back(std::move(l));
    }
    // The twin template: text with {capture} references.
    for (std::size_t at = 0; at < r.twin.size();) {
      auto open = r.twin.find('{', at);
      if (open == std::string::npos) {
        c.twin.push_back({r.twin.substr(at), -1});
        break;
      }
      if (open > at) c.twin.push_back({r.twin.substr(at, open - at), -1});
      auto close = r.twin.find('}', open);
      if (close == std::string::npos) return status::invalid_argument(where + ".twin: a '{' is not closed");
      std::string name = r.twin.substr(open + 1, close - open - 1);
      int index = -1, n = 0;
      for (const level& l : c.levels) {
        if (l.k != level::capture) continue;
        if (l.text == name) index = n;
        ++n;
      }
      if (index < 0) {
        return status::invalid_argument(where + ".twin: {" + name + "} is not captured by the topic " + r.topic);
      }
      c.twin.push_back({"", index});
      at = close + 1;
    }
    if (c.twin.empty() && r.payload != payload_form::line_protocol) {
      return status::invalid_argument(where + ".twin: needed for json and sparkplug payloads (e.g. twin: pump-{id})");
    }
    for (std::size_t f = 0; f < r.fields.size(); ++f) {
      const field_rule& fr = r.fields[f];
      std::string fw = where + ".fields[" + std::to_string(f) + "]";
      if (!fr.path.empty() && fr.path.front() != '/') {
        return status::invalid_argument(fw + ".path: a JSON Pointer starts with '/' (e.g. /p/discharge)");
      }
      if (fr.name.empty()) return status::invalid_argument(fw + ".name: the telemetry or property it feeds");
    }
    if (!r.fields.empty() && r.payload != payload_form::json) {
      return status::invalid_argument(where + ".fields: only json payloads take field rules");
    }
    if (std::find(m.filters_.begin(), m.filters_.end(), filter) == m.filters_.end()) m.filters_.push_back(filter);
    m.rules_.push_back(std::move(c));
  }
  return m;
}

std::vector<std::string> mapper::filters() const { return filters_; }

void mapper::map(std::string_view topic, std::string_view payload, std::int64_t now_ns, std::vector<reading>& out,
                 std::vector<rejection>& rejected) const {
  // The topic's levels become twin ids: bytes that are not UTF-8 never reach them (a broker
  // should refuse such topics, but not every broker does).
  if (std::size_t bad = find_invalid_utf8(topic); bad != std::string_view::npos) {
    rejected.push_back({"invalid_utf8",
                        "the topic is not valid UTF-8 at byte " + std::to_string(bad) +
                            "; publish to topics of UTF-8 text (twin ids are UTF-8)",
                        std::string(payload.substr(0, 4096))});
    return;
  }
  auto levels = split_levels(topic);
  for (const compiled& c : rules_) {
    std::vector<std::string_view> captures;
    bool match = true;
    std::size_t k = 0;
    for (; k < c.levels.size() && match; ++k) {
      const level& l = c.levels[k];
      if (l.k == level::hash) break;
      if (k >= levels.size()) {
        match = false;
      } else if (l.k == level::literal) {
        match = levels[k] == l.text;
      } else {
        if (l.k == level::capture) {
          if (levels[k].empty()) match = false;
          captures.push_back(levels[k]);
        }
      }
    }
    if (!match || (k == c.levels.size() && levels.size() != c.levels.size())) continue;
    std::string twin;
    for (const piece& p : c.twin) {
      if (p.capture >= 0) {
        twin += captures[static_cast<std::size_t>(p.capture)];
      } else {
        twin += p.text;
      }
    }
    switch (c.rule.payload) {
      case payload_form::json:
        if (c.rule.fields.empty()) {
          parse_json_readings(payload, twin, now_ns, out, rejected);
        } else {
          parse_json_fields(payload, twin, c.rule.fields, now_ns, out, rejected);
        }
        return;
      case payload_form::sparkplug: parse_sparkplug_readings(payload, twin, now_ns, out, rejected); return;
      case payload_form::line_protocol: {
        // Without a twin template the twin comes from each line's twin tag; with one, every point
        // is for it, whatever its tags say.
        std::string text(payload);
        lp_batch batch;
        parse_line_protocol(text, precision::ns, batch);
        readings_from_line_protocol(batch, now_ns, out, rejected, twin);
        return;
      }
    }
  }
  rejected.push_back({"unmapped",
                      "no mapping rule matches topic \"" + std::string(topic) +
                          "\"; publish to doppel/twins/{twinId}/telemetry or add a rule under mqtt.topics",
                      std::string(payload.substr(0, 4096))});
}

}  // namespace doppel::ingest
