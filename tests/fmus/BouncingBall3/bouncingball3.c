/* BouncingBall3: the FMI 3.0 co-simulation version of BouncingBall2, integrated exactly (see
 * ../common/bouncing_ball.h for the physics and the formulas tests may rely on).
 *
 * Variables (value reference, causality, type, start):
 *   time  0  independent                                               Float64  -
 *   h     1  output (initial="exact", settable before initialization)  Float64  1     m
 *   v     2  output (initial="exact", settable before initialization)  Float64  0     m/s
 *   g     3  parameter (fixed)                                          Float64  9.81  m/s2
 *   e     4  parameter (fixed)                                          Float64  0.7   1
 * fmi3ExitInitializationMode fails (fmi3Error, logged) unless g > 0, 0 <= e <= 1 and h >= 0. */
#include <stddef.h>

#include "fmu3_frame.h"

#include "bouncing_ball.h"

#define MODEL_TOKEN "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a31}"

typedef struct {
  double h, v, g, e;
  int resting;
} ModelData;

static const Fmu3Var kVars[] = {
    {"time", 0, kFloat64, kIndependent, 0, 1, NULL},
    {"h", 1, kFloat64, kExact, offsetof(ModelData, h), 1, NULL},
    {"v", 2, kFloat64, kExact, offsetof(ModelData, v), 1, NULL},
    {"g", 3, kFloat64, kParameter, offsetof(ModelData, g), 1, NULL},
    {"e", 4, kFloat64, kParameter, offsetof(ModelData, e), 1, NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->h = 1.0;
  m->v = 0.0;
  m->g = 9.81;
  m->e = 0.7;
  m->resting = 0;
}

static fmi3Status model_check(Fmu* fmu, ModelData* m) {
  if (!(m->g > 0.0) || !(m->e >= 0.0 && m->e <= 1.0) || !(m->h >= 0.0)) {
    fmu_log(fmu, fmi3Error, "logStatusError",
            "invalid start values: need g > 0 (is %g), 0 <= e <= 1 (is %g), h >= 0 (is %g)", m->g, m->e, m->h);
    return fmi3Error;
  }
  return fmi3OK;
}

static void model_init(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->resting = 0;
}

static fmi3Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  (void)fmu;
  (void)t;
  ball_advance(&m->h, &m->v, &m->resting, m->g, m->e, h);
  return fmi3OK;
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu3_frame_impl.h"
