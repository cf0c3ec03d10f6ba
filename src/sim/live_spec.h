// What a live simulation binding says (doppel.yaml `simulation.live`, sim/live.h): which twins,
// which equation model, and where each input, parameter and measured value comes from. Plain
// data, kept apart from live.h so that the project file's parser needs nothing heavier.
// Callers: the doppel.yaml parser (app/config.h) fills it; sim::bind checks it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace doppel::sim {

// Where a value of the equations comes from, for one twin (doppel.yaml simulation.live[]).
struct live_source {
  enum class kind { telemetry, property, constant };
  kind from = kind::telemetry;
  std::string name;              // the telemetry or property ("motor.power" for a component's)
  double value = 0;              // kind::constant
  double scale = 1, offset = 0;  // in the equations' units: the twin's value * scale + offset
};

// One entry of simulation.live, as written.
struct live_spec {
  std::string model;      // a DTDL interface: its twins and those of interfaces extending it
  std::string equations;  // the equation model's name (DIR/sim/<equations>.yaml)
  // Equation input, parameter or measured output/state name -> where its value comes from.
  std::vector<std::pair<std::string, live_source>> inputs, parameters, measured;
  // The outputs and states written as virtual sensors "sim.<name>"; empty: every output and state.
  std::vector<std::string> outputs;
  // Parameters a fit may change on a live run (POST /digitaltwins/{id}/simulation/fit); each
  // a parameter of the equations not bound to a property (a property would set it back).
  std::vector<std::string> tunable;
  // An extended Kalman filter (sim/estimate.h) corrects the run's states at each measurement;
  // noise variances per state (per second) and per measured name; defaults otherwise.
  bool observer = false;
  std::vector<std::pair<std::string, double>> process_noise, measurement_noise;
  std::int64_t interval_ns = 1'000'000'000;        // virtual sensors at multiples of this
  std::int64_t resync_after_ns = 600'000'000'000;  // a longer gap between readings restarts the run
  std::int64_t refresh_ns = 60'000'000'000;        // properties are read again this often
  std::int64_t retry_after_ns = 60'000'000'000;    // a failed run starts again this much later
  std::uint32_t line = 0, column = 0;              // where in doppel.yaml, for errors
};

}  // namespace doppel::sim
