#include "core/text.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace doppel {

result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return status::io_error("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return status::io_error("cannot read " + path.string() + ": " + std::strerror(errno));
  return std::move(buf).str();
}

status write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return status::io_error("cannot create " + path.string() + ": " + std::strerror(errno));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return status::io_error("cannot write " + path.string() + ": " + std::strerror(errno));
  return status::ok();
}

status write_private_file(const std::filesystem::path& path, std::string_view bytes) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return status::io_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) return status::io_error("cannot write " + path.string());
  return status::ok();
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string quote(std::string_view text, std::size_t max_len) {
  std::string out = "\"";
  std::size_t points = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80 && ++points > max_len) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::int64_t unix_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t unix_time_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// floor(a / b) and a - b * floor(a / b) for b > 0, without overflow at the ends of int64.
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }
std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a % b < 0 ? a % b + b : a % b; }

void put_digits(std::string& out, std::int64_t v, int width) {
  char buf[20];
  for (int k = width - 1; k >= 0; --k, v /= 10) buf[k] = static_cast<char>('0' + v % 10);
  out.append(buf, static_cast<std::size_t>(width));
}

// "YYYY-MM-DDTHH:MM:SS.mmm" of a Unix millisecond, without gmtime and printf: history pages write
// one per point. The civil date from days since 1970 counts 400-year eras of 146,097 days from
// 0000-03-01, so leap days fall at the end of a year.
void put_date_time_ms(std::string& out, std::int64_t unix_ms) {
  std::int64_t secs = floor_div(unix_ms, 1000), days = floor_div(secs, 86400);
  std::int64_t ms = floor_mod(unix_ms, 1000), sod = floor_mod(secs, 86400);
  std::int64_t z = days + 719468;
  std::int64_t era = floor_div(z, 146097);
  std::int64_t doe = z - era * 146097;                                       // day of era, 0..146096
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // year of era, 0..399
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // from March 1st, 0..365
  std::int64_t mp = (5 * doy + 2) / 153;                                     // month from March, 0..11
  std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year >= 0 && year <= 9999) {
    put_digits(out, year, 4);
  } else {
    out += std::to_string(year);  // outside RFC 3339's years; written as it is
  }
  out += '-';
  put_digits(out, month, 2);
  out += '-';
  put_digits(out, day, 2);
  out += 'T';
  put_digits(out, sod / 3600, 2);
  out += ':';
  put_digits(out, sod / 60 % 60, 2);
  out += ':';
  put_digits(out, sod % 60, 2);
  out += '.';
  put_digits(out, ms, 3);
}

}  // namespace

std::string rfc3339_ms(std::int64_t unix_ms) {
  std::string out;
  out.reserve(24);
  put_date_time_ms(out, unix_ms);
  out += 'Z';
  return out;
}

void append_rfc3339_ns(std::string& out, std::int64_t unix_ns) {
  std::int64_t ms = floor_div(unix_ns, 1000000), sub = floor_mod(unix_ns, 1000000);
  put_date_time_ms(out, ms);
  if (sub != 0) put_digits(out, sub, 6);
  out += 'Z';
}

std::string rfc3339_ns(std::int64_t unix_ns) {
  std::string out;
  out.reserve(32);
  append_rfc3339_ns(out, unix_ns);
  return out;
}

}  // namespace doppel
