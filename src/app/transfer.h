// `doppel export` and `doppel import`: telemetry history out of a running server (GET
// /telemetry/export, following its pages) and into one (POST /write in batches of line protocol;
// CSV rows are turned into line protocol here, ingest/export_format.h). Together they move
// history between servers: `doppel export --format csv -o h.csv`, then `doppel import h.csv`
// against the other server.
//
// Callers: the CLI (cli.cpp), on its thread. Exit codes as remote.h: 0 success, 1 the server
// refused something (or an input has errors), 2 bad usage, 3 the server could not be reached.
#pragma once

#include <cstddef>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "app/remote.h"

namespace doppel::app {

struct export_options {
  std::string format = "lp";  // lp | csv
  std::string from, to;       // RFC 3339 or Unix ms; empty: unbounded
  std::vector<std::string> twins;
  std::string output;         // a file (written whole, then renamed into place); empty or "-": `out`
  std::size_t page_size = 0;  // points per request; 0: the server's default
};

// Writes every page to the output and a summary ("N point(s) exported") to `err`.
int run_export(const remote_options& o, const export_options& e, std::ostream& out, std::ostream& err);

struct import_options {
  std::vector<std::string> files;  // "-": `in`
  std::string format;              // lp | csv; empty: from each file's extension (.lp, .txt, .csv)
  std::size_t batch_lines = 5000;  // points per request (a request also stays under 1 MB)
  std::string precision = "ns";    // of line-protocol times: ns, us, ms, s, m, h
};

// Sends every file's points and prints a summary on `out` (sent, accepted, refused) and the
// first refusals on `err`; 1 when anything was refused.
int run_import(const remote_options& o, const import_options& i, std::istream& in, std::ostream& out,
               std::ostream& err);

}  // namespace doppel::app
