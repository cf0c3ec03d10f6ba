// Time as Doppel reads and writes it: Unix time in integer nanoseconds (or milliseconds where a
// format says so), RFC 3339 text in and out. The one parser and the one formatter family every
// layer uses (history pages, exports, $metadata, refusals, time bounds of queries), so the text
// users see has one shape. Pure functions, safe for concurrent use; the clock is core/clock.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace doppel {

// The time type: an instant is Unix nanoseconds in an int64 (1677-09-21 to 2262-04-11), a span
// of time nanoseconds; the names say which an int64 in a signature is. (Simulation time will be
// a type of its own, on a clock without now().)
using instant_ns = std::int64_t;
using duration_ns = std::int64_t;

inline constexpr std::int64_t k_ns_per_ms = 1000000;
inline constexpr std::int64_t k_ns_per_s = 1000000000;

// --- Formatting: RFC 3339 UTC, fixed width for years 0-9999, so text order is time order. Years
// outside that (only from milliseconds) are written as they are, without overflow.

// Unix milliseconds with milliseconds ("2026-11-25T10:00:00.000Z"), the form ADT writes
// lastUpdateTime in.
std::string rfc3339_ms(std::int64_t unix_ms);

// Unix nanoseconds cut down (toward the past) to the millisecond: rfc3339_ms(floor(ns / 1e6)).
std::string rfc3339_floor_ms(std::int64_t unix_ns);

// Unix nanoseconds: milliseconds when the time is a whole millisecond ("...T10:00:00.000Z"),
// else nanoseconds ("...T10:00:00.000000123Z").
std::string rfc3339_ns(std::int64_t unix_ns);
// rfc3339_ns(unix_ns) appended to `out` (no allocation when `out` has room: one per point).
void append_rfc3339_ns(std::string& out, std::int64_t unix_ns);

// --- Checking and parsing RFC 3339 (and the DTDL date, dateTime and time schemas, which are its
// full-date, date-time and full-time): digits and separators where they belong, a real calendar
// day (29 February only in leap years), hours 0-23, minutes 0-59, seconds 0-60 (a leap second),
// any number of fractional digits, a zone (Z, z or +hh:mm/-hh:mm) required; 'T' or 't'.

// "2026-11-25".
bool is_rfc3339_date(std::string_view text);
// "2026-11-25T10:00:00.5Z", "2026-11-25T10:00:00+01:00".
bool is_rfc3339_date_time(std::string_view text);
// "10:00:00Z", "10:00:00.25-05:00".
bool is_rfc3339_time(std::string_view text);

// An RFC 3339 date-time as Unix nanoseconds: true and `ns` set when `text` is one and lies within
// what nanoseconds hold (1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z);
// false (and `ns` unspecified) otherwise. Fractional digits past the ninth are dropped; a leap
// second (:60) reads as :59.
bool parse_rfc3339_ns(std::string_view text, std::int64_t& ns);

// A time bound of the history routes: RFC 3339 (as above) or Unix milliseconds (an optional '-'
// and digits); `fallback` when `text` is empty. False when it is neither or out of range.
bool parse_time_bound(std::string_view text, std::int64_t fallback, std::int64_t& ns);

// Empty when from <= to. Otherwise the refusal of a range whose start is later than its end (a
// swapped pair, a mistyped date), which would select nothing: what, `where` (which fields, e.g.
// "the query parameters"), and how to fix it.
std::string reversed_range(std::int64_t from_ns, std::int64_t to_ns, std::string_view where);

// --- The system's wall clock as Unix time. Code that must be testable with a fake clock takes a
// doppel::clock (core/clock.h) instead.
std::int64_t unix_time_ms();
std::int64_t unix_time_ns();

}  // namespace doppel
