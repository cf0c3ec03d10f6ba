#include "app/transfer.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "core/time.h"
#include "ingest/export_format.h"
#include "ingest/line_protocol.h"

namespace doppel::app {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_block_bytes = 1 << 20;    // read from files at a time
constexpr std::size_t k_request_bytes = 1 << 20;  // a request's body stays about under this
constexpr int k_busy_retries = 120;               // 503s (the server's queues are full) in a row

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(a[k])) != std::tolower(static_cast<unsigned char>(b[k]))) return false;
  }
  return true;
}

std::string header_of(const api::response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

std::uint64_t number_of(std::string_view text) {
  std::uint64_t n = 0;
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

// The target of `Link: <target>; rel="next"`, or "".
std::string next_target(const std::string& link) {
  auto open = link.find('<');
  auto close = link.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return {};
  if (link.find("rel=\"next\"", close) == std::string::npos) return {};
  return link.substr(open + 1, close - open - 1);
}

}  // namespace

int run_export(const remote_options& o, const export_options& e, std::ostream& out, std::ostream& err) {
  remote_connection c;
  if (int code = open_remote(o, c, err)) return code;
  std::string target = "/telemetry/export?format=" + e.format;
  if (!e.from.empty()) target += "&from=" + api::percent_encode(e.from);
  if (!e.to.empty()) target += "&to=" + api::percent_encode(e.to);
  for (const auto& t : e.twins) target += "&twin=" + api::percent_encode(t);
  if (e.page_size) target += "&limit=" + std::to_string(e.page_size);

  bool to_file = !e.output.empty() && e.output != "-";
  fs::path part = e.output + ".part";
  std::ofstream file;
  if (to_file) {
    file.open(part, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "doppel export: cannot write " << part.string() << ": " << std::strerror(errno) << "\n";
      return 1;
    }
  }
  std::ostream& sink = to_file ? file : out;
  auto fail = [&](int code) {
    if (to_file) {
      file.close();
      std::error_code ec;
      fs::remove(part, ec);
    }
    return code;
  };
  std::uint64_t points = 0, skipped = 0, pages = 0;
  for (;;) {
    auto res = c.client->send(api::request{"GET", target, {{"Authorization", "Bearer " + c.token}}, ""});
    if (!res) {
      err << "doppel: " << c.url << " did not answer: " << res.error().message() << "\n";
      return fail(3);
    }
    if (res->status != 200) {
      print_api_error(*res, err);
      return fail(1);
    }
    std::string_view body = res->body;
    if (e.format == "csv" && pages > 0) {  // one header, at the top
      auto nl = body.find('\n');
      body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    }
    sink.write(body.data(), static_cast<std::streamsize>(body.size()));
    if (!sink) {
      err << "doppel export: cannot write " << (to_file ? part.string() : "the output") << "\n";
      return fail(1);
    }
    points += number_of(header_of(*res, "X-Doppel-Points"));
    skipped += number_of(header_of(*res, "X-Doppel-Skipped"));
    ++pages;
    target = next_target(header_of(*res, "Link"));
    if (target.empty()) break;
  }
  sink.flush();
  if (to_file) {
    file.close();
    std::error_code ec;
    if (!file || (fs::rename(part, e.output, ec), ec)) {
      err << "doppel export: cannot write " << e.output << ": " << (ec ? ec.message() : std::strerror(errno)) << "\n";
      return fail(1);
    }
  }
  err << "doppel export: " << points << " point(s) in " << pages << " request(s)"
      << (to_file ? " written to " + e.output : std::string()) << "\n";
  if (skipped) {
    err << "doppel export: " << skipped
        << " point(s) that line protocol cannot carry (a newline in a twin id or string, a twin id ending with a "
           "backslash) are comment lines; export with --format csv to keep them\n";
  }
  return 0;
}

namespace {

// The counts of an import and the requests that carry it.
class importer {
 public:
  importer(remote_connection& c, std::ostream& err) : c_(c), err_(err) {}

  std::uint64_t sent = 0, accepted = 0, refused = 0, unreadable = 0;
  std::vector<std::string> first_errors;  // the first few, for the summary
  int fatal = 0;                          // set: stop, exit with this

  void note(std::string message) {
    if (first_errors.size() < 10) first_errors.push_back(std::move(message));
  }

  // Posts one body of `readings` readings and counts them as the server answers; false (fatal
  // set, nothing counted) when importing must stop.
  bool post(const std::string& target, const std::string& content_type, const std::string& body, std::uint64_t readings,
            const std::string& where) {
    for (int attempt = 0;; ++attempt) {
      api::request req{"POST", target, {{"Authorization", "Bearer " + c_.token}, {"Content-Type", content_type}}, body};
      auto res = c_.client->send(req);
      if (!res) {
        err_ << "doppel: " << c_.url << " did not answer: " << res.error().message() << "\n";
        fatal = 3;
        return false;
      }
      if (res->status == 204 || res->status == 200) {
        sent += readings;
        accepted += readings;
        return true;
      }
      if (res->status == 503 && attempt < k_busy_retries) {  // nothing was taken: send it again
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      bool shaped = !j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object();
      // Refused readings: 400 (422 from servers before issue 13), or 404 when all of them were
      // for twins that do not exist; the others of the body were taken.
      bool refused_only = res->status == 400 || res->status == 422 ||
                          (res->status == 404 && shaped && j["error"].value("code", "") == "DigitalTwinNotFound");
      if (!shaped || !refused_only) {
        print_api_error(*res, err_);
        fatal = 1;
        return false;
      }
      // "A reading(s) applied, R refused: ..." (api/router.cpp); the others were taken.
      std::string message = j["error"].value("message", "");
      std::uint64_t applied = 0, refusals = 0;
      bool counted = std::from_chars(message.data(), message.data() + message.size(), applied).ec == std::errc();
      auto comma = message.find(", ");
      counted =
          counted && comma != std::string::npos &&
          std::from_chars(message.data() + comma + 2, message.data() + message.size(), refusals).ec == std::errc();
      if (!counted || applied + refusals != readings) applied = 0, refusals = readings;
      sent += readings;
      accepted += applied;
      refused += refusals;
      if (j["error"].contains("details") && j["error"]["details"].is_array() && !j["error"]["details"].empty()) {
        for (const auto& d : j["error"]["details"]) {
          if (!d.is_object()) continue;
          note(where + ": " + d.value("reason", "refused") + ": " + d.value("message", ""));
        }
      } else {
        note(where + ": " + message);
      }
      return true;
    }
  }

 private:
  remote_connection& c_;
  std::ostream& err_;
};

// Line protocol: lines are sent as they are, in batches; lines that do not parse are reported
// with their line number and not sent.
class lp_sender {
 public:
  lp_sender(importer& imp, std::string name, std::size_t batch, std::string precision = "ns")
      : imp_(imp), name_(std::move(name)), batch_(batch), precision_(std::move(precision)) {
    ingest::parse_precision(precision_, unit_);
  }

  bool line(std::string_view text, std::uint32_t line_no) {
    std::size_t first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || text[first] == '#') return true;
    text_.append(text);
    text_ += '\n';
    lines_.push_back(line_no);
    if (lines_.size() >= batch_ || text_.size() >= k_request_bytes) return flush();
    return true;
  }

  bool flush() {
    if (lines_.empty()) return true;
    std::string copy = text_;  // the parser rewrites its input
    ingest::lp_batch parsed;
    ingest::parse_line_protocol(copy, unit_, parsed);
    std::uint64_t readings = 0;
    for (const auto& p : parsed.points) readings += p.field_count;
    std::string body;
    if (!parsed.errors.empty()) {
      std::vector<bool> bad(lines_.size() + 1, false);
      for (const auto& e : parsed.errors) {
        bad[e.line] = true;
        ++imp_.unreadable;
        imp_.note(name_ + ":" + std::to_string(lines_[e.line - 1]) + ":" + std::to_string(e.column) + ": " + e.message);
      }
      std::size_t pos = 0;
      for (std::size_t k = 1; pos < text_.size(); ++k) {
        std::size_t nl = text_.find('\n', pos);
        if (!bad[k]) body.append(text_, pos, nl + 1 - pos);
        pos = nl + 1;
      }
    } else {
      body = std::move(text_);
    }
    text_.clear();
    lines_.clear();
    if (readings == 0) return true;
    return imp_.post("/write?precision=" + precision_, "text/plain; charset=utf-8", body, readings, name_);
  }

 private:
  importer& imp_;
  std::string name_;
  std::size_t batch_;
  std::string precision_;
  ingest::precision unit_ = ingest::precision::ns;
  std::string text_;
  std::vector<std::uint32_t> lines_;  // the file's line number of each line of text_
};

nlohmann::json json_value(const ingest::history_value& v) {
  switch (v.type) {
    case ts::value_type::f64: return v.f;
    case ts::value_type::i64: return v.i;
    case ts::value_type::boolean: return v.i != 0;
    case ts::value_type::string: return v.s;
  }
  return nullptr;
}

// Reads `in` in blocks; `piece(text, last)` consumes a prefix and returns its length.
template <class Piece>
bool read_blocks(std::istream& in, Piece&& piece) {
  std::string buf;
  std::vector<char> block(k_block_bytes);
  for (;;) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    std::size_t got = static_cast<std::size_t>(in.gcount());
    buf.append(block.data(), got);
    bool last = got < block.size();
    std::size_t used = 0;
    if (!piece(std::string_view(buf), last, used)) return false;
    buf.erase(0, used);
    if (last) return true;
  }
}

bool import_lp(importer& imp, std::istream& in, const std::string& name, std::size_t batch,
               const std::string& precision) {
  lp_sender lp(imp, name, batch, precision);
  std::uint32_t line_no = 0;
  bool ok = read_blocks(in, [&](std::string_view text, bool last, std::size_t& used) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos && !last) break;
      std::size_t end = nl == std::string_view::npos ? text.size() : nl;
      if (!lp.line(text.substr(pos, end - pos), ++line_no)) return false;
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    used = pos;
    return true;
  });
  return ok && lp.flush();
}

bool import_csv(importer& imp, std::istream& in, const std::string& name, std::size_t batch) {
  lp_sender lp(imp, name, batch);
  ingest::csv_reader reader;
  std::vector<ingest::csv_point> points;
  std::vector<ingest::csv_error> errors;
  std::string line;
  nlohmann::json other = nlohmann::json::array();  // points line protocol cannot carry go as JSON
  std::size_t other_bytes = 0;
  auto flush_other = [&] {
    if (other.empty()) return true;
    std::uint64_t n = other.size();
    std::string body = other.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    other = nlohmann::json::array();
    other_bytes = 0;
    return imp.post("/telemetry", "application/json", body, n, name);
  };
  bool ok = read_blocks(in, [&](std::string_view text, bool last, std::size_t& used) {
    points.clear();
    errors.clear();
    used = reader.read(text, last, points, errors);
    for (const auto& e : errors) {
      ++imp.unreadable;
      imp.note(name + ":" + std::to_string(e.line) + ": " + e.message);
    }
    for (const auto& p : points) {
      line.clear();
      if (ingest::line_protocol_line(line, p.twin, p.name, p.time_ns, p.value)) {
        line.pop_back();  // the '\n'
        if (!lp.line(line, p.line)) return false;
        continue;
      }
      other.push_back({{"$dtId", p.twin}, {p.name, json_value(p.value)}, {"$ts", rfc3339_ns(p.time_ns)}});
      other_bytes += p.twin.size() + p.name.size() + p.value.s.size() + 64;
      if ((other.size() >= batch || other_bytes >= k_request_bytes) && !flush_other()) return false;
    }
    return true;
  });
  return ok && lp.flush() && flush_other();
}

// The format of a file: --format, else its extension.
std::string format_of(const std::string& file, const std::string& given) {
  if (!given.empty()) return given;
  std::string ext = fs::path(file).extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext == ".lp" || ext == ".txt") return "lp";
  if (ext == ".csv") return "csv";
  return {};
}

}  // namespace

int run_import(const remote_options& o, const import_options& i, std::istream& in, std::ostream& out,
               std::ostream& err) {
  // Everything is checked before anything is sent.
  std::vector<std::string> formats;
  for (const auto& f : i.files) {
    std::string format = format_of(f, i.format);
    if (format.empty()) {
      err << "doppel import: cannot tell the format of " << (f == "-" ? "standard input" : f)
          << " (the extension is not .lp, .txt or .csv); give --format lp or --format csv\n";
      return 2;
    }
    if (f != "-" && !fs::is_regular_file(f)) {
      err << "doppel import: " << f << ": no such file\n";
      return 1;
    }
    formats.push_back(format);
  }
  remote_connection c;
  if (int code = open_remote(o, c, err)) return code;
  importer imp(c, err);
  for (std::size_t k = 0; k < i.files.size() && !imp.fatal; ++k) {
    const std::string& f = i.files[k];
    std::ifstream file;
    if (f != "-") {
      file.open(f, std::ios::binary);
      if (!file) {
        err << "doppel import: cannot read " << f << ": " << std::strerror(errno) << "\n";
        return 1;
      }
    }
    std::istream& src = f == "-" ? in : file;
    std::string name = f == "-" ? "<stdin>" : f;
    if (formats[k] == "csv") {
      import_csv(imp, src, name, i.batch_lines);
    } else {
      import_lp(imp, src, name, i.batch_lines, i.precision);
    }
    if (!imp.fatal && src.bad()) {
      err << "doppel import: cannot read " << name << "\n";
      imp.fatal = 1;
    }
  }
  out << "doppel import: " << imp.sent << " point(s) sent, " << imp.accepted << " accepted, " << imp.refused
      << " refused";
  if (imp.unreadable) out << "; " << imp.unreadable << " line(s) could not be read";
  out << "\n";
  for (const auto& e : imp.first_errors) err << "  " << e << "\n";
  if (imp.first_errors.size() == 10) err << "  ... (GET /deadletters keeps what the server refused)\n";
  if (imp.fatal) return imp.fatal;
  return imp.refused || imp.unreadable ? 1 : 0;
}

}  // namespace doppel::app
