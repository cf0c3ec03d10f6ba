// DTDL front end throughput: parse + validate + resolve a generated 5,000-interface ontology,
// against the floor of only parsing the same bytes as JSON with simdjson, in the same run.
// Prints a table; absolute times on a shared machine are noise, the ratio is the figure.
#include <malloc.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "model/registry.h"
#include "ontology.h"

namespace {

using clock_type = std::chrono::steady_clock;

// Resident and peak memory of this process, in KiB, from /proc/self/status.
long proc_status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  std::size_t n = std::char_traits<char>::length(key);
  while (std::getline(in, line)) {
    if (line.compare(0, n, key) == 0) return std::stol(line.substr(n + 1));
  }
  return -1;
}

// Resets the peak-RSS counter so VmHWM measures only what follows (Linux >= 4.0).
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::stoul(argv[1]) : 5000;
  int runs = argc > 2 ? std::stoi(argv[2]) : 5;
  auto files = doppel::bench::generate_ontology({n, 50});
  std::size_t bytes = 0;
  for (const auto& f : files) bytes += f.text.size();

  // Anchor: simdjson DOM parse of every file (validates and builds its tape).
  std::vector<simdjson::padded_string> padded;
  for (const auto& f : files) padded.emplace_back(f.text);
  simdjson::dom::parser parser;
  std::vector<double> anchor;
  for (int r = 0; r < runs; ++r) {
    auto t0 = clock_type::now();
    std::size_t elements = 0;
    for (const auto& p : padded) {
      simdjson::dom::element doc;
      if (parser.parse(p).get(doc) != simdjson::SUCCESS) {
        std::fprintf(stderr, "simdjson rejected a generated file\n");
        return 1;
      }
      elements += doc.is_array() ? 1 : 0;
    }
    anchor.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
    if (elements != padded.size()) return 1;
  }

  // Doppel: parse, validate every rule, resolve references, flatten inheritance. Memory is
  // read on the first run, before the allocator holds on to freed pages from earlier runs.
  std::vector<double> ours;
  long rss_before = 0, peak = 0;
  std::size_t heap_before = 0, heap_after = 0;
  for (int r = 0; r < runs; ++r) {
    auto copy = files;
    if (r == 0) {
      rss_before = proc_status_kib("VmRSS:");
      heap_before = mallinfo2().uordblks;
      reset_peak();
    }
    auto t0 = clock_type::now();
    doppel::model::model_registry registry;
    auto report = registry.load(std::move(copy));
    double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (r == 0) {
      peak = proc_status_kib("VmHWM:");
      heap_after = mallinfo2().uordblks;
    }
    if (!report.ok() || registry.size() != n) {
      std::fprintf(stderr, "the generated ontology did not load: %zu errors, first: %s\n", report.errors.size(),
                   report.errors.empty() ? "" : doppel::model::format(report.errors[0]).c_str());
      return 1;
    }
    ours.push_back(s);
  }

  double a = median(anchor), o = median(ours);
  double mb = static_cast<double>(bytes) / 1e6;
  std::printf("\nDTDL front end: %zu interfaces in %zu files, %.1f MB, median of %d runs\n", n, files.size(), mb, runs);
  std::printf("| %-48s | %12s | %12s | %10s |\n", "measure", "doppel", "simdjson", "ratio");
  std::printf("|%s|%s|%s|%s|\n", std::string(50, '-').c_str(), std::string(14, '-').c_str(),
              std::string(14, '-').c_str(), std::string(12, '-').c_str());
  std::printf("| %-48s | %12.3f | %12.3f | %9.1fx |\n", "time (s): parse+validate+resolve vs JSON parse", o, a, o / a);
  std::printf("| %-48s | %12.0f | %12.0f | %10.3f |\n", "interfaces/s", n / o, n / a, (n / o) / (n / a));
  std::printf("| %-48s | %12.1f | %12.1f | %10.3f |\n", "MB/s", mb / o, mb / a, (mb / o) / (mb / a));
  std::printf("| %-48s | %12.1f | %12s | %10s |\n", "peak RSS during load (MiB, from process base)",
              (peak - rss_before) / 1024.0, "-", "-");
  std::printf("| %-48s | %12.1f | %12s | %10s |\n", "heap held by the loaded registry (MiB)",
              static_cast<double>(heap_after - heap_before) / (1024.0 * 1024.0), "-", "-");
  std::printf("| %-48s | %12.0f | %12s | %10s |\n", "registry bytes per interface",
              static_cast<double>(heap_after - heap_before) / static_cast<double>(n), "-", "-");
  std::printf(
      "ratio = doppel / simdjson for time (lower is better) and doppel's share of the JSON-parse floor for "
      "rates.\n");
  return 0;
}
