/* Error2: an FMI 2.0 co-simulation FMU whose output x is the time, and which returns fmi2Error (logging "simulated
 * failure at t=<t>" with status fmi2Error, category logStatusError, <t> the step's start time printed with %g) in the
 * first fmi2DoStep from t to t + h with t + h >= t_fail - 1e-9 (t_fail = 0.5 by default). The steps before it succeed
 * (x = t + h after each); with steps of 0.1 from 0 the step 0.4 -> 0.5 is the one that fails; x then stays 0.4 and
 * further steps fail too (state StepFailed). The model and its variables: common/failing_model.h. */
#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a06}"

#include "failing_model.h"

static fmi2Status model_fail(Fmu* fmu, double t) {
  fmu_log(fmu, fmi2Error, "logStatusError", "simulated failure at t=%g", t);
  return fmi2Error;
}
