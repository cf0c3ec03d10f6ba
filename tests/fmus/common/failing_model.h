/* The model Error2, Crash2 and Hang2 share: output x is the time; the first fmi2DoStep from t to
 * t + h with t + h >= t_fail - 1e-9 (t_fail = 0.5 by default) calls model_fail(fmu, t), which the
 * FMU defines before including this header (return an error, crash, or never return); the steps
 * before it succeed (x = t + h after each).
 *
 * Variables (value reference, causality, type, start):
 *   x       1  output (initial="calculated", never settable)  Real  -  (= time)  s
 *   t_fail  2  parameter (fixed)                               Real  0.5         s
 * Includes the FMI 2 frame's implementation: include it last, once MODEL_GUID is defined. */
#include <stddef.h>

#include "fmu2_frame.h"

typedef struct {
  double x, t_fail;
} ModelData;

static fmi2Status model_fail(Fmu* fmu, double t);

static const Fmu2Var kVars[] = {
    {"x", 1, kReal, kCalculated, offsetof(ModelData, x), NULL},
    {"t_fail", 2, kReal, kParameter, offsetof(ModelData, t_fail), NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->x = 0.0;
  m->t_fail = 0.5;
}

static fmi2Status model_check(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
  return fmi2OK;
}

static void model_init(Fmu* fmu, ModelData* m) { m->x = fmu_time(fmu); }

static fmi2Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  if (t + h >= m->t_fail - 1e-9) return model_fail(fmu, t);
  m->x = t + h;
  return fmi2OK;
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu2_frame_impl.h"
