#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "core/text.h"
#include "store/timeseries/aggregate.h"

namespace doppel::app {

namespace {

class checker {
 public:
  checker(const std::string& file, std::vector<config_error>& errors) : file_(file), errors_(errors) {}

  void error(const YAML::Mark& m, std::string message) {
    config_error e;
    e.file = file_;
    if (!m.is_null()) {
      e.line = static_cast<std::uint32_t>(m.line + 1);
      e.column = static_cast<std::uint32_t>(m.column + 1);
    }
    e.message = std::move(message);
    errors_.push_back(std::move(e));
  }

  bool scalar_string(const YAML::Node& n, std::string_view key, std::string& out) {
    if (!n.IsScalar()) {
      error(n.Mark(), std::string(key) + " must be a string, not " + shape(n));
      return false;
    }
    out = n.Scalar();
    return true;
  }

  void string_list(const YAML::Node& n, std::string_view key, std::vector<std::string>& out) {
    out.clear();
    if (n.IsScalar()) {  // a single path is allowed as shorthand
      out.push_back(n.Scalar());
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        std::string s;
        if (scalar_string(item, std::string(key) + " entries", s)) out.push_back(std::move(s));
      }
    } else {
      error(n.Mark(), std::string(key) + " must be a list of paths, e.g. " + std::string(key) + ": [" +
                          std::string(key) + "], not " + shape(n));
      return;
    }
    for (const auto& p : out) {
      if (p.empty()) error(n.Mark(), std::string(key) + " has an empty path; write a folder relative to the project");
      std::filesystem::path path(p);
      if (path.is_absolute()) {
        error(n.Mark(), std::string(key) + " path " + quote(p) +
                            " is absolute; write it relative to the project folder so the project can move");
      }
    }
  }

  static std::string shape(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Null: return "null";
      case YAML::NodeType::Scalar: return "a scalar";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Undefined: return "nothing";
    }
    return "something else";
  }

 private:
  const std::string& file_;
  std::vector<config_error>& errors_;
};

bool valid_project_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool number(checker& ck, const YAML::Node& n, std::string_view key, double min, double max, double& out) {
  if (n.IsScalar()) {
    try {
      std::size_t used = 0;
      double v = std::stod(n.Scalar(), &used);
      if (used == n.Scalar().size() && v >= min && v <= max) {
        out = v;
        return true;
      }
    } catch (const std::exception&) {
    }
  }
  // Bounds wider than any integer the message would show mean "any finite number" (from min).
  auto bound = [](double b) {
    return std::abs(b) < 1e15 ? std::to_string(static_cast<long long>(b)) : std::string(b < 0 ? "-inf" : "inf");
  };
  if (min <= -1e15 && max >= 1e15) {
    ck.error(n.Mark(), std::string(key) + " must be a finite number");
  } else {
    ck.error(n.Mark(), std::string(key) + " must be a number from " + bound(min) + " to " + bound(max));
  }
  return false;
}

// The api keys that bound resources: each a whole number in a range. False when `key` is not one.
bool parse_api_limit(checker& ck, const std::string& key, const YAML::Node& v, api_config& api) {
  struct limit {
    const char* key;
    double min, max;
    std::size_t* out;
  };
  std::size_t work = 0;
  const limit limits[] = {
      {"events_queue_bytes", 65536, 1e12, &api.events_queue_bytes},
      {"connection_queue_bytes", 65536, 1e12, &api.connection_queue_bytes},
      {"max_connections", 0, 1e7, &api.max_connections},
      {"max_connections_per_token", 1, 1e7, &api.max_connections_per_token},
      {"max_unauthenticated", 1, 1e7, &api.max_unauthenticated},
      {"query_workers", 0, 1024, &api.query_workers},
      {"query_queue", 0, 1e6, &api.query_queue},
      {"queries_per_token", 1, 1e6, &api.queries_per_token},
      {"query_max_work", 1000, 1e15, &work},
  };
  for (const limit& l : limits) {
    if (key != l.key) continue;
    double d = 0;
    if (number(ck, v, "api." + key, l.min, l.max, d)) {
      if (l.out == &work) {
        api.query_max_work = static_cast<std::uint64_t>(d);
      } else {
        *l.out = static_cast<std::size_t>(d);
      }
    }
    return true;
  }
  return false;
}

bool boolean(checker& ck, const YAML::Node& n, std::string_view key, bool& out);  // below

void parse_api(checker& ck, const YAML::Node& n, api_config& api) {
  if (!n.IsMap()) {
    ck.error(n.Mark(), "api must be a mapping such as `api: {listen: 127.0.0.1:8080}`, not " + checker::shape(n));
    return;
  }
  static const std::set<std::string, std::less<>> known{
      "listen", "cors_origins", "rate_limit", "rate_burst", "max_body_bytes", "tls", "web_root", "enforce_writable"};
  std::set<std::string, std::less<>> seen;
  for (const auto& kv : n) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!seen.insert(key).second) {
      ck.error(kv.first.Mark(), "key " + quote(key) + " appears twice in api; keep one");
      continue;
    }
    if (!known.count(key) && parse_api_limit(ck, key, kv.second, api)) continue;
    if (!known.count(key)) {
      ck.error(kv.first.Mark(), "unknown key " + quote(key) +
                                    " in api; known keys are listen, cors_origins, rate_limit, rate_burst, "
                                    "max_body_bytes, tls, web_root, enforce_writable, events_queue_bytes, "
                                    "connection_queue_bytes, "
                                    "max_connections, max_connections_per_token, max_unauthenticated, "
                                    "query_workers, query_queue, queries_per_token, query_max_work");
      continue;
    }
    const YAML::Node& v = kv.second;
    double d = 0;
    if (key == "listen") {
      if (ck.scalar_string(v, "api.listen", api.listen) && !parse_listen(api.listen, api.host, api.port)) {
        ck.error(v.Mark(), "api.listen " + quote(api.listen) + " must be HOST:PORT, e.g. 127.0.0.1:8080");
      }
    } else if (key == "cors_origins") {
      api.cors_origins.clear();
      if (!v.IsSequence()) {
        ck.error(v.Mark(), "api.cors_origins must be a list of origins, e.g. [\"http://localhost:5173\"]");
        continue;
      }
      for (const auto& item : v) {
        std::string o;
        if (ck.scalar_string(item, "api.cors_origins entries", o)) api.cors_origins.push_back(o);
      }
    } else if (key == "rate_limit") {
      if (number(ck, v, "api.rate_limit (requests per second per token, 0 = off)", 0, 1e9, d)) api.rate_limit = d;
    } else if (key == "rate_burst") {
      if (number(ck, v, "api.rate_burst", 0, 1e9, d)) api.rate_burst = d;
    } else if (key == "tls") {
      if (!v.IsMap() || v.size() != 2 || !v["cert"] || !v["key"]) {
        ck.error(v.Mark(), "api.tls must be {cert: FILE, key: FILE}: PEM files relative to the project");
        continue;
      }
      ck.scalar_string(v["cert"], "api.tls.cert", api.tls_cert);
      ck.scalar_string(v["key"], "api.tls.key", api.tls_key);
    } else if (key == "web_root") {
      if (ck.scalar_string(v, "api.web_root", api.web_root)) {
        if (api.web_root.empty()) {
          ck.error(v.Mark(), "api.web_root is empty; write a folder relative to the project, or off");
        } else if (std::filesystem::path(api.web_root).is_absolute()) {
          ck.error(v.Mark(), "api.web_root " + quote(api.web_root) +
                                 " is absolute; write it relative to the project folder so the project can move");
        }
      }
    } else if (key == "max_body_bytes") {
      if (number(ck, v, "api.max_body_bytes", 1024, 1 << 30, d)) api.max_body_bytes = static_cast<std::size_t>(d);
    } else if (key == "enforce_writable") {
      boolean(ck, v, "api.enforce_writable", api.enforce_writable);
    }
  }
}

// ingest.device_reported: {"dtmi:...;1": [name, "component.name", ...]}. The names are checked
// against the models later (load_projects), when they are loaded.
void parse_device_reported(checker& ck, const YAML::Node& n, std::vector<device_reported_entry>& out) {
  const std::string example = "e.g. device_reported: {\"dtmi:example:Asset;1\": [firmwareVersion, motor.serialNumber]}";
  if (!n.IsMap()) {
    ck.error(n.Mark(), "ingest.device_reported must map model ids to lists of property names, " + example);
    return;
  }
  for (const auto& kv : n) {
    std::string model = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!model.starts_with("dtmi:")) {
      ck.error(kv.first.Mark(),
               "ingest.device_reported keys must be model ids such as dtmi:example:Asset;1, not " + quote(model));
      continue;
    }
    if (!kv.second.IsSequence()) {
      ck.error(kv.second.Mark(), "ingest.device_reported." + model + " must be a list of property names, " + example);
      continue;
    }
    for (const auto& item : kv.second) {
      std::string name;
      if (!ck.scalar_string(item, "ingest.device_reported." + model + " entries", name)) continue;
      if (name.empty()) {
        ck.error(item.Mark(), "ingest.device_reported." + model + " has an empty property name");
        continue;
      }
      auto mark = item.Mark();
      out.push_back(
          {model, name, static_cast<std::uint32_t>(mark.line + 1), static_cast<std::uint32_t>(mark.column + 1)});
    }
  }
}

void parse_ingest(checker& ck, const YAML::Node& n, ingest_config& in) {
  if (!n.IsMap()) {
    ck.error(n.Mark(), "ingest must be a mapping such as `ingest: {shards: 2}`, not " + checker::shape(n));
    return;
  }
  static const std::set<std::string, std::less<>> known{"shards", "queue_readings", "dead_letters", "dead_letter_bytes",
                                                        "device_reported"};
  std::set<std::string, std::less<>> seen;
  for (const auto& kv : n) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!known.count(key)) {
      ck.error(kv.first.Mark(),
               "unknown key " + quote(key) +
                   " in ingest; known keys are shards, queue_readings, dead_letters, dead_letter_bytes, "
                   "device_reported");
      continue;
    }
    if (!seen.insert(key).second) {
      ck.error(kv.first.Mark(), "key " + quote(key) + " appears twice in ingest; keep one");
      continue;
    }
    double d = 0;
    if (key == "shards") {
      if (number(ck, kv.second, "ingest.shards (0 = half the cores)", 0, 256, d)) in.shards = static_cast<int>(d);
    } else if (key == "queue_readings") {
      if (number(ck, kv.second, "ingest.queue_readings (per shard)", 100, 1e8, d)) {
        in.queue_readings = static_cast<std::size_t>(d);
      }
    } else if (key == "device_reported") {
      parse_device_reported(ck, kv.second, in.device_reported);
    } else if (key == "dead_letter_bytes") {
      if (number(ck, kv.second, "ingest.dead_letter_bytes (raw text kept for GET /deadletters)", 65536, 1e12, d)) {
        in.dead_letter_bytes = static_cast<std::size_t>(d);
      }
    } else if (number(ck, kv.second, "ingest.dead_letters (kept for GET /deadletters)", 1, 1e7, d)) {
      in.dead_letters = static_cast<std::size_t>(d);
    }
  }
}

bool boolean(checker& ck, const YAML::Node& n, std::string_view key, bool& out) {
  if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
    out = n.Scalar() == "true";
    return true;
  }
  ck.error(n.Mark(), std::string(key) + " must be true or false");
  return false;
}

// Rejects keys outside `known` and repeated keys; calls `each` for the others.
template <class F>
void for_each_key(checker& ck, const YAML::Node& n, std::string_view where, std::initializer_list<const char*> known,
                  F each) {
  std::string list;
  for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
  std::set<std::string, std::less<>> seen;
  for (const auto& kv : n) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      ck.error(kv.first.Mark(), "unknown key " + quote(key) + " in " + std::string(where) + "; known keys are " + list);
    } else if (!seen.insert(key).second) {
      ck.error(kv.first.Mark(), "key " + quote(key) + " appears twice in " + std::string(where) + "; keep one");
    } else {
      each(key, kv.second);
    }
  }
}

// A duration such as 30s, 90m, 12h, 30d or PT5M (ts::parse_step) into `out` (ns).
bool duration(checker& ck, const YAML::Node& n, const std::string& key, std::int64_t& out) {
  if (n.IsScalar() && ts::parse_step(n.Scalar(), out)) return true;
  ck.error(n.Mark(), key + " must be a duration such as 12h, 30d, 90m or P30D");
  return false;
}

void parse_store(checker& ck, const YAML::Node& n, store_config& st) {
  if (!n.IsMap()) {
    ck.error(n.Mark(), "store must be a mapping such as `store: {max_bytes: 10000000000}`, not " + checker::shape(n));
    return;
  }
  for_each_key(ck, n, "store", {"max_bytes", "checkpoint_interval"}, [&](const std::string& key, const YAML::Node& v) {
    double d = 0;
    std::int64_t ns = 0;
    if (key == "max_bytes") {
      if (number(ck, v, "store.max_bytes (0 = no cap)", 0, 1e15, d)) st.max_bytes = static_cast<std::uint64_t>(d);
    } else if (duration(ck, v, "store.checkpoint_interval", ns)) {
      st.checkpoint_interval_ms = std::max<std::int64_t>(1, ns / 1000000);
    }
  });
}

void parse_history(checker& ck, const YAML::Node& n, history_config& h) {
  if (!n.IsMap()) {
    ck.error(n.Mark(), "history must be a mapping such as `history: {retention: 90d}`, not " + checker::shape(n));
    return;
  }
  for_each_key(ck, n, "history", {"retention", "retention_by_model", "late_window"},
               [&](const std::string& key, const YAML::Node& v) {
                 if (key == "retention") {
                   duration(ck, v, "history.retention", h.retention_ns);
                 } else if (key == "late_window") {
                   duration(ck, v, "history.late_window", h.late_window_ns);
                 } else if (!v.IsMap()) {
                   ck.error(v.Mark(),
                            "history.retention_by_model must map model ids to durations, e.g. "
                            "{\"dtmi:example:Pump;1\": 30d}");
                 } else {
                   for (const auto& kv : v) {
                     std::string model = kv.first.IsScalar() ? kv.first.Scalar() : "";
                     if (!model.starts_with("dtmi:")) {
                       ck.error(kv.first.Mark(),
                                "history.retention_by_model keys must be model ids such as "
                                "dtmi:example:Pump;1, not " +
                                    quote(model));
                       continue;
                     }
                     std::int64_t ns = 0;
                     if (duration(ck, kv.second, "history.retention_by_model." + model, ns)) {
                       h.retention_by_model[model] = ns;
                     }
                   }
                 }
               });
}

void parse_topic_rule(checker& ck, const YAML::Node& n, const std::string& where, ingest::mapping_rule& rule) {
  if (!n.IsMap()) {
    ck.error(n.Mark(), where + " must be a mapping such as {topic: plant/{site}/pump/{id}, twin: pump-{id}}");
    return;
  }
  rule.twin.clear();
  for_each_key(ck, n, where, {"topic", "twin", "payload", "fields"}, [&](const std::string& key, const YAML::Node& v) {
    if (key == "topic") {
      ck.scalar_string(v, where + ".topic", rule.topic);
    } else if (key == "twin") {
      ck.scalar_string(v, where + ".twin", rule.twin);
    } else if (key == "payload") {
      std::string p;
      if (!ck.scalar_string(v, where + ".payload", p)) return;
      if (p == "json") {
        rule.payload = ingest::payload_form::json;
      } else if (p == "sparkplug") {
        rule.payload = ingest::payload_form::sparkplug;
      } else if (p == "line-protocol") {
        rule.payload = ingest::payload_form::line_protocol;
      } else {
        ck.error(v.Mark(), where + ".payload must be json, sparkplug or line-protocol, not " + quote(p));
      }
    } else if (key == "fields") {
      if (!v.IsSequence()) {
        ck.error(v.Mark(), where + ".fields must be a list such as [{path: /p/discharge, name: dischargePressure}]");
        return;
      }
      for (std::size_t i = 0; i < v.size(); ++i) {
        std::string fw = where + ".fields[" + std::to_string(i) + "]";
        const YAML::Node& f = v[i];
        if (!f.IsMap()) {
          ck.error(f.Mark(), fw + " must be a mapping such as {path: /p/discharge, name: dischargePressure}");
          continue;
        }
        ingest::field_rule fr;
        for_each_key(ck, f, fw, {"path", "name", "scale", "offset"}, [&](const std::string& fk, const YAML::Node& fv) {
          double d = 0;
          if (fk == "path") {
            ck.scalar_string(fv, fw + ".path", fr.path);
          } else if (fk == "name") {
            ck.scalar_string(fv, fw + ".name", fr.name);
          } else if (fk == "scale") {
            if (number(ck, fv, fw + ".scale", -1e300, 1e300, d)) fr.scale = d;
          } else if (number(ck, fv, fw + ".offset", -1e300, 1e300, d)) {
            fr.offset = d;
          }
        });
        rule.fields.push_back(std::move(fr));
      }
    }
  });
}

void parse_mqtt(checker& ck, const YAML::Node& n, mqtt_config& m) {
  if (!n.IsMap()) {
    ck.error(n.Mark(), "mqtt must be a mapping such as `mqtt: {broker: managed}`, not " + checker::shape(n));
    return;
  }
  for_each_key(
      ck, n, "mqtt",
      {"broker", "listen", "client_id", "username", "password", "password_env", "version", "qos", "keepalive",
       "session_expiry", "max_packet_bytes", "reconnect_min_ms", "reconnect_max_ms", "ca", "cert", "key", "insecure",
       "topics",
       // the outbound path (publishing to devices)
       "max_inflight_out", "out_queue_messages", "out_queue_bytes"},
      [&](const std::string& key, const YAML::Node& v) {
        double d = 0;
        if (key == "broker") {
          if (ck.scalar_string(v, "mqtt.broker", m.broker) && m.broker != "managed" && m.broker != "off" &&
              !m.broker.starts_with("mqtt://") && !m.broker.starts_with("mqtts://")) {
            ck.error(v.Mark(),
                     "mqtt.broker must be managed, off, or a URL such as mqtt://10.0.0.5:1883, not " + quote(m.broker));
          }
        } else if (key == "listen") {
          if (ck.scalar_string(v, "mqtt.listen", m.listen) && !parse_listen(m.listen, m.host, m.port)) {
            ck.error(v.Mark(), "mqtt.listen " + quote(m.listen) + " must be HOST:PORT, e.g. 127.0.0.1:1883");
          }
        } else if (key == "client_id") {
          ck.scalar_string(v, "mqtt.client_id", m.client_id);
        } else if (key == "username") {
          ck.scalar_string(v, "mqtt.username", m.username);
        } else if (key == "password") {
          ck.scalar_string(v, "mqtt.password", m.password);
        } else if (key == "password_env") {
          ck.scalar_string(v, "mqtt.password_env", m.password_env);
        } else if (key == "version") {
          std::string text;
          if (ck.scalar_string(v, "mqtt.version", text)) {
            if (text == "5" || text == "5.0") {
              m.version = 5;
            } else if (text == "3.1.1") {
              m.version = 4;
            } else {
              ck.error(v.Mark(), "mqtt.version must be 5 or \"3.1.1\", not " + quote(text));
            }
          }
        } else if (key == "qos") {
          if (number(ck, v, "mqtt.qos", 0, 1, d)) m.qos = static_cast<std::uint8_t>(d);
        } else if (key == "keepalive") {
          if (number(ck, v, "mqtt.keepalive (seconds)", 1, 65535, d)) m.keepalive_s = static_cast<int>(d);
        } else if (key == "session_expiry") {
          if (number(ck, v, "mqtt.session_expiry (seconds)", 0, 4294967295.0, d)) {
            m.session_expiry_s = static_cast<std::uint32_t>(d);
          }
        } else if (key == "max_packet_bytes") {
          if (number(ck, v, "mqtt.max_packet_bytes", 1024, 268435455, d))
            m.max_packet_bytes = static_cast<std::size_t>(d);
        } else if (key == "max_inflight_out") {
          if (number(ck, v, "mqtt.max_inflight_out", 1, 65534, d)) m.max_inflight_out = static_cast<int>(d);
        } else if (key == "out_queue_messages") {
          if (number(ck, v, "mqtt.out_queue_messages", 1, 10000000, d))
            m.out_queue_messages = static_cast<std::size_t>(d);
        } else if (key == "out_queue_bytes") {
          if (number(ck, v, "mqtt.out_queue_bytes", 1024, 4294967295.0, d))
            m.out_queue_bytes = static_cast<std::size_t>(d);
        } else if (key == "reconnect_min_ms") {
          if (number(ck, v, "mqtt.reconnect_min_ms", 1, 3600000, d)) m.reconnect_min_ms = static_cast<int>(d);
        } else if (key == "reconnect_max_ms") {
          if (number(ck, v, "mqtt.reconnect_max_ms", 1, 3600000, d)) m.reconnect_max_ms = static_cast<int>(d);
        } else if (key == "ca") {
          ck.scalar_string(v, "mqtt.ca", m.ca);
        } else if (key == "cert") {
          ck.scalar_string(v, "mqtt.cert", m.cert);
        } else if (key == "key") {
          ck.scalar_string(v, "mqtt.key", m.key);
        } else if (key == "insecure") {
          boolean(ck, v, "mqtt.insecure", m.insecure);
        } else if (key == "topics") {
          if (!v.IsSequence() || v.size() == 0) {
            ck.error(v.Mark(),
                     "mqtt.topics must be a list of rules such as "
                     "[{topic: plant/{site}/pump/{id}/telemetry, twin: pump-{id}}]");
            return;
          }
          for (std::size_t i = 0; i < v.size(); ++i) {
            ingest::mapping_rule rule;
            parse_topic_rule(ck, v[i], "mqtt.topics[" + std::to_string(i) + "]", rule);
            m.topics.push_back(std::move(rule));
          }
          // The rules' own checks (templates, captures, pointers), reported at the list.
          auto compiled = ingest::mapper::compile(m.topics);
          if (!compiled) ck.error(v.Mark(), "mqtt." + compiled.error().message());
        }
      });
  if (m.reconnect_min_ms > m.reconnect_max_ms) {
    ck.error(n.Mark(), "mqtt.reconnect_min_ms must not exceed mqtt.reconnect_max_ms");
  }
}

// A source of an equation's value: `speed` (a telemetry; for parameters a property), `25` (a
// constant), or {telemetry: NAME | property: NAME | value: X, scale: K, offset: B}.
void parse_live_source(checker& ck, const YAML::Node& n, const std::string& where, bool parameter,
                       sim::live_source& s) {
  using kind = sim::live_source::kind;
  if (n.IsScalar()) {
    double d = 0;
    const std::string& text = n.Scalar();
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec == std::errc() && ptr == text.data() + text.size()) {
      s.from = kind::constant;
      s.value = d;
    } else {
      s.from = parameter ? kind::property : kind::telemetry;
      s.name = text;
    }
    return;
  }
  if (!n.IsMap()) {
    ck.error(n.Mark(), where + " must be a name, a number, or a mapping such as {telemetry: flow, scale: 3.6}");
    return;
  }
  int sources = 0;
  for_each_key(ck, n, where, {"telemetry", "property", "value", "scale", "offset"},
               [&](const std::string& key, const YAML::Node& v) {
                 double d = 0;
                 if (key == "telemetry" || key == "property") {
                   ++sources;
                   s.from = key == "telemetry" ? kind::telemetry : kind::property;
                   ck.scalar_string(v, where + "." + key, s.name);
                 } else if (key == "value") {
                   ++sources;
                   s.from = kind::constant;
                   if (number(ck, v, where + ".value", -1e300, 1e300, d)) s.value = d;
                 } else if (key == "scale") {
                   if (number(ck, v, where + ".scale", -1e300, 1e300, d)) s.scale = d;
                 } else if (number(ck, v, where + ".offset", -1e300, 1e300, d)) {
                   s.offset = d;
                 }
               });
  if (sources != 1) {
    ck.error(n.Mark(), where + " needs exactly one of telemetry, property or value");
  }
}

void parse_live(checker& ck, const YAML::Node& n, const std::string& where, sim::live_spec& spec) {
  if (!n.IsMap()) {
    ck.error(n.Mark(), where +
                           " must be a mapping such as {model: \"dtmi:example:Pump;1\", equations: pump, inputs: "
                           "{speed: speed}}");
    return;
  }
  spec.line = static_cast<std::uint32_t>(n.Mark().line + 1);
  spec.column = static_cast<std::uint32_t>(n.Mark().column + 1);
  bool has_model = false, has_equations = false;
  auto sources = [&](const YAML::Node& v, const std::string& key, bool parameter,
                     std::vector<std::pair<std::string, sim::live_source>>& out) {
    if (!v.IsMap()) {
      ck.error(v.Mark(), where + "." + key + " must map equation names to sources, e.g. {speed: speed}");
      return;
    }
    std::set<std::string, std::less<>> seen;
    for (const auto& kv : v) {
      std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!seen.insert(name).second) {
        ck.error(kv.first.Mark(), where + "." + key + "." + name + " appears twice; keep one");
        continue;
      }
      sim::live_source s;
      parse_live_source(ck, kv.second, where + "." + key + "." + name, parameter, s);
      out.emplace_back(std::move(name), std::move(s));
    }
  };
  for_each_key(ck, n, where,
               {"model", "equations", "inputs", "parameters", "measured", "outputs", "tunable", "observer", "interval",
                "resync_after", "refresh", "retry_after"},
               [&](const std::string& key, const YAML::Node& v) {
                 if (key == "model") {
                   has_model = ck.scalar_string(v, where + ".model", spec.model);
                 } else if (key == "equations") {
                   has_equations = ck.scalar_string(v, where + ".equations", spec.equations);
                 } else if (key == "inputs") {
                   sources(v, key, false, spec.inputs);
                 } else if (key == "parameters") {
                   sources(v, key, true, spec.parameters);
                 } else if (key == "measured") {
                   sources(v, key, false, spec.measured);
                 } else if (key == "observer") {
                   if (v.IsScalar()) {
                     boolean(ck, v, where + ".observer", spec.observer);
                     return;
                   }
                   if (!v.IsMap()) {
                     ck.error(v.Mark(),
                              where + ".observer must be true or {process_noise: {...}, measurement_noise: {...}}");
                     return;
                   }
                   spec.observer = true;
                   for_each_key(ck, v, where + ".observer", {"process_noise", "measurement_noise"},
                                [&](const std::string& nk, const YAML::Node& nv) {
                                  auto& out = nk == "process_noise" ? spec.process_noise : spec.measurement_noise;
                                  if (!nv.IsMap()) {
                                    ck.error(nv.Mark(), where + ".observer." + nk + " must map names to variances");
                                    return;
                                  }
                                  for (const auto& kv : nv) {
                                    double d = 0;
                                    std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
                                    if (number(ck, kv.second, where + ".observer." + nk + "." + name, 0, 1e300, d)) {
                                      out.emplace_back(name, d);
                                    }
                                  }
                                });
                 } else if (key == "outputs" || key == "tunable") {
                   if (!v.IsSequence()) {
                     ck.error(v.Mark(), where + "." + key + " must be a list of names such as [" +
                                            (key == "outputs" ? "efficiency" : "k_pipe") + "]");
                     return;
                   }
                   for (const auto& item : v) {
                     std::string s;
                     if (ck.scalar_string(item, where + "." + key + " entries", s)) {
                       (key == "outputs" ? spec.outputs : spec.tunable).push_back(std::move(s));
                     }
                   }
                 } else {
                   std::int64_t ns = 0;
                   if (!duration(ck, v, where + "." + key, ns)) return;
                   if (ns <= 0) {
                     ck.error(v.Mark(), where + "." + key + " must be longer than zero");
                     return;
                   }
                   (key == "interval"       ? spec.interval_ns
                    : key == "resync_after" ? spec.resync_after_ns
                    : key == "refresh"      ? spec.refresh_ns
                                            : spec.retry_after_ns) = ns;
                 }
               });
  if (!has_model) ck.error(n.Mark(), where + " needs `model:`, the DTDL interface whose twins it runs for");
  if (!has_equations) ck.error(n.Mark(), where + " needs `equations:`, the name of a model in sim/ (sim/NAME.yaml)");
}

void parse_simulation(checker& ck, const YAML::Node& n, simulation_config& sc) {
  if (!n.IsMap()) {
    ck.error(n.Mark(), "simulation must be a mapping such as {live: [...]}");
    return;
  }
  for_each_key(ck, n, "simulation", {"live"}, [&](const std::string&, const YAML::Node& v) {
    if (!v.IsSequence()) {
      ck.error(v.Mark(), "simulation.live must be a list of bindings such as [{model: ..., equations: pump}]");
      return;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      sim::live_spec spec;
      parse_live(ck, v[i], "simulation.live[" + std::to_string(i) + "]", spec);
      sc.live.push_back(std::move(spec));
    }
  });
}

}  // namespace

bool parse_listen(const std::string& text, std::string& host, unsigned short& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  std::string h = text.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned long p = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    p = p * 10 + static_cast<unsigned long>(c - '0');
    if (p > 65535) return false;
  }
  host = h;
  port = static_cast<unsigned short>(p);
  return true;
}

config_result parse_config(std::string_view text, const std::string& file) {
  config_result r;
  checker ck(file, r.errors);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    ck.error(e.mark, "invalid YAML: " + e.msg);
    return r;
  }
  if (!root.IsMap()) {
    YAML::Mark m = root.Mark();
    if (m.is_null()) m = YAML::Mark();  // an empty document has no mark; point at the start
    ck.error(m, "doppel.yaml must be a mapping of keys such as `name: my-project`, not " + checker::shape(root));
    return r;
  }
  static const std::set<std::string, std::less<>> known{"name",   "description", "models",  "twins", "api",
                                                        "ingest", "mqtt",        "history", "store", "simulation"};
  std::set<std::string, std::less<>> seen;
  bool has_name = false;
  try {
    for (const auto& kv : root) {
      const YAML::Node& k = kv.first;
      const YAML::Node& v = kv.second;
      if (!k.IsScalar()) {
        ck.error(k.Mark(), "keys must be plain words such as `name`");
        continue;
      }
      const std::string& key = k.Scalar();
      if (!seen.insert(key).second) {
        ck.error(k.Mark(), "key " + quote(key) + " appears twice; keep one");
        continue;
      }
      if (!known.count(key)) {
        ck.error(k.Mark(), "unknown key " + quote(key) +
                               "; known keys are name, description, models, twins, api, ingest, mqtt, history, "
                               "store, simulation");
        continue;
      }
      if (key == "name") {
        has_name = true;
        if (ck.scalar_string(v, key, r.config.name) && !valid_project_name(r.config.name)) {
          ck.error(v.Mark(), "name " + quote(r.config.name) +
                                 " must be 1-64 letters, digits, '.', '_' or '-', e.g. `name: pump-station`");
        }
      } else if (key == "description") {
        ck.scalar_string(v, key, r.config.description);
      } else if (key == "models") {
        ck.string_list(v, key, r.config.models);
      } else if (key == "twins") {
        ck.string_list(v, key, r.config.twins);
      } else if (key == "api") {
        parse_api(ck, v, r.config.api);
      } else if (key == "ingest") {
        parse_ingest(ck, v, r.config.ingest);
      } else if (key == "mqtt") {
        parse_mqtt(ck, v, r.config.mqtt);
      } else if (key == "history") {
        parse_history(ck, v, r.config.history);
      } else if (key == "store") {
        parse_store(ck, v, r.config.store);
      } else if (key == "simulation") {
        parse_simulation(ck, v, r.config.simulation);
      }
    }
  } catch (const YAML::Exception& e) {
    ck.error(e.mark, "invalid doppel.yaml: " + e.msg);
  }
  if (!has_name) ck.error(root.Mark(), "missing key `name`; add e.g. `name: pump-station`");
  return r;
}

config_result load_config(const std::filesystem::path& project_dir) {
  auto file = project_dir / "doppel.yaml";
  auto text = read_file(file);
  if (!text) {
    config_result r;
    r.errors.push_back({file.string(), 0, 0,
                        "cannot read the project file: " + text.error().message() + " (create one with `doppel init " +
                            project_dir.string() + "`)"});
    return r;
  }
  return parse_config(*text, file.string());
}

std::string format(const config_error& e) {
  std::string out = e.file;
  if (e.line) out += ":" + std::to_string(e.line) + ":" + std::to_string(e.column);
  out += ": error: " + e.message;
  return out;
}

std::string default_config_text(std::string_view name) {
  std::string out;
  out += "# Doppel project file: see docs/project.md\n";
  out += "name: " + std::string(name) + "\n";
  out += "description: \"\"\n";
  out += "# DTDL v3 (or v2) model files, loaded together; references may cross files.\n";
  out += "models: [models]\n";
  out += "# Twin declarations: `doppel serve` adds those it does not hold yet when these files change.\n";
  out += "twins: [twins]\n";
  return out;
}

}  // namespace doppel::app
