// GET /telemetry/export: the telemetry history of many twins, a page at a time, as InfluxDB line
// protocol or CSV (ingest/export_format.h), for backups, moving history between servers
// (`doppel export | doppel import`) and for tools that read those formats.
//
// A page holds at most `limit` points: twins in id order, each twin's series in name order,
// points in time order; twins without history in the range are skipped. When more follows, the
// answer has `Link: </telemetry/export?...&cursor=...>; rel="next"`: the same request resuming
// after the page's last point (the cursor is `TIME.TWIN.NAME`: the series to go on with, its id
// and name in hex, and the time in ns to go on from). `X-Doppel-Points` counts the points on the
// page and, when line protocol could not carry some (comment lines), `X-Doppel-Skipped` those.
//
// Callers: the router's handler, once per request (it checks the token's role first).
// Threading: reads the graph and the history, both safe for concurrent use.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/http.h"
#include "store/timeseries/history.h"
#include "twin/graph.h"

namespace doppel::api {

// One page for the request's query parameters: format=lp|csv (default lp), from, to (RFC 3339 or
// Unix ms; from inclusive, to exclusive), twin (repeatable; none: every twin), limit (1-1,000,000
// points, default 100,000) and cursor (from a Link). 200 with the page; 400 (the API's error
// shape, saying what to fix) for a bad parameter; 404 when a twin asked for does not exist.
response export_history(const twin::twin_graph& graph, const ts::history& history,
                        const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace doppel::api
