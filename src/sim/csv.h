// Reading CSV records (RFC 4180 quoting, LF or CRLF line breaks): the one tokenizer behind the
// CSV files of the simulation commands, the inputs of `doppel fmu run` (fmi/cosim.h) and the
// measurements of `doppel sim fit` (app/sim_files.h), so both read a file alike.
// Callers: those parsers. Pure functions; safe on any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace doppel::sim {

// The cells of the record that starts at `pos`; `pos` moves past the record and its line break.
// A record always has at least one (possibly empty) cell; a quote left open runs to the end.
std::vector<std::string> csv_record(std::string_view text, std::size_t& pos);

// `s` without leading and trailing spaces and tabs.
std::string csv_trim(std::string_view s);

}  // namespace doppel::sim
