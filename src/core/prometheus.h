// One writer of the Prometheus text exposition format (version 0.0.4), for every /metrics
// source: families with # HELP and # TYPE, samples with labels, integers and doubles. It escapes
// what the format says must be escaped (in HELP text: backslash and newline; in label values:
// backslash, double quote and newline), so a route pattern or a reason taken from input cannot
// break the page. Callers: the metrics sources of src/api, src/ingest and src/app.
// Not thread-safe: one writer per rendering, appending to a string the caller owns.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace doppel::prometheus {

enum class metric_type { counter, gauge, histogram, summary, untyped };

// One label of a sample. Views: valid during the call that takes it.
struct label {
  std::string_view name, value;
};

class writer {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit writer(std::string& out) : out_(out) {}

  // "# HELP name help" and "# TYPE name type" lines opening a family; the samples that follow
  // (of `name`, or for a histogram of name_bucket, name_sum and name_count) belong to it.
  // `name` must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
  writer& family(std::string_view name, std::string_view help, metric_type type);

  // "name{l1="v1",...} value": integers in decimal, booleans as 0 and 1, doubles with six
  // decimals ("0.000025"), +Inf, -Inf or NaN. Label names must be valid ([a-zA-Z_][a-zA-Z0-9_]*);
  // label values are escaped.
  template <class T>
  requires std::is_arithmetic_v<T> writer& sample(std::string_view name, std::initializer_list<label> labels, T value) {
    open_sample(name, labels);
    if constexpr (std::is_floating_point_v<T>) {
      put_double(static_cast<double>(value));
    } else if constexpr (std::is_signed_v<T>) {
      put_int(static_cast<std::int64_t>(value));
    } else {
      put_uint(static_cast<std::uint64_t>(value));
    }
    out_ += '\n';
    return *this;
  }
  template <class T>
  requires std::is_arithmetic_v<T> writer& sample(std::string_view name, T value) { return sample(name, {}, value); }

  // A family of one sample without labels: the common case of a counter or a gauge.
  template <class T>
  requires std::is_arithmetic_v<T> writer& counter(std::string_view name, std::string_view help, T value) {
    return family(name, help, metric_type::counter).sample(name, value);
  }
  template <class T>
  requires std::is_arithmetic_v<T> writer& gauge(std::string_view name, std::string_view help, T value) {
    return family(name, help, metric_type::gauge).sample(name, value);
  }

 private:
  void open_sample(std::string_view name, std::initializer_list<label> labels);
  void put_int(std::int64_t v);
  void put_uint(std::uint64_t v);
  void put_double(double v);

  std::string& out_;
};

// A double as sample values and "le" bounds are written ("0.005000", "+Inf").
std::string format_double(double v);

// Whether `name` may name a metric, and a label.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace doppel::prometheus
