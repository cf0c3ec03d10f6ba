#include "api/routes.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>
#include <vector>

#include "api/routes/common.h"
#include "core/json_input.h"
#include "core/status.h"
#include "core/text.h"
#include "core/time.h"
#include "ingest/line_protocol.h"
#include "ingest/readings.h"
#include "twin/errors.h"
#include "twin/telemetry_state.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::error;
using detail::from_status;
using detail::json_response;

// Telemetry in (POST /telemetry, /telemetry/{id}, InfluxDB's /write, ADT's publish telemetry),
// the latest values, and the refused messages (GET /deadletters).
class telemetry_routes {
 public:
  telemetry_routes(ingest::telemetry_pipeline& pipeline, ingest::dead_letters& letters, const twin::twin_graph& graph)
      : pipeline_(&pipeline), letters_(&letters), graph_(&graph) {}
  void post_telemetry(route_context& c);
  void post_twin_telemetry(route_context& c);
  void post_component_telemetry(route_context& c);
  void post_telemetry_batch(route_context& c);
  void post_write(route_context& c);
  void get_deadletters(route_context& c);
  void get_telemetry(route_context& c);

 private:
  // Hands parsed readings to the pipeline and answers for them and for `refused` (parse errors).
  void ingest(route_context& c, const std::string& source, std::vector<ingest::reading> readings,
              std::vector<ingest::rejection> refused, bool malformed);
  // ADT's publish telemetry, of the twin itself (`component` empty) or of one of its components.
  void publish(route_context& c, const std::string& component);

  ingest::telemetry_pipeline* pipeline_;
  ingest::dead_letters* letters_;
  const twin::twin_graph* graph_;
};

void telemetry_routes::ingest(route_context& c, const std::string& source, std::vector<ingest::reading> readings,
                              std::vector<ingest::rejection> refused, bool malformed) {
  auto answer = [send = c.done, malformed](std::size_t accepted, const std::vector<ingest::rejection>& all) {
    if (all.empty()) {
      response res;
      res.status = 204;
      res.content_type.clear();
      return send(std::move(res));
    }
    // A batch of 100,000 bad lines must not make a 100,000-entry answer: the first 100 are in
    // details, all of them in the dead-letter store.
    json details = json::array();
    for (std::size_t k = 0; k < all.size() && k < 100; ++k) {
      details.push_back({{"reason", all[k].reason}, {"message", all[k].message}});
    }
    std::string message = std::to_string(accepted) + " reading(s) applied, " + std::to_string(all.size()) +
                          " refused: " + all.front().message +
                          (all.size() > 1 ? " (the first 100 are in details)" : "") + "; GET /deadletters keeps them";
    // A malformed line or payload is a 400 bad_request (a partial write, as InfluxDB); readings
    // the model refuses a 400 ValidationFailed, and readings only of twins that do not exist a
    // 404 DigitalTwinNotFound, as ADT answers telemetry.
    bool no_twin = accepted == 0 && std::all_of(all.begin(), all.end(),
                                                [](const ingest::rejection& j) { return j.reason == "unknown_twin"; });
    std::string_view code = no_twin     ? twin::errors::digital_twin_not_found
                            : malformed ? "bad_request"
                                        : twin::errors::validation_failed;
    send(error(no_twin ? 404 : 400, code, message, details.dump(-1, ' ', false, json::error_handler_t::replace)));
  };
  if (readings.empty()) {
    (void)letters_->add(source, "", refused);  // the client is told of each refusal anyway
    return answer(0, refused);
  }
  if (readings.size() > pipeline_->max_readings()) {
    // Larger than an empty shard queue: a 503 would be retried forever.
    return c.send(error(413, "payload_too_large",
                        "the request holds " + std::to_string(readings.size()) + " readings; at most " +
                            std::to_string(pipeline_->max_readings()) +
                            " fit in one request (ingest.queue_readings): send smaller batches (Telegraf: "
                            "metric_batch_size, e.g. 5000)"));
  }
  // The parse refusals become dead letters only once the request is taken: a 503 is sent again
  // by the client, and its bad lines must not count twice.
  pipeline_->submit(source, std::move(readings),
                    [answer, source, letters = letters_, refused = std::move(refused),
                     send = c.done](result<ingest::ingest_result> r) mutable {
                      if (!r) {
                        response res = from_status(r.error());
                        if (r.error().code() == status_code::unavailable) res.headers.push_back({"Retry-After", "1"});
                        return send(std::move(res));
                      }
                      (void)letters->add(source, "", refused);  // the client is told of each anyway
                      refused.insert(refused.end(), r->rejected.begin(), r->rejected.end());
                      answer(r->accepted, refused);
                    });
}

void telemetry_routes::post_telemetry(route_context& c) {
  std::vector<ingest::reading> readings;
  std::vector<ingest::rejection> refused;
  ingest::parse_json_readings(c.req.body, c.params[0], unix_time_ns(), readings, refused);
  bool malformed = !refused.empty();  // before the move below
  ingest(c, "http", std::move(readings), std::move(refused), malformed);
}

void telemetry_routes::post_twin_telemetry(route_context& c) { publish(c, ""); }

void telemetry_routes::post_component_telemetry(route_context& c) { publish(c, c.params[1]); }

void telemetry_routes::publish(route_context& c, const std::string& component) {
  const std::string& id = c.params[0];
  // ADT requires Message-Id for de-duplication. Doppel's pipeline has no de-duplication (a
  // message sent twice is applied twice), so it is required as ADT requires it, and then unused.
  if (c.req.header("message-id").empty()) {
    return c.send(error(400, "bad_request",
                        "the Message-Id header is missing; send a unique id per message, e.g. Message-Id: "
                        "$(uuidgen), as Azure Digital Twins requires"));
  }
  // The readings' time: Telemetry-Source-Time when given (a "$ts" in the body still wins), else
  // the time of arrival.
  std::int64_t at = unix_time_ns();
  std::string_view source_time = c.req.header("telemetry-source-time");
  if (!source_time.empty() && !parse_rfc3339_ns(source_time, at)) {
    return c.send(error(400, "bad_request",
                        "Telemetry-Source-Time " + quote(source_time) +
                            " is not an RFC 3339 date-time between 1677 and 2262; write e.g. 2026-11-25T10:00:00.5Z"));
  }
  // An unknown twin or component is a 404 before anything is parsed, as in ADT. (A twin deleted
  // meanwhile is refused by the pipeline, as on POST /telemetry/{id}.)
  status found = detail::find_component(*graph_, id, component);
  if (!found.is_ok()) return c.send(from_status(found));
  // The SDKs' documented call passes the payload as JSON text in a string
  // (publishTelemetry(id, '{"temperature": 5}', messageId)) and serialize that string once more:
  // the body is a JSON string holding the object. ADT takes it, so one such level is unwrapped.
  std::string inner;
  std::string_view payload = c.req.body;
  if (auto p = payload.find_first_not_of(" \t\r\n"); p != std::string_view::npos && payload[p] == '"') {
    if (auto s = parse_json(payload); s && s->is_string()) {
      inner = s->get<std::string>();
      payload = inner;
    }
  }
  // @azure/digital-twins-core 1.1.0's publishComponentTelemetry(id, component, payload, messageId)
  // sends its last two arguments swapped: the message id as the body, the payload as Message-Id.
  if (!component.empty() && c.req.header("message-id").starts_with("{") && !inner.empty() && !inner.starts_with("{")) {
    return c.send(error(400, "bad_request",
                        "the body is the string " + quote(inner) +
                            " and the Message-Id header holds the JSON: @azure/digital-twins-core 1.1.0's "
                            "publishComponentTelemetry swaps its last two arguments; call it as "
                            "(id, component, messageId, payload)"));
  }
  std::vector<ingest::reading> readings;
  std::vector<ingest::rejection> refused;
  ingest::parse_json_readings(payload, id, at, readings, refused);
  // A component's contents are named "component.name" in the pipeline (ingest/pipeline.h).
  if (!component.empty()) {
    for (auto& r : readings) r.name = component + "." + r.name;
  }
  bool malformed = !refused.empty();  // before the move below
  ingest(c, "http", std::move(readings), std::move(refused), malformed);
}

void telemetry_routes::post_telemetry_batch(route_context& c) {
  std::vector<ingest::reading> readings;
  std::vector<ingest::rejection> refused;
  ingest::parse_json_readings(c.req.body, "", unix_time_ns(), readings, refused);
  bool malformed = !refused.empty();  // before the move below
  ingest(c, "http", std::move(readings), std::move(refused), malformed);
}

void telemetry_routes::post_write(route_context& c) {
  ingest::precision unit = ingest::precision::ns;
  if (!ingest::parse_precision(c.query_param("precision"), unit)) {
    return c.send(error(400, "bad_request", "precision must be ns, us, ms, s, m or h"));
  }
  ingest::lp_batch batch;
  ingest::parse_line_protocol(c.req.body, unit, batch);
  std::vector<ingest::reading> readings;
  std::vector<ingest::rejection> refused;
  bool malformed = !batch.errors.empty();
  ingest::readings_from_line_protocol(batch, unix_time_ns(), readings, refused);
  ingest(c, "line-protocol", std::move(readings), std::move(refused), malformed);
}

void telemetry_routes::get_deadletters(route_context& c) {
  auto number = [&](std::string_view name, std::uint64_t fallback, std::uint64_t& out) {
    std::string v = c.query_param(name);
    if (v.empty()) return out = fallback, true;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && ptr == v.data() + v.size();
  };
  std::uint64_t after = 0, limit = 100;
  if (!number("after", 0, after) || !number("limit", 100, limit) || limit == 0 || limit > 1000) {
    return c.send(error(400, "bad_request", "after must be a sequence number and limit 1-1000"));
  }
  c.send(json_response(200, letters_->list(after, limit, c.query_param("reason"))));
}

void telemetry_routes::get_telemetry(route_context& c) {
  auto r = graph_->latest_telemetry(c.params[0]);
  if (!r) return c.send(from_status(r.error()));
  c.send(json_response(200, *r));
}

}  // namespace

void add_telemetry_routes(router& r, ingest::telemetry_pipeline& pipeline, ingest::dead_letters& letters,
                          const twin::twin_graph& graph) {
  auto h = std::make_shared<telemetry_routes>(pipeline, letters, graph);
  r.add("GET", "/digitaltwins/{id}/telemetry", role::viewer, false,
        "The latest value and time of each telemetry the twin sent", bind_route(h, &telemetry_routes::get_telemetry));
  r.add("POST", "/telemetry/{id}", role::operator_, false,
        "Telemetry and reported properties of one twin: {\"name\": value, ..., \"$ts\": time}",
        bind_route(h, &telemetry_routes::post_telemetry));
  r.add("POST", "/telemetry", role::operator_, false,
        "Telemetry of many twins: [{\"$dtId\": id, \"name\": value, ..., \"$ts\": time}, ...]",
        bind_route(h, &telemetry_routes::post_telemetry_batch));
  r.add("POST", "/write", role::operator_, false,
        "InfluxDB line protocol (1.x /write): measurement,twin=ID field=value,... [time] (?precision=ns|us|ms|s)",
        bind_route(h, &telemetry_routes::post_write));
  r.add("GET", "/deadletters", role::operator_, false,
        "Refused messages with reason and raw payload (?after=seq, ?limit=n, ?reason=...)",
        bind_route(h, &telemetry_routes::get_deadletters));
  // Azure Digital Twins' publish telemetry (the SDKs' publishTelemetry, publishComponentTelemetry).
  r.add("POST", "/digitaltwins/{id}/telemetry", role::operator_, false,
        "Telemetry of a twin as ADT publishes it: {\"name\": value, ...} (Message-Id; Telemetry-Source-Time)",
        bind_route(h, &telemetry_routes::post_twin_telemetry));
  r.add("POST", "/digitaltwins/{id}/components/{component}/telemetry", role::operator_, false,
        "Telemetry of a twin's component as ADT publishes it: {\"name\": value, ...} (Message-Id; "
        "Telemetry-Source-Time)",
        bind_route(h, &telemetry_routes::post_component_telemetry));
}

}  // namespace doppel::api
