#include "ingest/readings.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "core/json_input.h"

namespace doppel::ingest {

namespace {

constexpr std::size_t k_max_raw = 4096;  // bytes of a payload kept with its rejection

std::string cut(std::string_view raw) { return std::string(raw.substr(0, k_max_raw)); }

// The JSON policy (core/json_input.h) before any parser: a payload with invalid UTF-8 or nested
// deeper than the limit is one rejection (too_deep, invalid_utf8), so the recursive conversions
// below never see it. False when it was refused.
bool admissible(std::string_view payload, std::vector<rejection>& rejected) {
  json_check check = check_json_text(payload);
  if (check.ok()) return true;
  rejected.push_back({std::string(to_string(check.kind)), "the payload: " + check.message, cut(payload)});
  return false;
}

// Refusals of one payload. When the payload is not JSON at all, nlohmann's parse says where and
// why instead of `why`, in the words HTTP bodies get (core/json_input.h; 1e400 is
// number_out_of_range). Only on the error path, and once per payload however many of its batch
// entries are refused: simdjson stays the parser of good payloads.
class refusals {
 public:
  explicit refusals(std::string_view payload) : payload_(payload) {}
  rejection operator()(std::string why) {
    if (!checked_) {
      checked_ = true;
      if (parse_json(payload_, &check_)) check_ = {};
    }
    if (check_.ok()) return {"malformed_json", std::move(why), cut(payload_)};
    return {std::string(to_string(check_.kind)), "the payload: " + check_.message, cut(payload_)};
  }

 private:
  std::string_view payload_;
  bool checked_ = false;
  json_check check_;
};

// A JSON value as nlohmann holds it. Objects and arrays (values of Object, Map or Array
// schemas) go through their raw text.
bool to_json(simdjson::ondemand::value v, nlohmann::json& out) {
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case simdjson::ondemand::json_type::number: {
      simdjson::ondemand::number_type nt;
      if (v.get_number_type().get(nt)) return false;
      if (nt == simdjson::ondemand::number_type::signed_integer) {
        std::int64_t i;
        if (v.get_int64().get(i)) return false;
        out = i;
      } else if (nt == simdjson::ondemand::number_type::unsigned_integer) {
        std::uint64_t u;
        if (v.get_uint64().get(u)) return false;
        out = u;
      } else {
        double d;
        if (v.get_double().get(d)) return false;
        out = d;
      }
      return true;
    }
    case simdjson::ondemand::json_type::boolean: {
      bool b;
      if (v.get_bool().get(b)) return false;
      out = b;
      return true;
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      out = std::string(s);
      return true;
    }
    case simdjson::ondemand::json_type::null: out = nullptr; return true;
    default: {
      std::string_view raw;
      if (simdjson::to_json_string(v).get(raw)) return false;
      out = nlohmann::json::parse(raw, nullptr, false);
      return !out.is_discarded();
    }
  }
}

// Unix milliseconds as nanoseconds, within what those hold (1677-2262). Whole milliseconds
// exactly: a double holds nanoseconds since 1970 only to about 256 ns.
bool ms_to_ns(std::int64_t ms, std::int64_t& ns) {
  if (ms < -9200000000000 || ms > 9200000000000) return false;
  ns = ms * 1000000;
  return true;
}
bool ms_to_ns(double ms, std::int64_t& ns) {
  if (!(ms > -9.2e12 && ms < 9.2e12)) return false;
  ns = static_cast<std::int64_t>(ms * 1e6);
  return true;
}

// "$ts": RFC 3339 text or Unix milliseconds.
bool timestamp(simdjson::ondemand::value v, std::int64_t& ns) {
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) return false;
  if (type == simdjson::ondemand::json_type::string) {
    std::string_view s;
    return !v.get_string().get(s) && parse_rfc3339_ns(s, ns);
  }
  if (type == simdjson::ondemand::json_type::number) {
    std::int64_t whole;
    if (!v.get_int64().get(whole)) return ms_to_ns(whole, ns);
    double ms;
    return !v.get_double().get(ms) && ms_to_ns(ms, ns);
  }
  return false;
}

// One object of names and values; `twin` is taken from "$dtId" when empty. False with a
// message when the object cannot be used (then nothing of it was appended).
bool read_object(simdjson::ondemand::object obj, std::string twin, std::int64_t now_ns, std::vector<reading>& out,
                 std::string& message) {
  std::size_t before = out.size();
  std::int64_t ts = 0;
  bool has_id = !twin.empty();
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return message = "a member name is not valid JSON text", false;
    simdjson::ondemand::value v;
    if (field.value().get(v)) return message = "the value of \"" + std::string(key) + "\" is not valid JSON", false;
    if (key == "$ts") {
      if (!timestamp(v, ts)) {
        out.resize(before);
        return message = "\"$ts\" must be an RFC 3339 date-time text or Unix milliseconds", false;
      }
      continue;
    }
    if (key == "$dtId") {
      std::string_view id;
      if (v.get_string().get(id) || id.empty()) {
        out.resize(before);
        return message = "\"$dtId\" must be a non-empty string", false;
      }
      if (!has_id) twin = std::string(id), has_id = true;
      continue;
    }
    if (key.empty()) {
      // No telemetry or property has an empty name (DTDL names start with a letter).
      out.resize(before);
      return message =
                 "a member has an empty name \"\"; name each value after a telemetry or property of the twin's model",
             false;
    }
    reading r;
    r.name = std::string(key);
    if (!to_json(v, r.value)) {
      out.resize(before);
      return message = "the value of \"" + r.name + "\" is not valid JSON", false;
    }
    out.push_back(std::move(r));
  }
  if (!has_id) {
    out.resize(before);
    return message = "a batch entry needs \"$dtId\": the twin it is for", false;
  }
  for (std::size_t k = before; k < out.size(); ++k) {
    out[k].twin = twin;
    out[k].time_ns = ts ? ts : now_ns;
  }
  return true;
}

// A DOM element as nlohmann holds it (the mapping forms read whole documents: simdjson's DOM
// validates all of it, where On-Demand would only check what it visits).
nlohmann::json dom_to_json(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64: return std::int64_t(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64: return std::uint64_t(e.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE: return e.get_double().value_unsafe();
    case simdjson::dom::element_type::BOOL: return e.get_bool().value_unsafe();
    case simdjson::dom::element_type::STRING: return std::string(e.get_string().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE: return nullptr;
    case simdjson::dom::element_type::ARRAY: {
      nlohmann::json a = nlohmann::json::array();
      simdjson::dom::array arr;
      if (e.get(arr)) return nullptr;
      for (simdjson::dom::element item : arr) a.push_back(dom_to_json(item));
      return a;
    }
    case simdjson::dom::element_type::OBJECT: {
      nlohmann::json o = nlohmann::json::object();
      simdjson::dom::object obj;
      if (e.get(obj)) return nullptr;
      for (simdjson::dom::key_value_pair field : obj) o[std::string(field.key)] = dom_to_json(field.value);
      return o;
    }
  }
  return nullptr;
}

// A time in Unix milliseconds (number) or RFC 3339 (text).
bool dom_timestamp(simdjson::dom::element e, std::int64_t& ns) {
  if (e.is_string()) return parse_rfc3339_ns(e.get_string().value_unsafe(), ns);
  if (!e.is_number()) return false;
  if (e.is_int64()) return ms_to_ns(e.get_int64().value_unsafe(), ns);
  return ms_to_ns(e.get_double().value_unsafe(), ns);
}

}  // namespace

void parse_json_fields(std::string_view payload, const std::string& twin, const std::vector<field_rule>& fields,
                       std::int64_t now_ns, std::vector<reading>& out, std::vector<rejection>& rejected) {
  if (!admissible(payload, rejected)) return;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view text = skip_utf8_bom(payload);  // simdjson leaves the mark to its caller
  if (parser.parse(text.data(), text.size()).get(doc)) {
    return rejected.push_back(refusals(payload)("the payload is not valid JSON"));
  }
  std::int64_t ts = now_ns;
  simdjson::dom::element tv;
  if (doc.is_object() && !doc["$ts"].get(tv) && !dom_timestamp(tv, ts)) {
    return rejected.push_back(
        {"malformed_json", "\"$ts\" must be an RFC 3339 date-time text or Unix milliseconds", cut(payload)});
  }
  for (const field_rule& f : fields) {
    simdjson::dom::element v;
    if (doc.at_pointer(f.path).get(v)) continue;  // this message does not carry it
    reading r;
    r.twin = twin;
    r.name = f.name;
    r.time_ns = ts;
    r.value = dom_to_json(v);
    if ((f.scale != 1 || f.offset != 0) && r.value.is_number()) r.value = r.value.get<double>() * f.scale + f.offset;
    out.push_back(std::move(r));
  }
}

void parse_sparkplug_readings(std::string_view payload, const std::string& twin, std::int64_t now_ns,
                              std::vector<reading>& out, std::vector<rejection>& rejected) {
  if (!admissible(payload, rejected)) return;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  refusals refusal(payload);
  auto reject = [&](std::string why) { rejected.push_back(refusal(std::move(why))); };
  std::string_view text = skip_utf8_bom(payload);  // simdjson leaves the mark to its caller
  if (parser.parse(text.data(), text.size()).get(doc)) return reject("the payload is not valid JSON");
  simdjson::dom::array metrics;
  if (!doc.is_object() || doc["metrics"].get(metrics)) {
    return reject("a Sparkplug payload is an object with \"metrics\": [{\"name\": ..., \"value\": ...}, ...]");
  }
  std::int64_t doc_ts = now_ns;
  simdjson::dom::element tv;
  if (!doc["timestamp"].get(tv) && !dom_timestamp(tv, doc_ts)) {
    return reject("\"timestamp\" must be Unix milliseconds");
  }
  std::size_t before = out.size(), index = 0;
  for (simdjson::dom::element m : metrics) {
    std::string_view name;
    simdjson::dom::element v;
    if (!m.is_object() || m["name"].get(name) || name.empty() || m["value"].get(v)) {
      out.resize(before);
      return reject("metric " + std::to_string(index) + " needs a \"name\" and a \"value\"");
    }
    reading r;
    r.twin = twin;
    r.name = std::string(name);
    std::replace(r.name.begin(), r.name.end(), '/', '.');
    r.time_ns = doc_ts;
    if (!m["timestamp"].get(tv) && !dom_timestamp(tv, r.time_ns)) {
      out.resize(before);
      return reject("metric " + std::to_string(index) + ": \"timestamp\" must be Unix milliseconds");
    }
    r.value = dom_to_json(v);
    out.push_back(std::move(r));
    ++index;
  }
}

void parse_json_readings(std::string_view payload, const std::string& twin, std::int64_t now_ns,
                         std::vector<reading>& out, std::vector<rejection>& rejected) {
  if (!admissible(payload, rejected)) return;
  // simdjson reads past the end of its input: it needs a padded copy. It leaves a byte order
  // mark to its caller.
  simdjson::padded_string padded(skip_utf8_bom(payload));
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  std::string message;
  refusals refusal(payload);
  auto reject = [&](std::string why) { rejected.push_back(refusal(std::move(why))); };
  if (parser.iterate(padded).get(doc)) return reject("the payload is not valid JSON");
  simdjson::ondemand::json_type type;
  if (doc.type().get(type)) return reject("the payload is not valid JSON");
  std::size_t before = out.size();
  if (!twin.empty()) {
    simdjson::ondemand::object obj;
    if (type != simdjson::ondemand::json_type::object || doc.get_object().get(obj)) {
      return reject("the payload must be a valid JSON object of telemetry and property names and values");
    }
    if (!read_object(obj, twin, now_ns, out, message)) return out.resize(before), reject(message);
  } else {
    simdjson::ondemand::array arr;
    if (type != simdjson::ondemand::json_type::array || doc.get_array().get(arr)) {
      return reject("a batch must be a valid JSON array of objects, each with \"$dtId\"");
    }
    std::size_t index = 0;
    for (auto item : arr) {
      simdjson::ondemand::object obj;
      if (item.get_object().get(obj)) {
        out.resize(before);
        return reject("entry " + std::to_string(index) + " of the batch is not a JSON object");
      }
      std::size_t entry_start = out.size();
      if (!read_object(obj, "", now_ns, out, message)) {
        // The other entries still count; the dead letter holds the whole payload.
        out.resize(entry_start);
        rejected.push_back(refusal("entry " + std::to_string(index) + ": " + message));
      }
      ++index;
    }
  }
  const char* rest = nullptr;
  if (!doc.current_location().get(rest)) {  // still in bounds: something follows the value
    out.resize(before);
    reject("the payload has text after its JSON value");
  }
}

nlohmann::json lp_value(const lp_field& f) {
  switch (f.type) {
    case field_type::float_: return f.f;
    case field_type::integer: return f.i;
    case field_type::unsigned_: return f.u;
    case field_type::string: return std::string(f.s);
    case field_type::boolean: return f.i != 0;
  }
  return nullptr;
}

void readings_from_line_protocol(const lp_batch& batch, std::int64_t now_ns, std::vector<reading>& out,
                                 std::vector<rejection>& rejected, std::string_view for_twin) {
  for (const lp_error& e : batch.errors) {
    rejected.push_back({"malformed_line",
                        "line " + std::to_string(e.line) + ", column " + std::to_string(e.column) + ": " + e.message,
                        e.text});
  }
  for (const lp_point& p : batch.points) {
    bool found = !for_twin.empty();
    std::string_view twin = found ? for_twin : batch.tag(p, "twin", &found);
    if (!found) {
      rejected.push_back({"unmapped",
                          "line " + std::to_string(p.line) + ": no twin tag; add twin=<twin id> to the tags (e.g. " +
                              std::string(p.measurement) + ",twin=pump-1 ...)",
                          std::string(p.measurement)});
      continue;
    }
    const lp_field* f = batch.fields_of(p);
    for (std::uint32_t k = 0; k < p.field_count; ++k) {
      reading r;
      r.twin = std::string(twin);
      r.name = std::string(f[k].key);
      r.time_ns = p.has_time ? p.time_ns : now_ns;
      r.value = lp_value(f[k]);
      out.push_back(std::move(r));
    }
  }
}

}  // namespace doppel::ingest
