// Driving a model-exchange FMU with Doppel's own integrator (CVODE, ode.h), presented as an
// `instance` whose step(t, h) integrates the FMU from t to t + h: the co-simulation runner
// (cosim.h), its isolation (isolated.h) and everything above them run model-exchange FMUs
// unchanged.
//
// Within a step the driver handles the three kinds of event of the standard: state events (an
// event indicator changes sign: CVODE's root finding locates the instant), time events (the
// nextEventTime the FMU announced: the integration stops exactly there) and step events
// (completedIntegratorStep asks for Event Mode). At each, the FMU goes to Event Mode and is
// updated until it needs no more (event iteration), its continuous states are read back and
// the solver restarts from them. The integration never goes past a communication point, so
// values set there (inputs) take effect exactly there; completedIntegratorStep is called there
// and at every event, not after each of CVODE's internal steps.
//
// Callers: fmu::instantiate for a model-exchange FMU; tests. Not thread-safe: one thread drives
// an instance at a time (the FMI rule).
#pragma once

#include <memory>

#include "sim/fmi/fmu.h"
#include "sim/ode.h"

namespace doppel::sim::fmi {

struct me_options {
  ode_method method = ode_method::bdf;  // BDF by default: FMUs are often stiff
  // The relative tolerance when enter_initialization is handed none (the run's --tolerance, else
  // the default experiment's); the absolute one is it times each state's nominal (the smallest).
  double default_tolerance = 1e-6;
  // Events at one instant (an event iteration that does not settle, or events closing in on a
  // point in time): beyond this many the run ends with an error instead of looping.
  int max_events_at_one_time = 1000;
  long max_solver_steps = 100000;  // CVODE's internal steps per communication step
};

// The driver around `me`. `md` must outlive it (the fmu's description does: instances keep
// their fmu). Errors of the FMU come back from the call that met them (its name and the FMU's
// log); after one, the instance is good only for destruction.
std::unique_ptr<instance> drive_model_exchange(std::unique_ptr<me_instance> me, const model_description& md,
                                               const me_options& options = {});

}  // namespace doppel::sim::fmi
